"""The executor's short path for plain leaf fields answers exactly as graphql-core does,
errors included."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import pytest
import strawberry

from graph.executor import MarqueeExecutor


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Item:
    name: str
    count: int
    colour: Colour
    note: str | None
    missing_ok: str | None
    required: str

    @strawberry.field
    def shout(self, times: int = 1) -> str:
        return self.name.upper() * times


@dataclass
class Row:
    """What a resolver hands on: the fields are read from it."""

    name: object
    count: object
    colour: object
    note: object
    required: object


ROWS = [Row("a", 1, Colour.RED, None, "x"), Row("b", "7", Colour.BLUE, "n", None), Row("c", "many", "green", 3, "y")]


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return ROWS  # type: ignore[return-value]


def _schemas():
    return (strawberry.Schema(query=Query), strawberry.Schema(query=Query, execution_context_class=MarqueeExecutor))


@pytest.mark.parametrize(
    "query",
    [
        "{ items { name count colour note } }",
        "{ items { name required } }",
        "{ items { missingOk } }",
        "{ items { __typename name shout(times: 2) } }",
        "{ items { n: name, c: count } }",
    ],
)
def test_short_path_answers_like_graphql_core(query):
    regular, short = (schema.execute_sync(query) for schema in _schemas())
    assert short.data == regular.data
    assert [(e.message, e.path) for e in short.errors or []] == [(e.message, e.path) for e in regular.errors or []]


def test_bad_values_still_fail_with_located_errors():
    _, short = _schemas()
    result = short.execute_sync("{ items { count colour required } }")
    messages = {tuple(e.path): e.message for e in result.errors}
    assert ["items", 2, "count"] in [list(p) for p in messages]  # "many" is not an Int
    assert ["items", 1, "required"] in [list(p) for p in messages]  # null for String!
    assert "non-nullable" in messages[("items", 1, "required")]
    assert result.data["items"][0] == {"count": 1, "colour": "RED", "required": "x"}


# ----------------------------------------------------------------------------- shared completions

BUILDS: list[str] = []


@strawberry.type
class Box:
    items: list[Item]


@strawberry.type
class SharedQuery:
    @strawberry.field
    def box(self, key: str, broken: bool = False) -> Box:
        from graph.executor import Shared

        def build():
            BUILDS.append(key)
            return [Row(key, 1, Colour.RED, None, None if broken else "r")]

        return Box(items=Shared((key, broken), build))  # type: ignore[arg-type]


class _Ctx:
    document_key = None


def _run(schema, query, variables=None):
    from graph.execution import _document_key

    ctx = _Ctx()
    ctx.document_key = _document_key(query, None, variables)
    return schema.execute_sync(query, variable_values=variables, context_value=ctx)


def test_shared_values_complete_once_per_key_document_and_path():
    from graph.executor import COMPLETIONS

    COMPLETIONS.clear()
    BUILDS.clear()
    schema = strawberry.Schema(query=SharedQuery, execution_context_class=MarqueeExecutor)
    query = "query($k: String!) { box(key: $k) { items { name count } } }"
    first = _run(schema, query, {"k": "a"})
    again = _run(schema, query, {"k": "a"})
    assert first.data == again.data == {"box": {"items": [{"name": "a", "count": 1}]}}
    assert BUILDS == ["a"]  # the second request reused the completed list
    assert _run(schema, query, {"k": "b"}).data == {"box": {"items": [{"name": "b", "count": 1}]}}
    other_selection = _run(schema, "query($k: String!) { box(key: $k) { items { name colour } } }", {"k": "a"})
    assert other_selection.data == {"box": {"items": [{"name": "a", "colour": "RED"}]}}
    assert BUILDS == ["a", "b", "a"]
    aliased = _run(schema, 'query { x: box(key: "a") { items { name count } } }')
    assert aliased.data == {"x": {"items": [{"name": "a", "count": 1}]}}
    assert BUILDS == ["a", "b", "a", "a"]


def test_completions_with_errors_are_not_shared():
    BUILDS.clear()
    schema = strawberry.Schema(query=SharedQuery, execution_context_class=MarqueeExecutor)
    query = '{ box(key: "e", broken: true) { items { name required } } }'
    for _ in range(2):
        result = _run(schema, query)
        assert result.errors and "non-nullable" in result.errors[0].message
    assert BUILDS == ["e", "e"]


def test_without_a_document_key_nothing_is_shared():
    BUILDS.clear()
    schema = strawberry.Schema(query=SharedQuery, execution_context_class=MarqueeExecutor)
    for _ in range(2):
        assert schema.execute_sync('{ box(key: "n") { items { name } } }').data == {"box": {"items": [{"name": "n"}]}}
    assert BUILDS == ["n", "n"]
