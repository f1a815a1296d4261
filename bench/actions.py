"""Issue 12 benchmark rows: acting on a segment of the 1,000,000-person data set.

The segment is ``city = Amsterdam`` (about 121,000 members at 1M persons). Each action's
snapshot is taken through the segment engine and then cut to exactly the size the row names
(the first members by id), so the rows measure the action at that size. The label row tags
100,000 members with a new tag (source staff) in the job's one transaction, commit included;
the CSV rows write 10,000 and 100,000 members' contact fields and show the process's peak
memory at both sizes (it must not grow with the export). The actions, their tags and jobs are
removed afterwards. See bench/README.md.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

import psutil
from sqlalchemy import text
from sqlmodel import Session

from bench.registry import Dataset, Result, benchmark
from domain.actions import export as exports
from domain.actions import service as actions
from domain.segments import service as segments
from domain.tags import service as tags

LABEL_MEMBERS, LABEL_TARGET_S = 100_000, 5.0
CSV_SMALL, CSV_LARGE, CSV_TARGET_S = 10_000, 100_000, 10.0
FLAT = 1.5  # the large export's peak memory growth may be at most this times the small one's
RULES = {"type": "text", "field": "city", "operator": "eq", "value": "Amsterdam"}


def _noop(fraction: float, message: str = "") -> None:
    pass


def _new_session(ds: Dataset):
    return lambda: Session(ds.engine, expire_on_commit=False)


def _segment(session: Session, ds: Dataset) -> int:
    found = session.execute(
        text("SELECT id FROM segment WHERE account_id = :a AND name = 'bench: Amsterdam'"), {"a": ds.account_id}
    ).scalar()
    if found is None:
        found = segments.create_segment(session, ds.account_id, name="bench: Amsterdam", rules=RULES).id
    return found


def _snapshot(ds: Dataset, action_job: int, size: int) -> int:
    """Take the action's snapshot through the engine, then keep its first ``size`` members."""
    with Session(ds.engine, expire_on_commit=False) as session, session.begin():
        action = actions.action_of_job(session, action_job, lock=True)
        actions.take_snapshot(session, action)
        session.execute(
            text(
                "DELETE FROM action_member WHERE account_id = :a AND action_id = :id AND person_id > "
                "(SELECT person_id FROM action_member WHERE account_id = :a AND action_id = :id "
                "ORDER BY person_id OFFSET :n - 1 LIMIT 1)"
            ),
            {"a": ds.account_id, "id": action.id, "n": size},
        )
        kept = session.execute(
            text("SELECT count(*) FROM action_member WHERE account_id = :a AND action_id = :id"),
            {"a": ds.account_id, "id": action.id},
        ).scalar_one()
        action.members = kept
    return kept


def _drop(ds: Dataset, job_ids: list[int], tag_ids: list[int]) -> None:
    with ds.engine.begin() as conn:
        if tag_ids:
            conn.execute(
                text("DELETE FROM person_tag WHERE account_id = :a AND tag_id = ANY(:t)"),
                {"a": ds.account_id, "t": tag_ids},
            )
            conn.execute(
                text("DELETE FROM tag WHERE account_id = :a AND id = ANY(:t)"), {"a": ds.account_id, "t": tag_ids}
            )
        conn.execute(text("DELETE FROM job WHERE account_id = :a AND id = ANY(:j)"), {"a": ds.account_id, "j": job_ids})


@benchmark("label-segment")
def label_segment(ds: Dataset) -> Result:
    with Session(ds.engine, expire_on_commit=False) as session:
        segment_id = _segment(session, ds)
        tag = tags.create_tags(
            session, ds.account_id, tags.TagFields(names=f"bench label {time.time_ns()}"), policy="preserve"
        )[0]
        action = actions.start_label(
            session, ds.account_id, actions.Target(segment_id), tag_ids=[tag.id], actor="staff:bench"
        )
        session.commit()
    try:
        members = _snapshot(ds, action.job_id, LABEL_MEMBERS)
        started = time.perf_counter()
        result = actions.run_label(_new_session(ds), action.job_id, _noop)
        seconds = time.perf_counter() - started
        with Session(ds.engine) as session:
            counted = tags.counters(session, ds.account_id, [tag.id])[tag.id].persons
    finally:
        _drop(ds, [action.job_id], [tag.id])
    exact = result["links_added"] == members == counted
    return Result(
        f"label-segment {members:,} members",
        f"{seconds:.2f} s ({members / seconds:,.0f} links/s), counter {counted:,}",
        f"< {LABEL_TARGET_S:.0f} s, exact",
        seconds < LABEL_TARGET_S and exact,
        seconds=seconds,
        details=result,
    )


def _export(ds: Dataset, segment_id: int, size: int, storage: Path, baseline: int) -> tuple[dict, float, float, int]:
    with Session(ds.engine, expire_on_commit=False) as session:
        fields = ("email", "first_name", "last_name", "postal_code", "city")
        action = exports.start_csv_export(
            session, ds.account_id, actions.Target(segment_id), exports.CsvOptions(fields=fields)
        )
        session.commit()
    _snapshot(ds, action.job_id, size)
    process = psutil.Process()
    peak = [process.memory_info().rss]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        result = exports.run_export(_new_session(ds), action.job_id, storage, _noop)
    finally:
        done.set()
        sampler.join()
    return result, time.perf_counter() - started, (peak[0] - baseline) / 2**20, action.job_id


_csv_runs: dict[str, object] = {}


def _csv_both(ds: Dataset) -> dict:
    if _csv_runs:
        return _csv_runs
    with Session(ds.engine) as session:
        segment_id = _segment(session, ds)
        session.commit()
    jobs: list[int] = []
    with tempfile.TemporaryDirectory(prefix="marquee-bench-export-") as storage:
        baseline = psutil.Process().memory_info().rss
        try:
            for size in (CSV_SMALL, CSV_LARGE):
                result, seconds, mb, job_id = _export(ds, segment_id, size, Path(storage), baseline)
                jobs.append(job_id)
                _csv_runs[str(size)] = (result, seconds, mb)
        finally:
            _drop(ds, jobs, [])
    return _csv_runs


@benchmark("export-csv")
def export_csv(ds: Dataset) -> Result:
    result, seconds, _ = _csv_both(ds)[str(CSV_LARGE)]  # type: ignore[misc]
    return Result(
        f"export-csv {result['rows']:,} members",
        f"{seconds:.2f} s ({result['rows'] / seconds:,.0f} rows/s, {result['bytes'] / 2**20:.1f} MB)",
        f"< {CSV_TARGET_S:.0f} s",
        seconds < CSV_TARGET_S and result["rows"] == CSV_LARGE,
        seconds=seconds,
        details=result,
    )


@benchmark("export-csv-memory")
def export_csv_memory(ds: Dataset) -> Result:
    runs = _csv_both(ds)
    small_mb, large_mb = runs[str(CSV_SMALL)][2], runs[str(CSV_LARGE)][2]  # type: ignore[index]
    ratio = large_mb / max(small_mb, 1.0)
    return Result(
        "export-csv-memory (peak RSS above start)",
        f"{small_mb:.0f} MB at {CSV_SMALL:,}, {large_mb:.0f} MB at {CSV_LARGE:,} ({ratio:.2f}x)",
        f"flat: ≤ {FLAT}x",
        ratio <= FLAT,
        details={"small_mb": small_mb, "large_mb": large_mb},
    )
