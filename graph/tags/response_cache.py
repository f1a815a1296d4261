"""Whole-response cache for tag-tree queries, whose answer depends only on the account's tags.

The GraphQL cost of a big tree is per resolved field, so a tree that has not changed is served
from here instead of being resolved again. An operation qualifies when every field it selects is
static tag data (no counts, no "who" lists, no person-specific ``selected``); the key holds the
account, its ``tags_version`` (bumped with every tag change, in the same transaction), the kind of
view (staff or website), the document, the operation name and the variables. A new version makes
old entries unreachable, so nothing stale is ever served.
"""

from __future__ import annotations

import json
from functools import lru_cache

from graphql import FieldNode, FragmentDefinitionNode, FragmentSpreadNode, InlineFragmentNode, OperationDefinitionNode
from graphql import parse as parse_document
from graphql.error import GraphQLSyntaxError

from domain.viewer import ViewerKind
from graph.core.lru import LRU

ROOT_FIELDS = {"tagTree", "tags", "tag"}
STATIC_FIELDS = {
    "__typename", "id", "label", "description", "position", "parent", "children", "name", "note", "active",
    "showOnForm", "visibleToEveryone", "showOnWebsite", "starred", "createdAt", "updatedAt", "category",
    "visibilityIncludeSegmentId", "visibilityExcludeSegmentId",
    # connection plumbing
    "edges", "node", "cursor", "pageInfo", "hasNextPage", "hasPreviousPage", "startCursor", "endCursor",
    "totalCount",
}


@lru_cache(maxsize=512)
def is_static_tag_query(query: str, operation_name: str | None) -> bool:
    try:
        document = parse_document(query)
    except GraphQLSyntaxError:
        return False
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation.value != "query":
        return False

    def static(selection_set, allowed: set[str], depth: int, seen: frozenset) -> bool:
        if selection_set is None:
            return True
        if depth > 50:
            return False
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value not in allowed:
                    return False
                if not static(selection.selection_set, STATIC_FIELDS, depth + 1, seen):
                    return False
            elif isinstance(selection, InlineFragmentNode):
                if not static(selection.selection_set, allowed, depth + 1, seen):
                    return False
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in seen or name not in fragments:
                    return False
                if not static(fragments[name].selection_set, allowed, depth + 1, seen | {name}):
                    return False
            else:
                return False
        return True

    return static(operations[0].selection_set, ROOT_FIELDS, 0, frozenset())


def view_kind(viewer) -> str | None:
    if viewer is None:
        return None
    if viewer.kind is ViewerKind.STAFF:
        return "staff"
    if viewer.kind is ViewerKind.WEBSITE:
        return "website"
    return None  # persons see form-specific data; connectors' scopes vary


class ResponseCache(LRU):
    def __init__(self, max_entries: int = 2048):
        super().__init__(max_entries)

    @staticmethod
    def key(viewer, version: int, query: str, operation_name: str | None, variables: dict | None) -> tuple | None:
        kind = view_kind(viewer)
        if kind is None or not is_static_tag_query(query, operation_name):
            return None
        try:
            frozen_variables = json.dumps(variables or {}, sort_keys=True)
        except (TypeError, ValueError):
            return None
        return (viewer.account_id, version, kind, query, operation_name, frozen_variables)
