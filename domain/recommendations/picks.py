"""Personal picks for a segment's members (SPEC 6): each member's tips, computed once as a job
over the action's snapshot and kept (``member_pick``), so that an offer e-mail can show every
person their own picks (``picks`` in its templates; ``domain.mail.render``). In event or
production mode the members are those without a ticket for it and the picks leave its production
out (the offer itself is about it).

The job ranks with one catalogue (the productions on sale when it starts) in batches of
``BATCH`` members: per batch one statement reads their scores, one their held productions, one
writes their picks; each batch commits, and a retry goes on after the last member done.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from domain import clock
from domain.actions import service as actions
from domain.actions.models import ActionKind, SegmentAction
from domain.errors import Collector, ErrorCode, InputError
from domain.jobs_state import service as jobs_state
from domain.jobs_state.service import JobRefused, Progress
from domain.recommendations.scoring import require_module
from domain.recommendations.tips import Catalogue, held_productions, load_catalogue, rank, scores_by_person

MAX_PICKS = 10
DEFAULT_PICKS = 3
BATCH = 2_000
PICKS_JOB = "segment_picks"


def start_picks(
    session: Session, account_id: int, target: actions.Target, *, first: int = DEFAULT_PICKS, created_by=None
) -> SegmentAction:
    """Queue the job that computes ``first`` personal picks for every member of the segment."""
    require_module(session, account_id)
    if isinstance(first, bool) or not isinstance(first, int) or not 1 <= first <= MAX_PICKS:
        raise InputError.single(ErrorCode.OUT_OF_RANGE, f"first is 1 to {MAX_PICKS} picks per member", "first")
    return actions.start_action(session, account_id, ActionKind.PICKS, target, {"first": first}, created_by)


def _store(session: Session, account_id: int, action_id: int, picks: dict[int, list]) -> int:
    rows = [(person, place, tip) for person, tips in picks.items() for place, tip in enumerate(tips, 1)]
    if not rows:
        return 0
    session.execute(
        text(
            "INSERT INTO member_pick (account_id, action_id, person_id, place, production_id, score, reasons) "
            "SELECT :a, :act, * FROM unnest(CAST(:p AS bigint[]), CAST(:n AS int[]), CAST(:pr AS bigint[]), "
            "CAST(:s AS float8[]), CAST(:r AS jsonb[])) ON CONFLICT DO NOTHING"
        ),
        {
            "a": account_id,
            "act": action_id,
            "p": [p for p, _, _ in rows],
            "n": [n for _, n, _ in rows],
            "pr": [t.production_id for _, _, t in rows],
            "s": [t.score for _, _, t in rows],
            "r": [json.dumps([[r.tag_id, r.contribution] for r in t.reasons]) for _, _, t in rows],
        },
    )
    return len(rows)


def _offered_production(session: Session, action: SegmentAction) -> set[int]:
    """In event or production mode, the production the offer is about: picks are other shows."""
    if action.production_id is not None:
        return {action.production_id}
    if action.event_id is not None:
        found = session.execute(
            text("SELECT production_id FROM event WHERE account_id = :a AND id = :e"),
            {"a": action.account_id, "e": action.event_id},
        ).scalar_one_or_none()
        return {found} if found is not None else set()
    return set()


def run_picks(new_session: Callable[[], Session], job_id: int, progress: Progress) -> dict[str, Any]:
    """The picks job: snapshot, then the members' picks batch by batch (each committed)."""
    with new_session() as session, session.begin():
        action = actions.action_of_job(session, job_id, lock=True)
        try:
            account = require_module(session, action.account_id)
        except InputError as off:
            raise JobRefused(off.problems[0].message) from None
        progress(0.05, "taking the members")
        members = actions.take_snapshot(session, action)
        account_id, action_id, first = action.account_id, action.id, int(action.params.get("first", DEFAULT_PICKS))
        half_life = account.score_half_life_days
        offered = _offered_production(session, action)
    assert action_id is not None
    now = clock.now()
    with new_session() as session, session.begin():
        cat: Catalogue = load_catalogue(session, account_id, now)
        after = session.execute(
            text("SELECT coalesce(max(person_id), 0) FROM member_pick WHERE account_id = :a AND action_id = :act"),
            {"a": account_id, "act": action_id},
        ).scalar_one()
    done = 0
    while True:
        with new_session() as session, session.begin():
            batch = (
                session.execute(
                    text(
                        "SELECT person_id FROM action_member WHERE account_id = :a AND action_id = :act "
                        "AND person_id > :after ORDER BY person_id LIMIT :n"
                    ),
                    {"a": account_id, "act": action_id, "after": after, "n": BATCH},
                )
                .scalars()
                .all()
            )
            if not batch:
                break
            scores = scores_by_person(session, account_id, batch, half_life, now)
            held = held_productions(session, account_id, batch)
            chosen = {p: rank(cat, scores[p], held[p] | offered, first=first) for p in batch}
            _store(session, account_id, action_id, chosen)
        after = batch[-1]
        done += len(batch)
        progress(0.1 + 0.85 * min(1.0, done / max(members, 1)), f"{done:,} of {members:,} members picked for")
    with new_session() as session, session.begin():
        counts = session.execute(
            text(
                # Each figure on its own: no join of the two fresh tables, whose statistics may still
                # say "empty" (a nested loop over them would be quadratic).
                "SELECT (SELECT count(*) FROM action_member WHERE account_id = :a AND action_id = :act) AS members, "
                "k.with_picks, k.picks, "
                "(SELECT count(*) FROM action_member m WHERE m.account_id = :a AND m.action_id = :act "
                "  AND NOT EXISTS (SELECT 1 FROM interest_score s "
                "  WHERE s.account_id = m.account_id AND s.person_id = m.person_id)) AS without_interests "
                "FROM (SELECT count(DISTINCT person_id) AS with_picks, count(*) AS picks FROM member_pick "
                "      WHERE account_id = :a AND action_id = :act) k"
            ),
            {"a": account_id, "act": action_id},
        ).one()
        result = {
            "members": counts.members,
            "with_picks": counts.with_picks,
            "picks": counts.picks,
            "without_interests": counts.without_interests,  # their picks are the best sellers (cold start)
            "on_sale": len(cat.profiles),
            "per_member": first,
        }
        jobs_state.record_success(session, job_id, result)
    return result


@dataclass(frozen=True)
class Pick:
    """One personal pick as an offer e-mail shows it."""

    production_id: int
    title: str
    starts_at: datetime | None  # its next event to come (None: none any more)
    venue: str
    reasons: tuple[str, ...]  # the names of the tags it was picked for, strongest first (empty: popular)


#: The stored picks of some members (``:p``) of a picks action, best first, each with its next
#: event to come and the names of the tags it was picked for.
PICKS_OF_MEMBERS = text(
    "SELECT k.person_id, k.production_id, pr.title, nxt.starts_at, coalesce(nxt.venue, '') AS venue, "
    "  ARRAY(SELECT t.name FROM jsonb_array_elements(k.reasons) WITH ORDINALITY AS r(reason, n) "
    "        JOIN tag t ON t.account_id = k.account_id AND t.id = (r.reason->>0)::bigint "
    "        ORDER BY r.n) AS tags "
    "FROM member_pick k JOIN production pr ON pr.account_id = k.account_id AND pr.id = k.production_id "
    "LEFT JOIN LATERAL (SELECT e.starts_at, v.name AS venue FROM event e "
    "  LEFT JOIN venue v ON v.account_id = e.account_id AND v.id = e.venue_id "
    "  WHERE e.account_id = k.account_id AND e.production_id = k.production_id AND e.starts_at > :now "
    "  AND e.status <> 'cancelled' ORDER BY e.starts_at LIMIT 1) nxt ON true "
    "WHERE k.account_id = :a AND k.action_id = :picks AND k.person_id = ANY(CAST(:p AS bigint[])) "
    "ORDER BY k.person_id, k.place"
)


def picks_of_rows(rows, person_ids: Sequence[int]) -> dict[int, list[Pick]]:
    out: dict[int, list[Pick]] = {p: [] for p in person_ids}
    for r in rows:
        out.setdefault(r.person_id, []).append(Pick(r.production_id, r.title, r.starts_at, r.venue, tuple(r.tags)))
    return out


def picks_by_person(
    session: Session, account_id: int, action_id: int, person_ids: Sequence[int]
) -> dict[int, list[Pick]]:
    """The stored picks of these members, best first, in one statement."""
    if not person_ids:
        return {}
    rows = session.execute(
        PICKS_OF_MEMBERS, {"a": account_id, "picks": action_id, "p": list(person_ids), "now": clock.now()}
    )
    return picks_of_rows(rows, person_ids)


@dataclass(frozen=True)
class StoredPick:
    place: int
    production_id: int
    score: float
    reasons: tuple[tuple[int | None, float], ...]  # (tag id or None for popular, contribution)


def member_picks(
    session: Session, account_id: int, action_id: int, person_ids: Sequence[int]
) -> dict[int, list[StoredPick]]:
    """What a picks action stored for these members (empty for persons not in its snapshot)."""
    out: dict[int, list[StoredPick]] = {p: [] for p in person_ids}
    rows = session.execute(
        text(
            "SELECT person_id, place, production_id, score, reasons FROM member_pick "
            "WHERE account_id = :a AND action_id = :act AND person_id = ANY(CAST(:p AS bigint[])) "
            "ORDER BY person_id, place"
        ),
        {"a": account_id, "act": action_id, "p": list(person_ids)},
    )
    for r in rows:
        reasons = tuple((None if t is None else int(t), float(c)) for t, c in r.reasons)
        out[r.person_id].append(StoredPick(r.place, r.production_id, r.score, reasons))
    return out


def check_picks_action(session: Session, account_id: int, action_id: int, problems: Collector, *path: str) -> None:
    """An offer may show the picks of a finished picks action of the same account."""
    row = session.execute(
        text(
            "SELECT a.kind, j.status FROM segment_action a "
            "JOIN job j ON j.account_id = a.account_id AND j.id = a.job_id WHERE a.account_id = :a AND a.id = :act"
        ),
        {"a": account_id, "act": action_id},
    ).first()
    if row is None or row.kind != ActionKind.PICKS.value:
        problems.add(ErrorCode.NOT_FOUND, "no personal picks action with this id", *path)
    elif row.status != "succeeded":
        problems.add(ErrorCode.CONFLICT, f"the personal picks are not ready (their job is {row.status})", *path)


__all__ = [
    "start_picks",
    "run_picks",
    "picks_by_person",
    "member_picks",
    "StoredPick",
    "picks_of_rows",
    "PICKS_OF_MEMBERS",
    "check_picks_action",
    "Pick",
    "MAX_PICKS",
    "PICKS_JOB",
]
