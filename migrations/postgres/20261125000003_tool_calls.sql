-- Tool calls the model emitted, tool results that came back in a later request, and approvals.
-- Decisions are recorded as rows, never updated: tool permission gating adds approval rows.

CREATE TABLE tool_calls (
    exchange_id TEXT NOT NULL REFERENCES exchanges (id),
    ordinal     INTEGER NOT NULL,
    tool_use_id TEXT NOT NULL,
    name        TEXT NOT NULL,
    input       TEXT,                 -- JSON as the storage mode says (redacted by default)
    decision    TEXT NOT NULL CHECK (decision IN ('allowed', 'denied', 'approval-pending', 'approved', 'rejected', 'expired')),
    approval_id TEXT,
    PRIMARY KEY (exchange_id, ordinal)
);
CREATE INDEX tool_calls_tool_use_id ON tool_calls (tool_use_id);

CREATE TABLE tool_results (
    exchange_id TEXT NOT NULL REFERENCES exchanges (id),   -- the request that carried the result
    ordinal     INTEGER NOT NULL,
    tool_use_id TEXT NOT NULL,
    bytes       BIGINT NOT NULL,
    flagged     BOOLEAN NOT NULL,                           -- a finding was made inside it
    PRIMARY KEY (exchange_id, ordinal)
);
CREATE INDEX tool_results_tool_use_id ON tool_results (tool_use_id);

CREATE TABLE approvals (
    id           TEXT PRIMARY KEY,
    tool_use_id  TEXT NOT NULL,
    exchange_id  TEXT,
    requested_at TIMESTAMPTZ NOT NULL,
    decided_at   TIMESTAMPTZ,
    decided_by   TEXT,
    decision     TEXT,
    reason       TEXT
);
CREATE INDEX approvals_tool_use_id ON approvals (tool_use_id);

CREATE VIEW v_tool_calls_with_approvals AS
    SELECT e.occurred_at, e.team, e.principal, t.tool_use_id, t.name, t.decision, t.input,
           a.decided_by, a.decision AS approval_decision, a.decided_at, a.reason,
           r.exchange_id AS result_exchange_id, r.bytes AS result_bytes, r.flagged AS result_flagged,
           e.id AS exchange_id
    FROM tool_calls t
    JOIN exchanges e ON e.id = t.exchange_id
    LEFT JOIN approvals a ON a.id = t.approval_id
    LEFT JOIN tool_results r ON r.tool_use_id = t.tool_use_id;

CREATE TRIGGER tool_calls_append_only BEFORE UPDATE OR DELETE ON tool_calls
    FOR EACH ROW EXECUTE FUNCTION warden_append_only();
CREATE TRIGGER tool_results_append_only BEFORE UPDATE OR DELETE ON tool_results
    FOR EACH ROW EXECUTE FUNCTION warden_append_only();
CREATE TRIGGER approvals_append_only BEFORE UPDATE OR DELETE ON approvals
    FOR EACH ROW EXECUTE FUNCTION warden_append_only();
