-- marquee_tags_changed, version 1 (migration 0010). Executed whole; the previous version stays in its own file.
-- Tag definitions, categories and forms changed: bump the accounts' tags_version, which cached tag
-- trees and preference centres are keyed on (whoever wrote the rows: the API, a feed, a COPY).
CREATE OR REPLACE FUNCTION marquee_tags_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE account SET tags_version = tags_version + 1 WHERE id IN (SELECT account_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE account SET tags_version = tags_version + 1 WHERE id IN (SELECT account_id FROM old_rows);
    ELSE
        UPDATE account SET tags_version = tags_version + 1
         WHERE id IN (SELECT account_id FROM new_rows UNION SELECT account_id FROM old_rows);
    END IF;
    RETURN NULL;
END $$;
