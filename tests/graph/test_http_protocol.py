"""GraphQL over HTTP: limits, status codes and media types, GET, operations endpoints, introspection.

SPEC §9 ("query depth, size and alias limits protect the recursive types; introspection can be
turned off") and §11 (GraphQL-over-HTTP status codes, `application/graphql-response+json`,
GET for queries only, /healthz, /readyz, /metrics).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, UTC

import pytest
from sqlalchemy import create_engine, text

from domain.catalog.models import Event, Production, Venue
from domain.people.models import Person
from graph.app import create_app
from graph.core.ids import to_global_id
from marquee.runtime import Runtime
from tests.graphql_client import GraphQLClient
from tests.statements import Statements

GRAPHQL_RESPONSE = "application/graphql-response+json"


def person_count(connection, account_id: int) -> int:
    return connection.execute(text("select count(*) from person where account_id = :a"), {"a": account_id}).scalar_one()


def only_authentication(statements: list[str]) -> bool:
    """Nothing but the bearer token's lookup (and the test transaction's savepoints) ran, and at
    most the note of its use (``domain.accounts.staff.note_token_use``, once a minute)."""
    looked_up = [
        s for s in statements if "SAVEPOINT" not in s and not s.startswith("UPDATE api_token SET last_used_at")
    ]
    return len(looked_up) == 1 and "FROM api_token" in looked_up[0]


@pytest.fixture()
def show(session, account):
    venue = Venue(account_id=account.id, name="Grote Zaal")
    production = Production(account_id=account.id, title="Hamlet")
    session.add_all([venue, production])
    session.flush()
    session.add(
        Event(
            account_id=account.id,
            production_id=production.id,
            venue_id=venue.id,
            starts_at=datetime(2030, 1, 1, 20, tzinfo=UTC),
        )
    )
    session.flush()
    return production


def deep_query(fields: int) -> str:
    """A chain of exactly ``fields`` nested fields through the recursive event ↔ production types:
    ``events { edges { node { production { events { production { … { id } } } } } } }``."""
    chain = ["events", "edges", "node"]
    while len(chain) < fields - 1:
        chain.append("events" if chain[-1] == "production" else "production")
    query = "id"
    for name in reversed(chain):
        query = f"{name} {{ {query} }}"
    return "{ " + query + " }"


def test_deep_query_helper_builds_the_chain():
    assert deep_query(6) == "{ events { edges { node { production { events { id } } } } } }"


# --- limits ---------------------------------------------------------------------------------------------


def test_query_at_the_depth_limit_runs(gql, account, show):
    # The root field is at depth 0, so a chain of 13 fields has depth 12 (the default limit).
    r = gql(deep_query(13), token=account.admin_token)
    assert "errors" not in r, r
    assert r["_status"] == 200


def test_query_over_the_depth_limit_is_refused_before_anything_runs(gql, connection, account, show):
    query = deep_query(14)
    with Statements(connection) as statements:
        response = gql.post(query, token=account.admin_token)
    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert response.json() == {
        "errors": [
            {
                "message": "'anonymous' exceeds maximum operation depth of 12",
                "locations": [{"line": 1, "column": query.index("id }") + 1}],
            }
        ]
    }
    assert statements.seen == []  # not even the token lookup: no resolver ran


def test_depth_limit_sees_through_fragments(gql, connection, account, show):
    query = """query Deep { events { edges { node { ...E } } } }
fragment E on Event { production { ...P } }
fragment P on Production { events { production { events { production { events { production {
  events { production { events { id } } } } } } } } } }"""
    with Statements(connection) as statements:
        response = gql.post(query, token=account.admin_token, operationName="Deep")
    assert response.status_code == 400
    assert [e["message"] for e in response.json()["errors"]] == ["'Deep' exceeds maximum operation depth of 12"]
    assert statements.seen == []


def test_thirty_aliases_run(gql, account):
    query = "{ " + " ".join(f"a{i}: viewer {{ kind }}" for i in range(30)) + " }"
    r = gql(query, token=account.admin_token)
    assert r["data"] == {f"a{i}": {"kind": "STAFF"} for i in range(30)}


def test_too_many_aliases_are_refused_before_anything_runs(gql, connection, account):
    query = "{ " + " ".join(f"a{i}: persons {{ totalCount }}" for i in range(31)) + " }"
    with Statements(connection) as statements:
        response = gql.post(query, token=account.admin_token)
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": "31 aliases found. Allowed: 30"}]}
    assert statements.seen == []


def test_too_many_tokens_are_refused_before_anything_runs(gql, connection, account):
    query = "{ " + " ".join(["viewer { kind }"] * 1000) + " }"
    with Statements(connection) as statements:
        response = gql.post(query, token=account.admin_token)
    assert response.status_code == 400
    assert [e["message"] for e in response.json()["errors"]] == [
        "Syntax Error: Document contains more than 4000 tokens. Parsing aborted."
    ]
    assert statements.seen == []


# --- status codes and media types -----------------------------------------------------------------------

PARSE_ERROR = {
    "errors": [{"message": "Syntax Error: Expected Name, found <EOF>.", "locations": [{"line": 1, "column": 13}]}]
}
UNKNOWN_FIELD = {
    "errors": [
        {
            "message": "Cannot query field 'nope' on type 'Query'. Did you mean 'node'?",
            "locations": [{"line": 1, "column": 3}],
        }
    ]
}
BAD_VARIABLE = {
    "errors": [
        {
            "message": "Variable '$f' has invalid value: Int cannot represent non-integer value: 'abc'",
            "locations": [{"line": 1, "column": 7}],
        }
    ]
}

REQUEST_ERRORS = {
    "parse error": ("{ persons { ", {}, PARSE_ERROR),
    "unknown field": ("{ nope }", {}, UNKNOWN_FIELD),
    "bad variable": ("query($f: Int) { persons(first: $f) { totalCount } }", {"f": "abc"}, BAD_VARIABLE),
}


@pytest.mark.parametrize("query,variables,expected", REQUEST_ERRORS.values(), ids=REQUEST_ERRORS.keys())
@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, f"{GRAPHQL_RESPONSE}, application/json;q=0.9"])
def test_request_error_is_400_for_graphql_response_json(gql, account, query, variables, expected, accept):
    response = gql.post(query, variables, token=account.admin_token, accept=accept)
    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert response.json() == expected


@pytest.mark.parametrize("query,variables,expected", REQUEST_ERRORS.values(), ids=REQUEST_ERRORS.keys())
@pytest.mark.parametrize("accept", ["application/json", "*/*"])
def test_request_error_is_200_for_plain_json(gql, account, query, variables, expected, accept):
    response = gql.post(query, variables, token=account.admin_token, accept=accept)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == expected


def test_field_error_keeps_status_200(gql):
    """A refused field is an execution result (data present, null), not a request error."""
    response = gql.post("{ persons { totalCount } }", accept=GRAPHQL_RESPONSE)
    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": "authentication required: send 'Authorization: Bearer <token>'",
                "locations": [{"line": 1, "column": 3}],
                "path": ["persons"],
                "extensions": {"code": "UNAUTHENTICATED"},
            }
        ],
    }


def test_success_uses_the_accepted_media_type(gql, account):
    response = gql.post("{ viewer { kind } }", token=account.admin_token, accept=GRAPHQL_RESPONSE)
    assert (response.status_code, response.headers["content-type"]) == (200, GRAPHQL_RESPONSE)
    response = gql.post("{ viewer { kind } }", token=account.admin_token, accept="application/json")
    assert (response.status_code, response.headers["content-type"]) == (200, "application/json")
    assert response.json() == {"data": {"viewer": {"kind": "STAFF"}}}


# --- GET -------------------------------------------------------------------------------------------------


def _get(gql, params: dict, token: str | None = None, accept: str = GRAPHQL_RESPONSE):
    headers = {"accept": accept}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return gql.http.get("/graphql", params=params, headers=headers)


def test_get_with_a_query_works(gql, session, account):
    person = Person(account_id=account.id, first_name="Anna")
    session.add(person)
    session.flush()
    response = _get(
        gql,
        {
            "query": "query One($id: ID!) { person(id: $id) { firstName } }",
            "variables": json.dumps({"id": to_global_id("Person", person.id)}),
            "operationName": "One",
        },
        token=account.admin_token,
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert response.json() == {"data": {"person": {"firstName": "Anna"}}}


def test_get_with_a_parse_error_is_400(gql, account):
    response = _get(gql, {"query": "{ persons { "}, token=account.admin_token)
    assert response.status_code == 400
    assert response.json() == PARSE_ERROR


GET_MUTATIONS = {
    "create": ({"query": 'mutation { createPerson(input: {email: "get@example.nl"}) { __typename } }'}),
    "delete": (
        {"query": "mutation Del($id: ID!) { deletePerson(input: {id: $id}) { __typename } }", "operationName": "Del"}
    ),
    "mutation picked from a mixed document": (
        {
            "query": "query Q { viewer { kind } } mutation Del($id: ID!) { deletePerson(input: {id: $id}) { __typename } }",
            "operationName": "Del",
        }
    ),
}


@pytest.fixture()
def victim(session, account) -> Person:
    person = Person(account_id=account.id, email="victim@example.nl")
    session.add(person)
    session.flush()
    return person


@pytest.mark.parametrize("params", GET_MUTATIONS.values(), ids=GET_MUTATIONS.keys())
def test_get_with_a_mutation_is_refused_and_not_executed(gql, connection, account, victim, params):
    params = {**params, "variables": json.dumps({"id": to_global_id("Person", victim.id)})}
    with Statements(connection) as statements:
        response = _get(gql, params, token=account.admin_token)
    # GraphQL over HTTP: 405 Method Not Allowed, naming the method that works (RFC 9110).
    assert response.status_code == 405
    assert response.headers.get("allow") == "POST"
    assert "mutations are not allowed when using GET" in response.text
    assert not any(s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) for s in statements.work)
    assert connection.execute(
        text("select email from person where account_id = :a"), {"a": account.id}
    ).scalars().all() == ["victim@example.nl"]


# --- operations endpoints ----------------------------------------------------------------------------------


def test_healthz(gql):
    response = gql.http.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_reports_database_and_redis(gql):
    response = gql.http.get("/readyz")
    assert (response.status_code, response.json()) == (200, {"database": "ok", "redis": "ok"})


def test_readyz_is_503_when_the_database_is_unreachable(runtime):
    broken = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2})
    try:
        rt = Runtime(settings=dataclasses.replace(runtime.settings, redis_url=None), engine=broken)
        response = GraphQLClient(create_app(rt)).http.get("/readyz")
    finally:
        broken.dispose()
    assert (response.status_code, response.json()) == (503, {"database": "error: OperationalError"})


def test_metrics_count_requests_and_errors_by_operation(gql, account):
    gql.post("query PersonsPage { persons { totalCount } }", token=account.admin_token, operationName="PersonsPage")
    gql.post("query PersonsPage { persons { totalCount } }", token=account.admin_token, operationName="PersonsPage")
    gql.post("query Refused { persons { totalCount } }", operationName="Refused")
    response = gql.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    lines = response.text.splitlines()
    assert 'marquee_graphql_requests_total{operation="PersonsPage"} 2.0' in lines
    assert 'marquee_graphql_requests_total{operation="Refused"} 1.0' in lines
    assert 'marquee_graphql_errors_total{operation="Refused"} 1.0' in lines
    assert not any(line.startswith('marquee_graphql_errors_total{operation="PersonsPage"}') for line in lines)
    assert 'marquee_graphql_seconds_count{operation="PersonsPage"} 2.0' in lines


def test_metrics_count_jobs_by_state(gql, session, account):
    from domain.jobs_state import service as jobs_state

    before = _job_gauges(gql.http.get("/metrics").text)
    for _ in range(2):
        jobs_state.create_job(session, account.id, kind="load_demo_data", params={})
    session.flush()
    after = _job_gauges(gql.http.get("/metrics").text)
    assert set(after) == {"queued", "running", "succeeded", "failed"}
    assert after["queued"] == before["queued"] + 2 and after["failed"] == before["failed"]


def _job_gauges(text: str) -> dict[str, float]:
    import re

    return {m.group(1): float(m.group(2)) for m in re.finditer(r'^marquee_jobs\{status="(\w+)"\} (\S+)$', text, re.M)}


def test_every_request_writes_one_json_access_log_line(gql, account, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="marquee.access"):
        gql.http.post(
            "/graphql",
            json={"query": "query Who { viewer { kind } }", "operationName": "Who"},
            headers={"authorization": f"Bearer {account.admin_token}", "x-request-id": "req-42"},
        )
    [record] = [r for r in caplog.records if r.name == "marquee.access"]
    assert (record.request_id, record.method, record.path, record.operation, record.status) == (
        "req-42",
        "POST",
        "/graphql",
        "Who",
        200,
    )
    assert record.duration_ms > 0
    from marquee.logs import JsonFormatter

    line = json.loads(JsonFormatter().format(record))
    assert {"request_id", "operation", "status", "duration_ms", "method", "path"} <= set(line)


# --- introspection ---------------------------------------------------------------------------------------

INTROSPECTION = '{ __schema { queryType { name } } __type(name: "Person") { name } }'


def test_introspection_works_by_default(gql):
    response = gql.post(INTROSPECTION)
    assert response.status_code == 200
    assert response.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}, "__type": {"name": "Person"}}}


@pytest.fixture()
def closed(runtime) -> GraphQLClient:
    runtime.settings = dataclasses.replace(runtime.settings, introspection=False)
    return GraphQLClient(create_app(runtime))


def test_introspection_can_be_turned_off(closed, connection, account):
    with Statements(connection) as statements:
        response = closed.post(INTROSPECTION, token=account.admin_token)
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "message": "GraphQL introspection has been disabled, but the requested query contained the field "
                "'__schema'.",
                "locations": [{"line": 1, "column": 3}],
            },
            {
                "message": "GraphQL introspection has been disabled, but the requested query contained the field "
                "'queryType'.",
                "locations": [{"line": 1, "column": 14}],
            },
            {
                "message": "GraphQL introspection has been disabled, but the requested query contained the field "
                "'__type'.",
                "locations": [{"line": 1, "column": 35}],
            },
        ]
    }
    assert only_authentication(statements.seen)  # the token lookup, and no resolver ran


def test_introspection_off_still_answers_typename_and_queries(closed, account):
    r = closed("{ __typename viewer { __typename kind } }", token=account.admin_token)
    assert r == {"data": {"__typename": "Query", "viewer": {"__typename": "Viewer", "kind": "STAFF"}}, "_status": 200}
