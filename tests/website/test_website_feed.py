"""The website document: what the website key reads (GraphQL and /website/feed.json with
ETags), and the website plugin's signed push, verified by the Standard Webhooks reference
library on a real HTTP server on loopback."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import text
from sqlmodel import Session

from domain.accounts import service as accounts
from domain.errors import InputError
from domain.events import ProductionsChanged
from domain.integrations import service as integrations
from domain.scheduling import service as scheduling
from domain.tags import service as tags
from domain.website import service as website
from domain.website.document import website_document
from graph.core.ids import to_global_id
from tests import factories
from tests.test_jobs import _settled, _wait_for, broker, jobs_runtime, worker  # noqa: F401  (fixtures)

standardwebhooks = pytest.importorskip("standardwebhooks", reason="the test extra installs standardwebhooks")

SOON = datetime.now(UTC) + timedelta(days=10)


def _catalog(session, account_id):
    """Two public tags (one a subtag), an internal and an inactive one; a production with
    upcoming shows (one cancelled), one that has been, one whose only upcoming show is cancelled."""
    make = factories.tag
    genre = make(session, account_id, "Muziek", show_on_website=True)
    jazz = make(session, account_id, "Jazz", show_on_website=True, parent_id=genre.id, label="Jazz & blues")
    internal = make(session, account_id, "Intern", show_on_website=False)
    retired = make(session, account_id, "Oud", show_on_website=True, active=False)
    hall = factories.venue(session, account_id, name="Grote Zaal", city="Utrecht")
    attic = factories.venue(session, account_id, name="Zolder")
    coming = factories.production(session, account_id, "Het Concert", season="2026-2027")
    past = factories.production(session, account_id, "Voorbij")
    called_off = factories.production(session, account_id, "Afgelast")
    first = factories.event(session, account_id, coming.id, hall.id, SOON)
    second = factories.event(session, account_id, coming.id, attic.id, SOON + timedelta(days=1))
    second.status = "cancelled"
    factories.event(session, account_id, coming.id, hall.id, SOON - timedelta(days=60))  # been
    factories.event(session, account_id, past.id, hall.id, SOON - timedelta(days=40))
    off = factories.event(session, account_id, called_off.id, hall.id, SOON)
    off.status = "cancelled"
    session.flush()
    tags.attach(
        session,
        account_id,
        tag_ids=[jazz.id, internal.id, retired.id],
        target=tags.TargetKind.PRODUCTION,
        target_ids=[coming.id, past.id],
        source="staff",
        actor="staff@venue.test",
    )
    return dict(genre=genre, jazz=jazz, coming=coming, first=first, second=second, hall=hall, attic=attic)


def test_the_document_holds_public_tags_and_upcoming_productions(session, account, other_account):
    made = _catalog(session, account.id)
    doc = website_document(session, account.id, to_global_id)
    gid = to_global_id
    assert doc["format"] == "marquee.website/1" and doc["truncated"] is False
    assert doc["account"]["slug"] == account.account.slug
    assert doc["tags"] == [
        {
            "id": gid("Tag", made["jazz"].id),
            "label": "Jazz & blues",
            "description": "",
            "position": 0,
            "parent": gid("Tag", made["genre"].id),
            "category": None,
        },
        {
            "id": gid("Tag", made["genre"].id),
            "label": "Muziek",
            "description": "",
            "position": 0,
            "parent": None,
            "category": None,
        },
    ]
    (production,) = doc["productions"]  # not the one that has been, nor the called-off one
    assert production["title"] == "Het Concert" and production["tags"] == [gid("Tag", made["jazz"].id)]
    assert [(e["id"], e["status"], e["venue"]) for e in production["events"]] == [
        (gid("Event", made["first"].id), "scheduled", gid("Venue", made["hall"].id)),
        (gid("Event", made["second"].id), "cancelled", gid("Venue", made["attic"].id)),
    ]
    assert {v["name"] for v in doc["venues"]} == {"Grote Zaal", "Zolder"}
    assert website_document(session, other_account.id, gid)["productions"] == []  # their account holds none


def test_the_website_key_reads_upcoming_productions_through_graphql(gql, session, account, other_account):
    made = _catalog(session, account.id)
    query = """{ productions(upcoming: true) { edges { node { title
        events { status venue { name } } tags { actor source tag { label } } } } } }"""
    body = gql(query, token=account.website_key)
    assert "errors" not in body, body
    (node,) = [e["node"] for e in body["data"]["productions"]["edges"]]
    assert node["title"] == "Het Concert"
    assert node["tags"] == [
        {"actor": None, "source": "STAFF", "tag": {"label": "Jazz & blues"}}
    ]  # public tags, no staff
    assert len(node["events"]) == 3
    staff = gql(query, token=account.viewer_token)["data"]["productions"]["edges"][0]["node"]
    assert {t["actor"] for t in staff["tags"]} == {"staff@venue.test"}
    past = gql("{ productions(upcoming: false) { edges { node { title } } } }", token=account.website_key)
    assert sorted(e["node"]["title"] for e in past["data"]["productions"]["edges"]) == ["Afgelast", "Voorbij"]
    # Another account's key sees nothing of this account, even by id.
    theirs = gql(
        "query($id: ID!) { production(id: $id) { title } }",
        {"id": to_global_id("Production", made["coming"].id)},
        token=other_account.website_key,
    )
    assert theirs["data"]["production"] is None
    _, connector = accounts.issue_token(
        session, account.id, kind="connector", plugin=factories.installed_plugin(session, account.id, "crm").plugin
    )
    refused = gql("{ productions { edges { node { title } } } }", token=connector)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_the_json_document_revalidates_with_its_etag(gql, session, account, other_account):
    _catalog(session, account.id)
    http = gql.http
    first = http.get("/website/feed.json", headers={"authorization": f"Bearer {account.website_key}"})
    assert first.status_code == 200 and first.headers["content-type"].startswith("application/json")
    etag = first.headers["etag"]
    assert first.json()["productions"][0]["title"] == "Het Concert"
    by_query = http.get(f"/website/feed.json?key={account.website_key}", headers={"if-none-match": etag})
    assert by_query.status_code == 304 and by_query.content == b""
    # A public change changes the ETag; an internal one does not.
    session.execute(text("UPDATE tag SET note = 'internal note' WHERE account_id = :a"), {"a": account.id})
    same = http.get(f"/website/feed.json?key={account.website_key}", headers={"if-none-match": etag})
    assert same.status_code == 304
    session.execute(
        text("UPDATE tag SET label = 'Muziek!' WHERE name = 'Muziek' AND account_id = :a"), {"a": account.id}
    )
    changed = http.get(f"/website/feed.json?key={account.website_key}", headers={"if-none-match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    theirs = http.get(f"/website/feed.json?key={other_account.website_key}")
    assert theirs.status_code == 200 and theirs.json()["productions"] == []
    assert http.get("/website/feed.json").status_code == 401
    assert http.get("/website/feed.json?key=nonsense").status_code == 401
    revoked_id, revoked = accounts.issue_token(session, account.id, kind="website")
    accounts.revoke_token(session, account.id, revoked_id.id)
    assert http.get(f"/website/feed.json?key={revoked}").status_code == 401


class Receiver:
    """A website's endpoint: verifies each request with the reference library; fails on demand."""

    def __init__(self, secret: str | None = None):
        self.secret = secret
        self.received: list[dict] = []
        self.fail_next = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    document = standardwebhooks.Webhook(receiver.secret).verify(body, headers)
                    verified = True
                except standardwebhooks.WebhookVerificationError:
                    document, verified = None, False
                receiver.received.append({"headers": headers, "document": document, "verified": verified})
                status = 500 if receiver.fail_next else (204 if verified else 401)
                receiver.fail_next = max(0, receiver.fail_next - 1)
                self.send_response(status)
                self.send_header("Retry-After", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/marquee-hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture()
def receiver():
    server = Receiver()
    yield server
    server.server.shutdown()


INSTALL = """mutation($i: InstallPluginInput!) { installPlugin(input: $i) {
  ... on PluginSuccess { generatedSecrets { setting value } plugin { installation { secretsSet config } } }
  ... on InstallPluginFailure { errors { code path } } } }"""
UPDATE = """mutation($i: UpdatePluginInput!) { updatePlugin(input: $i) {
  ... on PluginSuccess { generatedSecrets { setting value } }
  ... on UpdatePluginFailure { errors { code path } } } }"""


def test_the_signing_secret_is_generated_shown_once_and_rotated(gql, account, receiver):
    bad = gql(INSTALL, {"i": {"plugin": "website", "config": {"pushUrl": receiver.url}}}, token=account.admin_token)
    assert bad["data"]["installPlugin"]["errors"][0]["code"] == "INVALID"  # settings go by their own names
    wrong = {"push_url": receiver.url, "signing_secret": "whsec_short"}
    refused = gql(INSTALL, {"i": {"plugin": "website", "config": wrong}}, token=account.admin_token)
    assert refused["data"]["installPlugin"]["errors"] == [
        {"code": "INVALID", "path": ["input", "config", "signing_secret"]}
    ]

    body = gql(INSTALL, {"i": {"plugin": "website", "config": {"push_url": receiver.url}}}, token=account.admin_token)
    answer = body["data"]["installPlugin"]
    (generated,) = answer["generatedSecrets"]
    assert generated["setting"] == "signing_secret" and generated["value"].startswith("whsec_")
    assert answer["plugin"]["installation"]["secretsSet"] == ["signing_secret"]
    assert generated["value"] not in json.dumps(answer["plugin"])
    listing = gql("{ plugins(installed: true) { installation { config secretsSet } } }", token=account.admin_token)
    assert generated["value"] not in json.dumps(listing)

    kept = gql(UPDATE, {"i": {"plugin": "website", "config": {"push_every_minutes": 5}}}, token=account.admin_token)
    assert kept["data"]["updatePlugin"]["generatedSecrets"] == []
    rotated = gql(UPDATE, {"i": {"plugin": "website", "config": {"signing_secret": None}}}, token=account.admin_token)
    (new,) = rotated["data"]["updatePlugin"]["generatedSecrets"]
    assert new["value"].startswith("whsec_") and new["value"] != generated["value"]
    marketer = gql(
        UPDATE, {"i": {"plugin": "website", "config": {"signing_secret": None}}}, token=account.marketer_token
    )
    assert marketer["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def _install_website(session, runtime, account_id, url):
    info = integrations.find_plugin(runtime.plugins.plugin_infos(), "website")
    installation = integrations.install_plugin(
        session, account_id, info, integrations.PluginSetup(config={"push_url": url})
    )
    return installation.secrets["signing_secret"]


def test_the_push_is_signed_retried_and_sent_only_when_the_document_changed(runtime, session, account, receiver):
    made = _catalog(session, account.id)
    receiver.secret = _install_website(session, runtime, account.id, receiver.url)
    session.flush()
    exporter = runtime.plugins.website_exporters()["website.push"]
    infos = runtime.plugins.plugin_infos()

    receiver.fail_next = 1  # the first attempt answers 500
    result = website.run_export(
        runtime.new_session, account.id, exporter, infos, to_global_id, message_id="msg_1", private_targets=True
    )
    assert result["published"] is True and result["productions"] == 1
    assert [r["verified"] for r in receiver.received] == [True, True]
    assert {r["headers"]["webhook-id"] for r in receiver.received} == {"msg_1"}  # one message, retried
    assert receiver.received[-1]["document"]["productions"][0]["title"] == "Het Concert"

    again = website.run_export(
        runtime.new_session, account.id, exporter, infos, to_global_id, message_id="msg_2", private_targets=True
    )
    assert again["published"] is False and len(receiver.received) == 2  # unchanged: nothing sent

    made["coming"].title = "Het Nieuwe Concert"
    session.flush()
    website.run_export(
        runtime.new_session, account.id, exporter, infos, to_global_id, message_id="msg_3", private_targets=True
    )
    assert receiver.received[-1]["document"]["productions"][0]["title"] == "Het Nieuwe Concert"

    receiver.secret = "whsec_" + "A" * 44  # the site holds another secret: it refuses, the run fails
    made["coming"].title = "Weer anders"
    session.flush()
    from domain.webhooks.delivery import DeliveryFailed

    with pytest.raises(DeliveryFailed, match="HTTP 401"):
        website.run_export(
            runtime.new_session, account.id, exporter, infos, to_global_id, message_id="msg_4", private_targets=True
        )


def test_disabled_or_missing_installations_export_nothing(runtime, session, account, receiver):
    exporter = runtime.plugins.website_exporters()["website.push"]
    with pytest.raises(InputError):
        website.run_export(
            runtime.new_session, account.id, exporter, runtime.plugins.plugin_infos(), to_global_id, message_id="m"
        )


def test_pushes_to_private_addresses_are_refused_unless_allowed(runtime, session, account, receiver):
    from domain.webhooks.delivery import TargetRefused, deliver

    for url in (receiver.url, "http://10.0.0.8/hook", "http://169.254.169.254/latest", "http://[::1]:9/x"):
        with pytest.raises(TargetRefused, match="not a public address"):
            deliver(url, "whsec_" + "A" * 44, "msg_p", b"{}", sleep=lambda s: None)
    _catalog(session, account.id)
    receiver.secret = _install_website(session, runtime, account.id, receiver.url)
    session.flush()
    exporter = runtime.plugins.website_exporters()["website.push"]
    with pytest.raises(TargetRefused):
        website.run_export(
            runtime.new_session, account.id, exporter, runtime.plugins.plugin_infos(), to_global_id, message_id="m"
        )
    assert receiver.received == []
    assert receiver.received == []


def test_changed_productions_bring_the_export_forward(runtime, session, account, other_account, receiver):
    _install_website(session, runtime, account.id, receiver.url)
    _install_website(session, runtime, other_account.id, receiver.url)
    (schedule,) = [s for s in scheduling.schedules(session, account.id) if s.job_kind == "export_website"]
    assert schedule.every_minutes == 15 and schedule.next_run_at > datetime.now(UTC) + timedelta(minutes=14)
    assert website.hasten_exports(session, [ProductionsChanged(account_id=account.id, production_ids=(1,))]) == 1
    session.expire_all()
    (ours,) = scheduling.schedules(session, account.id, plugin="website")
    (theirs,) = scheduling.schedules(session, other_account.id, plugin="website")
    assert ours.next_run_at <= datetime.now(UTC) < theirs.next_run_at


def test_a_feed_import_is_pushed_by_a_worker(worker, jobs_runtime, receiver):  # noqa: F811
    """Import productions; the import's event brings the export forward; the tick fires it once;
    the worker pushes the signed document."""
    from domain.imports.importer import ImportOptions, run_import

    engine = jobs_runtime.engine
    with Session(engine) as s:
        account = accounts.create_account(s, name=f"Push {uuid.uuid4().hex[:6]}")
        receiver.secret = _install_website(s, jobs_runtime, account.id, receiver.url)
        s.commit()
        account_id = account.id
    records = [
        {"type": "venue", "id": "V1", "name": "Grote Zaal"},
        {"type": "production", "id": "P1", "title": "Uit de feed", "genres": ["Cabaret"]},
        {"type": "event", "id": "E1", "production": "P1", "venue": "V1", "starts_at": SOON.isoformat()},
    ]
    run_import(jobs_runtime.new_session, account_id, enumerate(records, 1), ImportOptions(source="tix"))
    from jobs.scheduler import tick

    assert tick(jobs_runtime.new_session) == 1  # the worker processes' tick, once
    assert tick(jobs_runtime.new_session) == 0
    with engine.connect() as conn:
        job_id = conn.execute(
            text("SELECT id FROM job WHERE account_id = :a AND kind = 'export_website'"), {"a": account_id}
        ).scalar_one()
    job = _wait_for(engine, job_id, _settled, timeout=60)
    assert job.status == "succeeded", job.error
    assert job.result["published"] is True
    (request,) = receiver.received
    assert request["verified"] and request["headers"]["webhook-id"] == f"msg_{account_id}_{job.id}"
    assert [p["title"] for p in request["document"]["productions"]] == ["Uit de feed"]


def test_only_website_keys_go_in_the_url_and_redirects_are_not_deliveries(gql, runtime, session, account, receiver):
    http = gql.http
    staff = http.get(f"/website/feed.json?key={account.admin_token}")
    assert staff.status_code == 401 and "Bearer" in staff.json()["errors"][0]["message"]
    assert http.get("/website/feed.json", headers={"authorization": f"Bearer {account.admin_token}"}).status_code == 200

    from domain.webhooks.delivery import DeliveryFailed, deliver

    class Redirecting(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            self.send_response(302)
            self.send_header("Location", receiver.url)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/moved"
        with pytest.raises(DeliveryFailed, match="HTTP 302"):
            deliver(url, "whsec_" + "A" * 44, "msg_r", b"{}", sleep=lambda s: None, private_targets=True)
    finally:
        server.shutdown()
    assert receiver.received == []  # never followed


def test_new_settings_publish_the_same_document_again(runtime, session, account, receiver):
    _catalog(session, account.id)
    receiver.secret = _install_website(session, runtime, account.id, receiver.url)
    session.flush()
    exporter = runtime.plugins.website_exporters()["website.push"]
    infos = runtime.plugins.plugin_infos()
    assert website.run_export(
        runtime.new_session, account.id, exporter, infos, to_global_id, message_id="a", private_targets=True
    )["published"]
    assert not website.run_export(
        runtime.new_session, account.id, exporter, infos, to_global_id, message_id="b", private_targets=True
    )["published"]
    info = integrations.find_plugin(infos, "website")
    integrations.change_installation(
        session, account.id, info, integrations.InstallationChanges(config={"signing_secret": None})
    )
    session.flush()
    receiver.secret = integrations.get_installation(session, account.id, "website").secrets["signing_secret"]
    again = website.run_export(
        runtime.new_session, account.id, exporter, infos, to_global_id, message_id="c", private_targets=True
    )
    assert again["published"] is True and receiver.received[-1]["verified"]
