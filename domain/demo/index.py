"""The audience index of a generated audience, built straight from the generator.

Issue 15 measures counts at 10,000,000 persons through the index alone: such a data set takes
about 94 GB in PostgreSQL, more than this machine's disk. So the account gets the catalogue only
(``load_demo_catalogue``: venues, productions, events, tags, consent types, custom fields), which
is what the evaluator asks the database about (tag subtrees, the events a scope covers, venue
coordinates, saved segments); persons, their links and ticket facts go from the generator's
chunks into the index's arrays without a database row.

For the same seed, day and ids the result equals ``build_index`` of an account that
``load_demo_data`` filled (``tests/audience/test_generated_index.py`` compares them array by
array). As there, texts are lowered and tested for emptiness by PostgreSQL (each chunk's distinct
values in one query), and local dates are the account's time zone's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy.orm import Session

from domain.audience import index as audience
from domain.audience.index import (
    MISSING_DAY,
    OPEN_END_DAY,
    STRINGS,
    AudienceIndex,
    CustomColumn,
    Links,
    TextColumn,
    custom_definitions,
    facts_of,
    unique_strings,
)
from domain.demo import tags as demo_tags
from domain.demo.generator import PERSON_COLUMNS, Chunk, DemoCatalogue, generate_chunks
from domain.segments.rules import TEXT_FIELDS

COLUMN = {name: i for i, name in enumerate(PERSON_COLUMNS)}
GENDER_CODES = {name: code + 1 for code, name in enumerate(audience.GENDERS)}
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
assert demo_tags.SOURCES == audience.SOURCES, "tag link sources are coded alike"

Progress = Callable[[float, str], None]


class _Texts:
    """One text column gathered chunk by chunk: PostgreSQL lowers each chunk's distinct values."""

    def __init__(self, lower: bool) -> None:
        self.lower = lower
        self.values: list[np.ndarray] = []
        self.missing: list[np.ndarray] = []
        self.empty: list[np.ndarray] = []

    def add(self, session: Session, values: list[str | None]) -> None:
        missing = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
        raw = np.array([v if v is not None else "" for v in values], dtype=STRINGS)
        distinct, inverse = unique_strings(raw)
        expression = "lower(v)" if self.lower else "v"
        answers = audience.fetch_rows(
            session,
            f"SELECT {expression}, v ~ '^\\s*$' FROM unnest(%s::text[]) WITH ORDINALITY AS u(v, i) ORDER BY i",
            (distinct.tolist(),),
        )
        folded = np.array([a[0] for a in answers], dtype=STRINGS)
        blank = np.array([a[1] for a in answers], dtype=bool)
        self.values.append(folded[inverse] if len(values) else np.array([], dtype=STRINGS))
        self.missing.append(missing)
        self.empty.append((blank[inverse] if len(values) else np.zeros(0, bool)) | missing)

    def column(self, empty: np.ndarray | None = None) -> TextColumn:
        missing = np.concatenate(self.missing)
        filled = np.concatenate(self.values)
        return TextColumn.encode(filled, missing, np.concatenate(self.empty) if empty is None else empty)


def _exact(value: int | float) -> bool:
    """Whether PostgreSQL's numeric equals it as float8 (≤ 15 significant digits, as the index tests)."""
    return len(Decimal(str(value)).normalize().as_tuple().digits) <= 15


class _Custom:
    """The custom fields of the account's definitions, read from the generated JSON."""

    def __init__(self, definitions: dict[str, str]) -> None:
        self.definitions = definitions
        self.absent: dict[str, list[np.ndarray]] = {key: [] for key in definitions}
        self.texts = {key: _Texts(kind == "text") for key, kind in definitions.items() if kind in ("text", "choice")}
        self.numbers: dict[str, list[np.ndarray]] = {k: [] for k, t in definitions.items() if t == "number"}
        self.days: dict[str, list[np.ndarray]] = {k: [] for k, t in definitions.items() if t == "date"}
        self.flags: dict[str, list[np.ndarray]] = {k: [] for k, t in definitions.items() if t == "boolean"}
        self.exact = True

    def add(self, session: Session, documents: list[str]) -> None:
        parsed = [json.loads(d) if d != "{}" else {} for d in documents]
        for key, kind in self.definitions.items():
            values = [p.get(key) for p in parsed]
            self.absent[key].append(np.fromiter((v is None for v in values), dtype=bool, count=len(values)))
            if kind in ("text", "choice"):
                if any(v is not None and not isinstance(v, str) for v in values):
                    raise ValueError(f"the generator wrote a {kind} field {key} that is not a string")
                self.texts[key].add(session, values)
            elif kind == "number":
                numbers = [v if isinstance(v, int | float) and not isinstance(v, bool) else None for v in values]
                self.exact &= all(_exact(v) for v in numbers if v is not None)
                self.numbers[key].append(np.array(numbers, dtype=np.float64))
            elif kind == "date":
                days = [
                    int(np.datetime64(v, "D").astype(np.int64))
                    if isinstance(v, str) and DATE.fullmatch(v)
                    else MISSING_DAY
                    for v in values
                ]
                self.days[key].append(np.array(days, dtype=np.int32))
            elif kind == "boolean":
                self.flags[key].append(np.array([2 if v is True else 1 if v is False else 0 for v in values], np.int8))

    def columns(self) -> dict[str, CustomColumn]:
        out: dict[str, CustomColumn] = {}
        for key, kind in self.definitions.items():
            absent = np.concatenate(self.absent[key])
            if kind == "text":
                out[key] = CustomColumn(kind, absent, text=self.texts[key].column())
            elif kind == "choice":
                out[key] = CustomColumn(kind, absent, text=self.texts[key].column(empty=absent))
            elif kind == "number":
                out[key] = CustomColumn(kind, absent, number=np.concatenate(self.numbers[key]), exact=self.exact)
            elif kind == "date":
                out[key] = CustomColumn(kind, absent, day=np.concatenate(self.days[key]))
            elif kind == "boolean":
                out[key] = CustomColumn(kind, absent, flag=np.concatenate(self.flags[key]))
        return out


def local_days(seconds: np.ndarray, zone: ZoneInfo) -> np.ndarray:
    """Local dates (days since 1970) of epoch seconds: the offset looked up once per quarter hour
    (time zones change offset on a quarter hour)."""
    buckets, inverse = np.unique(seconds // 900, return_inverse=True)
    offsets = np.array(
        [datetime.fromtimestamp(int(b) * 900, zone).utcoffset().total_seconds() for b in buckets.tolist()],  # type: ignore[union-attr]
        dtype=np.int64,
    )
    return ((seconds + offsets[inverse]) // 86_400).astype(np.int32)


def _days(values: list) -> np.ndarray:
    """Dates (``date`` or ISO text; None) as days since 1970, MISSING_DAY for None."""
    present = np.fromiter((v is not None for v in values), dtype=bool, count=len(values))
    days = np.full(len(values), MISSING_DAY, dtype=np.int32)
    if present.any():
        chosen = [str(v) for v in values if v is not None]
        days[present] = np.array(chosen, dtype="datetime64[D]").astype(np.int64)
    return days


class _Gathered:
    """Everything of the chunks that the index holds, as lists of arrays per part."""

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {}

    def add(self, **arrays: np.ndarray) -> None:
        for name, array in arrays.items():
            self.parts.setdefault(name, []).append(array)

    def take(self, name: str, dtype) -> np.ndarray:
        parts = self.parts.pop(name, [])
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)


def generated_index(
    session: Session,
    account_id: int,
    catalogue: DemoCatalogue,
    first_person_id: int,
    *,
    progress: Progress | None = None,
) -> AudienceIndex:
    """The index of the audience ``catalogue`` generates, person i having id ``first_person_id + i``
    (the account holds the catalogue and no persons)."""
    report = progress or (lambda fraction, message: None)
    timezone = audience.fetch_rows(session, "SELECT timezone FROM account WHERE id = %s", (account_id,))[0][0]
    zone = ZoneInfo(timezone)
    texts = {name: _Texts(lower=True) for name in TEXT_FIELDS}
    custom = _Custom(custom_definitions(session, account_id))
    gathered = _Gathered()
    event_days = local_days(catalogue.catalog.event_start, zone)
    order_base = 0
    for chunk in generate_chunks(catalogue, first_person_id):
        _add_chunk(session, chunk, gathered, texts, custom, first_person_id, catalogue, event_days, zone, order_base)
        order_base += len(chunk.orders.person)
        done = chunk.start + chunk.size
        report(0.9 * done / max(catalogue.people, 1), f"generated {done:,} of {catalogue.people:,} persons")

    report(0.9, "sorting ticket facts")
    event_id = gathered.take("fact_event", np.int64)
    by_event = np.argsort(event_id, kind="stable")  # each chunk's facts are in (event, person, order) order
    event_id = event_id[by_event]
    person = gathered.take("fact_person", np.int32)[by_event]
    facts = facts_of(
        person,
        first_person_id + person.astype(np.int64),
        gathered.take("fact_order", np.int64)[by_event],
        event_id,
        gathered.take("fact_cents", np.int64)[by_event],
        gathered.take("fact_order_day", np.int32)[by_event],
        gathered.take("fact_event_day", np.int32)[by_event],
        gathered.take("fact_channel", np.int8)[by_event],
    )
    del by_event, event_id, person
    report(0.97, "links and texts")

    def links(prefix: str, **columns) -> Links:
        keys, persons = gathered.take(f"{prefix}_key", np.int64), gathered.take(f"{prefix}_person", np.int32)
        order = np.lexsort((persons, keys))
        return Links(keys[order], persons[order], {name: gathered.take(f"{prefix}_{name}", dtype)[order]
                                                   for name, dtype in columns.items()})  # fmt: skip

    people = catalogue.people
    subscription_person = gathered.take("subscription_person", np.int32)
    index = AudienceIndex(
        account_id=account_id,
        timezone=timezone,
        person_ids=first_person_id + np.arange(people, dtype=np.int64),
        live=np.ones(people, dtype=bool),
        gender=gathered.take("gender", np.int8),
        birth_day=gathered.take("birth_day", np.int32),
        created_us=gathered.take("created_us", np.int64),
        latitude=gathered.take("latitude", np.float64),
        longitude=gathered.take("longitude", np.float64),
        texts={name: column.column() for name, column in texts.items()},
        custom=custom.columns(),
        tags=links("tag", source=np.int8),
        consents=links("consent"),
        submissions=Links(np.zeros(0, np.int64), np.zeros(0, np.int32), {"at_us": np.zeros(0, np.int64)}),
        subscriptions=Links(
            np.zeros(len(subscription_person), np.int64),
            subscription_person,
            {
                "first_day": gathered.take("subscription_first_day", np.int32),
                "last_day": gathered.take("subscription_last_day", np.int32),
            },
        ),
        scores=Links(
            np.zeros(0, np.int64),
            np.zeros(0, np.int32),
            {"value": np.zeros(0, np.float64), "as_of_us": np.zeros(0, np.int64)},
        ),
        facts=facts,
    )
    report(1.0, "done")
    return index


def _add_chunk(
    session: Session,
    chunk: Chunk,
    gathered: _Gathered,
    texts: dict[str, _Texts],
    custom: _Custom,
    first_person_id: int,
    catalogue: DemoCatalogue,
    event_days: np.ndarray,
    zone: ZoneInfo,
    order_base: int,
) -> None:
    columns = chunk.persons
    row = chunk.start  # person i of the chunk is row start + i (ids are contiguous and ascending)
    gathered.add(
        gender=np.array([GENDER_CODES.get(g, 0) for g in columns[COLUMN["gender"]]], dtype=np.int8),
        birth_day=_days(columns[COLUMN["birth_date"]]),
        created_us=chunk.person_created.astype(np.int64) * 1_000_000,
        latitude=np.array(columns[COLUMN["latitude"]], dtype=np.float64),
        longitude=np.array(columns[COLUMN["longitude"]], dtype=np.float64),
    )
    for name, column in texts.items():
        column.add(session, columns[COLUMN[name]])
    custom.add(session, columns[COLUMN["custom_fields"]])

    links = chunk.tags
    gathered.add(
        tag_key=catalogue.first_tag_id + links.tag.astype(np.int64),
        tag_person=row + links.person.astype(np.int32),
        tag_source=links.source.astype(np.int8),
    )
    who, kind, granted, *_ = chunk.consents
    granted = np.asarray(granted, dtype=bool)
    gathered.add(
        consent_key=catalogue.consent_type_id + np.asarray(kind, np.int64)[granted],
        consent_person=row + np.asarray(who, np.int32)[granted],
    )
    holder, _, valid_from, valid_until, _ = chunk.subscriptions
    gathered.add(
        subscription_person=row + np.asarray(holder, np.int32),
        subscription_first_day=_days(valid_from),
        subscription_last_day=np.where(
            np.fromiter((d is None for d in valid_until), bool, len(valid_until)), OPEN_END_DAY, _days(valid_until)
        ).astype(np.int32),
    )

    orders = chunk.orders
    ticket_order = orders.ticket_order
    person = row + orders.person[ticket_order].astype(np.int32)
    order = order_base + ticket_order.astype(np.int64)
    event = catalogue.event_id + orders.ticket_event.astype(np.int64)
    sort = np.lexsort((order, person, event))
    gathered.add(
        fact_event=event[sort],
        fact_person=person[sort],
        fact_order=order[sort],
        fact_cents=orders.ticket_cents.astype(np.int64)[sort],
        fact_order_day=local_days(orders.created[ticket_order], zone)[sort],
        fact_event_day=event_days[orders.ticket_event][sort],
        fact_channel=orders.box_office[ticket_order].astype(np.int8)[sort],
    )


__all__ = ["generated_index", "local_days"]
