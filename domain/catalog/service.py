"""Read access to the catalogue (venues, productions, events) and sales, scoped by account."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import exists, func, select
from sqlmodel import Session

from domain.catalog.facts import PersonStats
from domain import clock
from domain.catalog.models import Event, EventStatus, Order, Production, Subscription, Ticket, Venue
from domain.pagination import Page, cursor_datetime, cursor_int, keyset_page, newest_per_key


def _by_id_page(session: Session, model, account_id: int, *, first, after, where=()) -> Page:
    stmt = select(model, model.id).where(model.account_id == account_id, *where)
    return keyset_page(
        session,
        stmt,
        [model.id],
        descending=False,
        first=first,
        after=after,
        coerce=lambda values: [cursor_int(values[0])],
    )


def list_venues(session: Session, account_id: int, *, first=None, after=None) -> Page[Venue]:
    return _by_id_page(session, Venue, account_id, first=first, after=after)


def delete_venue(session: Session, account_id: int, venue_id: int) -> None:
    """Delete a venue that holds no events and that no segment's distance rule names."""
    from sqlalchemy import delete  # noqa: PLC0415

    from domain.errors import ErrorCode, InputError, not_found  # noqa: PLC0415
    from domain.segments.references import delete_unless_used  # noqa: PLC0415

    if session.execute(select(Venue.id).where(Venue.account_id == account_id, Venue.id == venue_id)).first() is None:
        raise not_found("venue", "id")
    if session.execute(
        select(Event.id).where(Event.account_id == account_id, Event.venue_id == venue_id).limit(1)
    ).first():
        raise InputError.single(ErrorCode.CONFLICT, "events take place at this venue", "id")
    delete_unless_used(
        session,
        account_id,
        "venue",
        venue_id,
        delete(Venue).where(Venue.account_id == account_id, Venue.id == venue_id),
        "id",
    )


def list_productions(
    session: Session,
    account_id: int,
    *,
    search: str | None = None,
    season: str | None = None,
    promoter: str | None = None,
    upcoming: bool | None = None,
    first=None,
    after=None,
) -> Page[Production]:
    where = []
    if upcoming is not None:
        scheduled = exists().where(
            Event.account_id == account_id,
            Event.production_id == Production.id,
            Event.status == EventStatus.SCHEDULED.value,
            Event.starts_at >= clock.now(),
        )
        where.append(scheduled if upcoming else ~scheduled)
    if search:
        where.append(func.lower(Production.title).contains(search.strip().lower(), autoescape=True))
    if season:
        where.append(Production.season == season)
    if promoter:
        where.append(Production.promoter == promoter)
    return _by_id_page(session, Production, account_id, first=first, after=after, where=where)


def list_events(
    session: Session,
    account_id: int,
    *,
    production_id: int | None = None,
    starts_after: datetime | None = None,
    starts_before: datetime | None = None,
    first=None,
    after=None,
) -> Page[Event]:
    keys = [Event.starts_at, Event.id]
    stmt = select(Event, *keys).where(Event.account_id == account_id)
    if production_id is not None:
        stmt = stmt.where(Event.production_id == production_id)
    if starts_after is not None:
        stmt = stmt.where(Event.starts_at >= starts_after)
    if starts_before is not None:
        stmt = stmt.where(Event.starts_at < starts_before)
    return keyset_page(
        session,
        stmt,
        keys,
        descending=False,
        first=first,
        after=after,
        coerce=lambda v: [cursor_datetime(v[0]), cursor_int(v[1])],
    )


def rows_by_id(session: Session, model, account_id: int, ids: list[int]) -> dict[int, object]:
    """The account's rows of ``model`` by id (an erased person answers as absent)."""
    if not ids:
        return {}
    stmt = select(model).where(model.account_id == account_id, model.id.in_(ids))
    if hasattr(model, "erased_at"):
        stmt = stmt.where(model.erased_at.is_(None))
    rows = session.execute(stmt).scalars()
    return {row.id: row for row in rows}


def events_by_production(session: Session, account_id: int, production_ids: list[int]) -> dict[int, list[Event]]:
    out: dict[int, list[Event]] = defaultdict(list)
    if production_ids:
        rows = session.execute(
            select(Event)
            .where(Event.account_id == account_id, Event.production_id.in_(production_ids))
            .order_by(Event.starts_at, Event.id)
        ).scalars()
        for row in rows:
            out[row.production_id].append(row)
    return out


def purchase_summary(session: Session, account_id: int, person_ids: list[int]) -> dict[int, dict]:
    """Orders, tickets, revenue and last purchase per person (valid tickets of paid orders only:
    the figures segments use, kept by the database in ``person_stats``)."""
    if not person_ids:
        return {}
    rows = session.execute(
        select(PersonStats).where(PersonStats.account_id == account_id, PersonStats.person_id.in_(person_ids))
    ).scalars()
    return {
        r.person_id: {
            "orders": r.orders,
            "tickets": r.tickets,
            "revenue": r.revenue,
            "last_purchase_at": r.last_ordered_at,
        }
        for r in rows
    }


MAX_ORDERS_PER_PERSON = 100


def orders_by_person(
    session: Session, account_id: int, person_ids: list[int], *, first: int = 20
) -> dict[int, list[Order]]:
    """Each person's newest ``first`` orders (at most 100), every status, in one statement."""
    first = max(0, min(first, MAX_ORDERS_PER_PERSON))
    return newest_per_key(
        session, Order, Order.person_id, account_id, person_ids, (Order.created_at.desc(), Order.id.desc()), first
    )


def tickets_by_order(session: Session, account_id: int, order_ids: list[int]) -> dict[int, list[Ticket]]:
    out: dict[int, list[Ticket]] = defaultdict(list)
    if order_ids:
        rows = session.execute(
            select(Ticket).where(Ticket.account_id == account_id, Ticket.order_id.in_(order_ids)).order_by(Ticket.id)
        ).scalars()
        for row in rows:
            out[row.order_id].append(row)
    return out


def subscriptions_by_person(session: Session, account_id: int, person_ids: list[int]) -> dict[int, list]:
    out: dict[int, list[Subscription]] = defaultdict(list)
    if person_ids:
        rows = session.execute(
            select(Subscription)
            .where(Subscription.account_id == account_id, Subscription.person_id.in_(person_ids))
            .order_by(Subscription.valid_from)
        ).scalars()
        for row in rows:
            out[row.person_id].append(row)
    return out


__all__ = [
    "list_venues",
    "list_productions",
    "list_events",
    "rows_by_id",
    "events_by_production",
    "purchase_summary",
    "orders_by_person",
    "tickets_by_order",
    "subscriptions_by_person",
]
