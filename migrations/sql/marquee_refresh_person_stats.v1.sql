-- marquee_refresh_person_stats, version 1 (migration 0018): the persons' purchase figures (person_stats,
-- person_season_stats) again from their ticket facts. Called by marquee_refresh_purchase_facts and by the
-- ticket trigger after it added new tickets' facts. Executed whole; later versions get their own file.
CREATE OR REPLACE FUNCTION marquee_refresh_person_stats(a bigint, persons bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF persons IS NULL OR cardinality(persons) = 0 THEN
        RETURN;
    END IF;
    DELETE FROM person_stats WHERE account_id = a AND person_id = ANY(persons);
    INSERT INTO person_stats (account_id, person_id, orders, tickets, revenue, events, last_ordered_at,
                              last_order_date, has_online, has_box_office)
    SELECT account_id, person_id, count(DISTINCT order_id), count(*), sum(price), count(DISTINCT event_id),
           max(ordered_at), max(order_date), bool_or(channel = 'online'), bool_or(channel = 'box_office')
      FROM ticket_fact
     WHERE account_id = a AND person_id = ANY(persons)
     GROUP BY account_id, person_id;
    DELETE FROM person_season_stats WHERE account_id = a AND person_id = ANY(persons);
    INSERT INTO person_season_stats (account_id, season, person_id, orders, tickets, revenue, events, last_order_date,
                                     has_online, has_box_office)
    WITH mine AS MATERIALIZED (  -- the persons' facts once, then the few productions joined to them
        SELECT f.person_id, f.order_id, f.event_id, f.production_id, f.price, f.order_date, f.channel
          FROM ticket_fact f
         WHERE f.account_id = a AND f.person_id = ANY(persons)
    )
    SELECT a, pr.season, f.person_id, count(DISTINCT f.order_id), count(*), sum(f.price),
           count(DISTINCT f.event_id), max(f.order_date), bool_or(f.channel = 'online'),
           bool_or(f.channel = 'box_office')
      FROM mine f
      JOIN production pr ON pr.account_id = a AND pr.id = f.production_id
     WHERE pr.season IS NOT NULL
     GROUP BY pr.season, f.person_id;
END $$;
