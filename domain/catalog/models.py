"""Catalogue and sales: venues, productions, events, orders, tickets, subscriptions."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Index,
    Numeric,
    Text,
)
from sqlmodel import Field, SQLModel

from domain.base import account_id_field, account_key_field, created_at_field, feed_digest_field, id_field


class Channel(str, enum.Enum):
    ONLINE = "online"
    BOX_OFFICE = "box_office"


class EventStatus(str, enum.Enum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class OrderStatus(str, enum.Enum):
    """Only ``paid`` orders count in purchase figures."""

    PENDING = "pending"
    PAID = "paid"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class TicketStatus(str, enum.Enum):
    """Only ``valid`` tickets (of paid orders) count in purchase figures."""

    VALID = "valid"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


def _status_check(table: str, statuses: type[enum.Enum]) -> CheckConstraint:
    values = ", ".join(f"'{s.value}'" for s in statuses)
    return CheckConstraint(f"status in ({values})", name=f"ck_{table}_status")


def _external_key(table: str) -> Index:
    return Index(
        f"uq_{table}_external",
        "account_id",
        "source",
        "external_id",
        unique=True,
        postgresql_where="external_id is not null",
    )


class Venue(SQLModel, table=True):
    __tablename__ = "venue"
    __table_args__ = (_external_key("venue"),)

    account_id: int = account_id_field()
    id: int | None = id_field()
    name: str = Field(sa_column=Column(Text, nullable=False))
    address: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    city: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    latitude: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    longitude: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    source: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    external_id: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    feed_digest: bytes | None = feed_digest_field()
    created_at: datetime = created_at_field()


class Production(SQLModel, table=True):
    __tablename__ = "production"
    __table_args__ = (
        _external_key("production"),
        Index("ix_production_season", "account_id", "season"),
        Index("ix_production_promoter", "account_id", "promoter"),
    )

    account_id: int = account_id_field()
    id: int | None = id_field()
    title: str = Field(sa_column=Column(Text, nullable=False))
    promoter: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    season: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    source: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    external_id: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    feed_digest: bytes | None = feed_digest_field()
    created_at: datetime = created_at_field()


class Event(SQLModel, table=True):
    """One performance of a production, at a venue."""

    __tablename__ = "event"
    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "production_id"],
            ["production.account_id", "production.id"],
            ondelete="CASCADE",
            name="fk_event_production",
        ),
        ForeignKeyConstraint(["account_id", "venue_id"], ["venue.account_id", "venue.id"], name="fk_event_venue"),
        _external_key("event"),
        _status_check("event", EventStatus),
        Index("ix_event_production", "account_id", "production_id", "starts_at"),
        Index("ix_event_starts_at", "account_id", "starts_at"),
    )

    account_id: int = account_id_field()
    id: int | None = id_field()
    production_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    venue_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    starts_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    capacity: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    status: str = Field(default="scheduled", sa_column=Column(Text, nullable=False, server_default="scheduled"))
    source: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    external_id: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    feed_digest: bytes | None = feed_digest_field()
    created_at: datetime = created_at_field()


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("channel in ('online', 'box_office')", name="ck_orders_channel"),
        ForeignKeyConstraint(
            ["account_id", "person_id"], ["person.account_id", "person.id"], ondelete="CASCADE", name="fk_orders_person"
        ),
        _external_key("orders"),
        _status_check("orders", OrderStatus),
        Index("ix_orders_person", "account_id", "person_id", "created_at"),
    )

    account_id: int = account_key_field()
    id: int | None = id_field()
    person_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    channel: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="paid", sa_column=Column(Text, nullable=False, server_default="paid"))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    source: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    external_id: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    feed_digest: bytes | None = feed_digest_field()


class Ticket(SQLModel, table=True):
    """One order line: a seat for one event at a price. ``person_id`` repeats the order's."""

    __tablename__ = "ticket"
    __table_args__ = (
        CheckConstraint("price >= 0", name="ck_ticket_price"),
        ForeignKeyConstraint(
            ["account_id", "order_id"], ["orders.account_id", "orders.id"], ondelete="CASCADE", name="fk_ticket_order"
        ),
        ForeignKeyConstraint(["account_id", "event_id"], ["event.account_id", "event.id"], name="fk_ticket_event"),
        ForeignKeyConstraint(
            ["account_id", "person_id"], ["person.account_id", "person.id"], ondelete="CASCADE", name="fk_ticket_person"
        ),
        _external_key("ticket"),
        _status_check("ticket", TicketStatus),
        Index("ix_ticket_order", "account_id", "order_id"),
        Index("ix_ticket_event", "account_id", "event_id"),
        Index("ix_ticket_person", "account_id", "person_id"),
    )

    account_id: int = account_key_field()
    id: int | None = id_field()
    order_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    event_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    person_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    price: Decimal = Field(sa_column=Column(Numeric(10, 2), nullable=False))
    status: str = Field(default="valid", sa_column=Column(Text, nullable=False, server_default="valid"))
    scanned_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True), description="attendance"
    )
    source: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    external_id: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Subscription(SQLModel, table=True):
    """A season ticket ("abonnement") held by a person for a period (open end allowed)."""

    __tablename__ = "subscription"
    __table_args__ = (
        CheckConstraint("valid_until is null or valid_until >= valid_from", name="ck_subscription_period"),
        ForeignKeyConstraint(
            ["account_id", "person_id"],
            ["person.account_id", "person.id"],
            ondelete="CASCADE",
            name="fk_subscription_person",
        ),
        Index("ix_subscription_person", "account_id", "person_id"),
        _external_key("subscription"),
    )

    account_id: int = account_key_field()
    id: int | None = id_field()
    person_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    name: str = Field(sa_column=Column(Text, nullable=False))
    valid_from: date = Field(sa_column=Column(Date, nullable=False))
    valid_until: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    source: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    external_id: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    feed_digest: bytes | None = feed_digest_field()
    created_at: datetime = created_at_field()
