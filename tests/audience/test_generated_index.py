"""The index built straight from the generator (the 10,000,000-person benchmark's) equals the
index built from the database that ``load_demo_data`` filled with the same seed, day and ids."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import text

from domain.audience import counting as audience
from domain.audience.index import build_index
from domain.demo import generator
from domain.demo.generator import DemoCatalogue, catalogue_models, load_demo_data
from domain.demo.index import generated_index, local_days
from tests.audience.compare import assert_same_index

TODAY = date(2026, 3, 15)


def test_the_generated_index_equals_the_loaded_one(connection, session, account, monkeypatch):
    monkeypatch.setattr(generator, "CHUNK", 700)  # several chunks: texts, facts and links merged
    people, seed = 2_000, 11
    counts = load_demo_data(connection, account.id, people=people, seed=seed, today=TODAY)
    loaded = build_index(session, account.id)
    consent_type_id = session.execute(
        text("SELECT min(id) FROM consent_type WHERE account_id = :a"), {"a": account.id}
    ).scalar_one()
    catalogue = DemoCatalogue(
        seed,
        people,
        TODAY,
        *catalogue_models(seed, people, TODAY),
        production_id=counts["first_production_id"],
        event_id=counts["first_event_id"],
        consent_type_id=consent_type_id,
        first_tag_id=counts["first_tag_id"],
        counts={},
    )
    steps: list[float] = []
    built = generated_index(
        session, account.id, catalogue, counts["first_person_id"], progress=lambda f, m: steps.append(f)
    )
    assert steps[-1] == 1.0 and steps == sorted(steps)

    assert_same_index(loaded, built)
    assert loaded.facts.cents.sum() > 0 and len(loaded.tags.keys) > people and len(loaded.subscriptions.keys) > 20

    # And so the generated index answers what the database answers.
    for rules in (
        {"type": "purchase", "metric": "revenue", "min": 100},
        {"type": "text", "field": "city", "operator": "eq", "value": "amsterdam"},
        {"type": "custom_field", "key": "household_size", "operator": "gte", "value": 3},
    ):
        assert audience.count_matching(session, built, rules=rules) == audience.count_matching(
            session, loaded, rules=rules
        )


def test_local_days_follow_daylight_saving_time():
    zone = ZoneInfo("Europe/Amsterdam")
    every_quarter = np.arange(1_767_225_600, 1_798_761_600, 900, dtype=np.int64)  # 2026, each quarter hour
    expected = [(datetime.fromtimestamp(int(s), zone).date() - date(1970, 1, 1)).days for s in every_quarter]
    assert local_days(every_quarter, zone).tolist() == expected
