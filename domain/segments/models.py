"""Segments: saved dynamic filters over the persons of an account (rules are data)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKeyConstraint, Index, Integer, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from domain.base import account_id_field, created_at_field, id_field


class Segment(SQLModel, table=True):
    __tablename__ = "segment"
    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "parent_id"], ["segment.account_id", "segment.id"], name="fk_segment_parent"
        ),
        CheckConstraint("parent_id is null or parent_id <> id", name="ck_segment_not_own_parent"),
        Index("ix_segment_parent", "account_id", "parent_id"),
    )

    account_id: int = account_id_field()
    id: int | None = id_field()
    parent_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    rules: dict = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}"))
    rules_version: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))
    scope: dict | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


REFERENCE_TARGETS = {
    # reference kind: (column, referenced table, referenced column)
    "tag": ("tag_id", "tag", "id"),
    "segment": ("referenced_segment_id", "segment", "id"),
    "form": ("form_id", "form", "id"),
    "consent_type": ("consent_type_id", "consent_type", "id"),
    "venue": ("venue_id", "venue", "id"),
    "production": ("production_id", "production", "id"),
    "event": ("event_id", "event", "id"),
    "custom_field": ("custom_field_key", "custom_field_definition", "key"),
}


class SegmentReference(SQLModel, table=True):
    """One row a segment's rules or scope name (written with the rules, from the codec's
    ``references``). Composite foreign keys make the database refuse to delete what a segment
    still names, and tell at once which segments name a tag, a form, a consent type …"""

    __tablename__ = "segment_reference"
    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "segment_id"],
            ["segment.account_id", "segment.id"],
            ondelete="CASCADE",
            name="fk_segment_reference_owner",
        ),
        *[
            ForeignKeyConstraint(
                ["account_id", column],
                [f"{table}.account_id", f"{table}.{target}"],
                name=f"fk_segment_reference_{kind}",
            )
            for kind, (column, table, target) in REFERENCE_TARGETS.items()
        ],
        CheckConstraint(
            "num_nonnulls(" + ", ".join(c for c, _, _ in REFERENCE_TARGETS.values()) + ") = 1",
            name="ck_segment_reference_one_target",
        ),
        Index("ix_segment_reference_owner", "account_id", "segment_id"),
        *[
            Index(f"ix_segment_reference_{kind}", "account_id", column, postgresql_where=text(f"{column} IS NOT NULL"))
            for kind, (column, _, _) in REFERENCE_TARGETS.items()
        ],
    )

    account_id: int = account_id_field()
    id: int | None = id_field()
    segment_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    tag_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    referenced_segment_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    form_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    consent_type_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    venue_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    production_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    event_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    custom_field_key: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
