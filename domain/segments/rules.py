"""Segment rules as data (SPEC 5.1–5.3): the typed rule tree and its one codec.

The tree is made of the dataclasses below. It reaches the domain either typed (the API builds it
straight from its inputs) or as a stored JSON document; ``check_rule`` / ``parse_rule`` validate
both the same way and report every problem at its path in the tree's own terms:
``("rules", "all", "0", "condition", "age", "max")``. ``encode`` / ``encode_scope`` write the stored
document (version ``RULES_VERSION``); ``references`` lists every id the rules and scope name and
``replace_references`` repoints them: nothing else in the product reads or walks the JSON.

Stored document (``segment.rules``), a node:

    {"all": [node, ...]}    every child holds (all of nothing: everyone)
    {"any": [node, ...]}    some child holds (any of nothing: no one)
    {"not": node}           the plain complement over the account's persons
    {"type": "<kind>", ...} a condition, its fields named as the dataclass's (below)

Conditions (unknown keys are refused):

    text          field: email | first_name | last_name | language | postal_code | city | country
                  operator: eq | neq | contains | not_contains | starts_with | ends_with | in | not_in
                      | is_empty | is_not_empty;  value: str, or values: [str] for in / not_in
    gender        values: [female | male | other | all]   (unknown gender only under "all")
    age           min, max: whole years, inclusive, either may be null
    added_on      after, before: dates, strict ("before 1 May" excludes 1 May), may combine; or
                  on: a date; or last_days: N (0 <= d <= N)
    custom_field  key, operator, value — operators by the field's type:
                      text: as for "text" (value a list for in / not_in)
                      number: eq neq gt gte lt lte between is_empty is_not_empty
                      date: eq (on) neq before after (strict) between (inclusive) last_days is_empty is_not_empty
                      boolean: is_true is_false is_empty is_not_empty; choice: eq neq in not_in is_empty is_not_empty
                  (between takes value [low, high], inclusive)
    tag           tag_id, has: bool (default true), source: person | staff | integration | null,
                  include_subtags: bool (default false)
    consent       consent_type_id, granted: bool (default true)
    form          form_id (null: any form), within_days: N or null
    purchase      metric: revenue | orders | tickets | events, min, max (inclusive, either may be null)
    channel       channel: online | box_office | both
    last_purchase mode: within | exactly | not_within, days: N
    impulsive     max_days_before: N, min_times: M (default 1)
    distance      km, and venue_id or latitude + longitude
    subscription  holder: bool (default true)
    segment       segment_id, member: bool (default true)
    interest      tag_id, min, max: the person's interest score on the tag now (decayed to the
                  moment of the count; 0 without one), inclusive, either may be null (module
                  ``recommendations``)

Event scope (``segment.scope``): promoters, seasons: [str]; production_ids, event_ids, genre_tag_ids,
label_tag_ids: [int]; days_back: N or null. A scope with no filter and no days_back is no scope.
Version 1 documents (``op``, ``lat`` / ``lon``, inclusive added-on dates) were rewritten to version 2
by migration 0009.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any
from collections.abc import Iterator

from domain.errors import Collector, ErrorCode, InputError
from domain.tags.models import TagSource

RULES_VERSION = 2
MAX_DEPTH = 12
MAX_CONDITIONS = 200
MAX_LIST = 1000
MAX_TEXT = 500
MAX_NUMBER = 1e15
MAX_ID = 2**63 - 1
MAX_SCORE = 1e9  # interest scores are points (a purchase gives 10 by default), far below this


class TextField(str, enum.Enum):
    EMAIL = "email"
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    LANGUAGE = "language"
    POSTAL_CODE = "postal_code"
    CITY = "city"
    COUNTRY = "country"


class TextOperator(str, enum.Enum):
    EQ = "eq"
    NEQ = "neq"
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
    STARTS_WITH = "starts_with"
    ENDS_WITH = "ends_with"
    IN = "in"
    NOT_IN = "not_in"
    IS_EMPTY = "is_empty"
    IS_NOT_EMPTY = "is_not_empty"


class CustomFieldOperator(str, enum.Enum):
    """Which ones apply depends on the field's type (see the module docstring)."""

    EQ = "eq"
    NEQ = "neq"
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
    STARTS_WITH = "starts_with"
    ENDS_WITH = "ends_with"
    IN = "in"
    NOT_IN = "not_in"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    BETWEEN = "between"
    BEFORE = "before"
    AFTER = "after"
    LAST_DAYS = "last_days"
    IS_TRUE = "is_true"
    IS_FALSE = "is_false"
    IS_EMPTY = "is_empty"
    IS_NOT_EMPTY = "is_not_empty"


class GenderChoice(str, enum.Enum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    ALL = "all"


class PurchaseMetric(str, enum.Enum):
    REVENUE = "revenue"
    ORDERS = "orders"
    TICKETS = "tickets"
    EVENTS = "events"


class SalesChannel(str, enum.Enum):
    ONLINE = "online"
    BOX_OFFICE = "box_office"
    BOTH = "both"


class LastPurchaseMode(str, enum.Enum):
    WITHIN = "within"
    EXACTLY = "exactly"
    NOT_WITHIN = "not_within"


TEXT_FIELDS = tuple(f.value for f in TextField)
TEXT_OPS = tuple(o.value for o in TextOperator)
GENDERS = tuple(g.value for g in GenderChoice)
METRICS = tuple(m.value for m in PurchaseMetric)
CHANNELS = tuple(c.value for c in SalesChannel)
LAST_PURCHASE_MODES = tuple(m.value for m in LastPurchaseMode)
SOURCES = tuple(s.value for s in TagSource)
NEGATIVE_OPS = ("neq", "not_contains", "not_in", "is_not_empty")
CUSTOM_OPS = {
    "text": TEXT_OPS,
    "number": ("eq", "neq", "gt", "gte", "lt", "lte", "between", "is_empty", "is_not_empty"),
    "date": ("eq", "neq", "before", "after", "between", "last_days", "is_empty", "is_not_empty"),
    "boolean": ("is_true", "is_false", "is_empty", "is_not_empty"),
    "choice": ("eq", "neq", "in", "not_in", "is_empty", "is_not_empty"),
}


# ----------------------------------------------------------------------------- the typed tree


@dataclass(frozen=True)
class All:
    children: tuple = ()


@dataclass(frozen=True)
class Any_:
    children: tuple = ()


@dataclass(frozen=True)
class Not:
    child: Any


@dataclass(frozen=True)
class TextCond:
    field: TextField
    operator: TextOperator
    value: str | None = None
    values: tuple[str, ...] | None = None


@dataclass(frozen=True)
class GenderCond:
    values: tuple[GenderChoice, ...]


@dataclass(frozen=True)
class AgeCond:
    min: int | None = None
    max: int | None = None


@dataclass(frozen=True)
class AddedOnCond:
    after: date | None = None
    before: date | None = None
    on: date | None = None
    last_days: int | None = None


@dataclass(frozen=True)
class CustomFieldCond:
    key: str
    operator: CustomFieldOperator
    value: Any = None
    kind: str | None = None  # the field's type, filled in from its definition when checked


@dataclass(frozen=True)
class TagCond:
    tag_id: int
    has: bool = True
    source: TagSource | None = None
    include_subtags: bool = False


@dataclass(frozen=True)
class ConsentCond:
    consent_type_id: int
    granted: bool = True


@dataclass(frozen=True)
class FormCond:
    form_id: int | None = None
    within_days: int | None = None


@dataclass(frozen=True)
class PurchaseCond:
    metric: PurchaseMetric
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class ChannelCond:
    channel: SalesChannel


@dataclass(frozen=True)
class LastPurchaseCond:
    mode: LastPurchaseMode
    days: int


@dataclass(frozen=True)
class ImpulsiveCond:
    max_days_before: int
    min_times: int = 1


@dataclass(frozen=True)
class DistanceCond:
    km: float
    venue_id: int | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class SubscriptionCond:
    holder: bool = True


@dataclass(frozen=True)
class SegmentCond:
    segment_id: int
    member: bool = True


@dataclass(frozen=True)
class InterestCond:
    """The person's interest score on the tag (SPEC 6), as it stands at the moment of the count."""

    tag_id: int
    min: float | None = None
    max: float | None = None


Condition = (
    TextCond
    | GenderCond
    | AgeCond
    | AddedOnCond
    | CustomFieldCond
    | TagCond
    | ConsentCond
    | FormCond
    | PurchaseCond
    | ChannelCond
    | LastPurchaseCond
    | ImpulsiveCond
    | DistanceCond
    | SubscriptionCond
    | SegmentCond
    | InterestCond
)
Node = All | Any_ | Not | Condition

KINDS: dict[str, type] = {
    "text": TextCond,
    "gender": GenderCond,
    "age": AgeCond,
    "added_on": AddedOnCond,
    "custom_field": CustomFieldCond,
    "tag": TagCond,
    "consent": ConsentCond,
    "form": FormCond,
    "purchase": PurchaseCond,
    "channel": ChannelCond,
    "last_purchase": LastPurchaseCond,
    "impulsive": ImpulsiveCond,
    "distance": DistanceCond,
    "subscription": SubscriptionCond,
    "segment": SegmentCond,
    "interest": InterestCond,
}
KIND_OF = {cls: kind for kind, cls in KINDS.items()}


@dataclass(frozen=True)
class Scope:
    promoters: tuple[str, ...] = ()
    seasons: tuple[str, ...] = ()
    production_ids: tuple[int, ...] = ()
    event_ids: tuple[int, ...] = ()
    genre_tag_ids: tuple[int, ...] = ()
    label_tag_ids: tuple[int, ...] = ()
    days_back: int | None = None

    @property
    def is_set(self) -> bool:
        return bool(
            self.promoters
            or self.seasons
            or self.production_ids
            or self.event_ids
            or self.genre_tag_ids
            or self.label_tag_ids
            or self.days_back is not None
        )

    @property
    def seasons_only(self) -> bool:
        """Whole seasons and nothing else (the per-season figures answer such a scope)."""
        return bool(self.seasons) and not (
            self.promoters
            or self.production_ids
            or self.event_ids
            or self.genre_tag_ids
            or self.label_tag_ids
            or self.days_back is not None
        )


NO_SCOPE = Scope()
SCOPE_ID_FIELDS = ("production_ids", "event_ids", "genre_tag_ids", "label_tag_ids")


# ----------------------------------------------------------------------------- encoding


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def encode(node: Node) -> dict:
    """The stored document of a tree (fields left at None are left out)."""
    if isinstance(node, All):
        return {"all": [encode(c) for c in node.children]}
    if isinstance(node, Any_):
        return {"any": [encode(c) for c in node.children]}
    if isinstance(node, Not):
        return {"not": encode(node.child)}
    doc: dict[str, Any] = {"type": KIND_OF[type(node)]}
    for f in fields(node):
        value = getattr(node, f.name)
        if value is not None and f.name != "kind":
            doc[f.name] = _plain(value)
    return doc


def encode_scope(scope: Scope | None) -> dict | None:
    if scope is None or not scope.is_set:
        return None
    return {f.name: _plain(getattr(scope, f.name)) for f in fields(scope)}


# ----------------------------------------------------------------------------- parsing


class _Parser:
    def __init__(self, custom_fields: dict[str, dict] | None, path: tuple[str, ...]):
        self.custom_fields = custom_fields
        self.problems = Collector()
        self.base = path
        self.count = 0

    def fail(self, path: tuple, code: ErrorCode, message: str) -> None:
        self.problems.add(code, message, *self.base, *path)

    # helpers -------------------------------------------------------------
    def keys(self, node: dict, path: tuple, allowed: set[str]) -> None:
        for key in node:
            if key not in allowed and key != "type":
                self.fail(path + (str(key),), ErrorCode.INVALID, f"unknown key {key!r} in this condition")

    def int_(self, node, key, path, *, required=True, low=0, high=10**9, default=None):
        value = node.get(key, default)
        if value is None:
            if required:
                self.fail(path + (key,), ErrorCode.REQUIRED, f"{key} is required")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path + (key,), ErrorCode.INVALID, f"{key} must be a whole number")
            return None
        if not low <= value <= high:
            self.fail(path + (key,), ErrorCode.OUT_OF_RANGE, f"{key} must be between {low} and {high}")
            return None
        return value

    def id_(self, node, key, path, *, required=True):
        """An id: whether it names a row of the account is checked against the database."""
        return self.int_(node, key, path, required=required, low=0, high=MAX_ID)

    def num(self, node, key, path, *, required=False, low=-1e12, high=1e12):
        value = node.get(key)
        if value is None:
            if required:
                self.fail(path + (key,), ErrorCode.REQUIRED, f"{key} is required")
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.fail(path + (key,), ErrorCode.INVALID, f"{key} must be a number")
            return None
        if not low <= value <= high:
            self.fail(path + (key,), ErrorCode.OUT_OF_RANGE, f"{key} must be between {low:g} and {high:g}")
            return None
        return value

    def bool_(self, node, key, path, default):
        value = node.get(key, default)
        if not isinstance(value, bool):
            self.fail(path + (key,), ErrorCode.INVALID, f"{key} must be true or false")
            return default
        return value

    def choice(self, node, key, path, options: type[enum.Enum] | tuple, *, required=True, default=None):
        value = node.get(key, default)
        if isinstance(value, enum.Enum):
            value = value.value
        if value is None and not required:
            return None
        allowed = [o.value for o in options] if isinstance(options, type) else list(options)
        if value not in allowed:
            self.fail(path + (key,), ErrorCode.INVALID_CHOICE, f"{key} must be one of {', '.join(allowed)}")
            return None
        return options(value) if isinstance(options, type) else value

    def date_(self, node, key, path):
        value = node.get(key)
        if value is None:
            return None
        try:
            return date.fromisoformat(value) if isinstance(value, str) else _raise()
        except (ValueError, TypeError):
            self.fail(path + (key,), ErrorCode.INVALID, f"{key} must be a date like 2026-01-31")
            return None

    def text(self, value, path, key="value"):
        if not isinstance(value, str) or "\x00" in value:
            self.fail(path + (key,), ErrorCode.INVALID, f"{key} must be a text")
            return None
        if len(value) > MAX_TEXT:
            self.fail(path + (key,), ErrorCode.TOO_LONG, f"{key} is longer than {MAX_TEXT} characters")
            return None
        return value

    def texts(self, value, path, key="values"):
        if not isinstance(value, (list, tuple)) or not value or len(value) > MAX_LIST:
            self.fail(path + (key,), ErrorCode.INVALID, f"{key} must be a list of 1 to {MAX_LIST} texts")
            return None
        if not all(isinstance(v, str) and len(v) <= MAX_TEXT and "\x00" not in v for v in value):
            self.fail(path + (key,), ErrorCode.INVALID, f"every one of {key} must be a text of at most {MAX_TEXT}")
            return None
        return tuple(value)

    # nodes ---------------------------------------------------------------
    def node(self, node: Any, path: tuple, depth: int):
        if depth > MAX_DEPTH:
            self.fail(path, ErrorCode.OUT_OF_RANGE, f"rules nest at most {MAX_DEPTH} levels deep")
            return None
        if not isinstance(node, dict):
            self.fail(path, ErrorCode.INVALID, "a rule is an object: a group (all / any / not) or a condition")
            return None
        groups = [k for k in ("all", "any", "not") if k in node]
        if groups:
            if len(node) != 1:
                self.fail(path, ErrorCode.INVALID, "a group has exactly one key: all, any or not")
                return None
            key = groups[0]
            if key == "not":
                child = self.node(node["not"], path + ("not",), depth + 1)
                return Not(child) if child is not None else None
            items = node[key]
            if not isinstance(items, list):
                self.fail(path + (key,), ErrorCode.INVALID, f"{key} takes a list of rules")
                return None
            children = [self.node(item, path + (key, str(i)), depth + 1) for i, item in enumerate(items)]
            if any(c is None for c in children):
                return None
            return (All if key == "all" else Any_)(tuple(children))
        self.count += 1
        if self.count > MAX_CONDITIONS:
            self.fail(path, ErrorCode.OUT_OF_RANGE, f"at most {MAX_CONDITIONS} conditions")
            return None
        kind = node.get("type")
        method = getattr(self, f"cond_{kind}", None) if isinstance(kind, str) and kind in KINDS else None
        if method is None:
            self.fail(path + ("type",), ErrorCode.INVALID_CHOICE, f"unknown condition type {kind!r}")
            return None
        where = path + ("condition", kind)
        self.keys(node, where, {f.name for f in fields(KINDS[kind])} - {"kind"})
        before = len(self.problems.problems)
        result = method(node, where)
        return result if len(self.problems.problems) == before else None

    def cond_text(self, node, path):
        field_ = self.choice(node, "field", path, TextField)
        op = self.choice(node, "operator", path, TextOperator)
        if op is None:
            return None
        value = values = None
        if op in ("in", "not_in"):
            values = self.texts(node.get("values"), path)
            if node.get("value") is not None:
                self.fail(path + ("value",), ErrorCode.INVALID, f"{op.value} takes values, a list")
        elif op in ("is_empty", "is_not_empty"):
            for key in ("value", "values"):
                if node.get(key) is not None:
                    self.fail(path + (key,), ErrorCode.INVALID, f"{op.value} takes no value")
        else:
            value = self.text(node.get("value"), path)
            if node.get("values") is not None:
                self.fail(path + ("values",), ErrorCode.INVALID, f"{op.value} takes one value")
        return TextCond(field_, op, value, values)

    def cond_gender(self, node, path):
        raw = node.get("values")
        if (
            not isinstance(raw, (list, tuple))
            or not raw
            or any(_plain(v) not in [g.value for g in GenderChoice] for v in raw)
        ):
            self.fail(
                path + ("values",), ErrorCode.INVALID_CHOICE, "values is a non-empty list of female, male, other, all"
            )
            return None
        return GenderCond(tuple(sorted({GenderChoice(_plain(v)) for v in raw}, key=lambda g: g.value)))

    def cond_age(self, node, path):
        low = self.int_(node, "min", path, required=False, high=150)
        high = self.int_(node, "max", path, required=False, high=150)
        if node.get("min") is None and node.get("max") is None:
            self.fail(path, ErrorCode.REQUIRED, "give min, max or both")
        elif low is not None and high is not None and low > high:
            self.fail(path + ("max",), ErrorCode.OUT_OF_RANGE, "max is below min")
        return AgeCond(low, high)

    def cond_added_on(self, node, path):
        after, before, on = (self.date_(node, key, path) for key in ("after", "before", "on"))
        last = self.int_(node, "last_days", path, required=False, high=100_000)
        given = [key for key in ("after", "before", "on", "last_days") if node.get(key) is not None]
        if not given:
            self.fail(path, ErrorCode.REQUIRED, "give after and / or before, on, or last_days")
        elif len(given) > 1 and not set(given) <= {"after", "before"}:
            self.fail(path, ErrorCode.INVALID, "use after and / or before, or on, or last_days")
        elif after is not None and before is not None and (before - after).days < 2:
            self.fail(path + ("before",), ErrorCode.OUT_OF_RANGE, "no day lies strictly between after and before")
        return AddedOnCond(after, before, on, last)

    def cond_custom_field(self, node, path):
        key = node.get("key")
        if self.custom_fields is None:  # structure only (``outline``): the field's type is not known yet
            if not isinstance(key, str):
                self.fail(path + ("key",), ErrorCode.INVALID, "key must be a text")
            op = self.choice(node, "operator", path, CustomFieldOperator)
            return CustomFieldCond(key, op, node.get("value"))
        definition = self.custom_fields.get(key) if isinstance(key, str) else None
        if definition is None:
            self.fail(path + ("key",), ErrorCode.NOT_FOUND, f"no custom field {key!r} is defined")
            return None
        kind = definition["type"]
        op = self.choice(node, "operator", path, CUSTOM_OPS[kind])
        if op is None:
            return None
        op = CustomFieldOperator(op)
        value = node.get("value")
        vpath = path + ("value",)
        if op in ("is_empty", "is_not_empty", "is_true", "is_false"):
            if value is not None:
                self.fail(vpath, ErrorCode.INVALID, f"{op.value} takes no value")
            return CustomFieldCond(key, op, None, kind)
        if kind in ("text", "choice"):
            parsed = self.texts(value, path, "value") if op in ("in", "not_in") else self.text(value, path)
            if kind == "choice" and parsed is not None:
                options = definition.get("choices") or []
                if any(v not in options for v in (parsed if isinstance(parsed, tuple) else [parsed])):
                    self.fail(vpath, ErrorCode.INVALID_CHOICE, f"choices are {', '.join(options)}")
            return CustomFieldCond(key, op, parsed, kind)
        if kind == "number":
            if op == "between":
                if not (isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_number(v) for v in value)):
                    self.fail(vpath, ErrorCode.INVALID, f"between takes [low, high] numbers within ±{MAX_NUMBER:g}")
                    return None
                return CustomFieldCond(key, op, (value[0], value[1]), kind)
            if not _is_number(value):
                self.fail(
                    vpath, ErrorCode.INVALID, f"value must be a number between -{MAX_NUMBER:g} and {MAX_NUMBER:g}"
                )
                return None
            return CustomFieldCond(key, op, value, kind)
        if kind == "date":
            if op == "last_days":
                days = self.int_({"value": value}, "value", path, high=100_000)
                return CustomFieldCond(key, op, days, kind)
            raw = value if op == "between" else [value]
            if not isinstance(raw, (list, tuple)) or len(raw) != (2 if op == "between" else 1):
                self.fail(vpath, ErrorCode.INVALID, "between takes [first, last] dates")
                return None
            try:
                dates = tuple(v if isinstance(v, date) else date.fromisoformat(v) for v in raw)
            except (TypeError, ValueError):
                self.fail(vpath, ErrorCode.INVALID, "value must be a date like 2026-01-31")
                return None
            return CustomFieldCond(key, op, dates if op == "between" else dates[0], kind)
        return None

    def cond_tag(self, node, path):
        return TagCond(
            self.id_(node, "tag_id", path),
            self.bool_(node, "has", path, True),
            self.choice(node, "source", path, TagSource, required=False),
            self.bool_(node, "include_subtags", path, False),
        )

    def cond_consent(self, node, path):
        return ConsentCond(self.id_(node, "consent_type_id", path), self.bool_(node, "granted", path, True))

    def cond_form(self, node, path):
        return FormCond(
            self.id_(node, "form_id", path, required=False),
            self.int_(node, "within_days", path, required=False, high=100_000),
        )

    def cond_purchase(self, node, path):
        metric = self.choice(node, "metric", path, PurchaseMetric)
        low, high = self.num(node, "min", path, low=0), self.num(node, "max", path, low=0)
        if node.get("min") is None and node.get("max") is None:
            self.fail(path, ErrorCode.REQUIRED, "give min, max or both")
        elif low is not None and high is not None and low > high:
            self.fail(path + ("max",), ErrorCode.OUT_OF_RANGE, "max is below min")
        return PurchaseCond(metric, low, high)

    def cond_channel(self, node, path):
        return ChannelCond(self.choice(node, "channel", path, SalesChannel))

    def cond_last_purchase(self, node, path):
        return LastPurchaseCond(
            self.choice(node, "mode", path, LastPurchaseMode), self.int_(node, "days", path, high=100_000)
        )

    def cond_impulsive(self, node, path):
        return ImpulsiveCond(
            self.int_(node, "max_days_before", path, high=10_000),
            self.int_(node, "min_times", path, required=False, low=1, high=100_000, default=1) or 1,
        )

    def cond_distance(self, node, path):
        km = self.num(node, "km", path, required=True, low=0, high=20_000)
        venue = self.id_(node, "venue_id", path, required=False)
        lat = self.num(node, "latitude", path, low=-90, high=90)
        lon = self.num(node, "longitude", path, low=-180, high=180)
        has_point = node.get("latitude") is not None or node.get("longitude") is not None
        if (node.get("venue_id") is None) == (not has_point) or (
            has_point and (node.get("latitude") is None or node.get("longitude") is None)
        ):
            self.fail(path, ErrorCode.INVALID, "give either venue_id or both latitude and longitude")
        return DistanceCond(km, venue, lat, lon)

    def cond_subscription(self, node, path):
        return SubscriptionCond(self.bool_(node, "holder", path, True))

    def cond_segment(self, node, path):
        return SegmentCond(self.id_(node, "segment_id", path), self.bool_(node, "member", path, True))

    def cond_interest(self, node, path):
        tag_id = self.id_(node, "tag_id", path)
        low = self.num(node, "min", path, low=0, high=MAX_SCORE)
        high = self.num(node, "max", path, low=0, high=MAX_SCORE)
        if node.get("min") is None and node.get("max") is None:
            self.fail(path, ErrorCode.REQUIRED, "give min, max or both")
        elif low is not None and high is not None and low > high:
            self.fail(path + ("max",), ErrorCode.OUT_OF_RANGE, "max is below min")
        return InterestCond(tag_id, low, high)


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and -MAX_NUMBER <= value <= MAX_NUMBER
    )


def _raise():
    raise ValueError


def parse_rule(document: Any, *, custom_fields: dict[str, dict], path: tuple[str, ...] = ("rules",)) -> Node:
    """Validate a stored rule document and return the typed tree; InputError lists every problem."""
    parser = _Parser(custom_fields, path)
    tree = parser.node(document, (), 0)
    parser.problems.raise_if_any()
    assert tree is not None
    return tree


def outline(document: Any, *, path: tuple[str, ...] = ("rules",)) -> Node:
    """A stored document's tree checked for structure only, before the account's custom field
    definitions are at hand (to find the rows it names); ``check_rule`` completes the check."""
    parser = _Parser(None, path)
    tree = parser.node(document, (), 0)
    parser.problems.raise_if_any()
    return tree


def check_rule(tree: Node, *, custom_fields: dict[str, dict], path: tuple[str, ...] = ("rules",)) -> Node:
    """Validate a typed tree (as the API builds it) exactly as a stored one; returns it checked,
    with custom fields' types filled in."""
    return parse_rule(encode(tree), custom_fields=custom_fields, path=path)


def parse_scope(document: Any, *, path: tuple[str, ...] = ("scope",)) -> Scope:
    if document is None:
        return NO_SCOPE
    if isinstance(document, Scope):
        document = {f.name: _plain(getattr(document, f.name)) for f in fields(document)}
    problems = Collector()
    if not isinstance(document, dict):
        raise InputError.single(ErrorCode.INVALID, "the scope is an object", *path)
    allowed = {f.name for f in fields(Scope)}
    for key in document:
        if key not in allowed:
            problems.add(ErrorCode.INVALID, f"unknown key {key!r} in the scope", *path, str(key))
    values: dict[str, Any] = {}
    for key in ("promoters", "seasons"):
        items = document.get(key) or []
        if (
            not isinstance(items, list)
            or len(items) > MAX_LIST
            or not all(isinstance(v, str) and len(v) <= MAX_TEXT and "\x00" not in v for v in items)
        ):
            problems.add(ErrorCode.INVALID, f"{key} is a list of at most {MAX_LIST} texts", *path, key)
            continue
        values[key] = tuple(items)
    for key in SCOPE_ID_FIELDS:
        items = document.get(key) or []
        if (
            not isinstance(items, list)
            or len(items) > MAX_LIST
            or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_ID for v in items)
        ):
            problems.add(ErrorCode.INVALID, f"{key} is a list of at most {MAX_LIST} ids", *path, key)
            continue
        values[key] = tuple(sorted(set(items)))
    days = document.get("days_back")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 100_000):
        problems.add(ErrorCode.INVALID, "days_back is a whole number of days (0 to 100000)", *path, "days_back")
    else:
        values["days_back"] = days
    problems.raise_if_any()
    return Scope(**values)


# ----------------------------------------------------------------------------- references

REFERENCE_FIELDS: tuple[tuple[str, type, str], ...] = (
    # (reference kind, condition class, its id field)
    ("tag", TagCond, "tag_id"),
    ("tag", InterestCond, "tag_id"),
    ("consent_type", ConsentCond, "consent_type_id"),
    ("form", FormCond, "form_id"),
    ("venue", DistanceCond, "venue_id"),
    ("segment", SegmentCond, "segment_id"),
    ("custom_field", CustomFieldCond, "key"),
)
SCOPE_REFERENCES = {
    "production_ids": "production",
    "event_ids": "event",
    "genre_tag_ids": "tag",
    "label_tag_ids": "tag",
}


@dataclass(frozen=True)
class Reference:
    kind: str  # tag, segment, form, consent_type, venue, custom_field, production, event
    value: Any  # the id (a custom field's key)
    path: tuple[str, ...]


def walk(node: Node) -> Iterator[Node]:
    """Every node of a tree, depth first."""
    yield node
    if isinstance(node, (All, Any_)):
        for child in node.children:
            yield from walk(child)
    elif isinstance(node, Not):
        yield from walk(node.child)


def _walk_with_paths(node: Node, path: tuple) -> Iterator[tuple[Node, tuple]]:
    yield node, path
    if isinstance(node, (All, Any_)):
        key = "all" if isinstance(node, All) else "any"
        for i, child in enumerate(node.children):
            yield from _walk_with_paths(child, path + (key, str(i)))
    elif isinstance(node, Not):
        yield from _walk_with_paths(node.child, path + ("not",))


def references(
    rule: Node | None,
    scope: Scope | None = None,
    *,
    rules_path: tuple[str, ...] = ("rules",),
    scope_path: tuple[str, ...] = ("scope",),
) -> list[Reference]:
    """Every row the rules and the scope name, with where they name it."""
    found: list[Reference] = []
    for node, path in _walk_with_paths(rule, rules_path) if rule is not None else ():
        for kind, cls, attr in REFERENCE_FIELDS:
            if isinstance(node, cls) and getattr(node, attr) is not None:
                found.append(Reference(kind, getattr(node, attr), path + ("condition", KIND_OF[cls], attr)))
    for key, kind in SCOPE_REFERENCES.items():
        for i, value in enumerate(getattr(scope, key) if scope is not None else ()):
            found.append(Reference(kind, value, scope_path + (key, str(i))))
    return found


def replace_references(rule: Node, scope: Scope, *, kind: str, mapping: dict) -> tuple[Node, Scope]:
    """The rules and scope with every reference of ``kind`` repointed by ``mapping`` (ids it does not
    name stay); repeated ids in a scope list collapse."""
    named = [(cls, attr) for k, cls, attr in REFERENCE_FIELDS if k == kind]

    def visit(node: Node) -> Node:
        if isinstance(node, (All, Any_)):
            return type(node)(tuple(visit(c) for c in node.children))
        if isinstance(node, Not):
            return Not(visit(node.child))
        for cls, attr in named:
            if isinstance(node, cls) and getattr(node, attr) in mapping:
                return replace(node, **{attr: mapping[getattr(node, attr)]})
        return node

    changes = {}
    for key, scope_kind in SCOPE_REFERENCES.items():
        if scope_kind == kind:
            changes[key] = tuple(sorted({mapping.get(v, v) for v in getattr(scope, key)}))
    return visit(rule), replace(scope, **changes)


EVERYONE = All(())
NO_ONE = Any_(())

__all__ = [
    "parse_rule",
    "check_rule",
    "parse_scope",
    "encode",
    "encode_scope",
    "references",
    "replace_references",
    "walk",
    "Scope",
    "NO_SCOPE",
    "RULES_VERSION",
    "Reference",
]
