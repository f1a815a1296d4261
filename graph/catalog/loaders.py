"""Loaders for catalogue fields."""

from __future__ import annotations

from domain.catalog import service as catalog
from domain.catalog.models import Event, Production, Venue
from domain.people.consents import list_consent_types
from domain.tags import service as tags
from domain.tags.service import TargetKind
from graph.core.loaders import BatchLoader, loader


def VenueByIdLoader(ctx) -> BatchLoader:
    return BatchLoader(lambda ids: catalog.rows_by_id(ctx.session, Venue, ctx.viewer.account_id, ids))


def ProductionByIdLoader(ctx) -> BatchLoader:
    """Productions; the per-production lists of those loaded are announced (one statement each)."""

    def fetch(ids):
        found = catalog.rows_by_id(ctx.session, Production, ctx.viewer.account_id, ids)
        for follower in (TagLinksByProductionLoader, EventsByProductionLoader):
            loader(ctx, follower).want(found)
        return found

    return BatchLoader(fetch)


def EventByIdLoader(ctx) -> BatchLoader:
    """Events; their productions and venues are announced, so a list of tickets costs one
    statement per kind of row, not one per ticket."""

    def fetch(ids):
        found = catalog.rows_by_id(ctx.session, Event, ctx.viewer.account_id, ids)
        loader(ctx, ProductionByIdLoader).want(e.production_id for e in found.values())  # type: ignore[attr-defined]
        loader(ctx, VenueByIdLoader).want(e.venue_id for e in found.values())  # type: ignore[attr-defined]
        return found

    return BatchLoader(fetch)


def TagLinksByProductionLoader(ctx) -> BatchLoader:
    return BatchLoader(
        lambda ids: tags.links_for_targets(ctx.session, ctx.viewer.account_id, TargetKind.PRODUCTION, ids),
        default=list,
    )


def TicketsByOrderLoader(ctx) -> BatchLoader:
    """Tickets of the orders loaded so far (announced by the orders loader); their events are
    announced in turn, so a page of persons with orders, tickets and events is four statements."""

    def fetch(ids):
        found = catalog.tickets_by_order(ctx.session, ctx.viewer.account_id, ids)
        loader(ctx, EventByIdLoader).want(t.event_id for ts in found.values() for t in ts)
        return found

    return BatchLoader(fetch, default=list)


def OrdersByPersonLoader(ctx, first: int) -> BatchLoader:
    def fetch(ids):
        found = catalog.orders_by_person(ctx.session, ctx.viewer.account_id, ids, first=first)
        loader(ctx, TicketsByOrderLoader).want(o.id for os in found.values() for o in os)
        return found

    return BatchLoader(fetch, default=list)


def EventsByProductionLoader(ctx) -> BatchLoader:
    return BatchLoader(lambda ids: catalog.events_by_production(ctx.session, ctx.viewer.account_id, ids), default=list)


def ConsentTypeByIdLoader(ctx) -> BatchLoader:
    """Consent types are few per account: one query loads them all."""

    def fetch(ids):
        return {c.id: c for c in list_consent_types(ctx.session, ctx.viewer.account_id)}

    return BatchLoader(fetch)
