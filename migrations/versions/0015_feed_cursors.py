"""feed readers' cursors per account

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 17:05:00

A pull reader (a plugin's ``register_feed_readers``) stores where it stopped after each page has
committed; the row belongs to the plugin's installation.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_cursor",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("plugin", sa.Text(), nullable=False),
        sa.Column("reader", sa.Text(), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["account_id", "plugin"],
            ["plugin_installation.account_id", "plugin_installation.plugin"],
            name="fk_feed_cursor_plugin_installation",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "id"),
    )
    op.create_index("uq_feed_cursor_reader", "feed_cursor", ["account_id", "reader"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_feed_cursor_reader", table_name="feed_cursor")
    op.drop_table("feed_cursor")
