"""Process-wide services built once from settings: engine, plugin manager, session factory.

API processes and workers call ``get_runtime()``; tests build their own ``Runtime``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from domain.budgets import STATEMENT_BUDGET
from domain.events import EVENT_SINK
from domain.jobs_state.service import JOB_SINK
from marquee.db import make_engine
from marquee.settings import Settings, get_settings

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    plugins: object = None  # plugins.manager.PluginFacade
    session_factory: Callable[[], Session] | None = field(default=None)

    @property
    def autocommit_engine(self) -> Engine:
        """The engine for read-only sessions (built once; a plain attribute, no lock)."""
        engine = self.__dict__.get("_autocommit_engine")
        if engine is None:
            engine = self.__dict__["_autocommit_engine"] = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        return engine

    @property
    def login_attempts(self):
        """Failed logins per key (``domain.accounts.login``): in Redis when configured, shared by
        every API process and prefixed with ``MARQUEE_REDIS_NAMESPACE``; else in this process."""
        counter = self.__dict__.get("_login_attempts")
        if counter is None:
            from domain.accounts.login import MemoryAttempts, RedisAttempts  # noqa: PLC0415

            if self.settings.redis_url:
                import os  # noqa: PLC0415

                import redis  # noqa: PLC0415

                client = redis.Redis.from_url(self.settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
                namespace = os.environ.get("MARQUEE_REDIS_NAMESPACE") or "marquee"
                counter = RedisAttempts(client, prefix=f"{namespace}:login:")
            else:
                counter = MemoryAttempts()
            self.__dict__["_login_attempts"] = counter
        return counter

    def listener(self, channel: str):
        """The LISTEN connection for ``channel`` (marquee.notifications) of the running event loop:
        one per loop (an API process has one), since its waiters are woken from that loop."""
        import asyncio  # noqa: PLC0415
        import weakref  # noqa: PLC0415

        from marquee.notifications import Listener  # noqa: PLC0415

        by_loop = self.__dict__.setdefault("_listeners", weakref.WeakKeyDictionary())
        listeners = by_loop.setdefault(asyncio.get_running_loop(), {})
        if channel not in listeners:
            listeners[channel] = Listener(self.engine.url, channel)
        return listeners[channel]

    def new_session(self, *, read_only: bool = False) -> Session:
        """A session whose committed domain events reach the plugins.

        ``read_only`` (GraphQL queries): statements run in autocommit — no BEGIN and ROLLBACK
        round trips; under READ COMMITTED every statement takes its own snapshot anyway, so
        reads see exactly what they would in a transaction — and any write is refused."""
        if self.session_factory is not None:
            session = self.session_factory()
        elif read_only:
            session = Session(self.autocommit_engine, expire_on_commit=False)
        else:
            session = Session(self.engine, expire_on_commit=False)
        if read_only:
            refuse_writes(session)
        session.info[STATEMENT_BUDGET] = self.settings.statement_budget_ms
        session.info[JOB_SINK] = enqueue_jobs
        if self.plugins is not None:
            session.info[EVENT_SINK] = self.after_commit
        return session

    def after_commit(self, events) -> None:
        """Committed domain events: to the plugins, then the core's own reactions (website
        exports brought forward when the document surely changed)."""
        events = list(events)
        self.plugins.publish(events)
        from domain.website.service import changes_document, hasten_exports  # noqa: PLC0415

        if any(changes_document(e) for e in events):
            try:
                with self.new_session() as session, session.begin():
                    hasten_exports(session, events)
            except Exception:  # the work is committed; the scheduled run publishes it later
                log.exception("could not bring website exports forward")


def enqueue_jobs(jobs) -> None:
    """Hand committed jobs to the queue (the broker is set up on first use)."""
    from jobs.actors import enqueue  # noqa: PLC0415

    for job in jobs:
        try:
            enqueue(job)
        except Exception:  # one job that cannot be queued does not keep the others from the queue
            log.exception("job %s (%s) was committed but could not be queued", job.id, job.kind)


class ReadOnlySessionError(RuntimeError):
    """A query tried to write: writes belong in mutations."""


READ_ONLY = "marquee.read_only"


def refuse_writes(session: Session) -> None:
    session.info[READ_ONLY] = True


# Registered once for every session (registering per session costs more than a whole query);
# they only act on sessions marked read-only.
@event.listens_for(Session, "before_flush")
def _no_flush(session, flush_context, instances):
    if session.info.get(READ_ONLY) and (session.new or session.dirty or session.deleted):
        raise ReadOnlySessionError("a read-only (query) session cannot write")


@event.listens_for(Session, "do_orm_execute")
def _no_dml(state):
    if state.session.info.get(READ_ONLY) and (state.is_insert or state.is_update or state.is_delete):
        raise ReadOnlySessionError("a read-only (query) session cannot write")


_runtime: Runtime | None = None


def build_runtime(
    settings: Settings | None = None, *, engine: Engine | None = None, load_entrypoints: bool = True
) -> Runtime:
    from plugins.manager import PluginFacade, build_plugin_manager  # noqa: PLC0415

    settings = settings or get_settings()
    from domain import clock  # noqa: PLC0415

    clock.fix(settings.fixed_now)
    if engine is None:
        if not settings.database_url:
            raise RuntimeError("MARQUEE_DATABASE_URL is not set (run through `marquee` or `make demo`)")
        engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)
    plugins = PluginFacade(build_plugin_manager(load_entrypoints=load_entrypoints))
    return Runtime(settings=settings, engine=engine, plugins=plugins)


def get_runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        _runtime = build_runtime()
    return _runtime


def set_runtime(runtime: Runtime | None) -> None:
    global _runtime
    _runtime = runtime
