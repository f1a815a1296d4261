"""Segment queries and mutations."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from domain.audience.live import CountReport
from domain.people.service import PersonSort as DomainPersonSort
from domain.segments import service as segments
from domain.segments.models import Segment as SegmentRow
from graph.context import Info
from graph.core.errors import mutation_payload, run_mutation
from graph.core.ids import from_global_id, pk_of, to_global_id
from graph.core.node import Node
from graph.core.pagination import FIRST_DESCRIPTION, Edge, PageInfo, edges, page_info
from graph.core.permissions import CanEdit, IsStaff
from graph.people.loaders import announce_persons
from graph.people.schema import PersonSort, SortDirection
from graph.people.types import PersonConnection
from domain.changes import UNSET
from graph.core.inputs import reference_pk
from graph.segments.inputs import RuleInput, ScopeInput, SegmentModeInput, mode_of, optional_domain


@strawberry.type(description="Whether the person meets one node of the rules.")
class RuleExplanation:
    kind: str = strawberry.field(description="all, any, not, or the condition's kind (tag, purchase, …).")
    matched: bool
    description: str = strawberry.field(
        description="The node in words, e.g. \"has the tag 'Jazz', chosen by the person\"."
    )
    condition: JSON | None = strawberry.field(description="A condition as stored (see Segment.rules); null for groups.")
    children: list[RuleExplanation]


@strawberry.type
class SegmentLevelExplanation:
    segment_id: strawberry.ID
    name: str
    member: bool
    scope_set: bool
    holds_in_scope_ticket: bool = strawberry.field(description="With a scope, members need an in-scope ticket.")
    rules: RuleExplanation


@strawberry.type(description="Why a person is (not) in a segment: the segment and each parent, node by node.")
class SegmentExplanation:
    member: bool
    levels: list[SegmentLevelExplanation]


@strawberry.enum(description="What answered a count.")
class CountBackend(enum.Enum):
    INDEX = "index"
    SQL = "sql"


@strawberry.type(description="A count and how it was reached (staff see why a count took the time it took).")
class LiveCount:
    count: int
    backend: CountBackend = strawberry.field(
        description="INDEX: the account's audience index, caught up with every committed change first; "
        "SQL: the compiled statement (small accounts, an index still building, a large backlog of changes)."
    )
    reason: str | None = strawberry.field(description="Why the index did not answer, when SQL did.")
    catch_up_ms: float = strawberry.field(description="Time spent reading the changes since the index was built.")
    evaluation_ms: float = strawberry.field(description="Time spent evaluating the rules (SQL: the whole count).")
    changed_persons: int = strawberry.field(description="Persons read again by the catch-up.")

    @classmethod
    def of(cls, count: int, report: CountReport) -> LiveCount:
        return cls(
            count=count,
            backend=CountBackend(report.backend),
            reason=report.reason or None,
            catch_up_ms=round(report.catch_up_ms, 3),
            evaluation_ms=round(report.evaluate_ms, 3),
            changed_persons=report.changed_persons,
        )


def _explanation(node) -> RuleExplanation:
    return RuleExplanation(
        kind=node.kind,
        matched=node.matched,
        description=node.description,
        condition=node.condition,
        children=[_explanation(c) for c in node.children],
    )


@strawberry.type(description="A saved dynamic filter over the account's persons.")
class Segment(Node):
    name: str
    description: str
    rules: JSON = strawberry.field(description="The stored rule document (see rulesVersion).")
    rules_version: int
    scope: JSON | None
    created_at: datetime
    updated_at: datetime

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Segment", self.id))

    @strawberry.field
    def parent(self, info: Info) -> Segment | None:
        if self.parent_id is None:
            return None
        return segments.get_segment(info.context.session, info.context.viewer.account_id, self.parent_id)

    @strawberry.field(description="Members now, optionally for an event or production.")
    def count(self, info: Info, mode: SegmentModeInput | None = None) -> int:
        ctx = info.context
        return segments.count_segment(ctx.session, ctx.viewer.account_id, self.id, mode=mode_of(mode))

    @strawberry.field(description="Members now, with how the count was reached.")
    def live_count(self, info: Info, mode: SegmentModeInput | None = None) -> LiveCount:
        ctx = info.context
        return LiveCount.of(
            *segments.count_segment_with_report(ctx.session, ctx.viewer.account_id, self.id, mode=mode_of(mode))
        )

    @strawberry.field(description="Members, sortable. " + FIRST_DESCRIPTION)
    def members(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        sort: PersonSort | None = None,
        mode: SegmentModeInput | None = None,
    ) -> PersonConnection:
        ctx = info.context
        account_id = ctx.viewer.account_id
        sort = sort or PersonSort()
        segment_mode = mode_of(mode)
        page = segments.list_members(
            ctx.session,
            account_id,
            self.id,
            mode=segment_mode,
            sort=DomainPersonSort(sort.field.value),
            descending=sort.direction is SortDirection.DESC,
            first=first,
            after=after,
        )
        announce_persons(ctx, [p.id for p in page.items])
        segment_id = self.id
        return PersonConnection(
            edges=edges(page),
            page_info=page_info(page),
            _count=lambda: segments.count_segment(ctx.session, account_id, segment_id, mode=segment_mode),
        )

    @strawberry.field(description="Whether one person is a member now.")
    def contains(self, info: Info, person_id: strawberry.ID) -> bool:
        decoded = from_global_id(person_id, "Person")
        if decoded is None:
            return False
        return segments.is_member(info.context.session, info.context.viewer.account_id, self.id, decoded[1])

    @strawberry.field(description="Which conditions a person meets and which they miss.")
    def explain(self, info: Info, person_id: strawberry.ID) -> SegmentExplanation | None:
        decoded = from_global_id(person_id, "Person")
        if decoded is None:
            return None
        result = segments.explain(info.context.session, info.context.viewer.account_id, self.id, decoded[1])
        return SegmentExplanation(
            member=result["member"],
            levels=[
                SegmentLevelExplanation(
                    segment_id=strawberry.ID(to_global_id("Segment", level["segment_id"])),
                    name=level["name"],
                    member=level["member"],
                    scope_set=level["scope_set"],
                    holds_in_scope_ticket=level["holds_in_scope_ticket"],
                    rules=_explanation(level["rules"]),
                )
                for level in result["levels"]
            ],
        )

    @classmethod
    def is_type_of(cls, obj, info) -> bool:
        return isinstance(obj, (SegmentRow, cls))


@strawberry.type
class SegmentConnection:
    edges: list[Edge[Segment]]
    page_info: PageInfo


@strawberry.input(description="Rules not saved yet, for the editor's live count.")
class SegmentCountInput:
    rules: RuleInput
    scope: ScopeInput | None = None
    parent_id: strawberry.ID | None = strawberry.field(default=None, description="Count within this parent.")
    mode: SegmentModeInput | None = None


@strawberry.type
class SegmentQuery:
    @strawberry.field(permission_classes=[IsStaff], description="Segments by name. " + FIRST_DESCRIPTION)
    def segments(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        parent_id: strawberry.ID | None = None,
        roots_only: bool = False,
        search: str | None = None,
    ) -> SegmentConnection:
        ctx = info.context
        parent = None
        if parent_id is not None:
            decoded = from_global_id(parent_id, "Segment")
            parent = decoded[1] if decoded else -1
        page = segments.list_segments(
            ctx.session,
            ctx.viewer.account_id,
            parent_id=parent,
            roots_only=roots_only,
            search=search,
            first=first,
            after=after,
        )
        return SegmentConnection(edges=edges(page), page_info=page_info(page))

    @strawberry.field(permission_classes=[IsStaff])
    def segment(self, info: Info, id: strawberry.ID) -> Segment | None:
        decoded = from_global_id(id, "Segment")
        if decoded is None:
            return None
        return segments.get_segment(info.context.session, info.context.viewer.account_id, decoded[1])

    @strawberry.field(
        permission_classes=[IsStaff],
        description="Live count for rules that are not saved yet (call it after every change).",
    )
    def segment_count(self, info: Info, input: SegmentCountInput) -> int:
        return _live_count(info, input).count

    @strawberry.field(
        permission_classes=[IsStaff],
        description="segmentCount with how it was reached: the back end, why not the index, catch-up and "
        "evaluation time.",
    )
    def segment_live_count(self, info: Info, input: SegmentCountInput) -> LiveCount:
        return _live_count(info, input)


def _live_count(info: Info, input: SegmentCountInput) -> LiveCount:
    ctx = info.context
    parent = None if input.parent_id is None else reference_pk(input.parent_id, "Segment")
    return LiveCount.of(
        *segments.count_matching_with_report(
            ctx.session,
            ctx.viewer.account_id,
            rules=input.rules.to_domain(),
            scope=optional_domain(input.scope),
            parent_id=parent,
            mode=mode_of(input.mode),
        )
    )


@strawberry.input
class CreateSegmentInput:
    name: str
    description: str = ""
    parent_id: strawberry.ID | None = None
    rules: RuleInput
    scope: ScopeInput | None = None


@strawberry.input(
    description="Only the fields given change; scope null removes the scope, parentId null makes it a root segment."
)
class UpdateSegmentInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    parent_id: strawberry.ID | None = strawberry.UNSET
    rules: RuleInput | None = strawberry.UNSET
    scope: ScopeInput | None = strawberry.UNSET


@strawberry.input
class DeleteSegmentInput:
    id: strawberry.ID


@strawberry.type
class SegmentSuccess:
    segment: Segment


@strawberry.type
class DeleteSegmentSuccess:
    deleted_id: strawberry.ID


CreateSegmentPayload, CreateSegmentError, CreateSegmentFailure = mutation_payload("CreateSegment", SegmentSuccess)
UpdateSegmentPayload, UpdateSegmentError, UpdateSegmentFailure = mutation_payload("UpdateSegment", SegmentSuccess)
DeleteSegmentPayload, DeleteSegmentError, DeleteSegmentFailure = mutation_payload("DeleteSegment", DeleteSegmentSuccess)


@strawberry.type
class SegmentMutation:
    @strawberry.mutation(permission_classes=[CanEdit])
    def create_segment(self, info: Info, input: CreateSegmentInput) -> CreateSegmentPayload | None:
        ctx = info.context

        def action():
            return SegmentSuccess(
                segment=segments.create_segment(
                    ctx.session,
                    ctx.viewer.account_id,
                    name=input.name,
                    description=input.description,
                    rules=input.rules.to_domain(),
                    scope=optional_domain(input.scope),
                    parent_id=None if input.parent_id is None else reference_pk(input.parent_id, "Segment"),
                )
            )

        return run_mutation(info, action, CreateSegmentError, CreateSegmentFailure)

    @strawberry.mutation(permission_classes=[CanEdit])
    def update_segment(self, info: Info, input: UpdateSegmentInput) -> UpdateSegmentPayload | None:
        ctx = info.context

        def action():
            parent = (
                input.parent_id
                if input.parent_id in (strawberry.UNSET, None)
                else reference_pk(input.parent_id, "Segment")
            )
            changes = segments.SegmentChanges(
                name=_given(input.name),
                description=_given(input.description),
                parent_id=UNSET if parent is strawberry.UNSET else parent,
                rules=UNSET if input.rules in (strawberry.UNSET, None) else input.rules.to_domain(),
                scope=UNSET if input.scope is strawberry.UNSET else optional_domain(input.scope),
            )
            return SegmentSuccess(
                segment=segments.update_segment(
                    ctx.session, ctx.viewer.account_id, pk_of(input.id, "Segment", "id"), changes
                )
            )

        return run_mutation(info, action, UpdateSegmentError, UpdateSegmentFailure)

    @strawberry.mutation(permission_classes=[CanEdit], description="Delete a segment; persons are never touched.")
    def delete_segment(self, info: Info, input: DeleteSegmentInput) -> DeleteSegmentPayload | None:
        ctx = info.context

        def action():
            segments.delete_segment(ctx.session, ctx.viewer.account_id, pk_of(input.id, "Segment", "id"))
            return DeleteSegmentSuccess(deleted_id=input.id)

        return run_mutation(info, action, DeleteSegmentError, DeleteSegmentFailure)


def _given(value):
    """An optional input field as a change: UNSET when left out, else its value."""
    return UNSET if value is strawberry.UNSET else value
