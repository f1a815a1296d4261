"""Acting on a segment: each action (export, label, …) is a job over a stored snapshot of the
segment's members taken when it starts, so a retry acts on the same persons."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, Float, ForeignKeyConstraint, Index, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from domain.base import account_id_field, created_at_field, id_field, timestamp_field


class ActionKind(str, enum.Enum):
    EXPORT = "export"
    LABEL = "label"
    OFFER = "offer"  # an offer e-mail (event or production mode)
    PUSH = "push"  # the members handed to an external tool
    PICKS = "picks"  # each member's personal picks (tips), for an offer e-mail to show


class SegmentAction(SQLModel, table=True):
    """One action on a segment, run by its job (``job_id``): what it was asked (``params``), the
    snapshot's size once taken, and for exports the file it wrote (in the storage folder)."""

    __tablename__ = "segment_action"
    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "job_id"], ["job.account_id", "job.id"], ondelete="CASCADE", name="fk_segment_action_job"
        ),
        # The segment may be deleted while its actions are kept (their snapshots stand on their own).
        ForeignKeyConstraint(
            ["account_id", "segment_id"],
            ["segment.account_id", "segment.id"],
            ondelete="SET NULL (segment_id)",
            name="fk_segment_action_segment",
        ),
        ForeignKeyConstraint(
            ["account_id", "event_id"],
            ["event.account_id", "event.id"],
            ondelete="SET NULL (event_id)",
            name="fk_segment_action_event",
        ),
        ForeignKeyConstraint(
            ["account_id", "production_id"],
            ["production.account_id", "production.id"],
            ondelete="SET NULL (production_id)",
            name="fk_segment_action_production",
        ),
        CheckConstraint("kind in ('export', 'label', 'offer', 'push', 'picks')", name="ck_segment_action_kind"),
        CheckConstraint("mode in ('all', 'event', 'production')", name="ck_segment_action_mode"),
        Index("uq_segment_action_job", "account_id", "job_id", unique=True),
        Index("ix_segment_action_segment", "account_id", "segment_id", "created_at"),
    )

    account_id: int = account_id_field()
    id: int | None = id_field()
    job_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    segment_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    segment_name: str = Field(sa_column=Column(Text, nullable=False))  # as it was named when the action started
    mode: str = Field(default="all", sa_column=Column(Text, nullable=False, server_default="all"))
    event_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    production_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    params: dict = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}"))
    members: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))  # the snapshot's size
    snapshot_at: datetime | None = timestamp_field()
    file: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # relative to the storage folder
    created_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_at: datetime = created_at_field()


class ActionMember(SQLModel, table=True):
    """A person in an action's snapshot (a deleted person leaves it; an erased one stays, anonymous)."""

    __tablename__ = "action_member"
    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "action_id"],
            ["segment_action.account_id", "segment_action.id"],
            ondelete="CASCADE",
            name="fk_action_member_action",
        ),
        ForeignKeyConstraint(
            ["account_id", "person_id"],
            ["person.account_id", "person.id"],
            ondelete="CASCADE",
            name="fk_action_member_person",
        ),
        Index("ix_action_member_person", "account_id", "person_id"),
    )

    account_id: int = account_id_field()
    action_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    person_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))


class MemberPick(SQLModel, table=True):
    """One of a member's personal picks (a picks action's tips, best first): kept with the snapshot,
    so an offer e-mail sent later shows each person what was computed for them."""

    __tablename__ = "member_pick"
    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "action_id", "person_id"],
            ["action_member.account_id", "action_member.action_id", "action_member.person_id"],
            ondelete="CASCADE",
            name="fk_member_pick_member",
        ),
        ForeignKeyConstraint(
            ["account_id", "production_id"],
            ["production.account_id", "production.id"],
            ondelete="CASCADE",
            name="fk_member_pick_production",
        ),
        CheckConstraint("place >= 1", name="ck_member_pick_place"),
    )

    account_id: int = account_id_field()
    action_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    person_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    place: int = Field(sa_column=Column(Integer, primary_key=True, nullable=False))
    production_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    score: float = Field(sa_column=Column(Float, nullable=False))
    reasons: list = Field(
        default_factory=list,
        sa_column=Column(JSONB, nullable=False, server_default="[]"),
        description="[[tag id or null (popular), contribution], ...]",
    )
