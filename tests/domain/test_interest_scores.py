"""Interest scores: points per kind, decay, parent share, rules, idempotency, rebuild = refresh."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from domain import clock
from domain.errors import InputError
from domain.interactions.service import Visit, record_visits
from domain.mail.links import LinkData
from domain.mail.tracking import record
from domain.recommendations import scoring
from domain.recommendations.scoring import ScoringRuleInput
from domain.tags.models import TagCategory
from tests import factories

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
HALF_LIFE = timedelta(days=180)


@pytest.fixture(autouse=True)
def _clock(runtime):
    """At T0 (after the runtime, which sets the clock from its settings)."""
    clock.fix(T0)
    yield
    clock.fix(None)


@pytest.fixture()
def shop(session, account):
    return interest_shop(session, account)


def interest_shop(session, account) -> dict:
    """An account with the module on: theatre > cabaret, a cabaret show with one event."""
    session.execute(text("UPDATE account SET modules = ARRAY['recommendations'] WHERE id = :a"), {"a": account.id})
    session.expire_all()
    theatre = factories.tag(session, account.id, "theatre")
    cabaret = factories.tag(session, account.id, "cabaret", parent_id=theatre.id)
    show = factories.production(session, account.id, "Cabaret night")
    session.execute(
        text("INSERT INTO production_tag (account_id, production_id, tag_id, source) VALUES (:a, :p, :t, 'staff')"),
        {"a": account.id, "p": show.id, "t": cabaret.id},
    )
    venue = factories.venue(session, account.id)
    event = factories.event(session, account.id, show.id, venue.id, starts_at=T0 + timedelta(days=10))
    return {"a": account.id, "theatre": theatre, "cabaret": cabaret, "show": show, "event": event}


def _buy(session, shop, person_id: int, at: datetime, *, tickets: int = 1, scanned: bool = False) -> int:
    order_id = session.execute(
        text(
            "INSERT INTO orders (account_id, person_id, channel, created_at) VALUES (:a, :p, 'online', :at) "
            "RETURNING id"
        ),
        {"a": shop["a"], "p": person_id, "at": at},
    ).scalar_one()
    for _ in range(tickets):
        session.execute(
            text(
                "INSERT INTO ticket (account_id, order_id, event_id, person_id, price, scanned_at) "
                "VALUES (:a, :o, :e, :p, 25, :scanned)"
            ),
            {"a": shop["a"], "o": order_id, "e": shop["event"].id, "p": person_id, "scanned": at if scanned else None},
        )
    return order_id


def _scores(session, shop, person_id: int) -> dict[str, float]:
    names = {shop["theatre"].id: "theatre", shop["cabaret"].id: "cabaret"}
    found = scoring.interest_profile(session, shop["a"], person_id)
    return {
        names.get(i.tag_id)
        or session.execute(text("SELECT name FROM tag WHERE id = :t"), {"t": i.tag_id}).scalar_one(): i.score
        for i in found
    }


def test_a_purchase_gives_points_on_its_tags_and_a_share_to_the_parent(session, shop):
    buyer = factories.person(session, shop["a"])
    _buy(session, shop, buyer.id, T0, tickets=3)  # three seats in one order: one purchase
    scoring.refresh_interest_scores(session, shop["a"], [buyer.id])
    assert _scores(session, shop, buyer.id) == pytest.approx({"cabaret": 10.0, "theatre": 5.0})
    counts = dict(
        session.execute(
            text("SELECT tag_id, interactions FROM interest_score WHERE account_id = :a AND person_id = :p"),
            {"a": shop["a"], "p": buyer.id},
        ).all()
    )
    assert counts == {shop["cabaret"].id: 1, shop["theatre"].id: 1}


def test_scores_decay_with_the_half_life_at_read_time(session, shop):
    buyer = factories.person(session, shop["a"])
    _buy(session, shop, buyer.id, T0 - HALF_LIFE)  # bought one half-life before the refresh
    scoring.refresh_interest_scores(session, shop["a"], [buyer.id])
    assert _scores(session, shop, buyer.id) == pytest.approx({"cabaret": 5.0, "theatre": 2.5})
    clock.fix(T0 + 2 * HALF_LIFE)  # no refresh: read later, two more half-lives
    assert _scores(session, shop, buyer.id) == pytest.approx({"cabaret": 1.25, "theatre": 0.625})


def test_attendance_and_preferences_count_with_their_own_points(session, shop):
    fan = factories.person(session, shop["a"])
    _buy(session, shop, fan.id, T0, scanned=True)  # bought and came: 10 + 5
    session.execute(
        text("INSERT INTO person_tag (account_id, person_id, tag_id, source) VALUES (:a, :p, :t, 'person')"),
        {"a": shop["a"], "p": fan.id, "t": shop["theatre"].id},
    )  # chose "theatre" in the preference centre: 8 (created now)
    session.execute(
        text("INSERT INTO person_tag (account_id, person_id, tag_id, source) VALUES (:a, :p, :t, 'staff')"),
        {"a": shop["a"], "p": fan.id, "t": shop["cabaret"].id},
    )  # a staff label is not the person's own interest
    scoring.refresh_interest_scores(session, shop["a"], [fan.id])
    assert _scores(session, shop, fan.id) == pytest.approx({"cabaret": 15.0, "theatre": 7.5 + 8.0})


def test_a_tag_reached_along_two_paths_counts_once_at_the_larger_share(session, shop):
    session.execute(
        text("INSERT INTO production_tag (account_id, production_id, tag_id, source) VALUES (:a, :p, :t, 'staff')"),
        {"a": shop["a"], "p": shop["show"].id, "t": shop["theatre"].id},
    )  # the show is tagged with both cabaret and its parent
    buyer = factories.person(session, shop["a"])
    _buy(session, shop, buyer.id, T0)
    scoring.refresh_interest_scores(session, shop["a"], [buyer.id])
    assert _scores(session, shop, buyer.id) == pytest.approx({"cabaret": 10.0, "theatre": 10.0})


def test_a_click_delivered_twice_counts_once(session, shop):
    reader = factories.person(session, shop["a"])
    link = LinkData(
        account_id=shop["a"], person_id=reader.id, action_id=None, consent_type_id=None, url="https://x.test"
    )
    session.execute(text("SELECT 1"))
    for _ in range(2):
        record(session, link, "click")
        session.execute(
            text("UPDATE interaction SET production_id = :p WHERE account_id = :a AND person_id = :r"),
            {"p": shop["show"].id, "a": shop["a"], "r": reader.id},
        )
        scoring.refresh_interest_scores(session, shop["a"], [reader.id])
    assert _scores(session, shop, reader.id) == pytest.approx({"cabaret": 2.0, "theatre": 1.0})


def test_rules_per_category_override_the_kind_which_overrides_the_default(session, shop):
    genres = TagCategory(account_id=shop["a"], name="Genres")
    session.add(genres)
    session.flush()
    session.execute(
        text("UPDATE tag SET category_id = :c WHERE account_id = :a AND id = :t"),
        {"c": genres.id, "a": shop["a"], "t": shop["cabaret"].id},
    )
    buyer = factories.person(session, shop["a"])
    _buy(session, shop, buyer.id, T0 - timedelta(days=30))
    rules = scoring.set_scoring_rules(
        session,
        shop["a"],
        half_life_days=30,
        parent_share=0.25,
        rules=[ScoringRuleInput("purchase", 4.0), ScoringRuleInput("purchase", 40.0, genres.id)],
    )
    assert rules.points("purchase", genres.id) == 40.0
    assert rules.points("purchase") == 4.0
    assert rules.points("click") == scoring.DEFAULT_POINTS["click"]
    scoring.refresh_interest_scores(session, shop["a"], [buyer.id])
    # cabaret is a genre: 40, one half-life (30 days) ago; theatre gets a quarter of what cabaret got
    assert _scores(session, shop, buyer.id) == pytest.approx({"cabaret": 20.0, "theatre": 5.0})


def test_bad_rules_are_refused_with_their_fields_and_nothing_changes(session, shop, other_account):
    foreign = TagCategory(account_id=other_account.id, name="Theirs")
    session.add(foreign)
    session.flush()
    with pytest.raises(InputError) as refused:
        scoring.set_scoring_rules(
            session,
            shop["a"],
            half_life_days=0,
            parent_share=1.5,
            rules=[
                ScoringRuleInput("purchase", 5.0),
                ScoringRuleInput("purchase", 6.0),
                ScoringRuleInput("dance", 1.0),
                ScoringRuleInput("click", -1.0),
                ScoringRuleInput("open", 1.0, foreign.id),
            ],
        )
    paths = {p.path for p in refused.value.problems}
    assert paths == {
        ("half_life_days",),
        ("parent_share",),
        ("rules", "1"),
        ("rules", "2", "kind"),
        ("rules", "3", "points"),
        ("rules", "4", "tag_category_id"),
    }
    current = scoring.scoring_rules(session, shop["a"])
    assert (current.half_life_days, current.parent_share, current.rules) == (180.0, 0.5, ())


def _stored(session, person_id: int) -> dict[int, tuple]:
    rows = session.execute(
        text("SELECT tag_id, value, interactions, last_at FROM interest_score WHERE person_id = :p"), {"p": person_id}
    )
    return {r.tag_id: (r.value, r.interactions, r.last_at) for r in rows}


def test_folding_new_visits_gives_the_numbers_a_full_refresh_gives(session, shop):
    """Visits recorded over weeks, each batch folded into the stored scores at its own moment
    (some visits older than the score they are folded into, one on a tag page, one sent twice),
    end with exactly the scores computed from everything at once."""
    fan = factories.person(session, shop["a"])
    _buy(session, shop, fan.id, T0 - timedelta(days=30))
    scoring.refresh_interest_scores(session, shop["a"], [fan.id])
    moments = [T0 + timedelta(days=d) for d in (0, 3, 40, 41, 200)]
    for n, moment in enumerate(moments):
        clock.fix(moment)
        batch = [
            Visit(fan.id, f"show-{n}", moment - timedelta(days=n * 7), production_id=shop["show"].id),
            Visit(fan.id, f"page-{n}", moment - timedelta(hours=1), tag_id=shop["theatre"].id),
            Visit(fan.id, "show-0", moment, production_id=shop["show"].id),  # the first batch's again
        ][: 3 if n else 2]
        recorded = record_visits(session, shop["a"], batch)
        assert (recorded.recorded, recorded.duplicates) == (2, 1 if n else 0)
    folded = _stored(session, fan.id)
    scoring.refresh_interest_scores(session, shop["a"], [fan.id])  # everything again, at the last moment
    refreshed = _stored(session, fan.id)
    assert folded.keys() == refreshed.keys() == {shop["cabaret"].id, shop["theatre"].id}
    for tag_id, (value, interactions, last_at) in refreshed.items():
        assert (folded[tag_id][1], folded[tag_id][2]) == (interactions, last_at)
        assert folded[tag_id][0] == pytest.approx(value, rel=1e-12)
    assert refreshed[shop["cabaret"].id][1] == 6  # the purchase and five show visits


def test_the_trend_is_the_score_now_minus_the_score_thirty_days_ago(session, shop):
    fading, growing = factories.person(session, shop["a"]), factories.person(session, shop["a"])
    for person in (fading, growing):
        _buy(session, shop, person.id, T0 - timedelta(days=100))
    scoring.refresh_interest_scores(session, shop["a"], [fading.id, growing.id])
    visits = [Visit(growing.id, f"v{n}", T0 - timedelta(days=5), production_id=shop["show"].id) for n in range(3)]
    record_visits(session, shop["a"], visits)
    cabaret = {
        p: next(i for i in scoring.interest_profile(session, shop["a"], p) if i.tag_id == shop["cabaret"].id)
        for p in (fading.id, growing.id)
    }

    def decay(days: float) -> float:
        return 2 ** (-days / 180)

    assert cabaret[fading.id].trend == pytest.approx(10 * decay(100) - 10 * decay(70))  # fading: nothing new
    assert cabaret[growing.id].trend == pytest.approx(10 * decay(100) + 3 * decay(5) - 10 * decay(70))
    assert cabaret[fading.id].trend < 0 < cabaret[growing.id].trend


def test_a_rebuild_gives_the_numbers_the_refreshes_gave(session, shop, runtime):
    buyers = [factories.person(session, shop["a"]) for _ in range(4)]
    for n, buyer in enumerate(buyers):
        _buy(session, shop, buyer.id, T0 - timedelta(days=40 * n), scanned=n % 2 == 0)
        clock.fix(T0 + timedelta(days=n))  # refreshed one by one, a day apart
        scoring.refresh_interest_scores(session, shop["a"], [buyer.id])
    clock.fix(T0 + timedelta(days=10))
    before = {b.id: _scores(session, shop, b.id) for b in buyers}
    session.flush()
    result = scoring.rebuild_interest_scores(runtime.session_factory, shop["a"])
    assert result == scoring.RebuildResult(persons=4, scores=8)
    after = {b.id: _scores(session, shop, b.id) for b in buyers}
    assert after.keys() == before.keys()
    for person_id, scores in before.items():
        assert after[person_id] == pytest.approx(scores, rel=1e-9)


def test_a_rule_change_followed_by_a_rebuild_changes_the_scores(session, shop, runtime):
    buyer = factories.person(session, shop["a"])
    _buy(session, shop, buyer.id, T0)
    scoring.refresh_interest_scores(session, shop["a"], [buyer.id])
    scoring.set_scoring_rules(
        session, shop["a"], half_life_days=180, parent_share=0.0, rules=[ScoringRuleInput("purchase", 3.0)]
    )
    assert _scores(session, shop, buyer.id) == pytest.approx({"cabaret": 10.0, "theatre": 5.0})  # until rescored
    scoring.rebuild_interest_scores(runtime.session_factory, shop["a"])
    assert _scores(session, shop, buyer.id) == pytest.approx({"cabaret": 3.0})


def test_a_cancelled_order_takes_its_points_away(session, shop):
    buyer = factories.person(session, shop["a"])
    order_id = _buy(session, shop, buyer.id, T0)
    scoring.refresh_interest_scores(session, shop["a"], [buyer.id])
    session.execute(
        text("UPDATE orders SET status = 'cancelled' WHERE account_id = :a AND id = :o"),
        {"a": shop["a"], "o": order_id},
    )
    scoring.refresh_interest_scores(session, shop["a"], [buyer.id])
    assert _scores(session, shop, buyer.id) == {}


def test_with_the_module_off_nothing_is_scored_and_reading_is_refused(session, account, runtime):
    person = factories.person(session, account.id)
    assert scoring.refresh_interest_scores(session, account.id, [person.id]) == 0
    with pytest.raises(InputError) as refused:
        scoring.interest_profile(session, account.id, person.id)
    assert "not enabled" in str(refused.value)
    with pytest.raises(InputError):
        scoring.rebuild_interest_scores(runtime.session_factory, account.id)


def test_another_accounts_interactions_never_reach_a_score(session, shop, other_account):
    theirs = factories.person(session, other_account.id)
    mine = factories.person(session, shop["a"])
    session.execute(
        text("UPDATE account SET modules = ARRAY['recommendations'] WHERE id = :a"), {"a": other_account.id}
    )
    _buy(session, shop, mine.id, T0)
    scoring.refresh_interest_scores(session, other_account.id, [mine.id, theirs.id])  # my person, their account
    assert session.execute(text("SELECT count(*) FROM interest_score")).scalar_one() == 0


def test_a_feed_import_scores_the_buyers_it_wrote(session, shop, runtime):
    from domain.imports.importer import run_import
    from domain.imports.readers import read_jsonl
    from tests.imports import feeds

    items = [
        {"type": "venue", "id": "V", "name": "Grote Zaal"},
        {"type": "production", "id": "P", "title": "Dance!", "tags": ["dance"]},
        {"type": "event", "id": "E", "production": "P", "venue": "V", "starts_at": "2026-03-01T20:00:00Z"},
        {"type": "person", "id": "C1", "email": "c1@example.nl"},
        {
            "type": "order",
            "id": "O1",
            "person": "C1",
            "created_at": "2026-01-01T12:00:00Z",
            "tickets": [{"id": "T1", "event": "E", "price": "20.00"}],
        },
    ]
    run_import(runtime.new_session, shop["a"], read_jsonl(feeds.jsonl(items)))
    buyer = session.execute(
        text("SELECT person_id FROM person_identity WHERE account_id = :a AND external_id = 'C1'"), {"a": shop["a"]}
    ).scalar_one()
    assert _scores(session, shop, buyer) == pytest.approx({"dance": 10.0})
    items[-1]["status"] = "cancelled"  # the order is cancelled in the next delivery
    run_import(runtime.new_session, shop["a"], read_jsonl(feeds.jsonl(items)))
    assert _scores(session, shop, buyer) == {}


def test_a_merge_moves_the_interactions_and_scores_the_survivor(session, shop):
    from domain.people.merge import merge_persons

    survivor, merged = factories.person(session, shop["a"]), factories.person(session, shop["a"])
    session.execute(
        text(
            "INSERT INTO interaction (account_id, person_id, kind, occurred_at, production_id, idempotency_key) "
            "VALUES (:a, :p, 'visit', :at, :show, 'visit-1')"
        ),
        {"a": shop["a"], "p": merged.id, "at": T0, "show": shop["show"].id},
    )
    scoring.refresh_interest_scores(session, shop["a"], [merged.id])
    record = merge_persons(session, shop["a"], survivor.id, merged.id)
    assert record.moved["interactions"] == 1
    assert _scores(session, shop, survivor.id) == pytest.approx({"cabaret": 1.0, "theatre": 0.5})


def test_the_rescore_job_scores_the_account_again(session, shop, runtime):
    from domain.jobs_state.models import Job
    from jobs.actors import _rescore_interests_work
    from marquee.runtime import set_runtime

    buyer = factories.person(session, shop["a"])
    _buy(session, shop, buyer.id, T0)
    job = scoring.start_rescore(session, shop["a"])
    assert job.kind == scoring.RESCORE_JOB
    session.flush()
    set_runtime(runtime)
    try:
        result = _rescore_interests_work(session.get(Job, (shop["a"], job.id)), lambda *_: None)
    finally:
        set_runtime(None)
    assert result == {"persons": 1, "scores": 2}
    assert _scores(session, shop, buyer.id) == pytest.approx({"cabaret": 10.0, "theatre": 5.0})


def _stale(session, account_id: int):
    return session.execute(text("SELECT scores_stale_since FROM account WHERE id = :a"), {"a": account_id}).scalar_one()


def _rescores(session, account_id: int) -> int:
    return session.execute(
        text("SELECT count(*) FROM job WHERE account_id = :a AND kind = 'rescore_interests'"), {"a": account_id}
    ).scalar_one()


def test_changed_catalogue_tagging_marks_the_scores_stale_and_the_tick_queues_one_rescore(session, shop):
    assert _stale(session, shop["a"]) is not None  # the fixture tagged its show
    session.execute(text("UPDATE account SET scores_stale_since = NULL WHERE id = :a"), {"a": shop["a"]})
    other = factories.tag(session, shop["a"], "musical")
    assert _stale(session, shop["a"]) is None  # a new tag alone changes no score
    session.execute(
        text("INSERT INTO production_tag (account_id, production_id, tag_id, source) VALUES (:a, :p, :t, 'staff')"),
        {"a": shop["a"], "p": shop["show"].id, "t": other.id},
    )
    marked = _stale(session, shop["a"])
    assert marked is not None
    session.execute(text("UPDATE tag SET parent_id = :p WHERE id = :t"), {"p": shop["theatre"].id, "t": other.id})
    assert _stale(session, shop["a"]) == marked  # kept from the first change: settling counts from it

    assert scoring.queue_stale_rescores(session) == []  # not settled yet (two minutes)
    queued = scoring.queue_stale_rescores(session, settle_seconds=0)
    assert [(j.account_id, j.kind) for j in queued] == [(shop["a"], "rescore_interests")]
    assert _stale(session, shop["a"]) is None
    session.execute(text("UPDATE tag SET note = 'x' WHERE id = :t"), {"t": other.id})
    assert _stale(session, shop["a"]) is None  # a note says nothing about interests

    session.execute(
        text("DELETE FROM production_tag WHERE account_id = :a AND tag_id = :t"), {"a": shop["a"], "t": other.id}
    )
    assert _stale(session, shop["a"]) is not None
    assert scoring.queue_stale_rescores(session, settle_seconds=0) == []  # the first rescore is still queued
    assert _stale(session, shop["a"]) is None and _rescores(session, shop["a"]) == 1

    session.execute(text("UPDATE account SET modules = '{}' WHERE id = :a"), {"a": shop["a"]})
    session.execute(
        text("INSERT INTO production_tag (account_id, production_id, tag_id, source) VALUES (:a, :p, :t, 'staff')"),
        {"a": shop["a"], "p": shop["show"].id, "t": other.id},
    )
    assert _stale(session, shop["a"]) is None  # the module off: nothing is scored, nothing goes stale


def test_the_scheduler_tick_queues_the_rescore_of_a_settled_account(session, shop, runtime, monkeypatch):
    from jobs.scheduler import tick

    session.execute(text("UPDATE account SET scores_stale_since = NULL WHERE id = :a"), {"a": shop["a"]})
    session.execute(
        text("DELETE FROM production_tag WHERE account_id = :a AND tag_id = :t"),
        {"a": shop["a"], "t": shop["cabaret"].id},
    )
    assert tick(runtime.new_session) == 0  # changed just now: not settled
    monkeypatch.setattr(scoring, "SETTLE_SECONDS", 0)
    assert tick(runtime.new_session) == 1
    assert _rescores(session, shop["a"]) == 1 and _stale(session, shop["a"]) is None
