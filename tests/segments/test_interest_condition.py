"""The segment condition "interest score on a tag at least / at most X" (SPEC 5.1 with SPEC 6),
from real interactions: scores refreshed from purchases, decayed to the moment of the count."""

from __future__ import annotations

from datetime import timedelta

import pytest
from domain import clock
from domain.errors import ErrorCode, InputError
from domain.recommendations import scoring
from domain.segments import service as segments
from domain.tags import service as tags
from tests import factories
from tests.domain.test_interest_scores import HALF_LIFE, T0, _buy, interest_shop


@pytest.fixture(autouse=True)
def _clock(runtime):
    clock.fix(T0)
    yield
    clock.fix(None)


@pytest.fixture()
def shop(session, account):
    return interest_shop(session, account)


def _ids(session, shop, rules) -> set[int]:
    return segments.matching_person_ids(session, shop["a"], rules=rules)


@pytest.fixture()
def buyers(session, shop):
    """A cabaret buyer of today (cabaret 10, theatre 5), one of a half-life ago (5, 2.5), and one
    without interactions (no scores)."""
    fresh, older, none = (factories.person(session, shop["a"]) for _ in range(3))
    _buy(session, shop, fresh.id, T0)
    _buy(session, shop, older.id, T0 - HALF_LIFE)
    scoring.refresh_interest_scores(session, shop["a"], [fresh.id, older.id, none.id])
    return fresh.id, older.id, none.id


def test_at_least_and_at_most_with_inclusive_bounds_and_no_score_as_zero(session, shop, buyers):
    fresh, older, none = buyers
    cabaret, theatre = shop["cabaret"].id, shop["theatre"].id
    assert _ids(session, shop, {"type": "interest", "tag_id": cabaret, "min": 5}) == {fresh, older}
    assert _ids(session, shop, {"type": "interest", "tag_id": cabaret, "min": 5.01}) == {fresh}
    assert _ids(session, shop, {"type": "interest", "tag_id": cabaret, "max": 5}) == {older, none}
    assert _ids(session, shop, {"type": "interest", "tag_id": cabaret, "min": 0, "max": 4.99}) == {none}
    assert _ids(session, shop, {"type": "interest", "tag_id": theatre, "min": 2.5, "max": 5}) == {fresh, older}
    assert _ids(session, shop, {"not": {"type": "interest", "tag_id": cabaret, "min": 6}}) == {older, none}


def test_the_count_decays_scores_to_its_own_moment(session, shop, buyers):
    fresh, older, _ = buyers
    rule = {"type": "interest", "tag_id": shop["cabaret"].id, "min": 5}
    assert _ids(session, shop, rule) == {fresh, older}
    clock.fix(T0 + HALF_LIFE)  # nothing refreshed: one half-life later the fresh buyer has 5, the other 2.5
    assert _ids(session, shop, rule) == {fresh}
    clock.fix(T0 + HALF_LIFE + timedelta(seconds=1))
    assert _ids(session, shop, rule) == set()


def test_a_saved_segment_counts_and_explains_the_condition(session, shop, buyers):
    fresh, _, _ = buyers
    segment = segments.create_segment(
        session, shop["a"], name="cabaret fans", rules={"type": "interest", "tag_id": shop["cabaret"].id, "min": 8}
    )
    assert segments.count_segment(session, shop["a"], segment.id) == 1
    explained = segments.explain(session, shop["a"], segment.id, fresh)
    rules = explained["levels"][0]["rules"]
    assert (explained["member"], rules.kind, rules.matched) == (True, "interest", True)
    assert rules.description == "interest in the tag 'cabaret' is at least 8 points"


@pytest.mark.parametrize(
    "condition, problem",
    [
        ({"min": -1}, (ErrorCode.OUT_OF_RANGE, ("rules", "condition", "interest", "min"))),
        ({}, (ErrorCode.REQUIRED, ("rules", "condition", "interest"))),
        ({"min": 5, "max": 4}, (ErrorCode.OUT_OF_RANGE, ("rules", "condition", "interest", "max"))),
        ({"min": "a lot"}, (ErrorCode.INVALID, ("rules", "condition", "interest", "min"))),
        ({"min": 1, "tag_id": 999_999_999}, (ErrorCode.NOT_FOUND, ("rules", "condition", "interest", "tag_id"))),
    ],
)
def test_bad_bounds_and_unknown_tags_are_refused_at_their_field(session, shop, condition, problem):
    rule = {"type": "interest", "tag_id": shop["cabaret"].id, **condition}
    with pytest.raises(InputError) as refused:
        segments.create_segment(session, shop["a"], name="bad", rules=rule)
    assert [(p.code, p.path) for p in refused.value.problems] == [problem]


def test_another_accounts_tag_is_not_found(session, shop, other_account):
    theirs = factories.tag(session, other_account.id, "theirs")
    with pytest.raises(InputError) as refused:
        segments.count_matching(session, shop["a"], rules={"type": "interest", "tag_id": theirs.id, "min": 1})
    assert refused.value.problems[0].code is ErrorCode.NOT_FOUND


def test_with_the_module_off_the_condition_is_refused(session, account):
    tag = factories.tag(session, account.id, "jazz")
    with pytest.raises(InputError) as refused:
        segments.count_matching(session, account.id, rules={"all": [{"type": "interest", "tag_id": tag.id, "min": 1}]})
    assert [(p.code, p.path) for p in refused.value.problems] == [
        (ErrorCode.MODULE_NOT_ENABLED, ("rules", "all", "0", "condition", "interest"))
    ]


def test_the_tag_cannot_be_deleted_while_named_and_a_merge_repoints_it(session, shop, buyers):
    fresh, older, _ = buyers
    alias = factories.tag(session, shop["a"], "kleinkunst")
    segment = segments.create_segment(
        session, shop["a"], name="kleinkunst fans", rules={"type": "interest", "tag_id": alias.id, "min": 1}
    )
    with pytest.raises(InputError) as refused:
        tags.delete_tag(session, shop["a"], alias.id)
    assert refused.value.problems[0].code is ErrorCode.CONFLICT
    tags.merge_tags(session, shop["a"], tag_ids=[alias.id], into_id=shop["cabaret"].id)
    session.refresh(segment)
    assert segment.rules["tag_id"] == shop["cabaret"].id
    assert segments.count_segment(session, shop["a"], segment.id) == 2
