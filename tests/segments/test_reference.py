"""Hand-made cases for the reference evaluator (tests/segments/reference.py), from SPEC 5.6.

These pin the reference down on the edge cases; the property test then holds the SQL compiler
to the reference on random data.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.segments.reference import (
    ConsentRow,
    Dataset,
    EventRow,
    OrderRow,
    PersonRow,
    PersonTagRow,
    ProductionRow,
    ProductionTagRow,
    SegmentRow,
    SubmissionRow,
    SubscriptionRow,
    TagRow,
    TicketRow,
    VenueRow,
    evaluate,
)

AMS = "Europe/Amsterdam"
Z = ZoneInfo(AMS)


def local(y, m, d, hh=12, mm=0, zone=Z) -> datetime:
    """An aware instant given by its local wall time (UTC-normalised)."""
    return datetime(y, m, d, hh, mm, tzinfo=zone).astimezone(UTC)


def run(data, rule, *, now, scope=None, parent_id=None, mode=None, tz=AMS):
    return evaluate(data, timezone=tz, now=now, rule=rule, scope=scope, parent_id=parent_id, mode=mode)


EVERYONE = {"all": []}
NOW = local(2026, 6, 15, 12, 0)  # a Monday, CEST


def persons(*ids, **values) -> list[PersonRow]:
    return [PersonRow(id=i, **values) for i in ids]


class Sales:
    """Builds productions, events, orders and tickets for a dataset."""

    def __init__(self, data: Dataset):
        self.data = data
        self.ids = iter(range(5000, 10_000))

    def production(self, pid, promoter=None, season=None, tags=()):
        self.data.productions.append(ProductionRow(pid, promoter, season))
        for tag in tags:
            self.data.production_tags.append(ProductionTagRow(tag, pid, "staff"))

    def event(self, eid, production_id, starts_at, venue_id=1):
        self.data.events.append(EventRow(eid, production_id, venue_id, starts_at))

    def order(self, person_id, created_at, lines, channel="online"):
        """lines: [(event_id, price)]"""
        oid = next(self.ids)
        self.data.orders.append(OrderRow(oid, person_id, channel, created_at))
        for event_id, price in lines:
            self.data.tickets.append(TicketRow(next(self.ids), oid, event_id, person_id, Decimal(str(price))))
        return oid


# ----------------------------------------------------------------------------- groups and not


def test_empty_groups_and_not():
    data = Dataset(persons=persons(1, 2, 3))
    assert run(data, {"all": []}, now=NOW) == {1, 2, 3}
    assert run(data, {"any": []}, now=NOW) == set()
    assert run(data, {"not": {"any": []}}, now=NOW) == {1, 2, 3}
    assert run(data, {"not": {"all": []}}, now=NOW) == set()
    assert run(Dataset(), {"all": []}, now=NOW) == set()


# ----------------------------------------------------------------------------- days


def test_days_are_local_calendar_days_in_amsterdam():
    now = local(2026, 6, 15, 0, 30)  # 22:30 UTC on the 14th: the UTC date is one day behind
    data = Dataset(
        persons=[
            PersonRow(1, created_at=local(2026, 6, 15, 0, 5)),  # today, d = 0
            PersonRow(2, created_at=local(2026, 6, 14, 23, 59)),  # d = 1 though only 31 minutes ago
            PersonRow(3, created_at=local(2026, 6, 8, 0, 0)),  # d = 7
            PersonRow(4, created_at=local(2026, 6, 7, 23, 59)),  # d = 8
            PersonRow(5, created_at=local(2026, 6, 15, 23, 0)),  # later today (future instant): d = 0
            PersonRow(6, created_at=local(2026, 6, 16, 0, 1)),  # tomorrow: d = -1
        ]
    )
    assert run(data, {"type": "added_on", "last_days": 0}, now=now) == {1, 5}
    assert run(data, {"type": "added_on", "last_days": 1}, now=now) == {1, 2, 5}
    assert run(data, {"type": "added_on", "last_days": 7}, now=now) == {1, 2, 3, 5}
    # after and before are strict: the days named are left out (SPEC 5.6)
    assert run(data, {"type": "added_on", "after": "2026-06-07", "before": "2026-06-15"}, now=now) == {2, 3}
    assert run(data, {"type": "added_on", "after": "2026-06-08", "before": "2026-06-14"}, now=now) == set()
    assert run(data, {"type": "added_on", "on": "2026-06-14"}, now=now) == {2}
    assert run(data, {"type": "added_on", "after": "2026-06-15"}, now=now) == {6}
    # The same instants seen from UTC fall on other dates.
    # (now is 14 June 22:30 UTC; 1 and 2 were both added on 14 June UTC, 3 and 4 on 7 June UTC, and 5
    # and 6 on 15 June UTC, tomorrow.)
    assert run(data, {"type": "added_on", "last_days": 0}, now=now, tz="UTC") == {1, 2}
    assert run(data, {"type": "added_on", "last_days": 7}, now=now, tz="UTC") == {1, 2, 3, 4}


def test_days_across_the_spring_dst_change():
    # Clocks go from 02:00 to 03:00 on 29 March 2026: that day has 23 hours.
    now = local(2026, 3, 30, 0, 15)
    data = Dataset(
        persons=[
            PersonRow(1, created_at=local(2026, 3, 29, 0, 0)),  # d = 1, 23h15 ago
            PersonRow(2, created_at=local(2026, 3, 28, 23, 59)),  # d = 2, only 23h16 ago
            PersonRow(3, created_at=local(2026, 3, 29, 3, 0)),  # d = 1
        ]
    )
    assert run(data, {"type": "added_on", "last_days": 1}, now=now) == {1, 3}
    assert run(data, {"type": "added_on", "last_days": 2}, now=now) == {1, 2, 3}
    subs = Dataset(
        persons=persons(1, 2),
        custom_fields={},
        submissions=[SubmissionRow(1, 1, local(2026, 3, 29, 1, 59)), SubmissionRow(1, 2, local(2026, 3, 28, 23, 30))],
    )
    assert run(subs, {"type": "form", "form_id": None, "within_days": 1}, now=now) == {1}


def test_days_across_the_autumn_dst_change():
    # Clocks go from 03:00 back to 02:00 on 25 October 2026: that day has 25 hours.
    now = local(2026, 10, 25, 23, 30)
    data = Dataset(
        persons=[
            PersonRow(1, created_at=local(2026, 10, 25, 0, 0)),  # 24h30 ago, yet d = 0
            PersonRow(2, created_at=local(2026, 10, 24, 23, 59)),  # d = 1
            PersonRow(3, created_at=datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),  # 02:30 CET (second time), d = 0
        ]
    )
    assert run(data, {"type": "added_on", "last_days": 0}, now=now) == {1, 3}
    sales = Sales(data)
    sales.production(1)
    sales.event(10, 1, local(2026, 11, 1, 20))
    sales.order(1, local(2026, 10, 25, 0, 0), [(10, 10)])
    sales.order(2, local(2026, 10, 24, 23, 59), [(10, 10)])
    assert run(data, {"type": "last_purchase", "mode": "exactly", "days": 0}, now=now) == {1}
    assert run(data, {"type": "last_purchase", "mode": "exactly", "days": 1}, now=now) == {2}
    assert run(data, {"type": "last_purchase", "mode": "within", "days": 1}, now=now) == {1, 2}


# ----------------------------------------------------------------------------- standard fields


def test_text_operators_and_missing_values():
    data = Dataset(
        persons=[
            PersonRow(1, city="Amsterdam"),
            PersonRow(2, city="AMSTERDAM-Noord"),
            PersonRow(3, city=None),
            PersonRow(4, city="   "),
            PersonRow(5, city="Utrecht"),
            PersonRow(6, city=""),
        ]
    )

    def q(op, value=None):
        node = {"type": "text", "field": "city", "operator": op}
        if value is not None:
            node["values" if isinstance(value, list) else "value"] = value
        return run(data, node, now=NOW)

    assert q("eq", "amsterdam") == {1}
    assert q("neq", "amsterdam") == {2, 3, 4, 5, 6}
    assert q("contains", "STERDAM") == {1, 2}
    assert q("not_contains", "sterdam") == {3, 4, 5, 6}
    assert q("starts_with", "amst") == {1, 2}
    assert q("ends_with", "NOORD") == {2}
    assert q("in", ["utrecht", "Amsterdam"]) == {1, 5}
    assert q("not_in", ["utrecht", "Amsterdam"]) == {2, 3, 4, 6}
    assert q("is_empty") == {3, 4, 6}
    assert q("is_not_empty") == {1, 2, 5}
    assert q("contains", "") == {1, 2, 4, 5, 6}  # every present value contains the empty text
    assert q("contains", "a%") == set()  # no pattern characters: a plain substring


def test_gender_unknown_only_under_all():
    data = Dataset(
        persons=[
            PersonRow(1, gender="female"),
            PersonRow(2, gender="male"),
            PersonRow(3, gender=None),
            PersonRow(4, gender="other"),
        ]
    )
    assert run(data, {"type": "gender", "values": ["female", "other"]}, now=NOW) == {1, 4}
    assert run(data, {"type": "gender", "values": ["male", "all"]}, now=NOW) == {1, 2, 3, 4}
    assert run(data, {"not": {"type": "gender", "values": ["female"]}}, now=NOW) == {2, 3, 4}


def test_age_and_29_february():
    data = Dataset(
        persons=[
            PersonRow(1, birth_date=date(2000, 2, 29)),
            PersonRow(2, birth_date=date(2000, 2, 28)),
            PersonRow(3, birth_date=date(2000, 3, 1)),
            PersonRow(4, birth_date=None),
        ]
    )
    age27 = {"type": "age", "min": 27, "max": 27}
    # 28 February 2027 (common year): the leap-day child is still 26.
    assert run(data, age27, now=local(2027, 2, 28, 12)) == {2}
    # 1 March 2027: now they are 27.
    assert run(data, age27, now=local(2027, 3, 1, 12)) == {1, 2, 3}
    # 23:30 UTC on 28 February is already 1 March in Amsterdam, not in UTC.
    late = datetime(2027, 2, 28, 23, 30, tzinfo=UTC)
    assert run(data, age27, now=late) == {1, 2, 3}
    assert run(data, age27, now=late, tz="UTC") == {2}
    # In a leap year the birthday is on 29 February itself.
    assert run(data, {"type": "age", "min": 28, "max": 28}, now=local(2028, 2, 28, 12)) == {2}
    assert run(data, {"type": "age", "min": 28, "max": 28}, now=local(2028, 2, 29, 12)) == {1, 2}
    # No birth date never matches, not even an open range; `not` brings them back.
    assert run(data, {"type": "age", "min": 0}, now=NOW) == {1, 2, 3}
    assert run(data, {"not": {"type": "age", "max": 200 // 2}}, now=NOW) == {4}


def test_added_on_absolute_bounds_are_strict_like_every_date():
    """ "before D" excludes D, "after D" excludes D, "on D" is that day (SPEC 5.6) — as for custom
    date fields."""
    data = Dataset(
        persons=[
            PersonRow(1, created_at=local(2026, 1, 1, 0, 0)),
            PersonRow(2, created_at=local(2026, 1, 31, 23, 59)),
            PersonRow(3, created_at=local(2026, 2, 1, 0, 0)),
        ]
    )
    assert run(data, {"type": "added_on", "after": "2025-12-31", "before": "2026-02-01"}, now=NOW) == {1, 2}
    assert run(data, {"type": "added_on", "after": "2026-01-01", "before": "2026-01-31"}, now=NOW) == set()
    assert run(data, {"type": "added_on", "before": "2026-01-01"}, now=NOW) == set()
    assert run(data, {"type": "added_on", "before": "2026-01-02"}, now=NOW) == {1}
    assert run(data, {"type": "added_on", "after": "2026-01-31"}, now=NOW) == {3}
    assert run(data, {"type": "added_on", "on": "2026-01-31"}, now=NOW) == {2}


# ----------------------------------------------------------------------------- custom fields

CUSTOM = {
    "nick": {"type": "text", "choices": []},
    "score": {"type": "number", "choices": []},
    "since": {"type": "date", "choices": []},
    "vip": {"type": "boolean", "choices": []},
    "tier": {"type": "choice", "choices": ["Gold", "Silver"]},
}


def test_custom_fields_by_type():
    data = Dataset(
        custom_fields=CUSTOM,
        persons=[
            PersonRow(1, custom_fields={"nick": "Bo", "score": 10, "since": "2026-06-15", "vip": True, "tier": "Gold"}),
            PersonRow(
                2, custom_fields={"nick": " ", "score": 2.5, "since": "2026-06-01", "vip": False, "tier": "Silver"}
            ),
            PersonRow(3, custom_fields={"nick": None, "score": None, "since": None, "vip": None, "tier": None}),
            PersonRow(4, custom_fields={}),
        ],
    )

    def q(key, op, value=None):
        node = {"type": "custom_field", "key": key, "operator": op}
        if value is not None:
            node["value"] = value
        return run(data, node, now=NOW)

    assert q("nick", "eq", "bo") == {1}
    assert q("nick", "neq", "bo") == {2, 3, 4}
    assert q("nick", "is_empty") == {2, 3, 4}
    assert q("nick", "is_not_empty") == {1}
    assert q("score", "eq", 10) == {1}
    assert q("score", "neq", 10) == {2, 3, 4}
    assert q("score", "gt", 2.5) == {1}
    assert q("score", "gte", 2.5) == {1, 2}
    assert q("score", "lt", 10) == {2}
    assert q("score", "lte", 10) == {1, 2}
    assert q("score", "between", [2.5, 10]) == {1, 2}
    assert q("score", "between", [3, 9]) == set()
    assert q("score", "is_empty") == {3, 4}
    assert q("score", "is_not_empty") == {1, 2}
    assert q("since", "eq", "2026-06-15") == {1}
    assert q("since", "neq", "2026-06-15") == {2, 3, 4}
    assert q("since", "before", "2026-06-15") == {2}
    assert q("since", "after", "2026-06-01") == {1}
    assert q("since", "between", ["2026-06-01", "2026-06-15"]) == {1, 2}
    assert q("since", "last_days", 13) == {1}
    assert q("since", "last_days", 14) == {1, 2}
    assert q("since", "is_empty") == {3, 4}
    assert q("vip", "is_true") == {1}
    assert q("vip", "is_false") == {2}
    assert q("vip", "is_empty") == {3, 4}
    assert q("vip", "is_not_empty") == {1, 2}
    assert q("tier", "eq", "Gold") == {1}
    assert q("tier", "neq", "Gold") == {2, 3, 4}
    assert q("tier", "in", ["Gold", "Silver"]) == {1, 2}
    assert q("tier", "not_in", ["Silver"]) == {1, 3, 4}
    assert q("tier", "is_empty") == {3, 4}


# ----------------------------------------------------------------------------- links


def test_tags_sources_subtags_and_has_not():
    data = Dataset(
        persons=persons(1, 2, 3, 4),
        tags=[TagRow(10), TagRow(11, 10), TagRow(12, 11), TagRow(13)],
        person_tags=[
            PersonTagRow(10, 1, "staff"),
            PersonTagRow(12, 2, "person"),
            PersonTagRow(11, 3, "integration"),
            PersonTagRow(13, 4, "staff"),
        ],
    )
    assert run(data, {"type": "tag", "tag_id": 10}, now=NOW) == {1}
    assert run(data, {"type": "tag", "tag_id": 10, "include_subtags": True}, now=NOW) == {1, 2, 3}
    assert run(data, {"type": "tag", "tag_id": 10, "include_subtags": True, "source": "person"}, now=NOW) == {2}
    assert run(
        data, {"type": "tag", "tag_id": 10, "has": False, "include_subtags": True, "source": "person"}, now=NOW
    ) == {1, 3, 4}
    assert run(data, {"type": "tag", "tag_id": 11, "include_subtags": True}, now=NOW) == {2, 3}
    assert run(data, {"type": "tag", "tag_id": 10, "has": False}, now=NOW) == {2, 3, 4}


def test_consent_forms_and_subscriptions():
    today = date(2026, 6, 15)
    data = Dataset(
        persons=persons(1, 2, 3, 4),
        consents=[ConsentRow(1, 7, True), ConsentRow(2, 7, False), ConsentRow(3, 8, True)],
        submissions=[
            SubmissionRow(20, 1, local(2026, 6, 15, 0, 1)),
            SubmissionRow(21, 2, local(2026, 6, 5, 23, 59)),
            SubmissionRow(20, 3, local(2026, 6, 16, 9, 0)),
        ],  # a future submission: d = -1
        subscriptions=[
            SubscriptionRow(1, today, today),
            SubscriptionRow(2, today + timedelta(days=1), None),
            SubscriptionRow(3, today - timedelta(days=30), None),
            SubscriptionRow(4, today - timedelta(days=30), today - timedelta(days=1)),
        ],
    )
    assert run(data, {"type": "consent", "consent_type_id": 7}, now=NOW) == {1}
    assert run(data, {"type": "consent", "consent_type_id": 7, "granted": False}, now=NOW) == {2, 3, 4}
    assert run(data, {"type": "form", "form_id": 20}, now=NOW) == {1, 3}
    assert run(data, {"type": "form", "form_id": None}, now=NOW) == {1, 2, 3}
    assert run(data, {"type": "form", "form_id": None, "within_days": 9}, now=NOW) == {1}
    assert run(data, {"type": "form", "form_id": None, "within_days": 10}, now=NOW) == {1, 2}
    assert run(data, {"type": "subscription"}, now=NOW) == {1, 3}
    assert run(data, {"type": "subscription", "holder": False}, now=NOW) == {2, 4}


def test_distance():
    data = Dataset(
        persons=[
            PersonRow(1, latitude=52.37, longitude=4.89),  # Amsterdam
            PersonRow(2, latitude=52.09, longitude=5.12),  # Utrecht, ~35 km
            PersonRow(3, latitude=None, longitude=None),
        ],
        venues=[VenueRow(1, 52.37, 4.89), VenueRow(2, None, None)],
    )
    assert run(data, {"type": "distance", "km": 0, "venue_id": 1}, now=NOW) == {1}
    assert run(data, {"type": "distance", "km": 30, "venue_id": 1}, now=NOW) == {1}
    assert run(data, {"type": "distance", "km": 40, "venue_id": 1}, now=NOW) == {1, 2}
    assert run(data, {"type": "distance", "km": 40, "latitude": 52.09, "longitude": 5.12}, now=NOW) == {1, 2}
    assert run(data, {"type": "distance", "km": 20000, "venue_id": 2}, now=NOW) == set()
    assert run(data, {"not": {"type": "distance", "km": 20000, "venue_id": 1}}, now=NOW) == {3}


# ----------------------------------------------------------------------------- purchases


def shop() -> tuple[Dataset, Sales]:
    data = Dataset(persons=persons(1, 2, 3, 4), tags=[TagRow(90), TagRow(91, 90)])
    sales = Sales(data)
    sales.production(1, promoter="Own", season="2025-2026", tags=[90])
    sales.production(2, promoter="Guest", season="2026-2027", tags=[91])
    sales.event(10, 1, local(2026, 3, 1, 20))  # 106 days ago
    sales.event(11, 1, local(2026, 6, 10, 20))  # 5 days ago
    sales.event(12, 2, local(2026, 6, 15, 20))  # later today
    sales.event(13, 2, local(2026, 9, 1, 20))  # future
    # 1: bought online for the old show, at the box office for the recent one
    sales.order(1, local(2026, 2, 1, 10), [(10, 25), (10, 25)], channel="online")
    sales.order(1, local(2026, 6, 10, 19), [(11, 12.5)], channel="box_office")
    # 2: one online order, two future events
    sales.order(2, local(2026, 6, 14, 23, 59), [(12, 40), (13, 40)], channel="online")
    # 3: only the old show
    sales.order(3, local(2026, 1, 1, 10), [(10, 0)], channel="box_office")
    # 4: never bought
    return data, sales


def test_purchase_figures_without_scope():
    data, _ = shop()
    assert run(data, {"type": "purchase", "metric": "revenue", "min": 62.5, "max": 70}, now=NOW) == {1}
    assert run(data, {"type": "purchase", "metric": "revenue", "min": 62.5}, now=NOW) == {1, 2}
    assert run(data, {"type": "purchase", "metric": "revenue", "max": 0}, now=NOW) == {3, 4}
    assert run(data, {"type": "purchase", "metric": "tickets", "min": 2, "max": 3}, now=NOW) == {1, 2}
    assert run(data, {"type": "purchase", "metric": "orders", "min": 2}, now=NOW) == {1}
    assert run(data, {"type": "purchase", "metric": "events", "min": 2}, now=NOW) == {1, 2}
    assert run(data, {"type": "purchase", "metric": "orders", "min": 0, "max": 0}, now=NOW) == {4}
    assert run(data, {"type": "channel", "channel": "both"}, now=NOW) == {1}
    assert run(data, {"type": "channel", "channel": "online"}, now=NOW) == {1, 2}
    assert run(data, {"type": "channel", "channel": "box_office"}, now=NOW) == {1, 3}


def test_last_purchase_and_impulsive_without_scope():
    data, _ = shop()
    assert run(data, {"type": "last_purchase", "mode": "within", "days": 5}, now=NOW) == {1, 2}
    assert run(data, {"type": "last_purchase", "mode": "within", "days": 0}, now=NOW) == set()
    assert run(data, {"type": "last_purchase", "mode": "exactly", "days": 1}, now=NOW) == {2}
    assert run(data, {"type": "last_purchase", "mode": "exactly", "days": 5}, now=NOW) == {1}
    # 1's earlier order (134 days ago) is not the latest one.
    assert run(data, {"type": "last_purchase", "mode": "exactly", "days": 134}, now=NOW) == set()
    assert run(data, {"type": "last_purchase", "mode": "not_within", "days": 5}, now=NOW) == {3, 4}
    # impulsive: 1 ordered the same day as event 11 (0 days before); 2 one day before event 12.
    assert run(data, {"type": "impulsive", "max_days_before": 0}, now=NOW) == {1}
    assert run(data, {"type": "impulsive", "max_days_before": 1}, now=NOW) == {1, 2}
    assert run(data, {"type": "impulsive", "max_days_before": 100}, now=NOW) == {1, 2, 3}
    # Pairs: 1 has (order, event 10) at 28 days and (order, event 11) at 0; 2 has 1 and 79 days.
    # 1's two tickets for event 10 make one pair.
    assert run(data, {"type": "impulsive", "max_days_before": 79, "min_times": 2}, now=NOW) == {1, 2}
    assert run(data, {"type": "impulsive", "max_days_before": 78, "min_times": 2}, now=NOW) == {1}
    assert run(data, {"type": "impulsive", "max_days_before": 27, "min_times": 2}, now=NOW) == set()
    assert run(data, {"type": "impulsive", "max_days_before": 100, "min_times": 3}, now=NOW) == set()


def test_scope_days_back_includes_future_events():
    data, _ = shop()
    scope = {"days_back": 5}
    # In scope: events 11 (d = 5), 12, 13; holders 1 and 2.
    assert run(data, EVERYONE, now=NOW, scope=scope) == {1, 2}
    assert run(data, EVERYONE, now=NOW, scope={"days_back": 4}) == {2}
    assert run(data, EVERYONE, now=NOW, scope={"days_back": 0}) == {2}
    assert run(data, EVERYONE, now=NOW, scope={"days_back": 106}) == {1, 2, 3}
    # Figures count only in-scope tickets.
    assert run(data, {"type": "purchase", "metric": "revenue", "max": 12.5}, now=NOW, scope=scope) == {1}
    assert run(data, {"type": "purchase", "metric": "tickets", "min": 2}, now=NOW, scope=scope) == {2}
    assert run(data, {"type": "channel", "channel": "both"}, now=NOW, scope=scope) == set()
    assert run(data, {"type": "channel", "channel": "box_office"}, now=NOW, scope=scope) == {1}
    assert run(data, {"type": "last_purchase", "mode": "exactly", "days": 5}, now=NOW, scope=scope) == {1}


def test_scope_filters_combine():
    data, _ = shop()
    assert run(data, EVERYONE, now=NOW, scope={"promoters": ["Own"]}) == {1, 3}
    assert run(data, EVERYONE, now=NOW, scope={"promoters": ["Own", "Guest"], "seasons": ["2026-2027"]}) == {2}
    assert run(data, EVERYONE, now=NOW, scope={"event_ids": [11, 13]}) == {1, 2}
    assert run(data, EVERYONE, now=NOW, scope={"production_ids": [1], "event_ids": [12, 13]}) == set()
    # genre / label tags: the production's own tags, no subtags
    assert run(data, EVERYONE, now=NOW, scope={"genre_tag_ids": [90]}) == {1, 3}
    assert run(data, EVERYONE, now=NOW, scope={"label_tag_ids": [91]}) == {2}
    assert run(data, EVERYONE, now=NOW, scope={"genre_tag_ids": [90], "label_tag_ids": [91]}) == set()
    # An empty scope is no scope.
    assert run(data, EVERYONE, now=NOW, scope={"promoters": [], "days_back": None}) == {1, 2, 3, 4}


def test_not_cannot_bring_in_persons_without_an_in_scope_ticket():
    data, _ = shop()
    scope = {"promoters": ["Guest"]}
    assert run(data, {"not": {"type": "tag", "tag_id": 90}}, now=NOW, scope=scope) == {2}
    assert run(data, {"type": "last_purchase", "mode": "not_within", "days": 0}, now=NOW, scope=scope) == {2}
    assert run(data, {"type": "purchase", "metric": "tickets", "max": 0}, now=NOW, scope=scope) == set()
    assert run(data, {"type": "last_purchase", "mode": "not_within", "days": 0}, now=NOW) == {1, 2, 3, 4}


# ----------------------------------------------------------------------------- nesting, references, modes


def test_nesting_each_level_with_its_own_scope():
    data, _ = shop()
    data.segments = {
        100: SegmentRow(100, None, {"type": "channel", "channel": "online"}, {"promoters": ["Own"]}),  # {1}
        101: SegmentRow(101, 100, {"all": []}, {"days_back": 5}),  # {1}
        102: SegmentRow(102, None, {"type": "purchase", "metric": "orders", "max": 1}, None),  # {2, 3, 4}
    }
    assert run(data, EVERYONE, now=NOW, parent_id=100) == {1}
    # The child's purchase figures use its own scope (event 12/13 only), not the parent's.
    assert (
        run(data, {"type": "channel", "channel": "online"}, now=NOW, scope={"promoters": ["Guest"]}, parent_id=100)
        == set()
    )
    assert run(
        data, {"type": "purchase", "metric": "tickets", "max": 1}, now=NOW, scope={"days_back": 5}, parent_id=100
    ) == {1}
    assert run(data, EVERYONE, now=NOW, parent_id=101) == {1}
    assert run(data, EVERYONE, now=NOW, parent_id=102) == {2, 3, 4}
    # Segment references: members (rules, scope, parents) — and their complement.
    assert run(data, {"type": "segment", "segment_id": 101}, now=NOW) == {1}
    assert run(data, {"type": "segment", "segment_id": 101, "member": False}, now=NOW) == {2, 3, 4}
    assert run(
        data, {"any": [{"type": "segment", "segment_id": 100}, {"type": "segment", "segment_id": 102}]}, now=NOW
    ) == {1, 2, 3, 4}


def test_modes_are_applied_last_and_not_inherited_by_references():
    data, _ = shop()
    data.segments = {100: SegmentRow(100, None, {"all": []}, None)}
    assert run(data, EVERYONE, now=NOW, mode=("event", 10)) == {2, 4}
    assert run(data, EVERYONE, now=NOW, mode=("production", 2)) == {1, 3, 4}
    # The mode removes holders of any ticket for the event, even out of scope.
    assert run(data, EVERYONE, now=NOW, scope={"days_back": 5}, mode=("event", 10)) == {2}
    assert run(data, {"type": "segment", "segment_id": 100}, now=NOW, parent_id=100, mode=("event", 12)) == {1, 3, 4}


@pytest.mark.parametrize("tz", ["Europe/Amsterdam", "America/New_York", "Asia/Tokyo"])
def test_impulsive_uses_local_dates(tz):
    zone = ZoneInfo(tz)
    data = Dataset(persons=persons(1))
    sales = Sales(data)
    sales.production(1)
    sales.event(10, 1, datetime(2026, 6, 20, 0, 30, tzinfo=zone))
    sales.order(1, datetime(2026, 6, 19, 23, 30, tzinfo=zone), [(10, 10)])
    now = datetime(2026, 6, 21, 12, tzinfo=zone)
    assert run(data, {"type": "impulsive", "max_days_before": 0}, now=now, tz=tz) == set()
    assert run(data, {"type": "impulsive", "max_days_before": 1}, now=now, tz=tz) == {1}
    # An order placed after the event (days before < 0) never counts.
    sales.event(11, 1, datetime(2026, 6, 18, 20, tzinfo=zone))
    data.persons.append(PersonRow(2))
    sales.order(2, datetime(2026, 6, 19, 10, tzinfo=zone), [(11, 10)])
    assert run(data, {"type": "impulsive", "max_days_before": 5}, now=now, tz=tz) == {1}
