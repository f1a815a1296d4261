"""The ticketing feed's records, checked one by one (the format: ``plugins/ticketing/README.md``).

A reader yields raw records (dicts from JSON Lines or CSV rows) with their line numbers;
:func:`parse_record` turns one into a typed record or a :class:`Refusal` that says why (line,
external id, field, message). Checking is per record and needs no database; references to other
records (an order's person, a ticket's event) are resolved by the importer, batch by batch.
"""

from __future__ import annotations

import enum
import re
from functools import cache
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.catalog.models import Channel, EventStatus, OrderStatus, TicketStatus
from domain.errors import InputError
from domain.people.validation import clean_person_fields
from domain.text import clean

MAX_ID = 200
MAX_TEXT = 2000
MAX_TAGS = 100
MAX_TICKETS = 1000
MAX_CONSENTS = 50


class Kind(str, enum.Enum):
    VENUE = "venue"
    PRODUCTION = "production"
    EVENT = "event"
    PERSON = "person"
    ORDER = "order"
    SUBSCRIPTION = "subscription"


@dataclass(frozen=True)
class Refusal:
    line: int
    kind: str
    external_id: str | None
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "kind": self.kind,
            "external_id": self.external_id,
            "field": self.field,
            "message": self.message,
        }


class _Bad(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ConsentState:
    key: str
    granted: bool
    at: datetime | None


@dataclass(frozen=True)
class PersonRecord:
    line: int
    id: str
    fields: dict[str, Any]  # checked person fields (email normalised), only those given
    consents: tuple[ConsentState, ...] = ()


@dataclass(frozen=True)
class VenueRecord:
    line: int
    id: str
    name: str
    address: str | None = None
    city: str | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class ProductionRecord:
    line: int
    id: str
    title: str
    promoter: str | None = None
    season: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class EventRecord:
    line: int
    id: str
    production: str
    venue: str
    starts_at: datetime
    capacity: int | None = None
    status: str = EventStatus.SCHEDULED.value


@dataclass(frozen=True)
class TicketRecord:
    id: str
    event: str
    price: Decimal
    status: str = TicketStatus.VALID.value
    scanned_at: datetime | None = None


@dataclass(frozen=True)
class OrderRecord:
    line: int
    id: str
    person: str
    channel: str
    created_at: datetime
    status: str = OrderStatus.PAID.value
    tickets: tuple[TicketRecord, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class SubscriptionRecord:
    line: int
    id: str
    person: str
    name: str
    valid_from: date
    valid_until: date | None = None


Record = PersonRecord | VenueRecord | ProductionRecord | EventRecord | OrderRecord | SubscriptionRecord


# -- values ------------------------------------------------------------------------------------


def _text(raw: dict, name: str, *, required: bool = False, limit: int = MAX_TEXT) -> str | None:
    value = raw.get(name)
    if value is None or value == "":
        if required:
            raise _Bad(name, f"{name} is required")
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise _Bad(name, f"{name} is text")
    if "\x00" in value:
        raise _Bad(name, f"{name} must not contain NUL characters")
    value = clean(value).strip()
    if len(value) > limit:
        raise _Bad(name, f"{name} is at most {limit} characters")
    if not value and required:
        raise _Bad(name, f"{name} is required")
    return value or None


def _id(raw: dict, name: str = "id") -> str:
    value = _text(raw, name, required=True, limit=MAX_ID)
    assert value is not None
    return value


def _datetime(raw: dict, name: str, *, required: bool = False) -> datetime | None:
    value = _text(raw, name, required=required, limit=40)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _Bad(name, f"{name} is a date and time such as 2026-10-03T20:15:00+02:00") from None
    if parsed.tzinfo is None:
        raise _Bad(name, f"{name} needs a UTC offset (2026-10-03T20:15:00+02:00 or …Z)")
    return parsed.astimezone(UTC)


def _date(raw: dict, name: str, *, required: bool = False) -> date | None:
    value = _text(raw, name, required=required, limit=10)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _Bad(name, f"{name} is a date such as 2026-10-03") from None


def _number(raw: dict, name: str) -> float | None:
    value = raw.get(name)
    if value is None or value == "":
        return None
    try:
        number = float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None or number != number or number in (float("inf"), float("-inf")):
        raise _Bad(name, f"{name} is a number")
    return number


def _integer(raw: dict, name: str) -> int | None:
    value = _number(raw, name)
    if value is None:
        return None
    if not value.is_integer() or not 0 <= value <= 10_000_000:
        raise _Bad(name, f"{name} is a whole number from 0 to 10,000,000")
    return int(value)


def _choice(raw: dict, name: str, choices: type[enum.Enum], default: str) -> str:
    value = _text(raw, name, limit=40)
    if value is None:
        return default
    value = value.lower()
    allowed = _values(choices)
    if value not in allowed:
        raise _Bad(name, f"{name} is one of {', '.join(allowed)}")
    return value


@cache
def _values(choices: type[enum.Enum]) -> tuple[str, ...]:
    return tuple(c.value for c in choices)


def _price(raw: dict, name: str = "price") -> Decimal:
    value = raw.get(name)
    if value is None or value == "" or isinstance(value, bool):
        raise _Bad(name, f"{name} is required")
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        raise _Bad(name, f"{name} is an amount such as 24.50") from None
    if not price.is_finite() or price < 0 or price >= Decimal("100000000"):
        raise _Bad(name, f"{name} is an amount from 0 to 99,999,999.99")
    return price.quantize(Decimal("0.01"))


def _names(raw: dict, *names: str) -> tuple[str, ...]:
    """Tag names from lists (JSON) or ``|``-separated text (CSV), in order, once each."""
    found: list[str] = []
    for name in names:
        value = raw.get(name)
        if value is None or value == "":
            continue
        items = value.split("|") if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise _Bad(name, f"{name} is a list of tag names")
        found.extend(n for n in (clean(i).strip() for i in items) if n)
    unique = tuple(dict.fromkeys(found))
    if len(unique) > MAX_TAGS:
        raise _Bad(names[0], f"at most {MAX_TAGS} tags")
    if any(len(n) > 200 for n in unique):
        raise _Bad(names[0], "a tag name is at most 200 characters")
    return unique


CONSENT_KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


def _consents(raw: dict) -> tuple[ConsentState, ...]:
    """``{"newsletter": true}`` or ``{"newsletter": {"granted": true, "at": "…"}}``; in CSV,
    columns ``consent.<key>`` holding true / false."""
    value = raw.get("consents") or {}
    if not isinstance(value, dict):
        raise _Bad("consents", "consents is an object of consent type keys")
    value = {**value, **{k[len("consent.") :]: v for k, v in raw.items() if k.startswith("consent.") and v != ""}}
    if len(value) > MAX_CONSENTS:
        raise _Bad("consents", f"at most {MAX_CONSENTS} consents")
    states = []
    for key, state in value.items():
        at = None
        if isinstance(state, dict):
            at = _datetime(state, "at")
            state = state.get("granted")
        if isinstance(state, str) and state.lower() in ("true", "false", "1", "0", "yes", "no"):
            state = state.lower() in ("true", "1", "yes")
        if not isinstance(state, bool):
            raise _Bad(f"consents.{key}", f"consent {key!r} is true or false")
        key = str(key).strip().lower()
        if not CONSENT_KEY.fullmatch(key):
            raise _Bad(f"consents.{key[:40]}", "a consent key is 1 to 40 lower-case letters, digits, - or _")
        states.append(ConsentState(key=key, granted=state, at=at))
    return tuple(states)


# -- records -----------------------------------------------------------------------------------

PERSON_FEED_FIELDS = (
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
)


def _person(raw: dict, line: int, today: date) -> PersonRecord:
    values: dict[str, Any] = {}
    for name in PERSON_FEED_FIELDS:
        if raw.get(name) in (None, ""):
            continue
        if name == "birth_date":
            values[name] = _date(raw, name)
        elif name in ("latitude", "longitude"):
            values[name] = _number(raw, name)
        else:
            values[name] = raw[name] if isinstance(raw[name], str) else _text(raw, name)
    try:
        fields = clean_person_fields(values, today=today, definitions={})
    except InputError as error:
        problem = error.problems[0]
        raise _Bad(problem.path[-1] if problem.path else "person", problem.message) from None
    return PersonRecord(line=line, id=_id(raw), fields=fields, consents=_consents(raw))


def _ticket(raw: Any, index: int) -> TicketRecord:
    if not isinstance(raw, dict):
        raise _Bad(f"tickets.{index}", "a ticket is an object")
    try:
        return TicketRecord(
            id=_id(raw),
            event=_id(raw, "event"),
            price=_price(raw),
            status=_choice(raw, "status", TicketStatus, TicketStatus.VALID.value),
            scanned_at=_datetime(raw, "scanned_at"),
        )
    except _Bad as bad:
        raise _Bad(f"tickets.{index}.{bad.field}", bad.message) from None


def _order(raw: dict, line: int) -> OrderRecord:
    tickets = raw.get("tickets") or []
    if not isinstance(tickets, list) or len(tickets) > MAX_TICKETS:
        raise _Bad("tickets", f"tickets is a list of at most {MAX_TICKETS}")
    parsed = tuple(_ticket(t, i) for i, t in enumerate(tickets))
    if len({t.id for t in parsed}) != len(parsed):
        raise _Bad("tickets", "ticket ids repeat within the order")
    return OrderRecord(
        line=line,
        id=_id(raw),
        person=_id(raw, "person"),
        channel=_choice(raw, "channel", Channel, Channel.ONLINE.value),
        created_at=_datetime(raw, "created_at", required=True),  # type: ignore[arg-type]
        status=_choice(raw, "status", OrderStatus, OrderStatus.PAID.value),
        tickets=parsed,
    )


def _coordinates(raw: dict) -> tuple[float | None, float | None]:
    latitude, longitude = _number(raw, "latitude"), _number(raw, "longitude")
    if (latitude is None) != (longitude is None):
        raise _Bad("latitude", "latitude and longitude go together")
    if latitude is not None and not (-90 <= latitude <= 90 and -180 <= longitude <= 180):  # type: ignore[operator]
        raise _Bad("latitude", "coordinates out of range")
    return latitude, longitude


def _build(kind: Kind, raw: dict, line: int, today: date) -> Record:
    if kind is Kind.PERSON:
        return _person(raw, line, today)
    if kind is Kind.VENUE:
        latitude, longitude = _coordinates(raw)
        return VenueRecord(
            line=line,
            id=_id(raw),
            name=_text(raw, "name", required=True),  # type: ignore[arg-type]
            address=_text(raw, "address"),
            city=_text(raw, "city"),
            latitude=latitude,
            longitude=longitude,
        )
    if kind is Kind.PRODUCTION:
        return ProductionRecord(
            line=line,
            id=_id(raw),
            title=_text(raw, "title", required=True),  # type: ignore[arg-type]
            promoter=_text(raw, "promoter"),
            season=_text(raw, "season", limit=40),
            description=_text(raw, "description"),
            tags=_names(raw, "tags", "genres", "labels"),
        )
    if kind is Kind.EVENT:
        return EventRecord(
            line=line,
            id=_id(raw),
            production=_id(raw, "production"),
            venue=_id(raw, "venue"),
            starts_at=_datetime(raw, "starts_at", required=True),  # type: ignore[arg-type]
            capacity=_integer(raw, "capacity"),
            status=_choice(raw, "status", EventStatus, EventStatus.SCHEDULED.value),
        )
    if kind is Kind.ORDER:
        return _order(raw, line)
    valid_from = _date(raw, "valid_from", required=True)
    valid_until = _date(raw, "valid_until")
    if valid_until is not None and valid_from is not None and valid_until < valid_from:
        raise _Bad("valid_until", "valid_until is on or after valid_from")
    return SubscriptionRecord(
        line=line,
        id=_id(raw),
        person=_id(raw, "person"),
        name=_text(raw, "name", required=True),  # type: ignore[arg-type]
        valid_from=valid_from,  # type: ignore[arg-type]
        valid_until=valid_until,
    )


def parse_record(raw: Any, line: int, today: date) -> Record | Refusal:
    """One raw record as a typed record, or the reason it is refused."""
    if not isinstance(raw, dict):
        return Refusal(line, "", None, "", "a record is an object")
    kind_name = raw.get("type")
    external_id = raw.get("id") if isinstance(raw.get("id"), str | int) else None
    try:
        kind = Kind(kind_name)
    except ValueError:
        known = ", ".join(k.value for k in Kind)
        return Refusal(line, str(kind_name)[:40], _short(external_id), "type", f"type is one of {known}")
    try:
        return _build(kind, raw, line, today)
    except _Bad as bad:
        return Refusal(line, kind.value, _short(external_id), bad.field, bad.message)


def _short(value: Any) -> str | None:
    return None if value is None else str(value)[:MAX_ID]
