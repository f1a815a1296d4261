"""A plain-Python reference evaluator of segment rules, written straight from SPEC 5 (5.6).

It works over plain data (a ``Dataset`` holding the rows of one account), never over SQL, and is
deliberately naive: every condition is evaluated person by person with ordinary Python. The
property test (``tests/segments/test_property.py``) checks that the SQL compiler returns exactly
the persons this module returns, for random data and random rules.

It lives with the tests (it is their oracle, not part of the product). Only the parsing of rule
documents (``domain.segments.rules``) is shared with the compiler; every
meaning below is this module's own reading of the SPEC:

- Days are calendar days in the account's zone: an instant is ``d`` days ago when today's local
  date minus its local date is ``d``; "in the last N days" is ``0 <= d <= N``.
- ``not`` is the complement over the account's persons; ``all`` of nothing is everyone, ``any`` of
  nothing is no one.
- Negative operators are exact complements of their positive forms (so they match missing values);
  every other operator never matches a missing value.
- With an event scope, purchase conditions count only in-scope tickets, and a member must hold at
  least one in-scope ticket whatever the rules say.
- A child segment's members are its parent's members that match the child's own rules (with the
  child's own scope); modes are applied last; membership of another segment ignores its mode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from domain.segments import rules as R

EARTH_RADIUS_KM = 6371.0


# ----------------------------------------------------------------------------- the data


@dataclass
class PersonRow:
    id: int
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    gender: str | None = None
    birth_date: date | None = None
    language: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    custom_fields: dict = field(default_factory=dict)
    created_at: datetime = datetime(2020, 1, 1, tzinfo=UTC)


@dataclass
class TagRow:
    id: int
    parent_id: int | None = None


@dataclass
class PersonTagRow:
    tag_id: int
    person_id: int
    source: str


@dataclass
class ProductionRow:
    id: int
    promoter: str | None = None
    season: str | None = None


@dataclass
class ProductionTagRow:
    tag_id: int
    production_id: int
    source: str = "staff"


@dataclass
class VenueRow:
    id: int
    latitude: float | None = None
    longitude: float | None = None


@dataclass
class EventRow:
    id: int
    production_id: int
    venue_id: int
    starts_at: datetime


@dataclass
class OrderRow:
    id: int
    person_id: int
    channel: str
    created_at: datetime


@dataclass
class TicketRow:
    id: int
    order_id: int
    event_id: int
    person_id: int
    price: Decimal


@dataclass
class SubscriptionRow:
    person_id: int
    valid_from: date
    valid_until: date | None = None


@dataclass
class ConsentRow:
    person_id: int
    consent_type_id: int
    granted: bool


@dataclass
class SubmissionRow:
    form_id: int
    person_id: int
    submitted_at: datetime


@dataclass
class InterestScoreRow:
    """A stored interest score: ``value`` at ``as_of`` (SPEC 6)."""

    person_id: int
    tag_id: int
    value: float
    as_of: datetime


@dataclass
class SegmentRow:
    id: int
    parent_id: int | None
    rule: Any  # a rule node (JSON), or a stored document {"version": 1, "rule": node}
    scope: dict | None = None


@dataclass
class Dataset:
    """The rows of one account."""

    persons: list[PersonRow] = field(default_factory=list)
    custom_fields: dict[str, dict] = field(default_factory=dict)  # key -> {"type": ..., "choices": [...]}
    tags: list[TagRow] = field(default_factory=list)
    person_tags: list[PersonTagRow] = field(default_factory=list)
    productions: list[ProductionRow] = field(default_factory=list)
    production_tags: list[ProductionTagRow] = field(default_factory=list)
    venues: list[VenueRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    orders: list[OrderRow] = field(default_factory=list)
    tickets: list[TicketRow] = field(default_factory=list)
    subscriptions: list[SubscriptionRow] = field(default_factory=list)
    consents: list[ConsentRow] = field(default_factory=list)
    submissions: list[SubmissionRow] = field(default_factory=list)
    interest_scores: list[InterestScoreRow] = field(default_factory=list)
    half_life_days: float = 180.0
    segments: dict[int, SegmentRow] = field(default_factory=dict)


def rule_node(document: Any) -> Any:
    """The rule node of a stored rules document (``{"version": 1, "rule": node}``) or of a bare node."""
    if isinstance(document, dict) and "rule" in document and "type" not in document:
        return document["rule"]
    return document


# ----------------------------------------------------------------------------- evaluation


class _Evaluator:
    def __init__(self, data: Dataset, tz: str, now: datetime):
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime")
        self.data = data
        self.zone = ZoneInfo(tz)
        self.now = now
        self.today = now.astimezone(self.zone).date()
        self.everyone = frozenset(p.id for p in data.persons)
        self.persons = {p.id: p for p in data.persons}
        self.productions = {p.id: p for p in data.productions}
        self.events = {e.id: e for e in data.events}
        self.orders = {o.id: o for o in data.orders}
        self.venues = {v.id: v for v in data.venues}
        self.members_cache: dict[int, frozenset[int]] = {}

    # days ---------------------------------------------------------------
    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    def days_ago(self, instant: datetime) -> int:
        return (self.today - self.local_date(instant)).days

    def date_days_ago(self, day: date) -> int:
        return (self.today - day).days

    # scope --------------------------------------------------------------
    def event_in_scope(self, event: EventRow, scope: R.Scope) -> bool:
        production = self.productions.get(event.production_id)
        if scope.promoters and (production is None or production.promoter not in scope.promoters):
            return False
        if scope.seasons and (production is None or production.season not in scope.seasons):
            return False
        if scope.production_ids and event.production_id not in scope.production_ids:
            return False
        if scope.event_ids and event.id not in scope.event_ids:
            return False
        own_tags = {link.tag_id for link in self.data.production_tags if link.production_id == event.production_id}
        if scope.genre_tag_ids and not own_tags & set(scope.genre_tag_ids):
            return False
        if scope.label_tag_ids and not own_tags & set(scope.label_tag_ids):
            return False
        # within days back: starts after now, or d <= days back
        return (
            scope.days_back is None or event.starts_at > self.now or self.days_ago(event.starts_at) <= scope.days_back
        )

    def counted_tickets(self, person_id: int, scope: R.Scope) -> list[TicketRow]:
        tickets = [t for t in self.data.tickets if t.person_id == person_id]
        if scope.is_set:
            tickets = [t for t in tickets if self.event_in_scope(self.events[t.event_id], scope)]
        return tickets

    def scope_holders(self, scope: R.Scope) -> frozenset[int]:
        """Persons holding at least one ticket for an in-scope event (everyone without a scope)."""
        if not scope.is_set:
            return self.everyone
        return frozenset(p for p in self.everyone if self.counted_tickets(p, scope))

    # segments -----------------------------------------------------------
    def segment_members(self, segment_id: int, stack: tuple[int, ...] = ()) -> frozenset[int]:
        if segment_id in self.members_cache:
            return self.members_cache[segment_id]
        if segment_id in stack:
            raise ValueError(f"segment cycle through {segment_id}")
        segment = self.data.segments.get(segment_id)
        if segment is None:
            raise KeyError(f"no segment {segment_id}")
        stack = stack + (segment_id,)
        members = self.members(rule_node(segment.rule), segment.scope, segment.parent_id, stack)
        self.members_cache[segment_id] = members
        return members

    def members(
        self, rule: Any, scope_doc: dict | None, parent_id: int | None, stack: tuple[int, ...] = ()
    ) -> frozenset[int]:
        """Parent's members ∩ own rules (with own scope) ∩ own scope's ticket holders."""
        tree = R.parse_rule(rule, custom_fields=self.data.custom_fields)
        scope = R.parse_scope(scope_doc)
        result = self.node(tree, scope, stack) & self.scope_holders(scope)
        if parent_id is not None:
            result &= self.segment_members(parent_id, stack)
        return frozenset(result)

    # nodes --------------------------------------------------------------
    def node(self, node: Any, scope: R.Scope, stack: tuple[int, ...]) -> frozenset[int]:
        if isinstance(node, R.All):
            result = set(self.everyone)
            for child in node.children:
                result &= self.node(child, scope, stack)
            return frozenset(result)
        if isinstance(node, R.Any_):
            result = set()
            for child in node.children:
                result |= self.node(child, scope, stack)
            return frozenset(result)
        if isinstance(node, R.Not):
            return self.everyone - self.node(node.child, scope, stack)
        if isinstance(node, R.SegmentCond):
            members = self.segment_members(node.segment_id, stack)
            return members if node.member else self.everyone - members
        return frozenset(p.id for p in self.data.persons if self.condition(node, p, scope))

    def condition(self, cond: Any, person: PersonRow, scope: R.Scope) -> bool:
        method = getattr(self, "cond_" + type(cond).__name__)
        return bool(method(cond, person, scope))

    # standard fields ----------------------------------------------------
    @staticmethod
    def text_matches(value: Any, op: str, operand: Any) -> bool:
        """Text semantics shared by standard text fields and text custom fields."""
        if op == "neq":
            return not _Evaluator.text_matches(value, "eq", operand)
        if op == "not_contains":
            return not _Evaluator.text_matches(value, "contains", operand)
        if op == "not_in":
            return not _Evaluator.text_matches(value, "in", operand)
        if op == "is_not_empty":
            return not _Evaluator.text_matches(value, "is_empty", operand)
        if op == "is_empty":
            return value is None or (isinstance(value, str) and value.strip() == "")
        if value is None:
            return False
        text = str(value).lower()
        if op == "eq":
            return text == operand.lower()
        if op == "contains":
            return operand.lower() in text
        if op == "starts_with":
            return text.startswith(operand.lower())
        if op == "ends_with":
            return text.endswith(operand.lower())
        if op == "in":
            return text in {v.lower() for v in operand}
        raise ValueError(f"unknown text operator {op}")

    def cond_TextCond(self, cond: R.TextCond, person: PersonRow, scope: R.Scope) -> bool:
        return self.text_matches(
            getattr(person, cond.field), cond.operator, cond.values if cond.values is not None else cond.value
        )

    def cond_GenderCond(self, cond: R.GenderCond, person: PersonRow, scope: R.Scope) -> bool:
        if "all" in cond.values:
            return True
        return person.gender is not None and person.gender in cond.values

    def age(self, birth: date) -> int:
        today = self.today
        # Plain tuple comparison: a 29 February birthday is reached on 1 March in common years.
        return today.year - birth.year - (1 if (today.month, today.day) < (birth.month, birth.day) else 0)

    def cond_AgeCond(self, cond: R.AgeCond, person: PersonRow, scope: R.Scope) -> bool:
        if person.birth_date is None:
            return False
        years = self.age(person.birth_date)
        return (cond.min is None or years >= cond.min) and (cond.max is None or years <= cond.max)

    def cond_AddedOnCond(self, cond: R.AddedOnCond, person: PersonRow, scope: R.Scope) -> bool:
        day = self.local_date(person.created_at)
        if cond.last_days is not None:
            return 0 <= self.date_days_ago(day) <= cond.last_days
        if cond.on is not None:
            return day == cond.on
        # "after D" and "before D" are strict: D itself is neither (SPEC 5.6)
        return (cond.after is None or day > cond.after) and (cond.before is None or day < cond.before)

    # custom fields ------------------------------------------------------
    def cond_CustomFieldCond(self, cond: R.CustomFieldCond, person: PersonRow, scope: R.Scope) -> bool:
        value = (person.custom_fields or {}).get(cond.key)
        op, operand = cond.operator, cond.value
        if cond.kind == "text":
            return self.text_matches(value, op, operand)
        if op == "is_empty":
            return value is None
        if op == "is_not_empty":
            return value is not None
        if cond.kind == "number":
            if op == "neq":
                return not self._number(value, "eq", operand)
            return self._number(value, op, operand)
        if cond.kind == "date":
            if op == "neq":
                return not self._date(value, "eq", operand)
            return self._date(value, op, operand)
        if cond.kind == "boolean":
            if op == "is_true":
                return value is True
            if op == "is_false":
                return value is False
            raise ValueError(op)
        if cond.kind == "choice":
            if op == "neq":
                return not (value is not None and value == operand)
            if op == "not_in":
                return not (value is not None and value in operand)
            if op == "eq":
                return value is not None and value == operand
            if op == "in":
                return value is not None and value in operand
            raise ValueError(op)
        raise ValueError(cond.kind)

    @staticmethod
    def _number(value: Any, op: str, operand: Any) -> bool:
        if value is None:
            return False
        x = Decimal(str(value))
        if op == "between":
            low, high = (Decimal(str(v)) for v in operand)
            return low <= x <= high
        y = Decimal(str(operand))
        return {"eq": x == y, "gt": x > y, "gte": x >= y, "lt": x < y, "lte": x <= y}[op]

    def _date(self, value: Any, op: str, operand: Any) -> bool:
        if value is None:
            return False
        day = date.fromisoformat(value)
        if op == "eq":
            return day == operand
        if op == "before":
            return day < operand
        if op == "after":
            return day > operand
        if op == "between":
            return operand[0] <= day <= operand[1]
        if op == "last_days":
            return 0 <= self.date_days_ago(day) <= operand
        raise ValueError(op)

    # tags, consents, forms, subscriptions -------------------------------
    def descendants(self, tag_id: int) -> set[int]:
        found = {tag_id}
        changed = True
        while changed:
            changed = False
            for tag in self.data.tags:
                if tag.parent_id in found and tag.id not in found:
                    found.add(tag.id)
                    changed = True
        return found

    def cond_TagCond(self, cond: R.TagCond, person: PersonRow, scope: R.Scope) -> bool:
        tags = self.descendants(cond.tag_id) if cond.include_subtags else {cond.tag_id}
        has = any(
            link.person_id == person.id and link.tag_id in tags and (cond.source is None or link.source == cond.source)
            for link in self.data.person_tags
        )
        return has if cond.has else not has

    def cond_ConsentCond(self, cond: R.ConsentCond, person: PersonRow, scope: R.Scope) -> bool:
        granted = any(
            c.person_id == person.id and c.consent_type_id == cond.consent_type_id and c.granted
            for c in self.data.consents
        )
        return granted if cond.granted else not granted

    def cond_FormCond(self, cond: R.FormCond, person: PersonRow, scope: R.Scope) -> bool:
        for sub in self.data.submissions:
            if sub.person_id != person.id:
                continue
            if cond.form_id is not None and sub.form_id != cond.form_id:
                continue
            if cond.within_days is not None and not 0 <= self.days_ago(sub.submitted_at) <= cond.within_days:
                continue
            return True
        return False

    def cond_SubscriptionCond(self, cond: R.SubscriptionCond, person: PersonRow, scope: R.Scope) -> bool:
        holder = any(
            s.person_id == person.id
            and s.valid_from <= self.today
            and (s.valid_until is None or self.today <= s.valid_until)
            for s in self.data.subscriptions
        )
        return holder if cond.holder else not holder

    def cond_InterestCond(self, cond: R.InterestCond, person: PersonRow, scope: R.Scope) -> bool:
        """SPEC 6: a score halves every half-life after the moment it was computed; no score is 0."""
        score = 0.0
        for row in self.data.interest_scores:
            if row.person_id == person.id and row.tag_id == cond.tag_id:
                elapsed = max(0.0, (self.now - row.as_of).total_seconds())
                score = row.value * 2.0 ** (-elapsed / (self.data.half_life_days * 86400.0))
        return (cond.min is None or score >= cond.min) and (cond.max is None or score <= cond.max)

    # purchases ----------------------------------------------------------
    def counted_orders(self, person: PersonRow, scope: R.Scope) -> list[OrderRow]:
        ids = {t.order_id for t in self.counted_tickets(person.id, scope)}
        return [self.orders[i] for i in sorted(ids)]

    def cond_PurchaseCond(self, cond: R.PurchaseCond, person: PersonRow, scope: R.Scope) -> bool:
        tickets = self.counted_tickets(person.id, scope)
        if cond.metric == "revenue":
            figure = sum((Decimal(t.price) for t in tickets), Decimal(0))
        elif cond.metric == "tickets":
            figure = Decimal(len(tickets))
        elif cond.metric == "orders":
            figure = Decimal(len({t.order_id for t in tickets}))
        elif cond.metric == "events":
            figure = Decimal(len({t.event_id for t in tickets}))
        else:
            raise ValueError(cond.metric)
        return (cond.min is None or figure >= Decimal(str(cond.min))) and (
            cond.max is None or figure <= Decimal(str(cond.max))
        )

    def cond_ChannelCond(self, cond: R.ChannelCond, person: PersonRow, scope: R.Scope) -> bool:
        channels = {o.channel for o in self.counted_orders(person, scope)}
        if cond.channel == "both":
            return {"online", "box_office"} <= channels
        return cond.channel in channels

    def cond_LastPurchaseCond(self, cond: R.LastPurchaseCond, person: PersonRow, scope: R.Scope) -> bool:
        orders = self.counted_orders(person, scope)
        if cond.mode == "not_within":
            return not self.cond_LastPurchaseCond(R.LastPurchaseCond("within", cond.days), person, scope)
        if not orders:
            return False
        d = self.days_ago(max(o.created_at for o in orders))
        if cond.mode == "within":
            return 0 <= d <= cond.days
        if cond.mode == "exactly":
            return d == cond.days
        raise ValueError(cond.mode)

    def cond_ImpulsiveCond(self, cond: R.ImpulsiveCond, person: PersonRow, scope: R.Scope) -> bool:
        pairs = set()
        for t in self.counted_tickets(person.id, scope):
            order, event = self.orders[t.order_id], self.events[t.event_id]
            before = (self.local_date(event.starts_at) - self.local_date(order.created_at)).days
            if 0 <= before <= cond.max_days_before:
                pairs.add((order.id, event.id))
        return len(pairs) >= cond.min_times

    # distance -----------------------------------------------------------
    @staticmethod
    def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
        p1, p2 = math.radians(lat1), math.radians(lat2)
        dlat, dlon = p2 - p1, math.radians(lon2) - math.radians(lon1)
        return (
            2
            * EARTH_RADIUS_KM
            * math.asin(math.sqrt(math.sin(dlat / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlon / 2) ** 2))
        )

    def cond_DistanceCond(self, cond: R.DistanceCond, person: PersonRow, scope: R.Scope) -> bool:
        if person.latitude is None or person.longitude is None:
            return False
        if cond.venue_id is not None:
            venue = self.venues.get(cond.venue_id)
            if venue is None or venue.latitude is None or venue.longitude is None:
                return False
            lat, lon = venue.latitude, venue.longitude
        else:
            lat, lon = cond.latitude, cond.longitude
        return self.haversine_km(person.latitude, person.longitude, lat, lon) <= cond.km


def evaluate(
    data: Dataset,
    *,
    timezone: str,
    now: datetime,
    rule: dict,
    scope: dict | None,
    parent_id: int | None = None,
    mode: tuple[str, int] | None = None,
) -> set[int]:
    """Ids of the persons matching: parent's members ∩ own rules (own scope), minus the mode."""
    ev = _Evaluator(data, timezone, now)
    members = set(ev.members(rule_node(rule), scope, parent_id))
    if mode is not None:
        kind, target = mode
        if kind == "event":
            events = {target}
        elif kind == "production":
            events = {e.id for e in data.events if e.production_id == target}
        else:
            raise ValueError(f"unknown mode {kind!r}")
        members -= {t.person_id for t in data.tickets if t.event_id in events}
    return members


__all__ = [
    "ConsentRow",
    "Dataset",
    "EventRow",
    "InterestScoreRow",
    "OrderRow",
    "PersonRow",
    "PersonTagRow",
    "ProductionRow",
    "ProductionTagRow",
    "SegmentRow",
    "SubmissionRow",
    "SubscriptionRow",
    "TagRow",
    "TicketRow",
    "VenueRow",
    "evaluate",
    "rule_node",
]
