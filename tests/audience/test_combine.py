"""A catch-up carries its delta forward: the persons changed since are read again and combined
with the earlier delta's others, which equals reading all of them at once."""

from __future__ import annotations

from datetime import date

import numpy as np
from sqlalchemy import text

from domain.audience.index import build_index, combine
from domain.demo.generator import load_demo_data
from tests.audience.compare import assert_same_index


def test_combining_a_delta_with_persons_read_again_equals_reading_them_all(connection, session, account):
    load_demo_data(connection, account.id, people=600, seed=3, today=date(2026, 3, 15))
    ids = session.execute(text("SELECT id FROM person WHERE account_id = :a ORDER BY id"), {"a": account.id})
    ids = [int(i) for i in ids.scalars()]
    old = build_index(session, account.id, persons=ids[:300])
    changed = ids[250:400]
    params = {"a": account.id, "p": changed}
    session.execute(text("UPDATE person SET city = 'Zwolle', custom_fields = '{\"household_size\": 9}' "
                         "WHERE account_id = :a AND id = ANY(:p)"), params)  # fmt: skip
    session.execute(text("UPDATE person_consent SET granted = NOT granted WHERE account_id = :a AND person_id = ANY(:p)"), params)  # fmt: skip
    session.execute(text("DELETE FROM person_tag WHERE account_id = :a AND person_id = ANY(:p) AND source = 'staff'"), params)  # fmt: skip
    session.execute(text("UPDATE ticket SET status = 'cancelled' WHERE account_id = :a AND person_id = ANY(:p) "
                         "AND id % 2 = 0"), params)  # fmt: skip
    fresh = build_index(session, account.id, persons=changed)
    combined = combine(old, fresh)
    expected = build_index(session, account.id, persons=ids[:400])
    assert combined.size == 400 and np.array_equal(combined.person_ids, ids[:400])
    assert_same_index(combined, expected)
    assert len(expected.facts.person) > 500 and len(expected.tags.keys) > 400


def test_a_delta_combined_with_nobody_new_is_itself(connection, session, account):
    load_demo_data(connection, account.id, people=200, seed=4, today=date(2026, 3, 15))
    ids = [
        int(i)
        for i in session.execute(text("SELECT id FROM person WHERE account_id = :a"), {"a": account.id}).scalars()
    ]
    old = build_index(session, account.id, persons=ids[:50])
    assert_same_index(combine(old, build_index(session, account.id, persons=[])), old)
    assert_same_index(combine(build_index(session, account.id, persons=[]), old), old)
