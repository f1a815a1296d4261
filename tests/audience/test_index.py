"""The audience index and its evaluator beyond the property test: what it refuses to answer, what
it leaves out, long texts, the float64 bounds decided exactly, and a rebuild giving the same arrays."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy import text

from domain.audience import counting as audience
from domain.audience.index import NotIndexed, build_index
from domain.segments import service as segments
from tests.audience.compare import arrays
from tests.segments.strategies import Scenario
from tests.segments.test_property import SMALL_SCENARIO, write_scenario


def _scenario(**changes) -> Scenario:
    body = json.loads(SMALL_SCENARIO)
    for key, value in changes.items():
        body["data"][key] = value
    return Scenario.from_json(json.dumps(body))


@pytest.fixture
def account(session):
    scenario = _scenario()
    persons = json.loads(SMALL_SCENARIO)["data"]["persons"]
    persons[0]["email"] = "a.very.long.address.indeed@example-venue.nl"
    persons[0]["custom_fields"] = {"vip": False, "spend": 0.1, "since": "2026-06-01"}
    persons[1]["custom_fields"] = {"spend": 12.5}
    scenario = _scenario(
        persons=persons,
        custom_fields={
            "vip": {"type": "boolean", "choices": []},
            "spend": {"type": "number", "choices": []},
            "since": {"type": "date", "choices": []},
        },
    )
    return scenario, write_scenario(session, scenario)


def _both(session, index, scenario, **query):
    indexed = audience.matching_person_ids(session, index, now=scenario.now, **query)
    sql = segments.matching_person_ids(session, index.account_id, now=scenario.now, **query)
    assert indexed == sql
    return indexed


def test_long_texts_compare_exactly(session, account):
    """Vocabulary lookups bisect (numpy's searchsorted fails on StringDType strings over 15 bytes)."""
    scenario, account_id = account
    index = build_index(session, account_id)
    email = {"type": "text", "field": "email"}
    assert _both(
        session,
        index,
        scenario,
        rules={**email, "operator": "eq", "value": "A.Very.Long.Address.Indeed@Example-Venue.NL"},
    ) == {1001}
    assert _both(
        session,
        index,
        scenario,
        rules={**email, "operator": "in", "values": ["x@y.z", "a.very.long.address.indeed@example-venue.nl"]},
    ) == {1001}
    assert _both(session, index, scenario, rules={**email, "operator": "ends_with", "value": "VENUE.nl"}) == {1001}
    assert _both(session, index, scenario, rules={**email, "operator": "neq", "value": "nobody@example.nl"}) == {
        1001,
        1002,
    }


def test_custom_fields_by_type(session, account):
    scenario, account_id = account
    index = build_index(session, account_id)
    spend = {"type": "custom_field", "key": "spend"}
    assert _both(session, index, scenario, rules={**spend, "operator": "gt", "value": 0.1}) == {1002}
    assert _both(session, index, scenario, rules={**spend, "operator": "eq", "value": 0.1}) == {1001}
    assert _both(session, index, scenario, rules={"type": "custom_field", "key": "vip", "operator": "is_false"}) == {
        1001
    }
    assert _both(session, index, scenario, rules={"type": "custom_field", "key": "vip", "operator": "is_empty"}) == {
        1002
    }
    assert _both(
        session,
        index,
        scenario,
        rules={"type": "custom_field", "key": "since", "operator": "neq", "value": "2026-06-01"},
    ) == {1002}


def test_numbers_float64_cannot_hold_are_left_to_sql(session, account):
    scenario, account_id = account
    index = build_index(session, account_id)
    with pytest.raises(NotIndexed, match="float64"):  # 17 significant digits in the bound
        audience.count_matching(
            session,
            index,
            rules={"type": "custom_field", "key": "spend", "operator": "gt", "value": 0.12345678901234567},
            now=scenario.now,
        )
    session.execute(
        text(
            "UPDATE person SET custom_fields = jsonb_build_object('spend', 0.12345678901234567891) WHERE account_id = :a AND id = 1002"
        ),
        {"a": account_id},
    )
    index = build_index(session, account_id)
    with pytest.raises(NotIndexed, match="float64"):  # a stored value float64 does not hold
        audience.count_matching(
            session,
            index,
            rules={"type": "custom_field", "key": "spend", "operator": "gt", "value": 1},
            now=scenario.now,
        )


def test_a_field_defined_after_the_build_is_left_to_sql(session, account):
    scenario, account_id = account
    index = build_index(session, account_id)
    session.execute(
        text(
            "INSERT INTO custom_field_definition (account_id, key, label, type, choices) VALUES (:a, 'late', 'Late', 'text', '[]')"
        ),
        {"a": account_id},
    )
    with pytest.raises(NotIndexed, match="late"):
        audience.count_matching(
            session, index, rules={"type": "custom_field", "key": "late", "operator": "is_empty"}, now=scenario.now
        )


def test_erased_persons_and_cancelled_tickets_are_left_out(session, account):
    scenario, account_id = account
    everyone = {"all": []}
    buyers = {"type": "purchase", "metric": "tickets", "min": 1}
    index = build_index(session, account_id)
    assert _both(session, index, scenario, rules=everyone) == {1001, 1002}
    assert _both(session, index, scenario, rules=buyers) == {1001}
    session.execute(text("UPDATE person SET erased_at = now() WHERE account_id = :a AND id = 1002"), {"a": account_id})
    session.execute(text("UPDATE ticket SET status = 'cancelled' WHERE account_id = :a"), {"a": account_id})
    index = build_index(session, account_id)
    assert _both(session, index, scenario, rules=everyone) == {1001}
    assert _both(session, index, scenario, rules=buyers) == set()


def test_distance_on_the_bound_is_decided_as_postgresql_computes_it(session, account):
    """A radius equal to a person's computed distance: float64 arrays could round either way,
    the few persons within a hair of the bound are decided with the SQL's own steps."""
    scenario, account_id = account
    index = build_index(session, account_id)
    from domain.audience.evaluate import _haversine_sql

    exact = _haversine_sql(52.37, 4.89, 52.09, 5.12)
    for km in (exact, np.nextafter(exact, 0), np.nextafter(exact, 100)):
        rules = {"type": "distance", "km": float(km), "latitude": 52.09, "longitude": 5.12}
        found = _both(session, index, scenario, rules=rules)
        assert (1002 in found) == (float(km) >= exact)


def test_a_rebuild_gives_the_same_arrays(session, account):
    _, account_id = account
    first, second = build_index(session, account_id), build_index(session, account_id)
    left, right = dict(arrays(first)), dict(arrays(second))
    assert left.keys() == right.keys() and len(left) > 30
    for path in left:
        assert np.array_equal(left[path], right[path], equal_nan=left[path].dtype.kind == "f"), path
    assert first.nbytes > 0


def test_unique_strings_survives_nearly_sorted_input():
    """numpy 2.4's quicksort of StringDType arrays crashed the process on this shape of input (a
    sorted vocabulary with new words appended: what a catch-up combines)."""
    import random
    import string

    from domain.audience.index import STRINGS, unique_strings

    rng = random.Random(2)
    words = sorted("".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 40))) for _ in range(10_000))
    words += ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 40))) for _ in range(100)] + words[:50]
    values = np.array(words, dtype=STRINGS)
    vocabulary, inverse = unique_strings(values)
    assert vocabulary.tolist() == sorted(set(words))
    assert np.array_equal(vocabulary[inverse], values)
    empty = unique_strings(np.array([], dtype=STRINGS))
    assert len(empty[0]) == 0 and len(empty[1]) == 0
