"""Issue 11 benchmark rows: the ticketing feed importer on the demo data set's own feed.

The demo account is written as a feed (``domain.demo.feed``, the first orders holding at most
1,000,000 tickets, with their persons; cached under ``.marquee/bench/feeds``) and imported into a
new account: the first import, the same feed again (it must change nothing), and the importer's
peak memory at two feed sizes (it must not grow with the feed). The import accounts are removed
afterwards. See bench/README.md.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psutil
from sqlalchemy import text
from sqlmodel import Session

from bench.registry import Dataset, Result, benchmark
from domain.demo.feed import write_feed
from domain.imports.importer import ImportOptions, ImportResult, run_import
from domain.imports.readers import read_jsonl

ROOT = Path(__file__).resolve().parent.parent
FEEDS = ROOT / ".marquee" / "bench" / "feeds"
LARGE, SMALL = 1_000_000, 100_000  # tickets
IMPORT_TARGET_S, REIMPORT_TARGET_S = 60.0, 30.0
FLAT = 1.5  # the large feed's peak memory growth may be at most this times the small one's


def _feed(ds: Dataset, tickets: int) -> Path:
    FEEDS.mkdir(parents=True, exist_ok=True)
    path = FEEDS / f"demo-{ds.people}-{tickets}.jsonl"
    if not path.exists():
        partial = path.with_name(path.name + ".partial")
        with ds.engine.connect() as conn, partial.open("w", encoding="utf-8") as out:
            write_feed(conn, ds.account_id, out, max_tickets=tickets)
        partial.replace(path)
    return path


def _new_account(ds: Dataset, name: str) -> int:
    with ds.engine.begin() as conn:
        account_id = conn.execute(
            text("INSERT INTO account (name, slug) VALUES (:n, :s) RETURNING id"),
            {"n": name, "s": f"{name}-{time.time_ns()}"},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO consent_type (account_id, key, name) SELECT :b, key, name FROM consent_type "
                "WHERE account_id = :a"
            ),
            {"a": ds.account_id, "b": account_id},
        )
    return account_id


def _drop_account(ds: Dataset, account_id: int) -> None:
    """Remove an import account fast: its rows table by table with triggers off (no fact upkeep
    for rows that go anyway), then the account."""
    from domain.models import metadata

    with ds.engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in reversed(metadata.sorted_tables):
            if "account_id" in table.c:
                conn.execute(text(f'DELETE FROM "{table.name}" WHERE account_id = :a'), {"a": account_id})
        conn.execute(text("DELETE FROM account WHERE id = :a"), {"a": account_id})


def _import(ds: Dataset, account_id: int, path: Path, baseline: int) -> tuple[ImportResult, float, float]:
    """Run the importer; return its result, the seconds it took and its peak RSS above
    ``baseline`` (MB; the process's RSS before the first import, so each figure is the peak the
    process reached, and a larger feed can only show more if it needed more)."""
    process = psutil.Process()
    peak = [process.memory_info().rss]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        with path.open("rb") as feed:
            result = run_import(
                lambda: Session(ds.engine, expire_on_commit=False),
                account_id,
                read_jsonl(feed),
                ImportOptions(source="demo"),
            )
    finally:
        done.set()
        sampler.join()
    return result, time.perf_counter() - started, (peak[0] - baseline) / 2**20


def _changes(result: ImportResult) -> int:
    return sum(c.get("created", 0) + c.get("updated", 0) + c.get("written", 0) for c in result.counts.values())


_runs: dict[str, object] = {}


def _run_all(ds: Dataset) -> dict:
    """Both feeds, both imports, once per benchmark run (the three rows read its figures)."""
    if _runs:
        return _runs
    small_feed, large_feed = _feed(ds, SMALL), _feed(ds, LARGE)
    small_account, large_account = _new_account(ds, "bench-import-small"), _new_account(ds, "bench-import")
    baseline = psutil.Process().memory_info().rss
    try:
        small, small_s, small_mb = _import(ds, small_account, small_feed, baseline)
        first, first_s, first_mb = _import(ds, large_account, large_feed, baseline)
        again, again_s, again_mb = _import(ds, large_account, large_feed, baseline)
        with ds.engine.connect() as conn:
            tickets = conn.execute(
                text("SELECT count(*) FROM ticket WHERE account_id = :a"), {"a": large_account}
            ).scalar_one()
    finally:
        _drop_account(ds, small_account)
        _drop_account(ds, large_account)
    _runs.update(
        small=(small, small_s, small_mb),
        first=(first, first_s, first_mb),
        again=(again, again_s, again_mb),
        tickets=tickets,
        feed_mb=large_feed.stat().st_size / 2**20,
    )
    return _runs


@benchmark("import-feed")
def import_feed(ds: Dataset) -> Result:
    runs = _run_all(ds)
    result, seconds, _mb = runs["first"]
    tickets = runs["tickets"]
    figure = f"{seconds:.1f} s ({tickets:,} tickets, {result.records:,} records, {result.records / seconds:,.0f}/s)"
    return Result(
        f"import-feed {tickets:,} tickets",
        figure,
        f"< {IMPORT_TARGET_S:.0f} s, none refused",
        seconds < IMPORT_TARGET_S and result.refused == 0,
        seconds=seconds,
        details={
            "counts": {k: dict(v) for k, v in result.counts.items()},
            "refused": result.refused,
            "feed_mb": round(runs["feed_mb"], 1),
        },
    )


@benchmark("reimport-feed")
def reimport_feed(ds: Dataset) -> Result:
    runs = _run_all(ds)
    result, seconds, _mb = runs["again"]
    changes = _changes(result)
    return Result(
        "reimport-feed unchanged",
        f"{seconds:.1f} s, {changes:,} changes",
        f"< {REIMPORT_TARGET_S:.0f} s, 0 changes",
        seconds < REIMPORT_TARGET_S and changes == 0,
        seconds=seconds,
        details={"counts": {k: dict(v) for k, v in result.counts.items()}},
    )


@benchmark("import-memory")
def import_memory(ds: Dataset) -> Result:
    runs = _run_all(ds)
    small_mb, large_mb = runs["small"][2], runs["first"][2]
    ratio = large_mb / max(small_mb, 1.0)
    return Result(
        "import-memory (peak RSS above start)",
        f"{small_mb:.0f} MB at {SMALL:,} tickets, {large_mb:.0f} MB at {LARGE:,} ({ratio:.2f}x)",
        f"flat: ≤ {FLAT}x",
        ratio <= FLAT,
        details={"small_mb": small_mb, "large_mb": large_mb, "small_seconds": runs["small"][1]},
    )
