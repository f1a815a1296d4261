"""consent history kept by a trigger; person merges recorded; several identities per source

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 16:20:00

``consent_history`` receives every change of a consent state (trigger on person_consent, whoever
wrote it), so a merge can keep both persons' histories and privacy exports can show them; existing
states become its first rows. ``person_merge`` records who merged which person into which, when,
what moved and the merged person's fields. A survivor may now hold two ids of one source (the
duplicates a ticketing system itself had): ``uq_person_identity_source`` becomes a plain index.
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

SQL = Path(__file__).resolve().parents[1] / "sql"  # each function's body, whole, per version


def upgrade() -> None:
    op.create_table(
        "consent_history",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("consent_type_id", sa.BigInteger(), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["account_id", "person_id"],
            ["person.account_id", "person.id"],
            name="fk_consent_history_person",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "consent_type_id"],
            ["consent_type.account_id", "consent_type.id"],
            name="fk_consent_history_consent_type",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "id"),
    )
    op.create_index(
        "ix_consent_history_person", "consent_history", ["account_id", "person_id", "consent_type_id", "changed_at"]
    )
    op.execute(
        "INSERT INTO consent_history (account_id, person_id, consent_type_id, granted, changed_at, source) "
        "SELECT account_id, person_id, consent_type_id, granted, updated_at, source FROM person_consent"
    )
    op.execute((SQL / "marquee_consent_changed.v1.sql").read_text())
    op.create_table(
        "person_merge",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("survivor_id", sa.BigInteger(), nullable=False),
        sa.Column("merged_id", sa.BigInteger(), nullable=False),
        sa.Column("merged_by", sa.BigInteger(), nullable=True),
        sa.Column("merged_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("moved", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("merged_fields", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["account_id", "survivor_id"],
            ["person.account_id", "person.id"],
            name="fk_person_merge_survivor",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "id"),
    )
    op.create_index("ix_person_merge_survivor", "person_merge", ["account_id", "survivor_id"])
    op.drop_index("uq_person_identity_source", table_name="person_identity")
    op.create_index("ix_person_identity_person", "person_identity", ["account_id", "person_id", "source"])


def downgrade() -> None:
    op.drop_index("ix_person_identity_person", table_name="person_identity")
    op.create_index("uq_person_identity_source", "person_identity", ["account_id", "person_id", "source"], unique=True)
    op.drop_index("ix_person_merge_survivor", table_name="person_merge")
    op.drop_table("person_merge")
    op.execute("DROP TRIGGER IF EXISTS person_consent_history_update ON person_consent")
    op.execute("DROP TRIGGER IF EXISTS person_consent_history_insert ON person_consent")
    op.execute("DROP FUNCTION IF EXISTS marquee_consent_changed()")
    op.drop_index("ix_consent_history_person", table_name="consent_history")
    op.drop_table("consent_history")
