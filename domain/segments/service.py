"""Segments (SPEC 5): saved dynamic filters, live counts, member lists, explanations."""

from __future__ import annotations

import enum
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from time import perf_counter
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import BigInteger, bindparam, delete, func, literal_column, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session

from domain.accounts.models import Module
from domain.audience.index import NotIndexed, RebuildNeeded
from domain.audience.live import CountReport
from domain.audience.registry import REGISTRY
from domain.audience.registry import report as audience_report
from domain.budgets import time_budget
from domain.catalog.models import Event, Production, Venue
from domain import clock
from domain.errors import Collector, ErrorCode, InputError, not_found
from domain.forms.models import Form
from domain.pagination import Page, keyset_page
from domain.people.models import ConsentType, Person
from domain.people.service import PersonSort, _coerce_cursor, _sort_keys, definitions_from_rows
from domain.segments import rules as r
from domain.segments.compiler import Compiler, SegmentDefinition
from domain.segments.describe import describe
from domain.segments.models import Segment
from domain.segments.references import WHAT, refuse_if_used, segment_edges, segments_using, store_references
from domain.text import clean
from domain.changes import UNSET, Unset
from domain.tags.models import Tag

MAX_NESTING = 10
TEXT_LIMITS = {"name": 200, "description": 5000}


class ModeKind(str, enum.Enum):
    ALL = "all"
    EVENT = "event"
    PRODUCTION = "production"


Mode = tuple[str, int] | None


# ----------------------------------------------------------------------------- compiling


@dataclass(frozen=True)
class AccountFacts:
    """What compiling rules needs from the account: its time zone, custom field types, modules
    and interest half-life."""

    timezone: str
    custom: dict[str, dict]
    modules: frozenset[str] = frozenset()
    half_life_days: float = 180.0


# The referenceable kinds: the column of FACTS_AND_REFERENCES that holds the ids found of each.
_REFERENCE_COLUMNS = {
    Tag: "tags",
    ConsentType: "consent_types",
    Form: "forms",
    Venue: "venues",
    Segment: "segments",
    Production: "productions",
    Event: "events",
}

# One fixed statement (prepared once per connection; nothing to build): the account's time zone
# and custom field definitions, and which of the ids a rule names exist in the account.
FACTS_AND_REFERENCES = text("""
    SELECT a.timezone, a.modules, a.score_half_life_days,
           coalesce((SELECT json_agg(json_build_array(d.key, d.type, d.choices))
                       FROM custom_field_definition d WHERE d.account_id = a.id AND d.retired_at IS NULL), '[]')
           AS custom,
           ARRAY(SELECT id FROM tag WHERE account_id = a.id AND id = ANY(:tags)) AS tags,
           ARRAY(SELECT id FROM consent_type WHERE account_id = a.id AND id = ANY(:consent_types)
                   AND retired_at IS NULL) AS consent_types,
           ARRAY(SELECT id FROM form WHERE account_id = a.id AND id = ANY(:forms)) AS forms,
           ARRAY(SELECT id FROM venue WHERE account_id = a.id AND id = ANY(:venues)) AS venues,
           ARRAY(SELECT id FROM segment WHERE account_id = a.id AND id = ANY(:segments)) AS segments,
           ARRAY(SELECT id FROM production WHERE account_id = a.id AND id = ANY(:productions)) AS productions,
           ARRAY(SELECT id FROM event WHERE account_id = a.id AND id = ANY(:events)) AS events
      FROM account a WHERE a.id = :a""").bindparams(
    *[bindparam(column, type_=ARRAY(BigInteger)) for column in _REFERENCE_COLUMNS.values()]
)


def _facts_and_found(
    session: Session, account_id: int, wanted: dict[Any, set[int]]
) -> tuple[AccountFacts, dict[Any, set[int]]]:
    row = session.execute(
        FACTS_AND_REFERENCES,
        {"a": account_id, **{column: sorted(wanted.get(model, ())) for model, column in _REFERENCE_COLUMNS.items()}},
    ).one()
    found = {model: set(getattr(row, column)) for model, column in _REFERENCE_COLUMNS.items()}
    facts = AccountFacts(
        row.timezone, definitions_from_rows(row.custom), frozenset(row.modules), row.score_half_life_days
    )
    return facts, found


def account_facts(session: Session, account_id: int) -> AccountFacts:
    """One statement: the account's time zone and custom field definitions."""
    return _facts_and_found(session, account_id, {})[0]


def _compiler(session: Session, account_id: int, now: datetime | None, facts: AccountFacts | None = None) -> Compiler:
    from domain.tags.service import descendant_ids  # noqa: PLC0415

    facts = facts or account_facts(session, account_id)
    custom = facts.custom

    def load_segment(segment_id: int) -> SegmentDefinition | None:
        row = session.execute(
            select(Segment).where(Segment.account_id == account_id, Segment.id == segment_id)
        ).scalar_one_or_none()
        if row is None:
            return None
        return SegmentDefinition(
            row.id,
            row.parent_id,
            r.parse_rule(row.rules or {"all": []}, custom_fields=custom),
            r.parse_scope(row.scope),
        )  # stored documents are checked like new ones

    def venue_point(venue_id: int):
        row = session.execute(
            select(Venue.latitude, Venue.longitude).where(Venue.account_id == account_id, Venue.id == venue_id)
        ).first()
        return (row[0], row[1]) if row and row[0] is not None and row[1] is not None else None

    return Compiler(
        account_id=account_id,
        timezone=facts.timezone,
        half_life_days=facts.half_life_days,
        now=now or clock.now(),
        load_segment=load_segment,
        tag_descendants=lambda tag_id: descendant_ids(session, account_id, [tag_id]),
        venue_point=venue_point,
    )


@contextmanager
def planned_with_values(session: Session) -> Iterator[None]:
    """Run segment statements unprepared, so PostgreSQL plans each with its values. psycopg
    prepares a statement text it has run 5 times on a connection, and after 5 more runs
    PostgreSQL may keep a generic plan that ignores the values: a rule on a tag held by 4,000
    persons would be planned like one on a tag held by 400,000. (Planning is ~1 ms against
    counts of 10 ms to seconds; fixed statements such as FACTS_AND_REFERENCES stay prepared.)"""
    dbapi = session.connection().connection.dbapi_connection
    threshold = getattr(dbapi, "prepare_threshold", None)
    if threshold is None:  # not psycopg 3, or preparing is off already
        yield
        return
    dbapi.prepare_threshold = None
    try:
        yield
    finally:
        dbapi.prepare_threshold = threshold


@contextmanager
def evaluating(session: Session, what: str, *path: str) -> Iterator[None]:
    """Segment statements run planned with their values and within the session's time budget."""
    with planned_with_values(session), time_budget(session, what, *path):
        yield


def member_statement(
    session: Session,
    account_id: int,
    *,
    rules: Rules,
    scope: ScopeLike = None,
    parent_id: int | None = None,
    mode: Mode = None,
    now: datetime | None = None,
):
    """One SQL statement selecting the ids of the persons who match (nothing runs yet)."""
    tree, parsed_scope, facts = check_references(
        session, account_id, rules=rules, scope=scope, parent_id=parent_id, mode=mode
    )
    return _compiler(session, account_id, now, facts).members(tree, parsed_scope, parent_id, mode)


def count_matching(
    session: Session,
    account_id: int,
    *,
    rules: Rules,
    scope: ScopeLike = None,
    parent_id: int | None = None,
    mode: Mode = None,
    now: datetime | None = None,
) -> int:
    """The live count for rules that are not saved (the editor calls it after every change)."""
    return count_matching_with_report(
        session, account_id, rules=rules, scope=scope, parent_id=parent_id, mode=mode, now=now
    )[0]


def count_matching_with_report(
    session: Session,
    account_id: int,
    *,
    rules: Rules,
    scope: ScopeLike = None,
    parent_id: int | None = None,
    mode: Mode = None,
    now: datetime | None = None,
    backend: str = "auto",
) -> tuple[int, CountReport]:
    """The live count and its telemetry: through the account's audience index when this process
    holds one that can answer exactly (caught up first), else through the SQL back end (two
    statements, one for the account's facts and the references, one for the count).
    ``backend="sql"`` asks the SQL back end only (the benchmark compares the two)."""
    query = {"rules": rules, "scope": scope, "parent_id": parent_id, "mode": mode, "now": now}
    indexed, reason = _count_indexed(session, account_id, backend, "of rules", query)
    if indexed is not None:
        return indexed
    started = perf_counter()
    tree, parsed_scope, facts = check_references(
        session, account_id, rules=rules, scope=scope, parent_id=parent_id, mode=mode
    )
    stmt = _compiler(session, account_id, now, facts).members(tree, parsed_scope, parent_id, mode)
    with evaluating(session, "counting these rules", "rules"):
        count = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    return count, _sql_report(account_id, "of rules", reason, started)


def _count_indexed(
    session: Session, account_id: int, backend: str, what: str, query: dict
) -> tuple[tuple[int, CountReport] | None, str]:
    """The count through the account's live index, or None and the reason it did not answer."""
    from domain.audience import counting as audience  # noqa: PLC0415 - it builds on this module

    if backend != "auto":
        return None, "asked for SQL"
    live = REGISTRY.get(session, account_id)
    if live is None:
        return None, "no audience index for this account in this process"
    try:
        count, report = audience.count_live(session, live, **query)
    except NotIndexed as refused:
        if isinstance(refused, RebuildNeeded):
            REGISTRY.stale(account_id)
        return None, str(refused)
    audience_report(account_id, what, report)
    return (count, report), ""


def _sql_report(account_id: int, what: str, reason: str, started: float) -> CountReport:
    report = CountReport("sql", reason, 0.0, (perf_counter() - started) * 1000)
    audience_report(account_id, what, report)
    return report


def matching_person_ids(
    session: Session,
    account_id: int,
    *,
    rules: Rules,
    scope: ScopeLike = None,
    parent_id: int | None = None,
    mode: Mode = None,
    now: datetime | None = None,
) -> set[int]:
    """All matching ids (for tests and small accounts; lists use ``list_members``)."""
    stmt = member_statement(session, account_id, rules=rules, scope=scope, parent_id=parent_id, mode=mode, now=now)
    with planned_with_values(session):
        return set(session.execute(stmt).scalars())


# ----------------------------------------------------------------------------- validation

Rules = r.Node | dict  # a typed tree (the API's) or a stored document
ScopeLike = r.Scope | dict | None

# Which model each kind of reference names, for the one statement that checks them.
_REFERENCE_MODELS = {
    "tag": Tag,
    "consent_type": ConsentType,
    "form": Form,
    "venue": Venue,
    "segment": Segment,
    "production": Production,
    "event": Event,
}


def check_references(
    session: Session,
    account_id: int,
    *,
    rules: Rules,
    scope: ScopeLike,
    parent_id: int | None = None,
    mode: Mode = None,
    segment_id: int | None = None,
    path: tuple = (),
    facts: AccountFacts | None = None,
) -> tuple[r.Node, r.Scope, AccountFacts]:
    """Check the rules and scope (typed or stored) and that every row they name belongs to the
    account; returns (rule tree, scope, account facts). The account's facts (unless given) and
    the references come from one statement.

    Refuses references to missing objects or another account's, and cycles through parents
    or segment references. Raises InputError naming each offending part of the rule.
    """
    outline = rules if not isinstance(rules, dict) else r.outline(rules, path=path + ("rules",))
    parsed_scope = r.parse_scope(scope, path=path + ("scope",))
    named = r.references(outline, parsed_scope, rules_path=path + ("rules",), scope_path=path + ("scope",))
    wanted = [(ref.kind, ref.value, ref.path) for ref in named if ref.kind != "custom_field"]
    if parent_id is not None:
        wanted.append(("segment", parent_id, path + ("parent_id",)))
    if mode is not None:
        wanted.append((mode[0], mode[1], path + ("mode", f"{mode[0]}_id")))
    by_model: dict[type, set[int]] = {}
    for kind, value, _ in wanted:
        by_model.setdefault(_REFERENCE_MODELS[kind], set()).add(value)
    known, found = _facts_and_found(session, account_id, by_model)
    facts = facts or known
    tree = r.check_rule(outline, custom_fields=facts.custom, path=path + ("rules",))
    problems = Collector()
    for kind, value, where in wanted:
        if value not in found[_REFERENCE_MODELS[kind]]:
            problems.add(ErrorCode.NOT_FOUND, f"{WHAT[kind]} not found", *where)
    if Module.RECOMMENDATIONS.value not in facts.modules:
        for ref in named:
            if ref.path[-2:] == ("interest", "tag_id"):
                problems.add(
                    ErrorCode.MODULE_NOT_ENABLED,
                    "interest scores need the recommendations module, which is not enabled for this account",
                    *ref.path[:-1],
                )
    problems.raise_if_any()
    if Segment in by_model or segment_id is not None:
        _check_cycles(session, account_id, tree=tree, parent_id=parent_id, segment_id=segment_id, path=path)
    return tree, parsed_scope, facts


def _check_cycles(
    session: Session, account_id: int, *, tree: r.Node, parent_id: int | None, segment_id: int | None, path: tuple
) -> None:
    """Follow parents and segment references from the new definition; meeting ``segment_id``
    (or any segment twice on one path) is a cycle. A chain longer than MAX_NESTING is refused.
    Each segment is explored once (its longest chain remembered), however often it is used."""
    edges = segment_edges(session, account_id)
    if segment_id is not None:
        edges.pop(segment_id, None)  # its edges are the new definition's
    longest: dict[int, int] = {}  # segment -> segments on its longest chain, itself included

    def chain(target: int, trail: set[int]) -> int:
        if target == segment_id or target in trail:
            raise _Cycle()
        if target not in longest:
            trail.add(target)
            longest[target] = 1 + max((chain(t, trail) for t in edges.get(target, ())), default=0)
            trail.discard(target)
        return longest[target]

    targets = [(ref.value, "rules") for ref in r.references(tree) if ref.kind == "segment"]
    if parent_id is not None:
        targets.append((parent_id, "parent_id"))
    for target, where in targets:
        try:
            length = chain(target, set())
        except _Cycle:
            raise InputError.single(
                ErrorCode.CYCLE, "segments would refer to each other in a cycle", *path, where
            ) from None
        if length > MAX_NESTING:
            raise InputError.single(
                ErrorCode.OUT_OF_RANGE, f"segments nest at most {MAX_NESTING} deep", *path, "parent_id"
            )


class _Cycle(Exception):
    pass


# ----------------------------------------------------------------------------- saved segments


@dataclass(frozen=True)
class SegmentChanges:
    """What an update changes: only the fields given (``UNSET`` leaves a field as it is; a scope
    of None removes the scope, a parent of None makes it a root)."""

    name: str | Unset = UNSET
    description: str | Unset = UNSET
    parent_id: int | None | Unset = UNSET
    rules: Rules | Unset = UNSET
    scope: ScopeLike | Unset = UNSET


def _text(name: str, value: str, problems: Collector) -> str:
    value = clean(value or "").strip()
    if len(value) > TEXT_LIMITS[name]:
        problems.add(ErrorCode.TOO_LONG, f"{name} is longer than {TEXT_LIMITS[name]} characters", name)
    if name == "name" and not value:
        problems.add(ErrorCode.REQUIRED, "a segment needs a name", "name")
    return value


def _store(session: Session, segment: Segment, tree: r.Node, scope: r.Scope) -> None:
    """The one place a segment's rules are written: the stored document and its reference rows."""
    segment.rules, segment.rules_version, segment.scope = r.encode(tree), r.RULES_VERSION, r.encode_scope(scope)
    session.flush()
    store_references(session, segment.account_id, segment.id, r.references(tree, scope))


def _lock_segments(session: Session, account_id: int) -> None:
    """Segment definitions of one account change one at a time (no two edits can make a cycle)."""
    session.execute(text("SELECT pg_advisory_xact_lock(:k, :a)"), {"k": 7302, "a": account_id})


def create_segment(
    session: Session,
    account_id: int,
    *,
    name: str,
    description: str = "",
    rules: Rules,
    scope: ScopeLike = None,
    parent_id: int | None = None,
) -> Segment:
    problems = Collector()
    name, description = _text("name", name, problems), _text("description", description, problems)
    problems.raise_if_any()
    _lock_segments(session, account_id)
    tree, parsed_scope, _ = check_references(session, account_id, rules=rules, scope=scope, parent_id=parent_id)
    segment = Segment(account_id=account_id, parent_id=parent_id, name=name, description=description)
    session.add(segment)
    _store(session, segment, tree, parsed_scope)
    return segment


def update_segment(session: Session, account_id: int, segment_id: int, changes: SegmentChanges) -> Segment:
    """Change name, description, rules, scope or parent (all optional)."""
    _lock_segments(session, account_id)
    segment = get_segment(session, account_id, segment_id, lock=True)
    if segment is None:
        raise not_found("segment", "id")
    problems = Collector()
    name = segment.name if isinstance(changes.name, Unset) else _text("name", changes.name, problems)
    description = (
        segment.description
        if isinstance(changes.description, Unset)
        else _text("description", changes.description, problems)
    )
    problems.raise_if_any()
    rules = segment.rules if isinstance(changes.rules, Unset) else changes.rules
    scope = segment.scope if isinstance(changes.scope, Unset) else changes.scope
    parent_id = segment.parent_id if isinstance(changes.parent_id, Unset) else changes.parent_id
    tree, parsed_scope, _ = check_references(
        session, account_id, rules=rules, scope=scope, parent_id=parent_id, segment_id=segment_id
    )
    segment.name, segment.description, segment.parent_id = name, description, parent_id
    segment.updated_at = clock.now()
    _store(session, segment, tree, parsed_scope)
    return segment


def repoint_references(session: Session, account_id: int, *, kind: str, mapping: dict) -> None:
    """Rewrite every segment that names a row of ``kind`` in ``mapping`` to name its replacement
    (tag merges): rules, scopes and reference rows, through the codec."""
    users = segments_using(session, account_id, kind, mapping)
    if not users:
        return
    facts = account_facts(session, account_id)
    for segment in session.execute(
        select(Segment)
        .where(Segment.account_id == account_id, Segment.id.in_([segment_id for segment_id, _ in users]))
        .order_by(Segment.id)
        .with_for_update()
    ).scalars():
        tree = r.parse_rule(segment.rules, custom_fields=facts.custom)
        tree, scope = r.replace_references(tree, r.parse_scope(segment.scope), kind=kind, mapping=mapping)
        segment.updated_at = clock.now()
        _store(session, segment, tree, scope)


def delete_segment(session: Session, account_id: int, segment_id: int) -> None:
    """Deleting a segment never touches persons. Segments and tag rules that use it must change first."""
    _lock_segments(session, account_id)
    if get_segment(session, account_id, segment_id) is None:
        raise not_found("segment", "id")
    children = (
        session.execute(
            select(Segment.name)
            .where(Segment.account_id == account_id, Segment.parent_id == segment_id)
            .order_by(Segment.name)
        )
        .scalars()
        .all()
    )
    if children:
        raise InputError.single(
            ErrorCode.CONFLICT,
            f"segment(s) {', '.join(map(repr, children[:5]))} are nested under this segment; move or delete them first",
            "id",
        )
    refuse_if_used(session, account_id, "segment", [segment_id], "id")
    if session.execute(
        select(Tag.name)
        .where(
            Tag.account_id == account_id,
            (Tag.visibility_include_segment_id == segment_id) | (Tag.visibility_exclude_segment_id == segment_id),
        )
        .limit(1)
    ).first():
        raise InputError.single(ErrorCode.CONFLICT, "a tag's visibility rule uses this segment", "id")
    session.execute(delete(Segment).where(Segment.account_id == account_id, Segment.id == segment_id))


def get_segment(session: Session, account_id: int, segment_id: int, *, lock: bool = False) -> Segment | None:
    stmt = select(Segment).where(Segment.account_id == account_id, Segment.id == segment_id)
    if lock:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def list_segments(
    session: Session,
    account_id: int,
    *,
    parent_id: int | None = None,
    roots_only: bool = False,
    search: str | None = None,
    first: int | None = None,
    after: str | None = None,
) -> Page[Segment]:
    keys = [func.lower(Segment.name), Segment.id]
    stmt = select(Segment, *keys).where(Segment.account_id == account_id)
    if parent_id is not None:
        stmt = stmt.where(Segment.parent_id == parent_id)
    if roots_only:
        stmt = stmt.where(Segment.parent_id.is_(None))
    if search:
        stmt = stmt.where(func.lower(Segment.name).contains(search.strip().lower(), autoescape=True))
    from domain.pagination import cursor_int  # noqa: PLC0415

    return keyset_page(
        session, stmt, keys, descending=False, first=first, after=after, coerce=lambda v: [str(v[0]), cursor_int(v[1])]
    )


def _saved_members(session: Session, account_id: int, segment_id: int, mode: Mode, now: datetime | None):
    """The statement selecting a saved segment's member ids."""
    if get_segment(session, account_id, segment_id) is None:
        raise not_found("segment", "id")
    facts = None
    if mode is not None:
        facts, found = _facts_and_found(session, account_id, {_REFERENCE_MODELS[mode[0]]: {mode[1]}})
        if mode[1] not in found[_REFERENCE_MODELS[mode[0]]]:
            raise not_found(WHAT[mode[0]], "mode", f"{mode[0]}_id")
    return _compiler(session, account_id, now, facts).segment_members(segment_id, mode)


def saved_members_statement(
    session: Session, account_id: int, segment_id: int, mode: Mode = None, now: datetime | None = None
):
    """The statement selecting a saved segment's member ids (nothing runs yet but the checks of the
    segment and the mode's event or production: typed errors when not in the account)."""
    return _saved_members(session, account_id, segment_id, mode, now)


def count_segment(
    session: Session, account_id: int, segment_id: int, *, mode: Mode = None, now: datetime | None = None
) -> int:
    return count_segment_with_report(session, account_id, segment_id, mode=mode, now=now)[0]


def count_segment_with_report(
    session: Session,
    account_id: int,
    segment_id: int,
    *,
    mode: Mode = None,
    now: datetime | None = None,
    backend: str = "auto",
) -> tuple[int, CountReport]:
    """A saved segment's members now, and the count's telemetry: through the live index as the
    persons its membership condition holds for (its rules, scope and parents), else by SQL."""
    if get_segment(session, account_id, segment_id) is None:
        raise not_found("segment", "id")
    query = {"rules": r.SegmentCond(segment_id, True), "mode": mode, "now": now}
    indexed, reason = _count_indexed(session, account_id, backend, "of segment", query)
    if indexed is not None:
        return indexed
    started = perf_counter()
    ids = _saved_members(session, account_id, segment_id, mode, now)
    with evaluating(session, "counting this segment"):
        count = session.execute(select(func.count()).select_from(ids.subquery())).scalar_one()
    return count, _sql_report(account_id, "of segment", reason, started)


def list_members(
    session: Session,
    account_id: int,
    segment_id: int,
    *,
    mode: Mode = None,
    sort: PersonSort = PersonSort.CREATED_AT,
    descending: bool = True,
    first: int | None = None,
    after: str | None = None,
    now: datetime | None = None,
) -> Page[Person]:
    """Members with cursor pagination (sortable like the person list); one statement per page."""
    ids = _saved_members(session, account_id, segment_id, mode, now)
    keys = _sort_keys(sort)
    stmt = select(Person, *keys).where(Person.account_id == account_id, Person.id.in_(ids))
    with evaluating(session, "listing this segment's members"):
        return keyset_page(
            session, stmt, keys, descending=descending, first=first, after=after, coerce=_coerce_cursor(sort)
        )


def is_member(session: Session, account_id: int, segment_id: int, person_id: int, now: datetime | None = None) -> bool:
    """Membership test for one person (tag visibility rules use it)."""
    ids = _saved_members(session, account_id, segment_id, None, now)
    with time_budget(session, "testing membership of this segment"):
        return session.execute(ids.where(literal_column("p.id") == person_id).limit(1)).first() is not None


# ----------------------------------------------------------------------------- explanation


@dataclass
class Explanation:
    """One node of the rules with whether this person meets it: in words, and as the stored
    document of the node (``condition``, None for groups)."""

    kind: str
    matched: bool
    description: str
    children: list[Explanation]
    condition: dict | None = None


def _names(session: Session, account_id: int, trees: list[r.Node]) -> Callable[[str, object], str]:
    """Readable names of the rows the rules name (one statement per kind named)."""
    wanted: dict[str, set] = {}
    for tree in trees:
        for ref in r.references(tree):
            wanted.setdefault(ref.kind, set()).add(ref.value)
    columns = {
        "tag": (Tag, Tag.label),
        "segment": (Segment, Segment.name),
        "form": (Form, Form.title),
        "consent_type": (ConsentType, ConsentType.name),
        "venue": (Venue, Venue.name),
    }
    found: dict[tuple[str, object], str] = {}
    for kind, ids in wanted.items():
        if kind in columns:
            model, column = columns[kind]
            for row_id, name in session.execute(
                select(model.id, column).where(model.account_id == account_id, model.id.in_(sorted(ids)))
            ):
                found[(kind, row_id)] = name
    return lambda kind, value: repr(found.get((kind, value), value))


def explain(session: Session, account_id: int, segment_id: int, person_id: int, now: datetime | None = None) -> dict:
    """Which conditions of a segment (and its parents) this person meets or misses, in one statement."""
    segment = get_segment(session, account_id, segment_id)
    if segment is None:
        raise not_found("segment", "segmentId")
    if (
        session.execute(
            select(Person.id).where(Person.account_id == account_id, Person.id == person_id, Person.erased_at.is_(None))  # type: ignore[union-attr]
        ).first()
        is None
    ):
        raise not_found("person", "personId")
    compiler = _compiler(session, account_id, now)
    chain: list = []
    current: Segment | None = segment
    while current is not None:
        chain.append((current, compiler.compilation.segment(current.id)))
        current = get_segment(session, account_id, current.parent_id) if current.parent_id else None
    statement, plans = compiler.explanation([definition for _, definition in chain], person_id)
    with evaluating(session, "explaining this segment"):
        values = session.execute(statement).one()
    names = _names(session, account_id, [definition.rule for _, definition in chain])

    def build(plan, node: r.Node) -> Explanation:
        index, children = plan
        child_nodes = (
            node.children if isinstance(node, (r.All, r.Any_)) else [node.child] if isinstance(node, r.Not) else []
        )
        return Explanation(
            kind=type(node).__name__.rstrip("_").removesuffix("Cond").lower(),
            matched=bool(values[index]),
            description=describe(node, names),
            children=[build(c, n) for c, n in zip(children, child_nodes)],
            condition=None if isinstance(node, (r.All, r.Any_, r.Not)) else r.encode(node),
        )

    levels = []
    for (row, definition), (tree, scope_index) in zip(chain, plans):
        rules_result = build(tree, definition.rule)
        in_scope = True if scope_index is None else bool(values[scope_index])
        levels.append(
            {
                "segment_id": row.id,
                "name": row.name,
                "rules": rules_result,
                "scope_set": definition.scope.is_set,
                "holds_in_scope_ticket": in_scope,
                "member": rules_result.matched and in_scope,
            }
        )
    return {"member": all(level["member"] for level in levels), "levels": levels}
