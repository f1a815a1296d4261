"""Runs one GraphQL operation for a request context, using the tag-tree response cache.

Order matters: the document is measured first (``graph.core.documents``, linear in its size, no
database), then the viewer is authenticated, and only then does anything costlier look at the
document (the response cache's check, validation, execution).
"""

from __future__ import annotations

import orjson
from strawberry.types import ExecutionResult

from graph.core.documents import Limits, Prepared, prepare
from graph.core.values import check_literals, check_variables
from graph.tags.response_cache import ResponseCache, is_static_tag_query


def limits_of(settings) -> Limits:
    return Limits(
        max_tokens=settings.max_query_tokens, max_depth=settings.max_query_depth, max_aliases=settings.max_aliases
    )


def _document_key(query: str | None, operation_name: str | None, variables) -> tuple | None:
    """What decides a document's selections: its text, the operation, the variables."""
    if not query:
        return None
    try:
        frozen = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS) if variables else b""
    except TypeError:
        return None
    return (query, operation_name, frozen)


def execute(
    schema,
    cache: ResponseCache | None,
    context,
    *,
    query: str | None,
    variables: dict | None = None,
    operation_name: str | None = None,
    allowed_operation_types=None,
    extensions: dict | None = None,
    root_value=None,
) -> ExecutionResult:
    prepared: Prepared | None = None
    if query:
        prepared = prepare(query, operation_name, limits_of(context.runtime.settings))
        odd = (
            prepared.errors[0]
            if prepared.errors
            else check_literals(prepared) or check_variables(variables if isinstance(variables, dict) else None)
        )
        if odd is not None:
            return ExecutionResult(data=None, errors=[odd])
        if context.session_not_started:
            context.read_only = prepared.is_query
    context.document_key = _document_key(query, operation_name, variables)
    context.raw_variables = variables if isinstance(variables, dict) else None  # as sent (the audit trail)
    viewer = context.viewer  # authenticated before the document is looked at any further
    key = None
    if cache is not None and prepared is not None and (variables is None or isinstance(variables, dict)):
        if viewer is not None and is_static_tag_query(prepared):
            key = cache.key(viewer, context.tags_version, prepared, query, operation_name, variables)
        if key is not None:
            data = cache.get(key)
            if data is not None:
                return ExecutionResult(data=data, errors=None)
    result = schema.execute_sync(
        query,
        variable_values=variables,
        context_value=context,
        root_value=root_value,
        operation_name=operation_name,
        allowed_operation_types=allowed_operation_types,
        operation_extensions=extensions,
    )
    if key is not None and not result.errors and result.data is not None:
        cache.put(key, result.data)
    return result
