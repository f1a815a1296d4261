"""purchase-fact refresh: lock the events and productions it reads, before the persons

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 08:25:00

A refresh (a ticket sold to a new buyer) read event start times and production seasons without a
lock: when another transaction changed one of them and committed after the refresh had read it,
the new buyer's facts kept the old value (that transaction's trigger only saw buyers already
committed). The refresh now takes FOR SHARE on those rows first: a concurrent change commits
before it reads (it waits), or waits for it and then its own trigger sees the committed facts.
Events and productions are locked before persons, as by the event and production triggers, so
the two cannot deadlock.
"""
import importlib.util
from pathlib import Path

from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

LOCKS = """
    PERFORM 1 FROM event e
     WHERE e.account_id = a AND e.id IN (SELECT t.event_id FROM ticket t WHERE t.account_id = a
                                                                          AND t.person_id = ANY(persons))
     ORDER BY e.id FOR SHARE;
    PERFORM 1 FROM production pr
     WHERE pr.account_id = a AND pr.id IN (SELECT e.production_id FROM ticket t
                                             JOIN event e ON e.account_id = t.account_id AND e.id = t.event_id
                                            WHERE t.account_id = a AND t.person_id = ANY(persons))
     ORDER BY pr.id FOR SHARE;
"""
PERSON_LOCK = "    PERFORM 1 FROM person WHERE account_id = a AND id = ANY(persons) ORDER BY id FOR NO KEY UPDATE;\n"


def _migration_0005():
    path = Path(__file__).with_name("0005_season_purchase_figures.py")
    spec = importlib.util.spec_from_file_location("marquee_migration_0005", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _refresh_function(functions: str) -> str:
    """0005's refresh function (the first definition in its FUNCTIONS)."""
    start = functions.index("CREATE OR REPLACE FUNCTION marquee_refresh_purchase_facts")
    end = functions.index("END $$;", start) + len("END $$;")
    return functions[start:end]


def upgrade() -> None:
    refresh = _refresh_function(_migration_0005().FUNCTIONS)
    assert PERSON_LOCK in refresh
    op.execute(refresh.replace(PERSON_LOCK, LOCKS + PERSON_LOCK))


def downgrade() -> None:
    op.execute(_refresh_function(_migration_0005().FUNCTIONS))
