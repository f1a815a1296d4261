"""Merging two persons into one (admin work, SPEC 1 and 7): nothing is lost.

Everything the merged person holds moves to the survivor in set-based statements: tag links
(sources kept; a link the survivor already has collapses into it), orders and tickets (purchase
figures follow through the triggers), consents (per type the later state wins; both histories
are kept), form submissions, subscriptions and identities. The survivor keeps its own fields and
takes the merged person's where its own are empty. The merged person's row then goes, so its id
answers as absent; a ``person_merge`` row records who merged what, when, what moved and the
merged person's fields.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from domain import clock, events
from domain.errors import ErrorCode, InputError
from domain.recommendations.scoring import refresh_interest_scores
from domain.people.models import Person, PersonMerge
from domain.people.validation import PERSON_FIELDS

#: (table, what it is called in the record) of the rows that simply change hands.
_MOVED_BY_UPDATE = (
    ("orders", "orders"),
    ("ticket", "tickets"),
    ("form_submission", "submissions"),
    ("subscription", "subscriptions"),
    ("person_identity", "identities"),
    ("consent_history", "consent_history"),
    ("interaction", "interactions"),
)


def _person(session: Session, account_id: int, person_id: int, path: str) -> Person:
    found = session.get(Person, (account_id, person_id), with_for_update=True)
    if found is None or found.erased_at is not None:
        raise InputError.single(ErrorCode.NOT_FOUND, "person not found", path)
    return found


def merge_persons(
    session: Session, account_id: int, survivor_id: int, merged_id: int, *, merged_by: int | None = None
) -> PersonMerge:
    if survivor_id == merged_id:
        raise InputError.single(ErrorCode.INVALID, "a person cannot be merged into itself", "merged_id")
    # Lock both rows in id order, so two merges of the same pair cannot deadlock.
    first, second = sorted((survivor_id, merged_id))
    paths = {survivor_id: "survivor_id", merged_id: "merged_id"}
    rows = {pid: _person(session, account_id, pid, paths[pid]) for pid in (first, second)}
    survivor, merged = rows[survivor_id], rows[merged_id]
    params = {"a": account_id, "s": survivor_id, "m": merged_id}
    moved: dict[str, int] = {}

    moved["tags"] = session.execute(
        text(
            "INSERT INTO person_tag (account_id, tag_id, person_id, source, actor, created_at) "
            "SELECT account_id, tag_id, :s, source, actor, created_at FROM person_tag "
            "WHERE account_id = :a AND person_id = :m ON CONFLICT DO NOTHING"
        ),
        params,
    ).rowcount
    moved["consents"] = session.execute(
        text(
            "INSERT INTO person_consent (account_id, person_id, consent_type_id, granted, granted_at, withdrawn_at, "
            "updated_at, source) "
            "SELECT account_id, :s, consent_type_id, granted, granted_at, withdrawn_at, updated_at, source "
            "FROM person_consent WHERE account_id = :a AND person_id = :m "
            "ON CONFLICT (account_id, person_id, consent_type_id) DO UPDATE SET granted = excluded.granted, "
            "granted_at = excluded.granted_at, withdrawn_at = excluded.withdrawn_at, "
            "updated_at = excluded.updated_at, source = excluded.source "
            "WHERE excluded.updated_at > person_consent.updated_at"
        ),
        params,
    ).rowcount
    # The history rows the consent trigger just wrote for the survivor repeat the merged person's,
    # which move below: drop the copies, keep the originals.
    session.execute(
        text(
            "DELETE FROM consent_history h USING consent_history o "
            "WHERE h.account_id = :a AND h.person_id = :s AND o.account_id = :a AND o.person_id = :m "
            "AND h.consent_type_id = o.consent_type_id AND h.granted = o.granted AND h.changed_at = o.changed_at "
            "AND h.source = o.source AND h.id > o.id"
        ),
        params,
    )
    for table, name in _MOVED_BY_UPDATE:
        moved[name] = session.execute(
            text(f"UPDATE {table} SET person_id = :s WHERE account_id = :a AND person_id = :m"),
            params,
        ).rowcount

    fields = {name: getattr(merged, name) for name in PERSON_FIELDS}
    record = PersonMerge(
        account_id=account_id,
        survivor_id=survivor_id,
        merged_id=merged_id,
        merged_by=merged_by,
        moved=moved,
        merged_fields=_json(fields | {"created_at": merged.created_at}),
    )
    session.execute(text("DELETE FROM person WHERE account_id = :a AND id = :m"), params)
    session.expunge(merged)
    blank = {n: v for n, v in fields.items() if n != "custom_fields" and v is not None and getattr(survivor, n) is None}
    if survivor.latitude is not None or survivor.longitude is not None:  # coordinates go together
        blank.pop("latitude", None)
        blank.pop("longitude", None)
    for name, value in blank.items():
        setattr(survivor, name, value)
    survivor.custom_fields = {**(merged.custom_fields or {}), **(survivor.custom_fields or {})}
    survivor.created_at = min(survivor.created_at, merged.created_at)  # known since the earlier of the two
    survivor.updated_at = clock.now()
    session.add_all([survivor, record])
    session.flush()
    refresh_interest_scores(session, account_id, [survivor_id])  # the merged person's scores went with them
    events.record(session, events.PersonMerged(account_id=account_id, survivor_id=survivor_id, merged_id=merged_id))
    return record


def _json(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in values.items()}
