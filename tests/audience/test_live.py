"""The live index is exact at query time: every kind of write is in the very next count (no sleep),
others' commits are caught up with, and counts during concurrent writes match a database state."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from sqlalchemy import text
from sqlmodel import Session

from domain.audience import counting as audience
from domain.audience.index import NotIndexed
from domain.audience.live import build_live
from domain.segments import service as segments
from tests.segments.strategies import Scenario
from tests.segments.test_property import SMALL_SCENARIO, write_scenario

# (what is written, statements, a rule whose count it changes)
WRITES = [
    (
        "a person's field",
        ["UPDATE person SET city = 'Utrecht' WHERE account_id = :a AND id = 1001"],
        {"type": "text", "field": "city", "operator": "eq", "value": "utrecht"},
    ),
    (
        "a new person",
        ["INSERT INTO person (account_id, id, email, city) VALUES (:a, 1003, 'new@example.nl', 'Utrecht')"],
        {"type": "text", "field": "city", "operator": "eq", "value": "utrecht"},
    ),
    (
        "a tag link",
        ["INSERT INTO person_tag (account_id, tag_id, person_id, source) VALUES (:a, 2001, 1001, 'staff')"],
        {"type": "tag", "tag_id": 2001},
    ),
    (
        "a tag link removed",
        ["DELETE FROM person_tag WHERE account_id = :a AND person_id = 1002"],
        {"type": "tag", "tag_id": 2001, "include_subtags": True},
    ),
    (
        "a consent",
        ["INSERT INTO person_consent (account_id, person_id, consent_type_id, granted) VALUES (:a, 1002, 7001, true)"],
        {"type": "consent", "consent_type_id": 7001},
    ),
    (
        "a consent withdrawn",
        ["UPDATE person_consent SET granted = false WHERE account_id = :a AND person_id = 1001"],
        {"type": "consent", "consent_type_id": 7001},
    ),
    (
        "a subscription",
        [
            "INSERT INTO subscription (account_id, person_id, name, valid_from) "
            "VALUES (:a, 1001, 'Abonnement', date '2026-01-01')"
        ],
        {"type": "subscription"},
    ),
    (
        "a form submission",
        [
            "INSERT INTO form_submission (account_id, form_id, person_id, submitted_at) "
            "VALUES (:a, 7101, 1001, timestamptz '2026-06-15 09:00+00')"
        ],
        {"type": "form", "form_id": 7101, "within_days": 0},
    ),
    (
        "an interest score",
        [
            "INSERT INTO interest_score (account_id, person_id, tag_id, value, as_of, interactions, last_at) "
            "VALUES (:a, 1002, 2001, 50, timestamptz '2026-06-15 09:00+00', 1, timestamptz '2026-06-15 09:00+00')"
        ],
        {"type": "interest", "tag_id": 2001, "min": 10},
    ),
    (
        "an order with a ticket",
        [
            "INSERT INTO orders (account_id, id, person_id, channel, created_at) "
            "VALUES (:a, 5002, 1002, 'box_office', timestamptz '2026-06-10 12:00+00')",
            "INSERT INTO ticket (account_id, id, order_id, event_id, person_id, price) "
            "VALUES (:a, 6003, 5002, 4001, 1002, 30)",
        ],
        {"type": "purchase", "metric": "revenue", "min": 20},
    ),
    (
        "a ticket cancelled",
        ["UPDATE ticket SET status = 'cancelled' WHERE account_id = :a AND id = 6001"],
        {"type": "purchase", "metric": "revenue", "min": 10},
    ),
    (
        "an event moved",
        ["UPDATE event SET starts_at = timestamptz '2026-06-16 10:00+00' WHERE account_id = :a AND id = 4001"],
        {"type": "impulsive", "max_days_before": 1},
    ),
    (
        "a person erased",
        ["UPDATE person SET erased_at = now() WHERE account_id = :a AND id = 1002"],
        {"all": []},
    ),
    (
        "a person deleted",
        ["DELETE FROM person WHERE account_id = :a AND id = 1001"],
        {"all": []},
    ),
]


def _counts(session, live, account_id, rules, now):
    indexed, report = audience.count_live(session, live, rules=rules, now=now)
    sql = segments.count_matching(session, account_id, rules=rules, now=now)
    assert report.backend == "index"
    return indexed, sql


@pytest.mark.parametrize("others_began", [False, True], ids=["alone", "after-others-began"])
def test_each_kind_of_write_is_in_the_very_next_count(session, db_engine, others_began):
    """With ``others_began``, a later transaction took an id before the base was built, so the
    base's snapshot (taken by this transaction) counts this transaction's id as visible."""
    scenario = Scenario.from_json(SMALL_SCENARIO)
    account_id = write_scenario(session, scenario)
    if others_began:
        with db_engine.connect() as other:
            other.execute(text("SELECT pg_current_xact_id()"))
            other.commit()
    live = build_live(session, account_id)
    own = session.execute(text("SELECT pg_current_xact_id()::text")).scalar_one()
    assert (int(live.base.snapshot.split(":")[1]) > int(own)) == others_began
    for what, statements, rules in WRITES:
        before, _ = _counts(session, live, account_id, rules, scenario.now)
        for statement in statements:
            session.execute(text(statement), {"a": account_id})
        after, sql = _counts(session, live, account_id, rules, scenario.now)
        assert after == sql, what
        assert after != before, f"{what}: the write should change the count"


def test_account_wide_changes_leave_the_count_to_sql(session):
    scenario = Scenario.from_json(SMALL_SCENARIO)
    account_id = write_scenario(session, scenario)
    live = build_live(session, account_id)
    session.execute(text("UPDATE account SET timezone = 'UTC' WHERE id = :a"), {"a": account_id})
    with pytest.raises(NotIndexed, match="time zone"):
        audience.count_live(session, live, rules={"all": []}, now=scenario.now)


def _committed_account(engine) -> tuple[int, Scenario]:
    scenario = Scenario.from_json(SMALL_SCENARIO)
    with Session(engine) as session:
        account_id = write_scenario(session, scenario)
        session.commit()
    return account_id, scenario


def test_others_commits_are_caught_up_and_the_delta_is_shared(committed_engine):
    account_id, scenario = _committed_account(committed_engine)
    with Session(committed_engine) as session:
        live = build_live(session, account_id)
    rules = {"type": "text", "field": "city", "operator": "eq", "value": "utrecht"}
    with Session(committed_engine) as session:
        assert audience.count_live(session, live, rules=rules, now=scenario.now)[0] == 0
    with committed_engine.begin() as conn:
        conn.execute(text("UPDATE person SET city = 'Utrecht' WHERE account_id = :a"), {"a": account_id})
    with Session(committed_engine) as session:
        count, report = audience.count_live(session, live, rules=rules, now=scenario.now)
        assert (count, report.changed_persons) == (2, 2)
        shared = live._delta
        assert shared is not None
        count, report = audience.count_live(session, live, rules=rules, now=scenario.now)
        assert (count, report.changed_persons) == (2, 0)
        assert live._delta is shared  # nothing new: not read again
    # The delta is carried forward: only the person changed since it is read again.
    with committed_engine.begin() as conn:
        conn.execute(text("UPDATE person SET city = 'Delft' WHERE account_id = :a AND id = 1001"), {"a": account_id})
    with Session(committed_engine) as session:
        count, report = audience.count_live(session, live, rules=rules, now=scenario.now)
        assert (count, report.changed_persons) == (1, 1)
        assert live._delta is not shared and live._delta.changed.tolist() == shared.changed.tolist()
        assert count == segments.count_matching(session, account_id, rules=rules, now=scenario.now)


def test_counts_during_concurrent_writes_match_a_database_state(committed_engine):
    """A writer commits pairs of tagged persons, each pair in one transaction over several
    statements; every count must be even (a state of the database) and never go down."""
    account_id, scenario = _committed_account(committed_engine)
    with Session(committed_engine) as session:
        live = build_live(session, account_id)
    stop = threading.Event()
    errors: list[BaseException] = []
    written = [0]

    def write() -> None:
        try:
            for i in range(2000):
                if stop.is_set():
                    return
                with committed_engine.begin() as conn:
                    ids = [20_000 + 2 * i, 20_001 + 2 * i]
                    for pid in ids:
                        conn.execute(
                            text("INSERT INTO person (account_id, id, email) VALUES (:a, :p, :e)"),
                            {"a": account_id, "p": pid, "e": f"{uuid.uuid4().hex[:8]}@example.nl"},
                        )
                    for pid in ids:
                        conn.execute(
                            text(
                                "INSERT INTO person_tag (account_id, tag_id, person_id, source) "
                                "VALUES (:a, 2001, :p, 'staff')"
                            ),
                            {"a": account_id, "p": pid},
                        )
                written[0] += 2
                time.sleep(0.002)  # the writer's pace, so that some catch-ups find a quiet moment
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    writer = threading.Thread(target=write)
    writer.start()
    seen: list[int] = []
    rules = {"type": "tag", "tag_id": 2001, "source": "staff"}
    try:
        while writer.is_alive() and len(seen) < 30:
            with Session(committed_engine) as session:
                try:
                    seen.append(audience.count_live(session, live, rules=rules, now=scenario.now)[0])
                except NotIndexed as busy:  # allowed: the SQL back end would answer
                    assert "kept writing" in str(busy)
    finally:
        stop.set()
        writer.join()
    assert not errors
    with Session(committed_engine) as session:
        final = audience.count_live(session, live, rules=rules, now=scenario.now)[0]
    assert final == written[0]
    assert len(seen) >= 30, "too few counts finished while writing"
    assert all(c % 2 == 0 for c in seen), seen
    assert seen == sorted(seen)


def test_the_tick_prunes_old_journal_rows_and_an_old_index_is_rebuilt(session, monkeypatch):
    from domain.audience import live as live_module
    from domain.audience.index import RebuildNeeded
    from jobs.scheduler import tick

    scenario = Scenario.from_json(SMALL_SCENARIO)
    account_id = write_scenario(session, scenario)
    session.execute(
        text(
            "INSERT INTO audience_change (account_id, person_ids, at) VALUES (:a, '{1001}', now() - interval '7 hours')"
        ),
        {"a": account_id},
    )
    rows = "SELECT count(*) FROM audience_change WHERE account_id = :a"
    before = session.execute(text(rows), {"a": account_id}).scalar_one()

    class Joined:  # the tick's session factory, joined to the test's transaction
        def __enter__(self):
            return session

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(session, "begin", lambda: Joined())
    tick(lambda: Joined())
    assert session.execute(text(rows), {"a": account_id}).scalar_one() == before - 1
    live = build_live(session, account_id)
    monkeypatch.setattr(live_module, "monotonic", lambda: live.built + live_module.MAX_BASE_AGE.total_seconds() + 1)
    with pytest.raises(RebuildNeeded, match="older"):
        audience.count_live(session, live, rules={"all": []}, now=scenario.now)


def test_a_followed_index_catches_up_in_the_background(committed_engine):
    account_id, scenario = _committed_account(committed_engine)
    with Session(committed_engine) as session:
        live = build_live(session, account_id)
    live.follow(committed_engine, every=0.05)
    try:
        with committed_engine.begin() as conn:
            conn.execute(text("UPDATE person SET city = 'Utrecht' WHERE account_id = :a"), {"a": account_id})
        deadline = time.monotonic() + 30
        while live._delta is None:
            assert time.monotonic() < deadline, "the follower did not catch up"
            time.sleep(0.02)
        rules = {"type": "text", "field": "city", "operator": "eq", "value": "utrecht"}
        with Session(committed_engine) as session:
            count, report = audience.count_live(session, live, rules=rules, now=scenario.now)
        assert (count, report.changed_persons) == (2, 0)  # nothing left to read at count time
    finally:
        live.stop()
