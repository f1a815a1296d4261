"""Persons: create, read, update, delete and list, always within one account."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from domain import events
from domain.changes import UNSET, Unset, given
from domain import clock
from domain.errors import ErrorCode, InputError, not_found
from domain.pagination import Page, cursor_datetime, cursor_int, keyset_page
from domain.people.models import CustomFieldDefinition, Person
from domain.people.validation import clean_person_fields


class PersonSort(str, enum.Enum):
    CREATED_AT = "created_at"
    LAST_NAME = "last_name"
    FIRST_NAME = "first_name"
    EMAIL = "email"
    ID = "id"


@dataclass(frozen=True)
class PersonFields:
    """A new person (createPerson). At least an e-mail address or a name is needed."""

    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    gender: str | None = None
    birth_date: date | None = None
    language: str | None = None
    address: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    custom_fields: dict | None = None


@dataclass(frozen=True)
class PersonChanges:
    """What an update changes: ``UNSET`` leaves a field as it is, None clears it; custom fields
    are merged into the current ones (a None value removes a key)."""

    email: str | None | Unset = UNSET
    first_name: str | None | Unset = UNSET
    last_name: str | None | Unset = UNSET
    gender: str | None | Unset = UNSET
    birth_date: date | None | Unset = UNSET
    language: str | None | Unset = UNSET
    address: str | None | Unset = UNSET
    postal_code: str | None | Unset = UNSET
    city: str | None | Unset = UNSET
    country: str | None | Unset = UNSET
    latitude: float | None | Unset = UNSET
    longitude: float | None | Unset = UNSET
    custom_fields: dict | None | Unset = UNSET


def age_on(birth_date: date | None, today: date) -> int | None:
    """Completed years on ``today``; a 29 February birthday counts on 1 March in common years."""
    if birth_date is None:
        return None
    years = today.year - birth_date.year
    try:
        birthday = birth_date.replace(year=today.year)
    except ValueError:  # 29 February in a common year
        birthday = date(today.year, 3, 1)
    return years - (1 if today < birthday else 0)


def age(person: Person, timezone_name: str) -> int | None:
    """A person's age today in the account's time zone (SPEC 5.6)."""
    return age_on(person.birth_date, local_today(timezone_name))


@dataclass
class PersonFilter:
    search: str | None = None
    genders: list[str] = field(default_factory=list)
    gender_unknown: bool | None = None
    city: str | None = None
    postal_code_prefix: str | None = None
    country: str | None = None
    language: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    has_email: bool | None = None


def local_today(tz: str) -> date:
    return clock.today(tz)


def custom_field_definitions(session: Session, account_id: int) -> dict[str, dict]:
    rows = session.execute(
        select(CustomFieldDefinition.key, CustomFieldDefinition.type, CustomFieldDefinition.choices).where(
            CustomFieldDefinition.account_id == account_id,
            CustomFieldDefinition.retired_at.is_(None),  # type: ignore[union-attr]
        )
    ).all()
    return definitions_from_rows(rows)


def custom_field_page(session: Session, account_id: int, *, first: int | None = None, after: str | None = None):
    """The account's custom field definitions by key, a page at a time."""
    stmt = select(CustomFieldDefinition, CustomFieldDefinition.key).where(
        CustomFieldDefinition.account_id == account_id
    )

    def coerce(values: list) -> list:
        if not isinstance(values[0], str):
            raise InputError.single(ErrorCode.INVALID, "not a cursor of this list", "after")
        return values

    return keyset_page(
        session, stmt, [CustomFieldDefinition.key], descending=False, first=first, after=after, coerce=coerce
    )


def definitions_from_rows(rows) -> dict[str, dict]:
    """Custom field definitions by key from (key, type, choices) rows."""
    return {key: {"type": kind, "choices": choices or []} for key, kind, choices in rows}


def delete_custom_field(session: Session, account_id: int, key: str) -> None:
    """Delete a custom field definition and its values on every person, unless a segment's rules
    test the field."""
    from sqlalchemy import Text, literal, update  # noqa: PLC0415

    from domain.segments.references import delete_unless_used  # noqa: PLC0415

    deleted = delete_unless_used(
        session,
        account_id,
        "custom_field",
        key,
        delete(CustomFieldDefinition).where(
            CustomFieldDefinition.account_id == account_id, CustomFieldDefinition.key == key
        ),
        "key",
    )
    if not deleted:
        raise not_found("custom field", "key")
    session.execute(
        update(Person)
        .where(Person.account_id == account_id, Person.custom_fields.has_key(key))
        .values(custom_fields=Person.custom_fields.op("-")(literal(key, Text)))
    )


def live(account_id: int):
    """The account's persons that are not erased (an erased person answers as absent)."""
    return and_(Person.account_id == account_id, Person.erased_at.is_(None))  # type: ignore[union-attr]


def get_person(session: Session, account_id: int, person_id: int) -> Person | None:
    return session.execute(select(Person).where(live(account_id), Person.id == person_id)).scalar_one_or_none()


def get_persons(session: Session, account_id: int, person_ids: list[int]) -> dict[int, Person]:
    if not person_ids:
        return {}
    rows = session.execute(select(Person).where(live(account_id), Person.id.in_(person_ids))).scalars()
    return {p.id: p for p in rows}


def _email_taken(session: Session, account_id: int, email: str | None, exclude_id: int | None) -> bool:
    if not email:
        return False
    stmt = select(Person.id).where(Person.account_id == account_id, func.lower(Person.email) == email.lower())
    if exclude_id is not None:
        stmt = stmt.where(Person.id != exclude_id)
    return session.execute(stmt.limit(1)).first() is not None


def _duplicate_email() -> InputError:
    return InputError.single(ErrorCode.DUPLICATE, "another person already has this e-mail address", "email")


def _flush_unique(session: Session) -> None:
    """Flush, turning a lost race on the e-mail unique index into a typed error."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        if "uq_person_email" in str(exc.orig):
            raise _duplicate_email() from None
        raise


def create_person(session: Session, account_id: int, fields: PersonFields, *, timezone_name: str) -> Person:
    values = {k: v for k, v in asdict(fields).items() if v is not None}
    cleaned = clean_person_fields(
        values, today=local_today(timezone_name), definitions=custom_field_definitions(session, account_id)
    )
    if not any(cleaned.get(k) for k in ("email", "first_name", "last_name")):
        raise InputError.single(ErrorCode.REQUIRED, "a person needs an e-mail address or a name", "email")
    if _email_taken(session, account_id, cleaned.get("email"), None):
        raise _duplicate_email()
    person = Person(account_id=account_id, **cleaned)
    session.add(person)
    _flush_unique(session)
    events.record(session, events.PersonCreated(account_id=account_id, person_id=person.id))
    return person


def update_person(
    session: Session, account_id: int, person_id: int, changes: PersonChanges, *, timezone_name: str
) -> Person:
    person = session.execute(
        select(Person).where(live(account_id), Person.id == person_id).with_for_update()
    ).scalar_one_or_none()
    if person is None:
        raise not_found("person", "id")
    values = given(changes)
    # Moving one coordinate keeps the other: latitude and longitude are checked as a pair.
    if ("latitude" in values) != ("longitude" in values):
        other = "longitude" if "latitude" in values else "latitude"
        if values.get("latitude", values.get("longitude")) is not None:
            values[other] = getattr(person, other)
    cleaned = clean_person_fields(
        values, today=local_today(timezone_name), definitions=custom_field_definitions(session, account_id)
    )
    if "email" in cleaned and _email_taken(session, account_id, cleaned["email"], person_id):
        raise _duplicate_email()
    if "custom_fields" in cleaned:
        merged = dict(person.custom_fields or {})
        for key, value in cleaned["custom_fields"].items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        cleaned["custom_fields"] = merged
    if not any(cleaned.get(k, getattr(person, k)) for k in ("email", "first_name", "last_name")):
        raise InputError.single(ErrorCode.REQUIRED, "a person needs an e-mail address or a name", "email")
    changed = tuple(sorted(k for k, v in cleaned.items() if getattr(person, k) != v))
    for key, value in cleaned.items():
        setattr(person, key, value)
    if changed:
        person.updated_at = clock.now()
        _flush_unique(session)
        events.record(session, events.PersonUpdated(account_id=account_id, person_id=person_id, changed_fields=changed))
    return person


def delete_person(session: Session, account_id: int, person_id: int) -> None:
    result = session.execute(delete(Person).where(live(account_id), Person.id == person_id))
    if result.rowcount == 0:
        raise not_found("person", "id")
    events.record(session, events.PersonDeleted(account_id=account_id, person_id=person_id))


def _apply_filter(stmt, account_id: int, flt: PersonFilter):
    stmt = stmt.where(live(account_id))
    if flt.search:
        for word in flt.search.lower().split()[:5]:
            pattern = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            stmt = stmt.where(
                or_(
                    func.lower(Person.email).like(pattern),
                    func.lower(Person.first_name).like(pattern),
                    func.lower(Person.last_name).like(pattern),
                )
            )
    if flt.genders or flt.gender_unknown:
        conditions = []
        if flt.genders:
            conditions.append(Person.gender.in_(flt.genders))
        if flt.gender_unknown:
            conditions.append(Person.gender.is_(None))
        stmt = stmt.where(or_(*conditions))
    if flt.city:
        stmt = stmt.where(func.lower(Person.city) == flt.city.strip().lower())
    if flt.postal_code_prefix:
        stmt = stmt.where(
            Person.__table__.c.postal_code.startswith(flt.postal_code_prefix.strip().upper(), autoescape=True)
        )
    if flt.country:
        stmt = stmt.where(Person.country == flt.country.strip().upper())
    if flt.language:
        stmt = stmt.where(Person.language == flt.language.strip())
    if flt.created_after:
        stmt = stmt.where(Person.created_at >= flt.created_after)
    if flt.created_before:
        stmt = stmt.where(Person.created_at < flt.created_before)
    if flt.has_email is not None:
        stmt = stmt.where(Person.email.isnot(None) if flt.has_email else Person.email.is_(None))
    return stmt


def _sort_keys(sort: PersonSort):
    if sort is PersonSort.CREATED_AT:
        return [Person.created_at, Person.id]
    if sort is PersonSort.ID:
        return [Person.id]
    column = {
        PersonSort.LAST_NAME: Person.last_name,
        PersonSort.FIRST_NAME: Person.first_name,
        PersonSort.EMAIL: Person.email,
    }[sort]
    return [func.coalesce(func.lower(column), ""), Person.id]


def _coerce_cursor(sort: PersonSort):
    def coerce(values: list) -> list:
        try:
            if sort is PersonSort.CREATED_AT:
                return [cursor_datetime(values[0]), cursor_int(values[1])]
            if sort is PersonSort.ID:
                return [cursor_int(values[0])]
            return [str(values[0]), cursor_int(values[1])]
        except (TypeError, ValueError):
            raise InputError.single(ErrorCode.INVALID, "not a cursor of this list", "after") from None

    return coerce


def list_persons(
    session: Session,
    account_id: int,
    *,
    filter: PersonFilter | None = None,
    sort: PersonSort = PersonSort.CREATED_AT,
    descending: bool = True,
    first: int | None = None,
    after: str | None = None,
) -> Page[Person]:
    keys = _sort_keys(sort)
    stmt = _apply_filter(select(Person, *keys), account_id, filter or PersonFilter())
    return keyset_page(
        session, stmt, keys, descending=descending, first=first, after=after, coerce=_coerce_cursor(sort)
    )


def count_persons(session: Session, account_id: int, *, filter: PersonFilter | None = None) -> int:
    stmt = _apply_filter(select(func.count()).select_from(Person), account_id, filter or PersonFilter())
    return session.execute(stmt).scalar_one()
