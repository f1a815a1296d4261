"""schedules: recurring jobs per account, fired once per due run by the workers' tick

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 18:00:00

A schedule belongs to an account and, for a feed reader, to the plugin's installation (removed
with it). ``last_job_id`` is cleared, not cascaded, when its job goes.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedule",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("job_kind", sa.Text(), nullable=False),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("every_minutes", sa.Integer(), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("plugin", sa.Text(), nullable=True),
        sa.Column("last_job_id", sa.BigInteger(), nullable=True),
        sa.Column("last_fired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("every_minutes between 1 and 525600", name="ck_schedule_every_minutes"),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["account_id", "plugin"],
            ["plugin_installation.account_id", "plugin_installation.plugin"],
            name="fk_schedule_plugin_installation",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "last_job_id"],
            ["job.account_id", "job.id"],
            name="fk_schedule_last_job",
            ondelete="SET NULL (last_job_id)",
        ),
        sa.PrimaryKeyConstraint("account_id", "id"),
    )
    op.create_index("uq_schedule_name", "schedule", ["account_id", "name"], unique=True)
    op.create_index("ix_schedule_next_run", "schedule", ["next_run_at"])


def downgrade() -> None:
    op.drop_index("ix_schedule_next_run", table_name="schedule")
    op.drop_index("uq_schedule_name", table_name="schedule")
    op.drop_table("schedule")
