"""website exports: the document each exporter last published per account

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 18:40:00

The row belongs to the plugin's installation (removed with it, so a reinstall publishes again).
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "website_export",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("plugin", sa.Text(), nullable=False),
        sa.Column("exporter", sa.Text(), nullable=False),
        sa.Column("etag", sa.Text(), nullable=False),
        sa.Column("config_digest", sa.Text(), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("exported_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["account_id", "plugin"],
            ["plugin_installation.account_id", "plugin_installation.plugin"],
            name="fk_website_export_plugin_installation",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "id"),
    )
    op.create_index("uq_website_export_exporter", "website_export", ["account_id", "exporter"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_website_export_exporter", table_name="website_export")
    op.drop_table("website_export")
