"""Generated ticketing feeds holding every kind of record, for the import tests."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime, timedelta

import orjson

START = datetime(2026, 9, 1, 19, 30, tzinfo=UTC)


def records(persons: int = 500, productions: int = 20, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    out: list[dict] = [
        {"type": "venue", "id": f"V{v}", "name": f"Zaal {v}", "city": "Utrecht", "latitude": 52.09, "longitude": 5.12}
        for v in range(3)
    ]
    genres = ["Jazz", "Cabaret", "Opera", "Dans", "Klassiek"]
    for p in range(productions):
        out.append(
            {
                "type": "production",
                "id": f"PR{p}",
                "title": f"Voorstelling {p}",
                "promoter": "Eigen",
                "season": "2026-2027",
                "genres": [genres[p % len(genres)]],
                "labels": ["Familie"] if p % 4 == 0 else [],
            }
        )
    events = []
    for p in range(productions):
        for e in range(3):
            event_id = f"E{p}-{e}"
            events.append(event_id)
            out.append(
                {
                    "type": "event",
                    "id": event_id,
                    "production": f"PR{p}",
                    "venue": f"V{e % 3}",
                    "starts_at": (START + timedelta(days=p * 3 + e)).isoformat(),
                    "capacity": 400,
                }
            )
    ticket = 0
    for n in range(persons):
        out.append(
            {
                "type": "person",
                "id": f"C{n}",
                "email": f"klant{n}@example.nl",
                "first_name": f"Klant{n}",
                "last_name": "Jansen",
                "gender": ["female", "male", "other"][n % 3],
                "birth_date": f"{1950 + n % 50}-0{1 + n % 9}-1{n % 9}",
                "postal_code": "3511 AB",
                "city": "Utrecht",
                "country": "NL",
                "consents": {"newsletter": {"granted": n % 2 == 0, "at": "2026-01-01T10:00:00Z"}},
            }
        )
        for o in range(rng.randint(0, 3)):
            tickets = []
            for _ in range(rng.randint(1, 4)):
                tickets.append({"id": f"T{ticket}", "event": rng.choice(events), "price": f"{rng.randint(10, 60)}.50"})
                ticket += 1
            out.append(
                {
                    "type": "order",
                    "id": f"O{n}-{o}",
                    "person": f"C{n}",
                    "channel": "online" if o % 2 == 0 else "box_office",
                    "created_at": (START - timedelta(days=rng.randint(1, 90))).isoformat(),
                    "tickets": tickets,
                }
            )
        if n % 10 == 0:
            out.append(
                {"type": "subscription", "id": f"S{n}", "person": f"C{n}", "name": "Jazzabonnement",
                 "valid_from": "2026-09-01", "valid_until": "2027-06-30"}
            )  # fmt: skip
    return out


def jsonl(items: list[dict]) -> io.BytesIO:
    return io.BytesIO(b"".join(orjson.dumps(item) + b"\n" for item in items))
