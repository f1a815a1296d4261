"""The rows segments name, kept in ``segment_reference`` (written with the rules, from the codec's
``references``): who uses a tag, a form, a consent type …, and the segment-to-segment edges.
Every delete of something a segment may name asks here first (a readable refusal); the
composite foreign keys refuse it anyway."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, func, insert, select
from sqlmodel import Session

from domain.errors import ErrorCode, InputError
from domain.segments import rules as r
from domain.segments.models import REFERENCE_TARGETS, Segment, SegmentReference

REF = SegmentReference.__table__.c
WHAT = {
    "tag": "tag",
    "segment": "segment",
    "form": "form",
    "consent_type": "consent type",
    "venue": "venue",
    "production": "production",
    "event": "event",
    "custom_field": "custom field",
}


def store_references(session: Session, account_id: int, segment_id: int, refs: Iterable[r.Reference]) -> None:
    """Replace the segment's reference rows with ``refs`` (each distinct row once)."""
    session.execute(
        delete(SegmentReference).where(
            SegmentReference.account_id == account_id, SegmentReference.segment_id == segment_id
        )
    )
    rows = sorted({(ref.kind, ref.value) for ref in refs}, key=repr)
    if rows:
        session.execute(
            insert(SegmentReference),
            [
                {"account_id": account_id, "segment_id": segment_id, REFERENCE_TARGETS[kind][0]: value}
                for kind, value in rows
            ],
        )


def segments_using(session: Session, account_id: int, kind: str, ids: Iterable) -> list[tuple[int, str]]:
    """(id, name) of every segment whose rules or scope name one of ``ids`` (of ``kind``)."""
    column = REF[REFERENCE_TARGETS[kind][0]]
    wanted = sorted(set(ids))
    if not wanted:
        return []
    using = select(REF.segment_id).where(REF.account_id == account_id, column.in_(wanted))
    return [
        tuple(row)
        for row in session.execute(
            select(Segment.id, Segment.name)
            .where(Segment.account_id == account_id, Segment.id.in_(using))
            .order_by(func.lower(Segment.name), Segment.id)
        ).all()
    ]


def refuse_if_used(session: Session, account_id: int, kind: str, ids: Iterable, *path: str) -> None:
    """A CONFLICT naming the segments (at most five) that still name one of ``ids``."""
    users = segments_using(session, account_id, kind, ids)
    if users:
        names = ", ".join(repr(name) for _, name in users[:5]) + (" …" if len(users) > 5 else "")
        raise InputError.single(
            ErrorCode.CONFLICT, f"segment(s) {names} use this {WHAT[kind]}; change them first", *path
        )


def delete_unless_used(session: Session, account_id: int, kind: str, row_id, statement, *path: str) -> int:
    """Run ``statement`` (deleting one row of ``kind``) unless a segment names the row: refused with
    a CONFLICT naming the segments first, and by the database's foreign keys should a segment
    come to name it meanwhile. Returns the rows deleted."""
    from sqlalchemy.exc import IntegrityError  # noqa: PLC0415

    refuse_if_used(session, account_id, kind, [row_id], *path)
    try:
        with session.begin_nested():
            return session.execute(statement).rowcount
    except IntegrityError as error:
        if "fk_segment_reference_" not in str(error.orig):
            raise
        refuse_if_used(session, account_id, kind, [row_id], *path)
        raise


def segment_edges(session: Session, account_id: int) -> dict[int, set[int]]:
    """Each segment with the segments it uses: those its rules name and its parent."""
    edges: dict[int, set[int]] = {}
    for source, target in session.execute(
        select(REF.segment_id, REF.referenced_segment_id).where(
            REF.account_id == account_id, REF.referenced_segment_id.isnot(None)
        )
    ):
        edges.setdefault(source, set()).add(target)
    for source, parent in session.execute(
        select(Segment.id, Segment.parent_id).where(Segment.account_id == account_id, Segment.parent_id.isnot(None))
    ):
        edges.setdefault(source, set()).add(parent)
    return edges


__all__ = ["store_references", "segments_using", "refuse_if_used", "delete_unless_used", "segment_edges"]
