-- What happened to each held tool call besides its request and decision: the approvers' channel
-- notified (or not), and the held reply released or replaced. Append-only.

CREATE TABLE approval_events (
    approval_id TEXT NOT NULL,
    event       TEXT NOT NULL CHECK (event IN ('notified', 'notify_failed', 'released', 'replaced')),
    occurred_at TIMESTAMPTZ NOT NULL,
    instance_id TEXT NOT NULL,
    detail      TEXT
);
CREATE INDEX approval_events_approval_id ON approval_events (approval_id);

CREATE TRIGGER approval_events_append_only BEFORE UPDATE OR DELETE ON approval_events
    FOR EACH ROW EXECUTE FUNCTION warden_append_only();
