"""The process's audience indexes: small accounts stay with SQL, a large one's index is built in the
background while SQL answers, then counts go through it (with telemetry), and one that cannot catch
up is dropped for a rebuild."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text
from sqlmodel import Session

from domain.audience import registry as audience_registry
from domain.audience.registry import Registry, Settings
from domain.segments import service as segments
from tests.segments.strategies import Scenario
from tests.segments.test_property import SMALL_SCENARIO, write_scenario

RULES = {"type": "text", "field": "city", "operator": "eq", "value": "amsterdam"}


@pytest.fixture
def registry(monkeypatch):
    fresh = Registry(Settings(min_persons=2, budget_bytes=64 * 2**20))
    monkeypatch.setattr(segments, "REGISTRY", fresh)
    monkeypatch.setattr(audience_registry, "REGISTRY", fresh)
    yield fresh
    fresh.clear()  # stops the indexes' followers


def _wait_for_index(registry: Registry, account_id: int) -> None:
    deadline = time.monotonic() + 60
    while account_id not in registry._live:
        assert time.monotonic() < deadline, "the background build did not finish"
        time.sleep(0.05)


def test_counts_move_to_the_index_once_it_is_built(committed_engine, registry):
    scenario = Scenario.from_json(SMALL_SCENARIO)
    with Session(committed_engine) as session:
        account_id = write_scenario(session, scenario)
        session.commit()
    with Session(committed_engine) as session:
        count, report = segments.count_matching_with_report(session, account_id, rules=RULES, now=scenario.now)
        assert (count, report.backend) == (1, "sql") and "no audience index" in report.reason
    _wait_for_index(registry, account_id)
    with committed_engine.begin() as conn:
        conn.execute(text("UPDATE person SET city = 'Amsterdam' WHERE account_id = :a"), {"a": account_id})
    with Session(committed_engine) as session:
        count, report = segments.count_matching_with_report(session, account_id, rules=RULES, now=scenario.now)
    assert (count, report.backend, report.changed_persons) == (2, "index", 2)
    assert report.catch_up_ms > 0 and report.evaluate_ms > 0
    with committed_engine.begin() as conn:  # an account-wide change: the index is dropped, SQL answers
        conn.execute(text("UPDATE account SET timezone = 'UTC' WHERE id = :a"), {"a": account_id})
    with Session(committed_engine) as session:
        count, report = segments.count_matching_with_report(session, account_id, rules=RULES, now=scenario.now)
    assert (count, report.backend) == (2, "sql") and "time zone" in report.reason
    assert account_id not in registry._live


def test_small_accounts_and_a_zero_budget_stay_with_sql(committed_engine, monkeypatch):
    scenario = Scenario.from_json(SMALL_SCENARIO)
    with Session(committed_engine) as session:
        account_id = write_scenario(session, scenario)
        session.commit()
    for settings in (Settings(min_persons=3, budget_bytes=2**30), Settings(min_persons=1, budget_bytes=0)):
        fresh = Registry(settings)
        monkeypatch.setattr(segments, "REGISTRY", fresh)
        with Session(committed_engine) as session:
            assert (
                segments.count_matching_with_report(session, account_id, rules=RULES, now=scenario.now)[1].backend
                == "sql"
            )
        assert not fresh._building and not fresh._live


def test_an_index_with_many_changes_is_renewed_while_it_answers(committed_engine, registry, monkeypatch):
    monkeypatch.setattr(audience_registry, "RENEW_AT_CHANGED", 2)
    scenario = Scenario.from_json(SMALL_SCENARIO)
    with Session(committed_engine) as session:
        account_id = write_scenario(session, scenario)
        session.commit()
    with Session(committed_engine) as session:
        segments.count_matching_with_report(session, account_id, rules=RULES, now=scenario.now)
    _wait_for_index(registry, account_id)
    first = registry._live[account_id]
    with committed_engine.begin() as conn:
        conn.execute(text("UPDATE person SET city = 'Amsterdam' WHERE account_id = :a"), {"a": account_id})
    with Session(committed_engine) as session:  # caught up by the old index; two changed: renewal starts
        count, report = segments.count_matching_with_report(session, account_id, rules=RULES, now=scenario.now)
        assert (count, report.backend) == (2, "index") and first.changed == 2
        segments.count_matching_with_report(session, account_id, rules=RULES, now=scenario.now)
    deadline = time.monotonic() + 60
    while registry._live[account_id] is first:
        assert time.monotonic() < deadline, "the renewal did not finish"
        time.sleep(0.05)
    renewed = registry._live[account_id]
    assert renewed.changed == 0 and first._following is not None and first._following.is_set()
    with Session(committed_engine) as session:
        count, report = segments.count_matching_with_report(session, account_id, rules=RULES, now=scenario.now)
    assert (count, report.backend, report.changed_persons) == (2, "index", 0)
