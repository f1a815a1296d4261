"""The one importer every way in uses (command line, upload job, pull reader).

Records are taken in batches; each batch is one transaction, written set-based: one statement
per kind of row for the whole batch. Rows are upserted on (account, source, external id) and an
update is skipped when nothing differs, so the same feed twice writes nothing (no new row
versions) and a changed record touches only its row; purchase facts follow through the triggers.
A record that is malformed or refers to something missing is refused with its reason while the
rest of its batch imports. Because every batch is idempotent, running a feed again after a crash
ends in the state of one clean run.

Within a batch kinds are written in dependency order (venues, productions, events, persons,
orders with their tickets, subscriptions), so a feed may hold a record and the records that
refer to it in the same batch, or in any earlier batch or import.
"""

from __future__ import annotations

import hashlib
import sys
import threading
from collections import Counter
from decimal import Decimal
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from itertools import islice
from typing import Any

import orjson
import psycopg
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from domain import clock, events
from domain.imports.records import (
    PERSON_FEED_FIELDS,
    EventRecord,
    MAX_ID,
    Kind,
    OrderRecord,
    PersonRecord,
    ProductionRecord,
    Record,
    Refusal,
    SubscriptionRecord,
    VenueRecord,
    parse_record,
)
from domain.privacy import service as privacy
from domain.recommendations.scoring import refresh_interest_scores
from domain.tags import service as tags
from domain.tags.names import name_key

BATCH_SIZE = 2000
KNOWN_EVENTS = 100_000  # event ids an import keeps in memory
#: The person columns a feed writes, with their PostgreSQL array types (unnest casts).
PERSON_COLUMNS = list(PERSON_FEED_FIELDS)
PERSON_TYPES = ["text"] * 4 + ["date"] + ["text"] * 5 + ["float8", "float8"]
MAX_REFUSALS_KEPT = 1000  # in the result; all are counted


@dataclass
class ImportResult:
    """Counts per kind: ``created``, ``updated`` (something differed), ``unchanged``, ``refused``."""

    counts: dict[str, Counter] = field(default_factory=dict)
    refusals: list[Refusal] = field(default_factory=list)
    refused: int = 0
    records: int = 0
    batches: int = 0

    def count(self, kind: Kind | str, what: str, n: int = 1) -> None:
        if n:
            self.counts.setdefault(getattr(kind, "value", kind), Counter())[what] += n

    def refuse(self, refusal: Refusal) -> None:
        self.refused += 1
        self.count(refusal.kind or "unknown", "refused")
        if len(self.refusals) < MAX_REFUSALS_KEPT:
            self.refusals.append(refusal)

    def merge(self, other: ImportResult) -> None:
        """Add another run's figures (the pages of one feed run, the batches of one import)."""
        for kind, counts in other.counts.items():
            self.counts.setdefault(kind, Counter()).update(counts)
        self.refusals.extend(other.refusals[: MAX_REFUSALS_KEPT - len(self.refusals)])
        self.refused += other.refused
        self.records += other.records
        self.batches += other.batches

    @property
    def changes(self) -> int:
        return sum(c["created"] + c["updated"] for c in self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "batches": self.batches,
            "changes": self.changes,
            "refused": self.refused,
            "counts": {kind: dict(c) for kind, c in sorted(self.counts.items())},
            "refusals": [r.as_dict() for r in self.refusals],
        }


@dataclass(frozen=True)
class ImportOptions:
    source: str = "ticketing"
    tag_persons: tuple[str, ...] = ()  # tag names linked (source integration) to every person written
    batch_size: int = BATCH_SIZE
    # A consent key the account lacks: create the consent type (named after the key), or refuse it.
    create_consent_types: bool = True
    # A record identical to the one its row was last written from is skipped unparsed; off, every
    # record is checked against the database again (changes made in Marquee since are overwritten).
    skip_unchanged: bool = True


def _batches(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


# The tables each kind of created row grows (derived tables included).
GROWN_TABLES = {
    "venue": ("venue",),
    "production": ("production",),
    "event": ("event",),
    "person": ("person", "person_stats"),
    "person_identity": ("person_identity",),
    "consent": ("person_consent", "consent_history"),
    "person_tag": ("person_tag",),
    "order": ("orders",),
    "ticket": ("ticket", "ticket_fact", "person_stats", "person_season_stats"),
    "subscription": ("subscription",),
}
# Below 10,000 rows any plan is quick; from there, every eightfold growth: three per table in a
# 1M-ticket import. Only the account column is analyzed (what grew is the account's share of the
# table), from a small sample: a whole ANALYZE of the 1M set's ticket facts took 6.6 s (of a
# 205 s import: 45 s of ANALYZE in all), this one 0.4 s. Autovacuum's own ANALYZE refreshes the rest.
GROWTH_BEFORE_ANALYZE = 8  # the account's rows in a table grew eightfold since its statistics
MIN_ROWS_TO_ANALYZE = 10_000
ANALYZE_TARGET = 10  # statistics target for these ANALYZEs: 3,000 sampled rows (the default 100: 30,000)


class ImportStatistics:
    """Keeps the planner's picture of the account's rows in step with a large import.

    A new account has no rows when its tables were last analyzed, so the planner takes it for
    a handful and, once the import has written a million, still scans "all of its rows" where an
    index lookup by person was meant: each batch slower than the last. Autovacuum re-analyzes only
    after a tenth of the whole table changed (never, for one account among many), so the import
    analyzes a table itself whenever the account's rows in it have grown eightfold: a handful of
    times per import, and not at all when re-importing a feed that changes nothing. A pull run
    imports page by page; one keeper serves all its pages (``run_import(statistics=…)``)."""

    def __init__(self, new_session: Callable[[], Session], account_id: int):
        self.new_session = new_session
        self.account_id = account_id
        self.known: dict[str, float] = {}  # table: the account's rows as the planner last saw them
        self.pending: Counter = Counter()  # table: rows created since
        self.seen: Counter = Counter()  # kind: created rows of the current result already counted
        self._result: ImportResult | None = None

    def _estimate(self, session: Session, table: str) -> float:
        plan = session.execute(
            text(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {table} WHERE account_id = :a"), {"a": self.account_id}
        ).scalar_one()
        return float(plan[0]["Plan"]["Plan Rows"])

    def start(self) -> None:
        tables = sorted({t for grown in GROWN_TABLES.values() for t in grown})
        with self.new_session() as session:
            self.known = {t: self._estimate(session, t) for t in tables}

    def after_batch(self, result: ImportResult) -> list[str]:
        """Analyze the tables whose account rows grew eightfold; returns them."""
        if result is not self._result:  # the next page of a pull: its counts start at zero
            self._result, self.seen = result, Counter()
        for kind, tables in GROWN_TABLES.items():
            counts = result.counts.get(kind, Counter())
            created = counts["created"] + counts["written"]  # consents count what they wrote
            grown, self.seen[kind] = created - self.seen[kind], created
            for table in tables:
                self.pending[table] += grown
        due = []
        for table, grown in self.pending.items():
            rows = self.known[table] + grown
            if (
                grown > 0
                and rows >= MIN_ROWS_TO_ANALYZE
                and rows >= GROWTH_BEFORE_ANALYZE * max(self.known[table], 1.0)
            ):
                due.append(table)
        if due:
            with self.new_session() as session, session.begin():
                session.execute(text(f"SET LOCAL default_statistics_target = {ANALYZE_TARGET}"))
                for table in sorted(due):
                    session.execute(text(f"ANALYZE {table} (account_id)"))
                    self.known[table] += self.pending.pop(table)
        return due


#: Where each kind keeps the digest of the record its row was last written from.
DIGEST_TABLES = {
    Kind.VENUE.value: "venue",
    Kind.PRODUCTION.value: "production",
    Kind.EVENT.value: "event",
    Kind.PERSON.value: "person_identity",
    Kind.ORDER.value: "orders",
    Kind.SUBSCRIPTION.value: "subscription",
}
DIGEST_VERSION = 1  # raise it when the same record would be written differently: every digest lapses

Key = tuple[str, str]  # (kind, external id)
RECORD_KINDS = {
    VenueRecord: Kind.VENUE.value,
    ProductionRecord: Kind.PRODUCTION.value,
    EventRecord: Kind.EVENT.value,
    PersonRecord: Kind.PERSON.value,
    OrderRecord: Kind.ORDER.value,
    SubscriptionRecord: Kind.SUBSCRIPTION.value,
}


def _key(raw: object) -> Key | None:
    """A raw record's kind and id when both are plainly what parsing them would give (an ASCII id
    with nothing to clean), else None: such a record is always parsed and written."""
    if not isinstance(raw, dict):
        return None
    kind, external_id = raw.get("type"), raw.get("id")
    if kind not in DIGEST_TABLES or not isinstance(external_id, str):
        return None
    if not (0 < len(external_id) <= MAX_ID and external_id.isascii() and external_id.isprintable()):
        return None
    return (kind, external_id) if external_id == external_id.strip() else None


@dataclass
class _Parsed:
    read: int
    records: list[Record]
    refused: list[Refusal]
    skipped: Counter  # unchanged records not parsed, per kind (an order's tickets under "ticket")
    digests: dict[Key, bytes]  # of the parsed records, to store with their rows
    keys: set[Key]  # every record's kind and id, as given and as parsed


@dataclass
class _Prepared:
    batch: list
    keys: list[Key | None]
    digests: dict[Key, bytes]  # the records that may be skipped


class _Parser:
    """Turns the feed's batches into records, skipping those identical to the record their row was
    last written from (same digest: the raw record and the options that shape its writing).

    Per batch: ``prepare`` reads it and takes digests (parser thread), ``unchanged`` looks the
    digests up (the caller's thread, which owns the database), ``parse`` parses the rest (parser
    thread). The lookup runs while the batch before is still to be written, so a record whose id
    is in that batch, or twice in its own, is never skipped."""

    def __init__(self, new_session: Callable[[], Session], account_id: int, options: ImportOptions, today: date):
        self.new_session = new_session
        self.account_id = account_id
        self.options = options
        self.today = today
        self.salt = orjson.dumps([DIGEST_VERSION, sorted(options.tag_persons), options.create_consent_types])
        self.looked_up = set(DIGEST_TABLES)  # the kinds whose digests are worth looking up (``start``)

    def start(self) -> None:
        """Look digests up only for kinds with rows from this source that carry one: a first import
        (nothing stored yet) then asks nothing per batch. Its own later records are not skipped
        either way (they are written again, an update only where a column differs)."""
        if not self.options.skip_unchanged:
            return
        with self.new_session() as session:
            params = {"a": self.account_id, "s": self.options.source}
            self.looked_up = {
                kind
                for kind, table in DIGEST_TABLES.items()
                if session.execute(
                    text(
                        f"SELECT EXISTS (SELECT 1 FROM {table} WHERE account_id = :a AND source = :s "
                        "AND feed_digest IS NOT NULL)"
                    ),
                    params,
                ).scalar_one()
            }

    def _digest(self, raw: dict) -> bytes | None:
        try:
            body = orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)
        except (TypeError, orjson.JSONEncodeError):
            return None
        return hashlib.blake2b(self.salt + body, digest_size=16).digest()

    def prepare(self, batch: list) -> _Prepared:
        keys = [_key(raw) for _, raw in batch]
        digests = {}
        if self.options.skip_unchanged:
            seen = Counter(k for k in keys if k is not None)
            for (_, raw), key in zip(batch, keys):
                if key is not None and seen[key] == 1:
                    digest = self._digest(raw)
                    if digest is not None:
                        digests[key] = digest
        return _Prepared(batch, keys, digests)

    def unchanged(self, prepared: _Prepared, in_flight: set[Key]) -> set[Key]:
        """The batch's records whose digest is the one stored with their row."""
        wanted: dict[str, list[str]] = {}
        for kind, external_id in prepared.digests:
            if kind in self.looked_up and (kind, external_id) not in in_flight:
                wanted.setdefault(kind, []).append(external_id)
        if not wanted:
            return set()
        parts, params = [], {"a": self.account_id, "s": self.options.source}
        for kind, ids in wanted.items():
            parts.append(
                f"SELECT '{kind}', external_id, feed_digest FROM {DIGEST_TABLES[kind]} WHERE account_id = :a "
                f"AND source = :s AND external_id = ANY(CAST(:{kind} AS text[])) AND feed_digest IS NOT NULL"
            )
            params[kind] = ids
        with self.new_session() as session:
            stored = session.execute(text(" UNION ALL ".join(parts)), params)
            return {(k, i) for k, i, digest in stored if prepared.digests.get((k, i)) == bytes(digest)}

    def parse(self, prepared: _Prepared, unchanged: set[Key]) -> _Parsed:
        parsed = _Parsed(len(prepared.batch), [], [], Counter(), {}, {k for k in prepared.keys if k is not None})
        for (line, raw), key in zip(prepared.batch, prepared.keys):
            if key in unchanged:
                parsed.skipped[key[0]] += 1  # type: ignore[index]
                if key[0] == Kind.ORDER.value and isinstance(raw.get("tickets"), list):  # type: ignore[index,union-attr]
                    parsed.skipped["ticket"] += len(raw["tickets"])  # type: ignore[index]
                continue
            record = Refusal(line, "", None, "", raw) if isinstance(raw, str) else parse_record(raw, line, self.today)
            if isinstance(record, Refusal):
                parsed.refused.append(record)
                continue
            parsed.records.append(record)
            parsed.keys.add((RECORD_KINDS[type(record)], record.id))  # an id that needed cleaning, as cleaned
            if key is not None and key in prepared.digests:
                parsed.digests[key] = prepared.digests[key]
        return parsed


def _parsed_ahead(raw_records: Iterable, size: int, parser: _Parser, result: ImportResult) -> Iterator[_Parsed]:
    """The feed's batches, parsed: the next batch is read and parsed on a second thread while the
    current one is written (the database's waits release the GIL), one batch ahead at most, so
    memory stays that of two batches. Counts and refusals are added here, on the caller's thread."""
    batches = _batches(raw_records, size)

    def prepare_next() -> _Prepared | None:
        batch = next(batches, None)
        return None if batch is None else parser.prepare(batch)

    def parse_then_prepare(prepared: _Prepared, unchanged: set[Key]) -> tuple[_Parsed, _Prepared | None]:
        return parser.parse(prepared, unchanged), prepare_next()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="feed-parser") as pool:
        prepared = prepare_next()
        if prepared is None:
            return
        ahead: Future[tuple[_Parsed, _Prepared | None]] | None = pool.submit(
            parse_then_prepare, prepared, parser.unchanged(prepared, set())
        )
        while ahead is not None:
            parsed, prepared = ahead.result()  # re-raises what reading the feed raised
            ahead = None
            if prepared is not None:  # looked up before ``parsed`` is written: its ids are in flight
                ahead = pool.submit(parse_then_prepare, prepared, parser.unchanged(prepared, parsed.keys))
            result.records += parsed.read
            for refusal in parsed.refused:
                result.refuse(refusal)
            for kind, n in parsed.skipped.items():
                result.count(kind, "unchanged", n)
            yield parsed


def run_import(
    new_session: Callable[[], Session],
    account_id: int,
    raw_records: Iterable[tuple[int, object]],
    options: ImportOptions = ImportOptions(),
    *,
    progress: Callable[[ImportResult], None] | None = None,
    statistics: ImportStatistics | None = None,
) -> ImportResult:
    """Import a stream of (line, raw record); each batch commits on its own session.
    ``statistics``: the keeper of a run that imports several streams (a pull's pages)."""
    result = ImportResult()
    with new_session() as session:
        timezone_name = session.execute(
            text("SELECT timezone FROM account WHERE id = :a"), {"a": account_id}
        ).scalar_one()
    today = clock.today(timezone_name)
    if statistics is None:
        statistics = ImportStatistics(new_session, account_id)
        statistics.start()
    parser = _Parser(new_session, account_id, options, today)
    parser.start()
    memory = _ImportMemory()
    with _prompt_hand_over():
        for parsed in _parsed_ahead(raw_records, options.batch_size, parser, result):
            result.merge(_write_batch(new_session, account_id, options, today, parsed, memory))
            result.batches += 1
            statistics.after_batch(result)
            if progress is not None:
                progress(result)
    return result


def _write_batch(
    new_session: Callable[[], Session],
    account_id: int,
    options: ImportOptions,
    today: date,
    parsed: _Parsed,
    memory: _ImportMemory,
) -> ImportResult:
    """One batch in one transaction; its figures once it committed. A batch whose plain INSERT
    met an existing row is written again (at most once more per table: upserts from then on)."""
    while True:
        written = ImportResult()
        try:
            with new_session() as session, session.begin():
                batch = _Batch(session, account_id, options, written, today, parsed.digests, memory)
                batch.write(parsed.records)
        except _Conflict as conflict:
            memory.conflicted.add(conflict.table)
            continue
        memory.remember(batch)
        return written


@dataclass
class _ImportMemory:
    """What one import learns batch after batch (from committed batches only)."""

    known_events: dict[str, int] = field(default_factory=dict)  # event ids by external id (``KNOWN_EVENTS``)
    # Tables where a plain INSERT of a batch's rows met one that exists: upserted from then on.
    conflicted: set[str] = field(default_factory=set)

    def remember(self, batch: _Batch) -> None:
        if len(self.known_events) + len(batch.looked_up_events) <= KNOWN_EVENTS:
            self.known_events.update(batch.looked_up_events)


class _Conflict(Exception):
    """A plain INSERT met a row that exists: the batch is rolled back and written again with upserts."""

    def __init__(self, table: str):
        super().__init__(table)
        self.table = table


_hand_over_lock = threading.Lock()
_hand_over_users = 0
_hand_over_before = 0.0
HAND_OVER_S = 0.0002  # the GIL's switch interval while an import runs (the interpreter's default: 5 ms)


@contextmanager
def _prompt_hand_over() -> Iterator[None]:
    """While an import runs, the writing thread takes the GIL back from the parser thread within
    0.2 ms instead of 5 ms: it needs it after every statement (a batch sends ~15), and with the
    default it spent more time waiting for the GIL than the statements took. Process-wide, so
    counted: the interval is put back when the last running import ends."""
    global _hand_over_users, _hand_over_before
    with _hand_over_lock:
        if _hand_over_users == 0:
            _hand_over_before = sys.getswitchinterval()
            sys.setswitchinterval(min(_hand_over_before, HAND_OVER_S))
        _hand_over_users += 1
    try:
        yield
    finally:
        with _hand_over_lock:
            _hand_over_users -= 1
            if _hand_over_users == 0:
                sys.setswitchinterval(_hand_over_before)


def _json_value(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)  # exact: numeric reads the text
    raise TypeError(f"cannot write {type(value).__name__} to the database as JSON")


def _array(values: Iterable[object]) -> str:
    """A PostgreSQL array literal for a ``CAST(:p AS type[])`` parameter: psycopg's own list
    dumper is Python, element by element, and took as long as the statements it fed. Elements
    are None, str, bool, int, float, Decimal, date or datetime (ISO with offset)."""
    return "{" + ",".join(map(_element, values)) + "}"


def _element(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, date):  # datetime too (a subclass)
        return '"' + value.isoformat() + '"'
    raise TypeError(f"cannot write {type(value).__name__} into an array literal")


def _pairs(result) -> dict:
    """Two-column rows as a dict (``dict(result)`` would take the result for a mapping)."""
    return {key: value for key, value in result}


def _ids(session: Session, table: str, account_id: int, source: str, external_ids: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(external_ids))
    if not wanted:
        return {}
    rows = session.execute(
        text(
            f"SELECT external_id, id FROM {table} "
            "WHERE account_id = :a AND source = :s AND external_id = ANY(CAST(:ids AS text[]))"
        ),
        {"a": account_id, "s": source, "ids": _array(wanted)},
    )
    return _pairs(rows)


class _Batch:
    def __init__(
        self,
        session: Session,
        account_id: int,
        options: ImportOptions,
        result: ImportResult,
        today: date,
        digests: dict[Key, bytes],
        memory: _ImportMemory,
    ):
        self.session = session
        self.memory = memory
        self.looked_up_events: dict[str, int] = {}
        self.a = account_id
        self.source = options.source
        self.options = options
        self.result = result
        self.today = today
        self.changed_productions: set[int] = set()  # their row, tags or events changed: announced
        self.digests = digests
        self.refused: set[Key] = set()  # records (partly) refused: their digest is not stored
        self.sales_changed: set[int] = set()  # persons whose orders or tickets were written: scored again
        self.suppressing = False  # the account has erased persons (``_unsuppressed``)

    def write(self, records: list[Record]) -> None:
        privacy.lock_person_writes(self.session, self.a)  # an erasure waits, or is waited for
        self.suppressing = privacy.has_suppressions(self.session, self.a)
        by_kind: dict[type, list] = {}
        for record in records:
            by_kind.setdefault(type(record), []).append(record)
        self.venues(self._unique(by_kind.get(VenueRecord, []), Kind.VENUE))
        self.productions(self._unique(by_kind.get(ProductionRecord, []), Kind.PRODUCTION))
        self.events(self._unique(by_kind.get(EventRecord, []), Kind.EVENT))
        self.persons(self._unique(by_kind.get(PersonRecord, []), Kind.PERSON))
        self.orders(self._unique(by_kind.get(OrderRecord, []), Kind.ORDER))
        self.subscriptions(self._unique(by_kind.get(SubscriptionRecord, []), Kind.SUBSCRIPTION))
        refresh_interest_scores(self.session, self.a, sorted(self.sales_changed))
        if self.changed_productions:
            events.record(
                self.session,
                events.ProductionsChanged(account_id=self.a, production_ids=tuple(sorted(self.changed_productions))),
            )

    def _unique(self, records: list, kind: Kind) -> list:
        """The last record of each external id in the batch (a feed may repeat a changed record)."""
        last = {r.id: r for r in records}
        for r in records:
            if last[r.id] is not r:
                self.result.count(kind, "superseded")
        return list(last.values())

    def _refuse(self, record: Any, kind: Kind, field_name: str, message: str) -> None:
        self.refused.add((kind.value, record.id))
        self.result.refuse(Refusal(record.line, kind.value, record.id, field_name, message))

    def _digest(self, kind: Kind, external_id: str) -> str | None:
        """The record's digest to store with its row (hex), None when it is not to be skipped next time."""
        key = (kind.value, external_id)
        digest = self.digests.get(key)
        return None if digest is None or key in self.refused else digest.hex()

    def _upsert(
        self, table: str, kind: Kind | str, columns: list[str], types: list[str], rows: list[tuple]
    ) -> dict[str, int]:
        """Insert or update rows by external id; an update only where a column differs.
        ``kind``: what the counts are kept under; a ``Kind`` stores each record's digest with its
        row. Returns the rows written: their ids by external id."""
        if not rows:
            return {}
        digested = isinstance(kind, Kind)
        if digested:
            rows = [(*row, self._digest(kind, row[0])) for row in rows]  # type: ignore[arg-type]
        insert, upsert, params = self._upsert_parts(table, columns, types, rows, digested=digested)
        returning = "RETURNING id, external_id, (xmax = 0) AS created"
        returned = self._execute_upsert(table, insert + returning, insert + upsert + returning, params).all()
        written = [row.created for row in returned]
        self._count_written(kind, len(rows), len(written), sum(written))
        if digested and len(returned) < len(rows):
            done = {row.external_id for row in returned}
            self._store_digests(table, [(row[0], row[-1]) for row in rows if row[0] not in done and row[-1]])
        return {row.external_id: row.id for row in returned}

    def _upsert_summarised(
        self, table: str, kind: str, columns: list[str], types: list[str], rows: list[tuple], summarised: str
    ) -> set[int]:
        """As ``_upsert`` for rows kept without digests, returning only the distinct values of
        column ``summarised`` among the rows written (a batch's tickets: their buyers), so a
        million written rows do not come back to Python one by one."""
        if not rows:
            return set()
        insert, upsert, params = self._upsert_parts(table, columns, types, rows, digested=False)
        returning = f"RETURNING (xmax = 0) AS created, {summarised} AS value"
        summary = (
            "SELECT count(*) FILTER (WHERE created), count(*), coalesce(array_agg(DISTINCT value), '{}') FROM written"
        )
        created, written, values = self._execute_upsert(
            table,
            f"WITH written AS ({insert}{returning}) {summary}",
            f"WITH written AS ({insert}{upsert}{returning}) {summary}",
            params,
        ).one()
        self._count_written(kind, len(rows), written, created)
        return set(values)

    def _upsert_parts(
        self, table: str, columns: list[str], types: list[str], rows: list[tuple], *, digested: bool
    ) -> tuple[str, str, dict[str, Any]]:
        """The INSERT, its ON CONFLICT clause and the parameters for ``rows`` (external id first,
        then ``columns``, then the digest when ``digested``)."""
        # One JSON parameter, not an array per column: orjson writes it in C, PostgreSQL reads it
        # in C (psycopg's Python array dumper took as long as the statement itself).
        all_types = ["text", *types, *(["text"] if digested else [])]  # c0: external ids
        keys = [f"c{i}" for i in range(len(all_types))]
        record_type = ", ".join(f"{key} {t}" for key, t in zip(keys, all_types))
        picked = ", ".join(f"r.c{i}" for i in range(len(columns) + 1))
        names = ", ".join(columns)
        sets = ", ".join(f"{c} = excluded.{c}" for c in columns)
        current = ", ".join(f"{table}.{c}" for c in columns)
        given = ", ".join(f"excluded.{c}" for c in columns)
        differs = f"({current}) IS DISTINCT FROM ({given})"
        if digested:
            names += ", feed_digest"
            picked += f", decode(r.c{len(columns) + 1}, 'hex')"
            sets += ", feed_digest = excluded.feed_digest"
        insert = (
            f"INSERT INTO {table} (account_id, source, external_id, {names}) "
            f"SELECT :a, :s, {picked} FROM json_to_recordset(CAST(:rows AS json)) AS r({record_type}) "
        )
        upsert = (
            f"ON CONFLICT (account_id, source, external_id) WHERE external_id IS NOT NULL "
            f"DO UPDATE SET {sets} WHERE {differs} "
        )
        payload = orjson.dumps([dict(zip(keys, row)) for row in rows], default=_json_value).decode()
        return insert, upsert, {"a": self.a, "s": self.source, "rows": payload}

    def _execute_upsert(self, table: str, plain: str, upsert: str, params: dict[str, Any]):
        """Optimistic: a plain INSERT skips the upsert's per-row speculative insertion (a first
        import's tickets and orders write ~15 % faster). The first batch whose rows include one
        that exists is rolled back and written again with upserts, as is every later batch of
        this table in the import (a savepoint instead would make each row lock taken in it a
        MultiXact)."""
        if table in self.memory.conflicted:
            return self.session.execute(text(upsert), params)
        try:
            return self.session.execute(text(plain), params)
        except IntegrityError as error:
            if isinstance(error.orig, psycopg.errors.UniqueViolation):
                raise _Conflict(table) from error
            raise

    def _count_written(self, kind: Kind | str, given: int, written: int, created: int) -> None:
        self.result.count(kind, "created", created)
        self.result.count(kind, "updated", written - created)
        self.result.count(kind, "unchanged", given - written)

    def _ids_besides(self, written: dict[str, int], table: str, external_ids: Iterable[str]) -> dict[str, int]:
        """The rows' ids by external id: those just written as returned, the others looked up."""
        return written | _ids(self.session, table, self.a, self.source, (i for i in external_ids if i not in written))

    def _store_digests(self, table: str, digests: list[tuple[str, str]]) -> None:
        """Digests for rows whose content was already what their record says (so not written)."""
        if digests:
            self.session.execute(
                text(
                    f"UPDATE {table} t SET feed_digest = decode(d.digest, 'hex') "
                    "FROM unnest(CAST(:ids AS text[]), CAST(:digests AS text[])) AS d(id, digest) "
                    "WHERE t.account_id = :a AND t.source = :s AND t.external_id = d.id "
                    "AND t.feed_digest IS DISTINCT FROM decode(d.digest, 'hex')"
                ),
                {
                    "a": self.a,
                    "s": self.source,
                    "ids": _array(i for i, _ in digests),
                    "digests": _array(d for _, d in digests),
                },
            )

    # -- catalogue -------------------------------------------------------------------------------
    def venues(self, records: list[VenueRecord]) -> None:
        self._upsert(
            "venue",
            Kind.VENUE,
            ["name", "address", "city", "latitude", "longitude"],
            ["text", "text", "text", "float8", "float8"],
            [(r.id, r.name, r.address, r.city, r.latitude, r.longitude) for r in records],
        )

    def productions(self, records: list[ProductionRecord]) -> None:
        changed = self._upsert(
            "production",
            Kind.PRODUCTION,
            ["title", "promoter", "season", "description"],
            ["text", "text", "text", "text"],
            [(r.id, r.title, r.promoter, r.season, r.description) for r in records],
        )
        self.changed_productions.update(changed.values())
        if not records:
            return
        ids = self._ids_besides(changed, "production", (r.id for r in records))
        names = sorted({n for r in records for n in r.tags})
        tag_ids = self._tag_ids(names)
        pairs = [(ids[r.id], tag_ids[name_key(n)]) for r in records for n in r.tags]
        # The feed's links are exactly the production's integration links: others go, new ones come.
        removed = (
            self.session.execute(
                text(
                    "DELETE FROM production_tag pt WHERE pt.account_id = :a AND pt.source = 'integration' "
                    "AND pt.production_id = ANY(CAST(:productions AS bigint[])) "
                    "AND (pt.production_id, pt.tag_id) NOT IN "
                    "(SELECT * FROM unnest(CAST(:p AS bigint[]), CAST(:t AS bigint[]))) RETURNING pt.production_id"
                ),
                {
                    "a": self.a,
                    "productions": sorted(ids.values()),
                    "p": [p for p, _ in pairs],
                    "t": [t for _, t in pairs],
                },
            )
            .scalars()
            .all()
        )
        added = (
            self.session.execute(
                text(
                    "INSERT INTO production_tag (account_id, production_id, tag_id, source, actor) "
                    "SELECT DISTINCT :a, p, t, 'integration', :actor "
                    "FROM unnest(CAST(:p AS bigint[]), CAST(:t AS bigint[])) AS x(p, t) "
                    "ON CONFLICT DO NOTHING RETURNING production_id"
                ),
                {"a": self.a, "actor": self.source, "p": [p for p, _ in pairs], "t": [t for _, t in pairs]},
            )
            .scalars()
            .all()
        )
        self.result.count("production_tag", "created", len(added))
        self.result.count("production_tag", "removed", len(removed))
        self.changed_productions.update(added, removed)

    def _tag_ids(self, names: list[str]) -> dict[str, int]:
        """Tags by name key, the missing ones created (uncategorised)."""
        if not names:
            return {}
        policy = self.session.execute(
            text("SELECT tag_name_policy FROM account WHERE id = :a"), {"a": self.a}
        ).scalar_one()
        found = tags.ensure_tag_names(self.session, self.a, policy=policy, names=names)
        return {name_key(n): t.id for n, t in zip(names, found)}  # type: ignore[misc]

    def events(self, records: list[EventRecord]) -> None:
        productions = _ids(self.session, "production", self.a, self.source, (r.production for r in records))
        venues = _ids(self.session, "venue", self.a, self.source, (r.venue for r in records))
        rows = []
        for r in records:
            if r.production not in productions:
                self._refuse(r, Kind.EVENT, "production", f"no production {r.production!r} from {self.source}")
            elif r.venue not in venues:
                self._refuse(r, Kind.EVENT, "venue", f"no venue {r.venue!r} from {self.source}")
            else:
                rows.append((r.id, productions[r.production], venues[r.venue], r.starts_at, r.capacity, r.status))
        written = self._upsert(
            "event",
            Kind.EVENT,
            ["production_id", "venue_id", "starts_at", "capacity", "status"],
            ["bigint", "bigint", "timestamptz", "bigint", "text"],
            rows,
        )
        if written:
            self.changed_productions.update(
                self.session.execute(
                    text("SELECT DISTINCT production_id FROM event WHERE account_id = :a AND id = ANY(:ids)"),
                    {"a": self.a, "ids": list(written.values())},
                ).scalars()
            )

    # -- persons ---------------------------------------------------------------------------------
    def persons(self, records: list[PersonRecord]) -> None:
        if not records:
            return
        s, a = self.session, self.a
        by_identity = self._persons_by_identity(r.id for r in records)
        if self.suppressing:
            records = self._unsuppressed([r for r in records], by_identity)
        emails = sorted({r.fields["email"].lower() for r in records if r.fields.get("email")})
        by_email = _pairs(
            s.execute(
                text(
                    "SELECT lower(email), id FROM person WHERE account_id = :a "
                    "AND lower(email) = ANY(CAST(:e AS text[]))"
                ),
                {"a": a, "e": _array(emails)},
            )
        )
        # Who each record is: its identity, else its e-mail, else a new person (shared by the
        # batch's records with the same e-mail).
        person_of: dict[str, int] = {}
        new: list[PersonRecord] = []
        new_by_email: dict[str, PersonRecord] = {}
        for r in records:
            email = (r.fields.get("email") or "").lower()
            owner = by_email.get(email) if email else None
            if r.id in by_identity:
                person_of[r.id] = by_identity[r.id]
                if owner is not None and owner != by_identity[r.id]:
                    self._refuse(r, Kind.PERSON, "email", "this e-mail address belongs to another person")
                    person_of.pop(r.id)
            elif owner is not None:
                person_of[r.id] = owner
            elif email and email in new_by_email:
                continue  # identity added below, to the person the first record creates
            else:
                new.append(r)
                if email:
                    new_by_email[email] = r
        if new:
            fresh = [
                row[0]
                for row in s.execute(
                    text("SELECT nextval(pg_get_serial_sequence('person', 'id')) FROM generate_series(1, :n)"),
                    {"n": len(new)},
                )
            ]
            for r, person_id in zip(new, fresh):
                person_of[r.id] = person_id
            for r in records:
                email = (r.fields.get("email") or "").lower()
                if r.id not in person_of and email in new_by_email:
                    person_of[r.id] = person_of[new_by_email[email].id]
            columns, types = PERSON_COLUMNS, PERSON_TYPES
            arrays = {c: _array(r.fields.get(c) for r in new) for c in columns}
            s.execute(
                text(
                    f"INSERT INTO person (account_id, id, {', '.join(columns)}) "
                    f"SELECT :a, * FROM unnest(CAST(:ids AS bigint[]), "
                    + ", ".join(f"CAST(:{c} AS {t}[])" for c, t in zip(columns, types))
                    + ")"
                ),
                {"a": a, "ids": _array(fresh), **arrays},
            )
            self.result.count(Kind.PERSON, "created", len(new))
        created = {r.id for r in new}
        existing = [r for r in records if r.id in person_of and r.id not in created]
        self._update_persons(existing, person_of)
        known = [r for r in records if r.id in person_of]
        self._consents(known, person_of)  # first: a record it refuses keeps no digest
        digests = [self._digest(Kind.PERSON, r.id) for r in known]
        identities = s.execute(
            text(
                "INSERT INTO person_identity (account_id, person_id, source, external_id, feed_digest) "
                "SELECT :a, p, :s, e, decode(d, 'hex') "
                "FROM unnest(CAST(:p AS bigint[]), CAST(:e AS text[]), CAST(:d AS text[])) AS x(p, e, d) "
                "ON CONFLICT (account_id, source, external_id) DO UPDATE SET feed_digest = excluded.feed_digest "
                "WHERE person_identity.feed_digest IS DISTINCT FROM excluded.feed_digest "
                "RETURNING (xmax = 0) AS created"
            ),
            {
                "a": a,
                "s": self.source,
                "p": _array(person_of[r.id] for r in known),
                "e": _array(r.id for r in known),
                "d": _array(digests),
            },
        ).scalars()
        self.result.count("person_identity", "created", sum(identities))
        if self.options.tag_persons:
            self._tag_persons(sorted({person_of[r.id] for r in known}))

    def _update_persons(self, records: list[PersonRecord], person_of: dict[str, int]) -> None:
        """Given fields overwrite, absent ones stay; a person whose fields all agree is not written."""
        if not records:
            return
        columns, types = PERSON_COLUMNS, PERSON_TYPES
        arrays = {c: _array(r.fields.get(c) for r in records) for c in columns}
        # An address that differs only in case is the same address: the stored spelling stays.
        new_values = ", ".join(
            "CASE WHEN lower(v.email) = lower(p.email) THEN p.email ELSE coalesce(v.email, p.email) END"
            if c == "email"
            else f"coalesce(v.{c}, p.{c})"
            for c in columns
        )
        updated = self.session.execute(
            text(
                f"UPDATE person p SET ({', '.join(columns)}, updated_at) = ({new_values}, now()) "
                f"FROM unnest(CAST(:ids AS bigint[]), "
                + ", ".join(f"CAST(:{c} AS {t}[])" for c, t in zip(columns, types))
                + f") AS v(id, {', '.join(columns)}) "
                f"WHERE p.account_id = :a AND p.id = v.id AND p.erased_at IS NULL "
                f"AND ({', '.join(f'p.{c}' for c in columns)}) IS DISTINCT FROM ({new_values})"
            ),
            {"a": self.a, "ids": _array(person_of[r.id] for r in records), **arrays},
        ).rowcount
        self.result.count(Kind.PERSON, "updated", updated)
        self.result.count(Kind.PERSON, "unchanged", len(records) - updated)

    def _consents(self, records: list[PersonRecord], person_of: dict[str, int]) -> None:
        """Consent states from the feed; an opt-out given in Marquee is never lifted by a feed."""
        states = [(person_of[r.id], c) for r in records for c in r.consents]
        if not states:
            return
        types = _pairs(
            self.session.execute(text("SELECT key, id FROM consent_type WHERE account_id = :a"), {"a": self.a})
        )
        missing = sorted({c.key for _, c in states} - set(types))
        if missing and self.options.create_consent_types:
            created = _pairs(
                self.session.execute(
                    text(
                        "INSERT INTO consent_type (account_id, key, name) SELECT :a, k, k "
                        "FROM unnest(CAST(:keys AS text[])) AS k ON CONFLICT DO NOTHING RETURNING key, id"
                    ),
                    {"a": self.a, "keys": missing},
                )
            )
            self.result.count("consent_type", "created", len(created))
            types = _pairs(
                self.session.execute(text("SELECT key, id FROM consent_type WHERE account_id = :a"), {"a": self.a})
            )
        rows = []
        for r in records:
            for c in r.consents:
                if c.key not in types:
                    self._refuse(r, Kind.PERSON, f"consents.{c.key}", f"no consent type {c.key!r} in this account")
                else:
                    rows.append((person_of[r.id], types[c.key], c.granted, c.at or clock.now()))
        if not rows:
            return
        written = self.session.execute(
            text(
                "INSERT INTO person_consent (account_id, person_id, consent_type_id, granted, granted_at, "
                "withdrawn_at, updated_at, source) "
                "SELECT DISTINCT ON (p, t) :a, p, t, g, CASE WHEN g THEN at END, CASE WHEN NOT g THEN at END, at, "
                "'integration' FROM unnest(CAST(:p AS bigint[]), CAST(:t AS bigint[]), CAST(:g AS boolean[]), "
                "CAST(:at AS timestamptz[])) AS x(p, t, g, at) ORDER BY p, t, at DESC "
                "ON CONFLICT (account_id, person_id, consent_type_id) DO UPDATE SET "
                "granted = excluded.granted, granted_at = coalesce(excluded.granted_at, person_consent.granted_at), "
                "withdrawn_at = coalesce(excluded.withdrawn_at, person_consent.withdrawn_at), "
                "updated_at = excluded.updated_at, source = excluded.source "
                "WHERE person_consent.granted IS DISTINCT FROM excluded.granted "
                "AND NOT (excluded.granted AND person_consent.source <> 'integration') "
                "AND excluded.updated_at >= person_consent.updated_at"
            ),
            {
                "a": self.a,
                "p": _array(r[0] for r in rows),
                "t": _array(r[1] for r in rows),
                "g": _array(r[2] for r in rows),
                "at": _array(r[3] for r in rows),
            },
        ).rowcount
        self.result.count("consent", "written", written)

    def _tag_persons(self, person_ids: list[int]) -> None:
        tag_ids = list(self._tag_ids(list(self.options.tag_persons)).values())
        added = self.session.execute(
            text(
                "INSERT INTO person_tag (account_id, person_id, tag_id, source, actor) "
                "SELECT :a, p, t, 'integration', :actor FROM unnest(CAST(:p AS bigint[])) AS p, "
                "unnest(CAST(:t AS bigint[])) AS t ON CONFLICT DO NOTHING"
            ),
            {"a": self.a, "actor": self.source, "p": _array(person_ids), "t": _array(tag_ids)},
        ).rowcount
        self.result.count("person_tag", "created", added)

    def _unsuppressed(self, records: list[PersonRecord], by_identity: dict[str, int]) -> list[PersonRecord]:
        """The records that are not an erased person coming back: by an identity or an e-mail
        address they had (``domain.privacy``). Those are not written; their orders count for the
        anonymous row that stands for them."""
        digests = {}
        for r in records:
            if r.id not in by_identity:
                digests[r.id] = [privacy.identity_digest(self.a, self.source, r.id)]
                if r.fields.get("email"):
                    digests[r.id].append(privacy.email_digest(self.a, r.fields["email"]))
        found = privacy.suppressed(self.session, self.a, (d for ds in digests.values() for d in ds))
        kept = [r for r in records if not any(d in found for d in digests.get(r.id, ()))]
        self.result.count(Kind.PERSON, "suppressed", len(records) - len(kept))
        return kept

    # -- sales -----------------------------------------------------------------------------------
    def _persons_by_identity(self, external_ids: Iterable[str], *, with_suppressed: bool = False) -> dict[str, int]:
        """Person ids by external id; ``with_suppressed``: also the anonymous rows that stand for
        erased persons (their orders still count)."""
        wanted = sorted(set(external_ids))
        found = _pairs(
            self.session.execute(
                text(
                    "SELECT external_id, person_id FROM person_identity WHERE account_id = :a AND source = :s "
                    "AND external_id = ANY(CAST(:ids AS text[]))"
                ),
                {"a": self.a, "s": self.source, "ids": _array(wanted)},
            )
        )
        if with_suppressed and self.suppressing:
            digests = {privacy.identity_digest(self.a, self.source, e): e for e in wanted if e not in found}
            found |= {digests[d]: p for d, p in privacy.suppressed(self.session, self.a, digests).items()}
        return found

    def orders(self, records: list[OrderRecord]) -> None:
        if not records:
            return
        persons = self._persons_by_identity((r.person for r in records), with_suppressed=True)
        events = self._event_ids({t.event for r in records for t in r.tickets})
        accepted = []
        for r in records:
            missing = next((t for t in r.tickets if t.event not in events), None)
            if r.person not in persons:
                self._refuse(r, Kind.ORDER, "person", f"no person {r.person!r} from {self.source}")
            elif missing is not None:
                index = r.tickets.index(missing)
                self._refuse(r, Kind.ORDER, f"tickets.{index}.event", f"no event {missing.event!r} from {self.source}")
            else:
                accepted.append(r)
        written = self._upsert(
            "orders",
            Kind.ORDER,
            ["person_id", "channel", "created_at", "status"],
            ["bigint", "text", "timestamptz", "text"],
            [(r.id, persons[r.person], r.channel, r.created_at, r.status) for r in accepted],
        )
        orders = self._ids_besides(written, "orders", (r.id for r in accepted))
        buyers = self._upsert_summarised(
            "ticket",
            "ticket",
            ["order_id", "event_id", "person_id", "price", "status", "scanned_at"],
            ["bigint", "bigint", "bigint", "numeric", "text", "timestamptz"],
            [
                (t.id, orders[r.id], events[t.event], persons[r.person], t.price, t.status, t.scanned_at)
                for r in accepted
                for t in r.tickets
            ],
            "person_id",
        )
        self.sales_changed.update(buyers, (persons[r.person] for r in accepted if r.id in written))

    def _event_ids(self, external_ids: set[str]) -> dict[str, int]:
        """The events' ids, from the import's own memory where it looked them up before (a feed's
        tickets point at a few thousand events, batch after batch; at most ``KNOWN_EVENTS`` kept)."""
        known = self.memory.known_events
        found = {e: known[e] for e in external_ids if e in known}
        looked_up = _ids(self.session, "event", self.a, self.source, external_ids - found.keys())
        self.looked_up_events.update(looked_up)  # remembered once the batch commits
        return found | looked_up

    def subscriptions(self, records: list[SubscriptionRecord]) -> None:
        persons = self._persons_by_identity((r.person for r in records), with_suppressed=True)
        rows = []
        for r in records:
            if r.person not in persons:
                self._refuse(r, Kind.SUBSCRIPTION, "person", f"no person {r.person!r} from {self.source}")
            else:
                rows.append((r.id, persons[r.person], r.name, r.valid_from, r.valid_until))
        self._upsert(
            "subscription",
            Kind.SUBSCRIPTION,
            ["person_id", "name", "valid_from", "valid_until"],
            ["bigint", "text", "date", "date"],
            rows,
        )
