"""purchase-fact refresh: lock the events and productions it reads, before the persons

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 08:25:00

A refresh (a ticket sold to a new buyer) read event start times and production seasons without a
lock: when another transaction changed one of them and committed after the refresh had read it,
the new buyer's facts kept the old value (that transaction's trigger only saw buyers already
committed). The refresh now takes FOR SHARE on those rows first: a concurrent change commits
before it reads (it waits), or waits for it and then its own trigger sees the committed facts.
Events and productions are locked before persons, as by the event and production triggers, so
the two cannot deadlock.
"""

from pathlib import Path

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SQL = Path(__file__).resolve().parents[1] / "sql"  # each function's body, whole, per version


def upgrade() -> None:
    op.execute((SQL / "marquee_refresh_purchase_facts.v3.sql").read_text())


def downgrade() -> None:
    op.execute((SQL / "marquee_refresh_purchase_facts.v2.sql").read_text())
