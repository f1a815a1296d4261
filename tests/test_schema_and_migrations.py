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
