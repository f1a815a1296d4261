"""How good are the tips? The protocol of ``INTEGRATIONS.md`` ("Tips: how to measure them honestly").

Pick a cut-off T in the past. Learn only from what happened before T: interest scores from the
interactions before T (``scoring.scores_as_of``), tag lifts and popularity from tickets sold before
T, held productions from orders before T. The candidates are the productions on sale at T (an event after
T, not cancelled, not sold out by the tickets sold before T). Each test person bought at least one
candidate after T; those productions are what a ranking should find. Every candidate is ranked
(no sampled negatives), and three rankings are compared: Marquee's tips, popularity (the most sold
in the ``POPULAR_DAYS`` before T) and random. Reported per ranking: hit rate at k, NDCG at k,
recall at k (the relevant productions found in the top k, over those there were) and catalogue
coverage (the share of candidates that reached anybody's top k).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlmodel import Session

from domain.recommendations import scoring, tips

K = 10


@dataclass(frozen=True)
class Quality:
    hit_rate: float
    ndcg: float
    recall: float
    coverage: float

    def as_dict(self) -> dict[str, float]:
        return {"hit_rate": self.hit_rate, "ndcg": self.ndcg, "recall": self.recall, "coverage": self.coverage}


@dataclass(frozen=True)
class Evaluation:
    cutoff: datetime
    persons: int  # test persons
    candidates: int
    tips: Quality
    popularity: Quality
    random: Quality


def measure(rankings: dict[int, list[int]], relevant: dict[int, set[int]], candidates: int, k: int = K) -> Quality:
    """Hit rate, NDCG, recall at ``k`` and coverage of per-person rankings (binary relevance)."""
    hits = ndcg = recall = 0.0
    shown: set[int] = set()
    for person, ranked in rankings.items():
        top = ranked[:k]
        shown.update(top)
        wanted = relevant[person]
        found = [i for i, p in enumerate(top) if p in wanted]
        hits += bool(found)
        recall += len(found) / len(wanted)
        ideal = sum(1 / math.log2(i + 2) for i in range(min(len(wanted), k)))
        ndcg += sum(1 / math.log2(i + 2) for i in found) / ideal
    n = max(len(rankings), 1)
    return Quality(hits / n, ndcg / n, recall / n, len(shown) / max(candidates, 1))


def persons_to_test(
    session: Session, account_id: int, cutoff: datetime, candidates: Iterable[int], limit: int, seed: int
) -> dict[int, set[int]]:
    """Up to ``limit`` persons (a seeded sample) who bought a candidate after the cut-off, with those."""
    rows = session.execute(
        text(
            "SELECT person_id, array_agg(DISTINCT production_id) AS bought FROM ticket_fact "
            "WHERE account_id = :a AND ordered_at >= :t AND production_id = ANY(CAST(:c AS bigint[])) "
            "GROUP BY person_id"
        ),
        {"a": account_id, "t": cutoff, "c": sorted(candidates)},
    ).all()
    picked = random.Random(seed).sample(rows, min(limit, len(rows)))
    return {r.person_id: set(r.bought) for r in picked}


def evaluate(session: Session, account_id: int, cutoff: datetime, *, persons: int = 5000, seed: int = 7) -> Evaluation:
    lifts = {tag: lift for tag, (lift, _) in tips.learn_tag_lifts(session, account_id, before=cutoff).items()}
    cat = tips.load_catalogue(session, account_id, cutoff, lifts=lifts)
    everything = set(cat.profiles)
    relevant = persons_to_test(session, account_id, cutoff, everything, persons, seed)
    ids = sorted(relevant)
    held = tips.held_productions(session, account_id, ids, before=cutoff)
    # What a person already holds is not tipped, and not counted as found either.
    relevant = {p: wanted - held[p] for p, wanted in relevant.items() if wanted - held[p]}
    ids = sorted(relevant)
    scores: dict[int, dict[int, float]] = {}
    for start in range(0, len(ids), 1000):
        scores.update(scoring.scores_as_of(session, account_id, ids[start : start + 1000], cutoff))
    rng = random.Random(seed)
    ranked_tips, ranked_popular, ranked_random = {}, {}, {}
    for p in ids:
        ranked_tips[p] = [t.production_id for t in tips.rank(cat, scores[p], held[p], first=K)]
        ranked_popular[p] = [c for c in cat.popular if c not in held[p]][:K]
        pool = sorted(everything - held[p])
        ranked_random[p] = rng.sample(pool, min(K, len(pool)))
    n = len(everything)
    return Evaluation(
        cutoff,
        len(ids),
        n,
        measure(ranked_tips, relevant, n),
        measure(ranked_popular, relevant, n),
        measure(ranked_random, relevant, n),
    )
