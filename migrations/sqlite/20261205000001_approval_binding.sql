-- Each held call's input, as a SHA-256 of its canonical JSON (keys sorted, pseudonyms restored:
-- the input as the client receives it). A tool_result is accepted as answering an approved call
-- only when the call in the request's history has this tool name, this input, and the same team
-- and principal: an approval is bound to exactly what was approved. Rows held before this
-- column existed have none, and bind to nothing.
ALTER TABLE approval_requests ADD COLUMN input_sha256 TEXT;
