"""Acting on a segment: labelling its members and exporting them to CSV, each over a stored
snapshot; typed refusals that write nothing; signed download links (403 changed, 410 expired)."""

from __future__ import annotations

import csv
import dataclasses
import io
import time
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from domain.actions import export as exports
from domain.actions import service as actions
from domain.segments import service as segments
from domain.tags import service as tags
from graph.core.ids import from_global_id, to_global_id
from tests import factories as f

UTRECHT = {"type": "text", "field": "city", "operator": "eq", "value": "Utrecht"}

LABEL = """mutation($input: LabelSegmentMembersInput!) { labelSegmentMembers(input: $input) {
  ... on SegmentActionStarted { action { id kind segmentName mode members job { id kind status } } }
  ... on LabelSegmentMembersFailure { errors { code path message } } } }"""

EXPORT = """mutation($input: ExportSegmentInput!) { exportSegment(input: $input) {
  ... on SegmentActionStarted { action { id kind job { id kind } } }
  ... on ExportSegmentFailure { errors { code path message } } } }"""

ACTION = """query($id: ID!) { node(id: $id) { ... on SegmentAction {
  kind members snapshotAt downloadUrl segment { name } job { status result } } } }"""


def _noop(fraction: float, message: str = "") -> None:
    pass


def _persons(session, account_id, cities: list[str]):
    return [f.person(session, account_id, city=city, first_name=f"P{i}") for i, city in enumerate(cities)]


def _started(response, field: str) -> tuple[int, int]:
    """(action id, job id) of a started action."""
    action = response["data"][field]["action"]
    return from_global_id(action["id"], "SegmentAction")[1], from_global_id(action["job"]["id"], "Job")[1]


def _count(session, sql: str, **params) -> int:
    return session.execute(text(sql), params).scalar_one()


def test_labelling_tags_every_member_of_the_snapshot_once_as_staff(gql, runtime, session, account):
    utrecht = _persons(session, account.id, ["Utrecht", "Utrecht", "Utrecht", "Zeist"])
    segment = segments.create_segment(session, account.id, name="Utrecht", rules=UTRECHT)
    first, second = f.tag(session, account.id, "Actie 1"), f.tag(session, account.id, "Actie 2")
    tags.attach(
        session,
        account.id,
        tag_ids=[first.id],
        target=tags.TargetKind.PERSON,
        target_ids=[utrecht[0].id],
        source="staff",
        actor="x",
    )
    response = gql(
        LABEL,
        {
            "input": {
                "segmentId": to_global_id("Segment", segment.id),
                "tagIds": [to_global_id("Tag", first.id), to_global_id("Tag", second.id)],
            }
        },
        token=account.marketer_token,
    )
    action_id, job_id = _started(response, "labelSegmentMembers")
    started = response["data"]["labelSegmentMembers"]["action"]
    assert started["kind"] == "LABEL" and started["segmentName"] == "Utrecht" and started["members"] is None
    assert started["job"]["kind"] == "label_segment" and started["job"]["status"] == "queued"

    result = actions.run_label(runtime.new_session, job_id, _noop)
    assert result["members"] == 3 and result["links_added"] == 5  # one held "Actie 1" already
    assert result["added_per_tag"] == [{"tag": "Actie 1", "added": 2}, {"tag": "Actie 2", "added": 3}]
    links = session.execute(
        text("SELECT tag_id, person_id, source, actor FROM person_tag WHERE account_id = :a AND tag_id = :t"),
        {"a": account.id, "t": second.id},
    ).all()
    assert {(p, s, a) for _, p, s, a in links} == {(p.id, "staff", f"staff:{account.marketer.id}") for p in utrecht[:3]}
    counted = tags.counters(session, account.id, [first.id, second.id])
    assert counted[first.id].persons == 3 and counted[second.id].persons_by_staff == 3  # exact right after

    state = gql(ACTION, {"id": to_global_id("SegmentAction", action_id)}, token=account.viewer_token)["data"]["node"]
    assert state["members"] == 3 and state["snapshotAt"] and state["downloadUrl"] is None
    assert state["job"]["status"] == "succeeded" and state["job"]["result"]["links_added"] == 5
    assert _count(session, "SELECT count(*) FROM action_member WHERE account_id = :a", a=account.id) == 3


def test_an_export_writes_the_snapshot_taken_before_later_changes(runtime, session, account, tmp_path):
    members = _persons(session, account.id, ["Utrecht", "Utrecht"])
    members[1].first_name = '=HYPERLINK("http://x")'
    session.flush()
    segment = segments.create_segment(session, account.id, name="Utrecht; centrum", rules=UTRECHT)
    action = exports.start_csv_export(
        session,
        account.id,
        actions.Target(segment.id),
        exports.CsvOptions(fields=("first_name", "email", "city"), dialect=exports.CsvDialect.EXCEL_NL),
    )
    with runtime.new_session() as s, s.begin():  # the worker took the snapshot, then crashed
        actions.take_snapshot(s, actions.action_of_job(s, action.job_id, lock=True))
    f.person(session, account.id, city="Utrecht", first_name="Later")  # joins the segment after the snapshot

    result = exports.run_export(runtime.new_session, action.job_id, tmp_path, _noop)
    assert result["rows"] == 2 and result["members"] == 2
    raw = (tmp_path / f"exports/{account.id}/{action.id}.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw  # BOM, CRLF: a Dutch Excel opens it
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["first_name", "email", "city"]
    assert sorted(r[0] for r in rows[1:]) == ['\'=HYPERLINK("http://x")', "P0"]  # no formula, and no "Later"
    assert {r[1] for r in rows[1:]} == {m.email for m in members}
    assert result["bytes"] == len(raw)


def test_the_standard_dialect_is_rfc_4180(runtime, session, account, tmp_path):
    person = f.person(session, account.id, city="Utrecht", last_name='de "Boer", jr.')
    segment = segments.create_segment(session, account.id, name="Utrecht", rules=UTRECHT)
    action = exports.start_csv_export(session, account.id, actions.Target(segment.id), exports.CsvOptions())
    exports.run_export(runtime.new_session, action.job_id, tmp_path, _noop)
    raw = (tmp_path / f"exports/{account.id}/{action.id}.csv").read_bytes().decode("utf-8")
    assert raw == f'email,first_name,last_name\r\n{person.email},{person.first_name},"de ""Boer"", jr."\r\n'


def test_actions_refuse_what_they_cannot_find_and_write_nothing(gql, session, account, other_account):
    segment = segments.create_segment(session, account.id, name="Utrecht", rules=UTRECHT)
    foreign_segment = segments.create_segment(session, other_account.id, name="Elders", rules=UTRECHT)
    tag, foreign_tag = f.tag(session, account.id, "Eigen"), f.tag(session, other_account.id, "Vreemd")
    foreign_production = f.production(session, other_account.id)
    sid, tid = to_global_id("Segment", segment.id), to_global_id("Tag", tag.id)
    cases = [
        (
            LABEL,
            {"segmentId": to_global_id("Segment", foreign_segment.id), "tagIds": [tid]},
            "NOT_FOUND",
            ["input", "segmentId"],
        ),
        (LABEL, {"segmentId": sid, "tagIds": [to_global_id("Tag", foreign_tag.id)]}, "NOT_FOUND", ["input", "tagIds"]),
        (LABEL, {"segmentId": sid, "tagIds": []}, "REQUIRED", ["input", "tagIds"]),
        (LABEL, {"segmentId": "nonsense", "tagIds": [tid]}, "NOT_FOUND", ["input", "segmentId"]),
        (
            LABEL,
            {
                "segmentId": sid,
                "tagIds": [tid],
                "mode": {"productionId": to_global_id("Production", foreign_production.id)},
            },
            "NOT_FOUND",
            ["input", "mode", "productionId"],
        ),
        (EXPORT, {"segmentId": sid, "fields": ["EMAIL", "EMAIL"]}, "DUPLICATE", ["input", "fields"]),
        (EXPORT, {"segmentId": sid, "fields": []}, "REQUIRED", ["input", "fields"]),
        (EXPORT, {"segmentId": to_global_id("Segment", foreign_segment.id)}, "NOT_FOUND", ["input", "segmentId"]),
    ]
    for query, variables, code, path in cases:
        response = gql(query, {"input": variables}, token=account.marketer_token)
        payload = next(iter(response["data"].values()))
        assert [(e["code"], e["path"]) for e in payload["errors"]] == [(code, path)], (variables, payload)
    forbidden = gql(LABEL, {"input": {"segmentId": sid, "tagIds": [tid]}}, token=account.viewer_token)
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert _count(session, "SELECT count(*) FROM job WHERE account_id = :a", a=account.id) == 0
    assert _count(session, "SELECT count(*) FROM segment_action WHERE account_id = :a", a=account.id) == 0
    assert _count(session, "SELECT count(*) FROM segment_action") == 0


def test_a_deleted_segment_leaves_its_actions_and_a_pending_one_fails_clearly(runtime, session, account):
    segment = segments.create_segment(session, account.id, name="Weg", rules=UTRECHT)
    tag = f.tag(session, account.id)
    action = actions.start_label(session, account.id, actions.Target(segment.id), tag_ids=[tag.id], actor="staff:1")
    segments.delete_segment(session, account.id, segment.id)
    session.refresh(action)
    assert action.segment_id is None and action.segment_name == "Weg"
    with pytest.raises(actions.JobRefused, match="segment was deleted"):
        actions.run_label(runtime.new_session, action.job_id, _noop)


def test_download_links_are_signed_and_expire(gql, runtime, session, account, other_account, tmp_path):
    runtime.settings = dataclasses.replace(runtime.settings, storage_dir=tmp_path)
    f.person(session, account.id, city="Utrecht")
    segment = segments.create_segment(session, account.id, name="Utrecht", rules=UTRECHT)
    action = exports.start_csv_export(session, account.id, actions.Target(segment.id), exports.CsvOptions())
    exports.run_export(runtime.new_session, action.job_id, tmp_path, _noop)

    state = gql(ACTION, {"id": to_global_id("SegmentAction", action.id)}, token=account.marketer_token)["data"]["node"]
    url = urlsplit(state["downloadUrl"])
    assert state["downloadUrl"].startswith(runtime.settings.base_url + "/downloads/exports/")
    link = f"{url.path}?{url.query}"
    ok = gql.http.get(link)
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/csv")
    assert "attachment" in ok.headers["content-disposition"] and ok.text.startswith("email,first_name")
    assert ok.headers["cache-control"] == "private, no-store"

    secret = runtime.settings.secret_key
    tampered = [
        link.replace(f"/{action.id}?", f"/{action.id + 1}?"),  # another action
        link.replace(f"/exports/{account.id}/", f"/exports/{other_account.id}/"),  # another account
        link.replace("expires=", "expires=9"),  # a later expiry
        link[:-4],  # cut short
        url.path,  # no signature
    ]
    for changed in tampered:
        refused = gql.http.get(changed)
        assert refused.status_code == 403 and "not valid" in refused.text, changed
    expired = exports.download_path(secret, action, 60, now=time.time() - 120)
    gone = gql.http.get(expired)
    assert gone.status_code == 410 and "expired" in gone.text

    (tmp_path / f"exports/{account.id}/{action.id}.csv").unlink()  # removed from storage
    assert gql.http.get(link).status_code == 404


def test_another_accounts_actions_layouts_and_ledgers_stay_out_of_sight(gql, runtime, session, account, other_account):
    from domain.mail import offers

    segment = segments.create_segment(session, other_account.id, name="Elders", rules=UTRECHT)
    tag = f.tag(session, other_account.id)
    action = actions.start_label(session, other_account.id, actions.Target(segment.id), tag_ids=[tag.id], actor="x")
    layout = offers.create_layout(session, other_account.id, name="Elders", html="{{ unsubscribe_url }}")
    for type_name, pk in (("SegmentAction", action.id), ("MailLayout", layout.id)):
        seen = gql(
            "query($id: ID!) { node(id: $id) { id } }", {"id": to_global_id(type_name, pk)}, token=account.admin_token
        )
        assert seen["data"]["node"] is None, type_name
    listed = gql("{ segmentActions { edges { node { id } } } mailLayouts { id } }", token=account.admin_token)["data"]
    assert listed == {"segmentActions": {"edges": []}, "mailLayouts": []}
    mine = gql(
        "query($id: ID!) { segmentActions(segmentId: $id) { edges { node { id } } } }",
        {"id": to_global_id("Segment", segment.id)},
        token=account.admin_token,
    )
    assert mine["data"]["segmentActions"]["edges"] == []
    changed = gql(
        """mutation($input: UpdateMailLayoutInput!) { updateMailLayout(input: $input) {
          ... on UpdateMailLayoutFailure { errors { code path } } } }""",
        {"input": {"id": to_global_id("MailLayout", layout.id), "name": "x", "html": "{{ unsubscribe_url }}"}},
        token=account.admin_token,
    )
    assert changed["data"]["updateMailLayout"]["errors"] == [{"code": "NOT_FOUND", "path": ["input", "id"]}]
    website = gql("{ segmentActions { edges { node { id } } } }", token=account.website_key)
    assert website["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_export_files_go_after_their_keep_days_and_their_links_answer_404(runtime, session, account, tmp_path):
    f.person(session, account.id, city="Utrecht")
    segment = segments.create_segment(session, account.id, name="Utrecht", rules=UTRECHT)
    old = exports.start_csv_export(session, account.id, actions.Target(segment.id), exports.CsvOptions())
    exports.run_export(runtime.new_session, old.job_id, tmp_path, _noop)
    session.execute(
        text("UPDATE segment_action SET created_at = now() - interval '8 days' WHERE account_id = :a AND id = :id"),
        {"a": account.id, "id": old.id},
    )
    new = exports.start_csv_export(session, account.id, actions.Target(segment.id), exports.CsvOptions())
    result = exports.run_export(runtime.new_session, new.job_id, tmp_path, _noop, keep_days=7)
    assert result["old_files_removed"] == 1
    assert not (tmp_path / f"exports/{account.id}/{old.id}.csv").exists()
    assert (tmp_path / f"exports/{account.id}/{new.id}.csv").exists()
    assert exports.export_file(session, tmp_path, account.id, old.id) is None


def test_the_viewer_role_can_read_actions_but_start_none(gql, session, account):
    segment = segments.create_segment(session, account.id, name="Utrecht", rules=UTRECHT)
    tag = f.tag(session, account.id)
    sid = to_global_id("Segment", segment.id)
    mutations = {
        "labelSegmentMembers": (
            "LabelSegmentMembersInput",
            {"segmentId": sid, "tagIds": [to_global_id("Tag", tag.id)]},
        ),
        "exportSegment": ("ExportSegmentInput", {"segmentId": sid}),
        "pushAudience": ("PushAudienceInput", {"segmentId": sid}),
        "createMailLayout": ("MailLayoutInput", {"name": "x", "html": "{{ unsubscribe_url }}"}),
        "sendOffer": (
            "SendOfferInput",
            {
                "segmentId": sid,
                "layoutId": "x",
                "consentTypeId": "x",
                "subject": "s",
                "text": "t",
                "offerUrl": "https://venue.example",
            },
        ),
    }
    for field, (input_type, variables) in mutations.items():
        answer = gql(
            f"mutation($input: {input_type}!) {{ {field}(input: $input) {{ __typename }} }}",
            {"input": variables},
            token=account.viewer_token,
        )
        assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN", field
    read = gql("{ segmentActions { edges { node { id } } } mailLayouts { id } }", token=account.viewer_token)
    assert "errors" not in read
    assert session.execute(text("SELECT count(*) FROM job WHERE account_id = :a"), {"a": account.id}).scalar() == 0
