-- Retention pruning keeps a tombstone for every row it removes (its place in the chain and its
-- hash, no content), so that `warden audit verify` can still walk the chain across the gap.
CREATE TABLE pruned (
    instance_id TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    id          TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    pruned_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (instance_id, seq)
);
CREATE TRIGGER pruned_no_update BEFORE UPDATE ON pruned
    BEGIN SELECT RAISE(ABORT, 'audit rows are append-only (pruned.UPDATE)'); END;
CREATE TRIGGER pruned_no_delete BEFORE DELETE ON pruned
    BEGIN SELECT RAISE(ABORT, 'audit rows are append-only (pruned.DELETE)'); END;
