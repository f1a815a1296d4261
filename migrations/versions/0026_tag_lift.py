"""tag lifts: how much a tag says about a person's taste, learnt from the account's purchases

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-02 04:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tag_lift",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("tag_id", sa.BigInteger(), nullable=False),
        sa.Column("lift", sa.Float(), nullable=False),
        sa.Column("buyers", sa.BigInteger(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id", "tag_id"], ["tag.account_id", "tag.id"], name="fk_tag_lift_tag", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "tag_id"),
    )


def downgrade() -> None:
    op.drop_table("tag_lift")
