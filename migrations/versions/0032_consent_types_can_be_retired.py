"""consent types can be retired: no longer asked while ``retired_at`` is set; persons' states stay

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-02 16:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("consent_type", sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("consent_type", "retired_at")
