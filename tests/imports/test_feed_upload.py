"""Feed files uploaded through GraphQL (the multipart request convention) become import jobs
that a real worker runs against committed data; large bodies only for those who may import."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import text
from sqlmodel import Session
from starlette.testclient import TestClient

from domain.accounts import service as accounts
from domain.integrations import service as integrations
from graph.app import create_app
from tests.imports import feeds
from tests.test_jobs import _load, _settled, _wait_for, broker, jobs_runtime, worker  # noqa: F401  (fixtures)

IMPORT = """mutation($input: ImportFeedInput!) { importFeed(input: $input) {
  ... on JobStarted { job { id kind status } }
  ... on ImportFeedFailure { errors { code path message } } } }"""


def _venue(engine, install: bool = True) -> tuple[int, str, str]:
    with Session(engine) as s:
        account = accounts.create_account(s, name=f"Upload {uuid.uuid4().hex[:6]}")
        marketer = accounts.create_staff_user(s, account.id, email="m@upload.test", role="marketer")
        viewer = accounts.create_staff_user(s, account.id, email="v@upload.test", role="viewer")
        _, token = accounts.issue_token(s, account.id, kind="staff", staff_user_id=marketer.id)
        _, read_only = accounts.issue_token(s, account.id, kind="staff", staff_user_id=viewer.id)
        if install:
            info = integrations.find_plugin(_infos(), "ticketing")
            integrations.install_plugin(s, account.id, info, integrations.PluginSetup(config={"source": "tix"}))
        s.commit()
        return account.id, token, read_only


def _infos():
    from plugins.manager import PluginFacade, build_plugin_manager

    return PluginFacade(build_plugin_manager()).plugin_infos()


def _upload(client, token, content: bytes, filename="feed.jsonl", variables=None):
    operations = {"query": IMPORT, "variables": {"input": {"file": None, **(variables or {})}}}
    return client.post(
        "/graphql",
        headers={"Authorization": f"Bearer {token}"},
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.input.file"]})},
        files={"0": (filename, content, "application/octet-stream")},
    )


def test_an_uploaded_feed_is_imported_by_a_worker(worker, jobs_runtime, tmp_path):  # noqa: F811
    jobs_runtime.settings = __import__("dataclasses").replace(jobs_runtime.settings, storage_dir=tmp_path)
    engine = jobs_runtime.engine
    account_id, token, _ = _venue(engine)
    items = [{k: v for k, v in r.items() if k != "consents"} for r in feeds.records(persons=300)]
    items.append({"type": "order", "id": "bad", "person": "nobody", "created_at": "2026-01-01T00:00:00Z"})
    client = TestClient(create_app(jobs_runtime))
    response = _upload(client, token, feeds.jsonl(items).getvalue())
    assert response.status_code == 200, response.text
    job = response.json()["data"]["importFeed"].get("job")
    assert job, response.json()
    assert job["kind"] == "import_feed"
    job_id = int(__import__("graph.core.ids", fromlist=["x"]).from_global_id(job["id"], "Job")[1])
    done = _wait_for(engine, job_id, _settled, timeout=120)
    assert done.status == "succeeded", done.error
    assert done.progress == 1.0
    assert done.result["counts"]["person"]["created"] == 300
    assert done.result["refused"] == 1
    assert done.result["refusals"][0]["external_id"] == "bad"
    with engine.connect() as conn:
        persons = conn.execute(text("SELECT count(*) FROM person WHERE account_id = :a"), {"a": account_id}).scalar()
    assert persons == 300
    assert list((tmp_path / "feeds" / str(account_id)).iterdir()) == []  # the stored upload went once imported

    runs = client.post(
        "/graphql",
        headers={"Authorization": f"Bearer {token}"},
        json={"query": "{ plugins(installed: true) { name installation { lastRun { id status } runs { kind } } } }"},
    ).json()["data"]["plugins"]
    assert runs == [
        {"name": "ticketing", "installation": {"lastRun": {"id": job["id"], "status": "succeeded"},
                                               "runs": [{"kind": "import_feed"}]}}
    ]  # fmt: skip


def test_uploads_are_refused_with_typed_errors_and_leave_nothing_behind(jobs_runtime, tmp_path):  # noqa: F811
    jobs_runtime.settings = __import__("dataclasses").replace(
        jobs_runtime.settings, storage_dir=tmp_path, upload_max_bytes=5_000_000
    )
    engine = jobs_runtime.engine
    _, token, read_only = _venue(engine, install=False)
    client = TestClient(create_app(jobs_runtime))
    small = feeds.jsonl(feeds.records(persons=2)).getvalue()

    not_installed = _upload(client, token, small).json()["data"]["importFeed"]["errors"]
    assert [(e["code"], e["path"]) for e in not_installed] == [("NOT_FOUND", ["input", "plugin"])]
    viewer = _upload(client, read_only, small)  # a viewer may not import: its body gets the small limit
    assert viewer.status_code == 200 and viewer.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    anonymous = _upload(client, "nonsense", b"x" * 2_000_000)
    assert anonymous.status_code == 413  # not even read: no credentials that may upload
    assert not any(tmp_path.rglob("*.jsonl"))


def test_an_upload_over_the_limit_is_refused(jobs_runtime, tmp_path):  # noqa: F811
    jobs_runtime.settings = __import__("dataclasses").replace(
        jobs_runtime.settings, storage_dir=tmp_path, upload_max_bytes=50_000
    )
    _, token, _ = _venue(jobs_runtime.engine)
    client = TestClient(create_app(jobs_runtime))
    big = feeds.jsonl(feeds.records(persons=400)).getvalue()
    assert len(big) > 50_000
    response = _upload(client, token, big)
    assert response.status_code == 413
    assert not any(tmp_path.rglob("*.jsonl"))
