"""Alembic environment. The URL comes from ``config.attributes['connection']``, the
``sqlalchemy.url`` option, or ``MARQUEE_DATABASE_URL``."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from domain.models import metadata
from marquee.db import normalise_database_url

config = context.config


def include_object(obj, name, type_, reflected, compare_to):
    return True


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("MARQUEE_DATABASE_URL")
    if not url:
        raise RuntimeError("no database URL for migrations (set MARQUEE_DATABASE_URL)")
    engine = create_engine(normalise_database_url(url))
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        include_object=include_object,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
