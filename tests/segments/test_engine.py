"""The segment engine on hand-made data: each condition's edge cases (SPEC 5.6)."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from domain.catalog.models import Event, Order, Production, Subscription, Ticket, Venue
from domain.errors import ErrorCode, InputError
from domain.people.models import ConsentType, CustomFieldDefinition, Person, PersonConsent
from domain.segments import service as segments
from domain.segments.models import Segment
from domain.tags import service as tags
from tests import factories as f

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 3, 30, 10, 0, tzinfo=AMS)  # the day after the clocks went forward
TODAY = NOW.date()


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=AMS)


def ids(session, account, rules, scope=None, **kw):
    return segments.matching_person_ids(session, account.id, rules=rules, scope=scope, now=NOW, **kw)


def person(session, account, **values):
    row = Person(account_id=account.id, **values)
    session.add(row)
    session.flush()
    return row


@pytest.fixture()
def shop(session, account):
    """Two productions with events around NOW, a venue in Amsterdam, and a helper to sell tickets."""
    venue = Venue(account_id=account.id, name="Zaal", latitude=52.37, longitude=4.89)
    jazz = Production(account_id=account.id, title="Jazz night", promoter="Live", season="2025-2026")
    play = Production(account_id=account.id, title="Play", promoter="Stage", season="2026-2027")
    session.add_all([venue, jazz, play])
    session.flush()
    past = Event(
        account_id=account.id, production_id=jazz.id, venue_id=venue.id, starts_at=at(TODAY - timedelta(days=10), 20)
    )
    old = Event(
        account_id=account.id, production_id=jazz.id, venue_id=venue.id, starts_at=at(TODAY - timedelta(days=200), 20)
    )
    future = Event(
        account_id=account.id, production_id=play.id, venue_id=venue.id, starts_at=at(TODAY + timedelta(days=5), 20)
    )
    session.add_all([past, old, future])
    session.flush()

    def sell(buyer, event, *, when, channel="online", prices=(Decimal("20.00"),)):
        order = Order(account_id=account.id, person_id=buyer.id, channel=channel, created_at=when)
        session.add(order)
        session.flush()
        session.add_all(
            [
                Ticket(account_id=account.id, order_id=order.id, event_id=event.id, person_id=buyer.id, price=p)
                for p in prices
            ]
        )
        session.flush()
        return order

    return dict(venue=venue, jazz=jazz, play=play, past=past, old=old, future=future, sell=sell)


def test_empty_groups_and_not(session, account):
    a, b = person(session, account, city="Utrecht"), person(session, account)
    assert ids(session, account, {"all": []}) == {a.id, b.id}
    assert ids(session, account, {"any": []}) == set()
    assert ids(session, account, {"not": {"type": "text", "field": "city", "operator": "eq", "value": "utrecht"}}) == {
        b.id
    }


def test_text_operators_and_missing_values(session, account):
    a = person(session, account, city="Den Haag", email="a@x.nl")
    b = person(session, account, city="  ")
    c = person(session, account)
    q = lambda op, value=None: ids(
        session,
        account,
        {"type": "text", "field": "city", "operator": op, "values" if isinstance(value, list) else "value": value},
    )
    assert q("eq", "den haag") == {a.id}
    assert q("neq", "DEN HAAG") == {b.id, c.id}
    assert q("contains", "N H") == {a.id}
    assert q("not_contains", "haag") == {b.id, c.id}
    assert q("starts_with", "den") == {a.id}
    assert q("ends_with", "AAG") == {a.id}
    assert q("in", ["x", "den haag"]) == {a.id}
    assert q("not_in", ["den haag"]) == {b.id, c.id}
    assert q("is_empty") == {b.id, c.id}
    assert q("is_not_empty") == {a.id}


def test_substring_operators_take_wildcards_literally(session, account):
    """contains / starts_with / ends_with compile to LIKE: %, _ and the escape character / in a
    value are plain characters, and NOT of a test on a missing value holds."""
    a = person(session, account, last_name="50%_off/Now")
    b = person(session, account, last_name="500 offxNow")
    c = person(session, account)
    q = lambda op, value: ids(session, account, {"type": "text", "field": "last_name", "operator": op, "value": value})
    assert q("contains", "%_") == {a.id}
    assert q("contains", "0%") == {a.id}
    assert q("starts_with", "50%") == {a.id}
    assert q("ends_with", "f/now") == {a.id}
    assert q("contains", "f/") == {a.id}
    assert q("contains", "_") == {a.id}
    assert q("not_contains", "%") == {b.id, c.id}
    assert ids(
        session, account, {"not": {"type": "text", "field": "last_name", "operator": "starts_with", "value": "500"}}
    ) == {a.id, c.id}


def test_gender_unknown_only_under_all(session, account):
    f_ = person(session, account, gender="female")
    m = person(session, account, gender="male")
    u = person(session, account)
    assert ids(session, account, {"type": "gender", "values": ["female", "male"]}) == {f_.id, m.id}
    assert ids(session, account, {"type": "gender", "values": ["all"]}) == {f_.id, m.id, u.id}


def test_age_completed_years_and_leap_day(session, account):
    leap = person(session, account, birth_date=date(2008, 2, 29))
    none = person(session, account)
    on_28_feb = datetime(2026, 2, 28, 12, tzinfo=AMS)
    on_1_mar = datetime(2026, 3, 1, 12, tzinfo=AMS)
    rule = {"type": "age", "min": 18}
    assert segments.matching_person_ids(session, account.id, rules=rule, now=on_28_feb) == set()
    assert segments.matching_person_ids(session, account.id, rules=rule, now=on_1_mar) == {leap.id}
    assert segments.matching_person_ids(session, account.id, rules={"type": "age", "max": 17}, now=on_28_feb) == {
        leap.id
    }
    assert ids(session, account, {"type": "age", "min": 0, "max": 150}) == {leap.id}  # no birth date: no match
    assert none.id in ids(session, account, {"not": {"type": "age", "min": 0}})


def test_added_on_counts_local_days_across_dst(session, account):
    # 23:30 local on 29 March (the night the clocks changed) is 1 day ago; 00:30 on 30 March is 0 days ago.
    late = person(session, account, created_at=at(TODAY - timedelta(days=1), 23, 30))
    early = person(session, account, created_at=at(TODAY, 0, 30))
    older = person(session, account, created_at=at(TODAY - timedelta(days=2), 0, 5))
    assert ids(session, account, {"type": "added_on", "last_days": 0}) == {early.id}
    assert ids(session, account, {"type": "added_on", "last_days": 1}) == {early.id, late.id}
    # after and before are strict; on is the day (SPEC 5.6)
    assert ids(
        session, account, {"type": "added_on", "after": str(TODAY - timedelta(days=3)), "before": str(TODAY)}
    ) == {late.id, older.id}
    assert ids(session, account, {"type": "added_on", "after": str(TODAY - timedelta(days=2))}) == {late.id, early.id}
    assert ids(session, account, {"type": "added_on", "before": str(TODAY - timedelta(days=1))}) == {older.id}
    assert ids(session, account, {"type": "added_on", "on": str(TODAY - timedelta(days=1))}) == {late.id}
    assert ids(session, account, {"not": {"type": "added_on", "on": str(TODAY)}}) == {late.id, older.id}


def test_purchase_figures_without_and_with_scope(session, account, shop):
    buyer, other, never = (person(session, account) for _ in range(3))
    shop["sell"](buyer, shop["past"], when=at(TODAY - timedelta(days=20)), prices=(Decimal("10"), Decimal("15")))
    shop["sell"](buyer, shop["future"], when=at(TODAY - timedelta(days=1)), channel="box_office")
    shop["sell"](other, shop["old"], when=at(TODAY - timedelta(days=230)))
    assert ids(session, account, {"type": "purchase", "metric": "revenue", "min": 45}) == {buyer.id}
    assert ids(session, account, {"type": "purchase", "metric": "orders", "max": 1}) == {other.id, never.id}
    assert ids(session, account, {"type": "purchase", "metric": "tickets", "min": 0, "max": 0}) == {never.id}
    assert ids(session, account, {"type": "purchase", "metric": "events", "min": 2}) == {buyer.id}
    scope = {"days_back": 30}
    # Only in-scope tickets count; persons without one are never members, even under "not".
    assert ids(session, account, {"type": "purchase", "metric": "revenue", "max": 25}, scope) == set()
    assert ids(session, account, {"not": {"type": "channel", "channel": "both"}}, scope) == set()
    assert ids(session, account, {"type": "channel", "channel": "both"}, scope) == {buyer.id}
    assert ids(session, account, {"all": []}, {"production_ids": [shop["jazz"].id]}) == {buyer.id, other.id}
    assert ids(session, account, {"all": []}, {"production_ids": [shop["jazz"].id], "days_back": 100}) == {buyer.id}
    assert ids(session, account, {"all": []}, {"promoters": ["Stage"]}) == {buyer.id}


def test_season_scopes_count_an_order_across_seasons_once(session, account, shop):
    """Season scopes read the per-season figures; an order holding tickets of two seasons is
    one order over both seasons, and every other figure adds up."""
    sell, jazz_event, play_event = shop["sell"], shop["past"], shop["future"]
    a, b = person(session, account), person(session, account)
    mixed = sell(a, jazz_event, when=at(TODAY - timedelta(days=20)), prices=(Decimal("10.00"),))
    session.add(
        Ticket(account_id=account.id, order_id=mixed.id, event_id=play_event.id, person_id=a.id, price=Decimal("15.00"))
    )
    session.flush()
    sell(b, jazz_event, when=at(TODAY - timedelta(days=3)), channel="box_office")
    both = {"seasons": ["2025-2026", "2026-2027"]}
    fig = lambda metric, low, scope: ids(session, account, {"type": "purchase", "metric": metric, "min": low}, scope)
    assert fig("orders", 1, both) == {a.id, b.id}
    assert fig("orders", 2, both) == set()
    assert fig("tickets", 2, both) == {a.id}
    assert fig("revenue", 25, both) == {a.id}
    assert fig("events", 2, both) == {a.id}
    assert fig("events", 2, {"seasons": ["2025-2026"]}) == set()
    assert fig("revenue", 15, {"seasons": ["2026-2027"]}) == {a.id}
    assert ids(session, account, {"type": "channel", "channel": "box_office"}, both) == {b.id}
    assert ids(
        session, account, {"type": "last_purchase", "mode": "within", "days": 5}, {"seasons": ["2025-2026"]}
    ) == {b.id}
    # Without figures, the scope alone admits its buyers.
    assert ids(session, account, {"all": []}, {"seasons": ["2026-2027"]}) == {a.id}
    assert ids(session, account, {"not": {"type": "purchase", "metric": "orders", "min": 1}}, both) == set()


def test_figure_tests_beside_a_ticket_test_keep_their_meaning_under_not(session, account, shop):
    """Beside a condition that demands a ticket, figure tests stay bare (NULL without tickets);
    the complement must still hold for persons without tickets, at every depth."""
    sell = shop["sell"]
    nobody = person(session, account)
    box, web, both = person(session, account), person(session, account), person(session, account)
    sell(box, shop["past"], when=at(TODAY - timedelta(days=2)), channel="box_office")
    sell(web, shop["past"], when=at(TODAY - timedelta(days=2)))
    sell(both, shop["past"], when=at(TODAY - timedelta(days=2)), channel="box_office")
    sell(both, shop["future"], when=at(TODAY - timedelta(days=1)))
    everyone = {nobody.id, box.id, web.id, both.id}
    box_only = {
        "all": [{"type": "channel", "channel": "box_office"}, {"not": {"type": "channel", "channel": "online"}}]
    }
    assert ids(session, account, box_only) == {box.id}
    assert ids(session, account, {"not": box_only}) == everyone - {box.id}
    assert ids(session, account, {"not": {"not": box_only}}) == {box.id}
    few = {
        "all": [
            {"type": "purchase", "metric": "tickets", "min": 1},
            {"not": {"type": "last_purchase", "mode": "within", "days": 1}},
        ]
    }
    assert ids(session, account, few) == {box.id, web.id}
    assert ids(session, account, {"not": few}) == {nobody.id, both.id}
    # A saved scoped segment whose rules alone demand no ticket: its in-scope ticket test decides.
    jazz_not_online = segments.create_segment(
        session,
        account.id,
        name="jazz, not online",
        rules={"not": {"type": "channel", "channel": "online"}},
        scope={"production_ids": [shop["jazz"].id]},
    )
    assert ids(session, account, {"type": "segment", "segment_id": jazz_not_online.id}) == {box.id, both.id}
    assert ids(session, account, {"type": "segment", "segment_id": jazz_not_online.id, "member": False}) == {
        nobody.id,
        web.id,
    }


def test_last_purchase_modes(session, account, shop):
    recent, old, never = (person(session, account) for _ in range(3))
    shop["sell"](recent, shop["future"], when=at(TODAY - timedelta(days=3), 0, 10))
    shop["sell"](old, shop["past"], when=at(TODAY - timedelta(days=40)))
    assert ids(session, account, {"type": "last_purchase", "mode": "within", "days": 3}) == {recent.id}
    assert ids(session, account, {"type": "last_purchase", "mode": "exactly", "days": 3}) == {recent.id}
    assert ids(session, account, {"type": "last_purchase", "mode": "exactly", "days": 40}) == {old.id}
    assert ids(session, account, {"type": "last_purchase", "mode": "not_within", "days": 3}) == {old.id, never.id}
    # As a conjunct an anti-join, under OR or NOT the joined figures: the same persons either way.
    lapsed = {"type": "last_purchase", "mode": "not_within", "days": 3}
    assert ids(session, account, {"any": [lapsed, {"type": "gender", "values": ["male"]}]}) == {old.id, never.id}
    assert ids(session, account, {"not": lapsed}) == {recent.id}
    assert ids(session, account, {"not": {"any": [lapsed]}}) == {recent.id}
    assert ids(session, account, {"all": [lapsed, {"not": {"not": lapsed}}]}) == {old.id, never.id}


def test_impulsive_buyers(session, account, shop):
    quick, planner = person(session, account), person(session, account)
    shop["sell"](quick, shop["past"], when=at(TODAY - timedelta(days=10), 9))  # same day: 0 days before
    shop["sell"](quick, shop["future"], when=at(TODAY - timedelta(days=1)))  # 6 days before
    shop["sell"](planner, shop["future"], when=at(TODAY - timedelta(days=60)))
    assert ids(session, account, {"type": "impulsive", "max_days_before": 0}) == {quick.id}
    assert ids(session, account, {"type": "impulsive", "max_days_before": 7, "min_times": 2}) == {quick.id}


def test_distance_subscription_consent_tags_and_forms(session, account, shop):
    near = person(session, account, latitude=52.36, longitude=4.90)
    far = person(session, account, latitude=51.44, longitude=5.47)
    nowhere = person(session, account)
    assert ids(session, account, {"type": "distance", "km": 10, "venue_id": shop["venue"].id}) == {near.id}
    assert ids(session, account, {"type": "distance", "km": 200, "latitude": 52.0, "longitude": 5.0}) == {
        near.id,
        far.id,
    }
    session.add_all(
        [
            Subscription(account_id=account.id, person_id=near.id, name="A", valid_from=TODAY, valid_until=TODAY),
            Subscription(
                account_id=account.id,
                person_id=far.id,
                name="B",
                valid_from=TODAY - timedelta(days=400),
                valid_until=TODAY - timedelta(days=1),
            ),
        ]
    )
    news = ConsentType(account_id=account.id, key="news", name="News")
    session.add(news)
    session.flush()
    session.add(PersonConsent(account_id=account.id, person_id=far.id, consent_type_id=news.id, granted=True))
    session.flush()
    assert ids(session, account, {"type": "subscription"}) == {near.id}
    assert ids(session, account, {"type": "subscription", "holder": False}) == {far.id, nowhere.id}
    assert ids(session, account, {"type": "consent", "consent_type_id": news.id}) == {far.id}
    assert ids(session, account, {"type": "consent", "consent_type_id": news.id, "granted": False}) == {
        near.id,
        nowhere.id,
    }
    music = f.tag(session, account.id, "Music")
    jazz = f.tag(session, account.id, "Jazz", parent_id=music.id)
    tags.attach(
        session,
        account.id,
        tag_ids=[jazz.id],
        target=tags.TargetKind.PERSON,
        target_ids=[near.id],
        source="person",
        actor=None,
    )
    assert ids(session, account, {"type": "tag", "tag_id": music.id}) == set()
    assert ids(session, account, {"type": "tag", "tag_id": music.id, "include_subtags": True}) == {near.id}
    assert ids(session, account, {"type": "tag", "tag_id": jazz.id, "source": "staff"}) == set()
    assert ids(session, account, {"type": "tag", "tag_id": jazz.id, "has": False}) == {far.id, nowhere.id}


def test_custom_fields_of_every_type(session, account):
    for key, kind, choices in (
        ("size", "number", []),
        ("since", "date", []),
        ("vip", "boolean", []),
        ("note", "text", []),
        ("tier", "choice", ["gold", "silver"]),
    ):
        session.add(CustomFieldDefinition(account_id=account.id, key=key, label=key, type=kind, choices=choices))
    session.flush()
    a = person(
        session,
        account,
        custom_fields={"size": 40, "since": "2020-01-01", "vip": True, "note": "Hello", "tier": "gold"},
    )
    b = person(session, account, custom_fields={"size": 36, "vip": False, "tier": "silver"})
    c = person(session, account)
    q = lambda key, op, value=None: ids(
        session, account, {"type": "custom_field", "key": key, "operator": op, "value": value}
    )
    assert q("size", "gte", 38) == {a.id}
    assert q("size", "between", [30, 40]) == {a.id, b.id}
    assert q("size", "neq", 40) == {b.id, c.id}
    assert q("size", "is_empty") == {c.id}
    assert q("since", "before", "2021-01-01") == {a.id}
    assert q("vip", "is_true") == {a.id}
    assert q("vip", "is_false") == {b.id}
    assert q("note", "contains", "ELL") == {a.id}
    assert q("tier", "in", ["gold"]) == {a.id}
    assert q("tier", "not_in", ["gold"]) == {b.id, c.id}


def test_nesting_references_and_modes(session, account, shop):
    a = person(session, account, city="Utrecht")
    b = person(session, account, city="Utrecht")
    c = person(session, account, city="Delft")
    shop["sell"](a, shop["future"], when=at(TODAY - timedelta(days=2)))
    shop["sell"](b, shop["past"], when=at(TODAY - timedelta(days=12)))
    parent = segments.create_segment(
        session,
        account.id,
        name="Utrecht",
        rules={"type": "text", "field": "city", "operator": "eq", "value": "utrecht"},
    )
    child = segments.create_segment(
        session,
        account.id,
        name="buyers",
        parent_id=parent.id,
        rules={"type": "purchase", "metric": "tickets", "min": 1},
    )
    assert segments.count_segment(session, account.id, child.id, now=NOW) == 2
    assert segments.count_segment(session, account.id, child.id, mode=("event", shop["future"].id), now=NOW) == 1
    assert segments.count_segment(session, account.id, child.id, mode=("production", shop["jazz"].id), now=NOW) == 1
    assert ids(session, account, {"type": "segment", "segment_id": child.id, "member": False}) == {c.id}
    page = segments.list_members(session, account.id, child.id, first=1, now=NOW)
    assert len(page.items) == 1 and page.has_next_page
    assert segments.is_member(session, account.id, child.id, a.id, now=NOW)
    explanation = segments.explain(session, account.id, child.id, c.id, now=NOW)
    assert explanation["member"] is False
    assert [level["member"] for level in explanation["levels"]] == [False, False]


def test_cycles_and_foreign_references_are_refused(session, account, other_account):
    s1 = segments.create_segment(session, account.id, name="one", rules={"all": []})
    s2 = segments.create_segment(session, account.id, name="two", rules={"type": "segment", "segment_id": s1.id})
    with pytest.raises(InputError) as caught:
        segments.update_segment(
            session, account.id, s1.id, segments.SegmentChanges(rules={"type": "segment", "segment_id": s2.id})
        )
    assert caught.value.problems[0].code is ErrorCode.CYCLE
    with pytest.raises(InputError) as caught:
        segments.update_segment(session, account.id, s1.id, segments.SegmentChanges(parent_id=s2.id))
    assert caught.value.problems[0].code is ErrorCode.CYCLE
    theirs = f.tag(session, other_account.id, "Theirs")
    with pytest.raises(InputError) as caught:
        segments.create_segment(session, account.id, name="x", rules={"all": [{"type": "tag", "tag_id": theirs.id}]})
    assert caught.value.problems[0].path == ("rules", "all", "0", "condition", "tag", "tag_id")
    with pytest.raises(InputError) as caught:
        segments.count_matching(session, account.id, rules={"all": [{"type": "nope"}]})
    assert caught.value.problems[0].path == ("rules", "all", "0", "type")
    with pytest.raises(InputError) as caught:
        segments.delete_segment(session, account.id, s1.id)
    assert caught.value.problems[0].code is ErrorCode.CONFLICT
    segments.delete_segment(session, account.id, s2.id)
    assert session.get(Segment, (account.id, s2.id)) is None


@pytest.mark.parametrize(
    ("rules", "required"),
    [
        ({"type": "purchase", "metric": "revenue", "min": 10}, True),
        ({"type": "purchase", "metric": "tickets", "max": 3}, False),  # 0 tickets qualifies
        ({"type": "purchase", "metric": "tickets", "min": 0}, False),
        ({"type": "channel", "channel": "online"}, True),
        ({"type": "last_purchase", "mode": "within", "days": 5}, True),
        ({"type": "last_purchase", "mode": "not_within", "days": 5}, False),
        ({"type": "impulsive", "max_days_before": 1}, True),
        ({"all": [{"type": "gender", "values": ["male"]}, {"type": "channel", "channel": "both"}]}, True),
        ({"any": [{"type": "gender", "values": ["male"]}, {"type": "channel", "channel": "both"}]}, False),
        ({"any": [{"type": "purchase", "metric": "orders", "min": 1}, {"type": "channel", "channel": "both"}]}, True),
        ({"not": {"type": "purchase", "metric": "orders", "max": 0}}, False),
        ({"any": []}, False),
    ],
)
def test_rules_that_demand_an_in_scope_ticket(rules, required):
    from domain.segments.compiler import requires_scope_ticket
    from domain.segments.rules import parse_rule

    assert requires_scope_ticket(parse_rule(rules, custom_fields={})) is required


def test_scoped_rules_without_figures_still_need_an_in_scope_ticket(session, account, shop):
    buyer, outsider = person(session, account, gender="male"), person(session, account, gender="male")
    shop["sell"](buyer, shop["past"], when=at(TODAY - timedelta(days=20)))
    shop["sell"](outsider, shop["future"], when=at(TODAY - timedelta(days=2)))
    jazz = {"production_ids": [shop["jazz"].id]}
    assert ids(session, account, {"type": "gender", "values": ["male"]}, jazz) == {buyer.id}
    assert ids(session, account, {"not": {"type": "purchase", "metric": "orders", "min": 5}}, jazz) == {buyer.id}
    assert ids(session, account, {"type": "purchase", "metric": "events", "min": 1}, jazz) == {buyer.id}
    statement = str(
        segments.member_statement(
            session, account.id, rules={"type": "gender", "values": ["male"]}, scope=jazz, now=NOW
        )
    )
    assert "GROUP BY" not in statement  # membership by a semi-join, nothing aggregated


def test_segment_statements_are_planned_with_their_values(session, account, shop):
    """psycopg prepares a statement text run 5 times, and PostgreSQL then may keep a generic plan
    that ignores the values; segment statements run unprepared, whatever the count."""
    from sqlalchemy import text

    person(session, account, city="Utrecht")
    rule = {"type": "text", "field": "city", "operator": "eq", "value": "utrecht"}
    for _ in range(12):
        assert len(ids(session, account, rule)) == 1
        assert segments.count_matching(session, account.id, rules=rule, now=NOW) == 1
    prepared = session.execute(text("SELECT statement FROM pg_prepared_statements")).scalars().all()
    assert not [s for s in prepared if "FROM person AS p" in s]
    assert session.connection().connection.dbapi_connection.prepare_threshold == 5  # left as it was


def test_explanations_read_as_words_with_the_condition_as_stored(gql, session, account):
    jazz = f.tag(session, account.id, "jazz", label="Jazz")
    fan = person(session, account, city="Utrecht")
    tags.attach(
        session,
        account.id,
        tag_ids=[jazz.id],
        target=tags.TargetKind.PERSON,
        target_ids=[fan.id],
        source="person",
        actor=None,
    )
    segment = segments.create_segment(
        session,
        account.id,
        name="fans",
        rules={
            "all": [
                {"type": "tag", "tag_id": jazz.id, "source": "person"},
                {"not": {"type": "text", "field": "city", "operator": "eq", "value": "Delft"}},
                {"type": "purchase", "metric": "tickets", "min": 2},
            ]
        },
    )
    explanation = segments.explain(session, account.id, segment.id, fan.id, now=NOW)
    rules = explanation["levels"][0]["rules"]
    assert rules.description == "meets all of the following" and not rules.matched
    tag, not_delft, purchase = rules.children
    assert (tag.description, tag.matched) == ("has the tag 'Jazz', chosen by the person", True)
    assert tag.condition == {
        "type": "tag",
        "tag_id": jazz.id,
        "has": True,
        "source": "person",
        "include_subtags": False,
    }
    assert not_delft.description == "does not meet the following" and not_delft.condition is None
    assert not_delft.children[0].description == "city is 'Delft'"
    assert (purchase.description, purchase.matched) == ("at least 2 tickets (in scope)", False)


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ({"type": "gender", "values": ["female", "other"]}, "gender is female, other"),
        ({"type": "age", "min": 18, "max": 30}, "age is from 18 to 30 years"),
        (
            {"type": "added_on", "after": "2026-01-01", "before": "2026-02-01"},
            "was added after 2026-01-01 and before 2026-02-01",
        ),
        ({"type": "added_on", "last_days": 7}, "was added in the last 7 days"),
        ({"type": "consent", "consent_type_id": 5, "granted": False}, "has not granted 5"),
        ({"type": "form", "within_days": 30}, "submitted a form in the last 30 days"),
        ({"type": "purchase", "metric": "revenue", "max": 100}, "revenue is at most 100 (in scope)"),
        ({"type": "channel", "channel": "both"}, "bought both online and at the box office"),
        ({"type": "last_purchase", "mode": "not_within", "days": 90}, "did not buy in the last 90 days"),
        (
            {"type": "impulsive", "max_days_before": 2, "min_times": 3},
            "bought tickets at most 2 days before the event, at least 3 times",
        ),
        (
            {"type": "distance", "km": 15, "latitude": 52.1, "longitude": 5.1},
            "lives within 15 km of the point 52.1, 5.1",
        ),
        ({"type": "subscription", "holder": False}, "holds no subscription"),
        ({"type": "segment", "segment_id": 9, "member": True}, "is a member of the segment 9"),
        (
            {"type": "text", "field": "postal_code", "operator": "in", "values": ["3511", "3512"]},
            "postal code is one of '3511, 3512'",
        ),
    ],
)
def test_every_condition_has_words(rule, words):
    from domain.segments import rules as r
    from domain.segments.describe import describe

    assert describe(r.parse_rule(rule, custom_fields={}), lambda kind, value: str(value)) == words
