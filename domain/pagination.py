"""Keyset (cursor) pagination over any sort order that ends in a unique id."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from collections.abc import Sequence

from sqlalchemy import tuple_
from sqlalchemy.sql import ColumnElement, Select

from domain.errors import ErrorCode, InputError

T = TypeVar("T")

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50


@dataclass
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool

    @property
    def start_cursor(self) -> str | None:
        return self.cursors[0] if self.cursors else None

    @property
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None


def encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values), default=str).encode()).decode().rstrip("=")


MAX_CURSOR_LENGTH = 1000


def decode_cursor(cursor: str, length: int) -> list[Any]:
    """The key values a cursor holds: a flat JSON list of ``length`` scalars (anything else —
    too long, nested, not JSON — is not a cursor of ours)."""
    try:
        if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != length or any(isinstance(v, (list, dict)) for v in values):
            raise ValueError
        return values
    except (ValueError, TypeError, RecursionError, UnicodeDecodeError):
        raise InputError.single(ErrorCode.INVALID, "not a cursor of this list", "after") from None


BIGINT_MAX = 2**63 - 1


def cursor_int(value) -> int:
    """An id taken from a cursor; anything but a bigint is not a cursor of ours."""
    if isinstance(value, bool) or not isinstance(value, int) or not -BIGINT_MAX <= value <= BIGINT_MAX:
        raise InputError.single(ErrorCode.INVALID, "not a cursor of this list", "after")
    return value


def cursor_datetime(value):
    from datetime import datetime  # noqa: PLC0415

    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise InputError.single(ErrorCode.INVALID, "not a cursor of this list", "after") from None


def page_size(first: int | None, *, maximum: int = MAX_PAGE_SIZE, default: int = DEFAULT_PAGE_SIZE) -> int:
    if first is None:
        return default
    if first < 0 or first > maximum:
        raise InputError.single(ErrorCode.OUT_OF_RANGE, f"first must be between 0 and {maximum}", "first")
    return first


def keyset_page(
    session,
    stmt: Select,
    keys: list[ColumnElement],
    *,
    descending: bool,
    first: int | None,
    after: str | None,
    maximum: int = MAX_PAGE_SIZE,
    coerce=lambda values: values,
) -> Page:
    """Run ``stmt`` ordered by ``keys`` (all ascending or all descending; the last key unique).

    ``stmt`` must select the row object first and the key values after it.
    """
    limit = page_size(first, maximum=maximum)
    if after:
        values = coerce(decode_cursor(after, len(keys)))
        cmp = tuple_(*keys) < tuple_(*values) if descending else tuple_(*keys) > tuple_(*values)
        stmt = stmt.where(cmp)
    order = [k.desc() for k in keys] if descending else [k.asc() for k in keys]
    rows = session.execute(stmt.order_by(*order).limit(limit + 1)).all()
    has_next = len(rows) > limit
    rows = rows[:limit]
    return Page(
        items=[r[0] for r in rows],
        cursors=[encode_cursor(r[1:]) for r in rows],
        has_next_page=has_next,
        has_previous_page=bool(after),
    )


__all__ = ["Page", "keyset_page", "encode_cursor", "decode_cursor", "page_size"]


def newest_per_key(session, model, key_column, account_id: int, keys: Sequence[int], order_by, first: int) -> dict:
    """Each key's first ``first`` rows of ``model`` (``order_by``: columns or their ``desc()``),
    for every key in one statement: a row_number window, not a query per key."""
    from collections import defaultdict  # noqa: PLC0415
    from sqlalchemy import func, select  # noqa: PLC0415
    from sqlalchemy.orm import aliased  # noqa: PLC0415

    out: dict = defaultdict(list)
    if not keys or first <= 0:
        return out
    ranked = (
        select(model, func.row_number().over(partition_by=key_column, order_by=order_by).label("place"))
        .where(model.account_id == account_id, key_column.in_(list(keys)))
        .subquery()
    )
    newest = aliased(model, ranked)
    rows = session.execute(
        select(newest).where(ranked.c.place <= first).order_by(ranked.c[key_column.key], ranked.c.place)
    ).scalars()
    for row in rows:
        out[getattr(row, key_column.key)].append(row)
    return out
