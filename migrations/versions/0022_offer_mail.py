"""offer e-mails: mail layouts, the send ledger, interactions (clicks and opens)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01 21:00:00

mail_send holds one row per (offer action, person): the unique key that keeps a send at most
once whatever crashes and redeliveries happen. Segment actions gain the kinds offer and push.
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("ck_segment_action_kind", "segment_action", type_="check")
    op.create_check_constraint(
        "ck_segment_action_kind", "segment_action", "kind in ('export', 'label', 'offer', 'push')"
    )
    op.create_table(
        "mail_layout",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "id"),
    )
    op.create_index("uq_mail_layout_name", "mail_layout", ["account_id", sa.text("lower(name)")], unique=True)
    op.create_table(
        "mail_send",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("action_id", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("claimed_by", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["account_id", "action_id"],
            ["segment_action.account_id", "segment_action.id"],
            name="fk_mail_send_action",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "person_id"],
            ["person.account_id", "person.id"],
            name="fk_mail_send_person",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "status in ('pending', 'claimed', 'sending', 'sent', 'skipped', 'failed', 'unknown')",
            name="ck_mail_send_status",
        ),
        sa.PrimaryKeyConstraint("account_id", "action_id", "person_id"),
    )
    op.create_index(
        "ix_mail_send_open",
        "mail_send",
        ["account_id", "action_id", "status", "person_id"],
        postgresql_where=sa.text("status in ('pending', 'claimed', 'sending')"),
    )
    op.create_index("ix_mail_send_person", "mail_send", ["account_id", "person_id"])
    op.create_table(
        "interaction",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action_id", sa.BigInteger(), nullable=True),
        sa.Column("production_id", sa.BigInteger(), nullable=True),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["account_id", "person_id"],
            ["person.account_id", "person.id"],
            name="fk_interaction_person",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "action_id"],
            ["segment_action.account_id", "segment_action.id"],
            name="fk_interaction_action",
            ondelete="SET NULL (action_id)",
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "production_id"],
            ["production.account_id", "production.id"],
            name="fk_interaction_production",
            ondelete="SET NULL (production_id)",
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "event_id"],
            ["event.account_id", "event.id"],
            name="fk_interaction_event",
            ondelete="SET NULL (event_id)",
        ),
        sa.CheckConstraint("kind in ('click', 'open')", name="ck_interaction_kind"),
        sa.PrimaryKeyConstraint("account_id", "id"),
    )
    op.create_index("uq_interaction_key", "interaction", ["account_id", "idempotency_key"], unique=True)
    op.create_index("ix_interaction_person", "interaction", ["account_id", "person_id", "occurred_at"])


def downgrade() -> None:
    op.drop_table("interaction")
    op.drop_table("mail_send")
    op.drop_table("mail_layout")
    op.drop_constraint("ck_segment_action_kind", "segment_action", type_="check")
    op.create_check_constraint("ck_segment_action_kind", "segment_action", "kind in ('export', 'label')")
