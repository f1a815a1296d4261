"""Jobs end to end: job rows, the real Redis broker, an in-process dramatiq worker, real commits."""

from __future__ import annotations

import threading
import time
import uuid

import dramatiq
import pytest
from sqlalchemy import func, select, text
from sqlmodel import Session

from domain.accounts import service as accounts
from domain.errors import InputError
from domain.jobs_state import service as jobs
from domain.jobs_state.models import Job
from domain.people.models import Person
from jobs import broker as job_broker
from marquee.runtime import build_runtime, set_runtime

WAIT = 60  # seconds: upper bound for anything to happen through the broker

# -- a scripted actor, declared once, for the job machinery independent of the demo generator ---

_release = threading.Event()
_scripted = None


def _scripted_work(job: Job, progress) -> dict:
    behaviour = job.params["behaviour"]
    if behaviour == "ok":
        progress(0.5, "halfway")
        return {"done": job.params.get("n", 1)}
    if behaviour == "fail":
        raise RuntimeError("scripted failure")
    if behaviour == "refuse":
        raise jobs.JobRefused("not like this")
    if behaviour == "wait":
        progress(0.5, "halfway")
        if not _release.wait(WAIT):
            raise TimeoutError("never released")
        return {"waited": True}
    raise AssertionError(behaviour)


def _declare_scripted_actor():
    global _scripted
    if _scripted is None:
        from marquee.runtime import get_runtime

        @job_broker.actor(
            "marquee.test.scripted", max_retries=1, min_backoff=10, max_backoff=50, throws=(jobs.JobRefused,)
        )
        def scripted(job_id: int) -> None:
            jobs.run_job(get_runtime().engine, job_id, _scripted_work, will_retry=job_broker.will_retry)

        _scripted = scripted
    return _scripted


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture()
def broker(redis_url):
    """A broker on the test Redis with a namespace of its own; Marquee's actors move onto it."""
    b = job_broker.setup_broker(redis_url, namespace=f"marquee-test-{uuid.uuid4().hex[:8]}")
    import jobs.actors  # noqa: F401  (declares the actors on this broker)

    _declare_scripted_actor()
    yield b
    b.flush_all()


@pytest.fixture()
def jobs_runtime(committed_engine, test_settings):
    rt = build_runtime(test_settings, engine=committed_engine)
    set_runtime(rt)
    try:
        yield rt
    finally:
        set_runtime(None)


@pytest.fixture()
def worker(broker, jobs_runtime):
    w = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    w.start()
    try:
        yield w
    finally:
        _release.set()
        w.stop()
        _release.clear()


def _account(engine, name="Job Venue") -> int:
    with Session(engine) as s:
        account = accounts.create_account(s, name=f"{name} {uuid.uuid4().hex[:6]}")
        s.commit()
        return account.id


def _job(engine, account_id: int, kind: str, params: dict) -> int:
    with Session(engine) as s:
        job = jobs.create_job(s, account_id, kind=kind, params=params)
        s.commit()
        return job.id


def _load(engine, job_id: int) -> Job:
    with Session(engine, expire_on_commit=False) as s:
        return s.execute(select(Job).where(Job.id == job_id)).scalar_one()


def _wait_for(engine, job_id: int, predicate, timeout: float = WAIT) -> Job:
    deadline = time.monotonic() + timeout
    while True:
        job = _load(engine, job_id)
        if predicate(job):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} stuck: status={job.status} error={job.error}")
        time.sleep(0.05)


def _settled(job: Job) -> bool:
    return job.status in ("succeeded", "failed")


# -- the domain service, without a broker -------------------------------------------------------


def test_create_list_and_get_jobs_are_account_scoped(session, account, other_account):
    ids = [jobs.create_job(session, account.id, kind="export", params={"n": i}).id for i in range(3)]
    jobs.create_job(session, other_account.id, kind="export", params={})
    first = jobs.list_jobs(session, account.id, first=2)
    assert [j.id for j in first.items] == ids[::-1][:2] and first.has_next_page
    rest = jobs.list_jobs(session, account.id, first=2, after=first.end_cursor)
    assert [j.id for j in rest.items] == ids[:1] and not rest.has_next_page
    assert jobs.get_job(session, account.id, ids[0]).params == {"n": 0}
    assert jobs.get_job(session, other_account.id, ids[0]) is None
    job = jobs.get_job(session, account.id, ids[0])
    assert (job.status, job.progress, job.attempts) == ("queued", 0.0, 0)


def test_create_job_rejects_bad_params(session, account):
    with pytest.raises(InputError):
        jobs.create_job(session, account.id, kind="export", params={"when": object()})
    with pytest.raises(InputError):
        jobs.create_job(session, account.id, kind=" ", params={})


def test_run_job_records_start_progress_and_result(committed_engine):
    engine = committed_engine
    job_id = _job(engine, _account(engine), "dummy", {"n": 3})
    seen = {}

    def work(job, progress):
        running = _load(engine, job_id)
        seen.update(status=running.status, attempts=running.attempts, n=job.params["n"])
        progress(0.25, "a quarter")
        seen["progress"] = (_load(engine, job_id).progress, _load(engine, job_id).progress_message)
        return {"rows": job.params["n"]}

    assert jobs.run_job(engine, job_id, work) == {"rows": 3}
    assert seen == {"status": "running", "attempts": 1, "n": 3, "progress": (0.25, "a quarter")}
    job = _load(engine, job_id)
    assert (job.status, job.result, job.progress, job.error, job.attempts) == ("succeeded", {"rows": 3}, 1.0, None, 1)
    assert job.started_at is not None and job.finished_at >= job.started_at


def test_succeeded_job_is_not_run_again(committed_engine):
    engine = committed_engine
    job_id = _job(engine, _account(engine), "dummy", {})
    jobs.run_job(engine, job_id, lambda job, progress: {"ok": 1})
    calls = []
    assert jobs.run_job(engine, job_id, lambda job, progress: calls.append(1)) is None
    assert jobs.start_job(engine, job_id) is None
    assert calls == [] and _load(engine, job_id).attempts == 1


def test_failure_is_recorded_queued_while_retries_remain_then_failed(committed_engine):
    engine = committed_engine
    job_id = _job(engine, _account(engine), "dummy", {})

    def boom(job, progress):
        raise ValueError("disk on fire")

    with pytest.raises(ValueError):
        jobs.run_job(engine, job_id, boom, will_retry=lambda exc: True)
    job = _load(engine, job_id)
    assert (job.status, job.error, job.attempts, job.finished_at) == ("queued", "ValueError: disk on fire", 1, None)
    with pytest.raises(ValueError):
        jobs.run_job(engine, job_id, boom, will_retry=lambda exc: False)
    job = _load(engine, job_id)
    assert (job.status, job.error, job.attempts) == ("failed", "ValueError: disk on fire", 2)
    assert job.finished_at is not None
    # a later success (an operator re-sends the job) clears the error
    assert jobs.run_job(engine, job_id, lambda job, progress: {"ok": 1}) == {"ok": 1}
    job = _load(engine, job_id)
    assert (job.status, job.error, job.attempts) == ("succeeded", None, 3)


def test_refused_job_fails_at_once(committed_engine):
    engine = committed_engine
    job_id = _job(engine, _account(engine), "dummy", {})

    def refuse(job, progress):
        raise jobs.JobRefused("account is not empty")

    with pytest.raises(jobs.JobRefused):
        jobs.run_job(engine, job_id, refuse, will_retry=lambda exc: True)
    job = _load(engine, job_id)
    assert (job.status, job.error) == ("failed", "JobRefused: account is not empty")


def test_progress_is_clamped_and_throttled(committed_engine):
    engine = committed_engine
    job_id = _job(engine, _account(engine), "dummy", {})
    jobs.start_job(engine, job_id)
    assert jobs.report_progress(engine, job_id, 0.1, "first")
    assert not jobs.report_progress(engine, job_id, 0.2, "too soon")
    assert _load(engine, job_id).progress_message == "first"
    assert jobs.report_progress(engine, job_id, 7, "forced", force=True)
    assert _load(engine, job_id).progress == 1.0
    assert jobs.report_progress(engine, job_id, -3, "negative", force=True)
    assert _load(engine, job_id).progress == 0.0
    time.sleep(jobs.PROGRESS_INTERVAL + 0.05)
    assert jobs.report_progress(engine, job_id, float("nan"), "later")
    assert (_load(engine, job_id).progress, _load(engine, job_id).progress_message) == (0.0, "later")


def test_a_job_running_elsewhere_is_not_started_twice(committed_engine):
    engine = committed_engine
    job_id = _job(engine, _account(engine), "dummy", {})
    with engine.connect() as other:  # another worker holds the job's lock
        other.execute(text("SELECT pg_advisory_lock(:ns, :key)"), {"ns": jobs._LOCK_NAMESPACE, "key": job_id})
        calls = []
        assert jobs.run_job(engine, job_id, lambda job, progress: calls.append(1)) is None
        assert calls == [] and _load(engine, job_id).status == "queued"
        other.execute(text("SELECT pg_advisory_unlock_all()"))
        other.commit()
    assert jobs.run_job(engine, job_id, lambda job, progress: {"ok": 1}) == {"ok": 1}


# -- through the real broker and a worker -------------------------------------------------------


def test_broker_handles_the_configured_url_and_moves_actors(redis_url, broker):
    import jobs.actors as actors

    assert job_broker.current_broker() is broker and dramatiq.get_broker() is broker
    assert actors.load_demo_data.broker is broker and _scripted.broker is broker
    assert actors.load_demo_data.actor_name == "marquee.load_demo_data"
    assert actors.load_demo_data.queue_name == job_broker.QUEUE
    assert broker.client.ping()
    assert broker.namespace.startswith("marquee-test-")


def test_job_runs_through_the_broker(worker, jobs_runtime):
    engine = jobs_runtime.engine
    job_id = _job(engine, _account(engine), "scripted", {"behaviour": "ok", "n": 7})
    _scripted.send(job_id)
    job = _wait_for(engine, job_id, _settled)
    assert (job.status, job.result, job.attempts, job.error) == ("succeeded", {"done": 7}, 1, None)


def test_failing_job_is_retried_then_failed_with_the_error(worker, jobs_runtime):
    engine = jobs_runtime.engine
    job_id = _job(engine, _account(engine), "scripted", {"behaviour": "fail"})
    _scripted.send(job_id)
    job = _wait_for(engine, job_id, lambda j: j.status == "failed")
    assert job.attempts == 2  # max_retries=1: the first try and one retry
    assert job.error == "RuntimeError: scripted failure" and job.finished_at is not None


def test_refused_job_is_not_retried(worker, broker, jobs_runtime):
    engine = jobs_runtime.engine
    job_id = _job(engine, _account(engine), "scripted", {"behaviour": "refuse"})
    _scripted.send(job_id)
    job = _wait_for(engine, job_id, lambda j: j.status == "failed")
    broker.join(job_broker.QUEUE, timeout=WAIT * 1000)
    worker.join()
    job = _load(engine, job_id)
    assert (job.attempts, job.error) == (1, "JobRefused: not like this")


def test_progress_is_visible_while_the_job_runs(worker, jobs_runtime):
    engine = jobs_runtime.engine
    job_id = _job(engine, _account(engine), "scripted", {"behaviour": "wait"})
    _scripted.send(job_id)
    job = _wait_for(engine, job_id, lambda j: j.progress == 0.5)
    assert (job.status, job.progress_message) == ("running", "halfway")
    _release.set()
    job = _wait_for(engine, job_id, _settled)
    assert (job.status, job.result, job.progress) == ("succeeded", {"waited": True}, 1.0)


def test_redelivery_of_a_succeeded_job_does_nothing(worker, broker, jobs_runtime):
    engine = jobs_runtime.engine
    job_id = _job(engine, _account(engine), "scripted", {"behaviour": "ok"})
    _scripted.send(job_id)
    before = _wait_for(engine, job_id, _settled)
    _scripted.send(job_id)
    broker.join(job_broker.QUEUE, timeout=WAIT * 1000)
    worker.join()
    after = _load(engine, job_id)
    assert (after.status, after.attempts, after.finished_at, after.result) == (
        "succeeded",
        1,
        before.finished_at,
        before.result,
    )


def test_load_demo_data_end_to_end(worker, broker, jobs_runtime):
    pytest.importorskip("domain.demo.generator")
    import jobs.actors as actors

    engine = jobs_runtime.engine
    account_id = _account(engine, "Demo Venue")
    job_id = _job(engine, account_id, "load_demo_data", {"people": 300, "seed": 7})
    with Session(engine) as s:
        actors.enqueue(jobs.get_job(s, account_id, job_id))
    job = _wait_for(engine, job_id, _settled, timeout=180)
    assert job.status == "succeeded", job.error
    assert job.result and all(isinstance(v, int) for v in job.result.values())

    def persons() -> int:
        with engine.connect() as conn:
            return conn.execute(
                select(func.count()).select_from(Person).where(Person.account_id == account_id)
            ).scalar_one()

    loaded = persons()
    assert loaded >= 300
    assert loaded in job.result.values()

    # redelivery does nothing; a second demo job for the same account is refused
    actors.load_demo_data.send(job_id)
    again = _job(engine, account_id, "load_demo_data", {"people": 300, "seed": 7})
    actors.load_demo_data.send(again)
    refused = _wait_for(engine, again, _settled)
    broker.join(job_broker.QUEUE, timeout=WAIT * 1000)
    worker.join()
    assert refused.status == "failed" and "already holds persons" in refused.error and refused.attempts == 1
    assert persons() == loaded and _load(engine, job_id).attempts == 1


def test_load_demo_data_refuses_bad_params(worker, jobs_runtime):
    import jobs.actors as actors

    engine = jobs_runtime.engine
    job_id = _job(engine, _account(engine), "load_demo_data", {"people": "lots"})
    actors.load_demo_data.send(job_id)
    job = _wait_for(engine, job_id, _settled)
    if "No module named 'domain.demo.generator'" in (job.error or ""):
        pytest.skip("domain.demo.generator is not there yet")
    assert (job.status, job.attempts) == ("failed", 1)
    assert "people" in job.error


def test_enqueue_unknown_kind(broker):
    import jobs.actors as actors

    with pytest.raises(LookupError):
        actors.enqueue(Job(account_id=1, id=1, kind="nope", params={}))


def test_run_worker_runs_jobs_in_worker_processes(broker, jobs_runtime, db_url, redis_url):
    """`marquee worker`'s code path: dramatiq's CLI in a child process that imports only jobs.actors."""
    import os
    import signal
    import subprocess
    import sys

    pytest.importorskip("domain.demo.generator")
    import jobs.actors as actors

    engine = jobs_runtime.engine
    account_id = _account(engine, "Worker Venue")
    job_id = _job(engine, account_id, "load_demo_data", {"people": 300, "seed": 3})
    actors.load_demo_data.send(job_id)
    env = dict(
        os.environ, MARQUEE_DATABASE_URL=db_url, MARQUEE_REDIS_URL=redis_url, MARQUEE_REDIS_NAMESPACE=broker.namespace
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from jobs.worker import run_worker; sys.exit(run_worker(processes=1, threads=1))",
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        job = _wait_for(engine, job_id, _settled, timeout=120)
        assert job.status == "succeeded", job.error
        assert job.result["person"] == 300
    finally:
        proc.send_signal(signal.SIGINT)  # passed on to dramatiq: a clean shutdown
        try:
            assert proc.wait(timeout=60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
    # The worker logs JSON lines, like the API.
    import json

    lines = [line for line in proc.stderr.read().splitlines() if line.strip()]
    assert lines
    records = [json.loads(line) for line in lines]
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)


def test_run_worker_needs_urls():
    from jobs.worker import run_worker

    with pytest.raises(RuntimeError, match="MARQUEE_REDIS_URL"):
        run_worker(env={"MARQUEE_DATABASE_URL": "postgresql://x/y"})
