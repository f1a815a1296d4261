"""the audience change journal: statement triggers name the persons each transaction wrote

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-04 19:50:00

The audience index (issue 15) is built from one snapshot and, before each count, catches up with
the journal rows that snapshot does not see (domain.audience.live).
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None

SQL = Path(__file__).resolve().parents[1] / "sql"
PERSON_TABLES = (
    "person",
    "person_tag",
    "person_consent",
    "form_submission",
    "subscription",
    "interest_score",
    "ticket_fact",
    "custom_field_definition",
)


def _triggers():
    for table in PERSON_TABLES:
        yield f"{table}_audience_insert", table, "INSERT", "REFERENCING NEW TABLE AS new_rows"
        yield f"{table}_audience_update", table, "UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
        yield f"{table}_audience_delete", table, "DELETE", "REFERENCING OLD TABLE AS old_rows"
    yield "account_audience_update", "account", "UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"


def upgrade() -> None:
    op.create_table(
        "audience_change",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("account_id", sa.BigInteger(), sa.ForeignKey("account.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "xid", sa.BigInteger(), nullable=False, server_default=sa.text("(pg_current_xact_id()::text::bigint)")
        ),
        sa.Column("person_ids", postgresql.ARRAY(sa.BigInteger()), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("clock_timestamp()")),
    )
    op.create_index("ix_audience_change_xid", "audience_change", ["account_id", "xid"])
    op.execute((SQL / "marquee_audience_changed.v1.sql").read_text())
    for name, table, event, referencing in _triggers():
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} {referencing} "
            "FOR EACH STATEMENT EXECUTE FUNCTION marquee_audience_changed()"
        )


def downgrade() -> None:
    for name, table, _, _ in _triggers():
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS marquee_audience_changed()")
    op.drop_table("audience_change")
