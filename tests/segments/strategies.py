"""Hypothesis strategies: small random data sets of one account and random segment rules over them.

Values come from small pools around the boundaries that matter (calendar days in the account's
zone, DST changes, 29 February, inclusive bounds, null / blank values, case differences), so that
conditions match some persons and miss others. Ids are fixed per table with distinct offsets
(persons 1001…, tags 2001…, productions 3001…), so a compiler mixing up two tables' ids shows.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from domain.segments import rules as R
from tests.segments.reference import (
    ConsentRow,
    Dataset,
    EventRow,
    InterestScoreRow,
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
)

PERSON_BASE, TAG_BASE, PRODUCTION_BASE, VENUE_BASE, EVENT_BASE = 1000, 2000, 3000, 3500, 4000
ORDER_BASE, TICKET_BASE, CONSENT_TYPE_BASE, FORM_BASE, SEGMENT_BASE = 5000, 6000, 7000, 7100, 8000
CONSENT_TYPES = (CONSENT_TYPE_BASE + 1, CONSENT_TYPE_BASE + 2)
FORMS = (FORM_BASE + 1, FORM_BASE + 2)

ZONES = (
    "Europe/Amsterdam",
    "Europe/Amsterdam",
    "Europe/Amsterdam",
    "UTC",
    "America/New_York",
    "Asia/Tokyo",
    "Pacific/Auckland",
)
NOWS = (
    datetime(2026, 6, 15, 10, 0, tzinfo=UTC),  # an ordinary summer day
    datetime(2026, 3, 29, 0, 30, tzinfo=UTC),  # Amsterdam 01:30, half an hour before the clocks jump
    datetime(2026, 3, 30, 22, 30, tzinfo=UTC),  # Amsterdam 00:30 on 31 March: UTC is a day behind
    datetime(2026, 10, 25, 23, 30, tzinfo=UTC),  # the night after the clocks went back
    datetime(2027, 2, 28, 12, 0, tzinfo=UTC),  # 28 February of a common year
    datetime(2027, 2, 28, 12, 0, tzinfo=UTC),
    datetime(2027, 2, 28, 23, 30, tzinfo=UTC),  # already 1 March in Amsterdam (common year)
    datetime(2028, 2, 29, 12, 0, tzinfo=UTC),  # a leap day
    datetime(2026, 12, 31, 23, 30, tzinfo=UTC),  # new year in Amsterdam
)
LOCAL_TIMES = (time(0, 0), time(0, 30), time(2, 30), time(12, 0), time(23, 30), time(23, 59, 59))
PAST_DAYS = (0, 0, 1, 1, 2, 6, 7, 8, 29, 30, 31, 90, 400)
ANY_DAYS = PAST_DAYS + (-1, -2, -7, -30)
N_DAYS = (0, 1, 2, 6, 7, 30, 90)

FIRST_NAMES = ("Anna", "anna", "ANNA", "Bram", "Daan", "Eva", "Jo_", None, "", " ")
LAST_NAMES = ("de Vries", "De Vries", "Jansen", "o_Brien", "100%", "Bakker", None, "", "  ")
CITIES = ("Amsterdam", "amsterdam", "AMSTERDAM", "Utrecht", "Den Haag", None, "", "  ")
POSTAL_CODES = ("1012 AB", "1012AB", "3511 CD", None, "")
COUNTRIES = ("NL", "nl", "BE", None, "")
LANGUAGES = ("nl", "NL", "en", "en-GB", None, " ")
DOMAINS = ("example.nl", "Example.NL", "mail.com")
POINTS = ((52.37, 4.89), (52.09, 5.12), (51.92, 4.48), (53.22, 6.57), (50.85, 5.69), (52.3702, 4.8952))
KMS = (0, 0.3, 0.4, 10, 35, 50, 150, 200, 300)
PRICES = ("0", "10", "12.5", "25", "40")
PROMOTERS = ("Own", "Guest", None)
SEASONS = ("2025-2026", "2026-2027", None)
SOURCES = ("person", "staff", "integration")

TEXT_VALUES = {
    "email": ("anna", "ANNA0@", "example.nl", ".nl", "mail", "x", "", "_", "%"),
    "first_name": ("anna", "ANNA", "an", "A", "bram", "jo_", "j%", "_", "", " "),
    "last_name": ("de vries", "VRIES", "de", "o_b", "o%", "100%", "0%", "jansen", ""),
    "city": ("amsterdam", "AMSTERDAM", "am", "dam", "utrecht", "den haag", "Den", "", " "),
    "postal_code": ("1012 ab", "1012AB", "1012", "ab", "3511 CD", ""),
    "country": ("nl", "NL", "be", "n", ""),
    "language": ("nl", "en", "EN-gb", "en-", "gb", ""),
}
NICKS = ("Bo", "bo", "BO b", "", " ", "x_y", "50%")
CUSTOM_FIELDS = {
    "nick": {"type": "text", "choices": []},
    "score": {"type": "number", "choices": []},
    "since": {"type": "date", "choices": []},
    "vip": {"type": "boolean", "choices": []},
    "tier": {"type": "choice", "choices": ["Gold", "Silver", "Bronze"]},
}
NUMBERS = (0, 1, 2.5, 3, 10, -3, 100)
# Interest scores: values and ages (days before now, a future as-of too) such that a half-life
# lands exactly on a bound (10 after 180 days is 5), and thresholds around them.
SCORE_VALUES = (10.0, 10.0, 5.0, 0.5, 2.25, 40.0)
SCORE_AGES = (0, 0, 180, 1, 30, 400, -1)
SCORE_BOUNDS = (0, 0.5, 1, 2.25, 5, 10, 20)
HALF_LIVES = (180.0, 180.0, 30.0, 1.0)


# ----------------------------------------------------------------------------- the scenario


@dataclass
class Query:
    rule: Any
    scope: dict | None = None
    parent_id: int | None = None
    mode: tuple[str, int] | None = None


@dataclass
class Scenario:
    timezone: str
    now: datetime
    data: Dataset
    queries: list[Query] = field(default_factory=list)

    @property
    def today(self) -> date:
        return self.now.astimezone(ZoneInfo(self.timezone)).date()

    def to_json(self) -> str:
        """Everything needed to reproduce (the rows of the account and the rule documents)."""

        def default(value):
            if isinstance(value, (datetime, date)):
                return value.isoformat()
            if isinstance(value, Decimal):
                return str(value)
            raise TypeError(type(value))

        body = {
            "timezone": self.timezone,
            "now": self.now,
            "today": self.today,
            "data": asdict(self.data),
            "queries": [asdict(q) for q in self.queries],
        }
        return json.dumps(body, default=default, indent=1, sort_keys=False)

    @classmethod
    def from_json(cls, text: str) -> Scenario:
        """The inverse of ``to_json`` (to replay a printed failure: see test_property.py)."""
        body = json.loads(text)
        raw = body["data"]
        instant_ = datetime.fromisoformat
        day = lambda v: None if v is None else date.fromisoformat(v)
        data = Dataset(
            persons=[
                PersonRow(**{**p, "birth_date": day(p["birth_date"]), "created_at": instant_(p["created_at"])})
                for p in raw["persons"]
            ],
            custom_fields=raw["custom_fields"],
            tags=[TagRow(**t) for t in raw["tags"]],
            person_tags=[PersonTagRow(**t) for t in raw["person_tags"]],
            productions=[ProductionRow(**p) for p in raw["productions"]],
            production_tags=[ProductionTagRow(**t) for t in raw["production_tags"]],
            venues=[VenueRow(**v) for v in raw["venues"]],
            events=[EventRow(**{**e, "starts_at": instant_(e["starts_at"])}) for e in raw["events"]],
            orders=[OrderRow(**{**o, "created_at": instant_(o["created_at"])}) for o in raw["orders"]],
            tickets=[TicketRow(**{**t, "price": Decimal(t["price"])}) for t in raw["tickets"]],
            subscriptions=[
                SubscriptionRow(s["person_id"], day(s["valid_from"]), day(s["valid_until"]))
                for s in raw["subscriptions"]
            ],
            consents=[ConsentRow(**c) for c in raw["consents"]],
            submissions=[
                SubmissionRow(**{**x, "submitted_at": instant_(x["submitted_at"])}) for x in raw["submissions"]
            ],
            interest_scores=[
                InterestScoreRow(**{**x, "as_of": instant_(x["as_of"])}) for x in raw.get("interest_scores", [])
            ],
            half_life_days=raw.get("half_life_days", 180.0),
            segments={int(k): SegmentRow(**v) for k, v in raw["segments"].items()},
        )
        queries = [
            Query(q["rule"], q["scope"], q["parent_id"], tuple(q["mode"]) if q["mode"] else None)
            for q in body["queries"]
        ]
        return cls(body["timezone"], instant_(body["now"]), data, queries)


# ----------------------------------------------------------------------------- small helpers


def pick(draw, options):
    return draw(st.sampled_from(options))


def instant(draw, zone: ZoneInfo, today: date, days=ANY_DAYS) -> datetime:
    """An instant whose local date is ``today - d`` for d from a small pool, at a boundary-ish time."""
    d = pick(draw, days)
    local = datetime.combine(today - timedelta(days=d), pick(draw, LOCAL_TIMES), tzinfo=zone)
    return local.astimezone(UTC)


def shifted(day: date, years: int, days: int = 0) -> date:
    try:
        base = day.replace(year=day.year - years)
    except ValueError:  # 29 February in a common year
        base = date(day.year - years, 3, 1)
    return base + timedelta(days=days)


@st.composite
def birth_dates(draw, today: date):
    kind = pick(draw, ("none", "around", "around", "leap", "leap", "fixed"))
    if kind == "none":
        return None
    if kind == "leap":
        return pick(draw, (date(2000, 2, 29), date(1996, 2, 29), date(2004, 2, 29)))
    if kind == "fixed":
        return pick(draw, (date(2000, 2, 28), date(2000, 3, 1), date(1990, 1, 1), date(1962, 12, 31)))
    return shifted(today, pick(draw, (0, 1, 17, 18, 26, 27, 30, 65)), pick(draw, (0, -1, 1)))


# ----------------------------------------------------------------------------- the data set


@st.composite
def datasets(draw, zone_name: str, now: datetime) -> Dataset:
    zone = ZoneInfo(zone_name)
    today = now.astimezone(zone).date()
    data = Dataset(custom_fields=CUSTOM_FIELDS)

    n_persons = pick(draw, (6, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10))
    for i in range(n_persons):
        pid = PERSON_BASE + 1 + i
        first = pick(draw, FIRST_NAMES)
        email = None
        if draw(st.booleans()) or draw(st.booleans()):
            email = f"{(first or 'x').strip() or 'y'}{i}@{pick(draw, DOMAINS)}"
        point = pick(draw, (None,) + POINTS)
        custom = {}
        for key in CUSTOM_FIELDS:
            presence = pick(draw, ("value", "missing", "null", "value"))
            if presence == "missing":
                continue
            if presence == "null":
                custom[key] = None
                continue
            custom[key] = {
                "nick": lambda: pick(draw, NICKS),
                "score": lambda: pick(draw, NUMBERS),
                "since": lambda: (today - timedelta(days=pick(draw, ANY_DAYS + (-1, -3)))).isoformat(),
                "vip": lambda: draw(st.booleans()),
                "tier": lambda: pick(draw, ("Gold", "Silver", "Bronze")),
            }[key]()
        data.persons.append(
            PersonRow(
                id=pid,
                email=email,
                first_name=first,
                last_name=pick(draw, LAST_NAMES),
                gender=pick(draw, ("female", "male", "other", None)),
                birth_date=draw(birth_dates(today)),
                language=pick(draw, LANGUAGES),
                postal_code=pick(draw, POSTAL_CODES),
                city=pick(draw, CITIES),
                country=pick(draw, COUNTRIES),
                latitude=point[0] if point else None,
                longitude=point[1] if point else None,
                custom_fields=custom,
                created_at=instant(draw, zone, today),
            )
        )
    person_ids = [p.id for p in data.persons]

    # tags: a small tree (a parent always has a lower id)
    n_tags = pick(draw, (3, 0, 1, 2, 3, 4))
    for i in range(n_tags):
        tid = TAG_BASE + 1 + i
        parent = pick(draw, [None] + [TAG_BASE + 1 + j for j in range(i)]) if i else None
        data.tags.append(TagRow(tid, parent))
    tag_ids = [t.id for t in data.tags]
    if tag_ids and person_ids:
        links = draw(
            st.sets(
                st.tuples(st.sampled_from(tag_ids), st.sampled_from(person_ids), st.sampled_from(SOURCES)), max_size=10
            )
        )
        data.person_tags = [PersonTagRow(t, p, s) for t, p, s in sorted(links)]

    # catalogue
    n_productions = pick(draw, (2, 1, 2, 3, 3))
    data.productions = [
        ProductionRow(PRODUCTION_BASE + 1 + i, pick(draw, PROMOTERS), pick(draw, SEASONS)) for i in range(n_productions)
    ]
    production_ids = [p.id for p in data.productions]
    if tag_ids:
        links = set()
        for production_id in production_ids:
            least = min(len(tag_ids), pick(draw, (1, 0, 1, 2)))
            for tag_id in draw(st.lists(st.sampled_from(tag_ids), min_size=least, max_size=2, unique=True)):
                links.add((tag_id, production_id, pick(draw, SOURCES)))
        data.production_tags = [ProductionTagRow(t, p, s) for t, p, s in sorted(links)]
    n_venues = draw(st.integers(1, 2))
    for i in range(n_venues):
        point = pick(draw, POINTS + (None,))
        data.venues.append(VenueRow(VENUE_BASE + 1 + i, point[0] if point else None, point[1] if point else None))
    venue_ids = [v.id for v in data.venues]
    n_events = draw(st.integers(1, 5))
    for i in range(n_events):
        if draw(st.integers(0, 5)) == 0:  # just before or after now
            starts = now + timedelta(minutes=pick(draw, (-90, -1, 1, 90)))
        else:
            starts = instant(draw, zone, today)
        data.events.append(EventRow(EVENT_BASE + 1 + i, pick(draw, production_ids), pick(draw, venue_ids), starts))
    event_ids = [e.id for e in data.events]

    # sales
    if person_ids:
        n_orders = pick(draw, (6, 0, 1, 2, 4, 6, 8, 10, 12))
        ticket_id = TICKET_BASE
        for i in range(n_orders):
            oid = ORDER_BASE + 1 + i
            person = pick(draw, person_ids)
            created = min(instant(draw, zone, today, PAST_DAYS), now - timedelta(minutes=1))
            data.orders.append(OrderRow(oid, person, pick(draw, ("online", "box_office")), created))
            main_event = pick(draw, event_ids)  # mostly several seats for one event
            for _ in range(pick(draw, (1, 2, 3, 2))):
                ticket_id += 1
                event_id = pick(draw, (main_event, main_event, *event_ids))
                data.tickets.append(TicketRow(ticket_id, oid, event_id, person, Decimal(pick(draw, PRICES))))

        for _ in range(draw(st.integers(0, 4))):
            start = today + timedelta(days=pick(draw, (-30, -1, 0, 1)))
            end = pick(draw, (None, -1, 0, 1, 30))
            until = None if end is None else max(start, today + timedelta(days=end))
            data.subscriptions.append(SubscriptionRow(pick(draw, person_ids), start, until))

        pairs = draw(st.sets(st.tuples(st.sampled_from(person_ids), st.sampled_from(CONSENT_TYPES)), max_size=8))
        data.consents = [ConsentRow(p, t, draw(st.booleans())) for p, t in sorted(pairs)]

        for _ in range(draw(st.integers(0, 5))):
            data.submissions.append(
                SubmissionRow(pick(draw, FORMS), pick(draw, person_ids), instant(draw, zone, today))
            )

    if tag_ids and person_ids:
        data.half_life_days = pick(draw, HALF_LIVES)
        pairs = draw(st.sets(st.tuples(st.sampled_from(person_ids), st.sampled_from(tag_ids)), max_size=8))
        data.interest_scores = [
            InterestScoreRow(p, t, pick(draw, SCORE_VALUES), now - timedelta(days=pick(draw, SCORE_AGES)))
            for p, t in sorted(pairs)
        ]
    return data


# ----------------------------------------------------------------------------- rules


@dataclass
class Context:
    today: date
    data: Dataset
    segment_ids: list[int]  # segments a rule may name (saved before it)
    now: datetime


def text_value(draw, field_: str, op: str):
    pool = TEXT_VALUES.get(field_, NICKS)
    if op in ("in", "not_in"):
        return draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
    if op in ("is_empty", "is_not_empty"):
        return None
    return pick(draw, pool)


def with_value(node: dict, value) -> dict:
    if value is not None:
        node["value"] = value
    return node


def iso_day(draw, ctx: Context) -> str:
    return (ctx.today - timedelta(days=pick(draw, ANY_DAYS))).isoformat()


def min_max(draw, pool) -> tuple:
    low, high = pick(draw, (None,) + pool), pick(draw, (None,) + pool)
    if low is None and high is None:
        low = pool[0]
    if low is not None and high is not None and low > high:
        low, high = high, low
    return low, high


CONDITION_KINDS = (
    "text",
    "gender",
    "age",
    "added_on",
    "custom_field",
    "tag",
    "consent",
    "form",
    "purchase",
    "channel",
    "last_purchase",
    "impulsive",
    "distance",
    "subscription",
    "segment",
    "interest",
)


# Single-condition probes go through these cases in turn (each text field and custom field is a case).
# Purchase conditions come twice more, always with a scope (scoped figures, scope filters, days back);
# age twice more without (29 February needs the right day, person and bounds together), and the date
# custom field once more (it has the most operators of the day-based conditions).
PURCHASE_KINDS = ("purchase", "channel", "last_purchase", "impulsive")
PROBE_CASES = tuple(
    [("text", f, 1 / 4) for f in R.TEXT_FIELDS]
    + [("custom_field", k, 1 / 4) for k in CUSTOM_FIELDS]
    + [(k, None, 1 / 4) for k in CONDITION_KINDS if k not in ("text", "custom_field")]
    + [(k, None, 1) for k in PURCHASE_KINDS] * 2
    + [("age", None, 0)] * 2
    + [("custom_field", "since", 0)]
)


@st.composite
def conditions(draw, ctx: Context, kind: str | None = None, sub: str | None = None) -> dict:
    """A random condition; ``kind`` (and ``sub``, a text field or custom field key) fix what kind."""
    kinds = [
        k
        for k in CONDITION_KINDS
        if not (k in ("tag", "interest") and not ctx.data.tags) and not (k == "segment" and not ctx.segment_ids)
    ]
    if kind not in kinds:
        kind, sub = pick(draw, kinds), None
    if kind == "text":
        field_, op = sub or pick(draw, R.TEXT_FIELDS), pick(draw, R.TEXT_OPS)
        value = text_value(draw, field_, op)
        node = {"type": "text", "field": field_, "operator": op}
        if value is not None:
            node["values" if op in ("in", "not_in") else "value"] = value
        return node
    if kind == "gender":
        return {"type": "gender", "values": draw(st.lists(st.sampled_from(R.GENDERS), min_size=1, max_size=3))}
    if kind == "age":
        ages = {
            ctx.today.year
            - p.birth_date.year
            - ((ctx.today.month, ctx.today.day) < (p.birth_date.month, p.birth_date.day))
            for p in ctx.data.persons
            if p.birth_date
        }
        around = sorted({a + d for a in ages for d in (-1, 0, 1) if 0 <= a + d <= 150})  # bounds that split
        low, high = min_max(draw, (0, 17, 18, 26, 27, 65, *around, *around))
        return {"type": "age", "min": low, "max": high}
    if kind == "added_on":
        if draw(st.booleans()):
            return {"type": "added_on", "last_days": pick(draw, N_DAYS)}
        if draw(st.integers(0, 3)) == 0:
            return {"type": "added_on", "on": iso_day(draw, ctx)}
        after, before = pick(draw, (None, iso_day(draw, ctx))), pick(draw, (None, iso_day(draw, ctx)))
        if after is None and before is None:
            before = iso_day(draw, ctx)
        if (
            after is not None
            and before is not None
            and date.fromisoformat(before) < date.fromisoformat(after) + timedelta(days=2)
        ):
            after = None  # no day strictly between: refused by validation
        return {"type": "added_on", "after": after, "before": before}
    if kind == "custom_field":
        key = sub or pick(draw, tuple(CUSTOM_FIELDS))
        kind_ = CUSTOM_FIELDS[key]["type"]
        op = pick(draw, R.CUSTOM_OPS[kind_])
        node = {"type": "custom_field", "key": key, "operator": op}
        if op in ("is_empty", "is_not_empty", "is_true", "is_false"):
            return node
        if kind_ == "text":
            return with_value(node, text_value(draw, "nick", op))
        if kind_ == "number":
            if op == "between":
                return with_value(node, sorted([pick(draw, NUMBERS), pick(draw, NUMBERS)]))
            return with_value(node, pick(draw, NUMBERS))
        if kind_ == "date":
            if op == "last_days":
                return with_value(node, pick(draw, N_DAYS))
            if op == "between":
                return with_value(node, sorted([iso_day(draw, ctx), iso_day(draw, ctx)]))
            return with_value(node, iso_day(draw, ctx))
        choices = CUSTOM_FIELDS[key]["choices"]
        if op in ("in", "not_in"):
            return with_value(node, draw(st.lists(st.sampled_from(choices), min_size=1, max_size=2)))
        return with_value(node, pick(draw, choices))
    if kind == "tag":
        node = {"type": "tag", "tag_id": pick(draw, [t.id for t in ctx.data.tags])}
        for key, strategy in (
            ("has", st.booleans()),
            ("source", st.sampled_from((None,) + SOURCES)),
            ("include_subtags", st.booleans()),
        ):
            if draw(st.booleans()):
                node[key] = draw(strategy)
        return node
    if kind == "interest":
        now = ctx.now
        scores = tuple(  # bounds right on the persons' scores now, besides the fixed ones
            x.value * 2.0 ** (-max(0.0, (now - x.as_of).total_seconds()) / (ctx.data.half_life_days * 86400.0))
            for x in ctx.data.interest_scores
        )
        low, high = min_max(draw, SCORE_BOUNDS + scores * 2)
        return {"type": "interest", "tag_id": pick(draw, [t.id for t in ctx.data.tags]), "min": low, "max": high}
    if kind == "consent":
        node = {"type": "consent", "consent_type_id": pick(draw, CONSENT_TYPES)}
        if draw(st.booleans()):
            node["granted"] = draw(st.booleans())
        return node
    if kind == "form":
        return {"type": "form", "form_id": pick(draw, (None,) + FORMS), "within_days": pick(draw, (None,) + N_DAYS)}
    if kind == "purchase":
        metric = pick(draw, R.METRICS)
        pool = (0, 10, 12.5, 25, 40, 50, 65, 80) if metric == "revenue" else (0, 1, 2, 3)
        low, high = min_max(draw, pool)
        return {"type": "purchase", "metric": metric, "min": low, "max": high}
    if kind == "channel":
        return {"type": "channel", "channel": pick(draw, R.CHANNELS)}
    if kind == "last_purchase":
        return {"type": "last_purchase", "mode": pick(draw, R.LAST_PURCHASE_MODES), "days": pick(draw, N_DAYS)}
    if kind == "impulsive":
        node = {"type": "impulsive", "max_days_before": pick(draw, (0, 1, 2, 7, 30, 400))}
        if draw(st.booleans()):
            node["min_times"] = pick(draw, (1, 2, 3))
        return node
    if kind == "distance":
        node = {"type": "distance", "km": pick(draw, KMS)}
        if draw(st.booleans()):
            node["venue_id"] = pick(draw, [v.id for v in ctx.data.venues])
        else:
            node["latitude"], node["longitude"] = pick(draw, POINTS)
        return node
    if kind == "subscription":
        node = {"type": "subscription"}
        if draw(st.booleans()):
            node["holder"] = draw(st.booleans())
        return node
    node = {"type": "segment", "segment_id": pick(draw, ctx.segment_ids)}
    if draw(st.booleans()):
        node["member"] = draw(st.booleans())
    return node


@st.composite
def rule_trees(draw, ctx: Context, depth: int = 3) -> dict:
    shape = pick(draw, ("condition", "condition", "all", "any", "not") if depth > 0 else ("condition",))
    if shape == "condition":
        return draw(conditions(ctx))
    if shape == "not":
        return {"not": draw(rule_trees(ctx, depth - 1))}
    size = pick(draw, (2, 1, 2, 3, 0))  # empty groups too, but not mostly
    children = [draw(rule_trees(ctx, depth - 1)) for _ in range(size)]
    return {shape: children}


@st.composite
def scopes(draw, data: Dataset, scoped: float = 2 / 3, today: date | None = None, zone: str = "UTC") -> dict | None:
    """No scope, or a random scope (with probability ``scoped``)."""
    if draw(st.integers(1, 12)) > round(12 * scoped):
        return None
    scope: dict = {}
    tag_ids = [t.id for t in data.tags]
    production_tags = sorted({x.tag_id for x in data.production_tags})

    # days back that fall exactly on (or next to) the events' local dates
    event_days = []
    if today is not None:
        ago = {(today - e.starts_at.astimezone(ZoneInfo(zone)).date()).days for e in data.events}
        event_days = sorted({d + k for d in ago for k in (-1, 0) if d + k >= 0})

    def present(column):  # the values the productions have (each twice: likelier than the others)
        values = sorted({getattr(p, column) for p in data.productions} - {None})
        return values + values

    def some(values, most=2):
        return draw(st.lists(st.sampled_from(values), min_size=1, max_size=most, unique=True)) if values else []

    options = {
        "promoters": lambda: some(present("promoter") + ["Own", "Guest", "Nobody"]),
        "seasons": lambda: some(present("season") + ["2025-2026", "2026-2027"]),
        "production_ids": lambda: some([p.id for p in data.productions]),
        "event_ids": lambda: some([e.id for e in data.events], 3),
        "genre_tag_ids": lambda: some(production_tags + tag_ids),
        "label_tag_ids": lambda: some(production_tags + tag_ids),
        "days_back": lambda: pick(draw, (30, None, 0, 1, 6, 7, 100, 1000, *event_days)),
    }
    # mostly one or two filters; sometimes none at all ({} and empty lists are "no scope")
    for key in draw(
        st.lists(st.sampled_from(tuple(options)), min_size=pick(draw, (1, 1, 2, 0)), max_size=2, unique=True)
    ):
        scope[key] = options[key]()
    return scope


@st.composite
def modes(draw, data: Dataset):
    kind = pick(draw, (None, None, "event", "production"))
    if kind == "event":
        return ("event", pick(draw, [e.id for e in data.events]))
    if kind == "production":
        return ("production", pick(draw, [p.id for p in data.productions]))
    return None


@st.composite
def scenarios(draw, max_queries: int = 3, probes: bool = True) -> Scenario:
    zone = pick(draw, ZONES)
    now = pick(draw, NOWS)
    data = draw(datasets(zone, now))
    today = now.astimezone(ZoneInfo(zone)).date()
    # saved segments: each may name (as parent or in its rules) only segments saved before it
    for i in range(draw(st.integers(0, 3))):
        sid = SEGMENT_BASE + 1 + i
        earlier = sorted(data.segments)
        ctx = Context(today, data, earlier, now)
        parent = pick(draw, [None] + earlier) if earlier else None
        data.segments[sid] = SegmentRow(
            sid, parent, draw(rule_trees(ctx, depth=1)), draw(scopes(data, today=today, zone=zone))
        )
    ctx = Context(today, data, sorted(data.segments), now)
    queries = []
    for _ in range(draw(st.integers(1, max_queries))):
        parent = pick(draw, [None, None] + sorted(data.segments)) if data.segments else None
        queries.append(
            Query(draw(rule_trees(ctx)), draw(scopes(data, today=today, zone=zone)), parent, draw(modes(data)))
        )
    # single conditions, cheap once the rows are written: every case (kind of condition, text field,
    # custom field) once per example, whatever Hypothesis favours; mostly without a scope
    if probes:
        for kind, sub, scoped in PROBE_CASES:
            queries.append(
                Query(draw(conditions(ctx, kind, sub)), draw(scopes(data, scoped=scoped, today=today, zone=zone)))
            )
    return Scenario(zone, now, data, queries)
