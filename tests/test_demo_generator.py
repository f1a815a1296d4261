"""The demo data generator: realistic proportions, consistent rows, determinism."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import text

from domain.demo import genre_names, load_demo_data, person_affinities, production_genres

TODAY = date(2026, 3, 15)
PEOPLE = 2000


def _account(conn, slug: str) -> int:
    return conn.execute(text("insert into account (name, slug) values (:n, :s) returning id"),
                        {"n": f"Demo {slug}", "s": slug}).scalar_one()


def test_demo_data_is_realistic_and_consistent(db_engine):
    with db_engine.connect() as conn, conn.begin() as tx:
        account = _account(conn, "demo-generator")
        progress: list[float] = []
        counts = load_demo_data(conn, account, people=PEOPLE, seed=7, today=TODAY,
                                progress=lambda fraction, message: progress.append(fraction))

        def one(sql: str, **params):
            return conn.execute(text(sql), {"a": account, **params}).one()

        assert progress == sorted(progress) and progress[-1] == 1.0
        assert conn.execute(text("show session_replication_role")).scalar_one() == "origin"
        persons, orders, tickets, events = one(
            "select (select count(*) from person where account_id = :a), "
            "(select count(*) from orders where account_id = :a), "
            "(select count(*) from ticket where account_id = :a), "
            "(select count(*) from event where account_id = :a)")
        assert (counts["person"], counts["orders"], counts["ticket"], counts["event"]) == (
            persons, orders, tickets, events)
        assert persons == PEOPLE and events == 60
        assert 2.5 <= orders / persons <= 3.5
        assert 1.8 <= tickets / orders <= 2.3
        for table in ("venue", "production", "person_identity", "person_consent", "subscription",
                      "custom_field_definition", "consent_type"):
            assert counts[table] > 0, table

        late, wrong_person, after_today = one(
            "select count(*) filter (where o.created_at >= e.starts_at), "
            "count(*) filter (where t.person_id <> o.person_id), "
            "count(*) filter (where o.created_at >= :now) "
            "from ticket t join orders o on o.account_id = t.account_id and o.id = t.order_id "
            "join event e on e.account_id = t.account_id and e.id = t.event_id where t.account_id = :a",
            now=datetime.combine(TODAY, time(), ZoneInfo("Europe/Amsterdam")))
        assert (late, wrong_person, after_today) == (0, 0, 0)

        with_email, distinct_emails, online = one(
            "select count(email), count(distinct lower(email)), "
            "(select avg((channel = 'online')::int) from orders where account_id = :a) "
            "from person where account_id = :a")
        assert with_email == distinct_emails
        assert 0.94 <= with_email / persons <= 0.995
        assert 0.6 <= online <= 0.8

        codes = conn.execute(text("select postal_code from person where account_id = :a and country = 'NL'"),
                             {"a": account}).scalars().all()
        assert len(codes) > 0.9 * persons
        assert all(re.fullmatch(r"[1-9][0-9]{3} [A-Z]{2}", code) for code in codes)

        # Purchases follow the hidden affinities: bought genres carry far more than an even share.
        genres = genre_names()
        production_genre = production_genres(7, PEOPLE, TODAY)
        assert len(production_genre) == counts["production"]
        affinity = person_affinities(7, PEOPLE)
        bought = conn.execute(text(
            "select t.person_id, e.production_id from ticket t "
            "join event e on e.account_id = t.account_id and e.id = t.event_id where t.account_id = :a"),
            {"a": account}).all()
        person_index = np.array([p - counts["first_person_id"] for p, _ in bought])
        genre_index = np.array([genres.index(production_genre[e - counts["first_production_id"]])
                                for _, e in bought])
        assert affinity[person_index, genre_index].mean() > 4 / len(genres)
        tx.rollback()


def test_same_seed_gives_same_data(db_engine):
    def snapshot(conn, account: int) -> tuple[list, list]:
        persons = conn.execute(text(
            "select first_name, last_name, email, birth_date, postal_code from person "
            "where account_id = :a order by id"), {"a": account}).all()
        orders = conn.execute(text(
            "select count(o.id) from person p left join orders o on o.account_id = p.account_id "
            "and o.person_id = p.id where p.account_id = :a group by p.id order by p.id"), {"a": account}).all()
        return persons, orders

    with db_engine.connect() as conn, conn.begin() as tx:
        first, second, other = (_account(conn, slug) for slug in ("demo-a", "demo-b", "demo-c"))
        for account, seed in ((first, 7), (second, 7), (other, 8)):
            load_demo_data(conn, account, people=500, seed=seed, today=TODAY)
        assert snapshot(conn, first) == snapshot(conn, second)
        assert snapshot(conn, first)[0] != snapshot(conn, other)[0]
        tx.rollback()


def test_affinities_are_deterministic_distributions():
    affinity = person_affinities(3, 1234)
    assert affinity.shape == (1234, len(genre_names()))
    assert np.allclose(affinity.sum(axis=1), 1)
    assert np.array_equal(affinity, person_affinities(3, 1234))
    assert production_genres(3, 1234, TODAY) == production_genres(3, 1234, TODAY)
