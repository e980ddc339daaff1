-- Each held call's input, as a SHA-256 of its canonical JSON (keys sorted, pseudonyms restored:
-- the input as the client receives it). A tool_result is accepted as answering an approved call
-- only when the call in the request's history has this tool name, this input, and the same team
-- and principal: an approval is bound to exactly what was approved. Rows held before this
-- column existed have none, and bind to nothing.
ALTER TABLE approval_requests ADD COLUMN input_sha256 TEXT;

-- Postgres expands `r.*` when a view is created: the view of pending calls takes the new column.
CREATE OR REPLACE VIEW v_pending_approvals AS
    SELECT r.*
    FROM approval_requests r
    LEFT JOIN approvals a ON a.id = r.id
    WHERE a.id IS NULL;
