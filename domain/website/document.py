"""The account's website document: what a venue's website shows, in one JSON object.

Public tags (active and "show on website"), and the upcoming productions (at least one scheduled
event from now on, nearest first, at most ``MAX_PRODUCTIONS``) with their public tags, their
upcoming events (cancelled ones too, with their status) and the venues of those events. It holds
no time of its own, so the same data always gives the same bytes and the same ETag: readers
revalidate cheaply (If-None-Match) and exporters publish only real changes.

Ids are the API's ids (``id_of(type, pk)``): the website key finds productions and events by them
through GraphQL (``production(id:)``, ``event(id:)``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import and_, exists, func, select
from sqlmodel import Session

from domain import clock
from domain.accounts.models import Account
from domain.catalog.models import Event, EventStatus, Production, Venue
from domain.tags.models import ProductionTag, Tag, TagCategory

FORMAT = "marquee.website/1"
MAX_PRODUCTIONS = 1000

IdOf = Callable[[str, int], str]


def _when(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def website_document(session: Session, account_id: int, id_of: IdOf, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or clock.now()
    account = session.get(Account, account_id)
    if account is None:
        raise LookupError(f"account {account_id} does not exist")
    public = select(Tag).where(Tag.account_id == account_id, Tag.active, Tag.show_on_website)
    tags = list(session.execute(public.order_by(Tag.position, Tag.label, Tag.id)).scalars())
    public_ids = {t.id for t in tags}
    categories: dict[int, str] = dict(
        session.execute(select(TagCategory.id, TagCategory.name).where(TagCategory.account_id == account_id)).all()
    )

    upcoming = and_(Event.account_id == account_id, Event.starts_at >= now)
    first_show = (
        select(Event.production_id, func.min(Event.starts_at).label("first"))
        .where(upcoming, Event.status == EventStatus.SCHEDULED.value)
        .group_by(Event.production_id)
        .subquery()
    )
    rows = session.execute(
        select(Production, first_show.c.first)
        .join(first_show, first_show.c.production_id == Production.id)
        .where(Production.account_id == account_id)
        .order_by(first_show.c.first, Production.id)
        .limit(MAX_PRODUCTIONS + 1)
    ).all()
    truncated = len(rows) > MAX_PRODUCTIONS
    productions = [p for p, _first in rows[:MAX_PRODUCTIONS]]
    production_ids = [p.id for p in productions]

    events = (
        list(
            session.execute(
                select(Event)
                .where(upcoming, Event.production_id.in_(production_ids))
                .order_by(Event.starts_at, Event.id)
            ).scalars()
        )
        if production_ids
        else []
    )
    venue_ids = sorted({e.venue_id for e in events})
    venues = (
        list(
            session.execute(
                select(Venue)
                .where(Venue.account_id == account_id, Venue.id.in_(venue_ids))
                .order_by(Venue.name, Venue.id)
            ).scalars()
        )
        if venue_ids
        else []
    )
    links = (
        session.execute(
            select(ProductionTag.production_id, ProductionTag.tag_id)
            .where(
                ProductionTag.account_id == account_id,
                ProductionTag.production_id.in_(production_ids),
                exists().where(
                    Tag.account_id == account_id, Tag.id == ProductionTag.tag_id, Tag.active, Tag.show_on_website
                ),
            )
            .distinct()
            .order_by(ProductionTag.production_id, ProductionTag.tag_id)
        ).all()
        if production_ids
        else []
    )

    tags_of: dict[int, list[str]] = {}
    for production_id, tag_id in links:
        tags_of.setdefault(production_id, []).append(id_of("Tag", tag_id))
    events_of: dict[int, list[dict]] = {}
    for e in events:
        events_of.setdefault(e.production_id, []).append(
            {
                "id": id_of("Event", e.id),
                "starts_at": _when(e.starts_at),
                "status": e.status,
                "venue": id_of("Venue", e.venue_id),
                "source": e.source,
                "external_id": e.external_id,
            }
        )
    return {
        "format": FORMAT,
        "account": {"name": account.name, "slug": account.slug},
        "tags": [
            {
                "id": id_of("Tag", t.id),
                "label": t.label,
                "description": t.description,
                "position": t.position,
                "parent": id_of("Tag", t.parent_id) if t.parent_id in public_ids else None,
                "category": categories.get(t.category_id),
            }
            for t in tags
        ],
        "venues": [
            {
                "id": id_of("Venue", v.id),
                "name": v.name,
                "address": v.address,
                "city": v.city,
                "latitude": v.latitude,
                "longitude": v.longitude,
            }
            for v in venues
        ],
        "productions": [
            {
                "id": id_of("Production", p.id),
                "title": p.title,
                "promoter": p.promoter,
                "season": p.season,
                "description": p.description,
                "source": p.source,
                "external_id": p.external_id,
                "tags": tags_of.get(p.id, []),
                "events": events_of.get(p.id, []),
            }
            for p in productions
        ],
        "truncated": truncated,
    }


def encode(document: dict[str, Any]) -> tuple[bytes, str]:
    """The document's bytes and its strong ETag (quoted, as HTTP sends it)."""
    body = orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
