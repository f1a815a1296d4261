"""Tips (SPEC 6): upcoming productions a person holds no ticket for, ranked by how the
production's tags match the person's interest scores, each with its reasons.

The **candidates** are the account's productions on sale now: at least one event still to come
that is not cancelled and not sold out (capacity reached by valid tickets of paid orders). A
production's tag profile is its tags and their ancestors, each weighted ``parent_share^levels``
(the largest where two paths meet), scaled to unit length, so that a production with many tags
is not favoured for having them. Its match with a person is ``Σ weight(tag) · score(tag)``
over the tags the person has a score on, and each term is a reason.

**Cold start and ties**: productions that match nothing (every production, for a person without
scores) follow the matched ones by popularity, the tickets sold for them in the last
``POPULAR_DAYS`` days, and carry the reason ``popular``. The same popularity order, for
everyone, is the baseline the quality benchmark compares tips with.

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
from domain.recommendations.scoring import MAX_DEPTH, decayed, require_module

POPULAR_DAYS = 30
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
    by_tag: dict[int, list[tuple[int, float]]] = field(default_factory=dict)  # tag: (production, weight)

    def __post_init__(self) -> None:
        for production, profile in self.profiles.items():
            for tag, weight in profile.items():
                self.by_tag.setdefault(tag, []).append((production, weight))
        # the popularity order, once: ties by id, so the ranking is stable
        self.popular = sorted(self.profiles, key=lambda p: (-self.popularity.get(p, 0), p))


_CANDIDATES = """
WITH RECURSIVE
upcoming AS (
    SELECT e.id, e.production_id, e.capacity FROM event e
     WHERE e.account_id = :a AND e.starts_at > :now AND e.status <> 'cancelled'
),
sold AS (
    SELECT f.event_id, count(*) AS tickets, count(*) FILTER (WHERE f.order_date >= :since) AS recent
      FROM ticket_fact f JOIN upcoming u ON u.id = f.event_id
     WHERE f.account_id = :a
     GROUP BY f.event_id
)
SELECT u.production_id, coalesce(sum(s.recent), 0) AS recent,
       bool_or(u.capacity IS NULL OR coalesce(s.tickets, 0) < u.capacity) AS available
  FROM upcoming u LEFT JOIN sold s ON s.event_id = u.id
 GROUP BY u.production_id
"""

_PROFILES = """
WITH RECURSIVE
up AS (
    SELECT t.id AS tag_id, t.id AS ancestor_id, t.parent_id, 0 AS depth FROM tag t WHERE t.account_id = :a
    UNION ALL
    SELECT up.tag_id, p.id, p.parent_id, up.depth + 1
      FROM up JOIN tag p ON p.account_id = :a AND p.id = up.parent_id
     WHERE up.depth < :max_depth
)
SELECT pt.production_id, up.ancestor_id AS tag_id, max(power(a.score_parent_share, up.depth)) AS weight
  FROM production_tag pt
  JOIN up ON up.tag_id = pt.tag_id
  JOIN account a ON a.id = :a
 WHERE pt.account_id = :a AND pt.production_id = ANY(CAST(:productions AS bigint[]))
 GROUP BY pt.production_id, up.ancestor_id
"""


def load_catalogue(session: Session, account_id: int, at: datetime) -> Catalogue:
    rows = session.execute(
        text(_CANDIDATES), {"a": account_id, "now": at, "since": (at - timedelta(days=POPULAR_DAYS)).date()}
    ).all()
    on_sale = {r.production_id: int(r.recent) for r in rows if r.available}
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
    return Catalogue(at, profiles, on_sale)


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
    """The person's ``first`` tips: matched productions by match, then the rest by popularity."""
    match: dict[int, float] = {}
    parts: dict[int, list[Reason]] = {}
    for tag, score in scores.items():
        for production, weight in cat.by_tag.get(tag, ()):
            if production in held:
                continue
            contribution = weight * score
            match[production] = match.get(production, 0.0) + contribution
            parts.setdefault(production, []).append(Reason(tag, contribution))
    ordered = sorted(match, key=lambda p: (-match[p], -cat.popularity.get(p, 0), p))
    tips = [
        Tip(
            p,
            match[p],
            cat.popularity.get(p, 0),
            tuple(sorted(parts[p], key=lambda r: (-r.contribution, r.tag_id))[:MAX_REASONS]),
        )
        for p in ordered[:first]
    ]
    for p in cat.popular:
        if len(tips) >= first:
            break
        if p not in match and p not in held:
            tips.append(Tip(p, 0.0, cat.popularity.get(p, 0), (Reason(None, float(cat.popularity.get(p, 0))),)))
    return tips


def person_scores(
    session: Session, account_id: int, person_id: int, half_life_days: float, at: datetime
) -> dict[int, float]:
    rows = session.execute(
        text("SELECT tag_id, value, as_of FROM interest_score WHERE account_id = :a AND person_id = :p"),
        {"a": account_id, "p": person_id},
    )
    return {r.tag_id: decayed(r.value, r.as_of, at, half_life_days) for r in rows}


def held_productions(session: Session, account_id: int, person_ids: Sequence[int]) -> dict[int, set[int]]:
    """The productions each person holds a valid ticket of a paid order for."""
    held: dict[int, set[int]] = {p: set() for p in person_ids}
    rows = session.execute(
        text(
            "SELECT DISTINCT person_id, production_id FROM ticket_fact "
            "WHERE account_id = :a AND person_id = ANY(CAST(:p AS bigint[]))"
        ),
        {"a": account_id, "p": sorted(set(person_ids))},
    )
    for r in rows:
        held[r.person_id].add(r.production_id)
    return held


def tips_for_person(session: Session, account_id: int, person_id: int, *, first: int = 10) -> list[Tip]:
    if not 1 <= first <= MAX_TIPS:
        raise InputError.single(ErrorCode.OUT_OF_RANGE, f"first is between 1 and {MAX_TIPS}", "first")
    account = require_module(session, account_id)
    exists = session.execute(
        text("SELECT 1 FROM person WHERE account_id = :a AND id = :p"), {"a": account_id, "p": person_id}
    ).first()
    if exists is None:
        raise InputError.single(ErrorCode.NOT_FOUND, "person not found", "person_id")
    cat = catalogue(session, account_id)
    scores = person_scores(session, account_id, person_id, account.score_half_life_days, cat.at)
    return rank(cat, scores, held_productions(session, account_id, [person_id])[person_id], first=first)
