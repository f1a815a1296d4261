"""Interactions (SPEC 6): what a person did that says something about their interests. Clicks on
tracked links and opens of offer e-mails (issue 12), web page visits; scoring reads them (issue 13)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, ForeignKeyConstraint, Index, Text
from sqlmodel import Field, SQLModel

from domain.base import account_key_field, created_at_field, id_field


class InteractionKind(str, enum.Enum):
    """The kinds stored here. Purchases, attendance and preference choices are read from tickets
    and the person's own tag links (``domain.recommendations.scoring``), not copied in."""

    CLICK = "click"
    OPEN = "open"
    VISIT = "visit"


class Interaction(SQLModel, table=True):
    """One interaction, once: ``idempotency_key`` is unique per account, so the same one delivered
    twice (a mail client loading the pixel again, a link scanner) counts once."""

    __tablename__ = "interaction"
    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "person_id"],
            ["person.account_id", "person.id"],
            ondelete="CASCADE",
            name="fk_interaction_person",
        ),
        ForeignKeyConstraint(
            ["account_id", "action_id"],
            ["segment_action.account_id", "segment_action.id"],
            ondelete="SET NULL (action_id)",
            name="fk_interaction_action",
        ),
        ForeignKeyConstraint(
            ["account_id", "production_id"],
            ["production.account_id", "production.id"],
            ondelete="SET NULL (production_id)",
            name="fk_interaction_production",
        ),
        ForeignKeyConstraint(
            ["account_id", "event_id"],
            ["event.account_id", "event.id"],
            ondelete="SET NULL (event_id)",
            name="fk_interaction_event",
        ),
        ForeignKeyConstraint(
            ["account_id", "tag_id"],
            ["tag.account_id", "tag.id"],
            ondelete="SET NULL (tag_id)",
            name="fk_interaction_tag",
        ),
        CheckConstraint("kind in ('click', 'open', 'visit')", name="ck_interaction_kind"),
        Index("uq_interaction_key", "account_id", "idempotency_key", unique=True),
        Index("ix_interaction_person", "account_id", "person_id", "occurred_at"),
    )

    account_id: int = account_key_field()
    id: int | None = id_field()
    person_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    occurred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    action_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    production_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    event_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    tag_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    idempotency_key: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = created_at_field()
