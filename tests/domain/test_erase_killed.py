"""An erasure with its worker killed (SIGKILL, the whole process group) while it runs: its one
transaction leaves the person whole (fields, identities, every interaction), nothing half-erased,
and the redelivered job erases them completely."""

from __future__ import annotations

import time
import uuid

from sqlalchemy import text
from sqlmodel import Session

from domain.accounts import service as accounts
from domain.privacy import service as privacy
from domain.privacy.models import PrivacyRequestKind
from tests.test_jobs import _settled, _wait_for, broker, jobs_runtime  # noqa: F401  (fixtures)
from tests.workers import kill, running_worker, wait_until_running, worker_env

INTERACTIONS = 400_000  # a heavy website visitor: the erasure's DELETE takes a while


def _person(engine) -> tuple[int, int]:
    with Session(engine) as s:
        a = accounts.create_account(s, name="erase", slug=f"erase-{uuid.uuid4().hex[:6]}").id
        s.commit()
    with engine.begin() as conn:
        p = conn.execute(
            text(
                "INSERT INTO person (account_id, email, first_name) VALUES (:a, 'weg@voorbeeld.nl', 'Weg') RETURNING id"
            ),
            {"a": a},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO person_identity (account_id, person_id, source, external_id) VALUES (:a, :p, 'kassa', 'K1')"
            ),
            {"a": a, "p": p},
        )
        tag = conn.execute(
            text("INSERT INTO tag (account_id, name, name_key) VALUES (:a, 'Bezoeker', 'bezoeker') RETURNING id"),
            {"a": a},
        )
        conn.execute(
            text(
                "INSERT INTO interaction (account_id, person_id, kind, occurred_at, tag_id, idempotency_key) "
                "SELECT :a, :p, 'visit', now() - i * interval '1 minute', :t, 'v' || i FROM generate_series(1, :n) i"
            ),
            {"a": a, "p": p, "t": tag.scalar_one(), "n": INTERACTIONS},
        )
        conn.execute(text("ANALYZE interaction"))  # see tests/workers.py
    return a, p


def _state(engine, a: int, p: int) -> tuple:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT (SELECT email FROM person WHERE account_id = :a AND id = :p), "
                "(SELECT count(*) FROM person_identity WHERE account_id = :a AND person_id = :p), "
                "(SELECT count(*) FROM interaction WHERE account_id = :a AND person_id = :p), "
                "(SELECT count(*) FROM person_suppression WHERE account_id = :a)"
            ),
            {"a": a, "p": p},
        ).one()


def _wait_for_statement(engine, start: str, timeout: float = 60) -> None:
    """Until another backend runs a statement beginning with ``start`` (a fixed sleep let a quick
    machine finish the erasure before the kill)."""
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            running = conn.execute(
                text(
                    "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                    "AND state = 'active' AND query LIKE :q)"
                ),
                {"q": start + "%"},
            ).scalar()
            conn.rollback()
            if running:
                return
            time.sleep(0.002)
    raise AssertionError(f"no statement {start!r} ran within {timeout} s")


def test_a_worker_killed_mid_erasure_leaves_the_person_whole_and_a_rerun_erases_them(
    broker,  # noqa: F811
    jobs_runtime,  # noqa: F811
    db_url,
    redis_url,
    tmp_path,
):
    import jobs.actors as actors

    engine = jobs_runtime.engine
    a, p = _person(engine)
    whole = ("weg@voorbeeld.nl", 1, INTERACTIONS, 0)
    assert tuple(_state(engine, a, p)) == whole
    with Session(engine) as s:
        job_id = privacy.start_request(s, a, PrivacyRequestKind.ERASE, p).job.id
        s.commit()
    env = worker_env(db_url, redis_url, broker.namespace, MARQUEE_STORAGE_DIR=str(tmp_path))
    with running_worker(env) as first:
        actors.privacy_erase.send(job_id)
        wait_until_running(engine, job_id)
        _wait_for_statement(engine, "DELETE FROM interaction")  # into the erasure's statements
        kill(first)
    with engine.connect() as conn:
        status = conn.execute(text("SELECT status FROM job WHERE id = :j"), {"j": job_id}).scalar()
    assert status == "running", "the kill came too late to test anything"
    assert tuple(_state(engine, a, p)) == whole  # rolled back whole: nothing half-erased

    with running_worker(env):
        actors.privacy_erase.send(job_id)  # the redelivery
        job = _wait_for(engine, job_id, _settled, timeout=240)
        assert job.status == "succeeded", job.error
        assert job.attempts == 2
        assert job.result["removed"]["interaction"] == INTERACTIONS
    assert tuple(_state(engine, a, p)) == (None, 0, 0, 2)
