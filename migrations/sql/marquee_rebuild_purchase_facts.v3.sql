-- marquee_rebuild_purchase_facts, version 3 (migration 0013): only valid tickets of paid orders count. Executed whole; the previous version stays in its own file.
CREATE OR REPLACE FUNCTION marquee_rebuild_purchase_facts(a bigint) RETURNS void
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
     WHERE t.account_id = a AND t.status = 'valid' AND o.status = 'paid';
    DELETE FROM person_stats WHERE account_id = a;
    INSERT INTO person_stats (account_id, person_id, orders, tickets, revenue, events, last_ordered_at,
                              last_order_date, has_online, has_box_office)
    SELECT account_id, person_id, count(DISTINCT order_id), count(*), sum(price), count(DISTINCT event_id),
           max(ordered_at), max(order_date), bool_or(channel = 'online'), bool_or(channel = 'box_office')
      FROM ticket_fact
     WHERE account_id = a
     GROUP BY account_id, person_id;
    DELETE FROM person_season_stats WHERE account_id = a;
    INSERT INTO person_season_stats (account_id, season, person_id, orders, tickets, revenue, events, last_order_date,
                                     has_online, has_box_office)
    SELECT f.account_id, pr.season, f.person_id, count(DISTINCT f.order_id), count(*), sum(f.price),
           count(DISTINCT f.event_id), max(f.order_date), bool_or(f.channel = 'online'),
           bool_or(f.channel = 'box_office')
      FROM ticket_fact f
      JOIN production pr ON pr.account_id = f.account_id AND pr.id = f.production_id
     WHERE f.account_id = a AND pr.season IS NOT NULL
     GROUP BY f.account_id, pr.season, f.person_id;
END $$;
