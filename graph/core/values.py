"""Values no input may carry, refused before anything runs: text holding a NUL character
(PostgreSQL cannot store it), numbers that are not finite, variables nested deeper than any
input of the schema. One walk over the variables (iterative, bounded by the body size) and one
over the document's literals (remembered with the prepared document)."""

from __future__ import annotations

import math
from typing import Any

from graphql import FloatValueNode, GraphQLError, StringValueNode, Visitor, visit

MAX_VARIABLE_DEPTH = 100
BAD_USER_INPUT = {"code": "BAD_USER_INPUT"}


def _problem(value: Any) -> str | None:
    if isinstance(value, str) and "\x00" in value:
        return "text must not contain NUL characters"
    if isinstance(value, float) and not math.isfinite(value):
        return "numbers must be finite"
    return None


def check_variables(variables: dict | None) -> GraphQLError | None:
    if not variables:
        return None
    pending: list[tuple[Any, tuple[str, ...]]] = [(value, (name,)) for name, value in variables.items()]
    while pending:
        value, path = pending.pop()
        if len(path) > MAX_VARIABLE_DEPTH:
            return GraphQLError(
                f"Variable '${path[0]}' is nested deeper than {MAX_VARIABLE_DEPTH} levels.", extensions=BAD_USER_INPUT
            )
        problem = _problem(value)
        if problem is not None:
            where = ".".join(path)
            return GraphQLError(
                f"Variable '${path[0]}' has an invalid value at '{where}': {problem}.", extensions=BAD_USER_INPUT
            )
        if isinstance(value, dict):
            pending.extend((v, (*path, str(k))) for k, v in value.items())
            pending.extend((k, (*path, str(k))) for k in value if "\x00" in str(k))
        elif isinstance(value, list):
            pending.extend((v, (*path, str(i))) for i, v in enumerate(value))
    return None


class _Literals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.error: GraphQLError | None = None

    def enter_string_value(self, node: StringValueNode, *_):
        if self.error is None and "\x00" in node.value:
            self.error = GraphQLError("A text value must not contain NUL characters.", node, extensions=BAD_USER_INPUT)

    def enter_float_value(self, node: FloatValueNode, *_):
        if self.error is None and not math.isfinite(float(node.value)):
            self.error = GraphQLError(f"The number {node.value} is not finite.", node, extensions=BAD_USER_INPUT)


def check_literals(prepared) -> GraphQLError | None:
    """The document's own literals (remembered with the prepared document)."""
    if "literals" not in prepared.memo:
        finder = _Literals()
        visit(prepared.document, finder)
        prepared.memo["literals"] = finder.error
    return prepared.memo["literals"]
