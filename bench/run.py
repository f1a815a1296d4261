"""Marquee benchmarks: ``python -m bench.run [--people N] [--only NAME] [--reload]``.

Loads the generated demo data set into the database ``marquee_bench`` (kept between runs and
reused when it already holds the requested data), then runs the registered benchmarks against
it: one table row each, also written to ``bench/results/latest.json``. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import traceback
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from bench.registry import BENCHMARKS, Dataset, Result, benchmark
from domain.demo import DEMO_TABLES, load_demo_data
from marquee.db import make_engine, normalise_database_url
from marquee.embedded import EMBEDDED_PG_SETTINGS, ensure_servers
from marquee.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DATA_DIR = ROOT / ".marquee" / "bench"  # the embedded server's data, apart from the dev data
DATABASE = "marquee_bench"  # the default 1,000,000-person set; other sizes get a database each


def database_name(people: int) -> str:
    """The database of a data set's size: each size is kept, so switching sizes reloads nothing."""
    return DATABASE if people == 1_000_000 else f"{DATABASE}_{people}"


SEED = 42
LOAD_SECONDS_PER_MILLION = 300.0


@benchmark("demo-data")
def demo_data(ds: Dataset) -> Result:
    """Time to generate and load the demo data set (one transaction, commit included)."""
    target = LOAD_SECONDS_PER_MILLION * ds.people / 1_000_000
    name = f"demo-data {ds.people:,} persons"
    details = {"counts": ds.counts, "peak_rss_mb": ds.peak_rss_mb}
    if ds.load_seconds is None:
        return Result(name, "reused", f"< {target:.0f} s", None, details=details)
    return Result(
        name,
        f"{ds.load_seconds:.1f} s",
        f"< {target:.0f} s",
        ds.load_seconds < target,
        seconds=ds.load_seconds,
        details=details,
    )


from bench import tags as _tag_benchmarks  # noqa: F401  (registers its rows after demo-data)
from bench import segments as _segment_benchmarks  # noqa: F401  (issue 5: twenty rule sets)
from bench import imports as _import_benchmarks  # noqa: F401  (issue 11: the feed importer)
from bench import actions as _action_benchmarks  # noqa: F401  (issue 12: acting on a segment)
from bench import recommendations as _recommendation_benchmarks  # noqa: F401  (issue 13: scores and tips)

# --------------------------------------------------------------------------- data set


def _progress_printer() -> Callable[[float, str], None]:
    tty = sys.stderr.isatty()
    shown = [-1]

    def show(fraction: float, message: str) -> None:
        if tty:
            print(f"\r  loading {fraction:4.0%}  {message:<70}", end="", file=sys.stderr, flush=True)
            if fraction >= 1:
                print(file=sys.stderr)
        elif int(fraction * 10) > shown[0]:
            shown[0] = int(fraction * 10)
            print(f"  loading {fraction:4.0%}  {message}", file=sys.stderr, flush=True)

    return show


def _existing_dataset(engine: Engine, slug: str, people: int) -> Dataset | None:
    with engine.connect() as conn:
        account_id = conn.execute(text("select id from account where slug = :s"), {"s": slug}).scalar()
        if account_id is None:
            return None
        counts = {
            table: conn.execute(
                text(f"select count(*) from {table} where account_id = :a"), {"a": account_id}
            ).scalar_one()
            for table in DEMO_TABLES
        }
        for table in ("person", "production", "event", "tag"):
            counts[f"first_{table}_id"] = conn.execute(
                text(f"select min(id) from {table} where account_id = :a"), {"a": account_id}
            ).scalar_one()
    if counts["person"] != people:
        return None
    return Dataset(engine, account_id, people, counts, None)


def prepare_dataset(server_url: str, people: int, *, reload: bool) -> Dataset:
    """Reuse ``marquee_bench`` when it holds the requested data, else recreate and load it."""
    slug = f"bench-{people}-seed{SEED}"
    database = database_name(people)
    url = make_url(server_url).set(database=database).render_as_string(hide_password=False)
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("select 1 from pg_database where datname = :n"), {"n": database}).scalar()
        if exists and not reload:
            engine = make_engine(url, pool_size=2)
            upgrade(engine)
            if (found := _existing_dataset(engine, slug, people)) is not None:
                print(f"reusing {database} ({people:,} persons; --reload to load again)", file=sys.stderr)
                return found
            engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{database}"'))
    finally:
        admin.dispose()
    engine = make_engine(url, pool_size=2)
    upgrade(engine)
    with engine.connect() as conn:
        with conn.begin():
            account_id = conn.execute(
                text("insert into account (name, slug) values (:n, :s) returning id"),
                {"n": "Benchmark Venue", "s": slug},
            ).scalar_one()
            started = time.perf_counter()
            counts = load_demo_data(conn, account_id, people=people, seed=SEED, progress=_progress_printer())
        seconds = time.perf_counter() - started
    # Not timed: what autovacuum would do in the next minutes (visibility map for index-only
    # scans, statistics), so that the benchmarks measure a settled database, not its catch-up.
    print("vacuum analyze (not timed)", file=sys.stderr)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE)"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return Dataset(engine, account_id, people, counts, seconds, peak_rss_mb=round(peak))


def server_info(engine: Engine) -> dict:
    with engine.connect() as conn:
        version = conn.execute(text("show server_version")).scalar_one()
        rows = conn.execute(
            text("select name, current_setting(name) from pg_settings where name = any(:n)"),
            {"n": list(EMBEDDED_PG_SETTINGS)},
        ).all()
    return {"version": version, "settings": dict(sorted(rows))}


# --------------------------------------------------------------------------- output


def print_table(results: list[Result]) -> None:
    header = ("benchmark", "figure", "target", "result")
    rows = [(r.name, r.figure, r.target, "-" if r.ok is None else "ok" if r.ok else "MISS") for r in results]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(4)]
    for i, row in enumerate([header, *rows]):
        print(" | ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
        if i == 0:
            print("-+-".join("-" * width for width in widths))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000, help="persons in the data set (default 1,000,000)")
    parser.add_argument(
        "--only", choices=sorted(BENCHMARKS), action="append", help="run just this benchmark (repeat for several)"
    )
    parser.add_argument("--reload", action="store_true", help="recreate the data set even if it is loaded")
    args = parser.parse_args(argv)

    configured = os.environ.get("MARQUEE_DATABASE_URL")
    servers = ensure_servers(
        normalise_database_url(configured) if configured else None, None, DATA_DIR, need_redis=False
    )
    try:
        dataset = prepare_dataset(normalise_database_url(servers.database_url), args.people, reload=args.reload)
        server = server_info(dataset.engine)
        results = []
        for name in args.only or BENCHMARKS:
            try:
                results.append(BENCHMARKS[name](dataset))
            except Exception as failure:  # noqa: BLE001  (one broken row must not lose the others' figures)
                traceback.print_exc()
                results.append(Result(name, f"failed: {type(failure).__name__}: {failure}"[:200], "-", False))
            print(f"{results[-1].name}: {results[-1].figure}", file=sys.stderr, flush=True)  # as it comes
        dataset.engine.dispose()
    finally:
        servers.close()

    print(
        f"PostgreSQL {server['version']} ({'configured URL' if configured else 'embedded'}): "
        + ", ".join(f"{k}={v}" for k, v in server["settings"].items())
    )
    print_table(results)
    print(
        "rows: " + ", ".join(f"{table} {n:,}" for table, n in dataset.counts.items() if not table.startswith("first_"))
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "people": args.people,
        "seed": SEED,
        "server": server | {"embedded": not configured},
        "results": [asdict(r) for r in results],
    }
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    # The latest row of every benchmark at this size, kept across runs (bench/scaling.py reads them).
    sized = RESULTS / f"people-{args.people}.json"
    kept = json.loads(sized.read_text())["results"] if sized.exists() else {}
    kept.update({r["name"]: r | {"finished_at": report["finished_at"]} for r in report["results"]})
    sized.write_text(json.dumps({"people": args.people, "results": kept}, indent=2, default=str) + "\n")
    return 0 if all(r.ok is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
