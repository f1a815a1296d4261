"""organisations (module business) get their contacts: persons linked with a role; and updated_at

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-02 19:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "organisation",
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.create_table(
        "person_organisation",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("organisation_id", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id", "organisation_id"],
            ["organisation.account_id", "organisation.id"],
            name="fk_person_organisation_organisation",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "person_id"],
            ["person.account_id", "person.id"],
            name="fk_person_organisation_person",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "person_id", "organisation_id"),
    )
    op.create_index(
        "ix_person_organisation_organisation", "person_organisation", ["account_id", "organisation_id", "person_id"]
    )


def downgrade() -> None:
    op.drop_table("person_organisation")
    op.drop_column("organisation", "updated_at")
