"""Recurring work per account: one row per schedule, fired by the worker's scheduler tick."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, ForeignKeyConstraint, Index, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from domain.base import account_id_field, created_at_field, id_field, timestamp_field


class Schedule(SQLModel, table=True):
    """Run a job of ``job_kind`` with ``params`` every ``every_minutes``, next at ``next_run_at``.

    ``plugin``, when set, ties the schedule to that plugin's installation: uninstalling the plugin
    removes it (foreign key, on delete cascade). ``last_job_id`` is the job it fired last; while
    that job is queued or running the schedule waits instead of piling up runs."""

    __tablename__ = "schedule"
    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "plugin"],
            ["plugin_installation.account_id", "plugin_installation.plugin"],
            ondelete="CASCADE",
            name="fk_schedule_plugin_installation",
        ),
        ForeignKeyConstraint(
            ["account_id", "last_job_id"],
            ["job.account_id", "job.id"],
            ondelete="SET NULL (last_job_id)",
            name="fk_schedule_last_job",
        ),
        CheckConstraint("every_minutes between 1 and 525600", name="ck_schedule_every_minutes"),
        Index("uq_schedule_name", "account_id", "name", unique=True),
        Index("ix_schedule_next_run", "next_run_at"),
    )

    account_id: int = account_id_field()
    id: int | None = id_field()
    name: str = Field(sa_column=Column(Text, nullable=False))
    job_kind: str = Field(sa_column=Column(Text, nullable=False))
    params: dict = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}"))
    every_minutes: int = Field(sa_column=Column(Integer, nullable=False))
    next_run_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    plugin: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    last_job_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    last_fired_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
