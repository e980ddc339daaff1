-- Tool calls held for a human's decision. One row per held call, written when it is held; the
-- decision is the call's row in `approvals` (first decision wins: its id is the primary key).
-- Pending approvals: approval_requests without an approvals row.

CREATE TABLE approval_requests (
    id                TEXT PRIMARY KEY,
    exchange_id       TEXT NOT NULL,        -- the exchange whose reply carried the call
    tool_use_id       TEXT NOT NULL,
    instance_id       TEXT NOT NULL,        -- the Warden instance holding the reply
    team              TEXT NOT NULL,
    principal         TEXT NOT NULL,
    key_id            TEXT NOT NULL,
    tool_name         TEXT NOT NULL,
    input             TEXT NOT NULL,        -- JSON, secrets redacted
    last_user_message TEXT,                 -- secrets redacted
    rule              TEXT NOT NULL,        -- the policy rule that asked for approval
    policy_version    TEXT NOT NULL,
    requested_at      TEXT NOT NULL,
    expires_at        TEXT NOT NULL
);
CREATE INDEX approval_requests_tool_use_id ON approval_requests (tool_use_id);
CREATE INDEX approval_requests_requested_at ON approval_requests (requested_at);

CREATE TRIGGER approval_requests_no_update BEFORE UPDATE ON approval_requests
    BEGIN SELECT RAISE(ABORT, 'audit rows are append-only (approval_requests.UPDATE)'); END;
CREATE TRIGGER approval_requests_no_delete BEFORE DELETE ON approval_requests
    WHEN NOT EXISTS (SELECT 1 FROM audit_prune_guard WHERE active = 1)
    BEGIN SELECT RAISE(ABORT, 'audit rows are append-only (approval_requests.DELETE)'); END;

CREATE VIEW v_pending_approvals AS
    SELECT r.*
    FROM approval_requests r
    LEFT JOIN approvals a ON a.id = r.id
    WHERE a.id IS NULL;
