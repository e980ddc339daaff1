//! A faithful mock of the Claude API, for tests, benchmarks and demos: the same routes, realistic
//! Message JSON and SSE, an echo mode, replay of recorded streams, and scripted faults. It knows
//! nothing of the rest of Warden.
//!
//! A scenario is chosen per request by the `x-mock-scenario` header or by a model named
//! `mock-<scenario>` (see [`scenario::Scenario`]). The mock records what it received, so a test can
//! prove what left Warden, and refuses any request without an upstream credential or carrying a
//! Warden key.

mod batches;
mod cache;
mod files;
mod reply;
pub mod scenario;

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::api::{ErrorKind, error_body};
use scenario::Scenario;

/// How many received requests the mock remembers (oldest forgotten first).
const RECORDED_REQUESTS_MAX: usize = 512;

#[derive(Clone, Debug)]
pub struct MockOptions {
    /// Delay before answering each request.
    pub latency_ms: u64,
    /// Delay between two SSE records of a stream.
    pub chunk_delay_us: u64,
    /// Where `replay:<file>` finds its recordings.
    pub fixtures_dir: PathBuf,
}

impl Default for MockOptions {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            chunk_delay_us: 0,
            fixtures_dir: PathBuf::from("tests/fixtures/sse"),
        }
    }
}

/// One request as the mock received it.
#[derive(Clone, Debug, Serialize)]
pub struct ReceivedRequest {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl ReceivedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }
}

#[derive(Debug)]
pub struct MockState {
    pub options: MockOptions,
    received: Mutex<VecDeque<ReceivedRequest>>,
    total: AtomicU64,
    active_streams: Arc<AtomicI64>,
    failed_once: Mutex<HashSet<String>>,
    /// Bodies posted to `/_mock/webhook` (Warden's approval notices), newest last.
    webhooks: Mutex<Vec<Value>>,
    /// Uploaded files, oldest first.
    files: Mutex<Vec<files::StoredFile>>,
    /// Message batches, oldest first.
    batches: Mutex<Vec<batches::StoredBatch>>,
    /// The prompt cache, per credential and model.
    prompt_cache: cache::PromptCache,
    ids: AtomicU64,
}

impl MockState {
    pub fn new(options: MockOptions) -> Self {
        Self {
            options,
            received: Mutex::new(VecDeque::new()),
            total: AtomicU64::new(0),
            active_streams: Arc::new(AtomicI64::new(0)),
            failed_once: Mutex::new(HashSet::new()),
            webhooks: Mutex::new(Vec::new()),
            files: Mutex::new(Vec::new()),
            batches: Mutex::new(Vec::new()),
            prompt_cache: cache::PromptCache::default(),
            ids: AtomicU64::new(1),
        }
    }

    /// A number for the next file or batch id.
    fn next_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::Relaxed)
    }

    /// What a Messages request sent with `headers` reads from and writes to the prompt cache.
    fn input_usage(&self, headers: &HeaderMap, req: &Value, body_len: usize) -> cache::InputUsage {
        let credential = headers
            .get("x-api-key")
            .or_else(|| headers.get(http::header::AUTHORIZATION))
            .map_or(&[][..], |v| v.as_bytes());
        self.prompt_cache
            .account(credential, req, body_len, std::time::Instant::now())
    }

    /// The requests received so far (the most recent [`RECORDED_REQUESTS_MAX`]).
    pub fn received(&self) -> Vec<ReceivedRequest> {
        self.received
            .lock()
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// How many requests reached the mock in all.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Streams the mock is sending right now: drops to zero when a client (Warden) hangs up.
    pub fn active_streams(&self) -> i64 {
        self.active_streams.load(Ordering::Relaxed)
    }

    fn record(&self, r: ReceivedRequest) {
        self.total.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut list) = self.received.lock() {
            if list.len() == RECORDED_REQUESTS_MAX {
                list.pop_front();
            }
            list.push_back(r);
        }
    }

    /// True the first time `nonce` is seen: for faults that happen once, then succeed.
    fn first_time(&self, nonce: &str) -> bool {
        self.failed_once
            .lock()
            .map(|mut s| s.insert(nonce.to_string()))
            .unwrap_or(false)
    }
}

pub fn error_response(status: StatusCode, kind: &str, message: &str) -> Response {
    let mut body = error_body(ErrorKind::Api, message, Some("req_mock_error"));
    body["error"]["type"] = json!(kind);
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        "request-id",
        http::HeaderValue::from_static("req_mock_error"),
    );
    response
}

pub fn router(state: Arc<MockState>) -> Router {
    let api = Router::new()
        .route("/v1/messages", post(messages))
        .route("/v1/messages/count_tokens", post(count_tokens))
        .route("/v1/models", get(list_models))
        .route("/v1/models/{id}", get(get_model))
        .route(
            "/v1/messages/batches",
            get(batches::list).post(batches::create),
        )
        .route(
            "/v1/messages/batches/{id}",
            get(batches::retrieve).delete(batches::delete),
        )
        .route("/v1/messages/batches/{id}/cancel", post(batches::cancel))
        .route("/v1/messages/batches/{id}/results", get(batches::results))
        .route("/v1/files", get(files::list).post(files::upload))
        .route("/v1/files/{id}", get(files::metadata).delete(files::delete))
        .route("/v1/files/{id}/content", get(files::content))
        .fallback(|| async {
            error_response(StatusCode::NOT_FOUND, "not_found_error", "Not found")
        })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            check_and_record,
        ));
    Router::new()
        .route("/", get(|| async { "ok" }))
        .route("/_mock/requests", get(recorded))
        .route("/_mock/webhook", post(webhook).get(webhooks))
        .merge(api)
        .with_state(state)
}

/// Refuses requests without an upstream credential or with a Warden key anywhere in the headers,
/// and records the rest.
async fn check_and_record(
    State(state): State<Arc<MockState>>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(collected) = body.collect().await else {
        return error_response(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "body unreadable",
        );
    };
    let bytes = collected.to_bytes();
    let leaked = parts
        .headers
        .iter()
        .any(|(_, v)| v.as_bytes().windows(4).any(|w| w == b"wdn_"));
    if leaked {
        return error_response(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "mock-upstream: a Warden key reached the upstream",
        );
    }
    // Like the API: an API key in x-api-key, or a bearer token (the newer SDKs send that).
    let has_key = parts
        .headers
        .get("x-api-key")
        .is_some_and(|v| !v.is_empty())
        || parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.len() > "Bearer ".len() && v.starts_with("Bearer "));
    if !has_key {
        return error_response(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "x-api-key header is required",
        );
    }
    state.record(ReceivedRequest {
        method: parts.method.to_string(),
        path: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_string(), |p| p.to_string()),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: crate::text_lossy(&bytes).into_owned(),
    });
    if state.options.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(state.options.latency_ms)).await;
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// A stand-in for a Slack incoming webhook: keeps what was posted.
async fn webhook(State(state): State<Arc<MockState>>, body: Bytes) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error_response(StatusCode::BAD_REQUEST, "invalid_request_error", "not JSON");
    };
    if let Ok(mut w) = state.webhooks.lock() {
        if w.len() == RECORDED_REQUESTS_MAX {
            w.remove(0);
        }
        w.push(v);
    }
    "ok".into_response()
}

async fn webhooks(State(state): State<Arc<MockState>>) -> Response {
    let list = state.webhooks.lock().map(|w| w.clone()).unwrap_or_default();
    axum::Json(json!({"webhooks": list})).into_response()
}

async fn recorded(State(state): State<Arc<MockState>>) -> Response {
    axum::Json(json!({"total": state.total(), "requests": state.received()})).into_response()
}

/// Checks the fields the API requires; the error is the API's message for it.
fn parse_body(bytes: &Bytes, needs_max_tokens: bool) -> Result<Value, &'static str> {
    let v: Value = serde_json::from_slice(bytes).map_err(|_| "invalid JSON body")?;
    if v.get("model").and_then(Value::as_str).is_none() {
        return Err("model: Field required");
    }
    if !v.get("messages").is_some_and(Value::is_array) {
        return Err("messages: Field required");
    }
    if needs_max_tokens && v.get("max_tokens").and_then(Value::as_u64).is_none() {
        return Err("max_tokens: Field required");
    }
    Ok(v)
}

fn bad_request(message: &str) -> Response {
    error_response(StatusCode::BAD_REQUEST, "invalid_request_error", message)
}

async fn messages(
    State(state): State<Arc<MockState>>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = match body.collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => return error_response(StatusCode::BAD_REQUEST, "invalid_request_error", "body"),
    };
    let req = match parse_body(&bytes, true) {
        Ok(v) => v,
        Err(m) => return bad_request(m),
    };
    let scenario = Scenario::select(&headers, &req);
    let echo = reply::Echo {
        method: parts.method.as_str(),
        path: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path(), |p| p.as_str()),
        headers: &headers,
        body: &req,
    };
    reply::answer(&state, scenario, &req, &echo, bytes.len()).await
}

async fn count_tokens(request: Request) -> Response {
    let Ok(collected) = request.into_body().collect().await else {
        return error_response(StatusCode::BAD_REQUEST, "invalid_request_error", "body");
    };
    let bytes = collected.to_bytes();
    match parse_body(&bytes, false) {
        Ok(_) => {
            axum::Json(json!({"input_tokens": reply::estimate_tokens(bytes.len())})).into_response()
        }
        Err(m) => bad_request(m),
    }
}

const MODELS: &[(&str, &str, &str)] = &[
    (
        "claude-opus-4-5-20251101",
        "Claude Opus 4.5",
        "2025-11-01T00:00:00Z",
    ),
    (
        "claude-sonnet-4-5-20250929",
        "Claude Sonnet 4.5",
        "2025-09-29T00:00:00Z",
    ),
    (
        "claude-haiku-4-5-20251001",
        "Claude Haiku 4.5",
        "2025-10-01T00:00:00Z",
    ),
];

fn model_json(m: &(&str, &str, &str)) -> Value {
    json!({"type": "model", "id": m.0, "display_name": m.1, "created_at": m.2})
}

async fn list_models() -> Response {
    let data: Vec<Value> = MODELS.iter().map(model_json).collect();
    axum::Json(json!({
        "data": data,
        "has_more": false,
        "first_id": MODELS.first().map(|m| m.0),
        "last_id": MODELS.last().map(|m| m.0),
    }))
    .into_response()
}

async fn get_model(Path(id): Path<String>) -> Response {
    match MODELS.iter().find(|m| m.0 == id) {
        Some(m) => axum::Json(model_json(m)).into_response(),
        None => error_response(StatusCode::NOT_FOUND, "not_found_error", "model not found"),
    }
}

/// A running mock, for the binary, tests and benches.
pub struct RunningMock {
    pub addr: SocketAddr,
    pub state: Arc<MockState>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningMock {
    pub fn start(listener: TcpListener, options: MockOptions) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let state = Arc::new(MockState::new(options));
        let app = router(state.clone());
        let task = tokio::spawn(async move {
            use axum::serve::ListenerExt;
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "Mock upstream stopped.");
            }
        });
        Ok(Self { addr, state, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits for the server (it runs until the process ends).
    pub async fn wait(self) {
        let _ = self.task.await;
    }

    pub fn abort(&self) {
        self.task.abort();
    }
}

/// How long a `cut_stream` waits after its last record before dropping the connection.
const BREAK_OFF_AFTER: Duration = Duration::from_millis(50);

/// Counts a stream as active until its body is dropped (sent to the end, or abandoned).
struct ActiveStream(Arc<AtomicI64>);

impl ActiveStream {
    fn new(counter: &Arc<AtomicI64>) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Self(counter.clone())
    }
}

impl Drop for ActiveStream {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A stream body from SSE records, paced by `delay`, optionally breaking off (an I/O error, which
/// makes the server drop the connection mid-body) after the last record.
pub(crate) fn sse_body(
    state: &MockState,
    records: Vec<Bytes>,
    delay: Duration,
    break_off: bool,
) -> Body {
    let guard = ActiveStream::new(&state.active_streams);
    let stream = futures_util::stream::unfold(
        (records.into_iter(), guard, false, break_off),
        move |(mut it, guard, started, break_off)| async move {
            match it.next() {
                Some(r) => {
                    if started && !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    Some((Ok::<_, std::io::Error>(r), (it, guard, true, break_off)))
                }
                None if break_off => {
                    // Let what was sent arrive first (a reset discards unread data), then one
                    // error: hyper drops the connection.
                    tokio::time::sleep(BREAK_OFF_AFTER).await;
                    let err = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "cut");
                    Some((Err(err), (it, guard, true, false)))
                }
                None => None,
            }
        },
    );
    Body::from_stream(stream)
}
