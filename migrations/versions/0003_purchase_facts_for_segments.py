"""purchase facts for segments

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 01:38:34.155265
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


# The facts of a set of persons are recomputed from tickets, orders and events. Triggers first
# lock the persons' rows (FOR NO KEY UPDATE, in id order: no deadlocks, and foreign-key checks,
# which take KEY SHARE, are not blocked); the recomputation then runs in a fresh snapshot that
# sees every committed change, so concurrent writers for one person cannot overwrite each other.
FUNCTIONS = """
CREATE FUNCTION marquee_refresh_purchase_facts(a bigint, persons bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF persons IS NULL OR cardinality(persons) = 0 THEN
        RETURN;
    END IF;
    PERFORM 1 FROM person WHERE account_id = a AND id = ANY(persons) ORDER BY id FOR NO KEY UPDATE;
    DELETE FROM ticket_fact WHERE account_id = a AND person_id = ANY(persons);
    INSERT INTO ticket_fact (account_id, ticket_id, person_id, order_id, event_id, production_id, channel, price,
                             ordered_at, event_starts_at, order_date, event_date)
    SELECT t.account_id, t.id, t.person_id, t.order_id, t.event_id, e.production_id, o.channel, t.price,
           o.created_at, e.starts_at, (o.created_at AT TIME ZONE ac.timezone)::date,
           (e.starts_at AT TIME ZONE ac.timezone)::date
      FROM ticket t
      JOIN orders o ON o.account_id = t.account_id AND o.id = t.order_id
      JOIN event e ON e.account_id = t.account_id AND e.id = t.event_id
      JOIN account ac ON ac.id = t.account_id
     WHERE t.account_id = a AND t.person_id = ANY(persons)
       AND EXISTS (SELECT 1 FROM person p WHERE p.account_id = a AND p.id = t.person_id);
    DELETE FROM person_stats WHERE account_id = a AND person_id = ANY(persons);
    INSERT INTO person_stats (account_id, person_id, orders, tickets, revenue, events, last_ordered_at,
                              last_order_date, has_online, has_box_office)
    SELECT account_id, person_id, count(DISTINCT order_id), count(*), sum(price), count(DISTINCT event_id),
           max(ordered_at), max(order_date), bool_or(channel = 'online'), bool_or(channel = 'box_office')
      FROM ticket_fact WHERE account_id = a AND person_id = ANY(persons)
     GROUP BY account_id, person_id;
END $$;

CREATE FUNCTION marquee_rebuild_purchase_facts(a bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM ticket_fact WHERE account_id = a;
    INSERT INTO ticket_fact (account_id, ticket_id, person_id, order_id, event_id, production_id, channel, price,
                             ordered_at, event_starts_at, order_date, event_date)
    SELECT t.account_id, t.id, t.person_id, t.order_id, t.event_id, e.production_id, o.channel, t.price,
           o.created_at, e.starts_at, (o.created_at AT TIME ZONE ac.timezone)::date,
           (e.starts_at AT TIME ZONE ac.timezone)::date
      FROM ticket t
      JOIN orders o ON o.account_id = t.account_id AND o.id = t.order_id
      JOIN event e ON e.account_id = t.account_id AND e.id = t.event_id
      JOIN account ac ON ac.id = t.account_id
     WHERE t.account_id = a;
    DELETE FROM person_stats WHERE account_id = a;
    INSERT INTO person_stats (account_id, person_id, orders, tickets, revenue, events, last_ordered_at,
                              last_order_date, has_online, has_box_office)
    SELECT account_id, person_id, count(DISTINCT order_id), count(*), sum(price), count(DISTINCT event_id),
           max(ordered_at), max(order_date), bool_or(channel = 'online'), bool_or(channel = 'box_office')
      FROM ticket_fact WHERE account_id = a
     GROUP BY account_id, person_id;
END $$;

CREATE FUNCTION marquee_ticket_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    IF TG_OP = 'INSERT' THEN
        FOR r IN SELECT account_id, array_agg(DISTINCT person_id) AS persons FROM new_rows GROUP BY account_id LOOP
            PERFORM marquee_refresh_purchase_facts(r.account_id, r.persons);
        END LOOP;
    ELSIF TG_OP = 'DELETE' THEN
        FOR r IN SELECT account_id, array_agg(DISTINCT person_id) AS persons FROM old_rows GROUP BY account_id LOOP
            PERFORM marquee_refresh_purchase_facts(r.account_id, r.persons);
        END LOOP;
    ELSE
        FOR r IN SELECT account_id, array_agg(DISTINCT person_id) AS persons
                   FROM (SELECT account_id, person_id FROM new_rows UNION SELECT account_id, person_id FROM old_rows) x
                  GROUP BY account_id LOOP
            PERFORM marquee_refresh_purchase_facts(r.account_id, r.persons);
        END LOOP;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER ticket_facts_insert AFTER INSERT ON ticket REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION marquee_ticket_changed();
CREATE TRIGGER ticket_facts_delete AFTER DELETE ON ticket REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION marquee_ticket_changed();
CREATE TRIGGER ticket_facts_update AFTER UPDATE ON ticket REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION marquee_ticket_changed();

CREATE FUNCTION marquee_order_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT t.account_id, array_agg(DISTINCT t.person_id) AS persons
               FROM (SELECT account_id, id FROM new_rows UNION SELECT account_id, id FROM old_rows) o
               JOIN ticket t ON t.account_id = o.account_id AND t.order_id = o.id
              GROUP BY t.account_id LOOP
        PERFORM marquee_refresh_purchase_facts(r.account_id, r.persons);
    END LOOP;
    RETURN NULL;
END $$;

CREATE TRIGGER order_facts_update AFTER UPDATE ON orders REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION marquee_order_changed();

CREATE FUNCTION marquee_event_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT t.account_id, array_agg(DISTINCT t.person_id) AS persons
               FROM (SELECT n.account_id, n.id FROM new_rows n JOIN old_rows o ON o.account_id = n.account_id
                         AND o.id = n.id
                      WHERE (n.starts_at, n.production_id) IS DISTINCT FROM (o.starts_at, o.production_id)) e
               JOIN ticket t ON t.account_id = e.account_id AND t.event_id = e.id
              GROUP BY t.account_id LOOP
        PERFORM marquee_refresh_purchase_facts(r.account_id, r.persons);
    END LOOP;
    RETURN NULL;
END $$;

CREATE TRIGGER event_facts_update AFTER UPDATE ON event REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION marquee_event_changed();
"""

DROP = """
DROP TRIGGER IF EXISTS event_facts_update ON event;
DROP TRIGGER IF EXISTS order_facts_update ON orders;
DROP TRIGGER IF EXISTS ticket_facts_insert ON ticket;
DROP TRIGGER IF EXISTS ticket_facts_delete ON ticket;
DROP TRIGGER IF EXISTS ticket_facts_update ON ticket;
DROP FUNCTION IF EXISTS marquee_event_changed();
DROP FUNCTION IF EXISTS marquee_order_changed();
DROP FUNCTION IF EXISTS marquee_ticket_changed();
DROP FUNCTION IF EXISTS marquee_rebuild_purchase_facts(bigint);
DROP FUNCTION IF EXISTS marquee_refresh_purchase_facts(bigint, bigint[]);
"""


def upgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('person_stats',
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('tickets', sa.Integer(), nullable=False),
    sa.Column('revenue', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('last_ordered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_order_date', sa.Date(), nullable=False),
    sa.Column('has_online', sa.Boolean(), nullable=False),
    sa.Column('has_box_office', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('account_id', 'person_id')
    )
    op.create_table('ticket_fact',
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('ticket_id', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('production_id', sa.BigInteger(), nullable=False),
    sa.Column('channel', sa.Text(), nullable=False),
    sa.Column('price', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('ordered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('event_starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('order_date', sa.Date(), nullable=False),
    sa.Column('event_date', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('account_id', 'ticket_id')
    )
    op.create_index('ix_ticket_fact_event', 'ticket_fact', ['account_id', 'event_id', 'person_id'], unique=False, postgresql_include=['order_id', 'price', 'order_date', 'event_date', 'channel'])
    op.create_index('ix_ticket_fact_person', 'ticket_fact', ['account_id', 'person_id'], unique=False)
    # ### end Alembic commands ###
    op.execute(FUNCTIONS)
    # Facts for data that already exists.
    op.execute("SELECT marquee_rebuild_purchase_facts(id) FROM account")


def downgrade() -> None:
    op.execute(DROP)
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_index('ix_ticket_fact_person', table_name='ticket_fact')
    op.drop_index('ix_ticket_fact_event', table_name='ticket_fact', postgresql_include=['order_id', 'price', 'order_date', 'event_date', 'channel'])
    op.drop_table('ticket_fact')
    op.drop_table('person_stats')
    # ### end Alembic commands ###
