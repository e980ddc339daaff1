-- Retention pruning keeps a tombstone for every row it removes (its place in the chain and its
-- hash, no content), so that `warden audit verify` can still walk the chain across the gap.
CREATE TABLE pruned (
    instance_id TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    id          TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    pruned_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (instance_id, seq)
);
CREATE TRIGGER pruned_append_only BEFORE UPDATE OR DELETE ON pruned
    FOR EACH ROW EXECUTE FUNCTION warden_append_only();
