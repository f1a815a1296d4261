-- marquee_ticket_changed, version 3 (migration 0038): as version 2, with two statements that no longer
-- depend on what the planner believes about a new account's rows (in a first import its statistics
-- say "nothing" until the import analyzes): new tickets find their order and event by key, one
-- lookup each (version 2's join looped over all of the account's orders once per ticket), and the
-- productions to lock are those of an array of the batch's events (version 2's IN (subquery) took
-- ~100 ms per batch). Executed whole; the previous version stays in its own file.
CREATE OR REPLACE FUNCTION marquee_ticket_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
    productions bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        FOR r IN SELECT account_id, array_agg(DISTINCT person_id) AS persons, array_agg(DISTINCT event_id) AS events
                   FROM new_rows GROUP BY account_id LOOP
            -- The locks marquee_refresh_purchase_facts takes, in its order.
            PERFORM 1 FROM event e WHERE e.account_id = r.account_id AND e.id = ANY(r.events) ORDER BY e.id FOR SHARE;
            SELECT array_agg(DISTINCT e.production_id) INTO productions
              FROM event e WHERE e.account_id = r.account_id AND e.id = ANY(r.events);
            PERFORM 1 FROM production pr WHERE pr.account_id = r.account_id AND pr.id = ANY(productions)
             ORDER BY pr.id FOR SHARE;
            PERFORM 1 FROM person WHERE account_id = r.account_id AND id = ANY(r.persons) ORDER BY id
               FOR NO KEY UPDATE;
            INSERT INTO ticket_fact (account_id, ticket_id, person_id, order_id, event_id, production_id, channel,
                                     price, ordered_at, event_starts_at, order_date, event_date)
            SELECT t.account_id, t.id, t.person_id, t.order_id, t.event_id, e.production_id, o.channel, t.price,
                   o.created_at, e.starts_at, (o.created_at AT TIME ZONE ac.timezone)::date,
                   (e.starts_at AT TIME ZONE ac.timezone)::date
              FROM new_rows t
              -- Each ticket's order and event by key (OFFSET 0 keeps them apart from the join
              -- order): planned as a join, with a new account's statistics saying it holds no
              -- orders, PostgreSQL looped over every order of the account once per ticket.
              CROSS JOIN LATERAL (SELECT o.channel, o.created_at, o.status FROM orders o
                                   WHERE o.account_id = t.account_id AND o.id = t.order_id OFFSET 0) o
              CROSS JOIN LATERAL (SELECT e.production_id, e.starts_at FROM event e
                                   WHERE e.account_id = t.account_id AND e.id = t.event_id OFFSET 0) e
              JOIN account ac ON ac.id = t.account_id
             WHERE t.account_id = r.account_id AND t.status = 'valid' AND o.status = 'paid'
            -- An upsert statement fires its UPDATE trigger first: a buyer whose other ticket it
            -- changed had their facts refreshed whole, the new ticket's among them.
            ON CONFLICT (account_id, ticket_id) DO NOTHING;
            PERFORM marquee_refresh_person_stats(r.account_id, r.persons);
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
