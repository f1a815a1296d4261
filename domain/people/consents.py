"""Consent types and persons' consent states."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from domain import clock
from domain.changes import UNSET, Unset
from domain.people.labels import check_label_and_description
from domain.pagination import newest_per_key
from domain.people.models import ConsentType, PersonConsent, PersonIdentity


def list_consent_types(session: Session, account_id: int) -> list[ConsentType]:
    return list(
        session.execute(
            select(ConsentType).where(ConsentType.account_id == account_id).order_by(ConsentType.id)
        ).scalars()
    )


def consent_type_page(session: Session, account_id: int, *, first: int | None = None, after: str | None = None):
    """The account's consent types by id, a page at a time."""
    from domain.pagination import cursor_int, keyset_page  # noqa: PLC0415

    stmt = select(ConsentType, ConsentType.id).where(ConsentType.account_id == account_id)
    return keyset_page(
        session,
        stmt,
        [ConsentType.id],
        descending=False,
        first=first,
        after=after,
        coerce=lambda values: [cursor_int(values[0])],
    )


_CONSENT_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


@dataclass(frozen=True)
class ConsentTypeChanges:
    """A rename or a new description (``UNSET``: as it is)."""

    name: str | Unset = UNSET
    description: str | Unset = UNSET


def create_consent_type(
    session: Session, account_id: int, *, key: str, name: str, description: str = ""
) -> ConsentType:
    """A new consent the account asks for; ``key`` (lower-case letters, digits, - and _) is how
    feeds and exports name it and is unique in the account."""
    from domain.errors import Collector, ErrorCode, InputError  # noqa: PLC0415

    problems = Collector()
    if not _CONSENT_KEY.match(key or ""):
        problems.add(ErrorCode.INVALID, "a key is 1 to 63 lower-case letters, digits, - or _", "key")
    check_label_and_description(problems, name, description, label_field="name", what="a consent type")
    problems.raise_if_any()
    taken = session.execute(
        select(ConsentType.id).where(ConsentType.account_id == account_id, ConsentType.key == key)
    ).first()
    if taken is not None:
        raise InputError.single(ErrorCode.DUPLICATE, f"the account has a consent type {key!r}", "key")
    consent = ConsentType(account_id=account_id, key=key, name=name.strip(), description=(description or "").strip())
    session.add(consent)
    session.flush()
    return consent


def _consent_type(session: Session, account_id: int, consent_type_id: int) -> ConsentType:
    from domain.errors import not_found  # noqa: PLC0415

    found = session.execute(
        select(ConsentType)
        .where(ConsentType.account_id == account_id, ConsentType.id == consent_type_id)
        .with_for_update()
    ).scalar_one_or_none()
    if found is None:
        raise not_found("consent type", "consent_type_id")
    return found


def change_consent_type(
    session: Session, account_id: int, consent_type_id: int, changes: ConsentTypeChanges
) -> ConsentType:
    from domain.errors import Collector  # noqa: PLC0415

    problems = Collector()
    check_label_and_description(problems, changes.name, changes.description, label_field="name", what="a consent type")
    problems.raise_if_any()
    consent = _consent_type(session, account_id, consent_type_id)
    if changes.name is not UNSET:
        consent.name = changes.name.strip()
    if changes.description is not UNSET:
        consent.description = (changes.description or "").strip()
    session.flush()
    return consent


def retire_consent_type(session: Session, account_id: int, consent_type_id: int) -> ConsentType:
    """No longer asked (the preference centre and new segment rules leave it out); every state
    persons gave stays, with its history. Refused (CONFLICT, naming them) while segments use it."""
    from domain.segments.references import refuse_if_used  # noqa: PLC0415

    consent = _consent_type(session, account_id, consent_type_id)
    refuse_if_used(session, account_id, "consent_type", [consent_type_id], "consent_type_id")
    if consent.retired_at is None:
        consent.retired_at = clock.now()
        session.flush()
    return consent


def delete_consent_type(session: Session, account_id: int, consent_type_id: int) -> None:
    """Delete a consent type with every person's state for it, unless a segment's rules name it."""
    from sqlalchemy import delete  # noqa: PLC0415

    from domain.errors import not_found  # noqa: PLC0415
    from domain.segments.references import delete_unless_used  # noqa: PLC0415

    deleted = delete_unless_used(
        session,
        account_id,
        "consent_type",
        consent_type_id,
        delete(ConsentType).where(ConsentType.account_id == account_id, ConsentType.id == consent_type_id),
        "id",
    )
    if not deleted:
        raise not_found("consent type", "id")


def consents_by_person(session: Session, account_id: int, person_ids: list[int]) -> dict[int, list]:
    out: dict[int, list[PersonConsent]] = defaultdict(list)
    if person_ids:
        rows = session.execute(
            select(PersonConsent)
            .where(PersonConsent.account_id == account_id, PersonConsent.person_id.in_(person_ids))
            .order_by(PersonConsent.consent_type_id)
        ).scalars()
        for row in rows:
            out[row.person_id].append(row)
    return out


MAX_HISTORY_PER_PERSON = 200


def consent_history_by_person(
    session: Session, account_id: int, person_ids: list[int], *, first: int = 50
) -> dict[int, list]:
    """Each person's newest ``first`` consent changes (at most 200), every consent type."""
    from domain.people.models import ConsentHistory  # noqa: PLC0415

    first = max(0, min(first, MAX_HISTORY_PER_PERSON))
    order = (ConsentHistory.changed_at.desc(), ConsentHistory.id.desc())
    return newest_per_key(session, ConsentHistory, ConsentHistory.person_id, account_id, person_ids, order, first)


def identities_by_person(session: Session, account_id: int, person_ids: list[int]) -> dict[int, list]:
    out: dict[int, list[PersonIdentity]] = defaultdict(list)
    if person_ids:
        rows = session.execute(
            select(PersonIdentity)
            .where(PersonIdentity.account_id == account_id, PersonIdentity.person_id.in_(person_ids))
            .order_by(PersonIdentity.source)
        ).scalars()
        for row in rows:
            out[row.person_id].append(row)
    return out


def set_consents(session: Session, account_id: int, person_id: int, states: dict[int, bool], *, source: str) -> None:
    """Grant or withdraw consents; timestamps record when each state began."""
    from sqlalchemy import func  # noqa: PLC0415
    from sqlalchemy.dialects.postgresql import insert as pg_insert  # noqa: PLC0415

    from domain.errors import ErrorCode, InputError  # noqa: PLC0415

    if not states:
        return
    known = set(
        session.execute(
            select(ConsentType.id).where(ConsentType.account_id == account_id, ConsentType.id.in_(list(states)))
        ).scalars()
    )
    missing = [k for k in states if k not in known]
    if missing:
        raise InputError.single(ErrorCode.NOT_FOUND, "consent type not found", "consents")
    now = clock.now()
    stmt = pg_insert(PersonConsent).values(
        [
            {
                "account_id": account_id,
                "person_id": person_id,
                "consent_type_id": type_id,
                "granted": granted,
                "granted_at": now if granted else None,
                "withdrawn_at": None if granted else now,
                "updated_at": now,
                "source": source,
            }
            for type_id, granted in sorted(states.items())
        ]
    )
    excluded = stmt.excluded
    changed = PersonConsent.granted.is_distinct_from(excluded.granted)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[PersonConsent.account_id, PersonConsent.person_id, PersonConsent.consent_type_id],
            set_={
                "granted": excluded.granted,
                "granted_at": func.coalesce(excluded.granted_at, PersonConsent.granted_at),
                "withdrawn_at": func.coalesce(excluded.withdrawn_at, PersonConsent.withdrawn_at),
                "updated_at": excluded.updated_at,
                "source": excluded.source,
            },
            where=changed,
        )
    )
