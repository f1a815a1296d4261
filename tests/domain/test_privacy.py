"""Privacy requests: an export holds every kind of record a person has; an erasure leaves no
personal value in any table, keeps every figure, and a re-import of the same feed does not bring
the person back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from domain.actions import service as actions
from domain.actions.models import ActionKind
from domain.errors import InputError
from domain.forms import service as forms
from domain.imports.importer import ImportOptions, run_import
from domain.imports.readers import read_jsonl
from domain.interactions import service as interactions
from domain.organisations import service as organisations
from domain.people import service as people
from domain.people.custom_fields import create_custom_field
from domain.people.merge import merge_persons
from domain.privacy import service as privacy
from domain.privacy.models import PrivacyRequestKind
from domain.recommendations.scoring import refresh_interest_scores
from domain.segments import service as segments
from domain.tags import service as tags
from tests.imports import feeds

# Values that exist nowhere but in this person's records.
EMAIL = "Zwaantje.Vermeulen-7731@voorbeeld.nl"
FIRST, LAST = "Zwaantje", "Vermeulenhuis"
ADDRESS, POSTAL = "Lijnbaansgracht 7731", "1017 ZZ"
EXTERNAL = "KLANT-7731-ZV"
CUSTOM = "allergisch-voor-7731"
MERGED_EMAIL = "tweede-7731@voorbeeld.nl"
MARKERS = (EMAIL.lower(), FIRST.lower(), LAST.lower(), ADDRESS.lower(), POSTAL.lower(), EXTERNAL.lower(), CUSTOM,
           MERGED_EMAIL, "zwaan")  # fmt: skip


def _feed() -> list[dict]:
    return [
        {"type": "venue", "id": "V1", "name": "Grote Zaal", "city": "Amsterdam"},
        {"type": "production", "id": "PR1", "title": "Nachtvlinders", "season": "2026-2027", "genres": ["Dans"]},
        {"type": "event", "id": "E1", "production": "PR1", "venue": "V1", "starts_at": "2026-11-20T19:30:00Z"},
        {
            "type": "person",
            "id": EXTERNAL,
            "email": EMAIL,
            "first_name": FIRST,
            "last_name": LAST,
            "gender": "female",
            "birth_date": "1984-03-02",
            "address": ADDRESS,
            "postal_code": POSTAL,
            "city": "Amsterdam",
            "country": "NL",
            "consents": {"newsletter": {"granted": True, "at": "2026-01-01T10:00:00Z"}},
        },
        {"type": "person", "id": "OTHER-1", "email": "ander@voorbeeld.nl", "first_name": "Ander"},
        {
            "type": "order",
            "id": "O1",
            "person": EXTERNAL,
            "channel": "online",
            "created_at": "2026-10-01T12:00:00Z",
            "tickets": [
                {"id": "T1", "event": "E1", "price": "31.50", "scanned_at": "2026-11-20T19:10:00Z"},
                {"id": "T2", "event": "E1", "price": "31.50"},
            ],
        },
        {
            "type": "order",
            "id": "O2",
            "person": "OTHER-1",
            "created_at": "2026-10-02T12:00:00Z",
            "tickets": [{"id": "T3", "event": "E1", "price": "20.00"}],
        },  # fmt: skip
        {
            "type": "subscription",
            "id": "S1",
            "person": EXTERNAL,
            "name": "Dansabonnement",
            "valid_from": "2026-09-01",
            "valid_until": "2027-06-30",
        },  # fmt: skip
    ]


def _import(runtime, account_id: int):
    return run_import(runtime.new_session, account_id, read_jsonl(feeds.jsonl(_feed())), ImportOptions())


@pytest.fixture()
def everything(session, runtime, account):
    """A person with one of every kind of record Marquee holds about a person."""
    a = account.id
    session.execute(text("UPDATE account SET modules = ARRAY['recommendations', 'business'] WHERE id = :a"), {"a": a})
    session.expire_all()
    result = _import(runtime, a)
    assert not result.refusals
    pid = session.execute(
        text("SELECT person_id FROM person_identity WHERE account_id = :a AND external_id = :e"),
        {"a": a, "e": EXTERNAL},
    ).scalar_one()
    create_custom_field(session, a, key="dieet", label="Dieet", type="text")
    people.update_person(
        session, a, pid, people.PersonChanges(custom_fields={"dieet": CUSTOM}), timezone_name="Europe/Amsterdam"
    )
    jazz, dans_pref = tags.create_tags(
        session, a, tags.TagFields(names="Jazzliefhebber, Moderne dans"), policy="preserve"
    )
    tags.attach(session, a, tag_ids=[jazz.id], target=tags.TargetKind.PERSON, target_ids=[pid], source="staff",
                actor="admin")  # fmt: skip
    form = forms.preference_centre(session, a)
    newsletter = session.execute(text("SELECT id FROM consent_type WHERE account_id = :a"), {"a": a}).scalar_one()
    forms.submit_form(session, a, form_id=form.id, person_id=pid, visible_tag_ids={dans_pref.id},
                      selected_tag_ids=[dans_pref.id], consents=[(newsletter, False)])  # fmt: skip
    production = session.execute(text("SELECT id FROM production WHERE account_id = :a"), {"a": a}).scalar_one()
    interactions.record_visits(
        session,
        a,
        [
            interactions.Visit(
                person_id=pid,
                key="v1",
                occurred_at=datetime(2026, 10, 5, tzinfo=UTC),
                production_id=production,
                url="https://theater.example/nachtvlinders",
            )
        ],  # fmt: skip
    )
    refresh_interest_scores(session, a, [pid])
    twin = people.create_person(session, a, people.PersonFields(email=MERGED_EMAIL, first_name="Zwaan"),
                                timezone_name="Europe/Amsterdam")  # fmt: skip
    merge_persons(session, a, pid, twin.id)
    segment = segments.create_segment(
        session, a, name="Amsterdam", rules={"type": "text", "field": "city", "operator": "eq", "value": "Amsterdam"}
    )
    action = actions.start_action(session, a, ActionKind.OFFER, actions.Target(segment.id), {}, None)
    actions.take_snapshot(session, action)
    session.execute(
        text(
            "INSERT INTO mail_send (account_id, action_id, person_id, status, email, reason, sent_at) "
            "VALUES (:a, :act, :p, 'sent', :e, :r, now())"
        ),
        {"a": a, "act": action.id, "p": pid, "e": EMAIL, "r": f"250 accepted for <{EMAIL}>"},
    )
    session.execute(
        text(
            "INSERT INTO member_pick (account_id, action_id, person_id, place, production_id, score, reasons) "
            "VALUES (:a, :act, :p, 1, :pr, 0.8, '[]')"
        ),
        {"a": a, "act": action.id, "p": pid, "pr": production},
    )
    firm = organisations.create_organisation(session, a, organisations.OrganisationFields(name="Bouwbedrijf Noord"))
    organisations.link_persons(session, a, firm.id, [pid], role="inkoper")
    session.flush()
    return {"person_id": pid, "production_id": production}


def _export(session, runtime, account_id: int, person_id: int, storage: Path) -> dict:
    started = privacy.start_request(session, account_id, PrivacyRequestKind.EXPORT, person_id)
    session.flush()
    privacy.run_export(runtime.new_session, started.job.id, storage, lambda *_: None)
    session.expire_all()
    found = privacy.export_file(session, storage, account_id, started.request.id)
    assert found is not None
    return json.loads(found[0].read_text())


def test_every_table_holding_a_person_is_accounted_for(session):
    """A new table with a ``person_id`` must say what an export and an erasure do with it."""
    tables = set(
        session.execute(
            text(
                "SELECT c.table_name FROM information_schema.columns c JOIN information_schema.tables t "
                "ON t.table_name = c.table_name AND t.table_schema = c.table_schema "
                "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' "
                "AND c.column_name IN ('person_id', 'survivor_id')"
            )
        ).scalars()
    )
    assert tables - {"person_merge"} == set(privacy.PERSON_TABLES) - {"person"}
    assert "person_merge" in tables


def test_the_export_holds_every_kind_of_record(session, runtime, account, everything, tmp_path):
    document = _export(session, runtime, account.id, everything["person_id"], tmp_path)
    assert document["format"] == privacy.FORMAT
    assert document["person"]["email"] == EMAIL and document["person"]["custom_fields"] == {"dieet": CUSTOM}
    assert document["figures"]["tickets"] == 2
    for section in privacy.SECTION_NAMES:
        if section not in ("person", "figures"):
            assert document[section], f"section {section} is empty"
    assert {t["name"]: t["source"] for t in document["tags"]} == {"Jazzliefhebber": "staff", "Moderne dans": "person"}
    assert [i["external_id"] for i in document["identities"]] == [EXTERNAL]
    assert len(document["orders"][0]["tickets"]) == 2 and document["orders"][0]["tickets"][0]["scanned_at"]
    assert document["merged_persons"][0]["merged_fields"]["email"] == MERGED_EMAIL
    assert document["sends"][0]["email"] == EMAIL
    assert [c["granted"] for c in document["consent_history"]] == [True, False]


def _figures(session, account_id: int) -> dict:
    row = session.execute(
        text(
            "SELECT (SELECT count(*) FROM ticket WHERE account_id = :a), "
            "(SELECT sum(price) FROM ticket WHERE account_id = :a), "
            "(SELECT count(*) FROM ticket_fact WHERE account_id = :a), "
            "(SELECT sum(tickets) FROM person_stats WHERE account_id = :a), "
            "(SELECT sum(revenue) FROM person_stats WHERE account_id = :a), "
            "(SELECT count(*) FROM orders WHERE account_id = :a), "
            "(SELECT count(*) FROM subscription WHERE account_id = :a)"
        ),
        {"a": account_id},
    ).one()
    return dict(zip(("tickets", "price", "facts", "stats_tickets", "revenue", "orders", "subscriptions"), row))


def _personal_values_left(session) -> list[str]:
    """Every text, JSON and bytea-free column of every table, searched for the markers."""
    columns = session.execute(
        text(
            "SELECT c.table_name, c.column_name FROM information_schema.columns c "
            "JOIN information_schema.tables t ON t.table_name = c.table_name AND t.table_schema = c.table_schema "
            "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' "
            "AND c.data_type IN ('text', 'character varying', 'jsonb', 'json', 'ARRAY', 'USER-DEFINED')"
        )
    ).all()
    found = []
    for table, column in columns:
        hits = session.execute(
            text(f'SELECT count(*) FROM "{table}" WHERE lower(CAST("{column}" AS text)) LIKE ANY(CAST(:m AS text[]))'),
            {"m": [f"%{m}%" for m in MARKERS]},
        ).scalar_one()
        if hits:
            found.append(f"{table}.{column}")
    return found


def test_an_erasure_leaves_no_personal_value_and_every_figure(session, runtime, account, everything, tmp_path):
    a, pid = account.id, everything["person_id"]
    _export(session, runtime, a, pid, tmp_path)
    export_files = list(tmp_path.rglob("*.json"))
    assert export_files
    assert _personal_values_left(session)  # the search finds them before
    before = _figures(session, a)
    started = privacy.start_request(session, a, PrivacyRequestKind.ERASE, pid)
    session.flush()
    result = privacy.run_erase(runtime.new_session, started.job.id, tmp_path, lambda *_: None)
    session.commit()  # the harness's savepoint: after-commit work (files) runs
    session.expire_all()
    assert result["removed"]["person_tag"] == 2 and result["suppressions"] == 2

    assert _personal_values_left(session) == []
    person = session.execute(text("SELECT * FROM person WHERE account_id = :a AND id = :p"), {"a": a, "p": pid}).one()
    assert person.erased_at is not None
    assert all(getattr(person, f) is None for f in ("birth_date", "gender", "latitude", "city", "language"))
    assert _figures(session, a) == before
    assert not any(f.exists() for f in export_files)

    # Absent everywhere a person is looked up.
    assert people.get_person(session, a, pid) is None
    assert pid not in [p.id for p in people.list_persons(session, a).items]
    everyone_without_a_city = {"type": "text", "field": "city", "operator": "is_empty"}
    assert segments.count_matching(session, a, rules=everyone_without_a_city) == 1  # the other customer only
    with pytest.raises(InputError):
        privacy.start_request(session, a, PrivacyRequestKind.EXPORT, pid)
    with pytest.raises(InputError):
        tags.attach(session, a, tag_ids=[tags.all_tags(session, a)[0].id], target=tags.TargetKind.PERSON,
                    target_ids=[pid], source="staff", actor="admin")  # fmt: skip

    # The same feed again: the person does not come back; their orders still count, anonymously.
    again = _import(runtime, a)
    assert not again.refusals
    assert again.counts["person"]["suppressed"] == 1
    assert _personal_values_left(session) == []
    assert _figures(session, a) == before
    persons = session.execute(text("SELECT count(*) FROM person WHERE account_id = :a"), {"a": a}).scalar_one()
    assert persons == 2  # the anonymous row and the other customer

    # A changed order of the erased person still reaches the figures.
    changed = [r for r in _feed() if r.get("id") == "O1"]
    changed[0]["status"] = "cancelled"
    run_import(runtime.new_session, a, read_jsonl(feeds.jsonl(changed)), ImportOptions())
    assert _figures(session, a)["facts"] == before["facts"] - 2


def test_a_person_is_erased_once(session, runtime, account, everything, tmp_path):
    a, pid = account.id, everything["person_id"]
    privacy.start_request(session, a, PrivacyRequestKind.ERASE, pid)
    with pytest.raises(InputError) as refused:
        privacy.start_request(session, a, PrivacyRequestKind.ERASE, pid)
    assert refused.value.problems[0].code.name == "CONFLICT"


def test_requests_stay_in_their_account(session, account, other_account, everything):
    with pytest.raises(InputError) as refused:
        privacy.start_request(session, other_account.id, PrivacyRequestKind.EXPORT, everything["person_id"])
    assert refused.value.problems[0].code.name == "NOT_FOUND"
