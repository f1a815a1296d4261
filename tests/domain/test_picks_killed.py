"""The personal picks job with its worker killed (SIGKILL, the whole process group) after some
batches committed: the message is delivered again to a new worker, which goes on after the last
member done and ends with exactly the picks of one clean run."""

from __future__ import annotations

import time
import uuid

from sqlalchemy import text
from sqlmodel import Session

from domain.accounts import service as accounts
from domain.actions import service as actions
from domain.recommendations import picks, tips
from domain.segments import service as segments
from tests.workers import kill, running_worker, worker_env
from tests.test_jobs import _settled, _wait_for, broker, jobs_runtime  # noqa: F401  (fixtures)

MEMBERS = 16 * picks.BATCH  # sixteen committed batches


def _account_with_members(engine) -> tuple[int, int]:
    """Members in Utrecht: every third likes jazz, every fifth cabaret (scores stored), the rest
    has none (cold start); three shows on sale, the cabaret one the best seller."""
    with Session(engine) as s:
        a = accounts.create_account(s, name="picks", slug=f"picks-{uuid.uuid4().hex[:6]}").id
        s.commit()
    with engine.begin() as conn:
        params = {"a": a}
        conn.execute(text("UPDATE account SET modules = ARRAY['recommendations'] WHERE id = :a"), params)
        tags = {
            name: conn.execute(
                text("INSERT INTO tag (account_id, name, name_key, label) VALUES (:a, :n, :n, :n) RETURNING id"),
                {"a": a, "n": name},
            ).scalar_one()
            for name in ("jazz", "cabaret", "dance")
        }
        venue = conn.execute(
            text("INSERT INTO venue (account_id, name) VALUES (:a, 'Zaal') RETURNING id"), params
        ).scalar_one()
        events = {}
        for n, name in enumerate(tags, 1):
            show = conn.execute(
                text("INSERT INTO production (account_id, title) VALUES (:a, :t) RETURNING id"),
                {"a": a, "t": f"{name} show"},
            ).scalar_one()
            conn.execute(
                text(
                    "INSERT INTO production_tag (account_id, production_id, tag_id, source) VALUES (:a, :p, :t, 'staff')"
                ),
                {"a": a, "p": show, "t": tags[name]},
            )
            events[name] = conn.execute(
                text(
                    "INSERT INTO event (account_id, production_id, venue_id, starts_at) "
                    "VALUES (:a, :p, :v, now() + :d * interval '1 day') RETURNING id"
                ),
                {"a": a, "p": show, "v": venue, "d": 10 * n},
            ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO person (account_id, email, city) SELECT :a, 'p' || i || '@example.nl', 'Utrecht' "
                "FROM generate_series(1, :n) i"
            ),
            {"a": a, "n": MEMBERS},
        )
        conn.execute(text("ANALYZE person"))  # see tests/workers.py: fresh statistics before the bulk inserts
        for name, every in (("jazz", 3), ("cabaret", 5)):
            conn.execute(
                text(
                    "INSERT INTO interest_score (account_id, person_id, tag_id, value, as_of, interactions, last_at) "
                    "SELECT :a, id, :t, 1 + id % 7, now(), 1, now() FROM person WHERE account_id = :a AND id % :k = 0"
                ),
                {"a": a, "t": tags[name], "k": every},
            )
        conn.execute(text("ANALYZE interest_score"))
        buyer = conn.execute(
            text("INSERT INTO person (account_id, email, city) VALUES (:a, 'fan@example.nl', 'Zeist') RETURNING id"),
            params,
        ).scalar_one()
        order = conn.execute(
            text(
                "INSERT INTO orders (account_id, person_id, channel, created_at) VALUES (:a, :p, 'online', now()) RETURNING id"
            ),
            {"a": a, "p": buyer},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO ticket (account_id, order_id, event_id, person_id, price) "
                "SELECT :a, :o, :e, :p, 20 FROM generate_series(1, 3)"
            ),
            {"a": a, "o": order, "e": events["cabaret"], "p": buyer},
        )
    with Session(engine) as s:
        segment = segments.create_segment(
            s, a, name="Utrecht", rules={"type": "text", "field": "city", "operator": "eq", "value": "Utrecht"}
        ).id
        s.commit()
    return a, segment


def _picks(engine, a: int, action_id: int) -> dict[tuple[int, int], tuple[int, float]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT person_id, place, production_id, score FROM member_pick WHERE account_id = :a AND action_id = :act"
            ),
            {"a": a, "act": action_id},
        ).all()
    return {(r.person_id, r.place): (r.production_id, round(r.score, 9)) for r in rows}


def _start(engine, a: int, segment: int) -> tuple[int, int]:
    with Session(engine) as s:
        action = picks.start_picks(s, a, actions.Target(segment), first=2)
        s.commit()
        assert action.id is not None and action.job_id is not None
        return action.id, action.job_id


def test_a_worker_killed_mid_picks_is_redelivered_and_ends_as_one_clean_run(
    broker,  # noqa: F811
    jobs_runtime,  # noqa: F811
    db_url,
    redis_url,
):
    import jobs.actors as actors

    engine = jobs_runtime.engine
    a, segment = _account_with_members(engine)
    action_id, job_id = _start(engine, a, segment)
    env = worker_env(db_url, redis_url, broker.namespace)
    with running_worker(env) as first:
        actors.segment_picks.send(job_id)
        deadline, stored = time.monotonic() + 120, 0
        with engine.connect() as conn:
            while time.monotonic() < deadline and stored == 0:  # a batch committed
                stored = conn.execute(
                    text("SELECT count(*) FROM member_pick WHERE account_id = :a AND action_id = :act"),
                    {"a": a, "act": action_id},
                ).scalar()
                conn.rollback()
                time.sleep(0.01)
        kill(first)
    partial = len({person for person, _ in _picks(engine, a, action_id)})
    assert 0 < partial < MEMBERS, "the kill came too late or too early to test anything"

    with running_worker(env):
        actors.segment_picks.send(job_id)  # the redelivery (Redis requeues a dead worker's messages)
        job = _wait_for(engine, job_id, _settled, timeout=240)
        assert job.status == "succeeded", job.error
        assert job.attempts == 2
        assert job.result["members"] == job.result["with_picks"] == MEMBERS
        assert job.result["picks"] == 2 * MEMBERS
        with engine.connect() as conn:
            unscored = conn.execute(
                text(
                    "SELECT count(*) FROM person WHERE account_id = :a AND city = 'Utrecht' AND id % 3 <> 0 AND id % 5 <> 0"
                ),
                {"a": a},
            ).scalar()
        assert job.result["without_interests"] == unscored > 0
    after_rerun = _picks(engine, a, action_id)
    assert len(after_rerun) == 2 * MEMBERS

    tips.clear_catalogue_cache()
    clean_action, clean_job = _start(engine, a, segment)
    picks.run_picks(jobs_runtime.new_session, clean_job, lambda fraction, message="": None)
    assert _picks(engine, a, clean_action) == after_rerun
