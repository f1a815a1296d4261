"""The audit trail: one append-only row per staff mutation, imported feed, send and privacy
request (who, when, what, on which ids, from which request). The database refuses to change or
delete a row (``marquee_audit_entry_append_only``) but with its account."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKeyConstraint, Index, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from domain.base import account_id_field, created_at_field, id_field, jsonb_field


class AuditOutcome(str, enum.Enum):
    DONE = "done"
    REFUSED = "refused"  # bad input: nothing was written
    FAILED = "failed"  # a job that failed for good


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "staff_user_id"],
            ["staff_user.account_id", "staff_user.id"],
            name="fk_audit_entry_staff_user",
        ),
        CheckConstraint("outcome in ('done', 'refused', 'failed')", name="ck_audit_entry_outcome"),
        CheckConstraint("actor in ('staff', 'person', 'website', 'connector', 'worker')", name="ck_audit_entry_actor"),
        Index("ix_audit_entry_at", "account_id", text("id DESC")),
        Index("ix_audit_entry_action", "account_id", "action", text("id DESC")),
        Index("ix_audit_entry_targets", "targets", postgresql_using="gin"),
    )

    account_id: int = account_id_field()
    id: int | None = id_field()
    at: datetime = created_at_field()
    actor: str = Field(sa_column=Column(Text, nullable=False))  # the kind of viewer, or the worker
    staff_user_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    token_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))  # the credential used
    plugin: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # a connector's plugin
    action: str = Field(sa_column=Column(Text, nullable=False))  # the mutation's name, or job:<kind>
    outcome: str = Field(sa_column=Column(Text, nullable=False))
    targets: list[str] = Field(  # global ids of what it named and what it made (at most MAX_TARGETS)
        default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}")
    )
    request_id: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    details: dict = jsonb_field()  # input fields named (never their values), error codes, a job's figures
