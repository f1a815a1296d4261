"""An admin changes the account's name, time zone and modules: typed errors for bad input with
nothing changed, a time zone change re-dates orders and events (day-based conditions follow it),
the recommendations module switched on queues a rescore, and only admins may."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from domain.accounts import settings
from tests import factories as f

CHANGE = """mutation($input: ChangeAccountSettingsInput!) { changeAccountSettings(input: $input) {
  ... on AccountSettingsChanged { account { name timezone modules } jobs { kind status } }
  ... on ChangeAccountSettingsFailure { errors { code path message } } } }"""


def _order_just_before_midnight_utc(session, account_id: int) -> int:
    """An order at 23:30 UTC on 1 March: 2 March in Amsterdam, 1 March in UTC."""
    person = f.person(session, account_id, first_name="Noor")
    show = f.production(session, account_id, "Nachtvoorstelling")
    hall = f.venue(session, account_id, name="Zaal")
    event = f.event(session, account_id, show.id, hall.id, starts_at=datetime(2026, 3, 10, 23, 30, tzinfo=UTC))
    order = session.execute(
        text(
            "INSERT INTO orders (account_id, person_id, channel, created_at) "
            "VALUES (:a, :p, 'online', '2026-03-01T23:30:00Z') RETURNING id"
        ),
        {"a": account_id, "p": person.id},
    ).scalar_one()
    session.execute(
        text("INSERT INTO ticket (account_id, order_id, event_id, person_id, price) VALUES (:a, :o, :e, :p, 25)"),
        {"a": account_id, "o": order, "e": event.id, "p": person.id},
    )
    return person.id


def _dates(session, account_id: int):
    return session.execute(
        text("SELECT order_date::text, event_date::text FROM ticket_fact WHERE account_id = :a"), {"a": account_id}
    ).one()


def test_a_new_time_zone_re_dates_orders_and_events(gql, session, account):
    person = _order_just_before_midnight_utc(session, account.id)
    assert tuple(_dates(session, account.id)) == ("2026-03-02", "2026-03-11")  # Europe/Amsterdam
    done = gql(CHANGE, {"input": {"timezone": "UTC", "name": " De Schouwburg "}}, token=account.admin_token)
    changed = done["data"]["changeAccountSettings"]
    assert changed["account"]["timezone"] == "UTC" and changed["account"]["name"] == "De Schouwburg"
    assert changed["jobs"] == [{"kind": settings.LOCAL_DATES_JOB, "status": "queued"}]
    result = settings.refresh_local_dates(session, account.id)  # the job's work
    assert result == {"timezone": "UTC", "tickets": 1}
    assert tuple(_dates(session, account.id)) == ("2026-03-01", "2026-03-10")
    last = session.execute(
        text("SELECT last_order_date::text FROM person_stats WHERE account_id = :a AND person_id = :p"),
        {"a": account.id, "p": person},
    ).scalar_one()
    assert last == "2026-03-01"


def test_recommendations_switched_on_queue_a_rescore_and_off_deletes_nothing(gql, session, account):
    on = gql(CHANGE, {"input": {"modules": ["recommendations", "business"]}}, token=account.admin_token)
    changed = on["data"]["changeAccountSettings"]
    assert changed["account"]["modules"] == ["business", "recommendations"]
    assert [j["kind"] for j in changed["jobs"]] == ["rescore_interests"]
    off = gql(CHANGE, {"input": {"modules": []}}, token=account.admin_token)["data"]["changeAccountSettings"]
    assert off["account"]["modules"] == [] and off["jobs"] == []


def test_bad_input_is_refused_whole_and_changes_nothing(gql, session, account):
    before = session.execute(text("SELECT name, timezone, modules FROM account WHERE id = :a"), {"a": account.id}).one()
    bad = gql(
        CHANGE,
        {"input": {"name": " ", "timezone": "Mars/Olympus", "modules": ["business", "teleportation"]}},
        token=account.admin_token,
    )["data"]["changeAccountSettings"]["errors"]
    assert {(e["code"], tuple(e["path"])) for e in bad} == {
        ("REQUIRED", ("input", "name")),
        ("INVALID", ("input", "timezone")),
        ("INVALID_CHOICE", ("input", "modules", "1")),
    }
    too_long = gql(CHANGE, {"input": {"name": "n" * 201}}, token=account.admin_token)
    assert too_long["data"]["changeAccountSettings"]["errors"][0]["code"] == "TOO_LONG"
    null = gql(CHANGE, {"input": {"modules": None}}, token=account.admin_token)
    assert null["data"]["changeAccountSettings"]["errors"][0]["code"] == "REQUIRED"
    after = session.execute(text("SELECT name, timezone, modules FROM account WHERE id = :a"), {"a": account.id}).one()
    assert after == before


def test_only_admins_change_settings_and_only_their_own(gql, session, account, other_account):
    for token in (account.marketer_token, account.viewer_token, account.website_key):
        denied = gql(CHANGE, {"input": {"name": "Overgenomen"}}, token=token)
        assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    gql(CHANGE, {"input": {"name": "Eigen naam"}}, token=account.admin_token)
    names = dict(
        session.execute(
            text("SELECT id, name FROM account WHERE id IN (:a, :b)"), {"a": account.id, "b": other_account.id}
        ).all()
    )
    assert names == {account.id: "Eigen naam", other_account.id: "Other Venue"}


def test_switching_to_canonical_names_reports_collisions_and_merges_only_when_confirmed(gql, session, account):
    from domain.tags import service as tags

    made = {name: f.tag(session, account.id, name).id for name in ("Łódź", "Lodz", "Rock&Roll", "Rock_Roll", "Jazz")}
    anna = f.person(session, account.id, first_name="Anna")
    tags.attach(
        session,
        account.id,
        tag_ids=[made["Lodz"]],
        target=tags.TargetKind.PERSON,
        target_ids=[anna.id],
        source="staff",
        actor=None,
    )
    switch = """mutation($input: ChangeAccountSettingsInput!) { changeAccountSettings(input: $input) {
      ... on AccountSettingsChanged { account { tagNamePolicy } mergedTags renamedTags }
      ... on ChangeAccountSettingsFailure { errors { code path message } } } }"""
    refused = gql(switch, {"input": {"tagNamePolicy": "canonical"}}, token=account.admin_token)
    error = refused["data"]["changeAccountSettings"]["errors"][0]
    assert (error["code"], error["path"]) == ("CONFLICT", ["input", "tagNamePolicy"])
    assert "'Łódź' and 'Lodz' would be 'LODZ'" in error["message"] and "'ROCK_ROLL'" in error["message"]
    names = lambda: sorted(
        session.execute(text("SELECT name FROM tag WHERE account_id = :a"), {"a": account.id}).scalars()
    )
    assert names() == sorted(made)  # nothing changed
    done = gql(
        switch, {"input": {"tagNamePolicy": "canonical", "mergeCollidingTags": True}}, token=account.admin_token
    )["data"]["changeAccountSettings"]
    assert done == {"account": {"tagNamePolicy": "canonical"}, "mergedTags": 2, "renamedTags": 3}
    assert names() == ["JAZZ", "LODZ", "ROCK_ROLL"]
    linked = (
        session.execute(
            text("SELECT tag_id FROM person_tag WHERE account_id = :a AND person_id = :p"),
            {"a": account.id, "p": anna.id},
        )
        .scalars()
        .all()
    )
    assert linked == [made["Łódź"]]  # Anna's link went with the merge into the oldest tag
    bad = gql(switch, {"input": {"tagNamePolicy": "shouting"}}, token=account.admin_token)
    assert bad["data"]["changeAccountSettings"]["errors"][0]["code"] == "INVALID_CHOICE"


LOOK = """mutation($input: ChangeAccountSettingsInput!) { changeAccountSettings(input: $input) {
  ... on AccountSettingsChanged { account { look { venueName logoUrl colour language } } }
  ... on ChangeAccountSettingsFailure { errors { code path message } } } }"""


def test_an_admin_sets_the_preference_centres_look_with_checked_values(gql, session, account):
    look = gql(
        LOOK,
        {
            "input": {
                "pageLanguage": "en",
                "brandName": " Schouwburg Aan Zee ",
                "logoUrl": "https://cdn.example/logo.png",
                "brandColour": "#8A1538",
            }
        },  # fmt: skip
        token=account.admin_token,
    )["data"]["changeAccountSettings"]["account"]["look"]
    assert look == {
        "venueName": "Schouwburg Aan Zee",
        "logoUrl": "https://cdn.example/logo.png",
        "colour": "#8a1538",
        "language": "en",
    }
    cases = [
        ({"pageLanguage": "de"}, "INVALID_CHOICE", "pageLanguage"),
        ({"brandColour": "red"}, "INVALID", "brandColour"),
        ({"brandColour": "#ffcc00"}, "INVALID", "brandColour"),  # white text would not read on it
        ({"logoUrl": "http://cdn.example/logo.png"}, "INVALID", "logoUrl"),
        ({"logoUrl": "javascript:alert(1)"}, "INVALID", "logoUrl"),
        ({"logoUrl": "https://cdn.example/" + "a" * 500}, "TOO_LONG", "logoUrl"),
        ({"brandName": "x" * 201}, "TOO_LONG", "brandName"),
    ]
    for values, code, field in cases:
        errors = gql(LOOK, {"input": values}, token=account.admin_token)["data"]["changeAccountSettings"]["errors"]
        assert (errors[0]["code"], errors[0]["path"]) == (code, ["input", field]), values
    contrast = gql(LOOK, {"input": {"brandColour": "#ffcc00"}}, token=account.admin_token)["data"]
    assert "4.5:1" in contrast["changeAccountSettings"]["errors"][0]["message"]
    cleared = gql(LOOK, {"input": {"brandName": "", "logoUrl": None}}, token=account.admin_token)["data"]
    assert cleared["changeAccountSettings"]["account"]["look"]["venueName"] == account.account.name
    assert cleared["changeAccountSettings"]["account"]["look"]["logoUrl"] is None
    refused = gql(LOOK, {"input": {"pageLanguage": "nl"}}, token=account.marketer_token)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
