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
    requested_at      TIMESTAMPTZ NOT NULL,
    expires_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX approval_requests_tool_use_id ON approval_requests (tool_use_id);
CREATE INDEX approval_requests_requested_at ON approval_requests (requested_at);

CREATE TRIGGER approval_requests_append_only BEFORE UPDATE OR DELETE ON approval_requests
    FOR EACH ROW EXECUTE FUNCTION warden_append_only();

CREATE VIEW v_pending_approvals AS
    SELECT r.*
    FROM approval_requests r
    LEFT JOIN approvals a ON a.id = r.id
    WHERE a.id IS NULL;
