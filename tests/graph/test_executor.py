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
    return (strawberry.Schema(query=Query),
            strawberry.Schema(query=Query, execution_context_class=MarqueeExecutor))


@pytest.mark.parametrize("query", [
    "{ items { name count colour note } }",
    "{ items { name required } }",
    "{ items { missingOk } }",
    "{ items { __typename name shout(times: 2) } }",
    "{ items { n: name, c: count } }",
])
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
