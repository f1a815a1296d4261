"""The index built straight from the generator (the 10,000,000-person benchmark's) equals the
index built from the database that ``load_demo_data`` filled with the same seed, day and ids."""

from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import text

from domain.audience import counting as audience
from domain.audience.index import build_index
from domain.demo import generator
from domain.demo.generator import DemoCatalogue, catalogue_models, load_demo_data
from domain.demo.index import generated_index, local_days

TODAY = date(2026, 3, 15)


def _arrays(value, path=""):
    if isinstance(value, np.ndarray):
        yield path, value
    elif hasattr(value, "__dataclass_fields__"):
        for f in fields(value):
            yield from _arrays(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, dict):
        for key in sorted(value):
            yield from _arrays(value[key], f"{path}[{key}]")


def test_the_generated_index_equals_the_loaded_one(connection, session, account, monkeypatch):
    monkeypatch.setattr(generator, "CHUNK", 700)  # several chunks: texts, facts and links merged
    people, seed = 2_000, 11
    counts = load_demo_data(connection, account.id, people=people, seed=seed, today=TODAY)
    loaded = build_index(session, account.id)
    consent_type_id = session.execute(
        text("SELECT min(id) FROM consent_type WHERE account_id = :a"), {"a": account.id}
    ).scalar_one()
    catalogue = DemoCatalogue(
        seed,
        people,
        TODAY,
        *catalogue_models(seed, people, TODAY),
        production_id=counts["first_production_id"],
        event_id=counts["first_event_id"],
        consent_type_id=consent_type_id,
        first_tag_id=counts["first_tag_id"],
        counts={},
    )
    steps: list[float] = []
    built = generated_index(
        session, account.id, catalogue, counts["first_person_id"], progress=lambda f, m: steps.append(f)
    )
    assert steps[-1] == 1.0 and steps == sorted(steps)

    left, right = dict(_arrays(loaded)), dict(_arrays(built))
    assert left.keys() == right.keys() and len(left) > 30
    links = ("tags", "consents", "submissions", "subscriptions", "scores")  # rows of a key in no fixed order
    for path in left:
        if path.split(".")[1] in links or path == ".facts.cents":
            continue
        assert left[path].dtype == right[path].dtype, path
        assert np.array_equal(left[path], right[path], equal_nan=left[path].dtype.kind == "f"), path
    # Tickets of one order for one event come in no fixed order: their prices compared as sorted.
    for index in (loaded, built):
        f = index.facts
        index.facts.cents = f.cents[np.lexsort((f.cents, f.order_pair, f.person, f.event))]
    assert np.array_equal(loaded.facts.cents, built.facts.cents)
    for name in links:
        rows = [
            sorted(zip(*(part.keys, part.persons, *part.columns.values())))
            for part in (getattr(loaded, name), getattr(built, name))
        ]
        assert rows[0] == rows[1], name
        assert all(
            a.dtype == b.dtype
            for a, b in zip(
                (getattr(loaded, name).keys, getattr(loaded, name).persons, *getattr(loaded, name).columns.values()),
                (getattr(built, name).keys, getattr(built, name).persons, *getattr(built, name).columns.values()),
            )
        ), name
    assert loaded.facts.cents.sum() > 0 and len(loaded.tags.keys) > people
    assert {key: c.exact for key, c in loaded.custom.items()} == {key: c.exact for key, c in built.custom.items()}

    # And so the generated index answers what the database answers.
    for rules in (
        {"type": "purchase", "metric": "revenue", "min": 100},
        {"type": "text", "field": "city", "operator": "eq", "value": "amsterdam"},
        {"type": "custom_field", "key": "household_size", "operator": "gte", "value": 3},
    ):
        assert audience.count_matching(session, built, rules=rules) == audience.count_matching(
            session, loaded, rules=rules
        )


def test_local_days_follow_daylight_saving_time():
    zone = ZoneInfo("Europe/Amsterdam")
    every_quarter = np.arange(1_767_225_600, 1_798_761_600, 900, dtype=np.int64)  # 2026, each quarter hour
    expected = [(datetime.fromtimestamp(int(s), zone).date() - date(1970, 1, 1)).days for s in every_quarter]
    assert local_days(every_quarter, zone).tolist() == expected
