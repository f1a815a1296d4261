"""Recording and reading the audit trail (``domain.audit.models``).

Entries name things by ``Type:id`` (``Person:12``, ``Job:7``), never by their values: the trail
holds no personal data, so an erasure leaves it whole. GraphQL records every mutation it runs
(``graph.core.errors.run_mutation``) in the mutation's own transaction, a refused one afterwards;
the job runner records imports, sends, exports and privacy requests as they finish
(``JOB_ENTRY``, in the job's own transaction).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlmodel import Session

from domain.audit.models import AuditEntry, AuditOutcome
from domain.errors import ErrorCode, InputError
from domain.pagination import Page, cursor_int, keyset_page

MAX_TARGETS = 50
MAX_FIELDS = 50
MAX_FILTER_LENGTH = 200

#: The jobs whose end is an entry of its own (a mutation that started one is an entry too).
AUDITED_JOBS = (
    "import_feed",
    "pull_feed",
    "export_segment",
    "label_segment",
    "update_persons",
    "send_offer",
    "push_audience",
    "privacy_export",
    "privacy_erase",
)

#: One statement, run where a job's outcome is recorded: an entry for an audited job, with the
#: staff user who started it, the job and what its parameters name, and its numeric figures.
JOB_ENTRY = text("""
    INSERT INTO audit_entry (account_id, actor, staff_user_id, action, outcome, targets, details)
    SELECT j.account_id, 'worker',
           (SELECT s.id FROM staff_user s WHERE s.account_id = j.account_id AND s.id = j.created_by),
           'job:' || j.kind, :outcome,
           ARRAY['Job:' || j.id]
             || CASE WHEN j.params ? 'person_id' THEN ARRAY['Person:' || (j.params ->> 'person_id')] ELSE '{}' END
             || CASE WHEN j.params ? 'segment_id' AND jsonb_typeof(j.params -> 'segment_id') = 'number'
                     THEN ARRAY['Segment:' || (j.params ->> 'segment_id')] ELSE '{}' END,
           jsonb_strip_nulls(jsonb_build_object(
               'plugin', j.params ->> 'plugin',
               'figures', (SELECT jsonb_object_agg(key, value) FROM jsonb_each(coalesce(j.result, '{}'))
                            WHERE jsonb_typeof(value) = 'number')))
      FROM job j
     WHERE j.id = :job AND j.kind = ANY(CAST(:kinds AS text[]))""")


def record_job(connection, job_id: int, outcome: AuditOutcome) -> None:
    """The entry for a job that ended (no entry for kinds not audited)."""
    connection.execute(JOB_ENTRY, {"job": job_id, "outcome": outcome.value, "kinds": list(AUDITED_JOBS)})


@dataclass(frozen=True)
class Entry:
    """What a caller records; ``targets`` as ``Type:id``, ``fields`` the input fields given."""

    account_id: int
    actor: str
    action: str
    outcome: AuditOutcome
    staff_user_id: int | None = None
    token_id: int | None = None
    plugin: str | None = None
    targets: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()  # the codes of a refusal
    request_id: str | None = None
    figures: dict[str, int] | None = None  # what a piece of work counted (records, changes …)


def record(session: Session, entry: Entry) -> None:
    targets = list(dict.fromkeys(entry.targets))[:MAX_TARGETS]
    details: dict[str, Any] = {}
    if entry.fields:
        details["fields"] = sorted(set(entry.fields))[:MAX_FIELDS]
    if entry.errors:
        details["errors"] = sorted(set(entry.errors))
    if entry.figures:
        details["figures"] = dict(entry.figures)
    if len(entry.targets) > MAX_TARGETS:
        details["more_targets"] = len(set(entry.targets)) - MAX_TARGETS
    session.add(
        AuditEntry(
            account_id=entry.account_id,
            actor=entry.actor,
            staff_user_id=entry.staff_user_id,
            token_id=entry.token_id,
            plugin=entry.plugin,
            action=entry.action[:MAX_FILTER_LENGTH],
            outcome=entry.outcome.value,
            targets=targets,
            request_id=(entry.request_id or None) and entry.request_id[:MAX_FILTER_LENGTH],
            details=details,
        )
    )
    session.flush()


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None  # exact, or a prefix ending in ``*`` (``job:*``)
    staff_user_id: int | None = None
    target: str | None = None  # ``Type:id``
    outcome: AuditOutcome | None = None
    since: datetime | None = None
    until: datetime | None = None
    request_id: str | None = None


def list_entries(
    session: Session,
    account_id: int,
    flt: AuditFilter = AuditFilter(),
    *,
    first: int | None = None,
    after: str | None = None,
) -> Page[AuditEntry]:
    """The account's entries, newest first, filtered."""
    for name in ("action", "target", "request_id"):
        value = getattr(flt, name)
        if value is not None and (not value.strip() or len(value) > MAX_FILTER_LENGTH):
            raise InputError.single(ErrorCode.OUT_OF_RANGE, f"1 to {MAX_FILTER_LENGTH} characters", name)
    keys = [AuditEntry.id]
    stmt = select(AuditEntry, *keys).where(AuditEntry.account_id == account_id)
    if flt.action is not None:
        if flt.action.endswith("*"):
            prefix = flt.action[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(AuditEntry.action.like(prefix + "%"))  # type: ignore[attr-defined]
        else:
            stmt = stmt.where(AuditEntry.action == flt.action)
    if flt.staff_user_id is not None:
        stmt = stmt.where(AuditEntry.staff_user_id == flt.staff_user_id)
    if flt.target is not None:
        stmt = stmt.where(AuditEntry.targets.contains([flt.target]))  # type: ignore[attr-defined]
    if flt.outcome is not None:
        stmt = stmt.where(AuditEntry.outcome == AuditOutcome(flt.outcome).value)
    if flt.since is not None:
        stmt = stmt.where(AuditEntry.at >= flt.since)
    if flt.until is not None:
        stmt = stmt.where(AuditEntry.at < flt.until)
    if flt.request_id is not None:
        stmt = stmt.where(AuditEntry.request_id == flt.request_id)
    return keyset_page(
        session, stmt, keys, descending=True, first=first, after=after, coerce=lambda v: [cursor_int(v[0])]
    )


def targets_of(rows: Iterable[Any]) -> list[str]:
    """``Type:id`` of the table rows among ``rows`` (what a mutation made or changed)."""
    out = []
    for row in rows:
        table = getattr(type(row), "__tablename__", None)
        row_id = getattr(row, "id", None)
        if isinstance(table, str) and isinstance(row_id, int):
            out.append(f"{type(row).__name__}:{row_id}")
    return out
