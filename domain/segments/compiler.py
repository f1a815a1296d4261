"""Compile a rule tree (with its event scope, parents and mode) into ONE SQL statement.

The statement selects the ids of the account's matching persons: ``SELECT p.id FROM person p
WHERE p.account_id = :a AND <predicate>``. Every condition becomes a predicate on the person row
that may be NULL only where NULL can only mean "no": under a NOT column tests are coalesced to
false (see ``_test``, ``_strict``, ``_assuring``), so ``not`` is the exact complement; set
conditions are ``p.id IN (subquery)``, which PostgreSQL runs as a semi-join or a hashed sub-plan.
Purchase conditions read columns of figure sources joined one row per person:
``person_stats`` (unscoped) or an aggregate of ``ticket_fact`` over the scope's events (one per
distinct scope; the segment's own scope is an inner join, since members must hold an in-scope
ticket). Parents and segment references are inlined as predicates on the same row. Nothing is
evaluated in Python.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Date,
    DateTime,
    Float,
    Numeric,
    and_,
    case,
    cast,
    extract,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import TEXT
from sqlalchemy.sql import ColumnElement, Select

from domain.catalog.facts import PersonSeasonStats, PersonStats, TicketFact
from domain.catalog.models import Event, Production, Subscription
from domain.errors import ErrorCode, InputError
from domain.forms.models import FormSubmission
from domain.people.models import Person, PersonConsent
from domain.recommendations.models import InterestScore
from domain.segments import rules as r
from domain.tags.models import PersonTag, ProductionTag

EARTH_RADIUS_KM = 6371.0
# Columns of the Core tables: expressions built on them skip the ORM's attribute layer.
PERSON_TAG = PersonTag.__table__.c
PERSON_CONSENT = PersonConsent.__table__.c
FORM_SUBMISSION = FormSubmission.__table__.c
SUBSCRIPTION = Subscription.__table__.c
EVENT = Event.__table__.c
PRODUCTION = Production.__table__.c
PRODUCTION_TAG = ProductionTag.__table__.c
INTEREST_SCORE = InterestScore.__table__.c


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The instant a local calendar day starts (DST-safe)."""
    return datetime.combine(day, time(0), tzinfo=tz)


def latest_birth_date_for_age(today: date, years: int) -> date:
    """The latest birth date of someone at least ``years`` old today (29 February counts on 1 March)."""
    year = today.year - years
    try:
        return today.replace(year=year)
    except ValueError:  # today is 29 February and that year is common: a 28 February birthday counts
        return date(year, 2, 28)


@dataclass
class SegmentDefinition:
    id: int
    parent_id: int | None
    rule: r.Node
    scope: r.Scope


@dataclass(frozen=True)
class Ctx:
    """Where a node is compiled, passed down the tree (as SQLAlchemy's compiler passes ``**kw``).

    ``scope``: the event scope the node's purchase conditions count in. ``odd``: under an odd number
    of NOTs, so predicates must be two-valued. ``assured``: scopes whose figure row every candidate
    here has (see ``Compiler.assuring``). ``conjunctive``: a conjunct of the WHERE clause itself
    (no OR, no NOT above)."""

    scope: r.Scope
    odd: bool = False
    assured: frozenset = frozenset()
    conjunctive: bool = False

    def flipped(self) -> Ctx:
        """For what sits under one more NOT."""
        return replace(self, odd=not self.odd, conjunctive=False)

    def disjunct(self) -> Ctx:
        return replace(self, conjunctive=False)

    def assuring(self, scope: r.Scope) -> Ctx:
        """For what is AND-ed with a test that is false for persons without a ticket in ``scope``
        (an in-scope ticket test, or a sibling condition that demands a ticket): there a figure of
        the scope may stay NULL even under a NOT, since that test already decides those persons —
        and a bare figure test gets far better row estimates than coalesce()."""
        return replace(self, assured=self.assured | {scope})

    def within(self, scope: r.Scope) -> Ctx:
        """For another segment's rules, inlined here: its own scope (what is assured here stays
        assured: it holds for every figure test of an assured scope, whoever wrote it)."""
        return replace(self, scope=scope)


MAX_COMPILED_SIZE = 20_000  # conditions and listed values over the rules and every segment they use


class SegmentsTooLarge(InputError):
    pass


@dataclass
class Compilation:
    """What the compilers of one statement share: the segments read, how often each is used,
    the CTE of each segment used more than once, and the size spent."""

    load_segment: Callable[[int], SegmentDefinition | None]
    segments: dict = field(default_factory=dict)
    uses: Counter = field(default_factory=Counter)
    ctes: dict = field(default_factory=dict)
    visiting: list = field(default_factory=list)
    size: int = 0

    def segment(self, segment_id: int) -> SegmentDefinition | None:
        """A saved segment's definition, read once per compilation."""
        if segment_id not in self.segments:
            self.segments[segment_id] = self.load_segment(segment_id)
        return self.segments[segment_id]

    def plan(self, rules: list[r.Node], segment_ids: list[int]) -> None:
        """Count how often each segment is used (by a reference or as a parent) across the rules and
        every segment reached, each segment's own rules counted once: a segment used once is
        inlined where it is used, one used more often is compiled once as a CTE."""
        seen: set[int] = set()
        pending: list[int] = []

        def use(target: int) -> None:
            self.uses[target] += 1
            if target not in seen:
                seen.add(target)
                pending.append(target)

        for rule in rules:
            for node in r.walk(rule):
                if isinstance(node, r.SegmentCond):
                    use(node.segment_id)
        for segment_id in segment_ids:
            use(segment_id)
        while pending:
            definition = self.segment(pending.pop())
            if definition is None:
                continue
            self.spend(sum(1 for _ in r.walk(definition.rule)))
            for node in r.walk(definition.rule):
                if isinstance(node, r.SegmentCond):
                    use(node.segment_id)
            if definition.parent_id is not None:
                use(definition.parent_id)

    def spend(self, units: int) -> None:
        self.size += units
        if self.size > MAX_COMPILED_SIZE:
            raise SegmentsTooLarge.single(
                ErrorCode.OUT_OF_RANGE,
                f"the rules and the segments they use come to more than "
                f"{MAX_COMPILED_SIZE} conditions and values; simplify them",
                "rules",
            )


@dataclass
class Compiler:
    """Compiles one statement for one account at one moment. ``load_segment`` returns a saved
    segment's definition (or None); ``tag_descendants`` returns a tag with all its subtags.
    ``every_figure`` (explanations): figure sources compute every figure in one pass.
    ``half_life_days``: the account's, to decay interest scores to ``now``."""

    account_id: int
    timezone: str
    now: datetime
    load_segment: Callable[[int], SegmentDefinition | None]
    tag_descendants: Callable[[int], set[int]]
    venue_point: Callable[[int], tuple[float, float] | None]
    every_figure: bool = False
    half_life_days: float = 180.0
    compilation: Compilation | None = None
    _figures: dict = field(default_factory=dict)  # (scope, kind) -> (figure source, joined inner)
    _needs: dict = field(default_factory=dict)  # scope -> figures the rules read
    _scope_events: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.tz = ZoneInfo(self.timezone)
        self.today = self.now.astimezone(self.tz).date()
        self.p = Person.__table__.alias("p")
        if self.compilation is None:
            self.compilation = Compilation(self.load_segment)

    def _child(self) -> Compiler:
        """A compiler for another statement of the same compilation (a segment's CTE)."""
        return Compiler(
            account_id=self.account_id,
            timezone=self.timezone,
            now=self.now,
            load_segment=self.load_segment,
            tag_descendants=self.tag_descendants,
            venue_point=self.venue_point,
            every_figure=self.every_figure,
            half_life_days=self.half_life_days,
            compilation=self.compilation,
        )

    # ------------------------------------------------------------------ entry points
    def members(
        self, rule: r.Node, scope: r.Scope, parent_id: int | None = None, mode: tuple[str, int] | None = None
    ) -> Select:
        """``SELECT p.id FROM person p [JOIN figures …] WHERE …`` for unsaved rules (live counts)."""
        self.compilation.plan([rule], [parent_id] if parent_id is not None else [])
        self._collect_needs(rule, scope)
        if parent_id is not None:
            self._collect_segment_needs(parent_id)
        ctx = Ctx(scope, conjunctive=True)
        predicate = self.definition_predicate(rule, ctx, primary=True)
        if parent_id is not None:
            predicate = and_(predicate, self.membership(parent_id, ctx))
        return self.statement(predicate, mode)

    def segment_members(self, segment_id: int, mode: tuple[str, int] | None = None) -> Select:
        """The members of a saved segment (its rules, scope and parents), minus the mode."""
        self.compilation.plan([], [segment_id])
        return self._segment_statement(segment_id, mode)

    def _segment_statement(self, segment_id: int, mode: tuple[str, int] | None = None) -> Select:
        self._collect_segment_needs(segment_id)
        definition = self._definition(segment_id)
        return self.statement(
            self.inline_segment(segment_id, Ctx(definition.scope, conjunctive=True), primary=True), mode
        )

    def explanation(self, chain: list[SegmentDefinition], person_id: int) -> tuple[Select, list]:
        """One statement computing, for one person, whether they meet each node of each segment of
        ``chain`` (a segment and its parents) and whether they hold an in-scope ticket. Returns the
        statement and, per segment, (tree, scope column): a tree is (column, [child trees])."""
        self.every_figure = True  # one pass, with every figure available
        self.compilation.plan([d.rule for d in chain], [])
        for definition in chain:
            self._collect_needs(definition.rule, definition.scope)
        columns: list = []

        def collect(node: r.Node, ctx: Ctx) -> tuple[int, list]:
            index = len(columns)
            columns.append(self.node(node, ctx))
            children = []
            if isinstance(node, (r.All, r.Any_)):
                children = [collect(c, ctx) for c in node.children]
            elif isinstance(node, r.Not):
                children = [collect(node.child, ctx)]
            return index, children

        # Each node is a column of its own, read as true or not: a NULL reads as "not met".
        plans = []
        for definition in chain:
            tree = collect(definition.rule, Ctx(definition.scope))
            scope_index = None
            if definition.scope.is_set:
                scope_index = len(columns)
                columns.append(self.figures(definition.scope).c.person_id.isnot(None))
            plans.append((tree, scope_index))
        p = self.p
        statement = (
            select(*[c.label(f"c{i}") for i, c in enumerate(columns)])
            .select_from(self.from_clause())
            .where(p.c.account_id == self.account_id, p.c.id == person_id)
        )
        return statement, plans

    def statement(self, predicate: ColumnElement, mode: tuple[str, int] | None = None) -> Select:
        if mode is not None:
            predicate = and_(predicate, not_(self.p.c.id.in_(self.mode_holders(mode))))
        return (
            select(self.p.c.id)
            .select_from(self.from_clause())
            .where(self.p.c.account_id == self.account_id, self.p.c.erased_at.is_(None), predicate)
        )

    def from_clause(self):
        """The person table joined to every figure source the predicates used: the primary
        scope's figures by an inner join (members must hold an in-scope ticket), others left."""
        joined = self.p
        for source, inner in self._figures.values():
            condition = source.c.person_id == self.p.c.id
            if "account_id" in source.c:
                condition = and_(source.c.account_id == self.p.c.account_id, condition)
            joined = joined.join(source, condition, isouter=not inner)
        return joined

    # ------------------------------------------------------------------ needs
    def _collect_needs(self, node: r.Node, scope: r.Scope) -> None:
        """Learn which purchase figures each scope's rules use (distinct order counts are costly,
        so figure sources compute them only when asked), following segments inlined here."""
        for part in r.walk(node):
            if isinstance(part, r.PurchaseCond):
                self._needs.setdefault(scope, set()).add(part.metric)
            elif isinstance(part, r.ChannelCond):
                self._needs.setdefault(scope, set()).update(("has_online", "has_box_office"))
            elif isinstance(part, r.LastPurchaseCond):
                self._needs.setdefault(scope, set()).add("last_order_date")
            elif isinstance(part, r.SegmentCond) and self._inlined(part.segment_id):
                self._collect_segment_needs(part.segment_id)

    def _collect_segment_needs(self, segment_id: int) -> None:
        definition = self.compilation.segment(segment_id)
        if definition is None or segment_id in self.compilation.visiting:  # reported while building
            return
        self.compilation.visiting.append(segment_id)
        try:
            self._collect_needs(definition.rule, definition.scope)
            if definition.parent_id is not None and self._inlined(definition.parent_id):
                self._collect_segment_needs(definition.parent_id)
        finally:
            self.compilation.visiting.pop()

    # ------------------------------------------------------------------ definitions and segments
    def definition_predicate(self, rule: r.Node, ctx: Ctx, *, primary: bool = False) -> ColumnElement:
        # With a scope, members hold an in-scope ticket whatever the rules say — unless the
        # rules already demand one (a purchase figure above zero, a channel, a recent purchase).
        scope = ctx.scope
        if not scope.is_set or requires_scope_ticket(rule):
            return self.node(rule, ctx)
        predicate = self.node(rule, ctx.assuring(scope))  # the in-scope ticket test below is two-valued
        if (scope, "base") in self._figures:  # the rules read figures: join them
            figures = self.figures(scope, inner=primary)
            if not self._figures[(scope, "base")][1]:
                predicate = and_(predicate, figures.c.person_id.isnot(None))
        else:  # nothing to aggregate: a semi-join on the in-scope buyers is enough
            predicate = and_(predicate, self._in(self._scope_buyers(scope)))
        return predicate

    def _definition(self, segment_id: int) -> SegmentDefinition:
        definition = self.compilation.segment(segment_id)
        if definition is None:
            raise InputError.single(ErrorCode.NOT_FOUND, "segment not found", "rules")
        return definition

    def _inlined(self, segment_id: int) -> bool:
        return self.compilation.uses[segment_id] <= 1

    def membership(self, segment_id: int, ctx: Ctx) -> ColumnElement:
        """Membership of a saved segment: inlined where it is the segment's only use, else a test
        on its CTE (compiled once however often it is used)."""
        if segment_id in self.compilation.visiting:
            raise InputError.single(ErrorCode.CYCLE, "segments refer to each other in a cycle", "rules")
        if self._inlined(segment_id):
            return self.inline_segment(segment_id, ctx)
        cte = self.compilation.ctes.get(segment_id)
        if cte is None:
            cte = self._child()._segment_statement(segment_id).cte(f"segment_{segment_id}")
            self.compilation.ctes[segment_id] = cte
        return self._in(select(cte.c.id))  # ids are never NULL: two-valued

    def inline_segment(self, segment_id: int, ctx: Ctx, *, primary: bool = False) -> ColumnElement:
        """A saved segment's rules and scope, and its parents', as a predicate on this row."""
        definition = self._definition(segment_id)
        self.compilation.visiting.append(segment_id)
        try:
            predicate = self.definition_predicate(definition.rule, ctx.within(definition.scope), primary=primary)
            if definition.parent_id is not None:
                predicate = and_(predicate, self.membership(definition.parent_id, ctx))
        finally:
            self.compilation.visiting.pop()
        return predicate

    def mode_holders(self, mode: tuple[str, int]) -> Select:
        kind, target = mode
        facts = TicketFact.__table__
        stmt = select(facts.c.person_id).where(facts.c.account_id == self.account_id)
        if kind == "event":
            return stmt.where(facts.c.event_id == target)
        events = select(EVENT.id).where(EVENT.account_id == self.account_id, EVENT.production_id == target)
        return stmt.where(facts.c.event_id.in_(events))

    # ------------------------------------------------------------------ tree
    def node(self, node: r.Node, ctx: Ctx) -> ColumnElement:
        if isinstance(node, r.All):
            provider = next((c for c in node.children if requires_scope_ticket(c)), None)
            parts = []
            for child in node.children:
                if provider is None or child is provider:
                    parts.append(self.node(child, ctx))
                else:
                    parts.append(self.node(child, ctx.assuring(ctx.scope)))
            return and_(true(), *parts)
        if isinstance(node, r.Any_):
            return or_(false(), *[self.node(c, ctx.disjunct()) for c in node.children])
        if isinstance(node, r.Not):
            return not_(self.node(node.child, ctx.flipped()))
        self.compilation.spend(1 + _listed(node))
        return getattr(self, "c_" + type(node).__name__)(node, ctx)

    def _figure_test(self, expression, ctx: Ctx) -> ColumnElement:
        """A test on a purchase figure (NULL without a figure row): see _strict and Ctx.assuring."""
        return expression if ctx.scope in ctx.assured else self._strict(expression, ctx)

    @staticmethod
    def _strict(expression, ctx: Ctx) -> ColumnElement:
        """Where NULL can only mean "no", leave it NULL: in WHERE it acts as false, and a strict
        test on a left-joined figure lets PostgreSQL turn the outer join into an inner one.
        Under an odd number of NOTs it must be false instead, or the complement would be wrong."""
        return func.coalesce(expression, false()) if ctx.odd else expression

    def _test(self, expression, ctx: Ctx, *, negated: bool = False) -> ColumnElement:
        """A test that is NULL for missing values, as a predicate: left NULL where that can only
        mean "no" (so indexes and column statistics apply to the bare comparison), coalesced to
        false where a NOT — the rule's or the operator's own (``neq``, ``not_in`` …) — sits above."""
        if not negated:
            return self._strict(expression, ctx)
        return not_(self._strict(expression, ctx.flipped()))

    def _in(self, ids: Select) -> ColumnElement:
        return self.p.c.id.in_(ids)

    # ------------------------------------------------------------------ person fields
    def _text_test(self, column, op: str, value, ctx: Ctx) -> ColumnElement:
        low = func.lower(column)
        if op in ("is_empty", "is_not_empty"):
            empty = func.coalesce(column, "").regexp_match(r"^\s*$")  # never NULL
            return empty if op == "is_empty" else not_(empty)
        if op in ("in", "not_in"):
            # lower() of each constant, folded by the planner: a plain list keeps the scan
            # parallel-safe, where an unnest() subquery would not be.
            return self._test(low.in_([func.lower(literal(v, TEXT)) for v in value]), ctx, negated=op == "not_in")
        wanted = func.lower(literal(value, TEXT))
        if op in ("eq", "neq"):
            return self._test(low == wanted, ctx, negated=op == "neq")
        # Substring tests as LIKE patterns: the planner estimates them from the column's
        # statistics, and a prefix uses a text_pattern_ops index where there is one.
        if op in ("contains", "not_contains"):
            return self._test(low.like(like_pattern("%", value, "%"), escape="/"), ctx, negated=op == "not_contains")
        if op == "starts_with":
            return self._test(low.like(like_pattern("", value, "%"), escape="/"), ctx)
        if op == "ends_with":
            return self._test(low.like(like_pattern("%", value, ""), escape="/"), ctx)
        raise ValueError(op)

    def c_TextCond(self, c: r.TextCond, ctx: Ctx) -> ColumnElement:
        return self._text_test(self.p.c[c.field], c.operator, c.values if c.values is not None else c.value, ctx)

    def c_GenderCond(self, c: r.GenderCond, ctx: Ctx) -> ColumnElement:
        if "all" in c.values:
            return true()
        return self._test(self.p.c.gender.in_(list(c.values)), ctx)

    def c_AgeCond(self, c: r.AgeCond, ctx: Ctx) -> ColumnElement:
        birth = self.p.c.birth_date
        tests = [birth.isnot(None)]
        if c.min is not None:
            tests.append(birth <= latest_birth_date_for_age(self.today, c.min))
        if c.max is not None:
            tests.append(birth > latest_birth_date_for_age(self.today, c.max + 1))
        return and_(*tests)  # IS NOT NULL first: false, never NULL, for a missing birth date

    def _local_days(self, column, first: date | None, last: date | None) -> ColumnElement:
        """An instant whose local date lies in [first, last] (either end open)."""
        tests = [column.isnot(None)]
        if first is not None:
            tests.append(column >= local_midnight(first, self.tz))
        if last is not None:
            tests.append(column < local_midnight(last + timedelta(days=1), self.tz))
        return and_(*tests)  # false, never NULL, for a missing instant

    def c_AddedOnCond(self, c: r.AddedOnCond, ctx: Ctx) -> ColumnElement:
        """Local dates: after and before are strict, on is that day (SPEC 5.6)."""
        created = self.p.c.created_at
        if c.last_days is not None:
            return self._local_days(created, self.today - timedelta(days=c.last_days), self.today)
        if c.on is not None:
            return self._local_days(created, c.on, c.on)
        return self._local_days(
            created,
            c.after + timedelta(days=1) if c.after else None,
            c.before - timedelta(days=1) if c.before else None,
        )

    def c_CustomFieldCond(self, c: r.CustomFieldCond, ctx: Ctx) -> ColumnElement:
        doc = self.p.c.custom_fields
        raw = doc[c.key]  # jsonb value or NULL when missing
        as_text = doc[c.key].astext  # NULL for missing and JSON null
        if c.operator in ("is_empty", "is_not_empty"):
            if c.kind == "text":
                empty = func.coalesce(as_text, "").regexp_match(r"^\s*$")
            else:
                empty = func.coalesce(func.jsonb_typeof(raw), "null") == "null"
            return empty if c.operator == "is_empty" else not_(empty)  # both never NULL
        if c.kind in ("text", "choice"):
            return (
                self._text_test(as_text, c.operator, c.value, ctx)
                if c.kind == "text"
                else self._choice(as_text, c, ctx)
            )
        if c.kind == "boolean":
            return self._test(raw == cast(literal("true" if c.operator == "is_true" else "false"), raw.type), ctx)
        if c.kind == "number":
            numeric = cast(text_case_number(raw), Numeric)
            tests = {
                "eq": numeric == c.value,
                "neq": numeric == c.value,
                "gt": numeric > c.value,
                "gte": numeric >= c.value,
                "lt": numeric < c.value,
                "lte": numeric <= c.value,
            }
            test = numeric.between(c.value[0], c.value[1]) if c.operator == "between" else tests[c.operator]
            return self._test(test, ctx, negated=c.operator == "neq")
        if c.kind == "date":
            day = cast(text_case_date(as_text), Date)
            if c.operator == "last_days":
                test = day.between(self.today - timedelta(days=c.value), self.today)
            elif c.operator == "between":
                test = day.between(c.value[0], c.value[1])
            else:
                test = {"eq": day == c.value, "neq": day == c.value, "before": day < c.value, "after": day > c.value}[
                    c.operator
                ]
            return self._test(test, ctx, negated=c.operator == "neq")
        raise ValueError(c.kind)

    def _choice(self, as_text, c: r.CustomFieldCond, ctx: Ctx) -> ColumnElement:
        if c.operator in ("in", "not_in"):
            return self._test(as_text.in_(list(c.value)), ctx, negated=c.operator == "not_in")
        return self._test(as_text == c.value, ctx, negated=c.operator != "eq")

    def c_DistanceCond(self, c: r.DistanceCond, ctx: Ctx) -> ColumnElement:
        if c.venue_id is not None:
            point = self.venue_point(c.venue_id)
            if point is None:
                return false()
            lat, lon = point
        else:
            assert c.latitude is not None and c.longitude is not None  # checked when the rules were
            lat, lon = c.latitude, c.longitude
        plat, plon = self.p.c.latitude, self.p.c.longitude
        lat_b, lon_b = literal(lat, Float), literal(lon, Float)
        haversine = (
            2
            * EARTH_RADIUS_KM
            * func.asin(
                func.sqrt(
                    func.power(func.sin((func.radians(plat) - func.radians(lat_b)) / 2), 2)
                    + func.cos(func.radians(plat))
                    * func.cos(func.radians(lat_b))
                    * func.power(func.sin((func.radians(plon) - func.radians(lon_b)) / 2), 2)
                )
            )
        )
        return self._test(haversine <= c.km, ctx)

    # ------------------------------------------------------------------ links
    def c_TagCond(self, c: r.TagCond, ctx: Ctx) -> ColumnElement:
        tag_ids = sorted(self.tag_descendants(c.tag_id)) if c.include_subtags else [c.tag_id]
        links = select(PERSON_TAG.person_id).where(
            PERSON_TAG.account_id == self.account_id, PERSON_TAG.tag_id.in_(tag_ids)
        )
        if c.source is not None:
            links = links.where(PERSON_TAG.source == c.source)
        test = self._in(links)
        return test if c.has else not_(test)

    def c_ConsentCond(self, c: r.ConsentCond, ctx: Ctx) -> ColumnElement:
        test = self._in(
            select(PERSON_CONSENT.person_id).where(
                PERSON_CONSENT.account_id == self.account_id,
                PERSON_CONSENT.consent_type_id == c.consent_type_id,
                PERSON_CONSENT.granted.is_(True),
            )
        )
        return test if c.granted else not_(test)

    def c_FormCond(self, c: r.FormCond, ctx: Ctx) -> ColumnElement:
        subs = select(FORM_SUBMISSION.person_id).where(FORM_SUBMISSION.account_id == self.account_id)
        if c.form_id is not None:
            subs = subs.where(FORM_SUBMISSION.form_id == c.form_id)
        if c.within_days is not None:
            subs = subs.where(
                self._local_days(FORM_SUBMISSION.submitted_at, self.today - timedelta(days=c.within_days), self.today)
            )
        return self._in(subs)

    def c_SubscriptionCond(self, c: r.SubscriptionCond, ctx: Ctx) -> ColumnElement:
        test = self._in(
            select(SUBSCRIPTION.person_id).where(
                SUBSCRIPTION.account_id == self.account_id,
                SUBSCRIPTION.valid_from <= self.today,
                or_(SUBSCRIPTION.valid_until.is_(None), SUBSCRIPTION.valid_until >= self.today),
            )
        )
        return test if c.holder else not_(test)

    def c_InterestCond(self, c: r.InterestCond, ctx: Ctx) -> ColumnElement:
        """The stored score decayed to ``now`` (``domain.recommendations.scoring.decayed``, the same
        floating-point steps); a person without a score on the tag has 0."""
        s = INTEREST_SCORE
        now = literal(self.now, DateTime(timezone=True))
        elapsed = func.greatest(0.0, cast(extract("epoch", now - s.as_of), Float))
        score = s.value * func.power(literal(2.0, Float), -elapsed / literal(self.half_life_days * 86400.0, Float))
        scores = select(s.person_id).where(s.account_id == self.account_id, s.tag_id == c.tag_id)
        if c.min is not None and c.min > 0:  # only persons with a score
            tests = [score >= c.min] + ([score <= c.max] if c.max is not None else [])
            return self._in(scores.where(*tests))
        if c.max is None:  # at least 0: everyone
            return true()
        return not_(self._in(scores.where(score > c.max)))

    def c_SegmentCond(self, c: r.SegmentCond, ctx: Ctx) -> ColumnElement:
        if c.member:
            return self.membership(c.segment_id, ctx)
        return not_(self.membership(c.segment_id, ctx.flipped()))

    # ------------------------------------------------------------------ purchases
    def scope_events(self, scope: r.Scope) -> Select:
        key = scope
        if key in self._scope_events:
            return self._scope_events[key]
        stmt = select(EVENT.id).where(EVENT.account_id == self.account_id)
        if scope.promoters or scope.seasons or scope.genre_tag_ids or scope.label_tag_ids:
            productions = select(PRODUCTION.id).where(PRODUCTION.account_id == self.account_id)
            if scope.promoters:
                productions = productions.where(PRODUCTION.promoter.in_(list(scope.promoters)))
            if scope.seasons:
                productions = productions.where(PRODUCTION.season.in_(list(scope.seasons)))
            for tag_ids in (scope.genre_tag_ids, scope.label_tag_ids):
                if tag_ids:
                    productions = productions.where(
                        PRODUCTION.id.in_(
                            select(PRODUCTION_TAG.production_id).where(
                                PRODUCTION_TAG.account_id == self.account_id, PRODUCTION_TAG.tag_id.in_(list(tag_ids))
                            )
                        )
                    )
            stmt = stmt.where(EVENT.production_id.in_(productions))
        if scope.production_ids:
            stmt = stmt.where(EVENT.production_id.in_(list(scope.production_ids)))
        if scope.event_ids:
            stmt = stmt.where(EVENT.id.in_(list(scope.event_ids)))
        if scope.days_back is not None:
            since = local_midnight(self.today - timedelta(days=scope.days_back), self.tz)
            stmt = stmt.where(or_(EVENT.starts_at > self.now, EVENT.starts_at >= since))
        self._scope_events[key] = stmt
        return stmt

    def figure(self, scope: r.Scope, name: str) -> ColumnElement:
        """One purchase figure of a person (NULL for persons without counted tickets)."""
        separate = name == "events" and scope.is_set and not self._by_season(scope)
        return self.figures(scope, kind="events" if separate else "base").c[name]

    def _by_season(self, scope: r.Scope) -> bool:
        """Whether the figures can come from the per-season figures: the scope names seasons and
        nothing else, and with several seasons the rules do not count orders (an order may hold
        tickets of two seasons; every other figure adds up)."""
        if not scope.seasons_only:
            return False
        return len(scope.seasons) == 1 or not (self.every_figure or "orders" in self._needs.get(scope, set()))

    def figures(self, scope: r.Scope, *, inner: bool = False, kind: str = "base"):
        """A figure source joined one row per person: ``person_stats`` without a scope, else
        aggregates of the in-scope tickets computing only the figures the rules use."""
        key = (scope, kind)
        if key in self._figures:
            source, was_inner = self._figures[key]
            if inner and not was_inner:
                self._figures[key] = (source, True)
            return source
        if not scope.is_set:
            source = PersonStats.__table__.alias("stats")
        elif self._by_season(scope):
            source = self._season_source(scope)
        elif kind == "events":
            source = self._events_source(scope)
        else:
            source = self._base_source(scope)
        self._figures[key] = (source, inner and scope.is_set)
        return source

    def _scope_buyers(self, scope: r.Scope) -> Select:
        """The persons holding a ticket in the scope."""
        if scope.seasons_only:
            s = PersonSeasonStats.__table__
            return select(s.c.person_id).where(s.c.account_id == self.account_id, s.c.season.in_(sorted(scope.seasons)))
        f, where = self._in_scope_tickets(scope)
        return select(f.c.person_id).where(where)

    def _season_source(self, scope: r.Scope):
        """Figures over whole seasons, read from ``person_season_stats`` (summed over seasons)."""
        s = PersonSeasonStats.__table__
        where = and_(s.c.account_id == self.account_id, s.c.season.in_(sorted(scope.seasons)))
        name = f"scope_{len(self._figures) + 1}"
        if len(scope.seasons) == 1:
            return (
                select(s.c.person_id, *[s.c[n] for n in ("orders", "events", *BASE_FIGURES)])
                .where(where)
                .subquery(name)
            )
        summed = {
            "tickets": func.sum(s.c.tickets),
            "revenue": func.sum(s.c.revenue),
            "events": func.sum(s.c.events),
            "last_order_date": func.max(s.c.last_order_date),
            "has_online": func.bool_or(s.c.has_online),
            "has_box_office": func.bool_or(s.c.has_box_office),
        }
        return (
            select(s.c.person_id, *[v.label(k) for k, v in summed.items()])
            .where(where)
            .group_by(s.c.person_id)
            .subquery(name)
        )

    def _in_scope_tickets(self, scope: r.Scope):
        f = TicketFact.__table__
        return f, and_(f.c.account_id == self.account_id, self._in_scope(f, scope))

    def _in_scope(self, f, scope: r.Scope) -> ColumnElement:
        """Ticket facts of the scope's events. A scope naming events (and perhaps productions),
        nothing else, is tested on the facts' own columns (they carry both ids; the event id is
        indexed), without a subquery on events."""
        if scope.event_ids and not (
            scope.promoters
            or scope.seasons
            or scope.genre_tag_ids
            or scope.label_tag_ids
            or scope.days_back is not None
        ):
            tests = []
            if scope.event_ids:
                tests.append(f.c.event_id.in_(sorted(scope.event_ids)))
            if scope.production_ids:
                tests.append(f.c.production_id.in_(sorted(scope.production_ids)))
            return and_(*tests)
        return f.c.event_id.in_(self.scope_events(scope))

    def _base_source(self, scope: r.Scope):
        """Per-person aggregates of the scope's tickets: only the figures the rules read."""
        needs = {"orders", *BASE_FIGURES} if self.every_figure else self._needs.get(scope, set())
        wanted = [name for name in BASE_FIGURES if name in needs]
        f, where = self._in_scope_tickets(scope)
        name = f"scope_{len(self._figures) + 1}"
        if "orders" not in needs:
            per_ticket = {
                "tickets": func.count(),
                "revenue": func.sum(f.c.price),
                "last_order_date": func.max(f.c.order_date),
                "has_online": func.bool_or(f.c.channel == "online"),
                "has_box_office": func.bool_or(f.c.channel == "box_office"),
            }
            return (
                select(f.c.person_id, *[per_ticket[n].label(n) for n in wanted])
                .where(where)
                .group_by(f.c.person_id)
                .subquery(name)
            )
        # Orders holding an in-scope ticket: group by order first, then by person (no DISTINCT).
        per_order = (
            select(
                f.c.person_id,
                f.c.order_id,
                func.count().label("tickets"),
                func.sum(f.c.price).label("revenue"),
                func.max(f.c.order_date).label("order_date"),
                func.min(f.c.channel).label("channel"),
            )
            .where(where)
            .group_by(f.c.person_id, f.c.order_id)
            .subquery(f"{name}_orders")
        )
        per_person = {
            "tickets": func.sum(per_order.c.tickets),
            "revenue": func.sum(per_order.c.revenue),
            "last_order_date": func.max(per_order.c.order_date),
            "has_online": func.bool_or(per_order.c.channel == "online"),
            "has_box_office": func.bool_or(per_order.c.channel == "box_office"),
        }
        return (
            select(per_order.c.person_id, func.count().label("orders"), *[per_person[n].label(n) for n in wanted])
            .group_by(per_order.c.person_id)
            .subquery(name)
        )

    def _events_source(self, scope: r.Scope):
        f, where = self._in_scope_tickets(scope)
        return (
            select(f.c.person_id, func.count(func.distinct(f.c.event_id)).label("events"))
            .where(where)
            .group_by(f.c.person_id)
            .subquery(f"scope_{len(self._figures) + 1}_events")
        )

    def c_PurchaseCond(self, c: r.PurchaseCond, ctx: Ctx) -> ColumnElement:
        figure = self.figure(ctx.scope, c.metric)
        includes_zero = admits_zero(c)
        value = func.coalesce(figure, 0) if includes_zero else figure  # without tickets every figure is 0
        tests = []
        if c.min is not None:
            tests.append(value >= _threshold(c.metric, c.min))
        if c.max is not None:
            tests.append(value <= _threshold(c.metric, c.max))
        test = and_(true(), *tests)
        return test if includes_zero else self._figure_test(test, ctx)

    def c_ChannelCond(self, c: r.ChannelCond, ctx: Ctx) -> ColumnElement:
        online, box_office = self.figure(ctx.scope, "has_online"), self.figure(ctx.scope, "has_box_office")
        if c.channel == "online":
            return self._figure_test(online, ctx)
        if c.channel == "box_office":
            return self._figure_test(box_office, ctx)
        return self._figure_test(and_(online, box_office), ctx)

    def c_LastPurchaseCond(self, c: r.LastPurchaseCond, ctx: Ctx) -> ColumnElement:
        first = self.today - timedelta(days=c.days)
        if c.mode == "not_within" and not ctx.scope.is_set and ctx.conjunctive:
            # No purchase in the period: as a conjunct of WHERE, NOT EXISTS becomes an anti-join
            # PostgreSQL can probe per candidate, where a left join would read every person's
            # figures first. Under OR or NOT it would stay a correlated subplan, which keeps the
            # whole statement from running in parallel: there the joined figures serve better.
            stats = PersonStats.__table__
            return (
                ~select(stats.c.person_id)
                .where(
                    stats.c.account_id == self.account_id,
                    stats.c.person_id == self.p.c.id,
                    stats.c.last_order_date.between(first, self.today),
                )
                .exists()
            )
        last = self.figure(ctx.scope, "last_order_date")
        if c.mode == "exactly":
            return self._figure_test(last == first, ctx)
        if c.mode == "within":
            return self._figure_test(last.between(first, self.today), ctx)
        return not_(self._figure_test(last.between(first, self.today), ctx.flipped()))

    def c_ImpulsiveCond(self, c: r.ImpulsiveCond, ctx: Ctx) -> ColumnElement:
        f = TicketFact.__table__
        stmt = select(f.c.person_id).where(
            f.c.account_id == self.account_id, (f.c.event_date - f.c.order_date).between(0, c.max_days_before)
        )
        if ctx.scope.is_set:
            stmt = stmt.where(self._in_scope(f, ctx.scope))
        if c.min_times > 1:
            stmt = stmt.group_by(f.c.person_id).having(
                func.count(func.distinct(func.row(f.c.order_id, f.c.event_id))) >= c.min_times
            )
        return self._in(stmt)


BASE_FIGURES = ("tickets", "revenue", "last_order_date", "has_online", "has_box_office")
COUNTED = {"tickets", "orders", "events"}


def _threshold(metric: str, value: float):
    """A whole number against a count compares as an integer (no cast of every count to
    numeric, and better estimates); money and fractions as numeric."""
    if metric in COUNTED and float(value).is_integer():
        return literal(int(value))
    return cast(value, Numeric)


def admits_zero(c: r.PurchaseCond) -> bool:
    """Whether a figure of 0 — a person without (in-scope) tickets — meets the condition."""
    return (c.min is None or c.min <= 0) and (c.max is None or c.max >= 0)


def requires_scope_ticket(node: r.Node) -> bool:
    """Whether the rule can only hold for a person with a ticket in its scope (without one,
    every figure is 0, no channel was used and there is no last purchase)."""
    if isinstance(node, r.All):
        return any(requires_scope_ticket(c) for c in node.children)
    if isinstance(node, r.Any_):
        return bool(node.children) and all(requires_scope_ticket(c) for c in node.children)
    if isinstance(node, r.PurchaseCond):
        return not admits_zero(node)
    if isinstance(node, (r.ChannelCond, r.ImpulsiveCond)):
        return True
    if isinstance(node, r.LastPurchaseCond):
        return node.mode in ("within", "exactly")
    return False


def _listed(node: r.Node) -> int:
    """Values a condition lists (each one a bound parameter)."""
    return sum(len(v) for v in (getattr(node, "value", None), getattr(node, "values", None)) if isinstance(v, tuple))


def like_pattern(before: str, value: str, after: str):
    """A LIKE pattern matching ``value`` literally, lowered by the database like the column it is
    compared with (so both sides fold case the same way); ``/`` is the escape character."""
    escaped = value.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return literal(before, TEXT).concat(func.lower(literal(escaped, TEXT))).concat(literal(after, TEXT))


def text_case_number(raw):
    """The JSON value as text when it is a JSON number, else NULL."""
    return case((func.jsonb_typeof(raw) == "number", raw.astext), else_=None)


def text_case_date(as_text):
    """The text when it looks like an ISO date, else NULL (so a bad value cannot break a count)."""
    return case((as_text.regexp_match(r"^\d{4}-\d{2}-\d{2}$"), as_text), else_=None)


__all__ = ["Compiler", "SegmentDefinition", "local_midnight", "latest_birth_date_for_age"]
