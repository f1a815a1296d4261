-- marquee_scores_stale, version 1 (migration 0028). Executed whole; a later version goes in its own file.
-- What interest scores are computed from changed: which tags a production carries (production_tag), or
-- where a tag sits in the tree or which category it has (tag). Mark the accounts that score interests
-- (module recommendations): the scheduler tick rescores each once its changes have settled
-- (domain.recommendations.scoring.queue_stale_rescores). Whoever wrote the rows: the API, a feed, a COPY.
CREATE OR REPLACE FUNCTION marquee_scores_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'tag' AND TG_OP = 'UPDATE' THEN
        UPDATE account SET scores_stale_since = coalesce(scores_stale_since, now())
         WHERE 'recommendations' = ANY(modules)
           AND id IN (SELECT n.account_id FROM new_rows n JOIN old_rows o ON o.account_id = n.account_id AND o.id = n.id
                       WHERE o.parent_id IS DISTINCT FROM n.parent_id OR o.category_id IS DISTINCT FROM n.category_id);
    ELSIF TG_OP = 'INSERT' THEN
        UPDATE account SET scores_stale_since = coalesce(scores_stale_since, now())
         WHERE 'recommendations' = ANY(modules) AND id IN (SELECT account_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE account SET scores_stale_since = coalesce(scores_stale_since, now())
         WHERE 'recommendations' = ANY(modules) AND id IN (SELECT account_id FROM old_rows);
    ELSE  -- production_tag updated: only a link now on another production or tag matters (not source, actor)
        UPDATE account SET scores_stale_since = coalesce(scores_stale_since, now())
         WHERE 'recommendations' = ANY(modules)
           AND id IN (SELECT n.account_id FROM new_rows n WHERE NOT EXISTS (
                        SELECT 1 FROM old_rows o WHERE o.account_id = n.account_id
                           AND o.production_id = n.production_id AND o.tag_id = n.tag_id));
    END IF;
    RETURN NULL;
END $$;
