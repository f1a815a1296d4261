-- marquee_audit_entry_append_only, version 1 (migration 0035). Executed whole; a later version goes in its own file.
-- The audit trail is never edited: an UPDATE or DELETE of an entry is refused, whoever sends it,
-- except the DELETE that cascades from deleting the entry's account (its row is already gone then).
CREATE OR REPLACE FUNCTION marquee_audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM account WHERE id = OLD.account_id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the audit trail is append-only: entry % cannot be changed or deleted', OLD.id
        USING ERRCODE = 'insufficient_privilege';
END $$;
