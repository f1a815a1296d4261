"""Tenant isolation and authentication (SPEC §1, §9 "tenant isolation", §11 global ids).

A staff token of account A must never read or change account B's persons, catalogue or consent
types: not through lists, search, counts, ``person(id:)``, ``node(id:)``, nested fields or
mutations. A foreign id must be indistinguishable from an id that does not exist.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, UTC

import pytest
from sqlalchemy import text

from domain.accounts import service as accounts
from domain.accounts.person_links import sign_person_token
from domain.catalog.models import Event, Production, Venue
from domain.people.models import ConsentType, Person, PersonConsent
from graph.core.ids import to_global_id

PERSON_FIELDS = "id email firstName lastName city"

UPDATE = """mutation($i: UpdatePersonInput!) { updatePerson(input: $i) { __typename
  ... on UpdatePersonSuccess { person { id firstName } }
  ... on UpdatePersonFailure { errors { code message path } } } }"""

DELETE = """mutation($i: DeletePersonInput!) { deletePerson(input: $i) { __typename
  ... on DeletePersonSuccess { deletedId }
  ... on DeletePersonFailure { errors { code message path } } } }"""

NOT_FOUND_ID = {"code": "NOT_FOUND", "message": "person not found", "path": ["input", "id"]}


def gid(type_name: str, pk: int) -> str:
    return to_global_id(type_name, pk)


def person_row(connection, person_id: int) -> dict | None:
    row = connection.execute(text("select * from person where id = :id"), {"id": person_id}).mappings().first()
    return dict(row) if row else None


def count_rows(connection, table: str, account_id: int) -> int:
    return connection.execute(
        text(f"select count(*) from {table} where account_id = :a"), {"a": account_id}
    ).scalar_one()


@pytest.fixture()
def two_tenants(session, account, other_account):
    """Account A with one person, account B with one person sharing A's city and name prefix."""
    mine = Person(account_id=account.id, email="anna@a.example", first_name="Anna", last_name="Mine", city="Utrecht")
    theirs = Person(
        account_id=other_account.id,
        email="anna@b.example",
        first_name="Anneke",
        last_name="Theirs",
        city="Utrecht",
        custom_fields={"secret": "yes"},
    )
    session.add_all([mine, theirs])
    session.flush()
    return mine, theirs


@pytest.fixture()
def catalogues(session, account, other_account):
    """One venue, production and event per account; B's titles contain A's search word."""
    rows = {}
    for acc, suffix in ((account, "A"), (other_account, "B")):
        venue = Venue(account_id=acc.id, name=f"Zaal {suffix}", city="Utrecht")
        production = Production(account_id=acc.id, title=f"Hamlet {suffix}", season="2025", promoter="Toneel")
        session.add_all([venue, production])
        session.flush()
        event = Event(
            account_id=acc.id,
            production_id=production.id,
            venue_id=venue.id,
            starts_at=datetime(2030, 1, 1, 20, tzinfo=UTC),
        )
        consent = ConsentType(account_id=acc.id, key=f"newsletter-{suffix.lower()}", name=f"Newsletter {suffix}")
        session.add_all([event, consent])
        session.flush()
        rows[suffix] = {"venue": venue, "production": production, "event": event, "consent": consent}
    return rows


# --- persons: reads ---------------------------------------------------------------------------------


def test_persons_list_search_and_count_show_only_own_account(gql, account, other_account, two_tenants):
    mine, _ = two_tenants
    r = gql("{ persons(first: 50) { totalCount edges { node { id email } } } }", token=account.admin_token)
    assert r == {
        "data": {
            "persons": {"totalCount": 1, "edges": [{"node": {"id": gid("Person", mine.id), "email": "anna@a.example"}}]}
        },
        "_status": 200,
    }

    # Search and filters that match B's person only: nothing, and a zero count.
    for args in ('search: "anneke"', 'search: "anna@b"', 'search: "theirs"'):
        r = gql(f"{{ persons({args}) {{ totalCount edges {{ node {{ id }} }} }} }}", token=account.admin_token)
        assert r["data"] == {"persons": {"totalCount": 0, "edges": []}}, args
    r = gql('{ persons(filter: {city: "utrecht"}) { totalCount edges { node { id } } } }', token=account.admin_token)
    assert r["data"] == {"persons": {"totalCount": 1, "edges": [{"node": {"id": gid("Person", mine.id)}}]}}


def test_person_and_node_of_other_account_are_null(gql, account, other_account, two_tenants):
    _, theirs = two_tenants
    query = """query($id: ID!) { person(id: $id) { id email } node(id: $id) { id ... on Person { email } } }"""
    r = gql(query, {"id": gid("Person", theirs.id)}, token=account.admin_token)
    assert r == {"data": {"person": None, "node": None}, "_status": 200}
    # The same query works for B's own staff, so the null above is isolation, not a broken query.
    r = gql(query, {"id": gid("Person", theirs.id)}, token=other_account.admin_token)
    assert r["data"] == {
        "person": {"id": gid("Person", theirs.id), "email": "anna@b.example"},
        "node": {"id": gid("Person", theirs.id), "email": "anna@b.example"},
    }


def test_person_cursor_of_other_account_reveals_nothing(gql, account, other_account, two_tenants):
    """A cursor taken from B's list, replayed by A, pages through A's persons only."""
    r = gql(
        "{ persons(first: 1, sort: {field: ID, direction: ASC}) { pageInfo { endCursor } } }",
        token=other_account.admin_token,
    )
    cursor = r["data"]["persons"]["pageInfo"]["endCursor"]
    r = gql(
        "query($c: String) { persons(after: $c, sort: {field: ID, direction: DESC}) { edges { node { email } } } }",
        {"c": cursor},
        token=account.admin_token,
    )
    assert r["data"] == {"persons": {"edges": [{"node": {"email": "anna@a.example"}}]}}


# --- persons: writes --------------------------------------------------------------------------------


def test_update_other_accounts_person_is_not_found_like_a_missing_id(
    gql, connection, account, other_account, two_tenants
):
    _, theirs = two_tenants
    before = person_row(connection, theirs.id)
    values = {"firstName": "Hacked", "email": "hacked@a.example", "customFields": None}

    foreign = gql(UPDATE, {"i": {"id": gid("Person", theirs.id), **values}}, token=account.admin_token)
    missing = gql(UPDATE, {"i": {"id": gid("Person", theirs.id + 10_000), **values}}, token=account.admin_token)

    assert foreign == {
        "data": {"updatePerson": {"__typename": "UpdatePersonFailure", "errors": [NOT_FOUND_ID]}},
        "_status": 200,
    }
    assert foreign == missing
    assert person_row(connection, theirs.id) == before


def test_delete_other_accounts_person_is_not_found_like_a_missing_id(
    gql, connection, account, other_account, two_tenants
):
    _, theirs = two_tenants
    before = person_row(connection, theirs.id)

    foreign = gql(DELETE, {"i": {"id": gid("Person", theirs.id)}}, token=account.admin_token)
    missing = gql(DELETE, {"i": {"id": gid("Person", theirs.id + 10_000)}}, token=account.admin_token)

    assert foreign == {
        "data": {"deletePerson": {"__typename": "DeletePersonFailure", "errors": [NOT_FOUND_ID]}},
        "_status": 200,
    }
    assert foreign == missing
    assert person_row(connection, theirs.id) == before
    assert count_rows(connection, "person", other_account.id) == 1


def test_ids_of_other_types_do_not_reach_persons(gql, connection, account, other_account, two_tenants):
    """An id that decodes to a pk of B's person but names another type is refused too."""
    _, theirs = two_tenants
    before = person_row(connection, theirs.id)
    for wrong in (gid("Production", theirs.id), gid("Account", other_account.id), gid("Person", 0), "garbage"):
        r = gql(DELETE, {"i": {"id": wrong}}, token=account.admin_token)
        assert r["data"] == {"deletePerson": {"__typename": "DeletePersonFailure", "errors": [NOT_FOUND_ID]}}, wrong
        r = gql(UPDATE, {"i": {"id": wrong, "firstName": "X"}}, token=account.admin_token)
        assert r["data"] == {"updatePerson": {"__typename": "UpdatePersonFailure", "errors": [NOT_FOUND_ID]}}, wrong
    assert person_row(connection, theirs.id) == before


def test_duplicate_email_check_does_not_cross_accounts(gql, account, other_account, two_tenants):
    """B's e-mail address is free in A: the uniqueness rule is per account (and leaks nothing)."""
    r = gql("""mutation { createPerson(input: {email: "ANNA@b.example"}) { __typename } }""", token=account.admin_token)
    assert r["data"] == {"createPerson": {"__typename": "CreatePersonSuccess"}}


# --- catalogue and consent types --------------------------------------------------------------------


def test_catalogue_lists_show_only_own_account(gql, account, other_account, catalogues):
    a = catalogues["A"]
    token = account.admin_token
    r = gql(
        """{ productions { edges { node { id title events { id venue { id } } } } }
                 events { edges { node { id production { id } venue { id } } } }
                 venues { edges { node { id name } } } }""",
        token=token,
    )
    assert r["data"] == {
        "productions": {
            "edges": [
                {
                    "node": {
                        "id": gid("Production", a["production"].id),
                        "title": "Hamlet A",
                        "events": [{"id": gid("Event", a["event"].id), "venue": {"id": gid("Venue", a["venue"].id)}}],
                    }
                }
            ]
        },
        "events": {
            "edges": [
                {
                    "node": {
                        "id": gid("Event", a["event"].id),
                        "production": {"id": gid("Production", a["production"].id)},
                        "venue": {"id": gid("Venue", a["venue"].id)},
                    }
                }
            ]
        },
        "venues": {"edges": [{"node": {"id": gid("Venue", a["venue"].id), "name": "Zaal A"}}]},
    }
    r = gql('{ productions(search: "hamlet b") { edges { node { id } } } }', token=token)
    assert r["data"] == {"productions": {"edges": []}}


def test_catalogue_rows_of_other_account_are_null_by_id(gql, account, other_account, catalogues):
    b = catalogues["B"]
    query = """query($p: ID!, $e: ID!, $v: ID!) {
        production(id: $p) { id } event(id: $e) { id }
        np: node(id: $p) { id } ne: node(id: $e) { id } nv: node(id: $v) { id }
        events(productionId: $p) { edges { node { id } } } }"""
    variables = {
        "p": gid("Production", b["production"].id),
        "e": gid("Event", b["event"].id),
        "v": gid("Venue", b["venue"].id),
    }
    r = gql(query, variables, token=account.admin_token)
    assert r == {
        "data": {"production": None, "event": None, "np": None, "ne": None, "nv": None, "events": {"edges": []}},
        "_status": 200,
    }
    # B's own staff see them: the nulls above are isolation, not a broken query.
    r = gql(query, variables, token=other_account.admin_token)
    assert r["data"]["production"] == {"id": variables["p"]}
    assert r["data"]["nv"] == {"id": variables["v"]}
    assert r["data"]["events"] == {"edges": [{"node": {"id": variables["e"]}}]}


def test_catalogue_rows_of_other_account_unchanged(gql, connection, account, other_account, catalogues):
    """Reading through every catalogue field with A's token leaves B's rows exactly as they were."""

    def snapshot():
        return {
            t: [
                dict(r)
                for r in connection.execute(
                    text(f"select * from {t} where account_id = :a order by id"), {"a": other_account.id}
                ).mappings()
            ]
            for t in ("venue", "production", "event", "consent_type")
        }

    before = snapshot()
    b = catalogues["B"]
    gql(
        "query($p: ID!) { production(id: $p) { id } node(id: $p) { id } productions { edges { node { id } } } }",
        {"p": gid("Production", b["production"].id)},
        token=account.admin_token,
    )
    assert snapshot() == before


def test_consent_types_never_cross_accounts(gql, session, account, other_account, catalogues, two_tenants):
    a, b = catalogues["A"], catalogues["B"]
    mine, _ = two_tenants
    session.add(
        PersonConsent(
            account_id=account.id,
            person_id=mine.id,
            consent_type_id=a["consent"].id,
            granted=True,
            granted_at=datetime(2024, 1, 1, tzinfo=UTC),
        )
    )
    session.flush()

    r = gql("{ consentTypes { edges { node { id key name } } } }", token=account.admin_token)
    assert r["data"] == {
        "consentTypes": {
            "edges": [
                {"node": {"id": gid("ConsentType", a["consent"].id), "key": "newsletter-a", "name": "Newsletter A"}}
            ]
        }
    }

    r = gql(
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": gid("ConsentType", b["consent"].id)},
        token=account.admin_token,
    )
    assert r["data"] == {"node": None}

    r = gql("{ persons { edges { node { consents { granted consentType { key } } } } } }", token=account.admin_token)
    assert r["data"] == {
        "persons": {"edges": [{"node": {"consents": [{"granted": True, "consentType": {"key": "newsletter-a"}}]}}]}
    }


# --- viewers and credentials -----------------------------------------------------------------------

PERSONS = "{ persons { totalCount } }"


def _error(message: str, code: str, field: str = "persons", column: int = 3) -> dict:
    return {
        "message": message,
        "locations": [{"line": 1, "column": column}],
        "path": [field],
        "extensions": {"code": code},
    }


def test_website_key_cannot_list_or_read_persons(gql, account, two_tenants):
    mine, _ = two_tenants
    r = gql(PERSONS, token=account.website_key)
    assert r == {
        "data": None,
        "errors": [_error("this needs a staff user or a connector key with people:read", "FORBIDDEN")],
        "_status": 200,
    }
    r = gql("query($id: ID!) { node(id: $id) { id } }", {"id": gid("Person", mine.id)}, token=account.website_key)
    assert r["data"] == {"node": None}


def test_person_viewer_cannot_list_persons(gql, runtime, account, two_tenants):
    mine, _ = two_tenants
    link = sign_person_token(runtime.settings.secret_key, account_id=account.id, person_id=mine.id)
    r = gql("{ viewer { kind personId } }", token=link)
    assert r["data"] == {"viewer": {"kind": "PERSON", "personId": gid("Person", mine.id)}}
    r = gql(PERSONS, token=link)
    assert r == {
        "data": None,
        "errors": [_error("this needs a staff user or a connector key with people:read", "FORBIDDEN")],
        "_status": 200,
    }
    # Not even their own row through the staff refetch field.
    r = gql("query($id: ID!) { node(id: $id) { id } }", {"id": gid("Person", mine.id)}, token=link)
    assert r["data"] == {"node": None}


def test_person_link_for_another_accounts_person_is_rejected(gql, runtime, account, other_account, two_tenants):
    """A (validly signed) link pairing account A with B's person authenticates nobody."""
    _, theirs = two_tenants
    link = sign_person_token(runtime.settings.secret_key, account_id=account.id, person_id=theirs.id)
    r = gql("{ viewer { kind } }", token=link)
    assert r["data"] == {"viewer": None}
    r = gql(PERSONS, token=link)
    assert r["errors"] == [_error("this link is not valid", "UNAUTHENTICATED")]


def test_forged_person_link_is_rejected(gql, account, two_tenants):
    mine, _ = two_tenants
    link = sign_person_token("not-the-secret", account_id=account.id, person_id=mine.id)
    r = gql(PERSONS, token=link)
    assert r == {"data": None, "errors": [_error("this link is not valid", "UNAUTHENTICATED")], "_status": 200}


def test_expired_person_link_is_rejected(gql, runtime, account, two_tenants):
    mine, _ = two_tenants
    link = sign_person_token(runtime.settings.secret_key, account_id=account.id, person_id=mine.id)
    runtime.settings = dataclasses.replace(runtime.settings, preference_link_max_age=-1)
    r = gql("{ viewer { kind } }", token=link)
    assert r["data"] == {"viewer": None}
    r = gql(PERSONS, token=link)
    assert r == {"data": None, "errors": [_error("this link has expired", "UNAUTHENTICATED")], "_status": 200}


def test_no_token_is_unauthenticated(gql, two_tenants):
    r = gql(PERSONS)
    assert r == {
        "data": None,
        "errors": [_error("authentication required: send 'Authorization: Bearer <token>'", "UNAUTHENTICATED")],
        "_status": 200,
    }
    r = gql("{ viewer { kind } }")
    assert r == {"data": {"viewer": None}, "_status": 200}


def test_garbage_token_is_unauthenticated(gql, two_tenants):
    for token in ("garbage", "mqs_" + "x" * 43, "x" * 500):
        r = gql(PERSONS, token=token)
        assert r == {
            "data": None,
            "errors": [_error("unknown, revoked or expired token", "UNAUTHENTICATED")],
            "_status": 200,
        }, token


def test_malformed_authorization_header_is_unauthenticated(gql, account, two_tenants):
    r = gql.http.post(
        "/graphql", json={"query": PERSONS}, headers={"authorization": f"Token {account.admin_token}"}
    ).json()
    assert r == {
        "data": None,
        "errors": [_error("the Authorization header must be 'Bearer <token>'", "UNAUTHENTICATED")],
    }


def test_revoked_token_is_unauthenticated(gql, session, account, two_tenants):
    token, secret = accounts.issue_token(session, account.id, kind="staff", staff_user_id=account.admin.id)
    assert gql(PERSONS, token=secret)["data"] == {"persons": {"totalCount": 1}}

    assert accounts.revoke_token(session, account.id, token.id) is True
    session.flush()
    r = gql(PERSONS, token=secret)
    assert r == {
        "data": None,
        "errors": [_error("unknown, revoked or expired token", "UNAUTHENTICATED")],
        "_status": 200,
    }


def test_revoking_needs_the_owning_account(session, account, other_account):
    """revoke_token is account-scoped: B cannot revoke A's token."""
    token, _ = accounts.issue_token(session, account.id, kind="staff", staff_user_id=account.admin.id)
    assert accounts.revoke_token(session, other_account.id, token.id) is False


def test_expired_token_is_unauthenticated(gql, session, account, two_tenants):
    _, secret = accounts.issue_token(
        session,
        account.id,
        kind="staff",
        staff_user_id=account.admin.id,
        expires_at=datetime.now(UTC) - timedelta(seconds=1),
    )
    r = gql(PERSONS, token=secret)
    assert r["errors"] == [_error("unknown, revoked or expired token", "UNAUTHENTICATED")]
