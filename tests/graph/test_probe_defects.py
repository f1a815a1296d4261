"""Defects found by outside probes, each pinned by a test: framing and scripts of the preference
page, repeated consents, revocable preference links, what connectors see of tags, who may delete
persons, unknown events in segment modes."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import text

from domain.accounts import service as accounts
from domain.people.models import ConsentType
from domain.segments import service as segments
from graph.app import create_app
from graph.core.ids import to_global_id
from tests import factories as f
from tests.graphql_client import GraphQLClient

LINK = """mutation($p: ID!) { createPreferenceLink(input: {personId: $p}) {
  ... on PreferenceLinkSuccess { token } ... on CreatePreferenceLinkFailure { errors { code path } } } }"""
REVOKE = """mutation($p: ID!) { revokePreferenceLinks(input: {personId: $p}) { __typename
  ... on RevokePreferenceLinksFailure { errors { code path } } } }"""
SUBMIT = """mutation($i: SubmitPreferencesInput!) { submitPreferences(input: $i) { __typename
  ... on SubmitPreferencesFailure { errors { code message path } } } }"""


def test_the_preference_page_may_not_be_framed_and_runs_only_its_own_script(gql):
    response = gql.http.get("/preferences")
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and response.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in policy and "script-src 'sha256-" in policy and "connect-src 'self'" in policy
    assert "'unsafe-inline'" not in policy


def test_the_venue_names_who_may_frame_the_preference_page(runtime):
    runtime.settings = dataclasses.replace(runtime.settings, frame_ancestors=("https://www.venue.nl",))
    response = GraphQLClient(create_app(runtime)).http.get("/preferences")
    assert "frame-ancestors https://www.venue.nl" in response.headers["content-security-policy"]
    assert "x-frame-options" not in response.headers


def link_for(gql, account, person) -> str:
    body = gql(LINK, {"p": to_global_id("Person", person.id)}, token=account.marketer_token)
    return body["data"]["createPreferenceLink"]["token"]


def test_a_consent_given_twice_is_refused(gql, session, account, connection):
    person = f.person(session, account.id)
    consent = ConsentType(account_id=account.id, key="news", name="News")
    session.add(consent)
    session.flush()
    token = link_for(gql, account, person)
    choice = to_global_id("ConsentType", consent.id)
    body = gql(
        SUBMIT,
        {
            "i": {
                "selectedTagIds": [],
                "consents": [{"consentTypeId": choice, "granted": True}, {"consentTypeId": choice, "granted": False}],
            }
        },
        token=token,
    )
    assert body["data"]["submitPreferences"] == {
        "__typename": "SubmitPreferencesFailure",
        "errors": [
            {"code": "INVALID", "message": "each consent type may be given once", "path": ["input", "consents", "1"]}
        ],
    }
    assert (
        connection.execute(
            text("select count(*) from person_consent where account_id = :a"), {"a": account.id}
        ).scalar_one()
        == 0
    )


def test_preference_links_can_be_revoked(gql, session, account, other_account):
    person = f.person(session, account.id)
    old = link_for(gql, account, person)
    assert gql("{ viewer { kind } }", token=old)["data"] == {"viewer": {"kind": "PERSON"}}
    body = gql(REVOKE, {"p": to_global_id("Person", person.id)}, token=account.marketer_token)
    assert body["data"]["revokePreferenceLinks"] == {"__typename": "RevokePreferenceLinksSuccess"}
    refused = gql("{ preferenceCentre { title } }", token=old)
    assert refused["errors"][0]["message"] == "this link was withdrawn; ask for a new one"
    new = link_for(gql, account, person)
    assert gql("{ viewer { kind } }", token=new)["data"] == {"viewer": {"kind": "PERSON"}}
    # Another account's person, or the viewer role: refused.
    theirs = f.person(session, other_account.id)
    body = gql(REVOKE, {"p": to_global_id("Person", theirs.id)}, token=account.marketer_token)
    assert body["data"]["revokePreferenceLinks"]["errors"] == [{"code": "NOT_FOUND", "path": ["input", "personId"]}]
    body = gql(REVOKE, {"p": to_global_id("Person", person.id)}, token=account.viewer_token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_connectors_read_public_tag_fields_unless_given_the_internal_scope(gql, session, account):
    f.tag(session, account.id, "Jazz", note="VIP only — do not mail", label="Jazz")
    f.tag(session, account.id, "Old", active=False)
    f.installed_plugin(session, account.id, "mailer", ("tags:read", "tags:read:internal"))
    _, public = accounts.issue_token(session, account.id, kind="connector", plugin="mailer", scopes=["tags:read"])
    _, internal = accounts.issue_token(session, account.id, kind="connector", plugin="mailer")
    query = "{ tagTree { label name note active counts { persons } } }"
    assert gql(query, token=public)["data"] == {
        "tagTree": [{"label": "Jazz", "name": None, "note": None, "active": None, "counts": None}]
    }
    seen = gql(query, token=internal)["data"]["tagTree"]
    assert {t["name"] for t in seen} == {"Jazz", "Old"}
    assert {t["note"] for t in seen} == {"VIP only — do not mail", ""}


def test_only_admins_delete_persons(gql, session, account, connection):
    person = f.person(session, account.id)
    query = "mutation($i: DeletePersonInput!) { deletePerson(input: $i) { __typename } }"
    body = gql(query, {"i": {"id": to_global_id("Person", person.id)}}, token=account.marketer_token)
    assert body["errors"][0]["message"] == "this needs a staff user with role admin"
    body = gql(query, {"i": {"id": to_global_id("Person", person.id)}}, token=account.admin_token)
    assert body["data"]["deletePerson"] == {"__typename": "DeletePersonSuccess"}


@pytest.mark.parametrize("field", ["count(mode: {eventId: $e})", "members(mode: {eventId: $e}) { totalCount }"])
def test_segment_modes_refuse_an_unknown_event(gql, session, account, other_account, field):
    segment = segments.create_segment(session, account.id, name="all", rules={"all": []})
    query = "query($s: ID!, $e: ID!) { segment(id: $s) { %s } }" % field
    for event in (to_global_id("Event", 10**9), "junk"):
        body = gql(query, {"s": to_global_id("Segment", segment.id), "e": event}, token=account.viewer_token)
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert body["errors"][0]["extensions"]["problems"][0]["path"] == ["mode", "eventId"]


def test_forms_and_the_account_are_nodes_and_lists_page(gql, session, account, other_account):
    from domain.forms import service as forms
    from domain.people.models import CustomFieldDefinition

    form = forms.create_form(session, account.id, forms.FormFields(title="Survey"))
    theirs = forms.create_form(session, other_account.id, forms.FormFields(title="Theirs"))
    for key in ("b_seats", "a_diet"):
        session.add(CustomFieldDefinition(account_id=account.id, key=key, label=key, type="text"))
    for i in range(3):
        session.add(ConsentType(account_id=account.id, key=f"c{i}", name=f"C{i}"))
    session.flush()
    query = """query($f: ID!, $t: ID!, $a: ID!, $o: ID!) {
      form: node(id: $f) { ... on Form { title } } theirs: node(id: $t) { id }
      account: node(id: $a) { ... on Account { name } } other: node(id: $o) { id }
      consentTypes(first: 2) { edges { node { key } } pageInfo { hasNextPage endCursor } }
      customFieldDefinitions(first: 5) { edges { node { key type } } } }"""
    body = gql(
        query,
        {
            "f": to_global_id("Form", form.id),
            "t": to_global_id("Form", theirs.id),
            "a": to_global_id("Account", account.id),
            "o": to_global_id("Account", other_account.id),
        },
        token=account.viewer_token,
    )["data"]
    assert body["form"] == {"title": "Survey"} and body["theirs"] is None
    assert body["account"] == {"name": "Stadsschouwburg Test"} and body["other"] is None
    assert [e["node"]["key"] for e in body["consentTypes"]["edges"]] == ["c0", "c1"]
    assert body["consentTypes"]["pageInfo"]["hasNextPage"]
    rest = gql(
        "query($c: String) { consentTypes(after: $c) { edges { node { key } } } }",
        {"c": body["consentTypes"]["pageInfo"]["endCursor"]},
        token=account.viewer_token,
    )["data"]
    assert [e["node"]["key"] for e in rest["consentTypes"]["edges"]] == ["c2"]
    assert [e["node"]["key"] for e in body["customFieldDefinitions"]["edges"]] == ["a_diet", "b_seats"]
