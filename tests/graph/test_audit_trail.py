"""The audit trail as admins read it: every mutation recorded with who, what, which ids and the
request id (refusals too, with their codes; never the input's values), jobs' ends recorded,
filters, admins only, one account's entries only, and no way to change an entry."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy.exc
from sqlalchemy import text

from domain.privacy import service as privacy
from graph.core.ids import from_global_id, to_global_id
from tests import factories

CREATE = """mutation($input: CreateStaffUserInput!) { createStaffUser(input: $input) {
  ... on StaffUserSuccess { staffUser { id } } ... on CreateStaffUserFailure { errors { code } } } }"""
EXPORT = """mutation($input: PrivacyRequestInput!) { requestPersonExport(input: $input) {
  ... on PrivacyRequestStarted { job { id } } } }"""
TRAIL = """query($filter: AuditFilter, $first: Int) { auditTrail(filter: $filter, first: $first) {
  edges { node { id actor action outcome targets fields errors details requestId staffUser { email } } }
  pageInfo { hasNextPage } } }"""


def _trail(gql, token, **flt):
    body = gql(TRAIL, {"filter": flt or None, "first": 50}, token=token)
    assert "errors" not in body, body
    return [e["node"] for e in body["data"]["auditTrail"]["edges"]]


def test_mutations_are_recorded_with_who_what_which_ids_and_the_request(gql, account):
    response = gql.http.post(
        "/graphql",
        json={
            "query": CREATE,
            "variables": {
                "input": {"email": "nieuw@venue.nl", "role": "VIEWER", "password": "een heel lang wachtwoord"}
            },
        },
        headers={"authorization": f"Bearer {account.admin_token}", "x-request-id": "req-audit-1"},
    )
    user_id = response.json()["data"]["createStaffUser"]["staffUser"]["id"]
    refused = gql(CREATE, {"input": {"email": "nieuw@venue.nl", "role": "VIEWER"}}, token=account.admin_token)
    assert refused["data"]["createStaffUser"]["errors"][0]["code"] == "DUPLICATE"

    done, no = _trail(gql, account.admin_token, action="createStaffUser")[::-1]
    assert (done["actor"], done["outcome"], done["staffUser"]) == ("staff", "DONE", {"email": account.admin.email})
    assert done["targets"] == [user_id] and done["fields"] == ["email", "password", "role"]
    assert done["requestId"] == response.headers["x-request-id"]
    assert (no["outcome"], no["errors"], no["targets"]) == ("REFUSED", ["DUPLICATE"], [])
    rows = _trail(gql, account.admin_token)  # the values given are nowhere in the trail
    assert "een heel lang wachtwoord" not in str(rows) and "nieuw@venue.nl" not in str(rows)


def test_a_jobs_end_is_recorded_and_entries_filter_by_target(gql, runtime, session, account, tmp_path):
    runtime.settings = dataclasses.replace(runtime.settings, storage_dir=tmp_path)
    person = factories.person(session, account.id, email="p@voorbeeld.nl")
    pid = to_global_id("Person", person.id)
    job = gql(EXPORT, {"input": {"personId": pid}}, token=account.admin_token)["data"]["requestPersonExport"]["job"]
    privacy.run_export(runtime.new_session, from_global_id(job["id"], "Job")[1], tmp_path, lambda *_: None)

    on_person = _trail(gql, account.admin_token, targetId=pid)
    assert [e["action"] for e in on_person] == ["job:privacy_export", "requestPersonExport"]
    finished = on_person[0]
    assert finished["actor"] == "worker" and finished["staffUser"] == {"email": account.admin.email}
    assert job["id"] in finished["targets"] and finished["details"]["figures"]["bytes"] > 0
    assert [e["action"] for e in _trail(gql, account.admin_token, action="job:*")] == ["job:privacy_export"]
    assert _trail(gql, account.admin_token, targetId=to_global_id("Person", person.id + 999)) == []


def test_only_admins_read_the_trail_of_their_own_account(gql, account, other_account):
    gql(CREATE, {"input": {"email": "x@venue.nl", "role": "VIEWER"}}, token=account.admin_token)
    for token in (account.marketer_token, account.viewer_token, account.website_key):
        body = gql(TRAIL, {}, token=token)
        assert body["errors"][0]["extensions"]["code"] in ("FORBIDDEN", "UNAUTHENTICATED")
    assert _trail(gql, other_account.admin_token) == []
    long = gql(TRAIL, {"filter": {"action": "x" * 201}}, token=account.admin_token)
    assert long["errors"][0]["extensions"]["code"] == "OUT_OF_RANGE"


def test_an_entry_cannot_be_changed_or_deleted(gql, session, account):
    gql(CREATE, {"input": {"email": "y@venue.nl", "role": "VIEWER"}}, token=account.admin_token)
    entry_id = session.execute(text("SELECT id FROM audit_entry WHERE account_id = :a"), {"a": account.id}).scalar()
    for statement in (
        "UPDATE audit_entry SET action = 'nothing' WHERE id = :e",
        "DELETE FROM audit_entry WHERE id = :e",
    ):
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"), session.begin_nested():
            session.execute(text(statement), {"e": entry_id})
    session.execute(text("DELETE FROM account WHERE id = :a"), {"a": account.id})  # but with its account
    assert session.execute(text("SELECT count(*) FROM audit_entry WHERE id = :e"), {"e": entry_id}).scalar() == 0
