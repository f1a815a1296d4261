"""per-person figures per season, kept with the other purchase facts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 07:10:00

``person_season_stats`` holds each buyer's figures per season. The two fact functions of 0003 are
replaced by versions that also refresh it (same locking: persons first, in id order), and a
trigger on production refreshes the buyers of a production whose season changes.
"""
import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

TICKET_FACTS_SELECT = """
    SELECT t.account_id, t.id, t.person_id, t.order_id, t.event_id, e.production_id, o.channel, t.price,
           o.created_at, e.starts_at, (o.created_at AT TIME ZONE ac.timezone)::date,
           (e.starts_at AT TIME ZONE ac.timezone)::date
      FROM ticket t
      JOIN orders o ON o.account_id = t.account_id AND o.id = t.order_id
      JOIN event e ON e.account_id = t.account_id AND e.id = t.event_id
      JOIN account ac ON ac.id = t.account_id"""

FACT_COLUMNS = """(account_id, ticket_id, person_id, order_id, event_id, production_id, channel, price,
                             ordered_at, event_starts_at, order_date, event_date)"""

STATS_SELECT = """
    SELECT account_id, person_id, count(DISTINCT order_id), count(*), sum(price), count(DISTINCT event_id),
           max(ordered_at), max(order_date), bool_or(channel = 'online'), bool_or(channel = 'box_office')
      FROM ticket_fact"""

STATS_COLUMNS = """(account_id, person_id, orders, tickets, revenue, events, last_ordered_at,
                              last_order_date, has_online, has_box_office)"""

SEASON_SELECT = """
    SELECT f.account_id, pr.season, f.person_id, count(DISTINCT f.order_id), count(*), sum(f.price),
           count(DISTINCT f.event_id), max(f.order_date), bool_or(f.channel = 'online'),
           bool_or(f.channel = 'box_office')
      FROM ticket_fact f
      JOIN production pr ON pr.account_id = f.account_id AND pr.id = f.production_id"""

SEASON_COLUMNS = """(account_id, season, person_id, orders, tickets, revenue, events, last_order_date,
                                     has_online, has_box_office)"""

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION marquee_refresh_purchase_facts(a bigint, persons bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF persons IS NULL OR cardinality(persons) = 0 THEN
        RETURN;
    END IF;
    PERFORM 1 FROM person WHERE account_id = a AND id = ANY(persons) ORDER BY id FOR NO KEY UPDATE;
    DELETE FROM ticket_fact WHERE account_id = a AND person_id = ANY(persons);
    INSERT INTO ticket_fact {FACT_COLUMNS}{TICKET_FACTS_SELECT}
     WHERE t.account_id = a AND t.person_id = ANY(persons)
       AND EXISTS (SELECT 1 FROM person p WHERE p.account_id = a AND p.id = t.person_id);
    DELETE FROM person_stats WHERE account_id = a AND person_id = ANY(persons);
    INSERT INTO person_stats {STATS_COLUMNS}{STATS_SELECT}
     WHERE account_id = a AND person_id = ANY(persons)
     GROUP BY account_id, person_id;
    DELETE FROM person_season_stats WHERE account_id = a AND person_id = ANY(persons);
    INSERT INTO person_season_stats {SEASON_COLUMNS}{SEASON_SELECT}
     WHERE f.account_id = a AND f.person_id = ANY(persons) AND pr.season IS NOT NULL
     GROUP BY f.account_id, pr.season, f.person_id;
END $$;

CREATE OR REPLACE FUNCTION marquee_rebuild_purchase_facts(a bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM ticket_fact WHERE account_id = a;
    INSERT INTO ticket_fact {FACT_COLUMNS}{TICKET_FACTS_SELECT}
     WHERE t.account_id = a;
    DELETE FROM person_stats WHERE account_id = a;
    INSERT INTO person_stats {STATS_COLUMNS}{STATS_SELECT}
     WHERE account_id = a
     GROUP BY account_id, person_id;
    DELETE FROM person_season_stats WHERE account_id = a;
    INSERT INTO person_season_stats {SEASON_COLUMNS}{SEASON_SELECT}
     WHERE f.account_id = a AND pr.season IS NOT NULL
     GROUP BY f.account_id, pr.season, f.person_id;
END $$;

CREATE FUNCTION marquee_production_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT f.account_id, array_agg(DISTINCT f.person_id) AS persons
               FROM (SELECT n.account_id, n.id FROM new_rows n JOIN old_rows o ON o.account_id = n.account_id
                         AND o.id = n.id
                      WHERE n.season IS DISTINCT FROM o.season) pr
               JOIN ticket_fact f ON f.account_id = pr.account_id AND f.production_id = pr.id
              GROUP BY f.account_id LOOP
        PERFORM marquee_refresh_purchase_facts(r.account_id, r.persons);
    END LOOP;
    RETURN NULL;
END $$;

CREATE TRIGGER production_facts_update AFTER UPDATE ON production
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION marquee_production_changed();
"""


def _migration_0003():
    """0003's function definitions, to restore them on downgrade."""
    path = Path(__file__).with_name("0003_purchase_facts_for_segments.py")
    spec = importlib.util.spec_from_file_location("marquee_migration_0003", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    op.create_table('person_season_stats',
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('season', sa.Text(), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('tickets', sa.Integer(), nullable=False),
    sa.Column('revenue', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('last_order_date', sa.Date(), nullable=False),
    sa.Column('has_online', sa.Boolean(), nullable=False),
    sa.Column('has_box_office', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('account_id', 'season', 'person_id')
    )
    op.create_index('ix_person_season_stats_person', 'person_season_stats', ['account_id', 'person_id'],
                    unique=False)
    op.execute(FUNCTIONS)
    # Figures for data that already exists.
    op.execute(f"""INSERT INTO person_season_stats {SEASON_COLUMNS}{SEASON_SELECT}
                    WHERE pr.season IS NOT NULL GROUP BY f.account_id, pr.season, f.person_id""")


def downgrade() -> None:
    previous = _migration_0003()
    op.execute("DROP TRIGGER IF EXISTS production_facts_update ON production")
    op.execute("DROP FUNCTION IF EXISTS marquee_production_changed()")
    op.execute(previous.DROP)
    op.execute(previous.FUNCTIONS)
    op.drop_index('ix_person_season_stats_person', table_name='person_season_stats')
    op.drop_table('person_season_stats')
