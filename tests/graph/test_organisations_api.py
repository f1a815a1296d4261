"""Organisations (module business) as staff use them: create, change, search, tag, link persons;
roles, another account's ids, bad input, and the module switched off."""

from __future__ import annotations

from sqlalchemy import text

from graph.core.ids import to_global_id
from tests import factories

CREATE = """mutation($input: CreateOrganisationInput!) { createOrganisation(input: $input) {
  ... on OrganisationSuccess { organisation { id name email phone city country personCount } }
  ... on CreateOrganisationFailure { errors { code path message } } } }"""
UPDATE = """mutation($input: UpdateOrganisationInput!) { updateOrganisation(input: $input) {
  ... on OrganisationSuccess { organisation { id name email city } }
  ... on UpdateOrganisationFailure { errors { code path } } } }"""
LINK = """mutation($input: OrganisationPersonsInput!) { linkPersonsToOrganisation(input: $input) {
  ... on OrganisationPersonsChanged { changed organisation { personCount
      persons(first: 10) { edges { node { role person { email organisations { role organisation { name } } } } } } } }
  ... on LinkPersonsToOrganisationFailure { errors { code path } } } }"""
UNLINK = """mutation($input: OrganisationPersonsInput!) { unlinkPersonsFromOrganisation(input: $input) {
  ... on OrganisationPersonsChanged { changed organisation { personCount } }
  ... on UnlinkPersonsFromOrganisationFailure { errors { code path } } } }"""
TAG = """mutation($input: TagLinksInput!) { attachTags(input: $input) {
  ... on TagLinksSuccess { changed } ... on AttachTagsFailure { errors { code path } } } }"""
SEARCH = """query($search: String) { organisations(search: $search, first: 10) {
  edges { node { name tags { tag { name } source } } } } }"""


def _business(session, account_id: int, on: bool = True) -> None:
    modules = "ARRAY['business']" if on else "'{}'"
    session.execute(text(f"UPDATE account SET modules = {modules} WHERE id = :a"), {"a": account_id})
    session.expire_all()


def test_staff_create_search_tag_and_link_organisations(gql, session, account):
    _business(session, account.id)
    made = gql(
        CREATE,
        {
            "input": {
                "name": " Bouwbedrijf Noord ",
                "email": "Info@Noord.NL",
                "phone": "+31 20 123 4567",
                "country": "nl",
            }
        },
        token=account.marketer_token,
    )["data"]["createOrganisation"]["organisation"]
    assert (made["name"], made["email"], made["country"], made["personCount"]) == (
        "Bouwbedrijf Noord",
        "info@noord.nl",
        "NL",
        0,
    )
    gql(CREATE, {"input": {"name": "Theatervrienden Zuid", "city": "Maastricht"}}, token=account.marketer_token)
    changed = gql(UPDATE, {"input": {"organisationId": made["id"], "city": "Groningen", "email": None}},
                  token=account.marketer_token)["data"]["updateOrganisation"]["organisation"]  # fmt: skip
    assert (changed["city"], changed["email"], changed["name"]) == ("Groningen", None, "Bouwbedrijf Noord")

    tag = factories.tag(session, account.id, "Zakelijk")
    added = gql(TAG, {"input": {"tagIds": [to_global_id("Tag", tag.id)], "targetIds": [made["id"]]}},
                token=account.marketer_token)["data"]["attachTags"]  # fmt: skip
    assert added["changed"] == 1
    found = gql(SEARCH, {"search": "noord"}, token=account.viewer_token)["data"]["organisations"]["edges"]
    assert [(e["node"]["name"], e["node"]["tags"]) for e in found] == [
        ("Bouwbedrijf Noord", [{"tag": {"name": "Zakelijk"}, "source": "STAFF"}])
    ]
    assert [e["node"]["name"] for e in gql(SEARCH, {"search": "maas"}, token=account.viewer_token)["data"]
            ["organisations"]["edges"]] == ["Theatervrienden Zuid"]  # fmt: skip

    person = factories.person(session, account.id, email="inkoop@noord.nl")
    pid = to_global_id("Person", person.id)
    linked = gql(LINK, {"input": {"organisationId": made["id"], "personIds": [pid], "role": "inkoper"}},
                 token=account.marketer_token)["data"]["linkPersonsToOrganisation"]  # fmt: skip
    member = linked["organisation"]["persons"]["edges"][0]["node"]
    assert linked["changed"] == 1 and linked["organisation"]["personCount"] == 1
    assert member == {
        "role": "inkoper",
        "person": {
            "email": "inkoop@noord.nl",
            "organisations": [{"role": "inkoper", "organisation": {"name": "Bouwbedrijf Noord"}}],
        },
    }
    again = gql(LINK, {"input": {"organisationId": made["id"], "personIds": [pid], "role": "inkoper"}},
                token=account.marketer_token)["data"]["linkPersonsToOrganisation"]  # fmt: skip
    assert again["changed"] == 0
    gone = gql(UNLINK, {"input": {"organisationId": made["id"], "personIds": [pid]}}, token=account.marketer_token)
    assert gone["data"]["unlinkPersonsFromOrganisation"]["organisation"]["personCount"] == 0


def test_bad_input_roles_and_other_accounts(gql, session, account, other_account):
    _business(session, account.id)
    _business(session, other_account.id)
    cases = [
        ({"name": "  "}, "REQUIRED", ["input", "name"]),
        ({"name": "x" * 201}, "TOO_LONG", ["input", "name"]),
        ({"name": "A", "email": "geen adres"}, "INVALID_EMAIL", ["input", "email"]),
        ({"name": "A", "country": "Nederland"}, "INVALID", ["input", "country"]),
        ({"name": "A", "phone": "bel me"}, "INVALID", ["input", "phone"]),
    ]
    for values, code, path in cases:
        errors = gql(CREATE, {"input": values}, token=account.marketer_token)["data"]["createOrganisation"]["errors"]
        assert (errors[0]["code"], errors[0]["path"]) == (code, path), values
    assert session.execute(text("SELECT count(*) FROM organisation")).scalar_one() == 0
    refused = gql(CREATE, {"input": {"name": "A"}}, token=account.viewer_token)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    made = gql(CREATE, {"input": {"name": "Eigen"}}, token=account.marketer_token)["data"]["createOrganisation"]
    oid = made["organisation"]["id"]
    foreign = gql(UPDATE, {"input": {"organisationId": oid, "name": "Overgenomen"}}, token=other_account.marketer_token)
    assert foreign["data"]["updateOrganisation"]["errors"][0]["code"] == "NOT_FOUND"
    stranger = factories.person(session, other_account.id, email="ander@voorbeeld.nl")
    link = gql(LINK, {"input": {"organisationId": oid, "personIds": [to_global_id("Person", stranger.id)]}},
               token=account.marketer_token)["data"]["linkPersonsToOrganisation"]  # fmt: skip
    assert link["errors"][0] == {"code": "NOT_FOUND", "path": ["input", "personIds"]}
    assert gql(SEARCH, {}, token=other_account.viewer_token)["data"]["organisations"]["edges"] == []


def test_with_the_module_off_organisations_are_absent(gql, session, account):
    _business(session, account.id)
    oid = gql(CREATE, {"input": {"name": "Later"}}, token=account.marketer_token)["data"]["createOrganisation"][
        "organisation"
    ]["id"]
    _business(session, account.id, on=False)
    off = gql(CREATE, {"input": {"name": "Nu"}}, token=account.marketer_token)["data"]["createOrganisation"]
    assert off["errors"][0]["code"] == "MODULE_NOT_ENABLED"
    listed = gql(SEARCH, {}, token=account.viewer_token)
    assert listed["errors"][0]["extensions"]["code"] == "MODULE_NOT_ENABLED"
    assert (
        gql("query($id: ID!) { node(id: $id) { id } }", {"id": oid}, token=account.admin_token)["data"]["node"] is None
    )
    tag = factories.tag(session, account.id, "Zakelijk")
    tagged = gql(TAG, {"input": {"tagIds": [to_global_id("Tag", tag.id)], "targetIds": [oid]}},
                 token=account.marketer_token)["data"]["attachTags"]  # fmt: skip
    assert tagged["errors"][0]["code"] == "MODULE_NOT_ENABLED"
