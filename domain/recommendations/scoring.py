"""Interest scores from interactions (SPEC 6): points per interaction kind on the tags it reaches,
decaying with a half-life, a share of them passed up to parent tags.

What counts as an interaction, and where it is read (nothing is copied for scoring):

- ``purchase``: a valid ticket of a paid order (``ticket_fact``), once per order and production;
- ``attendance``: a scanned valid ticket (``ticket.scanned_at``), once per person and event;
- ``preference``: a tag the person chose themselves (``person_tag`` with source ``person``: the
  preference centre and forms), at the time they chose it;
- ``click``, ``open``, ``visit``: rows of ``interaction`` (tracked links, mail opens, web page
  visits), each once by its idempotency key.

An interaction on a production reaches the production's tags; one on a tag reaches that tag.
Each tag it reaches gets the kind's points (the account's rule for the tag's category, else its
rule for the kind, else ``DEFAULT_POINTS``); every ancestor of such a tag gets those points times
``parent_share`` per level up (an ancestor reached along several paths counts once, at the
largest share). Points of an interaction at time t are worth ``points · 2^(−(T − t) / half-life)``
at time T. A stored score is its value at ``as_of``; reading it at T multiplies by
``2^(−(T − as_of) / half-life)``, which is exact because decay is the same factor for every point.

Scores are derived state: :func:`refresh_interest_scores` computes a set of persons' scores again
from all their interactions (where purchases, preferences or merges change them),
:func:`fold_interactions` adds the points of new clicks, opens and visits to the stored scores
(where those are recorded), :func:`rebuild_interest_scores` scores a whole account again (after a
rule change), and all give the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlmodel import Session

from domain import clock
from domain.accounts.models import Account, Module
from domain.errors import Collector, ErrorCode, InputError
from domain.recommendations.models import INTERACTION_KINDS

#: Points per kind when the account has no rule for it: a purchase says most, an open least.
DEFAULT_POINTS: dict[str, float] = {
    "purchase": 10.0,
    "attendance": 5.0,
    "preference": 8.0,
    "click": 2.0,
    "visit": 1.0,
    "open": 0.5,
}
DEFAULT_HALF_LIFE_DAYS = 180.0
DEFAULT_PARENT_SHARE = 0.5
MAX_RULES = 200  # per account: six kinds for each of a few dozen categories
MAX_DEPTH = 32  # tag levels followed upwards (the tree has no cycles; this only bounds the walk)
REBUILD_CHUNK = 20_000  # persons per statement when a whole account is scored again


def module_off() -> InputError:
    return InputError.single(ErrorCode.MODULE_NOT_ENABLED, "the recommendations module is not enabled for this account")


def require_module(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None or not account.has_module(Module.RECOMMENDATIONS):
        raise module_off()
    return account


@dataclass(frozen=True)
class ScoringRuleInput:
    kind: str
    points: float
    tag_category_id: int | None = None


@dataclass(frozen=True)
class ScoringRules:
    half_life_days: float
    parent_share: float
    rules: tuple[ScoringRuleInput, ...]  # the account's own, by kind then category

    def points(self, kind: str, tag_category_id: int | None = None) -> float:
        """The points an interaction of ``kind`` gives a tag of the category."""
        by_key = {(r.kind, r.tag_category_id): r.points for r in self.rules}
        for key in ((kind, tag_category_id), (kind, None)):
            if key in by_key:
                return by_key[key]
        return DEFAULT_POINTS[kind]


def scoring_rules(session: Session, account_id: int) -> ScoringRules:
    account = session.get(Account, account_id)
    if account is None:
        raise InputError.single(ErrorCode.NOT_FOUND, "account not found")
    rows = session.execute(
        text(
            "SELECT kind, points, tag_category_id FROM scoring_rule WHERE account_id = :a "
            "ORDER BY kind, tag_category_id NULLS FIRST"
        ),
        {"a": account_id},
    )
    return ScoringRules(
        account.score_half_life_days,
        account.score_parent_share,
        tuple(ScoringRuleInput(r.kind, r.points, r.tag_category_id) for r in rows),
    )


def set_scoring_rules(
    session: Session,
    account_id: int,
    *,
    half_life_days: float,
    parent_share: float,
    rules: Sequence[ScoringRuleInput],
) -> ScoringRules:
    """Replace the account's rules (kinds left out take their defaults). Scores computed with the
    old rules stay until the account is scored again (``change_scoring_rules`` queues that job)."""
    problems = Collector()
    if not (isinstance(half_life_days, int | float) and 1 <= half_life_days <= 3650):
        problems.add(ErrorCode.OUT_OF_RANGE, "the half-life is 1 to 3650 days", "half_life_days")
    if not (isinstance(parent_share, int | float) and 0 <= parent_share <= 1):
        problems.add(ErrorCode.OUT_OF_RANGE, "the parent share is between 0 and 1", "parent_share")
    if len(rules) > MAX_RULES:
        problems.add(ErrorCode.OUT_OF_RANGE, f"at most {MAX_RULES} rules", "rules")
        problems.raise_if_any()
    categories = set(
        session.execute(
            text("SELECT id FROM tag_category WHERE account_id = :a AND id = ANY(CAST(:ids AS bigint[]))"),
            {"a": account_id, "ids": sorted({r.tag_category_id for r in rules if r.tag_category_id is not None})},
        ).scalars()
    )
    seen: set[tuple[str, int | None]] = set()
    for index, rule in enumerate(rules):
        path = ("rules", str(index))
        if rule.kind not in INTERACTION_KINDS:
            problems.add(ErrorCode.INVALID_CHOICE, f"kind is one of {', '.join(INTERACTION_KINDS)}", *path, "kind")
        if not (isinstance(rule.points, int | float) and math.isfinite(rule.points) and 0 <= rule.points <= 1000):
            problems.add(ErrorCode.OUT_OF_RANGE, "points are 0 to 1000", *path, "points")
        if rule.tag_category_id is not None and rule.tag_category_id not in categories:
            problems.add(ErrorCode.NOT_FOUND, "tag category not found", *path, "tag_category_id")
        key = (rule.kind, rule.tag_category_id)
        if key in seen:
            problems.add(ErrorCode.DUPLICATE, "one rule per kind and category", *path)
        seen.add(key)
    problems.raise_if_any()
    session.execute(
        text("UPDATE account SET score_half_life_days = :h, score_parent_share = :s WHERE id = :a"),
        {"a": account_id, "h": float(half_life_days), "s": float(parent_share)},
    )
    session.execute(text("DELETE FROM scoring_rule WHERE account_id = :a"), {"a": account_id})
    if rules:
        session.execute(
            text(
                "INSERT INTO scoring_rule (account_id, kind, tag_category_id, points) "
                "SELECT :a, * FROM unnest(CAST(:kinds AS text[]), CAST(:categories AS bigint[]), "
                "CAST(:points AS float8[]))"
            ),
            {
                "a": account_id,
                "kinds": [r.kind for r in rules],
                "categories": [r.tag_category_id for r in rules],
                "points": [float(r.points) for r in rules],
            },
        )
    session.expire_all()
    return scoring_rules(session, account_id)


#: A recursive CTE ``up(tag_id, ancestor_id, parent_id, depth)``: every tag of account :a with itself
#: (depth 0) and each of its ancestors (the levels up), at most :max_depth levels.
TAG_ANCESTORS = """up AS (
    SELECT t.id AS tag_id, t.id AS ancestor_id, t.parent_id, 0 AS depth FROM tag t WHERE t.account_id = :a
    UNION ALL
    SELECT up.tag_id, p.id, p.parent_id, up.depth + 1
      FROM up JOIN tag p ON p.account_id = :a AND p.id = up.parent_id
     WHERE up.depth < :max_depth
)"""

# The scores of the persons a filter picks (``{persons}`` in each source: ``person_id = ANY(:persons)``
# or a range of ids), at :as_of, computed from all their interactions.
_SCORES = """
WITH RECURSIVE
settings AS (
    SELECT score_half_life_days * 86400.0 AS half_life, score_parent_share AS share FROM account WHERE id = :a
),
points AS (  -- per kind and category (NULL: a tag without one), the points that apply
    SELECT k.kind, c.id AS category_id,
           coalesce(rc.points, rk.points, k.points) AS points
      FROM unnest(CAST(:kinds AS text[]), CAST(:defaults AS float8[])) AS k(kind, points)
      CROSS JOIN (SELECT id FROM tag_category WHERE account_id = :a UNION ALL SELECT NULL) c
      LEFT JOIN scoring_rule rk ON rk.account_id = :a AND rk.kind = k.kind AND rk.tag_category_id IS NULL
      LEFT JOIN scoring_rule rc ON rc.account_id = :a AND rc.kind = k.kind AND rc.tag_category_id = c.id
),
{tag_ancestors},
production_tags AS (
    SELECT DISTINCT production_id, tag_id FROM production_tag WHERE account_id = :a
),
every_hit AS (  -- one row per interaction: who, what kind, when, on which production or tag
    SELECT f.person_id, 'purchase' AS kind, min(f.ordered_at) AS at, f.production_id, NULL::bigint AS tag_id
      FROM ticket_fact f WHERE f.account_id = :a AND {persons_f}
     GROUP BY f.person_id, f.order_id, f.production_id
    UNION ALL
    SELECT t.person_id, 'attendance', min(t.scanned_at), e.production_id, NULL
      FROM ticket t JOIN event e ON e.account_id = t.account_id AND e.id = t.event_id
     WHERE t.account_id = :a AND {persons_t} AND t.scanned_at IS NOT NULL AND t.status = 'valid'
     GROUP BY t.person_id, t.event_id, e.production_id
    UNION ALL
    SELECT pt.person_id, 'preference', pt.created_at, NULL, pt.tag_id
      FROM person_tag pt WHERE pt.account_id = :a AND {persons_pt} AND pt.source = 'person'
    UNION ALL
    SELECT i.person_id, i.kind, i.occurred_at, i.production_id, i.tag_id
      FROM interaction i WHERE i.account_id = :a AND {persons_i}
       AND (i.production_id IS NOT NULL OR i.tag_id IS NOT NULL)
),
hits AS (  -- as of a moment in the past (the quality benchmark's cut-off), only what came before it;
           -- 0 for "no production" or "no tag", so that the keys join by hash below
    SELECT h.person_id, h.kind, h.at, coalesce(h.production_id, 0) AS production_key, coalesce(h.tag_id, 0) AS tag_key
      FROM every_hit h WHERE CAST(:until AS timestamptz) IS NULL OR h.at < CAST(:until AS timestamptz)
),
combinations AS (  -- the few distinct things interactions point at, per kind: points are worked out per
                   -- combination once, not per interaction
    SELECT DISTINCT kind, production_key, tag_key FROM hits
),
reached AS (  -- each combination's tags (the production's, or its own)
    SELECT c.kind, c.production_key, c.tag_key, pt.tag_id
      FROM combinations c JOIN production_tags pt ON pt.production_id = c.production_key
    UNION ALL  -- a tag reached twice by one combination counts once below (the largest share)
    SELECT c.kind, c.production_key, c.tag_key, c.tag_key FROM combinations c WHERE c.tag_key <> 0
),
reach AS (  -- each combination's points on every tag it reaches or an ancestor of one, at the largest share
    SELECT r.kind, r.production_key, r.tag_key, up.ancestor_id AS tag_id,
           max(p.points * power(s.share, up.depth)) AS points
      FROM reached r
      JOIN tag t ON t.account_id = :a AND t.id = r.tag_id
      JOIN points p ON p.kind = r.kind AND p.category_id IS NOT DISTINCT FROM t.category_id
      JOIN up ON up.tag_id = r.tag_id
      CROSS JOIN settings s
     GROUP BY r.kind, r.production_key, r.tag_key, up.ancestor_id
)
SELECT h.person_id, c.tag_id,
       sum(c.points * power(2.0, least(0.0, extract(epoch FROM h.at - CAST(:as_of AS timestamptz))::float8)
                                 / s.half_life)) AS value,
       count(*) AS interactions, max(h.at) AS last_at
  FROM hits h
  JOIN reach c ON c.kind = h.kind AND c.production_key = h.production_key AND c.tag_key = h.tag_key
  CROSS JOIN settings s
 WHERE c.points > 0
 GROUP BY h.person_id, c.tag_id
"""


def _scores_sql(persons: str, *, interactions: str | None = None) -> str:
    """The scores of the persons ``persons`` picks, from all their interactions; with
    ``interactions``, the points of only the ``interaction`` rows it picks (to fold them in)."""
    if interactions is not None:
        return _SCORES.format(
            tag_ancestors=TAG_ANCESTORS,
            persons_f="false",
            persons_t="false",
            persons_pt="false",
            persons_i=interactions,
        )
    return _SCORES.format(
        tag_ancestors=TAG_ANCESTORS,
        persons_f=persons.format(t="f"),
        persons_t=persons.format(t="t"),
        persons_pt=persons.format(t="pt"),
        persons_i=persons.format(t="i"),
    )


def _params(account_id: int, as_of: datetime) -> dict:
    return {
        "a": account_id,
        "as_of": as_of,
        "kinds": list(DEFAULT_POINTS),
        "defaults": list(DEFAULT_POINTS.values()),
        "max_depth": MAX_DEPTH,
        "until": None,
    }


def _write(session: Session, account_id: int, persons: str, params: dict) -> int:
    """Replace the scores of the persons ``persons`` picks; returns how many were written."""
    session.execute(text(f"DELETE FROM interest_score s WHERE s.account_id = :a AND {persons.format(t='s')}"), params)
    erased = session.execute(  # erased persons keep their purchases (anonymously), never scores
        text(
            "SELECT t.person_id FROM (SELECT id AS person_id FROM person "
            f"WHERE account_id = :a AND erased_at IS NOT NULL) t WHERE {persons.format(t='t')}"
        ),
        params,
    ).scalars()
    return session.execute(
        text(
            "INSERT INTO interest_score (account_id, person_id, tag_id, value, as_of, interactions, last_at) "
            f"SELECT :a, x.person_id, x.tag_id, x.value, :as_of, x.interactions, x.last_at "
            f"FROM ({_scores_sql(persons)}) x "
            "WHERE x.value > 0 AND x.person_id <> ALL(CAST(:erased AS bigint[]))"
        ),
        {**params, "erased": list(erased)},
    ).rowcount


def refresh_interest_scores(session: Session, account_id: int, person_ids: Sequence[int]) -> int:
    """Compute the persons' scores again from all their interactions (in the caller's
    transaction). Does nothing when the account has the module off."""
    if not person_ids:
        return 0
    account = session.get(Account, account_id)
    if account is None or not account.has_module(Module.RECOMMENDATIONS):
        return 0
    params = {**_params(account_id, clock.now()), "persons": sorted(set(person_ids))}
    return _write(session, account_id, "{t}.person_id = ANY(CAST(:persons AS bigint[]))", params)


# New interactions' points, folded into the stored scores: a stored score decays to the later of
# the two moments and the new points (worth their value at :as_of) are added, also decayed there.
# In key order: a large fold then walks the index and the pages it changes once, in order, instead
# of fetching a random page per score.
_FOLD = """
INSERT INTO interest_score AS s (account_id, person_id, tag_id, value, as_of, interactions, last_at)
SELECT :a, x.person_id, x.tag_id, x.value, :as_of, x.interactions, x.last_at FROM ({points}) x WHERE x.value > 0
ORDER BY x.person_id, x.tag_id
ON CONFLICT (account_id, person_id, tag_id) DO UPDATE SET
    value = s.value * power(2.0, -greatest(0.0, extract(epoch FROM excluded.as_of - s.as_of)) / :half_life)
          + excluded.value * power(2.0, -greatest(0.0, extract(epoch FROM s.as_of - excluded.as_of)) / :half_life),
    as_of = greatest(s.as_of, excluded.as_of),
    interactions = s.interactions + excluded.interactions,
    last_at = greatest(s.last_at, excluded.last_at)
"""


def fold_interactions(session: Session, account_id: int, interaction_ids: Sequence[int]) -> int:
    """Add the points of new ``interaction`` rows (clicks, opens, visits) to their persons' scores,
    in the caller's transaction: exact, since decay multiplies every point by the same factor, and
    far cheaper than scoring the persons again from everything. Call it once per row, with the
    rows an insert just wrote (an insert that skipped a duplicate returns nothing to fold).
    Returns the scores written. Does nothing when the account has the module off."""
    if not interaction_ids:
        return 0
    account = session.get(Account, account_id)
    if account is None or not account.has_module(Module.RECOMMENDATIONS):
        return 0
    params = {
        **_params(account_id, clock.now()),
        "new": sorted(set(interaction_ids)),
        "half_life": account.score_half_life_days * 86400.0,
    }
    points = _scores_sql("", interactions="{t}.id = ANY(CAST(:new AS bigint[]))".format(t="i"))
    return session.execute(text(_FOLD.format(points=points)), params).rowcount


def scores_as_of(
    session: Session, account_id: int, person_ids: Sequence[int], at: datetime
) -> dict[int, dict[int, float]]:
    """The persons' scores as they were at ``at``, from the interactions before it only (nothing
    is written): what the quality benchmark learns from."""
    out: dict[int, dict[int, float]] = {p: {} for p in person_ids}
    if not person_ids:
        return out
    params = {**_params(account_id, at), "until": at, "persons": sorted(set(person_ids))}
    rows = session.execute(text(_scores_sql("{t}.person_id = ANY(CAST(:persons AS bigint[]))")), params)
    for r in rows:
        if r.value > 0:
            out[r.person_id][r.tag_id] = float(r.value)
    return out


@dataclass(frozen=True)
class RebuildResult:
    persons: int
    scores: int


def rebuild_interest_scores(
    new_session: Callable[[], Session],
    account_id: int,
    *,
    progress: Callable[[float, str], None] | None = None,
) -> RebuildResult:
    """Score a whole account again, a range of person ids per transaction (so memory and lock
    time stay bounded); every range is scored as of the same moment. Then learn the tag lifts
    tips weigh interests by."""
    as_of = clock.now()
    with new_session() as session:
        require_module(session, account_id)
        low, high, persons = session.execute(
            text("SELECT min(id), max(id), count(*) FROM person WHERE account_id = :a"), {"a": account_id}
        ).one()
    if persons == 0:
        with new_session() as session, session.begin():
            session.execute(text("DELETE FROM interest_score WHERE account_id = :a"), {"a": account_id})
        return RebuildResult(0, 0)
    scores = 0
    start = low
    while start <= high:
        end = start + REBUILD_CHUNK - 1
        with new_session() as session, session.begin():
            session.execute(text("SET LOCAL jit = off"))  # compiling costs seconds per chunk, saves nothing
            session.execute(text("SET LOCAL work_mem = '64MB'"))  # the chunk's aggregates in memory
            params = {**_params(account_id, as_of), "low": start, "high": end}
            scores += _write(session, account_id, "{t}.person_id BETWEEN :low AND :high", params)
        if progress is not None:
            progress(min(1.0, (end - low + 1) / (high - low + 1)), f"persons up to id {min(end, high)} scored")
        start = end + 1
    from domain.recommendations.tips import store_tag_lifts  # noqa: PLC0415  (tips builds on scores)

    with new_session() as session, session.begin():
        store_tag_lifts(session, account_id)
    return RebuildResult(persons, scores)


RESCORE_JOB = "rescore_interests"


def change_scoring_rules(
    session: Session,
    account_id: int,
    *,
    half_life_days: float,
    parent_share: float,
    rules: Sequence[ScoringRuleInput],
    requested_by: int | None = None,
):
    """Replace the account's rules and queue the job that scores everyone again with them."""
    require_module(session, account_id)
    changed = set_scoring_rules(
        session, account_id, half_life_days=half_life_days, parent_share=parent_share, rules=rules
    )
    return changed, start_rescore(session, account_id, requested_by=requested_by)


def start_rescore(session: Session, account_id: int, *, requested_by: int | None = None):
    """Queue a job that scores the whole account again (after its rules changed)."""
    from domain.jobs_state.service import create_job  # noqa: PLC0415

    require_module(session, account_id)
    return create_job(session, account_id, kind=RESCORE_JOB, params={}, created_by=requested_by)


SETTLE_SECONDS = 120  # a stale account is rescored once its tagging has been quiet this long
STALE_LIMIT = 20  # accounts queued per tick; the rest on the next


def queue_stale_rescores(session: Session, *, settle_seconds: float | None = None) -> list:
    """Queue one rescore for every account whose catalogue tagging changed (``scores_stale_since``,
    set by triggers) at least ``settle_seconds`` ago, and clear the mark, in the caller's
    transaction (the scheduler tick's). An account whose rescore is still queued only has its mark
    cleared: that job reads the new tagging when it runs. Locked rows are skipped, so two ticks at
    once queue each account once. (The database's clock on both sides: the triggers set the mark.)"""
    from domain.jobs_state.service import create_job  # noqa: PLC0415

    rows = session.execute(
        text(
            "WITH due AS ("
            "  SELECT a.id FROM account a WHERE a.scores_stale_since <= now() - make_interval(secs => :settle) "
            "     AND 'recommendations' = ANY(a.modules) ORDER BY a.scores_stale_since LIMIT :n "
            "     FOR UPDATE SKIP LOCKED) "
            "UPDATE account a SET scores_stale_since = NULL FROM due WHERE a.id = due.id "
            "RETURNING a.id, EXISTS (SELECT 1 FROM job j WHERE j.account_id = a.id AND j.kind = :kind "
            "  AND j.status = 'queued') AS queued"
        ),
        {
            "settle": float(SETTLE_SECONDS if settle_seconds is None else settle_seconds),
            "n": STALE_LIMIT,
            "kind": RESCORE_JOB,
        },
    ).all()
    return [
        create_job(session, r.id, kind=RESCORE_JOB, params={"reason": "catalogue tagging changed"})
        for r in rows
        if not r.queued
    ]


@dataclass(frozen=True)
class Interest:
    person_id: int
    tag_id: int
    score: float  # now, decayed
    interactions: int
    last_at: datetime
    trend: float = 0.0  # score now minus the score TREND_DAYS ago (from what came before then)


TREND_DAYS = 30


MAX_INTERESTS_PER_PERSON = 100


def decayed(value: float, as_of: datetime, at: datetime, half_life_days: float) -> float:
    """A score stored as ``value`` at ``as_of``, worth at ``at``."""
    elapsed = max(0.0, (at - as_of).total_seconds())
    return value * 2.0 ** (-elapsed / (half_life_days * 86400.0))


def interests_by_person(
    session: Session, account_id: int, person_ids: Sequence[int], *, first: int = 20
) -> dict[int, list[Interest]]:
    """Each person's strongest interests now (at most ``first``, ≤ ``MAX_INTERESTS_PER_PERSON``) with
    their trend, in two statements. A person's scores are always written together, so ordering by
    stored value is ordering by score now."""
    if not 0 <= first <= MAX_INTERESTS_PER_PERSON:
        raise InputError.single(ErrorCode.OUT_OF_RANGE, f"first is between 0 and {MAX_INTERESTS_PER_PERSON}", "first")
    account = require_module(session, account_id)
    out: dict[int, list[Interest]] = {p: [] for p in person_ids}
    if not person_ids or first == 0:
        return out
    now = clock.now()
    # The scores as they stood TREND_DAYS ago, from the interactions before then: one statement.
    before = scores_as_of(session, account_id, sorted(set(person_ids)), now - timedelta(days=TREND_DAYS))
    rows = session.execute(
        text(
            "SELECT person_id, tag_id, value, as_of, interactions, last_at FROM ("
            "  SELECT s.*, row_number() OVER (PARTITION BY s.person_id ORDER BY s.value DESC, s.tag_id) AS place"
            "  FROM interest_score s WHERE s.account_id = :a AND s.person_id = ANY(CAST(:p AS bigint[]))"
            ") ranked WHERE place <= :n ORDER BY person_id, place"
        ),
        {"a": account_id, "p": sorted(set(person_ids)), "n": first},
    )
    for r in rows:
        score = decayed(r.value, r.as_of, now, account.score_half_life_days)
        trend = score - before.get(r.person_id, {}).get(r.tag_id, 0.0)
        out[r.person_id].append(Interest(r.person_id, r.tag_id, score, r.interactions, r.last_at, trend))
    return out


def interest_profile(session: Session, account_id: int, person_id: int, *, limit: int = 50) -> list[Interest]:
    """The person's interests now, strongest first (at most ``limit``)."""
    return interests_by_person(session, account_id, [person_id], first=limit)[person_id]
