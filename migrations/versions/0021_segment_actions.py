"""segment actions: exports and labels of a segment, each over a stored snapshot of its members

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01 21:30:00

An action belongs to its job (removed with it); the segment, event or production it was taken
for may go while the action and its snapshot stay (the reference is set to null).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "segment_action",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("segment_id", sa.BigInteger(), nullable=True),
        sa.Column("segment_name", sa.Text(), nullable=False),
        sa.Column("mode", sa.Text(), server_default="all", nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.Column("production_id", sa.BigInteger(), nullable=True),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("members", sa.Integer(), nullable=True),
        sa.Column("snapshot_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("file", sa.Text(), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["account_id", "job_id"], ["job.account_id", "job.id"], name="fk_segment_action_job", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "segment_id"],
            ["segment.account_id", "segment.id"],
            name="fk_segment_action_segment",
            ondelete="SET NULL (segment_id)",
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "event_id"],
            ["event.account_id", "event.id"],
            name="fk_segment_action_event",
            ondelete="SET NULL (event_id)",
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "production_id"],
            ["production.account_id", "production.id"],
            name="fk_segment_action_production",
            ondelete="SET NULL (production_id)",
        ),
        sa.CheckConstraint("kind in ('export', 'label')", name="ck_segment_action_kind"),
        sa.CheckConstraint("mode in ('all', 'event', 'production')", name="ck_segment_action_mode"),
        sa.PrimaryKeyConstraint("account_id", "id"),
    )
    op.create_index("uq_segment_action_job", "segment_action", ["account_id", "job_id"], unique=True)
    op.create_index("ix_segment_action_segment", "segment_action", ["account_id", "segment_id", "created_at"])
    op.create_table(
        "action_member",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("action_id", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["account_id", "action_id"],
            ["segment_action.account_id", "segment_action.id"],
            name="fk_action_member_action",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "person_id"],
            ["person.account_id", "person.id"],
            name="fk_action_member_person",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "action_id", "person_id"),
    )
    op.create_index("ix_action_member_person", "action_member", ["account_id", "person_id"])


def downgrade() -> None:
    op.drop_table("action_member")
    op.drop_index("ix_segment_action_segment", table_name="segment_action")
    op.drop_index("uq_segment_action_job", table_name="segment_action")
    op.drop_table("segment_action")
