"""The job that dates orders and events again after a time zone change, with its worker killed
(SIGKILL, the whole process group) while it runs: its one transaction leaves the facts as they
were (every date in the old zone, none half-moved), and the redelivered job dates them all anew."""

from __future__ import annotations

import time
import uuid

from sqlalchemy import text
from sqlmodel import Session

from domain.accounts import service as accounts
from domain.accounts import settings
from tests.test_jobs import _settled, _wait_for, broker, jobs_runtime  # noqa: F401  (fixtures)
from tests.workers import kill, running_worker, wait_until_running, worker_env

ORDERS = 60_000  # each at 23:30 UTC: the next day in Amsterdam, the same day in UTC


def _account(engine) -> int:
    with Session(engine) as s:
        a = accounts.create_account(s, name="zone", slug=f"zone-{uuid.uuid4().hex[:6]}").id
        s.commit()
    with engine.begin() as conn:
        p = {"a": a}
        show = conn.execute(text("INSERT INTO production (account_id, title) VALUES (:a, 'Laat') RETURNING id"), p)
        show_id = show.scalar_one()
        venue = conn.execute(text("INSERT INTO venue (account_id, name) VALUES (:a, 'Zaal') RETURNING id"), p)
        event = conn.execute(
            text(
                "INSERT INTO event (account_id, production_id, venue_id, starts_at) "
                "VALUES (:a, :p, :v, '2026-03-10T23:30:00Z') RETURNING id"
            ),
            {"a": a, "p": show_id, "v": venue.scalar_one()},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO person (account_id, email) SELECT :a, 'p' || i || '@example.nl' "
                "FROM generate_series(1, :n) i"
            ),
            {"a": a, "n": ORDERS},
        )
        conn.execute(text("ANALYZE person"))  # see tests/workers.py
        conn.execute(
            text(
                "INSERT INTO orders (account_id, person_id, channel, created_at) "
                "SELECT :a, id, 'online', '2026-03-01T23:30:00Z' FROM person WHERE account_id = :a"
            ),
            p,
        )
        conn.execute(text("ANALYZE orders"))
        conn.execute(
            text(
                "INSERT INTO ticket (account_id, order_id, event_id, person_id, price) "
                "SELECT :a, id, :e, person_id, 20 FROM orders WHERE account_id = :a"
            ),
            {"a": a, "e": event},
        )
    return a


def _dates(engine, a: int) -> dict:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                text("SELECT order_date::text, count(*) FROM ticket_fact WHERE account_id = :a GROUP BY 1"), {"a": a}
            ).all()
        )


def test_a_worker_killed_mid_redating_leaves_the_old_dates_whole_and_a_rerun_moves_them_all(
    broker,  # noqa: F811
    jobs_runtime,  # noqa: F811
    db_url,
    redis_url,
):
    import jobs.actors as actors

    engine = jobs_runtime.engine
    a = _account(engine)
    assert _dates(engine, a) == {"2026-03-02": ORDERS}  # Europe/Amsterdam
    with Session(engine) as s:
        done = settings.change_settings(s, a, settings.SettingsChanges(timezone="UTC"))
        job_id = done.jobs[0].id
        s.commit()
    env = worker_env(db_url, redis_url, broker.namespace)
    with running_worker(env) as first:
        actors.refresh_local_dates.send(job_id)
        wait_until_running(engine, job_id)
        time.sleep(0.2)  # into the rebuild's statement
        kill(first)
    with engine.connect() as conn:
        status = conn.execute(text("SELECT status FROM job WHERE id = :j"), {"j": job_id}).scalar()
    assert status == "running", "the kill came too late to test anything"
    assert _dates(engine, a) == {"2026-03-02": ORDERS}  # rolled back whole: nothing half-moved

    with running_worker(env):
        actors.refresh_local_dates.send(job_id)  # the redelivery
        job = _wait_for(engine, job_id, _settled, timeout=240)
        assert job.status == "succeeded", job.error
        assert job.attempts == 2
        assert job.result == {"timezone": "UTC", "tickets": ORDERS}
    assert _dates(engine, a) == {"2026-03-01": ORDERS}
