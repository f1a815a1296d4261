"""The Job table: background work recorded with status, progress, result and error."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, Float, Index, Integer, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from domain.base import account_id_field, created_at_field, id_field, timestamp_field


class JobStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Job(SQLModel, table=True):
    __tablename__ = "job"
    __table_args__ = (
        CheckConstraint("status in ('queued', 'running', 'succeeded', 'failed')", name="ck_job_status"),
        CheckConstraint("progress between 0 and 1", name="ck_job_progress"),
        Index("ix_job_created", "account_id", "created_at"),
        # Workers receive only the job id: they find the row through this index.
        Index("uq_job_id", "id", unique=True),
        # A plugin's runs (PluginInstallation.runs): its feed imports, pulls and website exports.
        Index(
            "ix_job_plugin_runs",
            "account_id",
            text("(params ->> 'plugin')"),
            "created_at",
            postgresql_where=text("kind IN ('import_feed', 'pull_feed', 'export_website')"),
        ),
    )

    account_id: int = account_id_field()
    id: int | None = id_field()
    kind: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="queued", sa_column=Column(Text, nullable=False, server_default="queued"))
    progress: float = Field(default=0.0, sa_column=Column(Float, nullable=False, server_default="0"))
    progress_message: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    params: dict = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}"))
    result: dict | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    created_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_at: datetime = created_at_field()
    started_at: datetime | None = timestamp_field()
    finished_at: datetime | None = timestamp_field()
