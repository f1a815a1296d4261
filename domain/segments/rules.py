"""Segment rules as data (SPEC 5.1–5.3): parsing, validation and the typed rule tree.

A stored rule document is ``{"version": 1, "rule": <node>}``; a node is a group or a condition:

    {"all": [node, ...]}    every child holds (all of nothing: everyone)
    {"any": [node, ...]}    some child holds (any of nothing: no one)
    {"not": node}           the plain complement over the account's persons
    {"type": "<kind>", ...} a condition (kinds below)

Conditions (unknown keys are refused; every problem names its path in the document):

    text          field: email | first_name | last_name | language | postal_code | city | country
                  op: eq | neq | contains | not_contains | starts_with | ends_with | in | not_in
                      | is_empty | is_not_empty            value: str, or [str] for in / not_in
    gender        values: [female | male | other | all]   (unknown gender only under "all")
    age           min, max: whole years, inclusive, either may be null
    added_on      after, before: ISO dates, inclusive; or last_days: N (0 <= d <= N)
    custom_field  key, op, value — ops by the field's type:
                      text: as for "text"; number: eq neq gt gte lt lte between is_empty is_not_empty
                      date: eq neq before after between last_days is_empty is_not_empty
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
    distance      km, and venue_id or lat + lon
    subscription  holder: bool (default true)
    segment       segment_id, member: bool (default true)

Event scope (``segment.scope``): promoters, seasons: [str]; production_ids, event_ids, genre_tag_ids,
label_tag_ids: [int]; days_back: N or null. A scope with no filter and no days_back is no scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Union

from domain.errors import Collector, ErrorCode, InputError

RULES_VERSION = 1
MAX_DEPTH = 12
MAX_CONDITIONS = 200
MAX_LIST = 1000
MAX_TEXT = 500

TEXT_FIELDS = ("email", "first_name", "last_name", "language", "postal_code", "city", "country")
TEXT_OPS = ("eq", "neq", "contains", "not_contains", "starts_with", "ends_with", "in", "not_in", "is_empty",
            "is_not_empty")
NEGATIVE_OPS = ("neq", "not_contains", "not_in", "is_not_empty")
CUSTOM_OPS = {
    "text": TEXT_OPS,
    "number": ("eq", "neq", "gt", "gte", "lt", "lte", "between", "is_empty", "is_not_empty"),
    "date": ("eq", "neq", "before", "after", "between", "last_days", "is_empty", "is_not_empty"),
    "boolean": ("is_true", "is_false", "is_empty", "is_not_empty"),
    "choice": ("eq", "neq", "in", "not_in", "is_empty", "is_not_empty"),
}
GENDERS = ("female", "male", "other", "all")
SOURCES = ("person", "staff", "integration")
METRICS = ("revenue", "orders", "tickets", "events")
CHANNELS = ("online", "box_office", "both")
LAST_PURCHASE_MODES = ("within", "exactly", "not_within")


# ----------------------------------------------------------------------------- the typed tree

@dataclass(frozen=True)
class All:
    children: tuple


@dataclass(frozen=True)
class Any_:
    children: tuple


@dataclass(frozen=True)
class Not:
    child: Any


@dataclass(frozen=True)
class TextCond:
    field: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class GenderCond:
    values: tuple[str, ...]


@dataclass(frozen=True)
class AgeCond:
    min: int | None = None
    max: int | None = None


@dataclass(frozen=True)
class AddedOnCond:
    after: date | None = None
    before: date | None = None
    last_days: int | None = None


@dataclass(frozen=True)
class CustomFieldCond:
    key: str
    kind: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class TagCond:
    tag_id: int
    has: bool = True
    source: str | None = None
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
    metric: str
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class ChannelCond:
    channel: str


@dataclass(frozen=True)
class LastPurchaseCond:
    mode: str
    days: int


@dataclass(frozen=True)
class ImpulsiveCond:
    max_days_before: int
    min_times: int = 1


@dataclass(frozen=True)
class DistanceCond:
    km: float
    venue_id: int | None = None
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class SubscriptionCond:
    holder: bool = True


@dataclass(frozen=True)
class SegmentCond:
    segment_id: int
    member: bool = True


Condition = Union[TextCond, GenderCond, AgeCond, AddedOnCond, CustomFieldCond, TagCond, ConsentCond, FormCond,
                  PurchaseCond, ChannelCond, LastPurchaseCond, ImpulsiveCond, DistanceCond, SubscriptionCond,
                  SegmentCond]
Node = Union[All, Any_, Not, Condition]


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
        return bool(self.promoters or self.seasons or self.production_ids or self.event_ids or self.genre_tag_ids
                     or self.label_tag_ids or self.days_back is not None)

    @property
    def seasons_only(self) -> bool:
        """Whole seasons and nothing else (the per-season figures answer such a scope)."""
        return bool(self.seasons) and not (self.promoters or self.production_ids or self.event_ids
                                           or self.genre_tag_ids or self.label_tag_ids or self.days_back is not None)


NO_SCOPE = Scope()


# ----------------------------------------------------------------------------- parsing

class _Parser:
    def __init__(self, custom_fields: dict[str, dict], path: tuple[str, ...]):
        self.custom_fields = custom_fields
        self.problems = Collector()
        self.base = path
        self.count = 0

    def fail(self, path: tuple, code: ErrorCode, message: str) -> None:
        self.problems.add(code, message, *self.base, *path)

    # helpers -------------------------------------------------------------
    def keys(self, node: dict, path: tuple, allowed: set[str]) -> None:
        for key in node:
            if key not in allowed:
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

    def num(self, node, key, path, *, required=False, low=-1e12, high=1e12):
        value = node.get(key)
        if value is None:
            if required:
                self.fail(path + (key,), ErrorCode.REQUIRED, f"{key} is required")
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
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

    def choice(self, node, key, path, options, *, required=True, default=None):
        value = node.get(key, default)
        if value is None and not required:
            return None
        if value not in options:
            self.fail(path + (key,), ErrorCode.INVALID_CHOICE, f"{key} must be one of {', '.join(options)}")
            return None
        return value

    def date_(self, node, key, path):
        value = node.get(key)
        if value is None:
            return None
        try:
            return date.fromisoformat(value) if isinstance(value, str) else _raise()
        except (ValueError, TypeError):
            self.fail(path + (key,), ErrorCode.INVALID, f"{key} must be a date like 2026-01-31")
            return None

    def text_value(self, value, path, *, many: bool):
        if many:
            if not isinstance(value, list) or not value or len(value) > MAX_LIST:
                self.fail(path + ("value",), ErrorCode.INVALID, f"value must be a list of 1 to {MAX_LIST} texts")
                return None
            if not all(isinstance(v, str) and len(v) <= MAX_TEXT and "\x00" not in v for v in value):
                self.fail(path + ("value",), ErrorCode.INVALID, f"every value must be a text of at most {MAX_TEXT}")
                return None
            return tuple(value)
        if not isinstance(value, str) or "\x00" in value:
            self.fail(path + ("value",), ErrorCode.INVALID, "value must be a text")
            return None
        if len(value) > MAX_TEXT:
            self.fail(path + ("value",), ErrorCode.TOO_LONG, f"value is longer than {MAX_TEXT} characters")
            return None
        return value

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
        method = getattr(self, f"cond_{kind}", None) if isinstance(kind, str) else None
        if method is None:
            self.fail(path + ("type",), ErrorCode.INVALID_CHOICE, f"unknown condition type {kind!r}")
            return None
        before = len(self.problems.problems)
        result = method(node, path)
        return result if len(self.problems.problems) == before else None

    def cond_text(self, node, path):
        self.keys(node, path, {"type", "field", "op", "value"})
        field_ = self.choice(node, "field", path, TEXT_FIELDS)
        op = self.choice(node, "op", path, TEXT_OPS)
        value = None
        if op is None:
            return None
        if op in ("in", "not_in"):
            value = self.text_value(node.get("value"), path, many=True)
        elif op not in (None, "is_empty", "is_not_empty"):
            value = self.text_value(node.get("value"), path, many=False)
        elif "value" in node and node["value"] is not None:
            self.fail(path + ("value",), ErrorCode.INVALID, f"{op} takes no value")
        return TextCond(field_, op, value)

    def cond_gender(self, node, path):
        self.keys(node, path, {"type", "values"})
        values = node.get("values")
        if not isinstance(values, list) or not values or any(v not in GENDERS for v in values):
            self.fail(path + ("values",), ErrorCode.INVALID_CHOICE,
                      "values is a non-empty list of female, male, other, all")
            return None
        return GenderCond(tuple(sorted(set(values))))

    def cond_age(self, node, path):
        self.keys(node, path, {"type", "min", "max"})
        low = self.int_(node, "min", path, required=False, high=150)
        high = self.int_(node, "max", path, required=False, high=150)
        if node.get("min") is None and node.get("max") is None:
            self.fail(path, ErrorCode.REQUIRED, "give min, max or both")
        elif low is not None and high is not None and low > high:
            self.fail(path + ("max",), ErrorCode.OUT_OF_RANGE, "max is below min")
        return AgeCond(low, high)

    def cond_added_on(self, node, path):
        self.keys(node, path, {"type", "after", "before", "last_days"})
        after, before = self.date_(node, "after", path), self.date_(node, "before", path)
        last = self.int_(node, "last_days", path, required=False, high=100_000)
        if node.get("last_days") is not None and (node.get("after") or node.get("before")):
            self.fail(path, ErrorCode.INVALID, "use either last_days or after / before")
        elif node.get("last_days") is None and not node.get("after") and not node.get("before"):
            self.fail(path, ErrorCode.REQUIRED, "give last_days, or after and / or before")
        return AddedOnCond(after, before, last)

    def cond_custom_field(self, node, path):
        self.keys(node, path, {"type", "key", "op", "value"})
        key = node.get("key")
        definition = self.custom_fields.get(key) if isinstance(key, str) else None
        if definition is None:
            self.fail(path + ("key",), ErrorCode.NOT_FOUND, f"no custom field {key!r} is defined")
            return None
        kind = definition["type"]
        op = self.choice(node, "op", path, CUSTOM_OPS[kind])
        if op is None:
            return None
        value = node.get("value")
        vpath = path + ("value",)
        if op in ("is_empty", "is_not_empty", "is_true", "is_false"):
            if value is not None:
                self.fail(vpath, ErrorCode.INVALID, f"{op} takes no value")
            return CustomFieldCond(key, kind, op, None)
        if kind == "text":
            return CustomFieldCond(key, kind, op, self.text_value(value, path, many=op in ("in", "not_in")))
        if kind == "choice":
            many = op in ("in", "not_in")
            parsed = self.text_value(value, path, many=many)
            options = definition.get("choices") or []
            if parsed is not None and any(v not in options for v in (parsed if many else [parsed])):
                self.fail(vpath, ErrorCode.INVALID_CHOICE, f"choices are {', '.join(options)}")
            return CustomFieldCond(key, kind, op, parsed)
        if kind == "number":
            if op == "between":
                if not (isinstance(value, list) and len(value) == 2
                        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and -1e15 <= v <= 1e15
                                for v in value)):
                    self.fail(vpath, ErrorCode.INVALID, "between takes [low, high] numbers")
                    return None
                return CustomFieldCond(key, kind, op, (value[0], value[1]))
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not -1e15 <= value <= 1e15:
                self.fail(vpath, ErrorCode.INVALID, "value must be a number between -1e15 and 1e15")
                return None
            return CustomFieldCond(key, kind, op, value)
        if kind == "date":
            if op == "last_days":
                days = self.int_({"value": value}, "value", path, high=100_000)
                return CustomFieldCond(key, kind, op, days)
            raw = value if op == "between" else [value]
            if not isinstance(raw, list) or len(raw) != (2 if op == "between" else 1):
                self.fail(vpath, ErrorCode.INVALID, "between takes [first, last] dates")
                return None
            try:
                dates = tuple(date.fromisoformat(v) for v in raw)
            except (TypeError, ValueError):
                self.fail(vpath, ErrorCode.INVALID, "value must be a date like 2026-01-31")
                return None
            return CustomFieldCond(key, kind, op, dates if op == "between" else dates[0])
        return None

    def cond_tag(self, node, path):
        self.keys(node, path, {"type", "tag_id", "has", "source", "include_subtags"})
        return TagCond(self.int_(node, "tag_id", path, low=1, high=2**63 - 1), self.bool_(node, "has", path, True),
                       self.choice(node, "source", path, SOURCES, required=False),
                       self.bool_(node, "include_subtags", path, False))

    def cond_consent(self, node, path):
        self.keys(node, path, {"type", "consent_type_id", "granted"})
        return ConsentCond(self.int_(node, "consent_type_id", path, low=1, high=2**63 - 1),
                           self.bool_(node, "granted", path, True))

    def cond_form(self, node, path):
        self.keys(node, path, {"type", "form_id", "within_days"})
        return FormCond(self.int_(node, "form_id", path, required=False, low=1, high=2**63 - 1),
                        self.int_(node, "within_days", path, required=False, high=100_000))

    def cond_purchase(self, node, path):
        self.keys(node, path, {"type", "metric", "min", "max"})
        metric = self.choice(node, "metric", path, METRICS)
        low, high = self.num(node, "min", path, low=0), self.num(node, "max", path, low=0)
        if node.get("min") is None and node.get("max") is None:
            self.fail(path, ErrorCode.REQUIRED, "give min, max or both")
        elif low is not None and high is not None and low > high:
            self.fail(path + ("max",), ErrorCode.OUT_OF_RANGE, "max is below min")
        return PurchaseCond(metric, low, high)

    def cond_channel(self, node, path):
        self.keys(node, path, {"type", "channel"})
        return ChannelCond(self.choice(node, "channel", path, CHANNELS))

    def cond_last_purchase(self, node, path):
        self.keys(node, path, {"type", "mode", "days"})
        return LastPurchaseCond(self.choice(node, "mode", path, LAST_PURCHASE_MODES),
                                self.int_(node, "days", path, high=100_000))

    def cond_impulsive(self, node, path):
        self.keys(node, path, {"type", "max_days_before", "min_times"})
        return ImpulsiveCond(self.int_(node, "max_days_before", path, high=10_000),
                             self.int_(node, "min_times", path, required=False, low=1, high=100_000, default=1) or 1)

    def cond_distance(self, node, path):
        self.keys(node, path, {"type", "km", "venue_id", "lat", "lon"})
        km = self.num(node, "km", path, required=True, low=0, high=20_000)
        venue = self.int_(node, "venue_id", path, required=False, low=1, high=2**63 - 1)
        lat = self.num(node, "lat", path, low=-90, high=90)
        lon = self.num(node, "lon", path, low=-180, high=180)
        has_point = node.get("lat") is not None or node.get("lon") is not None
        if (node.get("venue_id") is None) == (not has_point) or (has_point and (node.get("lat") is None
                                                                                or node.get("lon") is None)):
            self.fail(path, ErrorCode.INVALID, "give either venue_id or both lat and lon")
        return DistanceCond(km, venue, lat, lon)

    def cond_subscription(self, node, path):
        self.keys(node, path, {"type", "holder"})
        return SubscriptionCond(self.bool_(node, "holder", path, True))

    def cond_segment(self, node, path):
        self.keys(node, path, {"type", "segment_id", "member"})
        return SegmentCond(self.int_(node, "segment_id", path, low=1, high=2**63 - 1),
                           self.bool_(node, "member", path, True))


def _raise():
    raise ValueError


def parse_rule(document: Any, *, custom_fields: dict[str, dict], path: tuple[str, ...] = ("rules",)) -> Node:
    """Validate a rule node (JSON) and return the typed tree; InputError lists every problem."""
    parser = _Parser(custom_fields, path)
    tree = parser.node(document, (), 0)
    parser.problems.raise_if_any()
    assert tree is not None
    return tree


def parse_scope(document: Any, *, path: tuple[str, ...] = ("scope",)) -> Scope:
    if document is None:
        return NO_SCOPE
    problems = Collector()
    if not isinstance(document, dict):
        raise InputError.single(ErrorCode.INVALID, "the scope is an object", *path)
    allowed = {"promoters", "seasons", "production_ids", "event_ids", "genre_tag_ids", "label_tag_ids", "days_back"}
    for key in document:
        if key not in allowed:
            problems.add(ErrorCode.INVALID, f"unknown key {key!r} in the scope", *path, str(key))
    values: dict[str, Any] = {}
    for key in ("promoters", "seasons"):
        items = document.get(key) or []
        if not isinstance(items, list) or len(items) > MAX_LIST or not all(isinstance(v, str) and len(v) <= MAX_TEXT
                                                                           for v in items):
            problems.add(ErrorCode.INVALID, f"{key} is a list of texts", *path, key)
            continue
        values[key] = tuple(items)
    for key in ("production_ids", "event_ids", "genre_tag_ids", "label_tag_ids"):
        items = document.get(key) or []
        if not isinstance(items, list) or len(items) > MAX_LIST or not all(
                isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2**63 for v in items):
            problems.add(ErrorCode.INVALID, f"{key} is a list of ids", *path, key)
            continue
        values[key] = tuple(sorted(set(items)))
    days = document.get("days_back")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 100_000):
        problems.add(ErrorCode.INVALID, "days_back is a whole number of days (0 to 100000)", *path, "days_back")
    else:
        values["days_back"] = days
    problems.raise_if_any()
    return Scope(**values)


def scope_to_json(scope: Scope) -> dict | None:
    if not scope.is_set:
        return None
    return {"promoters": list(scope.promoters), "seasons": list(scope.seasons),
            "production_ids": list(scope.production_ids), "event_ids": list(scope.event_ids),
            "genre_tag_ids": list(scope.genre_tag_ids), "label_tag_ids": list(scope.label_tag_ids),
            "days_back": scope.days_back}


def walk(node: Node):
    """Every node of a tree, depth first."""
    yield node
    if isinstance(node, (All, Any_)):
        for child in node.children:
            yield from walk(child)
    elif isinstance(node, Not):
        yield from walk(node.child)


EVERYONE = All(())
NO_ONE = Any_(())

__all__ = ["parse_rule", "parse_scope", "scope_to_json", "walk", "Scope", "NO_SCOPE", "RULES_VERSION"]
