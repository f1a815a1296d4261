"""Consent types and persons' consent states."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlmodel import Session

from domain.people.models import ConsentType, PersonConsent, PersonIdentity


def list_consent_types(session: Session, account_id: int) -> list[ConsentType]:
    return list(session.execute(
        select(ConsentType).where(ConsentType.account_id == account_id).order_by(ConsentType.id)).scalars())


def consents_by_person(session: Session, account_id: int, person_ids: list[int]) -> dict[int, list]:
    out: dict[int, list[PersonConsent]] = defaultdict(list)
    if person_ids:
        rows = session.execute(
            select(PersonConsent).where(PersonConsent.account_id == account_id,
                                        PersonConsent.person_id.in_(person_ids))
            .order_by(PersonConsent.consent_type_id)).scalars()
        for row in rows:
            out[row.person_id].append(row)
    return out


def identities_by_person(session: Session, account_id: int, person_ids: list[int]) -> dict[int, list]:
    out: dict[int, list[PersonIdentity]] = defaultdict(list)
    if person_ids:
        rows = session.execute(
            select(PersonIdentity).where(PersonIdentity.account_id == account_id,
                                         PersonIdentity.person_id.in_(person_ids))
            .order_by(PersonIdentity.source)).scalars()
        for row in rows:
            out[row.person_id].append(row)
    return out
