"""An audience index kept exact at query time (issue 15): a base built from one snapshot, and before
every count a catch-up with the change journal (``domain.audience.models``).

The persons the journal names since the base's snapshot are read again into a small delta index;
a count is the base's count over the persons who did not change plus the delta's count (every
condition is a test of one person, so the two parts add up). The catch-up is consistent without
REPEATABLE READ: it notes a snapshot S, reads the persons the journal names between the base and S,
reads their rows, then asks whether a transaction S does not see wrote one of them; if none did,
each person's rows are as of S (those not read again did not change between the base and S), so
the count is the database's state at S; else it reads again (a few times at most, then the SQL
back end answers). A writer busy with other persons does not hold a count up. The session's own
uncommitted writes are in its delta, which is then kept for this count only.

``CountReport`` is each count's telemetry: the back end that answered, why the index did not (if
it did not), the catch-up's and the evaluation's time, and how many changed persons were read.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta
from time import monotonic, perf_counter

import numpy as np
from sqlalchemy import BigInteger, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine
from sqlmodel import Session

from domain.audience.index import AudienceIndex, NotIndexed, RebuildNeeded, build_index, combine

log = logging.getLogger("marquee.audience")
JOURNAL_KEPT = timedelta(hours=6)  # the journal's rows are pruned after this (jobs/scheduler.py's tick)
MAX_BASE_AGE = JOURNAL_KEPT - timedelta(hours=1)  # an older base is rebuilt: its changes may be pruned
MAX_BACKLOG = 50_000  # changed persons a catch-up reads at most; beyond, the SQL back end answers
ATTEMPTS = 3  # catch-ups tried while other transactions keep writing
FOLLOW_SECONDS = 1.0  # how often a followed index catches up in the background

CHANGES = text("""
    SELECT coalesce(array_agg(DISTINCT p.id) FILTER (WHERE p.id IS NOT NULL), '{}') AS persons,
           coalesce(bool_or(c.person_ids IS NULL), false) AS whole,
           coalesce(bool_or(c.xid = pg_current_xact_id_if_assigned()::text::bigint), false) AS own
      FROM audience_change c LEFT JOIN LATERAL unnest(c.person_ids) AS p(id) ON true
     WHERE c.account_id = :a
       AND ((c.xid >= pg_snapshot_xmin(CAST(:since AS pg_snapshot))::text::bigint
             AND NOT pg_visible_in_snapshot(c.xid::text::xid8, CAST(:since AS pg_snapshot))
             AND (CAST(:upto AS text) IS NULL
                  OR pg_visible_in_snapshot(c.xid::text::xid8, CAST(:upto AS pg_snapshot))))
            -- the session's own: never in a shared delta, and visible in a snapshot it took itself
            OR c.xid = pg_current_xact_id_if_assigned()::text::bigint)
       AND NOT (c.xid = :base_xid AND c.id <= :base_journal)  -- the base's own transaction's, read by it""")
# Whether a transaction the snapshot does not see wrote any of these persons (or the whole account).
TOUCHED_SINCE = text("""
    SELECT EXISTS (
      SELECT 1 FROM audience_change c
       WHERE c.account_id = :a
         AND c.xid >= pg_snapshot_xmin(CAST(:since AS pg_snapshot))::text::bigint
         AND NOT pg_visible_in_snapshot(c.xid::text::xid8, CAST(:since AS pg_snapshot))
         AND c.xid IS DISTINCT FROM pg_current_xact_id_if_assigned()::text::bigint
         AND (c.person_ids IS NULL OR c.person_ids && :persons))""").bindparams(
    bindparam("persons", type_=ARRAY(BigInteger))
)
# Whether another transaction wrote since the snapshot (the session's own writes are read anyway).
WRITTEN_SINCE = text("""
    SELECT EXISTS (
      SELECT 1 FROM audience_change c
       WHERE c.account_id = :a
         AND c.xid >= pg_snapshot_xmin(CAST(:since AS pg_snapshot))::text::bigint
         AND NOT pg_visible_in_snapshot(c.xid::text::xid8, CAST(:since AS pg_snapshot))
         AND c.xid IS DISTINCT FROM pg_current_xact_id_if_assigned()::text::bigint)""")
SNAPSHOT = text("SELECT pg_current_snapshot()::text")


@dataclass
class CountReport:
    backend: str  # "index" or "sql"
    reason: str | None = None  # why not the index
    catch_up_ms: float = 0.0
    evaluate_ms: float = 0.0
    changed_persons: int = 0


@dataclass
class Delta:
    """The persons changed since the base's snapshot, as of ``snapshot``."""

    index: AudienceIndex
    snapshot: str
    changed: np.ndarray  # sorted ids of the changed persons
    stale_rows: np.ndarray  # bool over the base's rows: rows the delta replaces


class LiveIndex:
    """A base index and its latest shared delta. Thread-safe: catch-ups run one at a time, and a
    count reads the shared delta once (it is replaced whole, never changed in place)."""

    def __init__(self, base: AudienceIndex):
        self.base = base
        self.built = monotonic()
        self._delta: Delta | None = None
        # One catch-up at a time: a count that arrives while another (or the follower) reads the
        # journal waits for it and then reads only what came after, instead of doing it twice.
        self._catching = threading.Lock()
        self._following: threading.Event | None = None

    def _params(self, since: str, upto: str | None = None) -> dict:
        return {
            "a": self.base.account_id,
            "since": since,
            "upto": upto,
            "base_xid": self.base.xid if self.base.xid is not None else -1,
            "base_journal": self.base.journal_id,
        }

    def _stale_rows(self, changed: np.ndarray) -> np.ndarray:
        ids = self.base.person_ids
        stale = np.zeros(len(ids), dtype=bool)
        if len(ids) and len(changed):
            at = np.minimum(np.searchsorted(ids, changed), len(ids) - 1)
            stale[at[ids[at] == changed]] = True
        return stale

    def catch_up(self, session: Session, *, wait: bool = True) -> tuple[Delta | None, int]:
        """The delta that brings the base to the database's current state (None: nothing changed),
        and how many changed persons it read again (those changed since the shared delta).
        Raises NotIndexed when the index cannot answer. ``wait=False`` (the follower): nothing is
        done while another catch-up runs."""
        if not self._catching.acquire(blocking=wait):
            return self._delta, 0
        try:
            return self._catch_up(session)
        finally:
            self._catching.release()

    def _catch_up(self, session: Session) -> tuple[Delta | None, int]:
        account = self.base.account_id
        if monotonic() - self.built > MAX_BASE_AGE.total_seconds():
            raise RebuildNeeded("the index is older than the change journal keeps")
        for _ in range(ATTEMPTS):
            shared = self._delta
            since = shared.snapshot if shared is not None else self.base.snapshot
            if not session.execute(WRITTEN_SINCE, {"a": account, "since": since}).scalar_one():
                own = session.execute(CHANGES, self._params(since)).one().own
                if not own:  # nothing new since the shared delta (or the base)
                    return shared, 0
            # The persons changed since the shared delta (or the base) and by this session: read
            # again, they are as of S unless a transaction S does not see wrote one of them
            # meanwhile; the shared delta's others did not change since its snapshot.
            snapshot = session.execute(SNAPSHOT).scalar_one()
            row = session.execute(CHANGES, self._params(since, snapshot)).one()
            if row.whole:
                raise RebuildNeeded("the account's time zone or custom fields changed: the index is rebuilt")
            fresh_ids = np.array(sorted(row.persons), dtype=np.int64)
            changed = fresh_ids if shared is None else np.union1d(shared.changed, fresh_ids)
            if len(changed) > MAX_BACKLOG:
                raise RebuildNeeded(f"{len(changed):,} persons changed since the index was built")
            fresh = build_index(session, account, persons=fresh_ids.tolist())
            delta = Delta(
                fresh if shared is None else combine(shared.index, fresh), snapshot, changed, self._stale_rows(changed)
            )
            touched = {"a": account, "since": snapshot, "persons": fresh_ids.tolist()}
            if not session.execute(TOUCHED_SINCE, touched).scalar_one():
                if not row.own:  # the session's uncommitted writes stay out of what others read
                    self._delta = delta  # catch-ups run one at a time: nobody moved it meanwhile
                return delta, len(fresh_ids)
        raise NotIndexed("other transactions kept writing during the catch-up")

    @property
    def changed(self) -> int:
        """Persons changed since the base was built (as far as the shared delta knows)."""
        delta = self._delta
        return len(delta.changed) if delta is not None else 0

    @property
    def age(self) -> float:
        return monotonic() - self.built

    def follow(self, engine: Engine, every: float = FOLLOW_SECONDS) -> None:
        """Catch the shared delta up in the background every ``every`` seconds while others write,
        so that a count after a burst of writes reads only the last moment's changes. Stops with
        ``stop()``, or when the index must be rebuilt (the next count says so)."""
        if self._following is not None:
            return
        stop = self._following = threading.Event()

        def run() -> None:
            while not stop.wait(every):
                try:
                    with Session(engine) as session:
                        self.catch_up(session, wait=False)
                except RebuildNeeded:
                    return
                except Exception:  # counts catch up themselves; this is only ahead of them
                    log.exception("following the audience journal of account %s failed", self.base.account_id)

        threading.Thread(target=run, daemon=True, name=f"audience-follow-{self.base.account_id}").start()

    def stop(self) -> None:
        if self._following is not None:
            self._following.set()

    @property
    def nbytes(self) -> int:
        delta = self._delta
        return self.base.nbytes + (delta.index.nbytes if delta is not None else 0)


def measure(
    session: Session, live: LiveIndex, evaluate
) -> tuple[np.ndarray, Delta | None, np.ndarray | None, CountReport]:
    """Catch up, then ``evaluate(index)``: the base's mask (changed persons left out), the delta
    and its mask, and the telemetry."""
    started = perf_counter()
    delta, changed = live.catch_up(session)
    caught_up = perf_counter()
    base_mask = evaluate(live.base)
    delta_mask = None
    if delta is not None:
        base_mask &= ~delta.stale_rows
        delta_mask = evaluate(delta.index)
    done = perf_counter()
    report = CountReport("index", None, (caught_up - started) * 1000, (done - caught_up) * 1000, changed)
    return base_mask, delta, delta_mask, report


PRUNE = text("DELETE FROM audience_change WHERE at < clock_timestamp() - CAST(:kept AS interval)")


def prune_journal(session: Session, kept: timedelta = JOURNAL_KEPT) -> int:
    """Drop the journal's rows older than ``kept`` (no index that old is caught up: it is rebuilt)."""
    return session.execute(PRUNE, {"kept": f"{kept.total_seconds()} seconds"}).rowcount  # type: ignore[attr-defined]


def build_live(session: Session, account_id: int) -> LiveIndex:
    return LiveIndex(build_index(session, account_id))


__all__ = ["CountReport", "LiveIndex", "build_live", "measure", "prune_journal"]
