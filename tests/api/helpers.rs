//! Starting Warden and the mock for a test, and small HTTP helpers.

use std::path::PathBuf;

use serde_json::{Value, json};
use tokio::net::TcpListener;
use warden::config::{Config, KeyEntry};
use warden::mock::{MockOptions, RunningMock};
use warden::secret::Secret;
use warden::server::auth::hash_key;
use warden::server::{AppState, RunningServer};

/// The upstream credential Warden holds in tests. Must never reach a client or a log.
pub const UPSTREAM_KEY: &str = "sk-ant-api03-TEST-upstream-credential-0123456789";
/// The Warden key the tests' client uses. Must never reach upstream or a log.
pub const WARDEN_KEY: &str = "wdn_TestKeyForIntegrationSuite0123456789abcdef";

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sse")
}

/// A policy set with no classes and no reply stage, for byte-for-byte fidelity tests.
pub fn open_policies() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/policies")
}

/// The policies shipped in `policies/`.
pub fn bundled_policies() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies")
}

pub fn key_entry(key: &str, id: &str, team: &str) -> KeyEntry {
    KeyEntry {
        id: id.into(),
        principal: format!("{id}@example.com"),
        team: team.into(),
        sha256: hex::encode(hash_key(key)),
    }
}

pub struct TestApp {
    pub warden: RunningServer,
    pub mock: RunningMock,
    pub url: String,
    /// The admin listener (approvals API).
    pub admin_url: String,
    pub http: reqwest::Client,
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a mock and a Warden in front of it; `adjust` may change Warden's config.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let mock = RunningMock::start(
            TcpListener::bind("127.0.0.1:0").await.expect("bind mock"),
            MockOptions {
                fixtures_dir: fixtures_dir(),
                ..MockOptions::default()
            },
        )
        .expect("mock starts");
        let mut config = Config::default();
        config.upstream.url = mock.url();
        config.keys = vec![key_entry(WARDEN_KEY, "key_test", "default")];
        config.shutdown_grace_ms = 5_000;
        config.policies.dir = open_policies();
        let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let unique = format!("{}-{}", std::process::id(), rand::random::<u64>());
        config.audit.sqlite_path = tmp.join(format!("audit-{unique}.db"));
        config.audit.spool_path = tmp.join(format!("audit-{unique}.spool"));
        config.audit.tombstone_key_file = tmp.join(format!("audit-{unique}.key"));
        config.audit.flush_interval_ms = 10;
        adjust(&mut config);
        let state = AppState::new(
            config,
            Some(Secret::new(UPSTREAM_KEY)),
            Secret::new("test-fingerprint-key-0123456789"),
        )
        .await
        .expect("state");
        let warden = RunningServer::start_with_admin(
            TcpListener::bind("127.0.0.1:0").await.expect("bind warden"),
            Some(TcpListener::bind("127.0.0.1:0").await.expect("bind admin")),
            state,
        )
        .expect("warden starts");
        let url = format!("http://{}", warden.addr);
        let admin_url = format!(
            "http://{}",
            warden.admin_addr.expect("admin listener started")
        );
        Self {
            warden,
            mock,
            url,
            admin_url,
            http: reqwest::Client::new(),
        }
    }

    /// A POST to Warden with the test key and the SDK's usual headers.
    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.post_as(WARDEN_KEY, path)
    }

    /// A POST to Warden with another Warden key.
    pub fn post_as(&self, key: &str, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.url))
            .header("x-api-key", key)
            .header("anthropic-version", "2023-06-01")
            .header("content-type", "application/json")
    }

    /// Sends the standard small Messages request, asking the mock for `scenario` ("" for the
    /// plain reply).
    pub async fn send_messages(&self, scenario: &str, stream: bool) -> reqwest::Response {
        let mut request = self.post("/v1/messages");
        if !scenario.is_empty() {
            request = request.header("x-mock-scenario", scenario);
        }
        request
            .json(&message_body("m", stream))
            .send()
            .await
            .expect("sent")
    }

    /// The `/readyz` document (open endpoint).
    pub async fn readyz(&self) -> serde_json::Value {
        self.http
            .get(format!("{}/readyz", self.url))
            .send()
            .await
            .expect("sent")
            .json()
            .await
            .expect("json")
    }

    /// What the mock saw: `{"total": N, "requests": [...]}` (bodies and headers).
    pub async fn mock_requests(&self) -> serde_json::Value {
        self.http
            .get(format!("{}/_mock/requests", self.mock.url()))
            .send()
            .await
            .expect("mock")
            .json()
            .await
            .expect("json")
    }

    /// The `/metrics` exposition text (admin listener, no key).
    pub async fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.admin_url))
            .send()
            .await
            .expect("sent")
            .text()
            .await
            .expect("text")
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.url))
            .header("authorization", format!("Bearer {WARDEN_KEY}"))
    }

    /// The same request straight to the mock, for side-by-side comparisons.
    pub fn post_direct(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.mock.url()))
            .header("x-api-key", "sk-ant-direct")
            .header("anthropic-version", "2023-06-01")
            .header("content-type", "application/json")
    }
}

pub fn message_body(model: &str, stream: bool) -> Value {
    json!({
        "model": model,
        "max_tokens": 256,
        "stream": stream,
        "messages": [{"role": "user", "content": "Hello, Claude"}]
    })
}

/// Asserts an Anthropic error envelope with the given status and type; returns the message.
pub async fn expect_error(response: reqwest::Response, status: u16, kind: &str) -> String {
    assert_eq!(response.status().as_u16(), status, "status");
    let request_id = response
        .headers()
        .get("request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body: Value = response.json().await.expect("error body is JSON");
    assert_eq!(body["type"], "error", "{body}");
    assert_eq!(body["error"]["type"], kind, "{body}");
    assert!(
        request_id.is_some_and(|id| id.starts_with("req_")),
        "request-id header"
    );
    body["error"]["message"]
        .as_str()
        .expect("message is a string")
        .to_string()
}

/// Concatenates the text deltas of an SSE body.
pub fn streamed_text(body: &str) -> String {
    body.split("\n\n")
        .filter_map(|r| r.lines().find_map(|l| l.strip_prefix("data: ")))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter(|v| v["delta"]["type"] == "text_delta")
        .map(|v| v["delta"]["text"].as_str().unwrap_or("").to_string())
        .collect()
}
