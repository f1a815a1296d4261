"""A worker killed (SIGKILL, its whole process group) in the middle of an uploaded feed's import job
or of a pull job: the message is delivered again to a new worker, which ends in exactly the state
of one clean import of the same feed."""

from __future__ import annotations

import time
import uuid

from sqlalchemy import text
from sqlmodel import Session

from domain.accounts import service as accounts
from domain.imports import service as imports
from domain.integrations import service as integrations
from tests.imports import feeds
from tests.imports.test_ticketing_import import _state
from tests.workers import kill, running_worker, worker_env
from tests.test_jobs import _settled, _wait_for, broker, jobs_runtime  # noqa: F401  (fixtures)


def _account(engine, infos, slug: str) -> int:
    with Session(engine) as s:
        account = accounts.create_account(s, name=slug, slug=slug)
        integrations.install_plugin(s, account.id, integrations.find_plugin(infos, "ticketing"))
        s.commit()
        return account.id


def test_a_worker_killed_mid_import_is_redelivered_and_ends_as_one_clean_run(
    broker,  # noqa: F811
    jobs_runtime,  # noqa: F811
    db_url,
    redis_url,
    tmp_path,
):
    import jobs.actors as actors

    engine, infos = jobs_runtime.engine, jobs_runtime.plugins.plugin_infos()
    suffix = uuid.uuid4().hex[:6]
    killed, clean = _account(engine, infos, f"killed-{suffix}"), _account(engine, infos, f"clean-{suffix}")
    items = [{k: v for k, v in r.items() if k != "consents"} for r in feeds.records(persons=5000, productions=40)]
    body = feeds.jsonl(items).getvalue()
    storage = tmp_path / "storage"
    with Session(engine) as s:
        job = imports.start_feed_import(
            s,
            killed,
            infos,
            plugin="ticketing",
            stream=feeds.jsonl(items),
            filename="feed.jsonl",
            format=None,
            storage_dir=storage,
            max_bytes=len(body),
        )
        s.commit()
        job_id = job.id
    env = worker_env(db_url, redis_url, broker.namespace, MARQUEE_STORAGE_DIR=str(storage))

    with running_worker(env) as first:
        actors.import_feed.send(job_id)
        deadline = time.monotonic() + 180
        persons = 0
        with engine.connect() as conn:
            while time.monotonic() < deadline and persons < 1000:  # some batches committed, not all
                persons = conn.execute(
                    text("SELECT count(*) FROM person WHERE account_id = :a"), {"a": killed}
                ).scalar()
                conn.rollback()
                time.sleep(0.02)
        kill(first)
    with engine.connect() as conn:
        partial = _state(conn, f"killed-{suffix}")
        status = conn.execute(text("SELECT status FROM job WHERE id = :j"), {"j": job_id}).scalar()
    assert 0 < partial["counts"]["person"] < 5000, "the kill came too late or too early to test anything"
    assert status == "running"  # what the killed worker left; the message was never acknowledged

    with running_worker(env):
        actors.import_feed.send(job_id)  # the redelivery (Redis requeues a dead worker's messages)
        job = _wait_for(engine, job_id, _settled, timeout=240)
        assert job.status == "succeeded", job.error
        assert job.attempts == 2
    assert not list((storage / "feeds" / str(killed)).iterdir())  # the upload is gone once imported

    from domain.imports.importer import ImportOptions, run_import
    from domain.imports.readers import read_jsonl

    run_import(jobs_runtime.new_session, clean, read_jsonl(feeds.jsonl(items)), ImportOptions(source="ticketing"))
    with engine.connect() as conn:
        assert _state(conn, f"killed-{suffix}") == _state(conn, f"clean-{suffix}")


def test_a_worker_killed_mid_pull_resumes_from_its_cursor_and_ends_as_one_clean_run(
    broker,  # noqa: F811
    jobs_runtime,  # noqa: F811
    db_url,
    redis_url,
):
    import jobs.actors as actors
    from tests.imports.test_pull_reader import PAGE, TicketingApi

    engine, infos = jobs_runtime.engine, jobs_runtime.plugins.plugin_infos()
    records = [{k: v for k, v in r.items() if k != "consents"} for r in feeds.records(persons=3000, productions=20)]
    api = TicketingApi(records)
    suffix = uuid.uuid4().hex[:6]
    pulled, clean = _account(engine, infos, f"pulled-{suffix}"), _account(engine, infos, f"clean-{suffix}")
    with Session(engine) as s:
        info = integrations.find_plugin(infos, "ticketing")
        changes = integrations.InstallationChanges(config={"pull_url": api.url, "page_size": PAGE})
        integrations.change_installation(s, pulled, info, changes)
        job = imports.start_feed_pull(s, pulled, infos, jobs_runtime.plugins.feed_readers(), reader="ticketing.pull")
        s.commit()
        job_id = job.id
    env = worker_env(db_url, redis_url, broker.namespace)
    try:
        with running_worker(env) as first:
            actors.pull_feed.send(job_id)
            deadline, cursor = time.monotonic() + 180, None
            with engine.connect() as conn:
                while time.monotonic() < deadline and cursor is None:  # a page committed, not the last
                    cursor = conn.execute(
                        text("SELECT cursor FROM feed_cursor WHERE account_id = :a"), {"a": pulled}
                    ).scalar()
                    conn.rollback()
                    time.sleep(0.02)
            kill(first)
        assert cursor is not None and int(cursor) < len(records), "the kill came too late to test anything"
        api.requests.clear()

        with running_worker(env):
            actors.pull_feed.send(job_id)
            job = _wait_for(engine, job_id, _settled, timeout=240)
            assert job.status == "succeeded", job.error
        assert api.requests[0].get("since") is not None  # the rerun started from the stored cursor
    finally:
        api.server.shutdown()

    from domain.imports.importer import ImportOptions, run_import

    run_import(jobs_runtime.new_session, clean, enumerate(records, 1), ImportOptions(source="ticketing"))
    with engine.connect() as conn:
        assert _state(conn, f"pulled-{suffix}") == _state(conn, f"clean-{suffix}")
