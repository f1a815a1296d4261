"""Deterministic, realistic demo data (a Dutch venue's audience) for demos and benchmarks."""

from domain.demo.generator import (
    DEMO_TABLES,
    build_catalog,
    event_count,
    genre_names,
    load_demo_data,
    person_affinities,
    production_genres,
)

__all__ = [
    "DEMO_TABLES",
    "build_catalog",
    "event_count",
    "genre_names",
    "load_demo_data",
    "person_affinities",
    "production_genres",
]
