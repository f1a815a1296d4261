-- marquee_production_changed, version 1 (migration 0005). Executed whole; the previous version stays in its own file.
CREATE OR REPLACE FUNCTION marquee_production_changed() RETURNS trigger LANGUAGE plpgsql AS $$
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
