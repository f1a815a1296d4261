"""Tips: ranking by interest match with reasons, what is never tipped, the cold start."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from domain import clock
from domain.errors import InputError
from domain.recommendations import scoring, tips
from tests import factories

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture()
def venue_shows(session, account, runtime):
    clock.fix(NOW)
    a = account.id
    session.execute(text("UPDATE account SET modules = ARRAY['recommendations'] WHERE id = :a"), {"a": a})
    session.expire_all()
    music = factories.tag(session, a, "music")
    jazz = factories.tag(session, a, "jazz", parent_id=music.id)
    pop = factories.tag(session, a, "pop", parent_id=music.id)
    dance = factories.tag(session, a, "dance")
    hall = factories.venue(session, a)
    shows = {}
    for title, tag, days, capacity, status in [
        ("Jazz night", jazz, 10, None, "scheduled"),
        ("Pop gala", pop, 20, None, "scheduled"),
        ("Ballet", dance, 5, None, "scheduled"),
        ("Old jazz", jazz, -3, None, "scheduled"),  # over
        ("Jazz cancelled", jazz, 12, None, "cancelled"),
        ("Jazz sold out", jazz, 15, 1, "scheduled"),
    ]:
        show = factories.production(session, a, title)
        session.execute(
            text("INSERT INTO production_tag (account_id, production_id, tag_id, source) VALUES (:a, :p, :t, 'staff')"),
            {"a": a, "p": show.id, "t": tag.id},
        )
        event = factories.event(session, a, show.id, hall.id, starts_at=NOW + timedelta(days=days))
        session.execute(
            text("UPDATE event SET capacity = :c, status = :s WHERE account_id = :a AND id = :e"),
            {"c": capacity, "s": status, "a": a, "e": event.id},
        )
        shows[title] = (show, event)
    yield {"a": a, "shows": shows, "tags": {"music": music, "jazz": jazz, "pop": pop, "dance": dance}}
    clock.fix(None)


def _buy(session, ctx, person_id: int, title: str, *, at: datetime = NOW - timedelta(days=1), tickets: int = 1):
    show, event = ctx["shows"][title]
    order = session.execute(
        text(
            "INSERT INTO orders (account_id, person_id, channel, created_at) VALUES (:a, :p, 'online', :at) RETURNING id"
        ),
        {"a": ctx["a"], "p": person_id, "at": at},
    ).scalar_one()
    for _ in range(tickets):
        session.execute(
            text("INSERT INTO ticket (account_id, order_id, event_id, person_id, price) VALUES (:a, :o, :e, :p, 20)"),
            {"a": ctx["a"], "o": order, "e": event.id, "p": person_id},
        )


def _titles(ctx, found) -> list[str]:
    names = {show.id: title for title, (show, _) in ctx["shows"].items()}
    return [names[t.production_id] for t in found]


def test_tips_follow_the_interests_with_their_reasons_and_skip_what_cannot_be_bought(session, venue_shows):
    ctx = venue_shows
    fan, other = factories.person(session, ctx["a"]), factories.person(session, ctx["a"])
    _buy(session, ctx, other.id, "Jazz sold out")  # fills its one seat
    _buy(session, ctx, other.id, "Ballet", tickets=3)  # the popular one
    _buy(session, ctx, fan.id, "Old jazz", at=NOW - timedelta(days=30))  # the fan's history: jazz
    scoring.refresh_interest_scores(session, ctx["a"], [fan.id])
    found = tips.tips_for_person(session, ctx["a"], fan.id, first=10)
    # jazz matches best; pop shares the parent "music"; ballet matches nothing and comes by popularity
    assert _titles(ctx, found) == ["Jazz night", "Pop gala", "Ballet"]
    jazz_night, pop_gala, ballet = found
    assert [r.tag_id for r in jazz_night.reasons] == [ctx["tags"]["jazz"].id, ctx["tags"]["music"].id, None]
    assert jazz_night.score == pytest.approx(sum(r.contribution for r in jazz_night.reasons))
    # jazz is 2/3 of the fan's interest and jazz night its only open show; music (1/3) is shared with
    # the pop gala; a tenth of every score is popularity (sales + 1: ballet 4, the others 1 each)
    assert jazz_night.score == pytest.approx(0.9 * (2 / 3 + 1 / 6) + 0.1 * 1 / 6)
    assert [r.tag_id for r in pop_gala.reasons] == [ctx["tags"]["music"].id, None]
    assert pop_gala.score == pytest.approx(0.9 * 1 / 6 + 0.1 * 1 / 6)
    assert ballet.reasons == (tips.Reason(None, pytest.approx(0.1 * 4 / 6)),) and ballet.popularity == 3


def test_a_production_the_person_holds_a_ticket_for_is_never_tipped(session, venue_shows):
    ctx = venue_shows
    fan = factories.person(session, ctx["a"])
    _buy(session, ctx, fan.id, "Jazz night")
    scoring.refresh_interest_scores(session, ctx["a"], [fan.id])
    assert "Jazz night" not in _titles(ctx, tips.tips_for_person(session, ctx["a"], fan.id))


def test_without_scores_the_tips_are_the_best_selling_shows(session, venue_shows):
    ctx = venue_shows
    newcomer, buyer = factories.person(session, ctx["a"]), factories.person(session, ctx["a"])
    _buy(session, ctx, buyer.id, "Pop gala", tickets=3)
    _buy(session, ctx, buyer.id, "Ballet")
    _buy(session, ctx, buyer.id, "Jazz night", at=NOW - timedelta(days=60), tickets=2)  # sold early: counts
    found = tips.tips_for_person(session, ctx["a"], newcomer.id, first=2)
    assert _titles(ctx, found) == ["Pop gala", "Jazz night"]
    assert [t.popularity for t in found] == [3, 0]  # the last 30 days' sales, as shown
    assert all(len(t.reasons) == 1 and t.reasons[0].tag_id is None for t in found)


def test_tips_need_the_module_a_known_person_and_a_sane_size(session, venue_shows, other_account):
    ctx = venue_shows
    stranger = factories.person(session, other_account.id)
    with pytest.raises(InputError) as missing:
        tips.tips_for_person(session, ctx["a"], stranger.id)
    assert missing.value.problems[0].path == ("person_id",)
    with pytest.raises(InputError):
        tips.tips_for_person(session, ctx["a"], stranger.id, first=0)
    session.execute(text("UPDATE account SET modules = '{}' WHERE id = :a"), {"a": ctx["a"]})
    session.expire_all()
    with pytest.raises(InputError) as off:
        tips.tips_for_person(session, ctx["a"], stranger.id)
    assert off.value.problems[0].code.name == "MODULE_NOT_ENABLED"


def test_quality_measures_on_a_hand_made_case():
    from domain.recommendations.evaluation import measure

    rankings = {1: [10, 11, 12], 2: [12, 13, 14]}
    relevant = {1: {11}, 2: {99, 98}}
    quality = measure(rankings, relevant, candidates=10, k=3)
    assert quality.hit_rate == 0.5
    assert quality.recall == 0.5  # all of one person's, none of the other's
    assert quality.ndcg == pytest.approx((1 / math.log2(3)) / 2)
    assert quality.coverage == 0.5


def test_nothing_after_the_cut_off_reaches_what_is_learnt(session, venue_shows):
    from domain.recommendations.evaluation import evaluate

    ctx = venue_shows
    fan, crowd = factories.person(session, ctx["a"]), factories.person(session, ctx["a"])
    cutoff = NOW - timedelta(days=2)
    _buy(session, ctx, fan.id, "Old jazz", at=cutoff - timedelta(days=5))  # learnt: jazz
    _buy(session, ctx, fan.id, "Ballet", at=cutoff + timedelta(hours=1))  # after the cut-off: not learnt
    _buy(session, ctx, fan.id, "Jazz night", at=cutoff + timedelta(hours=2))  # what the tips should find
    _buy(session, ctx, crowd.id, "Pop gala", at=cutoff - timedelta(days=1), tickets=4)  # popular before
    _buy(session, ctx, crowd.id, "Ballet", at=cutoff + timedelta(hours=3), tickets=9)  # popular only after
    learnt = scoring.scores_as_of(session, ctx["a"], [fan.id], cutoff)[fan.id]
    assert set(learnt) == {ctx["tags"]["jazz"].id, ctx["tags"]["music"].id}  # no "dance" from the ballet
    catalogue = tips.load_catalogue(session, ctx["a"], cutoff)
    names = {show.id: title for title, (show, _) in ctx["shows"].items()}
    assert names[catalogue.popular[0]] == "Pop gala"  # the ballet's later sales are not counted
    assert "Jazz sold out" in {names[p] for p in catalogue.profiles}  # its one seat went after the cut-off
    assert tips.held_productions(session, ctx["a"], [fan.id], before=cutoff)[fan.id] == {ctx["shows"]["Old jazz"][0].id}
    result = evaluate(session, ctx["a"], cutoff, persons=10)
    assert result.persons == 2  # the fan (ballet, jazz night) and the crowd (ballet)
    assert result.tips.hit_rate == 1.0 and result.popularity.hit_rate == 1.0  # four candidates fit in ten


def test_a_tag_that_says_nothing_about_taste_learns_no_weight(session, venue_shows):
    ctx = venue_shows
    a = ctx["a"]
    label = factories.tag(session, a, "red label")  # on one jazz and one dance show: says nothing about taste
    for title in ("Jazz night", "Ballet"):
        session.execute(
            text("INSERT INTO production_tag (account_id, production_id, tag_id, source) VALUES (:a, :p, :t, 'staff')"),
            {"a": a, "p": ctx["shows"][title][0].id, "t": label.id},
        )
    for n in range(80):  # jazz fans buy two jazz shows, dance fans a ballet and the pop gala
        fan = factories.person(session, a)
        first, second = ("Jazz night", "Old jazz") if n % 2 else ("Ballet", "Pop gala")
        _buy(session, ctx, fan.id, first)
        _buy(session, ctx, fan.id, second)
    lifts = tips.learn_tag_lifts(session, a)
    assert lifts[ctx["tags"]["jazz"].id][0] > 1.5
    assert lifts[label.id][0] <= 1.0  # holders' other shows carry it less often than shows do overall
    assert tips.informativeness(lifts[label.id][0]) == 0.0
    assert tips.informativeness(None) == 1.0  # not learnt yet: counts fully
    assert tips.store_tag_lifts(session, a) == len(lifts)
    stored = dict(session.execute(text("SELECT tag_id, lift FROM tag_lift WHERE account_id = :a"), {"a": a}).all())
    assert stored == pytest.approx({t: lift for t, (lift, _) in lifts.items()})
