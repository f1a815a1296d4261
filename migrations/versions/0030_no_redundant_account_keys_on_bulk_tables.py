"""no foreign key of their own to the account on the tables whose rows come by the million

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-02 15:40:00

Tickets, orders, subscriptions, identities, consents and their history, and interactions each hang
on a person (and a ticket on its order and event) through composite foreign keys that are never
null: those keys already tie a row to its account, and an account's deletion cascades through
them. Their own check against ``account`` cost one index probe per row written (a first feed
import writes millions; see ``domain.base.account_key_field``).
"""

from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

TABLES = ("ticket", "orders", "subscription", "person_identity", "person_consent", "consent_history", "interaction")


def upgrade() -> None:
    for table in TABLES:
        op.drop_constraint(f"{table}_account_id_fkey", table, type_="foreignkey")


def downgrade() -> None:
    for table in TABLES:
        op.create_foreign_key(f"{table}_account_id_fkey", table, "account", ["account_id"], ["id"], ondelete="CASCADE")
