"""The request's tag views for its viewer (decided in domain.tags.visibility)."""

from __future__ import annotations

from domain.tags.visibility import TAG_CACHE, TagView, view_kind
from graph.core.ids import to_global_id


def tag_global_id(pk: int) -> str:
    return to_global_id("Tag", pk)


def viewer_tag_views(ctx) -> dict[int, TagView]:
    """All tags this viewer may see as views keyed by pk (the domain decides which view)."""
    kind = view_kind(ctx.viewer)
    if kind is None:
        return {}
    return TAG_CACHE.views(ctx.session, ctx.viewer.account_id, ctx.tags_version, kind, tag_global_id)
