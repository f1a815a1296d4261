"""The GraphQL executor: graphql-core's, with a short path for plain leaf fields.

Most fields of a response (a tag's ``label``, ``position``, ``selected`` …) are attribute reads
that return a scalar. graphql-core builds a resolve-info object, looks at the arguments and walks
``complete_value`` for each of them; for a 140-field preference centre that is half the request.
Here such a field — strawberry's own attribute resolver, no arguments, a scalar or enum type — is
read and serialised directly. Anything else, and every value that needs an error (a null for a
non-null field, an exception, a value the scalar refuses), takes the regular path, so answers and
errors are exactly graphql-core's.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLEnumType, GraphQLNonNull, GraphQLScalarType, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

_REGULAR = object()


class MarqueeExecutor(StrawberryGraphQLCoreExecutionContext):
    def execute_field(self, parent_type, source, field_details_list, path, position_context):
        first = field_details_list[0].node
        field_def = parent_type.fields.get(first.name.value)
        if (field_def is not None and not first.arguments and not _wraps_resolvers(self.middleware_manager)
                and getattr(field_def.resolve, "_is_default", False)):
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
