"""The binary COPY column reader: every type as PostgreSQL computes it, NULLs refused, big results in chunks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import text

from domain.audience import columns
from domain.audience.columns import ColumnsError, read_columns

ALL = ["int8", "int4", "int2", "float8", "float4", "bool", "date", "timestamptz"]
VALUES = """
    SELECT * FROM (VALUES
      (9223372036854775807::int8, '-2147483648'::int4, '-32768'::int2, 'NaN'::float8, 1.5::float4, true,
       date '1969-12-31', timestamptz '1970-01-01 00:00:00.000001+00'),
      (-1::int8, 7::int4, 3::int2, -0.1::float8, '-Infinity'::float4, false,
       date '2026-02-28', timestamptz '2026-12-03 15:00:00.5+01')
    ) v ORDER BY 2
"""


def test_every_type_comes_back_as_postgresql_has_it(session):
    got = read_columns(session, VALUES, None, ALL)
    assert [c.dtype.str for c in got] == ["<i8", "<i4", "<i2", "<f8", "<f4", "|b1", "<i4", "<i8"]
    assert got[0].tolist() == [9223372036854775807, -1]
    assert got[1].tolist() == [-2147483648, 7]
    assert got[2].tolist() == [-32768, 3]
    assert np.isnan(got[3][0]) and got[3][1] == -0.1
    assert got[4][0] == 1.5 and got[4][1] == -np.inf
    assert got[5].tolist() == [True, False]
    epoch = date(1970, 1, 1)
    assert got[6].tolist() == [(date(1969, 12, 31) - epoch).days, (date(2026, 2, 28) - epoch).days]
    second = datetime(2026, 12, 3, 14, 0, 0, 500000, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    assert got[7].tolist() == [1, second // timedelta(microseconds=1)]


def test_parameters_are_bound(session):
    (ids,) = read_columns(session, "SELECT g::int8 FROM generate_series(1, %s) g WHERE g %% %s = 0", (20, 5), ["int8"])
    assert ids.tolist() == [5, 10, 15, 20]


def test_an_empty_result_is_empty_arrays(session):
    got = read_columns(session, "SELECT 1::int8, 2.0::float8 WHERE false", None, ["int8", "float8"])
    assert [len(c) for c in got] == [0, 0] and got[1].dtype == np.float64


def test_a_null_is_refused_not_read_as_a_value(session):
    with pytest.raises(ColumnsError, match="NULL"):
        read_columns(
            session,
            "SELECT g::int8, CASE WHEN g = 3 THEN NULL ELSE g END::int4 FROM generate_series(1, 5) g",
            None,
            ["int8", "int4"],
        )


def test_another_column_type_is_refused(session):
    with pytest.raises(ColumnsError):
        read_columns(session, "SELECT 1::int4", None, ["int8"])


def test_a_result_larger_than_a_chunk_comes_whole_and_in_order(session, monkeypatch):
    monkeypatch.setattr(columns, "CHUNK_ROWS", 1000)
    n = 25_001
    ids, halves = read_columns(
        session, "SELECT g::int8, (g / 2.0)::float8 FROM generate_series(1, %s) g ORDER BY g", (n,), ["int8", "float8"]
    )
    assert np.array_equal(ids, np.arange(1, n + 1)) and np.array_equal(halves, np.arange(1, n + 1) / 2.0)


def test_reads_inside_the_sessions_transaction(session):
    session.execute(text("CREATE TEMP TABLE audience_probe (v int8) ON COMMIT DROP"))
    session.execute(text("INSERT INTO audience_probe SELECT generate_series(1, 3)"))
    (values,) = read_columns(session, "SELECT v FROM audience_probe ORDER BY v", None, ["int8"])
    assert values.tolist() == [1, 2, 3]


def test_the_connection_goes_on_after_a_refused_stream(session):
    """The reader stops at the first bad chunk; the rest of the COPY is read and dropped."""
    with pytest.raises(ColumnsError, match="NULL"):
        read_columns(
            session,
            "SELECT g::int8, CASE WHEN g = 3 THEN NULL ELSE g END::int4 FROM generate_series(1, 50000) g",
            None,
            ["int8", "int4"],
        )
    assert session.execute(text("SELECT 41 + 1")).scalar_one() == 42


def test_an_error_in_the_middle_of_the_stream_is_raised_as_psycopg_raises_it(db_engine):
    import psycopg
    from sqlmodel import Session

    with Session(db_engine) as session:
        with pytest.raises(psycopg.errors.DivisionByZero):
            read_columns(session, "SELECT (1 / (20000 - g))::int8 FROM generate_series(1, 30000) g", None, ["int8"])
        session.rollback()
        assert read_columns(session, "SELECT 7::int8", None, ["int8"])[0].tolist() == [7]


def test_the_first_statement_of_a_transaction_reads_in_it(db_engine):
    """A COPY sent first still runs in the session's transaction (psycopg's BEGIN is sent first)."""
    from sqlmodel import Session

    with Session(db_engine) as session:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        xid = read_columns(session, "SELECT txid_current()", None, ["int8"])[0]
        again = read_columns(session, "SELECT txid_current()", None, ["int8"])[0]
        assert xid.tolist() == again.tolist()
        session.rollback()
