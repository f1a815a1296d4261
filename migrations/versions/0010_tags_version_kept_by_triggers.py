"""tags_version kept by triggers on tag, tag_category, form and form_tag

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 14:00:00

Cached tag trees and preference centres are keyed on ``account.tags_version``. It was bumped by
hand at eight call sites, and a bulk load (COPY) never bumped it, so a process that had served
the empty tree went on serving it. Statement-level triggers now bump it for every write to the
tables the cached pictures are made of.
"""

from pathlib import Path

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

SQL = Path(__file__).resolve().parents[1] / "sql"  # each function's body, whole, per version
TABLES = ("tag", "tag_category", "form", "form_tag")


def upgrade() -> None:
    op.execute((SQL / "marquee_tags_changed.v1.sql").read_text())
    for table in TABLES:
        op.execute(f"""
            CREATE TRIGGER {table}_tags_version_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows
                FOR EACH STATEMENT EXECUTE FUNCTION marquee_tags_changed();
            CREATE TRIGGER {table}_tags_version_update AFTER UPDATE ON {table}
                REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                FOR EACH STATEMENT EXECUTE FUNCTION marquee_tags_changed();
            CREATE TRIGGER {table}_tags_version_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows
                FOR EACH STATEMENT EXECUTE FUNCTION marquee_tags_changed();""")


def downgrade() -> None:
    for table in TABLES:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_tags_version_{event} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS marquee_tags_changed()")
