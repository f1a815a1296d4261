"""Tag housekeeping (SPEC 3.2–3.4): create, update, re-parent, attach, detach, merge, delete,
search, counts and "who" lists. Every statement filters by account."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from collections.abc import Iterable

from sqlalchemy import BigInteger, and_, case, cast, delete, func, or_, select, text, true, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import Session

from domain import events
from domain.changes import UNSET, Unset, given
from domain.catalog.models import Production
from domain import clock
from domain.errors import Collector, ErrorCode, InputError, not_found
from domain.pagination import Page, cursor_int, decode_cursor, encode_cursor, keyset_page, page_size
from domain.people.models import Organisation, Person
from domain.segments.models import Segment
from domain.segments.references import refuse_if_used
from domain.tags.models import OrganisationTag, PersonTag, ProductionTag, Tag, TagCategory, TagCounter, TagSource
from domain.tags.names import MAX_NAME_LENGTH, name_key, normalise, single_name, split_names

MAX_TARGETS = 10_000  # targets named in one call (larger sets: label a segment's members, a job)
MAX_TAGS = 1000  # tags named in one call
MAX_MERGED = 100  # tags merged in one call
TEXT_LIMITS = {"note": 5000, "label": 200, "description": 5000}


class TargetKind(str, enum.Enum):
    PERSON = "person"
    PRODUCTION = "production"
    ORGANISATION = "organisation"


LINK_MODELS = {
    TargetKind.PERSON: (PersonTag, PersonTag.person_id, Person),
    TargetKind.PRODUCTION: (ProductionTag, ProductionTag.production_id, Production),
    TargetKind.ORGANISATION: (OrganisationTag, OrganisationTag.organisation_id, Organisation),
}


def _now() -> datetime:
    return clock.now()


# ----------------------------------------------------------------------------- reads


def get_tag(session: Session, account_id: int, tag_id: int, *, lock: bool = False) -> Tag | None:
    stmt = select(Tag).where(Tag.account_id == account_id, Tag.id == tag_id)
    if lock:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def require_tag(session: Session, account_id: int, tag_id: int, *path: str, lock: bool = False) -> Tag:
    tag = get_tag(session, account_id, tag_id, lock=lock)
    if tag is None:
        raise not_found("tag", *path)
    return tag


def tags_by_id(session: Session, account_id: int, tag_ids: Iterable[int]) -> dict[int, Tag]:
    ids = list(set(tag_ids))
    if not ids:
        return {}
    return {
        t.id: t for t in session.execute(select(Tag).where(Tag.account_id == account_id, Tag.id.in_(ids))).scalars()
    }


def all_tags(session: Session, account_id: int) -> list[Tag]:
    """Every tag of the account (a few hundred): one statement, ordered for display."""
    return list(
        session.execute(
            select(Tag).where(Tag.account_id == account_id).order_by(Tag.position, Tag.name_key, Tag.id)
        ).scalars()
    )


def tag_by_name(session: Session, account_id: int, name: str) -> Tag | None:
    return session.execute(
        select(Tag).where(Tag.account_id == account_id, Tag.name_key == name_key(name))
    ).scalar_one_or_none()


@dataclass
class TagFilter:
    search: str | None = None
    category_id: int | None = None
    parent_id: int | None = None
    roots_only: bool = False
    active: bool | None = None
    starred: bool | None = None
    show_on_form: bool | None = None


def list_tags(
    session: Session,
    account_id: int,
    *,
    filter: TagFilter | None = None,
    first: int | None = None,
    after: str | None = None,
) -> Page[Tag]:
    """Starred tags first, then by name."""
    flt = filter or TagFilter()
    star_rank = case((Tag.starred, 0), else_=1)
    keys = [star_rank, Tag.name_key, Tag.id]
    stmt = select(Tag, *keys).where(Tag.account_id == account_id)
    if flt.search:
        needle = flt.search.strip().casefold()
        stmt = stmt.where(
            or_(Tag.name_key.contains(needle, autoescape=True), func.lower(Tag.label).contains(needle, autoescape=True))
        )
    if flt.category_id is not None:
        stmt = stmt.where(Tag.category_id == flt.category_id)
    if flt.parent_id is not None:
        stmt = stmt.where(Tag.parent_id == flt.parent_id)
    if flt.roots_only:
        stmt = stmt.where(Tag.parent_id.is_(None))
    for column, value in ((Tag.active, flt.active), (Tag.starred, flt.starred), (Tag.show_on_form, flt.show_on_form)):
        if value is not None:
            stmt = stmt.where(column.is_(value))

    def coerce(values):
        try:
            return [cursor_int(values[0]), str(values[1]), cursor_int(values[2])]
        except (TypeError, ValueError):
            raise InputError.single(ErrorCode.INVALID, "not a cursor of this list", "after") from None

    return keyset_page(session, stmt, keys, descending=False, first=first, after=after, coerce=coerce)


def counters(session: Session, account_id: int, tag_ids: Iterable[int] | None = None) -> dict[int, TagCounter]:
    """Exact counts per tag, current at query time (kept by triggers with the links)."""
    stmt = select(TagCounter).where(TagCounter.account_id == account_id)
    if tag_ids is not None:
        ids = list(set(tag_ids))
        if not ids:
            return {}
        stmt = stmt.where(TagCounter.tag_id.in_(ids))
    return {c.tag_id: c for c in session.execute(stmt).scalars()}


def recount(session: Session, account_id: int) -> None:
    """Rebuild the counters from the links (after bulk loads that bypass triggers)."""
    session.execute(
        text("""
        INSERT INTO tag_counter (account_id, tag_id) SELECT account_id, id FROM tag WHERE account_id = :a
        ON CONFLICT DO NOTHING"""),
        {"a": account_id},
    )
    session.execute(
        text("""
        UPDATE tag_counter c SET
            persons = coalesce(p.persons, 0), persons_by_person = coalesce(p.by_person, 0),
            persons_by_staff = coalesce(p.by_staff, 0), persons_by_integration = coalesce(p.by_integration, 0),
            productions = coalesce(r.n, 0), organisations = coalesce(o.n, 0)
        FROM tag t
        LEFT JOIN (SELECT tag_id, count(DISTINCT person_id) AS persons,
                          count(*) FILTER (WHERE source = 'person') AS by_person,
                          count(*) FILTER (WHERE source = 'staff') AS by_staff,
                          count(*) FILTER (WHERE source = 'integration') AS by_integration
                     FROM person_tag WHERE account_id = :a GROUP BY tag_id) p ON p.tag_id = t.id
        LEFT JOIN (SELECT tag_id, count(DISTINCT production_id) AS n FROM production_tag
                    WHERE account_id = :a GROUP BY tag_id) r ON r.tag_id = t.id
        LEFT JOIN (SELECT tag_id, count(DISTINCT organisation_id) AS n FROM organisation_tag
                    WHERE account_id = :a GROUP BY tag_id) o ON o.tag_id = t.id
        WHERE c.account_id = :a AND t.account_id = :a AND t.id = c.tag_id"""),
        {"a": account_id},
    )


def descendant_ids(session: Session, account_id: int, tag_ids: Iterable[int]) -> set[int]:
    """The tags and all their subtags (recursive, one statement)."""
    ids = list(set(tag_ids))
    if not ids:
        return set()
    tree = select(Tag.id).where(Tag.account_id == account_id, Tag.id.in_(ids)).cte("tree", recursive=True)
    tree = tree.union(select(Tag.id).where(Tag.account_id == account_id, Tag.parent_id == tree.c.id))
    return set(session.execute(select(tree.c.id)).scalars())


def ancestor_ids(session: Session, account_id: int, tag_id: int) -> list[int]:
    chain = (
        select(Tag.id, Tag.parent_id).where(Tag.account_id == account_id, Tag.id == tag_id).cte("chain", recursive=True)
    )
    chain = chain.union(select(Tag.id, Tag.parent_id).where(Tag.account_id == account_id, Tag.id == chain.c.parent_id))
    return list(session.execute(select(chain.c.id)).scalars())


def descendants_by_tag(session: Session, account_id: int, tag_ids: Iterable[int]) -> dict[int, set[int]]:
    """Each tag with all its subtags (one recursive statement for all of them)."""
    ids = sorted(set(tag_ids))
    if not ids:
        return {}
    tree = (
        select(Tag.id.label("root"), Tag.id.label("id"))
        .where(Tag.account_id == account_id, Tag.id.in_(ids))
        .cte("tree", recursive=True)
    )
    tree = tree.union(select(tree.c.root, Tag.id).where(Tag.account_id == account_id, Tag.parent_id == tree.c.id))
    found: dict[int, set[int]] = {}
    for root, tag_id in session.execute(select(tree.c.root, tree.c.id)):
        found.setdefault(root, set()).add(tag_id)
    return found


def _tag_groups(session: Session, account_id: int, tag_ids: list[int], include_subtags: bool):
    """(root tag, tag) pairs as a VALUES-like table: each tag alone, or with its subtags."""
    groups = descendants_by_tag(session, account_id, tag_ids) if include_subtags else {t: {t} for t in tag_ids}
    pairs = sorted((root, member) for root, members in groups.items() for member in members)
    return select(
        func.unnest(cast([p[0] for p in pairs], ARRAY(BigInteger))).label("root"),
        func.unnest(cast([p[1] for p in pairs], ARRAY(BigInteger))).label("tag_id"),
    ).subquery("g")


def who_by_tag(
    session: Session,
    account_id: int,
    tag_ids: Iterable[int],
    *,
    source: str | None = None,
    include_subtags: bool = False,
    first: int | None = None,
    after: str | None = None,
) -> dict[int, Page[Person]]:
    """A page of the persons carrying each tag (or a subtag), by id, for many tags in one
    statement: every tag's page starts after the same cursor (the same field arguments)."""
    ids = sorted(set(tag_ids))
    limit = page_size(first)
    start = cursor_int(decode_cursor(after, 1)[0]) if after else None
    if not ids:
        return {}
    groups = _tag_groups(session, account_id, ids, include_subtags)
    roots = select(func.distinct(groups.c.root).label("root")).subquery("r")
    links = (
        select(PersonTag.person_id)
        .join(groups, groups.c.tag_id == PersonTag.tag_id)
        .where(PersonTag.account_id == account_id, groups.c.root == roots.c.root)
    )
    if source is not None:
        links = links.where(PersonTag.source == source)
    if start is not None:
        links = links.where(PersonTag.person_id > start)
    page = links.group_by(PersonTag.person_id).order_by(PersonTag.person_id).limit(limit + 1).lateral("page")
    rows = session.execute(
        select(roots.c.root, Person)
        .select_from(roots.join(page, true()))
        .join(Person, and_(Person.account_id == account_id, Person.id == page.c.person_id))
        .order_by(roots.c.root, Person.id)
    ).all()
    found: dict[int, list[Person]] = {t: [] for t in ids}
    for root, person in rows:
        found[root].append(person)
    return {
        t: Page(
            items=items[:limit],
            cursors=[encode_cursor([p.id]) for p in items[:limit]],
            has_next_page=len(items) > limit,
            has_previous_page=bool(after),
        )
        for t, items in found.items()
    }


def count_who_by_tag(
    session: Session,
    account_id: int,
    tag_ids: Iterable[int],
    *,
    source: str | None = None,
    include_subtags: bool = False,
) -> dict[int, int]:
    """Distinct persons carrying each tag (or a subtag), optionally from one source."""
    ids = sorted(set(tag_ids))
    if not ids:
        return {}
    if not include_subtags and source is None:
        rows = counters(session, account_id, ids)
        return {t: rows[t].persons if t in rows else 0 for t in ids}
    groups = _tag_groups(session, account_id, ids, include_subtags)
    stmt = (
        select(groups.c.root, func.count(func.distinct(PersonTag.person_id)))
        .join(groups, groups.c.tag_id == PersonTag.tag_id)
        .where(PersonTag.account_id == account_id)
    )
    if source is not None:
        stmt = stmt.where(PersonTag.source == source)
    counted = dict(session.execute(stmt.group_by(groups.c.root)).all())
    return {t: counted.get(t, 0) for t in ids}


def links_for_targets(session: Session, account_id: int, target: TargetKind, target_ids: list[int]) -> dict[int, list]:
    link, target_col, _ = LINK_MODELS[target]
    out: dict[int, list] = {i: [] for i in target_ids}
    if target_ids:
        rows = session.execute(
            select(link).where(link.account_id == account_id, target_col.in_(target_ids)).order_by(link.created_at)
        ).scalars()
        for row in rows:
            out[getattr(row, f"{target.value}_id")].append(row)
    return out


# ----------------------------------------------------------------------------- writes


def _check_text(values: dict[str, Any], problems: Collector) -> None:
    for key, limit in TEXT_LIMITS.items():
        value = values.get(key)
        if value is not None and len(value) > limit:
            problems.add(ErrorCode.TOO_LONG, f"{key} is longer than {limit} characters", key)


def _check_refs(session: Session, account_id: int, values: dict[str, Any], problems: Collector) -> None:
    if (
        values.get("category_id") is not None
        and session.execute(
            select(TagCategory.id).where(TagCategory.account_id == account_id, TagCategory.id == values["category_id"])
        ).first()
        is None
    ):
        problems.add(ErrorCode.NOT_FOUND, "category not found", "category_id")
    for key in ("visibility_include_segment_id", "visibility_exclude_segment_id"):
        if (
            values.get(key) is not None
            and session.execute(
                select(Segment.id).where(Segment.account_id == account_id, Segment.id == values[key])
            ).first()
            is None
        ):
            problems.add(ErrorCode.NOT_FOUND, "segment not found", key)
    if values.get("position") is not None and not 0 <= values["position"] <= 1_000_000:
        problems.add(ErrorCode.OUT_OF_RANGE, "position is between 0 and 1000000", "position")


@dataclass(frozen=True)
class TagFields:
    """New tags (createTags): one per comma-separated name, all with these fields."""

    names: str
    category_id: int | None = None
    parent_id: int | None = None
    note: str = ""
    label: str | None = None  # the name when not given
    description: str = ""
    active: bool = True
    show_on_form: bool = False
    visible_to_everyone: bool = True
    visibility_include_segment_id: int | None = None
    visibility_exclude_segment_id: int | None = None
    position: int = 0
    show_on_website: bool = False
    starred: bool = False


@dataclass(frozen=True)
class TagChanges:
    """What an update changes (``UNSET``: as it is). A name another tag has merges the two."""

    name: str | Unset = UNSET
    category_id: int | None | Unset = UNSET
    parent_id: int | None | Unset = UNSET
    note: str | Unset = UNSET
    label: str | Unset = UNSET
    description: str | Unset = UNSET
    active: bool | Unset = UNSET
    show_on_form: bool | Unset = UNSET
    visible_to_everyone: bool | Unset = UNSET
    visibility_include_segment_id: int | None | Unset = UNSET
    visibility_exclude_segment_id: int | None | Unset = UNSET
    position: int | Unset = UNSET
    show_on_website: bool | Unset = UNSET
    starred: bool | Unset = UNSET


NULLABLE = {"category_id", "parent_id", "visibility_include_segment_id", "visibility_exclude_segment_id"}


def create_tags(session: Session, account_id: int, fields: TagFields, *, policy: str) -> list[Tag]:
    """Create one tag per comma-separated name. A name that exists already is refused."""
    values = {k: v for k, v in asdict(fields).items() if k != "names"}
    names = fields.names
    problems = Collector()
    _check_text(values, problems)
    _check_refs(session, account_id, values, problems)
    problems.raise_if_any()
    parent_id = values.get("parent_id")
    if parent_id is not None:
        require_tag(session, account_id, parent_id, "parent_id")
    created = []
    for name in split_names(names, policy, "names"):
        # Row lock-free uniqueness: the unique index decides; ON CONFLICT tells us it lost.
        row = session.execute(
            pg_insert(Tag)
            .values(
                account_id=account_id,
                name=name,
                name_key=name_key(name),
                label=values.get("label") or name,
                **{k: v for k, v in values.items() if k != "label"},
            )
            .on_conflict_do_nothing(index_elements=[Tag.account_id, Tag.name_key])
            .returning(Tag.id)
        ).first()
        if row is None:
            raise InputError.single(ErrorCode.DUPLICATE, f"a tag named {name!r} exists already", "names")
        created.append(row[0])
    found = tags_by_id(session, account_id, created)
    return [found[i] for i in created]


def ensure_tags(session: Session, account_id: int, *, policy: str, names: str) -> list[Tag]:
    """The tags with these comma-separated names, creating the missing ones (typing)."""
    return ensure_tag_names(session, account_id, policy=policy, names=split_names(names, policy, "names"))


def ensure_tag_names(session: Session, account_id: int, *, policy: str, names: list[str]) -> list[Tag]:
    """The tags with these names (in this order), creating the missing ones (feeds)."""
    wanted = [normalise(n, policy) for n in names]
    keys = [name_key(n) for n in wanted]
    session.execute(
        pg_insert(Tag)
        .values([{"account_id": account_id, "name": n, "name_key": name_key(n), "label": n} for n in wanted])
        .on_conflict_do_nothing(index_elements=[Tag.account_id, Tag.name_key])
    )
    rows = {
        t.name_key: t
        for t in session.execute(select(Tag).where(Tag.account_id == account_id, Tag.name_key.in_(keys))).scalars()
    }
    return [rows[k] for k in keys]


def _check_parent(session: Session, account_id: int, tag_id: int, parent_id: int | None) -> None:
    if parent_id is None:
        return
    if parent_id == tag_id:
        raise InputError.single(ErrorCode.CYCLE, "a tag cannot be its own parent", "parent_id")
    require_tag(session, account_id, parent_id, "parent_id")
    if tag_id in ancestor_ids(session, account_id, parent_id):
        raise InputError.single(
            ErrorCode.CYCLE, "that parent is a subtag of this tag: it would make a cycle", "parent_id"
        )


def update_tag(session: Session, account_id: int, tag_id: int, changes: TagChanges, *, policy: str) -> Tag:
    """Change a tag's fields. A new name that belongs to another tag merges this tag into it
    (SPEC 3.4); the survivor is returned."""
    tag = require_tag(session, account_id, tag_id, "id", lock=True)
    values = given(changes)
    problems = Collector()
    for key, value in values.items():
        if value is None and key not in NULLABLE:
            problems.add(ErrorCode.REQUIRED, f"{key} cannot be null", key)
    problems.raise_if_any()
    _check_text(values, problems)
    _check_refs(session, account_id, values, problems)
    if "label" in values and not (values["label"] or "").strip():
        problems.add(ErrorCode.REQUIRED, "a tag needs a label", "label")
    problems.raise_if_any()
    if "parent_id" in values:
        # Serialise tree edits in this account so two concurrent re-parents cannot form a cycle.
        session.execute(text("SELECT pg_advisory_xact_lock(:k, :a)"), {"k": 7301, "a": account_id})
        _check_parent(session, account_id, tag_id, values["parent_id"])
    if "name" in values:
        new_name = single_name(values.pop("name"), policy, "name")
        other = tag_by_name(session, account_id, new_name)
        if other is not None and other.id != tag_id:
            for key, value in values.items():
                setattr(tag, key, value)
            return merge_tags(session, account_id, tag_ids=[tag_id], into_id=other.id, policy=policy)
        tag.name, tag.name_key = new_name, name_key(new_name)
    for key, value in values.items():
        setattr(tag, key, value)
    tag.updated_at = _now()
    session.flush()
    return tag


def targets_of_one_kind(targets: list[tuple[TargetKind | None, int]], *path: str) -> tuple[TargetKind, list[int]]:
    # (a kind of None is refused below, so the kind returned is one)
    """The kind and ids of targets that must all be persons, productions or organisations (a
    target of no known kind — a malformed or foreign id — is not found)."""
    for i, (kind, _) in enumerate(targets):
        if kind is None:
            raise InputError.single(ErrorCode.NOT_FOUND, "person, production or organisation not found", *path, str(i))
    kinds = {kind for kind, _ in targets}
    if not kinds:
        raise InputError.single(ErrorCode.REQUIRED, "name at least one target", *path)
    if len(kinds) > 1:
        raise InputError.single(ErrorCode.INVALID, "targets must all be persons, productions or organisations", *path)
    kind = kinds.pop()
    assert kind is not None
    return kind, [target_id for _, target_id in targets]


def attach(
    session: Session,
    account_id: int,
    *,
    tag_ids: list[int],
    target: TargetKind,
    target_ids: list[int],
    source: TagSource | str,
    actor: str | None,
) -> int:
    """Link every tag to every target from ``source``; existing links stay. Returns links added."""
    source = TagSource(source).value
    _check_sizes(tag_ids, target_ids)
    tag_ids, target_ids = sorted(set(tag_ids)), sorted(set(target_ids))
    _check_bulk(session, account_id, tag_ids, target, target_ids)
    link, target_col, _ = LINK_MODELS[target]
    stmt = text(f"""
        INSERT INTO {link.__tablename__} (account_id, tag_id, {target.value}_id, source, actor, created_at)
        SELECT :a, t, x, :s, :actor, now() FROM unnest(CAST(:tags AS bigint[])) t
        CROSS JOIN unnest(CAST(:targets AS bigint[])) x
        ORDER BY t, x
        ON CONFLICT DO NOTHING""")
    result = session.execute(
        stmt, {"a": account_id, "s": source, "actor": actor, "tags": tag_ids, "targets": target_ids}
    )
    if result.rowcount:
        events.record(
            session,
            events.TagsAttached(
                account_id=account_id,
                tag_ids=tuple(tag_ids),
                target=target.value,
                target_ids=tuple(target_ids),
                source=source,
            ),
        )
    return result.rowcount


def detach(
    session: Session,
    account_id: int,
    *,
    tag_ids: list[int],
    target: TargetKind,
    target_ids: list[int],
    sources: list[str] | None,
) -> int:
    """Remove the links of these sources (all sources when None). Returns links removed."""
    _check_sizes(tag_ids, target_ids)
    tag_ids, target_ids = sorted(set(tag_ids)), sorted(set(target_ids))
    _check_bulk(session, account_id, tag_ids, target, target_ids)
    link, target_col, _ = LINK_MODELS[target]
    stmt = delete(link).where(link.account_id == account_id, link.tag_id.in_(tag_ids), target_col.in_(target_ids))
    if sources is not None:
        stmt = stmt.where(link.source.in_([TagSource(s).value for s in sources]))
    return session.execute(stmt).rowcount


def _check_sizes(tag_ids: list[int], target_ids: list[int]) -> None:
    """Caps on what one call may name, counted as given (repeats included: the work is theirs)."""
    problems = Collector()
    if len(target_ids) > MAX_TARGETS:
        problems.add(ErrorCode.OUT_OF_RANGE, f"at most {MAX_TARGETS} targets at once", "target_ids")
    if len(tag_ids) > MAX_TAGS:
        problems.add(ErrorCode.OUT_OF_RANGE, f"at most {MAX_TAGS} tags at once", "tag_ids")
    problems.raise_if_any()


def _check_bulk(
    session: Session, account_id: int, tag_ids: list[int], target: TargetKind, target_ids: list[int]
) -> None:
    if target is TargetKind.ORGANISATION:
        from domain.organisations.service import require_module  # noqa: PLC0415

        require_module(session, account_id)
    problems = Collector()
    if not tag_ids:
        problems.add(ErrorCode.REQUIRED, "name at least one tag", "tag_ids")
    if not target_ids:
        problems.add(ErrorCode.REQUIRED, f"name at least one {target.value}", "target_ids")
    problems.raise_if_any()
    found_tags = session.execute(
        select(func.count()).select_from(Tag).where(Tag.account_id == account_id, Tag.id.in_(tag_ids))
    ).scalar_one()
    if found_tags != len(tag_ids):
        problems.add(ErrorCode.NOT_FOUND, "tag not found", "tag_ids")
    _, _, model = LINK_MODELS[target]
    found = session.execute(
        text(f"""SELECT count(*) FROM {model.__tablename__}
        WHERE account_id = :a AND id = ANY(CAST(:ids AS bigint[]))
        {"AND erased_at IS NULL" if model is Person else ""}"""),
        {"a": account_id, "ids": target_ids},
    ).scalar_one()
    if found != len(target_ids):
        problems.add(ErrorCode.NOT_FOUND, f"{target.value} not found", "target_ids")
    problems.raise_if_any()


def merge_tags(
    session: Session,
    account_id: int,
    *,
    tag_ids: list[int],
    into_id: int | None = None,
    into_name: str | None = None,
    policy: str = "preserve",
) -> Tag:
    """Merge tags into one survivor (an existing tag, or a new or existing name).

    Links move to the survivor and duplicates collapse; subtags re-parent to the survivor;
    forms and segment rules that referenced a merged tag now reference the survivor.
    """
    problems = Collector()
    merged = sorted(set(tag_ids))
    if not merged:
        problems.add(ErrorCode.REQUIRED, "name the tags to merge", "tag_ids")
    if len(tag_ids) > MAX_MERGED:
        problems.add(ErrorCode.OUT_OF_RANGE, f"at most {MAX_MERGED} tags merge at once", "tag_ids")
    if (into_id is None) == (into_name is None):
        problems.add(ErrorCode.INVALID, "give either the tag to merge into or a name", "into")
    problems.raise_if_any()
    session.execute(text("SELECT pg_advisory_xact_lock(:k, :a)"), {"k": 7301, "a": account_id})
    rows = (
        session.execute(
            select(Tag).where(Tag.account_id == account_id, Tag.id.in_(merged)).order_by(Tag.id).with_for_update()
        )
        .scalars()
        .all()
    )
    if len(rows) != len(merged):
        raise not_found("tag", "tag_ids")
    if into_name is not None:
        name = single_name(into_name, policy, "into_name")
        survivor = tag_by_name(session, account_id, name)
        if survivor is None:
            survivor = create_tags(
                session,
                account_id,
                TagFields(names=name, category_id=rows[0].category_id, parent_id=rows[0].parent_id),
                policy=policy,
            )[0]
    else:
        survivor = require_tag(session, account_id, into_id, "into_id")
    merged = [i for i in merged if i != survivor.id]
    if not merged:
        raise InputError.single(ErrorCode.INVALID, "a tag cannot be merged into itself", "tag_ids")
    params = {"a": account_id, "s": survivor.id, "m": merged}
    for link, target_col, _ in LINK_MODELS.values():
        table, column = link.__tablename__, target_col.name
        session.execute(
            text(f"""
            INSERT INTO {table} (account_id, tag_id, {column}, source, actor, created_at)
            SELECT account_id, :s, {column}, source, min(actor), min(created_at) FROM {table}
             WHERE account_id = :a AND tag_id = ANY(CAST(:m AS bigint[]))
             GROUP BY account_id, {column}, source
            ON CONFLICT DO NOTHING"""),
            params,
        )
        session.execute(
            text(f"DELETE FROM {table} WHERE account_id = :a AND tag_id = ANY(CAST(:m AS bigint[]))"), params
        )
    session.execute(
        text("""
        INSERT INTO form_tag (account_id, form_id, tag_id, position)
        SELECT account_id, form_id, :s, min(position) FROM form_tag
         WHERE account_id = :a AND tag_id = ANY(CAST(:m AS bigint[])) GROUP BY account_id, form_id
        ON CONFLICT (account_id, form_id, tag_id) DO UPDATE SET position = least(form_tag.position, excluded.position)
    """),
        params,
    )
    # If the survivor sat under a merged tag, it takes the nearest ancestor that survives.
    chain = ancestor_ids(session, account_id, survivor.id)[1:]
    if survivor.parent_id in merged:
        survivor.parent_id = next((a for a in chain if a not in merged), None)
    session.flush()
    session.execute(
        update(Tag)
        .where(Tag.account_id == account_id, Tag.parent_id.in_(merged), Tag.id != survivor.id)
        .values(parent_id=survivor.id)
    )
    from domain.segments.service import repoint_references  # noqa: PLC0415  (segments import tag models)

    repoint_references(session, account_id, kind="tag", mapping={m: survivor.id for m in merged})
    session.execute(delete(Tag).where(Tag.account_id == account_id, Tag.id.in_(merged)))
    survivor.updated_at = _now()
    session.flush()
    session.refresh(survivor)
    events.record(session, events.TagsMerged(account_id=account_id, survivor_id=survivor.id, merged_ids=tuple(merged)))
    return survivor


def delete_tag(session: Session, account_id: int, tag_id: int, *, remove_links: bool = False) -> None:
    """Hard delete: only for a tag without links, or explicitly with all its links removed."""
    tag = require_tag(session, account_id, tag_id, "id", lock=True)
    if session.execute(select(Tag.id).where(Tag.account_id == account_id, Tag.parent_id == tag_id).limit(1)).first():
        raise InputError.single(ErrorCode.CONFLICT, "this tag has subtags: move or delete them first", "id")
    count = counters(session, account_id, [tag_id]).get(tag_id)
    links = (
        (
            count.persons_by_person
            + count.persons_by_staff
            + count.persons_by_integration
            + count.productions
            + count.organisations
        )
        if count
        else 0
    )
    if links and not remove_links:
        raise InputError.single(
            ErrorCode.CONFLICT, f"this tag has {links} links; deactivate it, or delete with removeLinks", "remove_links"
        )
    refuse_if_used(session, account_id, "tag", [tag_id], "id")
    session.delete(tag)
    session.flush()


def create_category(session: Session, account_id: int, *, name: str, position: int = 0) -> TagCategory:
    name = (name or "").strip()
    if not name:
        raise InputError.single(ErrorCode.REQUIRED, "a category needs a name", "name")
    if len(name) > MAX_NAME_LENGTH:
        raise InputError.single(ErrorCode.TOO_LONG, f"a name is at most {MAX_NAME_LENGTH} characters", "name")
    row = session.execute(
        pg_insert(TagCategory)
        .values(account_id=account_id, name=name, position=position)
        .on_conflict_do_nothing()
        .returning(TagCategory.id)
    ).first()
    if row is None:
        raise InputError.single(ErrorCode.DUPLICATE, f"a category named {name!r} exists", "name")
    return session.get_one(TagCategory, (account_id, row[0]))


def list_categories(session: Session, account_id: int) -> list[TagCategory]:
    return list(
        session.execute(
            select(TagCategory)
            .where(TagCategory.account_id == account_id)
            .order_by(TagCategory.position, TagCategory.name)
        ).scalars()
    )


__all__ = [
    "TargetKind",
    "TagFilter",
    "create_tags",
    "ensure_tags",
    "update_tag",
    "attach",
    "detach",
    "merge_tags",
    "delete_tag",
    "list_tags",
    "counters",
    "who_by_tag",
    "count_who_by_tag",
    "recount",
    "all_tags",
    "descendant_ids",
    "create_category",
    "list_categories",
]
