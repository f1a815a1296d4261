"""Catalogue types: venues, productions, events, consent types."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain.catalog.models import Event as EventRow
from domain.catalog.models import Production as ProductionRow
from domain.catalog.models import Venue as VenueRow
from domain.people.models import ConsentType as ConsentTypeRow
from graph.catalog.loaders import EventsByProductionLoader, ProductionByIdLoader, VenueByIdLoader
from graph.context import Info
from graph.core.ids import to_global_id
from graph.core.loaders import loader
from graph.core.node import Node
from graph.core.pagination import Edge, PageInfo


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

    @classmethod
    def is_type_of(cls, obj, info) -> bool:
        return isinstance(obj, (ProductionRow, cls))


@strawberry.type(description="One performance of a production at a venue.")
class Event(Node):
    starts_at: datetime
    capacity: int | None
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


@strawberry.type(description="A kind of consent persons grant or withdraw (newsletter, post, …).")
class ConsentType(Node):
    key: str
    name: str
    description: str

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


@strawberry.type
class CustomFieldDefinitionConnection:
    edges: list[Edge[CustomFieldDefinition]]
    page_info: PageInfo
