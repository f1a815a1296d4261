"""interest scores follow catalogue tagging: accounts marked stale by triggers, rescored by the tick

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-02 08:15:00

``account.scores_stale_since`` is set (kept, if already set) when a production's tags change, or a
tag moves in the tree or changes category, for accounts with the recommendations module; the
scheduler tick queues one rescore per stale account once its changes have settled and clears it.
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

SQL = Path(__file__).resolve().parents[1] / "sql"


def upgrade() -> None:
    op.add_column("account", sa.Column("scores_stale_since", sa.DateTime(timezone=True), nullable=True))
    op.execute((SQL / "marquee_scores_stale.v1.sql").read_text())
    op.execute("""
        CREATE TRIGGER production_tag_scores_insert AFTER INSERT ON production_tag REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION marquee_scores_stale();
        CREATE TRIGGER production_tag_scores_update AFTER UPDATE ON production_tag
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION marquee_scores_stale();
        CREATE TRIGGER production_tag_scores_delete AFTER DELETE ON production_tag REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION marquee_scores_stale();
        CREATE TRIGGER tag_scores_update AFTER UPDATE ON tag REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION marquee_scores_stale();
        CREATE TRIGGER tag_scores_delete AFTER DELETE ON tag REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION marquee_scores_stale();""")


def downgrade() -> None:
    for trigger, table in (
        ("production_tag_scores_insert", "production_tag"),
        ("production_tag_scores_update", "production_tag"),
        ("production_tag_scores_delete", "production_tag"),
        ("tag_scores_update", "tag"),
        ("tag_scores_delete", "tag"),
    ):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS marquee_scores_stale()")
    op.drop_column("account", "scores_stale_since")
