"""Persons through GraphQL: create / update / delete with typed errors, roles, listing and loaders.

SPEC §1 (persons, roles), §9 ("every mutation validates its input and answers bad input with a
clear, typed error, leaving nothing half-written"; no N+1), §11 (connections, typed payloads).
"""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import date, datetime, timedelta, UTC
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from domain.catalog.models import Event, Order, Production, Subscription, Ticket, Venue
from domain.pagination import encode_cursor
from domain.people.models import (
    ConsentType,
    CustomFieldDefinition,
    Person,
    PersonConsent,
    PersonIdentity,
)
from graph.app import create_app
from graph.core.ids import to_global_id
from domain.people.service import age_on
from tests.graphql_client import GraphQLClient
from tests.statements import statements_of

PERSON = """id email firstName lastName gender birthDate language address postalCode city country
            latitude longitude customFields createdAt updatedAt"""

CREATE = f"""mutation($i: CreatePersonInput!) {{ createPerson(input: $i) {{ __typename
  ... on CreatePersonSuccess {{ person {{ {PERSON} }} }}
  ... on CreatePersonFailure {{ errors {{ code message path }} }} }} }}"""

UPDATE = f"""mutation($i: UpdatePersonInput!) {{ updatePerson(input: $i) {{ __typename
  ... on UpdatePersonSuccess {{ person {{ {PERSON} }} }}
  ... on UpdatePersonFailure {{ errors {{ code message path }} }} }} }}"""

DELETE = """mutation($i: DeletePersonInput!) { deletePerson(input: $i) { __typename
  ... on DeletePersonSuccess { deletedId }
  ... on DeletePersonFailure { errors { code message path } } } }"""

TZ = ZoneInfo("Europe/Amsterdam")


def gid(pk: int, type_name: str = "Person") -> str:
    return to_global_id(type_name, pk)


def pk_of(global_id: str) -> int:
    raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    return int(raw.split(":")[1])


def rows(connection, account_id: int) -> list[dict]:
    """Every person row of the account, as plain values (the database, not a session cache)."""
    return [
        dict(r)
        for r in connection.execute(
            text("select * from person where account_id = :a order by id"), {"a": account_id}
        ).mappings()
    ]


def failure(kind: str, *errors: tuple[str, str, list[str]]) -> dict:
    return {
        kind: {
            "__typename": f"{kind[0].upper()}{kind[1:]}Failure",
            "errors": [{"code": c, "message": m, "path": p} for c, m, p in errors],
        }
    }


def today() -> date:
    return datetime.now(TZ).date()


@pytest.fixture()
def custom_fields(session, account):
    for key, kind, choices in (
        ("shoeSize", "number", []),
        ("vip", "boolean", []),
        ("seat", "choice", ["aisle", "window"]),
        ("memberSince", "date", []),
        ("note", "text", []),
    ):
        session.add(CustomFieldDefinition(account_id=account.id, key=key, label=key, type=kind, choices=choices))
    session.flush()


@pytest.fixture()
def anna(session, account, custom_fields) -> Person:
    person = Person(
        account_id=account.id,
        email="Anna@Example.nl",
        first_name="Anna",
        last_name="Jansen",
        gender="female",
        birth_date=date(1990, 5, 17),
        language="nl",
        address="Kade 1",
        postal_code="1012AB",
        city="Amsterdam",
        country="NL",
        latitude=52.37,
        longitude=4.89,
        custom_fields={"shoeSize": 38, "vip": True, "note": "keep"},
    )
    session.add(person)
    session.flush()
    return person


# --- create / update / delete: the happy paths -------------------------------------------------------


def test_create_person_stores_clean_values(gql, connection, account, custom_fields):
    r = gql(
        CREATE,
        {
            "i": {
                "email": "  bram@example.nl ",
                "firstName": " Bram ",
                "lastName": "de Vries",
                "gender": "MALE",
                "birthDate": "1985-03-02",
                "language": "en-GB",
                "address": "Dam 1",
                "postalCode": "1012JS",
                "city": "Amsterdam",
                "country": "nl",
                "latitude": 52.373,
                "longitude": 4.892,
                "customFields": {"shoeSize": 44, "seat": "aisle", "memberSince": "2020-01-31"},
            }
        },
        token=account.marketer_token,
    )
    person = r["data"]["createPerson"]["person"]
    assert r["data"]["createPerson"]["__typename"] == "CreatePersonSuccess"
    assert {k: v for k, v in person.items() if k not in ("id", "createdAt", "updatedAt")} == {
        "email": "bram@example.nl",
        "firstName": "Bram",
        "lastName": "de Vries",
        "gender": "MALE",
        "birthDate": "1985-03-02",
        "language": "en-GB",
        "address": "Dam 1",
        "postalCode": "1012JS",
        "city": "Amsterdam",
        "country": "NL",
        "latitude": 52.373,
        "longitude": 4.892,
        "customFields": {"shoeSize": 44, "seat": "aisle", "memberSince": "2020-01-31"},
    }
    [row] = rows(connection, account.id)
    assert gid(row["id"]) == person["id"]
    assert (row["email"], row["first_name"], row["country"], row["gender"]) == ("bram@example.nl", "Bram", "NL", "male")


def test_empty_strings_are_stored_as_null(gql, connection, account):
    r = gql(
        CREATE,
        {"i": {"email": "  ", "firstName": "", "lastName": "Jansen", "city": "Leiden"}},
        token=account.admin_token,
    )
    person = r["data"]["createPerson"]["person"]
    assert (person["email"], person["firstName"], person["city"]) == (None, None, "Leiden")


@pytest.mark.parametrize("values", [{}, {"city": "Leiden"}, {"email": " ", "firstName": "\u200b"}])
def test_a_person_needs_an_email_or_a_name(gql, connection, account, values):
    r = gql(CREATE, {"i": values}, token=account.admin_token)
    assert (
        r["data"]["createPerson"]
        == failure("createPerson", ("REQUIRED", "a person needs an e-mail address or a name", ["input", "email"]))[
            "createPerson"
        ]
    )
    assert rows(connection, account.id) == []


def test_an_update_cannot_leave_a_person_without_email_and_name(gql, connection, account, anna):
    r = gql(
        UPDATE,
        {"i": {"id": gid(anna.id), "email": None, "firstName": None, "lastName": " "}},
        token=account.admin_token,
    )
    assert r["data"]["updatePerson"]["errors"][0]["code"] == "REQUIRED"


def test_update_changes_only_given_fields_null_clears_custom_fields_merge(gql, connection, account, anna):
    before = rows(connection, account.id)[0]
    r = gql(
        UPDATE,
        {
            "i": {
                "id": gid(anna.id),
                "firstName": "Anneke",
                "lastName": None,
                "gender": None,
                "customFields": {"shoeSize": 39, "vip": None, "seat": "window"},
            }
        },
        token=account.marketer_token,
    )
    assert r["data"]["updatePerson"]["__typename"] == "UpdatePersonSuccess", r
    after = rows(connection, account.id)[0]
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"first_name", "last_name", "gender", "custom_fields", "updated_at"}
    assert (after["first_name"], after["last_name"], after["gender"]) == ("Anneke", None, None)
    assert after["custom_fields"] == {"shoeSize": 39, "seat": "window", "note": "keep"}
    assert after["updated_at"] > before["updated_at"]
    person = r["data"]["updatePerson"]["person"]
    assert person["customFields"] == after["custom_fields"]
    assert person["email"] == "Anna@Example.nl"  # untouched fields come back as they were


def test_update_clears_coordinates_together(gql, connection, account, anna):
    r = gql(UPDATE, {"i": {"id": gid(anna.id), "latitude": None}}, token=account.admin_token)
    assert r["data"] == failure(
        "updatePerson", ("INVALID", "latitude and longitude go together", ["input", "latitude"])
    )
    assert (rows(connection, account.id)[0]["latitude"], rows(connection, account.id)[0]["longitude"]) == (52.37, 4.89)
    r = gql(UPDATE, {"i": {"id": gid(anna.id), "latitude": None, "longitude": None}}, token=account.admin_token)
    person = r["data"]["updatePerson"]["person"]
    assert (person["latitude"], person["longitude"]) == (None, None)
    assert (rows(connection, account.id)[0]["latitude"], rows(connection, account.id)[0]["longitude"]) == (None, None)


def test_update_without_changes_keeps_updated_at(gql, connection, account, anna):
    before = rows(connection, account.id)[0]
    r = gql(UPDATE, {"i": {"id": gid(anna.id), "firstName": "Anna", "city": "Amsterdam"}}, token=account.admin_token)
    assert r["data"]["updatePerson"]["__typename"] == "UpdatePersonSuccess"
    assert rows(connection, account.id)[0] == before


@pytest.mark.parametrize("look_alike", ["anna\u200b@example.nl", "ANNA@EXAMPLE.NL", "\uff41nna@example.nl"])
def test_look_alike_addresses_are_duplicates(gql, account, anna, look_alike):
    r = gql(CREATE, {"i": {"email": look_alike}}, token=account.admin_token)
    assert (
        r["data"]["createPerson"]
        == failure("createPerson", ("DUPLICATE", "another person already has this e-mail address", ["input", "email"]))[
            "createPerson"
        ]
    )


def test_update_own_email_in_other_case_is_not_a_duplicate(gql, connection, account, anna):
    r = gql(UPDATE, {"i": {"id": gid(anna.id), "email": "anna@example.NL"}}, token=account.admin_token)
    assert r["data"]["updatePerson"]["person"]["email"] == "anna@example.nl"  # the domain is normalised


def test_delete_person_removes_everything_that_hangs_on_them(gql, session, connection, account, anna):
    consent = ConsentType(account_id=account.id, key="newsletter", name="Newsletter")
    venue = Venue(account_id=account.id, name="Zaal")
    production = Production(account_id=account.id, title="Show")
    session.add_all([consent, venue, production])
    session.flush()
    show = Event(
        account_id=account.id,
        production_id=production.id,
        venue_id=venue.id,
        starts_at=datetime(2030, 1, 1, tzinfo=UTC),
    )
    order = Order(
        account_id=account.id, person_id=anna.id, channel="online", created_at=datetime(2029, 1, 1, tzinfo=UTC)
    )
    session.add_all(
        [
            show,
            order,
            PersonConsent(account_id=account.id, person_id=anna.id, consent_type_id=consent.id, granted=True),
            PersonIdentity(account_id=account.id, person_id=anna.id, source="ticketing", external_id="T1"),
            Subscription(account_id=account.id, person_id=anna.id, name="Abo", valid_from=date(2029, 1, 1)),
        ]
    )
    session.flush()
    session.add(
        Ticket(account_id=account.id, order_id=order.id, event_id=show.id, person_id=anna.id, price=Decimal("25.00"))
    )
    session.flush()

    r = gql(DELETE, {"i": {"id": gid(anna.id)}}, token=account.admin_token)
    assert r == {
        "data": {"deletePerson": {"__typename": "DeletePersonSuccess", "deletedId": gid(anna.id)}},
        "_status": 200,
    }
    for table in ("person", "person_consent", "person_identity", "subscription", "orders", "ticket"):
        left = connection.execute(
            text(f"select count(*) from {table} where account_id = :a"), {"a": account.id}
        ).scalar_one()
        assert left == 0, table
    assert gql("query($id: ID!) { person(id: $id) { id } }", {"id": gid(anna.id)}, token=account.admin_token)[
        "data"
    ] == {"person": None}
    # Deleting again: the id no longer exists.
    r = gql(DELETE, {"i": {"id": gid(anna.id)}}, token=account.admin_token)
    assert r["data"] == failure("deletePerson", ("NOT_FOUND", "person not found", ["input", "id"]))


# --- bad input: typed errors, nothing written ---------------------------------------------------------

LONG = "x" * 201

BAD_CREATE = {
    "list of addresses": (
        {"email": "a,b@c.de"},
        [
            (
                "INVALID_EMAIL",
                "'a,b@c.de' is not a valid e-mail address: The "
                "email address contains invalid characters before the @-sign: ','.",
                ["input", "email"],
            )
        ],
    ),
    "address in angle brackets": (
        {"email": "<a@b.cd>"},
        [
            (
                "INVALID_EMAIL",
                "'<a@b.cd>' is not a valid e-mail address: A display name and angle brackets around the "
                "email address are not permitted here.",
                ["input", "email"],
            )
        ],
    ),
    "two dots in the domain": (
        {"email": "a@b..c"},
        [
            (
                "INVALID_EMAIL",
                "'a@b..c' is not a valid e-mail address: An email address cannot have two periods in a row.",
                ["input", "email"],
            )
        ],
    ),
    "Cyrillic letter in the local part": (
        {"email": "\u0430nna@example.nl"},
        [
            (
                "INVALID_EMAIL",
                "'\u0430nna@example.nl' is not a valid e-mail address: Internationalized characters before "
                "the @-sign are not supported: '\u0430'.",
                ["input", "email"],
            )
        ],
    ),
    "domain mixing scripts": (
        {"email": "anna@\u0435xample.nl"},
        [
            (
                "INVALID_EMAIL",
                "'anna@\u0435xample.nl' is not a valid e-mail address: its domain mixes letters of several scripts",
                ["input", "email"],
            )
        ],
    ),
    "malformed e-mail": (
        {"email": "not-an-email"},
        [
            (
                "INVALID_EMAIL",
                "'not-an-email' is not a valid e-mail address: An email address must have an @-sign.",
                ["input", "email"],
            )
        ],
    ),
    "e-mail with spaces": (
        {"email": "an na@example.nl"},
        [
            (
                "INVALID_EMAIL",
                "'an na@example.nl' is not a valid e-mail address: The email address contains invalid "
                "characters before the @-sign: SPACE.",
                ["input", "email"],
            )
        ],
    ),
    "first name too long": (
        {"firstName": LONG},
        [("TOO_LONG", "firstName is longer than 200 characters", ["input", "firstName"])],
    ),
    "e-mail too long": (
        {"email": "a" * 250 + "@x.nl"},
        [("TOO_LONG", "email is longer than 254 characters", ["input", "email"])],
    ),
    "latitude without longitude": (
        {"latitude": 52.0},
        [("INVALID", "latitude and longitude go together", ["input", "latitude"])],
    ),
    "longitude without latitude": (
        {"longitude": 4.0},
        [("INVALID", "latitude and longitude go together", ["input", "latitude"])],
    ),
    "future birth date": (
        {"birthDate": (date.today() + timedelta(days=2)).isoformat()},
        [("OUT_OF_RANGE", "birth date must be between 1900 and today", ["input", "birthDate"])],
    ),
    "birth date before 1900": (
        {"birthDate": "1899-12-31"},
        [("OUT_OF_RANGE", "birth date must be between 1900 and today", ["input", "birthDate"])],
    ),
    "country not a code": (
        {"country": "N1"},
        [("INVALID", "country is a two-letter ISO code such as NL", ["input", "country"])],
    ),
    "country of three letters": (
        {"country": "NLD"},
        [("TOO_LONG", "country is longer than 2 characters", ["input", "country"])],
    ),
    "bad language": (
        {"language": "Dutch!"},
        [("INVALID", "language is a code such as nl or en-GB", ["input", "language"])],
    ),
    "unknown custom field": (
        {"customFields": {"favouriteColour": "red"}},
        [("NOT_FOUND", "no custom field 'favouriteColour' is defined", ["input", "customFields", "favouriteColour"])],
    ),
    "number field given text": (
        {"customFields": {"shoeSize": "large"}},
        [("INVALID", "'shoeSize' takes a number value", ["input", "customFields", "shoeSize"])],
    ),
    "boolean field given text": (
        {"customFields": {"vip": "yes"}},
        [("INVALID", "'vip' takes a boolean value", ["input", "customFields", "vip"])],
    ),
    "number field given boolean": (
        {"customFields": {"shoeSize": True}},
        [("INVALID", "'shoeSize' takes a number value", ["input", "customFields", "shoeSize"])],
    ),
    "choice outside its choices": (
        {"customFields": {"seat": "roof"}},
        [("INVALID", "'seat' takes a choice value", ["input", "customFields", "seat"])],
    ),
    "impossible date": (
        {"customFields": {"memberSince": "2024-02-30"}},
        [("INVALID", "'memberSince' takes a date value", ["input", "customFields", "memberSince"])],
    ),
    "custom fields not an object": (
        {"customFields": [1, 2]},
        [("INVALID", "custom fields are an object of key → value", ["input", "customFields"])],
    ),
    "several problems at once": (
        {
            "email": "nope",
            "firstName": LONG,
            "birthDate": "2999-01-01",
            "country": "N1",
            "latitude": 1.0,
            "customFields": {"shoeSize": "big", "unknown": 1},
        },
        [
            (
                "INVALID_EMAIL",
                "'nope' is not a valid e-mail address: An email address must have an @-sign.",
                ["input", "email"],
            ),
            ("TOO_LONG", "firstName is longer than 200 characters", ["input", "firstName"]),
            ("OUT_OF_RANGE", "birth date must be between 1900 and today", ["input", "birthDate"]),
            ("INVALID", "country is a two-letter ISO code such as NL", ["input", "country"]),
            ("INVALID", "'shoeSize' takes a number value", ["input", "customFields", "shoeSize"]),
            ("NOT_FOUND", "no custom field 'unknown' is defined", ["input", "customFields", "unknown"]),
            ("INVALID", "latitude and longitude go together", ["input", "latitude"]),
        ],
    ),
}


@pytest.mark.parametrize("values,expected", BAD_CREATE.values(), ids=BAD_CREATE.keys())
def test_create_with_bad_input_is_refused_and_writes_nothing(gql, connection, account, anna, values, expected):
    before = rows(connection, account.id)
    r = gql(CREATE, {"i": values}, token=account.marketer_token)
    assert r == {"data": failure("createPerson", *expected), "_status": 200}
    assert rows(connection, account.id) == before


PAIR_ERROR = ("INVALID", "latitude and longitude go together", ["input", "latitude"])
# Anna has coordinates, so on update one coordinate alone moves her and keeps the other.
BAD_UPDATE = {
    name: (values, [e for e in expected if e != PAIR_ERROR])
    for name, (values, expected) in BAD_CREATE.items()
    if [e for e in expected if e != PAIR_ERROR]
}


@pytest.mark.parametrize("values,expected", BAD_UPDATE.values(), ids=BAD_UPDATE.keys())
def test_update_with_bad_input_is_refused_and_changes_nothing(gql, connection, account, anna, values, expected):
    """The same rules on update; a valid field sent alongside bad ones is not half-applied."""
    before = rows(connection, account.id)
    r = gql(UPDATE, {"i": {"id": gid(anna.id), "lastName": "Changed", **values}}, token=account.marketer_token)
    assert r == {"data": failure("updatePerson", *expected), "_status": 200}
    assert rows(connection, account.id) == before


def test_update_of_one_coordinate_keeps_the_other(gql, session, account, anna):
    r = gql(UPDATE, {"i": {"id": gid(anna.id), "latitude": 51.9}}, token=account.marketer_token)
    assert r["data"]["updatePerson"]["__typename"] == "UpdatePersonSuccess"
    session.expire_all()
    assert (
        session.get(Person, (account.id, anna.id)).latitude,
        session.get(Person, (account.id, anna.id)).longitude,
    ) == (51.9, 4.89)


def test_update_of_one_coordinate_without_the_other_is_refused(gql, session, connection, account):
    bare = Person(account_id=account.id, email="bare@example.nl")
    session.add(bare)
    session.flush()
    before = rows(connection, account.id)
    r = gql(UPDATE, {"i": {"id": gid(bare.id), "longitude": 4.0}}, token=account.marketer_token)
    assert r == {"data": failure("updatePerson", PAIR_ERROR), "_status": 200}
    assert rows(connection, account.id) == before


@pytest.mark.parametrize(
    "values,expected",
    [
        (
            {"latitude": 91.0, "longitude": 4.9},
            ("OUT_OF_RANGE", "latitude must be between -90 and 90", ["input", "latitude"]),
        ),
        (
            {"latitude": -90.5, "longitude": 4.9},
            ("OUT_OF_RANGE", "latitude must be between -90 and 90", ["input", "latitude"]),
        ),
        (
            {"latitude": 52.0, "longitude": -180.5},
            ("OUT_OF_RANGE", "longitude must be between -180 and 180", ["input", "longitude"]),
        ),
    ],
)
def test_out_of_range_coordinates_are_refused_with_one_error(gql, connection, account, anna, values, expected):
    """Only the range error: both coordinates were given, so no "go together" error besides it."""
    before = rows(connection, account.id)
    r = gql(CREATE, {"i": values}, token=account.admin_token)
    assert r == {"data": failure("createPerson", expected), "_status": 200}
    r = gql(UPDATE, {"i": {"id": gid(anna.id), **values}}, token=account.admin_token)
    assert r == {"data": failure("updatePerson", expected), "_status": 200}
    assert rows(connection, account.id) == before


def test_duplicate_email_is_refused_case_insensitively(gql, connection, account, anna):
    before = rows(connection, account.id)
    dup = ("DUPLICATE", "another person already has this e-mail address", ["input", "email"])
    r = gql(CREATE, {"i": {"email": " ANNA@example.NL ", "firstName": "Other"}}, token=account.admin_token)
    assert r == {"data": failure("createPerson", dup), "_status": 200}
    assert rows(connection, account.id) == before

    other = gql(CREATE, {"i": {"email": "bram@example.nl"}}, token=account.admin_token)
    other_id = other["data"]["createPerson"]["person"]["id"]
    before = rows(connection, account.id)
    r = gql(UPDATE, {"i": {"id": other_id, "email": "anna@EXAMPLE.nl", "firstName": "Bram"}}, token=account.admin_token)
    assert r == {"data": failure("updatePerson", dup), "_status": 200}
    assert rows(connection, account.id) == before


def test_email_may_be_cleared_on_many_persons(gql, account, anna):
    """Null e-mails do not collide with each other."""
    for _ in range(2):
        r = gql(CREATE, {"i": {"firstName": "No mail"}}, token=account.admin_token)
        assert r["data"]["createPerson"]["__typename"] == "CreatePersonSuccess"
    r = gql(UPDATE, {"i": {"id": gid(anna.id), "email": None}}, token=account.admin_token)
    assert r["data"]["updatePerson"]["person"]["email"] is None


NOT_FOUND = ("NOT_FOUND", "person not found", ["input", "id"])
BAD_IDS = {
    "unknown pk": lambda anna, other: gid(anna.id + 100_000),
    "malformed": lambda anna, other: "not-an-id",
    "base64 of junk": lambda anna, other: base64.urlsafe_b64encode(b"Person:abc").decode(),
    "negative pk": lambda anna, other: base64.urlsafe_b64encode(b"Person:-1").decode(),
    "pk beyond bigint": lambda anna, other: base64.urlsafe_b64encode(b"Person:99999999999999999999").decode(),
    "other type": lambda anna, other: gid(anna.id, "Production"),
    "empty": lambda anna, other: "",
    "very long": lambda anna, other: "A" * 5000,
    "other account's person": lambda anna, other: gid(other.id),
}


@pytest.fixture()
def foreigner(session, other_account) -> Person:
    person = Person(account_id=other_account.id, email="x@other.nl", first_name="Foreign")
    session.add(person)
    session.flush()
    return person


@pytest.mark.parametrize("make_id", BAD_IDS.values(), ids=BAD_IDS.keys())
def test_unknown_malformed_and_foreign_ids_are_not_found(
    gql, connection, account, other_account, anna, foreigner, make_id
):
    before = rows(connection, account.id), rows(connection, other_account.id)
    bad = make_id(anna, foreigner)
    r = gql(UPDATE, {"i": {"id": bad, "firstName": "X"}}, token=account.admin_token)
    assert r == {"data": failure("updatePerson", NOT_FOUND), "_status": 200}
    r = gql(DELETE, {"i": {"id": bad}}, token=account.admin_token)
    assert r == {"data": failure("deletePerson", NOT_FOUND), "_status": 200}
    r = gql("query($id: ID!) { person(id: $id) { id } node(id: $id) { id } }", {"id": bad}, token=account.admin_token)
    assert r == {"data": {"person": None, "node": None}, "_status": 200}
    assert (rows(connection, account.id), rows(connection, other_account.id)) == before


def test_not_found_id_wins_over_field_errors(gql, account, anna):
    r = gql(UPDATE, {"i": {"id": "nope", "email": "bad"}}, token=account.admin_token)
    assert r["data"] == failure("updatePerson", NOT_FOUND)


def test_two_megabyte_request_body_is_refused(gql, connection, account):
    response = gql.post(CREATE, {"i": {"firstName": "x" * 2_000_000}}, token=account.admin_token)
    assert response.status_code == 413
    assert response.json() == {
        "errors": [
            {"message": "the request body is larger than 1000000 bytes", "extensions": {"code": "PAYLOAD_TOO_LARGE"}}
        ]
    }
    assert rows(connection, account.id) == []


def test_two_megabyte_chunked_request_body_is_refused(gql, connection, account):
    payload = json.dumps({"query": CREATE, "variables": {"i": {"firstName": "x" * 2_000_000}}}).encode()

    def chunks():
        for start in range(0, len(payload), 64_000):
            yield payload[start : start + 64_000]

    response = gql.http.post(
        "/graphql",
        content=chunks(),
        headers={"authorization": f"Bearer {account.admin_token}", "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert rows(connection, account.id) == []


def test_body_under_the_limit_gets_the_typed_error(gql, connection, account):
    r = gql(CREATE, {"i": {"firstName": "x" * 500_000}}, token=account.admin_token)
    assert r["data"] == failure(
        "createPerson", ("TOO_LONG", "firstName is longer than 200 characters", ["input", "firstName"])
    )
    assert rows(connection, account.id) == []


# --- roles ----------------------------------------------------------------------------------------------

ROLE_MUTATIONS = {
    "createPerson": (CREATE, lambda anna: {"email": "new@example.nl"}),
    "updatePerson": (UPDATE, lambda anna: {"id": gid(anna.id), "firstName": "Changed"}),
    "deletePerson": (DELETE, lambda anna: {"id": gid(anna.id)}),
}


def _refused(query: str, field: str, message: str, code: str) -> dict:
    """The exact response to a mutation refused by its permission class: a null field, one error."""
    at = query.index(field)
    line, column = query[:at].count("\n") + 1, at - query.rfind("\n", 0, at)
    return {
        "data": {field: None},
        "errors": [
            {
                "message": message,
                "locations": [{"line": line, "column": column}],
                "path": [field],
                "extensions": {"code": code},
            }
        ],
        "_status": 200,
    }


REFUSALS = {
    "viewer role": ("viewer_token", "this needs a staff user with role marketer or admin", "FORBIDDEN"),
    "website key": ("website_key", "this needs a staff user with role marketer or admin", "FORBIDDEN"),
    "no token": (None, "authentication required: send 'Authorization: Bearer <token>'", "UNAUTHENTICATED"),
}


@pytest.mark.parametrize("who", REFUSALS)
@pytest.mark.parametrize("field", ROLE_MUTATIONS)
def test_only_marketers_and_admins_can_mutate(gql, connection, account, anna, field, who):
    query, make_input = ROLE_MUTATIONS[field]
    credential, message, code = REFUSALS[who]
    if field == "deletePerson" and credential:  # destructive person operations are for admins (SPEC 1)
        message = "this needs a staff user with role admin"
    before = rows(connection, account.id)
    r = gql(query, {"i": make_input(anna)}, token=getattr(account, credential) if credential else None)
    assert r == _refused(query, field, message, code)
    assert rows(connection, account.id) == before


def test_marketer_can_create_and_update_and_admin_delete(gql, connection, account):
    token = account.marketer_token
    r = gql(CREATE, {"i": {"email": "m@example.nl", "firstName": "Mia"}}, token=token)
    pid = r["data"]["createPerson"]["person"]["id"]
    r = gql(UPDATE, {"i": {"id": pid, "lastName": "Maas"}}, token=token)
    assert r["data"]["updatePerson"]["person"]["lastName"] == "Maas"
    assert [(p["first_name"], p["last_name"]) for p in rows(connection, account.id)] == [("Mia", "Maas")]
    r = gql(DELETE, {"i": {"id": pid}}, token=account.admin_token)
    assert r["data"] == {"deletePerson": {"__typename": "DeletePersonSuccess", "deletedId": pid}}
    assert rows(connection, account.id) == []


def test_viewer_role_can_read(gql, account, anna):
    r = gql("{ persons { totalCount } }", token=account.viewer_token)
    assert r == {"data": {"persons": {"totalCount": 1}}, "_status": 200}


# --- listing: pagination, sort, search, filters ------------------------------------------------------

BASE = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
# first name, last name, e-mail, gender, city, postal code, country, minutes after BASE.
# Names and e-mails are letters only (apart from "@x.nl") so that every collation sorts them alike;
# equal values and nulls make the id tie-breaker matter.
CROWD = [
    ("Anna", "Jansen", "anna@x.nl", "female", "Amsterdam", "1012AB", "NL", 0),
    ("bram", None, "bram@x.nl", "male", "amsterdam", "1013CD", "NL", 0),
    ("Carla", "Visser", None, "female", "Utrecht", "3511AA", "NL", 1),
    ("Daan", "bakker", "daan@x.nl", None, "Utrecht", "3512BB", "NL", 1),
    ("Eva", "Jansen", "eva@x.nl", "other", "Gent", "9000", "BE", 2),
    ("eva", None, "evert@x.nl", "female", "Antwerpen", "2000", "BE", 3),
    (None, "Smit", "smit@x.nl", None, None, None, None, 4),
    ("Femke", "Mulder", "femke@x.nl", "female", "Leiden", "2311EZ", "NL", 5),
    ("Gijs", "Dekker", None, "male", "Leiden", "2312AB", "NL", 6),
    ("Hanna", None, "hanna@x.nl", "female", "Haarlem", "2011AB", "NL", 7),
    ("Joanna", "Kok", "joanna@x.nl", "female", "Delft", "2611AB", "NL", 8),
    ("Koen", "Anker", "koen@x.nl", "male", "Amsterdam", "1012XY", "NL", 9),
]


@pytest.fixture()
def crowd(session, account) -> dict[str, Person]:
    made = {}
    for i, (first, last, email, gender, city, postal, country, minutes) in enumerate(CROWD):
        p = Person(
            account_id=account.id,
            first_name=first,
            last_name=last,
            email=email,
            gender=gender,
            city=city,
            postal_code=postal,
            country=country,
            created_at=BASE + timedelta(minutes=minutes),
        )
        session.add(p)
        session.flush()  # ids in list order
        made[f"{i}:{first}"] = p
    return made


LIST = """query($first: Int, $after: String, $sort: PersonSort, $filter: PersonFilterInput, $search: String) {
  persons(first: $first, after: $after, sort: $sort, filter: $filter, search: $search) {
    totalCount
    edges { cursor node { id firstName } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""


def _expected_order(persons: list[Person], field: str, descending: bool) -> list[int]:
    def key(p: Person):
        if field == "CREATED_AT":
            return (p.created_at, p.id)
        if field == "ID":
            return (p.id,)
        value = getattr(p, {"FIRST_NAME": "first_name", "LAST_NAME": "last_name", "EMAIL": "email"}[field])
        return ((value or "").lower(), p.id)

    return [p.id for p in sorted(persons, key=key, reverse=descending)]


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
@pytest.mark.parametrize("field", ["CREATED_AT", "LAST_NAME", "FIRST_NAME", "EMAIL", "ID"])
def test_pagination_walks_every_person_exactly_once(gql, account, crowd, field, direction):
    seen, after, pages = [], None, 0
    while True:
        r = gql(
            LIST,
            {"first": 5, "after": after, "sort": {"field": field, "direction": direction}},
            token=account.admin_token,
        )
        assert "errors" not in r, r
        conn = r["data"]["persons"]
        edges, info = conn["edges"], conn["pageInfo"]
        pages += 1
        assert conn["totalCount"] == 12
        assert info["hasPreviousPage"] is (after is not None)
        assert info["startCursor"] == edges[0]["cursor"] and info["endCursor"] == edges[-1]["cursor"]
        seen += [pk_of(e["node"]["id"]) for e in edges]
        if not info["hasNextPage"]:
            break
        assert len(edges) == 5
        after = info["endCursor"]
    assert pages == 3
    assert seen == _expected_order(list(crowd.values()), field, direction == "DESC")


def test_default_order_is_newest_first_and_page_size_50(gql, session, account, crowd):
    r = gql(LIST, {}, token=account.admin_token)
    ids = [pk_of(e["node"]["id"]) for e in r["data"]["persons"]["edges"]]
    assert ids == _expected_order(list(crowd.values()), "CREATED_AT", True)
    assert r["data"]["persons"]["pageInfo"]["hasNextPage"] is False

    session.add_all([Person(account_id=account.id, first_name=f"Extra{i}") for i in range(40)])
    session.flush()
    r = gql(LIST, {}, token=account.admin_token)
    assert len(r["data"]["persons"]["edges"]) == 50
    assert r["data"]["persons"]["pageInfo"]["hasNextPage"] is True
    r = gql(LIST, {"first": 200}, token=account.admin_token)
    assert len(r["data"]["persons"]["edges"]) == 52


def test_first_zero_gives_an_empty_page(gql, account, crowd):
    r = gql(LIST, {"first": 0}, token=account.admin_token)
    assert r["data"]["persons"]["edges"] == []
    assert r["data"]["persons"]["pageInfo"]["hasNextPage"] is True


def _top_error(message: str, code: str, argument: str) -> dict:
    """A refused list argument: a top-level error with the code and the offending argument."""
    return {
        "data": None,
        "errors": [
            {
                "message": message,
                "locations": [{"line": 2, "column": 3}],
                "path": ["persons"],
                "extensions": {"code": code, "problems": [{"code": code, "message": message, "path": [argument]}]},
            }
        ],
        "_status": 200,
    }


@pytest.mark.parametrize("first", [201, -1, 10_000])
def test_first_over_the_cap_is_refused(gql, account, crowd, first):
    r = gql(LIST, {"first": first}, token=account.admin_token)
    assert r == _top_error("first must be between 0 and 200", "OUT_OF_RANGE", "first")


def _cursor(values) -> str:
    return encode_cursor(values)


BAD_CURSORS = {
    "not base64 json": ("ID", "xyz"),
    "punctuation": ("ID", "!!!"),
    "binary": ("ID", base64.urlsafe_b64encode(b"\xff\xfe\x00").decode()),
    "json object": ("ID", base64.urlsafe_b64encode(b'{"id": 1}').decode()),
    "wrong length for the sort": ("ID", _cursor(["2024-01-01T00:00:00+00:00", 1])),
    "text where an id goes": ("ID", _cursor(["one"])),
    "created-at cursor on a name sort": ("FIRST_NAME", _cursor([1, 2, 3])),
    "not a date": ("CREATED_AT", _cursor(["yesterday", 1])),
    "null id": ("LAST_NAME", _cursor(["jansen", None])),
    "huge": ("ID", "A" * 10_000),
}


@pytest.mark.parametrize("field,after", BAD_CURSORS.values(), ids=BAD_CURSORS.keys())
def test_malformed_after_cursor_is_refused(gql, account, crowd, field, after):
    r = gql(LIST, {"after": after, "sort": {"field": field, "direction": "ASC"}}, token=account.admin_token)
    assert r == _top_error("not a cursor of this list", "INVALID", "after")


@pytest.mark.parametrize(
    "field,values", [("ID", [2**70]), ("CREATED_AT", ["2024-01-01T00:00:00+00:00", 2**70]), ("EMAIL", ["a", -(2**70)])]
)
def test_cursor_with_out_of_range_id_is_refused(gql, account, crowd, field, values):
    r = gql(LIST, {"after": _cursor(values), "sort": {"field": field}}, token=account.admin_token)
    assert r == _top_error("not a cursor of this list", "INVALID", "after")


@pytest.mark.parametrize(
    "field,values",
    [
        ("productions", [2**70]),
        ("venues", ["1"]),
        ("events", ["2030-01-01T00:00:00+00:00", 2**70]),
        ("events", ["x", 1]),
    ],
)
def test_catalogue_lists_refuse_bad_cursors_the_same_way(gql, account, field, values):
    r = gql(
        f"query($c: String) {{ {field}(after: $c) {{ edges {{ cursor }} }} }}",
        {"c": _cursor(values)},
        token=account.admin_token,
    )
    message = "not a cursor of this list"
    assert r == {
        "data": None,
        "errors": [
            {
                "message": message,
                "locations": [{"line": 1, "column": 21}],
                "path": [field],
                "extensions": {
                    "code": "INVALID",
                    "problems": [{"code": "INVALID", "message": message, "path": ["after"]}],
                },
            }
        ],
        "_status": 200,
    }


def test_too_long_search_is_refused(gql, account, crowd):
    r = gql(LIST, {"search": "a" * 201}, token=account.admin_token)
    assert r == _top_error("search is longer than 200 characters", "TOO_LONG", "search")


@pytest.mark.parametrize(
    "variables,message,code,argument",
    [
        ({"first": 201}, "first must be between 0 and 200", "OUT_OF_RANGE", "first"),
        ({"after": "xyz"}, "not a cursor of this list", "INVALID", "after"),
        ({"search": "a" * 201}, "search is longer than 200 characters", "TOO_LONG", "search"),
    ],
)
def test_list_argument_errors_survive_production_masking(runtime, account, variables, message, code, argument):
    runtime.settings = dataclasses.replace(runtime.settings, environment="production")
    prod = GraphQLClient(create_app(runtime))
    assert prod(LIST, variables, token=account.admin_token) == _top_error(message, code, argument)


def _names(r) -> list[str | None]:
    return sorted((e["node"]["firstName"] or "-") for e in r["data"]["persons"]["edges"])


SEARCHES = {
    "first-name prefix, any case": ("ANN", ["Anna"]),
    "first-name or last-name prefix": ("an", ["Anna", "Koen"]),
    "not an infix": ("oanna", []),
    "last-name prefix": ("jans", ["Anna", "Eva"]),
    "last-name prefix, lower-case data": ("BAK", ["Daan"]),
    "e-mail prefix": ("evert@", ["eva"]),
    "e-mail prefix matches first name too": ("eva", ["Eva", "eva"]),
    "all words must match": ("eva jansen", ["Eva"]),
    "person without first name": ("smit", ["-"]),
    "percent is literal": ("%", []),
    "underscore is literal": ("_", []),
    "no match": ("zzz", []),
}


@pytest.mark.parametrize("search,expected", SEARCHES.values(), ids=SEARCHES.keys())
def test_search_by_prefix(gql, account, crowd, search, expected):
    r = gql(LIST, {"search": search}, token=account.admin_token)
    assert _names(r) == sorted(expected)
    assert r["data"]["persons"]["totalCount"] == len(expected)


FILTERS = {
    "one gender": ({"genders": ["MALE"]}, ["bram", "Gijs", "Koen"]),
    "two genders": ({"genders": ["MALE", "OTHER"]}, ["bram", "Gijs", "Koen", "Eva"]),
    "unknown gender": ({"genderUnknown": True}, ["Daan", "-"]),
    "gender or unknown": ({"genders": ["OTHER"], "genderUnknown": True}, ["Eva", "Daan", "-"]),
    "city any case": ({"city": " AMSTERDAM "}, ["Anna", "bram", "Koen"]),
    "postal code prefix": ({"postalCodePrefix": "1012"}, ["Anna", "Koen"]),
    "postal code prefix in lower case": ({"postalCodePrefix": "2311ez"}, ["Femke"]),
    "country": ({"country": "be"}, ["Eva", "eva"]),
    "created after (inclusive)": ({"createdAfter": (BASE + timedelta(minutes=8)).isoformat()}, ["Joanna", "Koen"]),
    "created before (exclusive)": ({"createdBefore": (BASE + timedelta(minutes=1)).isoformat()}, ["Anna", "bram"]),
    "has no e-mail": ({"hasEmail": False}, ["Carla", "Gijs"]),
    "all filters must hold": ({"genders": ["FEMALE"], "country": "NL", "city": "utrecht"}, ["Carla"]),
}


@pytest.mark.parametrize("flt,expected", FILTERS.values(), ids=FILTERS.keys())
def test_filters(gql, account, crowd, flt, expected):
    r = gql(LIST, {"filter": flt, "first": 200}, token=account.admin_token)
    assert "errors" not in r, r
    assert _names(r) == sorted(expected)
    assert r["data"]["persons"]["totalCount"] == len(expected)


def test_postal_code_prefix_finds_codes_entered_in_lower_case(gql, account):
    r = gql(CREATE, {"i": {"firstName": "Lower", "postalCode": "1234ab"}}, token=account.admin_token)
    assert r["data"]["createPerson"]["__typename"] == "CreatePersonSuccess"
    for prefix in ("1234", "1234ab", "1234AB"):
        r = gql(LIST, {"filter": {"postalCodePrefix": prefix}}, token=account.admin_token)
        assert _names(r) == ["Lower"], prefix


def test_filters_combine_with_search_and_pagination(gql, account, crowd):
    variables = {
        "filter": {"genders": ["FEMALE"]},
        "search": "a",
        "first": 1,
        "sort": {"field": "FIRST_NAME", "direction": "ASC"},
    }
    names, after = [], None
    while True:
        r = gql(LIST, {**variables, "after": after}, token=account.admin_token)
        conn = r["data"]["persons"]
        assert conn["totalCount"] == 1  # only Anna: female and a word starting with "a"
        names += [e["node"]["firstName"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert names == ["Anna"]


# --- age ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "birth,on,expected",
    [
        (date(2000, 2, 29), date(2023, 2, 28), 22),
        (date(2000, 2, 29), date(2023, 3, 1), 23),
        (date(2000, 2, 29), date(2024, 2, 28), 23),
        (date(2000, 2, 29), date(2024, 2, 29), 24),
        (date(1990, 5, 17), date(2024, 5, 16), 33),
        (date(1990, 5, 17), date(2024, 5, 17), 34),
        (date(1990, 12, 31), date(2025, 1, 1), 34),
        (date(2024, 1, 1), date(2024, 1, 1), 0),
        (None, date(2024, 1, 1), None),
    ],
)
def test_age_is_completed_years(birth, on, expected):
    assert age_on(birth, on) == expected


def test_age_field(gql, account, anna):
    r = gql("query($id: ID!) { person(id: $id) { age birthDate } }", {"id": gid(anna.id)}, token=account.admin_token)
    assert r["data"]["person"] == {"age": age_on(date(1990, 5, 17), today()), "birthDate": "1990-05-17"}
    gql(UPDATE, {"i": {"id": gid(anna.id), "birthDate": None}}, token=account.admin_token)
    r = gql("query($id: ID!) { person(id: $id) { age } }", {"id": gid(anna.id)}, token=account.admin_token)
    assert r["data"]["person"] == {"age": None}


# --- dataloaders: no N+1 --------------------------------------------------------------------------------

RICH_LIST = """query($first: Int) { persons(first: $first) { totalCount edges { node {
  id age consents { granted consentType { key } } externalIdentities { source externalId }
  subscriptions { name validFrom } purchases { orders tickets revenue lastPurchaseAt } } } } }"""


def _make_customers(session, account_id: int, count: int) -> None:
    newsletter = ConsentType(account_id=account_id, key="newsletter", name="Newsletter")
    post = ConsentType(account_id=account_id, key="post", name="Post")
    venue = Venue(account_id=account_id, name="Zaal")
    production = Production(account_id=account_id, title="Show")
    session.add_all([newsletter, post, venue, production])
    session.flush()
    show = Event(
        account_id=account_id,
        production_id=production.id,
        venue_id=venue.id,
        starts_at=datetime(2030, 1, 1, tzinfo=UTC),
    )
    persons = [
        Person(account_id=account_id, first_name=f"P{i}", birth_date=date(1980, 1, 1 + i % 28)) for i in range(count)
    ]
    session.add_all([show, *persons])
    session.flush()
    orders = []
    for i, p in enumerate(persons):
        session.add_all(
            [
                PersonConsent(account_id=account_id, person_id=p.id, consent_type_id=newsletter.id, granted=True),
                PersonConsent(account_id=account_id, person_id=p.id, consent_type_id=post.id, granted=False),
                PersonIdentity(account_id=account_id, person_id=p.id, source="ticketing", external_id=f"T{i}"),
                Subscription(account_id=account_id, person_id=p.id, name="Abo", valid_from=date(2024, 9, 1)),
            ]
        )
        orders.append(
            Order(account_id=account_id, person_id=p.id, channel="online", created_at=datetime(2024, 1, 1, tzinfo=UTC))
        )
    session.add_all(orders)
    session.flush()
    session.add_all(
        [
            Ticket(
                account_id=account_id, order_id=o.id, event_id=show.id, person_id=o.person_id, price=Decimal("12.50")
            )
            for o in orders
            for _ in range(2)
        ]
    )
    session.flush()


def _statements(connection, call) -> tuple[list[str], object]:
    result, statements = statements_of(connection, call)
    return statements, result


def test_person_list_costs_a_constant_number_of_statements(gql, session, connection, account):
    _make_customers(session, account.id, 30)
    small, r5 = _statements(connection, lambda: gql(RICH_LIST, {"first": 5}, token=account.admin_token))
    large, r30 = _statements(connection, lambda: gql(RICH_LIST, {"first": 30}, token=account.admin_token))

    assert "errors" not in r30, r30
    assert len(r5["data"]["persons"]["edges"]) == 5 and len(r30["data"]["persons"]["edges"]) == 30
    node = r30["data"]["persons"]["edges"][0]["node"]
    assert node["consents"] == [
        {"granted": True, "consentType": {"key": "newsletter"}},
        {"granted": False, "consentType": {"key": "post"}},
    ]
    assert node["subscriptions"] == [{"name": "Abo", "validFrom": "2024-09-01"}]
    assert node["purchases"] == {
        "orders": 1,
        "tickets": 2,
        "revenue": "25.00",
        "lastPurchaseAt": "2024-01-01T00:00:00+00:00",
    }
    assert len(node["externalIdentities"]) == 1
    assert len(small) == len(large)
    # savepoint + token + persons + count + consents + consent types + identities + subscriptions
    # + purchases + savepoint rollback.
    assert len(large) <= 10, large


def test_consent_types_of_a_person_list_cost_one_statement(gql, session, connection, account):
    _make_customers(session, account.id, 3)
    extra = [ConsentType(account_id=account.id, key=f"extra{i}", name=f"Extra {i}") for i in range(3)]
    session.add_all(extra)
    session.flush()
    person_ids = connection.execute(text("select id from person where account_id = :a"), {"a": account.id}).scalars()
    session.add_all(
        [
            PersonConsent(account_id=account.id, person_id=pid, consent_type_id=c.id, granted=True)
            for pid in person_ids
            for c in extra
        ]
    )
    session.flush()
    statements, r = _statements(connection, lambda: gql(RICH_LIST, {"first": 3}, token=account.admin_token))
    keys = [c["consentType"]["key"] for c in r["data"]["persons"]["edges"][0]["node"]["consents"]]
    assert sorted(keys) == ["extra0", "extra1", "extra2", "newsletter", "post"]
    assert len([s for s in statements if "FROM consent_type" in s]) == 1
