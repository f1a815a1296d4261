"""Person types."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry
from strawberry.scalars import JSON

from domain.catalog.service import MAX_ORDERS_PER_PERSON
from domain.errors import ErrorCode, InputError
from domain.people import service as people
from domain.people.models import Gender as GenderEnum
from domain.people.models import Person as PersonRow
from graph.catalog.loaders import ConsentTypeByIdLoader
from graph.catalog.types import ConsentType, Order, TagLink, visible_links
from graph.context import Info
from graph.core.ids import to_global_id
from graph.core.node import Node
from graph.core.pagination import Edge, PageInfo
from graph.people.loaders import (
    ConsentsByPersonLoader,
    IdentitiesByPersonLoader,
    PurchaseSummaryByPersonLoader,
    SubscriptionsByPersonLoader,
    TagLinksByPersonLoader,
    orders_loader,
)
from graph.core.loaders import loader

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

    @strawberry.field(description="Valid tickets of paid orders only: the figures segments use.")
    def purchases(self, info: Info) -> PurchaseSummary:
        return PurchaseSummary(**loader(info.context, PurchaseSummaryByPersonLoader).load(self.id))

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
