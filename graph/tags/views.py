"""The request's tag views for its viewer (decided in domain.tags.visibility)."""

from __future__ import annotations

from domain.tags.visibility import TAG_CACHE, TagView
from domain.viewer import ViewerKind
from graph.core.ids import to_global_id

TAGS_READ = "tags:read"


def tag_global_id(pk: int) -> str:
    return to_global_id("Tag", pk)


def viewer_tag_views(ctx) -> dict[int, TagView]:
    """All tags this viewer may see as views keyed by pk; a person sees tags only on forms."""
    viewer = ctx.viewer
    if viewer is None:
        return {}
    kind = viewer.kind
    if kind is ViewerKind.CONNECTOR and TAGS_READ not in viewer.scopes:
        return {}
    if kind in (ViewerKind.STAFF, ViewerKind.CONNECTOR):
        return TAG_CACHE.views(ctx.session, viewer.account_id, ctx.tags_version, "staff", tag_global_id)
    if kind is ViewerKind.WEBSITE:
        return TAG_CACHE.views(ctx.session, viewer.account_id, ctx.tags_version, "website", tag_global_id)
    return {}
