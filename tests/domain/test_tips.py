"""Tips: ranking by interest match with reasons, what is never tipped, the cold start."""

from __future__ import annotations

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
    assert [r.tag_id for r in jazz_night.reasons] == [ctx["tags"]["jazz"].id, ctx["tags"]["music"].id]
    assert jazz_night.score == pytest.approx(sum(r.contribution for r in jazz_night.reasons))
    assert [r.tag_id for r in pop_gala.reasons] == [ctx["tags"]["music"].id]
    assert 0 < pop_gala.score < jazz_night.score
    assert ballet.score == 0 and ballet.reasons == (tips.Reason(None, 3.0),) and ballet.popularity == 3


def test_a_production_the_person_holds_a_ticket_for_is_never_tipped(session, venue_shows):
    ctx = venue_shows
    fan = factories.person(session, ctx["a"])
    _buy(session, ctx, fan.id, "Jazz night")
    scoring.refresh_interest_scores(session, ctx["a"], [fan.id])
    assert "Jazz night" not in _titles(ctx, tips.tips_for_person(session, ctx["a"], fan.id))


def test_without_scores_the_tips_are_the_popular_shows(session, venue_shows):
    ctx = venue_shows
    newcomer, buyer = factories.person(session, ctx["a"]), factories.person(session, ctx["a"])
    _buy(session, ctx, buyer.id, "Pop gala", tickets=2)
    _buy(session, ctx, buyer.id, "Ballet")
    _buy(session, ctx, buyer.id, "Jazz night", at=NOW - timedelta(days=60))  # sold too long ago to count
    found = tips.tips_for_person(session, ctx["a"], newcomer.id, first=2)
    assert _titles(ctx, found) == ["Pop gala", "Ballet"]
    assert all(t.score == 0 and t.reasons[0].tag_id is None for t in found)


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
