"""Segments through GraphQL: typed one-of rule inputs, live counts, members, errors naming the rule part."""

from datetime import datetime, timedelta, UTC
from decimal import Decimal

from domain.catalog.models import Order, Ticket
from graph.core.ids import to_global_id
from tests import factories as f

CREATE = """mutation($i: CreateSegmentInput!) { createSegment(input: $i) { __typename
  ... on SegmentSuccess { segment { id name rules count members(first: 10) { totalCount edges { node { email } } } } }
  ... on CreateSegmentFailure { errors { code message path } } } }"""


def gid(kind, pk):
    return to_global_id(kind, pk)


def test_create_count_and_list(gql, session, account):
    jazz = f.tag(session, account.id, "Jazz")
    anna = f.person(session, account.id, city="Utrecht", email="anna@x.nl")
    f.person(session, account.id, city="Delft")
    from domain.tags import service as tags

    tags.attach(
        session,
        account.id,
        tag_ids=[jazz.id],
        target=tags.TargetKind.PERSON,
        target_ids=[anna.id],
        source="staff",
        actor=None,
    )
    rules = {
        "all": [
            {"condition": {"text": {"field": "CITY", "operator": "EQ", "value": "utrecht"}}},
            {"condition": {"tag": {"tagId": gid("Tag", jazz.id)}}},
            {"not": {"condition": {"gender": {"values": ["MALE"]}}}},
        ]
    }
    r = gql(CREATE, {"i": {"name": "Utrecht jazz", "rules": rules}}, token=account.marketer_token)
    segment = r["data"]["createSegment"]["segment"]
    assert segment["count"] == 1
    assert segment["members"]["totalCount"] == 1
    assert segment["members"]["edges"] == [{"node": {"email": "anna@x.nl"}}]
    assert segment["rules"]["all"][1] == {"type": "tag", "tag_id": jazz.id, "has": True, "include_subtags": False}

    r = gql(
        """query($i: SegmentCountInput!) { segmentCount(input: $i) }""",
        {
            "i": {
                "rules": {
                    "any": [
                        {"condition": {"text": {"field": "CITY", "operator": "IN", "values": ["delft", "UTRECHT"]}}}
                    ]
                }
            }
        },
        token=account.viewer_token,
    )
    assert r["data"] == {"segmentCount": 2}


def test_errors_name_the_offending_part(gql, session, account, other_account):
    theirs = f.tag(session, other_account.id, "Theirs")
    rules = {
        "all": [
            {"condition": {"age": {"min": 30, "max": 20}}},
            {"any": [{"condition": {"tag": {"tagId": gid("Tag", theirs.id)}}}]},
        ]
    }
    r = gql(CREATE, {"i": {"name": "x", "rules": rules}}, token=account.marketer_token)
    assert r["data"]["createSegment"]["errors"] == [
        {
            "code": "OUT_OF_RANGE",
            "message": "max is below min",
            "path": ["input", "rules", "all", "0", "condition", "age", "max"],
        }
    ]
    r = gql(CREATE, {"i": {"name": "x", "rules": {"all": [rules["all"][1]]}}}, token=account.marketer_token)
    assert r["data"]["createSegment"]["errors"] == [
        {
            "code": "NOT_FOUND",
            "message": "tag not found",
            "path": ["input", "rules", "all", "0", "any", "0", "condition", "tag", "tagId"],
        }
    ]
    # A malformed id is reported exactly like another account's: not found, at the same path.
    malformed = {"all": [{"any": [{"condition": {"tag": {"tagId": "not-an-id"}}}]}]}
    r = gql(CREATE, {"i": {"name": "x", "rules": malformed}}, token=account.marketer_token)
    assert r["data"]["createSegment"]["errors"] == [
        {
            "code": "NOT_FOUND",
            "message": "tag not found",
            "path": ["input", "rules", "all", "0", "any", "0", "condition", "tag", "tagId"],
        }
    ]
    r = gql(
        CREATE,
        {
            "i": {
                "name": "x",
                "rules": {"all": []},
                "scope": {"genreTagIds": ["junk"]},
                "parentId": gid("Segment", 10**9),
            }
        },
        token=account.marketer_token,
    )
    assert [e["path"] for e in r["data"]["createSegment"]["errors"]] == [
        ["input", "scope", "genreTagIds", "0"],
        ["input", "parentId"],
    ]
    r = gql(
        CREATE,
        {"i": {"name": "x", "rules": {"condition": {"text": {"field": "CITY", "operator": "EQ"}}}}},
        token=account.marketer_token,
    )
    assert r["data"]["createSegment"]["errors"][0]["path"] == ["input", "rules", "condition", "text", "value"]
    # a one-of input with two members set is refused by GraphQL itself
    r = gql(CREATE, {"i": {"name": "x", "rules": {"all": [], "any": []}}}, token=account.marketer_token)
    assert r["_status"] == 400


def test_scope_mode_and_explain(gql, session, account):
    venue = f.venue(session, account.id)
    show = f.production(session, account.id, promoter="Live")
    event = f.event(session, account.id, show.id, venue.id, datetime.now(UTC) + timedelta(days=3))
    buyer = f.person(session, account.id, email="buyer@x.nl")
    other = f.person(session, account.id)
    order = Order(account_id=account.id, person_id=buyer.id, channel="online", created_at=datetime.now(UTC))
    session.add(order)
    session.flush()
    session.add(
        Ticket(account_id=account.id, order_id=order.id, event_id=event.id, person_id=buyer.id, price=Decimal("30"))
    )
    session.flush()
    r = gql(
        CREATE,
        {"i": {"name": "Live buyers", "rules": {"all": []}, "scope": {"promoters": ["Live"]}}},
        token=account.marketer_token,
    )
    segment_id = r["data"]["createSegment"]["segment"]["id"]
    assert r["data"]["createSegment"]["segment"]["count"] == 1
    q = """query($id: ID!, $e: ID!, $p: ID!, $o: ID!) { segment(id: $id) {
             forEvent: count(mode: {eventId: $e}) explain(personId: $p) { member levels { holdsInScopeTicket } }
             contains(personId: $o) } }"""
    r = gql(
        q,
        {"id": segment_id, "e": gid("Event", event.id), "p": gid("Person", buyer.id), "o": gid("Person", other.id)},
        token=account.admin_token,
    )
    assert r["data"]["segment"] == {
        "forEvent": 0,
        "explain": {"member": True, "levels": [{"holdsInScopeTicket": True}]},
        "contains": False,
    }


LIVE = """query($i: SegmentCountInput!) {
  segmentLiveCount(input: $i) { count backend reason catchUpMs evaluationMs changedPersons } }"""
SAVED_LIVE = """query($id: ID!) { segment(id: $id) { count liveCount { count backend reason changedPersons } } }"""


def test_live_counts_say_how_they_were_reached(gql, session, account, monkeypatch):
    """Telemetry staff see: SQL with its reason for an account without an index, then the index
    (caught up with the session's own new persons first) for unsaved rules and a saved segment.
    Other transactions (the requests' audit trail) started meanwhile: the own writes still count."""
    from domain.audience.index import build_index
    from domain.audience.live import LiveIndex
    from domain.audience.registry import Registry, Settings
    from domain.segments import service as segments

    monkeypatch.setattr(segments, "REGISTRY", Registry(Settings(min_persons=10**9, budget_bytes=2**30)))
    f.person(session, account.id, city="Utrecht")
    f.person(session, account.id, city="Delft")
    rules = {"condition": {"text": {"field": "CITY", "operator": "EQ", "value": "utrecht"}}}
    saved = segments.create_segment(
        session,
        account.id,
        name="Utrecht",
        rules={"type": "text", "field": "city", "operator": "eq", "value": "utrecht"},
    )
    r = gql(LIVE, {"i": {"rules": rules}}, token=account.viewer_token)["data"]["segmentLiveCount"]
    assert (r["count"], r["backend"], r["catchUpMs"], r["changedPersons"]) == (1, "SQL", 0.0, 0)
    assert "no audience index" in r["reason"] and r["evaluationMs"] > 0

    segments.REGISTRY.add(LiveIndex(build_index(session, account.id)))
    f.person(session, account.id, city="Utrecht-Oost")
    f.person(session, account.id, city="UTRECHT")
    r = gql(LIVE, {"i": {"rules": rules}}, token=account.viewer_token)["data"]["segmentLiveCount"]
    assert (r["count"], r["backend"], r["reason"], r["changedPersons"]) == (2, "INDEX", None, 2)
    r = gql(SAVED_LIVE, {"id": gid("Segment", saved.id)}, token=account.viewer_token)["data"]["segment"]
    assert r == {"count": 2, "liveCount": {"count": 2, "backend": "INDEX", "reason": None, "changedPersons": 2}}
    assert segments.count_segment_with_report(session, account.id, saved.id, backend="sql")[0] == 2
