"""The demo data generator: realistic proportions, consistent rows, determinism."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import text

from domain.demo import (
    genre_names,
    load_demo_data,
    person_affinities,
    pools,
    production_genres,
)
from domain.demo.tags import build_tree
from domain.tags.names import name_key

TODAY = date(2026, 3, 15)
PEOPLE = 2000


def _account(conn, slug: str) -> int:
    return conn.execute(
        text("insert into account (name, slug) values (:n, :s) returning id"), {"n": f"Demo {slug}", "s": slug}
    ).scalar_one()


def test_demo_data_is_realistic_and_consistent(db_engine):
    with db_engine.connect() as conn, conn.begin() as tx:
        account = _account(conn, "demo-generator")
        progress: list[float] = []
        counts = load_demo_data(
            conn,
            account,
            people=PEOPLE,
            seed=7,
            today=TODAY,
            progress=lambda fraction, message: progress.append(fraction),
        )

        def one(sql: str, **params):
            return conn.execute(text(sql), {"a": account, **params}).one()

        assert progress == sorted(progress) and progress[-1] == 1.0
        assert conn.execute(text("show session_replication_role")).scalar_one() == "origin"
        persons, orders, tickets, events = one(
            "select (select count(*) from person where account_id = :a), "
            "(select count(*) from orders where account_id = :a), "
            "(select count(*) from ticket where account_id = :a), "
            "(select count(*) from event where account_id = :a)"
        )
        assert (counts["person"], counts["orders"], counts["ticket"], counts["event"]) == (
            persons,
            orders,
            tickets,
            events,
        )
        assert persons == PEOPLE and events == 60
        assert 2.5 <= orders / persons <= 3.5
        assert 1.8 <= tickets / orders <= 2.3
        for table in (
            "venue",
            "production",
            "person_identity",
            "person_consent",
            "subscription",
            "custom_field_definition",
            "consent_type",
        ):
            assert counts[table] > 0, table

        late, wrong_person, after_today = one(
            "select count(*) filter (where o.created_at >= e.starts_at), "
            "count(*) filter (where t.person_id <> o.person_id), "
            "count(*) filter (where o.created_at >= :now) "
            "from ticket t join orders o on o.account_id = t.account_id and o.id = t.order_id "
            "join event e on e.account_id = t.account_id and e.id = t.event_id where t.account_id = :a",
            now=datetime.combine(TODAY, time(), ZoneInfo("Europe/Amsterdam")),
        )
        assert (late, wrong_person, after_today) == (0, 0, 0)

        with_email, distinct_emails, online = one(
            "select count(email), count(distinct lower(email)), "
            "(select avg((channel = 'online')::int) from orders where account_id = :a) "
            "from person where account_id = :a"
        )
        assert with_email == distinct_emails
        assert 0.94 <= with_email / persons <= 0.995
        assert 0.6 <= online <= 0.8

        codes = (
            conn.execute(
                text("select postal_code from person where account_id = :a and country = 'NL'"), {"a": account}
            )
            .scalars()
            .all()
        )
        assert len(codes) > 0.9 * persons
        assert all(re.fullmatch(r"[1-9][0-9]{3} [A-Z]{2}", code) for code in codes)

        # Purchases follow the hidden affinities: bought genres carry far more than an even share.
        genres = genre_names()
        production_genre = production_genres(7, PEOPLE, TODAY)
        assert len(production_genre) == counts["production"]
        affinity = person_affinities(7, PEOPLE)
        bought = conn.execute(
            text(
                "select t.person_id, e.production_id from ticket t "
                "join event e on e.account_id = t.account_id and e.id = t.event_id where t.account_id = :a"
            ),
            {"a": account},
        ).all()
        person_index = np.array([p - counts["first_person_id"] for p, _ in bought])
        genre_index = np.array([genres.index(production_genre[e - counts["first_production_id"]]) for _, e in bought])
        assert affinity[person_index, genre_index].mean() > 4 / len(genres)

        # Interactions (SPEC 9: ~10 per person): opens and clicks only for persons with an address,
        # never before the person existed or after now, each on a production or a genre page;
        # what they are about follows the affinities too, more loosely than purchases.
        kinds = dict(
            conn.execute(
                text("select kind, count(*) from interaction where account_id = :a group by kind"), {"a": account}
            ).all()
        )
        assert counts["interaction"] == sum(kinds.values())
        assert 8 <= counts["interaction"] / persons <= 12
        assert kinds["open"] > kinds["visit"] > kinds["click"] > 0
        wrong = one(
            "select count(*) filter (where i.occurred_at < p.created_at or i.occurred_at >= :now), "
            "count(*) filter (where i.kind <> 'visit' and p.email is null), "
            "count(*) filter (where (i.production_id is null) = (i.tag_id is null)), "
            "count(distinct i.idempotency_key) - count(*) "
            "from interaction i join person p on p.account_id = i.account_id and p.id = i.person_id "
            "where i.account_id = :a",
            now=datetime.combine(TODAY, time(), ZoneInfo("Europe/Amsterdam")),
        )
        assert tuple(wrong) == (0, 0, 0, 0)
        crowded = one(  # a person's interactions are spread in time, not piled on one moment
            "select count(*) from (select person_id, occurred_at from interaction where account_id = :a "
            "group by person_id, occurred_at having count(*) > 2) x"
        )[0]
        assert crowded <= counts["interaction"] / 1000
        seen = conn.execute(
            text(
                "select person_id, production_id from interaction where account_id = :a and production_id is not null"
            ),
            {"a": account},
        ).all()
        person_index = np.array([p - counts["first_person_id"] for p, _ in seen])
        genre_index = np.array([genres.index(production_genre[e - counts["first_production_id"]]) for _, e in seen])
        assert 2 / len(genres) < affinity[person_index, genre_index].mean() < 4 / len(genres) + 0.3
        # Tickets of past events are mostly scanned at the door, shortly before the start; none ahead.
        scanned, past, early = one(
            "select count(t.scanned_at), count(*) filter (where e.starts_at < :now), "
            "count(*) filter (where t.scanned_at > e.starts_at or t.scanned_at < e.starts_at - interval '1 hour') "
            "from ticket t join event e on e.account_id = t.account_id and e.id = t.event_id where t.account_id = :a",
            now=datetime.combine(TODAY, time(), ZoneInfo("Europe/Amsterdam")),
        )
        assert 0.8 * past <= scanned <= 0.95 * past and early == 0
        tx.rollback()


def test_same_seed_gives_same_data(db_engine):
    def snapshot(conn, account: int) -> tuple[list, list, list, list]:
        persons = conn.execute(
            text(
                "select first_name, last_name, email, birth_date, postal_code from person "
                "where account_id = :a order by id"
            ),
            {"a": account},
        ).all()
        orders = conn.execute(
            text(
                "select count(o.id) from person p left join orders o on o.account_id = p.account_id "
                "and o.person_id = p.id where p.account_id = :a group by p.id order by p.id"
            ),
            {"a": account},
        ).all()
        links = conn.execute(
            text(
                "select t.name, l.person_id - (select min(id) from person where account_id = :a), l.source, l.created_at "
                "from person_tag l join tag t on t.account_id = l.account_id and t.id = l.tag_id "
                "where l.account_id = :a order by 2, 1, 3"
            ),
            {"a": account},
        ).all()
        counters = conn.execute(
            text(
                "select t.name, c.persons, c.persons_by_person, c.persons_by_staff, c.persons_by_integration "
                "from tag_counter c join tag t on t.account_id = c.account_id and t.id = c.tag_id "
                "where c.account_id = :a order by 1"
            ),
            {"a": account},
        ).all()
        return persons, orders, links, counters

    with db_engine.connect() as conn, conn.begin() as tx:
        first, second, other = (_account(conn, slug) for slug in ("demo-a", "demo-b", "demo-c"))
        for account, seed in ((first, 7), (second, 7), (other, 8)):
            load_demo_data(conn, account, people=500, seed=seed, today=TODAY)
        assert snapshot(conn, first) == snapshot(conn, second)
        assert snapshot(conn, first)[0] != snapshot(conn, other)[0]
        assert snapshot(conn, first)[2] != snapshot(conn, other)[2]
        tx.rollback()


def test_affinities_are_deterministic_distributions():
    affinity = person_affinities(3, 1234)
    assert affinity.shape == (1234, len(genre_names()))
    assert np.allclose(affinity.sum(axis=1), 1)
    assert np.array_equal(affinity, person_affinities(3, 1234))
    assert production_genres(3, 1234, TODAY) == production_genres(3, 1234, TODAY)


def test_demo_tags_links_counters_and_preference_centre(db_engine):
    with db_engine.connect() as conn, conn.begin() as tx:
        account = _account(conn, "demo-tags")
        version = conn.execute(text("select tags_version from account where id = :a"), {"a": account}).scalar_one()
        counts = load_demo_data(conn, account, people=PEOPLE, seed=7, today=TODAY)
        # Cached tag trees see the loaded tags: the version moved although the load's triggers were off.
        assert (
            conn.execute(text("select tags_version from account where id = :a"), {"a": account}).scalar_one() > version
        )

        def rows(sql: str, **params):
            return conn.execute(text(sql), {"a": account, **params}).all()

        def one(sql: str, **params):
            return conn.execute(text(sql), {"a": account, **params}).one()

        tree = build_tree(TODAY)
        first_tag = counts["first_tag_id"]
        # About 500 tags in five categories, three levels deep, names keyed case-insensitively.
        assert counts["tag_category"] == 5 and 450 <= counts["tag"] <= 550 and counts["tag"] == len(tree.tags)
        tags = {r.id: r for r in rows("select * from tag where account_id = :a")}
        assert len(tags) == counts["tag"]
        # Business relations (module business), each with contacts and the tag "Zakelijke relatie".
        organisations = one(
            "select count(*) as n, count(*) filter (where exists (select 1 from organisation_tag ot "
            "where ot.account_id = o.account_id and ot.organisation_id = o.id)) as tagged, "
            "(select count(*) from person_organisation where account_id = :a) as contacts "
            "from organisation o where o.account_id = :a"
        )
        assert organisations.n == counts["organisation"] == PEOPLE // 250 == organisations.tagged
        assert organisations.n <= organisations.contacts == counts["person_organisation"] <= 3 * organisations.n
        assert all(t.name_key == name_key(t.name) and t.label == t.name for t in tags.values())
        depth = {t: 1 for t in tags}
        for t in sorted(tags):  # parents come before their children
            if tags[t].parent_id is not None:
                assert tags[t].parent_id < t
                depth[t] = depth[tags[t].parent_id] + 1
        assert max(depth.values()) == 3 and sum(d == 1 for d in depth.values()) == 5
        assert sum(t.starred for t in tags.values()) >= 3 and 1 <= sum(not t.active for t in tags.values()) <= 40
        assert one("select count(distinct category_id) from tag where account_id = :a")[0] == 5
        genre_ids = [first_tag + i for i in tree.genre]
        assert all(tags[g].show_on_form and tags[g].show_on_website for g in genre_ids)
        assert {tags[g].name for g in genre_ids} == set(pools.GENRE_LABELS.values())

        # Productions: one genre link from the feed each (the generator's genre), colours from staff.
        production_genre = production_genres(7, PEOPLE, TODAY)
        feed = rows(
            "select production_id, tag_id from production_tag where account_id = :a and source = 'integration' "
            "and tag_id = any(:g)",
            g=genre_ids,
        )
        assert sorted(p for p, _ in feed) == list(
            range(counts["first_production_id"], counts["first_production_id"] + counts["production"])
        )
        genres = genre_names()
        assert all(
            tags[t].name == pools.GENRE_LABELS[production_genre[p - counts["first_production_id"]]] for p, t in feed
        )
        assert one("select count(*) from production_tag where account_id = :a and source = 'staff'")[0] > 0

        # About five links per person, from all three sources.
        links, persons = counts["person_tag"], counts["person"]
        assert 4.0 <= links / persons <= 6.0
        by_source = dict(rows("select source, count(*) from person_tag where account_id = :a group by source"))
        assert set(by_source) == {"person", "staff", "integration"} and sum(by_source.values()) == links
        assert all(n > 0.15 * links for n in by_source.values())

        # Counters are exact: equal to a GROUP BY over the links.
        counters = {
            r[0]: tuple(r[1:])
            for r in rows(
                "select tag_id, persons, persons_by_person, persons_by_staff, persons_by_integration, productions "
                "from tag_counter where account_id = :a"
            )
        }
        fresh = {
            r[0]: tuple(r[1:])
            for r in rows("""
            select t.id, count(distinct l.person_id),
                   count(l.person_id) filter (where l.source = 'person'),
                   count(l.person_id) filter (where l.source = 'staff'),
                   count(l.person_id) filter (where l.source = 'integration'),
                   (select count(distinct production_id) from production_tag p
                     where p.account_id = :a and p.tag_id = t.id)
              from tag t left join person_tag l on l.account_id = t.account_id and l.tag_id = t.id
             where t.account_id = :a group by t.id""")
        }
        assert counters == fresh and sum(c[0] for c in counters.values()) > 0.9 * links

        # Integration genre links are exactly the genres of the productions each person bought.
        bought, linked, mismatched = one(
            """
            with bought as (
                select distinct t.person_id, pt.tag_id from ticket t
                  join event e on e.account_id = t.account_id and e.id = t.event_id
                  join production_tag pt on pt.account_id = e.account_id and pt.production_id = e.production_id
                                        and pt.source = 'integration' and pt.tag_id = any(:g)
                 where t.account_id = :a),
            linked as (select person_id, tag_id from person_tag
                        where account_id = :a and source = 'integration' and tag_id = any(:g))
            select (select count(*) from bought), (select count(*) from linked),
                   (select count(*) from (select * from bought except select * from linked) d)""",
            g=genre_ids,
        )
        assert bought == linked > 0 and mismatched == 0

        # Stated interests (source person) follow the hidden affinities.
        affinity = person_affinities(7, PEOPLE)
        genre_of_tag = {first_tag + t: g for g, t in enumerate(tree.genre)}
        stated = rows(
            "select person_id, tag_id from person_tag where account_id = :a and source = 'person' and tag_id = any(:g)",
            g=genre_ids,
        )
        assert len(stated) > 0.5 * persons
        person_index = np.array([p - counts["first_person_id"] for p, _ in stated])
        genre_index = np.array([genre_of_tag[t] for _, t in stated])
        assert affinity[person_index, genre_index].mean() > 4 / len(genres)
        assert (affinity[person_index, genre_index] >= 0.05).all()

        # Staff region links name the person's own city.
        wrong_city, regions = one("""
            select count(*) filter (where p.city is distinct from t.name), count(*)
              from person_tag l join tag t on t.account_id = l.account_id and t.id = l.tag_id
              join person p on p.account_id = l.account_id and p.id = l.person_id
              join tag_category c on c.account_id = t.account_id and c.id = t.category_id
             where l.account_id = :a and l.source = 'staff' and c.name = 'Regions'""")
        assert wrong_city == 0 and regions > 0.8 * persons

        # The preference centre offers show-on-form genre tags and subgenres, positions 1..n.
        form_id, kind, title = one("select id, kind, title from form where account_id = :a")
        assert kind == "preference_centre" and title
        on_form = rows(
            "select tag_id, position from form_tag where account_id = :a and form_id = :f order by position", f=form_id
        )
        assert 15 <= len(on_form) <= 30 and [p for _, p in on_form] == list(range(1, len(on_form) + 1))
        assert all(tags[t].show_on_form and tags[t].active for t, _ in on_form)
        assert set(genre_ids) <= {t for t, _ in on_form}
        assert counts["form"] == 1 and counts["form_tag"] == len(on_form)
        tx.rollback()
