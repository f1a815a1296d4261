"""Offer e-mails through a real SMTP server on loopback: the right persons get exactly one mail,
consent is checked at send time, one-click unsubscribe works, clicks and opens are recorded
once, and bad input is refused with nothing sent or written."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from domain.actions import service as actions
from domain.integrations import service as integrations
from domain.mail import offers
from domain.mail.links import Links
from domain.people.consents import set_consents
from domain.people.models import ConsentType
from domain.segments import service as segments
from graph.core.ids import from_global_id, to_global_id
from tests import factories as f
from tests.mail.smtp import SmtpServer

LAYOUT = (
    "<html><body><h1>{{ offer.title }}</h1>{{ content }}"
    '<p><a href="{{ offer.url }}">Bestel</a> · <a href="{{ link(\'https://venue.example/agenda\') }}">Agenda</a></p>'
    '<p><a href="{{ unsubscribe_url }}">Afmelden</a></p></body></html>'
)
CREATE_LAYOUT = """mutation($input: MailLayoutInput!) { createMailLayout(input: $input) {
  ... on MailLayoutSuccess { layout { id name } }
  ... on CreateMailLayoutFailure { errors { code path message } } } }"""
SEND = """mutation($input: SendOfferInput!) { sendOffer(input: $input) {
  ... on SegmentActionStarted { action { id kind mode job { id kind } } }
  ... on SendOfferFailure { errors { code path message } } } }"""
LEDGER = """query($id: ID!) { node(id: $id) { ... on SegmentAction {
  sendCounts { pending sent skippedNoConsent skippedNoAddress failed unknown }
  sends(first: 10) { edges { node { status reason email person { firstName } } } } } } }"""


def _noop(fraction: float, message: str = "") -> None:
    pass


@pytest.fixture()
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture()
def venue(session, account, smtp, runtime):
    offers_consent = ConsentType(account_id=account.id, key="offers", name="Aanbiedingen")
    session.add(offers_consent)
    session.flush()
    names = ["Anna", "Bram", "Cor", "Dirk"]
    persons = {
        n: f.person(session, account.id, city="Utrecht", first_name=n, email=f"{n.lower()}@example.nl") for n in names
    }
    persons["Eva"] = f.person(session, account.id, city="Utrecht", first_name="Eva", email=None)
    f.person(session, account.id, city="Zeist", first_name="Zoe")  # not in the segment
    for name in ("Anna", "Bram", "Dirk", "Eva"):
        set_consents(session, account.id, persons[name].id, {offers_consent.id: True}, source="person")
    production = f.production(session, account.id, "De Nachtwacht")
    event = f.event(session, account.id, production.id, f.venue(session, account.id, name="Grote Zaal").id)
    segment = segments.create_segment(
        session,
        account.id,
        name="Utrecht",
        rules={"type": "text", "field": "city", "operator": "eq", "value": "Utrecht"},
    )
    info = integrations.find_plugin(runtime.plugins.plugin_infos(), "mailer")
    integrations.install_plugin(session, account.id, info, integrations.PluginSetup(config=smtp.config(connections=1)))
    return persons, offers_consent, production, event, segment


def _layout(gql, account) -> str:
    created = gql(CREATE_LAYOUT, {"input": {"name": "Huisstijl", "html": LAYOUT}}, token=account.marketer_token)
    return created["data"]["createMailLayout"]["layout"]["id"]


def _offer_input(layout_id, consent, segment, event, **changes) -> dict:
    return {
        "segmentId": to_global_id("Segment", segment.id),
        "mode": {"eventId": to_global_id("Event", event.id)},
        "layoutId": layout_id,
        "consentTypeId": to_global_id("ConsentType", consent.id),
        "subject": "Voor jou, {{ person.first_name }}: {{ offer.title }}",
        "text": "Beste {{ person.first_name }},\n\nEr zijn nog plaatsen.",
        "offerUrl": "https://venue.example/nachtwacht",
        **changes,
    }


def _run(runtime, job_id):
    return offers.run_offer(
        runtime.new_session,
        job_id,
        mailers=runtime.plugins.mailers(),
        infos=runtime.plugins.plugin_infos(),
        links=Links(runtime.settings.secret_key, runtime.settings.base_url),
        progress=_noop,
    )


def test_an_offer_reaches_exactly_the_consenting_members_once_with_a_working_unsubscribe(
    gql, runtime, session, account, smtp, venue
):
    persons, consent, production, event, segment = venue
    started = gql(
        SEND, {"input": _offer_input(_layout(gql, account), consent, segment, event)}, token=account.marketer_token
    )
    action = started["data"]["sendOffer"]["action"]
    assert action["kind"] == "OFFER" and action["mode"] == "EVENT" and action["job"]["kind"] == "send_offer"
    action_id, job_id = from_global_id(action["id"], "SegmentAction")[1], from_global_id(action["job"]["id"], "Job")[1]

    with runtime.new_session() as s, s.begin():  # the snapshot is taken; then Dirk withdraws
        actions.take_snapshot(s, actions.action_of_job(s, job_id, lock=True))
    set_consents(session, account.id, persons["Dirk"].id, {consent.id: False}, source="person")

    result = _run(runtime, job_id)
    assert (result["members"], result["sent"], result["skipped_no_consent"], result["skipped_no_address"]) == (
        5,
        2,
        2,
        1,
    )
    assert sorted(smtp.sink.to()) == ["anna@example.nl", "bram@example.nl"]
    mail = next(m for m in smtp.sink.messages if m["To"] == "anna@example.nl")
    assert mail["Subject"] == "Voor jou, Anna: De Nachtwacht"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["Message-ID"] == f"<offer.{action_id}.{persons['Anna'].id}.{account.id}@example.nl>"
    assert "Stadsschouwburg" in mail["From"] and "theater@example.nl" in mail["From"]
    html = mail.get_body(("html",)).get_content()
    assert "<p>Beste Anna,</p>" in html and "<h1>De Nachtwacht</h1>" in html
    assert "Beste Anna," in mail.get_body(("plain",)).get_content()

    # Sending again (a redelivered message) sends nobody a second mail.
    assert _run(runtime, job_id)["sent"] == 2 and len(smtp.sink.messages) == 2

    # The mailbox provider's one-click POST: no login, no cookie; the consent is withdrawn, source recorded.
    unsubscribe = urlsplit(mail["List-Unsubscribe"].strip("<>"))
    looked = gql.http.get(unsubscribe.path)
    assert looked.status_code == 200 and "Aanbiedingen" in looked.text and "<form" in looked.text
    state = (
        "SELECT granted, source FROM person_consent WHERE account_id = :a AND person_id = :p AND consent_type_id = :c"
    )
    values = {"a": account.id, "p": persons["Anna"].id, "c": consent.id}
    assert session.execute(text(state), values).one() == (True, "person")  # looking changed nothing
    done = gql.http.post(
        unsubscribe.path,
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200 and "Afgemeld" in done.text
    assert session.execute(text(state), values).one() == (False, "unsubscribe")
    assert gql.http.get(unsubscribe.path[:-3] + "abc").status_code == 404  # a changed token

    # Links are tracked: the click is recorded once and forwards; the pixel records the open once.
    offer_link = urlsplit(html.split('href="')[1].split('"')[0])
    for _ in range(2):
        forwarded = gql.http.get(offer_link.path, follow_redirects=False)
        assert forwarded.status_code == 302 and forwarded.headers["location"] == "https://venue.example/nachtwacht"
    pixel = urlsplit(html.split('<img src="')[1].split('"')[0])
    assert gql.http.get(pixel.path).headers["content-type"] == "image/gif"
    gql.http.get(pixel.path)
    recorded = session.execute(
        text("SELECT kind, url, production_id, event_id FROM interaction WHERE account_id = :a ORDER BY kind"),
        {"a": account.id},
    ).all()
    assert recorded == [
        ("click", "https://venue.example/nachtwacht", production.id, event.id),
        ("open", None, production.id, event.id),
    ]

    ledger = gql(LEDGER, {"id": action["id"]}, token=account.viewer_token)["data"]["node"]
    assert ledger["sendCounts"] == {
        "pending": 0, "sent": 2, "skippedNoConsent": 2, "skippedNoAddress": 1, "failed": 0, "unknown": 0
    }  # fmt: skip
    statuses = {
        e["node"]["person"]["firstName"]: (e["node"]["status"], e["node"]["reason"]) for e in ledger["sends"]["edges"]
    }
    assert statuses == {
        "Anna": ("SENT", None),
        "Bram": ("SENT", None),
        "Cor": ("SKIPPED", "no_consent"),
        "Dirk": ("SKIPPED", "no_consent"),
        "Eva": ("SKIPPED", "no_address"),
    }


def test_a_throttling_server_is_waited_for_and_a_refused_address_is_failed(
    gql, runtime, session, account, smtp, venue, monkeypatch
):
    persons, consent, _, event, segment = venue
    monkeypatch.setattr(offers, "BACKOFF", (0.05,) * 6)
    smtp.sink.throttle_first = 2  # 451 twice
    smtp.sink.refuse = {"bram@example.nl"}  # 550
    started = gql(
        SEND, {"input": _offer_input(_layout(gql, account), consent, segment, event)}, token=account.marketer_token
    )
    job_id = from_global_id(started["data"]["sendOffer"]["action"]["job"]["id"], "Job")[1]
    result = _run(runtime, job_id)
    assert (result["sent"], result["failed"]) == (2, 1)  # Anna and Dirk; Bram refused for good
    assert sorted(smtp.sink.to()) == ["anna@example.nl", "dirk@example.nl"]
    reason = session.execute(
        text("SELECT reason FROM mail_send WHERE account_id = :a AND person_id = :p"),
        {"a": account.id, "p": persons["Bram"].id},
    ).scalar_one()
    assert reason.startswith("550")


def test_offers_refuse_bad_input_and_send_nothing(gql, runtime, session, account, other_account, smtp, venue):
    persons, consent, _, event, segment = venue
    layout_id = _layout(gql, account)
    foreign_consent = ConsentType(account_id=other_account.id, key="x", name="X")
    session.add(foreign_consent)
    session.flush()
    cases = [
        ({"mode": None}, "REQUIRED", ["input", "mode"]),
        ({"layoutId": to_global_id("MailLayout", 999999)}, "NOT_FOUND", ["input", "layoutId"]),
        ({"consentTypeId": to_global_id("ConsentType", foreign_consent.id)}, "NOT_FOUND", ["input", "consentTypeId"]),
        ({"subject": "Hallo {{ person.first_name "}, "INVALID", ["input", "subject"]),
        ({"text": "{% for x in %}"}, "INVALID", ["input", "text"]),
        ({"subject": "  "}, "REQUIRED", ["input", "subject"]),
        ({"offerUrl": "javascript:alert(1)"}, "INVALID", ["input", "offerUrl"]),
        ({"mailer": "mailer.nope"}, "NOT_FOUND", ["input", "mailer"]),
        ({"segmentId": to_global_id("Segment", 999999)}, "NOT_FOUND", ["input", "segmentId"]),
    ]
    for changes, code, path in cases:
        answer = gql(
            SEND, {"input": _offer_input(layout_id, consent, segment, event, **changes)}, token=account.marketer_token
        )
        errors = answer["data"]["sendOffer"]["errors"]
        assert [(e["code"], e["path"]) for e in errors] == [(code, path)], (changes, errors)
    sandboxed = gql(
        SEND,
        {"input": _offer_input(layout_id, consent, segment, event, text="{{ ''.__class__.__mro__ }}")},
        token=account.marketer_token,
    )["data"]["sendOffer"]["errors"]
    assert sandboxed[0]["path"] == ["input", "text"] and "unsafe" in sandboxed[0]["message"]
    no_unsubscribe = gql(
        CREATE_LAYOUT, {"input": {"name": "Kaal", "html": "<p>{{ content }}</p>"}}, token=account.marketer_token
    )
    assert no_unsubscribe["data"]["createMailLayout"]["errors"][0]["path"] == ["input", "html"]
    assert session.execute(text("SELECT count(*) FROM job WHERE account_id = :a"), {"a": account.id}).scalar() == 0
    assert (
        session.execute(text("SELECT count(*) FROM segment_action WHERE account_id = :a"), {"a": account.id}).scalar()
        == 0
    )
    assert smtp.sink.messages == []
