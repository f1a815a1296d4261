"""The XLSX export of a segment with all customer data, and the upload of such a workbook that
updates those persons in bulk.

Layout (sheet ``persons``; a sheet ``about`` in the file says the same):

- ``marquee_id``: the person's id in Marquee. An uploaded row is matched on it, within the
  uploading account only; rows without it, or with an id the account does not hold, are refused.
- Editable columns: the contact fields (``email``, ``first_name``, ``last_name``, ``gender``,
  ``birth_date``, ``language``, ``address``, ``postal_code``, ``city``, ``country``) and one
  ``custom:<key>`` column per custom field. An empty cell clears the value; a column left out of
  the upload leaves that value as it is.
- Read-only columns, ignored on upload: ``identities`` (source:id, ``|``-separated), ``tags``
  (names, ``|``-separated, every source), ``consent:<key>`` (granted / withdrawn / empty),
  ``orders``, ``tickets``, ``revenue``, ``last_ordered_at``, ``created_at``.
- ``updated_at`` (read only): when the person last changed. A row whose person changed in Marquee
  after that (a feed, staff, an earlier upload of this file) is refused rather than undoing the change.

Each uploaded row is all or nothing: every cell of it is checked as the API checks it (and an
e-mail address must not belong to another person), then the good rows of each batch are written
in one statement; bad rows are reported with their row number, column and reason.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from sqlalchemy import text
from sqlmodel import Session

from domain import clock, events
from domain.actions.models import ActionKind, SegmentAction
from domain.actions.export import KEEP_DAYS, finish_export
from domain.actions.service import Target, start_action, action_of_job, take_snapshot
from domain.errors import ErrorCode, InputError
from domain.jobs_state import service as jobs_state
from domain.jobs_state.service import JobRefused, Progress
from domain.people.service import custom_field_definitions
from domain.people.validation import PERSON_CONTACT_FIELDS, clean_person_fields
from domain.storage import kept_upload

SHEET, ABOUT_SHEET = "persons", "about"
ID_COLUMN = "marquee_id"
CONTACT_COLUMNS = PERSON_CONTACT_FIELDS
CUSTOM_PREFIX, CONSENT_PREFIX = "custom:", "consent:"
READ_ONLY_COLUMNS = (
    "identities",
    "tags",
    "orders",
    "tickets",
    "revenue",
    "last_ordered_at",
    "created_at",
    "updated_at",
)
GUARD_COLUMN = "updated_at"  # read, not written: a row whose person changed after it is refused
GUARD_SLACK = timedelta(milliseconds=1)  # a cell keeps milliseconds
ZIP_MAGIC = b"PK\x03\x04"
FETCH_ROWS = 2_000
UPDATE_BATCH = 1_000
MAX_ROWS = 1_000_000  # rows one upload may hold
MAX_ERRORS_KEPT = 1_000  # in the job's result; all are counted
ABOUT = [
    "This workbook holds persons of a Marquee segment, one per row of the sheet 'persons'.",
    "Change cells and upload the workbook again (updatePersonsFromWorkbook) to update those persons.",
    "marquee_id: the person; keep it as it is. Rows are matched on it within your account only.",
    "Editable: email, first_name, last_name, gender (female, male, other), birth_date (YYYY-MM-DD), language "
    "(nl, en-GB), address, postal_code, city, country (NL), and custom:<key> columns. An empty cell clears the value.",
    "Read only (ignored on upload): identities, tags, consent:<key>, orders, tickets, revenue, last_ordered_at, "
    "created_at, updated_at.",
    "updated_at (UTC) guards the row: a person changed in Marquee after it is not updated (export again).",
    "Each row is applied whole or not at all; the upload's job lists every refused row with its reason.",
]


def start_xlsx_export(
    session: Session, account_id: int, target: Target, *, created_by: int | None = None
) -> SegmentAction:
    return start_action(session, account_id, ActionKind.EXPORT, target, {"format": "xlsx"}, created_by)


def _cell(value: Any) -> Any:
    """What a cell holds: Excel has no time zones (instants are written in UTC) and no decimals."""
    if isinstance(value, datetime):
        return value.astimezone(clock.UTC).replace(tzinfo=None)
    if isinstance(value, Decimal):
        return float(value)
    return value


def _rows(session: Session, action: SegmentAction) -> Iterator[Any]:
    """The snapshot's persons with everything the layout shows, one statement, streamed."""
    stmt = text(
        """
        SELECT p.id, p.email, p.first_name, p.last_name, p.gender, p.birth_date, p.language, p.address,
               p.postal_code, p.city, p.country, p.custom_fields,
               (SELECT string_agg(i.source || ':' || i.external_id, ' | ' ORDER BY i.source, i.external_id)
                  FROM person_identity i WHERE i.account_id = p.account_id AND i.person_id = p.id) AS identities,
               (SELECT string_agg(DISTINCT t.name, ' | ')
                  FROM person_tag pt JOIN tag t ON t.account_id = pt.account_id AND t.id = pt.tag_id
                 WHERE pt.account_id = p.account_id AND pt.person_id = p.id) AS tags,
               (SELECT jsonb_object_agg(c.consent_type_id, c.granted)
                  FROM person_consent c WHERE c.account_id = p.account_id AND c.person_id = p.id) AS consents,
               s.orders, s.tickets, s.revenue, s.last_ordered_at, p.created_at, p.updated_at
          FROM action_member m
          JOIN person p ON p.account_id = m.account_id AND p.id = m.person_id
          LEFT JOIN person_stats s ON s.account_id = p.account_id AND s.person_id = p.id
         WHERE m.account_id = :a AND m.action_id = :action
         ORDER BY p.id
        """
    )
    result = session.execute(
        stmt, {"a": action.account_id, "action": action.id}, execution_options={"yield_per": FETCH_ROWS}
    )
    yield from result


def _relative_path(action: SegmentAction) -> str:
    return f"exports/{action.account_id}/{action.id}.xlsx"


def run_xlsx_export(
    new_session: Callable[[], Session], job_id: int, storage: Path, progress: Progress, *, keep_days: int = KEEP_DAYS
) -> dict[str, Any]:
    """The XLSX export job (openpyxl's write-only mode: rows go to disk as they are written)."""
    from openpyxl import Workbook  # noqa: PLC0415  (heavy; only export jobs need it)

    with new_session() as session, session.begin():
        action = action_of_job(session, job_id, lock=True)
        progress(0.05, "taking the members")
        members = take_snapshot(session, action)
    relative = _relative_path(action)
    path = storage / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    rows = 0
    with new_session() as session, session.begin():
        custom_keys = sorted(custom_field_definitions(session, action.account_id))
        consent_types = list(
            session.execute(
                text("SELECT id, key FROM consent_type WHERE account_id = :a ORDER BY key"), {"a": action.account_id}
            )
        )
        header = [
            ID_COLUMN,
            *CONTACT_COLUMNS,
            *(CUSTOM_PREFIX + k for k in custom_keys),
            "identities",
            "tags",
            *(CONSENT_PREFIX + key for _, key in consent_types),
            "orders",
            "tickets",
            "revenue",
            "last_ordered_at",
            "created_at",
            "updated_at",
        ]
        book = Workbook(write_only=True)
        sheet = book.create_sheet(SHEET)
        sheet.append(header)
        for row in _rows(session, action):
            custom = row.custom_fields or {}
            consents = row.consents or {}
            sheet.append(
                [
                    _cell(v)
                    for v in (
                        row.id,
                        *(getattr(row, c) for c in CONTACT_COLUMNS),
                        *(custom.get(k) for k in custom_keys),
                        row.identities,
                        row.tags,
                        *(
                            None if str(i) not in consents else ("granted" if consents[str(i)] else "withdrawn")
                            for i, _ in consent_types
                        ),
                        row.orders or 0,
                        row.tickets or 0,
                        row.revenue or 0,
                        row.last_ordered_at,
                        row.created_at,
                        row.updated_at,
                    )
                ]
            )
            rows += 1
            if rows % FETCH_ROWS == 0:
                progress(0.1 + 0.8 * rows / max(members, 1), f"{rows:,} of {members:,} written")
        about = book.create_sheet(ABOUT_SHEET)
        for line in ABOUT:
            about.append([line])
        book.save(partial)
    os.replace(partial, path)
    return finish_export(
        new_session, job_id, storage, relative, {"members": members, "rows": rows, "format": "xlsx"}, keep_days
    )


# -- the upload ----------------------------------------------------------------------------------


@dataclass
class RowError:
    row: int  # as Excel numbers it (the header is row 1)
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class UpdateResult:
    rows: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    def refuse(self, error: RowError) -> None:
        self.refused += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(error)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "refused": self.refused,
            "errors": [e.as_dict() for e in self.errors],
            "ignored_columns": self.ignored_columns,
        }


def start_workbook_update(
    session: Session,
    account_id: int,
    *,
    stream: IO[bytes],
    storage_dir: Path,
    max_bytes: int,
    created_by: int | None = None,
) -> jobs_state.Job:
    """Keep an uploaded workbook in the storage folder and queue the update (job ``update_persons``)."""
    with kept_upload(
        session, stream, storage_dir, f"workbooks/{account_id}", "xlsx", max_bytes=max_bytes, what="workbook"
    ) as (target, size):
        with target.open("rb") as start:
            if start.read(4) != ZIP_MAGIC:  # an .xlsx file is a zip archive
                raise InputError.single(
                    ErrorCode.INVALID,
                    "the file is not an XLSX workbook (export a segment as XLSX for the layout)",
                    "file",
                )
        return jobs_state.create_job(
            session,
            account_id,
            kind="update_persons",
            params={"path": str(target.relative_to(storage_dir)), "bytes": size},
            created_by=created_by,
        )


def _text_cell(value: Any) -> Any:
    """A cell as the API would take it: dates as ISO text, whole numbers without ``.0``."""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    return value


def _custom_cell(value: Any, definition: dict) -> Any:
    """A custom field's cell in the type its definition takes."""
    if value is None or value == "":
        return None
    kind = definition["type"]
    if kind == "number" and isinstance(value, str):
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            return value
    if kind == "boolean" and isinstance(value, str):
        return {
            "true": True,
            "yes": True,
            "ja": True,
            "1": True,
            "false": False,
            "no": False,
            "nee": False,
            "0": False,
        }.get(value.strip().lower(), value)
    if kind in ("date", "text", "choice"):
        return _text_cell(value)
    return value


def _check_row(
    number: int, cells: dict[str, Any], definitions: dict[str, dict], today: date
) -> tuple[int, dict[str, Any], datetime | None] | RowError:
    """(person id, cleaned fields, the exported ``updated_at``) of one row, or the first reason it is refused."""
    raw_id = cells.get(ID_COLUMN)
    try:
        person_id = int(_text_cell(raw_id))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return RowError(number, ID_COLUMN, "a row needs the person's marquee_id")
    values: dict[str, Any] = {}
    for column in CONTACT_COLUMNS:
        if column in cells:
            value = _text_cell(cells[column])
            if column == "birth_date" and isinstance(value, str) and value:
                try:
                    value = date.fromisoformat(value[:10])
                except ValueError:
                    return RowError(number, column, "birth date is a date (YYYY-MM-DD)")
            values[column] = value
    custom = {
        column.removeprefix(CUSTOM_PREFIX): _custom_cell(cells[column], definitions[column.removeprefix(CUSTOM_PREFIX)])
        for column in cells
        if column.startswith(CUSTOM_PREFIX) and column.removeprefix(CUSTOM_PREFIX) in definitions
    }
    if custom:
        values["custom_fields"] = custom
    try:
        cleaned = clean_person_fields(values, today=today, definitions=definitions)
    except InputError as error:
        problem = error.problems[0]
        column = problem.path[-1] if problem.path else ""
        if len(problem.path) > 1 and problem.path[-2] == "custom_fields":
            column = CUSTOM_PREFIX + str(problem.path[-1])
        return RowError(number, str(column), problem.message)
    exported = cells.get(GUARD_COLUMN)
    if exported is not None and not isinstance(exported, datetime):
        return RowError(number, GUARD_COLUMN, "updated_at is read only: keep the exported value (or clear the column)")
    return person_id, cleaned, exported.replace(tzinfo=clock.UTC) if exported is not None else None


def _apply(
    session: Session, account_id: int, batch: list[tuple[int, int, dict, datetime | None]], result: UpdateResult
) -> None:
    """Write a batch of checked rows: refuse those naming no person of the account, leaving a
    person without e-mail address and name, or giving an e-mail address another person holds
    (also within the batch); then one UPDATE for the rest."""
    ids = [person_id for _, person_id, _, _ in batch]
    known = {
        row.id: row
        for row in session.execute(
            text(
                "SELECT id, email, first_name, last_name, updated_at FROM person "
                "WHERE account_id = :a AND id = ANY(CAST(:ids AS bigint[])) AND erased_at IS NULL FOR UPDATE"
            ),
            {"a": account_id, "ids": ids},
        )
    }
    emails = sorted({fields["email"].lower() for _, _, fields, _ in batch if fields.get("email")})
    owners = {
        email: person_id
        for email, person_id in session.execute(
            text(
                "SELECT lower(email), id FROM person WHERE account_id = :a AND lower(email) = ANY(CAST(:e AS text[]))"
            ),
            {"a": account_id, "e": emails},
        )
    }
    claimed: dict[str, int] = {}
    seen: set[int] = set()
    good: list[tuple[int, dict]] = []
    for number, person_id, fields, exported_at in batch:
        email = (fields.get("email") or "").lower()
        current = known.get(person_id)
        if current is None:
            result.refuse(RowError(number, ID_COLUMN, f"no person {person_id} in this account"))
        elif exported_at is not None and current.updated_at > exported_at + GUARD_SLACK:
            result.refuse(
                RowError(
                    number,
                    GUARD_COLUMN,
                    f"this person changed in Marquee after the export ({current.updated_at:%Y-%m-%d %H:%M} UTC): "
                    "export again and make the change there",
                )
            )
        elif person_id in seen:
            result.refuse(
                RowError(number, ID_COLUMN, f"person {person_id} is in an earlier row of this upload's batch")
            )
        elif not any(fields.get(c, getattr(current, c)) for c in ("email", "first_name", "last_name")):
            result.refuse(RowError(number, "email", "a person needs an e-mail address or a name"))
        elif email and owners.get(email, person_id) != person_id:
            result.refuse(RowError(number, "email", "this e-mail address belongs to another person"))
        elif email and claimed.get(email, person_id) != person_id:
            result.refuse(RowError(number, "email", "an earlier row gives another person this e-mail address"))
        else:
            seen.add(person_id)
            if email:
                claimed[email] = person_id
            good.append((person_id, fields))
    if not good:
        return
    columns = [c for c in CONTACT_COLUMNS if any(c in fields for _, fields in good)]
    types = {"birth_date": "date"}
    # A column a row gives replaces the value (an empty cell clears it); custom fields merge, and a
    # custom field given empty goes. ``old`` is the row as it was (a self-join reads the snapshot).
    new = {c: f"CASE WHEN v.given_{c} THEN v.{c} ELSE old.{c} END" for c in columns}
    new["custom_fields"] = "jsonb_strip_nulls(old.custom_fields || v.custom)"
    changed = ", ".join(f"(old.{c} IS DISTINCT FROM {n}) AS {c}" for c, n in new.items())
    arrays = ", ".join(
        [
            "CAST(:ids AS bigint[])",
            "CAST(:custom AS jsonb[])",
            *(f"CAST(:{c} AS {types.get(c, 'text')}[]), CAST(:given_{c} AS boolean[])" for c in columns),
        ]
    )
    names = ", ".join(["id", "custom", *(f"{c}, given_{c}" for c in columns)])
    returned = session.execute(
        text(
            f"UPDATE person p SET {', '.join(f'{c} = {n}' for c, n in new.items())}, updated_at = :now "
            f"FROM unnest({arrays}) AS v({names}), person old "
            "WHERE p.account_id = :a AND p.id = v.id AND old.account_id = p.account_id AND old.id = p.id "
            f"AND ({', '.join(f'old.{c}' for c in new)}) IS DISTINCT FROM ({', '.join(new.values())}) "
            f"RETURNING p.id, {changed}"
        ),
        {
            "a": account_id,
            "now": clock.now(),
            "ids": [person_id for person_id, _ in good],
            "custom": [json.dumps(fields.get("custom_fields") or {}) for _, fields in good],
            **{c: [fields.get(c) for _, fields in good] for c in columns},
            **{f"given_{c}": [c in fields for _, fields in good] for c in columns},
        },
    ).all()
    result.updated += len(returned)
    result.unchanged += len(good) - len(returned)
    for row in returned:
        fields_changed = tuple(sorted(c for c in new if getattr(row, c)))
        events.record(
            session, events.PersonUpdated(account_id=account_id, person_id=row.id, changed_fields=fields_changed)
        )


def run_workbook_update(
    new_session: Callable[[], Session], job: jobs_state.Job, storage: Path, progress: Progress
) -> dict[str, Any]:
    """The update job: reads the workbook streaming (read-only mode), checks each row, and writes
    each batch of good rows in its own transaction (a rerun applies the same values again, which
    changes nothing). The upload is removed once the job succeeded."""
    from openpyxl import load_workbook  # noqa: PLC0415
    from zipfile import BadZipFile  # noqa: PLC0415

    path = storage / str(job.params.get("path", ""))
    if not path.is_file():
        raise JobRefused("the uploaded workbook is no longer in the storage folder")
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError, ValueError) as error:
        raise JobRefused(f"the upload is not an XLSX workbook: {error}") from None
    result = UpdateResult()
    try:
        if SHEET not in book.sheetnames:
            raise JobRefused(f"the workbook has no sheet {SHEET!r} (export a segment as XLSX for the layout)")
        sheet = book[SHEET]
        lines = sheet.iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(lines, ())]
        if ID_COLUMN not in header:
            raise JobRefused(f"the sheet {SHEET!r} has no column {ID_COLUMN!r} in its first row")
        with new_session() as session:
            account_id = job.account_id
            definitions = custom_field_definitions(session, account_id)
            timezone_name = session.execute(
                text("SELECT timezone FROM account WHERE id = :a"), {"a": account_id}
            ).scalar_one()
        today = clock.today(timezone_name)
        editable = {ID_COLUMN, *CONTACT_COLUMNS, *(CUSTOM_PREFIX + k for k in definitions)}
        result.ignored_columns = [h for h in header if h and h not in editable]
        keep = [(i, h) for i, h in enumerate(header) if h in editable or h == GUARD_COLUMN]
        batch: list[tuple[int, int, dict, datetime | None]] = []
        total = max((sheet.max_row or 1) - 1, 1)
        for number, line in enumerate(lines, start=2):
            if result.rows >= MAX_ROWS:
                raise JobRefused(f"a workbook upload holds at most {MAX_ROWS:,} rows")
            if line is None or all(v in (None, "") for v in line):
                continue
            result.rows += 1
            cells = {h: (line[i] if i < len(line) else None) for i, h in keep}
            checked = _check_row(number, cells, definitions, today)
            if isinstance(checked, RowError):
                result.refuse(checked)
                continue
            batch.append((number, *checked))
            if len(batch) >= UPDATE_BATCH:
                with new_session() as session, session.begin():
                    _apply(session, account_id, batch, result)
                batch = []
                progress(min(0.95, result.rows / total), f"{result.rows:,} rows checked")
        if batch:
            with new_session() as session, session.begin():
                _apply(session, account_id, batch, result)
    finally:
        book.close()
    outcome = result.as_dict()
    with new_session() as session, session.begin():
        jobs_state.record_success(session, job.id, outcome)  # type: ignore[arg-type]
    path.unlink(missing_ok=True)
    return outcome
