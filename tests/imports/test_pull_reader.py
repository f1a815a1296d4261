"""The ticketing plugin's pull reader against a real HTTP server on loopback that serves the feed
in pages (one page fails once), and the pullFeed job through a real worker."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import text
from sqlmodel import Session

from domain.accounts import service as accounts
from domain.imports import service as imports
from domain.integrations import service as integrations
from graph.core.ids import from_global_id
from tests.imports import feeds
from tests.test_jobs import _settled, _wait_for, broker, jobs_runtime, worker  # noqa: F401  (fixtures)

PAGE = 150


class TicketingApi:
    """Serves records changed since a cursor (the record's index), PAGE at a time."""

    def __init__(self, records):
        self.records = records
        self.requests: list[dict] = []
        self.fail_once_at: str | None = None  # the page asked for with this cursor answers 503 once
        self.fail_always_at: str | None = None  # … or every time
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                api.requests.append({**query, "auth": self.headers.get("Authorization")})
                since = int(query.get("since", 0))
                if str(since) in (api.fail_once_at, api.fail_always_at):
                    api.fail_once_at = None
                    self.send_response(503)
                    self.send_header("Retry-After", "0")
                    self.end_headers()
                    return
                limit = int(query["limit"])
                chunk = api.records[since : since + limit]
                body = json.dumps(
                    {"records": chunk, "next": str(since + len(chunk)), "more": since + limit < len(api.records)}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/changes"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture()
def api():
    records = [{k: v for k, v in r.items() if k != "consents"} for r in feeds.records(persons=120)]
    server = TicketingApi(records)
    yield server
    server.server.shutdown()


def _install(session, account_id, infos, url):
    info = integrations.find_plugin(infos, "ticketing")
    integrations.install_plugin(
        session,
        account_id,
        info,
        integrations.PluginSetup(config={"pull_url": url, "api_key": "tix-key", "page_size": PAGE, "source": "tix"}),
    )


def test_the_pull_reader_pages_resumes_and_survives_a_failing_page(runtime, session, account, api):
    infos = runtime.plugins.plugin_infos()
    _install(session, account.id, infos, api.url)
    session.flush()
    reader = runtime.plugins.feed_readers()["ticketing.pull"]
    api.fail_once_at = str(PAGE * 2)  # the third page answers 503 once
    result = imports.run_feed_reader(runtime.new_session, account.id, reader, infos)
    pages = -(-len(api.records) // PAGE)
    assert result["pages"] == pages and result["refused"] == 0
    assert result["counts"]["person"]["created"] == 120
    assert [r.get("since") for r in api.requests][:4] == [None, str(PAGE), str(2 * PAGE), str(2 * PAGE)]
    assert {r["auth"] for r in api.requests} == {"Bearer tix-key"}
    cursor = session.execute(text("SELECT cursor FROM feed_cursor WHERE account_id = :a"), {"a": account.id})
    assert cursor.scalar() == str(len(api.records))

    api.requests.clear()
    api.records.append({"type": "person", "id": "NEW", "email": "nieuw@example.nl"})
    later = imports.run_feed_reader(runtime.new_session, account.id, reader, infos)
    assert [r.get("since") for r in api.requests] == [str(len(api.records) - 1)]  # from the stored cursor
    assert later["counts"]["person"]["created"] == 1


def test_a_page_that_keeps_failing_stops_the_run_and_keeps_the_cursor(runtime, session, account, api, monkeypatch):
    from plugins.ticketing import pull

    monkeypatch.setattr(pull, "_retry_after", lambda header, attempt: 0)
    infos = runtime.plugins.plugin_infos()
    _install(session, account.id, infos, api.url)
    session.flush()
    reader = runtime.plugins.feed_readers()["ticketing.pull"]

    api.fail_always_at = str(PAGE)  # the second page never answers
    with pytest.raises(pull.PullFailed, match="HTTP 503"):
        imports.run_feed_reader(runtime.new_session, account.id, reader, infos)
    cursor = session.execute(text("SELECT cursor FROM feed_cursor WHERE account_id = :a"), {"a": account.id})
    assert cursor.scalar() == str(PAGE)  # the first page committed, the second will be asked for again


def test_pull_feed_runs_as_a_job_on_a_worker(worker, jobs_runtime, api):  # noqa: F811
    from tests.graphql_client import GraphQLClient

    engine = jobs_runtime.engine
    infos = jobs_runtime.plugins.plugin_infos()
    with Session(engine) as s:
        account = accounts.create_account(s, name=f"Pull {uuid.uuid4().hex[:6]}")
        marketer = accounts.create_staff_user(s, account.id, email="m@pull.test", role="marketer")
        _, token = accounts.issue_token(s, account.id, kind="staff", staff_user_id=marketer.id)
        _install(s, account.id, infos, api.url)
        s.commit()
        account_id = account.id
    from graph.app import create_app

    gql = GraphQLClient(create_app(jobs_runtime))
    query = """mutation($i: PullFeedInput!) { pullFeed(input: $i) { ... on JobStarted { job { id } }
      ... on PullFeedFailure { errors { code path } } } }"""
    unknown = gql(query, {"i": {"reader": "nope"}}, token=token)
    assert unknown["data"]["pullFeed"]["errors"] == [{"code": "NOT_FOUND", "path": ["input", "reader"]}]
    started = gql(query, {"i": {"reader": "ticketing.pull"}}, token=token)
    job_id = int(from_global_id(started["data"]["pullFeed"]["job"]["id"], "Job")[1])
    job = _wait_for(engine, job_id, _settled, timeout=120)
    assert job.status == "succeeded", job.error
    assert job.result["counts"]["person"]["created"] == 120
    with engine.connect() as conn:
        persons = conn.execute(text("SELECT count(*) FROM person WHERE account_id = :a"), {"a": account_id}).scalar()
    assert persons == 120


def test_connector_keys_pull_with_the_imports_scope_only(gql, runtime, session, account, other_account, api):
    infos = runtime.plugins.plugin_infos()
    info = integrations.find_plugin(infos, "ticketing")
    integrations.install_plugin(
        session,
        account.id,
        info,
        integrations.PluginSetup(config={"pull_url": api.url}, granted_scopes=("imports:write", "tags:write")),
    )
    _, importer = accounts.issue_token(session, account.id, kind="connector", plugin="ticketing")
    _, tagger = accounts.issue_token(session, account.id, kind="connector", plugin="ticketing", scopes=["tags:write"])
    query = """mutation { pullFeed(input: {reader: "ticketing.pull"}) { ... on JobStarted { job { kind } } } }"""
    assert gql(query, token=importer)["data"]["pullFeed"] == {"job": {"kind": "pull_feed"}}
    assert gql(query, token=tagger)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert gql(query, token=account.viewer_token)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    theirs = gql(
        """mutation { pullFeed(input: {reader: "ticketing.pull"}) { ... on PullFeedFailure { errors { code } } } }""",
        token=other_account.admin_token,
    )
    assert theirs["data"]["pullFeed"]["errors"] == [{"code": "NOT_FOUND"}]  # not installed in their account


def test_refusals_of_pulled_records_name_their_place_in_the_run(runtime, session, account, api):
    infos = runtime.plugins.plugin_infos()
    _install(session, account.id, infos, api.url)
    session.flush()
    api.records[PAGE + 4] = {"type": "person", "id": "BAD", "email": "not an address"}  # the second page's fifth
    result = imports.run_feed_reader(
        runtime.new_session, account.id, runtime.plugins.feed_readers()["ticketing.pull"], infos
    )
    (refusal,) = [r for r in result["refusals"] if r["external_id"] == "BAD"]
    assert refusal["line"] == PAGE + 5 and refusal["field"] == "email"
