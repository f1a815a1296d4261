"""Scoring rules, interests and web page visits (module ``recommendations``)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from domain.interactions import service as interactions
from domain.actions.service import Target
from domain.recommendations import picks, scoring, tips
from domain.recommendations.models import INTERACTION_KINDS
from domain.viewer import ViewerKind
from graph.context import Info
from graph.core.errors import mutation_payload, run_mutation
from graph.core.ids import optional_pk, pk_of
from graph.actions.schema import SegmentActionStarted
from graph.core.inputs import reference_pk
from graph.core.permissions import CanEdit, CanReadPeople, IsAdmin, IsStaff, _ViewerPermission
from graph.jobs.schema import Job
from graph.segments.inputs import SegmentModeInput, mode_of

if TYPE_CHECKING:
    from graph.catalog.types import Production
    from graph.tags.types import Tag, TagCategory

InteractionKind = strawberry.enum(
    enum.Enum("InteractionKind", {k.upper(): k for k in INTERACTION_KINDS}),
    name="InteractionKind",
    description="What a person did: bought (purchase), came (attendance, a scanned ticket), chose a tag "
    "themselves (preference), clicked a tracked link, opened a mail, visited a web page.",
)

INTERACTIONS_WRITE = "interactions:write"


class CanRecordVisits(_ViewerPermission):
    """The account's website key, a connector key holding ``interactions:write``, or staff with
    role marketer or admin."""

    forbidden_message = (
        "this needs the website key, a connector key with interactions:write, or a staff user with role marketer"
    )

    def allows(self, viewer) -> bool:
        return (
            viewer.kind is ViewerKind.WEBSITE
            or (viewer.kind is ViewerKind.CONNECTOR and INTERACTIONS_WRITE in viewer.scopes)
            or viewer.has_role("marketer")
        )


@strawberry.type(description="A person's interest in a tag, from their interactions.")
class Interest:
    score: float = strawberry.field(description="Now: every point decayed by the account's half-life.")
    interactions: int = strawberry.field(description="How many interactions gave points to this tag.")
    last_interaction_at: datetime = strawberry.field(description="The latest of them.")
    trend: float = strawberry.field(
        description=f"The score now minus the score {scoring.TREND_DAYS} days ago (from the interactions before "
        "then): above 0 a growing interest, below 0 a fading one."
    )
    tag_pk: strawberry.Private[int]

    @strawberry.field(description="Null when the viewer may not see the tag.")
    def tag(self, info: Info) -> Annotated[Tag, strawberry.lazy("graph.tags.types")] | None:
        from graph.catalog.types import visible_tags  # noqa: PLC0415

        return visible_tags(info.context).get(self.tag_pk)


def interest_of(found: scoring.Interest) -> Interest:
    return Interest(
        score=found.score,
        interactions=found.interactions,
        last_interaction_at=found.last_at,
        trend=found.trend,
        tag_pk=found.tag_id,
    )


@strawberry.type(description="Points for one kind of interaction, for the tags of one category or for all.")
class ScoringRule:
    kind: InteractionKind  # type: ignore[valid-type]
    points: float
    category_pk: strawberry.Private[int | None]

    @strawberry.field(description="Null: the rule holds for tags of every category without a rule of their own.")
    def tag_category(self, info: Info) -> Annotated[TagCategory, strawberry.lazy("graph.tags.types")] | None:
        from graph.core.loaders import loader  # noqa: PLC0415
        from graph.tags.types import CategoryByIdLoader  # noqa: PLC0415

        return None if self.category_pk is None else loader(info.context, CategoryByIdLoader).load(self.category_pk)


@strawberry.type(description="Points for a kind when no rule of the account says otherwise.")
class DefaultPoints:
    kind: InteractionKind  # type: ignore[valid-type]
    points: float


@strawberry.type(
    description="How interactions become interest scores: a tag reached gets the kind's points (its category's "
    "rule, else the kind's rule, else the default); its parent gets parentShare of them, the grandparent "
    "parentShare², and so on; every point halves in worth every halfLifeDays."
)
class ScoringRules:
    half_life_days: float
    parent_share: float
    rules: list[ScoringRule]

    @strawberry.field
    def defaults(self) -> list[DefaultPoints]:
        return [DefaultPoints(kind=InteractionKind(k), points=p) for k, p in scoring.DEFAULT_POINTS.items()]


def rules_of(found: scoring.ScoringRules) -> ScoringRules:
    return ScoringRules(
        half_life_days=found.half_life_days,
        parent_share=found.parent_share,
        rules=[
            ScoringRule(kind=InteractionKind(r.kind), points=r.points, category_pk=r.tag_category_id)
            for r in found.rules
        ],
    )


@strawberry.input
class ScoringRuleInput:
    kind: InteractionKind  # type: ignore[valid-type]
    points: float = strawberry.field(description="0 to 1000.")
    tag_category_id: strawberry.ID | None = None


@strawberry.input(description="Replaces all of the account's rules (kinds left out take the defaults).")
class SetScoringRulesInput:
    half_life_days: float = strawberry.field(description="1 to 3650.")
    parent_share: float = strawberry.field(description="0 to 1.")
    rules: list[ScoringRuleInput] = strawberry.field(description=f"At most {scoring.MAX_RULES}.")


@strawberry.type
class ScoringRulesSet:
    rules: ScoringRules
    job: Job = strawberry.field(description="Scores every person again with the new rules (follow jobProgress).")


SetScoringRulesPayload, SetScoringRulesError, SetScoringRulesFailure = mutation_payload(
    "SetScoringRules", ScoringRulesSet
)


@strawberry.input(description="A visit to a page about a production or a tag.")
class VisitInput:
    person_id: strawberry.ID
    key: str = strawberry.field(description="Your id for this visit: sent again, it counts once (≤ 200 characters).")
    occurred_at: datetime = strawberry.field(description="In the last five years, with a time zone.")
    production_id: strawberry.ID | None = None
    tag_id: strawberry.ID | None = None
    url: str | None = None


@strawberry.input
class RecordVisitsInput:
    visits: list[VisitInput] = strawberry.field(description=f"1 to {interactions.MAX_VISITS}.")


@strawberry.type
class VisitsRecorded:
    recorded: int
    duplicates: int = strawberry.field(description="Visits already recorded under the same key (counted once).")


RecordVisitsPayload, RecordVisitsError, RecordVisitsFailure = mutation_payload("RecordVisits", VisitsRecorded)


@strawberry.type(description="Why a production is tipped: a tag of the person's interests, or its popularity.")
class TipReason:
    contribution: float = strawberry.field(
        description="What this reason added to the tip's score: for a tag, the person's share of interest in it "
        "times this production's share of the tag's sales; for popular, a tenth of its share of all sales."
    )
    popular: bool = strawberry.field(description="The part that comes from how well it sells, not from interests.")
    tag_pk: strawberry.Private[int | None]

    @strawberry.field(description="Null for popular, or when the viewer may not see the tag.")
    def tag(self, info: Info) -> Annotated[Tag, strawberry.lazy("graph.tags.types")] | None:
        from graph.catalog.types import visible_tags  # noqa: PLC0415

        return None if self.tag_pk is None else visible_tags(info.context).get(self.tag_pk)


@strawberry.type(description="A production on sale that the person holds no ticket for, suggested to them.")
class Tip:
    score: float = strawberry.field(
        description="The chance-like weight of this production as the person's next purchase (0 to 1, the sum of "
        "the reasons)."
    )
    popularity: int = strawberry.field(description="Tickets sold for it in the last 30 days.")
    reasons: list[TipReason]
    production_pk: strawberry.Private[int]

    @strawberry.field
    def production(self, info: Info) -> Annotated[Production, strawberry.lazy("graph.catalog.types")]:
        from graph.catalog.loaders import ProductionByIdLoader  # noqa: PLC0415
        from graph.core.loaders import loader  # noqa: PLC0415

        return loader(info.context, ProductionByIdLoader).load(self.production_pk)  # type: ignore[return-value]


def tip_of(found: tips.Tip) -> Tip:
    return Tip(
        score=found.score,
        popularity=found.popularity,
        production_pk=found.production_id,
        reasons=[
            TipReason(contribution=r.contribution, popular=r.tag_id is None, tag_pk=r.tag_id) for r in found.reasons
        ],
    )


@strawberry.type(description="One of a member's personal picks, as a picks action stored it.")
class PersonalPick:
    place: int = strawberry.field(description="1 is the best.")
    score: float
    reasons: list[TipReason]
    production_pk: strawberry.Private[int]

    @strawberry.field(description="Null when the production was deleted meanwhile.")
    def production(self, info: Info) -> Annotated[Production, strawberry.lazy("graph.catalog.types")] | None:
        from graph.catalog.loaders import ProductionByIdLoader  # noqa: PLC0415
        from graph.core.loaders import loader  # noqa: PLC0415

        return loader(info.context, ProductionByIdLoader).load(self.production_pk)  # type: ignore[return-value]


def personal_pick_of(found: picks.StoredPick) -> PersonalPick:
    return PersonalPick(
        place=found.place,
        score=found.score,
        production_pk=found.production_id,
        reasons=[TipReason(contribution=c, popular=t is None, tag_pk=t) for t, c in found.reasons],
    )


@strawberry.input(description="Compute personal picks for every member of a segment (a job).")
class ComputePersonalPicksInput:
    segment_id: strawberry.ID
    first: int = strawberry.field(default=picks.DEFAULT_PICKS, description=f"Picks per member, 1 to {picks.MAX_PICKS}.")
    mode: SegmentModeInput | None = strawberry.field(
        default=None, description="For an event or a production: its ticket holders are left out."
    )


ComputePersonalPicksPayload, ComputePersonalPicksError, ComputePersonalPicksFailure = mutation_payload(
    "ComputePersonalPicks", SegmentActionStarted
)


@strawberry.type
class RecommendationQuery:
    @strawberry.field(
        permission_classes=[CanReadPeople],
        description=f"Tips for one person, best first: upcoming productions on sale they hold no ticket for, scored "
        f"by where the person's interests make their next purchase likely (an interest in a tag, then the productions "
        f"with it by their sales), a tenth by sales alone: a person without interests gets the best sellers. "
        f"Reasons say what each tag and popularity added. At most {tips.MAX_TIPS} (default 10). "
        "Module recommendations.",
    )
    def tips(self, info: Info, person_id: strawberry.ID, first: int = 10) -> list[Tip]:
        ctx = info.context
        from graph.catalog.loaders import ProductionByIdLoader  # noqa: PLC0415
        from graph.core.loaders import loader  # noqa: PLC0415

        person = pk_of(person_id, "Person", "person_id")
        found = tips.tips_for_person(ctx.session, ctx.viewer.account_id, person, first=first)
        loader(ctx, ProductionByIdLoader).want([t.production_id for t in found])  # one statement for all
        return [tip_of(t) for t in found]

    @strawberry.field(permission_classes=[IsStaff], description="The account's scoring rules (module recommendations).")
    def scoring_rules(self, info: Info) -> ScoringRules:
        ctx = info.context
        scoring.require_module(ctx.session, ctx.viewer.account_id)
        return rules_of(scoring.scoring_rules(ctx.session, ctx.viewer.account_id))


@strawberry.type
class RecommendationMutation:
    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Replace the scoring rules and start scoring every person again (module recommendations).",
    )
    def set_scoring_rules(self, info: Info, input: SetScoringRulesInput) -> SetScoringRulesPayload | None:
        ctx, viewer = info.context, info.context.viewer

        def action():
            rules = [
                scoring.ScoringRuleInput(
                    kind=r.kind.value,
                    points=r.points,
                    tag_category_id=optional_pk(r.tag_category_id, "TagCategory", "rules", str(i), "tag_category_id"),
                )
                for i, r in enumerate(input.rules[: scoring.MAX_RULES + 1])
            ]
            changed, job = scoring.change_scoring_rules(
                ctx.session,
                viewer.account_id,
                half_life_days=input.half_life_days,
                parent_share=input.parent_share,
                rules=rules,
                requested_by=viewer.staff_user_id,
            )
            return ScoringRulesSet(rules=rules_of(changed), job=job)

        return run_mutation(info, action, SetScoringRulesError, SetScoringRulesFailure)

    @strawberry.mutation(
        permission_classes=[CanEdit],
        description="Compute each member's personal picks (their tips, as when the job starts) and keep them: an "
        "offer e-mail naming this action (picksActionId) shows every person their own. Follow the action's job; "
        "read one member's with personalPicks. Module recommendations.",
    )
    def compute_personal_picks(
        self, info: Info, input: ComputePersonalPicksInput
    ) -> ComputePersonalPicksPayload | None:
        ctx, viewer = info.context, info.context.viewer

        def action():
            target = Target(segment_id=reference_pk(input.segment_id, "Segment"), mode=mode_of(input.mode))
            started = picks.start_picks(
                ctx.session, viewer.account_id, target, first=input.first, created_by=viewer.staff_user_id
            )
            return SegmentActionStarted(action=started)  # type: ignore[arg-type]

        return run_mutation(info, action, ComputePersonalPicksError, ComputePersonalPicksFailure)

    @strawberry.mutation(
        permission_classes=[CanRecordVisits],
        description="Record web page visits; the visitors' interest scores follow at once (module recommendations).",
    )
    def record_visits(self, info: Info, input: RecordVisitsInput) -> RecordVisitsPayload | None:
        ctx, viewer = info.context, info.context.viewer

        def action():
            visits = [
                interactions.Visit(
                    person_id=pk_of(v.person_id, "Person", "visits", str(i), "person_id"),
                    key=v.key,
                    occurred_at=v.occurred_at,
                    production_id=optional_pk(v.production_id, "Production", "visits", str(i), "production_id"),
                    tag_id=optional_pk(v.tag_id, "Tag", "visits", str(i), "tag_id"),
                    url=v.url,
                )
                for i, v in enumerate(input.visits[: interactions.MAX_VISITS + 1])
            ]
            done = interactions.record_visits(ctx.session, viewer.account_id, visits)
            return VisitsRecorded(recorded=done.recorded, duplicates=done.duplicates)

        return run_mutation(info, action, RecordVisitsError, RecordVisitsFailure)
