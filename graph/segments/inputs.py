"""Rule inputs: one-of input objects that become the domain's typed rule tree directly.

Each condition input has the fields of its domain dataclass (``TextConditionInput`` ↔
``rules.TextCond`` …) and the enums are the domain's own; ``to_domain`` copies them over, turning
global ids into row ids (a malformed id becomes 0, which the domain reports as not found at its
path). The domain checks the tree and reports problems at its own paths, which
``graph.core.errors.input_path`` turns into input paths.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import strawberry
from strawberry.scalars import JSON

from domain.segments import rules as r
from graph.core.inputs import reference_pk, to_domain
from graph.tags.types import TagSource

TextField = strawberry.enum(r.TextField, name="TextField")
TextOperator = strawberry.enum(r.TextOperator, name="TextOperator")
CustomFieldOperator = strawberry.enum(
    r.CustomFieldOperator,
    name="CustomFieldOperator",
    description="Operators for custom fields; which apply depends on the field's "
    "type. Dates: BEFORE and AFTER are strict, BETWEEN includes both "
    "days, EQ is that day.",
)
GenderChoice = strawberry.enum(r.GenderChoice, name="GenderChoice")
PurchaseMetric = strawberry.enum(r.PurchaseMetric, name="PurchaseMetric")
SalesChannel = strawberry.enum(r.SalesChannel, name="SalesChannel")
LastPurchaseMode = strawberry.enum(r.LastPurchaseMode, name="LastPurchaseMode")

LIST_NOTE = f" At most {r.MAX_LIST} values."


@strawberry.input(description="Case-insensitive test of a standard text field.")
class TextConditionInput:
    field: TextField
    operator: TextOperator
    value: str | None = None
    values: list[str] | None = strawberry.field(default=None, description="For IN and NOT_IN." + LIST_NOTE)

    def to_domain(self) -> r.TextCond:
        return to_domain(self, r.TextCond)


@strawberry.input(description="Unknown gender matches only when ALL is listed.")
class GenderConditionInput:
    values: list[GenderChoice]

    def to_domain(self) -> r.GenderCond:
        return to_domain(self, r.GenderCond)


@strawberry.input(description="Completed years, inclusive; persons without a birth date never match.")
class AgeConditionInput:
    min: int | None = None
    max: int | None = None

    def to_domain(self) -> r.AgeCond:
        return to_domain(self, r.AgeCond)


@strawberry.input(
    description='Added on (local dates of the account): after and before are strict ("before 1 May" '
    "excludes 1 May) and may be combined; or on a day; or in the last N days (0 to N)."
)
class AddedOnConditionInput:
    after: date | None = None
    before: date | None = None
    on: date | None = None
    last_days: int | None = None

    def to_domain(self) -> r.AddedOnCond:
        return to_domain(self, r.AddedOnCond)


@strawberry.input
class CustomFieldConditionInput:
    key: str
    operator: CustomFieldOperator
    value: JSON | None = strawberry.field(
        default=None, description="A text, number or date; a list for IN / NOT_IN; [low, high] for BETWEEN."
    )

    def to_domain(self) -> r.CustomFieldCond:
        return to_domain(self, r.CustomFieldCond)


@strawberry.input
class TagConditionInput:
    tag_id: strawberry.ID
    has: bool = True
    source: TagSource | None = None
    include_subtags: bool = False

    def to_domain(self) -> r.TagCond:
        return to_domain(self, r.TagCond, ids={"tag_id": "Tag"})


@strawberry.input
class ConsentConditionInput:
    consent_type_id: strawberry.ID
    granted: bool = True

    def to_domain(self) -> r.ConsentCond:
        return to_domain(self, r.ConsentCond, ids={"consent_type_id": "ConsentType"})


@strawberry.input
class FormConditionInput:
    form_id: strawberry.ID | None = strawberry.field(default=None, description="Any form when omitted.")
    within_days: int | None = None

    def to_domain(self) -> r.FormCond:
        return to_domain(self, r.FormCond, ids={"form_id": "Form"})


@strawberry.input(description="A figure over the tickets that count (in scope, if the segment has one).")
class PurchaseConditionInput:
    metric: PurchaseMetric
    min: float | None = None
    max: float | None = None

    def to_domain(self) -> r.PurchaseCond:
        return to_domain(self, r.PurchaseCond)


@strawberry.input
class ChannelConditionInput:
    channel: SalesChannel

    def to_domain(self) -> r.ChannelCond:
        return to_domain(self, r.ChannelCond)


@strawberry.input
class LastPurchaseConditionInput:
    mode: LastPurchaseMode
    days: int

    def to_domain(self) -> r.LastPurchaseCond:
        return to_domain(self, r.LastPurchaseCond)


@strawberry.input(description="Bought tickets at most N days before the event, at least M times.")
class ImpulsiveConditionInput:
    max_days_before: int
    min_times: int = 1

    def to_domain(self) -> r.ImpulsiveCond:
        return to_domain(self, r.ImpulsiveCond)


@strawberry.input(description="Within N km of a venue, or of a point.")
class DistanceConditionInput:
    km: float
    venue_id: strawberry.ID | None = None
    latitude: float | None = None
    longitude: float | None = None

    def to_domain(self) -> r.DistanceCond:
        return to_domain(self, r.DistanceCond, ids={"venue_id": "Venue"})


@strawberry.input
class SubscriptionConditionInput:
    holder: bool = True

    def to_domain(self) -> r.SubscriptionCond:
        return to_domain(self, r.SubscriptionCond)


@strawberry.input(description="Membership of another segment (its rules, scope and parents; not its mode).")
class SegmentConditionInput:
    segment_id: strawberry.ID
    member: bool = True

    def to_domain(self) -> r.SegmentCond:
        return to_domain(self, r.SegmentCond, ids={"segment_id": "Segment"})


@strawberry.input(
    description="The person's interest score on the tag now (0 without one), inclusive bounds; "
    "needs the recommendations module."
)
class InterestConditionInput:
    tag_id: strawberry.ID
    min: float | None = None
    max: float | None = None

    def to_domain(self) -> r.InterestCond:
        return to_domain(self, r.InterestCond, ids={"tag_id": "Tag"})


@strawberry.input(one_of=True, description="Exactly one condition.")
class ConditionInput:
    text: TextConditionInput | None = strawberry.UNSET
    gender: GenderConditionInput | None = strawberry.UNSET
    age: AgeConditionInput | None = strawberry.UNSET
    added_on: AddedOnConditionInput | None = strawberry.UNSET
    custom_field: CustomFieldConditionInput | None = strawberry.UNSET
    tag: TagConditionInput | None = strawberry.UNSET
    consent: ConsentConditionInput | None = strawberry.UNSET
    form: FormConditionInput | None = strawberry.UNSET
    purchase: PurchaseConditionInput | None = strawberry.UNSET
    channel: ChannelConditionInput | None = strawberry.UNSET
    last_purchase: LastPurchaseConditionInput | None = strawberry.UNSET
    impulsive: ImpulsiveConditionInput | None = strawberry.UNSET
    distance: DistanceConditionInput | None = strawberry.UNSET
    subscription: SubscriptionConditionInput | None = strawberry.UNSET
    segment: SegmentConditionInput | None = strawberry.UNSET
    interest: InterestConditionInput | None = strawberry.UNSET

    def to_domain(self) -> r.Condition:
        # one-of: validation guarantees exactly one field is given
        return next(value.to_domain() for value in vars(self).values() if value not in (strawberry.UNSET, None))


@strawberry.input(
    one_of=True,
    description=f"A group (all / any / not) or one condition. all of nothing is everyone, "
    f"any of nothing is no one. At most {r.MAX_CONDITIONS} conditions, "
    f"nested at most {r.MAX_DEPTH} levels.",
)
class RuleInput:
    all: list[RuleInput] | None = strawberry.UNSET
    any: list[RuleInput] | None = strawberry.UNSET
    not_: RuleInput | None = strawberry.field(default=strawberry.UNSET, name="not")
    condition: ConditionInput | None = strawberry.UNSET

    def to_domain(self) -> r.Node:
        if self.all not in (strawberry.UNSET, None):
            return r.All(tuple(item.to_domain() for item in self.all))
        if self.any not in (strawberry.UNSET, None):
            return r.Any_(tuple(item.to_domain() for item in self.any))
        if self.not_ not in (strawberry.UNSET, None):
            return r.Not(self.not_.to_domain())
        return self.condition.to_domain()


@strawberry.input(
    description="Which events count (SPEC 5.2). Values within a filter are alternatives; filters "
    "combine with and. Future events are always in when daysBack is set. Each list holds "
    f"at most {r.MAX_LIST} values."
)
class ScopeInput:
    promoters: list[str] = strawberry.field(default_factory=list)
    seasons: list[str] = strawberry.field(default_factory=list)
    production_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    event_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    genre_tag_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    label_tag_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    days_back: int | None = None

    def to_domain(self) -> r.Scope:
        return to_domain(
            self,
            r.Scope,
            ids={"production_ids": "Production", "event_ids": "Event", "genre_tag_ids": "Tag", "label_tag_ids": "Tag"},
        )


@strawberry.input(
    one_of=True,
    description="Look at a segment for an event or a production: members holding tickets for it are left out.",
)
class SegmentModeInput:
    event_id: strawberry.ID | None = strawberry.UNSET
    production_id: strawberry.ID | None = strawberry.UNSET

    def to_domain(self) -> tuple[str, int]:
        if self.event_id not in (strawberry.UNSET, None):
            return ("event", reference_pk(self.event_id, "Event"))
        return ("production", reference_pk(self.production_id, "Production"))


def mode_of(mode: SegmentModeInput | None) -> tuple[str, int] | None:
    return None if mode is None else mode.to_domain()


def optional_domain(value: Any) -> Any:
    """``to_domain()`` of an optional input, keeping UNSET and None as they are."""
    return value if value in (strawberry.UNSET, None) else value.to_domain()
