"""the audit trail: one append-only entry per staff mutation, import, send and privacy request

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-02 18:55:00
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

SQL = Path(__file__).resolve().parents[1] / "sql"


def upgrade() -> None:
    op.create_table(
        "audit_entry",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("staff_user_id", sa.BigInteger(), nullable=True),
        sa.Column("token_id", sa.BigInteger(), nullable=True),
        sa.Column("plugin", sa.Text(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("targets", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("request_id", sa.Text(), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.CheckConstraint("outcome in ('done', 'refused', 'failed')", name="ck_audit_entry_outcome"),
        sa.CheckConstraint(
            "actor in ('staff', 'person', 'website', 'connector', 'worker')", name="ck_audit_entry_actor"
        ),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["account_id", "staff_user_id"],
            ["staff_user.account_id", "staff_user.id"],
            name="fk_audit_entry_staff_user",
        ),
        sa.PrimaryKeyConstraint("account_id", "id"),
    )
    op.create_index("ix_audit_entry_at", "audit_entry", ["account_id", sa.text("id DESC")])
    op.create_index("ix_audit_entry_action", "audit_entry", ["account_id", "action", sa.text("id DESC")])
    op.create_index("ix_audit_entry_targets", "audit_entry", ["targets"], postgresql_using="gin")
    op.execute((SQL / "marquee_audit_entry_append_only.v1.sql").read_text())
    op.execute("""
        CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry
            FOR EACH ROW EXECUTE FUNCTION marquee_audit_entry_append_only();""")


def downgrade() -> None:
    op.drop_table("audit_entry")
    op.execute("DROP FUNCTION marquee_audit_entry_append_only()")
