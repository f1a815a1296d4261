"""GraphQL queries read through an autocommit session that refuses writes; mutations keep
their transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, text
from sqlmodel import Session

from domain.accounts import service as accounts
from domain.accounts.models import Account
from graph.context import Context
from graph.core.documents import Limits, prepare
from graph.execution import execute
from graph.schema import build_schema
from marquee.runtime import ReadOnlySessionError, build_runtime


@pytest.mark.parametrize(
    ("document", "name", "expected"),
    [
        ("{ viewer { kind } }", None, True),
        ("query A { viewer { kind } }", "A", True),
        ("mutation M { loadDemoData(input: {people: 1}) { __typename } }", None, False),
        ("query A { viewer { kind } } mutation B { loadDemoData(input: {people: 1}) { __typename } }", "B", False),
        ("query A { viewer { kind } } mutation B { loadDemoData(input: {people: 1}) { __typename } }", "A", True),
        ("query A { viewer { kind } } query B { viewer { kind } }", None, False),  # ambiguous: refused
        ("subscription S { x }", None, False),
        ("{ viewer { ", None, False),  # a syntax error: refused
    ],
)
def test_operation_kind(document, name, expected):
    assert prepare(document, name, Limits()).is_query is expected


@pytest.fixture()
def real_runtime(committed_engine, test_settings):
    """A runtime on the real engine (no test transaction around its sessions)."""
    return build_runtime(test_settings, engine=committed_engine, load_entrypoints=False)


def test_read_only_session_is_autocommit_and_refuses_writes(real_runtime):
    session = real_runtime.new_session(read_only=True)
    try:
        assert session.execute(text("select 1")).scalar() == 1
        assert session.connection().connection.dbapi_connection.autocommit is True
        with pytest.raises(ReadOnlySessionError):
            session.execute(insert(Account).values(name="x", slug="x"))
        session.add(Account(name="y", slug="y"))
        with pytest.raises(ReadOnlySessionError):
            session.flush()
    finally:
        session.close()
    with Session(real_runtime.engine) as check:
        assert check.execute(select(Account.id).where(Account.slug.in_(["x", "y"]))).first() is None


def test_queries_read_without_a_transaction_and_mutations_write_in_one(real_runtime):
    with Session(real_runtime.engine) as session:
        account = accounts.create_account(session, name="Autocommit Venue")
        admin = accounts.create_staff_user(session, account.id, email="a@example.test", role="admin")
        _, secret = accounts.issue_token(session, account.id, kind="staff", staff_user_id=admin.id, name="t")
        session.commit()
    schema = build_schema(real_runtime.settings)

    query = Context(real_runtime, f"Bearer {secret}")
    try:
        result = execute(schema, None, query, query="{ viewer { kind } }")
        assert result.errors is None and query.read_only
        assert query.session.connection().connection.dbapi_connection.autocommit is True
    finally:
        query.close()

    mutation = Context(real_runtime, f"Bearer {secret}")
    try:
        result = execute(
            schema,
            None,
            mutation,
            query="""mutation { createPerson(input: {firstName: "Ada",
            email: "ada@example.test"}) { __typename } }""",
        )
        assert result.errors is None and not mutation.read_only
        assert result.data["createPerson"]["__typename"] == "CreatePersonSuccess"
    finally:
        mutation.close()
