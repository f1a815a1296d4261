"""Where segment rules and scopes name other objects (pure functions over the JSON)."""

from __future__ import annotations

from typing import Any


def replace_tag_ids(node: Any, mapping: dict[int, int]) -> Any:
    """Copy of a rules/scope document with tag ids replaced (keys "tag_id" and "tag_ids")."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "tag_id" and isinstance(value, int):
                out[key] = mapping.get(value, value)
            elif key == "tag_ids" and isinstance(value, list):
                seen: list = []
                for item in value:
                    item = mapping.get(item, item) if isinstance(item, int) else item
                    if item not in seen:
                        seen.append(item)
                out[key] = seen
            else:
                out[key] = replace_tag_ids(value, mapping)
        return out
    if isinstance(node, list):
        return [replace_tag_ids(item, mapping) for item in node]
    return node
