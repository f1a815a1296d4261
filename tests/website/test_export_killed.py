"""A worker SIGKILLed while its website export waits on the receiver: the message delivered again
to a new worker publishes the document once more under the same webhook-id, and the export is
recorded as published."""

from __future__ import annotations

import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import text
from sqlmodel import Session

from domain.accounts import service as accounts
from domain.integrations import service as integrations
from domain.jobs_state.service import create_job
from tests.workers import kill, running_worker, worker_env
from tests.test_jobs import _settled, _wait_for, broker, jobs_runtime  # noqa: F401  (fixtures)
from tests.website.test_website_feed import _catalog

standardwebhooks = pytest.importorskip("standardwebhooks", reason="the test extra installs standardwebhooks")


def test_a_worker_killed_mid_export_is_redelivered_and_publishes_once_recorded(
    broker,  # noqa: F811
    jobs_runtime,  # noqa: F811
    db_url,
    redis_url,
):
    import jobs.actors as actors

    arrived, hold = threading.Event(), threading.Event()
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {k.lower(): v for k, v in self.headers.items()}
            received.append({"id": headers["webhook-id"], "body": body, "headers": headers})
            if len(received) == 1:  # the first delivery waits until its worker has been killed
                arrived.set()
                hold.wait(30)
                return
            self.send_response(204)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    engine, infos = jobs_runtime.engine, jobs_runtime.plugins.plugin_infos()
    with Session(engine) as s:
        account = accounts.create_account(s, name=f"Export {uuid.uuid4().hex[:6]}")
        _catalog(s, account.id)
        installation = integrations.install_plugin(
            s,
            account.id,
            integrations.find_plugin(infos, "website"),
            integrations.PluginSetup(config={"push_url": url}),
        )
        secret = installation.secrets["signing_secret"]
        job = create_job(s, account.id, kind="export_website", params={"exporter": "website.push", "plugin": "website"})
        s.commit()
        account_id, job_id = account.id, job.id
    env = worker_env(db_url, redis_url, broker.namespace, MARQUEE_WEBHOOK_PRIVATE_TARGETS="1")
    try:
        with running_worker(env) as first:
            actors.export_website.send(job_id)
            assert arrived.wait(120), "the export never reached the receiver"
            kill(first)
        hold.set()
        with engine.connect() as conn:
            published = conn.execute(
                text("SELECT count(*) FROM website_export WHERE account_id = :a"), {"a": account_id}
            ).scalar()
        assert published == 0  # killed before the receiver answered: nothing recorded

        with running_worker(env):
            actors.export_website.send(job_id)
            job = _wait_for(engine, job_id, _settled, timeout=120)
            assert job.status == "succeeded", job.error
            assert job.result["published"] is True
    finally:
        hold.set()
        server.shutdown()
    assert len(received) == 2 and received[0]["id"] == received[1]["id"]  # one message, delivered again
    assert received[0]["body"] == received[1]["body"]
    standardwebhooks.Webhook(secret).verify(received[1]["body"], received[1]["headers"])
    with engine.connect() as conn:
        etag = conn.execute(text("SELECT etag FROM website_export WHERE account_id = :a"), {"a": account_id}).scalar()
    assert etag == job.result["etag"]
