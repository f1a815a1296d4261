"""Pooled connections are checked only after sitting idle, and a dead idle one is replaced
before a request sees it."""

from __future__ import annotations

import pytest
from sqlalchemy import exc, text

from marquee.db import make_engine


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("select pg_backend_pid()")).scalar_one()


def test_a_dead_idle_connection_is_replaced(db_url, db_engine):
    engine = make_engine(db_url, pool_size=1, idle_ping_seconds=0)  # every returning connection counts as idle
    try:
        first = _backend_pid(engine)
        with db_engine.connect() as admin:
            assert admin.execute(text("select pg_terminate_backend(:p)"), {"p": first}).scalar_one()
        second = _backend_pid(engine)  # no error: the ping found it dead and the pool opened another
        assert second != first
    finally:
        engine.dispose()


def test_busy_connections_are_not_pinged_and_a_broken_one_is_dropped(db_url, db_engine):
    engine = make_engine(db_url, pool_size=1, idle_ping_seconds=3600)
    try:
        first = _backend_pid(engine)
        with db_engine.connect() as admin:
            admin.execute(text("select pg_terminate_backend(:p)"), {"p": first})
        # Recently used, so not pinged: the request that meets the dead connection fails …
        with pytest.raises(exc.DBAPIError) as failed:
            _backend_pid(engine)
        assert failed.value.connection_invalidated
        # … and the pool, invalidated by it, serves the next request a new connection.
        assert _backend_pid(engine) != first
    finally:
        engine.dispose()
