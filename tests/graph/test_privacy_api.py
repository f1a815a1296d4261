"""Privacy requests through GraphQL as an admin uses them: ask for a person's export, download it
through its signed link, erase the person; refused to marketers and viewers, another account's
persons out of reach, bad ids typed."""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

from sqlalchemy import text

from domain.privacy import service as privacy
from graph.core.ids import from_global_id, to_global_id
from tests import factories

EXPORT = """mutation($input: PrivacyRequestInput!) { requestPersonExport(input: $input) {
  ... on PrivacyRequestStarted { request { id kind personId person { id } } job { id kind status } }
  ... on RequestPersonExportFailure { errors { code path message } } } }"""
ERASE = """mutation($input: PrivacyRequestInput!) { erasePerson(input: $input) {
  ... on PrivacyRequestStarted { request { id kind } job { id kind } }
  ... on ErasePersonFailure { errors { code path message } } } }"""
REQUESTS = """query($person: ID) { privacyRequests(personId: $person, first: 10) {
  edges { node { id kind personId person { id } downloadUrl finishedAt requestedBy { email } job { status } } } } }"""


def _run(runtime, session, job_global_id: str, storage) -> None:
    job_id = from_global_id(job_global_id, "Job")[1]
    kind = session.execute(text("SELECT kind FROM job WHERE id = :j"), {"j": job_id}).scalar_one()
    run = privacy.run_export if kind == privacy.EXPORT_JOB else privacy.run_erase
    run(runtime.new_session, job_id, storage, lambda *_: None)
    session.expire_all()


def test_an_admin_exports_a_person_downloads_it_and_erases_them(gql, runtime, session, account, tmp_path):
    runtime.settings = dataclasses.replace(runtime.settings, storage_dir=tmp_path)
    person = factories.person(session, account.id, email="lotte@voorbeeld.nl", first_name="Lotte")
    pid = to_global_id("Person", person.id)
    started = gql(EXPORT, {"input": {"personId": pid}}, token=account.admin_token)["data"]["requestPersonExport"]
    assert started["request"]["kind"] == "EXPORT" and started["job"]["kind"] == privacy.EXPORT_JOB
    _run(runtime, session, started["job"]["id"], tmp_path)

    listed = gql(REQUESTS, {"person": pid}, token=account.admin_token)["data"]["privacyRequests"]["edges"]
    node = listed[0]["node"]
    assert node["job"]["status"] == "succeeded" and node["requestedBy"] == {"email": account.admin.email}
    url = urlsplit(node["downloadUrl"])
    download = gql.http.get(f"{url.path}?{url.query}")  # no token: the signed link is the permission
    assert download.status_code == 200 and download.json()["person"]["email"] == "lotte@voorbeeld.nl"
    assert download.headers["cache-control"] == "private, no-store"
    tampered = gql.http.get(f"{url.path}?{url.query.replace('signature=', 'signature=0')}")
    assert tampered.status_code == 403

    erased = gql(ERASE, {"input": {"personId": pid}}, token=account.admin_token)["data"]["erasePerson"]
    _run(runtime, session, erased["job"]["id"], tmp_path)
    assert gql.http.get(f"{url.path}?{url.query}").status_code == 404  # the document went with the person
    listed = gql(REQUESTS, {"person": pid}, token=account.admin_token)["data"]["privacyRequests"]["edges"]
    assert [(e["node"]["kind"], e["node"]["personId"], e["node"]["person"]) for e in listed] == [
        ("ERASE", pid, None),
        ("EXPORT", pid, None),
    ]
    again = gql(ERASE, {"input": {"personId": pid}}, token=account.admin_token)["data"]["erasePerson"]
    assert again["errors"][0]["code"] == "NOT_FOUND" and again["errors"][0]["path"] == ["input", "personId"]
    found = gql("query($id: ID!) { node(id: $id) { id } }", {"id": pid}, token=account.admin_token)["data"]
    assert found["node"] is None


def test_only_admins_ask_and_only_for_their_own_persons(gql, session, account, other_account):
    person = factories.person(session, account.id, email="a@voorbeeld.nl")
    pid = to_global_id("Person", person.id)
    for token in (account.marketer_token, account.viewer_token):
        for query in (EXPORT, ERASE):
            body = gql(query, {"input": {"personId": pid}}, token=token)
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert gql(REQUESTS, {}, token=token)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    foreign = gql(EXPORT, {"input": {"personId": pid}}, token=other_account.admin_token)["data"]
    assert foreign["requestPersonExport"]["errors"][0]["code"] == "NOT_FOUND"
    malformed = gql(ERASE, {"input": {"personId": "bm90LWFuLWlk"}}, token=account.admin_token)["data"]
    assert malformed["erasePerson"]["errors"][0]["code"] == "NOT_FOUND"
    assert session.execute(text("SELECT count(*) FROM privacy_request")).scalar_one() == 0
    listed = gql(REQUESTS, {}, token=other_account.admin_token)["data"]["privacyRequests"]["edges"]
    assert listed == []
