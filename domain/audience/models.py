"""The audience change journal (issue 15): which persons' segment-relevant rows each transaction wrote.

Statement triggers (``marquee_audience_changed``, migration 0039) add one row per statement and
account to every write of ``person``, ``person_tag``, ``person_consent``, ``form_submission``,
``subscription``, ``interest_score`` and ``ticket_fact`` (which the purchase triggers keep, so
orders, tickets, events and productions reach it too), and an account-wide row (``person_ids``
NULL) when the account's time zone or custom field definitions change. ``xid`` is the writing
transaction's id: an index built from snapshot S catches up with the rows whose transaction S
does not see (``pg_visible_in_snapshot``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Identity, Index, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel


class AudienceChange(SQLModel, table=True):
    __tablename__ = "audience_change"
    __table_args__ = (Index("ix_audience_change_xid", "account_id", "xid"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    account_id: int = Field(sa_column=Column(BigInteger, ForeignKey("account.id", ondelete="CASCADE"), nullable=False))
    xid: int = Field(
        sa_column=Column(BigInteger, nullable=False, server_default=text("(pg_current_xact_id()::text::bigint)"))
    )
    person_ids: list[int] | None = Field(default=None, sa_column=Column(ARRAY(BigInteger), nullable=True))
    at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()"))
    )
