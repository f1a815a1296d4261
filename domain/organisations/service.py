"""Organisations (business relations, module ``business``, SPEC 1): created, changed, listed and
searched by staff, tagged like persons (``domain.tags`` with target ``organisation``), and linked
to the persons who are their contacts. With the module off every call answers
MODULE_NOT_ENABLED (the rows wait, unused, for the module to come back)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select, text
from sqlmodel import Session

from domain import clock
from domain.accounts.models import Account, Module
from domain.changes import UNSET, Unset, given
from domain.errors import Collector, ErrorCode, InputError, not_found
from domain.pagination import Page, cursor_int, keyset_page
from domain.people.models import Organisation, Person, PersonOrganisation
from domain.people.validation import normalise_email
from domain.text import clean

MAX_NAME = 200
MAX_TEXT = {"name": MAX_NAME, "email": 254, "phone": 40, "city": 100, "role": 100}
MAX_PERSONS = 500  # persons linked or unlinked in one call
MAX_SEARCH = 100
COUNTRY = re.compile(r"^[A-Z]{2}$")
PHONE = re.compile(r"^[+0-9 ()./-]{3,40}$")


def module_off() -> InputError:
    return InputError.single(ErrorCode.MODULE_NOT_ENABLED, "the business module is not enabled for this account")


def require_module(session: Session, account_id: int) -> None:
    account = session.get(Account, account_id)
    if account is None or not account.has_module(Module.BUSINESS):
        raise module_off()


@dataclass(frozen=True)
class OrganisationFields:
    name: str
    email: str | None = None
    phone: str | None = None
    city: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class OrganisationChanges:
    name: str | Unset = UNSET
    email: str | None | Unset = UNSET
    phone: str | None | Unset = UNSET
    city: str | None | Unset = UNSET
    country: str | None | Unset = UNSET


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    problems = Collector()
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, str):
            value = clean(value).strip() or None
        if key == "name" and value is None:
            problems.add(ErrorCode.REQUIRED, "an organisation needs a name", "name")
            continue
        if isinstance(value, str) and len(value) > MAX_TEXT.get(key, MAX_NAME):
            problems.add(ErrorCode.TOO_LONG, f"{key} is longer than {MAX_TEXT.get(key, MAX_NAME)} characters", key)
            continue
        if key == "email" and value is not None:
            try:
                value = normalise_email(value)
            except InputError as error:
                problems.add(ErrorCode.INVALID_EMAIL, error.problems[0].message, "email")
                continue
        if key == "phone" and value is not None and not PHONE.match(value):
            problems.add(ErrorCode.INVALID, "a phone number has digits, spaces and + ( ) . / - only", "phone")
            continue
        if key == "country" and value is not None:
            value = value.upper()
            if not COUNTRY.match(value):
                problems.add(ErrorCode.INVALID, "country is a two-letter ISO code such as NL", "country")
                continue
        out[key] = value
    problems.raise_if_any()
    return out


def create_organisation(session: Session, account_id: int, fields: OrganisationFields) -> Organisation:
    require_module(session, account_id)
    values = _clean({k: getattr(fields, k) for k in ("name", "email", "phone", "city", "country")})
    organisation = Organisation(account_id=account_id, **values)
    session.add(organisation)
    session.flush()
    return organisation


def _organisation(session: Session, account_id: int, organisation_id: int, *, lock: bool = False) -> Organisation:
    stmt = select(Organisation).where(Organisation.account_id == account_id, Organisation.id == organisation_id)
    found = session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
    if found is None:
        raise not_found("organisation", "organisation_id")
    return found


def get_organisation(session: Session, account_id: int, organisation_id: int) -> Organisation:
    require_module(session, account_id)
    return _organisation(session, account_id, organisation_id)


def update_organisation(
    session: Session, account_id: int, organisation_id: int, changes: OrganisationChanges
) -> Organisation:
    require_module(session, account_id)
    organisation = _organisation(session, account_id, organisation_id, lock=True)
    values = _clean(given(changes))
    for key, value in values.items():
        setattr(organisation, key, value)
    if values:
        organisation.updated_at = clock.now()
    session.flush()
    return organisation


def delete_organisation(session: Session, account_id: int, organisation_id: int) -> None:
    """The organisation, its tag links and its person links go; the persons stay."""
    require_module(session, account_id)
    session.delete(_organisation(session, account_id, organisation_id, lock=True))
    session.flush()


def list_organisations(
    session: Session,
    account_id: int,
    *,
    search: str | None = None,
    first: int | None = None,
    after: str | None = None,
) -> Page[Organisation]:
    """The account's organisations by name; ``search``: every word starts a word of the name, or
    is found in its e-mail address or city."""
    require_module(session, account_id)
    stmt = select(Organisation, func.lower(Organisation.name), Organisation.id).where(
        Organisation.account_id == account_id
    )
    if search is not None:
        if len(search) > MAX_SEARCH:
            raise InputError.single(ErrorCode.TOO_LONG, f"search at most {MAX_SEARCH} characters", "search")
        for word in clean(search).lower().split()[:5]:
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(
                or_(
                    func.lower(Organisation.name).like(escaped + "%"),
                    func.lower(Organisation.name).like("% " + escaped + "%"),
                    func.lower(Organisation.email).like("%" + escaped + "%"),
                    func.lower(Organisation.city).like(escaped + "%"),
                )
            )
    keys = [func.lower(Organisation.name), Organisation.id]
    return keyset_page(
        session, stmt, keys, descending=False, first=first, after=after, coerce=lambda v: [str(v[0]), cursor_int(v[1])]
    )


def _persons(session: Session, account_id: int, person_ids: Sequence[int]) -> list[int]:
    if not person_ids or len(person_ids) > MAX_PERSONS:
        raise InputError.single(ErrorCode.OUT_OF_RANGE, f"name 1 to {MAX_PERSONS} persons", "person_ids")
    wanted = sorted(set(person_ids))
    found = session.execute(
        select(Person.id).where(
            Person.account_id == account_id,
            Person.id.in_(wanted),  # type: ignore[union-attr]
            Person.erased_at.is_(None),  # type: ignore[union-attr]
        )
    ).scalars()
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise InputError.single(ErrorCode.NOT_FOUND, f"{len(missing)} of the persons not found", "person_ids")
    return wanted


def link_persons(
    session: Session, account_id: int, organisation_id: int, person_ids: Sequence[int], *, role: str = ""
) -> int:
    """Link the persons to the organisation (a link there already takes the new role). Returns
    the links written."""
    require_module(session, account_id)
    _organisation(session, account_id, organisation_id)
    role = clean(role or "").strip()
    if len(role) > MAX_TEXT["role"]:
        raise InputError.single(ErrorCode.TOO_LONG, f"role is longer than {MAX_TEXT['role']} characters", "role")
    persons = _persons(session, account_id, person_ids)
    return session.execute(
        text(
            "INSERT INTO person_organisation (account_id, person_id, organisation_id, role) "
            "SELECT :a, p, :o, :r FROM unnest(CAST(:p AS bigint[])) AS p "
            "ON CONFLICT (account_id, person_id, organisation_id) DO UPDATE SET role = excluded.role "
            "WHERE person_organisation.role IS DISTINCT FROM excluded.role"
        ),
        {"a": account_id, "o": organisation_id, "r": role, "p": persons},
    ).rowcount


def unlink_persons(session: Session, account_id: int, organisation_id: int, person_ids: Sequence[int]) -> int:
    require_module(session, account_id)
    _organisation(session, account_id, organisation_id)
    if not person_ids or len(person_ids) > MAX_PERSONS:
        raise InputError.single(ErrorCode.OUT_OF_RANGE, f"name 1 to {MAX_PERSONS} persons", "person_ids")
    return session.execute(
        text(
            "DELETE FROM person_organisation WHERE account_id = :a AND organisation_id = :o "
            "AND person_id = ANY(CAST(:p AS bigint[]))"
        ),
        {"a": account_id, "o": organisation_id, "p": sorted(set(person_ids))},
    ).rowcount


def members_page(
    session: Session, account_id: int, organisation_id: int, *, first: int | None = None, after: str | None = None
) -> Page:
    """The organisation's persons (with their role), by person id."""
    keys = [PersonOrganisation.person_id]
    stmt = (
        select(PersonOrganisation, *keys)
        .join(
            Person, (Person.account_id == PersonOrganisation.account_id) & (Person.id == PersonOrganisation.person_id)
        )
        .where(
            PersonOrganisation.account_id == account_id,
            PersonOrganisation.organisation_id == organisation_id,
            Person.erased_at.is_(None),  # type: ignore[union-attr]
        )
    )
    return keyset_page(
        session, stmt, keys, descending=False, first=first, after=after, coerce=lambda v: [cursor_int(v[0])]
    )


def member_counts(session: Session, account_id: int, organisation_ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        text(
            "SELECT organisation_id, count(*) FROM person_organisation "
            "WHERE account_id = :a AND organisation_id = ANY(CAST(:o AS bigint[])) GROUP BY organisation_id"
        ),
        {"a": account_id, "o": organisation_ids},
    )
    return {o: n for o, n in rows}


def links_by_person(session: Session, account_id: int, person_ids: list[int]) -> dict[int, list[PersonOrganisation]]:
    """Each person's organisation links (none when the module is off: the field reads empty)."""
    out: dict[int, list[PersonOrganisation]] = {p: [] for p in person_ids}
    account = session.get(Account, account_id)
    if not person_ids or account is None or not account.has_module(Module.BUSINESS):
        return out
    rows = session.execute(
        select(PersonOrganisation)
        .where(PersonOrganisation.account_id == account_id, PersonOrganisation.person_id.in_(person_ids))  # type: ignore[attr-defined]
        .order_by(PersonOrganisation.person_id, PersonOrganisation.organisation_id)
    ).scalars()
    for row in rows:
        out[row.person_id].append(row)
    return out
