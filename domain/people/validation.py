"""Pure validation of person fields (no database)."""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

from domain.errors import Collector, ErrorCode, InputError, Key
from domain.people.models import CustomFieldType, Gender
from domain.text import clean, scripts

COUNTRY = re.compile(r"^[A-Z]{2}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")

TEXT_LIMITS = {
    "email": 254,
    "first_name": 200,
    "last_name": 200,
    "address": 300,
    "postal_code": 20,
    "city": 200,
    "country": 2,
    "language": 35,
}
PERSON_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "gender",
    "birth_date",
    "language",
    "address",
    "postal_code",
    "city",
    "country",
    "latitude",
    "longitude",
    "custom_fields",
)
#: The fields a person is reached by and addressed with (exports, workbooks): all but coordinates and custom fields.
PERSON_CONTACT_FIELDS = tuple(f for f in PERSON_FIELDS if f not in ("latitude", "longitude", "custom_fields"))
CUSTOM_TEXT_LIMIT = 2000
MAX_CUSTOM_NUMBER = 1e15  # beyond this a float no longer holds whole numbers exactly


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


_ATEXT = r"A-Za-z0-9_!#$%&'*+\-/=?^`{|}~"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
#: Plain ASCII addresses whose stored form is known without email-validator: a dot-atom local
#: part of at most 64 characters, letters-digits-hyphens labels, a top-level domain of letters.
_PLAIN_EMAIL = re.compile(
    rf"(?P<local>[{_ATEXT}]{{1,64}}(?:\.[{_ATEXT}]+)*)@(?P<domain>(?:{_LABEL}\.)+[A-Za-z]{{2,63}})"
)


def _plain_email(address: str) -> str | None:
    """The stored form of a plain address (what email-validator gives for it: the domain
    lower-cased, the rest as is), or None when email-validator must judge it: anything longer,
    quoted, internationalised, an IDNA label (``xn--``), a role mailbox email-validator lower-cases
    (``Info@``, ``Postmaster@``), or under a special-use domain. A feed's
    hundred thousand persons spent most of their parsing in email-validator."""
    found = _PLAIN_EMAIL.fullmatch(address)
    if found is None or len(address) > 254 or len(found["local"]) > 64:
        return None
    if found["local"].lower() in CASE_INSENSITIVE_MAILBOX_NAMES:  # Info@ is stored as info@
        return None
    domain = found["domain"].lower()
    labels = domain.split(".")
    if any(label[2:4] == "--" for label in labels):
        return None
    if any(domain == name or domain.endswith("." + name) for name in SPECIAL_USE_DOMAIN_NAMES):
        return None
    return f"{found['local']}@{domain}"


def normalise_email(address: str) -> str:
    """An e-mail address as stored: checked by email-validator (syntax, no display names or
    lists), the domain lower-cased (internationalised domains kept readable), the local part
    ASCII, and no domain label mixing scripts (a Cyrillic е in "еxample.nl"). Raises InputError."""
    address = clean(address).strip()
    if (plain := _plain_email(address)) is not None:
        return plain
    try:
        checked = validate_email(address, check_deliverability=False, allow_smtputf8=False, test_environment=True)
    except EmailNotValidError as error:
        raise InputError.single(
            ErrorCode.INVALID_EMAIL, f"{address!r} is not a valid e-mail address: {error}"
        ) from None
    if any(len(scripts(label)) > 1 for label in checked.domain.split(".")):
        raise InputError.single(
            ErrorCode.INVALID_EMAIL,
            f"{address!r} is not a valid e-mail address: its domain mixes letters of several scripts",
        )
    return checked.normalized


def clean_person_fields(
    values: dict[str, Any], *, today: date, definitions: dict[str, dict], path: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Trim, normalise and check the given person fields; raise InputError listing every problem."""
    problems = Collector()
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in PERSON_FIELDS:
            problems.add(ErrorCode.INVALID, f"unknown field {key}", *path, key)
            continue
        if isinstance(value, str):
            if "\x00" in value:
                problems.add(ErrorCode.INVALID, f"{camel(key)} must not contain NUL characters", *path, key)
                continue
            value = clean(value).strip()
            if value == "":
                value = None
        limit = TEXT_LIMITS.get(key)
        if limit and isinstance(value, str) and len(value) > limit:
            problems.add(ErrorCode.TOO_LONG, f"{camel(key)} is longer than {limit} characters", *path, key)
            continue
        if key == "email" and value is not None:
            try:
                value = normalise_email(value)
            except InputError as error:
                problems.add(ErrorCode.INVALID_EMAIL, error.problems[0].message, *path, "email")
                continue
        if key == "gender" and value is not None:
            value = getattr(value, "value", value)
            if value not in {g.value for g in Gender}:
                problems.add(ErrorCode.INVALID_CHOICE, "gender is female, male, other or empty", *path, "gender")
                continue
        if key == "postal_code" and value is not None:
            value = " ".join(value.upper().split())
        if key == "country" and value is not None:
            value = value.upper()
            if not COUNTRY.match(value):
                problems.add(ErrorCode.INVALID, "country is a two-letter ISO code such as NL", *path, "country")
                continue
        if key == "language" and value is not None and not LANGUAGE.match(value):
            problems.add(ErrorCode.INVALID, "language is a code such as nl or en-GB", *path, "language")
            continue
        if key == "birth_date" and value is not None and (value > today or value.year < 1900):
            problems.add(ErrorCode.OUT_OF_RANGE, "birth date must be between 1900 and today", *path, "birth_date")
            continue
        if key in ("latitude", "longitude") and value is not None:
            bound = 90 if key == "latitude" else 180
            if not -bound <= value <= bound:
                problems.add(ErrorCode.OUT_OF_RANGE, f"{key} must be between -{bound} and {bound}", *path, key)
                continue
        if key == "custom_fields":
            value = clean_custom_fields(value or {}, definitions, problems, path)
        out[key] = value
    coordinate_problem = any(p.path[-1:] in (("latitude",), ("longitude",)) for p in problems.problems)
    if not coordinate_problem and (
        ("latitude" in out) != ("longitude" in out) or (out.get("latitude") is None) != (out.get("longitude") is None)
    ):
        problems.add(ErrorCode.INVALID, "latitude and longitude go together", *path, "latitude")
    problems.raise_if_any()
    return out


def clean_custom_fields(
    values: dict[str, Any], definitions: dict[str, dict], problems: Collector, path: tuple[str, ...]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not isinstance(values, dict):
        problems.add(ErrorCode.INVALID, "custom fields are an object of key → value", *path, "custom_fields")
        return out
    for key, value in values.items():
        where = (*path, "custom_fields", Key(str(key)))
        definition = definitions.get(key)
        if definition is None:
            problems.add(ErrorCode.NOT_FOUND, f"no custom field {key!r} is defined", *where)
            continue
        if value is None:
            out[key] = None
            continue
        kind = definition["type"]
        ok = True
        if kind == CustomFieldType.TEXT.value:
            ok = isinstance(value, str) and len(value) <= CUSTOM_TEXT_LIMIT and "\x00" not in value
        elif kind == CustomFieldType.NUMBER.value:
            ok = (
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and math.isfinite(value)
                and abs(value) <= MAX_CUSTOM_NUMBER
            )
        elif kind == CustomFieldType.BOOLEAN.value:
            ok = isinstance(value, bool)
        elif kind == CustomFieldType.DATE.value:
            try:
                value = date.fromisoformat(value).isoformat() if isinstance(value, str) else None
                ok = value is not None
            except ValueError:
                ok = False
        elif kind == CustomFieldType.CHOICE.value:
            ok = value in definition.get("choices", [])
        if not ok:
            problems.add(ErrorCode.INVALID, f"{key!r} takes a {kind} value", *where)
            continue
        out[key] = value
    return out
