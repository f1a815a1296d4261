"""Scoring rules, interests and visits through GraphQL: roles, the module gate, bad input, tenants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from domain import clock
from domain.accounts import service as accounts
from graph.core.ids import to_global_id
from tests import factories as f

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)

VISITS = """mutation($i: RecordVisitsInput!) { recordVisits(input: $i) { __typename
  ... on VisitsRecorded { recorded duplicates }
  ... on RecordVisitsFailure { errors { code message path } } } }"""

SET_RULES = """mutation($i: SetScoringRulesInput!) { setScoringRules(input: $i) { __typename
  ... on ScoringRulesSet { rules { halfLifeDays parentShare rules { kind points tagCategory { name } } } job { kind } }
  ... on SetScoringRulesFailure { errors { code message path } } } }"""

INTERESTS = """query($id: ID!) { node(id: $id) { ... on Person {
  interests { score interactions lastInteractionAt tag { name } } } } }"""


@pytest.fixture()
def shop(session, account, runtime):
    clock.fix(NOW)
    session.execute(text("UPDATE account SET modules = ARRAY['recommendations'] WHERE id = :a"), {"a": account.id})
    session.expire_all()
    jazz = f.tag(session, account.id, "jazz")
    show = f.production(session, account.id, "Late night jazz")
    session.execute(
        text("INSERT INTO production_tag (account_id, production_id, tag_id, source) VALUES (:a, :p, :t, 'staff')"),
        {"a": account.id, "p": show.id, "t": jazz.id},
    )
    person = f.person(session, account.id)
    yield {"jazz": jazz, "show": show, "person": person}
    clock.fix(None)


def _visit(shop, key: str = "v1", **changes) -> dict:
    return {
        "personId": to_global_id("Person", shop["person"].id),
        "productionId": to_global_id("Production", shop["show"].id),
        "key": key,
        "occurredAt": NOW.isoformat(),
        **changes,
    }


def test_the_website_records_visits_once_and_staff_see_the_interest(gql, account, shop):
    first = gql(VISITS, {"i": {"visits": [_visit(shop), _visit(shop, "v2")]}}, token=account.website_key)
    assert first["data"]["recordVisits"] == {"__typename": "VisitsRecorded", "recorded": 2, "duplicates": 0}
    again = gql(VISITS, {"i": {"visits": [_visit(shop)]}}, token=account.website_key)
    assert again["data"]["recordVisits"] == {"__typename": "VisitsRecorded", "recorded": 0, "duplicates": 1}
    seen = gql(INTERESTS, {"id": to_global_id("Person", shop["person"].id)}, token=account.viewer_token)
    assert seen["data"]["node"]["interests"] == [
        {"score": pytest.approx(2.0), "interactions": 2, "lastInteractionAt": NOW.isoformat(), "tag": {"name": "jazz"}}
    ]


def test_bad_visits_are_refused_whole_with_their_paths(gql, session, account, other_account, shop):
    theirs = f.person(session, other_account.id)
    body = gql(
        VISITS,
        {
            "i": {
                "visits": [
                    _visit(shop, "ok"),
                    _visit(shop, "x", personId=to_global_id("Person", theirs.id)),
                    _visit(shop, "y", tagId=to_global_id("Tag", shop["jazz"].id)),
                    _visit(shop, "z", occurredAt=(NOW + timedelta(days=1)).isoformat()),
                    _visit(shop, "ok"),
                ]
            }
        },
        token=account.website_key,
    )
    errors = body["data"]["recordVisits"]["errors"]
    assert {tuple(e["path"]) for e in errors} == {
        ("input", "visits", "1", "personId"),
        ("input", "visits", "2"),
        ("input", "visits", "3", "occurredAt"),
        ("input", "visits", "4", "key"),
    }
    assert session.execute(text("SELECT count(*) FROM interaction")).scalar_one() == 0
    too_many = gql(VISITS, {"i": {"visits": [_visit(shop, str(n)) for n in range(501)]}}, token=account.website_key)
    assert too_many["data"]["recordVisits"]["errors"][0]["code"] == "OUT_OF_RANGE"


def test_who_may_record_visits(gql, session, account, shop):
    f.installed_plugin(session, account.id, "site", ("interactions:write", "people:read"))
    _, allowed = accounts.issue_token(session, account.id, kind="connector", plugin="site")
    _, reader = accounts.issue_token(session, account.id, kind="connector", plugin="site", scopes=["people:read"])
    assert gql(VISITS, {"i": {"visits": [_visit(shop, "c")]}}, token=allowed)["data"]["recordVisits"]["recorded"] == 1
    assert gql(VISITS, {"i": {"visits": [_visit(shop, "m")]}}, token=account.marketer_token)["data"]
    refused = gql(VISITS, {"i": {"visits": [_visit(shop, "r")]}}, token=reader)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    viewer = gql(VISITS, {"i": {"visits": [_visit(shop, "w")]}}, token=account.viewer_token)
    assert viewer["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_admins_set_rules_which_start_a_rescore(gql, session, account, shop):
    rules = {"halfLifeDays": 90, "parentShare": 0.25, "rules": [{"kind": "VISIT", "points": 3}]}
    done = gql(SET_RULES, {"i": rules}, token=account.admin_token)["data"]["setScoringRules"]
    assert done == {
        "__typename": "ScoringRulesSet",
        "rules": {
            "halfLifeDays": 90.0,
            "parentShare": 0.25,
            "rules": [{"kind": "VISIT", "points": 3.0, "tagCategory": None}],
        },
        "job": {"kind": "rescore_interests"},
    }
    read = gql("{ scoringRules { halfLifeDays defaults { kind points } } }", token=account.viewer_token)["data"]
    assert read["scoringRules"]["halfLifeDays"] == 90.0
    assert {"kind": "PURCHASE", "points": 10.0} in read["scoringRules"]["defaults"]
    for token in (account.marketer_token, account.viewer_token, account.website_key):
        assert gql(SET_RULES, {"i": rules}, token=token)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    bad = gql(
        SET_RULES,
        {
            "i": {
                "halfLifeDays": 0,
                "parentShare": 0.5,
                "rules": [{"kind": "OPEN", "points": 1, "tagCategoryId": "nope"}],
            }
        },
        token=account.admin_token,
    )["data"]["setScoringRules"]
    assert bad["__typename"] == "SetScoringRulesFailure"
    assert (
        session.execute(text("SELECT score_half_life_days FROM account WHERE id = :a"), {"a": account.id}).scalar_one()
        == 90.0
    )


def test_interests_are_capped_per_person(gql, account, shop):
    query = "query($id: ID!, $n: Int!) { node(id: $id) { ... on Person { interests(first: $n) { score } } } }"
    person = to_global_id("Person", shop["person"].id)
    assert gql(query, {"id": person, "n": 100}, token=account.viewer_token)["data"]["node"] == {"interests": []}
    too_many = gql(query, {"id": person, "n": 101}, token=account.viewer_token)
    assert too_many["errors"][0]["extensions"]["code"] == "OUT_OF_RANGE"


COUNT = """query($i: SegmentCountInput!) { segmentCount(input: $i) }"""


def _interest_rule(shop, **bounds) -> dict:
    return {"condition": {"interest": {"tagId": to_global_id("Tag", shop["jazz"].id), **bounds}}}


def test_a_segment_counts_persons_by_their_interest_score(gql, account, shop):
    gql(VISITS, {"i": {"visits": [_visit(shop), _visit(shop, "v2")]}}, token=account.website_key)  # jazz 1 + 1
    assert gql(COUNT, {"i": {"rules": _interest_rule(shop, min=2)}}, token=account.viewer_token)["data"] == {
        "segmentCount": 1
    }
    assert gql(COUNT, {"i": {"rules": _interest_rule(shop, min=2.5)}}, token=account.viewer_token)["data"] == {
        "segmentCount": 0
    }
    bad = gql(COUNT, {"i": {"rules": _interest_rule(shop, min=3, max=1)}}, token=account.viewer_token)
    assert bad["errors"][0]["extensions"]["code"] == "OUT_OF_RANGE"
    assert bad["errors"][0]["path"] == ["segmentCount"]


def test_with_the_module_off_every_field_says_so(gql, session, account, shop):
    session.execute(text("UPDATE account SET modules = '{}' WHERE id = :a"), {"a": account.id})
    visits = gql(VISITS, {"i": {"visits": [_visit(shop)]}}, token=account.website_key)["data"]["recordVisits"]
    assert visits["errors"][0]["code"] == "MODULE_NOT_ENABLED"
    rules = {"halfLifeDays": 90, "parentShare": 0.25, "rules": []}
    assert (
        gql(SET_RULES, {"i": rules}, token=account.admin_token)["data"]["setScoringRules"]["errors"][0]["code"]
        == "MODULE_NOT_ENABLED"
    )
    read = gql("{ scoringRules { halfLifeDays } }", token=account.admin_token)
    assert read["errors"][0]["extensions"]["code"] == "MODULE_NOT_ENABLED"
    person = gql(INTERESTS, {"id": to_global_id("Person", shop["person"].id)}, token=account.admin_token)
    assert person["errors"][0]["extensions"]["code"] == "MODULE_NOT_ENABLED"
    count = gql(COUNT, {"i": {"rules": _interest_rule(shop, min=1)}}, token=account.admin_token)
    assert count["errors"][0]["extensions"]["code"] == "MODULE_NOT_ENABLED"


def test_another_accounts_key_cannot_reach_these_persons(gql, session, account, other_account, shop):
    session.execute(
        text("UPDATE account SET modules = ARRAY['recommendations'] WHERE id = :a"), {"a": other_account.id}
    )
    body = gql(VISITS, {"i": {"visits": [_visit(shop)]}}, token=other_account.website_key)
    errors = body["data"]["recordVisits"]["errors"]
    assert {tuple(e["path"]) for e in errors} == {
        ("input", "visits", "0", "personId"),
        ("input", "visits", "0", "productionId"),
    }
    seen = gql(INTERESTS, {"id": to_global_id("Person", shop["person"].id)}, token=other_account.admin_token)
    assert seen["data"]["node"] is None


TIPS = """query($p: ID!, $n: Int!) { tips(personId: $p, first: $n) {
  score popularity production { title } reasons { contribution popular tag { name } } } }"""


def test_tips_through_graphql_with_reasons_for_staff_and_people_readers(gql, session, account, other_account, shop):
    venue = f.venue(session, account.id)
    f.event(session, account.id, shop["show"].id, venue.id, starts_at=NOW + timedelta(days=7))
    other = f.production(session, account.id, "Quiz")
    f.event(session, account.id, other.id, venue.id, starts_at=NOW + timedelta(days=8))
    gql(VISITS, {"i": {"visits": [_visit(shop)]}}, token=account.website_key)
    person = to_global_id("Person", shop["person"].id)
    found = gql(TIPS, {"p": person, "n": 5}, token=account.viewer_token)["data"]["tips"]
    jazz, quiz = found
    assert jazz["production"] == {"title": "Late night jazz"} and quiz["production"] == {"title": "Quiz"}
    assert jazz["reasons"] == [
        {"contribution": pytest.approx(0.9), "popular": False, "tag": {"name": "jazz"}},
        {"contribution": pytest.approx(0.05), "popular": True, "tag": None},
    ]
    assert jazz["score"] == pytest.approx(0.95) and jazz["popularity"] == 0
    assert quiz["reasons"] == [{"contribution": pytest.approx(0.05), "popular": True, "tag": None}]
    assert gql(TIPS, {"p": person, "n": 51}, token=account.viewer_token)["errors"][0]["extensions"]["code"] == (
        "OUT_OF_RANGE"
    )
    assert gql(TIPS, {"p": person, "n": 5}, token=account.website_key)["errors"][0]["extensions"]["code"] == (
        "FORBIDDEN"
    )
    session.execute(
        text("UPDATE account SET modules = ARRAY['recommendations'] WHERE id = :a"), {"a": other_account.id}
    )
    theirs = gql(TIPS, {"p": person, "n": 5}, token=other_account.admin_token)
    assert theirs["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    session.execute(text("UPDATE account SET modules = '{}' WHERE id = :a"), {"a": account.id})
    off = gql(TIPS, {"p": person, "n": 5}, token=account.viewer_token)
    assert off["errors"][0]["extensions"]["code"] == "MODULE_NOT_ENABLED"
