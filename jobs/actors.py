"""Dramatiq actors. Each takes ids / JSON values, reloads its rows and calls one domain service.

Importing this module sets the broker up from settings (``MARQUEE_REDIS_URL``) unless a Marquee
broker has been set up already (tests call ``jobs.broker.setup_broker(url)`` first; if they do it
later, the actors move to the new broker).

Jobs are handed to ``enqueue`` when the transaction that created their row commits (the runtime
sets ``domain.jobs_state.service.JOB_SINK``); nothing else enqueues.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select, text

import domain.models  # noqa: F401  (every table, so foreign keys resolve in a bare worker process)
from domain.errors import InputError
from domain.jobs_state.models import Job
from domain.jobs_state.service import JobRefused, Progress, record_success, run_job
from domain.people.models import Person
from jobs.broker import actor, get_broker, will_retry
from marquee.runtime import get_runtime

log = logging.getLogger(__name__)

get_broker()  # actors bind to the broker when they are declared

MINUTE_MS = 60_000
DEMO_LOCK_NAMESPACE = 0x44454D4F  # "DEMO": one demo load per account at a time


@actor(
    "marquee.load_demo_data",
    max_retries=3,
    min_backoff=5_000,
    max_backoff=5 * MINUTE_MS,
    time_limit=30 * MINUTE_MS,
    throws=(JobRefused, InputError),
    notify_shutdown=True,
)
def load_demo_data(job_id: int) -> None:
    """Load the demo venue's data into the (empty) account of job ``job_id``.

    Job params: ``{"people": int, "seed": int}``. Result: the generator's counts.
    """
    run_job(get_runtime().engine, job_id, _load_demo_data_work, will_retry=will_retry)


def _load_demo_data_work(job: Job, progress: Progress) -> dict[str, Any]:
    from domain.demo.generator import load_demo_data as generate  # noqa: PLC0415 (heavy: faker, numpy)

    from domain.demo.service import check_parameters  # noqa: PLC0415

    people, seed = job.params.get("people", 10_000), job.params.get("seed", 0)
    check_parameters(people, seed)  # a job row written by hand is checked like a request
    engine = get_runtime().engine
    with engine.connect() as conn, conn.begin():
        # Serialise demo loads per account without blocking other writes to it.
        conn.execute(
            text("SELECT pg_advisory_xact_lock(:ns, :account)"),
            {"ns": DEMO_LOCK_NAMESPACE, "account": job.account_id & 0x7FFFFFFF},
        )
        if conn.execute(select(Person.id).where(Person.account_id == job.account_id).limit(1)).first():
            raise JobRefused(
                f"account {job.account_id} already holds persons; demo data is loaded only into an empty account"
            )
        counts = generate(conn, job.account_id, people=people, seed=seed, progress=progress)
        result = {str(k): v for k, v in dict(counts or {}).items()}
        # Recorded in the same transaction as the data: a redelivery finds the job done.
        record_success(conn, job.id, result)
    return result


@actor(
    "marquee.import_feed",
    max_retries=5,
    min_backoff=5_000,
    max_backoff=10 * MINUTE_MS,
    time_limit=6 * 60 * MINUTE_MS,
    throws=(JobRefused, InputError),
    notify_shutdown=True,
)
def import_feed(job_id: int) -> None:
    """Import an uploaded feed (job params: plugin, path in the storage folder, format, bytes).

    Batches commit as they go; a redelivery after a crash imports the feed again, which leaves
    the committed batches as they are (the importer is idempotent). Result: the import's counts
    and refused records."""
    run_job(get_runtime().engine, job_id, _import_feed_work, will_retry=will_retry)


def _import_feed_work(job: Job, progress: Progress) -> dict[str, Any]:
    from domain.imports import service as imports  # noqa: PLC0415

    runtime = get_runtime()
    return imports.run_feed_import(
        runtime.new_session,
        job,
        runtime.plugins.plugin_infos(),
        storage_dir=runtime.settings.storage,
        progress=progress,
    )


@actor(
    "marquee.pull_feed",
    max_retries=5,
    min_backoff=30_000,
    max_backoff=30 * MINUTE_MS,
    time_limit=6 * 60 * MINUTE_MS,
    throws=(JobRefused, InputError),
    notify_shutdown=True,
)
def pull_feed(job_id: int) -> None:
    """Run a plugin's feed reader for the job's account from its stored cursor (params: reader)."""
    run_job(get_runtime().engine, job_id, _pull_feed_work, will_retry=will_retry)


def _pull_feed_work(job: Job, progress: Progress) -> dict[str, Any]:
    from domain.imports import service as imports  # noqa: PLC0415

    runtime = get_runtime()
    reader = runtime.plugins.feed_readers().get(job.params.get("reader", ""))
    if reader is None:
        raise JobRefused(f"no feed reader {job.params.get('reader')!r} is registered")
    return imports.run_feed_reader(
        runtime.new_session,
        job.account_id,
        reader,
        runtime.plugins.plugin_infos(),
        job_id=job.id,
        progress=progress,
    )


@actor(
    "marquee.export_website",
    max_retries=8,
    min_backoff=15_000,
    max_backoff=60 * MINUTE_MS,
    time_limit=10 * MINUTE_MS,
    throws=(JobRefused, InputError),
    notify_shutdown=True,
)
def export_website(job_id: int) -> None:
    """Publish the account's website document through one exporter, if it changed (params:
    exporter). A failed publication is retried with backoff under the same message id."""
    run_job(get_runtime().engine, job_id, _export_website_work, will_retry=will_retry)


def _export_website_work(job: Job, progress: Progress) -> dict[str, Any]:
    from domain.website import service as website  # noqa: PLC0415
    from graph.core.ids import to_global_id  # noqa: PLC0415  (the document speaks the API's ids)

    runtime = get_runtime()
    try:
        exporter = website.find_exporter(runtime.plugins.website_exporters(), job.params.get("exporter", ""))
    except InputError as missing:
        raise JobRefused(str(missing)) from None
    return website.run_export(
        runtime.new_session,
        job.account_id,
        exporter,
        runtime.plugins.plugin_infos(),
        to_global_id,
        message_id=f"msg_{job.account_id}_{job.id}",
        private_targets=runtime.settings.webhook_private_targets,
    )


@actor(
    "marquee.label_segment",
    max_retries=5,
    min_backoff=5_000,
    max_backoff=10 * MINUTE_MS,
    time_limit=60 * MINUTE_MS,
    throws=(JobRefused, InputError),
    notify_shutdown=True,
)
def label_segment(job_id: int) -> None:
    """Tag every member of a segment's snapshot (the job's segment action names the tags)."""
    run_job(get_runtime().engine, job_id, _label_segment_work, will_retry=will_retry)


def _label_segment_work(job: Job, progress: Progress) -> dict[str, Any]:
    from domain.actions import service as actions  # noqa: PLC0415

    return actions.run_label(get_runtime().new_session, job.id, progress)  # type: ignore[arg-type]


@actor(
    "marquee.export_segment",
    max_retries=5,
    min_backoff=5_000,
    max_backoff=10 * MINUTE_MS,
    time_limit=2 * 60 * MINUTE_MS,
    throws=(JobRefused, InputError),
    notify_shutdown=True,
)
def export_segment(job_id: int) -> None:
    """Write a segment's snapshot to a file in the storage folder (the action names the format)."""
    run_job(get_runtime().engine, job_id, _export_segment_work, will_retry=will_retry)


def _export_segment_work(job: Job, progress: Progress) -> dict[str, Any]:
    from domain.actions import export, workbook  # noqa: PLC0415

    runtime = get_runtime()
    run = workbook.run_xlsx_export if job.params.get("format") == "xlsx" else export.run_export
    settings = runtime.settings
    return run(runtime.new_session, job.id, settings.storage, progress, keep_days=settings.export_keep_days)  # type: ignore[arg-type]


@actor(
    "marquee.update_persons",
    max_retries=5,
    min_backoff=5_000,
    max_backoff=10 * MINUTE_MS,
    time_limit=2 * 60 * MINUTE_MS,
    throws=(JobRefused, InputError),
    notify_shutdown=True,
)
def update_persons(job_id: int) -> None:
    """Update persons from an uploaded workbook (the XLSX layout of a segment export; params: path)."""
    run_job(get_runtime().engine, job_id, _update_persons_work, will_retry=will_retry)


def _update_persons_work(job: Job, progress: Progress) -> dict[str, Any]:
    from domain.actions import workbook  # noqa: PLC0415

    runtime = get_runtime()
    return workbook.run_workbook_update(runtime.new_session, job, runtime.settings.storage, progress)


@actor(
    "marquee.rescore_interests",
    max_retries=5,
    min_backoff=5_000,
    max_backoff=10 * MINUTE_MS,
    time_limit=60 * MINUTE_MS,
    throws=(JobRefused, InputError),
    notify_shutdown=True,
)
def rescore_interests(job_id: int) -> None:
    """Score every person of the job's account again from their interactions (no params).
    Result: persons and scores written."""
    run_job(get_runtime().engine, job_id, _rescore_interests_work, will_retry=will_retry)


def _rescore_interests_work(job: Job, progress: Progress) -> dict[str, Any]:
    from domain.recommendations import scoring  # noqa: PLC0415

    result = scoring.rebuild_interest_scores(get_runtime().new_session, job.account_id, progress=progress)
    return {"persons": result.persons, "scores": result.scores}


@actor(
    "marquee.segment_picks",
    max_retries=5,
    min_backoff=5_000,
    max_backoff=10 * MINUTE_MS,
    time_limit=60 * MINUTE_MS,
    throws=(JobRefused, InputError),
    notify_shutdown=True,
)
def segment_picks(job_id: int) -> None:
    """Compute each member's personal picks for a picks action (batches committed: a retry goes on).
    Result: members, members with picks, picks, members without interests, productions on sale."""
    run_job(get_runtime().engine, job_id, _segment_picks_work, will_retry=will_retry)


def _segment_picks_work(job: Job, progress: Progress) -> dict[str, Any]:
    from domain.recommendations import picks  # noqa: PLC0415

    return picks.run_picks(get_runtime().new_session, job.id, progress)  # type: ignore[arg-type]


@actor(
    "marquee.send_offer",
    queue_name="bulk",  # bulk mail apart: a large send does not hold other work back
    max_retries=20,
    min_backoff=10_000,
    max_backoff=5 * MINUTE_MS,
    time_limit=3 * 60 * MINUTE_MS,
    throws=(JobRefused, InputError),
    notify_shutdown=True,
)
def send_offer(job_id: int) -> None:
    """Send an offer action's mails (the send ledger makes a rerun resume, never send twice)."""
    run_job(get_runtime().engine, job_id, _send_offer_work, will_retry=will_retry)


def _send_offer_work(job: Job, progress: Progress) -> dict[str, Any]:
    from domain.mail import offers  # noqa: PLC0415
    from domain.mail.links import Links  # noqa: PLC0415

    runtime = get_runtime()
    return offers.run_offer(
        runtime.new_session,
        job.id,  # type: ignore[arg-type]
        mailers=runtime.plugins.mailers(),
        infos=runtime.plugins.plugin_infos(),
        links=Links(runtime.settings.secret_key, runtime.settings.base_url),
        progress=progress,
    )


@actor(
    "marquee.push_audience",
    queue_name="bulk",
    max_retries=20,
    min_backoff=30_000,
    max_backoff=60 * MINUTE_MS,
    time_limit=2 * 60 * MINUTE_MS,
    throws=(JobRefused, InputError),
    notify_shutdown=True,
)
def push_audience(job_id: int) -> None:
    """Push a segment's snapshot in batches through a plugin's pusher (delivered batches are kept)."""
    run_job(get_runtime().engine, job_id, _push_audience_work, will_retry=will_retry)


def _push_audience_work(job: Job, progress: Progress) -> dict[str, Any]:
    from domain.mail import audiences  # noqa: PLC0415
    from graph.core.ids import to_global_id  # noqa: PLC0415  (the batches speak the API's ids)

    runtime = get_runtime()
    return audiences.run_push(
        runtime.new_session,
        job.id,  # type: ignore[arg-type]
        pushers=runtime.plugins.audience_pushers(),
        infos=runtime.plugins.plugin_infos(),
        person_id=to_global_id,
        progress=progress,
        private_targets=runtime.settings.webhook_private_targets,
    )


@actor(
    "marquee.refresh_local_dates",
    max_retries=5,
    min_backoff=5_000,
    max_backoff=10 * MINUTE_MS,
    time_limit=60 * MINUTE_MS,
    throws=(JobRefused, InputError),
    notify_shutdown=True,
)
def refresh_local_dates(job_id: int) -> None:
    """After a time zone change: the account's purchase facts again, dated in the new zone (one
    transaction; a retry does it again). Result: the zone and the tickets dated."""
    run_job(get_runtime().engine, job_id, _refresh_local_dates_work, will_retry=will_retry)


def _refresh_local_dates_work(job: Job, progress: Progress) -> dict[str, Any]:
    from domain.accounts import settings  # noqa: PLC0415

    progress(0.05, "dating orders and events in the new time zone")
    with get_runtime().new_session() as session, session.begin():
        return settings.refresh_local_dates(session, job.account_id)


@actor(
    "marquee.privacy_export",
    max_retries=5,
    min_backoff=5_000,
    max_backoff=10 * MINUTE_MS,
    time_limit=60 * MINUTE_MS,
    throws=(JobRefused, InputError),
    notify_shutdown=True,
)
def privacy_export(job_id: int) -> None:
    """Write everything held about one person to a JSON document in the storage folder."""
    run_job(get_runtime().engine, job_id, _privacy_export_work, will_retry=will_retry)


def _privacy_export_work(job: Job, progress: Progress) -> dict[str, Any]:
    from domain.privacy import service as privacy  # noqa: PLC0415

    runtime = get_runtime()
    return privacy.run_export(runtime.new_session, job.id, runtime.settings.storage, progress)  # type: ignore[arg-type]


@actor(
    "marquee.privacy_erase",
    max_retries=5,
    min_backoff=5_000,
    max_backoff=10 * MINUTE_MS,
    time_limit=60 * MINUTE_MS,
    throws=(JobRefused, InputError),
    notify_shutdown=True,
)
def privacy_erase(job_id: int) -> None:
    """Erase one person (one transaction: a retry does it all again)."""
    run_job(get_runtime().engine, job_id, _privacy_erase_work, will_retry=will_retry)


def _privacy_erase_work(job: Job, progress: Progress) -> dict[str, Any]:
    from domain.privacy import service as privacy  # noqa: PLC0415

    runtime = get_runtime()
    return privacy.run_erase(runtime.new_session, job.id, runtime.settings.storage, progress)  # type: ignore[arg-type]


#: Which actor runs which job kind (``Job.kind``).
ACTORS_BY_KIND = {
    "load_demo_data": load_demo_data,
    "import_feed": import_feed,
    "pull_feed": pull_feed,
    "export_website": export_website,
    "label_segment": label_segment,
    "export_segment": export_segment,
    "update_persons": update_persons,
    "send_offer": send_offer,
    "push_audience": push_audience,
    "rescore_interests": rescore_interests,
    "segment_picks": segment_picks,
    "refresh_local_dates": refresh_local_dates,
    "privacy_export": privacy_export,
    "privacy_erase": privacy_erase,
}


def enqueue(job: Job) -> None:
    """Send the job's message. Call after the transaction that created the job has committed."""
    try:
        target = ACTORS_BY_KIND[job.kind]
    except KeyError:
        raise LookupError(f"no actor runs jobs of kind {job.kind!r}") from None
    target.send(job.id)
