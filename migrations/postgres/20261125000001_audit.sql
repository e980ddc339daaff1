-- The audit store: one row per exchange, one per finding, hash-chained per Warden instance.
-- Additive migrations only (expand, then contract), so an older replica keeps working.

CREATE TABLE exchanges (
    id                  TEXT PRIMARY KEY,            -- Warden's request id (req_…)
    instance_id         TEXT NOT NULL,               -- the Warden process that wrote the row
    seq                 BIGINT NOT NULL,             -- position in that instance's hash chain
    occurred_at         TIMESTAMPTZ NOT NULL,
    upstream_request_id TEXT,
    key_id              TEXT NOT NULL,
    principal           TEXT NOT NULL,
    team                TEXT NOT NULL,
    client_addr         TEXT,
    user_agent          TEXT,
    endpoint            TEXT NOT NULL,               -- e.g. POST /v1/messages
    model               TEXT,
    streamed            BOOLEAN NOT NULL,
    policy_name         TEXT,
    policy_version      TEXT,
    decision            TEXT NOT NULL CHECK (decision IN ('forwarded', 'blocked', 'error')),
    status              INTEGER NOT NULL,
    rule                TEXT,                        -- the rule that blocked or failed it
    latency_us          BIGINT NOT NULL,
    upstream_latency_us BIGINT,
    input_tokens        BIGINT,
    output_tokens       BIGINT,
    storage_mode        TEXT NOT NULL CHECK (storage_mode IN ('full', 'redacted', 'hash', 'none')),
    prompt              TEXT,                        -- as the policy's storage mode says
    output              TEXT,
    prev_hash           TEXT NOT NULL,
    hash                TEXT NOT NULL,
    UNIQUE (instance_id, seq)
);
CREATE INDEX exchanges_occurred_at ON exchanges (occurred_at);
CREATE INDEX exchanges_team_occurred_at ON exchanges (team, occurred_at);
CREATE INDEX exchanges_key_id ON exchanges (key_id);

CREATE TABLE findings (
    exchange_id TEXT NOT NULL REFERENCES exchanges (id),
    ordinal     INTEGER NOT NULL,
    class       TEXT NOT NULL,
    rule        TEXT NOT NULL,
    action      TEXT NOT NULL,
    location    TEXT NOT NULL,
    span_start  INTEGER NOT NULL,
    span_end    INTEGER NOT NULL,
    length      INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,                       -- HMAC of the value; never the value
    PRIMARY KEY (exchange_id, ordinal)
);
CREATE INDEX findings_class ON findings (class);
CREATE INDEX findings_fingerprint ON findings (fingerprint);

-- Rows are append-only. `warden audit prune` deletes expired rows inside a transaction that sets
-- warden.prune = 'on'; anything else that updates or deletes is refused. (A superuser can still
-- disable triggers: the hash chain is what proves nothing changed.)
CREATE FUNCTION warden_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('warden.prune', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit rows are append-only (%.%)', TG_TABLE_NAME, TG_OP;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER exchanges_append_only BEFORE UPDATE OR DELETE ON exchanges
    FOR EACH ROW EXECUTE FUNCTION warden_append_only();
CREATE TRIGGER findings_append_only BEFORE UPDATE OR DELETE ON findings
    FOR EACH ROW EXECUTE FUNCTION warden_append_only();

CREATE VIEW v_blocked_requests AS
    SELECT e.occurred_at, e.team, e.principal, e.key_id, e.model, e.rule, e.status, e.policy_name,
           e.policy_version, e.id AS exchange_id
    FROM exchanges e
    WHERE e.decision = 'blocked';

CREATE VIEW v_findings_by_team_day AS
    SELECT date_trunc('day', e.occurred_at) AS day, e.team, f.class, f.action, count(*) AS findings
    FROM findings f JOIN exchanges e ON e.id = f.exchange_id
    GROUP BY 1, 2, 3, 4;

CREATE VIEW v_secrets_leaks_attempted AS
    SELECT e.occurred_at, e.team, e.principal, e.key_id, f.rule, f.action, f.location,
           f.fingerprint, e.id AS exchange_id
    FROM findings f JOIN exchanges e ON e.id = f.exchange_id
    WHERE f.class = 'secrets';
