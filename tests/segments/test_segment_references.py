"""Segments that use other segments: each used segment is compiled once (inlined where it is used
only once, else one CTE), the compiled size is capped, and evaluation runs within a time budget."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from domain.budgets import STATEMENT_BUDGET, OverBudget, time_budget
from domain.errors import ErrorCode, InputError
from domain.segments import service as segments
from domain.tags import service as tags
from tests import factories as f


def ref(segment_id: int, member: bool = True) -> dict:
    return {"type": "segment", "segment_id": segment_id, "member": member}


@pytest.fixture()
def base(session, account):
    """Persons 0..5; tag "a" on 0, 1, 2 and tag "b" on 2, 3."""
    people = [f.person(session, account.id, first_name=f"P{i}") for i in range(6)]
    a, b = f.tag(session, account.id, "a"), f.tag(session, account.id, "b")
    tags.attach(
        session,
        account.id,
        tag_ids=[a.id],
        target=tags.TargetKind.PERSON,
        target_ids=[p.id for p in people[:3]],
        source="staff",
        actor=None,
    )
    tags.attach(
        session,
        account.id,
        tag_ids=[b.id],
        target=tags.TargetKind.PERSON,
        target_ids=[people[2].id, people[3].id],
        source="staff",
        actor=None,
    )
    has_a = segments.create_segment(session, account.id, name="has a", rules={"type": "tag", "tag_id": a.id})
    return people, a, b, has_a


def sql(session, account, rules, **kw) -> str:
    stmt = segments.member_statement(session, account.id, rules=rules, **kw)
    return str(stmt.compile(dialect=postgresql.dialect()))


def test_a_segment_used_once_is_inlined(session, account, base):
    people, a, b, has_a = base
    assert "WITH" not in sql(session, account, ref(has_a.id))
    assert segments.matching_person_ids(session, account.id, rules=ref(has_a.id)) == {p.id for p in people[:3]}


def test_a_segment_used_twice_is_one_cte(session, account, base):
    people, a, b, has_a = base
    rules = {"any": [{"all": [ref(has_a.id), {"type": "tag", "tag_id": b.id}]}, {"not": ref(has_a.id)}]}
    compiled = sql(session, account, rules)
    assert compiled.count(f"segment_{has_a.id} AS") == 1
    # (a and b) or not a: person 2, and everyone without a
    assert segments.matching_person_ids(session, account.id, rules=rules) == {
        people[2].id,
        people[3].id,
        people[4].id,
        people[5].id,
    }
    assert segments.count_matching(session, account.id, rules={"not": {"any": [ref(has_a.id), ref(has_a.id)]}}) == 3


def test_a_parent_used_elsewhere_too_is_one_cte(session, account, base):
    people, a, b, has_a = base
    child = segments.create_segment(
        session, account.id, name="a and b", parent_id=has_a.id, rules={"type": "tag", "tag_id": b.id}
    )
    rules = {"any": [ref(child.id), {"not": ref(has_a.id)}]}
    assert sql(session, account, rules).count(f"segment_{has_a.id} AS") == 1
    assert segments.matching_person_ids(session, account.id, rules=rules) == {
        people[2].id,
        people[3].id,
        people[4].id,
        people[5].id,
    }
    assert segments.count_segment(session, account.id, child.id) == 1


def test_three_levels_of_twenty_references_compile_linearly(session, account, base):
    people, a, b, has_a = base
    level = has_a
    for depth in range(1, 3):
        level = segments.create_segment(session, account.id, name=f"level {depth}", rules={"any": [ref(level.id)] * 20})
    rules = {"any": [ref(level.id)] * 20}
    stmt = segments.member_statement(session, account.id, rules=rules)
    compiled = stmt.compile(dialect=postgresql.dialect())
    assert len(compiled.params) < 200  # inlined 20 × 20 × 20 times it had 8,000 copies of the tag test
    assert segments.count_matching(session, account.id, rules=rules) == 3
    assert segments.count_segment(session, account.id, level.id) == 3


def test_two_hundred_references_count_for_the_viewer_role(gql, session, account, base):
    people, a, b, has_a = base
    from graph.core.ids import to_global_id

    condition = '{condition: {segment: {segmentId: "%s"}}}' % to_global_id("Segment", has_a.id)
    query = "{ segmentCount(input: {rules: {any: [%s]}}) }" % ", ".join([condition] * 200)
    response = gql.post(query, token=account.viewer_token)
    assert response.json() == {"data": {"segmentCount": 3}}


def test_the_compiled_size_is_capped_with_a_typed_error(session, account, base):
    people, a, b, has_a = base
    big = {"type": "text", "field": "city", "operator": "in", "values": [f"city {i}" for i in range(1000)]}
    wide = segments.create_segment(session, account.id, name="wide", rules={"any": [big] * 15})
    rules = {"all": [ref(wide.id), {"any": [{"all": [ref(wide.id), big]}] * 10}]}
    with pytest.raises(InputError) as raised:
        segments.count_matching(session, account.id, rules=rules)
    assert [(p.code, p.path) for p in raised.value.problems] == [(ErrorCode.OUT_OF_RANGE, ("rules",))]
    assert "more than 20000 conditions and values" in raised.value.problems[0].message


def test_a_statement_over_its_budget_is_cancelled_with_a_typed_error(session):
    session.info[STATEMENT_BUDGET] = 50
    with pytest.raises(OverBudget) as raised, session.begin_nested(), time_budget(session, "sleeping", "rules"):
        session.execute(text("SELECT pg_sleep(5)"))
    assert [(p.code, p.message, p.path) for p in raised.value.problems] == [
        (
            ErrorCode.TOO_COSTLY,
            "sleeping took longer than its budget of 0.05 s; narrow it down and try again",
            ("rules",),
        )
    ]
    assert session.execute(text("SELECT 1")).scalar_one() == 1  # the session goes on


def test_the_budget_is_restored_after_the_statements(session):
    before = session.execute(text("SHOW statement_timeout")).scalar_one()
    session.info[STATEMENT_BUDGET] = 1234
    with time_budget(session, "nothing"):
        assert session.execute(text("SHOW statement_timeout")).scalar_one() == "1234ms"
    assert session.execute(text("SHOW statement_timeout")).scalar_one() == before


def test_a_live_count_over_its_budget_answers_a_typed_error(gql, runtime, session, account):
    session.execute(
        text("""INSERT INTO person (account_id, first_name, city)
                            SELECT :a, 'P' || i, 'city ' || (i % 1000) FROM generate_series(1, 200000) i"""),
        {"a": account.id},
    )
    session.flush()
    import dataclasses

    runtime.settings = dataclasses.replace(runtime.settings, statement_budget_ms=1)
    query = '{ segmentCount(input: {rules: {condition: {text: {field: CITY, operator: CONTAINS, value: "y 9"}}}}) }'
    body = gql.post(query, token=account.viewer_token).json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "TOO_COSTLY"
    assert (
        body["errors"][0]["message"]
        == "counting these rules took longer than its budget of 0.001 s; narrow it down and try again"
    )
