"""custom fields get a description and can be retired (no longer written or tested; values stay)

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-02 16:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("custom_field_definition", sa.Column("description", sa.Text(), server_default="", nullable=False))
    op.add_column("custom_field_definition", sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("custom_field_definition", "retired_at")
    op.drop_column("custom_field_definition", "description")
