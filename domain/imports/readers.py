"""Feed files read as a stream of (line number, raw record): JSON Lines or CSV, never whole."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import IO

import orjson

MAX_LINE = 1_000_000  # bytes: a longer line is refused, not read into memory whole


class FeedFormatError(Exception):
    """The file cannot be read as the format it claims (the import stops; nothing of it is lost)."""


def read_jsonl(stream: IO[bytes]) -> Iterator[tuple[int, object]]:
    """One JSON object per line; blank lines are skipped; a line that is not JSON yields a
    string (the importer refuses it with its line number) rather than stopping the import."""
    for number, line in enumerate(iter(lambda: stream.readline(MAX_LINE + 1), b""), start=1):
        if len(line) > MAX_LINE:
            raise FeedFormatError(f"line {number} is longer than {MAX_LINE} bytes")
        if not line.strip():
            continue
        try:
            yield number, orjson.loads(line)
        except orjson.JSONDecodeError as error:
            yield number, f"not JSON: {error}"


def read_csv(stream: IO[bytes], *, delimiter: str = ",") -> Iterator[tuple[int, object]]:
    """A header row, then one record per row (column ``type`` names the kind). An order's
    tickets come as rows of type ``ticket`` right after it, with an ``order`` column; lists of tag
    names are ``|``-separated; consents are columns ``consent.<key>``."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.DictReader(text, delimiter=delimiter)
    order: dict | None = None
    order_line = 0
    for row in reader:
        line = reader.line_num
        row = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if row.get("type") == "ticket":
            if order is None or row.get("order") != order.get("id"):
                yield line, {**row, "type": "ticket"}  # refused: a ticket row belongs under its order
                continue
            order["tickets"].append({k: v for k, v in row.items() if k not in ("type", "order")})
            continue
        if order is not None:
            yield order_line, order
            order = None
        if row.get("type") == "order":
            order, order_line = {**row, "tickets": []}, line
            continue
        yield line, row
    if order is not None:
        yield order_line, order
