"""Documents are measured before anything else looks at them (graph.core.documents): exponential
fragment spreads and masses of repeated fields are refused cheaply, before authentication."""

from __future__ import annotations

import threading

import pytest

from graph.core.documents import Limits, prepare
from tests.graph.test_http_protocol import GRAPHQL_RESPONSE
from tests.statements import Statements


def doubling(levels: int, root: str = "tagTree") -> str:
    """``fragment G1 on Tag { ...G0 ...G0 }`` … : a 700-byte document expanding to 2^levels fields."""
    parts = ["fragment G0 on Tag { id }"]
    parts += [f"fragment G{i} on Tag {{ ...G{i - 1} ...G{i - 1} }}" for i in range(1, levels + 1)]
    return f"query {{ {root} {{ ...G{levels} }} }} " + " ".join(parts)


def answered_within(seconds: float, call):
    """Run ``call`` in a thread; fail (instead of hanging) when it has not returned in time."""
    box = {}
    worker = threading.Thread(target=lambda: box.setdefault("value", call()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert "value" in box, f"no answer within {seconds} s"
    return box["value"]


def test_each_fragment_is_measured_once():
    prepared = answered_within(30, lambda: prepare(doubling(40), None, Limits()))
    assert [e.message for e in prepared.errors] == [
        f"'anonymous' expands to {2**40 + 1} fields; at most 2000 are allowed (fragments count each time they "
        "are spread)."
    ]


def test_exponential_fragments_are_refused_anonymously_before_anything_runs(gql, connection):
    query = doubling(40)
    assert len(query) < 1600
    with Statements(connection) as statements:
        response = answered_within(30, lambda: gql.post(query))
    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert [e["message"] for e in response.json()["errors"]] == [
        f"'anonymous' expands to {2**40 + 1} fields; at most 2000 are allowed (fragments count each time they "
        "are spread)."
    ]
    assert statements.seen == []  # not even a token lookup


def test_exponential_fragments_are_refused_for_staff_too(gql, account):
    response = answered_within(30, lambda: gql.post(doubling(18), token=account.admin_token))
    assert response.status_code == 400
    assert "expands to 262145 fields" in response.json()["errors"][0]["message"]


def test_fragments_within_the_size_limit_run(gql, account):
    response = gql.post(doubling(5), token=account.admin_token)  # 33 fields after expansion
    assert response.status_code == 200
    assert response.json() == {"data": {"tagTree": []}}


def test_repeated_fields_are_refused_before_validation(gql, connection):
    query = "query { " + " ".join(["tagTree { id }"] * 400) + " } # " + "x" * 10
    with Statements(connection) as statements:
        response = gql.post(query)
    assert response.status_code == 400
    assert [e["message"] for e in response.json()["errors"]] == [
        "'anonymous' selects 'tagTree' 21 times at one place; at most 20 are allowed."
    ]
    assert statements.seen == []


def test_repeats_count_what_execution_merges():
    # Two spreads of one fragment in one place count once (as graphql-core merges them); fields
    # merged from several parents count together one level down.
    once = "query { viewer { ...F ...F } } fragment F on Viewer { kind }"
    assert prepare(once, None, Limits(max_repeats=1)).errors == []
    nested = "query { " + " ".join(["viewer { kind }"] * 3) + " }"
    assert [e.message for e in prepare(nested, None, Limits(max_repeats=2)).errors] == [
        "'anonymous' selects 'viewer' 3 times at one place; at most 2 are allowed."
    ]
    merged_below = "query { a: viewer { kind kind } a: viewer { kind kind } }"
    assert [e.message for e in prepare(merged_below, None, Limits(max_repeats=3)).errors] == [
        "'anonymous' selects 'kind' 4 times at one place; at most 3 are allowed."
    ]


def test_twenty_repeats_run(gql, account):
    query = "query { " + " ".join(["viewer { kind }"] * 20) + " }"
    response = gql.post(query, token=account.admin_token)
    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": {"kind": "STAFF"}}}


def test_fragment_cycles_are_refused_by_the_measure():
    query = "query { tagTree { ...A } } fragment A on Tag { children { ...B } } fragment B on Tag { ...A }"
    assert [e.message for e in prepare(query, None, Limits()).errors] == ["Cannot spread fragment 'A' within itself."]


@pytest.mark.parametrize(
    ("query", "name", "message"),
    [
        (
            "query A { viewer { kind } } query B { viewer { kind } }",
            None,
            "The document holds several operations: choose one with operationName.",
        ),
        ("query A { viewer { kind } }", "B", "Unknown operation named 'B'."),
        ("fragment F on Viewer { kind }", None, "The document holds no operation."),
    ],
)
def test_the_operation_must_be_clear(gql, account, query, name, message):
    extra = {"operationName": name} if name else {}
    response = gql.post(query, token=account.admin_token, **extra)
    assert response.status_code == 400
    assert [e["message"] for e in response.json()["errors"]] == [message]


def test_introspection_depth_is_not_counted():
    from graphql import get_introspection_query

    assert prepare(get_introspection_query(descriptions=True), None, Limits()).errors == []
