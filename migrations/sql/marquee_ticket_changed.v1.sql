-- marquee_ticket_changed, version 1 (migration 0003). Executed whole; the previous version stays in its own file.
CREATE OR REPLACE FUNCTION marquee_ticket_changed() RETURNS trigger LANGUAGE plpgsql AS $$
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
