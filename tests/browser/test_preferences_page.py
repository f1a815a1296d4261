"""The preference-centre page in a real headless Chromium (Debian's package, no download)."""

from __future__ import annotations

import shutil
import socket
import threading
import time

import pytest
import uvicorn
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select
from sqlmodel import Session

from domain.accounts import service as accounts
from domain.accounts.person_links import PERSON_TOKEN_PREFIX, _SALT, sign_person_token
from domain.forms import service as forms
from domain.people.models import ConsentType, PersonConsent
from domain.tags import service as tags
from domain.tags.models import PersonTag
from graph.app import create_app
from marquee.runtime import build_runtime
from tests import factories as f

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.browser


def _require_browser():
    if not shutil.which("chromium"):
        if __import__("os").environ.get("CI"):
            pytest.fail("chromium is missing in CI: .ci/run must install Debian's chromium")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); .ci/run installs it")


@pytest.fixture()
def server(committed_engine, test_settings):
    runtime = build_runtime(test_settings, engine=committed_engine, load_entrypoints=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not uv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.05)
    yield runtime, f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture()
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield b
        b.close()


def _seed(engine):
    with Session(engine, expire_on_commit=False) as session:
        account = accounts.create_account(session, name="Browser Venue")
        account.page_language = "en"  # these tests read the English page (test_branded_pages: Dutch)
        music = f.tag(session, account.id, "Muziek", show_on_form=True, label="Music", position=1)
        jazz = f.tag(
            session, account.id, "Jazz", show_on_form=True, parent_id=music.id, description="Swing, bebop and more"
        )
        dance = f.tag(session, account.id, "Dans", show_on_form=True, label="Dance", position=2)
        form = forms.preference_centre(session, account.id)
        forms.update_form(
            session,
            account.id,
            form.id,
            forms.FormChanges(
                title="Stay in touch",
                tags_title="What do you like?",
                tags_description="Pick as many as you like.",
                tag_ids=(music.id, jazz.id, dance.id),
            ),
        )
        newsletter = ConsentType(account_id=account.id, key="newsletter", name="Newsletter")
        session.add(newsletter)
        anna = f.person(session, account.id, first_name="Anna")
        tags.attach(
            session,
            account.id,
            tag_ids=[dance.id],
            target=tags.TargetKind.PERSON,
            target_ids=[anna.id],
            source="person",
            actor=None,
        )
        tags.attach(
            session,
            account.id,
            tag_ids=[jazz.id],
            target=tags.TargetKind.PERSON,
            target_ids=[anna.id],
            source="staff",
            actor=None,
        )
        session.commit()
        return account.id, anna.id, {"music": music.id, "jazz": jazz.id, "dance": dance.id}, newsletter.id


def test_person_reads_ticks_and_saves(server, browser, committed_engine):
    runtime, base = server
    account_id, person_id, tag_ids, newsletter_id = _seed(committed_engine)
    token = sign_person_token(runtime.settings.secret_key, account_id=account_id, person_id=person_id)
    page = browser.new_page()
    page.goto(f"{base}/preferences#token={token}")
    page.get_by_role("button", name="Save my preferences").wait_for()
    assert page.title() == "Stay in touch – Browser Venue"  # the form, then the venue
    assert page.get_by_text("Hello Anna").is_visible()
    assert page.get_by_text("What do you like?").is_visible()
    music, jazz, dance = (page.get_by_label(name, exact=True) for name in ("Music", "Jazz", "Dance"))
    assert (music.is_checked(), jazz.is_checked(), dance.is_checked()) == (False, False, True)  # staff link unseen
    assert page.get_by_text("Swing, bebop and more").is_visible()
    jazz.check()
    dance.uncheck()
    page.get_by_label("Newsletter").check()
    page.get_by_role("button", name="Save my preferences").click()
    page.get_by_text("Your preferences are saved").wait_for()

    with Session(committed_engine) as session:
        links = set(
            session.execute(
                select(PersonTag.tag_id, PersonTag.source).where(
                    PersonTag.account_id == account_id, PersonTag.person_id == person_id
                )
            ).all()
        )
        consent = session.execute(
            select(PersonConsent.granted).where(
                PersonConsent.account_id == account_id, PersonConsent.person_id == person_id
            )
        ).scalar_one()
    assert links == {(tag_ids["jazz"], "person"), (tag_ids["jazz"], "staff")}
    assert consent is True

    page.reload()
    page.get_by_role("button", name="Save my preferences").wait_for()
    assert page.get_by_label("Jazz", exact=True).is_checked()
    assert not page.get_by_label("Dance", exact=True).is_checked()


class _OldSigner(TimestampSigner):
    """Signs as if 400 days ago."""

    def get_timestamp(self) -> int:
        return int(time.time()) - 400 * 24 * 3600


def test_expired_and_invalid_links_say_so(server, browser, committed_engine):
    runtime, base = server
    account_id, person_id, _, _ = _seed(committed_engine)
    expired = PERSON_TOKEN_PREFIX + URLSafeTimedSerializer(
        runtime.settings.secret_key, salt=_SALT, signer=_OldSigner
    ).dumps([account_id, person_id])
    page = browser.new_page()
    page.goto(f"{base}/preferences#token={expired}")
    page.get_by_text("This link has expired").wait_for()
    assert not page.get_by_role("button", name="Save my preferences").is_visible()
    page.goto(f"{base}/preferences#token=mqp_forged")
    page.reload()
    page.get_by_text("This link is not valid").wait_for()
    page.goto(f"{base}/preferences")
    page.reload()
    page.get_by_text("needs the personal link").wait_for()


def test_a_staff_key_or_a_replaced_link_is_named_for_what_it_is(server, browser, committed_engine):
    """Neither is "could not reach the server": a staff or website key in the link is not a
    personal link, and a link replaced by a newer one says so."""
    runtime, base = server
    account_id, person_id, _, _ = _seed(committed_engine)
    with Session(committed_engine) as session:
        admin = accounts.create_staff_user(session, account_id, email="admin@browser.test", role="admin")
        _, staff_token = accounts.issue_token(session, account_id, kind="staff", staff_user_id=admin.id)
        session.commit()
    page = browser.new_page()
    page.goto(f"{base}/preferences#token={staff_token}")
    page.get_by_text("This is not a personal preference link").wait_for()
    old = sign_person_token(runtime.settings.secret_key, account_id=account_id, person_id=person_id)
    with Session(committed_engine) as session:
        forms.revoke_preference_links(session, account_id, person_id)
        session.commit()
    page.goto(f"{base}/preferences#token={old}")
    page.reload()
    page.get_by_text("This link was replaced by a newer one").wait_for()
    assert not page.get_by_text("could not reach the server").is_visible()


def test_a_save_records_only_the_consents_the_person_changed(server, browser, committed_engine):
    """Consents the person never answered stay unanswered when they save their interests; a
    consent they tick is recorded once, and saving again records nothing new."""
    from sqlalchemy import func

    from domain.people.models import ConsentHistory

    runtime, base = server
    account_id, person_id, _tag_ids, newsletter_id = _seed(committed_engine)
    with Session(committed_engine) as session:
        session.add(ConsentType(account_id=account_id, key="offers", name="Offers"))
        session.commit()
    token = sign_person_token(runtime.settings.secret_key, account_id=account_id, person_id=person_id)

    def answered():
        with Session(committed_engine) as session:
            states = dict(
                session.execute(
                    select(PersonConsent.consent_type_id, PersonConsent.granted).where(
                        PersonConsent.account_id == account_id, PersonConsent.person_id == person_id
                    )
                ).all()
            )
            history = session.execute(
                select(func.count()).where(
                    ConsentHistory.account_id == account_id, ConsentHistory.person_id == person_id
                )
            ).scalar_one()
        return states, history

    page = browser.new_page()
    page.goto(f"{base}/preferences#token={token}")
    save = page.get_by_role("button", name="Save my preferences")
    save.wait_for()
    page.get_by_label("Jazz", exact=True).check()
    save.click()
    page.get_by_text("Your preferences are saved").wait_for()
    assert answered() == ({}, 0)  # neither consent was touched: neither is recorded

    page.get_by_label("Newsletter").check()
    save.click()
    page.get_by_text("Your preferences are saved").wait_for()
    states, history = answered()
    assert states == {newsletter_id: True} and history == 1

    save.click()  # nothing changed since the last save
    page.get_by_text("Your preferences are saved").wait_for()
    assert answered() == (states, history)


def test_unsubscribe_from_everything_withdraws_every_consent_given(server, browser, committed_engine):
    from domain.people.consents import set_consents

    runtime, base = server
    account_id, person_id, _tag_ids, newsletter_id = _seed(committed_engine)
    with Session(committed_engine) as session:
        offers = ConsentType(account_id=account_id, key="offers", name="Offers")
        session.add(offers)
        session.flush()
        set_consents(session, account_id, person_id, {newsletter_id: True}, source="person")
        session.commit()
    token = sign_person_token(runtime.settings.secret_key, account_id=account_id, person_id=person_id)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{base}/preferences#token={token}")
    page.get_by_role("button", name="Save my preferences").wait_for()
    assert page.get_by_label("Newsletter").is_checked()
    page.get_by_role("button", name="Unsubscribe from everything").click()
    page.get_by_text("Your preferences are saved").wait_for()
    assert not page.get_by_label("Newsletter").is_checked()
    with Session(committed_engine) as session:
        states = dict(
            session.execute(
                select(PersonConsent.consent_type_id, PersonConsent.granted).where(
                    PersonConsent.account_id == account_id, PersonConsent.person_id == person_id
                )
            ).all()
        )
    assert states == {newsletter_id: False}  # withdrawn; Offers was never given, so nothing is recorded for it
