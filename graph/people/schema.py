"""Person queries and mutations: thin translations to domain.people.service."""

from __future__ import annotations

import enum
from datetime import date, datetime

import strawberry
from strawberry.scalars import JSON

from domain.errors import ErrorCode as Code
from domain.errors import InputError
from domain.people import merge
from domain.people import service as people
from graph.context import Info
from graph.core.errors import mutation_payload, run_mutation
from graph.core.ids import from_global_id, pk_of
from graph.core.inputs import to_domain
from graph.core.pagination import FIRST_DESCRIPTION, edges, page_info
from graph.core.permissions import CanEdit, CanReadPeople, IsAdmin
from graph.people.loaders import announce_persons
from graph.people.types import Gender, Person, PersonConnection


@strawberry.enum(description="Order of a person list.")
class PersonSortField(enum.Enum):
    CREATED_AT = "created_at"
    LAST_NAME = "last_name"
    FIRST_NAME = "first_name"
    EMAIL = "email"
    ID = "id"


@strawberry.enum
class SortDirection(enum.Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.input
class PersonSort:
    field: PersonSortField = PersonSortField.CREATED_AT
    direction: SortDirection = SortDirection.DESC


@strawberry.input(description="All given filters must hold.")
class PersonFilterInput:
    genders: list[Gender] | None = strawberry.field(default=None, description="Any of these (at most 3).")
    gender_unknown: bool | None = strawberry.field(default=None, description="Include persons of unknown gender.")
    city: str | None = None
    postal_code_prefix: str | None = None
    country: str | None = None
    language: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    has_email: bool | None = None


def _person_filter(search: str | None, flt: PersonFilterInput | None) -> people.PersonFilter:
    if search is not None and len(search) > 200:
        raise InputError.single(Code.TOO_LONG, "search is longer than 200 characters", "search")
    flt = flt or PersonFilterInput()
    return people.PersonFilter(
        search=search,
        genders=sorted({g.value for g in flt.genders or []}),
        gender_unknown=flt.gender_unknown,
        city=flt.city,
        postal_code_prefix=flt.postal_code_prefix,
        country=flt.country,
        language=flt.language,
        created_after=flt.created_after,
        created_before=flt.created_before,
        has_email=flt.has_email,
    )


@strawberry.type
class PersonQuery:
    @strawberry.field(
        permission_classes=[CanReadPeople],
        description="Persons of the account (staff, connectors with people:read). " + FIRST_DESCRIPTION,
    )
    def persons(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        search: str | None = strawberry.UNSET,
        filter: PersonFilterInput | None = None,
        sort: PersonSort | None = None,
    ) -> PersonConnection:
        ctx = info.context
        account_id = ctx.viewer.account_id
        search = search or None
        flt = _person_filter(search, filter)
        sort = sort or PersonSort()
        page = people.list_persons(
            ctx.session,
            account_id,
            filter=flt,
            sort=people.PersonSort(sort.field.value),
            descending=sort.direction is SortDirection.DESC,
            first=first,
            after=after,
        )
        announce_persons(ctx, [p.id for p in page.items])
        return PersonConnection(
            edges=edges(page),
            page_info=page_info(page),
            _count=lambda: people.count_persons(ctx.session, account_id, filter=flt),
        )

    @strawberry.field(
        permission_classes=[CanReadPeople], description="One person; null when not found in your account."
    )
    def person(self, info: Info, id: strawberry.ID) -> Person | None:
        decoded = from_global_id(id, "Person")
        if decoded is None:
            return None
        return people.get_person(info.context.session, info.context.viewer.account_id, decoded[1])


@strawberry.input
class CreatePersonInput:
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    gender: Gender | None = None
    birth_date: date | None = None
    language: str | None = None
    address: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    custom_fields: JSON | None = None


@strawberry.input(description="Only the fields given are changed; null clears a field.")
class UpdatePersonInput:
    id: strawberry.ID
    email: str | None = strawberry.UNSET
    first_name: str | None = strawberry.UNSET
    last_name: str | None = strawberry.UNSET
    gender: Gender | None = strawberry.UNSET
    birth_date: date | None = strawberry.UNSET
    language: str | None = strawberry.UNSET
    address: str | None = strawberry.UNSET
    postal_code: str | None = strawberry.UNSET
    city: str | None = strawberry.UNSET
    country: str | None = strawberry.UNSET
    latitude: float | None = strawberry.UNSET
    longitude: float | None = strawberry.UNSET
    custom_fields: JSON | None = strawberry.field(
        default=strawberry.UNSET, description="Merged into the current values; a null value removes a key."
    )


@strawberry.input
class DeletePersonInput:
    id: strawberry.ID


@strawberry.type
class CreatePersonSuccess:
    person: Person


@strawberry.type
class UpdatePersonSuccess:
    person: Person


@strawberry.type
class DeletePersonSuccess:
    deleted_id: strawberry.ID


CreatePersonPayload, CreatePersonError, CreatePersonFailure = mutation_payload("CreatePerson", CreatePersonSuccess)
UpdatePersonPayload, UpdatePersonError, UpdatePersonFailure = mutation_payload("UpdatePerson", UpdatePersonSuccess)
DeletePersonPayload, DeletePersonError, DeletePersonFailure = mutation_payload("DeletePerson", DeletePersonSuccess)


@strawberry.input
class MergePersonsInput:
    survivor_id: strawberry.ID = strawberry.field(description="The person who stays.")
    merged_id: strawberry.ID = strawberry.field(description="The person who goes into the survivor.")


@strawberry.type(description="What a merge moved to the survivor.")
class PersonMergeRecord:
    merged_id: strawberry.ID
    merged_at: datetime
    moved: JSON = strawberry.field(description="Rows moved by kind (tags, consents, orders, tickets, …).")


@strawberry.type
class MergePersonsSuccess:
    survivor: Person
    merge: PersonMergeRecord


MergePersonsPayload, MergePersonsError, MergePersonsFailure = mutation_payload("MergePersons", MergePersonsSuccess)


@strawberry.type
class PersonMutation:
    @strawberry.mutation(permission_classes=[CanEdit])
    def create_person(self, info: Info, input: CreatePersonInput) -> CreatePersonPayload | None:
        ctx = info.context
        viewer = ctx.viewer

        def action():
            person = people.create_person(
                ctx.session,
                viewer.account_id,
                to_domain(input, people.PersonFields),
                timezone_name=viewer.account.timezone,
            )
            return CreatePersonSuccess(person=person)

        return run_mutation(info, action, CreatePersonError, CreatePersonFailure)

    @strawberry.mutation(permission_classes=[CanEdit])
    def update_person(self, info: Info, input: UpdatePersonInput) -> UpdatePersonPayload | None:
        ctx = info.context
        viewer = ctx.viewer

        def action():
            person = people.update_person(
                ctx.session,
                viewer.account_id,
                pk_of(input.id, "Person", "id"),
                to_domain(input, people.PersonChanges, skip=("id",)),
                timezone_name=viewer.account.timezone,
            )
            return UpdatePersonSuccess(person=person)

        return run_mutation(info, action, UpdatePersonError, UpdatePersonFailure)

    @strawberry.mutation(
        permission_classes=[IsAdmin], description="Admins: delete a person and everything that hangs on them."
    )
    def delete_person(self, info: Info, input: DeletePersonInput) -> DeletePersonPayload | None:
        ctx = info.context

        def action():
            people.delete_person(ctx.session, ctx.viewer.account_id, pk_of(input.id, "Person", "id"))
            return DeletePersonSuccess(deleted_id=input.id)

        return run_mutation(info, action, DeletePersonError, DeletePersonFailure)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Admins: merge one person into another. Everything the merged person holds moves to the "
        "survivor (nothing is lost); the merged person's id answers as absent afterwards.",
    )
    def merge_persons(self, info: Info, input: MergePersonsInput) -> MergePersonsPayload | None:
        ctx = info.context

        def action():
            record = merge.merge_persons(
                ctx.session,
                ctx.viewer.account_id,
                pk_of(input.survivor_id, "Person", "survivor_id"),
                pk_of(input.merged_id, "Person", "merged_id"),
                merged_by=ctx.viewer.staff_user_id,
            )
            survivor = people.get_person(ctx.session, ctx.viewer.account_id, record.survivor_id)
            return MergePersonsSuccess(
                survivor=survivor,  # type: ignore[arg-type]
                merge=PersonMergeRecord(merged_id=input.merged_id, merged_at=record.merged_at, moved=record.moved),
            )

        return run_mutation(info, action, MergePersonsError, MergePersonsFailure)
