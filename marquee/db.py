"""Database engine and sessions."""

from __future__ import annotations

import time
from contextlib import contextmanager
from collections.abc import Iterator

from sqlalchemy import create_engine, event, exc
from sqlalchemy.engine import Engine
from sqlmodel import Session


def normalise_database_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


IDLE_PING_SECONDS = 10.0


def make_engine(
    url: str, *, pool_size: int = 10, echo: bool = False, idle_ping_seconds: float = IDLE_PING_SECONDS
) -> Engine:
    engine = create_engine(
        normalise_database_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        echo=echo,
        connect_args={"application_name": "marquee"},
    )
    ping_when_idle(engine, idle_ping_seconds)
    return engine


def ping_when_idle(engine: Engine, seconds: float) -> None:
    """Check a pooled connection before use only when it sat idle for ``seconds``.

    SQLAlchemy's ``pool_pre_ping`` costs a round trip on every checkout — a busy API pays it on
    every request for connections it used a moment ago. A connection that was idle (where a
    database restart or failover goes unnoticed) is pinged; a dead one is replaced before the
    request sees it. A busy connection that breaks is caught by SQLAlchemy's disconnect
    handling, which invalidates the pool."""

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, proxy) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < seconds:
            return
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            if not dbapi_connection.autocommit:
                dbapi_connection.rollback()
        except Exception as error:
            raise exc.DisconnectionError(f"idle connection is gone: {error}") from error


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session for one unit of work: commits on success, rolls back on error."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


class StatementCounter:
    """Counts SQL statements sent through an engine (tests use it against N+1 queries)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.statements: list[str] = []

    def _on_execute(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._on_execute)

    @property
    def count(self) -> int:
        return len(self.statements)
