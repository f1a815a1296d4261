"""Exports of a segment's snapshot: CSV of chosen contact fields, streamed to a file in the
storage folder and downloaded through a signed link that expires.

Rows are read through a server-side cursor and written as they come, so memory stays that of one
fetch whatever the segment's size. Two dialects: ``standard`` (RFC 4180: UTF-8, comma, CRLF) and
``excel_nl`` (what a Dutch Excel opens by double-click: UTF-8 with a byte-order mark, semicolon
separator — the comma is the decimal sign there — and cells that would start a formula prefixed
with an apostrophe, OWASP's advice against CSV injection).
"""

from __future__ import annotations

import csv
import enum
import hashlib
import hmac
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datetime import timedelta

from sqlalchemy import select, update
from sqlmodel import Session

from domain import clock, events
from domain.actions.models import ActionKind, ActionMember, SegmentAction
from domain.actions.service import Target, start_action, action_of_job, take_snapshot
from domain.errors import Collector, ErrorCode
from domain.jobs_state import service as jobs_state
from domain.jobs_state.service import Progress
from domain.people.models import Person
from domain.people.validation import PERSON_CONTACT_FIELDS

#: The contact fields a CSV export may hold, in the order they are offered.
CONTACT_FIELDS = PERSON_CONTACT_FIELDS
DEFAULT_FIELDS = ("email", "first_name", "last_name")
FETCH_ROWS = 5_000  # per server-side fetch
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
KEEP_DAYS = 7  # export files older than this are removed (MARQUEE_EXPORT_KEEP_DAYS)


class CsvDialect(str, enum.Enum):
    STANDARD = "standard"
    EXCEL_NL = "excel_nl"


@dataclass(frozen=True)
class CsvOptions:
    fields: tuple[str, ...] = DEFAULT_FIELDS
    dialect: CsvDialect = CsvDialect.STANDARD


def start_csv_export(
    session: Session, account_id: int, target: Target, options: CsvOptions, *, created_by: int | None = None
) -> SegmentAction:
    problems = Collector()
    if not options.fields:
        problems.add(ErrorCode.REQUIRED, "name at least one field", "fields")
    unknown = [f for f in options.fields if f not in CONTACT_FIELDS]
    if unknown:
        problems.add(ErrorCode.INVALID_CHOICE, f"not a contact field: {', '.join(unknown)}", "fields")
    elif len(set(options.fields)) != len(options.fields):
        problems.add(ErrorCode.DUPLICATE, "each field once", "fields")
    problems.raise_if_any()
    params = {"format": "csv", "fields": list(options.fields), "dialect": CsvDialect(options.dialect).value}
    return start_action(session, account_id, ActionKind.EXPORT, target, params, created_by)


def _excel_safe(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _relative_path(action: SegmentAction) -> str:
    return f"exports/{action.account_id}/{action.id}.csv"


def run_export(
    new_session: Callable[[], Session], job_id: int, storage: Path, progress: Progress, *, keep_days: int = KEEP_DAYS
) -> dict[str, Any]:
    """The export job: the snapshot commits first, then the file is written (a retry writes it
    again from the same snapshot), then the action records it with the job's success."""
    with new_session() as session, session.begin():
        action = action_of_job(session, job_id, lock=True)
        progress(0.05, "taking the members")
        members = take_snapshot(session, action)
    fields = [f for f in action.params.get("fields", DEFAULT_FIELDS) if f in CONTACT_FIELDS]
    excel = action.params.get("dialect") == CsvDialect.EXCEL_NL.value
    relative = _relative_path(action)
    path = storage / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    columns = [getattr(Person, f) for f in fields]
    rows = 0
    with new_session() as session, session.begin():
        stmt = (
            select(*columns)
            .join(ActionMember, (ActionMember.account_id == Person.account_id) & (ActionMember.person_id == Person.id))
            .where(ActionMember.account_id == action.account_id, ActionMember.action_id == action.id)
            .order_by(Person.id)
            .execution_options(yield_per=FETCH_ROWS)
        )
        with partial.open("w", encoding="utf-8-sig" if excel else "utf-8", newline="") as out:
            writer = csv.writer(out, delimiter=";" if excel else ",", lineterminator="\r\n")
            writer.writerow(fields)
            for partition in session.execute(stmt).partitions():
                for row in partition:
                    cells = ["" if v is None else str(v) for v in row]
                    writer.writerow([_excel_safe(c) for c in cells] if excel else cells)
                rows += len(partition)
                progress(0.1 + 0.85 * rows / max(members, 1), f"{rows:,} of {members:,} written")
            out.flush()
            os.fsync(out.fileno())
    os.replace(partial, path)
    result = {"members": members, "rows": rows, "format": "csv", "fields": fields}
    return finish_export(new_session, job_id, storage, relative, result, keep_days)


def finish_export(
    new_session: Callable[[], Session],
    job_id: int,
    storage: Path,
    relative: str,
    result: dict[str, Any],
    keep_days: int,
) -> dict[str, Any]:
    """The file is in place: the action records it, plugins hear of it, the job succeeds (one
    transaction), and the account's files older than ``keep_days`` go."""
    result = {**result, "bytes": (storage / relative).stat().st_size}
    with new_session() as session, session.begin():
        action = action_of_job(session, job_id, lock=True)
        action.file = relative
        events.record(
            session,
            events.SegmentExported(
                account_id=action.account_id,
                action_id=action.id,  # type: ignore[arg-type]
                job_id=job_id,
                segment_id=action.segment_id,
                format=result["format"],
                rows=result["rows"],
                bytes=result["bytes"],
            ),
        )
        jobs_state.record_success(session, job_id, result)
        result["old_files_removed"] = purge_old_files(session, storage, action.account_id, keep_days)
    return result


# -- signed download links -----------------------------------------------------------------------


class LinkProblem(str, enum.Enum):
    TAMPERED = "tampered"  # 403
    EXPIRED = "expired"  # 410


SEGMENT_EXPORT = "segment-export"  # what a segment export's link signs (another purpose: another route)


def _signature(secret: str, purpose: str, account_id: int, object_id: int, expires: int) -> str:
    message = f"{purpose}:{account_id}:{object_id}:{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_path(
    secret: str, purpose: str, route: str, account_id: int, object_id: int, lifetime_s: int, now: float | None = None
) -> str:
    """``route/account/object?expires=…&signature=…``, valid for ``lifetime_s``, for ``purpose``."""
    expires = int((now if now is not None else time.time()) + lifetime_s)
    signature = _signature(secret, purpose, account_id, object_id, expires)
    return f"{route}/{account_id}/{object_id}?expires={expires}&signature={signature}"


def download_path(secret: str, action: SegmentAction, lifetime_s: int, now: float | None = None) -> str:
    """The path (with query) of a link to the action's file, valid for ``lifetime_s``."""
    return signed_path(secret, SEGMENT_EXPORT, "/downloads/exports", action.account_id, action.id, lifetime_s, now)  # type: ignore[arg-type]


def check_link(
    secret: str,
    account_id: int,
    object_id: int,
    expires: str,
    signature: str,
    now: float | None = None,
    *,
    purpose: str = SEGMENT_EXPORT,
) -> LinkProblem | None:
    """None when the link is genuine and current; a tampered link is refused before its expiry is read."""
    try:
        when = int(expires)
    except ValueError:
        return LinkProblem.TAMPERED
    expected = _signature(secret, purpose, account_id, object_id, when)
    if not hmac.compare_digest(expected, signature):
        return LinkProblem.TAMPERED
    return LinkProblem.EXPIRED if when < (now if now is not None else time.time()) else None


def export_file(session: Session, storage: Path, account_id: int, action_id: int) -> tuple[Path, str] | None:
    """The action's file and a download name, or None when it has none (not finished, or removed)."""
    action = session.execute(
        select(SegmentAction).where(
            SegmentAction.account_id == account_id,
            SegmentAction.id == action_id,
            SegmentAction.kind == ActionKind.EXPORT.value,
        )
    ).scalar_one_or_none()
    if action is None or action.file is None:
        return None
    path = storage / action.file
    if not path.is_file():
        return None
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in action.segment_name).strip("-")[:60] or "segment"
    return path, f"{safe}-{action.created_at:%Y%m%d}-{action.id}{path.suffix}"


def purge_old_files(session: Session, storage: Path, account_id: int, keep_days: int) -> int:
    """Remove the account's export files older than ``keep_days`` (their actions stay, without a
    file: the link answers 404). Run by every export that finishes. Returns files removed."""
    rows = session.execute(
        select(SegmentAction.id, SegmentAction.file)
        .where(
            SegmentAction.account_id == account_id,
            SegmentAction.file.is_not(None),  # type: ignore[union-attr]
            SegmentAction.created_at < clock.now() - timedelta(days=keep_days),
        )
        .with_for_update(skip_locked=True)
    ).all()
    for _, relative in rows:
        (storage / relative).unlink(missing_ok=True)
    if rows:
        session.execute(
            update(SegmentAction)
            .where(SegmentAction.account_id == account_id, SegmentAction.id.in_([r.id for r in rows]))  # type: ignore[union-attr]
            .values(file=None)
        )
    return len(rows)


MEDIA_TYPES = {
    ".csv": "text/csv; charset=utf-8",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".json": "application/json",  # a privacy export (domain.privacy)
}
