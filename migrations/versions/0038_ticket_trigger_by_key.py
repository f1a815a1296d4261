"""ticket facts: the ticket trigger (v3) and the facts refresh (v6) stop depending on a new account's statistics

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-03 14:10:00

New tickets find their order and event by key, and both functions lock the productions of an
array of events instead of an IN (subquery): in a new account's first import, statistics that
still said "no rows" made each batch's ticket statement take seconds. Same results.
"""

from pathlib import Path

from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None

SQL = Path(__file__).resolve().parents[1] / "sql"  # each function's body, whole, per version


def upgrade() -> None:
    op.execute((SQL / "marquee_refresh_purchase_facts.v6.sql").read_text())
    op.execute((SQL / "marquee_ticket_changed.v3.sql").read_text())


def downgrade() -> None:
    op.execute((SQL / "marquee_ticket_changed.v2.sql").read_text())
    op.execute((SQL / "marquee_refresh_purchase_facts.v5.sql").read_text())
