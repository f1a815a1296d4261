"""Runs one GraphQL operation for a request context, using the tag-tree response cache."""

from __future__ import annotations

from functools import lru_cache

import orjson

from graphql import GraphQLError, OperationType, get_operation_ast, parse
from strawberry.types import ExecutionResult

from graph.tags.response_cache import ResponseCache, is_static_tag_query


@lru_cache(maxsize=512)
def is_query_operation(query: str, operation_name: str | None) -> bool:
    """Whether the document's chosen operation is a query (parsed once per document text).
    Anything unclear — a syntax error, no such operation — is not, and executes as usual."""
    try:
        operation = get_operation_ast(parse(query, no_location=True), operation_name)
    except GraphQLError:
        return False
    return operation is not None and operation.operation is OperationType.QUERY


def _document_key(query: str | None, operation_name: str | None, variables) -> tuple | None:
    """What decides a document's selections: its text, the operation, the variables."""
    if not query:
        return None
    try:
        frozen = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS) if variables else b""
    except TypeError:
        return None
    return (query, operation_name, frozen)


def execute(schema, cache: ResponseCache | None, context, *, query: str | None, variables: dict | None = None,
            operation_name: str | None = None, allowed_operation_types=None, extensions: dict | None = None,
            root_value=None) -> ExecutionResult:
    if query and context.session_not_started and len(query) <= 100_000:
        context.read_only = is_query_operation(query, operation_name)
    context.document_key = _document_key(query, operation_name, variables)
    key = None
    if (cache is not None and query and (variables is None or isinstance(variables, dict))
            and is_static_tag_query(query, operation_name)):
        viewer = context.viewer
        if viewer is not None:
            key = cache.key(viewer, context.tags_version, query, operation_name, variables)
        if key is not None:
            data = cache.get(key)
            if data is not None:
                return ExecutionResult(data=data, errors=None)
    result = schema.execute_sync(query, variable_values=variables, context_value=context, root_value=root_value,
                                 operation_name=operation_name, allowed_operation_types=allowed_operation_types,
                                 operation_extensions=extensions)
    if key is not None and not result.errors and result.data is not None:
        cache.put(key, result.data)
    return result
