"""Organisations (module ``business``) through GraphQL: ``domain.organisations``. Reads for staff,
writes for marketers and admins; with the module off every field answers MODULE_NOT_ENABLED."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from domain.organisations import service as organisations
from domain.people.models import Organisation as OrganisationRow
from domain.people.models import PersonOrganisation as LinkRow
from domain.tags import service as tags
from domain.tags.service import TargetKind
from graph.catalog.types import TagLink, visible_links
from graph.context import Info
from graph.core.errors import mutation_payload, run_mutation
from graph.core.ids import to_global_id
from graph.core.inputs import reference_pk, to_domain
from graph.core.loaders import BatchLoader, loader
from graph.core.node import Node
from graph.core.pagination import FIRST_DESCRIPTION, Edge, PageInfo, edges, page_info
from graph.core.permissions import CanEdit, IsStaff
from graph.people.loaders import PersonByIdLoader

if TYPE_CHECKING:
    from graph.people.types import Person


def TagLinksByOrganisationLoader(ctx) -> BatchLoader:
    return BatchLoader(
        lambda ids: tags.links_for_targets(ctx.session, ctx.viewer.account_id, TargetKind.ORGANISATION, ids),
        default=list,
    )


def MemberCountByOrganisationLoader(ctx) -> BatchLoader:
    return BatchLoader(
        lambda ids: organisations.member_counts(ctx.session, ctx.viewer.account_id, ids), default=lambda: 0
    )


def OrganisationByIdLoader(ctx) -> BatchLoader:
    from domain.catalog.service import rows_by_id  # noqa: PLC0415

    return BatchLoader(lambda ids: rows_by_id(ctx.session, OrganisationRow, ctx.viewer.account_id, ids))


@strawberry.type(description="A business relation (module business): tagged like a person, with contacts.")
class Organisation(Node):
    name: str
    email: str | None
    phone: str | None
    city: str | None
    country: str | None
    created_at: datetime
    updated_at: datetime

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Organisation", self.id))

    @strawberry.field
    def tags(self, info: Info) -> list[TagLink]:
        return visible_links(info.context, loader(info.context, TagLinksByOrganisationLoader).load(self.id))

    @strawberry.field(description="How many persons are linked.")
    def person_count(self, info: Info) -> int:
        return loader(info.context, MemberCountByOrganisationLoader).load(self.id)  # type: ignore[return-value]

    @strawberry.field(description="The linked persons with their role, by person. " + FIRST_DESCRIPTION)
    def persons(self, info: Info, first: int | None = None, after: str | None = None) -> OrganisationMemberConnection:
        ctx = info.context
        page = organisations.members_page(ctx.session, ctx.viewer.account_id, self.id, first=first, after=after)  # type: ignore[arg-type]
        loader(ctx, PersonByIdLoader).want(link.person_id for link in page.items)
        return OrganisationMemberConnection(edges=edges(page), page_info=page_info(page))

    @classmethod
    def is_type_of(cls, obj, info) -> bool:
        return isinstance(obj, (OrganisationRow, cls))


@strawberry.type(description="A person's link to an organisation.")
class OrganisationMembership:
    role: str
    created_at: datetime

    @strawberry.field
    def person(self, info: Info) -> Annotated[Person, strawberry.lazy("graph.people.types")] | None:
        return loader(info.context, PersonByIdLoader).load(self.person_id)  # type: ignore[attr-defined, return-value]

    @strawberry.field
    def organisation(self, info: Info) -> Organisation | None:
        return loader(info.context, OrganisationByIdLoader).load(self.organisation_id)  # type: ignore[attr-defined, return-value]

    @classmethod
    def is_type_of(cls, obj, info) -> bool:
        return isinstance(obj, (LinkRow, cls))


@strawberry.type
class OrganisationConnection:
    edges: list[Edge[Organisation]]
    page_info: PageInfo


@strawberry.type
class OrganisationMemberConnection:
    edges: list[Edge[OrganisationMembership]]
    page_info: PageInfo


@strawberry.type
class OrganisationQuery:
    @strawberry.field(
        permission_classes=[IsStaff],
        description="The account's organisations by name; search matches the start of a word of the name, the "
        "city, or part of the e-mail address. " + FIRST_DESCRIPTION,
    )
    def organisations(
        self, info: Info, search: str | None = None, first: int | None = None, after: str | None = None
    ) -> OrganisationConnection:
        ctx = info.context
        page = organisations.list_organisations(
            ctx.session, ctx.viewer.account_id, search=search or None, first=first, after=after
        )
        return OrganisationConnection(edges=edges(page), page_info=page_info(page))


@strawberry.input
class CreateOrganisationInput:
    name: str
    email: str | None = None
    phone: str | None = None
    city: str | None = None
    country: str | None = strawberry.field(default=None, description="Two letters (ISO 3166), such as NL.")


@strawberry.input(description="The fields given change; null clears one (not the name).")
class UpdateOrganisationInput:
    organisation_id: strawberry.ID
    name: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    city: str | None = strawberry.UNSET
    country: str | None = strawberry.UNSET


@strawberry.input
class OrganisationPersonsInput:
    organisation_id: strawberry.ID
    person_ids: list[strawberry.ID] = strawberry.field(description=f"At most {organisations.MAX_PERSONS}.")
    role: str = strawberry.field(default="", description="Linking only: their role there (at most 100 characters).")


@strawberry.input
class OrganisationIdInput:
    organisation_id: strawberry.ID


@strawberry.type
class OrganisationSuccess:
    organisation: Organisation


@strawberry.type
class OrganisationPersonsChanged:
    organisation: Organisation
    changed: int = strawberry.field(description="Links written or removed.")


@strawberry.type
class OrganisationDeleted:
    deleted_id: strawberry.ID


CreateOrganisationPayload, CreateOrganisationError, CreateOrganisationFailure = mutation_payload(
    "CreateOrganisation", OrganisationSuccess
)
UpdateOrganisationPayload, UpdateOrganisationError, UpdateOrganisationFailure = mutation_payload(
    "UpdateOrganisation", OrganisationSuccess
)
DeleteOrganisationPayload, DeleteOrganisationError, DeleteOrganisationFailure = mutation_payload(
    "DeleteOrganisation", OrganisationDeleted
)
LinkPersonsPayload, LinkPersonsError, LinkPersonsFailure = mutation_payload(
    "LinkPersonsToOrganisation", OrganisationPersonsChanged
)
UnlinkPersonsPayload, UnlinkPersonsError, UnlinkPersonsFailure = mutation_payload(
    "UnlinkPersonsFromOrganisation", OrganisationPersonsChanged
)


def _persons(ids: list[strawberry.ID]) -> list[int]:
    return [reference_pk(i, "Person") for i in ids]


@strawberry.type
class OrganisationMutation:
    @strawberry.mutation(permission_classes=[CanEdit])
    def create_organisation(self, info: Info, input: CreateOrganisationInput) -> CreateOrganisationPayload | None:
        ctx = info.context

        def action():
            fields = to_domain(input, organisations.OrganisationFields)
            return OrganisationSuccess(
                organisation=organisations.create_organisation(ctx.session, ctx.viewer.account_id, fields)  # type: ignore[arg-type]
            )

        return run_mutation(info, action, CreateOrganisationError, CreateOrganisationFailure)

    @strawberry.mutation(permission_classes=[CanEdit])
    def update_organisation(self, info: Info, input: UpdateOrganisationInput) -> UpdateOrganisationPayload | None:
        ctx = info.context

        def action():
            changes = to_domain(input, organisations.OrganisationChanges, skip=("organisation_id",))
            organisation = organisations.update_organisation(
                ctx.session, ctx.viewer.account_id, reference_pk(input.organisation_id, "Organisation"), changes
            )
            return OrganisationSuccess(organisation=organisation)  # type: ignore[arg-type]

        return run_mutation(info, action, UpdateOrganisationError, UpdateOrganisationFailure)

    @strawberry.mutation(
        permission_classes=[CanEdit], description="The organisation and its links go; the persons stay."
    )
    def delete_organisation(self, info: Info, input: OrganisationIdInput) -> DeleteOrganisationPayload | None:
        ctx = info.context

        def action():
            organisations.delete_organisation(
                ctx.session, ctx.viewer.account_id, reference_pk(input.organisation_id, "Organisation")
            )
            return OrganisationDeleted(deleted_id=input.organisation_id)

        return run_mutation(info, action, DeleteOrganisationError, DeleteOrganisationFailure)

    @strawberry.mutation(permission_classes=[CanEdit], description="Persons already linked take the role given.")
    def link_persons_to_organisation(self, info: Info, input: OrganisationPersonsInput) -> LinkPersonsPayload | None:
        ctx = info.context

        def action():
            organisation_id = reference_pk(input.organisation_id, "Organisation")
            changed = organisations.link_persons(
                ctx.session, ctx.viewer.account_id, organisation_id, _persons(input.person_ids), role=input.role
            )
            organisation = organisations.get_organisation(ctx.session, ctx.viewer.account_id, organisation_id)
            return OrganisationPersonsChanged(organisation=organisation, changed=changed)  # type: ignore[arg-type]

        return run_mutation(info, action, LinkPersonsError, LinkPersonsFailure)

    @strawberry.mutation(permission_classes=[CanEdit])
    def unlink_persons_from_organisation(
        self, info: Info, input: OrganisationPersonsInput
    ) -> UnlinkPersonsPayload | None:
        ctx = info.context

        def action():
            organisation_id = reference_pk(input.organisation_id, "Organisation")
            changed = organisations.unlink_persons(
                ctx.session, ctx.viewer.account_id, organisation_id, _persons(input.person_ids)
            )
            organisation = organisations.get_organisation(ctx.session, ctx.viewer.account_id, organisation_id)
            return OrganisationPersonsChanged(organisation=organisation, changed=changed)  # type: ignore[arg-type]

        return run_mutation(info, action, UnlinkPersonsError, UnlinkPersonsFailure)


__all__ = ["OrganisationQuery", "OrganisationMutation", "Organisation", "OrganisationMembership"]
