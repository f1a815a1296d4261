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

from graphql import FieldNode, FragmentDefinitionNode, FragmentSpreadNode, InlineFragmentNode

from domain.tags.visibility import view_kind
from graph.core.lru import LRU

ROOT_FIELDS = {"tagTree", "tags", "tag"}
STATIC_FIELDS = {
    "__typename",
    "id",
    "label",
    "description",
    "position",
    "parent",
    "children",
    "name",
    "note",
    "active",
    "showOnForm",
    "visibleToEveryone",
    "showOnWebsite",
    "starred",
    "createdAt",
    "updatedAt",
    "category",
    "visibilityIncludeSegmentId",
    "visibilityExcludeSegmentId",
    # connection plumbing
    "edges",
    "node",
    "cursor",
    "pageInfo",
    "hasNextPage",
    "hasPreviousPage",
    "startCursor",
    "endCursor",
    "totalCount",
}


def is_static_tag_query(prepared) -> bool:
    """Whether a prepared document's operation selects only static tag data (each fragment is
    judged once per place it may stand, so the check is linear in the document)."""
    if prepared.operation is None or not prepared.is_query:
        return False
    known = prepared.memo.get("static_tag_query")
    if known is not None:
        return known
    fragments = {d.name.value: d for d in prepared.document.definitions if isinstance(d, FragmentDefinitionNode)}
    judged: dict[tuple[str, bool], bool] = {}

    def static(selection_set, root: bool) -> bool:
        allowed = ROOT_FIELDS if root else STATIC_FIELDS
        for selection in selection_set.selections if selection_set is not None else ():
            if isinstance(selection, FieldNode):
                if selection.name.value not in allowed or not static(selection.selection_set, False):
                    return False
            elif isinstance(selection, InlineFragmentNode):
                if not static(selection.selection_set, root):
                    return False
            elif isinstance(selection, FragmentSpreadNode):
                key = (selection.name.value, root)
                if key not in judged:
                    judged[key] = False  # a cycle (refused by validation anyway) is not static
                    fragment = fragments.get(key[0])
                    judged[key] = fragment is not None and static(fragment.selection_set, root)
                if not judged[key]:
                    return False
            else:
                return False
        return True

    result = static(prepared.operation.selection_set, True)
    prepared.memo["static_tag_query"] = result
    return result


class ResponseCache(LRU):
    def __init__(self, max_entries: int = 2048):
        super().__init__(max_entries)

    @staticmethod
    def key(
        viewer, version: int, prepared, query: str, operation_name: str | None, variables: dict | None
    ) -> tuple | None:
        kind = view_kind(viewer)
        if kind is None or not is_static_tag_query(prepared):
            return None
        try:
            frozen_variables = json.dumps(variables or {}, sort_keys=True)
        except (TypeError, ValueError):
            return None
        return (viewer.account_id, version, kind, query, operation_name, frozen_variables)
