-- marquee_consent_changed, version 1 (migration 0014). Executed whole; the previous version stays in its own file.
-- Every change of a person's consent state, whoever wrote it (staff, the person, a feed), is kept in
-- consent_history: a new state, or a state that flipped. Rewrites of the same state add nothing.
CREATE OR REPLACE FUNCTION marquee_consent_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO consent_history (account_id, person_id, consent_type_id, granted, changed_at, source)
        SELECT n.account_id, n.person_id, n.consent_type_id, n.granted, n.updated_at, n.source FROM new_rows n;
    ELSE
        INSERT INTO consent_history (account_id, person_id, consent_type_id, granted, changed_at, source)
        SELECT n.account_id, n.person_id, n.consent_type_id, n.granted, n.updated_at, n.source
          FROM new_rows n
          JOIN old_rows o ON o.account_id = n.account_id AND o.person_id = n.person_id
                         AND o.consent_type_id = n.consent_type_id
         WHERE o.granted IS DISTINCT FROM n.granted;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER person_consent_history_insert AFTER INSERT ON person_consent REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION marquee_consent_changed();
CREATE TRIGGER person_consent_history_update AFTER UPDATE ON person_consent
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION marquee_consent_changed();
