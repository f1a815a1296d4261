"""staff users can be deactivated: their tokens are refused while ``deactivated_at`` is set

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-02 16:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("staff_user", sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("staff_user", "deactivated_at")
