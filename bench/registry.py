"""The benchmark registry: the loaded data set, result rows and ``@benchmark(name)``.

Kept apart from ``bench.run`` so that benchmark modules can register themselves whether the
runner is imported or executed as ``python -m bench.run`` (then it is ``__main__``).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine


@dataclass
class Dataset:
    """The loaded demo account that every benchmark runs against."""

    engine: Engine
    account_id: int
    people: int
    counts: dict[str, int]  # rows per table, plus first_person_id / first_production_id / first_event_id
    load_seconds: float | None  # None when an earlier load was reused
    peak_rss_mb: float | None = None


@dataclass
class Result:
    name: str
    figure: str  # what was measured, for the table ("212.4 s")
    target: str  # e.g. "< 300 s"
    ok: bool | None  # None: not measured in this run
    seconds: float | None = None
    details: dict = field(default_factory=dict)


Benchmark = Callable[[Dataset], Result]
BENCHMARKS: dict[str, Benchmark] = {}


def benchmark(name: str) -> Callable[[Benchmark], Benchmark]:
    """Register a benchmark; it receives the loaded data set and returns one result row."""

    def register(fn: Benchmark) -> Benchmark:
        BENCHMARKS[name] = fn
        return fn

    return register


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0..100) of the samples, by linear interpolation."""
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[min(max(round(q), 1), 99) - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 0.1 else f"{seconds * 1000:.0f} ms"
