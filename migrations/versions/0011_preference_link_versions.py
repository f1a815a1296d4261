"""persons' preference-link version: revoking a person's links raises it

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 14:20:00

A preference link carries the person's link version when it was made; ``revokePreferenceLinks``
raises the version, so every earlier link stops working while a new one works at once.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("person", sa.Column("preference_link_version", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("person", "preference_link_version")
