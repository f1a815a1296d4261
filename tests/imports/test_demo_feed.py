"""The demo generator's data written as a feed and imported into another account: every kind of
record comes through, with the same purchase figures; a ticket cap keeps whole orders."""

from __future__ import annotations

import io
import json
from datetime import date

from sqlalchemy import text

from domain.demo import load_demo_data
from domain.demo.feed import write_feed
from domain.imports.importer import ImportOptions, run_import
from domain.imports.readers import read_jsonl
from domain.people.models import ConsentType

FIGURES = """SELECT
  (SELECT count(*) FROM person WHERE account_id = :a),
  (SELECT count(*) FROM orders WHERE account_id = :a),
  (SELECT count(*) FROM ticket WHERE account_id = :a),
  (SELECT count(*) FROM event WHERE account_id = :a),
  (SELECT count(*) FROM production WHERE account_id = :a),
  (SELECT count(*) FROM venue WHERE account_id = :a),
  (SELECT count(*) FROM subscription WHERE account_id = :a),
  (SELECT count(*) FROM production_tag WHERE account_id = :a),
  (SELECT count(*) FROM person_consent WHERE account_id = :a AND granted),
  (SELECT coalesce(sum(revenue), 0) FROM person_stats WHERE account_id = :a),
  (SELECT coalesce(sum(tickets), 0) FROM person_stats WHERE account_id = :a)"""


def test_the_demo_data_round_trips_through_the_feed(connection, runtime, account, other_account, session):
    load_demo_data(connection, account.id, people=300, seed=5, today=date(2026, 3, 15))
    buffer = io.StringIO()
    counts = write_feed(connection, account.id, buffer)
    assert counts["person"] == 300 and counts["order"] > 300 and counts["event"] > 0

    keys = connection.execute(text("SELECT key, name FROM consent_type WHERE account_id = :a"), {"a": account.id})
    for key, name in keys.all():
        session.add(ConsentType(account_id=other_account.id, key=key, name=name))
    session.flush()
    feed = io.BytesIO(buffer.getvalue().encode())
    result = run_import(runtime.new_session, other_account.id, read_jsonl(feed), ImportOptions(source="demo"))
    assert result.refused == 0, result.refusals[:5]

    ours = connection.execute(text(FIGURES), {"a": account.id}).one()
    theirs = connection.execute(text(FIGURES), {"a": other_account.id}).one()
    assert theirs == ours


def test_a_ticket_cap_keeps_whole_orders_and_their_persons(connection, account):
    load_demo_data(connection, account.id, people=200, seed=6, today=date(2026, 3, 15))
    buffer = io.StringIO()
    write_feed(connection, account.id, buffer, max_tickets=250)
    records = [json.loads(line) for line in buffer.getvalue().splitlines()]
    orders = [r for r in records if r["type"] == "order"]
    tickets = sum(len(o["tickets"]) for o in orders)
    assert 200 <= tickets <= 250
    persons = {r["id"] for r in records if r["type"] == "person"}
    assert {o["person"] for o in orders} == persons
    kinds = [r["type"] for r in records]
    assert kinds.index("venue") < kinds.index("production") < kinds.index("event") < kinds.index("person")
