"""Counting and matching through the audience index: the same checks as the SQL back end, then
the evaluator over an index of the account."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, TEXT
from sqlmodel import Session

from domain import clock
from domain.audience.evaluate import Evaluator, Sources
from domain.audience.index import AudienceIndex
from domain.audience.live import CountReport, LiveIndex, measure
from domain.segments import rules as r
from domain.segments import service as segments
from domain.segments.compiler import Compiler

FOLD_CASE = text("SELECT v, lower(v) FROM unnest(:values) AS v").bindparams(bindparam("values", type_=ARRAY(TEXT)))


def _memo(function):
    """Asked once per count whatever the number of indexes evaluated (a base and its delta)."""
    answers: dict = {}

    def ask(key):
        if key not in answers:
            answers[key] = function(key)
        return answers[key]

    return ask


def sources(session: Session, compiler: Compiler) -> Sources:
    """The evaluator's questions to the database, answered as the compiler answers them."""

    def scope_event_ids(scope: r.Scope):
        return list(session.execute(compiler.scope_events(scope)).scalars())

    def fold_case(values: list[str]) -> dict[str, str]:
        return {v: low for v, low in session.execute(FOLD_CASE, {"values": values})}

    return Sources(
        load_segment=_memo(compiler.load_segment),
        tag_descendants=_memo(compiler.tag_descendants),
        venue_point=_memo(compiler.venue_point),
        scope_event_ids=_memo(scope_event_ids),
        fold_case=fold_case,
    )


def evaluator(
    session: Session,
    index: AudienceIndex,
    now: datetime | None,
    facts: segments.AccountFacts,
    asks: Sources | None = None,
) -> Evaluator:
    compiler = segments._compiler(session, index.account_id, now, facts)
    return Evaluator(
        index=index,
        timezone=facts.timezone,
        now=compiler.now,
        sources=asks or sources(session, compiler),
        half_life_days=facts.half_life_days,
    )


def matching_mask(
    session: Session,
    index: AudienceIndex,
    *,
    rules: segments.Rules,
    scope: segments.ScopeLike = None,
    parent_id: int | None = None,
    mode: segments.Mode = None,
    now: datetime | None = None,
) -> np.ndarray:
    """The mask of the index's persons matching unsaved rules (checked as for the SQL back end)."""
    tree, parsed_scope, facts = segments.check_references(
        session, index.account_id, rules=rules, scope=scope, parent_id=parent_id, mode=mode
    )
    return evaluator(session, index, now or clock.now(), facts).members(tree, parsed_scope, parent_id, mode)


def matching_person_ids(session: Session, index: AudienceIndex, **kwargs) -> set[int]:
    mask = matching_mask(session, index, **kwargs)
    return set(index.person_ids[mask].tolist())


def count_matching(session: Session, index: AudienceIndex, **kwargs) -> int:
    return int(np.count_nonzero(matching_mask(session, index, **kwargs)))


def _live_masks(
    session: Session,
    live: LiveIndex,
    *,
    rules: segments.Rules,
    scope: segments.ScopeLike = None,
    parent_id: int | None = None,
    mode: segments.Mode = None,
    now: datetime | None = None,
):
    account_id = live.base.account_id
    tree, parsed_scope, facts = segments.check_references(
        session, account_id, rules=rules, scope=scope, parent_id=parent_id, mode=mode
    )
    moment = now or clock.now()
    asks = sources(session, segments._compiler(session, account_id, moment, facts))

    def evaluate(index: AudienceIndex) -> np.ndarray:
        return evaluator(session, index, moment, facts, asks).members(tree, parsed_scope, parent_id, mode)

    return measure(session, live, evaluate)


def count_live(session: Session, live: LiveIndex, **kwargs) -> tuple[int, CountReport]:
    """The exact count through a live index (caught up first) and its telemetry; NotIndexed when
    the index cannot answer (the caller counts with the SQL back end)."""
    base, _, delta, report = _live_masks(session, live, **kwargs)
    count = int(np.count_nonzero(base)) + (int(np.count_nonzero(delta)) if delta is not None else 0)
    return count, report


def matching_ids_live(session: Session, live: LiveIndex, **kwargs) -> set[int]:
    base, delta, delta_mask, _ = _live_masks(session, live, **kwargs)
    found = set(live.base.person_ids[base].tolist())
    if delta is not None and delta_mask is not None:
        found |= set(delta.index.person_ids[delta_mask].tolist())
    return found


__all__ = ["count_matching", "matching_mask", "matching_person_ids", "sources"]
