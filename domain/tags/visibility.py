"""What each viewer sees of the tags (SPEC 3.5), as ready-made views.

The GraphQL layer only reads attributes of these views: a field the viewer may not see is
``None`` on the view, a tag the viewer may not see has no view, and ``parent`` / ``children``
link only views of the same viewer. The account's tag rows are cached per process, keyed by
the account's ``tags_version`` (bumped in the same transaction as every tag change), so staff
and website trees cost no query when nothing changed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from collections.abc import Callable, Iterable

from sqlmodel import Session

from domain.tags.models import Tag
from domain.tags.service import all_tags

PUBLIC_FIELDS = ("label", "description", "position")
STAFF_FIELDS = (
    "name",
    "note",
    "active",
    "show_on_form",
    "visible_to_everyone",
    "visibility_include_segment_id",
    "visibility_exclude_segment_id",
    "show_on_website",
    "starred",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True)
class TagSnapshot:
    """An immutable copy of a tag row, safe to share between requests and threads."""

    id: int
    parent_id: int | None
    name: str
    note: str
    active: bool
    category_id: int | None
    label: str
    description: str
    show_on_form: bool
    visible_to_everyone: bool
    visibility_include_segment_id: int | None
    visibility_exclude_segment_id: int | None
    position: int
    show_on_website: bool
    starred: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, tag: Tag) -> TagSnapshot:
        return cls(**{f: getattr(tag, f) for f in cls.__dataclass_fields__})


class TagView:
    """One tag as one viewer sees it. Unseen fields are None."""

    __slots__ = ("pk", "id", "label", "description", "position", "category_id", "parent", "children", "selected",
                 *STAFF_FIELDS)  # fmt: skip

    def __init__(self, snap: TagSnapshot, global_id: str, *, staff: bool):
        self.pk = snap.id
        self.id = global_id
        self.label = snap.label
        self.description = snap.description
        self.position = snap.position
        self.category_id = snap.category_id  # everyone: the preference centre groups tags by it
        self.parent: TagView | None = None
        self.children: list[TagView] = []
        self.selected: bool | None = None
        for field in STAFF_FIELDS:
            setattr(self, field, getattr(snap, field) if staff else None)


def _order(snap: TagSnapshot) -> tuple:
    return (snap.position, snap.label.casefold(), snap.id)


def build_views(
    snaps: Iterable[TagSnapshot],
    global_id: Callable[[int], str],
    *,
    staff: bool,
    keep: Callable[[TagSnapshot], bool] = lambda s: True,
    order: Callable[[TagSnapshot], tuple] = _order,
) -> dict[int, TagView]:
    """Views for the kept tags; parent/children only between kept tags."""
    kept = sorted((s for s in snaps if keep(s)), key=order)
    views = {s.id: TagView(s, global_id(s.id), staff=staff) for s in kept}
    for snap in kept:
        parent = views.get(snap.parent_id) if snap.parent_id is not None else None
        if parent is not None:
            views[snap.id].parent = parent
            parent.children.append(views[snap.id])
    return views


def roots(views: dict[int, TagView]) -> list[TagView]:
    return [v for v in views.values() if v.parent is None]


TAGS_READ = "tags:read"  # a connector reads the public fields of active tags
TAGS_READ_INTERNAL = "tags:read:internal"  # … and with this scope too, what staff see


def view_kind(viewer) -> str | None:
    """Which shared view of the tags a viewer gets (SPEC 3.5): staff everything; the website its
    active "show on website" tags; a connector the public fields of active tags with ``tags:read``,
    the staff view only with ``tags:read:internal`` as well. Persons see tags only on forms
    (``domain.forms``); anyone else sees none."""
    from domain.viewer import ViewerKind  # noqa: PLC0415

    if viewer is None:
        return None
    if viewer.kind is ViewerKind.STAFF:
        return "staff"
    if viewer.kind is ViewerKind.WEBSITE:
        return "website"
    if viewer.kind is ViewerKind.CONNECTOR and TAGS_READ in viewer.scopes:
        return "staff" if TAGS_READ_INTERNAL in viewer.scopes else "public"
    return None


class TagCache:
    """Per-process cache of each account's tag snapshots and its staff / website views."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[int, tuple[int, tuple[TagSnapshot, ...], dict]] = {}

    def snapshots(self, session: Session, account_id: int, version: int) -> tuple[TagSnapshot, ...]:
        entry = self._entries.get(account_id)
        if entry is not None and entry[0] == version:
            return entry[1]
        snaps = tuple(TagSnapshot.of(t) for t in all_tags(session, account_id))
        with self._lock:
            current = self._entries.get(account_id)
            if current is None or current[0] <= version:
                self._entries[account_id] = (version, snaps, {})
        return snaps

    def views(
        self, session: Session, account_id: int, version: int, kind: str, global_id: Callable[[int], str]
    ) -> dict[int, TagView]:
        """Shared, read-only views for viewers whose view does not depend on the person."""
        snaps = self.snapshots(session, account_id, version)
        entry = self._entries.get(account_id)
        built = entry[2] if entry is not None and entry[0] == version else {}
        views = built.get(kind)
        if views is None:
            if kind == "staff":
                views = build_views(snaps, global_id, staff=True)
            elif kind == "website":
                views = build_views(snaps, global_id, staff=False, keep=lambda s: s.active and s.show_on_website)
            elif kind == "public":
                views = build_views(snaps, global_id, staff=False, keep=lambda s: s.active)
            else:
                raise ValueError(kind)
            built[kind] = views
        return views

    def memo(self, session: Session, account_id: int, version: int, key: tuple, load: Callable[[], object]):
        """Anything derived from the account's tag picture (forms, their tags), cached per version."""
        self.snapshots(session, account_id, version)
        entry = self._entries.get(account_id)
        if entry is None or entry[0] != version:
            return load()
        built = entry[2]
        if key not in built:
            built[key] = load()
        return built[key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


TAG_CACHE = TagCache()


def list_views(
    views: dict[int, TagView],
    *,
    search: str | None = None,
    category_id: int | None = None,
    parent_id: int | None = None,
    roots_only: bool = False,
    active: bool | None = None,
    starred: bool | None = None,
    show_on_form: bool | None = None,
    first: int | None = None,
    after: str | None = None,
):
    """A cursor page of the viewer's tags: starred first, then by name (label for non-staff).

    Works on the cached views of one account (hundreds of tags), not on table rows.
    """
    from bisect import bisect_right  # noqa: PLC0415

    from domain.errors import ErrorCode, InputError  # noqa: PLC0415
    from domain.pagination import Page, cursor_int, decode_cursor, encode_cursor, page_size  # noqa: PLC0415

    limit = page_size(first)
    needle = search.strip().casefold() if search else None

    def keep(v: TagView) -> bool:
        if needle and needle not in v.label.casefold() and needle not in (v.name or "").casefold():
            return False
        if category_id is not None and v.category_id != category_id:
            return False
        if parent_id is not None and (v.parent is None or v.parent.pk != parent_id):
            return False
        if roots_only and v.parent is not None:
            return False
        for value, attribute in ((active, v.active), (starred, v.starred), (show_on_form, v.show_on_form)):
            if value is not None and attribute is not value:
                return False
        return True

    def key(v: TagView) -> tuple:
        return (0 if v.starred else 1, (v.name or v.label).casefold(), v.pk)

    ordered = sorted((key(v), v) for v in views.values() if keep(v))
    keys = [k for k, _ in ordered]
    start = 0
    if after:
        values = decode_cursor(after, 3)
        try:
            start = bisect_right(keys, (cursor_int(values[0]), str(values[1]), cursor_int(values[2])))
        except (TypeError, ValueError):
            raise InputError.single(ErrorCode.INVALID, "not a cursor of this list", "after") from None
    chunk = ordered[start : start + limit]
    return Page(
        items=[v for _, v in chunk],
        cursors=[encode_cursor(list(k)) for k, _ in chunk],
        has_next_page=start + limit < len(ordered),
        has_previous_page=start > 0,
    ), len(ordered)
