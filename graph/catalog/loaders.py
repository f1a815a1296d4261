"""Loaders for catalogue fields."""

from __future__ import annotations

from domain.catalog import service as catalog
from domain.catalog.models import Production, Venue
from domain.people.consents import list_consent_types
from graph.core.loaders import BatchLoader


def VenueByIdLoader(ctx) -> BatchLoader:
    return BatchLoader(lambda ids: catalog.rows_by_id(ctx.session, Venue, ctx.viewer.account_id, ids))


def ProductionByIdLoader(ctx) -> BatchLoader:
    return BatchLoader(lambda ids: catalog.rows_by_id(ctx.session, Production, ctx.viewer.account_id, ids))


def EventsByProductionLoader(ctx) -> BatchLoader:
    return BatchLoader(lambda ids: catalog.events_by_production(ctx.session, ctx.viewer.account_id, ids), default=list)


def ConsentTypeByIdLoader(ctx) -> BatchLoader:
    """Consent types are few per account: one query loads them all."""

    def fetch(ids):
        return {c.id: c for c in list_consent_types(ctx.session, ctx.viewer.account_id)}

    return BatchLoader(fetch)
