"""Recurring jobs: one mechanism for every schedule in the system (feed pulls now; journeys and
digests later).

A schedule is a row (``Schedule``): a job kind with its parameters, an interval in minutes and
the next time it is due. Every worker process runs a tick (``jobs.scheduler``) that calls
:func:`fire_due_schedules`; that one statement locks the due rows it takes (``FOR UPDATE SKIP
LOCKED``), creates their jobs and moves each row's next run past now, in one transaction. Two
workers ticking at once therefore take disjoint rows, and a worker that comes after finds the
rows no longer due: each due run fires exactly once, whatever the number of workers. A schedule
whose last job is still queued or running waits for it rather than piling runs up (for a day at
most: a job lost on its way to the queue does not stop its schedule for good), and after a
downtime a schedule fires once, not once per missed interval.

Why our own table and tick rather than a scheduler package (periodiq, APScheduler): those keep
schedules in code or in their own stores and run as one extra process that must not run twice;
Marquee's schedules are per account, changed by admins at run time, belong to rows (a plugin's
installation) and must survive restarts, and the workers already run everywhere the jobs do.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import Session

from domain import clock
from domain.jobs_state.models import Job
from domain.jobs_state.service import queue_after_commit
from domain.scheduling.models import Schedule

MAX_EVERY_MINUTES = 525_600  # a year
FIRE_LIMIT = 100  # schedules fired per tick; the rest are due on the next one


def set_schedule(
    session: Session,
    account_id: int,
    name: str,
    *,
    job_kind: str,
    params: dict[str, Any],
    every_minutes: int | None,
    plugin: str | None = None,
) -> Schedule | None:
    """Create or change the account's schedule ``name``; ``every_minutes`` None or 0 removes it.

    A new schedule (or one whose interval changed) is first due one interval from now."""
    if not every_minutes:
        session.execute(delete(Schedule).where(Schedule.account_id == account_id, Schedule.name == name))
        return None
    if not 1 <= every_minutes <= MAX_EVERY_MINUTES:
        raise ValueError(f"every_minutes is between 1 and {MAX_EVERY_MINUTES}")
    first_due = clock.now() + timedelta(minutes=every_minutes)
    values = {
        "account_id": account_id,
        "name": name,
        "job_kind": job_kind,
        "params": params,
        "every_minutes": every_minutes,
        "next_run_at": first_due,
        "plugin": plugin,
    }
    statement = pg_insert(Schedule).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[Schedule.account_id, Schedule.name],
        set_={
            "job_kind": statement.excluded.job_kind,
            "params": statement.excluded.params,
            "plugin": statement.excluded.plugin,
            "every_minutes": statement.excluded.every_minutes,
            # An unchanged interval keeps its rhythm; a changed one starts from now.
            "next_run_at": text(
                "CASE WHEN schedule.every_minutes = excluded.every_minutes"
                " THEN schedule.next_run_at ELSE excluded.next_run_at END"
            ),
        },
    ).returning(Schedule.id)
    schedule_id = session.execute(statement).scalar_one()
    return session.get(Schedule, (account_id, schedule_id), populate_existing=True)


def schedules(session: Session, account_id: int, *, plugin: str | None = None) -> list[Schedule]:
    statement = select(Schedule).where(Schedule.account_id == account_id)
    if plugin is not None:
        statement = statement.where(Schedule.plugin == plugin)
    return list(session.execute(statement.order_by(Schedule.name)).scalars())


# One statement: take the due rows no other tick holds, create their jobs, move the rows on.
_FIRE = text(
    """
    WITH due AS (
        SELECT s.account_id, s.id
        FROM schedule s
        LEFT JOIN job j ON j.account_id = s.account_id AND j.id = s.last_job_id
        WHERE s.next_run_at <= :now
          AND (j.id IS NULL OR j.status NOT IN ('queued', 'running') OR j.created_at < :now - interval '1 day')
        ORDER BY s.next_run_at
        LIMIT :limit
        FOR UPDATE OF s SKIP LOCKED
    ), fired AS (
        INSERT INTO job (account_id, kind, params, status)
        SELECT s.account_id, s.job_kind, s.params || jsonb_build_object('schedule', s.name), 'queued'
        FROM schedule s JOIN due ON due.account_id = s.account_id AND due.id = s.id
        RETURNING account_id, id, params ->> 'schedule' AS name
    )
    UPDATE schedule s
    SET last_job_id = fired.id,
        last_fired_at = :now,
        next_run_at = s.next_run_at + make_interval(mins => s.every_minutes)
            * (floor(extract(epoch FROM (:now - s.next_run_at)) / (s.every_minutes * 60)) + 1)
    FROM fired
    WHERE s.account_id = fired.account_id AND s.name = fired.name
    RETURNING fired.account_id, fired.id
    """
)


def fire_due_schedules(session: Session, *, now: datetime | None = None, limit: int = FIRE_LIMIT) -> list[Job]:
    """Create the jobs of every due schedule (at most ``limit``); they are queued on commit.

    Operator work across accounts (the worker's tick), like job counts for metrics."""
    rows = session.execute(_FIRE, {"now": now or clock.now(), "limit": limit}).all()
    if not rows:
        return []
    ids = [job_id for _account, job_id in rows]
    jobs = list(session.execute(select(Job).where(Job.id.in_(ids)).order_by(Job.id)).scalars())
    queue_after_commit(session, jobs)
    return jobs
