"""Jobs: the database record of background work (status, progress, result, error).

The request side creates a job row (``create_job``) in the request's transaction; the job is
handed to the queue when that transaction commits (``JOB_SINK`` on the session, set by the runtime,
receives every job the committed transaction created; a rollback drops them), exactly as domain
events reach plugins. The worker side calls ``run_job``, which drives the row through
``start_job`` → work → ``finish_job`` / ``fail_job``. The worker-side functions take the engine and
use their own short transactions, so status and progress are visible to other connections while
the job's main work is still uncommitted.

Idempotency: a job that has succeeded is never run again (``start_job`` returns None on
redelivery). Work whose effect lives in the database should record its success in the same
transaction as the effect (``record_success(connection, job_id, result)``), so a worker that dies
between the two cannot leave done work looking undone. While a job runs, a PostgreSQL advisory
lock on its id keeps a duplicate delivery from running it a second time concurrently.

Jobs are found by id alone on the worker side: the message carries only the job id, and the job
row names its account.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from typing import Any, Protocol
from collections.abc import Callable

from sqlalchemy import event as sa_event
from sqlalchemy import select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from domain.audit import service as audit
from domain.audit.models import AuditOutcome
from domain.base import utcnow
from domain.errors import ErrorCode, InputError
from domain.jobs_state.models import Job, JobStatus
from domain.pagination import Page, cursor_datetime, cursor_int, keyset_page

log = logging.getLogger(__name__)

JOB_CHANNEL = "marquee_job"  # NOTIFY channel: the job's id on every change of status or progress (0006)
PROGRESS_INTERVAL = 0.25  # seconds: at most ~4 progress writes per second per job
MAX_ERROR_LENGTH = 4000
MAX_MESSAGE_LENGTH = 500
_LOCK_NAMESPACE = 0x4A4F4253  # "JOBS": first key of the advisory lock held while a job runs


class JobRefused(Exception):
    """The work cannot be done as asked (bad parameters, wrong state): retrying will not help.

    ``run_job`` records it as a final failure; actors list it in ``throws`` so it is not retried.
    """


#: Exceptions after which a retry is pointless: the job fails at once.
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (JobRefused, InputError)


JOB_SINK = "job_sink"  # session.info: called with the committed transaction's new jobs
_PENDING = "marquee_pending_jobs"


@sa_event.listens_for(Session, "after_commit")
def _hand_over_after_commit(session: Session) -> None:
    jobs = session.info.pop(_PENDING, [])
    sink = session.info.get(JOB_SINK)
    if jobs and sink is not None:
        try:
            sink(jobs)
        except Exception:
            log.exception("jobs %s were committed but could not be queued", [j.id for j in jobs])


@sa_event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


class Progress(Protocol):
    def __call__(self, fraction: float, message: str = "") -> None: ...


# -- request side -----------------------------------------------------------------------------


def create_job(
    session: Session, account_id: int, *, kind: str, params: dict[str, Any], created_by: int | None = None
) -> Job:
    """Record a queued job; it reaches the queue when the session commits (``JOB_SINK``)."""
    kind = (kind or "").strip()
    if not kind:
        raise InputError.single(ErrorCode.REQUIRED, "a job needs a kind", "kind")
    if not isinstance(params, dict):
        raise InputError.single(ErrorCode.INVALID, "job parameters are a JSON object", "params")
    try:
        params = json.loads(json.dumps(params))
    except (TypeError, ValueError):
        raise InputError.single(ErrorCode.INVALID, "job parameters must be JSON values", "params") from None
    job = Job(account_id=account_id, kind=kind, params=params, created_by=created_by, status=JobStatus.QUEUED.value)
    session.add(job)
    session.flush()
    queue_after_commit(session, [job])
    return job


def queue_after_commit(session: Session, jobs: list[Job]) -> None:
    """Hand jobs written in this session to the queue when it commits (dropped on rollback)."""
    session.info.setdefault(_PENDING, []).extend(jobs)


def count_by_status(session: Session) -> dict[str, int]:
    """Jobs of every account by status: the operator's view (metrics), not any tenant's."""
    from sqlalchemy import func  # noqa: PLC0415

    return dict(session.execute(select(Job.status, func.count()).group_by(Job.status)).all())


def get_job(session: Session, account_id: int, job_id: int) -> Job | None:
    return session.execute(select(Job).where(Job.account_id == account_id, Job.id == job_id)).scalar_one_or_none()


def _coerce_cursor(values: list) -> list:
    return [cursor_datetime(values[0]), cursor_int(values[1])]


def list_jobs(session: Session, account_id: int, *, first: int | None = None, after: str | None = None) -> Page[Job]:
    """The account's jobs, newest first."""
    keys = [Job.created_at, Job.id]
    stmt = select(Job, *keys).where(Job.account_id == account_id)
    return keyset_page(session, stmt, keys, descending=True, first=first, after=after, coerce=_coerce_cursor)


# -- worker side --------------------------------------------------------------------------------


def start_job(engine: Engine, job_id: int) -> Job | None:
    """Mark the job running (attempts + 1) and return it; None when there is nothing to do.

    Nothing to do: the job has already succeeded (a redelivered message) or no longer exists.
    Runs in its own transaction with the row locked, so concurrent starts are serialised.
    """
    with Session(engine, expire_on_commit=False) as session, session.begin():
        job = session.execute(select(Job).where(Job.id == job_id).with_for_update()).scalar_one_or_none()
        if job is None:
            log.warning("job %s does not exist (deleted?); nothing to do", job_id)
            return None
        if job.status == JobStatus.SUCCEEDED.value:
            log.info("job %s already succeeded; redelivery ignored", job_id)
            return None
        job.status = JobStatus.RUNNING.value
        job.started_at = utcnow()
        job.finished_at = None
        job.attempts = (job.attempts or 0) + 1
        session.flush()
    return job


_last_progress: dict[int, float] = {}
_progress_lock = threading.Lock()


def _clamp(fraction: float) -> float:
    try:
        fraction = float(fraction)
    except (TypeError, ValueError):
        return 0.0
    if math.isnan(fraction):
        return 0.0
    return min(1.0, max(0.0, fraction))


def report_progress(engine: Engine, job_id: int, fraction: float, message: str = "", *, force: bool = False) -> bool:
    """Record progress of a running job in its own short transaction.

    ``fraction`` is clamped to [0, 1]. Writes are throttled to one per ``PROGRESS_INTERVAL`` per
    job (``force`` or a fraction of 1 always writes). Returns whether a write happened.
    """
    fraction = _clamp(fraction)
    now = time.monotonic()
    with _progress_lock:
        last = _last_progress.get(job_id)
        if not force and fraction < 1.0 and last is not None and now - last < PROGRESS_INTERVAL:
            return False
        _last_progress[job_id] = now
    with engine.begin() as conn:
        conn.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.RUNNING.value)
            .values(progress=fraction, progress_message=(message or "")[:MAX_MESSAGE_LENGTH])
        )
    return True


def _forget_progress(job_id: int) -> None:
    with _progress_lock:
        _last_progress.pop(job_id, None)


def record_success(connection: Connection | Session, job_id: int, result: dict[str, Any]) -> bool:
    """Mark the job succeeded inside the caller's transaction (commit it with the work's effect).

    Returns False when the job had already succeeded (the result is then left as it was).
    """
    outcome = connection.execute(
        update(Job)
        .where(Job.id == job_id, Job.status != JobStatus.SUCCEEDED.value)
        .values(
            status=JobStatus.SUCCEEDED.value,
            result=json.loads(json.dumps(result or {})),
            error=None,
            progress=1.0,
            progress_message="done",
            finished_at=utcnow(),
        )
    )
    if outcome.rowcount == 0:
        return False
    audit.record_job(connection, job_id, AuditOutcome.DONE)
    return True


def finish_job(engine: Engine, job_id: int, result: dict[str, Any]) -> None:
    """Mark the job succeeded with ``result`` (a JSON object), in its own transaction."""
    with engine.begin() as conn:
        record_success(conn, job_id, result)
    _forget_progress(job_id)


def fail_job(engine: Engine, job_id: int, error: str, *, final: bool) -> None:
    """Record an error. ``final``: no retry follows, the job is failed; otherwise back to queued."""
    values: dict[str, Any] = {"error": (error or "unknown error")[:MAX_ERROR_LENGTH]}
    if final:
        values.update(status=JobStatus.FAILED.value, finished_at=utcnow())
    else:
        values.update(status=JobStatus.QUEUED.value)
    with engine.begin() as conn:
        failed = conn.execute(
            update(Job).where(Job.id == job_id, Job.status != JobStatus.SUCCEEDED.value).values(**values)
        ).rowcount
        if final and failed:
            audit.record_job(conn, job_id, AuditOutcome.FAILED)
    _forget_progress(job_id)


def describe_error(exc: BaseException) -> str:
    message = str(exc).strip()
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def run_job(
    engine: Engine,
    job_id: int,
    work: Callable[[Job, Progress], dict[str, Any] | None],
    *,
    will_retry: Callable[[BaseException], bool] = lambda exc: False,
) -> dict[str, Any] | None:
    """Run ``work(job, progress)`` for a job: start it, run it, record the outcome.

    Returns the result, or None when the job was skipped (already succeeded, gone, or running
    elsewhere right now). On an exception the error is recorded (final unless ``will_retry(exc)``
    says a retry follows; never retried for ``PERMANENT_ERRORS``) and the exception re-raised,
    so the queue can retry. ``progress(fraction, message="")`` is throttled and clamped.
    """
    key = job_id & 0x7FFFFFFF
    with engine.connect() as lock_conn:
        got_lock = lock_conn.execute(
            text("SELECT pg_try_advisory_lock(:ns, :key)"), {"ns": _LOCK_NAMESPACE, "key": key}
        ).scalar_one()
        lock_conn.commit()
        if not got_lock:
            log.warning("job %s is running in another worker; this delivery is skipped", job_id)
            return None
        try:
            return _run_locked(engine, job_id, work, will_retry)
        finally:
            try:
                lock_conn.execute(text("SELECT pg_advisory_unlock(:ns, :key)"), {"ns": _LOCK_NAMESPACE, "key": key})
                lock_conn.commit()
            except Exception:  # the connection is broken: the server dropped the lock with it
                lock_conn.invalidate()
                log.warning("could not release the lock of job %s", job_id, exc_info=True)


def _run_locked(engine: Engine, job_id: int, work, will_retry) -> dict[str, Any] | None:
    job = start_job(engine, job_id)
    if job is None:
        return None

    def progress(fraction: float, message: str = "") -> None:
        report_progress(engine, job_id, fraction, message)

    try:
        result = work(job, progress)
    except BaseException as exc:
        final = isinstance(exc, PERMANENT_ERRORS) or not will_retry(exc)
        if final:
            log.error("job %s (%s) failed: %s", job_id, job.kind, describe_error(exc), exc_info=True)
        else:
            log.warning("job %s (%s) failed, will retry: %s", job_id, job.kind, describe_error(exc))
        try:
            fail_job(engine, job_id, describe_error(exc), final=final)
        except Exception:
            log.exception("could not record the failure of job %s", job_id)
        raise
    result = dict(result or {})
    finish_job(engine, job_id, result)
    return result


__all__ = [
    "JobRefused",
    "PERMANENT_ERRORS",
    "Progress",
    "create_job",
    "get_job",
    "list_jobs",
    "start_job",
    "report_progress",
    "record_success",
    "finish_job",
    "fail_job",
    "run_job",
    "describe_error",
]
