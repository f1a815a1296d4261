"""Malformed requests and odd values get clear GraphQL JSON errors with the right status, never a
500, a reset connection or a text body; values PostgreSQL cannot store are refused up front."""

from __future__ import annotations

import base64
import dataclasses
import json

import anyio
import pytest
from sqlalchemy import text

from graph.app import BodyLimit
from tests.graph.test_http_protocol import GRAPHQL_RESPONSE

CREATE = "mutation($i: CreatePersonInput!) { createPerson(input: $i) { __typename } }"


def post_raw(
    gql,
    body: bytes,
    *,
    content_type: str = "application/json",
    accept: str = GRAPHQL_RESPONSE,
    token: str | None = None,
):
    headers = {"content-type": content_type, "accept": accept}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return gql.http.post("/graphql", content=body, headers=headers)


def error_of(response) -> tuple[int, str, str, str]:
    body = response.json()
    assert "data" not in body
    [error] = body["errors"]
    return response.status_code, response.headers["content-type"], error["extensions"]["code"], error["message"]


@pytest.mark.parametrize("body", [b"null", b'"x"', b"5", b"[]", b'[{"query": "{ viewer { kind } }"}]', b"true"])
def test_a_body_that_is_not_an_object_is_a_400(gql, body):
    status, media, code, message = error_of(post_raw(gql, body))
    assert (status, media, code) == (400, GRAPHQL_RESPONSE, "BAD_REQUEST")
    assert message.startswith("The request body must be a JSON object")


@pytest.mark.parametrize("name", [5, {"a": 1}, ["x"], True])
def test_an_operation_name_that_is_not_text_is_a_400(gql, name):
    body = json.dumps({"query": "{ viewer { kind } }", "operationName": name}).encode()
    status, media, code, message = error_of(post_raw(gql, body))
    assert (status, code) == (400, "BAD_REQUEST")
    assert message == "The GraphQL operation's `operationName` must be a string or null, if provided."


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        (b"{not json", "application/json", 400, "Unable to parse request body as JSON"),
        (b'{"variables": {}}', "application/json", 400, "No GraphQL query found in the request"),
        (
            b'{"query": 5}',
            "application/json",
            400,
            "The GraphQL operation's `query` must be a string or null, if provided.",
        ),
        (
            b'{"query": "{ viewer { kind } }"}',
            "text/plain",
            415,
            "Send the request as application/json (or multipart/form-data with a file).",
        ),
    ],
)
def test_request_errors_are_graphql_json(gql, body, content_type, status, message):
    for accept in (GRAPHQL_RESPONSE, "application/json"):
        got = error_of(post_raw(gql, body, content_type=content_type, accept=accept))
        assert got[0] == status and got[3] == message
        assert got[1] == (GRAPHQL_RESPONSE if accept == GRAPHQL_RESPONSE else "application/json")


def test_a_get_mutation_is_a_graphql_json_405(gql, account):
    response = gql.http.get(
        "/graphql",
        params={"query": "mutation { ensurePreferenceCentre { __typename } }"},
        headers={"accept": GRAPHQL_RESPONSE, "authorization": f"Bearer {account.admin_token}"},
    )
    status, media, code, _ = error_of(response)
    assert (status, media, code) == (405, GRAPHQL_RESPONSE, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize(
    "variables",
    [
        {"i": {"email": "a\x00b@example.nl"}},
        {"i": {"firstName": "An\x00na"}},
        {"i": {"customFields": {"note\x00": "x"}}},
        {"i": {"customFields": {"note": ["ok", "n\x00"]}}},
    ],
)
def test_nul_characters_in_variables_are_refused_before_anything_runs(gql, connection, account, variables):
    response = gql.post(CREATE, variables, token=account.admin_token)
    status, _, code, message = error_of(response)
    assert (status, code) == (400, "BAD_USER_INPUT")
    assert message.startswith("Variable '$i' has an invalid value at 'i.")
    assert message.endswith("text must not contain NUL characters.")
    assert (
        connection.execute(text("select count(*) from person where account_id = :a"), {"a": account.id}).scalar_one()
        == 0
    )


@pytest.mark.parametrize(
    "field",
    [
        "persons(search: $s) { totalCount }",
        "tags(filter: {search: $s}) { totalCount }",
        "segments(search: $s) { pageInfo { hasNextPage } }",
    ],
)
def test_nul_characters_in_filters_are_refused(gql, account, field):
    response = gql.post("query($s: String) { %s }" % field, {"s": "x\x00"}, token=account.admin_token)
    assert error_of(response)[:3] == (400, GRAPHQL_RESPONSE, "BAD_USER_INPUT")


def test_nul_characters_and_infinite_numbers_in_literals_are_refused(gql, account):
    response = gql.post(
        'mutation { createPerson(input: {firstName: "a\\u0000"}) { __typename } }', token=account.admin_token
    )
    assert error_of(response) == (
        400,
        GRAPHQL_RESPONSE,
        "BAD_USER_INPUT",
        "A text value must not contain NUL characters.",
    )
    response = gql.post(
        "mutation { createPerson(input: {latitude: 1e400, longitude: 1}) { __typename } }", token=account.admin_token
    )
    assert error_of(response) == (400, GRAPHQL_RESPONSE, "BAD_USER_INPUT", "The number 1e400 is not finite.")


def test_huge_custom_numbers_get_a_typed_error(gql, session, account):
    from domain.people.models import CustomFieldDefinition

    session.add(CustomFieldDefinition(account_id=account.id, key="seats", label="Seats", type="number"))
    session.flush()
    body = gql(
        CREATE.replace("__typename", "__typename ... on CreatePersonFailure { errors { code path } }"),
        {"i": {"firstName": "A", "customFields": {"seats": 1e300}}},
        token=account.admin_token,
    )
    assert body["data"]["createPerson"] == {
        "__typename": "CreatePersonFailure",
        "errors": [{"code": "INVALID", "path": ["input", "customFields", "seats"]}],
    }


def test_deeply_nested_variables_are_refused(gql, account):
    nested: object = "x"
    for _ in range(150):
        nested = [nested]
    response = gql.post(CREATE, {"i": {"customFields": {"deep": nested}}}, token=account.admin_token)
    status, _, code, message = error_of(response)
    assert (status, code) == (400, "BAD_USER_INPUT")
    assert message == "Variable '$i' is nested deeper than 100 levels."


@pytest.mark.parametrize(
    "cursor",
    [
        base64.urlsafe_b64encode(("[" * 5000 + "]" * 5000).encode()).decode(),
        base64.urlsafe_b64encode(b'[[1], {"a": 2}]').decode(),
        "x" * 5000,
    ],
)
def test_odd_cursors_are_typed_errors(gql, account, cursor):
    body = gql("query($c: String) { persons(after: $c) { totalCount } }", {"c": cursor}, token=account.admin_token)
    assert body["errors"][0]["extensions"]["code"] == "INVALID"
    assert body["errors"][0]["message"] == "not a cursor of this list"


def test_production_answers_without_suggestions(gql, runtime, account):
    runtime.settings = dataclasses.replace(runtime.settings, environment="production")
    body = gql.post("{ viewr { kind } }", token=account.admin_token).json()
    assert body == {
        "errors": [{"message": "Cannot query field 'viewr' on type 'Query'.", "locations": [{"line": 1, "column": 3}]}]
    }
    body = gql.post("query { persons(sort: {field: EMAL}) { totalCount } }", token=account.admin_token).json()
    assert "Did you mean" not in json.dumps(body)


def test_a_refused_second_mutation_keeps_the_first_ones_answer(gql, connection, account):
    query = """mutation { createPerson(input: {email: "first@example.nl"}) { __typename }
                          loadDemoData(input: {people: 1}) { __typename } }"""
    body = gql(query, token=account.marketer_token)
    assert body["data"] == {"createPerson": {"__typename": "CreatePersonSuccess"}, "loadDemoData": None}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert connection.execute(
        text("select email from person where account_id = :a"), {"a": account.id}
    ).scalars().all() == ["first@example.nl"]


def test_a_body_that_does_not_arrive_in_time_is_a_408():
    async def app(scope, receive, send):
        while (await receive()).get("more_body"):
            pass
        raise AssertionError("the body should not have arrived")

    sent: list[dict] = []

    async def receive():
        await anyio.sleep(10)
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    async def run():
        scope = {"type": "http", "method": "POST", "path": "/graphql", "headers": [(b"accept", b"application/json")]}
        with anyio.fail_after(5):
            await BodyLimit(app, seconds=0.2)(scope, receive, send)

    anyio.run(run)
    assert sent[0]["status"] == 408
    assert json.loads(sent[1]["body"])["errors"][0]["extensions"]["code"] == "REQUEST_TIMEOUT"
