-- marquee_refresh_purchase_facts, version 6 (migration 0038): as version 5, but the productions to lock
-- are those of an array of the persons' events, not an IN (subquery) (as the ticket trigger's
-- version 3). Executed whole; the previous version stays in its own file.
CREATE OR REPLACE FUNCTION marquee_refresh_purchase_facts(a bigint, persons bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    events bigint[];
    productions bigint[];
    zone text;
BEGIN
    IF persons IS NULL OR cardinality(persons) = 0 THEN
        RETURN;
    END IF;
    SELECT array_agg(DISTINCT t.event_id) INTO events
      FROM ticket t WHERE t.account_id = a AND t.person_id = ANY(persons);
    -- Locks in one order everywhere (events, productions, persons): concurrent refreshes never deadlock.
    PERFORM 1 FROM event e WHERE e.account_id = a AND e.id = ANY(events) ORDER BY e.id FOR SHARE;
    SELECT array_agg(DISTINCT e.production_id) INTO productions
      FROM event e WHERE e.account_id = a AND e.id = ANY(events);
    PERFORM 1 FROM production pr WHERE pr.account_id = a AND pr.id = ANY(productions) ORDER BY pr.id FOR SHARE;
    PERFORM 1 FROM person WHERE account_id = a AND id = ANY(persons) ORDER BY id FOR NO KEY UPDATE;
    SELECT timezone INTO zone FROM account WHERE id = a;
    DELETE FROM ticket_fact WHERE account_id = a AND person_id = ANY(persons);
    INSERT INTO ticket_fact (account_id, ticket_id, person_id, order_id, event_id, production_id, channel, price,
                             ordered_at, event_starts_at, order_date, event_date)
    WITH mine AS MATERIALIZED (
        SELECT t.id, t.person_id, t.order_id, t.event_id, t.price
          FROM ticket t
         WHERE t.account_id = a AND t.person_id = ANY(persons) AND t.status = 'valid'
    )
    SELECT a, t.id, t.person_id, t.order_id, t.event_id, e.production_id, o.channel, t.price,
           o.created_at, e.starts_at, (o.created_at AT TIME ZONE zone)::date, (e.starts_at AT TIME ZONE zone)::date
      FROM mine t
      JOIN orders o ON o.account_id = a AND o.id = t.order_id
      JOIN event e ON e.account_id = a AND e.id = t.event_id
     WHERE o.status = 'paid'
       AND EXISTS (SELECT 1 FROM person p WHERE p.account_id = a AND p.id = t.person_id);
    PERFORM marquee_refresh_person_stats(a, persons);
END $$;
