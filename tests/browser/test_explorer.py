"""The GraphQL explorer in headless Chromium with every request off this machine refused: its
assets come from the API itself, and it runs a query."""

from __future__ import annotations

from sqlmodel import Session

from domain.accounts import service as accounts
from tests.browser.test_preferences_page import browser, server  # noqa: F401  (fixtures)


def test_the_explorer_works_offline_and_runs_a_query(server, browser, committed_engine):  # noqa: F811
    runtime, base = server
    with Session(committed_engine, expire_on_commit=False) as session:
        account = accounts.create_account(session, name="Explorer Venue")
        user = accounts.create_staff_user(session, account.id, email="admin@explorer.test", role="admin")
        _, token = accounts.issue_token(session, account.id, kind="staff", staff_user_id=user.id)
        session.commit()
    page = browser.new_page()
    elsewhere: list[str] = []

    def only_this_server(route):
        if route.request.url.startswith(base):
            route.continue_()
        else:  # no CDN, no fonts, nothing from outside
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    page.goto(f"{base}/graphql#token={token}")
    page.locator(".graphiql-execute-button").wait_for(timeout=20_000)
    assert "token=" not in page.url  # taken from the fragment, then removed
    page.locator(".graphiql-execute-button").click()
    page.locator(".graphiql-response").get_by_text("Explorer Venue").wait_for(timeout=20_000)
    response = page.locator(".graphiql-response").inner_text()
    assert '"kind": "STAFF"' in response and '"role": "admin"' in response
    assert elsewhere == []
