"""The GraphQL executor: graphql-core's, with a short path for plain leaf fields and shared
completions.

Most fields of a response (a tag's ``label``, ``position``, ``selected`` …) are attribute reads
that return a scalar. graphql-core builds a resolve-info object, looks at the arguments and walks
``complete_value`` for each of them; for a 140-field preference centre that is half the request.
Here such a field — strawberry's own attribute resolver, no arguments, a scalar or enum type — is
read and serialised directly. Anything else, and every value that needs an error (a null for a
non-null field, an exception, a value the scalar refuses), takes the regular path, so answers and
errors are exactly graphql-core's.

A resolver may also hand back a ``Shared`` value: one whose completed form is the same for every
request with the same key — the preference centre's tag list, for instance, is the same for all
persons with the same choices at one tag version. It is completed once per key, document,
variables and response path, and the completed result is reused (never when it carried errors).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from graphql import GraphQLEnumType, GraphQLNonNull, GraphQLScalarType, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graph.core.lru import LRU

_REGULAR = object()


class Shared:
    """A field value that completes the same way for every request with the same ``key``;
    ``build`` makes the value and runs only when no completed form is stored yet."""

    __slots__ = ("key", "build")

    def __init__(self, key: Hashable, build: Callable[[], Any]):
        self.key = key
        self.build = build


COMPLETIONS = LRU(4096)  # completed values by (key, document, response path)


def _response_path(path) -> tuple:
    """The response keys leading to a field, without list indices."""
    keys = []
    while path is not None:
        if isinstance(path.key, str):
            keys.append(path.key)
        path = path.prev
    return tuple(reversed(keys))


class MarqueeExecutor(StrawberryGraphQLCoreExecutionContext):
    def complete_value(self, return_type, field_details_list, info, path, result, position_context):
        if not isinstance(result, Shared):
            return super().complete_value(return_type, field_details_list, info, path, result, position_context)
        document = getattr(self.context_value, "document_key", None)
        if document is None:
            return super().complete_value(return_type, field_details_list, info, path, result.build(), position_context)
        key = (result.key, document, _response_path(path))
        found = COMPLETIONS.get(key, _REGULAR)
        if found is not _REGULAR:
            return found
        errors = len(self.collected_errors.errors)
        completed = super().complete_value(
            return_type, field_details_list, info, path, result.build(), position_context
        )
        if len(self.collected_errors.errors) == errors and not self.is_awaitable(completed):
            COMPLETIONS.put(key, completed)
        return completed

    def execute_field(self, parent_type, source, field_details_list, path, position_context):
        first = field_details_list[0].node
        field_def = parent_type.fields.get(first.name.value)
        if (
            field_def is not None
            and not first.arguments
            and not _wraps_resolvers(self.middleware_manager)
            and getattr(field_def.resolve, "_is_default", False)
        ):
            value = _plain_leaf(field_def, source)
            if value is not _REGULAR:
                return value
        return super().execute_field(parent_type, source, field_details_list, path, position_context)


def _wraps_resolvers(manager) -> bool:
    """Whether field middleware (a schema extension with a ``resolve`` hook) is in use: strawberry
    always passes a manager, empty when no extension wraps resolvers."""
    return manager is not None and getattr(manager, "_middleware_resolvers", True) is not None


def _plain_leaf(field_def, source) -> Any:
    """The serialised value of an attribute-read scalar field, or ``_REGULAR`` when the field
    (or this value of it) must go the regular way."""
    field_type = field_def.type
    non_null = isinstance(field_type, GraphQLNonNull)
    if non_null:
        field_type = field_type.of_type
    if not isinstance(field_type, (GraphQLScalarType, GraphQLEnumType)):
        return _REGULAR
    try:
        result = field_def.resolve(source, None)
    except Exception:  # noqa: BLE001  (the regular path raises it again and reports it located)
        return _REGULAR
    if result is None or result is Undefined:
        return _REGULAR if non_null else None
    try:
        value = field_type.coerce_output_value(result)
    except Exception:  # noqa: BLE001
        return _REGULAR
    return _REGULAR if value is None or value is Undefined else value
