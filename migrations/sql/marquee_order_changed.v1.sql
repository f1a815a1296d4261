-- marquee_order_changed, version 1 (migration 0003). Executed whole; the previous version stays in its own file.
CREATE OR REPLACE FUNCTION marquee_order_changed() RETURNS trigger LANGUAGE plpgsql AS $$
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
