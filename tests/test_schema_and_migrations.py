"""The committed SDL and the migrations must match the code."""

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from domain.models import metadata
from graph.schema import schema
from marquee.migrate import downgrade, upgrade

ROOT = Path(__file__).resolve().parent.parent


def test_committed_sdl_is_current():
    committed = (ROOT / "graph" / "schema.graphql").read_text()
    assert committed.strip() == schema.as_str().strip(), "graph/schema.graphql is stale: run `make schema`"


def test_models_and_migrations_agree(db_engine):
    with db_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
        diff = compare_metadata(context, metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_upgrade_empty_database_to_head(server_url):
    name = "marquee_migrate_check"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(make_url(server_url).set(database=name))
    try:
        upgrade(engine)
        tables = set(inspect(engine).get_table_names())
        assert {t.name for t in metadata.sorted_tables} <= tables
        with engine.connect() as conn:
            head = conn.execute(text("select version_num from alembic_version")).scalar_one()
        assert head
        # Every downgrade runs, and the schema comes back up again.
        downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(text("select version_num from alembic_version")).scalar_one() == head
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def test_rules_of_version_1_become_version_2_with_their_references(server_url):
    """Migration 0009 renames fields, keeps the members of inclusive added-on dates (now strict),
    drops ids of rows that are gone, and fills segment_reference."""
    import json

    name = "marquee_migrate_rules_check"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(make_url(server_url).set(database=name))
    v1 = {
        "all": [
            {"type": "added_on", "after": "2026-05-01", "before": "2026-05-31"},
            {"type": "text", "field": "city", "op": "in", "value": ["Utrecht"]},
            {"type": "distance", "km": 5, "lat": 52.0, "lon": 5.0},
            {"type": "tag", "tag_id": 0},
        ]
    }
    try:
        upgrade(engine, "0008")
        with engine.begin() as conn:
            account = conn.execute(
                text(
                    "INSERT INTO account (name, slug, timezone, modules, tag_name_policy) "
                    "VALUES ('A', 'a', 'UTC', '{}', 'preserve') RETURNING id"
                )
            ).scalar_one()
            tag = conn.execute(
                text("INSERT INTO tag (account_id, name, name_key, label) VALUES (:a, 'T', 't', 'T') RETURNING id"),
                {"a": account},
            ).scalar_one()
            v1["all"][3]["tag_id"] = tag
            conn.execute(
                text(
                    "INSERT INTO segment (account_id, name, rules, scope) VALUES (:a, 's', "
                    "CAST(:r AS jsonb), CAST(:s AS jsonb))"
                ),
                {
                    "a": account,
                    "r": json.dumps(v1),
                    "s": json.dumps({"genre_tag_ids": [tag, tag + 1000], "promoters": []}),
                },
            )
        upgrade(engine)
        with engine.connect() as conn:
            rules, scope, version = conn.execute(text("SELECT rules, scope, rules_version FROM segment")).one()
            refs = conn.execute(text("SELECT tag_id FROM segment_reference")).scalars().all()
        assert version == 2
        assert rules["all"][0] == {"type": "added_on", "after": "2026-04-30", "before": "2026-06-01"}
        assert rules["all"][1] == {"type": "text", "field": "city", "operator": "in", "values": ["Utrecht"]}
        assert rules["all"][2] == {"type": "distance", "km": 5, "latitude": 52.0, "longitude": 5.0}
        assert scope["genre_tag_ids"] == [tag]  # the id of a tag that is gone is dropped
        assert refs == [tag]
        downgrade(engine, "0008")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT rules FROM segment")).scalar_one()["all"][:3] == v1["all"][:3]
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
