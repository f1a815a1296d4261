"""Tips (SPEC 6): upcoming productions a person holds no ticket for, ranked by how the
production's tags match the person's interest scores, each with its reasons.

The **candidates** are the account's productions on sale now: at least one event still to come
that is not cancelled and not sold out (capacity reached by valid tickets of paid orders). A
production's tag profile is its tags and their ancestors, each weighted ``parent_share^levels``
(the largest where two paths meet), scaled to unit length. Its **popularity** is the tickets sold
so far for its events to come, plus one (``Tip.popularity`` and the popularity baseline count the
last ``POPULAR_DAYS`` days only).

Not every tag says something about taste: a venue's "smart colour" labels spread over many genres.
Each tag's **lift**, learnt from the account's purchases by the rescore job, says how much likelier
a person's other productions carry the tag when one does; an interest counts with ``ln(lift)``
(nothing for lift ≤ 1; fully while no lift is learnt yet).

A tip's **score** models where a person's next purchase goes: they pick an interest in proportion
to their scores, then a production carrying that tag in proportion to its weight for the tag times
its popularity (people who like jazz mostly buy the jazz everybody buys). So a person with
scores s(t) (each times its tag's ``ln(lift)``) gets, for production p,
``(1 − POPULAR_SHARE) · Σ_t s(t)/Σs · w(p,t)·pop(p) / Σ_q w(q,t)·pop(q)  +  POPULAR_SHARE · pop(p)/Σ_q pop(q)``
and every term is a reason (the last one: ``popular``). For a person without scores only the
popularity term is left: the cold start is the best-selling productions on sale (the quality
benchmark's baseline is the stricter "most sold in the last ``POPULAR_DAYS`` days").

The candidates and their profiles are the same for every person of an account, so they are
computed once and kept for ``CATALOGUE_SECONDS`` (a show that sold out within that time may still
be tipped); per person, tips read the person's scores and held productions: two index lookups.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlmodel import Session

from domain import clock
from domain.errors import ErrorCode, InputError
from domain.recommendations.scoring import MAX_DEPTH, TAG_ANCESTORS, decayed, require_module

POPULAR_DAYS = 30
POPULAR_SHARE = 0.1  # of every tip's score that comes from popularity alone
CATALOGUE_SECONDS = 60.0
MAX_TIPS = 50
MAX_REASONS = 5


@dataclass(frozen=True)
class Reason:
    tag_id: int | None  # None: popular
    contribution: float


@dataclass(frozen=True)
class Tip:
    production_id: int
    score: float  # the match; 0 when only popular
    popularity: int  # tickets sold in the last POPULAR_DAYS days
    reasons: tuple[Reason, ...]


@dataclass
class Catalogue:
    """An account's productions on sale, with tag profiles and popularity, at one moment."""

    at: datetime
    profiles: dict[int, dict[int, float]]  # production: tag: weight (unit length)
    popularity: dict[int, int]
    sold: dict[int, int]  # tickets sold so far for its events still to come
    lifts: dict[int, float]  # tag: lift (``learn_tag_lifts``); a tag without one counts fully
    by_tag: dict[int, list[tuple[int, float]]] = field(default_factory=dict)  # tag: (production, weight)

    def __post_init__(self) -> None:
        for production, profile in self.profiles.items():
            for tag, weight in profile.items():
                self.by_tag.setdefault(tag, []).append((production, weight))
        # the popularity order, once: ties by id, so the ranking is stable
        self.popular = sorted(self.profiles, key=lambda p: (-self.popularity.get(p, 0), p))
        self.weight = {p: self.sold.get(p, 0) + 1.0 for p in self.profiles}  # add-one smoothed


_CANDIDATES = """
WITH upcoming AS (
    SELECT e.id, e.production_id, e.capacity FROM event e
     WHERE e.account_id = :a AND e.starts_at > :now AND e.status <> 'cancelled'
)
SELECT u.production_id, coalesce(sum(s.recent), 0) AS recent, coalesce(sum(s.tickets), 0) AS sold,
       bool_or(u.capacity IS NULL OR s.tickets < u.capacity) AS available
  FROM upcoming u
 CROSS JOIN LATERAL (  -- per event, from the index of facts by event
    SELECT count(*) AS tickets, count(*) FILTER (WHERE f.order_date >= :since) AS recent
      FROM ticket_fact f WHERE f.account_id = :a AND f.event_id = u.id {sold_before}
 ) s
 GROUP BY u.production_id
"""

_PROFILES = f"""
WITH RECURSIVE
{TAG_ANCESTORS}
SELECT pt.production_id, up.ancestor_id AS tag_id, max(power(a.score_parent_share, up.depth)) AS weight
  FROM production_tag pt
  JOIN up ON up.tag_id = pt.tag_id
  JOIN account a ON a.id = :a
 WHERE pt.account_id = :a AND pt.production_id = ANY(CAST(:productions AS bigint[]))
 GROUP BY pt.production_id, up.ancestor_id
"""


# Per tag: among the persons' distinct productions bought (before :before), how much likelier a
# production carries the tag when another of the same person's does, than any production bought.
# With c = a person's productions with the tag and n = all their productions, the pairs (a, b) of
# two of their productions with a tagged number c(n − 1), those with both tagged c(c − 1).
_LIFTS = f"""
WITH RECURSIVE
{TAG_ANCESTORS},
bought AS MATERIALIZED (
    SELECT DISTINCT person_id, production_id FROM ticket_fact
     WHERE account_id = :a AND (CAST(:before AS timestamptz) IS NULL OR ordered_at < CAST(:before AS timestamptz))
),
per_person AS (SELECT person_id, count(*) AS n FROM bought GROUP BY person_id),
production_tags AS MATERIALIZED (
    SELECT DISTINCT pt.production_id, up.ancestor_id AS tag_id
      FROM production_tag pt JOIN up ON up.tag_id = pt.tag_id WHERE pt.account_id = :a
),
per_tag AS (
    SELECT b.person_id, t.tag_id, count(*) AS c FROM bought b JOIN production_tags t USING (production_id)
     GROUP BY b.person_id, t.tag_id
)
SELECT x.tag_id,
       (sum(x.c * (x.c - 1))::float8 / nullif(sum(x.c * (p.n - 1)), 0))
         / (sum(x.c)::float8 / (SELECT sum(n) FROM per_person)) AS lift,
       count(*) FILTER (WHERE p.n > 1) AS buyers
  FROM per_tag x JOIN per_person p USING (person_id)
 GROUP BY x.tag_id
"""
MIN_LIFT_BUYERS = 30  # persons with two or more productions, one with the tag: fewer say nothing yet


def learn_tag_lifts(
    session: Session, account_id: int, *, before: datetime | None = None
) -> dict[int, tuple[float, int]]:
    """Each tag's lift and the buyers it was learnt from (a tag with too few keeps none)."""
    # One pass over every purchase: no JIT (it compiles for seconds), room to aggregate in memory.
    session.execute(text("SET LOCAL jit = off"))
    session.execute(text("SET LOCAL work_mem = '64MB'"))
    rows = session.execute(text(_LIFTS), {"a": account_id, "before": before, "max_depth": MAX_DEPTH})
    return {
        r.tag_id: (float(r.lift), int(r.buyers)) for r in rows if r.lift is not None and r.buyers >= MIN_LIFT_BUYERS
    }


def store_tag_lifts(session: Session, account_id: int) -> int:
    """Learn the account's tag lifts from all its purchases and keep them (the rescore job)."""
    lifts = learn_tag_lifts(session, account_id)
    session.execute(text("DELETE FROM tag_lift WHERE account_id = :a"), {"a": account_id})
    if lifts:
        session.execute(
            text(
                "INSERT INTO tag_lift (account_id, tag_id, lift, buyers, computed_at) "
                "SELECT :a, * , :now FROM unnest(CAST(:t AS bigint[]), CAST(:l AS float8[]), CAST(:b AS bigint[]))"
            ),
            {
                "a": account_id,
                "now": clock.now(),
                "t": list(lifts),
                "l": [v for v, _ in lifts.values()],
                "b": [b for _, b in lifts.values()],
            },
        )
    return len(lifts)


def informativeness(lift: float | None) -> float:
    """How much an interest in a tag counts in a tip: ln(lift), nothing for a tag that says nothing
    about taste (lift ≤ 1), and 1 for a tag not learnt yet (a new account: every tag counts)."""
    return 1.0 if lift is None else (max(0.0, math.log(lift)) if lift > 0 else 0.0)


def load_catalogue(
    session: Session, account_id: int, at: datetime, *, lifts: dict[int, float] | None = None
) -> Catalogue:
    # Now, every ticket is sold before now and the index of facts by event answers alone; for a
    # moment in the past (the quality benchmark's cut-off) only what was sold before it counts.
    past = at < clock.now() - timedelta(minutes=1)
    statement = _CANDIDATES.format(sold_before="AND f.ordered_at <= :now" if past else "")
    rows = session.execute(
        text(statement), {"a": account_id, "now": at, "since": (at - timedelta(days=POPULAR_DAYS)).date()}
    ).all()
    on_sale = {r.production_id: int(r.recent) for r in rows if r.available}
    sold = {r.production_id: int(r.sold) for r in rows if r.available}
    profiles: dict[int, dict[int, float]] = {p: {} for p in on_sale}
    if on_sale:
        for r in session.execute(
            text(_PROFILES), {"a": account_id, "productions": sorted(on_sale), "max_depth": MAX_DEPTH}
        ):
            if r.weight > 0:
                profiles[r.production_id][r.tag_id] = float(r.weight)
    for profile in profiles.values():
        length = math.sqrt(sum(w * w for w in profile.values()))
        for tag in profile:
            profile[tag] /= length
    if lifts is None:
        lifts = dict(
            session.execute(text("SELECT tag_id, lift FROM tag_lift WHERE account_id = :a"), {"a": account_id}).all()
        )
    return Catalogue(at, profiles, on_sale, sold, lifts)


_cache: dict[int, tuple[float, Catalogue]] = {}
_cache_lock = threading.Lock()


def clear_catalogue_cache() -> None:
    with _cache_lock:
        _cache.clear()


def catalogue(session: Session, account_id: int) -> Catalogue:
    """The account's catalogue, computed at most once per ``CATALOGUE_SECONDS``."""
    now = time.monotonic()
    with _cache_lock:
        found = _cache.get(account_id)
    if found is not None and now - found[0] < CATALOGUE_SECONDS and clock.fixed() is None:
        return found[1]
    made = load_catalogue(session, account_id, clock.now())
    with _cache_lock:
        _cache[account_id] = (now, made)
    return made


def rank(cat: Catalogue, scores: dict[int, float], held: set[int], *, first: int) -> list[Tip]:
    """The person's ``first`` tips (see the module docstring for the model)."""
    scores = {t: v * informativeness(cat.lifts.get(t)) for t, v in scores.items()}
    total = sum(v for v in scores.values() if v > 0)
    match: dict[int, float] = {}
    parts: dict[int, list[Reason]] = {}
    if total > 0:
        for tag, score in scores.items():
            shown = [(p, w) for p, w in cat.by_tag.get(tag, ()) if p not in held]
            mass = sum(w * cat.weight[p] for p, w in shown)
            if score <= 0 or mass <= 0:
                continue
            share = (1 - POPULAR_SHARE) * score / total
            for production, weight in shown:
                contribution = share * weight * cat.weight[production] / mass
                match[production] = match.get(production, 0.0) + contribution
                parts.setdefault(production, []).append(Reason(tag, contribution))
    open_ = [p for p in cat.profiles if p not in held]
    popular_mass = sum(cat.weight[p] for p in open_) or 1.0

    def popular_part(p: int) -> float:
        return POPULAR_SHARE * cat.weight[p] / popular_mass

    ordered = sorted(open_, key=lambda p: (-(match.get(p, 0.0) + popular_part(p)), p))[:first]
    return [
        Tip(
            p,
            match.get(p, 0.0) + popular_part(p),
            cat.popularity.get(p, 0),
            (
                *sorted(parts.get(p, []), key=lambda r: (-r.contribution, r.tag_id))[:MAX_REASONS],
                Reason(None, popular_part(p)),
            ),
        )
        for p in ordered
    ]


def scores_by_person(
    session: Session, account_id: int, person_ids: Sequence[int], half_life_days: float, at: datetime
) -> dict[int, dict[int, float]]:
    """These persons' scores per tag, decayed to ``at``, in one statement (a person without: ``{}``)."""
    found: dict[int, dict[int, float]] = {p: {} for p in person_ids}
    rows = session.execute(
        text(
            "SELECT person_id, tag_id, value, as_of FROM interest_score "
            "WHERE account_id = :a AND person_id = ANY(CAST(:p AS bigint[]))"
        ),
        {"a": account_id, "p": sorted(set(person_ids))},
    )
    for r in rows:
        found[r.person_id][r.tag_id] = decayed(r.value, r.as_of, at, half_life_days)
    return found


def held_productions(
    session: Session, account_id: int, person_ids: Sequence[int], *, before: datetime | None = None
) -> dict[int, set[int]]:
    """The productions each person holds a valid ticket of a paid order for (bought before ``before``)."""
    held: dict[int, set[int]] = {p: set() for p in person_ids}
    rows = session.execute(
        text(
            "SELECT DISTINCT person_id, production_id FROM ticket_fact "
            "WHERE account_id = :a AND person_id = ANY(CAST(:p AS bigint[])) "
            "AND (CAST(:before AS timestamptz) IS NULL OR ordered_at < CAST(:before AS timestamptz))"
        ),
        {"a": account_id, "p": sorted(set(person_ids)), "before": before},
    )
    for r in rows:
        held[r.person_id].add(r.production_id)
    return held


def tips_for_person(session: Session, account_id: int, person_id: int, *, first: int = 10) -> list[Tip]:
    if not 1 <= first <= MAX_TIPS:
        raise InputError.single(ErrorCode.OUT_OF_RANGE, f"first is between 1 and {MAX_TIPS}", "first")
    account = require_module(session, account_id)
    exists = session.execute(
        text("SELECT 1 FROM person WHERE account_id = :a AND id = :p AND erased_at IS NULL"),
        {"a": account_id, "p": person_id},
    ).first()
    if exists is None:
        raise InputError.single(ErrorCode.NOT_FOUND, "person not found", "person_id")
    cat = catalogue(session, account_id)
    scores = scores_by_person(session, account_id, [person_id], account.score_half_life_days, cat.at)[person_id]
    return rank(cat, scores, held_productions(session, account_id, [person_id])[person_id], first=first)
