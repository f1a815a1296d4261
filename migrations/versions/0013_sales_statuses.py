"""sales statuses: events cancelled, orders pending/paid/cancelled/refunded, tickets with attendance

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 15:40:00

Feeds bring statuses: an event may be cancelled, an order pending, cancelled or refunded, a ticket
cancelled or refunded (one line of an order) and scanned at the door (``scanned_at``). Purchase
facts now count only valid tickets of paid orders (refresh v4, rebuild v3), so a cancellation or
refund leaves every figure and segment as soon as it commits; existing rows are paid and valid.
Subscriptions get a source and an external id like the other rows a feed brings.
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

SQL = Path(__file__).resolve().parents[1] / "sql"  # each function's body, whole, per version

STATUSES = {
    "event": ("scheduled", ("scheduled", "cancelled")),
    "orders": ("paid", ("pending", "paid", "cancelled", "refunded")),
    "ticket": ("valid", ("valid", "cancelled", "refunded")),
}


def upgrade() -> None:
    for table, (default, values) in STATUSES.items():
        op.add_column(table, sa.Column("status", sa.Text(), nullable=False, server_default=default))
        listed = ", ".join(f"'{v}'" for v in values)
        op.create_check_constraint(f"ck_{table}_status", table, f"status in ({listed})")
    op.add_column("ticket", sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("subscription", sa.Column("source", sa.Text(), nullable=True))
    op.add_column("subscription", sa.Column("external_id", sa.Text(), nullable=True))
    op.create_index(
        "uq_subscription_external",
        "subscription",
        ["account_id", "source", "external_id"],
        unique=True,
        postgresql_where="external_id is not null",
    )
    op.execute((SQL / "marquee_refresh_purchase_facts.v4.sql").read_text())
    op.execute((SQL / "marquee_rebuild_purchase_facts.v3.sql").read_text())


def downgrade() -> None:
    op.execute((SQL / "marquee_rebuild_purchase_facts.v2.sql").read_text())
    op.execute((SQL / "marquee_refresh_purchase_facts.v3.sql").read_text())
    op.drop_index("uq_subscription_external", table_name="subscription")
    op.drop_column("subscription", "external_id")
    op.drop_column("subscription", "source")
    op.drop_column("ticket", "scanned_at")
    for table in STATUSES:
        op.drop_constraint(f"ck_{table}_status", table, type_="check")
        op.drop_column(table, "status")
