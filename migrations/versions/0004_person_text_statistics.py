"""statistics on the lowered text fields that segment conditions compare

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 07:00:00

Segment text conditions compare ``lower(column)``. Without statistics on that expression the
planner guesses 0.5 % for every equality, which picks nested loops for a city that holds 8 % of
the persons. Email, first and last name have expression indexes (and with them statistics);
these fields get extended statistics on the expression alone (PostgreSQL 14+), no index.
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

FIELDS = ("city", "country", "language", "postal_code")


def upgrade() -> None:
    for name in FIELDS:
        op.execute(f"CREATE STATISTICS IF NOT EXISTS st_person_{name}_lower ON (lower({name})) FROM person")
    op.execute("ANALYZE person")


def downgrade() -> None:
    for name in FIELDS:
        op.execute(f"DROP STATISTICS IF EXISTS st_person_{name}_lower")
