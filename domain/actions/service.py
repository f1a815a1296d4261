"""Acting on a segment (SPEC 5.5): label its members, export them.

Every action is a job. The request checks what it names (the segment, the mode's event or
production, the tags, the fields) and records the action with its job; the worker takes the
**snapshot** (the members at that moment, stored in ``action_member``) before anything acts on
them, so a retry acts on the same persons, and a later change of the segment does not reach an
action under way. Persons erased meanwhile leave the snapshot (foreign key, cascade).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, literal, select, text, update
from sqlmodel import Session

from domain import clock, events
from domain.actions.models import ActionKind, ActionMember, SegmentAction
from domain.budgets import STATEMENT_BUDGET
from domain.errors import Collector, ErrorCode, not_found
from domain.jobs_state import service as jobs_state
from domain.jobs_state.models import Job
from domain.jobs_state.service import JobRefused, Progress
from domain.pagination import Page, cursor_datetime, cursor_int, keyset_page
from domain.segments import service as segments
from domain.tags.models import Tag

MAX_LABEL_TAGS = 20
SNAPSHOT_BUDGET_MS = 300_000  # a snapshot is one statement over the whole account: minutes, not a request's seconds
JOB_KINDS = {
    ActionKind.LABEL: "label_segment",
    ActionKind.EXPORT: "export_segment",
    ActionKind.OFFER: "send_offer",
    ActionKind.PUSH: "push_audience",
    ActionKind.PICKS: "segment_picks",
}


@dataclass(frozen=True)
class Target:
    """The segment an action is for, and the mode it is looked at in (None: all members)."""

    segment_id: int
    mode: segments.Mode = None


def _check_target(session: Session, account_id: int, target: Target) -> str:
    """The segment's name; typed errors for a segment, event or production not in the account."""
    segment = segments.get_segment(session, account_id, target.segment_id)
    if segment is None:
        raise not_found("segment", "segment_id")
    segments.saved_members_statement(session, account_id, target.segment_id, target.mode)  # checks the mode
    return segment.name


def start_action(
    session: Session,
    account_id: int,
    kind: ActionKind,
    target: Target,
    params: dict[str, Any],
    created_by: int | None,
) -> SegmentAction:
    """Record an action of ``kind`` on the target with its queued job (the kinds' own ``start_*``
    check their parameters first)."""
    name = _check_target(session, account_id, target)
    job = jobs_state.create_job(
        session,
        account_id,
        kind=JOB_KINDS[kind],
        params={"segment_id": target.segment_id, **params},
        created_by=created_by,
    )
    mode_kind, mode_id = target.mode or ("all", None)
    action = SegmentAction(
        account_id=account_id,
        job_id=job.id,  # type: ignore[arg-type]
        kind=kind.value,
        segment_id=target.segment_id,
        segment_name=name,
        mode=mode_kind,
        event_id=mode_id if mode_kind == "event" else None,
        production_id=mode_id if mode_kind == "production" else None,
        params=params,
        created_by=created_by,
    )
    session.add(action)
    session.flush()
    return action


def start_label(
    session: Session,
    account_id: int,
    target: Target,
    *,
    tag_ids: list[int],
    actor: str,
    created_by: int | None = None,
) -> SegmentAction:
    """Attach ``tag_ids`` (source ``staff``, by ``actor``) to every member of the snapshot."""
    problems = Collector()
    wanted = sorted(set(tag_ids))
    if not wanted:
        problems.add(ErrorCode.REQUIRED, "name at least one tag", "tag_ids")
    elif len(tag_ids) > MAX_LABEL_TAGS:
        problems.add(ErrorCode.OUT_OF_RANGE, f"at most {MAX_LABEL_TAGS} tags at once", "tag_ids")
    problems.raise_if_any()
    found = session.execute(
        select(func.count()).select_from(Tag).where(Tag.account_id == account_id, Tag.id.in_(wanted))
    ).scalar_one()
    if found != len(wanted):
        raise not_found("tag", "tag_ids")
    return start_action(session, account_id, ActionKind.LABEL, target, {"tag_ids": wanted, "actor": actor}, created_by)


def get_action(session: Session, account_id: int, action_id: int) -> SegmentAction | None:
    return session.execute(
        select(SegmentAction).where(SegmentAction.account_id == account_id, SegmentAction.id == action_id)
    ).scalar_one_or_none()


def list_actions(
    session: Session,
    account_id: int,
    *,
    segment_id: int | None = None,
    first: int | None = None,
    after: str | None = None,
) -> Page[SegmentAction]:
    """The account's actions (of one segment when given), newest first."""
    keys = [SegmentAction.created_at, SegmentAction.id]
    stmt = select(SegmentAction, *keys).where(SegmentAction.account_id == account_id)
    if segment_id is not None:
        stmt = stmt.where(SegmentAction.segment_id == segment_id)
    return keyset_page(
        session,
        stmt,
        keys,
        descending=True,
        first=first,
        after=after,
        coerce=lambda v: [cursor_datetime(v[0]), cursor_int(v[1])],
    )


def action_of_job(session: Session, job_id: int, *, lock: bool = False) -> SegmentAction:
    """The action a job runs (the worker knows the job id only; the job row names the account)."""
    account = select(Job.account_id).where(Job.id == job_id).scalar_subquery()
    stmt = select(SegmentAction).where(SegmentAction.account_id == account, SegmentAction.job_id == job_id)
    action = session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
    if action is None:
        raise JobRefused(f"job {job_id} runs no segment action")
    return action


def take_snapshot(session: Session, action: SegmentAction, now: datetime | None = None) -> int:
    """Store the action's members, once: a retry finds them taken. Returns the snapshot's size."""
    if action.snapshot_at is not None:
        return action.members or 0
    if action.segment_id is None:
        raise JobRefused("the segment was deleted before its members were taken")
    mode: segments.Mode = None
    if action.mode != "all":
        mode_id = action.event_id if action.mode == "event" else action.production_id
        if mode_id is None:
            raise JobRefused(f"the {action.mode} was deleted before the members were taken")
        mode = (action.mode, mode_id)
    session.info[STATEMENT_BUDGET] = SNAPSHOT_BUDGET_MS
    members = segments.saved_members_statement(session, action.account_id, action.segment_id, mode, now).subquery()
    with segments.evaluating(session, "taking this segment's members"):
        session.execute(
            insert(ActionMember).from_select(
                ["account_id", "action_id", "person_id"],
                select(literal(action.account_id), literal(action.id), members.c[0]),
            )
        )
    taken = _snapshot_size(session, action)
    action.members = taken
    action.snapshot_at = clock.now()
    session.flush()
    return taken


def _snapshot_size(session: Session, action: SegmentAction) -> int:
    """Members still in the snapshot (an erased person has left it)."""
    return session.execute(
        select(func.count())
        .select_from(ActionMember)
        .where(ActionMember.account_id == action.account_id, ActionMember.action_id == action.id)
    ).scalar_one()


def run_label(new_session: Callable[[], Session], job_id: int, progress: Progress) -> dict[str, Any]:
    """The label job: snapshot, links and success in one transaction (a crash leaves nothing)."""
    with new_session() as session, session.begin():
        action = action_of_job(session, job_id, lock=True)
        progress(0.1, "taking the members")
        members = take_snapshot(session, action)
        tag_ids = [int(t) for t in action.params.get("tag_ids", [])]
        progress(0.5, f"labelling {members:,} members")
        added = dict.fromkeys(tag_ids, 0)  # per tag id
        counted = session.execute(
            text(
                "WITH added AS (INSERT INTO person_tag (account_id, tag_id, person_id, source, actor, created_at) "
                "SELECT :a, t.id, m.person_id, 'staff', :actor, now() FROM action_member m "
                "JOIN tag t ON t.account_id = m.account_id AND t.id = ANY(CAST(:tags AS bigint[])) "
                "WHERE m.account_id = :a AND m.action_id = :action ORDER BY t.id, m.person_id "
                "ON CONFLICT DO NOTHING RETURNING tag_id) SELECT tag_id, count(*) FROM added GROUP BY tag_id"
            ),
            {"a": action.account_id, "action": action.id, "actor": action.params.get("actor"), "tags": tag_ids},
        )
        for tag_id, n in counted:
            added[tag_id] = n
        gone = sorted(set(tag_ids) - set(_existing_tags(session, action.account_id, tag_ids)))
        result = {
            "members": members,
            "labelled": _snapshot_size(session, action),
            "links_added": sum(added.values()),
            "added_per_tag": _per_tag_name(session, action.account_id, added),
            "tags_deleted_meanwhile": gone,
        }
        events.record(
            session,
            events.SegmentLabelled(
                account_id=action.account_id,
                action_id=action.id,  # type: ignore[arg-type]
                job_id=job_id,
                segment_id=action.segment_id,
                tag_ids=tuple(tag_ids),
                members=members,
                links_added=result["links_added"],
            ),
        )
        jobs_state.record_success(session, job_id, result)
    return result


def _per_tag_name(session: Session, account_id: int, added: dict[int, int]) -> list[dict[str, Any]]:
    """Links added per tag, named as staff know them (the job's result is read by people)."""
    names: dict[int, str] = dict(
        session.execute(select(Tag.id, Tag.name).where(Tag.account_id == account_id, Tag.id.in_(list(added)))).all()
    )
    return [{"tag": names.get(t, f"(deleted tag {t})"), "added": n} for t, n in added.items()]


def _existing_tags(session: Session, account_id: int, tag_ids: list[int]) -> list[int]:
    return list(session.execute(select(Tag.id).where(Tag.account_id == account_id, Tag.id.in_(tag_ids))).scalars())


def mark_file(session: Session, action: SegmentAction, relative: str) -> None:
    session.execute(
        update(SegmentAction)
        .where(SegmentAction.account_id == action.account_id, SegmentAction.id == action.id)
        .values(file=relative)
    )
