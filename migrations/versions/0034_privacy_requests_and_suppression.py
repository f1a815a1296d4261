"""privacy requests (export, erase), erased persons, and the suppression digests an erasure leaves

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-02 18:25:25
"""

import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("person", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_person_erased", "person", ["account_id", "id"], postgresql_where=sa.text("erased_at IS NOT NULL")
    )
    op.create_table(
        "person_suppression",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind in ('identity', 'email')", name="ck_person_suppression_kind"),
        sa.ForeignKeyConstraint(
            ["account_id", "person_id"],
            ["person.account_id", "person.id"],
            name="fk_person_suppression_person",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "digest"),
    )
    op.create_index("ix_person_suppression_person", "person_suppression", ["account_id", "person_id"])
    op.create_table(
        "privacy_request",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=True),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("requested_by", sa.BigInteger(), nullable=True),
        sa.Column("file", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind in ('export', 'erase')", name="ck_privacy_request_kind"),
        sa.ForeignKeyConstraint(
            ["account_id", "job_id"], ["job.account_id", "job.id"], name="fk_privacy_request_job", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "person_id"],
            ["person.account_id", "person.id"],
            name="fk_privacy_request_person",
            ondelete="SET NULL (person_id)",
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "requested_by"],
            ["staff_user.account_id", "staff_user.id"],
            name="fk_privacy_request_staff_user",
            ondelete="SET NULL (requested_by)",
        ),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "id"),
    )
    op.create_index("ix_privacy_request_person", "privacy_request", ["account_id", "person_id", "created_at"])
    op.create_index("uq_privacy_request_job", "privacy_request", ["account_id", "job_id"], unique=True)


def downgrade() -> None:
    op.drop_table("privacy_request")
    op.drop_table("person_suppression")
    op.drop_index("ix_person_erased", table_name="person")
    op.drop_column("person", "erased_at")
