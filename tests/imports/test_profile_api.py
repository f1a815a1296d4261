"""Staff read what a profile holds after an import: orders with tickets and events, tags with
source, identities, consents, subscriptions; a production's events and tags. Batched."""

from __future__ import annotations

from sqlalchemy import event, text

from domain.imports.importer import ImportOptions, run_import
from domain.imports.readers import read_jsonl
from domain.people.models import ConsentType
from graph.core.ids import to_global_id
from tests.imports import feeds

PROFILES = """query($first: Int) { persons(first: $first) { edges { node {
  externalIdentities { source externalId }
  consents { granted consentType { key } }
  consentHistory { granted source consentType { key } }
  submissions { form { title } selectedTags { label } addedTags { label } removedTags { label } consents }
  subscriptions { name externalId }
  tags { source actor tag { name } }
  purchases { tickets revenue }
  orders { status channel externalId tickets { price status scannedAt event { externalId status
    production { title tags { source tag { name } } events { externalId } } venue { name } } } }
} } } }"""


def _imported(session, runtime, account, persons=40):
    session.add(ConsentType(account_id=account.id, key="newsletter", name="Nieuwsbrief"))
    session.flush()
    items = feeds.records(persons=persons)
    order = next(r for r in items if r["type"] == "order" and r["person"] == "C0")
    order["tickets"][0]["scanned_at"] = "2026-09-03T19:05:00+00:00"
    result = run_import(
        runtime.new_session,
        account.id,
        read_jsonl(feeds.jsonl(items)),
        ImportOptions(source="tix", tag_persons=("Ticketkoper",)),
    )
    assert result.refused == 0
    return items


def _statements(connection, call):
    seen = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(connection, "before_cursor_execute", listener)
    try:
        return call(), seen
    finally:
        event.remove(connection, "before_cursor_execute", listener)


def test_a_profile_reads_everything_it_holds_in_a_constant_number_of_statements(
    gql, session, connection, runtime, account
):
    items = _imported(session, runtime, account)
    from domain.forms import service as forms
    from tests import factories

    c0 = session.execute(
        text("SELECT person_id FROM person_identity WHERE account_id = :a AND external_id = 'C0'"), {"a": account.id}
    ).scalar_one()
    newsletter = session.execute(text("SELECT id FROM consent_type WHERE account_id = :a"), {"a": account.id}).scalar()
    jazz = factories.tag(session, account.id, "Favoriet", show_on_form=True)
    centre = forms.preference_centre(session, account.id)
    others = session.execute(
        text("SELECT id FROM person WHERE account_id = :a AND id <> :c"), {"a": account.id, "c": c0}
    )
    for person_id in [c0, *others.scalars()]:  # submissions on every page, so both pages read forms
        forms.submit_form(
            session,
            account.id,
            form_id=centre.id,
            person_id=person_id,
            visible_tag_ids={jazz.id},
            selected_tag_ids=[jazz.id],
            consents=[(newsletter, False)],
        )
    gql(PROFILES, {"first": 1}, token=account.viewer_token)  # the account's tag tree is cached from here on
    small, few = _statements(connection, lambda: gql(PROFILES, {"first": 3}, token=account.viewer_token))
    large, many = _statements(connection, lambda: gql(PROFILES, {"first": 40}, token=account.viewer_token))
    assert "errors" not in large, large
    assert len(few) == len(many) <= 20, many  # one statement per kind of row, whatever the page size

    nodes = [e["node"] for e in large["data"]["persons"]["edges"]]
    by_identity = {n["externalIdentities"][0]["externalId"]: n for n in nodes}
    first = by_identity["C0"]
    assert first["externalIdentities"] == [{"source": "tix", "externalId": "C0"}]
    assert first["consents"] == [{"granted": False, "consentType": {"key": "newsletter"}}]
    assert [(c["granted"], c["source"]) for c in first["consentHistory"]] == [(False, "person"), (True, "integration")]
    (submission,) = first["submissions"]
    assert submission["selectedTags"] == submission["addedTags"] == [{"label": "Favoriet"}]
    assert submission["removedTags"] == [] and submission["form"]["title"]
    assert first["subscriptions"] == [{"name": "Jazzabonnement", "externalId": "S0"}]
    assert sorted((t["source"], t["tag"]["name"]) for t in first["tags"]) == [
        ("INTEGRATION", "Ticketkoper"),
        ("PERSON", "Favoriet"),
    ]
    fed_orders = [r for r in items if r["type"] == "order" and r["person"] == "C0"]
    assert sorted(o["externalId"] for o in first["orders"]) == sorted(o["id"] for o in fed_orders)
    tickets = [t for o in first["orders"] for t in o["tickets"]]
    assert sum(1 for t in tickets if t["scannedAt"]) == 1
    production = tickets[0]["event"]["production"]
    assert production["tags"][0]["source"] == "INTEGRATION"
    assert len(production["events"]) == 3
    assert first["purchases"]["tickets"] == len(tickets)


def test_orders_are_paged_and_their_cap_is_checked(gql, session, runtime, account):
    _imported(session, runtime, account, persons=20)
    person_id = session.execute(
        text("SELECT person_id FROM orders WHERE account_id = :a GROUP BY person_id HAVING count(*) >= 2 LIMIT 1"),
        {"a": account.id},
    ).scalar_one()
    query = "query($id: ID!, $n: Int!) { person(id: $id) { orders(first: $n) { createdAt } } }"
    one = gql(query, {"id": to_global_id("Person", person_id), "n": 1}, token=account.admin_token)
    assert len(one["data"]["person"]["orders"]) == 1
    too_many = gql(query, {"id": to_global_id("Person", person_id), "n": 101}, token=account.admin_token)
    assert too_many["errors"][0]["extensions"]["code"] == "OUT_OF_RANGE"


def test_profiles_stay_in_their_account_and_away_from_keys(gql, session, runtime, account, other_account):
    _imported(session, runtime, account, persons=5)
    person_id = session.execute(text("SELECT id FROM person WHERE account_id = :a LIMIT 1"), {"a": account.id}).scalar()
    query = "query($id: ID!) { person(id: $id) { orders { externalId } tags { source } } }"
    assert gql(query, {"id": to_global_id("Person", person_id)}, token=other_account.admin_token)["data"] == {
        "person": None
    }
    theirs = gql(PROFILES, {"first": 50}, token=other_account.admin_token)
    assert theirs["data"]["persons"]["edges"] == []
    website = gql(query, {"id": to_global_id("Person", person_id)}, token=account.website_key)
    assert website["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_connector_keys_read_profiles_with_people_read_only(gql, session, runtime, account, other_account):
    from domain.accounts import service as accounts
    from tests import factories

    _imported(session, runtime, account, persons=5)
    factories.installed_plugin(session, account.id, "crm", ("people:read", "tags:read"))
    factories.installed_plugin(session, other_account.id, "crm", ("people:read",))
    _, reader = accounts.issue_token(session, account.id, kind="connector", plugin="crm")
    _, tags_only = accounts.issue_token(session, account.id, kind="connector", plugin="crm", scopes=["tags:read"])
    _, theirs = accounts.issue_token(session, other_account.id, kind="connector", plugin="crm")
    query = """{ persons(first: 10) { totalCount edges { node { externalIdentities { externalId }
      consentHistory { granted } submissions { submittedAt } orders { status } tags { actor tag { name } } } } } }"""
    body = gql(query, token=reader)
    assert "errors" not in body, body
    nodes = [e["node"] for e in body["data"]["persons"]["edges"]]
    assert body["data"]["persons"]["totalCount"] == 5 and any(n["orders"] for n in nodes)
    assert {t["actor"] for n in nodes for t in n["tags"]} == {None}  # staff details stay with staff
    assert gql(query, token=tags_only)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert gql(query, token=account.website_key)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert gql(query, token=theirs)["data"]["persons"]["totalCount"] == 0  # their account holds none


def test_history_and_submission_lists_are_capped(gql, session, runtime, account):
    _imported(session, runtime, account, persons=2)
    person_id = session.execute(text("SELECT id FROM person WHERE account_id = :a LIMIT 1"), {"a": account.id}).scalar()
    pid = to_global_id("Person", person_id)
    for field, cap in (("consentHistory", 200), ("submissions", 100)):
        query = f"query($id: ID!, $n: Int!) {{ person(id: $id) {{ {field}(first: $n) {{ __typename }} }} }}"
        assert "errors" not in gql(query, {"id": pid, "n": cap}, token=account.viewer_token)
        too_many = gql(query, {"id": pid, "n": cap + 1}, token=account.viewer_token)
        assert too_many["errors"][0]["extensions"]["code"] == "OUT_OF_RANGE"
