"""the preference centre's look: the account's page language, venue name, logo and colour

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-02 19:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("account", sa.Column("page_language", sa.Text(), server_default="nl", nullable=False))
    op.add_column("account", sa.Column("brand_name", sa.Text(), server_default="", nullable=False))
    op.add_column("account", sa.Column("logo_url", sa.Text(), nullable=True))
    op.add_column("account", sa.Column("brand_colour", sa.Text(), server_default="#0b57d0", nullable=False))
    op.create_check_constraint("ck_account_page_language", "account", "page_language in ('nl', 'en')")
    op.create_check_constraint("ck_account_brand_colour", "account", "brand_colour ~ '^#[0-9a-f]{6}$'")


def downgrade() -> None:
    op.drop_constraint("ck_account_brand_colour", "account")
    op.drop_constraint("ck_account_page_language", "account")
    for column in ("brand_colour", "logo_url", "brand_name", "page_language"):
        op.drop_column("account", column)
