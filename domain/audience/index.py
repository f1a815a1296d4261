"""The audience index of one account (issue 15): what segment conditions read, as numpy arrays.

PostgreSQL stays the source of truth; this is a read model built from it in one snapshot (the
session's transaction). Persons are rows in id order (``person_ids`` sorted); every other part
refers to a person by its row (``intp``: what numpy indexes with). What the index holds:

- person fields: gender as a code, birth date as days since 1970, ``created_at`` and coordinates
  as they are stored; each text field dictionary-encoded (lowered by PostgreSQL, so case folding is
  the database's) with PostgreSQL's own ``~ '^\\s*$'`` emptiness per person; custom fields by the
  account's definitions, typed as the compiler reads them;
- links, sorted by their key (tag, consent type, form) for a slice per key: tag holdings with
  source, granted consents, form submissions, subscriptions, interest scores (value at ``as_of``);
- ticket facts (``ticket_fact``: cancelled and refunded tickets are not there) sorted by (event,
  person, order), with flags marking the first fact of each (event, person) and (event, person,
  order) and a dense number per (person, order), so distinct events, orders and impulsive
  purchases are counted with ``bincount``.

What changes often and is small — tag trees, segment definitions, which events a scope covers,
venue coordinates — is not held: the evaluator asks the database, as the SQL compiler does.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from time import perf_counter

import numpy as np
from sqlalchemy.orm import Session

from domain.audience.columns import read_columns
from domain.segments.rules import TEXT_FIELDS

MISSING_DAY = np.iinfo(np.int32).min  # a date that is not there
OPEN_END_DAY = np.iinfo(np.int32).max  # an open-ended subscription
GENDERS = ("female", "male", "other")  # code = position + 1; 0 is unknown
SOURCES = ("person", "staff", "integration")  # tag link source: code = position
CHANNELS = ("online", "box_office")  # code = position; any other channel is 2
STRINGS = np.dtypes.StringDType()


class NotIndexed(Exception):
    """The index cannot answer this exactly (the SQL back end must): the reason says why."""


class RebuildNeeded(NotIndexed):
    """The index cannot catch up any more: it must be built again."""


def unique_strings(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` for a ``StringDType`` array, by a stable sort:
    numpy 2.4's quicksort of such arrays crashes the process (a segmentation fault) on nearly
    sorted input, such as a sorted vocabulary with a few new words appended."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    first = np.ones(len(ordered), dtype=bool)
    if len(ordered):
        first[1:] = ordered[1:] != ordered[:-1]
    inverse = np.empty(len(values), dtype=np.int64)
    inverse[order] = np.cumsum(first) - 1
    return ordered[first], inverse


@dataclass
class TextColumn:
    """A text per person: ``vocabulary`` (sorted distinct values), ``codes`` (row → position in
    it, -1 for NULL) and ``empty`` (NULL or only white space, as PostgreSQL's ``\\s`` says)."""

    vocabulary: np.ndarray
    codes: np.ndarray
    empty: np.ndarray

    @classmethod
    def of(cls, values: list[str | None], empty: np.ndarray) -> TextColumn:
        missing = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
        filled = np.array([v if v is not None else "" for v in values], dtype=STRINGS)
        return cls.encode(filled, missing, empty)

    @classmethod
    def encode(cls, filled: np.ndarray, missing: np.ndarray, empty: np.ndarray) -> TextColumn:
        """From the texts as a ``StringDType`` array (anything where ``missing``)."""
        vocabulary, codes = unique_strings(filled)
        codes = codes.astype(np.int32)
        codes[missing] = -1
        return cls(vocabulary, codes, empty)

    def where(self, matches: np.ndarray) -> np.ndarray:
        """Rows whose value is one the vocabulary mask ``matches`` marks (never NULL rows)."""
        return np.append(matches, False)[self.codes]

    def code(self, value: str) -> int:
        """The position of ``value`` in the vocabulary, -2 when no row has it."""
        # bisect on the array: numpy 2.4's searchsorted fails on StringDType strings over 15 bytes
        at = bisect.bisect_left(self.vocabulary, value)
        return at if at < len(self.vocabulary) and self.vocabulary[at] == value else -2

    @property
    def nbytes(self) -> int:
        return int(self.codes.nbytes + self.empty.nbytes + sum(len(v) + 16 for v in self.vocabulary.tolist()))


@dataclass
class CustomColumn:
    """One custom field, read as the compiler reads it: ``absent`` (missing or JSON null) for
    every type; ``text`` (text: lowered; choice: as stored) or ``number`` (NaN when not a JSON
    number; ``exact`` when every value survives float64 exactly) or ``day`` or ``flag`` (0 neither,
    1 false, 2 true)."""

    kind: str
    absent: np.ndarray
    text: TextColumn | None = None
    number: np.ndarray | None = None
    exact: bool = True
    day: np.ndarray | None = None
    flag: np.ndarray | None = None


@dataclass
class Links:
    """Rows (key, person row, and per-kind columns) sorted by key."""

    keys: np.ndarray
    persons: np.ndarray  # intp: numpy indexes with intp, and casts any other index array first
    columns: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.persons = np.asarray(self.persons, dtype=np.intp)

    def rows(self, keys: list[int] | np.ndarray) -> np.ndarray:
        """Positions of the rows with one of ``keys``."""
        wanted = np.unique(np.asarray(keys, dtype=np.int64))
        starts = np.searchsorted(self.keys, wanted, side="left")
        ends = np.searchsorted(self.keys, wanted, side="right")
        if len(wanted) == 1:
            return np.arange(starts[0], ends[0])
        return np.concatenate([np.arange(s, e) for s, e in zip(starts, ends)]) if len(wanted) else np.empty(0, int)

    @property
    def nbytes(self) -> int:
        return int(self.keys.nbytes + self.persons.nbytes + sum(c.nbytes for c in self.columns.values()))


@dataclass
class Facts:
    """Ticket facts sorted by (event, person, order)."""

    person: np.ndarray  # intp person row (see ``__post_init__``)
    event: np.ndarray  # int32 position in ``event_ids``
    cents: np.ndarray  # float64 price in cents (a whole number: exact below 2**53)
    order_day: np.ndarray  # int32 local date of the order
    event_day: np.ndarray  # int32 local date of the event
    channel: np.ndarray  # int8 code (CHANNELS)
    order_pair: np.ndarray  # int32 number of the fact's (person, order)
    first_of_event: np.ndarray  # bool: first fact of its (event, person)
    first_of_order_event: np.ndarray  # bool: first fact of its (event, person, order)
    event_ids: np.ndarray  # int64 sorted ids of the events facts name
    pair_person: np.ndarray  # intp person row of each (person, order)

    def __post_init__(self) -> None:
        # Person rows index masks and count arrays as long as the persons: numpy casts an index
        # array that is not intp first, which at 10M persons made scatters three times slower.
        # Cents are bincount weights, which are float64 anyway.
        self.person = np.asarray(self.person, dtype=np.intp)
        self.pair_person = np.asarray(self.pair_person, dtype=np.intp)
        self.cents = np.asarray(self.cents, dtype=np.float64)

    @property
    def nbytes(self) -> int:
        return int(sum(getattr(self, name).nbytes for name in self.__dataclass_fields__))


@dataclass
class AudienceIndex:
    account_id: int
    timezone: str
    person_ids: np.ndarray  # int64, sorted
    live: np.ndarray  # bool: not erased
    gender: np.ndarray  # int8 (GENDERS)
    birth_day: np.ndarray  # int32 days since 1970, MISSING_DAY
    created_us: np.ndarray  # int64 microseconds since 1970
    latitude: np.ndarray  # float64, NaN
    longitude: np.ndarray
    texts: dict[str, TextColumn]
    custom: dict[str, CustomColumn]
    tags: Links  # key tag id; columns: source (int8)
    consents: Links  # key consent type id (granted only)
    submissions: Links  # key form id; columns: at_us (int64)
    subscriptions: Links  # key 0; columns: first_day, last_day (int32)
    scores: Links  # key tag id; columns: value (float64), as_of_us (int64)
    facts: Facts
    snapshot: str = ""  # pg_snapshot the index was read in (text form)
    xid: int | None = None  # its transaction's id, if that transaction wrote (tests build in their own)
    journal_id: int = 0  # the journal's last row when it was read: its own transaction's rows up to it are in it
    build_seconds: float = 0.0
    derived: dict = field(default_factory=dict)  # per-person figures over all facts, computed once

    def once(self, key: str, compute):
        """A value derived from the index alone (it never changes: a catch-up reads a delta)."""
        if key not in self.derived:
            self.derived[key] = compute()
        return self.derived[key]

    @property
    def size(self) -> int:
        return len(self.person_ids)

    @property
    def nbytes(self) -> int:
        parts = [
            self.person_ids,
            self.live,
            self.gender,
            self.birth_day,
            self.created_us,
            self.latitude,
            self.longitude,
        ]
        total = sum(p.nbytes for p in parts)
        total += sum(t.nbytes for t in self.texts.values())
        for c in self.custom.values():
            total += c.absent.nbytes + (c.text.nbytes if c.text is not None else 0)
            total += sum(a.nbytes for a in (c.number, c.day, c.flag) if a is not None)
        total += sum(links.nbytes for links in (self.tags, self.consents, self.submissions, self.subscriptions))
        total += sum(a.nbytes for a in self.derived.values() if isinstance(a, np.ndarray))
        return int(total + self.scores.nbytes + self.facts.nbytes)

    def rows_of(self, person_ids: np.ndarray) -> np.ndarray:
        """Person rows of ids the index holds (links always name a held person)."""
        return np.searchsorted(self.person_ids, person_ids)


# ----------------------------------------------------------------------------- building


def fetch_rows(session: Session, query: str, params: tuple) -> list[tuple]:
    """Rows of a query run on the session's own connection with psycopg's cursor (no SQLAlchemy
    result processing: the text columns of millions of persons)."""
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(query, params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def custom_definitions(session: Session, account_id: int) -> dict[str, str]:
    rows = fetch_rows(
        session,
        "SELECT key, type FROM custom_field_definition WHERE account_id = %s AND retired_at IS NULL ORDER BY key",
        (account_id,),
    )
    return {key: kind for key, kind in rows}


def _only(column: str, persons: list[int] | None) -> str:
    """The filter of a partial build (a catch-up's changed persons), its value bound last."""
    return "" if persons is None else f" AND {column} = ANY(%s::int8[])"


def _with(params: list, persons: list[int] | None) -> list:
    """The parameters and the persons as one array literal (quoted once, not element by element)."""
    return params if persons is None else [*params, "{" + ",".join(str(int(p)) for p in persons) + "}"]


def _load_persons(session: Session, account_id: int, custom: dict[str, str], persons: list[int] | None) -> dict:
    """Fixed-width person columns through binary COPY, texts through one plain query."""
    select = [
        "p.id",
        "p.erased_at IS NULL",
        "(CASE p.gender WHEN 'female' THEN 1 WHEN 'male' THEN 2 WHEN 'other' THEN 3 ELSE 0 END)::int2",
        f"coalesce(p.birth_date - date '1970-01-01', {MISSING_DAY})",
        "p.created_at",
        "coalesce(p.latitude, 'NaN')",
        "coalesce(p.longitude, 'NaN')",
    ]
    types = ["int8", "bool", "int2", "int4", "timestamptz", "float8", "float8"]
    params: list[object] = []
    for name in TEXT_FIELDS:
        select.append(f"coalesce(p.{name}, '') ~ '^\\s*$'")
        types.append("bool")
    texts = [f"lower(p.{name})" for name in TEXT_FIELDS]
    text_params: list[object] = []
    for key, kind in custom.items():
        value = "p.custom_fields -> %s"
        select.append(f"coalesce(jsonb_typeof({value}), 'null') = 'null'")
        types.append("bool")
        params.append(key)
        if kind == "text":
            select.append("coalesce(p.custom_fields ->> %s, '') ~ '^\\s*$'")
            types.append("bool")
            params.append(key)
            texts.append("lower(p.custom_fields ->> %s)")
            text_params.append(key)
        elif kind == "choice":
            texts.append("p.custom_fields ->> %s")
            text_params.append(key)
        elif kind == "number":
            # A JSON number as float64, and whether that loses nothing (≤ 15 significant digits
            # round-trip; PostgreSQL's float8 → numeric keeps 15): else the SQL back end answers.
            number = f"CASE WHEN jsonb_typeof({value}) = 'number' THEN ({value})::text::numeric END"
            select.append(f"coalesce(({number})::float8, 'NaN')")
            select.append(f"coalesce(({number}) = (({number})::float8)::numeric, true)")
            types += ["float8", "bool"]
            params += [key, key, key, key, key, key]
        elif kind == "date":
            text = "p.custom_fields ->> %s"
            select.append(
                f"CASE WHEN {text} ~ '^\\d{{4}}-\\d{{2}}-\\d{{2}}$' THEN ({text})::date - date '1970-01-01' "
                f"ELSE {MISSING_DAY} END"
            )
            types.append("int4")
            params += [key, key]
        elif kind == "boolean":
            select.append(f"(CASE {value} WHEN 'true'::jsonb THEN 2 WHEN 'false'::jsonb THEN 1 ELSE 0 END)::int2")
            types.append("int2")
            params.append(key)
    where = f"FROM person p WHERE p.account_id = %s{_only('p.id', persons)} ORDER BY p.id"
    columns = read_columns(session, f"SELECT {', '.join(select)} {where}", _with([*params, account_id], persons), types)
    text_rows = fetch_rows(
        session, f"SELECT {', '.join(texts)} {where}", tuple(_with([*text_params, account_id], persons))
    )
    text_values = list(zip(*text_rows)) if text_rows else [() for _ in texts]
    fixed = iter(columns[7:])
    out: dict = {
        "person_ids": columns[0],
        "live": columns[1],
        "gender": columns[2].astype(np.int8),
        "birth_day": columns[3],
        "created_us": columns[4],
        "latitude": columns[5],
        "longitude": columns[6],
    }
    strings = iter(text_values)
    out["texts"] = {name: TextColumn.of(list(next(strings)), next(fixed)) for name in TEXT_FIELDS}
    customs: dict[str, CustomColumn] = {}
    for key, kind in custom.items():
        absent = next(fixed)
        if kind == "text":
            customs[key] = CustomColumn(kind, absent, text=TextColumn.of(list(next(strings)), next(fixed)))
        elif kind == "choice":
            customs[key] = CustomColumn(kind, absent, text=TextColumn.of(list(next(strings)), absent))
        elif kind == "number":
            numbers, exact = next(fixed), next(fixed)
            customs[key] = CustomColumn(kind, absent, number=numbers, exact=bool(exact.all()))
        elif kind == "date":
            customs[key] = CustomColumn(kind, absent, day=next(fixed))
        elif kind == "boolean":
            customs[key] = CustomColumn(kind, absent, flag=next(fixed).astype(np.int8))
    out["custom"] = customs
    return out


def _links(index_rows, keys: np.ndarray, person_ids: np.ndarray, **columns: np.ndarray) -> Links:
    return Links(keys, index_rows(person_ids), columns)


def _load_facts(session: Session, account_id: int, rows_of, persons: list[int] | None) -> Facts:
    person_id, order_id, event_id, cents, order_day, event_day, channel = read_columns(
        session,
        "SELECT person_id, order_id, event_id, (price * 100)::int8, order_date - date '1970-01-01', "
        "event_date - date '1970-01-01', "
        "(CASE channel WHEN 'online' THEN 0 WHEN 'box_office' THEN 1 ELSE 2 END)::int2 "
        f"FROM ticket_fact WHERE account_id = %s{_only('person_id', persons)} ORDER BY event_id, person_id, order_id",
        _with([account_id], persons),
        ["int8", "int8", "int8", "int8", "int4", "int4", "int2"],
    )
    person = rows_of(person_id)
    held = rows_of.held(person, person_id)
    if not held.all():  # derived rows carry no foreign key: a fact of a person not held is left out
        person_id, order_id, event_id, cents, order_day, event_day, channel, person = (
            column[held] for column in (person_id, order_id, event_id, cents, order_day, event_day, channel, person)
        )
    return facts_of(person, person_id, order_id, event_id, cents, order_day, event_day, channel)


def facts_of(
    person: np.ndarray,
    person_id: np.ndarray,
    order_id: np.ndarray,
    event_id: np.ndarray,
    cents: np.ndarray,
    order_day: np.ndarray,
    event_day: np.ndarray,
    channel: np.ndarray,
) -> Facts:
    """``Facts`` from ticket fact columns sorted by (event, person, order); ``person`` is the
    person row of each, ``channel`` its code (CHANNELS)."""
    event_ids, event = np.unique(event_id, return_inverse=True)
    n = len(person)
    new_event = np.ones(n, dtype=bool)
    new_person = np.ones(n, dtype=bool)
    new_order = np.ones(n, dtype=bool)
    if n:
        new_event[1:] = event_id[1:] != event_id[:-1]
        new_person[1:] = person_id[1:] != person_id[:-1]
        new_order[1:] = order_id[1:] != order_id[:-1]
    first_of_event = new_event | new_person
    # (person, order) pairs numbered densely: an order's tickets may be for several events.
    by_pair = np.lexsort((order_id, person_id))
    starts = np.ones(n, dtype=bool)
    if n:
        starts[1:] = (person_id[by_pair][1:] != person_id[by_pair][:-1]) | (
            order_id[by_pair][1:] != order_id[by_pair][:-1]
        )
    numbers = np.cumsum(starts) - 1
    order_pair = np.empty(n, dtype=np.int32)
    order_pair[by_pair] = numbers
    pair_person = person[by_pair][starts]
    return Facts(
        person=person,
        event=event.astype(np.int32),
        cents=cents,
        order_day=order_day,
        event_day=event_day,
        channel=channel.astype(np.int8),
        order_pair=order_pair,
        first_of_event=first_of_event,
        first_of_order_event=first_of_event | new_order,
        event_ids=event_ids,
        pair_person=pair_person,
    )


def build_index(session: Session, account_id: int, persons: list[int] | None = None) -> AudienceIndex:
    """The account's index as the session's snapshot has it (run it in a REPEATABLE READ
    transaction, or one statement's view per part is what you get); with ``persons``, the index
    of just those persons (a catch-up's delta). ``snapshot`` is the snapshot of its first statement."""
    started = perf_counter()
    timezone, snapshot, xid, journal_id = fetch_rows(
        session,
        "SELECT timezone, pg_current_snapshot()::text, pg_current_xact_id_if_assigned()::text::bigint, "
        "(SELECT coalesce(max(id), 0) FROM audience_change) FROM account WHERE id = %s",
        (account_id,),
    )[0]
    loaded = _load_persons(session, account_id, custom_definitions(session, account_id), persons)
    person_ids = loaded["person_ids"]

    def rows_of(ids: np.ndarray) -> np.ndarray:
        return np.searchsorted(person_ids, ids)

    def held(rows: np.ndarray, ids: np.ndarray) -> np.ndarray:
        if not len(person_ids):
            return np.zeros(len(ids), dtype=bool)
        return (rows < len(person_ids)) & (person_ids[np.minimum(rows, max(len(person_ids) - 1, 0))] == ids)

    rows_of.held = held  # type: ignore[attr-defined]

    a = _with([account_id], persons)
    only = _only("person_id", persons)
    tag, tag_person, source = read_columns(
        session,
        "SELECT tag_id, person_id, (CASE source WHEN 'person' THEN 0 WHEN 'staff' THEN 1 ELSE 2 END)::int2 "
        f"FROM person_tag WHERE account_id = %s{only} ORDER BY tag_id, person_id",
        a,
        ["int8", "int8", "int2"],
    )
    consent, consent_person = read_columns(
        session,
        f"SELECT consent_type_id, person_id FROM person_consent WHERE account_id = %s AND granted{only} "
        "ORDER BY consent_type_id, person_id",
        a,
        ["int8", "int8"],
    )
    form, form_person, submitted = read_columns(
        session,
        f"SELECT form_id, person_id, submitted_at FROM form_submission WHERE account_id = %s{only} ORDER BY form_id",
        a,
        ["int8", "int8", "timestamptz"],
    )
    sub_person, first_day, last_day = read_columns(
        session,
        "SELECT person_id, valid_from - date '1970-01-01', "
        f"coalesce(valid_until - date '1970-01-01', {OPEN_END_DAY}) FROM subscription WHERE account_id = %s{only}",
        a,
        ["int8", "int4", "int4"],
    )
    score_tag, score_person, value, as_of = read_columns(
        session,
        f"SELECT tag_id, person_id, value, as_of FROM interest_score WHERE account_id = %s{only} ORDER BY tag_id",
        a,
        ["int8", "int8", "float8", "timestamptz"],
    )
    index = AudienceIndex(
        account_id=account_id,
        timezone=timezone,
        snapshot=snapshot,
        xid=xid,
        journal_id=journal_id,
        **loaded,
        tags=_links(rows_of, tag, tag_person, source=source.astype(np.int8)),
        consents=_links(rows_of, consent, consent_person),
        submissions=_links(rows_of, form, form_person, at_us=submitted),
        subscriptions=_links(
            rows_of, np.zeros(len(sub_person), np.int64), sub_person, first_day=first_day, last_day=last_day
        ),
        scores=_links(rows_of, score_tag, score_person, value=value, as_of_us=as_of),
        facts=_load_facts(session, account_id, rows_of, persons),
    )
    index.build_seconds = perf_counter() - started
    return index


# ----------------------------------------------------------------------------- combining


def _merged_text(parts: list[tuple[TextColumn, np.ndarray]], order: np.ndarray) -> TextColumn:
    """Text columns of several indexes (each with the rows it keeps) as one, rows in ``order``."""
    # an inverse, not searchsorted (which fails on StringDType strings over 15 bytes)
    vocabulary, inverse = unique_strings(np.concatenate([column.vocabulary for column, _ in parts]))
    codes, empty, start = [], [], 0
    for column, keep in parts:
        size = len(column.vocabulary)
        at = np.append(inverse[start : start + size], -1).astype(np.int32)  # NULL (-1) stays -1
        start += size
        codes.append(at[column.codes[keep]])
        empty.append(column.empty[keep])
    return TextColumn(vocabulary, np.concatenate(codes)[order], np.concatenate(empty)[order])


def _merged_custom(parts: list[tuple[CustomColumn, np.ndarray]], order: np.ndarray) -> CustomColumn:
    first = parts[0][0]
    joined = {
        name: np.concatenate([getattr(c, name)[keep] for c, keep in parts])[order]
        for name in ("absent", "number", "day", "flag")
        if getattr(first, name) is not None
    }
    return CustomColumn(
        first.kind,
        joined.pop("absent"),
        text=None if first.text is None else _merged_text([(c.text, keep) for c, keep in parts], order),  # type: ignore[misc]
        exact=all(c.exact for c, _ in parts),
        **joined,
    )


def _merged_links(parts: list[tuple[Links, np.ndarray]]) -> Links:
    """``parts``: links with each row's new person row (-1: dropped)."""
    kept = [(links, rows[links.persons]) for links, rows in parts]
    kept = [(links, new, new >= 0) for links, new in kept]
    keys = np.concatenate([links.keys[mask] for links, _, mask in kept])
    order = np.argsort(keys, kind="stable")
    persons = np.concatenate([new[mask] for _, new, mask in kept])
    columns = {
        name: np.concatenate([links.columns[name][mask] for links, _, mask in kept])[order]
        for name in parts[0][0].columns
    }
    return Links(keys[order], persons[order], columns)


def combine(old: AudienceIndex, fresh: AudienceIndex) -> AudienceIndex:
    """One index of ``fresh``'s persons and ``old``'s others (a catch-up's delta carried forward:
    ``old`` as of an earlier snapshot, ``fresh`` the persons changed since, read again)."""
    if old.custom.keys() != fresh.custom.keys() or old.timezone != fresh.timezone:
        raise RebuildNeeded("the account's custom fields or time zone changed: the index is rebuilt")
    keep_old = ~np.isin(old.person_ids, fresh.person_ids)
    keep_fresh = np.ones(fresh.size, dtype=bool)
    ids = np.concatenate([old.person_ids[keep_old], fresh.person_ids])
    order = np.argsort(ids, kind="stable")
    position = np.empty(len(ids), dtype=np.int32)
    position[order] = np.arange(len(ids), dtype=np.int32)
    # each index's person row → its row in the combined index (-1: dropped)
    old_rows = np.full(old.size, -1, dtype=np.int32)
    old_rows[keep_old] = position[: int(keep_old.sum())]
    fresh_rows = position[int(keep_old.sum()) :]
    parts = [(old, keep_old), (fresh, keep_fresh)]

    def person_column(name: str) -> np.ndarray:
        return np.concatenate([getattr(index, name)[keep] for index, keep in parts])[order]

    facts = []
    pair_offset = 0
    for index, rows in ((old, old_rows), (fresh, fresh_rows)):
        f = index.facts
        new_rows = rows[f.person]
        mask = new_rows >= 0
        facts.append(
            (
                new_rows[mask],
                f.event_ids[f.event[mask]],
                f.order_pair[mask].astype(np.int64) + pair_offset,  # (person, order) numbers stay apart
                f.cents[mask],
                f.order_day[mask],
                f.event_day[mask],
                f.channel[mask],
            )
        )
        pair_offset += len(f.pair_person)
    person, event_id, pair, cents, order_day, event_day, channel = (np.concatenate(c) for c in zip(*facts))
    sort = np.lexsort((pair, person, event_id))
    sorted_ids = ids[order]
    combined = AudienceIndex(
        account_id=fresh.account_id,
        timezone=fresh.timezone,
        person_ids=sorted_ids,
        live=person_column("live"),
        gender=person_column("gender"),
        birth_day=person_column("birth_day"),
        created_us=person_column("created_us"),
        latitude=person_column("latitude"),
        longitude=person_column("longitude"),
        texts={name: _merged_text([(index.texts[name], keep) for index, keep in parts], order) for name in fresh.texts},
        custom={
            key: _merged_custom([(index.custom[key], keep) for index, keep in parts], order) for key in fresh.custom
        },
        tags=_merged_links([(old.tags, old_rows), (fresh.tags, fresh_rows)]),
        consents=_merged_links([(old.consents, old_rows), (fresh.consents, fresh_rows)]),
        submissions=_merged_links([(old.submissions, old_rows), (fresh.submissions, fresh_rows)]),
        subscriptions=_merged_links([(old.subscriptions, old_rows), (fresh.subscriptions, fresh_rows)]),
        scores=_merged_links([(old.scores, old_rows), (fresh.scores, fresh_rows)]),
        facts=facts_of(
            person[sort],
            sorted_ids[person[sort]],
            pair[sort],
            event_id[sort],
            cents[sort],
            order_day[sort],
            event_day[sort],
            channel[sort],
        ),
        snapshot=fresh.snapshot,
        xid=fresh.xid,
        journal_id=fresh.journal_id,
    )
    combined.build_seconds = fresh.build_seconds
    return combined


__all__ = ["AudienceIndex", "NotIndexed", "RebuildNeeded", "build_index", "combine", "facts_of", "unique_strings"]
