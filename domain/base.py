"""Shared column helpers for the SQLModel tables.

Every business table carries ``account_id``; its primary key is ``(account_id, id)`` and
foreign keys between business tables are composite, so a row can never point at another
account's row (the database refuses it), and the schema is ready to shard by account.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Identity, LargeBinary, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field


def utcnow() -> datetime:
    from domain import clock  # noqa: PLC0415

    return clock.now()


def account_id_field() -> Any:
    return Field(
        sa_column=Column(BigInteger, ForeignKey("account.id", ondelete="CASCADE"), primary_key=True, nullable=False)
    )


def account_key_field() -> Any:
    """The account column of a table whose every row hangs on a row of the account through a
    composite foreign key that is never null (``(account_id, person_id)`` to a person, say): that
    key already ties the row to its account, and an account's deletion cascades through it, so the
    column has no foreign key of its own. For tables whose rows come by the million (tickets,
    orders, identities, consents, interactions, scores): one check fewer per row written."""
    return Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))


def id_field() -> Any:
    return Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))


def created_at_field() -> Any:
    return Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )


def timestamp_field(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable))


def jsonb_field(default_factory=dict) -> Any:
    return Field(default_factory=default_factory, sa_column=Column(JSONB, nullable=False, server_default="{}"))


def bigint_field(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None if nullable else ..., sa_column=Column(BigInteger, nullable=nullable, index=index))


def feed_digest_field() -> Any:
    """The digest of the feed record the row was last written from (``domain.imports``): a
    re-delivered identical record is skipped without being parsed."""
    return Field(default=None, sa_column=Column(LargeBinary, nullable=True))
