"""Catalogue queries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from domain.catalog import service as catalog
from domain.catalog.models import Event as EventRow
from domain.catalog.models import Production as ProductionRow
from domain.pagination import Page
from domain.people.consents import consent_type_page
from domain.people.service import custom_field_page
from graph.catalog.types import (
    ConsentTypeConnection,
    CustomFieldDefinitionConnection,
    Event,
    EventConnection,
    Production,
    ProductionConnection,
    VenueConnection,
)
from graph.context import Info
from graph.core.ids import pk_or_none
from graph.core.pagination import FIRST_DESCRIPTION, edges, page_info
from graph.core.permissions import CanReadCatalog, IsStaff


@strawberry.type
class CatalogQuery:
    @strawberry.field(
        permission_classes=[CanReadCatalog],
        description="Productions (staff, the website key, connectors with catalog:read). " + FIRST_DESCRIPTION,
    )
    def productions(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        search: str | None = None,
        season: str | None = None,
        promoter: str | None = None,
        upcoming: Annotated[
            bool | None,
            strawberry.argument(
                description="true: only productions with a scheduled event from now on; false: only those without."
            ),
        ] = None,
    ) -> ProductionConnection:
        page = catalog.list_productions(
            info.context.session,
            info.context.viewer.account_id,
            search=search,
            season=season,
            promoter=promoter,
            upcoming=upcoming,
            first=first,
            after=after,
        )
        return ProductionConnection(edges=edges(page), page_info=page_info(page))

    @strawberry.field(permission_classes=[CanReadCatalog])
    def production(self, info: Info, id: strawberry.ID) -> Production | None:
        pk = pk_or_none(id, "Production")
        rows = catalog.rows_by_id(
            info.context.session, ProductionRow, info.context.viewer.account_id, [pk] if pk else []
        )
        return rows.get(pk)

    @strawberry.field(permission_classes=[CanReadCatalog], description="Events, earliest first. " + FIRST_DESCRIPTION)
    def events(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        production_id: strawberry.ID | None = None,
        starts_after: datetime | None = None,
        starts_before: datetime | None = None,
    ) -> EventConnection:
        production_pk = None
        if production_id is not None:
            production_pk = pk_or_none(production_id, "Production")
            if production_pk is None:
                return EventConnection(edges=[], page_info=page_info(Page([], [], False, False)))
        page = catalog.list_events(
            info.context.session,
            info.context.viewer.account_id,
            production_id=production_pk,
            starts_after=starts_after,
            starts_before=starts_before,
            first=first,
            after=after,
        )
        return EventConnection(edges=edges(page), page_info=page_info(page))

    @strawberry.field(permission_classes=[CanReadCatalog])
    def event(self, info: Info, id: strawberry.ID) -> Event | None:
        pk = pk_or_none(id, "Event")
        rows = catalog.rows_by_id(info.context.session, EventRow, info.context.viewer.account_id, [pk] if pk else [])
        return rows.get(pk)

    @strawberry.field(permission_classes=[CanReadCatalog], description="Venues. " + FIRST_DESCRIPTION)
    def venues(self, info: Info, first: int | None = None, after: str | None = None) -> VenueConnection:
        page = catalog.list_venues(info.context.session, info.context.viewer.account_id, first=first, after=after)
        return VenueConnection(edges=edges(page), page_info=page_info(page))

    @strawberry.field(permission_classes=[IsStaff], description="The account's consent types. " + FIRST_DESCRIPTION)
    def consent_types(self, info: Info, first: int | None = None, after: str | None = None) -> ConsentTypeConnection:
        page = consent_type_page(info.context.session, info.context.viewer.account_id, first=first, after=after)
        return ConsentTypeConnection(edges=edges(page), page_info=page_info(page))

    @strawberry.field(
        permission_classes=[IsStaff],
        description="The account's custom fields (what persons' customFields may hold), by key. " + FIRST_DESCRIPTION,
    )
    def custom_field_definitions(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> CustomFieldDefinitionConnection:
        page = custom_field_page(info.context.session, info.context.viewer.account_id, first=first, after=after)
        return CustomFieldDefinitionConnection(edges=edges(page), page_info=page_info(page))
