"""Consent types run by admins: created with a unique key, renamed and described, retired (no
longer asked, states kept) unless a segment uses them; bad input typed, others' ids out of reach."""

from __future__ import annotations

from sqlalchemy import text

import pytest

from domain.errors import ErrorCode, InputError
from domain.people.consents import set_consents
from domain.segments import service as segments
from graph.core.ids import to_global_id
from tests import factories as f

CREATE = """mutation($input: CreateConsentTypeInput!) { createConsentType(input: $input) {
  ... on ConsentTypeSuccess { consentType { id key name description retiredAt } }
  ... on CreateConsentTypeFailure { errors { code path message } } } }"""
CHANGE = """mutation($input: ChangeConsentTypeInput!) { changeConsentType(input: $input) {
  ... on ConsentTypeSuccess { consentType { key name description } }
  ... on ChangeConsentTypeFailure { errors { code path message } } } }"""
RETIRE = """mutation($input: RetireConsentTypeInput!) { retireConsentType(input: $input) {
  ... on ConsentTypeSuccess { consentType { retiredAt } }
  ... on RetireConsentTypeFailure { errors { code path message } } } }"""
PAGE = "{ preferenceCentre { consents { consentTypeId name } } }"
LINK = """mutation($p: ID!) { createPreferenceLink(input: {personId: $p}) {
  ... on PreferenceLinkSuccess { token } ... on CreatePreferenceLinkFailure { errors { code path } } } }"""
SUBMIT = """mutation($i: SubmitPreferencesInput!) { submitPreferences(input: $i) { __typename
  ... on SubmitPreferencesFailure { errors { code message path } } } }"""


def _create(gql, account, **values):
    variables = {"input": {"key": "nieuwsbrief", "name": "Nieuwsbrief", **values}}
    return gql(CREATE, variables, token=account.admin_token)["data"]["createConsentType"]


def test_an_admin_creates_renames_and_describes_a_consent_type(gql, account):
    made = _create(gql, account, description="Eens per maand")["consentType"]
    assert (made["key"], made["name"], made["description"], made["retiredAt"]) == (
        "nieuwsbrief",
        "Nieuwsbrief",
        "Eens per maand",
        None,
    )
    changed = gql(
        CHANGE, {"input": {"consentTypeId": made["id"], "name": "Nieuwsbrief (maandelijks)"}}, token=account.admin_token
    )["data"]["changeConsentType"]["consentType"]
    assert changed == {"key": "nieuwsbrief", "name": "Nieuwsbrief (maandelijks)", "description": "Eens per maand"}
    listed = gql("{ consentTypes(first: 50) { edges { node { key } } } }", token=account.viewer_token)
    assert "nieuwsbrief" in {e["node"]["key"] for e in listed["data"]["consentTypes"]["edges"]}


def test_bad_input_is_typed_and_nothing_is_written(gql, session, account):
    _create(gql, account)

    def count():
        return session.execute(
            text("SELECT count(*) FROM consent_type WHERE account_id = :a"), {"a": account.id}
        ).scalar()

    before = count()
    for values, code, field in (
        ({}, "DUPLICATE", "key"),
        ({"key": "Nieuws Brief"}, "INVALID", "key"),
        ({"key": "k" * 64}, "INVALID", "key"),
        ({"key": "ok", "name": " "}, "REQUIRED", "name"),
        ({"key": "ok", "name": "n" * 201}, "TOO_LONG", "name"),
        ({"key": "ok", "description": "d" * 2001}, "TOO_LONG", "description"),
    ):
        errors = _create(gql, account, **values)["errors"]
        assert (errors[0]["code"], errors[0]["path"]) == (code, ["input", field]), errors
    assert count() == before


def test_retiring_keeps_the_states_hides_it_and_is_refused_while_a_segment_uses_it(gql, session, account):
    made = _create(gql, account)["consentType"]
    type_id = int(session.execute(text("SELECT id FROM consent_type WHERE key = 'nieuwsbrief'")).scalar())
    anna = f.person(session, account.id, first_name="Anna")
    set_consents(session, account.id, anna.id, {type_id: True}, source="person")
    segment = segments.create_segment(
        session, account.id, name="Lezers", rules={"type": "consent", "consent_type_id": type_id}
    )
    refused = gql(RETIRE, {"input": {"consentTypeId": made["id"]}}, token=account.admin_token)
    error = refused["data"]["retireConsentType"]["errors"][0]
    assert error["code"] == "CONFLICT" and "Lezers" in error["message"]
    segments.delete_segment(session, account.id, segment.id)
    retired = gql(RETIRE, {"input": {"consentTypeId": made["id"]}}, token=account.admin_token)
    assert retired["data"]["retireConsentType"]["consentType"]["retiredAt"] is not None
    state = session.execute(
        text("SELECT granted FROM person_consent WHERE account_id = :a AND person_id = :p"),
        {"a": account.id, "p": anna.id},
    ).scalar_one()
    assert state is True  # what Anna said stays
    link = gql(LINK, {"p": to_global_id("Person", anna.id)}, token=account.admin_token)
    token = link["data"]["createPreferenceLink"]["token"]
    shown = gql(PAGE, token=token)["data"]["preferenceCentre"]["consents"]
    assert made["id"] not in {c["consentTypeId"] for c in shown}  # no longer asked
    sent = gql(
        SUBMIT,
        {"i": {"selectedTagIds": [], "consents": [{"consentTypeId": made["id"], "granted": False}]}},
        token=token,
    )
    assert sent["data"]["submitPreferences"]["errors"][0]["code"] == "NOT_FOUND"
    with pytest.raises(InputError) as refused_rule:
        segments.create_segment(
            session, account.id, name="Nog eens", rules={"type": "consent", "consent_type_id": type_id}
        )
    assert refused_rule.value.problems[0].code is ErrorCode.NOT_FOUND


def test_only_admins_and_only_their_own(gql, session, account, other_account):
    theirs = int(
        session.execute(
            text("SELECT min(id) FROM consent_type WHERE account_id = :a"), {"a": other_account.id}
        ).scalar()
        or 0
    )
    for token in (account.marketer_token, account.viewer_token):
        denied = gql(CREATE, {"input": {"key": "x", "name": "X"}}, token=token)
        assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    answer = gql(
        RETIRE, {"input": {"consentTypeId": to_global_id("ConsentType", theirs or 10**9)}}, token=account.admin_token
    )
    assert answer["data"]["retireConsentType"]["errors"][0]["code"] == "NOT_FOUND"
