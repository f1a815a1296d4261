"""Segment actions run by a real worker against committed data, as a marketer uses them: start
through GraphQL, follow the job, download the export through its link."""

from __future__ import annotations

import dataclasses
import uuid
from urllib.parse import urlsplit

from sqlmodel import Session
from starlette.testclient import TestClient

from domain.accounts import service as accounts
from domain.people import service as people
from domain.segments import service as segments
from domain.tags import service as tags
from graph.app import create_app
from graph.core.ids import from_global_id, to_global_id
from tests.test_jobs import _settled, _wait_for, broker, jobs_runtime, worker  # noqa: F401  (fixtures)

START = """mutation($label: LabelSegmentMembersInput!, $export: ExportSegmentInput!) {
  labelSegmentMembers(input: $label) { ... on SegmentActionStarted { action { id job { id } } } }
  exportSegment(input: $export) { ... on SegmentActionStarted { action { id job { id } } } } }"""

ACTION = """query($id: ID!) { node(id: $id) { ... on SegmentAction { members downloadUrl job { status result } } } }"""


def test_a_marketer_labels_and_exports_a_segment_through_a_worker(worker, jobs_runtime, tmp_path):  # noqa: F811
    jobs_runtime.settings = dataclasses.replace(jobs_runtime.settings, storage_dir=tmp_path)
    engine = jobs_runtime.engine
    with Session(engine) as s:
        account = accounts.create_account(s, name=f"Acties {uuid.uuid4().hex[:6]}")
        marketer = accounts.create_staff_user(s, account.id, email="m@acties.test", role="marketer")
        _, token = accounts.issue_token(s, account.id, kind="staff", staff_user_id=marketer.id)
        for n in range(120):
            people.create_person(
                s,
                account.id,
                people.PersonFields(
                    email=f"lid{n}@example.nl", first_name=f"Lid{n}", city="Utrecht" if n % 3 else "Zeist"
                ),
                timezone_name="Europe/Amsterdam",
            )
        segment = segments.create_segment(
            s, account.id, name="Utrecht", rules={"type": "text", "field": "city", "operator": "eq", "value": "Utrecht"}
        )
        tag = tags.create_tags(s, account.id, tags.TagFields(names="Najaarsactie"), policy="preserve")[0]
        s.commit()
        account_id, segment_id, tag_id = account.id, segment.id, tag.id
    client = TestClient(create_app(jobs_runtime))
    auth = {"Authorization": f"Bearer {token}"}
    sid = to_global_id("Segment", segment_id)
    started = client.post(
        "/graphql",
        headers=auth,
        json={
            "query": START,
            "variables": {
                "label": {"segmentId": sid, "tagIds": [to_global_id("Tag", tag_id)]},
                "export": {"segmentId": sid, "fields": ["EMAIL", "FIRST_NAME", "CITY"], "dialect": "EXCEL_NL"},
            },
        },
    ).json()["data"]
    results = {}
    for field in ("labelSegmentMembers", "exportSegment"):
        action = started[field]["action"]
        job = _wait_for(engine, from_global_id(action["job"]["id"], "Job")[1], _settled, timeout=60)
        assert job.status == "succeeded", job.error
        results[field] = action["id"]
    with Session(engine) as s:
        assert tags.counters(s, account_id, [tag_id])[tag_id].persons_by_staff == 80

    state = client.post("/graphql", headers=auth, json={"query": ACTION, "variables": {"id": results["exportSegment"]}})
    node = state.json()["data"]["node"]
    assert node["members"] == 80 and node["job"]["result"]["rows"] == 80
    url = urlsplit(node["downloadUrl"])
    download = client.get(f"{url.path}?{url.query}")  # no token: the signed link is the permission
    assert download.status_code == 200
    lines = download.content.decode("utf-8-sig").split("\r\n")
    assert lines[0] == "email;first_name;city" and len([line for line in lines[1:] if line]) == 80
    assert all(line.endswith(";Utrecht") for line in lines[1:] if line)
