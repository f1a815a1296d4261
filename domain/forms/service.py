"""Forms, the preference centre and submissions (SPEC 4)."""

from __future__ import annotations

from datetime import datetime
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable

from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import Session

from domain import events
from domain.changes import UNSET, Unset, given
from domain import clock
from domain.errors import Collector, ErrorCode, InputError, not_found
from domain.accounts.person_links import preference_link, verify_person_token
from domain.forms.models import CAMPAIGN, PREFERENCE_CENTRE, Form, FormSubmission, FormTag
from domain.pagination import newest_per_key
from domain.people.consents import set_consents
from domain.recommendations.scoring import refresh_interest_scores
from domain.tags.models import PersonTag, Tag, TagSource
from domain.tags.visibility import TagSnapshot, TagView, build_views
from domain.viewer import AccountInfo, Viewer, ViewerKind

MAX_FORM_TAGS = 500
TEXT_LIMITS = {"title": 200, "tags_title": 200, "tags_description": 5000}


def get_form(session: Session, account_id: int, form_id: int) -> Form | None:
    return session.execute(select(Form).where(Form.account_id == account_id, Form.id == form_id)).scalar_one_or_none()


def list_forms(session: Session, account_id: int) -> list[Form]:
    return list(session.execute(select(Form).where(Form.account_id == account_id).order_by(Form.id)).scalars())


@dataclass(frozen=True)
class FormSnapshot:
    """What a person's form page needs, immutable so it can be cached per tag version."""

    id: int | None
    title: str
    tags_title: str
    tags_description: str
    positions: dict


DEFAULT_PREFERENCE_CENTRE = FormSnapshot(
    id=None, title="Your preferences", tags_title="Your interests", tags_description="", positions={}
)


def preference_centre_snapshot(session: Session, account_id: int) -> FormSnapshot:
    """The preference centre as persons see it, read-only (an account without one shows defaults)."""
    form = session.execute(
        select(Form).where(Form.account_id == account_id, Form.kind == PREFERENCE_CENTRE)
    ).scalar_one_or_none()
    if form is None:
        return DEFAULT_PREFERENCE_CENTRE
    return FormSnapshot(
        id=form.id,
        title=form.title,
        tags_title=form.tags_title,
        tags_description=form.tags_description,
        positions=form_tag_positions(session, account_id, form.id),
    )


#: A new preference centre's title and interests heading, in the account's page language.
DEFAULT_TITLES = {"en": ("Your preferences", "Your interests"), "nl": ("Jouw voorkeuren", "Waar je van houdt")}


def preference_centre(session: Session, account_id: int) -> Form:
    """The account's preference-centre form, created on first use."""
    language = session.execute(text("SELECT page_language FROM account WHERE id = :a"), {"a": account_id}).scalar()
    title, tags_title = DEFAULT_TITLES.get(language or "en", DEFAULT_TITLES["en"])
    session.execute(
        pg_insert(Form)
        .values(account_id=account_id, kind=PREFERENCE_CENTRE, title=title, tags_title=tags_title)
        .on_conflict_do_nothing(index_elements=[Form.account_id], index_where=text("kind = 'preference_centre'"))
    )
    return session.execute(
        select(Form).where(Form.account_id == account_id, Form.kind == PREFERENCE_CENTRE)
    ).scalar_one()


MAX_SUBMISSIONS_PER_PERSON = 100


def submissions_by_person(
    session: Session, account_id: int, person_ids: list[int], *, first: int = 20
) -> dict[int, list[FormSubmission]]:
    """Each person's newest ``first`` form submissions (at most 100), in one statement."""
    first = max(0, min(first, MAX_SUBMISSIONS_PER_PERSON))
    order = (FormSubmission.submitted_at.desc(), FormSubmission.id.desc())
    return newest_per_key(session, FormSubmission, FormSubmission.person_id, account_id, person_ids, order, first)


def forms_by_id(session: Session, account_id: int, form_ids: list[int]) -> dict[int, Form]:
    if not form_ids:
        return {}
    rows = session.execute(select(Form).where(Form.account_id == account_id, Form.id.in_(form_ids))).scalars()
    return {f.id: f for f in rows}


def form_tag_positions(session: Session, account_id: int, form_id: int) -> dict[int, int]:
    rows = session.execute(
        select(FormTag.tag_id, FormTag.position).where(FormTag.account_id == account_id, FormTag.form_id == form_id)
    ).all()
    return {tag_id: position for tag_id, position in rows}


def _clean(values: dict[str, Any], problems: Collector) -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        if key in TEXT_LIMITS:
            value = (value or "").strip()
            if len(value) > TEXT_LIMITS[key]:
                problems.add(ErrorCode.TOO_LONG, f"{key} is longer than {TEXT_LIMITS[key]} characters", key)
        out[key] = value
    if "title" in out and not out["title"]:
        problems.add(ErrorCode.REQUIRED, "a form needs a title", "title")
    return out


def _set_form_tags(session: Session, account_id: int, form_id: int, tag_ids: list[int]) -> None:
    if len(tag_ids) != len(set(tag_ids)):
        raise InputError.single(ErrorCode.INVALID, "a tag appears twice", "tag_ids")
    if len(tag_ids) > MAX_FORM_TAGS:
        raise InputError.single(ErrorCode.OUT_OF_RANGE, f"at most {MAX_FORM_TAGS} tags on a form", "tag_ids")
    rows = (
        {
            t.id: t
            for t in session.execute(select(Tag).where(Tag.account_id == account_id, Tag.id.in_(tag_ids))).scalars()
        }
        if tag_ids
        else {}
    )
    problems = Collector()
    for index, tag_id in enumerate(tag_ids):
        tag = rows.get(tag_id)
        if tag is None:
            problems.add(ErrorCode.NOT_FOUND, "tag not found", "tag_ids", str(index))
        elif not tag.show_on_form:
            problems.add(ErrorCode.INVALID, f'tag {tag.name!r} is not marked "show on form"', "tag_ids", str(index))
    problems.raise_if_any()
    session.execute(delete(FormTag).where(FormTag.account_id == account_id, FormTag.form_id == form_id))
    if tag_ids:
        session.execute(
            pg_insert(FormTag).values(
                [
                    {"account_id": account_id, "form_id": form_id, "tag_id": t, "position": i + 1}
                    for i, t in enumerate(tag_ids)
                ]
            )
        )


@dataclass(frozen=True)
class FormFields:
    """A new campaign form; its tags (marked "show on form") in the order shown."""

    title: str
    tags_title: str = ""
    tags_description: str = ""
    tag_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class FormChanges:
    """What an update changes (``UNSET``: as it is); ``tag_ids`` replaces the form's tags."""

    title: str | Unset = UNSET
    tags_title: str | Unset = UNSET
    tags_description: str | Unset = UNSET
    tag_ids: tuple[int, ...] | Unset = UNSET


def create_form(session: Session, account_id: int, fields: FormFields) -> Form:
    problems = Collector()
    cleaned = _clean(
        {"title": fields.title, "tags_title": fields.tags_title, "tags_description": fields.tags_description}, problems
    )
    problems.raise_if_any()
    form = Form(account_id=account_id, kind=CAMPAIGN, **cleaned)
    session.add(form)
    session.flush()
    _set_form_tags(session, account_id, form.id, list(fields.tag_ids))
    return form


def update_form(session: Session, account_id: int, form_id: int, changes: FormChanges) -> Form:
    form = session.execute(
        select(Form).where(Form.account_id == account_id, Form.id == form_id).with_for_update()
    ).scalar_one_or_none()
    if form is None:
        raise not_found("form", "id")
    values = given(changes)
    tag_ids = values.pop("tag_ids", None)
    problems = Collector()
    for key, value in values.items():
        if value is None:
            problems.add(ErrorCode.REQUIRED, f"{key} cannot be null", key)
    problems.raise_if_any()
    cleaned = _clean(values, problems)
    problems.raise_if_any()
    for key, value in cleaned.items():
        setattr(form, key, value)
    form.updated_at = clock.now()
    if tag_ids is not None:
        _set_form_tags(session, account_id, form_id, list(tag_ids))
    session.flush()
    return form


def delete_form(session: Session, account_id: int, form_id: int) -> None:
    """Delete a campaign form and its submissions. Not the preference centre, nor a form a
    segment's rules name ("submitted form …")."""
    from domain.segments.references import delete_unless_used  # noqa: PLC0415

    form = get_form(session, account_id, form_id)
    if form is None:
        raise not_found("form", "id")
    if form.kind == PREFERENCE_CENTRE:
        raise InputError.single(ErrorCode.CONFLICT, "the preference centre cannot be deleted", "id")
    delete_unless_used(
        session,
        account_id,
        "form",
        form_id,
        delete(Form).where(Form.account_id == account_id, Form.id == form_id),
        "id",
    )


# ----------------------------------------------------------------------------- the person's side


def passes_visibility(snap: TagSnapshot, person_in_segment: Callable[[int], bool] | None) -> bool:
    """``visible to everyone``, or the include / exclude rule admits the person.

    Without a way to test membership (``person_in_segment`` None), or without any rule, a tag
    that is not visible to everyone is shown to nobody but staff.
    """
    if snap.visible_to_everyone:
        return True
    if person_in_segment is None:
        return False
    if snap.visibility_include_segment_id is None and snap.visibility_exclude_segment_id is None:
        return False
    if snap.visibility_include_segment_id is not None and not person_in_segment(snap.visibility_include_segment_id):
        return False
    return snap.visibility_exclude_segment_id is None or not person_in_segment(snap.visibility_exclude_segment_id)


def visibility_segments(snaps: tuple[TagSnapshot, ...], positions: dict[int, int]) -> list[int]:
    """The segments whose membership decides which of the form's tags a person sees."""
    found: set[int] = set()
    for snap in snaps:
        if snap.id in positions and snap.active and not snap.visible_to_everyone:
            found.update(
                x for x in (snap.visibility_include_segment_id, snap.visibility_exclude_segment_id) if x is not None
            )
    return sorted(found)


def person_form_views(
    snaps: tuple[TagSnapshot, ...],
    positions: dict[int, int],
    selected: set[int],
    global_id: Callable[[int], str],
    person_in_segment: Callable[[int], bool] | None = None,
) -> dict[int, TagView]:
    """The form's tags as this person sees them: active, on the form, passing the visibility
    rule; ordered by position; grouped under visible parents; ``selected`` from person links."""
    views = build_views(
        snaps,
        global_id,
        staff=False,
        keep=lambda s: s.id in positions and s.active and passes_visibility(s, person_in_segment),
        order=lambda s: (s.position, positions.get(s.id, 0), s.label.casefold(), s.id),
    )
    for pk, view in views.items():
        view.selected = pk in selected
    return views


@dataclass(frozen=True)
class PersonPage:
    """What one person's form page needs besides the form: their name, own choices, consents."""

    first_name: str | None
    selected: frozenset[int]
    consents: tuple[tuple[int, str, str, bool], ...]  # (consent type id, name, description, granted)


# One statement for a preference-centre request: the account facts a person viewer needs, and
# the person's page — first name, own (``person``) links among the preference centre's tags,
# every consent type with the person's state. No row: no such account or person. Built once.
_PERSON_LINK_PAGE = text("""
    SELECT a.id, a.name, a.timezone, a.modules, a.tag_name_policy, a.tags_version, p.first_name,
           p.preference_link_version,
           ARRAY(SELECT pt.tag_id FROM person_tag pt
                  WHERE pt.account_id = :a AND pt.person_id = :p AND pt.source = 'person'
                    AND pt.tag_id IN (SELECT ft.tag_id FROM form f
                                        JOIN form_tag ft ON ft.account_id = f.account_id AND ft.form_id = f.id
                                       WHERE f.account_id = :a AND f.kind = 'preference_centre')) AS selected,
           (SELECT coalesce(json_agg(json_build_array(ct.id, ct.name, ct.description,
                                                      coalesce(pc.granted, false)) ORDER BY ct.id), '[]')
              FROM consent_type ct
              LEFT JOIN person_consent pc ON pc.account_id = ct.account_id AND pc.consent_type_id = ct.id
                                         AND pc.person_id = :p
             WHERE ct.account_id = :a AND ct.retired_at IS NULL) AS consents
      FROM account a JOIN person p ON p.account_id = a.id AND p.id = :p AND p.erased_at IS NULL
     WHERE a.id = :a""")


class PersonLinkRevoked(Exception):
    """A genuine link of a person whose links were revoked since it was made."""


def revoke_preference_links(session: Session, account_id: int, person_id: int) -> None:
    """Every preference link made for this person so far stops working (new ones work)."""
    from domain.people.models import Person  # noqa: PLC0415

    result = session.execute(
        update(Person)
        .where(Person.account_id == account_id, Person.id == person_id, Person.erased_at.is_(None))  # type: ignore[union-attr]
        .values(preference_link_version=Person.preference_link_version + 1)
    )
    if result.rowcount == 0:
        raise not_found("person", "person_id")


def make_preference_link(
    session: Session, account_id: int, person_id: int, *, secret_key: str, base_url: str, max_age: int
) -> tuple[str, str, datetime]:
    """A signed, expiring link to one person's preference centre: (url, token, expires at)."""
    from domain.people.models import Person  # noqa: PLC0415

    version = session.execute(
        select(Person.preference_link_version).where(
            Person.account_id == account_id,
            Person.id == person_id,
            Person.erased_at.is_(None),  # type: ignore[union-attr]
        )
    ).scalar_one_or_none()
    if version is None:
        raise not_found("person", "person_id")
    return preference_link(secret_key, base_url, max_age, account_id=account_id, person_id=person_id, version=version)


@dataclass(frozen=True)
class PersonLinkVisit:
    """A preference-centre link opened: who is asking and their page data."""

    viewer: Viewer
    page: PersonPage


def open_person_link(session: Session, secret_key: str, token: str, *, max_age: int) -> PersonLinkVisit | None:
    """The person viewer of a valid link, with their page read in the same statement (a person
    link is only ever used for the preference centre). None when the link is forged or its
    person is gone; raises ``PersonTokenExpired`` for a genuine link that is too old."""
    found = verify_person_token(secret_key, token, max_age=max_age)
    if found is None:
        return None
    account_id, person_id, version = found
    # Core, not ORM, execution: the statement returns plain rows, and the ORM layer would cost
    # more than the database takes to answer.
    row = session.connection().execute(_PERSON_LINK_PAGE, {"a": account_id, "p": person_id}).first()
    if row is None:
        return None
    if row.preference_link_version != version:
        raise PersonLinkRevoked()
    account = AccountInfo(
        id=row.id,
        name=row.name,
        timezone=row.timezone,
        modules=tuple(row.modules),
        tag_name_policy=row.tag_name_policy,
        tags_version=row.tags_version,
    )
    return PersonLinkVisit(viewer=Viewer(kind=ViewerKind.PERSON, account=account, person_id=person_id), page=_page(row))


@dataclass(frozen=True)
class PreferenceCentreView:
    """One person's preference centre: the form, their page, and which of its tags they see.

    ``tags_key`` says what decides the visible tags (account, tag version, the person's own
    choices and visibility memberships): every person with the same key sees the same tags, so
    the API completes that part once per key. ``views()`` builds them."""

    form: FormSnapshot
    page: PersonPage | None
    tags_key: tuple
    views: Callable[[], dict[int, TagView]]


def preference_centre_view(
    session: Session,
    account_id: int,
    person_id: int,
    tags_version: int,
    global_id: Callable[[int], str],
    page: PersonPage | None = None,
) -> PreferenceCentreView:
    """What the person of a preference link sees: tags on the preference centre that are active and
    pass their visibility rule for this person (SPEC 3.5), with ``selected`` from their own links."""
    from domain.segments.service import is_member  # noqa: PLC0415  (segments read forms' models)
    from domain.tags.visibility import TAG_CACHE  # noqa: PLC0415

    form = TAG_CACHE.memo(
        session,
        account_id,
        tags_version,
        ("preference_centre",),
        lambda: preference_centre_snapshot(session, account_id),
    )
    page = page or person_page(session, account_id, person_id)
    selected = page.selected if page else frozenset()
    snaps = TAG_CACHE.snapshots(session, account_id, tags_version)
    memberships = {
        segment_id: is_member(session, account_id, segment_id, person_id)
        for segment_id in visibility_segments(snaps, form.positions)
    }
    key = ("preference-centre-tags", account_id, tags_version, selected, tuple(sorted(memberships.items())))
    return PreferenceCentreView(
        form=form,
        page=page,
        tags_key=key,
        views=lambda: person_form_views(snaps, form.positions, set(selected), global_id, memberships.__getitem__),
    )


def person_page(session: Session, account_id: int, person_id: int) -> PersonPage | None:
    """The page data of one person (the same statement as opening their link)."""
    row = session.execute(_PERSON_LINK_PAGE, {"a": account_id, "p": person_id}).first()
    return _page(row) if row is not None else None


def _page(row) -> PersonPage:
    return PersonPage(
        first_name=row.first_name,
        selected=frozenset(row.selected),
        consents=tuple((c[0], c[1], c[2], c[3]) for c in row.consents),
    )


def person_selected_tag_ids(session: Session, account_id: int, person_id: int, tag_ids: list[int]) -> set[int]:
    if not tag_ids:
        return set()
    return set(
        session.execute(
            select(PersonTag.tag_id).where(
                PersonTag.account_id == account_id,
                PersonTag.person_id == person_id,
                PersonTag.source == TagSource.PERSON.value,
                PersonTag.tag_id.in_(tag_ids),
            )
        ).scalars()
    )


MAX_CONSENT_CHOICES = 50


def submit_form(
    session: Session,
    account_id: int,
    *,
    form_id: int,
    person_id: int,
    visible_tag_ids: set[int],
    selected_tag_ids: list[int],
    consents: list[tuple[int, bool]],
) -> FormSubmission:
    """Checked tags get a ``person`` link, unchecked visible ones lose theirs; staff and
    integration links stay. Consents change as given (each consent type once). The submission is
    recorded."""
    if len(consents) > MAX_CONSENT_CHOICES or len(selected_tag_ids) > MAX_FORM_TAGS:
        raise InputError.single(
            ErrorCode.OUT_OF_RANGE, f"at most {MAX_FORM_TAGS} tags and {MAX_CONSENT_CHOICES} consents at once"
        )
    seen: set[int] = set()
    for i, (type_id, _) in enumerate(consents):
        if type_id in seen:
            raise InputError.single(ErrorCode.INVALID, "each consent type may be given once", "consents", str(i))
        seen.add(type_id)
    asked = set(
        session.execute(
            text(
                "SELECT id FROM consent_type WHERE account_id = :a AND id = ANY(CAST(:ids AS bigint[])) "
                "AND retired_at IS NULL"
            ),
            {"a": account_id, "ids": sorted(seen)},
        ).scalars()
    )
    for i, (type_id, _) in enumerate(consents):
        if type_id not in asked:  # unknown, or retired: no longer asked
            raise InputError.single(ErrorCode.NOT_FOUND, "consent type not found", "consents", str(i))
    unknown = [i for i, t in enumerate(selected_tag_ids) if t not in visible_tag_ids]
    if unknown:
        raise InputError.single(ErrorCode.NOT_FOUND, "tag not found on this form", "selected_tag_ids", str(unknown[0]))
    chosen = set(selected_tag_ids)
    before = person_selected_tag_ids(session, account_id, person_id, sorted(visible_tag_ids))
    added, removed = sorted(chosen - before), sorted((visible_tag_ids - chosen) & before)
    actor = f"person:{person_id}"
    if added:
        session.execute(
            pg_insert(PersonTag)
            .values(
                [
                    {
                        "account_id": account_id,
                        "tag_id": t,
                        "person_id": person_id,
                        "source": TagSource.PERSON.value,
                        "actor": actor,
                    }
                    for t in added
                ]
            )
            .on_conflict_do_nothing()
        )
    if removed:
        session.execute(
            delete(PersonTag).where(
                PersonTag.account_id == account_id,
                PersonTag.person_id == person_id,
                PersonTag.source == TagSource.PERSON.value,
                PersonTag.tag_id.in_(removed),
            )
        )
    if consents:
        set_consents(session, account_id, person_id, dict(consents), source="person")
    submission = FormSubmission(
        account_id=account_id,
        form_id=form_id,
        person_id=person_id,
        submitted_at=clock.now(),
        selected_tag_ids=sorted(chosen),
        added_tag_ids=added,
        removed_tag_ids=removed,
        consents={str(k): v for k, v in consents},
    )
    session.add(submission)
    session.flush()
    if added or removed:
        refresh_interest_scores(session, account_id, [person_id])  # chosen tags are preferences
    events.record(
        session,
        events.FormSubmitted(
            account_id=account_id,
            form_id=form_id,
            person_id=person_id,
            submission_id=submission.id,
            added_tag_ids=tuple(added),
            removed_tag_ids=tuple(removed),
        ),
    )
    return submission


__all__ = [
    "get_form",
    "list_forms",
    "preference_centre",
    "create_form",
    "update_form",
    "submit_form",
    "person_form_views",
    "person_selected_tag_ids",
    "form_tag_positions",
    "passes_visibility",
]
