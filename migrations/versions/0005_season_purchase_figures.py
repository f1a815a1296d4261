"""per-person figures per season, kept with the other purchase facts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 07:10:00

``person_season_stats`` holds each buyer's figures per season. The two fact functions of 0003 are
replaced by versions that also refresh it (same locking: persons first, in id order), and a
trigger on production refreshes the buyers of a production whose season changes.
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SEASON_SELECT = """
    SELECT f.account_id, pr.season, f.person_id, count(DISTINCT f.order_id), count(*), sum(f.price),
           count(DISTINCT f.event_id), max(f.order_date), bool_or(f.channel = 'online'),
           bool_or(f.channel = 'box_office')
      FROM ticket_fact f
      JOIN production pr ON pr.account_id = f.account_id AND pr.id = f.production_id"""

SEASON_COLUMNS = """(account_id, season, person_id, orders, tickets, revenue, events, last_order_date,
                                     has_online, has_box_office)"""

SQL = Path(__file__).resolve().parents[1] / "sql"  # each function's body, whole, per version


def upgrade() -> None:
    op.create_table(
        "person_season_stats",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("season", sa.Text(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("tickets", sa.Integer(), nullable=False),
        sa.Column("revenue", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("last_order_date", sa.Date(), nullable=False),
        sa.Column("has_online", sa.Boolean(), nullable=False),
        sa.Column("has_box_office", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "season", "person_id"),
    )
    op.create_index("ix_person_season_stats_person", "person_season_stats", ["account_id", "person_id"], unique=False)
    for name in (
        "marquee_refresh_purchase_facts.v2",
        "marquee_rebuild_purchase_facts.v2",
        "marquee_production_changed.v1",
    ):
        op.execute((SQL / f"{name}.sql").read_text())
    # Figures for data that already exists.
    op.execute(f"""INSERT INTO person_season_stats {SEASON_COLUMNS}{SEASON_SELECT}
                    WHERE pr.season IS NOT NULL GROUP BY f.account_id, pr.season, f.person_id""")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS production_facts_update ON production")
    op.execute("DROP FUNCTION IF EXISTS marquee_production_changed()")
    for name in ("marquee_refresh_purchase_facts.v1", "marquee_rebuild_purchase_facts.v1"):
        op.execute((SQL / f"{name}.sql").read_text())
    op.drop_index("ix_person_season_stats_person", table_name="person_season_stats")
    op.drop_table("person_season_stats")
