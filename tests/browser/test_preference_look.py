"""The preference centre as a venue puts its name on it, in Chromium at 1280 and 390 pixels wide:
the account's language (Dutch or English, the ``lang`` attribute set), its name, logo and
colour, consent descriptions, interests grouped by category when there are many, the save button
in view on a phone without scrolling past every tag, unsubscribing from everything, and axe-core
finding no accessibility violations."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session

from domain.accounts import service as accounts
from domain.accounts.person_links import sign_person_token
from domain.forms import service as forms
from domain.people.consents import set_consents
from domain.people.models import ConsentType, PersonConsent
from domain.tags import service as tags
from tests import factories as f
from tests.browser.test_preferences_page import browser, server  # noqa: F401  (fixtures)

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
LOGO = (
    "data:image/png;base64,"
    + base64.b64encode(
        base64.b64decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
        )
    ).decode()
)
WIDTHS = ({"width": 1280, "height": 800}, {"width": 390, "height": 844})
TEXTS = {
    "nl": ("Voorkeuren opslaan", "Afmelden voor alles", "Je voorkeuren zijn opgeslagen", "Hallo Anna"),
    "en": ("Save my preferences", "Unsubscribe from everything", "Your preferences are saved", "Hello Anna"),
}


def _axe_violations(page) -> list:
    if not AXE.is_file():
        if __import__("os").environ.get("CI"):
            pytest.fail("axe-core is missing in CI: .ci/run must run npm ci --prefix tests/browser")
        pytest.skip("axe-core is not installed: npm ci --prefix tests/browser (.ci/run does it)")
    page.evaluate("(() => {\n" + AXE.read_text() + "\n})()")  # through the debugger: the page's CSP stays as it is
    result = page.evaluate(
        "() => axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })"
    )
    return [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]


def _venue(engine, language: str, *, many: bool = False):
    """An account with its look set, a preference centre of tags in two categories (26 main tags
    with ``many``), two consent types with descriptions, and Anna, who gave one of them."""
    with Session(engine, expire_on_commit=False) as session:
        account = accounts.create_account(session, name="Stadsschouwburg Look")
        account.page_language, account.brand_name = language, "Schouwburg Aan Zee"
        account.logo_url, account.brand_colour = LOGO, "#8a1538"
        genres = tags.create_category(session, account.id, name="Genres" if language == "en" else "Genres")
        audience = tags.create_category(session, account.id, name="For whom" if language == "en" else "Voor wie")
        names = [f"Genre {n}" for n in range(20 if many else 3)] + [f"Doelgroep {n}" for n in range(6 if many else 2)]
        made = []
        for i, name in enumerate(names):
            category = genres if name.startswith("Genre") else audience
            made.append(f.tag(session, account.id, name, show_on_form=True, position=i, category_id=category.id))
        form = forms.preference_centre(session, account.id)
        forms.update_form(session, account.id, form.id, forms.FormChanges(tag_ids=tuple(t.id for t in made)))
        newsletter = ConsentType(account_id=account.id, key="nieuwsbrief", name="Nieuwsbrief",
                                 description="Eens per maand ons programma")  # fmt: skip
        offers = ConsentType(account_id=account.id, key="aanbiedingen", name="Aanbiedingen",
                             description="Kortingen op voorstellingen die bij je passen")  # fmt: skip
        session.add_all([newsletter, offers])
        anna = f.person(session, account.id, first_name="Anna")
        session.flush()
        set_consents(session, account.id, anna.id, {newsletter.id: True}, source="person")
        session.commit()
        return account.id, anna.id, newsletter.id, offers.id


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("viewport", WIDTHS, ids=["1280", "390"])
def test_the_branded_page_speaks_the_accounts_language_and_passes_axe(
    server,  # noqa: F811
    browser,  # noqa: F811
    committed_engine,
    language,
    viewport,
):
    runtime, base = server
    account_id, anna, newsletter, offers = _venue(committed_engine, language)
    save, unsubscribe, saved, hello = TEXTS[language]
    page = browser.new_page(viewport=viewport, locale="en-US")
    page.goto(
        f"{base}/preferences#token={sign_person_token(runtime.settings.secret_key, account_id=account_id, person_id=anna)}"
    )
    page.get_by_role("button", name=save).wait_for()
    assert page.evaluate("document.documentElement.lang") == language
    assert page.get_by_text("Schouwburg Aan Zee").is_visible()
    logo = page.get_by_role("img")
    assert logo.is_visible() and "Schouwburg Aan Zee" in logo.get_attribute("alt")
    colour = page.get_by_role("button", name=save).evaluate("b => getComputedStyle(b).backgroundColor")
    assert colour == "rgb(138, 21, 56)"  # #8a1538
    assert page.get_by_text(hello).is_visible()
    assert page.get_by_text("Kortingen op voorstellingen die bij je passen").is_visible()
    other_language = TEXTS["en" if language == "nl" else "nl"]
    assert not page.get_by_text(other_language[0]).is_visible()  # no frame in the other language
    assert _axe_violations(page) == []

    page.get_by_role("button", name=unsubscribe).click()
    page.get_by_text(saved).wait_for()
    with Session(committed_engine) as session:
        states = dict(
            session.execute(
                select(PersonConsent.consent_type_id, PersonConsent.granted).where(
                    PersonConsent.account_id == account_id, PersonConsent.person_id == anna
                )
            ).all()
        )
    assert states == {newsletter: False}  # withdrawn; the offers were never given, so nothing is recorded
    assert _axe_violations(page) == []  # with the status message shown


def test_many_interests_are_grouped_and_the_save_button_stays_in_view_on_a_phone(
    server,  # noqa: F811
    browser,  # noqa: F811
    committed_engine,
):
    runtime, base = server
    account_id, anna, _, _ = _venue(committed_engine, "nl", many=True)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(
        f"{base}/preferences#token={sign_person_token(runtime.settings.secret_key, account_id=account_id, person_id=anna)}"
    )
    save = page.get_by_role("button", name="Voorkeuren opslaan")
    save.wait_for()
    assert page.get_by_role("group", name="Genres").is_visible()
    assert page.get_by_role("group", name="Voor wie").is_visible()
    assert page.get_by_role("group", name="Genres").get_by_role("checkbox").count() == 20

    def in_view() -> bool:
        box = save.bounding_box()
        return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 844

    assert page.evaluate("document.documentElement.scrollHeight") > 844 * 1.5  # a long page
    assert in_view()  # without scrolling
    page.get_by_label("Genre 10").check()  # halfway down the list: the button is still there
    assert in_view()
    save.click()
    page.get_by_text("Je voorkeuren zijn opgeslagen").wait_for()
    assert _axe_violations(page) == []
