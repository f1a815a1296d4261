"""Typed rule inputs (one-of input objects) and their translation to the domain's rule document.

The GraphQL shape mirrors the stored document: ``{all: [...]}``, ``{any: [...]}``, ``{not: ...}`` or
``{condition: {tag: {...}}}``. Global ids become row ids here; the domain validates the rest. A
path map translates the domain's error paths (document terms) back into input paths.
"""

from __future__ import annotations

import enum
from datetime import date
from typing import Any, Optional

import strawberry
from strawberry.scalars import JSON

from domain.errors import ErrorCode, InputError, Problem
from graph.core.ids import pk_of


@strawberry.enum
class TextField(enum.Enum):
    EMAIL = "email"
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    LANGUAGE = "language"
    POSTAL_CODE = "postal_code"
    CITY = "city"
    COUNTRY = "country"


@strawberry.enum
class TextOperator(enum.Enum):
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


@strawberry.enum(description="Operators for custom fields; which ones apply depends on the field's type.")
class CustomFieldOperator(enum.Enum):
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


@strawberry.enum
class GenderChoice(enum.Enum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    ALL = "all"


@strawberry.enum
class PurchaseMetric(enum.Enum):
    REVENUE = "revenue"
    ORDERS = "orders"
    TICKETS = "tickets"
    EVENTS = "events"


@strawberry.enum
class SalesChannel(enum.Enum):
    ONLINE = "online"
    BOX_OFFICE = "box_office"
    BOTH = "both"


@strawberry.enum
class LastPurchaseMode(enum.Enum):
    WITHIN = "within"
    EXACTLY = "exactly"
    NOT_WITHIN = "not_within"


@strawberry.enum
class LinkSource(enum.Enum):
    PERSON = "person"
    STAFF = "staff"
    INTEGRATION = "integration"


@strawberry.input(description="Case-insensitive test of a standard text field.")
class TextConditionInput:
    field: TextField
    operator: TextOperator
    value: Optional[str] = None
    values: Optional[list[str]] = strawberry.field(default=None, description="For IN and NOT_IN.")


@strawberry.input(description="Unknown gender matches only when ALL is listed.")
class GenderConditionInput:
    values: list[GenderChoice]


@strawberry.input(description="Completed years, inclusive; persons without a birth date never match.")
class AgeConditionInput:
    min: Optional[int] = None
    max: Optional[int] = None


@strawberry.input(description="Added on: between dates (inclusive) or in the last N days.")
class AddedOnConditionInput:
    after: Optional[date] = None
    before: Optional[date] = None
    last_days: Optional[int] = None


@strawberry.input
class CustomFieldConditionInput:
    key: str
    operator: CustomFieldOperator
    value: Optional[JSON] = strawberry.field(default=None, description="A text, number, date, or a list for IN / BETWEEN.")


@strawberry.input
class TagConditionInput:
    tag_id: strawberry.ID
    has: bool = True
    source: Optional[LinkSource] = None
    include_subtags: bool = False


@strawberry.input
class ConsentConditionInput:
    consent_type_id: strawberry.ID
    granted: bool = True


@strawberry.input
class FormConditionInput:
    form_id: Optional[strawberry.ID] = strawberry.field(default=None, description="Any form when omitted.")
    within_days: Optional[int] = None


@strawberry.input(description="A figure over the tickets that count (in scope, if the segment has one).")
class PurchaseConditionInput:
    metric: PurchaseMetric
    min: Optional[float] = None
    max: Optional[float] = None


@strawberry.input
class ChannelConditionInput:
    channel: SalesChannel


@strawberry.input
class LastPurchaseConditionInput:
    mode: LastPurchaseMode
    days: int


@strawberry.input(description="Bought tickets at most N days before the event, at least M times.")
class ImpulsiveConditionInput:
    max_days_before: int
    min_times: int = 1


@strawberry.input(description="Within N km of a venue, or of a point.")
class DistanceConditionInput:
    km: float
    venue_id: Optional[strawberry.ID] = None
    latitude: Optional[float] = None
    longitude: Optional[float] = None


@strawberry.input
class SubscriptionConditionInput:
    holder: bool = True


@strawberry.input(description="Membership of another segment (its rules, scope and parents; not its mode).")
class SegmentConditionInput:
    segment_id: strawberry.ID
    member: bool = True


@strawberry.input(one_of=True, description="Exactly one condition.")
class ConditionInput:
    text: Optional[TextConditionInput] = strawberry.UNSET
    gender: Optional[GenderConditionInput] = strawberry.UNSET
    age: Optional[AgeConditionInput] = strawberry.UNSET
    added_on: Optional[AddedOnConditionInput] = strawberry.UNSET
    custom_field: Optional[CustomFieldConditionInput] = strawberry.UNSET
    tag: Optional[TagConditionInput] = strawberry.UNSET
    consent: Optional[ConsentConditionInput] = strawberry.UNSET
    form: Optional[FormConditionInput] = strawberry.UNSET
    purchase: Optional[PurchaseConditionInput] = strawberry.UNSET
    channel: Optional[ChannelConditionInput] = strawberry.UNSET
    last_purchase: Optional[LastPurchaseConditionInput] = strawberry.UNSET
    impulsive: Optional[ImpulsiveConditionInput] = strawberry.UNSET
    distance: Optional[DistanceConditionInput] = strawberry.UNSET
    subscription: Optional[SubscriptionConditionInput] = strawberry.UNSET
    segment: Optional[SegmentConditionInput] = strawberry.UNSET


@strawberry.input(one_of=True, description="A group (all / any / not) or one condition. all of nothing is "
                                           "everyone, any of nothing is no one.")
class RuleInput:
    all: Optional[list["RuleInput"]] = strawberry.UNSET
    any: Optional[list["RuleInput"]] = strawberry.UNSET
    not_: Optional["RuleInput"] = strawberry.field(default=strawberry.UNSET, name="not")
    condition: Optional[ConditionInput] = strawberry.UNSET


@strawberry.input(description="Which events count (SPEC 5.2). Values within a filter are alternatives; filters "
                              "combine with and. Future events are always in when daysBack is set.")
class ScopeInput:
    promoters: list[str] = strawberry.field(default_factory=list)
    seasons: list[str] = strawberry.field(default_factory=list)
    production_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    event_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    genre_tag_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    label_tag_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    days_back: Optional[int] = None


@strawberry.input(one_of=True, description="Look at a segment for an event or a production: members holding "
                                           "tickets for it are left out.")
class SegmentModeInput:
    event_id: Optional[strawberry.ID] = strawberry.UNSET
    production_id: Optional[strawberry.ID] = strawberry.UNSET


INPUT_NAMES = {"op": "operator", "lat": "latitude", "lon": "longitude"}
ID_FIELDS = {"tag_id": "Tag", "consent_type_id": "ConsentType", "form_id": "Form", "venue_id": "Venue",
             "segment_id": "Segment"}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class RuleTranslator:
    """GraphQL rule input → stored document, remembering where each document part came from."""

    def __init__(self, base: tuple[str, ...]):
        self.base = base
        self.paths: dict[tuple, tuple] = {}

    @staticmethod
    def pk(global_id, type_name: str, where: tuple) -> int:
        return pk_of(global_id, type_name, *where)

    def rule(self, node: RuleInput, doc_path: tuple, gql_path: tuple) -> dict:
        self.paths[doc_path] = gql_path
        for key in ("all", "any"):
            items = getattr(node, key)
            if items not in (strawberry.UNSET, None):
                return {key: [self.rule(item, doc_path + (key, str(i)), gql_path + (key, str(i)))
                              for i, item in enumerate(items)]}
        if node.not_ not in (strawberry.UNSET, None):
            return {"not": self.rule(node.not_, doc_path + ("not",), gql_path + ("not",))}
        if node.condition not in (strawberry.UNSET, None):
            return self.condition(node.condition, doc_path, gql_path + ("condition",))
        raise InputError.single(ErrorCode.REQUIRED, "give all, any, not or condition", *gql_path)

    def condition(self, node: ConditionInput, doc_path: tuple, gql_path: tuple) -> dict:
        for field in node.__strawberry_definition__.fields:
            value = getattr(node, field.python_name)
            if value in (strawberry.UNSET, None):
                continue
            kind = field.python_name
            where = gql_path + (camel(kind),)
            self.paths[doc_path] = where
            doc: dict[str, Any] = {"type": kind}
            for sub in value.__strawberry_definition__.fields:
                name, raw = sub.python_name, getattr(value, sub.python_name)
                if raw is strawberry.UNSET:
                    continue
                if isinstance(raw, enum.Enum):
                    raw = raw.value
                elif isinstance(raw, list):
                    raw = [v.value if isinstance(v, enum.Enum) else v for v in raw]
                elif isinstance(raw, date):
                    raw = raw.isoformat()
                if name in ID_FIELDS and raw is not None:
                    raw = self.pk(raw, ID_FIELDS[name], where + (camel(name),))
                doc[name] = raw
            return self._document_names(kind, doc)
        raise InputError.single(ErrorCode.REQUIRED, "give one condition", *gql_path)

    @staticmethod
    def _document_names(kind: str, doc: dict) -> dict:
        """The few places where the input's names differ from the document's."""
        if kind in ("text", "custom_field"):
            doc["op"] = doc.pop("operator")
            if kind == "text" and doc.get("values") is not None:
                doc["value"] = doc.pop("values")
            doc.pop("values", None)
        if kind == "distance":
            doc["lat"], doc["lon"] = doc.pop("latitude", None), doc.pop("longitude", None)
        return {k: v for k, v in doc.items() if v is not None or k == "type"}

    def translate_problems(self, error: InputError) -> InputError:
        problems = []
        for problem in error.problems:
            path = problem.path
            if path[:len(self.base)] == self.base:
                rest = path[len(self.base):]
                for cut in range(len(rest), -1, -1):
                    if rest[:cut] in self.paths:
                        mapped = self.paths[rest[:cut]] + tuple(camel(INPUT_NAMES.get(p, p)) for p in rest[cut:])
                        path = mapped
                        break
            problems.append(Problem(problem.code, problem.message, path))
        return InputError(problems)


def scope_document(scope: ScopeInput | None, translator: RuleTranslator, where: tuple) -> dict | None:
    if scope is None:
        return None
    doc: dict[str, Any] = {"promoters": scope.promoters, "seasons": scope.seasons, "days_back": scope.days_back}
    for name, type_name in (("production_ids", "Production"), ("event_ids", "Event"), ("genre_tag_ids", "Tag"),
                            ("label_tag_ids", "Tag")):
        doc[name] = [translator.pk(g, type_name, where + (camel(name), str(i)))
                     for i, g in enumerate(getattr(scope, name))]
    return doc


def mode_of(mode: SegmentModeInput | None, translator: RuleTranslator, where: tuple):
    if mode is None:
        return None
    if mode.event_id not in (strawberry.UNSET, None):
        return ("event", translator.pk(mode.event_id, "Event", where + ("eventId",)))
    if mode.production_id not in (strawberry.UNSET, None):
        return ("production", translator.pk(mode.production_id, "Production", where + ("productionId",)))
    return None
