"""Tag queries and mutations: translations to domain.tags."""

from __future__ import annotations


import strawberry

from domain.errors import ErrorCode as Code
from domain.errors import InputError
from domain.tags import service as tags
from domain.tags.names import MAX_NAMES
from domain.tags.visibility import list_views, roots
from graph.context import Info
from graph.core.errors import mutation_payload, run_mutation
from graph.core.ids import from_global_id, optional_pk, pk_of, pks_of
from graph.core.inputs import to_domain
from graph.core.pagination import FIRST_DESCRIPTION, edges, page_info
from graph.core.permissions import CanEdit, IsAuthenticated, IsStaff
from graph.tags.types import Tag, TagCategory, TagConnection, TagSource, announce_tags
from graph.tags.views import viewer_tag_views

TAGS_NOTE = f"At most {tags.MAX_TAGS} tags."
TARGETS_NOTE = f"Persons, productions or organisations (all of one kind), at most {tags.MAX_TARGETS}."
TARGET_TYPES = {
    "Person": tags.TargetKind.PERSON,
    "Production": tags.TargetKind.PRODUCTION,
    "Organisation": tags.TargetKind.ORGANISATION,
}


def targets_of(global_ids: list[strawberry.ID]) -> tuple[tags.TargetKind, list[int]]:
    decoded = [from_global_id(gid) for gid in global_ids]
    return tags.targets_of_one_kind([(TARGET_TYPES.get(d[0]), d[1]) if d else (None, 0) for d in decoded], "target_ids")


@strawberry.input(description="All given filters must hold.")
class TagFilterInput:
    search: str | None = strawberry.field(default=None, description="Part of the name or label.")
    category_id: strawberry.ID | None = None
    parent_id: strawberry.ID | None = None
    roots_only: bool = False
    active: bool | None = None
    starred: bool | None = None
    show_on_form: bool | None = None


@strawberry.type
class TagQuery:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Tags you can see, starred first then by name. " + FIRST_DESCRIPTION,
    )
    def tags(
        self, info: Info, first: int | None = None, after: str | None = None, filter: TagFilterInput | None = None
    ) -> TagConnection:
        ctx = info.context
        flt = filter or TagFilterInput()
        if flt.search is not None and len(flt.search) > 200:
            raise InputError.single(Code.TOO_LONG, "search is longer than 200 characters", "filter", "search")
        page, total = list_views(
            viewer_tag_views(ctx),
            search=flt.search,
            category_id=_filter_pk(flt.category_id, "TagCategory"),
            parent_id=_filter_pk(flt.parent_id, "Tag"),
            roots_only=flt.roots_only,
            active=flt.active,
            starred=flt.starred,
            show_on_form=flt.show_on_form,
            first=first,
            after=after,
        )
        announce_tags(ctx, page.items)
        return TagConnection(edges=edges(page), page_info=page_info(page), total_count=total)

    @strawberry.field(
        permission_classes=[IsAuthenticated], description="The tree of tags you can see: main tags with their subtags."
    )
    def tag_tree(self, info: Info) -> list[Tag]:
        views = viewer_tag_views(info.context)
        announce_tags(info.context, views.values())
        return roots(views)

    @strawberry.field(permission_classes=[IsAuthenticated], description="One tag; null when you cannot see it.")
    def tag(self, info: Info, id: strawberry.ID) -> Tag | None:
        decoded = from_global_id(id, "Tag")
        return viewer_tag_views(info.context).get(decoded[1]) if decoded else None

    @strawberry.field(permission_classes=[IsStaff])
    def tag_categories(self, info: Info) -> list[TagCategory]:
        return tags.list_categories(info.context.session, info.context.viewer.account_id)


def _filter_pk(global_id, type_name: str) -> int | None:
    if global_id is None:
        return None
    decoded = from_global_id(global_id, type_name)
    return decoded[1] if decoded else -1


@strawberry.input
class CreateTagsInput:
    names: str = strawberry.field(description=f"One or more names (at most {MAX_NAMES}); a comma separates tags.")
    category_id: strawberry.ID | None = None
    parent_id: strawberry.ID | None = None
    note: str = ""
    label: str | None = strawberry.field(default=None, description="Defaults to the name.")
    description: str = ""
    active: bool = True
    show_on_form: bool = False
    visible_to_everyone: bool = True
    visibility_include_segment_id: strawberry.ID | None = None
    visibility_exclude_segment_id: strawberry.ID | None = None
    position: int = 0
    show_on_website: bool = False
    starred: bool = False


@strawberry.input(description="Only the fields given change. A name that another tag has merges this tag into it.")
class UpdateTagInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    category_id: strawberry.ID | None = strawberry.UNSET
    parent_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="Re-parent; null makes it a main tag."
    )
    note: str | None = strawberry.UNSET
    label: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    active: bool | None = strawberry.UNSET
    show_on_form: bool | None = strawberry.UNSET
    visible_to_everyone: bool | None = strawberry.UNSET
    visibility_include_segment_id: strawberry.ID | None = strawberry.UNSET
    visibility_exclude_segment_id: strawberry.ID | None = strawberry.UNSET
    position: int | None = strawberry.UNSET
    show_on_website: bool | None = strawberry.UNSET
    starred: bool | None = strawberry.UNSET


TAG_REFERENCES = {
    "category_id": "TagCategory",
    "parent_id": "Tag",
    "visibility_include_segment_id": "Segment",
    "visibility_exclude_segment_id": "Segment",
}


@strawberry.input
class TagLinksInput:
    tag_ids: list[strawberry.ID] = strawberry.field(description=TAGS_NOTE)
    target_ids: list[strawberry.ID] = strawberry.field(description=TARGETS_NOTE)


@strawberry.input
class AttachTagsByNameInput:
    names: str = strawberry.field(description=f"Comma-separated names, at most {MAX_NAMES}; missing tags are created.")
    target_ids: list[strawberry.ID] = strawberry.field(description=TARGETS_NOTE)


@strawberry.input
class DetachTagsInput:
    tag_ids: list[strawberry.ID] = strawberry.field(description=TAGS_NOTE)
    target_ids: list[strawberry.ID] = strawberry.field(description=TARGETS_NOTE)
    sources: list[TagSource] | None = strawberry.field(
        default=None, description="Which sources' links to remove; all sources when omitted."
    )


@strawberry.input(description="Give either intoId (an existing tag) or intoName (an existing or new name).")
class MergeTagsInput:
    tag_ids: list[strawberry.ID] = strawberry.field(description=f"At most {tags.MAX_MERGED} tags.")
    into_id: strawberry.ID | None = None
    into_name: str | None = None


@strawberry.input
class DeleteTagInput:
    id: strawberry.ID
    remove_links: bool = strawberry.field(default=False, description="Delete even though links exist, removing them.")


@strawberry.input
class CreateTagCategoryInput:
    name: str
    position: int = 0


@strawberry.type
class CreateTagsSuccess:
    tags: list[Tag]


@strawberry.type
class UpdateTagSuccess:
    tag: Tag
    merged: bool = strawberry.field(description="True when the new name belonged to another tag and they merged.")


@strawberry.type
class TagLinksSuccess:
    changed: int = strawberry.field(description="Links added or removed.")


@strawberry.type
class MergeTagsSuccess:
    tag: Tag


@strawberry.type
class DeleteTagSuccess:
    deleted_id: strawberry.ID


@strawberry.type
class CreateTagCategorySuccess:
    category: TagCategory


CreateTagsPayload, CreateTagsError, CreateTagsFailure = mutation_payload("CreateTags", CreateTagsSuccess)
UpdateTagPayload, UpdateTagError, UpdateTagFailure = mutation_payload("UpdateTag", UpdateTagSuccess)
AttachTagsPayload, AttachTagsError, AttachTagsFailure = mutation_payload("AttachTags", TagLinksSuccess)
DetachTagsPayload, DetachTagsError, DetachTagsFailure = mutation_payload("DetachTags", TagLinksSuccess)
MergeTagsPayload, MergeTagsError, MergeTagsFailure = mutation_payload("MergeTags", MergeTagsSuccess)
DeleteTagPayload, DeleteTagError, DeleteTagFailure = mutation_payload("DeleteTag", DeleteTagSuccess)
CreateTagCategoryPayload, CreateTagCategoryError, CreateTagCategoryFailure = mutation_payload(
    "CreateTagCategory", CreateTagCategorySuccess
)


def _views_after_change(info: Info) -> dict:
    ctx = info.context
    ctx.refresh_tags_version()
    return viewer_tag_views(ctx)


def _actor(info: Info) -> str:
    viewer = info.context.viewer
    return f"staff:{viewer.staff_user_id}"


@strawberry.type
class TagMutation:
    @strawberry.mutation(permission_classes=[CanEdit], description="Create one tag per comma-separated name.")
    def create_tags(self, info: Info, input: CreateTagsInput) -> CreateTagsPayload | None:
        ctx, viewer = info.context, info.context.viewer

        def action():
            created = tags.create_tags(
                ctx.session,
                viewer.account_id,
                to_domain(input, tags.TagFields, ids=TAG_REFERENCES),
                policy=viewer.account.tag_name_policy,
            )
            ctx.commit()
            views = _views_after_change(info)
            return CreateTagsSuccess(tags=[views[t.id] for t in created])

        return run_mutation(info, action, CreateTagsError, CreateTagsFailure)

    @strawberry.mutation(permission_classes=[CanEdit])
    def update_tag(self, info: Info, input: UpdateTagInput) -> UpdateTagPayload | None:
        ctx, viewer = info.context, info.context.viewer

        def action():
            tag_id = pk_of(input.id, "Tag", "id")
            survivor = tags.update_tag(
                ctx.session,
                viewer.account_id,
                tag_id,
                to_domain(input, tags.TagChanges, ids=TAG_REFERENCES, skip=("id",)),
                policy=viewer.account.tag_name_policy,
            )
            survivor_id = survivor.id
            ctx.commit()
            return UpdateTagSuccess(tag=_views_after_change(info)[survivor_id], merged=survivor_id != tag_id)

        return run_mutation(info, action, UpdateTagError, UpdateTagFailure)

    @strawberry.mutation(permission_classes=[CanEdit], description="Attach tags (source staff) to many targets.")
    def attach_tags(self, info: Info, input: TagLinksInput) -> AttachTagsPayload | None:
        ctx, viewer = info.context, info.context.viewer

        def action():
            kind, target_ids = targets_of(input.target_ids)
            added = tags.attach(
                ctx.session,
                viewer.account_id,
                tag_ids=pks_of(input.tag_ids, "Tag", "tag_ids"),
                target=kind,
                target_ids=target_ids,
                source="staff",
                actor=_actor(info),
            )
            return TagLinksSuccess(changed=added)

        return run_mutation(info, action, AttachTagsError, AttachTagsFailure)

    @strawberry.mutation(
        permission_classes=[CanEdit], description="Attach tags by typed names (comma-separated), creating missing tags."
    )
    def attach_tags_by_name(self, info: Info, input: AttachTagsByNameInput) -> AttachTagsPayload | None:
        ctx, viewer = info.context, info.context.viewer

        def action():
            kind, target_ids = targets_of(input.target_ids)
            found = tags.ensure_tags(
                ctx.session, viewer.account_id, policy=viewer.account.tag_name_policy, names=input.names
            )
            added = tags.attach(
                ctx.session,
                viewer.account_id,
                tag_ids=[t.id for t in found],
                target=kind,
                target_ids=target_ids,
                source="staff",
                actor=_actor(info),
            )
            return TagLinksSuccess(changed=added)

        return run_mutation(info, action, AttachTagsError, AttachTagsFailure)

    @strawberry.mutation(permission_classes=[CanEdit])
    def detach_tags(self, info: Info, input: DetachTagsInput) -> DetachTagsPayload | None:
        ctx, viewer = info.context, info.context.viewer

        def action():
            kind, target_ids = targets_of(input.target_ids)
            removed = tags.detach(
                ctx.session,
                viewer.account_id,
                tag_ids=pks_of(input.tag_ids, "Tag", "tag_ids"),
                target=kind,
                target_ids=target_ids,
                sources=[s.value for s in input.sources] if input.sources is not None else None,
            )
            return TagLinksSuccess(changed=removed)

        return run_mutation(info, action, DetachTagsError, DetachTagsFailure)

    @strawberry.mutation(permission_classes=[CanEdit], description="Merge several tags into one.")
    def merge_tags(self, info: Info, input: MergeTagsInput) -> MergeTagsPayload | None:
        ctx, viewer = info.context, info.context.viewer

        def action():
            survivor = tags.merge_tags(
                ctx.session,
                viewer.account_id,
                tag_ids=pks_of(input.tag_ids, "Tag", "tag_ids"),
                into_id=optional_pk(input.into_id, "Tag", "into_id"),
                into_name=input.into_name,
                policy=viewer.account.tag_name_policy,
            )
            survivor_id = survivor.id
            ctx.commit()
            return MergeTagsSuccess(tag=_views_after_change(info)[survivor_id])

        return run_mutation(info, action, MergeTagsError, MergeTagsFailure)

    @strawberry.mutation(
        permission_classes=[CanEdit],
        description="Hard delete: only without links, or with removeLinks. Prefer deactivating.",
    )
    def delete_tag(self, info: Info, input: DeleteTagInput) -> DeleteTagPayload | None:
        ctx, viewer = info.context, info.context.viewer

        def action():
            tags.delete_tag(
                ctx.session, viewer.account_id, pk_of(input.id, "Tag", "id"), remove_links=input.remove_links
            )
            return DeleteTagSuccess(deleted_id=input.id)

        return run_mutation(info, action, DeleteTagError, DeleteTagFailure)

    @strawberry.mutation(permission_classes=[CanEdit])
    def create_tag_category(self, info: Info, input: CreateTagCategoryInput) -> CreateTagCategoryPayload | None:
        ctx, viewer = info.context, info.context.viewer

        def action():
            return CreateTagCategorySuccess(
                category=tags.create_category(ctx.session, viewer.account_id, name=input.name, position=input.position)
            )

        return run_mutation(info, action, CreateTagCategoryError, CreateTagCategoryFailure)


__all__ = ["TagQuery", "TagMutation"]
