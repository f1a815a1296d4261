"""Custom field definitions run by admins: created (key and type fixed), relabelled and
described, retired (no longer written, tested or exported; persons' values stay) unless segments
test them; bad input typed and nothing written; admins only."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from domain.errors import InputError
from domain.people import service as people
from domain.segments import service as segments
from tests import factories as f

CREATE = """mutation($input: CreateCustomFieldInput!) { createCustomField(input: $input) {
  ... on CustomFieldSuccess { customField { key label type choices description retiredAt } }
  ... on CreateCustomFieldFailure { errors { code path message } } } }"""
CHANGE = """mutation($input: ChangeCustomFieldInput!) { changeCustomField(input: $input) {
  ... on CustomFieldSuccess { customField { key label description } }
  ... on ChangeCustomFieldFailure { errors { code path message } } } }"""
RETIRE = """mutation($input: RetireCustomFieldInput!) { retireCustomField(input: $input) {
  ... on CustomFieldSuccess { customField { retiredAt } }
  ... on RetireCustomFieldFailure { errors { code path message } } } }"""


def _create(gql, account, **values):
    variables = {"input": {"key": "seats", "label": "Stoelen", "type": "number", **values}}
    return gql(CREATE, variables, token=account.admin_token)["data"]["createCustomField"]


def test_an_admin_creates_relabels_and_describes_a_field(gql, account):
    made = _create(gql, account, key="seat", type="choice", choices=[" aisle ", "window"])["customField"]
    assert (made["type"], made["choices"], made["retiredAt"]) == ("choice", ["aisle", "window"], None)
    changed = gql(
        CHANGE,
        {"input": {"key": "seat", "label": "Voorkeursplaats", "description": "Gang of raam"}},
        token=account.admin_token,
    )["data"]["changeCustomField"]["customField"]
    assert changed == {"key": "seat", "label": "Voorkeursplaats", "description": "Gang of raam"}


def test_bad_input_is_typed_and_nothing_is_written(gql, session, account):
    _create(gql, account)

    def count():
        return session.execute(
            text("SELECT count(*) FROM custom_field_definition WHERE account_id = :a"), {"a": account.id}
        ).scalar()

    before = count()
    for values, code, path in (
        ({}, "DUPLICATE", ["input", "key"]),
        ({"key": "9lives"}, "INVALID", ["input", "key"]),
        ({"key": "ok", "type": "colour"}, "INVALID_CHOICE", ["input", "type"]),
        ({"key": "ok", "type": "choice"}, "OUT_OF_RANGE", ["input", "choices"]),
        ({"key": "ok", "type": "choice", "choices": ["a", "a"]}, "DUPLICATE", ["input", "choices", "1"]),
        ({"key": "ok", "choices": ["a"]}, "INVALID", ["input", "choices"]),
        ({"key": "ok", "label": "l" * 201}, "TOO_LONG", ["input", "label"]),
    ):
        errors = _create(gql, account, **values)["errors"]
        assert (errors[0]["code"], errors[0]["path"]) == (code, path), errors
    assert count() == before


def test_a_retired_field_keeps_its_values_but_is_no_longer_written_or_tested(gql, session, account):
    _create(gql, account)
    anna = f.person(session, account.id, first_name="Anna")
    people.update_person(
        session, account.id, anna.id, people.PersonChanges(custom_fields={"seats": 2}), timezone_name="UTC"
    )
    rule = {"type": "custom_field", "key": "seats", "operator": "gte", "value": 2}
    segment = segments.create_segment(session, account.id, name="Groepen", rules=rule)
    refused = gql(RETIRE, {"input": {"key": "seats"}}, token=account.admin_token)["data"]["retireCustomField"]
    assert refused["errors"][0]["code"] == "CONFLICT" and "Groepen" in refused["errors"][0]["message"]
    segments.delete_segment(session, account.id, segment.id)
    retired = gql(RETIRE, {"input": {"key": "seats"}}, token=account.admin_token)["data"]["retireCustomField"]
    assert retired["customField"]["retiredAt"] is not None
    kept = session.execute(
        text("SELECT custom_fields->>'seats' FROM person WHERE account_id = :a AND id = :p"),
        {"a": account.id, "p": anna.id},
    ).scalar_one()
    assert kept == "2"  # Anna's value stays
    with pytest.raises(InputError):
        people.update_person(
            session, account.id, anna.id, people.PersonChanges(custom_fields={"seats": 3}), timezone_name="UTC"
        )
    with pytest.raises(InputError):
        segments.create_segment(session, account.id, name="Nog eens", rules=rule)


def test_only_admins(gql, account):
    for token in (account.marketer_token, account.viewer_token, account.website_key):
        denied = gql(CREATE, {"input": {"key": "x", "label": "X", "type": "text"}}, token=token)
        assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    missing = gql(RETIRE, {"input": {"key": "nothere"}}, token=account.admin_token)
    assert missing["data"]["retireCustomField"]["errors"][0]["code"] == "NOT_FOUND"
