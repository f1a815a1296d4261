"""Person types."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from domain.catalog.service import MAX_ORDERS_PER_PERSON
from domain.errors import ErrorCode, InputError
from domain.forms.service import MAX_SUBMISSIONS_PER_PERSON
from domain.people.consents import MAX_HISTORY_PER_PERSON
from domain.people import service as people
from domain.people.models import Gender as GenderEnum
from domain.people.models import Person as PersonRow
from graph.catalog.loaders import ConsentTypeByIdLoader
from graph.catalog.types import ConsentType, Order, TagLink, visible_links, visible_tags
from graph.context import Info
from graph.core.ids import to_global_id
from graph.core.node import Node
from graph.core.pagination import Edge, PageInfo
from graph.people.loaders import (
    ConsentHistoryByPersonLoader,
    ConsentsByPersonLoader,
    FormByIdLoader,
    OrganisationLinksByPersonLoader,
    IdentitiesByPersonLoader,
    InterestsByPersonLoader,
    PurchaseSummaryByPersonLoader,
    SubmissionsByPersonLoader,
    SubscriptionsByPersonLoader,
    TagLinksByPersonLoader,
    orders_loader,
    sized_loader,
)
from graph.core.loaders import loader

if TYPE_CHECKING:
    from graph.forms.schema import Form
    from graph.organisations.schema import OrganisationMembership
    from graph.recommendations.schema import Interest
    from graph.tags.types import Tag

Gender = strawberry.enum(GenderEnum, name="Gender", description="Unknown gender is null.")


@strawberry.type(description="The id a source system uses for this person.")
class ExternalIdentity:
    source: str
    external_id: str


@strawberry.type(description="A person's current state for one consent type.")
class PersonConsent:
    granted: bool
    granted_at: datetime | None
    withdrawn_at: datetime | None
    updated_at: datetime

    @strawberry.field
    def consent_type(self, info: Info) -> ConsentType:
        return loader(info.context, ConsentTypeByIdLoader).load(self.consent_type_id)


@strawberry.type(description="One change of a person's consent: granted or withdrawn, when, from which source.")
class ConsentChange:
    granted: bool
    changed_at: datetime
    source: str = strawberry.field(
        description="Where the change came from: person (a form), staff, integration (a feed)."
    )

    @strawberry.field
    def consent_type(self, info: Info) -> ConsentType:
        return loader(info.context, ConsentTypeByIdLoader).load(self.consent_type_id)  # type: ignore[attr-defined]


@strawberry.type(description="What a person submitted on a form: tags chosen, added and dropped, consents.")
class FormSubmission:
    submitted_at: datetime
    consents: JSON = strawberry.field(description="Consent changes sent with it, by consent type id.")

    @strawberry.field
    def form(self, info: Info) -> Annotated[Form, strawberry.lazy("graph.forms.schema")] | None:
        return loader(info.context, FormByIdLoader).load(self.form_id)  # type: ignore[attr-defined]

    @strawberry.field(description="The tags selected when submitting (tags you may not see left out).")
    def selected_tags(self, info: Info) -> list[Annotated[Tag, strawberry.lazy("graph.tags.types")]]:
        return _tag_views(info, self.selected_tag_ids)  # type: ignore[attr-defined]

    @strawberry.field
    def added_tags(self, info: Info) -> list[Annotated[Tag, strawberry.lazy("graph.tags.types")]]:
        return _tag_views(info, self.added_tag_ids)  # type: ignore[attr-defined]

    @strawberry.field
    def removed_tags(self, info: Info) -> list[Annotated[Tag, strawberry.lazy("graph.tags.types")]]:
        return _tag_views(info, self.removed_tag_ids)  # type: ignore[attr-defined]


def _tag_views(info: Info, tag_ids: list[int]) -> list:
    views = visible_tags(info.context)
    return [views[pk] for pk in tag_ids if pk in views]


@strawberry.type(description="A season ticket held for a period (open end allowed).")
class Subscription:
    name: str
    valid_from: date
    valid_until: date | None
    source: str | None
    external_id: str | None


@strawberry.type(description="What a person bought, over all their orders.")
class PurchaseSummary:
    orders: int
    tickets: int
    revenue: Decimal
    last_purchase_at: datetime | None


@strawberry.type(description='A customer ("relatie") of the account.')
class Person(Node):
    email: str | None
    first_name: str | None
    last_name: str | None
    gender: Gender | None
    birth_date: date | None
    language: str | None
    address: str | None
    postal_code: str | None
    city: str | None
    country: str | None
    latitude: float | None
    longitude: float | None
    custom_fields: JSON = strawberry.field(description="Values of the account's custom fields, by key.")
    created_at: datetime = strawberry.field(description="Added on.")
    updated_at: datetime

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Person", self.id))

    @strawberry.field(description="Completed years today in the account's time zone; null without a birth date.")
    def age(self, info: Info) -> int | None:
        return people.age(self, info.context.viewer.account.timezone)

    @strawberry.field(description="Ids this person has in source systems (one per source).")
    def external_identities(self, info: Info) -> list[ExternalIdentity]:
        return loader(info.context, IdentitiesByPersonLoader).load(self.id)

    @strawberry.field
    def consents(self, info: Info) -> list[PersonConsent]:
        return loader(info.context, ConsentsByPersonLoader).load(self.id)

    @strawberry.field(description="Consent changes, newest first, every consent type; at most 200 (default 50).")
    def consent_history(self, info: Info, first: int = 50) -> list[ConsentChange]:
        if not 0 <= first <= MAX_HISTORY_PER_PERSON:
            raise InputError.single(ErrorCode.OUT_OF_RANGE, f"first is between 0 and {MAX_HISTORY_PER_PERSON}", "first")
        return sized_loader(info.context, ConsentHistoryByPersonLoader, first).load(self.id)

    @strawberry.field(description="Form submissions, newest first; at most 100 (default 20).")
    def submissions(self, info: Info, first: int = 20) -> list[FormSubmission]:
        if not 0 <= first <= MAX_SUBMISSIONS_PER_PERSON:
            raise InputError.single(
                ErrorCode.OUT_OF_RANGE, f"first is between 0 and {MAX_SUBMISSIONS_PER_PERSON}", "first"
            )
        return sized_loader(info.context, SubmissionsByPersonLoader, first).load(self.id)

    @strawberry.field
    def subscriptions(self, info: Info) -> list[Subscription]:
        return loader(info.context, SubscriptionsByPersonLoader).load(self.id)

    @strawberry.field(description="Newest first, every status; at most 100 (default 20).")
    def orders(self, info: Info, first: int = 20) -> list[Order]:
        if not 0 <= first <= MAX_ORDERS_PER_PERSON:
            raise InputError.single(ErrorCode.OUT_OF_RANGE, f"first is between 0 and {MAX_ORDERS_PER_PERSON}", "first")
        return orders_loader(info.context, first).load(self.id)

    @strawberry.field(description="The person's tags with source, who and when (tags you may not see left out).")
    def tags(self, info: Info) -> list[TagLink]:
        return visible_links(info.context, loader(info.context, TagLinksByPersonLoader).load(self.id))

    @strawberry.field(description="The organisations they are a contact of (module business; empty when off).")
    def organisations(
        self, info: Info
    ) -> list[Annotated[OrganisationMembership, strawberry.lazy("graph.organisations.schema")]]:
        return loader(info.context, OrganisationLinksByPersonLoader).load(self.id)  # type: ignore[return-value]

    @strawberry.field(description="Valid tickets of paid orders only: the figures segments use.")
    def purchases(self, info: Info) -> PurchaseSummary:
        return PurchaseSummary(**loader(info.context, PurchaseSummaryByPersonLoader).load(self.id))

    @strawberry.field(
        description="Interests learnt from the person's interactions, strongest first; at most 100 (default 20). "
        "Module recommendations."
    )
    def interests(
        self, info: Info, first: int = 20
    ) -> list[Annotated[Interest, strawberry.lazy("graph.recommendations.schema")]]:
        from graph.recommendations.schema import interest_of  # noqa: PLC0415

        # The domain checks the module and the size, for every person the request lists at once.
        found = sized_loader(info.context, InterestsByPersonLoader, first).load(self.id)
        return [interest_of(i) for i in found]

    @classmethod
    def is_type_of(cls, obj, info) -> bool:
        return isinstance(obj, (PersonRow, cls))


@strawberry.type
class PersonConnection:
    edges: list[Edge[Person]]
    page_info: PageInfo
    _count: strawberry.Private[object]

    @strawberry.field(description="Number of persons matching the filter (a separate count query).")
    def total_count(self) -> int:
        return self._count()
