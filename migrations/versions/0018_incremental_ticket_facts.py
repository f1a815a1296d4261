"""ticket facts: new tickets add their own facts; each refresh reads the persons' tickets once

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 19:20:00

marquee_refresh_person_stats (v1) holds the figures part of marquee_refresh_purchase_facts (v5),
which reads the persons' tickets first and joins events and orders to them; the ticket trigger
(v2) adds the facts of inserted tickets instead of rewriting all of their buyers' facts. The
results are the same; a feed import's batch costs a fraction of what it did.
"""

from pathlib import Path

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

SQL = Path(__file__).resolve().parents[1] / "sql"  # each function's body, whole, per version


def _function(name: str) -> str:
    """Only the CREATE FUNCTION of a file (the v1 ticket file also creates its triggers)."""
    body = (SQL / name).read_text()
    return body.split("\nCREATE TRIGGER", 1)[0]


def upgrade() -> None:
    op.execute((SQL / "marquee_refresh_person_stats.v1.sql").read_text())
    op.execute((SQL / "marquee_refresh_purchase_facts.v5.sql").read_text())
    op.execute((SQL / "marquee_ticket_changed.v2.sql").read_text())


def downgrade() -> None:
    op.execute(_function("marquee_ticket_changed.v1.sql"))
    op.execute((SQL / "marquee_refresh_purchase_facts.v4.sql").read_text())
    op.execute("DROP FUNCTION marquee_refresh_person_stats(bigint, bigint[])")
