"""The rescore job with its worker killed (SIGKILL, the whole process group) half-way: the message is
delivered again to a new worker, which ends with exactly the scores of one clean rebuild."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

from sqlalchemy import text
from sqlmodel import Session

from domain import clock
from domain.accounts import service as accounts
from domain.recommendations import scoring
from tests.workers import kill, running_worker, worker_env
from tests.test_jobs import _settled, _wait_for, broker, jobs_runtime  # noqa: F401  (fixtures)

CHUNKS, PER_CHUNK = 60, 300  # persons spread over 60 of the rebuild's id ranges


def _account_with_buyers(engine) -> int:
    """Persons with sparse ids (each group in a range of its own), each with one order of a show
    tagged "jazz" under "music"; facts come from the triggers, no scores yet."""
    with Session(engine) as s:
        a = accounts.create_account(s, name="rescore", slug=f"rescore-{uuid.uuid4().hex[:6]}").id
        s.commit()
    with engine.begin() as conn:
        params = {"a": a}
        music = conn.execute(
            text(
                "INSERT INTO tag (account_id, name, name_key, label) VALUES (:a, 'music', 'music', 'music') RETURNING id"
            ),
            params,
        ).scalar_one()
        jazz = conn.execute(
            text(
                "INSERT INTO tag (account_id, name, name_key, label, parent_id) VALUES (:a, 'jazz', 'jazz', 'jazz', :m) RETURNING id"
            ),
            {"a": a, "m": music},
        ).scalar_one()
        show = conn.execute(
            text("INSERT INTO production (account_id, title) VALUES (:a, 'Jazz') RETURNING id"), params
        ).scalar_one()
        conn.execute(
            text("INSERT INTO production_tag (account_id, production_id, tag_id, source) VALUES (:a, :p, :t, 'staff')"),
            {"a": a, "p": show, "t": jazz},
        )
        venue = conn.execute(
            text("INSERT INTO venue (account_id, name) VALUES (:a, 'Zaal') RETURNING id"), params
        ).scalar_one()
        event = conn.execute(
            text(
                "INSERT INTO event (account_id, production_id, venue_id, starts_at) VALUES (:a, :p, :v, now() + interval '30 days') RETURNING id"
            ),
            {"a": a, "p": show, "v": venue},
        ).scalar_one()
        base = 10**9 + a * 10**7
        conn.execute(
            text(
                "INSERT INTO person (account_id, id, email) SELECT :a, :base + c * :chunk + j, "
                "'p' || c || '-' || j || '@example.nl' FROM generate_series(0, :chunks - 1) c, generate_series(0, :per - 1) j"
            ),
            {"a": a, "base": base, "chunk": scoring.REBUILD_CHUNK, "chunks": CHUNKS, "per": PER_CHUNK},
        )
        conn.execute(text("ANALYZE person"))  # see tests/workers.py: fresh statistics before the bulk inserts
        conn.execute(
            text(
                "INSERT INTO orders (account_id, id, person_id, channel, created_at) "
                "SELECT :a, p.id, p.id, 'online', now() - (p.id % 400) * interval '1 day' FROM person p WHERE p.account_id = :a"
            ),
            params,
        )
        conn.execute(text("ANALYZE orders"))
        conn.execute(
            text(
                "INSERT INTO ticket (account_id, order_id, event_id, person_id, price) "
                "SELECT :a, o.id, :e, o.person_id, 20 FROM orders o WHERE o.account_id = :a"
            ),
            {"a": a, "e": event},
        )
        conn.execute(text("UPDATE account SET modules = ARRAY['recommendations'] WHERE id = :a"), params)
    return a


def _scores(engine, a: int, at=None) -> dict:
    """The scores, decayed to one moment (``at``; now by default): rebuilds at different times compare."""
    at = at or clock.now()
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT person_id, tag_id, value, as_of, interactions FROM interest_score WHERE account_id = :a"),
            {"a": a},
        ).all()
    return {
        (r.person_id, r.tag_id): (round(scoring.decayed(r.value, r.as_of, at, 180.0), 6), r.interactions) for r in rows
    }


def test_a_worker_killed_mid_rescore_is_redelivered_and_ends_as_one_clean_rebuild(
    broker,  # noqa: F811
    jobs_runtime,  # noqa: F811
    db_url,
    redis_url,
):
    import jobs.actors as actors

    engine = jobs_runtime.engine
    a = _account_with_buyers(engine)
    expected = CHUNKS * PER_CHUNK * 2  # jazz and its parent music, for every buyer
    with Session(engine) as s:
        job_id = scoring.start_rescore(s, a).id
        s.commit()
    env = worker_env(db_url, redis_url, broker.namespace)
    with running_worker(env) as first:
        actors.rescore_interests.send(job_id)
        deadline, scored = time.monotonic() + 120, 0
        with engine.connect() as conn:
            while time.monotonic() < deadline and scored == 0:  # a range committed
                scored = conn.execute(
                    text("SELECT count(*) FROM interest_score WHERE account_id = :a"), {"a": a}
                ).scalar()
                conn.rollback()
                time.sleep(0.01)
        kill(first)
    partial = len(_scores(engine, a))
    assert 0 < partial < expected, "the kill came too late or too early to test anything"

    with running_worker(env):
        actors.rescore_interests.send(job_id)  # the redelivery (Redis requeues a dead worker's messages)
        job = _wait_for(engine, job_id, _settled, timeout=240)
        assert job.status == "succeeded", job.error
        assert job.attempts == 2
        assert job.result == {"persons": CHUNKS * PER_CHUNK, "scores": expected}
    moment = clock.now() + timedelta(days=1)
    after_rerun = _scores(engine, a, moment)
    assert len(after_rerun) == expected
    scoring.rebuild_interest_scores(jobs_runtime.new_session, a)  # one clean rebuild
    assert _scores(engine, a, moment) == after_rerun
