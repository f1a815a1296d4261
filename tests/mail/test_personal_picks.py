"""Personal picks for a segment's members (a job, kept per member) and the offer e-mail that shows
each person their own, through a real SMTP server on loopback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from domain.actions import service as actions
from domain.errors import ErrorCode, InputError
from domain.integrations import service as integrations
from domain.people.consents import set_consents
from domain.people.models import ConsentType
from domain.recommendations import picks, scoring, tips
from domain.segments import service as segments
from graph.core.ids import from_global_id, to_global_id
from tests import factories as f
from tests.mail.smtp import SmtpServer
from tests.mail.test_offers import SEND, _offer_input, _run

PICKS_LAYOUT = (
    "<html><body><h1>{{ offer.title }}</h1>{{ content }}<ul>"
    "{% for pick in picks %}<li>{{ pick.title }} ({{ pick.reasons|join(', ') or 'populair' }})</li>{% endfor %}"
    '</ul><p><a href="{{ unsubscribe_url }}">Afmelden</a></p></body></html>'
)
COMPUTE = """mutation($input: ComputePersonalPicksInput!) { computePersonalPicks(input: $input) {
  ... on SegmentActionStarted { action { id kind job { id kind } } }
  ... on ComputePersonalPicksFailure { errors { code path message } } } }"""
READ = """query($id: ID!, $person: ID!) { node(id: $id) { ... on SegmentAction {
  kind personalPicks(personId: $person) { place score production { title } reasons { popular tag { name } } } } } }"""


def _noop(fraction: float, message: str = "") -> None:
    pass


def _sell(session, account_id: int, person_id: int, event_id: int, tickets: int = 1) -> None:
    order = session.execute(
        text(
            "INSERT INTO orders (account_id, person_id, channel, created_at) VALUES (:a, :p, 'online', now()) "
            "RETURNING id"
        ),
        {"a": account_id, "p": person_id},
    ).scalar_one()
    for _ in range(tickets):
        session.execute(
            text("INSERT INTO ticket (account_id, order_id, event_id, person_id, price) VALUES (:a, :o, :e, :p, 20)"),
            {"a": account_id, "o": order, "e": event_id, "p": person_id},
        )


@pytest.fixture()
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture()
def shop(session, account, smtp, runtime):
    """Anna bought an old jazz concert (a jazz interest); Bram did nothing (cold start); Zoe, not in
    the segment, bought three cabaret seats (the best seller). On sale: jazz night, cabaret evening
    and the offered show."""
    tips.clear_catalogue_cache()
    session.execute(text("UPDATE account SET modules = ARRAY['recommendations'] WHERE id = :a"), {"a": account.id})
    session.expire_all()
    consent = ConsentType(account_id=account.id, key="offers", name="Aanbiedingen")
    session.add(consent)
    session.flush()
    hall = f.venue(session, account.id, name="Grote Zaal")
    jazz, cabaret = f.tag(session, account.id, "jazz"), f.tag(session, account.id, "cabaret")
    shows = {}
    for title, tag, days in (
        ("Old jazz", jazz, -100),
        ("Jazz night", jazz, 20),
        ("Cabaret evening", cabaret, 25),
        ("De Nachtwacht", None, 30),
    ):
        show = f.production(session, account.id, title)
        if tag is not None:
            session.execute(
                text(
                    "INSERT INTO production_tag (account_id, production_id, tag_id, source) VALUES (:a, :p, :t, 'staff')"
                ),
                {"a": account.id, "p": show.id, "t": tag.id},
            )
        event = f.event(session, account.id, show.id, hall.id, starts_at=datetime.now(UTC) + timedelta(days=days))
        shows[title] = (show, event)
    anna = f.person(session, account.id, city="Utrecht", first_name="Anna", email="anna@example.nl")
    bram = f.person(session, account.id, city="Utrecht", first_name="Bram", email="bram@example.nl")
    zoe = f.person(session, account.id, city="Zeist", first_name="Zoe")
    _sell(session, account.id, anna.id, shows["Old jazz"][1].id)
    _sell(session, account.id, zoe.id, shows["Cabaret evening"][1].id, tickets=3)
    scoring.refresh_interest_scores(session, account.id, [anna.id, bram.id, zoe.id])
    for person in (anna, bram):
        set_consents(session, account.id, person.id, {consent.id: True}, source="person")
    segment = segments.create_segment(
        session,
        account.id,
        name="Utrecht",
        rules={"type": "text", "field": "city", "operator": "eq", "value": "Utrecht"},
    )
    info = integrations.find_plugin(runtime.plugins.plugin_infos(), "mailer")
    integrations.install_plugin(session, account.id, info, integrations.PluginSetup(config=smtp.config(connections=1)))
    yield {"anna": anna, "bram": bram, "segment": segment, "shows": shows, "consent": consent}
    tips.clear_catalogue_cache()


def _computed(session, runtime, account, shop, first=2):
    event = shop["shows"]["De Nachtwacht"][1]
    action = picks.start_picks(
        session, account.id, actions.Target(shop["segment"].id, ("event", event.id)), first=first
    )
    result = picks.run_picks(runtime.new_session, action.job_id, _noop)
    return action, result


def test_each_member_gets_their_own_tips_kept_and_a_retry_changes_nothing(session, runtime, account, shop):
    action, result = _computed(session, runtime, account, shop)
    assert result == {
        "members": 2,
        "with_picks": 2,
        "picks": 4,
        "without_interests": 1,
        "on_sale": 3,
        "per_member": 2,
    }
    stored = picks.member_picks(session, account.id, action.id, [shop["anna"].id, shop["bram"].id])
    title = {show.id: name for name, (show, _) in shop["shows"].items()}
    titles = {person: [title[p.production_id] for p in found] for person, found in stored.items()}
    assert titles[shop["anna"].id] == ["Jazz night", "Cabaret evening"]  # her interest first
    assert titles[shop["bram"].id] == ["Cabaret evening", "Jazz night"]  # no interests: the best seller first
    offered = shop["shows"]["De Nachtwacht"][0].id  # the offer is about it: the picks are other shows
    for person in (shop["anna"], shop["bram"]):  # otherwise the same as the person's tips right now
        now = [t.production_id for t in tips.tips_for_person(session, account.id, person.id, first=3)]
        assert [p.production_id for p in stored[person.id]] == [p for p in now if p != offered][:2]
    jazz_reason = stored[shop["anna"].id][0].reasons[0]
    assert jazz_reason[0] is not None and jazz_reason[1] > 0.5
    again = picks.run_picks(runtime.new_session, action.job_id, _noop)  # a redelivered message
    assert again == result
    assert picks.member_picks(session, account.id, action.id, [shop["anna"].id]) == {
        shop["anna"].id: stored[shop["anna"].id]
    }


def test_an_offer_shows_every_person_their_own_picks(gql, session, runtime, account, smtp, shop):
    action, _ = _computed(session, runtime, account, shop)
    layout = gql(
        """mutation($input: MailLayoutInput!) { createMailLayout(input: $input) {
          ... on MailLayoutSuccess { layout { id } } } }""",
        {"input": {"name": "Met tips", "html": PICKS_LAYOUT}},
        token=account.marketer_token,
    )["data"]["createMailLayout"]["layout"]["id"]
    event = shop["shows"]["De Nachtwacht"][1]
    started = gql(
        SEND,
        {
            "input": _offer_input(
                layout, shop["consent"], shop["segment"], event, picksActionId=to_global_id("SegmentAction", action.id)
            )
        },
        token=account.marketer_token,
    )
    job_id = from_global_id(started["data"]["sendOffer"]["action"]["job"]["id"], "Job")[1]
    assert _run(runtime, job_id)["sent"] == 2
    bodies = {m["To"]: m.get_body(("html",)).get_content() for m in smtp.sink.messages}
    assert "<li>Jazz night (jazz)</li><li>Cabaret evening (populair)</li>" in bodies["anna@example.nl"]
    assert "<li>Cabaret evening (populair)</li><li>Jazz night (populair)</li>" in bodies["bram@example.nl"]
    plain = next(m for m in smtp.sink.messages if m["To"] == "anna@example.nl").get_body(("plain",)).get_content()
    assert "Er zijn nog plaatsen." in plain


def test_an_offer_refuses_picks_that_are_not_ready_or_not_picks(gql, session, account, shop):
    event = shop["shows"]["De Nachtwacht"][1]
    queued = picks.start_picks(session, account.id, actions.Target(shop["segment"].id, ("event", event.id)))
    label = actions.start_label(
        session, account.id, actions.Target(shop["segment"].id), tag_ids=[f.tag(session, account.id, "x").id], actor="t"
    )
    layout = gql(
        """mutation($input: MailLayoutInput!) { createMailLayout(input: $input) {
          ... on MailLayoutSuccess { layout { id } } } }""",
        {"input": {"name": "Met tips", "html": PICKS_LAYOUT}},
        token=account.marketer_token,
    )["data"]["createMailLayout"]["layout"]["id"]
    for action, code in ((queued, "CONFLICT"), (label, "NOT_FOUND")):
        refused = gql(
            SEND,
            {
                "input": _offer_input(
                    layout,
                    shop["consent"],
                    shop["segment"],
                    event,
                    picksActionId=to_global_id("SegmentAction", action.id),
                )
            },
            token=account.marketer_token,
        )["data"]["sendOffer"]
        assert refused["errors"][0]["code"] == code
        assert refused["errors"][0]["path"] == ["input", "picksActionId"]


def test_through_graphql_roles_bounds_tenants_and_the_module_gate(gql, session, runtime, account, other_account, shop):
    segment = to_global_id("Segment", shop["segment"].id)
    denied = gql(COMPUTE, {"input": {"segmentId": segment}}, token=account.viewer_token)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    too_many = gql(COMPUTE, {"input": {"segmentId": segment, "first": 11}}, token=account.marketer_token)
    assert too_many["data"]["computePersonalPicks"]["errors"][0]["code"] == "OUT_OF_RANGE"
    theirs = gql(COMPUTE, {"input": {"segmentId": segment}}, token=other_account.marketer_token)
    assert theirs["data"]["computePersonalPicks"]["errors"][0]["code"] in ("NOT_FOUND", "MODULE_NOT_ENABLED")
    session.execute(
        text("UPDATE account SET modules = ARRAY['recommendations'] WHERE id = :a"), {"a": other_account.id}
    )
    theirs = gql(COMPUTE, {"input": {"segmentId": segment}}, token=other_account.marketer_token)
    assert theirs["data"]["computePersonalPicks"]["errors"][0]["code"] == "NOT_FOUND"

    started = gql(COMPUTE, {"input": {"segmentId": segment, "first": 1}}, token=account.marketer_token)
    action = started["data"]["computePersonalPicks"]["action"]
    assert (action["kind"], action["job"]["kind"]) == ("PICKS", "segment_picks")
    picks.run_picks(runtime.new_session, from_global_id(action["job"]["id"], "Job")[1], _noop)
    anna = to_global_id("Person", shop["anna"].id)
    read = gql(READ, {"id": action["id"], "person": anna}, token=account.viewer_token)["data"]["node"]
    assert read["personalPicks"] == [
        {
            "place": 1,
            "score": pytest.approx(read["personalPicks"][0]["score"]),
            "production": {"title": "Jazz night"},
            "reasons": [{"popular": False, "tag": {"name": "jazz"}}, {"popular": True, "tag": None}],
        }
    ]
    assert gql(READ, {"id": action["id"], "person": anna}, token=other_account.viewer_token)["data"]["node"] is None

    session.execute(text("UPDATE account SET modules = '{}' WHERE id = :a"), {"a": account.id})
    off = gql(COMPUTE, {"input": {"segmentId": segment}}, token=account.marketer_token)
    assert off["data"]["computePersonalPicks"]["errors"][0]["code"] == "MODULE_NOT_ENABLED"


def test_the_domain_refuses_bad_counts_and_a_module_that_is_off(session, account, shop):
    target = actions.Target(shop["segment"].id)
    for first in (0, 11, True):
        with pytest.raises(InputError) as refused:
            picks.start_picks(session, account.id, target, first=first)
        assert refused.value.problems[0].code is ErrorCode.OUT_OF_RANGE
    session.execute(text("UPDATE account SET modules = '{}' WHERE id = :a"), {"a": account.id})
    session.expire_all()
    with pytest.raises(InputError) as refused:
        picks.start_picks(session, account.id, target)
    assert refused.value.problems[0].code is ErrorCode.MODULE_NOT_ENABLED
