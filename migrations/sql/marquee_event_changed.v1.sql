-- marquee_event_changed, version 1 (migration 0003). Executed whole; the previous version stays in its own file.
CREATE OR REPLACE FUNCTION marquee_event_changed() RETURNS trigger LANGUAGE plpgsql AS $$
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
