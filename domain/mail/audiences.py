"""Audience pushes: a segment's members handed to an external tool (an e-mail platform, a CRM) in
batches, through a plugin's pusher.

A plugin contributes pushers through the ``register_audience_pushers`` hook. The core takes the
snapshot, cuts it into batches of at most ``BATCH_SIZE`` members (by person id; the cut is stored,
so a retry sends the same batches) and calls ``push`` with one :class:`AudienceBatch` at a time;
a batch counts as delivered once ``push`` returns, and a rerun sends only those not delivered.
Each batch carries a ``message_id`` that stays the same for every retry of it: receivers use it
as their idempotency key (a batch whose delivery was not recorded before a crash is sent again
under the same id). ``push`` raises to fail: the job is retried with backoff.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import text
from sqlmodel import Session

from domain import events
from domain.actions.models import ActionKind, SegmentAction
from domain.actions.service import Target, start_action, action_of_job, take_snapshot
from domain.errors import Collector, ErrorCode
from domain.integrations import service as integrations
from domain.integrations.registry import PluginInfo
from domain.jobs_state import service as jobs_state
from domain.jobs_state.service import JobRefused, Progress

BATCH_SIZE = 100  # members per batch: payloads stay around 10-20 kB
PUSH_FIELDS = ("email", "first_name", "last_name", "language", "postal_code", "city", "country")
DEFAULT_PUSH_FIELDS = ("email", "first_name", "last_name")


@dataclass(frozen=True)
class AudienceBatch:
    account_id: int
    config: Mapping[str, Any]  # the plugin's settings with its secrets
    message_id: str  # the same for every retry of this batch: the receiver's idempotency key
    body: bytes  # the batch as sent: UTF-8 JSON (see ``run_push``)
    batch: int  # 1-based
    batches: int
    members: tuple[Mapping[str, Any], ...]
    private_targets: bool = False  # may the pusher call loopback / private addresses (not in production)


@dataclass(frozen=True)
class AudiencePusher:
    plugin: str  # whose per-account installation configures and enables the pusher
    name: str  # unique, e.g. "audience.webhook"
    push: Callable[[AudienceBatch], Any]
    description: str = ""


def start_push(
    session: Session,
    account_id: int,
    target: Target,
    *,
    pusher: str,
    fields: tuple[str, ...] = DEFAULT_PUSH_FIELDS,
    pushers: Mapping[str, AudiencePusher],
    created_by: int | None = None,
) -> SegmentAction:
    problems = Collector()
    found = pushers.get(pusher)
    if found is None:
        known = ", ".join(sorted(pushers)) or "none is registered"
        problems.add(ErrorCode.NOT_FOUND, f"no audience pusher {pusher!r} (known: {known})", "pusher")
    else:
        integrations.check_enabled(session, account_id, found.plugin, problems, "pusher")
    if not fields:
        problems.add(ErrorCode.REQUIRED, "name at least one field", "fields")
    elif any(f not in PUSH_FIELDS for f in fields):
        problems.add(ErrorCode.INVALID_CHOICE, f"fields are among {', '.join(PUSH_FIELDS)}", "fields")
    elif len(set(fields)) != len(fields):
        problems.add(ErrorCode.DUPLICATE, "each field once", "fields")
    problems.raise_if_any()
    params = {"pusher": pusher, "fields": list(fields)}
    return start_action(session, account_id, ActionKind.PUSH, target, params, created_by)


def _cut(session: Session, action: SegmentAction) -> None:
    """The snapshot's batches, stored once (a retry sends the same ones)."""
    session.execute(
        text(
            "INSERT INTO audience_push_batch (account_id, action_id, batch, first_person_id, last_person_id, members) "
            "SELECT :a, :act, k + 1, min(person_id), max(person_id), count(*) FROM ("
            "  SELECT person_id, (row_number() OVER (ORDER BY person_id) - 1) / :size AS k FROM action_member"
            "  WHERE account_id = :a AND action_id = :act) AS numbered GROUP BY k ON CONFLICT DO NOTHING"
        ),
        {"a": action.account_id, "act": action.id, "size": BATCH_SIZE},
    )


def run_push(
    new_session: Callable[[], Session],
    job_id: int,
    *,
    pushers: Mapping[str, AudiencePusher],
    infos: Iterable[PluginInfo],
    person_id: Callable[[str, int], str],
    progress: Progress,
    private_targets: bool = False,
) -> dict[str, Any]:
    """The push job: snapshot, batches, and each batch not yet delivered handed to the pusher.

    The body: ``{"type": "audience.batch", "action_id", "segment", "mode", "batch", "batches",
    "members": [{"id", <fields>…}]}`` (``id``: the person's API id)."""
    with new_session() as session, session.begin():
        action = action_of_job(session, job_id, lock=True)
        members = take_snapshot(session, action)
        _cut(session, action)
        pusher = pushers.get(action.params.get("pusher", ""))
        if pusher is None:
            raise JobRefused(f"no audience pusher {action.params.get('pusher')!r} is registered")
        config = integrations.enabled_config(session, action.account_id, infos, pusher.plugin)
        if config is None:
            raise JobRefused(f"plugin {pusher.plugin!r} is not installed and enabled for this account")
        batches = list(
            session.execute(
                text(
                    "SELECT batch, first_person_id, last_person_id, delivered_at IS NOT NULL AS done "
                    "FROM audience_push_batch WHERE account_id = :a AND action_id = :act ORDER BY batch"
                ),
                {"a": action.account_id, "act": action.id},
            )
        )
    fields = [f for f in action.params.get("fields", DEFAULT_PUSH_FIELDS) if f in PUSH_FIELDS]
    columns = ", ".join(f"p.{f}" for f in fields)
    delivered = sum(1 for b in batches if b.done)
    for batch in batches:
        if batch.done:
            continue
        with new_session() as session:
            rows = session.execute(
                text(
                    f"SELECT p.id, {columns} FROM action_member m JOIN person p "
                    "ON p.account_id = m.account_id AND p.id = m.person_id "
                    "WHERE m.account_id = :a AND m.action_id = :act "
                    "AND m.person_id BETWEEN :first AND :last ORDER BY p.id"
                ),
                {
                    "a": action.account_id,
                    "act": action.id,
                    "first": batch.first_person_id,
                    "last": batch.last_person_id,
                },
            ).all()
        listed = tuple({"id": person_id("Person", r[0]), **dict(zip(fields, r[1:]))} for r in rows)
        body = orjson.dumps(
            {
                "type": "audience.batch",
                "action_id": person_id("SegmentAction", action.id),  # type: ignore[arg-type]
                "segment": action.segment_name,
                "mode": action.mode,
                "batch": batch.batch,
                "batches": len(batches),
                "members": listed,
            }
        )
        outcome = pusher.push(
            AudienceBatch(
                account_id=action.account_id,
                config=config,
                message_id=f"msg_push_{action.account_id}_{action.id}_{batch.batch}",
                body=body,
                batch=batch.batch,
                batches=len(batches),
                members=listed,
                private_targets=private_targets,
            )
        )
        with new_session() as session, session.begin():
            session.execute(
                text(
                    "UPDATE audience_push_batch SET delivered_at = now(), answer = :answer, pushed = :n "
                    "WHERE account_id = :a AND action_id = :act AND batch = :b"
                ),
                {
                    "a": action.account_id,
                    "act": action.id,
                    "b": batch.batch,
                    "n": len(listed),
                    "answer": str(outcome)[:500] if outcome is not None else None,
                },
            )
        delivered += 1
        progress(delivered / max(len(batches), 1), f"{delivered:,} of {len(batches):,} batches delivered")
    with new_session() as session, session.begin():
        pushed = session.execute(
            text("SELECT coalesce(sum(pushed), 0) FROM audience_push_batch WHERE account_id = :a AND action_id = :act"),
            {"a": action.account_id, "act": action.id},
        ).scalar_one()
        result = {"members": members, "batches": len(batches), "pushed": int(pushed)}
        events.record(
            session,
            events.AudiencePushed(
                account_id=action.account_id,
                action_id=action.id,  # type: ignore[arg-type]
                job_id=job_id,
                segment_id=action.segment_id,
                pusher=pusher.name,
                members=int(pushed),
                batches=len(batches),
            ),
        )
        jobs_state.record_success(session, job_id, result)
    return result
