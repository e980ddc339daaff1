-- What happened to each held tool call besides its request and decision: the approvers' channel
-- notified (or not), and the held reply released or replaced. Append-only.

CREATE TABLE approval_events (
    approval_id TEXT NOT NULL,
    event       TEXT NOT NULL CHECK (event IN ('notified', 'notify_failed', 'released', 'replaced')),
    occurred_at TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    detail      TEXT
);
CREATE INDEX approval_events_approval_id ON approval_events (approval_id);

CREATE TRIGGER approval_events_no_update BEFORE UPDATE ON approval_events
    BEGIN SELECT RAISE(ABORT, 'audit rows are append-only (approval_events.UPDATE)'); END;
CREATE TRIGGER approval_events_no_delete BEFORE DELETE ON approval_events
    WHEN NOT EXISTS (SELECT 1 FROM audit_prune_guard WHERE active = 1)
    BEGIN SELECT RAISE(ABORT, 'audit rows are append-only (approval_events.DELETE)'); END;
