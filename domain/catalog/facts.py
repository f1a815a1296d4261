"""Purchase facts derived from orders and tickets, kept current by the database.

``ticket_fact`` repeats, per ticket, what segment conditions filter on (person, event, production,
order time and channel, price, and the local dates of order and event in the account's time zone),
so scoped purchase conditions need no joins. ``person_stats`` holds each buyer's figures over all
tickets, so unscoped purchase conditions read one narrow row per buyer; ``person_season_stats`` the
same per season (the most common scope: a season's 2.7M tickets become 0.5M rows). Statement triggers on
tickets, orders, events and productions (a season changes) refresh the facts of the persons they touch
(see migration 0003);
bulk loads that bypass triggers call ``rebuild_purchase_facts``. Being derived, these tables have
no foreign keys (a deleted person's tickets go, and the ticket trigger removes their facts), which
keeps bulk rebuilds free of per-row checks.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, Column, Date, DateTime, Index, Integer, Numeric, Text
from sqlalchemy import text as sql_text
from sqlmodel import Field, SQLModel


class TicketFact(SQLModel, table=True):
    __tablename__ = "ticket_fact"
    __table_args__ = (
        Index("ix_ticket_fact_person", "account_id", "person_id"),
        Index(
            "ix_ticket_fact_event",
            "account_id",
            "event_id",
            "person_id",
            postgresql_include=["order_id", "price", "order_date", "event_date", "channel"],
        ),
    )

    account_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    ticket_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    person_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    order_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    event_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    production_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    channel: str = Field(sa_column=Column(Text, nullable=False))
    price: Decimal = Field(sa_column=Column(Numeric(10, 2), nullable=False))
    ordered_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    event_starts_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    order_date: date = Field(sa_column=Column(Date, nullable=False), description="local date of the order")
    event_date: date = Field(sa_column=Column(Date, nullable=False), description="local date of the event")


class PersonStats(SQLModel, table=True):
    """A buyer's figures over all their tickets; persons without tickets have no row (all zero)."""

    __tablename__ = "person_stats"
    account_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    person_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    orders: int = Field(sa_column=Column(Integer, nullable=False))
    tickets: int = Field(sa_column=Column(Integer, nullable=False))
    revenue: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    events: int = Field(sa_column=Column(Integer, nullable=False))
    last_ordered_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    last_order_date: date = Field(sa_column=Column(Date, nullable=False))
    has_online: bool = Field(sa_column=Column(Boolean, nullable=False))
    has_box_office: bool = Field(sa_column=Column(Boolean, nullable=False))


class PersonSeasonStats(SQLModel, table=True):
    """A buyer's figures over their tickets for one season's productions (no row: all zero).
    Figures of several seasons add up, except orders: one order may hold tickets of two seasons."""

    __tablename__ = "person_season_stats"
    __table_args__ = (Index("ix_person_season_stats_person", "account_id", "person_id"),)

    account_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    season: str = Field(sa_column=Column(Text, primary_key=True, nullable=False))
    person_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    orders: int = Field(sa_column=Column(Integer, nullable=False))
    tickets: int = Field(sa_column=Column(Integer, nullable=False))
    revenue: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    events: int = Field(sa_column=Column(Integer, nullable=False))
    last_order_date: date = Field(sa_column=Column(Date, nullable=False))
    has_online: bool = Field(sa_column=Column(Boolean, nullable=False))
    has_box_office: bool = Field(sa_column=Column(Boolean, nullable=False))


def rebuild_purchase_facts(connection, account_id: int) -> None:
    """Recompute every purchase fact of an account in a few set-based statements
    (after bulk loads that bypass the triggers, or when the account's time zone changes)."""
    connection.execute(sql_text("SELECT marquee_rebuild_purchase_facts(:a)"), {"a": account_id})
