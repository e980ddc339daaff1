-- Message Batches and Files under policy.
--
-- Each item of a batch is recorded as its own exchange, linked to the exchange that created the
-- batch (parent_id) by its custom_id. Additive: rows written before keep NULL, and their hashes
-- (which never included these fields) still verify.
ALTER TABLE exchanges ADD COLUMN parent_id TEXT;
ALTER TABLE exchanges ADD COLUMN custom_id TEXT;
CREATE INDEX exchanges_parent_id ON exchanges (parent_id) WHERE parent_id IS NOT NULL;
-- `warden audit show` finds an exchange by the upstream's request id too.
CREATE INDEX exchanges_upstream_request_id ON exchanges (upstream_request_id)
    WHERE upstream_request_id IS NOT NULL;

-- Batches and files created through Warden, and the team that owns each: only that team may
-- read, use or delete them. Written when upstream confirms the creation, never updated.
CREATE TABLE owned_objects (
    id          TEXT PRIMARY KEY,   -- upstream's id: msgbatch_… or file_…
    kind        TEXT NOT NULL,      -- batch | file
    team        TEXT NOT NULL,
    principal   TEXT NOT NULL,
    exchange_id TEXT NOT NULL,      -- the exchange that created it
    created_at  TEXT NOT NULL,
    detail      TEXT                -- batch: the sealed placeholder maps of its items
);
CREATE INDEX owned_objects_team ON owned_objects (team, kind);
CREATE TRIGGER owned_objects_no_update BEFORE UPDATE ON owned_objects
    BEGIN SELECT RAISE(ABORT, 'audit rows are append-only (owned_objects.UPDATE)'); END;
CREATE TRIGGER owned_objects_no_delete BEFORE DELETE ON owned_objects
    WHEN NOT EXISTS (SELECT 1 FROM audit_prune_guard WHERE active = 1)
    BEGIN SELECT RAISE(ABORT, 'audit rows are append-only (owned_objects.DELETE)'); END;
