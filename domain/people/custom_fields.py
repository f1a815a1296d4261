"""Custom field definitions run by admins (SPEC 1): create, relabel, describe, retire.

A retired field is no longer written (persons' updates, imports and workbooks refuse it as an
unknown field) nor tested by new segment rules, and it leaves exports; the values persons hold
stay in their records. Retiring is refused (CONFLICT, naming them) while segments test the field.
A field's key and type never change: rules, feeds and exports name it by its key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from domain import clock
from domain.changes import UNSET, Unset
from domain.errors import Collector, ErrorCode, InputError, not_found
from domain.people.labels import check_label_and_description
from domain.people.models import CustomFieldDefinition

FIELD_TYPES = ("text", "number", "date", "boolean", "choice")
MAX_CHOICES = 100
MAX_CHOICE = 100
_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")


@dataclass(frozen=True)
class CustomFieldChanges:
    label: str | Unset = UNSET
    description: str | Unset = UNSET


def create_custom_field(
    session: Session,
    account_id: int,
    *,
    key: str,
    label: str,
    type: str,
    choices: tuple[str, ...] = (),
    description: str = "",
) -> CustomFieldDefinition:
    problems = Collector()
    if not _KEY.match(key or ""):
        problems.add(ErrorCode.INVALID, "a key is a letter, then letters, digits or _ (at most 63)", "key")
    check_label_and_description(problems, label, description, label_field="label", what="a field")
    if type not in FIELD_TYPES:
        problems.add(ErrorCode.INVALID_CHOICE, f"type is one of {', '.join(FIELD_TYPES)}", "type")
    cleaned = [c.strip() for c in choices]
    if type == "choice":
        if not 1 <= len(cleaned) <= MAX_CHOICES:
            problems.add(ErrorCode.OUT_OF_RANGE, f"a choice field has 1 to {MAX_CHOICES} choices", "choices")
        for i, choice in enumerate(cleaned):
            if not choice or len(choice) > MAX_CHOICE:
                problems.add(ErrorCode.INVALID, f"a choice has 1 to {MAX_CHOICE} characters", "choices", str(i))
            elif choice in cleaned[:i]:
                problems.add(ErrorCode.DUPLICATE, "each choice once", "choices", str(i))
    elif cleaned:
        problems.add(ErrorCode.INVALID, "only choice fields have choices", "choices")
    problems.raise_if_any()
    taken = session.execute(
        select(CustomFieldDefinition.id).where(
            CustomFieldDefinition.account_id == account_id, CustomFieldDefinition.key == key
        )
    ).first()
    if taken is not None:
        raise InputError.single(ErrorCode.DUPLICATE, f"the account has a field {key!r} (perhaps retired)", "key")
    field = CustomFieldDefinition(
        account_id=account_id,
        key=key,
        label=label.strip(),
        type=type,
        choices=cleaned,
        description=(description or "").strip(),
    )
    session.add(field)
    session.flush()
    return field


def _field(session: Session, account_id: int, key: str) -> CustomFieldDefinition:
    found = session.execute(
        select(CustomFieldDefinition)
        .where(CustomFieldDefinition.account_id == account_id, CustomFieldDefinition.key == key)
        .with_for_update()
    ).scalar_one_or_none()
    if found is None:
        raise not_found("custom field", "key")
    return found


def change_custom_field(
    session: Session, account_id: int, key: str, changes: CustomFieldChanges
) -> CustomFieldDefinition:
    problems = Collector()
    check_label_and_description(problems, changes.label, changes.description, label_field="label", what="a field")
    problems.raise_if_any()
    field = _field(session, account_id, key)
    if changes.label is not UNSET:
        field.label = changes.label.strip()
    if changes.description is not UNSET:
        field.description = (changes.description or "").strip()
    session.flush()
    return field


def retire_custom_field(session: Session, account_id: int, key: str) -> CustomFieldDefinition:
    from domain.segments.references import refuse_if_used  # noqa: PLC0415

    field = _field(session, account_id, key)
    refuse_if_used(session, account_id, "custom_field", [key], "key")
    if field.retired_at is None:
        field.retired_at = clock.now()
        session.flush()
    return field


__all__ = ["CustomFieldChanges", "create_custom_field", "change_custom_field", "retire_custom_field", "FIELD_TYPES"]
