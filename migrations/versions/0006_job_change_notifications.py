"""notify listeners when a job's status or progress changes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 07:50:00

``pg_notify('marquee_job', <job id>)`` after every update that changes a job's status, progress
or message; PostgreSQL delivers it when the writing transaction commits. Job progress
subscriptions wait for it instead of polling the row.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
CREATE FUNCTION marquee_job_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('marquee_job', NEW.id::text);
    RETURN NULL;
END $$;

CREATE TRIGGER job_notify AFTER UPDATE ON job FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.progress IS DISTINCT FROM NEW.progress
          OR OLD.progress_message IS DISTINCT FROM NEW.progress_message)
    EXECUTE FUNCTION marquee_job_notify();
""")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS job_notify ON job")
    op.execute("DROP FUNCTION IF EXISTS marquee_job_notify()")
