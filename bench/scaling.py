"""The twenty rule sets across data-set sizes: ``python -m bench.scaling [--markdown]``.

Reads what the runner kept per size (``bench/results/people-<N>.json``: the latest row of every
benchmark run at that size) and prints one row per rule set: at each loaded size the index's
median (p95), the SQL back end's and the hand-written SQL's medians and the members; at each
generated size (the index built straight from the generator, index only) the index's median and
members; then how the index's median grew against the number of persons (issue 15: no faster
than linearly, so growth ≤ 1.0 of the persons' growth).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
LOADED = re.compile(r"^segment (s\d\d-[\w-]+)$")
GENERATED = re.compile(r"^generated ([\d,]+) (s\d\d-[\w-]+)$")


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def collect(results: Path = RESULTS) -> tuple[dict[str, dict[int, dict]], dict[str, dict[int, dict]]]:
    """(loaded, generated): rule set → persons → the row's details (with index_ms)."""
    loaded: dict[str, dict[int, dict]] = {}
    generated: dict[str, dict[int, dict]] = {}
    for path in sorted(results.glob("people-*.json")):
        body = json.loads(path.read_text())
        for name, row in body["results"].items():
            details = row.get("details") or {}
            if "index_ms" not in details:
                continue
            if match := LOADED.match(name):
                loaded.setdefault(match[1], {})[body["people"]] = details
            elif match := GENERATED.match(name):
                generated.setdefault(match[2], {})[int(match[1].replace(",", ""))] = details
    return loaded, generated


def table(loaded: dict[str, dict[int, dict]], generated: dict[str, dict[int, dict]]) -> list[list[str]]:
    loaded_sizes = sorted({n for sizes in loaded.values() for n in sizes})
    generated_sizes = sorted({n for sizes in generated.values() for n in sizes})
    header = ["set"]
    for n in loaded_sizes:
        header += [f"{n:,}: index (p95)", "SQL", "hand", "members"]
    for n in generated_sizes:
        header += [f"{n:,} generated: index (p95)", "members"]
    header += ["index growth / persons growth"]
    rows = [header]
    for name in sorted(set(loaded) | set(generated)):
        row = [name]
        points: dict[int, float] = {}
        for n in loaded_sizes:
            d = loaded.get(name, {}).get(n)
            if d is None:
                row += ["-"] * 4
                continue
            points[n] = d["index_ms"]
            row += [
                f"{_ms(d['index_ms'])} ({_ms(d.get('index_p95_ms'))})",
                _ms(d.get("compiled_ms")),
                _ms(d.get("hand_ms")),
                f"{d.get('count', d.get('index_count', 0)):,}",
            ]
        for n in generated_sizes:
            d = generated.get(name, {}).get(n)
            if d is None:
                row += ["-"] * 2
                continue
            points[n] = d["index_ms"]
            row += [f"{_ms(d['index_ms'])} ({_ms(d.get('index_p95_ms'))})", f"{d['index_count']:,}"]
        if len(points) >= 2:
            low, high = min(points), max(points)
            row.append(f"{(points[high] / points[low]) / (high / low):.2f} ({low:,} → {high:,})")
        else:
            row.append("-")
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scaling", description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    rows = table(*collect())
    if len(rows) == 1:
        print("no segment rows kept yet: run python -m bench.run --people N first", file=sys.stderr)
        return 1
    if args.markdown:
        print("| " + " | ".join(rows[0]) + " |")
        print("|" + "---|" * len(rows[0]))
        for row in rows[1:]:
            print("| " + " | ".join(row) + " |")
        return 0
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print(" | ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if i == 0:
            print("-+-".join("-" * w for w in widths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
