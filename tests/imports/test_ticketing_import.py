"""The ticketing importer on generated feeds: first run, same feed again, changes, cancellations,
broken records, and the policies around persons (identity, e-mail, consents, tags)."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from sqlalchemy import text

from domain.imports.importer import ImportOptions, run_import
from domain.imports.readers import read_csv, read_jsonl
from domain.people.models import ConsentType
from domain.segments import service as segments
from tests import factories as f
from tests.imports import feeds

TABLES = [
    "person",
    "person_identity",
    "person_consent",
    "person_tag",
    "venue",
    "production",
    "production_tag",
    "event",
    "orders",
    "ticket",
    "subscription",
    "ticket_fact",
    "person_stats",
]
BUYERS = {"all": [{"type": "purchase", "metric": "tickets", "min": 1}]}


@pytest.fixture()
def newsletter(session, account):
    consent = ConsentType(account_id=account.id, key="newsletter", name="Nieuwsbrief")
    session.add(consent)
    session.flush()
    return consent


def _import(runtime, account, items, **options):
    return run_import(runtime.new_session, account.id, read_jsonl(feeds.jsonl(items)), ImportOptions(**options))


def _versions(session, account_id) -> dict[str, set]:
    """Every row's version (xmin) and place (ctid): a write of any row changes them."""
    return {
        table: set(
            session.execute(
                text(f"SELECT xmin::text || ctid::text FROM {table} WHERE account_id = :a"), {"a": account_id}
            ).scalars()
        )
        for table in TABLES
    }


def _counts(session, account_id) -> dict[str, int]:
    return {
        table: session.execute(text(f"SELECT count(*) FROM {table} WHERE account_id = :a"), {"a": account_id}).scalar()
        for table in TABLES
    }


def test_first_import_then_the_same_feed_changes_nothing(session, runtime, account, newsletter):
    items = feeds.records(persons=600)
    tickets = [t for r in items if r["type"] == "order" for t in r["tickets"]]
    first = _import(runtime, account, items, batch_size=500)
    assert first.refused == 0, first.refusals[:3]
    assert first.counts["person"]["created"] == 600
    assert first.counts["ticket"]["created"] == len(tickets) > 1000
    assert first.batches > 3  # records referring to earlier batches resolve
    counts = _counts(session, account.id)
    assert counts["person"] == counts["person_identity"] == counts["person_consent"] == 600
    assert counts["ticket"] == counts["ticket_fact"] == len(tickets)
    assert counts["production_tag"] == 20 + 5  # one genre each, "Familie" on every fourth
    revenue = session.execute(text("SELECT sum(revenue) FROM person_stats WHERE account_id = :a"), {"a": account.id})
    assert revenue.scalar() == sum(Decimal(t["price"]) for t in tickets)

    before = _versions(session, account.id)
    again = _import(runtime, account, items, batch_size=500)
    assert again.changes == 0 and again.refused == 0
    assert again.counts["ticket"]["unchanged"] == len(tickets)
    assert _versions(session, account.id) == before  # not one row written again


def test_a_changed_feed_lands_only_its_changes_and_figures_follow(session, runtime, account, newsletter):
    items = feeds.records(persons=200)
    _import(runtime, account, items)
    changed = copy.deepcopy(items)
    person = next(r for r in changed if r["type"] == "person" and r["id"] == "C5")
    person["city"] = "Amersfoort"
    order = next(r for r in changed if r["type"] == "order")
    order["tickets"][0]["price"] = "99.00"
    buyer_id = session.execute(
        text("SELECT person_id FROM person_identity WHERE account_id = :a AND external_id = :e"),
        {"a": account.id, "e": order["person"]},
    ).scalar_one()
    before = _versions(session, account.id)
    result = _import(runtime, account, changed)
    assert result.counts["person"]["updated"] == 1 and result.counts["ticket"]["updated"] == 1
    assert result.changes == 2
    after = _versions(session, account.id)
    assert len(after["person"] - before["person"]) == 1
    assert len(after["ticket"] - before["ticket"]) == 1
    assert after["event"] == before["event"]
    # The order's record changed (one of its tickets): only its feed digest is written.
    assert len(after["orders"] - before["orders"]) == 1
    assert session.execute(text("SELECT city FROM person WHERE account_id = :a AND first_name = 'Klant5'"),
                           {"a": account.id}).scalar() == "Amersfoort"  # fmt: skip
    revenue = session.execute(
        text("SELECT revenue FROM person_stats WHERE account_id = :a AND person_id = :p"),
        {"a": account.id, "p": buyer_id},
    ).scalar()
    expected = sum(Decimal(t["price"]) for r in changed if r["type"] == "order" and r["person"] == order["person"]
                   for t in r["tickets"])  # fmt: skip
    assert revenue == expected


def test_cancellations_and_refunds_leave_every_figure_and_segment(session, runtime, account, newsletter):
    items = feeds.records(persons=100)
    _import(runtime, account, items)
    buyers = segments.count_matching(session, account.id, rules=BUYERS)
    orders_of = {}
    for r in items:
        if r["type"] == "order":
            orders_of.setdefault(r["person"], []).append(r)
    one_order_buyer, their_orders = next((p, o) for p, o in orders_of.items() if len(o) == 1)
    multi = next(o for o in orders_of.values() if len(o) >= 2 and len(o[0]["tickets"]) >= 2)
    their_orders[0]["status"] = "cancelled"
    multi[0]["tickets"][0]["status"] = "refunded"
    result = _import(runtime, account, items)
    assert result.counts["order"]["updated"] == 1 and result.counts["ticket"]["updated"] == 1
    assert segments.count_matching(session, account.id, rules=BUYERS) == buyers - 1
    facts = session.execute(
        text(
            "SELECT count(*) FROM ticket_fact f JOIN ticket t ON t.account_id = f.account_id AND t.id = f.ticket_id "
            "WHERE f.account_id = :a AND t.status <> 'valid'"
        ),
        {"a": account.id},
    ).scalar()
    assert facts == 0
    valid = session.execute(
        text(
            "SELECT count(*) FROM ticket t JOIN orders o ON o.account_id = t.account_id AND o.id = t.order_id "
            "WHERE t.account_id = :a AND t.status = 'valid' AND o.status = 'paid'"
        ),
        {"a": account.id},
    ).scalar()
    assert session.execute(text("SELECT sum(tickets) FROM person_stats WHERE account_id = :a"),
                           {"a": account.id}).scalar() == valid  # fmt: skip


def test_broken_records_are_refused_with_their_reason_and_the_rest_imports(session, runtime, account, newsletter):
    items = feeds.records(persons=50)
    broken = [
        {"type": "person", "id": "X1", "email": "a,b@c.de"},
        {"type": "order", "id": "X2", "person": "nobody", "created_at": "2026-01-01T10:00:00Z", "tickets": []},
        {"type": "order", "id": "X3", "person": "C1", "created_at": "2026-01-01T10:00:00Z",
         "tickets": [{"id": "XT", "event": "E0-0", "price": "-3"}]},
        {"type": "order", "id": "X4", "person": "C1", "created_at": "2026-01-01T10:00:00Z",
         "tickets": [{"id": "XT2", "event": "no-such-event", "price": "3"}]},
        {"type": "event", "id": "X5", "production": "PR0", "venue": "V0", "starts_at": "2026-10-01T20:00:00"},
        {"type": "seat", "id": "X6"},
        {"type": "person", "id": "X7", "consents": {"sms": True}},
    ]  # fmt: skip
    stream = feeds.jsonl(items + broken)
    stream.seek(0, 2)
    stream.write(b"{not json\n")
    stream.seek(0)
    result = run_import(runtime.new_session, account.id, read_jsonl(stream), ImportOptions(create_consent_types=False))
    refused = {(r.external_id, r.field) for r in result.refusals}
    assert refused == {
        ("X1", "email"),
        ("X2", "person"),
        ("X3", "tickets.0.price"),
        ("X4", "tickets.0.event"),
        ("X5", "starts_at"),
        ("X6", "type"),
        ("X7", "consents.sms"),
        (None, ""),
    }
    lines = {r.external_id: r.line for r in result.refusals}
    assert lines["X1"] == len(items) + 1 and lines[None] == len(items) + len(broken) + 1
    assert all(r.message for r in result.refusals)
    assert result.counts["person"]["created"] == 51  # X7 itself imports; only its unknown consent is refused
    assert _counts(session, account.id)["orders"] == sum(1 for r in items if r["type"] == "order")


def test_persons_match_by_identity_then_email_and_opt_outs_given_here_stay(session, runtime, account, newsletter):
    known = f.person(session, account.id, email="Klant1@Example.nl", first_name="Bekend")
    session.execute(
        text(
            "INSERT INTO person_consent (account_id, person_id, consent_type_id, granted, withdrawn_at, source) "
            "VALUES (:a, :p, :c, false, now(), 'person')"
        ),
        {"a": account.id, "p": known.id, "c": newsletter.id},
    )
    items = [
        {"type": "person", "id": "A", "email": " klant1@example.NL ", "consents": {"newsletter": True}},
        {"type": "person", "id": "B", "email": "nieuw@example.nl"},
        {"type": "person", "id": "C", "email": "NIEUW@example.nl"},  # the same new person as B
    ]
    result = _import(runtime, account, items, tag_persons=("Ticketing",))
    assert result.counts["person"]["created"] == 1
    identities = {
        e: p
        for e, p in session.execute(
            text("SELECT external_id, person_id FROM person_identity WHERE account_id = :a"), {"a": account.id}
        )
    }
    assert identities["A"] == known.id and identities["B"] != known.id
    granted = session.execute(
        text("SELECT granted FROM person_consent WHERE account_id = :a AND person_id = :p"),
        {"a": account.id, "p": known.id},
    ).scalar()
    assert granted is False  # the feed does not lift an opt-out the person gave in Marquee
    tagged = session.execute(
        text(
            "SELECT count(*) FROM person_tag pt JOIN tag t ON t.account_id = pt.account_id AND t.id = pt.tag_id "
            "WHERE pt.account_id = :a AND t.name = 'Ticketing' AND pt.source = 'integration'"
        ),
        {"a": account.id},
    ).scalar()
    assert tagged == 2
    again = _import(runtime, account, [{"type": "person", "id": "A", "first_name": "Anna"}])
    assert again.counts["person"]["updated"] == 1
    stored = session.execute(text("SELECT first_name, email FROM person WHERE id = :p"), {"p": known.id}).one()
    assert stored == ("Anna", "Klant1@example.nl")  # the spelling it had, though the feed's differs in case


def test_csv_feeds_import_like_json_lines(session, runtime, account, newsletter):
    import io

    csv_feed = (
        "type,id,name,title,production,venue,starts_at,email,person,created_at,order,event,price,status,genres,"
        "consent.newsletter\n"
        "venue,V1,Grote Zaal,,,,,,,,,,,,,\n"
        "production,P1,,Kom Maar Binnen,,,,,,,,,,,Cabaret|Humor,\n"
        "event,E1,,,P1,V1,2026-11-01T20:15:00+01:00,,,,,,,,,\n"
        "person,C1,,,,,,c1@example.nl,,,,,,,,true\n"
        "order,O1,,,,,,,C1,2026-10-01T12:00:00Z,,,,paid,,\n"
        "ticket,T1,,,,,,,,,O1,E1,25.00,,,\n"
        "ticket,T2,,,,,,,,,O1,E1,25.00,refunded,,\n"
    )
    result = run_import(
        runtime.new_session, account.id, read_csv(io.BytesIO(csv_feed.encode())), ImportOptions(source="box")
    )
    assert result.refused == 0, result.refusals
    assert result.counts["ticket"]["created"] == 2
    stats = session.execute(
        text("SELECT tickets, revenue FROM person_stats WHERE account_id = :a"), {"a": account.id}
    ).one()
    assert stats == (1, Decimal("25.00"))
    names = set(
        session.execute(
            text(
                "SELECT t.name FROM production_tag pt JOIN tag t ON t.account_id = pt.account_id AND t.id = pt.tag_id "
                "WHERE pt.account_id = :a"
            ),
            {"a": account.id},
        ).scalars()
    )
    assert names == {"Cabaret", "Humor"}


def test_the_command_line_imports_a_feed_with_exit_codes_0_1_2(tmp_path, db_url, committed_engine):
    from tests.test_settings_and_cli import marquee

    env = {"MARQUEE_DATABASE_URL": db_url}
    assert (
        marquee("create-account", "CLI Zaal", "--slug", "cli-zaal", "--admin-email", "a@cli.test", env=env).returncode
        == 0
    )
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(feeds.jsonl(feeds.records(persons=30)).getvalue())
    not_installed = marquee("import", "ticketing", str(feed), "--account", "cli-zaal", env=env)
    assert not_installed.returncode == 2 and "install it first" in not_installed.stderr
    installed = marquee(
        "install-plugin",
        "ticketing",
        "--account",
        "cli-zaal",
        "--set",
        "tag_persons=Uit feed",
        "--set",
        "create_consent_types=false",
        env=env,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr

    with_consents = marquee("import", "ticketing", str(feed), "--account", "cli-zaal", env=env)
    assert with_consents.returncode == 1  # no consent type "newsletter", and none is created
    assert "consents.newsletter" in with_consents.stderr and "30 created" in with_consents.stderr

    clean = tmp_path / "clean.jsonl"
    clean.write_bytes(
        feeds.jsonl([{k: v for k, v in r.items() if k != "consents"} for r in feeds.records(persons=30)]).getvalue()
    )
    again = marquee("import", "ticketing", str(clean), "--account", "cli-zaal", env=env)
    assert again.returncode == 0, again.stderr
    assert "0 changes, 0 refused" in again.stderr
    with committed_engine.connect() as conn:
        tagged = conn.execute(
            text(
                "SELECT count(*) FROM person_tag pt JOIN tag t ON t.account_id = pt.account_id AND t.id = pt.tag_id "
                "WHERE t.name = 'Uit feed'"
            )
        ).scalar()
    assert tagged == 30
    with committed_engine.begin() as conn:  # a correction made in Marquee since
        conn.execute(text("UPDATE person SET city = 'Zeist' WHERE email = 'klant3@example.nl'"))
    kept = marquee("import", "ticketing", str(clean), "--account", "cli-zaal", env=env)
    assert "0 changes" in kept.stderr and "30 unchanged" in kept.stderr
    rechecked = marquee("import", "ticketing", str(clean), "--account", "cli-zaal", "--recheck", env=env)
    assert rechecked.returncode == 0 and "1 changes" in rechecked.stderr, rechecked.stderr
    with committed_engine.connect() as conn:  # each run is in the account's audit trail
        runs = (
            conn.execute(
                text(
                    "SELECT details -> 'figures' ->> 'changes' FROM audit_entry WHERE action = 'cli:import_ticketing' ORDER BY id"
                )
            )
            .scalars()
            .all()
        )
    assert runs == [runs[0], "0", "0", "1"] and int(runs[0]) > 0
    missing = marquee("import", "ticketing", str(tmp_path / "nope.jsonl"), "--account", "cli-zaal", env=env)
    assert missing.returncode == 2


def _state(conn, slug: str) -> dict:
    """What an account holds, without its row ids (two accounts can be compared)."""
    account_id = conn.execute(text("SELECT id FROM account WHERE slug = :s"), {"s": slug}).scalar_one()
    queries = {
        "persons": "SELECT i.external_id, p.email, p.first_name, p.city FROM person p JOIN person_identity i "
        "ON i.account_id = p.account_id AND i.person_id = p.id WHERE p.account_id = :a",
        "tickets": "SELECT t.external_id, o.external_id, e.external_id, t.price, t.status FROM ticket t "
        "JOIN orders o ON o.account_id = t.account_id AND o.id = t.order_id "
        "JOIN event e ON e.account_id = t.account_id AND e.id = t.event_id WHERE t.account_id = :a",
        "stats": "SELECT i.external_id, s.orders, s.tickets, s.revenue FROM person_stats s JOIN person_identity i "
        "ON i.account_id = s.account_id AND i.person_id = s.person_id WHERE s.account_id = :a",
        "links": "SELECT p.external_id, t.name FROM production_tag pt JOIN production p ON p.account_id = pt.account_id "
        "AND p.id = pt.production_id JOIN tag t ON t.account_id = pt.account_id AND t.id = pt.tag_id "
        "WHERE pt.account_id = :a",
    }
    state = {name: sorted(map(tuple, conn.execute(text(q), {"a": account_id}))) for name, q in queries.items()}
    state["counts"] = {
        table: conn.execute(text(f"SELECT count(*) FROM {table} WHERE account_id = :a"), {"a": account_id}).scalar()
        for table in TABLES
    }
    return state


def test_an_import_killed_midway_and_run_again_ends_as_one_clean_run(tmp_path, db_url, committed_engine):
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.test_settings_and_cli import marquee

    env = {"MARQUEE_DATABASE_URL": db_url}
    feed = tmp_path / "feed.jsonl"
    items = [{k: v for k, v in r.items() if k != "consents"} for r in feeds.records(persons=5000, productions=40)]
    feed.write_bytes(feeds.jsonl(items).getvalue())
    for slug in ("killed", "clean"):
        assert (
            marquee("create-account", slug, "--slug", slug, "--admin-email", f"a@{slug}.test", env=env).returncode == 0
        )
        assert marquee("install-plugin", "ticketing", "--account", slug, env=env).returncode == 0

    process = subprocess.Popen(
        [sys.executable, "-m", "marquee.cli", "import", "ticketing", str(feed), "--account", "killed"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    with committed_engine.connect() as conn:
        while time.monotonic() < deadline:  # some batches committed, not all
            persons = conn.execute(
                text("SELECT count(*) FROM person p JOIN account a ON a.id = p.account_id WHERE a.slug = 'killed'")
            ).scalar()
            conn.rollback()
            if persons >= 1000:
                break
            time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    with committed_engine.connect() as conn:
        partial = _state(conn, "killed")
    assert 0 < partial["counts"]["person"] < 5000, "the kill came too late or too early to test anything"

    assert marquee("import", "ticketing", str(feed), "--account", "killed", env=env).returncode == 0
    assert marquee("import", "ticketing", str(feed), "--account", "clean", env=env).returncode == 0
    with committed_engine.connect() as conn:
        assert _state(conn, "killed") == _state(conn, "clean")


def test_plugins_hear_which_productions_changed(session, runtime, account, newsletter):
    from plugins import hookimpl

    heard: list = []

    class Listener:
        @hookimpl
        def on_productions_changed(self, event):
            heard.append(event)

    runtime.plugins.pm.register(Listener(), name="production-listener")
    items = feeds.records(persons=5, productions=4)
    _import(runtime, account, items)
    assert len({p for e in heard for p in e.production_ids}) == 4
    heard.clear()
    _import(runtime, account, items)
    assert heard == []  # nothing changed, nothing announced
    event = next(r for r in items if r["type"] == "event" and r["production"] == "PR2")
    event["status"] = "cancelled"
    _import(runtime, account, items)
    production_id = session.execute(
        text("SELECT id FROM production WHERE account_id = :a AND external_id = 'PR2'"), {"a": account.id}
    ).scalar_one()
    assert [e.production_ids for e in heard] == [(production_id,)]


def test_consent_keys_the_account_lacks_become_consent_types_unless_refused(session, runtime, account, other_account):
    items = [
        {"type": "person", "id": "A1", "email": "a1@example.nl", "consents": {"newsletter": True, "sms": False}},
        {"type": "person", "id": "A2", "email": "a2@example.nl", "consents": {"sms": True}},
    ]
    result = _import(runtime, account, items)
    assert result.refused == 0 and result.counts["consent_type"]["created"] == 2
    types = session.execute(
        text("SELECT key, name FROM consent_type WHERE account_id = :a ORDER BY key"), {"a": account.id}
    )
    assert types.all() == [("newsletter", "newsletter"), ("sms", "sms")]
    assert _import(runtime, account, items).counts.get("consent_type") is None  # there now: none created

    refused = _import(runtime, other_account, items, create_consent_types=False)
    assert sorted(r.field for r in refused.refusals) == ["consents.newsletter", "consents.sms", "consents.sms"]
    assert (
        session.execute(
            text("SELECT count(*) FROM consent_type WHERE account_id = :a"), {"a": other_account.id}
        ).scalar()
        == 0
    )
    assert (
        session.execute(text("SELECT count(*) FROM person WHERE account_id = :a"), {"a": other_account.id}).scalar()
        == 2
    )


def test_one_batch_changing_a_ticket_and_adding_one_for_the_same_buyer(session, runtime, account, newsletter):
    """An upsert fires its UPDATE trigger before its INSERT trigger: the buyer's facts, refreshed
    whole by the first, already hold the new ticket when the second adds it."""
    items = feeds.records(persons=3, productions=2)
    _import(runtime, account, items)
    order = next(r for r in items if r["type"] == "order")
    order["tickets"][0]["price"] = "99.00"
    order["tickets"].append({"id": "EXTRA", "event": order["tickets"][0]["event"], "price": "1.00"})
    result = _import(runtime, account, items)
    assert result.refused == 0 and result.counts["ticket"]["created"] == 1
    stats = session.execute(
        text(
            "SELECT s.tickets, s.revenue FROM person_stats s JOIN person_identity i ON i.account_id = s.account_id "
            "AND i.person_id = s.person_id WHERE s.account_id = :a AND i.external_id = :p"
        ),
        {"a": account.id, "p": order["person"]},
    ).one()
    facts = session.execute(
        text(
            "SELECT count(*), sum(f.price) FROM ticket_fact f JOIN person_identity i ON i.account_id = f.account_id "
            "AND i.person_id = f.person_id WHERE f.account_id = :a AND i.external_id = :p"
        ),
        {"a": account.id, "p": order["person"]},
    ).one()
    assert tuple(stats) == tuple(facts)
    figures = "SELECT person_id, orders, tickets, revenue, events FROM person_stats WHERE account_id = :a ORDER BY 1"
    incremental = session.execute(text(figures), {"a": account.id}).all()
    session.execute(text("SELECT marquee_rebuild_purchase_facts(:a)"), {"a": account.id})
    assert session.execute(text(figures), {"a": account.id}).all() == incremental  # as a rebuild gives


def test_consent_keys_are_checked_before_they_become_consent_types(session, runtime, account):
    bad = [{"type": "person", "id": "B1", "email": "b1@example.nl", "consents": {"Bad Key!": True, " ": False}}]
    result = _import(runtime, account, bad)
    assert result.refused == 1 and result.refusals[0].field.startswith("consents.")
    assert (
        session.execute(text("SELECT count(*) FROM consent_type WHERE account_id = :a"), {"a": account.id}).scalar()
        == 0
    )


def test_the_statistics_keeper_analyzes_as_the_account_grows_also_over_a_pulls_pages(session, runtime, account):
    from domain.imports.importer import ImportResult, ImportStatistics

    keeper = ImportStatistics(runtime.new_session, account.id)
    keeper.start()
    due: list[str] = []
    for _page in range(3):  # three pages of 4,000 new persons: each page's counts start at zero
        page = ImportResult()
        page.count("person", "created", 4000)
        due += keeper.after_batch(page)
    assert due == ["person", "person_stats"]  # once, when the account's 12,000 passed 10,000 and 8x its estimate
    again = ImportResult()
    again.count("person", "created", 40_000)
    assert keeper.after_batch(again) == []  # 52,000 is not eight times 12,000


def _person_row(session, account_id, external_id):
    return session.execute(
        text(
            "SELECT p.first_name, p.city FROM person p JOIN person_identity i ON i.account_id = p.account_id "
            "AND i.person_id = p.id WHERE p.account_id = :a AND i.external_id = :e"
        ),
        {"a": account_id, "e": external_id},
    ).one()


def test_an_unchanged_record_is_skipped_unparsed_and_a_changed_one_is_not(session, runtime, account, newsletter):
    items = feeds.records(persons=50)
    _import(runtime, account, items, batch_size=40)
    # Staff correct a person in Marquee; the source re-sends the same record: the correction stays.
    session.execute(
        text(
            "UPDATE person SET city = 'Zeist' FROM person_identity i WHERE i.account_id = person.account_id "
            "AND i.person_id = person.id AND person.account_id = :a AND i.external_id = 'C3'"
        ),
        {"a": account.id},
    )
    again = _import(runtime, account, items, batch_size=40)
    assert again.changes == 0 and again.counts["person"]["unchanged"] == 50
    assert _person_row(session, account.id, "C3").city == "Zeist"
    # The source changes the record: it lands, whole.
    changed = copy.deepcopy(items)
    record = next(r for r in changed if r.get("id") == "C3")
    record["first_name"] = "Karin"
    result = _import(runtime, account, changed, batch_size=40)
    assert result.counts["person"]["updated"] == 1 and result.counts["person"]["unchanged"] == 49
    assert tuple(_person_row(session, account.id, "C3")) == ("Karin", "Utrecht")
    # Asked to check every record again, the importer writes what differs from the feed.
    session.execute(text("UPDATE person SET city = 'Zeist' WHERE account_id = :a"), {"a": account.id})
    full = _import(runtime, account, changed, batch_size=40, skip_unchanged=False)
    assert full.counts["person"]["updated"] == 50
    assert _person_row(session, account.id, "C7").city == "Utrecht"


def test_a_record_changed_then_changed_back_in_the_next_batch_ends_as_its_last_version(
    session, runtime, account, newsletter
):
    first = {"type": "person", "id": "P1", "email": "p1@example.nl", "first_name": "Eerste"}
    _import(runtime, account, [first])
    # The next batch is looked up while this one is written: the revert must not be taken for unchanged.
    feed = [{**first, "first_name": "Tweede"}, {"type": "person", "id": "P2", "email": "p2@example.nl"}, first]
    result = _import(runtime, account, feed, batch_size=2)
    assert result.batches == 2 and result.counts["person"]["updated"] == 2
    assert _person_row(session, account.id, "P1").first_name == "Eerste"


def test_refused_records_and_changed_options_are_never_skipped(session, runtime, account):
    items = [{"type": "person", "id": "R1", "email": "r1@example.nl", "consents": {"sms": True}}]
    assert _import(runtime, account, items, create_consent_types=False).refused == 1
    assert _import(runtime, account, items, create_consent_types=False).refused == 1  # reported again
    created = _import(runtime, account, items)  # other options: the record is written again
    assert created.refused == 0 and created.counts["consent_type"]["created"] == 1
    tagged = _import(runtime, account, items, tag_persons=("Ticketing",))
    assert tagged.counts["person_tag"]["created"] == 1
    assert _import(runtime, account, items, tag_persons=("Ticketing",)).changes == 0


def test_a_record_met_again_in_a_later_batch_of_a_first_import_is_upserted(session, runtime, account, newsletter):
    """A first import inserts plainly; the batch that meets a row an earlier batch wrote rolls
    back to its savepoint and is upserted (and so is the rest of the import)."""
    catalogue = [
        {"type": "venue", "id": "V1", "name": "Zaal"},
        {"type": "production", "id": "PR1", "title": "Stuk"},
        {"type": "event", "id": "E1", "production": "PR1", "venue": "V1", "starts_at": "2027-02-01T20:00:00+01:00"},
        {"type": "person", "id": "C1", "email": "c1@example.nl"},
    ]

    def order(n: int, price: str) -> dict:
        ticket = {"id": f"T{n}", "event": "E1", "price": price}
        return {
            "type": "order",
            "id": f"O{n}",
            "person": "C1",
            "created_at": "2027-01-05T10:00:00Z",
            "tickets": [ticket],
        }

    feed = [*catalogue, order(1, "10.00"), order(2, "20.00"), order(1, "15.00"), order(3, "30.00")]
    result = _import(runtime, account, feed, batch_size=5)  # O1 again, changed, in the second batch
    assert result.refused == 0 and result.batches == 2
    assert result.counts["order"]["created"] == 3 and result.counts["ticket"]["created"] == 3
    assert result.counts["ticket"]["updated"] == 1
    prices = session.execute(
        text("SELECT external_id, price FROM ticket WHERE account_id = :a ORDER BY external_id"), {"a": account.id}
    ).all()
    assert [(e, str(p)) for e, p in prices] == [("T1", "15.00"), ("T2", "20.00"), ("T3", "30.00")]
    revenue = session.execute(
        text("SELECT revenue FROM person_stats WHERE account_id = :a"), {"a": account.id}
    ).scalar_one()
    assert revenue == Decimal("65.00")
