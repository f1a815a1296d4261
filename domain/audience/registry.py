"""The audience indexes of this process (issue 15): one per large account, built in the background.

One copy per API process: an account with at least ``MARQUEE_AUDIENCE_INDEX_MIN_PERSONS`` persons
(default 100,000; below that the SQL back end answers counts in tens of milliseconds) gets an
index on its first count, built by a thread on its own REPEATABLE READ connection while the SQL
back end answers. ``MARQUEE_AUDIENCE_INDEX_MB`` (default 4096) caps the memory of all of them
(measured: about 400 MB per million persons with six tickets each); ``0`` turns indexes off.
Each index follows the change journal in the background (``LiveIndex.follow``: its delta caught
up every second while others write), so a count catches up with the last moment's changes only.
An index with many changed persons, or old, is built again in the background while it answers.
An index whose catch-up cannot answer (an account-wide change, a backlog over MAX_BACKLOG) is
dropped and rebuilt in the background; until it is ready, the SQL back end answers.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from domain.audience.live import MAX_BACKLOG, MAX_BASE_AGE, CountReport, LiveIndex, build_live

log = logging.getLogger("marquee.audience")
BYTES_PER_PERSON_ESTIMATE = 450  # what an index takes per person, to refuse one over the budget
# An index is built again in the background (the old one answering until the new one is ready)
# when this many persons changed since it was built, or at this age (the journal keeps six hours).
RENEW_AT_CHANGED = MAX_BACKLOG // 2
RENEW_AT_AGE = MAX_BASE_AGE - timedelta(hours=1)


@dataclass
class Settings:
    min_persons: int
    budget_bytes: int

    @classmethod
    def from_environment(cls) -> Settings:
        return cls(
            int(os.environ.get("MARQUEE_AUDIENCE_INDEX_MIN_PERSONS", "100000")),
            int(os.environ.get("MARQUEE_AUDIENCE_INDEX_MB", "4096")) * 2**20,
        )


class Registry:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings.from_environment()
        self._live: dict[int, LiveIndex] = {}
        self._building: set[int] = set()
        self._too_small: set[int] = set()
        self._lock = threading.Lock()

    def get(self, session: Session, account_id: int) -> LiveIndex | None:
        """The account's index when it is ready; else None (and a build starts when it should).
        An index with many changed persons, or old, is renewed in the background meanwhile."""
        live = self._live.get(account_id)
        bind = session.get_bind()
        if live is not None:
            if (live.changed >= RENEW_AT_CHANGED or live.age >= RENEW_AT_AGE.total_seconds()) and isinstance(
                bind, Engine
            ):
                self._start(bind, account_id)
            return live
        if self.settings.budget_bytes <= 0 or account_id in self._too_small:
            return None
        if not isinstance(bind, Engine):  # a session joined to an outer connection (tests): no threads
            return None
        with self._lock:
            if account_id in self._building:
                return None
            persons = (
                session.connection()
                .exec_driver_sql("SELECT count(*) FROM person WHERE account_id = %(a)s", {"a": account_id})
                .scalar_one()
            )
            held = sum(index.nbytes for index in self._live.values())
            if persons < self.settings.min_persons:
                self._too_small.add(account_id)
                return None
            if held + persons * BYTES_PER_PERSON_ESTIMATE > self.settings.budget_bytes:
                log.info("audience index for account %s would pass the memory budget", account_id)
                return None
        self._start(bind, account_id)
        return None

    def _start(self, engine: Engine, account_id: int) -> None:
        with self._lock:
            if account_id in self._building:
                return
            self._building.add(account_id)
        threading.Thread(target=self._build, args=(engine, account_id), daemon=True, name="audience-index").start()

    def _build(self, engine: Engine, account_id: int) -> None:
        try:
            with Session(engine) as session:
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
                live = build_live(session, account_id)
            live.follow(engine)
            with self._lock:
                renewed = self._live.get(account_id)
                self._live[account_id] = live
            if renewed is not None:
                renewed.stop()
            log.info(
                "audience index for account %s: %s persons, %.0f MB, built in %.1f s",
                account_id,
                f"{live.base.size:,}",
                live.nbytes / 2**20,
                live.base.build_seconds,
            )
        except Exception:  # the SQL back end keeps answering; the next count tries again
            log.exception("building the audience index of account %s failed", account_id)
        finally:
            with self._lock:
                self._building.discard(account_id)

    def stale(self, account_id: int) -> None:
        """Drop an index that cannot catch up; the next count starts its rebuild."""
        with self._lock:
            dropped = self._live.pop(account_id, None)
        if dropped is not None:
            dropped.stop()

    def add(self, live: LiveIndex) -> None:
        """Hold an index built elsewhere (the benchmark, tests)."""
        with self._lock:
            self._live[live.base.account_id] = live

    def clear(self) -> None:
        with self._lock:
            for live in self._live.values():
                live.stop()
            self._live.clear()
            self._too_small.clear()


REGISTRY = Registry()


def report(account_id: int, what: str, result: CountReport) -> None:
    """Each count's telemetry, as one log line."""
    log.info(
        "count %s of account %s: %s%s, catch-up %.1f ms, evaluation %.1f ms, %s changed persons",
        what,
        account_id,
        result.backend,
        f" ({result.reason})" if result.reason else "",
        result.catch_up_ms,
        result.evaluate_ms,
        result.changed_persons,
    )


__all__ = ["REGISTRY", "Registry", "Settings", "report"]
