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
from domain.segments import rules as r
from domain.segments import service as segments
from domain.segments.compiler import Compiler

FOLD_CASE = text("SELECT v, lower(v) FROM unnest(:values) AS v").bindparams(bindparam("values", type_=ARRAY(TEXT)))


def sources(session: Session, compiler: Compiler) -> Sources:
    """The evaluator's questions to the database, answered as the compiler answers them."""

    def scope_event_ids(scope: r.Scope):
        return session.execute(compiler.scope_events(scope)).scalars()

    def fold_case(values: list[str]) -> dict[str, str]:
        return {v: low for v, low in session.execute(FOLD_CASE, {"values": values})}

    return Sources(
        load_segment=compiler.load_segment,
        tag_descendants=compiler.tag_descendants,
        venue_point=compiler.venue_point,
        scope_event_ids=scope_event_ids,
        fold_case=fold_case,
    )


def evaluator(session: Session, index: AudienceIndex, now: datetime | None, facts: segments.AccountFacts) -> Evaluator:
    compiler = segments._compiler(session, index.account_id, now, facts)
    return Evaluator(
        index=index,
        timezone=facts.timezone,
        now=compiler.now,
        sources=sources(session, compiler),
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


__all__ = ["count_matching", "matching_mask", "matching_person_ids", "sources"]
