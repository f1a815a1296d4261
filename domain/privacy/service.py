"""Privacy requests (SPEC 7), each a job an admin starts and follows like any other.

**Export**: everything Marquee holds about one person, as one JSON document written to the
storage folder section by section (each section streamed from the database, so a person with a
million interactions costs the memory of one fetch) and downloaded through a signed, expiring link.

**Erasure**: in one transaction, the person's personal fields go (the row stays, anonymous, so
that orders, tickets and every figure built on them stay as they were), and so do their tag
links, consents with their history, form submissions, interactions, interest scores, personal
picks, the addresses their mails went to, the fields of persons merged into them, and export
files that hold them (earlier exports of this person, segment export files listing them). Their
identities and e-mail address are replaced by SHA-256 digests (``person_suppression``): a feed
record that matches one is not written again (its orders still count, anonymously). An erased
person answers as absent everywhere: lists, segments, tags, tips, links in old mails.

``PERSON_TABLES`` says, for every table holding a ``person_id``, what an export and an erasure do
with it; a test holds it against the database's own list, so a new table cannot be forgotten.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select, text
from sqlmodel import Session

from domain import clock, events
from domain.errors import ErrorCode, InputError
from domain.jobs_state import service as jobs_state
from domain.jobs_state.models import Job
from domain.jobs_state.service import Progress
from domain.pagination import Page, cursor_int, keyset_page
from domain.people.models import Person
from domain.privacy.models import PrivacyRequest, PrivacyRequestKind, SuppressionKind

EXPORT_JOB = "privacy_export"
ERASE_JOB = "privacy_erase"
JOB_KINDS = {PrivacyRequestKind.EXPORT: EXPORT_JOB, PrivacyRequestKind.ERASE: ERASE_JOB}
FORMAT = "marquee-person-export/1"
KEEP_DAYS = 7  # export documents older than this are removed (as segment export files are)
FETCH_ROWS = 2_000
DOWNLOAD_PURPOSE = "privacy-export"
DOWNLOAD_ROUTE = "/downloads/privacy"
#: An advisory lock (with the account id) that import batches take shared and an erasure takes
#: exclusively: a batch that looked a person up before the erasure cannot write to them after it.
PERSON_WRITES_LOCK = 0x6D717065  # "mqpe"

#: What an export and an erasure do with each table that holds a ``person_id``.
PERSON_TABLES: dict[str, str] = {
    "person": "exported; erased: personal fields cleared, the row kept for its figures",
    "person_identity": "exported; erased: replaced by suppression digests",
    "person_tag": "exported; erased",
    "person_consent": "exported; erased",
    "consent_history": "exported; erased",
    "form_submission": "exported; erased",
    "interaction": "exported; erased",
    "interest_score": "exported; erased",
    "member_pick": "exported; erased",
    "person_organisation": "exported; erased",
    "mail_send": "exported; erased: the address and the receiver's answer cleared, the send kept",
    "orders": "exported; kept, anonymous (figures)",
    "ticket": "exported with its order; kept, anonymous (figures)",
    "subscription": "exported; kept, anonymous (figures)",
    "action_member": "exported; kept, anonymous (an action's size); export files listing them go",
    "person_stats": "exported; kept (derived from tickets)",
    "person_season_stats": "kept (derived from tickets, as person_stats)",
    "ticket_fact": "kept (derived from tickets)",
    "privacy_request": "kept (the record of the request); an export's file goes",
    "person_suppression": "written by an erasure",
}


# -- digests -------------------------------------------------------------------------------------
def identity_digest(account_id: int, source: str, external_id: str) -> bytes:
    return hashlib.sha256(f"{account_id}:identity:{source}\x1f{external_id}".encode()).digest()


def email_digest(account_id: int, email: str) -> bytes:
    return hashlib.sha256(f"{account_id}:email:{email.strip().lower()}".encode()).digest()


def has_suppressions(session: Session, account_id: int) -> bool:
    return bool(
        session.execute(
            text("SELECT EXISTS (SELECT 1 FROM person_suppression WHERE account_id = :a)"), {"a": account_id}
        ).scalar_one()
    )


def suppressed(session: Session, account_id: int, digests: Iterable[bytes]) -> dict[bytes, int]:
    """The erased person each of ``digests`` stands for, for those that are suppressed."""
    wanted = sorted(set(digests))
    if not wanted:
        return {}
    rows = session.execute(
        text(
            "SELECT digest, person_id FROM person_suppression "
            "WHERE account_id = :a AND digest = ANY(CAST(:d AS bytea[]))"
        ),
        {"a": account_id, "d": wanted},
    )
    return {bytes(digest): person_id for digest, person_id in rows}


def lock_person_writes(session: Session, account_id: int, *, exclusive: bool = False) -> None:
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    session.execute(text(f"SELECT {function}(:k, CAST(:a AS int))"), {"k": PERSON_WRITES_LOCK, "a": account_id})


# -- requests ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StartedRequest:
    request: PrivacyRequest
    job: Job


def _live_person(session: Session, account_id: int, person_id: int) -> Person:
    person = session.execute(
        select(Person).where(Person.account_id == account_id, Person.id == person_id, Person.erased_at.is_(None))  # type: ignore[union-attr]
    ).scalar_one_or_none()
    if person is None:
        raise InputError.single(ErrorCode.NOT_FOUND, "person not found", "person_id")
    return person


def start_request(
    session: Session, account_id: int, kind: PrivacyRequestKind, person_id: int, *, requested_by: int | None = None
) -> StartedRequest:
    """Record the request and queue its job. An erasure is refused while another one of the same
    person is under way (the first will do it)."""
    kind = PrivacyRequestKind(kind)
    _live_person(session, account_id, person_id)
    if kind is PrivacyRequestKind.ERASE:
        pending = session.execute(
            select(PrivacyRequest.id)
            .join(Job, (Job.account_id == PrivacyRequest.account_id) & (Job.id == PrivacyRequest.job_id))
            .where(
                PrivacyRequest.account_id == account_id,
                PrivacyRequest.person_id == person_id,
                PrivacyRequest.kind == kind.value,
                Job.status.in_(("queued", "running")),  # type: ignore[attr-defined]
            )
        ).first()
        if pending is not None:
            raise InputError.single(ErrorCode.CONFLICT, "this person's erasure is already under way", "person_id")
    job = jobs_state.create_job(
        session, account_id, kind=JOB_KINDS[kind], params={"person_id": person_id}, created_by=requested_by
    )
    request = PrivacyRequest(
        account_id=account_id, kind=kind.value, person_id=person_id, job_id=job.id, requested_by=requested_by
    )  # type: ignore[arg-type]
    session.add(request)
    session.flush()
    return StartedRequest(request=request, job=job)


def request_of_job(session: Session, job_id: int, *, lock: bool = False) -> PrivacyRequest:
    stmt = select(PrivacyRequest).where(PrivacyRequest.job_id == job_id)
    if lock:
        stmt = stmt.with_for_update()
    found = session.execute(stmt).scalar_one_or_none()
    if found is None:
        raise LookupError(f"job {job_id} carries no privacy request")
    return found


def list_requests(
    session: Session,
    account_id: int,
    *,
    person_id: int | None = None,
    first: int | None = None,
    after: str | None = None,
) -> Page[PrivacyRequest]:
    """The account's requests, newest first (one person's only, with ``person_id``)."""
    keys = [PrivacyRequest.id]
    stmt = select(PrivacyRequest, *keys).where(PrivacyRequest.account_id == account_id)
    if person_id is not None:
        stmt = stmt.where(PrivacyRequest.person_id == person_id)
    return keyset_page(
        session, stmt, keys, descending=True, first=first, after=after, coerce=lambda v: [cursor_int(v[0])]
    )


def get_request(session: Session, account_id: int, request_id: int) -> PrivacyRequest | None:
    return session.execute(
        select(PrivacyRequest).where(PrivacyRequest.account_id == account_id, PrivacyRequest.id == request_id)
    ).scalar_one_or_none()


# -- export --------------------------------------------------------------------------------------
#: The export's sections in order: (name, statement giving one JSON text per row). ``person`` and
#: ``figures`` are single objects, the others lists.
_SECTIONS: tuple[tuple[str, str], ...] = (
    (
        "person",
        """SELECT to_jsonb(x)::text FROM (
             SELECT id, email, first_name, last_name, gender, birth_date, language, address, postal_code,
                    city, country, latitude, longitude, custom_fields, created_at, updated_at
               FROM person WHERE account_id = :a AND id = :p) x""",
    ),
    (
        "figures",
        """SELECT to_jsonb(x)::text FROM (
             SELECT orders, tickets, revenue, events, last_ordered_at
               FROM person_stats WHERE account_id = :a AND person_id = :p) x""",
    ),
    (
        "identities",
        """SELECT to_jsonb(x)::text FROM (
             SELECT source, external_id, created_at FROM person_identity
              WHERE account_id = :a AND person_id = :p ORDER BY source, external_id) x""",
    ),
    (
        "tags",
        """SELECT to_jsonb(x)::text FROM (
             SELECT t.id AS tag_id, t.name, c.name AS category, pt.source, pt.actor, pt.created_at
               FROM person_tag pt JOIN tag t ON t.account_id = pt.account_id AND t.id = pt.tag_id
               LEFT JOIN tag_category c ON c.account_id = t.account_id AND c.id = t.category_id
              WHERE pt.account_id = :a AND pt.person_id = :p ORDER BY t.name, pt.source) x""",
    ),
    (
        "consents",
        """SELECT to_jsonb(x)::text FROM (
             SELECT ct.key, ct.name, pc.granted, pc.granted_at, pc.withdrawn_at, pc.updated_at, pc.source
               FROM person_consent pc
               JOIN consent_type ct ON ct.account_id = pc.account_id AND ct.id = pc.consent_type_id
              WHERE pc.account_id = :a AND pc.person_id = :p ORDER BY ct.key) x""",
    ),
    (
        "consent_history",
        """SELECT to_jsonb(x)::text FROM (
             SELECT ct.key, h.granted, h.changed_at, h.source
               FROM consent_history h
               JOIN consent_type ct ON ct.account_id = h.account_id AND ct.id = h.consent_type_id
              WHERE h.account_id = :a AND h.person_id = :p ORDER BY h.changed_at, h.id) x""",
    ),
    (
        "orders",
        """SELECT to_jsonb(x)::text FROM (
             SELECT o.id, o.source, o.external_id, o.channel, o.status, o.created_at,
                    (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                'id', t.id, 'external_id', t.external_id, 'event_id', t.event_id,
                                'event_starts_at', e.starts_at, 'production', pr.title, 'price', t.price,
                                'status', t.status, 'scanned_at', t.scanned_at) ORDER BY t.id), '[]'::jsonb)
                       FROM ticket t
                       JOIN event e ON e.account_id = t.account_id AND e.id = t.event_id
                       JOIN production pr ON pr.account_id = e.account_id AND pr.id = e.production_id
                      WHERE t.account_id = o.account_id AND t.order_id = o.id) AS tickets
               FROM orders o WHERE o.account_id = :a AND o.person_id = :p ORDER BY o.created_at, o.id) x""",
    ),
    (
        "subscriptions",
        """SELECT to_jsonb(x)::text FROM (
             SELECT id, name, valid_from, valid_until, source, external_id, created_at
               FROM subscription WHERE account_id = :a AND person_id = :p ORDER BY valid_from, id) x""",
    ),
    (
        "form_submissions",
        """SELECT to_jsonb(x)::text FROM (
             SELECT s.id, f.id AS form_id, f.title AS form, s.submitted_at, s.consents,
                    (SELECT coalesce(jsonb_agg(t.name ORDER BY t.name), '[]'::jsonb) FROM tag t
                      WHERE t.account_id = s.account_id
                        AND t.id IN (SELECT CAST(v AS bigint) FROM jsonb_array_elements_text(s.selected_tag_ids) v))
                        AS selected_tags,
                    s.selected_tag_ids, s.added_tag_ids, s.removed_tag_ids
               FROM form_submission s JOIN form f ON f.account_id = s.account_id AND f.id = s.form_id
              WHERE s.account_id = :a AND s.person_id = :p ORDER BY s.submitted_at, s.id) x""",
    ),
    (
        "interactions",
        """SELECT to_jsonb(x)::text FROM (
             SELECT i.kind, i.occurred_at, i.production_id, pr.title AS production, i.event_id, i.tag_id,
                    t.name AS tag, i.url, i.action_id, i.created_at
               FROM interaction i
               LEFT JOIN production pr ON pr.account_id = i.account_id AND pr.id = i.production_id
               LEFT JOIN tag t ON t.account_id = i.account_id AND t.id = i.tag_id
              WHERE i.account_id = :a AND i.person_id = :p ORDER BY i.occurred_at, i.id) x""",
    ),
    (
        "interest_scores",
        """SELECT to_jsonb(x)::text FROM (
             SELECT s.tag_id, t.name AS tag, s.value, s.as_of, s.interactions, s.last_at
               FROM interest_score s JOIN tag t ON t.account_id = s.account_id AND t.id = s.tag_id
              WHERE s.account_id = :a AND s.person_id = :p ORDER BY s.value DESC, t.name) x""",
    ),
    (
        "sends",
        """SELECT to_jsonb(x)::text FROM (
             SELECT m.action_id, a.segment_name, m.status, m.email, m.reason, m.attempts, m.sent_at, m.updated_at
               FROM mail_send m JOIN segment_action a ON a.account_id = m.account_id AND a.id = m.action_id
              WHERE m.account_id = :a AND m.person_id = :p ORDER BY m.action_id) x""",
    ),
    (
        "segment_actions",
        """SELECT to_jsonb(x)::text FROM (
             SELECT a.id AS action_id, a.kind, a.segment_name, a.created_at
               FROM action_member m JOIN segment_action a ON a.account_id = m.account_id AND a.id = m.action_id
              WHERE m.account_id = :a AND m.person_id = :p ORDER BY a.created_at, a.id) x""",
    ),
    (
        "personal_picks",
        """SELECT to_jsonb(x)::text FROM (
             SELECT m.action_id, m.place, m.production_id, pr.title AS production, m.score, m.reasons
               FROM member_pick m JOIN production pr ON pr.account_id = m.account_id AND pr.id = m.production_id
              WHERE m.account_id = :a AND m.person_id = :p ORDER BY m.action_id, m.place) x""",
    ),
    (
        "organisations",
        """SELECT to_jsonb(x)::text FROM (
             SELECT o.id, o.name, m.role, m.created_at
               FROM person_organisation m
               JOIN organisation o ON o.account_id = m.account_id AND o.id = m.organisation_id
              WHERE m.account_id = :a AND m.person_id = :p ORDER BY o.name, o.id) x""",
    ),
    (
        "merged_persons",
        """SELECT to_jsonb(x)::text FROM (
             SELECT merged_id, merged_at, moved, merged_fields FROM person_merge
              WHERE account_id = :a AND survivor_id = :p ORDER BY merged_at, id) x""",
    ),
)
SECTION_NAMES = tuple(name for name, _ in _SECTIONS)
_SINGLE = {"person", "figures"}


def _relative_path(request: PrivacyRequest) -> str:
    return f"privacy/{request.account_id}/{request.id}.json"


def _write_document(session: Session, out: IO[str], request: PrivacyRequest, progress: Progress) -> dict[str, int]:
    """The document, written as it is read; returns the number of entries per list section."""
    params = {"a": request.account_id, "p": request.person_id}
    account = session.execute(text("SELECT name FROM account WHERE id = :a"), params).scalar_one()
    head = {
        "format": FORMAT,
        "exported_at": clock.now().isoformat(),
        "account": {"id": request.account_id, "name": account},
    }
    out.write(json.dumps(head)[:-1])
    counts: dict[str, int] = {}
    for index, (name, statement) in enumerate(_SECTIONS):
        rows = session.execute(text(statement).execution_options(yield_per=FETCH_ROWS), params).scalars()
        out.write(f", {json.dumps(name)}: ")
        if name in _SINGLE:
            out.write(next(iter(rows), None) or "null")
        else:
            n = 0
            out.write("[")
            for row in rows:
                out.write((", " if n else "") + row)
                n += 1
            out.write("]")
            counts[name] = n
        progress(0.05 + 0.85 * (index + 1) / len(_SECTIONS), f"{name} written")
    out.write("}\n")
    return counts


def run_export(new_session: Callable[[], Session], job_id: int, storage: Path, progress: Progress) -> dict[str, Any]:
    """The export job: the document is written to a partial file and moved into place, then the
    request records it with the job's success (a retry writes it again)."""
    with new_session() as session:
        request = request_of_job(session, job_id)
    relative = _relative_path(request)
    path = storage / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with new_session() as session, session.begin():
        if not session.connection().in_nested_transaction():  # (tests run inside a savepoint)
            session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))  # one moment
        erased = session.execute(
            text("SELECT erased_at IS NOT NULL FROM person WHERE account_id = :a AND id = :p"),
            {"a": request.account_id, "p": request.person_id},
        ).scalar_one_or_none()
        if erased is None or erased:
            raise InputError.single(ErrorCode.NOT_FOUND, "the person is gone (deleted or erased)", "person_id")
        with partial.open("w", encoding="utf-8") as out:
            counts = _write_document(session, out, request, progress)
            out.flush()
            os.fsync(out.fileno())
    os.replace(partial, path)
    result: dict[str, Any] = {"sections": counts, "bytes": path.stat().st_size}
    with new_session() as session, session.begin():
        request = request_of_job(session, job_id, lock=True)
        request.file = relative
        request.finished_at = clock.now()
        events.record(
            session,
            events.PersonExported(
                account_id=request.account_id,
                person_id=request.person_id,  # type: ignore[arg-type]
                request_id=request.id,  # type: ignore[arg-type]
                job_id=job_id,
            ),
        )
        jobs_state.record_success(session, job_id, result)
        result["old_files_removed"] = purge_old_files(session, storage, request.account_id)
    return result


def purge_old_files(session: Session, storage: Path, account_id: int, keep_days: int = KEEP_DAYS) -> int:
    rows = session.execute(
        select(PrivacyRequest)
        .where(
            PrivacyRequest.account_id == account_id,
            PrivacyRequest.file.is_not(None),  # type: ignore[union-attr]
            PrivacyRequest.created_at < clock.now() - timedelta(days=keep_days),
        )
        .with_for_update(skip_locked=True)
    ).scalars()
    removed = 0
    for request in rows:
        (storage / request.file).unlink(missing_ok=True)  # type: ignore[operator]
        request.file = None
        removed += 1
    return removed


def export_file(session: Session, storage: Path, account_id: int, request_id: int) -> tuple[Path, str] | None:
    """The export's document and a download name, or None when there is none (yet, or any more)."""
    request = get_request(session, account_id, request_id)
    if request is None or request.kind != PrivacyRequestKind.EXPORT.value or request.file is None:
        return None
    path = storage / request.file
    if not path.is_file():
        return None
    return path, f"person-{request.person_id}-{request.created_at:%Y%m%d}-{request.id}.json"


def download_path(secret: str, request: PrivacyRequest, lifetime_s: int) -> str:
    from domain.actions.export import signed_path  # noqa: PLC0415

    return signed_path(secret, DOWNLOAD_PURPOSE, DOWNLOAD_ROUTE, request.account_id, request.id, lifetime_s)  # type: ignore[arg-type]


# -- erasure -------------------------------------------------------------------------------------
_ERASED_ROWS = ("person_tag", "person_consent", "consent_history", "form_submission", "interaction",
                "interest_score", "member_pick", "person_organisation")  # fmt: skip
_PERSON_FIELDS_CLEARED = (
    "email = NULL, first_name = NULL, last_name = NULL, gender = NULL, birth_date = NULL, language = NULL, "
    "address = NULL, postal_code = NULL, city = NULL, country = NULL, latitude = NULL, longitude = NULL, "
    "custom_fields = '{}'::jsonb"
)


def erase_person(session: Session, storage: Path, request: PrivacyRequest) -> dict[str, Any]:
    """Erase the request's person in the caller's transaction (see the module's docstring).
    Returns what went, per table. Files go once the transaction has committed."""
    a, p = request.account_id, request.person_id
    lock_person_writes(session, a, exclusive=True)
    person = session.execute(
        select(Person).where(Person.account_id == a, Person.id == p).with_for_update()
    ).scalar_one_or_none()
    if person is None or person.erased_at is not None:
        raise InputError.single(ErrorCode.NOT_FOUND, "the person is gone (deleted or erased)", "person_id")
    params = {"a": a, "p": p}
    identities = session.execute(
        text("SELECT source, external_id FROM person_identity WHERE account_id = :a AND person_id = :p"), params
    ).all()
    digests = [(identity_digest(a, s, e), SuppressionKind.IDENTITY.value) for s, e in identities]
    if person.email:
        digests.append((email_digest(a, person.email), SuppressionKind.EMAIL.value))
    if digests:
        session.execute(
            text(
                "INSERT INTO person_suppression (account_id, digest, person_id, kind) "
                "SELECT :a, d, :p, k FROM unnest(CAST(:d AS bytea[]), CAST(:k AS text[])) AS x(d, k) "
                "ON CONFLICT (account_id, digest) DO UPDATE SET person_id = excluded.person_id"
            ),
            {**params, "d": [d for d, _ in digests], "k": [k for _, k in digests]},
        )
    gone: dict[str, int] = {"person_identity": len(identities)}
    session.execute(text("DELETE FROM person_identity WHERE account_id = :a AND person_id = :p"), params)
    for table in _ERASED_ROWS:
        gone[table] = session.execute(
            text(f"DELETE FROM {table} WHERE account_id = :a AND person_id = :p"), params
        ).rowcount
    gone["mail_send"] = session.execute(
        text(
            "UPDATE mail_send SET email = NULL, reason = NULL WHERE account_id = :a AND person_id = :p "
            "AND (email IS NOT NULL OR reason IS NOT NULL)"
        ),
        params,
    ).rowcount
    gone["person_merge"] = session.execute(
        text(
            "UPDATE person_merge SET merged_fields = '{}'::jsonb WHERE account_id = :a AND survivor_id = :p "
            "AND merged_fields <> '{}'::jsonb"
        ),
        params,
    ).rowcount
    session.execute(
        text(
            f"UPDATE person SET {_PERSON_FIELDS_CLEARED}, preference_link_version = preference_link_version + 1, "
            "erased_at = now(), updated_at = now() WHERE account_id = :a AND id = :p"
        ),
        params,
    )
    files = _files_holding(session, a, p)
    _remove_after_commit(session, storage, files)
    result = {"person_id": p, "removed": gone, "suppressions": len(digests), "files_removed": len(files)}
    events.record(
        session,
        events.PersonErased(
            account_id=a,
            person_id=p,  # type: ignore[arg-type]
            request_id=request.id,  # type: ignore[arg-type]
            email=person.email,
            identities=tuple((s, e) for s, e in identities),
        ),
    )
    return result


def _files_holding(session: Session, account_id: int, person_id: int) -> list[str]:
    """The export files that hold the person (their own exports, segment exports listing them),
    their rows made to point at no file."""
    params = {"a": account_id, "p": person_id}
    own = session.execute(
        text(
            "WITH old AS (SELECT id, file FROM privacy_request WHERE account_id = :a AND person_id = :p "
            "AND file IS NOT NULL FOR UPDATE) "
            "UPDATE privacy_request r SET file = NULL FROM old WHERE r.account_id = :a AND r.id = old.id "
            "RETURNING old.file"
        ),
        params,
    ).scalars()
    listed = session.execute(
        text(
            "WITH old AS (SELECT a.id, a.file FROM segment_action a WHERE a.account_id = :a AND a.file IS NOT NULL "
            "AND EXISTS (SELECT 1 FROM action_member m WHERE m.account_id = a.account_id AND m.action_id = a.id "
            "AND m.person_id = :p) FOR UPDATE) "
            "UPDATE segment_action a SET file = NULL FROM old WHERE a.account_id = :a AND a.id = old.id "
            "RETURNING old.file"
        ),
        params,
    ).scalars()
    return [*own, *listed]


def _remove_after_commit(session: Session, storage: Path, files: list[str]) -> None:
    if not files:
        return
    from sqlalchemy import event as sa_event  # noqa: PLC0415

    def remove(_session) -> None:
        for relative in files:
            (storage / relative).unlink(missing_ok=True)

    sa_event.listen(session, "after_commit", remove, once=True)


def run_erase(new_session: Callable[[], Session], job_id: int, storage: Path, progress: Progress) -> dict[str, Any]:
    """The erasure job: one transaction (a kill leaves nothing half-erased; the retry does it all)."""
    progress(0.05, "erasing")
    with new_session() as session, session.begin():
        request = request_of_job(session, job_id, lock=True)
        result = erase_person(session, storage, request)
        request.finished_at = clock.now()
        jobs_state.record_success(session, job_id, result)
    return result
