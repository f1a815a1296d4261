"""an index for a plugin's runs: jobs by account, params->>'plugin' and time

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 19:40:00

PluginInstallation.runs lists each plugin's newest feed imports, pulls and website exports.
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_job_plugin_runs",
        "job",
        ["account_id", sa.text("(params ->> 'plugin')"), "created_at"],
        postgresql_where=sa.text("kind IN ('import_feed', 'pull_feed', 'export_website')"),
    )


def downgrade() -> None:
    op.drop_index("ix_job_plugin_runs", table_name="job")
