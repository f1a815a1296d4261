"""Mail: an account's layouts, and the send ledger of offer e-mails (one row per action and person)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKeyConstraint, Index, Integer, Text, text
from sqlmodel import Field, SQLModel

from domain.base import account_id_field, created_at_field, id_field, timestamp_field


class MailLayout(SQLModel, table=True):
    """The frame of an account's mails: HTML (and optionally plain text) Jinja2 templates that place
    ``{{ content }}``, the offer and the unsubscribe link (see domain/mail/render.py)."""

    __tablename__ = "mail_layout"
    __table_args__ = (Index("uq_mail_layout_name", "account_id", text("lower(name)"), unique=True),)

    account_id: int = account_id_field()
    id: int | None = id_field()
    name: str = Field(sa_column=Column(Text, nullable=False))
    html: str = Field(sa_column=Column(Text, nullable=False))
    text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class SendStatus(str, enum.Enum):
    PENDING = "pending"  # in the snapshot, not yet taken by a sender
    CLAIMED = "claimed"  # taken by a sender; the mail system has not accepted it (safe to take again)
    SENDING = "sending"  # handed over: the mail system may have accepted it
    SENT = "sent"  # the mail server accepted it
    SKIPPED = "skipped"  # not sent: ``reason`` says why (no consent at send time, no address)
    FAILED = "failed"  # the mail server refused it for good
    UNKNOWN = "unknown"  # handed over, its answer never recorded: perhaps sent; never sent again


class MailSend(SQLModel, table=True):
    """One person's mail of one offer action: the unique key that makes a send at most once."""

    __tablename__ = "mail_send"
    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "action_id"],
            ["segment_action.account_id", "segment_action.id"],
            ondelete="CASCADE",
            name="fk_mail_send_action",
        ),
        ForeignKeyConstraint(
            ["account_id", "person_id"],
            ["person.account_id", "person.id"],
            ondelete="CASCADE",
            name="fk_mail_send_person",
        ),
        CheckConstraint(
            "status in ('pending', 'claimed', 'sending', 'sent', 'skipped', 'failed', 'unknown')",
            name="ck_mail_send_status",
        ),
        Index(
            "ix_mail_send_open",
            "account_id",
            "action_id",
            "status",
            "person_id",
            postgresql_where=text("status in ('pending', 'claimed', 'sending')"),
        ),
        Index("ix_mail_send_person", "account_id", "person_id"),
    )

    account_id: int = account_id_field()
    action_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    person_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    status: str = Field(default="pending", sa_column=Column(Text, nullable=False, server_default="pending"))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    email: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # the address it went to
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    claimed_by: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # the sender's run
    updated_at: datetime = created_at_field()
    sent_at: datetime | None = timestamp_field()


class AudiencePushBatch(SQLModel, table=True):
    """One batch of an audience push: its members are the snapshot's persons with ids from
    ``first_person_id`` to ``last_person_id``; ``delivered_at`` once the pusher accepted it."""

    __tablename__ = "audience_push_batch"
    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "action_id"],
            ["segment_action.account_id", "segment_action.id"],
            ondelete="CASCADE",
            name="fk_audience_push_batch_action",
        ),
    )

    account_id: int = account_id_field()
    action_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    batch: int = Field(sa_column=Column(Integer, primary_key=True, nullable=False))
    first_person_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_person_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    members: int = Field(sa_column=Column(Integer, nullable=False))
    pushed: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    answer: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    delivered_at: datetime | None = timestamp_field()
