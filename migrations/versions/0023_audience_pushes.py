"""audience pushes: the batches of a push, stored so that a retry sends the same ones

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01 21:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audience_push_batch",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("action_id", sa.BigInteger(), nullable=False),
        sa.Column("batch", sa.Integer(), nullable=False),
        sa.Column("first_person_id", sa.BigInteger(), nullable=False),
        sa.Column("last_person_id", sa.BigInteger(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("pushed", sa.Integer(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["account_id", "action_id"],
            ["segment_action.account_id", "segment_action.id"],
            name="fk_audience_push_batch_action",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "action_id", "batch"),
    )


def downgrade() -> None:
    op.drop_table("audience_push_batch")
