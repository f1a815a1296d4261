"""One profile from many sources: matching across sources, and merges that lose nothing."""

from __future__ import annotations

from sqlalchemy import text

from domain.imports.importer import ImportOptions, run_import
from domain.imports.readers import read_jsonl
from domain.people.models import ConsentType
from domain.segments import service as segments
from domain.tags import service as tags
from graph.core.ids import to_global_id
from tests import factories as f
from tests.imports import feeds

MERGE = """mutation($i: MergePersonsInput!) { mergePersons(input: $i) {
  ... on MergePersonsSuccess { survivor { externalIdentities { source externalId } purchases { orders tickets }
    orders(first: 100) { externalId } tags { source tag { name } } consents { granted consentType { key } } }
    merge { moved } }
  ... on MergePersonsFailure { errors { code path } } } }"""

KINDS = {
    "orders": "SELECT count(*) FROM orders WHERE account_id = :a",
    "tickets": "SELECT count(*) FROM ticket WHERE account_id = :a",
    "subscriptions": "SELECT count(*) FROM subscription WHERE account_id = :a",
    "identities": "SELECT count(*) FROM person_identity WHERE account_id = :a",
    "consent_history": "SELECT count(*) FROM consent_history WHERE account_id = :a",
    "revenue": "SELECT sum(price) FROM ticket WHERE account_id = :a",
}


def _counts(session, account_id):
    return {k: session.execute(text(q), {"a": account_id}).scalar() for k, q in KINDS.items()}


def _members(session, account_id, rules) -> set[int]:
    return set(session.execute(segments.member_statement(session, account_id, rules=rules)).scalars())


def _person_of(session, account_id, source, external_id):
    return session.execute(
        text("SELECT person_id FROM person_identity WHERE account_id = :a AND source = :s AND external_id = :e"),
        {"a": account_id, "s": source, "e": external_id},
    ).scalar_one()


def _two_sources(session, runtime, account):
    session.add(ConsentType(account_id=account.id, key="newsletter", name="Nieuwsbrief"))
    session.flush()
    box = feeds.records(persons=6)
    run_import(runtime.new_session, account.id, read_jsonl(feeds.jsonl(box)), ImportOptions(source="tix"))
    # The web shop knows Klant1 under another address, and sells them tickets for the same events.
    shop = [r for r in box if r["type"] in ("venue", "production", "event")]
    shop.append(
        {
            "type": "person",
            "id": "W1",
            "email": "k.jansen@example.com",
            "city": "Zeist",
            "consents": {"newsletter": {"granted": False, "at": "2026-06-01T10:00:00Z"}},
        }
    )
    shop.append(
        {
            "type": "order",
            "id": "WO1",
            "person": "W1",
            "created_at": "2026-08-01T10:00:00Z",
            "tickets": [
                {"id": "WT1", "event": "E0-0", "price": "30.00"},
                {"id": "WT2", "event": "E0-1", "price": "30"},
            ],
        }
    )
    shop.append({"type": "subscription", "id": "WS1", "person": "W1", "name": "Webabo", "valid_from": "2026-09-01"})
    run_import(runtime.new_session, account.id, read_jsonl(feeds.jsonl(shop)), ImportOptions(source="shop"))
    # The same e-mail address from a third source finds the existing person: no duplicate.
    run_import(
        runtime.new_session,
        account.id,
        read_jsonl(feeds.jsonl([{"type": "person", "id": "M1", "email": "K.Jansen@Example.com "}])),
        ImportOptions(source="mailer"),
    )
    return _person_of(session, account.id, "tix", "C1"), _person_of(session, account.id, "shop", "W1")


def test_a_merge_moves_everything_and_loses_nothing(gql, session, runtime, account):
    survivor, merged = _two_sources(session, runtime, account)
    assert _person_of(session, account.id, "mailer", "M1") == merged
    vip = f.tag(session, account.id, "VIP")
    tags.attach(
        session,
        account.id,
        tag_ids=[vip.id],
        target=tags.TargetKind.PERSON,
        target_ids=[survivor, merged],
        source="staff",
        actor="admin",
    )
    before = _counts(session, account.id)
    buyers_of_four = {"all": [{"type": "purchase", "metric": "tickets", "min": 100}]}
    survivor_tickets = session.execute(
        text("SELECT count(*) FROM ticket WHERE person_id = :p"), {"p": survivor}
    ).scalar()
    buyers_of_four["all"][0]["min"] = survivor_tickets + 2
    assert survivor not in _members(session, account.id, buyers_of_four)

    variables = {"i": {"survivorId": to_global_id("Person", survivor), "mergedId": to_global_id("Person", merged)}}
    for token in (account.marketer_token, account.viewer_token, account.website_key):
        refused = gql(MERGE, variables, token=token)
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = gql(MERGE, variables, token=account.admin_token)
    result = body["data"]["mergePersons"]
    person = result["survivor"]

    assert _counts(session, account.id) == before  # every order, ticket, identity, history entry kept
    assert sorted((i["source"], i["externalId"]) for i in person["externalIdentities"]) == [
        ("mailer", "M1"),
        ("shop", "W1"),
        ("tix", "C1"),
    ]
    assert "WO1" in {o["externalId"] for o in person["orders"]}
    assert person["purchases"]["tickets"] == survivor_tickets + 2
    assert person["consents"] == [{"granted": False, "consentType": {"key": "newsletter"}}]  # the later state
    assert sorted((t["source"], t["tag"]["name"]) for t in person["tags"]) == [("STAFF", "VIP")]  # collapsed
    assert result["merge"]["moved"]["tickets"] == 2 and result["merge"]["moved"]["identities"] == 2
    assert survivor in _members(session, account.id, buyers_of_four)  # figures followed
    assert tags.counters(session, account.id, [vip.id])[vip.id].persons == 1

    gone = gql("query($id: ID!) { node(id: $id) { id } }", {"id": to_global_id("Person", merged)},
               token=account.admin_token)  # fmt: skip
    assert gone["data"]["node"] is None
    city = session.execute(text("SELECT city FROM person WHERE id = :p"), {"p": survivor}).scalar()
    assert city == "Utrecht"  # the survivor's own field stays
    record = session.execute(
        text("SELECT merged_id, merged_by, merged_fields->>'email' FROM person_merge WHERE account_id = :a"),
        {"a": account.id},
    ).one()
    assert record == (merged, account.admin.id, "k.jansen@example.com")
    history = session.execute(
        text("SELECT count(*) FROM consent_history WHERE account_id = :a AND person_id = :p"),
        {"a": account.id, "p": survivor},
    ).scalar()
    assert history == 2  # the survivor's grant and the merged person's withdrawal

    # Feed records of the merged person's ids now land on the survivor.
    run_import(
        runtime.new_session,
        account.id,
        read_jsonl(feeds.jsonl([{"type": "person", "id": "W1", "first_name": "Karin"}])),
        ImportOptions(source="shop"),
    )
    assert session.execute(text("SELECT first_name FROM person WHERE id = :p"), {"p": survivor}).scalar() == "Karin"


def test_merges_are_checked_and_stay_in_their_account(gql, session, runtime, account, other_account):
    survivor, merged = _two_sources(session, runtime, account)
    theirs = f.person(session, other_account.id)
    cases = [
        ({"survivorId": to_global_id("Person", survivor), "mergedId": to_global_id("Person", survivor)},
         [("INVALID", ["input", "mergedId"])]),
        ({"survivorId": to_global_id("Person", survivor), "mergedId": to_global_id("Person", theirs.id)},
         [("NOT_FOUND", ["input", "mergedId"])]),
        ({"survivorId": "nonsense", "mergedId": to_global_id("Person", merged)},
         [("NOT_FOUND", ["input", "survivorId"])]),
    ]  # fmt: skip
    for given, expected in cases:
        body = gql(MERGE, {"i": given}, token=account.admin_token)
        assert [(e["code"], e["path"]) for e in body["data"]["mergePersons"]["errors"]] == expected
    body = gql(
        MERGE,
        {"i": {"survivorId": to_global_id("Person", theirs.id), "mergedId": to_global_id("Person", merged)}},
        token=other_account.admin_token,
    )
    assert [e["code"] for e in body["data"]["mergePersons"]["errors"]] == ["NOT_FOUND"]
    assert session.execute(text("SELECT count(*) FROM person WHERE id = :p"), {"p": merged}).scalar() == 1
