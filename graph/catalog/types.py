"""Catalogue types: venues, productions, events, consent types."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from domain.catalog import models as catalog_models
from domain.catalog.models import Event as EventRow
from domain.catalog.models import Production as ProductionRow
from domain.catalog.models import Venue as VenueRow
from domain.people.models import ConsentType as ConsentTypeRow
from graph.catalog.loaders import (
    EventByIdLoader,
    EventsByProductionLoader,
    ProductionByIdLoader,
    TagLinksByProductionLoader,
    VenueByIdLoader,
)
from domain.viewer import ViewerKind
from graph.context import Info
from graph.core.ids import to_global_id
from graph.core.loaders import loader
from graph.core.node import Node
from graph.core.pagination import Edge, PageInfo
from graph.tags.enums import TagSource

if TYPE_CHECKING:
    from graph.tags.types import Tag

EventStatus = strawberry.enum(catalog_models.EventStatus, name="EventStatus")
OrderStatus = strawberry.enum(
    catalog_models.OrderStatus, name="OrderStatus", description="Only paid orders count in purchase figures."
)
TicketStatus = strawberry.enum(
    catalog_models.TicketStatus, name="TicketStatus", description="Only valid tickets count in purchase figures."
)
Channel = strawberry.enum(catalog_models.Channel, name="OrderChannel")


@strawberry.type(description="One link of a tag to a person or production: by whom, from which source, when.")
class TagLink:
    source: TagSource
    created_at: datetime

    @strawberry.field(description="Who attached it: a staff user, a feed's source, a form (staff see it; others null).")
    def actor(self, info: Info) -> str | None:
        viewer = info.context.viewer
        return self.actor if viewer is not None and viewer.kind is ViewerKind.STAFF else None  # type: ignore[attr-defined]

    @strawberry.field
    def tag(self, info: Info) -> Annotated[Tag, strawberry.lazy("graph.tags.types")]:
        return visible_tags(info.context)[self.tag_id]  # type: ignore[attr-defined]


def visible_tags(ctx) -> dict:
    from graph.tags.views import viewer_tag_views  # noqa: PLC0415  (tag types import catalogue types)

    return viewer_tag_views(ctx)


def visible_links(ctx, links: list) -> list:
    """The links whose tag the viewer may see."""
    views = visible_tags(ctx)
    return [link for link in links if link.tag_id in views]


@strawberry.type(description="A place where events happen.")
class Venue(Node):
    name: str
    address: str | None
    city: str | None
    latitude: float | None
    longitude: float | None

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Venue", self.id))

    @classmethod
    def is_type_of(cls, obj, info) -> bool:
        return isinstance(obj, (VenueRow, cls))


@strawberry.type(description='A show ("voorstelling") with its performances.')
class Production(Node):
    title: str
    promoter: str | None
    season: str | None
    description: str | None
    source: str | None = strawberry.field(description="The system the production came from, if any.")
    external_id: str | None

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Production", self.id))

    @strawberry.field(description="Performances, earliest first.")
    def events(self, info: Info) -> list[Event]:
        return loader(info.context, EventsByProductionLoader).load(self.id)

    @strawberry.field(description="The production's tags with their source (genres, labels, free tags).")
    def tags(self, info: Info) -> list[TagLink]:
        return visible_links(info.context, loader(info.context, TagLinksByProductionLoader).load(self.id))

    @classmethod
    def is_type_of(cls, obj, info) -> bool:
        return isinstance(obj, (ProductionRow, cls))


@strawberry.type(description="One performance of a production at a venue.")
class Event(Node):
    starts_at: datetime
    capacity: int | None
    status: EventStatus
    source: str | None
    external_id: str | None

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Event", self.id))

    @strawberry.field
    def production(self, info: Info) -> Production:
        return loader(info.context, ProductionByIdLoader).load(self.production_id)

    @strawberry.field
    def venue(self, info: Info) -> Venue:
        return loader(info.context, VenueByIdLoader).load(self.venue_id)

    @classmethod
    def is_type_of(cls, obj, info) -> bool:
        return isinstance(obj, (EventRow, cls))


@strawberry.type(description="One seat for one event at a price.")
class Ticket:
    price: Decimal
    status: TicketStatus
    scanned_at: datetime | None = strawberry.field(description="When it was scanned at the door (attendance).")
    source: str | None
    external_id: str | None

    @strawberry.field
    def event(self, info: Info) -> Event:
        return loader(info.context, EventByIdLoader).load(self.event_id)  # type: ignore[attr-defined]


@strawberry.type(description="A person's purchase: its tickets, channel and status.")
class Order:
    created_at: datetime
    channel: Channel
    status: OrderStatus
    source: str | None
    external_id: str | None

    @strawberry.field
    def tickets(self, info: Info) -> list[Ticket]:
        from graph.catalog.loaders import TicketsByOrderLoader  # noqa: PLC0415

        return loader(info.context, TicketsByOrderLoader).load(self.id)  # type: ignore[attr-defined]


@strawberry.type(description="A kind of consent persons grant or withdraw (newsletter, post, …).")
class ConsentType(Node):
    key: str
    name: str
    description: str
    retired_at: datetime | None = strawberry.field(
        description="Set: no longer asked (not on the preference centre, not in new rules); given states stay."
    )

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("ConsentType", self.id))

    @classmethod
    def is_type_of(cls, obj, info) -> bool:
        return isinstance(obj, (ConsentTypeRow, cls))


@strawberry.type
class VenueConnection:
    edges: list[Edge[Venue]]
    page_info: PageInfo


@strawberry.type
class ProductionConnection:
    edges: list[Edge[Production]]
    page_info: PageInfo


@strawberry.type
class EventConnection:
    edges: list[Edge[Event]]
    page_info: PageInfo


@strawberry.type
class ConsentTypeConnection:
    edges: list[Edge[ConsentType]]
    page_info: PageInfo


@strawberry.type(description="A field the account keeps on persons beside the standard ones.")
class CustomFieldDefinition:
    key: str
    label: str
    type: str = strawberry.field(description="text, number, date, boolean or choice.")
    choices: list[str] = strawberry.field(description="The allowed values of a choice field.")
    description: str
    retired_at: datetime | None = strawberry.field(
        description="Set: no longer written, tested by new rules or exported; persons' values stay."
    )


@strawberry.type
class CustomFieldDefinitionConnection:
    edges: list[Edge[CustomFieldDefinition]]
    page_info: PageInfo
