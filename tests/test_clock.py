"""A settable clock outside production: every rule that depends on "now" reads domain.clock."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, UTC

import pytest

from domain import clock
from marquee.runtime import build_runtime
from marquee.settings import SettingsError, settings_from_env
from tests import factories as f

MAY = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture()
def fixed(runtime):
    clock.fix(MAY)
    yield MAY
    clock.fix(None)


def test_the_setting_fixes_the_clock_outside_production_only():
    assert settings_from_env({"MARQUEE_NOW": "2026-05-01T12:00:00+02:00"}).fixed_now == datetime(
        2026, 5, 1, 10, 0, tzinfo=UTC
    )
    with pytest.raises(SettingsError, match="production runs on the real clock"):
        settings_from_env(
            {
                "MARQUEE_NOW": "2026-05-01T12:00:00Z",
                "MARQUEE_ENV": "production",
                "MARQUEE_SECRET_KEY": "k3Jd9-xQ2pLm7vBn4Tz8Wc1Ry6Hs5Ua0Ge",
            }
        )
    with pytest.raises(SettingsError, match="needs its offset"):
        settings_from_env({"MARQUEE_NOW": "2026-05-01T12:00:00"})


def test_the_runtime_applies_the_setting(test_settings, db_engine):
    build_runtime(dataclasses.replace(test_settings, fixed_now=MAY), engine=db_engine, load_entrypoints=False)
    try:
        assert clock.now() == MAY
    finally:
        build_runtime(test_settings, engine=db_engine, load_entrypoints=False)
    assert clock.fixed() is None


def test_relative_conditions_count_from_the_fixed_instant_through_the_api(gql, session, account, fixed):
    from domain.people.models import Person

    session.add_all(
        [
            Person(account_id=account.id, first_name="Recent", created_at=MAY - timedelta(days=3)),
            Person(account_id=account.id, first_name="Older", created_at=MAY - timedelta(days=40)),
        ]
    )
    session.flush()
    query = "{ segmentCount(input: {rules: {condition: {addedOn: {lastDays: %d}}}}) }"
    assert gql(query % 7, token=account.viewer_token)["data"] == {"segmentCount": 1}
    assert gql(query % 60, token=account.viewer_token)["data"] == {"segmentCount": 2}


def test_preference_links_expire_by_the_clock(gql, session, account, fixed):
    person = f.person(session, account.id)
    from graph.core.ids import to_global_id

    made = gql(
        "mutation($p: ID!) { createPreferenceLink(input: {personId: $p}) { ... on PreferenceLinkSuccess "
        "{ token expiresAt } } }",
        {"p": to_global_id("Person", person.id)},
        token=account.marketer_token,
    )
    link = made["data"]["createPreferenceLink"]
    assert link["expiresAt"].startswith("2026-05-31")
    assert gql("{ viewer { kind } }", token=link["token"])["data"] == {"viewer": {"kind": "PERSON"}}
    clock.fix(MAY + timedelta(days=31))
    body = gql("{ preferenceCentre { title } }", token=link["token"])
    assert body["errors"][0]["message"] == "this link has expired"


def test_jobs_are_stamped_by_the_clock(session, account, fixed):
    from domain.jobs_state import service as jobs_state

    job = jobs_state.create_job(session, account.id, kind="load_demo_data", params={})
    assert job.created_at == MAY
