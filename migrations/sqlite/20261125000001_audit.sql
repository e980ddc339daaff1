-- The audit store (embedded SQLite default): the same tables, columns and views as Postgres.

CREATE TABLE exchanges (
    id                  TEXT PRIMARY KEY,
    instance_id         TEXT NOT NULL,
    seq                 INTEGER NOT NULL,
    occurred_at         TEXT NOT NULL,               -- RFC 3339, UTC
    upstream_request_id TEXT,
    key_id              TEXT NOT NULL,
    principal           TEXT NOT NULL,
    team                TEXT NOT NULL,
    client_addr         TEXT,
    user_agent          TEXT,
    endpoint            TEXT NOT NULL,
    model               TEXT,
    streamed            BOOLEAN NOT NULL,
    policy_name         TEXT,
    policy_version      TEXT,
    decision            TEXT NOT NULL CHECK (decision IN ('forwarded', 'blocked', 'error')),
    status              INTEGER NOT NULL,
    rule                TEXT,
    latency_us          INTEGER NOT NULL,
    upstream_latency_us INTEGER,
    input_tokens        INTEGER,
    output_tokens       INTEGER,
    storage_mode        TEXT NOT NULL CHECK (storage_mode IN ('full', 'redacted', 'hash', 'none')),
    prompt              TEXT,
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
    fingerprint TEXT NOT NULL,
    PRIMARY KEY (exchange_id, ordinal)
);
CREATE INDEX findings_class ON findings (class);
CREATE INDEX findings_fingerprint ON findings (fingerprint);

-- Append-only; `warden audit prune` lifts the guard for its own deletes through this flag row.
CREATE TABLE audit_prune_guard (active INTEGER NOT NULL);
CREATE TRIGGER exchanges_no_update BEFORE UPDATE ON exchanges
    BEGIN SELECT RAISE(ABORT, 'audit rows are append-only (exchanges.UPDATE)'); END;
CREATE TRIGGER exchanges_no_delete BEFORE DELETE ON exchanges
    WHEN NOT EXISTS (SELECT 1 FROM audit_prune_guard WHERE active = 1)
    BEGIN SELECT RAISE(ABORT, 'audit rows are append-only (exchanges.DELETE)'); END;
CREATE TRIGGER findings_no_update BEFORE UPDATE ON findings
    BEGIN SELECT RAISE(ABORT, 'audit rows are append-only (findings.UPDATE)'); END;
CREATE TRIGGER findings_no_delete BEFORE DELETE ON findings
    WHEN NOT EXISTS (SELECT 1 FROM audit_prune_guard WHERE active = 1)
    BEGIN SELECT RAISE(ABORT, 'audit rows are append-only (findings.DELETE)'); END;

CREATE VIEW v_blocked_requests AS
    SELECT e.occurred_at, e.team, e.principal, e.key_id, e.model, e.rule, e.status, e.policy_name,
           e.policy_version, e.id AS exchange_id
    FROM exchanges e
    WHERE e.decision = 'blocked';

CREATE VIEW v_findings_by_team_day AS
    SELECT substr(e.occurred_at, 1, 10) AS day, e.team, f.class, f.action, count(*) AS findings
    FROM findings f JOIN exchanges e ON e.id = f.exchange_id
    GROUP BY 1, 2, 3, 4;

CREATE VIEW v_secrets_leaks_attempted AS
    SELECT e.occurred_at, e.team, e.principal, e.key_id, f.rule, f.action, f.location,
           f.fingerprint, e.id AS exchange_id
    FROM findings f JOIN exchanges e ON e.id = f.exchange_id
    WHERE f.class = 'secrets';
