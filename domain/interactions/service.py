"""Web page visits sent by a website or connector, in batches (SPEC 6)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlmodel import Session

from domain import clock
from domain.errors import Collector, ErrorCode
from domain.recommendations.scoring import fold_interactions, require_module

MAX_VISITS = 500  # per call
MAX_KEY = 200
MAX_URL = 2000
MAX_AGE = timedelta(days=5 * 366)  # older visits say nothing about interests now
MAX_AHEAD = timedelta(minutes=5)  # clocks of senders drift a little


@dataclass(frozen=True)
class Visit:
    person_id: int
    key: str  # the sender's idempotency key: the same visit sent twice counts once
    occurred_at: datetime
    production_id: int | None = None
    tag_id: int | None = None
    url: str | None = None


@dataclass(frozen=True)
class VisitsRecorded:
    recorded: int
    duplicates: int  # already recorded under the same key


def _existing(session: Session, table: str, account_id: int, ids: set[int], condition: str = "true") -> set[int]:
    if not ids:
        return set()
    return set(
        session.execute(
            text(f"SELECT id FROM {table} WHERE account_id = :a AND id = ANY(CAST(:ids AS bigint[])) AND {condition}"),
            {"a": account_id, "ids": sorted(ids)},
        ).scalars()
    )


def record_visits(session: Session, account_id: int, visits: Sequence[Visit]) -> VisitsRecorded:
    """Record visits (each on a production or a tag) and fold the new ones into the visitors'
    scores. All or nothing: one bad visit refuses the batch, naming it."""
    require_module(session, account_id)
    problems = Collector()
    if not visits or len(visits) > MAX_VISITS:
        problems.add(ErrorCode.OUT_OF_RANGE, f"send 1 to {MAX_VISITS} visits at a time", "visits")
        problems.raise_if_any()
    persons = _existing(session, "person", account_id, {v.person_id for v in visits}, "erased_at IS NULL")
    productions = _existing(session, "production", account_id, {v.production_id for v in visits if v.production_id})
    tags = _existing(session, "tag", account_id, {v.tag_id for v in visits if v.tag_id})
    now = clock.now()
    keys: set[str] = set()
    for i, v in enumerate(visits):
        path = ("visits", str(i))
        if v.person_id not in persons:
            problems.add(ErrorCode.NOT_FOUND, "person not found", *path, "person_id")
        if (v.production_id is None) == (v.tag_id is None):
            problems.add(ErrorCode.INVALID, "a visit is on a production or on a tag (one of the two)", *path)
        elif v.production_id is not None and v.production_id not in productions:
            problems.add(ErrorCode.NOT_FOUND, "production not found", *path, "production_id")
        elif v.tag_id is not None and v.tag_id not in tags:
            problems.add(ErrorCode.NOT_FOUND, "tag not found", *path, "tag_id")
        if not v.key.strip():
            problems.add(ErrorCode.REQUIRED, "a key identifies the visit", *path, "key")
        elif len(v.key) > MAX_KEY:
            problems.add(ErrorCode.TOO_LONG, f"a key has at most {MAX_KEY} characters", *path, "key")
        elif v.key in keys:
            problems.add(ErrorCode.DUPLICATE, "this key is in the batch twice", *path, "key")
        keys.add(v.key)
        if v.occurred_at.tzinfo is None:
            problems.add(ErrorCode.INVALID, "a time needs a time zone", *path, "occurred_at")
        elif not now - MAX_AGE <= v.occurred_at <= now + MAX_AHEAD:
            problems.add(
                ErrorCode.OUT_OF_RANGE, "a visit is from the last five years, not the future", *path, "occurred_at"
            )
        if v.url is not None and len(v.url) > MAX_URL:
            problems.add(ErrorCode.TOO_LONG, f"a URL has at most {MAX_URL} characters", *path, "url")
    problems.raise_if_any()
    written = (
        session.execute(
            text(
                "INSERT INTO interaction (account_id, person_id, kind, occurred_at, production_id, tag_id, url, "
                "idempotency_key) "
                "SELECT :a, p, 'visit', at, pr, t, u, 'visit:' || k FROM unnest(CAST(:p AS bigint[]), "
                "CAST(:at AS timestamptz[]), CAST(:pr AS bigint[]), CAST(:t AS bigint[]), CAST(:u AS text[]), "
                "CAST(:k AS text[])) AS x(p, at, pr, t, u, k) ON CONFLICT DO NOTHING RETURNING id"
            ),
            {
                "a": account_id,
                "p": [v.person_id for v in visits],
                "at": [v.occurred_at for v in visits],
                "pr": [v.production_id for v in visits],
                "t": [v.tag_id for v in visits],
                "u": [v.url for v in visits],
                "k": [v.key for v in visits],
            },
        )
        .scalars()
        .all()
    )
    fold_interactions(session, account_id, written)
    return VisitsRecorded(recorded=len(written), duplicates=len(visits) - len(written))
