"""personal picks: a segment action computes each member's tips, kept for offer e-mails

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-02 08:00:00

member_pick holds a picks action's tips per member (best first); segment actions gain the kind
picks.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("ck_segment_action_kind", "segment_action", type_="check")
    op.create_check_constraint(
        "ck_segment_action_kind", "segment_action", "kind in ('export', 'label', 'offer', 'push', 'picks')"
    )
    op.create_table(
        "member_pick",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("action_id", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("place", sa.Integer(), nullable=False),
        sa.Column("production_id", sa.BigInteger(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.CheckConstraint("place >= 1", name="ck_member_pick_place"),
        sa.ForeignKeyConstraint(
            ["account_id", "action_id", "person_id"],
            ["action_member.account_id", "action_member.action_id", "action_member.person_id"],
            name="fk_member_pick_member",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "production_id"],
            ["production.account_id", "production.id"],
            name="fk_member_pick_production",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "action_id", "person_id", "place"),
    )


def downgrade() -> None:
    op.drop_table("member_pick")
    op.execute("DELETE FROM segment_action WHERE kind = 'picks'")
    op.drop_constraint("ck_segment_action_kind", "segment_action", type_="check")
    op.create_check_constraint(
        "ck_segment_action_kind", "segment_action", "kind in ('export', 'label', 'offer', 'push')"
    )
