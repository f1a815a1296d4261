-- marquee_audience_changed, version 1 (migration 0039). Executed whole; a later version goes in its own file.
-- The audience change journal (domain.audience.models): one row per statement and account naming the
-- persons whose segment-relevant rows it wrote (old and new owners of a moved row), or an account-wide
-- row (person_ids NULL) when the time zone or the custom field definitions change.
CREATE OR REPLACE FUNCTION marquee_audience_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'account' THEN
        INSERT INTO audience_change (account_id, person_ids)
        SELECT n.id, NULL FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE o.timezone IS DISTINCT FROM n.timezone;
    ELSIF TG_TABLE_NAME = 'custom_field_definition' THEN
        IF TG_OP = 'DELETE' THEN
            INSERT INTO audience_change (account_id, person_ids) SELECT DISTINCT account_id, NULL::bigint[] FROM old_rows;
        ELSE
            INSERT INTO audience_change (account_id, person_ids) SELECT DISTINCT account_id, NULL::bigint[] FROM new_rows;
        END IF;
    ELSIF TG_TABLE_NAME = 'person' THEN
        IF TG_OP = 'DELETE' THEN
            INSERT INTO audience_change (account_id, person_ids)
            SELECT account_id, array_agg(id) FROM old_rows GROUP BY account_id;
        ELSE  -- a person's id never changes: the new rows name them all
            INSERT INTO audience_change (account_id, person_ids)
            SELECT account_id, array_agg(id) FROM new_rows GROUP BY account_id;
        END IF;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO audience_change (account_id, person_ids)
        SELECT account_id, array_agg(DISTINCT person_id) FROM new_rows GROUP BY account_id;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO audience_change (account_id, person_ids)
        SELECT account_id, array_agg(DISTINCT person_id) FROM old_rows GROUP BY account_id;
    ELSE
        INSERT INTO audience_change (account_id, person_ids)
        SELECT account_id, array_agg(DISTINCT person_id)
          FROM (SELECT account_id, person_id FROM new_rows UNION ALL SELECT account_id, person_id FROM old_rows) moved
         GROUP BY account_id;
    END IF;
    RETURN NULL;
END $$;
