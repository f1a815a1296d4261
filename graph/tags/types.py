"""The recursive ``Tag`` type. Its root objects are domain ``TagView``s made for the viewer,
so almost every field is a plain attribute read; unseen fields are null on the view."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from domain.tags import service as tags
from domain.tags.models import TagCategory as TagCategoryRow
from graph.tags.enums import TagSource
from domain.tags.visibility import TagView
from domain.viewer import ViewerKind
from graph.context import Info
from graph.core.ids import to_global_id
from graph.core.loaders import BatchLoader, loader
from graph.core.node import Node
from graph.core.pagination import FIRST_DESCRIPTION, Edge, PageInfo, edges, page_info
from graph.people.loaders import announce_persons
from graph.people.types import PersonConnection


def CounterByTagLoader(ctx) -> BatchLoader:
    return BatchLoader(lambda ids: tags.counters(ctx.session, ctx.viewer.account_id, ids))


def CategoryByIdLoader(ctx) -> BatchLoader:
    def fetch(ids):
        return {c.id: c for c in tags.list_categories(ctx.session, ctx.viewer.account_id)}

    return BatchLoader(fetch)


def announce_tags(ctx, views) -> None:
    if ctx.viewer is not None and ctx.viewer.kind in (ViewerKind.STAFF, ViewerKind.CONNECTOR):
        pks = [v.pk for v in views]
        loader(ctx, CounterByTagLoader).want(pks)
        ctx.announced_tags.update(pks)


def PersonsByTagLoader(ctx, source: str | None, include_subtags: bool, first: int | None, after: str | None):
    """Pages of persons per tag for one set of field arguments (each alias with other arguments
    gets its own loader): one statement for every tag the request lists."""
    key = f"PersonsByTagLoader:{source}:{include_subtags}:{first}:{after}"

    def factory(ctx):
        def fetch(ids):
            pages = tags.who_by_tag(
                ctx.session,
                ctx.viewer.account_id,
                ids,
                source=source,
                include_subtags=include_subtags,
                first=first,
                after=after,
            )
            announce_persons(ctx, [p.id for page in pages.values() for p in page.items])
            return pages

        made = BatchLoader(fetch)
        made.want(ctx.announced_tags)
        return made

    return ctx.loaders.get(key, factory)


def PersonCountByTagLoader(ctx, source: str | None, include_subtags: bool):
    key = f"PersonCountByTagLoader:{source}:{include_subtags}"

    def factory(ctx):
        made = BatchLoader(
            lambda ids: tags.count_who_by_tag(
                ctx.session, ctx.viewer.account_id, ids, source=source, include_subtags=include_subtags
            )
        )
        made.want(ctx.announced_tags)
        return made

    return ctx.loaders.get(key, factory)


@strawberry.type(description="A group of tags (genres, smart colours, regions, …).")
class TagCategory(Node):
    name: str
    position: int

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("TagCategory", self.id))

    @classmethod
    def is_type_of(cls, obj, info) -> bool:
        return isinstance(obj, (TagCategoryRow, cls))


@strawberry.type(description="Exact link counts, current at query time.")
class TagCounts:
    persons: int = strawberry.field(description="Distinct persons with the tag from any source.")
    persons_by_person: int = strawberry.field(description="Persons who chose it themselves.")
    persons_by_staff: int
    persons_by_integration: int
    productions: int
    organisations: int


@strawberry.enum(description="Which list of targets to show for a tag.")
class TagTargetKind(enum.Enum):
    PERSON = "person"
    PRODUCTION = "production"
    ORGANISATION = "organisation"


@strawberry.type(
    description=(
        "A label on persons, productions and organisations, in a tree of main tags and subtags. "
        "What a viewer sees depends on who asks: staff see everything; a person sees the public fields "
        "(label, description, position, children, selected) of the active tags on the form shown; "
        "the website sees active tags marked for the website. Fields you may not see are null."
    )
)
class Tag(Node):
    id: strawberry.ID
    label: str = strawberry.field(description="The text persons see on forms and in the preference centre.")
    description: str
    position: int = strawberry.field(description="Order on forms and in the preference centre (1 first).")
    parent: Tag | None = strawberry.field(description="The main tag above this one, if you can see it.")
    children: list[Tag] = strawberry.field(description="Subtags you can see, in position order.")
    selected: bool | None = strawberry.field(
        description="Person viewers: whether the person chose this tag (their own links only)."
    )
    name: str | None = strawberry.field(description="Internal name, unique per account (staff).")
    note: str | None
    active: bool | None
    show_on_form: bool | None
    visible_to_everyone: bool | None
    show_on_website: bool | None
    starred: bool | None
    created_at: datetime | None
    updated_at: datetime | None

    @strawberry.field(description="The tag's category (the preference centre groups by it when it shows many).")
    def category(self, info: Info) -> TagCategory | None:
        if self.category_id is None:
            return None
        return loader(info.context, CategoryByIdLoader).load(self.category_id)

    @strawberry.field(description="Staff: only persons in this segment see the tag (when not visible to everyone).")
    def visibility_include_segment_id(self) -> strawberry.ID | None:
        value = self.visibility_include_segment_id
        return strawberry.ID(to_global_id("Segment", value)) if value else None

    @strawberry.field(description="Staff: persons in this segment do not see the tag.")
    def visibility_exclude_segment_id(self) -> strawberry.ID | None:
        value = self.visibility_exclude_segment_id
        return strawberry.ID(to_global_id("Segment", value)) if value else None

    @strawberry.field(description="Staff: exact counts of links, current at query time.")
    def counts(self, info: Info) -> TagCounts | None:
        viewer = info.context.viewer
        if self.name is None or viewer is None or not viewer.is_staff:
            return None
        row = loader(info.context, CounterByTagLoader).load(self.pk)
        if row is None:
            return TagCounts(
                persons=0,
                persons_by_person=0,
                persons_by_staff=0,
                persons_by_integration=0,
                productions=0,
                organisations=0,
            )
        return TagCounts(
            persons=row.persons,
            persons_by_person=row.persons_by_person,
            persons_by_staff=row.persons_by_staff,
            persons_by_integration=row.persons_by_integration,
            productions=row.productions,
            organisations=row.organisations,
        )

    @strawberry.field(description='Staff: who carries this tag ("Kto?"). ' + FIRST_DESCRIPTION)
    def persons(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        source: TagSource | None = None,
        include_subtags: bool = False,
    ) -> PersonConnection | None:
        viewer = info.context.viewer
        if self.name is None or viewer is None or not viewer.is_staff:
            return None
        ctx = info.context
        source_value = source.value if source else None
        page = PersonsByTagLoader(ctx, source_value, include_subtags, first, after).load(self.pk)
        counts = PersonCountByTagLoader(ctx, source_value, include_subtags)
        pk = self.pk
        return PersonConnection(edges=edges(page), page_info=page_info(page), _count=lambda: counts.load(pk))

    @classmethod
    def is_type_of(cls, obj, info) -> bool:
        return isinstance(obj, (TagView, cls))


@strawberry.type
class TagConnection:
    edges: list[Edge[Tag]]
    page_info: PageInfo
    total_count: int
