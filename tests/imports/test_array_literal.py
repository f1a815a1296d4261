"""The importer's array literals read back in PostgreSQL as the values they were made from."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import text

from domain.imports.importer import _array

TEXTS = ["plain", 'a "quote"', "back\\slash", "comma, and {braces}", "NULL", "", "  spaced  ", "ünï cödé 😀", None]


@pytest.mark.parametrize(
    ("values", "type_"),
    [
        (TEXTS, "text"),
        ([1, -2, 9_007_199_254_740_993, None], "bigint"),
        ([True, False, None], "boolean"),
        ([0.1, -1e-05, 52.0907, None], "float8"),
        ([Decimal("12.50"), Decimal("0"), None], "numeric"),
        ([date(1970, 1, 1), date(2026, 12, 3), None], "date"),
        ([datetime(2026, 3, 29, 1, 30, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=5, minutes=30)))], "timestamptz"),
        ([], "text"),
    ],
)  # fmt: skip
def test_values_round_trip(session, values, type_):
    back = session.execute(text(f"SELECT CAST(:v AS {type_}[])"), {"v": _array(values)}).scalar_one()
    assert back == values


def test_other_types_are_refused():
    with pytest.raises(TypeError):
        _array([object()])
