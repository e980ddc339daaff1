//! The server config: defaults, then the file (`--config`, or `warden.yaml` if present), then
//! `WARDEN_…` environment variables, then command-line flags. Validated at start with errors that
//! name the field. It knows nothing of policies' content.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::Value;

use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
    #[error("config field `{field}`: {message}")]
    Field { field: String, message: String },
}

/// The whole server config. Every field has a default, so no file at all is a valid config.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the gateway listens on.
    pub listen: SocketAddr,
    pub upstream: UpstreamConfig,
    pub limits: LimitsConfig,
    /// Warden keys: only their SHA-256 hashes are stored. Make one with `warden keys new`.
    pub keys: Vec<KeyEntry>,
    /// Path prefixes, beyond the built-in routes, that are forwarded (authenticated) as they are.
    pub passthrough_paths: Vec<String>,
    /// How long in-flight requests and streams may run after SIGTERM before they are cut.
    pub shutdown_grace_ms: u64,
    /// Runtime worker threads; 0 means one per core. A sidecar usually wants 1 or 2.
    pub worker_threads: usize,
    pub policies: PoliciesConfig,
    pub audit: AuditConfig,
    /// File holding the key for findings' fingerprints (HMAC); without it,
    /// `WARDEN_FINGERPRINT_KEY`, else a random key per process (fingerprints then do not match
    /// across restarts or replicas).
    pub fingerprint_key_file: Option<PathBuf>,
    pub log: LogConfig,
    pub admin: AdminConfig,
    pub approvals: ApprovalsConfig,
    pub telemetry: TelemetryConfig,
}

/// OpenTelemetry trace export (the `otlp` feature, on by default).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// OTLP/HTTP collector base URL (`http://collector:4318`); spans go to `/v1/traces` under
    /// it. Unset: no export, and `traceparent` goes upstream as it came.
    pub otlp_endpoint: Option<String>,
    /// `service.name` of the exported spans.
    pub service_name: String,
    /// How often batches of spans are posted.
    pub flush_interval_ms: u64,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            service_name: "warden".into(),
            flush_interval_ms: 1_000,
        }
    }
}

/// The admin listener: the approvals API and page for approvers and auditors. Never the public
/// port; keep it on loopback or a private network.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Address of the admin listener.
    pub listen: SocketAddr,
    /// Admin keys (hashes only), distinct from Warden keys. Make one with `warden keys new-admin`.
    pub keys: Vec<AdminKeyEntry>,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8081)),
            keys: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminKeyEntry {
    pub id: String,
    /// The approver's identity, recorded with every decision.
    pub name: String,
    pub roles: Vec<AdminRole>,
    /// Groups a policy can name as approvers (`group:<name>`).
    #[serde(default)]
    pub groups: Vec<String>,
    /// Lower-case hex SHA-256 of the key.
    pub sha256: String,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AdminRole {
    /// Decides held tool calls.
    Approver,
    /// Reads approvals.
    Auditor,
    /// Everything.
    Admin,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApprovalsConfig {
    /// Where a held call is announced: a Slack-compatible incoming webhook (JSON with `text` and
    /// `blocks`).
    pub webhook_url: Option<String>,
    /// How often a holder asks the store for a decision, besides being woken (in-process, or by
    /// Postgres `NOTIFY` from another replica).
    pub poll_interval_ms: u64,
}

impl Default for ApprovalsConfig {
    fn default() -> Self {
        Self {
            webhook_url: None,
            poll_interval_ms: 1_000,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoliciesConfig {
    /// Directory of team policies (`<team>.yaml`).
    pub dir: PathBuf,
    /// How often the directory is checked for changes (SIGHUP reloads at once).
    pub reload_interval_ms: u64,
    /// A key whose team has no policy file: `reject` (403) or `default` (use default.yaml).
    pub unknown_team: UnknownTeam,
}

impl Default for PoliciesConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("policies"),
            reload_interval_ms: 2_000,
            unknown_team: UnknownTeam::Reject,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Keep a record of every exchange (the default). `false` drops them all: for measuring
    /// what auditing costs and for throwaway development instances, never for production;
    /// Warden warns at start, `/readyz` says `disabled` and `warden_audit_enabled` is 0.
    pub enabled: bool,
    /// `postgres://user:password@host/db` for the production store (a secret: never printed).
    /// Without it, the embedded SQLite store at `sqlite_path`.
    pub database_url: Option<Secret>,
    pub sqlite_path: PathBuf,
    /// Where records wait while the database is unavailable.
    pub spool_path: PathBuf,
    /// Rows per database write, and the longest a record waits for its batch.
    pub batch_rows: usize,
    pub flush_interval_ms: u64,
    /// Records queued in memory before they spill to the spool.
    pub queue_capacity: usize,
    /// Bytes of prompts and outputs queued in memory before records spill to the spool (a
    /// record carries its whole prompt, possibly megabytes): bounds memory when the database
    /// falls behind.
    pub queue_max_bytes: usize,
    /// Apply the migrations in `migrations/` at start (else run `warden migrate`).
    pub migrate_on_start: bool,
    /// How the writer thread (and its SQLite threads) share the CPU with requests: `idle`
    /// (Linux's SCHED_IDLE: a request always preempts the writer; under full CPU load records
    /// wait in the queue and the spool until the CPU frees) or `low` (nice 10: the writer keeps
    /// pace under full load, and requests wait behind its batches: p99 latency 2-3x).
    pub writer_priority: crate::audit::writer::WriterPriority,
    /// What a crash may cost: `fsync_before_reply` (every record synced to the journal before
    /// the response's last bytes) or `may_lose_recent_on_crash` (records of the last batch
    /// interval are lost if the process dies).
    pub durability: crate::audit::writer::Durability,
    /// Run `warden audit prune` on this interval (seconds; 3600 is plenty); 0: only by hand.
    pub prune_interval_seconds: u64,
    /// The key that seals pruning's tombstones (`WARDEN_AUDIT_TOMBSTONE_KEY` overrides it):
    /// created, mode 0600, on the first prune when missing. Keep it where the database's owners
    /// cannot read it; replicas that prune the same store must share it; `warden audit verify`
    /// needs it to accept tombstones.
    pub tombstone_key_file: PathBuf,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            database_url: None,
            sqlite_path: PathBuf::from("warden-audit.db"),
            spool_path: PathBuf::from("warden-audit.spool"),
            batch_rows: 500,
            flush_interval_ms: 100,
            queue_capacity: 10_000,
            queue_max_bytes: 64 << 20,
            migrate_on_start: true,
            writer_priority: crate::audit::writer::WriterPriority::Idle,
            durability: crate::audit::writer::Durability::FsyncBeforeReply,
            prune_interval_seconds: 0,
            tombstone_key_file: PathBuf::from("warden-audit.key"),
        }
    }
}

impl AuditConfig {
    /// The store's connection string (the SQLite file unless a database URL is set).
    pub fn url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose().to_string(),
            None => format!("sqlite://{}", self.sqlite_path.display()),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum UnknownTeam {
    #[default]
    Reject,
    Default,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            upstream: UpstreamConfig::default(),
            limits: LimitsConfig::default(),
            keys: Vec::new(),
            passthrough_paths: Vec::new(),
            shutdown_grace_ms: 30_000,
            worker_threads: 0,
            policies: PoliciesConfig::default(),
            audit: AuditConfig::default(),
            fingerprint_key_file: None,
            log: LogConfig::default(),
            admin: AdminConfig::default(),
            approvals: ApprovalsConfig::default(),
            telemetry: TelemetryConfig::default(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamConfig {
    /// Base URL of the Claude API (or of `warden mock-upstream`).
    pub url: String,
    /// A file holding the upstream API key. Without it, `ANTHROPIC_API_KEY` is used.
    pub api_key_file: Option<PathBuf>,
    pub connect_timeout_ms: u64,
    /// Longest wait for upstream's response headers.
    pub first_byte_timeout_ms: u64,
    /// Longest silence between two chunks of a response body (the API pings every few seconds).
    pub idle_timeout_ms: u64,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        Self {
            url: "https://api.anthropic.com".into(),
            api_key_file: None,
            connect_timeout_ms: 10_000,
            first_byte_timeout_ms: 600_000,
            idle_timeout_ms: 600_000,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest request body accepted; the API's own limit is 32 MiB.
    pub max_body_bytes: usize,
    /// Deepest JSON nesting accepted (tool schemas nest; nothing legitimate nests this deep).
    pub max_json_depth: usize,
    /// Most content blocks in one request (system, messages and tool results together).
    pub max_content_blocks: usize,
    /// Most client connections open at once; one more is answered 529 and closed.
    pub max_connections: usize,
    /// Most connections open at once from one client address (IPv6: its /64), so that one
    /// client cannot take the whole `max_connections`; one more is answered 529 and closed.
    pub max_connections_per_peer: usize,
    /// Most connections open at once on the admin listener (approvers, auditors, the metrics
    /// scraper); one client address may hold a quarter of them.
    pub admin_max_connections: usize,
    /// A connection with no request in flight for this long is closed (HTTP/2 included; for
    /// HTTP/1.1 the shorter `header_read_timeout_ms` closes an idle kept-alive connection first).
    pub connection_idle_timeout_ms: u64,
    /// Most streamed replies relayed at once; one more streaming request is answered 529.
    pub max_streams: usize,
    /// Most request headers; up to twice this many get a JSON 431, beyond that hyper's own.
    pub max_headers: usize,
    /// Largest request head (request line and headers), same two steps as `max_headers`.
    pub max_header_bytes: usize,
    /// Time a client has to send its request head; a client trickling it is cut off.
    pub header_read_timeout_ms: u64,
    /// Time a client has to send its request body once the head is in (408 after that).
    pub body_read_timeout_ms: u64,
    /// Time a write to a client may stay blocked (a client that stopped reading its stream)
    /// before the connection is closed and the reply dropped.
    pub client_write_timeout_ms: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 32 * 1024 * 1024,
            max_json_depth: 64,
            max_content_blocks: 20_000,
            max_connections: 4_096,
            max_connections_per_peer: 512,
            admin_max_connections: 256,
            connection_idle_timeout_ms: 60_000,
            max_streams: 2_048,
            max_headers: 100,
            max_header_bytes: 32 * 1024,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 60_000,
            client_write_timeout_ms: 30_000,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    /// Public id of the key, recorded with every exchange.
    pub id: String,
    pub principal: String,
    pub team: String,
    /// Lower-case hex SHA-256 of the key.
    pub sha256: String,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A tracing filter such as `info` or `warden=debug,info`; `RUST_LOG` wins if set.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

/// Environment variables and the config field each one sets.
pub const ENV_OVERRIDES: &[(&str, &[&str])] = &[
    ("WARDEN_LISTEN", &["listen"]),
    ("WARDEN_UPSTREAM_URL", &["upstream", "url"]),
    (
        "WARDEN_UPSTREAM_API_KEY_FILE",
        &["upstream", "api_key_file"],
    ),
    (
        "WARDEN_UPSTREAM_CONNECT_TIMEOUT_MS",
        &["upstream", "connect_timeout_ms"],
    ),
    (
        "WARDEN_UPSTREAM_FIRST_BYTE_TIMEOUT_MS",
        &["upstream", "first_byte_timeout_ms"],
    ),
    (
        "WARDEN_UPSTREAM_IDLE_TIMEOUT_MS",
        &["upstream", "idle_timeout_ms"],
    ),
    (
        "WARDEN_LIMITS_MAX_BODY_BYTES",
        &["limits", "max_body_bytes"],
    ),
    ("WARDEN_SHUTDOWN_GRACE_MS", &["shutdown_grace_ms"]),
    (
        "WARDEN_TELEMETRY_OTLP_ENDPOINT",
        &["telemetry", "otlp_endpoint"],
    ),
    ("WARDEN_WORKER_THREADS", &["worker_threads"]),
    ("WARDEN_POLICIES_DIR", &["policies", "dir"]),
    (
        "WARDEN_POLICIES_RELOAD_INTERVAL_MS",
        &["policies", "reload_interval_ms"],
    ),
    (
        "WARDEN_POLICIES_UNKNOWN_TEAM",
        &["policies", "unknown_team"],
    ),
    ("WARDEN_FINGERPRINT_KEY_FILE", &["fingerprint_key_file"]),
    ("WARDEN_AUDIT_ENABLED", &["audit", "enabled"]),
    ("WARDEN_AUDIT_DATABASE_URL", &["audit", "database_url"]),
    ("WARDEN_AUDIT_SQLITE_PATH", &["audit", "sqlite_path"]),
    ("WARDEN_AUDIT_SPOOL_PATH", &["audit", "spool_path"]),
    (
        "WARDEN_AUDIT_MIGRATE_ON_START",
        &["audit", "migrate_on_start"],
    ),
    (
        "WARDEN_AUDIT_PRUNE_INTERVAL_SECONDS",
        &["audit", "prune_interval_seconds"],
    ),
    ("WARDEN_AUDIT_DURABILITY", &["audit", "durability"]),
    (
        "WARDEN_AUDIT_TOMBSTONE_KEY_FILE",
        &["audit", "tombstone_key_file"],
    ),
    ("WARDEN_ADMIN_LISTEN", &["admin", "listen"]),
    ("WARDEN_LOG_FORMAT", &["log", "format"]),
    ("WARDEN_LOG_LEVEL", &["log", "level"]),
];

/// Where the default config file is looked for when `--config` is not given.
pub const DEFAULT_CONFIG_FILE: &str = "warden.yaml";

impl Config {
    /// Loads the config: `path` if given (it must exist), else `warden.yaml` if present, else
    /// defaults; then applies `env` overrides (pass `std::env::vars()`).
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let (origin, text) = match path {
            Some(p) => (p.display().to_string(), read(p)?),
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => (
                DEFAULT_CONFIG_FILE.to_string(),
                read(Path::new(DEFAULT_CONFIG_FILE))?,
            ),
            None => ("defaults".to_string(), String::new()),
        };
        Self::from_yaml(&origin, &text, env)
    }

    /// Parses YAML text plus env overrides. `origin` names the source in errors.
    pub fn from_yaml(
        origin: &str,
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut tree: Value = if text.trim().is_empty() {
            Value::Mapping(Default::default())
        } else {
            serde_yaml::from_str(text).map_err(|e| ConfigError::Invalid {
                origin: origin.to_string(),
                message: e.to_string(),
            })?
        };
        if tree.is_null() {
            tree = Value::Mapping(Default::default());
        }
        if !tree.is_mapping() {
            return Err(ConfigError::Invalid {
                origin: origin.to_string(),
                message: not_a_mapping(&tree),
            });
        }
        let file = origin.to_string();
        let mut origin = origin.to_string();
        for (name, value) in env {
            if let Some((_, path)) = ENV_OVERRIDES.iter().find(|(n, _)| *n == name) {
                let parsed: Value =
                    serde_yaml::from_str(&value).unwrap_or(Value::String(value.clone()));
                set_path(&mut tree, path, parsed).map_err(|at| ConfigError::Invalid {
                    origin: file.clone(),
                    message: format!(
                        "`{at}` is not a mapping, so {name} cannot set `{}` under it",
                        path.join(".")
                    ),
                })?;
                origin.push_str(&format!(" + {name}"));
            }
        }
        let config: Config = serde_path_to_error::deserialize(tree).map_err(|e| {
            let field = e.path().to_string();
            ConfigError::Invalid {
                origin: origin.clone(),
                message: format!("field `{field}`: {}", e.into_inner()),
            }
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let field = |field: &str, message: String| ConfigError::Field {
            field: field.to_string(),
            message,
        };
        let url = reqwest::Url::parse(&self.upstream.url)
            .map_err(|e| field("upstream.url", format!("not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(field("upstream.url", "must be http or https".into()));
        }
        for (name, v) in [
            (
                "upstream.connect_timeout_ms",
                self.upstream.connect_timeout_ms,
            ),
            (
                "upstream.first_byte_timeout_ms",
                self.upstream.first_byte_timeout_ms,
            ),
            ("upstream.idle_timeout_ms", self.upstream.idle_timeout_ms),
            ("limits.max_connections", self.limits.max_connections as u64),
            (
                "limits.max_connections_per_peer",
                self.limits.max_connections_per_peer as u64,
            ),
            (
                "limits.admin_max_connections",
                self.limits.admin_max_connections as u64,
            ),
            (
                "limits.connection_idle_timeout_ms",
                self.limits.connection_idle_timeout_ms,
            ),
            ("limits.max_streams", self.limits.max_streams as u64),
            ("limits.max_headers", self.limits.max_headers as u64),
            (
                "limits.header_read_timeout_ms",
                self.limits.header_read_timeout_ms,
            ),
            (
                "limits.body_read_timeout_ms",
                self.limits.body_read_timeout_ms,
            ),
            (
                "limits.client_write_timeout_ms",
                self.limits.client_write_timeout_ms,
            ),
        ] {
            if v == 0 {
                return Err(field(name, "must be greater than 0".into()));
            }
        }
        if self.policies.reload_interval_ms < 100 {
            return Err(field(
                "policies.reload_interval_ms",
                "must be at least 100".into(),
            ));
        }
        if self.audit.batch_rows == 0 || self.audit.queue_capacity == 0 {
            return Err(field(
                "audit.batch_rows",
                "audit.batch_rows and audit.queue_capacity must be greater than 0".into(),
            ));
        }
        if let Some(endpoint) = &self.telemetry.otlp_endpoint {
            if !cfg!(feature = "otlp") {
                return Err(field(
                    "telemetry.otlp_endpoint",
                    "this build has no OTLP export (built without the `otlp` feature)".into(),
                ));
            }
            let url = reqwest::Url::parse(endpoint)
                .map_err(|e| field("telemetry.otlp_endpoint", format!("not a URL: {e}")))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(field(
                    "telemetry.otlp_endpoint",
                    "must be http or https".into(),
                ));
            }
        }
        if self.limits.max_header_bytes < 1024 {
            return Err(field(
                "limits.max_header_bytes",
                "must be at least 1024".into(),
            ));
        }
        if self.limits.max_body_bytes < 1024 {
            return Err(field(
                "limits.max_body_bytes",
                "must be at least 1024".into(),
            ));
        }
        let mut ids = HashSet::new();
        let mut hashes = HashSet::new();
        for (i, key) in self.keys.iter().enumerate() {
            let at = |f: &str| format!("keys[{i}].{f}");
            if key.sha256.len() != 64 || !key.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(field(&at("sha256"), "must be 64 hex digits".into()));
            }
            for (f, v) in [
                ("id", &key.id),
                ("principal", &key.principal),
                ("team", &key.team),
            ] {
                if v.trim().is_empty() {
                    return Err(field(&at(f), "must not be empty".into()));
                }
            }
            if !ids.insert(key.id.as_str()) {
                return Err(field(&at("id"), format!("duplicate key id '{}'", key.id)));
            }
            if !hashes.insert(key.sha256.to_ascii_lowercase()) {
                return Err(field(&at("sha256"), "duplicate key hash".into()));
            }
        }
        for (i, p) in self.passthrough_paths.iter().enumerate() {
            if !p.starts_with('/') {
                return Err(field(
                    &format!("passthrough_paths[{i}]"),
                    "must start with '/'".into(),
                ));
            }
        }
        Ok(())
    }

    /// The upstream credential: the key file if configured, else `ANTHROPIC_API_KEY`.
    pub fn upstream_key(&self, env_key: Option<String>) -> Result<Option<Secret>, ConfigError> {
        if let Some(path) = &self.upstream.api_key_file {
            let text = read(path)?;
            let key = text.trim();
            if key.is_empty() {
                return Err(ConfigError::Field {
                    field: "upstream.api_key_file".into(),
                    message: format!("{} is empty", path.display()),
                });
            }
            return Ok(Some(Secret::new(key)));
        }
        Ok(env_key
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .map(Secret::new))
    }
}

impl Config {
    /// The fingerprint key: the key file, else `env_key`, else `None` (the caller makes a random
    /// one and says so).
    pub fn fingerprint_key(&self, env_key: Option<String>) -> Result<Option<Secret>, ConfigError> {
        if let Some(path) = &self.fingerprint_key_file {
            let text = read(path)?;
            let key = text.trim();
            if key.len() < 16 {
                return Err(ConfigError::Field {
                    field: "fingerprint_key_file".into(),
                    message: format!("{} must hold at least 16 characters", path.display()),
                });
            }
            return Ok(Some(Secret::new(key)));
        }
        Ok(env_key.filter(|k| k.len() >= 16).map(Secret::new))
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// What is wrong with a config whose top level is not a mapping of settings.
fn not_a_mapping(tree: &Value) -> String {
    let kind = match tree {
        Value::Sequence(_) => "a list",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        _ => "not a mapping",
    };
    let mut message = format!(
        "the config must be a mapping of settings (`keys:`, `upstream:`, `admin:` …), but its top level is {kind}"
    );
    let looks_like_keys = tree.as_sequence().is_some_and(|items| {
        items
            .iter()
            .any(|i| i.get("sha256").is_some() && i.get("team").is_some())
    });
    if looks_like_keys {
        message.push_str(
            ": it holds key entries with no `keys:` line above them. Put `keys:` on the first line, \
             or let `warden keys new --config FILE` write the entry",
        );
    }
    message
}

/// Sets `value` at `path`, making the mappings on the way. A node on the way that exists and is
/// not a mapping is an error (its path is returned): never silently replaced.
fn set_path(tree: &mut Value, path: &[&str], value: Value) -> Result<(), String> {
    let mut node = tree;
    for (i, key) in path.iter().enumerate() {
        if node.is_null() {
            *node = Value::Mapping(Default::default());
        }
        let Value::Mapping(map) = node else {
            return Err(if i == 0 {
                "the top level".to_string()
            } else {
                path[..i].join(".")
            });
        };
        let k = Value::String((*key).to_string());
        if i == path.len() - 1 {
            map.insert(k, value);
            return Ok(());
        }
        node = map
            .entry(k)
            .or_insert_with(|| Value::Mapping(Default::default()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_that_is_not_a_mapping_is_an_error_naming_the_file_never_replaced() {
        let keys_only =
            "  - { id: \"key_a\", principal: \"me\", team: \"default\", sha256: \"00\" }\n";
        for env in [
            no_env(),
            vec![("WARDEN_LISTEN".to_string(), "127.0.0.1:9999".to_string())],
        ] {
            let e = Config::from_yaml("warden.yaml", keys_only, env)
                .expect_err("a list is not a config")
                .to_string();
            assert!(e.starts_with("warden.yaml: "), "{e}");
            assert!(
                e.contains("top level is a list") && e.contains("`keys:`"),
                "{e}"
            );
        }
        // A section that is not a mapping is not replaced by an override either.
        let e = Config::from_yaml(
            "warden.yaml",
            "admin: yes\n",
            vec![("WARDEN_ADMIN_LISTEN".to_string(), "127.0.0.1:9".to_string())],
        )
        .expect_err("admin is not a mapping")
        .to_string();
        assert!(e.contains("`admin` is not a mapping"), "{e}");
    }

    fn no_env() -> Vec<(String, String)> {
        Vec::new()
    }

    #[test]
    fn the_shipped_deployment_configs_are_valid() {
        let compose = include_str!("../deploy/warden.yaml");
        let c = Config::from_yaml("deploy/warden.yaml", compose, no_env()).expect("compose config");
        assert_ne!(c.admin.listen, c.listen, "admin never on the public port");
        // Every demo key deploy/README.md prints is one of the config's, and one of them is in
        // a team whose policy holds calls for an approver (so the page can show one).
        let readme = include_str!("../deploy/README.md");
        let printed: Vec<&str> = readme
            .split(|c: char| c == '`' || c.is_whitespace())
            .filter(|w| w.starts_with("wdn_") || w.starts_with("wadm_"))
            .collect();
        assert_eq!(printed.len(), 3, "{printed:?}");
        for key in printed {
            let hash = hex::encode(crate::server::auth::hash_key(key));
            let team = c
                .keys
                .iter()
                .find(|k| k.sha256 == hash)
                .map(|k| k.team.as_str());
            let admin = c.admin.keys.iter().any(|k| k.sha256 == hash);
            assert!(
                team.is_some() || admin,
                "{key} is not in deploy/warden.yaml"
            );
        }
        assert!(c.keys.iter().any(|k| k.team == "platform"));
        assert!(include_str!("../policies/platform.yaml").contains("require_approval:"));
        // The Kubernetes example carries its config inside a ConfigMap.
        let manifests = include_str!("../deploy/kubernetes/sidecar.yaml");
        let mut found = false;
        for doc in serde_yaml::Deserializer::from_str(manifests) {
            let v = serde_yaml::Value::deserialize(doc).expect("manifest YAML");
            if let Some(text) = v["data"]["warden.yaml"].as_str() {
                let c = Config::from_yaml("sidecar.yaml", text, no_env()).expect("sidecar config");
                assert_eq!(c.listen.to_string(), "127.0.0.1:8080", "the pod only");
                found = true;
            }
        }
        assert!(found, "the ConfigMap holds warden.yaml");
    }

    #[test]
    fn no_file_gives_working_defaults() {
        let c = Config::from_yaml("defaults", "", no_env()).expect("defaults valid");
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.limits.max_body_bytes, 32 * 1024 * 1024);
        assert_eq!(c.upstream.url, "https://api.anthropic.com");
    }

    #[test]
    fn env_overrides_the_file() {
        let yaml = "listen: 0.0.0.0:9000\nupstream:\n  url: http://a.example\n";
        let env = vec![
            (
                "WARDEN_UPSTREAM_URL".to_string(),
                "http://b.example".to_string(),
            ),
            (
                "WARDEN_LIMITS_MAX_BODY_BYTES".to_string(),
                "4096".to_string(),
            ),
            ("UNRELATED".to_string(), "x".to_string()),
        ];
        let c = Config::from_yaml("f.yaml", yaml, env).expect("valid");
        assert_eq!(c.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(c.upstream.url, "http://b.example");
        assert_eq!(c.limits.max_body_bytes, 4096);
    }

    #[test]
    fn errors_name_the_field() {
        let err = Config::from_yaml("f.yaml", "upstream:\n  urll: x\n", no_env())
            .expect_err("unknown field");
        assert!(err.to_string().contains("upstream"), "{err}");
        assert!(err.to_string().contains("urll"), "{err}");
        let err = Config::from_yaml("f.yaml", "limits:\n  max_body_bytes: lots\n", no_env())
            .expect_err("bad type");
        assert!(err.to_string().contains("limits.max_body_bytes"), "{err}");
        let err = Config::from_yaml(
            "f.yaml",
            "keys:\n  - {id: a, principal: p, team: t, sha256: nothex}\n",
            no_env(),
        )
        .expect_err("bad hash");
        assert!(err.to_string().contains("keys[0].sha256"), "{err}");
        let err = Config::from_yaml("env", "", vec![("WARDEN_LISTEN".into(), "nope".into())])
            .expect_err("bad listen");
        assert!(err.to_string().contains("WARDEN_LISTEN"), "{err}");
        assert!(err.to_string().contains("listen"), "{err}");
    }
}
