-- marquee_audience_changed, version 1 (migration 0039). Executed whole; a later version goes in its own file.
-- The audience change journal (domain.audience.models): one row per statement and account naming the
-- persons whose segment-relevant rows it wrote (old and new owners of a moved row), or an account-wide
-- row (person_ids NULL) when the time zone or the custom field definitions change. Rows of an account
-- being deleted (its cascade reaches these tables) are not journaled: nothing of it is left to count.
CREATE OR REPLACE FUNCTION marquee_audience_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'account' THEN
        INSERT INTO audience_change (account_id, person_ids)
        SELECT n.id, NULL FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE o.timezone IS DISTINCT FROM n.timezone;
    ELSIF TG_TABLE_NAME = 'custom_field_definition' THEN
        IF TG_OP = 'DELETE' THEN
            INSERT INTO audience_change (account_id, person_ids)
            SELECT DISTINCT r.account_id, NULL::bigint[] FROM old_rows r
             WHERE EXISTS (SELECT 1 FROM account a WHERE a.id = r.account_id);
        ELSE
            INSERT INTO audience_change (account_id, person_ids)
            SELECT DISTINCT r.account_id, NULL::bigint[] FROM new_rows r;
        END IF;
    ELSIF TG_TABLE_NAME = 'person' THEN
        IF TG_OP = 'DELETE' THEN
            INSERT INTO audience_change (account_id, person_ids)
            SELECT r.account_id, array_agg(r.id) FROM old_rows r
             WHERE EXISTS (SELECT 1 FROM account a WHERE a.id = r.account_id)
             GROUP BY r.account_id;
        ELSE  -- a person's id never changes: the new rows name them all
            INSERT INTO audience_change (account_id, person_ids)
            SELECT r.account_id, array_agg(r.id) FROM new_rows r GROUP BY r.account_id;
        END IF;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO audience_change (account_id, person_ids)
        SELECT r.account_id, array_agg(DISTINCT r.person_id) FROM new_rows r GROUP BY r.account_id;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO audience_change (account_id, person_ids)
        SELECT r.account_id, array_agg(DISTINCT r.person_id) FROM old_rows r
         WHERE EXISTS (SELECT 1 FROM account a WHERE a.id = r.account_id)
         GROUP BY r.account_id;
    ELSE
        INSERT INTO audience_change (account_id, person_ids)
        SELECT m.account_id, array_agg(DISTINCT m.person_id)
          FROM (SELECT account_id, person_id FROM new_rows UNION ALL SELECT account_id, person_id FROM old_rows) m
         GROUP BY m.account_id;
    END IF;
    RETURN NULL;
END $$;
