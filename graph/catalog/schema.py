"""Catalogue queries."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain.catalog import service as catalog
from domain.catalog.models import Event as EventRow
from domain.catalog.models import Production as ProductionRow
from domain.pagination import Page, encode_cursor
from domain.people.consents import list_consent_types
from graph.catalog.types import (ConsentTypeConnection, Event, EventConnection, Production,
                                 ProductionConnection, VenueConnection)
from graph.context import Info
from graph.core.ids import pk_or_none
from graph.core.pagination import FIRST_DESCRIPTION, edges, page_info
from graph.core.permissions import IsStaff


@strawberry.type
class CatalogQuery:
    @strawberry.field(permission_classes=[IsStaff], description="Productions. " + FIRST_DESCRIPTION)
    def productions(self, info: Info, first: int | None = None, after: str | None = None,
                    search: str | None = None, season: str | None = None,
                    promoter: str | None = None) -> ProductionConnection:
        page = catalog.list_productions(info.context.session, info.context.viewer.account_id, search=search,
                                        season=season, promoter=promoter, first=first, after=after)
        return ProductionConnection(edges=edges(page), page_info=page_info(page))

    @strawberry.field(permission_classes=[IsStaff])
    def production(self, info: Info, id: strawberry.ID) -> Production | None:
        pk = pk_or_none(id, "Production")
        rows = catalog.rows_by_id(info.context.session, ProductionRow, info.context.viewer.account_id,
                                  [pk] if pk else [])
        return rows.get(pk)

    @strawberry.field(permission_classes=[IsStaff], description="Events, earliest first. " + FIRST_DESCRIPTION)
    def events(self, info: Info, first: int | None = None, after: str | None = None,
               production_id: strawberry.ID | None = None, starts_after: datetime | None = None,
               starts_before: datetime | None = None) -> EventConnection:
        production_pk = None
        if production_id is not None:
            production_pk = pk_or_none(production_id, "Production")
            if production_pk is None:
                return EventConnection(edges=[], page_info=page_info(Page([], [], False, False)))
        page = catalog.list_events(info.context.session, info.context.viewer.account_id,
                                   production_id=production_pk, starts_after=starts_after,
                                   starts_before=starts_before, first=first, after=after)
        return EventConnection(edges=edges(page), page_info=page_info(page))

    @strawberry.field(permission_classes=[IsStaff])
    def event(self, info: Info, id: strawberry.ID) -> Event | None:
        pk = pk_or_none(id, "Event")
        rows = catalog.rows_by_id(info.context.session, EventRow, info.context.viewer.account_id,
                                  [pk] if pk else [])
        return rows.get(pk)

    @strawberry.field(permission_classes=[IsStaff], description="Venues. " + FIRST_DESCRIPTION)
    def venues(self, info: Info, first: int | None = None, after: str | None = None) -> VenueConnection:
        page = catalog.list_venues(info.context.session, info.context.viewer.account_id, first=first, after=after)
        return VenueConnection(edges=edges(page), page_info=page_info(page))

    @strawberry.field(permission_classes=[IsStaff], description="The account's consent types (few; all in one page).")
    def consent_types(self, info: Info) -> ConsentTypeConnection:
        rows = list_consent_types(info.context.session, info.context.viewer.account_id)
        page = Page(items=rows, cursors=[encode_cursor([r.id]) for r in rows], has_next_page=False,
                    has_previous_page=False)
        return ConsentTypeConnection(edges=edges(page), page_info=page_info(page))
