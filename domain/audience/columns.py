"""Columns out of PostgreSQL straight into numpy arrays (the audience index's loader, issue 15).

A query's rows come through ``COPY (query) TO STDOUT (FORMAT binary)``: every row of a query
whose columns are all fixed-width and never NULL has the same length there, so a chunk of the
stream is read as a numpy structured array in one call, with no Python object per value
(fetching 6,000,000 ticket facts as tuples costs seconds of Python alone). The query says what
stands for a missing value itself (``coalesce(latitude, 'NaN')``, ``coalesce(day, -2147483648)``).

Binary COPY (PostgreSQL's "Binary Format"): an 11-byte signature, a 32-bit flags word and a
32-bit header-extension length (then that many bytes); per row a 16-bit field count, then per
field a 32-bit length (-1 for NULL) and the value in network byte order; a 16-bit -1 at the end.
Dates are days and timestamps microseconds since 2000-01-01; they come back counted from 1970.
"""

from __future__ import annotations

import select
import struct
from collections.abc import Iterable, Iterator

import numpy as np
import psycopg
from psycopg import pq
from sqlalchemy.orm import Session

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
EPOCH_2000_DAYS = 10_957  # days from 1970-01-01 to 2000-01-01
EPOCH_2000_US = EPOCH_2000_DAYS * 86_400 * 1_000_000

# PostgreSQL type: (wire dtype, dtype kept)
TYPES: dict[str, tuple[str, str]] = {
    "int8": (">i8", "<i8"),
    "int4": (">i4", "<i4"),
    "int2": (">i2", "<i2"),
    "float8": (">f8", "<f8"),
    "float4": (">f4", "<f4"),
    "bool": ("u1", "?"),
    "date": (">i4", "<i4"),  # days since 1970-01-01
    "timestamptz": (">i8", "<i8"),  # microseconds since 1970-01-01 UTC
}
CHUNK_ROWS = 262_144  # rows parsed per step: the raw stream held is at most about this many rows


class ColumnsError(Exception):
    """The stream is not what the column list says (a NULL, another type, another column count)."""


def _row_dtype(types: list[str]) -> np.dtype:
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for i, t in enumerate(types):
        fields += [(f"len{i}", ">i4"), (f"v{i}", TYPES[t][0])]
    return np.dtype(fields)


def _header_length(data: bytes | bytearray) -> int | None:
    """Bytes of the stream's header, None while it has not all arrived."""
    if len(data) < len(SIGNATURE) + 8:
        return None
    if data[: len(SIGNATURE)] != SIGNATURE:
        raise ColumnsError("not a binary COPY stream")
    (extension,) = struct.unpack_from(">I", data, len(SIGNATURE) + 4)
    end = len(SIGNATURE) + 8 + extension
    return end if len(data) >= end else None


class _Parser:
    def __init__(self, types: list[str]):
        self.types = types
        self.dtype = _row_dtype(types)
        self.widths = [np.dtype(TYPES[t][0]).itemsize for t in types]
        self.parts: list[list[np.ndarray]] = [[] for _ in types]

    def take(self, data: bytes) -> None:
        """Parse whole rows (``data`` holds a multiple of the row size, else it is diagnosed)."""
        if len(data) % self.dtype.itemsize:
            self.diagnose(data)
        raw = np.frombuffer(data, dtype=self.dtype)
        regular = raw["count"] == len(self.types)
        for i, width in enumerate(self.widths):
            regular &= raw[f"len{i}"] == width
        if not regular.all():
            self.diagnose(data)
        for i, t in enumerate(self.types):
            self.parts[i].append(raw[f"v{i}"].astype(TYPES[t][1]))

    def diagnose(self, data: bytes) -> None:
        """Walk the rows one by one to name the first that is not as the types say."""
        offset, row = 0, 0
        while offset + 2 <= len(data):
            (count,) = struct.unpack_from(">h", data, offset)
            if count != len(self.types):
                raise ColumnsError(f"row {row} has {count} columns, not {len(self.types)}")
            offset += 2
            for i, (t, width) in enumerate(zip(self.types, self.widths)):
                (length,) = struct.unpack_from(">i", data, offset)
                if length == -1:
                    raise ColumnsError(f"row {row}, column {i} ({t}) is NULL: the query must say what stands for it")
                if length != width:
                    raise ColumnsError(f"row {row}, column {i} is {length} bytes wide, not a {t}")
                offset += 4 + length
            row += 1
        raise ColumnsError("the rows are not all of the width the column types give")

    def columns(self) -> list[np.ndarray]:
        out = []
        for t, parts in zip(self.types, self.parts):
            column = np.concatenate(parts) if parts else np.empty(0, TYPES[t][1])
            if t == "date":
                column += EPOCH_2000_DAYS
            elif t == "timestamptz":
                column += EPOCH_2000_US
            out.append(column)
        return out


BLOCK_ROWS = 4096  # rows joined into one block before it is handed on


def copy_out(connection: psycopg.Connection, statement: str, params: Iterable[object] | None) -> Iterator[bytes]:
    """The data of ``COPY … TO STDOUT`` in blocks of many rows, in the connection's transaction.

    PostgreSQL sends a message per row, and psycopg's ``Copy`` hands each one on through its
    generator and wait machinery: about 5 µs per row, most of the time of reading millions of
    ticket facts. Here the rows libpq has already received are taken in a tight loop on the
    libpq wrapper (``psycopg.pq``), waiting on the socket only when none is buffered. A consumer
    that stops early leaves the rest read and discarded, so the connection stays usable."""
    sql = psycopg.ClientCursor(connection).mogrify(statement, params)
    if connection.pgconn.transaction_status == pq.TransactionStatus.IDLE and not connection.autocommit:
        connection.execute("SELECT 1")  # psycopg's BEGIN first: the COPY reads in the transaction
    encoding = connection.info.encoding
    pgconn = connection.pgconn
    with connection.lock:
        pgconn.send_query(sql.encode(encoding))
        result = _result(pgconn)
        if result is None or result.status != pq.ExecStatus.COPY_OUT:
            _finish(pgconn, result, encoding)
            raise ColumnsError("the statement did not start a COPY TO STDOUT")
        rows: list[bytes] = []
        done = False
        try:
            while True:
                nbytes, data = pgconn.get_copy_data(1)
                if nbytes > 0:
                    rows.append(bytes(data))
                    if len(rows) >= BLOCK_ROWS:
                        yield b"".join(rows)
                        rows.clear()
                elif nbytes == 0:  # nothing buffered: hand on what there is, wait for the socket
                    if rows:
                        yield b"".join(rows)
                        rows.clear()
                    select.select([pgconn.socket], [], [])
                    pgconn.consume_input()
                else:  # the end of the data
                    done = True
                    if rows:
                        yield b"".join(rows)
                    break
        finally:
            if not done:  # stopped early: read the rest, so the connection can go on
                while pgconn.get_copy_data(0)[0] > 0:
                    pass
            _finish(pgconn, _result(pgconn), encoding)


def _result(pgconn: pq.abc.PGconn) -> pq.abc.PGresult | None:
    """The next result, waiting on the socket rather than in libpq."""
    while pgconn.is_busy():
        select.select([pgconn.socket], [], [])
        pgconn.consume_input()
    return pgconn.get_result()


def _finish(pgconn: pq.abc.PGconn, result: pq.abc.PGresult | None, encoding: str) -> None:
    """Read the command's remaining results; raise the first error as psycopg would."""
    failed = None
    while result is not None:
        if failed is None and result.status not in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.COPY_OUT):
            failed = result
        result = _result(pgconn)
    if failed is not None:
        raise psycopg.errors.error_from_result(failed, encoding=encoding)


def read_columns(session: Session, query: str, params: Iterable[object] | None, types: list[str]) -> list[np.ndarray]:
    """The columns of ``query`` (psycopg placeholders ``%s``; values never NULL), one array each,
    typed as ``types`` says (keys of ``TYPES``), in the session's transaction and snapshot."""
    parser = _Parser(types)
    row_size = parser.dtype.itemsize
    pending = bytearray()
    header: int | None = None
    connection = session.connection().connection.dbapi_connection
    for block in copy_out(connection, f"COPY ({query}) TO STDOUT (FORMAT binary)", params):  # type: ignore[arg-type]
        pending += block
        if header is None:
            header = _header_length(pending)
            if header is None:
                continue
            del pending[:header]
        whole = len(pending) // row_size
        if whole >= CHUNK_ROWS:
            parser.take(bytes(pending[: whole * row_size]))
            del pending[: whole * row_size]
    if header is None or pending[-2:] != b"\xff\xff":
        raise ColumnsError("the stream ended without its trailer")
    del pending[-2:]
    parser.take(bytes(pending))
    return parser.columns()


__all__ = ["ColumnsError", "copy_out", "read_columns", "TYPES"]
