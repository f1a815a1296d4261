"""The rule compiler's second back end: a checked rule tree evaluated over the audience index.

Every node becomes a boolean mask over the index's person rows, with the meaning the SQL back end
gives it (``domain.segments.compiler``; SPEC 5.6): negative operators are exact complements,
``not`` is the complement, with an event scope purchase conditions count only in-scope tickets
and members hold one. Masks are computed for every row and the erased drop out at the end (every
condition is a test of one person, so that is the same).

What the index does not hold comes from the database through the same callbacks the compiler
uses: saved segments, tag subtrees, venue coordinates, the events a scope covers; text operands
are lowered by PostgreSQL (``fold_case``) like the index's texts. Where float64 could decide
differently from PostgreSQL (a distance or a decayed score within a hair of the bound), those few
persons are decided again one by one with the same floating-point steps as the SQL; custom
numbers that float64 does not hold exactly raise ``NotIndexed`` (the SQL back end answers).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np

from domain.audience.index import (
    CHANNELS,
    GENDERS,
    MISSING_DAY,
    SOURCES,
    AudienceIndex,
    CustomColumn,
    NotIndexed,
    TextColumn,
)
from domain.errors import ErrorCode, InputError
from domain.segments import rules as r
from domain.segments.compiler import (
    EARTH_RADIUS_KM,
    Compilation,
    SegmentDefinition,
    latest_birth_date_for_age,
    local_midnight,
)

EPOCH = date(1970, 1, 1)
EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)
PATTERN_VOCABULARY = 10_000  # vocabularies this long are tested on the entries the rows in play hold,
PATTERN_ROWS_PER_ENTRY = 0.5  # when there are at most this many such rows per entry
NARROW_SHARE = 4  # a distance is computed only for the rows in play when they are under 1/4 of all
NEAR = 1e-9  # relative distance to a bound under which float64 results are decided again exactly
NEGATED = {"neq": "eq", "not_contains": "contains", "not_in": "in", "is_not_empty": "is_empty"}


def _us(instant: datetime) -> int:
    """Microseconds since 1970 of an aware instant (as the index holds timestamps)."""
    return (instant - EPOCH_UTC) // timedelta(microseconds=1)


def _days(day: date) -> int:
    return (day - EPOCH).days


def _plain(value):
    """An enum member's value (str enums hash by name: dictionary keys must be plain)."""
    return value.value if hasattr(value, "value") else value


def _exact_float(value: float) -> bool:
    """Whether a number compares the same as float64 and as PostgreSQL's numeric (≤ 15 digits)."""
    digits = Decimal(str(value)).normalize().as_tuple().digits
    return math.isfinite(float(value)) and len(digits) <= 15


@dataclass
class Sources:
    """What the evaluator asks the database for (the compiler's own callbacks)."""

    load_segment: Callable[[int], SegmentDefinition | None]
    tag_descendants: Callable[[int], set[int]]
    venue_point: Callable[[int], tuple[float, float] | None]
    scope_event_ids: Callable[[r.Scope], Iterable[int]]
    fold_case: Callable[[list[str]], dict[str, str]]


@dataclass
class _Selection:
    """The ticket facts counted under one scope: ``ranges`` of fact positions (facts are sorted by
    event, so a scope's events are runs of facts), None for all of them."""

    ranges: list[tuple[int, int]] | None
    cache: dict = field(default_factory=dict)

    def take(self, full: np.ndarray) -> np.ndarray:
        if self.ranges is None:
            return full
        if len(self.ranges) == 1:
            start, end = self.ranges[0]
            return full[start:end]
        return np.concatenate([full[start:end] for start, end in self.ranges]) if self.ranges else full[:0]


@dataclass
class Evaluator:
    index: AudienceIndex
    timezone: str
    now: datetime
    sources: Sources
    half_life_days: float = 180.0
    compilation: Compilation | None = None
    _members: dict = field(default_factory=dict)
    _visiting: list = field(default_factory=list)
    _selections: dict = field(default_factory=dict)
    _folded: dict = field(default_factory=dict)
    # The rows a node's mask is ANDed with by the groups around it (None: all): where only those
    # rows matter, a text pattern is tested on the vocabulary entries they hold, not on all.
    _within: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.timezone != self.index.timezone:
            raise NotIndexed("the account's time zone changed since the index was built")
        self.tz = ZoneInfo(self.timezone)
        self.today = self.now.astimezone(self.tz).date()
        self.today_day = _days(self.today)
        self.n = self.index.size
        if self.compilation is None:
            self.compilation = Compilation(self.sources.load_segment)

    # ------------------------------------------------------------------ entry points
    def members(
        self, rule: r.Node, scope: r.Scope, parent_id: int | None = None, mode: tuple[str, int] | None = None
    ) -> np.ndarray:
        """The mask of matching live persons: own rules (own scope) ∩ parent's members, minus the mode."""
        self.compilation.plan([rule], [parent_id] if parent_id is not None else [])
        self._fold_operands([rule, *(d.rule for d in self.compilation.segments.values() if d is not None)])
        mask = self.definition(rule, scope)
        if parent_id is not None:
            mask &= self.segment(parent_id)
        return self.finish(mask, mode)

    def segment_members(self, segment_id: int, mode: tuple[str, int] | None = None) -> np.ndarray:
        self.compilation.plan([], [segment_id])
        self._fold_operands([d.rule for d in self.compilation.segments.values() if d is not None])
        return self.finish(self.segment(segment_id).copy(), mode)

    def finish(self, mask: np.ndarray, mode: tuple[str, int] | None) -> np.ndarray:
        mask &= self.index.live
        if mode is not None:
            kind, target = mode
            events = r.Scope(event_ids=(target,)) if kind == "event" else r.Scope(production_ids=(target,))
            mask &= ~self.holders(events)
        return mask

    def ids(self, mask: np.ndarray) -> np.ndarray:
        return self.index.person_ids[mask]

    # ------------------------------------------------------------------ definitions
    def definition(self, rule: r.Node, scope: r.Scope) -> np.ndarray:
        mask = self.node(rule, scope)
        if scope.is_set:
            mask &= self.holders(scope)
        return mask

    def segment(self, segment_id: int) -> np.ndarray:
        """A saved segment's members (its rules, scope and parents; no mode), once per evaluation."""
        if segment_id in self._members:
            return self._members[segment_id]
        if segment_id in self._visiting:
            raise InputError.single(ErrorCode.CYCLE, "segments refer to each other in a cycle", "rules")
        definition = self.compilation.segment(segment_id)
        if definition is None:
            raise InputError.single(ErrorCode.NOT_FOUND, "segment not found", "rules")
        self._visiting.append(segment_id)
        within, self._within = self._within, None  # kept for other uses: exact on every row
        try:
            mask = self.definition(definition.rule, definition.scope)
            if definition.parent_id is not None:
                mask &= self.segment(definition.parent_id)
        finally:
            self._visiting.pop()
            self._within = within
        self._members[segment_id] = mask
        return mask

    # ------------------------------------------------------------------ tree
    def node(self, node: r.Node, scope: r.Scope) -> np.ndarray:
        if isinstance(node, r.All):
            mask = np.ones(self.n, dtype=bool)
            outer = self._within
            patterns = [child for child in node.children if _narrowable(child)]
            for child in [child for child in node.children if child not in patterns] + patterns:
                if child in patterns:  # after the others: tested only where they left members
                    self._within = mask.copy() if outer is None else mask & outer
                try:
                    mask &= self.node(child, scope)
                finally:
                    self._within = outer
            return mask
        if isinstance(node, r.Any_):
            mask = np.zeros(self.n, dtype=bool)
            for child in node.children:
                mask |= self.node(child, scope)
            return mask
        if isinstance(node, r.Not):
            return ~self.node(node.child, scope)
        self.compilation.spend(
            1
            + sum(len(v) for v in (getattr(node, "value", None), getattr(node, "values", None)) if isinstance(v, tuple))
        )
        return getattr(self, "c_" + type(node).__name__)(node, scope)

    def _rows_mask(self, rows: np.ndarray) -> np.ndarray:
        mask = np.zeros(self.n, dtype=bool)
        mask[rows] = True
        return mask

    # ------------------------------------------------------------------ texts
    def _fold_operands(self, trees: list[r.Node]) -> None:
        wanted: set[str] = set()
        for tree in trees:
            for node in r.walk(tree):
                if isinstance(node, r.TextCond) or (isinstance(node, r.CustomFieldCond) and node.kind == "text"):
                    value = node.values if isinstance(node, r.TextCond) and node.values is not None else node.value
                    wanted.update(value if isinstance(value, tuple) else [value] if isinstance(value, str) else [])
        missing = sorted(wanted - self._folded.keys())
        if missing:
            self._folded.update(self.sources.fold_case(missing))

    def _text(self, column: TextColumn, op: str, operand, *, fold: bool = True) -> np.ndarray:
        op = _plain(op)
        if op in ("is_empty", "is_not_empty"):
            return column.empty.copy() if op == "is_empty" else ~column.empty
        base = NEGATED.get(op, op)

        def folded(value: str) -> str:
            return self._folded[value] if fold else value

        if base == "eq":
            mask = column.codes == column.code(folded(operand))
        elif base == "in":
            codes = [c for c in (column.code(folded(v)) for v in operand) if c >= 0]
            mask = np.isin(column.codes, np.array(codes, dtype=np.int32))
        elif base == "contains":
            mask = self._pattern(column, lambda words: np.strings.find(words, folded(operand)) >= 0)
        elif base == "starts_with":
            mask = self._pattern(column, lambda words: np.strings.startswith(words, folded(operand)))
        elif base == "ends_with":
            mask = self._pattern(column, lambda words: np.strings.endswith(words, folded(operand)))
        else:
            raise ValueError(op)
        return ~mask if base != op else mask

    def _pattern(self, column: TextColumn, test: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Rows whose text passes ``test``: tested on the vocabulary, or, where the groups around
        leave few rows (``_within``), on the entries those rows hold (an e-mail address per person
        makes the vocabulary as long as the persons). Right on every row of ``_within``."""
        vocabulary = column.vocabulary
        if self._within is None or len(vocabulary) < PATTERN_VOCABULARY:
            return column.where(test(vocabulary))
        codes = column.codes[self._within]
        if len(codes) > PATTERN_ROWS_PER_ENTRY * len(vocabulary):  # sorting them would cost more
            return column.where(test(vocabulary))
        held = np.unique(codes)
        held = held[held >= 0]
        matches = np.zeros(len(vocabulary), dtype=bool)
        matches[held] = test(vocabulary[held])
        return column.where(matches)

    def c_TextCond(self, c: r.TextCond, scope: r.Scope) -> np.ndarray:
        return self._text(
            self.index.texts[_plain(c.field)],
            c.operator,
            c.values if c.values is not None else c.value,
        )

    # ------------------------------------------------------------------ person fields
    def c_GenderCond(self, c: r.GenderCond, scope: r.Scope) -> np.ndarray:
        if "all" in c.values:
            return np.ones(self.n, dtype=bool)
        codes = [GENDERS.index(g) + 1 for g in c.values]
        return np.isin(self.index.gender, np.array(codes, dtype=np.int8))

    def c_AgeCond(self, c: r.AgeCond, scope: r.Scope) -> np.ndarray:
        birth = self.index.birth_day
        mask = birth != MISSING_DAY
        if c.min is not None:
            mask &= birth <= _days(latest_birth_date_for_age(self.today, c.min))
        if c.max is not None:
            mask &= birth > _days(latest_birth_date_for_age(self.today, c.max + 1))
        return mask

    def _instant_days(self, us: np.ndarray, first: date | None, last: date | None) -> np.ndarray:
        """Instants whose local date lies in [first, last] (either end open)."""
        mask = np.ones(len(us), dtype=bool)
        if first is not None:
            mask &= us >= _us(local_midnight(first, self.tz))
        if last is not None:
            mask &= us < _us(local_midnight(last + timedelta(days=1), self.tz))
        return mask

    def c_AddedOnCond(self, c: r.AddedOnCond, scope: r.Scope) -> np.ndarray:
        created = self.index.created_us
        if c.last_days is not None:
            return self._instant_days(created, self.today - timedelta(days=c.last_days), self.today)
        if c.on is not None:
            return self._instant_days(created, c.on, c.on)
        return self._instant_days(
            created,
            c.after + timedelta(days=1) if c.after else None,
            c.before - timedelta(days=1) if c.before else None,
        )

    def c_CustomFieldCond(self, c: r.CustomFieldCond, scope: r.Scope) -> np.ndarray:
        column = self.index.custom.get(c.key)
        if column is None or column.kind != c.kind:
            raise NotIndexed(f"custom field {c.key!r} was defined after the index was built")
        op = _plain(c.operator)
        if op in ("is_empty", "is_not_empty") and c.kind != "text":
            return column.absent.copy() if op == "is_empty" else ~column.absent
        if c.kind == "text":
            assert column.text is not None
            return self._text(column.text, op, c.value)
        if c.kind == "choice":
            assert column.text is not None
            return self._text(column.text, op, c.value, fold=False)
        if c.kind == "boolean":
            assert column.flag is not None
            return column.flag == (2 if op == "is_true" else 1)
        if c.kind == "number":
            return self._number(column, op, c.value)
        if c.kind == "date":
            return self._date(column, op, c.value)
        raise ValueError(c.kind)

    def _number(self, column: CustomColumn, op: str, value) -> np.ndarray:
        operands = value if isinstance(value, tuple) else (value,)
        if not column.exact or not all(_exact_float(v) for v in operands):
            raise NotIndexed("a custom number float64 does not hold exactly")
        x = column.number
        assert x is not None
        with np.errstate(invalid="ignore"):
            if op == "between":
                return (x >= float(value[0])) & (x <= float(value[1]))
            y = float(value)
            tests = {"eq": x == y, "neq": ~(x == y), "gt": x > y, "gte": x >= y, "lt": x < y, "lte": x <= y}
        return tests[op]

    def _date(self, column: CustomColumn, op: str, value) -> np.ndarray:
        day = column.day
        assert day is not None
        there = day != MISSING_DAY
        if op == "last_days":
            return there & (day >= self.today_day - value) & (day <= self.today_day)
        if op == "between":
            return there & (day >= _days(value[0])) & (day <= _days(value[1]))
        target = _days(value)
        tests = {
            "eq": day == target,
            "neq": day != target,
            "before": there & (day < target),
            "after": day > target,
        }
        return tests[op]

    def c_DistanceCond(self, c: r.DistanceCond, scope: r.Scope) -> np.ndarray:
        if c.venue_id is not None:
            point = self.sources.venue_point(c.venue_id)
            if point is None:
                return np.zeros(self.n, dtype=bool)
            lat, lon = point
        else:
            assert c.latitude is not None and c.longitude is not None
            lat, lon = c.latitude, c.longitude
        plat, plon = self.index.latitude, self.index.longitude
        rows = None  # where the groups around leave few persons, only theirs are computed
        if self._within is not None and np.count_nonzero(self._within) * NARROW_SHARE < self.n:
            rows = np.flatnonzero(self._within)
            plat, plon = plat[rows], plon[rows]
        rlat, rlon = math.radians(lat), math.radians(lon)
        with np.errstate(invalid="ignore"):
            a = np.sin((np.radians(plat) - rlat) / 2) ** 2 + np.cos(np.radians(plat)) * math.cos(rlat) * (
                np.sin((np.radians(plon) - rlon) / 2) ** 2
            )
            km = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))
            near_km = km <= c.km
            near = np.flatnonzero(np.abs(km - c.km) <= NEAR * max(1.0, c.km))
        for i in near.tolist():  # decided as PostgreSQL computes it
            near_km[i] = _haversine_sql(float(plat[i]), float(plon[i]), lat, lon) <= c.km
        if rows is None:
            return near_km
        mask = np.zeros(self.n, dtype=bool)
        mask[rows[near_km]] = True
        return mask

    # ------------------------------------------------------------------ links
    def c_TagCond(self, c: r.TagCond, scope: r.Scope) -> np.ndarray:
        tags = self.index.tags
        ids = sorted(self.sources.tag_descendants(c.tag_id)) if c.include_subtags else [c.tag_id]
        rows = tags.rows(ids)
        if c.source is not None:
            source = _plain(c.source)
            rows = rows[tags.columns["source"][rows] == SOURCES.index(source)]
        mask = self._rows_mask(tags.persons[rows])
        return mask if c.has else ~mask

    def c_ConsentCond(self, c: r.ConsentCond, scope: r.Scope) -> np.ndarray:
        consents = self.index.consents
        mask = self._rows_mask(consents.persons[consents.rows([c.consent_type_id])])
        return mask if c.granted else ~mask

    def c_FormCond(self, c: r.FormCond, scope: r.Scope) -> np.ndarray:
        subs = self.index.submissions
        rows = subs.rows([c.form_id]) if c.form_id is not None else np.arange(len(subs.keys))
        if c.within_days is not None:
            at = subs.columns["at_us"][rows]
            rows = rows[self._instant_days(at, self.today - timedelta(days=c.within_days), self.today)]
        return self._rows_mask(subs.persons[rows])

    def c_SubscriptionCond(self, c: r.SubscriptionCond, scope: r.Scope) -> np.ndarray:
        subs = self.index.subscriptions
        current = (subs.columns["first_day"] <= self.today_day) & (subs.columns["last_day"] >= self.today_day)
        mask = self._rows_mask(subs.persons[current])
        return mask if c.holder else ~mask

    def c_InterestCond(self, c: r.InterestCond, scope: r.Scope) -> np.ndarray:
        scores = self.index.scores
        rows = scores.rows([c.tag_id])
        value = scores.columns["value"][rows]
        as_of = scores.columns["as_of_us"][rows]
        now_us = _us(self.now)
        span = self.half_life_days * 86400.0
        elapsed = np.maximum(0.0, (now_us - as_of) / 1e6)
        score = value * np.power(2.0, -elapsed / span)

        def exact(i: int) -> float:
            return float(value[i]) * math.pow(2.0, -max(0.0, (now_us - int(as_of[i])) / 1e6) / span)

        def at_least(bound: float) -> np.ndarray:
            test = score >= bound
            for i in np.flatnonzero(np.abs(score - bound) <= NEAR * max(1.0, bound)).tolist():
                test[i] = exact(i) >= bound
            return test

        def at_most(bound: float) -> np.ndarray:
            test = score <= bound
            for i in np.flatnonzero(np.abs(score - bound) <= NEAR * max(1.0, bound)).tolist():
                test[i] = exact(i) <= bound
            return test

        persons = scores.persons[rows]
        if c.min is not None and c.min > 0:  # only persons with a score
            keep = at_least(c.min)
            if c.max is not None:
                keep &= at_most(c.max)
            return self._rows_mask(persons[keep])
        if c.max is None:
            return np.ones(self.n, dtype=bool)
        return ~self._rows_mask(persons[~at_most(c.max)])

    def c_SegmentCond(self, c: r.SegmentCond, scope: r.Scope) -> np.ndarray:
        members = self.segment(c.segment_id)
        return members.copy() if c.member else ~members

    # ------------------------------------------------------------------ purchases
    def selection(self, scope: r.Scope) -> _Selection:
        if scope not in self._selections:
            facts = self.index.facts
            if not scope.is_set:
                ranges = None
            else:
                wanted = np.fromiter(self.sources.scope_event_ids(scope), dtype=np.int64)
                events = np.flatnonzero(np.isin(facts.event_ids, wanted))
                bounds = self.index.once(
                    "event_bounds", lambda: np.searchsorted(facts.event, np.arange(len(facts.event_ids) + 1))
                )
                starts, ends = bounds[events], bounds[events + 1]
                ranges = []
                if len(events):  # neighbouring events' facts are one run
                    cut = np.flatnonzero(starts[1:] != ends[:-1]) + 1
                    runs = zip(starts[np.r_[0, cut]].tolist(), ends[np.r_[cut - 1, len(events) - 1]].tolist())
                    ranges = [(a, b) for a, b in runs if b > a]
            self._selections[scope] = _Selection(ranges)
        return self._selections[scope]

    def column(self, scope: r.Scope, name: str) -> np.ndarray:
        """A fact column over the scope's facts."""
        selection = self.selection(scope)
        if name not in selection.cache:
            selection.cache[name] = selection.take(getattr(self.index.facts, name))
        return selection.cache[name]

    def holders(self, scope: r.Scope) -> np.ndarray:
        """Persons holding a counted ticket of the scope (from their ticket counts when a
        condition already counted them: one pass over the scope's facts fewer)."""
        counted = self.selection(scope).cache.get(("figure", "tickets"))
        if counted is not None:
            return counted > 0
        return self._rows_mask(self.column(scope, "person"))

    def _used_channel(self, scope: r.Scope, code: int) -> np.ndarray:
        def compute() -> np.ndarray:
            return self._having(scope, self.column(scope, "channel") == code)

        return self.index.once(f"channel:{code}", compute).copy() if not scope.is_set else compute()

    def figure(self, scope: r.Scope, metric: str) -> np.ndarray:
        if not scope.is_set:  # over all facts: the same for every count of this index
            return self.index.once(f"figure:{metric}", lambda: self._figure(scope, metric))
        return self._figure(scope, metric)

    def _figure(self, scope: r.Scope, metric: str) -> np.ndarray:
        selection = self.selection(scope)
        key = ("figure", metric)
        if key not in selection.cache:
            person = self.column(scope, "person")
            if metric == "tickets":
                value = np.bincount(person, minlength=self.n)
            elif metric == "revenue":  # cents, exact in float64 below 2**53
                value = np.bincount(person, weights=self.column(scope, "cents"), minlength=self.n)
            elif metric == "events":
                value = np.bincount(person[self.column(scope, "first_of_event")], minlength=self.n)
            elif metric == "orders":
                facts = self.index.facts
                seen = np.zeros(len(facts.pair_person), dtype=bool)
                seen[self.column(scope, "order_pair")] = True
                value = np.bincount(facts.pair_person[seen], minlength=self.n)
            else:
                raise ValueError(metric)
            selection.cache[key] = value
        return selection.cache[key]

    def c_PurchaseCond(self, c: r.PurchaseCond, scope: r.Scope) -> np.ndarray:
        metric = _plain(c.metric)
        value = self.figure(scope, metric)
        mask = np.ones(self.n, dtype=bool)
        if metric == "revenue":  # in cents: compare with the bound's cents, rounded inward
            if c.min is not None:
                mask &= value >= math.ceil(Decimal(str(c.min)) * 100)
            if c.max is not None:
                mask &= value <= math.floor(Decimal(str(c.max)) * 100)
            return mask
        if c.min is not None:
            mask &= value >= c.min
        if c.max is not None:
            mask &= value <= c.max
        return mask

    def _having(self, scope: r.Scope, test: np.ndarray) -> np.ndarray:
        """Persons with a counted fact for which ``test`` (over the scope's facts) holds."""
        return self._rows_mask(self.column(scope, "person")[test])

    def c_ChannelCond(self, c: r.ChannelCond, scope: r.Scope) -> np.ndarray:
        wanted = _plain(c.channel)
        if wanted == "both":
            return self._used_channel(scope, 0) & self._used_channel(scope, 1)
        return self._used_channel(scope, CHANNELS.index(wanted))

    def c_LastPurchaseCond(self, c: r.LastPurchaseCond, scope: r.Scope) -> np.ndarray:
        """On the latest order's day, as existence tests: within N days means an order on a day in
        [today - N, today] and none later; exactly N, one on that day and none later."""
        day = self.column(scope, "order_day")
        first = self.today_day - c.days
        mode = _plain(c.mode)
        if mode == "exactly":
            return self._having(scope, day == first) & ~self._having(scope, day > first)
        within = self._having(scope, (day >= first) & (day <= self.today_day)) & ~self._having(
            scope, day > self.today_day
        )
        return within if mode == "within" else ~within

    def c_ImpulsiveCond(self, c: r.ImpulsiveCond, scope: r.Scope) -> np.ndarray:
        before = self.column(scope, "event_day") - self.column(scope, "order_day")
        counted = self.column(scope, "first_of_order_event") & (before >= 0) & (before <= c.max_days_before)
        person = self.column(scope, "person")[counted]
        if c.min_times <= 1:
            return self._rows_mask(person)
        return np.bincount(person, minlength=self.n) >= c.min_times


def _narrowable(node: r.Node) -> bool:
    """Whether ``node`` holds a condition computed only for the rows in play when they are few: a
    text pattern (contains, starts or ends with, or their negations) or a distance."""
    patterns = ("contains", "not_contains", "starts_with", "ends_with")
    return any(
        isinstance(n, r.DistanceCond)
        or (isinstance(n, r.TextCond | r.CustomFieldCond) and _plain(n.operator) in patterns)
        for n in r.walk(node)
    )


def _haversine_sql(plat: float, plon: float, lat: float, lon: float) -> float:
    """The compiler's great-circle distance, with PostgreSQL's floating-point steps."""
    a = math.pow(math.sin((math.radians(plat) - math.radians(lat)) / 2), 2) + math.cos(math.radians(plat)) * math.cos(
        math.radians(lat)
    ) * math.pow(math.sin((math.radians(plon) - math.radians(lon)) / 2), 2)
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


__all__ = ["Evaluator", "Sources", "NotIndexed"]
