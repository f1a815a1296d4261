"""plugins installed per account; connector keys belong to an installation

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 15:20:00

``plugin_installation`` holds, per account and plugin, whether it is enabled, its settings (secret
ones in a column of their own) and the scopes an admin granted. Connector keys reference their
installation (so uninstalling deletes them). Keys issued before this revision keep working: each
(account, plugin) they name gets an enabled installation granting the scopes those keys hold.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plugin_installation",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("plugin", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("config", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("secrets", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("granted_scopes", sa.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("installed_by", sa.BigInteger(), nullable=True),
        sa.Column("installed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "id"),
    )
    op.create_index("uq_plugin_installation_plugin", "plugin_installation", ["account_id", "plugin"], unique=True)
    op.execute(
        """
        INSERT INTO plugin_installation (account_id, plugin, granted_scopes)
        SELECT account_id, plugin, coalesce(array_agg(DISTINCT scope ORDER BY scope)
                                            FILTER (WHERE scope IS NOT NULL), '{}')
        FROM api_token LEFT JOIN LATERAL unnest(scopes) AS scope ON true
        WHERE plugin IS NOT NULL
        GROUP BY account_id, plugin
        """
    )
    op.create_foreign_key(
        "fk_api_token_plugin_installation",
        "api_token",
        "plugin_installation",
        ["account_id", "plugin"],
        ["account_id", "plugin"],
        ondelete="CASCADE",
    )


def downgrade() -> None:
    op.drop_constraint("fk_api_token_plugin_installation", "api_token", type_="foreignkey")
    op.drop_index("uq_plugin_installation_plugin", table_name="plugin_installation")
    op.drop_table("plugin_installation")
