"""Issue 13 benchmark rows: scoring every person, folding new interactions, tips for one person,
and the quality of tips.

The data set's account gets the ``recommendations`` module for these rows. ``rescore`` scores
every person again from all their interactions (purchases, scans, stated preferences, and the
generator's ~10 opens, clicks and visits per person) and reports interactions per second.
``fold-interactions`` inserts 1,000,000 new page visits (untimed) and times folding them into the
stored scores in one call of ``fold_interactions``; ``record-visits`` sends the same visits the way
a website does (``record_visits``, 500 per call: checks, insert, fold). Both run in one transaction
that is rolled back afterwards, so the data set is left as it was. ``tips-person`` times tips for
200 persons (the catalogue computed once a minute, as in the API). ``tips-quality`` runs the
protocol of ``domain.recommendations.evaluation`` with the cut-off 60 days before the last order:
Marquee's tips against popularity and random, on 5,000 test persons.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta

from sqlalchemy import text
from sqlmodel import Session

from bench.registry import Dataset, Result, benchmark, ms, percentile
from domain import clock
from domain.interactions.service import MAX_VISITS, Visit, record_visits
from domain.recommendations import evaluation, scoring, tips

FOLD_TARGET_S = 30.0  # SPEC 9: 1,000,000 interactions folded into scores in under 30 s
FOLDED = 1_000_000
TIPS_TARGET_S = 0.020
QUALITY_TARGET = 1.5  # tips' hit rate at 10 over popularity's
CUTOFF_DAYS = 60


def _module_on(ds: Dataset) -> None:
    with ds.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE account SET modules = ARRAY(SELECT DISTINCT unnest(modules || ARRAY['recommendations'])) "
                "WHERE id = :a"
            ),
            {"a": ds.account_id},
        )


def _interactions(ds: Dataset) -> int:
    with ds.engine.begin() as conn:
        conn.execute(text("SET LOCAL jit = off"))
        conn.execute(text("SET LOCAL work_mem = '256MB'"))
        return conn.execute(
            text(
                "SELECT (SELECT count(*) FROM (SELECT DISTINCT order_id, production_id FROM ticket_fact "
                "        WHERE account_id = :a) x) "
                "     + (SELECT count(*) FROM person_tag WHERE account_id = :a AND source = 'person') "
                "     + (SELECT count(*) FROM interaction WHERE account_id = :a)"
            ),
            {"a": ds.account_id},
        ).scalar_one()


@benchmark("rescore")
def rescore(ds: Dataset) -> Result:
    _module_on(ds)
    folded = _interactions(ds)
    started = time.perf_counter()
    result = scoring.rebuild_interest_scores(lambda: Session(ds.engine), ds.account_id)
    seconds = time.perf_counter() - started
    with ds.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE interest_score"))  # what the rebuild replaced (autovacuum may be off)
    rate = folded / seconds
    return Result(
        f"rescore {result.persons:,} persons",
        f"{seconds:.1f} s ({folded:,} interactions, {rate:,.0f}/s, {result.scores:,} scores)",
        "no target (a full rebuild)",
        None,
        seconds=seconds,
        details={"interactions": folded, "scores": result.scores},
    )


def _new_visits(session: Session, ds: Dataset) -> list[list[Visit]]:
    """FOLDED page visits by random persons over the last week, a quarter on genre pages, in
    batches of MAX_VISITS (what one website call sends)."""
    persons = (
        session.execute(text("SELECT id FROM person WHERE account_id = :a ORDER BY id"), {"a": ds.account_id})
        .scalars()
        .all()
    )
    productions = (
        session.execute(text("SELECT id FROM production WHERE account_id = :a"), {"a": ds.account_id}).scalars().all()
    )
    tags = (
        session.execute(text("SELECT id FROM tag WHERE account_id = :a AND parent_id IS NULL"), {"a": ds.account_id})
        .scalars()
        .all()
    )
    rng = random.Random(13)
    now = clock.now()
    batches = []
    for b in range(FOLDED // MAX_VISITS):
        batch = []
        for i in range(MAX_VISITS):
            on_tag = rng.random() < 0.25
            batch.append(
                Visit(
                    rng.choice(persons),
                    f"bench-{b}-{i}",
                    now - timedelta(minutes=rng.randrange(1, 7 * 24 * 60)),
                    production_id=None if on_tag else rng.choice(productions),
                    tag_id=rng.choice(tags) if on_tag else None,
                )
            )
        batches.append(batch)
    session.rollback()  # the reads above: one transaction from here on, rolled back at the end
    return batches


def _vacuum(ds: Dataset) -> None:
    with ds.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM interaction, interest_score"))  # the rolled-back rows (autovacuum may be off)


@benchmark("fold-interactions")
def fold_interactions(ds: Dataset) -> Result:
    _module_on(ds)
    with Session(ds.engine) as session:
        visits = [v for batch in _new_visits(session, ds) for v in batch]
        session.execute(text("SET LOCAL jit = off"))
        ids = (
            session.execute(
                text(
                    "INSERT INTO interaction (account_id, person_id, kind, occurred_at, production_id, tag_id, "
                    "idempotency_key) SELECT :a, p, 'visit', at, pr, t, k FROM unnest(CAST(:p AS bigint[]), "
                    "CAST(:at AS timestamptz[]), CAST(:pr AS bigint[]), CAST(:t AS bigint[]), CAST(:k AS text[])) "
                    "AS x(p, at, pr, t, k) RETURNING id"
                ),
                {
                    "a": ds.account_id,
                    "p": [v.person_id for v in visits],
                    "at": [v.occurred_at for v in visits],
                    "pr": [v.production_id for v in visits],
                    "t": [v.tag_id for v in visits],
                    "k": [v.key for v in visits],
                },
            )
            .scalars()
            .all()
        )
        started = time.perf_counter()
        scores = scoring.fold_interactions(session, ds.account_id, ids)
        seconds = time.perf_counter() - started
        session.rollback()  # leave the data set as it was
    _vacuum(ds)
    return Result(
        f"fold-interactions ({len(ids):,} new visits, one fold)",
        f"{seconds:.1f} s ({len(ids) / seconds:,.0f}/s, {scores:,} scores written)",
        f"< {FOLD_TARGET_S:.0f} s",
        seconds < FOLD_TARGET_S,
        seconds=seconds,
        details={"scores": scores},
    )


@benchmark("record-visits")
def record_visits_row(ds: Dataset) -> Result:
    _module_on(ds)
    with Session(ds.engine) as session:
        batches = _new_visits(session, ds)
        session.execute(text("SET LOCAL jit = off"))
        started = time.perf_counter()
        recorded = 0
        for batch in batches:
            recorded += record_visits(session, ds.account_id, batch).recorded
        seconds = time.perf_counter() - started
        session.rollback()  # leave the data set as it was
    _vacuum(ds)
    return Result(
        f"record-visits ({recorded:,} visits, {MAX_VISITS} per call)",
        f"{seconds:.1f} s ({recorded / seconds:,.0f}/s: checked, inserted and folded, {ms(seconds / len(batches))}"
        " per call)",
        "no target (the website's path; the fold alone is fold-interactions)",
        None,
        seconds=seconds,
    )


@benchmark("tips-person")
def tips_person(ds: Dataset) -> Result:
    _module_on(ds)
    with Session(ds.engine) as session:
        persons = (
            session.execute(
                text("SELECT DISTINCT person_id FROM interest_score WHERE account_id = :a LIMIT 20000"),
                {"a": ds.account_id},
            )
            .scalars()
            .all()
        )
        if not persons:
            return Result("tips-person", "no interest scores: run rescore first", f"median ≤ {ms(TIPS_TARGET_S)}", None)
        sample = random.Random(3).sample(persons, min(200, len(persons)))
        started = time.perf_counter()
        tips.tips_for_person(session, ds.account_id, sample[0])  # the catalogue, once a minute
        catalogue_s = time.perf_counter() - started
        timings = []
        for person in sample:
            t0 = time.perf_counter()
            tips.tips_for_person(session, ds.account_id, person, first=10)
            timings.append(time.perf_counter() - t0)
    median = percentile(timings, 50)
    return Result(
        f"tips-person ({len(sample)} persons, top 10)",
        f"median {ms(median)}, p95 {ms(percentile(timings, 95))} (catalogue {ms(catalogue_s)} once a minute)",
        f"median ≤ {ms(TIPS_TARGET_S)}",
        median <= TIPS_TARGET_S,
        details={"catalogue_seconds": catalogue_s},
    )


@benchmark("tips-quality")
def tips_quality(ds: Dataset) -> Result:
    _module_on(ds)
    with Session(ds.engine) as session:
        last = session.execute(
            text("SELECT max(ordered_at) FROM ticket_fact WHERE account_id = :a"), {"a": ds.account_id}
        ).scalar_one()
        started = time.perf_counter()
        found = evaluation.evaluate(session, ds.account_id, last - timedelta(days=CUTOFF_DAYS))
        seconds = time.perf_counter() - started
    ratio = found.tips.hit_rate / max(found.popularity.hit_rate, 1e-9)

    def row(q: evaluation.Quality) -> str:
        return f"HR {q.hit_rate:.3f} NDCG {q.ndcg:.3f} R {q.recall:.3f} cov {q.coverage:.2f}"

    return Result(
        f"tips-quality @10 ({found.persons:,} persons, {found.candidates} on sale)",
        f"tips {row(found.tips)} | popularity {row(found.popularity)} | random {row(found.random)} ({ratio:.2f}x)",
        f"tips HR ≥ {QUALITY_TARGET}x popularity",
        ratio >= QUALITY_TARGET,
        seconds=seconds,
        details={
            "cutoff": found.cutoff.isoformat(),
            "tips": found.tips.as_dict(),
            "popularity": found.popularity.as_dict(),
            "random": found.random.as_dict(),
        },
    )
