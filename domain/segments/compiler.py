"""Compile a rule tree (with its event scope, parents and mode) into ONE SQL statement.

The statement selects the ids of the account's matching persons: ``SELECT p.id FROM person p
WHERE p.account_id = :a AND <predicate>``. Every condition becomes a two-valued predicate on
the person row (column tests wrapped in ``coalesce(…, false)``, set conditions as uncorrelated
``p.id IN (subquery)``, which PostgreSQL runs once as a hashed sub-plan), so ``not`` is the exact
complement. Purchase conditions read ``person_stats`` (unscoped) or per-scope figures aggregated
from ``ticket_fact`` over the scope's events (one CTE per distinct scope). Parents and segment
references are inlined as predicates on the same row. Nothing is evaluated in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Float, Numeric, and_, case, cast, false, func, literal, not_, or_, select, true
from sqlalchemy.dialects.postgresql import ARRAY, TEXT
from sqlalchemy.sql import ColumnElement, Select

from domain.catalog.facts import PersonStats, TicketFact
from domain.catalog.models import Event, Production, Subscription
from domain.errors import ErrorCode, InputError
from domain.forms.models import FormSubmission
from domain.people.models import Person, PersonConsent
from domain.segments import rules as r
from domain.tags.models import PersonTag, ProductionTag

EARTH_RADIUS_KM = 6371.0


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


@dataclass
class Compiler:
    """Compiles for one account at one moment. ``load_segment`` returns a saved segment's
    definition (or None); ``tag_descendants`` returns a tag with all its subtags."""

    account_id: int
    timezone: str
    now: datetime
    load_segment: Callable[[int], SegmentDefinition | None]
    tag_descendants: Callable[[int], set[int]]
    venue_point: Callable[[int], tuple[float, float] | None]
    _figures: dict = field(default_factory=dict)
    _scope_events: dict = field(default_factory=dict)
    _visiting: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tz = ZoneInfo(self.timezone)
        self.today = self.now.astimezone(self.tz).date()
        self.p = Person.__table__.alias("p")

    # ------------------------------------------------------------------ entry points
    def members(self, rule: r.Node, scope: r.Scope, parent_id: int | None = None,
                mode: tuple[str, int] | None = None) -> Select:
        """``SELECT p.id FROM person p WHERE …`` for unsaved rules (live counts) or a segment."""
        predicate = self.definition_predicate(rule, scope)
        if parent_id is not None:
            predicate = and_(predicate, self.segment_predicate(parent_id))
        if mode is not None:
            predicate = and_(predicate, not_(self.p.c.id.in_(self.mode_holders(mode))))
        return select(self.p.c.id).where(self.p.c.account_id == self.account_id, predicate)

    def definition_predicate(self, rule: r.Node, scope: r.Scope) -> ColumnElement:
        predicate = self.node(rule, scope)
        if scope.is_set:  # with a scope, members hold an in-scope ticket whatever the rules say
            predicate = and_(predicate, self.p.c.id.in_(select(self.figures(scope).c.person_id)))
        return predicate

    def segment_predicate(self, segment_id: int) -> ColumnElement:
        """Membership of a saved segment: its rules and scope, and its parents', not its mode."""
        if segment_id in self._visiting:
            raise InputError.single(ErrorCode.CYCLE, "segments refer to each other in a cycle", "rules")
        definition = self.load_segment(segment_id)
        if definition is None:
            raise InputError.single(ErrorCode.NOT_FOUND, "segment not found", "rules")
        self._visiting.append(segment_id)
        try:
            predicate = self.definition_predicate(definition.rule, definition.scope)
            if definition.parent_id is not None:
                predicate = and_(predicate, self.segment_predicate(definition.parent_id))
        finally:
            self._visiting.pop()
        return predicate

    def mode_holders(self, mode: tuple[str, int]) -> Select:
        kind, target = mode
        facts = TicketFact.__table__
        stmt = select(facts.c.person_id).where(facts.c.account_id == self.account_id)
        if kind == "event":
            return stmt.where(facts.c.event_id == target)
        events = select(Event.id).where(Event.account_id == self.account_id, Event.production_id == target)
        return stmt.where(facts.c.event_id.in_(events))

    # ------------------------------------------------------------------ tree
    def node(self, node: r.Node, scope: r.Scope) -> ColumnElement:
        if isinstance(node, r.All):
            return and_(true(), *[self.node(c, scope) for c in node.children])
        if isinstance(node, r.Any_):
            return or_(false(), *[self.node(c, scope) for c in node.children])
        if isinstance(node, r.Not):
            return not_(self.node(node.child, scope))
        method = getattr(self, "c_" + type(node).__name__)
        return method(node, scope)

    @staticmethod
    def _sure(expression) -> ColumnElement:
        """Two-valued: a comparison with a missing value is false, never NULL."""
        return func.coalesce(expression, false())

    def _in(self, ids: Select) -> ColumnElement:
        return self.p.c.id.in_(ids)

    # ------------------------------------------------------------------ person fields
    def _text_test(self, column, op: str, value) -> ColumnElement:
        low = func.lower(column)
        if op in ("is_empty", "is_not_empty"):
            empty = func.coalesce(column, "").regexp_match(r"^\s*$")
            return empty if op == "is_empty" else not_(empty)
        if op in ("in", "not_in"):
            lowered = select(func.lower(func.unnest(cast(list(value), ARRAY(TEXT)))))
            test = self._sure(low.in_(lowered))
            return test if op == "in" else not_(test)
        wanted = func.lower(literal(value, TEXT))
        if op in ("eq", "neq"):
            test = self._sure(low == wanted)
            return test if op == "eq" else not_(test)
        if op in ("contains", "not_contains"):
            test = self._sure(func.strpos(low, wanted) > 0)
            return test if op == "contains" else not_(test)
        if op == "starts_with":
            return self._sure(func.starts_with(low, wanted))
        if op == "ends_with":
            return self._sure(func.right(low, func.char_length(wanted)) == wanted)
        raise ValueError(op)

    def c_TextCond(self, c: r.TextCond, scope) -> ColumnElement:
        return self._text_test(self.p.c[c.field], c.op, c.value)

    def c_GenderCond(self, c: r.GenderCond, scope) -> ColumnElement:
        if "all" in c.values:
            return true()
        return self._sure(self.p.c.gender.in_(list(c.values)))

    def c_AgeCond(self, c: r.AgeCond, scope) -> ColumnElement:
        birth = self.p.c.birth_date
        tests = [birth.isnot(None)]
        if c.min is not None:
            tests.append(birth <= latest_birth_date_for_age(self.today, c.min))
        if c.max is not None:
            tests.append(birth > latest_birth_date_for_age(self.today, c.max + 1))
        return self._sure(and_(*tests))

    def _local_days(self, column, first: date | None, last: date | None) -> ColumnElement:
        """An instant whose local date lies in [first, last] (either end open)."""
        tests = [column.isnot(None)]
        if first is not None:
            tests.append(column >= local_midnight(first, self.tz))
        if last is not None:
            tests.append(column < local_midnight(last + timedelta(days=1), self.tz))
        return self._sure(and_(*tests))

    def c_AddedOnCond(self, c: r.AddedOnCond, scope) -> ColumnElement:
        if c.last_days is not None:
            return self._local_days(self.p.c.created_at, self.today - timedelta(days=c.last_days), self.today)
        return self._local_days(self.p.c.created_at, c.after, c.before)

    def c_CustomFieldCond(self, c: r.CustomFieldCond, scope) -> ColumnElement:
        doc = self.p.c.custom_fields
        raw = doc[c.key]                      # jsonb value or NULL when missing
        as_text = doc[c.key].astext            # NULL for missing and JSON null
        present = self._sure(func.jsonb_typeof(raw) != "null")
        if c.op in ("is_empty", "is_not_empty"):
            empty = func.coalesce(as_text, "").regexp_match(r"^\s*$") if c.kind == "text" else not_(present)
            return empty if c.op == "is_empty" else not_(empty)
        if c.kind in ("text", "choice"):
            return self._text_test(as_text, c.op, c.value) if c.kind == "text" else self._choice(as_text, c)
        if c.kind == "boolean":
            return self._sure(raw == cast(literal("true" if c.op == "is_true" else "false"), raw.type))
        if c.kind == "number":
            numeric = cast(text_case_number(raw), Numeric)
            tests = {"eq": numeric == c.value, "neq": numeric == c.value, "gt": numeric > c.value,
                     "gte": numeric >= c.value, "lt": numeric < c.value, "lte": numeric <= c.value}
            if c.op == "between":
                test = self._sure(numeric.between(c.value[0], c.value[1]))
            else:
                test = self._sure(tests[c.op])
            return not_(test) if c.op == "neq" else test
        if c.kind == "date":
            day = cast(text_case_date(as_text), Date)
            if c.op == "last_days":
                test = self._sure(day.between(self.today - timedelta(days=c.value), self.today))
            elif c.op == "between":
                test = self._sure(day.between(c.value[0], c.value[1]))
            else:
                test = self._sure({"eq": day == c.value, "neq": day == c.value, "before": day < c.value,
                                   "after": day > c.value}[c.op])
            return not_(test) if c.op == "neq" else test
        raise ValueError(c.kind)

    def _choice(self, as_text, c: r.CustomFieldCond) -> ColumnElement:
        if c.op in ("in", "not_in"):
            test = self._sure(as_text.in_(list(c.value)))
            return test if c.op == "in" else not_(test)
        test = self._sure(as_text == c.value)
        return test if c.op == "eq" else not_(test)

    def c_DistanceCond(self, c: r.DistanceCond, scope) -> ColumnElement:
        if c.venue_id is not None:
            point = self.venue_point(c.venue_id)
            if point is None:
                return false()
            lat, lon = point
        else:
            lat, lon = c.lat, c.lon
        plat, plon = self.p.c.latitude, self.p.c.longitude
        lat_b, lon_b = literal(lat, Float), literal(lon, Float)
        haversine = 2 * EARTH_RADIUS_KM * func.asin(func.sqrt(
            func.power(func.sin((func.radians(plat) - func.radians(lat_b)) / 2), 2)
            + func.cos(func.radians(plat)) * func.cos(func.radians(lat_b))
            * func.power(func.sin((func.radians(plon) - func.radians(lon_b)) / 2), 2)))
        return self._sure(haversine <= c.km)

    # ------------------------------------------------------------------ links
    def c_TagCond(self, c: r.TagCond, scope) -> ColumnElement:
        tag_ids = sorted(self.tag_descendants(c.tag_id)) if c.include_subtags else [c.tag_id]
        links = select(PersonTag.person_id).where(PersonTag.account_id == self.account_id,
                                                  PersonTag.tag_id.in_(tag_ids))
        if c.source is not None:
            links = links.where(PersonTag.source == c.source)
        test = self._in(links)
        return test if c.has else not_(test)

    def c_ConsentCond(self, c: r.ConsentCond, scope) -> ColumnElement:
        test = self._in(select(PersonConsent.person_id).where(
            PersonConsent.account_id == self.account_id, PersonConsent.consent_type_id == c.consent_type_id,
            PersonConsent.granted.is_(True)))
        return test if c.granted else not_(test)

    def c_FormCond(self, c: r.FormCond, scope) -> ColumnElement:
        subs = select(FormSubmission.person_id).where(FormSubmission.account_id == self.account_id)
        if c.form_id is not None:
            subs = subs.where(FormSubmission.form_id == c.form_id)
        if c.within_days is not None:
            subs = subs.where(self._local_days(FormSubmission.submitted_at,
                                               self.today - timedelta(days=c.within_days), self.today))
        return self._in(subs)

    def c_SubscriptionCond(self, c: r.SubscriptionCond, scope) -> ColumnElement:
        test = self._in(select(Subscription.person_id).where(
            Subscription.account_id == self.account_id, Subscription.valid_from <= self.today,
            or_(Subscription.valid_until.is_(None), Subscription.valid_until >= self.today)))
        return test if c.holder else not_(test)

    def c_SegmentCond(self, c: r.SegmentCond, scope) -> ColumnElement:
        test = self.segment_predicate(c.segment_id)
        return test if c.member else not_(test)

    # ------------------------------------------------------------------ purchases
    def scope_events(self, scope: r.Scope) -> Select:
        key = scope
        if key in self._scope_events:
            return self._scope_events[key]
        stmt = select(Event.id).where(Event.account_id == self.account_id)
        if scope.promoters or scope.seasons or scope.genre_tag_ids or scope.label_tag_ids:
            productions = select(Production.id).where(Production.account_id == self.account_id)
            if scope.promoters:
                productions = productions.where(Production.promoter.in_(list(scope.promoters)))
            if scope.seasons:
                productions = productions.where(Production.season.in_(list(scope.seasons)))
            for tag_ids in (scope.genre_tag_ids, scope.label_tag_ids):
                if tag_ids:
                    productions = productions.where(Production.id.in_(select(ProductionTag.production_id).where(
                        ProductionTag.account_id == self.account_id, ProductionTag.tag_id.in_(list(tag_ids)))))
            stmt = stmt.where(Event.production_id.in_(productions))
        if scope.production_ids:
            stmt = stmt.where(Event.production_id.in_(list(scope.production_ids)))
        if scope.event_ids:
            stmt = stmt.where(Event.id.in_(list(scope.event_ids)))
        if scope.days_back is not None:
            since = local_midnight(self.today - timedelta(days=scope.days_back), self.tz)
            stmt = stmt.where(or_(Event.starts_at > self.now, Event.starts_at >= since))
        self._scope_events[key] = stmt
        return stmt

    def figures(self, scope: r.Scope):
        """Per-person purchase figures over in-scope tickets (a CTE per scope), or person_stats."""
        if not scope.is_set:
            return PersonStats.__table__
        if scope in self._figures:
            return self._figures[scope]
        f = TicketFact.__table__
        cte = select(
            f.c.person_id,
            func.count(func.distinct(f.c.order_id)).label("orders"),
            func.count().label("tickets"),
            func.sum(f.c.price).label("revenue"),
            func.count(func.distinct(f.c.event_id)).label("events"),
            func.max(f.c.order_date).label("last_order_date"),
            func.bool_or(f.c.channel == "online").label("has_online"),
            func.bool_or(f.c.channel == "box_office").label("has_box_office"),
        ).where(f.c.account_id == self.account_id, f.c.event_id.in_(self.scope_events(scope))
                ).group_by(f.c.person_id).cte(f"scope_figures_{len(self._figures) + 1}")
        self._figures[scope] = cte
        return cte

    def _buyers(self, scope: r.Scope, condition) -> Select:
        figures = self.figures(scope)
        stmt = select(figures.c.person_id)
        if figures is PersonStats.__table__:
            stmt = stmt.where(figures.c.account_id == self.account_id)
        return stmt.where(condition(figures.c))

    def c_PurchaseCond(self, c: r.PurchaseCond, scope) -> ColumnElement:
        def in_range(columns):
            column = columns[c.metric]
            tests = []
            if c.min is not None:
                tests.append(column >= cast(c.min, Numeric))
            if c.max is not None:
                tests.append(column <= cast(c.max, Numeric))
            return and_(*tests)
        includes_zero = (c.min is None or c.min <= 0) and (c.max is None or c.max >= 0)
        if includes_zero:  # non-buyers (all figures 0) match: exclude only buyers outside the range
            return not_(self._in(self._buyers(scope, lambda cols: not_(in_range(cols)))))
        return self._in(self._buyers(scope, in_range))

    def c_ChannelCond(self, c: r.ChannelCond, scope) -> ColumnElement:
        def test(cols):
            if c.channel == "online":
                return cols.has_online
            if c.channel == "box_office":
                return cols.has_box_office
            return and_(cols.has_online, cols.has_box_office)
        return self._in(self._buyers(scope, test))

    def c_LastPurchaseCond(self, c: r.LastPurchaseCond, scope) -> ColumnElement:
        first = self.today - timedelta(days=c.days)
        if c.mode == "exactly":
            return self._in(self._buyers(scope, lambda cols: cols.last_order_date == first))
        within = self._in(self._buyers(scope, lambda cols: cols.last_order_date.between(first, self.today)))
        return within if c.mode == "within" else not_(within)

    def c_ImpulsiveCond(self, c: r.ImpulsiveCond, scope) -> ColumnElement:
        f = TicketFact.__table__
        stmt = select(f.c.person_id).where(f.c.account_id == self.account_id,
                                           (f.c.event_date - f.c.order_date).between(0, c.max_days_before))
        if scope.is_set:
            stmt = stmt.where(f.c.event_id.in_(self.scope_events(scope)))
        stmt = stmt.group_by(f.c.person_id)
        if c.min_times > 1:
            stmt = stmt.having(func.count(func.distinct(func.row(f.c.order_id, f.c.event_id))) >= c.min_times)
        return self._in(stmt)


def text_case_number(raw):
    """The JSON value as text when it is a JSON number, else NULL."""
    return case((func.jsonb_typeof(raw) == "number", raw.astext), else_=None)


def text_case_date(as_text):
    """The text when it looks like an ISO date, else NULL (so a bad value cannot break a count)."""
    return case((as_text.regexp_match(r"^\d{4}-\d{2}-\d{2}$"), as_text), else_=None)


__all__ = ["Compiler", "SegmentDefinition", "local_midnight", "latest_birth_date_for_age"]
