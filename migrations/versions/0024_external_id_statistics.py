"""statistics on (account, source) for the tables a feed import looks rows up in by external id

The planner takes a row's account and source for independent, so for an account whose rows all
come from one source it expects a handful where there are hundreds of thousands, and it looks
external ids up by scanning the account's whole range instead of descending the unique index per
id: a feed import's lookups got slower with every batch. Multivariate MCV statistics give the
planner the pair's real frequency.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02 03:40:00
"""

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

TABLES = ("venue", "production", "event", "person_identity", "orders", "ticket", "subscription")


def upgrade() -> None:
    for table in TABLES:
        op.execute(
            f"CREATE STATISTICS IF NOT EXISTS st_{table}_account_source (mcv) ON account_id, source FROM {table}"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP STATISTICS IF EXISTS st_{table}_account_source")
