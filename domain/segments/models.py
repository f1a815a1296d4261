"""Segments: saved dynamic filters over the persons of an account (rules are data)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKeyConstraint, Index, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from domain.base import account_id_field, created_at_field, id_field


class Segment(SQLModel, table=True):
    __tablename__ = "segment"
    __table_args__ = (
        ForeignKeyConstraint(["account_id", "parent_id"], ["segment.account_id", "segment.id"],
                             name="fk_segment_parent"),
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
