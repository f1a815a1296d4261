"""Scheduled pulls: an installation's setting keeps its schedule; due schedules fire once each,
also with two ticks at once and with two worker processes ticking against one database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session

from domain import clock
from domain.accounts import service as accounts
from domain.integrations import service as integrations
from domain.scheduling import service as scheduling
from tests.imports.test_pull_reader import PAGE, api  # noqa: F401  (fixture)
from tests.test_jobs import _settled, _wait_for, broker, jobs_runtime  # noqa: F401  (fixtures)


def _ticketing(infos):
    return integrations.find_plugin(infos, "ticketing")


def _install(session, account_id, infos, url="http://127.0.0.1:9/changes", every=5):
    return integrations.install_plugin(
        session,
        account_id,
        _ticketing(infos),
        integrations.PluginSetup(config={"pull_url": url, "pull_every_minutes": every, "page_size": PAGE}),
    )


def test_the_setting_keeps_the_schedule(runtime, session, account, other_account):
    infos = runtime.plugins.plugin_infos()
    before = clock.now()
    _install(session, account.id, infos, every=5)
    (schedule,) = scheduling.schedules(session, account.id)
    assert (schedule.name, schedule.job_kind, schedule.every_minutes, schedule.plugin) == (
        "feed:ticketing.pull",
        "pull_feed",
        5,
        "ticketing",
    )
    assert schedule.params == {"reader": "ticketing.pull", "plugin": "ticketing"}
    assert before + timedelta(minutes=5) <= schedule.next_run_at <= clock.now() + timedelta(minutes=5)
    assert scheduling.schedules(session, other_account.id) == []

    info = _ticketing(infos)
    change = integrations.change_installation
    # Another setting keeps the rhythm; a new interval starts from now.
    change(session, account.id, info, integrations.InstallationChanges(config={"page_size": 10}))
    assert scheduling.schedules(session, account.id)[0].next_run_at == schedule.next_run_at
    change(session, account.id, info, integrations.InstallationChanges(config={"pull_every_minutes": 60}))
    assert scheduling.schedules(session, account.id)[0].every_minutes == 60
    # Disabled or 0: no schedule; enabled again: back.
    change(session, account.id, info, integrations.InstallationChanges(enabled=False))
    assert scheduling.schedules(session, account.id) == []
    change(session, account.id, info, integrations.InstallationChanges(enabled=True))
    assert len(scheduling.schedules(session, account.id)) == 1
    change(session, account.id, info, integrations.InstallationChanges(config={"pull_every_minutes": 0}))
    assert scheduling.schedules(session, account.id) == []
    change(session, account.id, info, integrations.InstallationChanges(config={"pull_every_minutes": 15}))
    integrations.uninstall_plugin(session, account.id, "ticketing")
    session.expire_all()
    assert scheduling.schedules(session, account.id) == []  # gone with the installation


def test_a_bad_interval_is_a_typed_error(runtime, session, account):
    from domain.errors import InputError, Key

    with pytest.raises(InputError) as caught:
        _install(session, account.id, runtime.plugins.plugin_infos(), every=-1)
    assert [(e.code.value, e.path) for e in caught.value.problems] == [
        ("out_of_range", ("config", Key("pull_every_minutes")))
    ]


def test_due_schedules_fire_once_and_catch_up_with_one_run(runtime, session, account):
    infos = runtime.plugins.plugin_infos()
    _install(session, account.id, infos, every=5)
    (schedule,) = scheduling.schedules(session, account.id)
    due = schedule.next_run_at

    assert scheduling.fire_due_schedules(session, now=due - timedelta(seconds=1)) == []
    (job,) = scheduling.fire_due_schedules(session, now=due + timedelta(minutes=1))
    assert (job.account_id, job.kind, job.status) == (account.id, "pull_feed", "queued")
    assert job.params == {"reader": "ticketing.pull", "plugin": "ticketing", "schedule": "feed:ticketing.pull"}
    session.expire_all()
    (schedule,) = scheduling.schedules(session, account.id)
    assert schedule.next_run_at == due + timedelta(minutes=5) and schedule.last_job_id == job.id

    # While its job is queued the schedule waits, even when due again.
    later = due + timedelta(minutes=17)
    assert scheduling.fire_due_schedules(session, now=later) == []
    session.execute(text("UPDATE job SET status = 'succeeded' WHERE id = :id"), {"id": job.id})
    # After a downtime of three intervals: one run, and the next is after now, in step.
    (again,) = scheduling.fire_due_schedules(session, now=later)
    session.expire_all()
    (schedule,) = scheduling.schedules(session, account.id)
    assert schedule.next_run_at == due + timedelta(minutes=20) and schedule.last_job_id == again.id


def test_two_ticks_at_once_fire_a_due_schedule_once(committed_engine, runtime):
    infos = runtime.plugins.plugin_infos()
    with Session(committed_engine) as s:
        account = accounts.create_account(s, name=f"Ticks {uuid.uuid4().hex[:6]}")
        _install(s, account.id, infos, every=5)
        s.execute(text("UPDATE schedule SET next_run_at = now() - interval '1 minute'"))
        s.commit()
        account_id = account.id
    with Session(committed_engine) as first, Session(committed_engine) as second:
        fired = scheduling.fire_due_schedules(first)  # holds the row until it commits
        assert len(fired) == 1
        assert scheduling.fire_due_schedules(second) == []  # skipped, not waited for
        first.commit()
        assert scheduling.fire_due_schedules(second) == []  # no longer due
        second.commit()
    with committed_engine.connect() as conn:
        jobs = conn.execute(text("SELECT count(*) FROM job WHERE account_id = :a"), {"a": account_id}).scalar()
    assert jobs == 1


def test_two_worker_processes_run_a_due_pull_once(broker, jobs_runtime, api, db_url, redis_url):  # noqa: F811
    """`marquee worker` with two processes, each ticking every 0.2 s: the due pull runs once."""
    engine = jobs_runtime.engine
    infos = jobs_runtime.plugins.plugin_infos()
    with Session(engine) as s:
        account = accounts.create_account(s, name=f"Scheduled {uuid.uuid4().hex[:6]}")
        _install(s, account.id, infos, url=api.url, every=60)
        s.execute(text("UPDATE schedule SET next_run_at = now() - interval '1 minute'"))
        s.commit()
        account_id = account.id
    env = dict(
        os.environ,
        MARQUEE_DATABASE_URL=db_url,
        MARQUEE_REDIS_URL=redis_url,
        MARQUEE_REDIS_NAMESPACE=broker.namespace,
        MARQUEE_SCHEDULER_TICK_SECONDS="0.2",
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from jobs.worker import run_worker; sys.exit(run_worker(processes=2, threads=1))",
        ],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        job_id = None
        while job_id is None and time.monotonic() < deadline:
            with engine.connect() as conn:
                job_id = conn.execute(
                    text("SELECT id FROM job WHERE account_id = :a AND kind = 'pull_feed'"), {"a": account_id}
                ).scalar()
            time.sleep(0.2)
        assert job_id is not None, "the schedule never fired"
        job = _wait_for(engine, job_id, _settled, timeout=120)
        assert job.status == "succeeded", job.error
        assert job.result["counts"]["person"]["created"] == 120
        time.sleep(2)  # ten more ticks in each process
        with engine.connect() as conn:
            jobs = conn.execute(text("SELECT count(*) FROM job WHERE account_id = :a"), {"a": account_id}).scalar()
        assert jobs == 1
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()


def test_a_job_lost_on_its_way_to_the_queue_holds_its_schedule_for_a_day_at_most(runtime, session, account):
    _install(session, account.id, runtime.plugins.plugin_infos(), every=5)
    (schedule,) = scheduling.schedules(session, account.id)
    (job,) = scheduling.fire_due_schedules(session, now=schedule.next_run_at)
    later = schedule.next_run_at + timedelta(hours=2)
    assert scheduling.fire_due_schedules(session, now=later) == []  # still queued: wait
    session.execute(text("UPDATE job SET created_at = created_at - interval '2 days' WHERE id = :id"), {"id": job.id})
    assert len(scheduling.fire_due_schedules(session, now=later)) == 1  # never ran: fire again


def test_worker_start_brings_schedules_in_step_with_the_plugins(runtime, session, account):
    from domain.integrations.registry import PluginInfo

    infos = runtime.plugins.plugin_infos()
    _install(session, account.id, infos, every=5)
    session.execute(text("DELETE FROM schedule WHERE account_id = :a"), {"a": account.id})  # as before an upgrade
    assert integrations.keep_all_schedules(session, infos) >= 1
    assert [s.name for s in scheduling.schedules(session, account.id)] == ["feed:ticketing.pull"]
    # A plugin that no longer contributes scheduled runs: its schedules go.
    assert integrations.keep_all_schedules(session, [PluginInfo(name="ticketing")]) == 0
    assert scheduling.schedules(session, account.id) == []
