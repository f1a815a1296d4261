"""interest scores: scoring rules per account, the account's half-life and parent share, scores per
person and tag, and web page visits (with a tag) as interactions

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-02 03:42:35.359038
"""

from alembic import op
import sqlalchemy as sa


revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scoring_rule",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("tag_category_id", sa.BigInteger(), nullable=True),
        sa.Column("points", sa.Float(), nullable=False),
        sa.CheckConstraint(
            "kind in ('purchase', 'attendance', 'preference', 'click', 'open', 'visit')", name="ck_scoring_rule_kind"
        ),
        sa.CheckConstraint("points >= 0 and points <= 1000", name="ck_scoring_rule_points"),
        sa.ForeignKeyConstraint(
            ["account_id", "tag_category_id"],
            ["tag_category.account_id", "tag_category.id"],
            name="fk_scoring_rule_category",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "id"),
    )
    op.create_index(
        "uq_scoring_rule",
        "scoring_rule",
        ["account_id", "kind", sa.literal_column("coalesce(tag_category_id, 0)")],
        unique=True,
    )
    op.create_table(
        "interest_score",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("tag_id", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("interactions", sa.BigInteger(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("value > 0", name="ck_interest_score_value"),
        sa.ForeignKeyConstraint(
            ["account_id", "person_id"],
            ["person.account_id", "person.id"],
            name="fk_interest_person",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "tag_id"], ["tag.account_id", "tag.id"], name="fk_interest_tag", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "person_id", "tag_id"),
    )
    op.create_index("ix_interest_score_tag", "interest_score", ["account_id", "tag_id"], unique=False)
    op.add_column("account", sa.Column("score_half_life_days", sa.Float(), server_default="180", nullable=False))
    op.add_column("account", sa.Column("score_parent_share", sa.Float(), server_default="0.5", nullable=False))
    op.add_column("interaction", sa.Column("tag_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        "fk_interaction_tag",
        "interaction",
        "tag",
        ["account_id", "tag_id"],
        ["account_id", "id"],
        ondelete="SET NULL (tag_id)",
    )
    op.create_check_constraint(
        "ck_account_half_life", "account", "score_half_life_days >= 1 and score_half_life_days <= 3650"
    )
    op.create_check_constraint(
        "ck_account_parent_share", "account", "score_parent_share >= 0 and score_parent_share <= 1"
    )
    op.drop_constraint("ck_interaction_kind", "interaction", type_="check")
    op.create_check_constraint("ck_interaction_kind", "interaction", "kind in ('click', 'open', 'visit')")


def downgrade() -> None:
    op.execute("DELETE FROM interaction WHERE kind = 'visit'")
    op.drop_constraint("ck_interaction_kind", "interaction", type_="check")
    op.create_check_constraint("ck_interaction_kind", "interaction", "kind in ('click', 'open')")
    op.drop_constraint("ck_account_parent_share", "account", type_="check")
    op.drop_constraint("ck_account_half_life", "account", type_="check")
    op.drop_constraint("fk_interaction_tag", "interaction", type_="foreignkey")
    op.drop_column("interaction", "tag_id")
    op.drop_column("account", "score_parent_share")
    op.drop_column("account", "score_half_life_days")
    op.drop_index("ix_interest_score_tag", table_name="interest_score")
    op.drop_table("interest_score")
    op.drop_index("uq_scoring_rule", table_name="scoring_rule")
    op.drop_table("scoring_rule")
