//! The HTTP edge: the router, ingress limits, auth, error mapping, health endpoints and graceful
//! shutdown. How filters decide is not its business; it runs the chain and relays.

mod access;
pub mod auth;
mod batches;
pub mod body;
pub mod error;
mod files;
mod health;
mod listener;
pub mod metrics;
mod owned;
mod path;
mod proxy;
pub mod quota;
mod relay;
mod shape;
mod trail;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::FutureExt;
use http::HeaderValue;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::audit::{AuditStore, AuditWriter, WriterConfig};
use crate::config::Config;
use crate::ids::{Principal, RequestId};
use crate::policy::PolicyError;
use crate::policy::reload::PolicyStore;
use crate::secret::Secret;
use crate::upstream::{Forwarder, UpstreamError};
use auth::KeyStore;
use error::ApiError;

/// After the grace period, how long cut streams get to send their final error event.
const CUT_FLUSH_MS: u64 = 1_000;

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error("invalid policies:\n  {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Policy(Vec<PolicyError>),
    #[error("audit store: {0}")]
    Audit(#[from] crate::audit::StoreError),
    #[error("{0}")]
    Telemetry(String),
    #[error("audit pruning: {0}")]
    TombstoneKey(#[from] crate::audit::tombstone::KeyError),
}

/// Everything a request handler needs, shared by all requests.
pub struct AppState {
    pub config: Config,
    /// Warden keys; replaced whole when the config is reloaded (SIGHUP).
    pub keys: arc_swap::ArcSwap<KeyStore>,
    /// Admin keys, shared with the admin listener; replaced with the Warden keys.
    pub admin_keys: Arc<arc_swap::ArcSwap<crate::approvals::admin::AdminKeys>>,
    pub forwarder: Forwarder,
    pub policies: Arc<PolicyStore>,
    /// Key for findings' fingerprints; memory only.
    pub fingerprint_key: Secret,
    pub metrics: Arc<metrics::Metrics>,
    /// Which refused requests get an audit row (a sample; all are counted).
    pub refusals: auth::RefusalSampler,
    /// Requests and tokens per minute, per key and team (this replica's share).
    pub quotas: Arc<crate::server::quota::Quotas>,
    /// Takes one record per exchange; never blocks the request path.
    pub audit: AuditWriter,
    /// Tool calls held for a human's decision.
    pub approvals: Arc<crate::approvals::Approvals>,
    /// The audit database, for what must be read or written at once (who owns a batch or file).
    pub store: AuditStore,
    /// Seals what Warden keeps of a batch's items until their results come (loaded on first use).
    pub sealer: owned::SealerSlot,
    /// Cancelled when shutdown begins; `/readyz` turns 503 so load balancers stop sending.
    pub shutting_down: CancellationToken,
    /// Cancelled when the shutdown grace period is over: streams still open end with an error.
    pub cut_streams: CancellationToken,
    /// One permit per streamed reply being relayed (`limits.max_streams`).
    pub streams: Arc<tokio::sync::Semaphore>,
    /// Span export, when `telemetry.otlp_endpoint` is set.
    #[cfg(feature = "otlp")]
    pub telemetry: Option<crate::telemetry::Exporter>,
    ready: AtomicBool,
}

impl AppState {
    /// Builds the state: the upstream client, and the policies from `config.policies.dir`
    /// (invalid policies stop the start: fail closed).
    pub async fn new(
        config: Config,
        upstream_key: Option<Secret>,
        fingerprint_key: Secret,
    ) -> Result<Self, StartError> {
        let forwarder = Forwarder::new(&config.upstream, upstream_key)?;
        if !config.passthrough_paths.is_empty() {
            tracing::warn!(
                paths = ?config.passthrough_paths,
                "Requests under these path prefixes go upstream without policy: their bodies are not scanned (Messages, Batches and Files have their own routes whatever this list says)."
            );
        }
        let policies = PolicyStore::open(&config.policies.dir).map_err(StartError::Policy)?;
        let store = AuditStore::connect(&config.audit.url()).await?;
        if config.audit.migrate_on_start {
            if let Err(e) = store.migrate().await {
                // A database that is down at start must not stop the gateway: records spool
                // until it answers, and the writer migrates before its first insert.
                tracing::warn!(error = %e, "Audit database not ready at start; spooling until it is.");
            }
        }
        let instance_id = format!(
            "{}-{}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "warden".into()),
            &crate::ids::new_key_id()[4..]
        );
        let owned_store = store.clone();
        let approvals = crate::approvals::Approvals::new(
            store.clone(),
            instance_id.clone(),
            config.approvals.webhook_url.clone(),
            Duration::from_millis(config.approvals.poll_interval_ms.max(10)),
        );
        approvals.listen();
        let policies = Arc::new(policies);
        if config.audit.prune_interval_seconds > 0 {
            let key = crate::audit::tombstone::TombstoneKey::load_or_create(
                &config.audit,
                std::env::var(crate::audit::tombstone::KEY_ENV).ok(),
            )?;
            prune_on_timer(
                store.clone(),
                policies.clone(),
                key,
                Duration::from_secs(config.audit.prune_interval_seconds),
            );
        }
        // The writer task runs until the last handle (this state's) is gone.
        let (audit, _writer_task) = AuditWriter::start(
            store,
            WriterConfig {
                batch_rows: config.audit.batch_rows,
                flush_interval_ms: config.audit.flush_interval_ms,
                queue_capacity: config.audit.queue_capacity,
                queue_max_bytes: config.audit.queue_max_bytes,
                spool_path: config.audit.spool_path.clone(),
                retry_interval_ms: 1_000,
                migrate_on_recover: config.audit.migrate_on_start,
                priority: config.audit.writer_priority,
                durability: config.audit.durability,
            },
            instance_id,
        );
        let audit = if config.audit.enabled {
            audit
        } else {
            tracing::warn!(
                "Audit records are OFF (audit.enabled: false): no exchange will be recorded. Never run production like this."
            );
            audit.disabled()
        };
        Ok(Self {
            audit,
            approvals,
            store: owned_store,
            sealer: owned::SealerSlot::default(),
            keys: arc_swap::ArcSwap::from_pointee(KeyStore::from_entries(&config.keys)),
            admin_keys: Arc::new(arc_swap::ArcSwap::from_pointee(
                crate::approvals::admin::AdminKeys::from_entries(&config.admin.keys),
            )),
            forwarder,
            policies,
            fingerprint_key,
            metrics: Arc::default(),
            refusals: auth::RefusalSampler::default(),
            quotas: Arc::default(),
            shutting_down: CancellationToken::new(),
            cut_streams: CancellationToken::new(),
            streams: Arc::new(tokio::sync::Semaphore::new(config.limits.max_streams)),
            #[cfg(feature = "otlp")]
            telemetry: match &config.telemetry.otlp_endpoint {
                Some(endpoint) => Some(
                    crate::telemetry::Exporter::start(
                        endpoint,
                        &config.telemetry.service_name,
                        Duration::from_millis(config.telemetry.flush_interval_ms.max(10)),
                    )
                    .map_err(StartError::Telemetry)?,
                ),
                None => None,
            },
            ready: AtomicBool::new(true),
            config,
        })
    }

    /// Takes the keys (Warden and admin) of a reloaded config; the rest of the config needs a
    /// restart, and the log says which parts differ.
    pub fn reload_keys(&self, config: &Config) {
        self.keys
            .store(Arc::new(KeyStore::from_entries(&config.keys)));
        self.admin_keys
            .store(Arc::new(crate::approvals::admin::AdminKeys::from_entries(
                &config.admin.keys,
            )));
        tracing::info!(
            keys = config.keys.len(),
            admin_keys = config.admin.keys.len(),
            "Keys reloaded; other configuration changes take effect at the next restart."
        );
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed) && !self.shutting_down.is_cancelled()
    }
}

/// Prunes exchanges past their team's retention every `every`, with the policies current at
/// each tick. Replicas may all do it: a prune removes what is due, so the next finds nothing.
fn prune_on_timer(
    store: AuditStore,
    policies: Arc<PolicyStore>,
    key: crate::audit::tombstone::TombstoneKey,
    every: Duration,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let (retention, default_days) = policies.current().retention();
            match store.prune(&retention, default_days, &key).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "Pruned exchanges past their retention."),
                Err(e) => {
                    tracing::warn!(error = %e, "Audit prune failed; trying again at the next interval.")
                }
            }
        }
    });
}

/// The public listener's routes that answer without a key; everything else needs one.
pub const OPEN_ROUTES: [&str; 3] = ["/", "/healthz", "/readyz"];

/// The public listener's keyed routes (the fallback, for every other path and method, is keyed
/// too).
pub const KEYED_ROUTES: [&str; 11] = [
    "/v1/messages",
    "/v1/messages/count_tokens",
    "/v1/models",
    "/v1/models/{id}",
    "/v1/messages/batches",
    "/v1/messages/batches/{id}",
    "/v1/messages/batches/{id}/cancel",
    "/v1/messages/batches/{id}/results",
    "/v1/files",
    "/v1/files/{id}",
    "/v1/files/{id}/content",
];

/// The router. Layers run outermost first:
/// 1. `request_context`: a request id for every response, Warden's own errors rendered with it,
///    and one log line per request;
/// 2. `path::canonical_path`: a path that a normaliser could read as another is a 400, before
///    any route or pass-through prefix sees it;
/// 3. `auth::require_key` on every route except the open list (`/`, `/healthz`, `/readyz`), so
///    no route added later can be left open by accident. `/metrics` is on the admin listener.
pub fn router(state: Arc<AppState>) -> Router {
    let [
        messages,
        count_tokens,
        models,
        model,
        batches_,
        batch,
        batch_cancel,
        batch_results,
        files_,
        file,
        file_content,
    ] = KEYED_ROUTES;
    let [probe, healthz, readyz] = OPEN_ROUTES;
    let authenticated = Router::new()
        .route(messages, post(proxy::create_message))
        .route(count_tokens, post(proxy::count_tokens))
        .route(models, get(proxy::passthrough))
        .route(model, get(proxy::passthrough))
        .route(batches_, post(batches::create).get(batches::list))
        .route(batch, get(batches::one).delete(batches::one))
        .route(batch_cancel, post(batches::one))
        .route(batch_results, get(batches::results))
        .route(files_, post(files::upload).get(files::list))
        .route(file, get(files::one).delete(files::one))
        .route(file_content, get(files::one))
        .fallback(proxy::fallback)
        .method_not_allowed_fallback(proxy::method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_key,
        ));
    let open = Router::new()
        .route(probe, get(health::probe))
        .route(healthz, get(health::healthz))
        .route(readyz, get(health::readyz))
        .method_not_allowed_fallback(proxy::method_not_allowed);
    open.merge(authenticated)
        .layer(middleware::from_fn_with_state(state.clone(), header_limits))
        .layer(middleware::from_fn(path::canonical_path))
        .layer(middleware::from_fn(request_context))
        .with_state(state)
}

/// Refuses a request head over `limits.max_headers` or `limits.max_header_bytes` with the API's
/// error shape (hyper's parser stops at twice those, with a bare 431).
async fn header_limits(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let limits = &state.config.limits;
    let headers = request.headers();
    let uri = request.uri();
    let bytes: usize = uri.path_and_query().map_or(0, |p| p.as_str().len())
        + uri.authority().map_or(0, |a| a.as_str().len())
        + headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum::<usize>();
    if headers.len() > limits.max_headers {
        return ApiError::new(
            crate::api::ErrorKind::HeadersTooLarge,
            format!(
                "the request has {} headers, more than limits.max_headers ({})",
                headers.len(),
                limits.max_headers
            ),
        )
        .with_rule("limits.max_headers")
        .no_retry()
        .into_response();
    }
    if bytes > limits.max_header_bytes {
        return ApiError::new(
            crate::api::ErrorKind::HeadersTooLarge,
            format!(
                "the request head is {bytes} bytes, more than limits.max_header_bytes ({})",
                limits.max_header_bytes
            ),
        )
        .with_rule("limits.max_header_bytes")
        .no_retry()
        .into_response();
    }
    next.run(request).await
}

/// Assigns the request id, renders Warden's own errors with it, and logs the exchange once its
/// response is done ([`access`]).
async fn request_context(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = RequestId::generate();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    request.extensions_mut().insert(id.clone());
    // A bug must not take the connection down without an answer: a panic in a handler becomes an
    // `api_error`, and nothing that had not already been sent upstream goes out.
    let mut response = match std::panic::AssertUnwindSafe(next.run(request))
        .catch_unwind()
        .await
    {
        Ok(response) => response,
        Err(_) => {
            tracing::error!(request_id = %id, %method, %path, "A request handler panicked.");
            ApiError::new(crate::api::ErrorKind::Api, "internal error in Warden")
                .with_rule("panic")
                .render(None)
        }
    };
    if let Some(err) = response.extensions().get::<ApiError>().cloned() {
        let principal = response.extensions().get::<Principal>().cloned();
        response = err.render(Some(id.as_str()));
        if let Some(p) = principal {
            response.extensions_mut().insert(p);
        }
    }
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(id.as_str()) {
        if !headers.contains_key("request-id") {
            headers.insert("request-id", v.clone());
        }
        headers.insert("x-warden-request-id", v);
    }
    let line = access::ExchangeLine {
        id,
        method,
        path,
        status: response.status().as_u16(),
        team: response
            .extensions()
            .get::<Principal>()
            .map(|p| p.team.to_string())
            .unwrap_or_default(),
        latency_us: started.elapsed().as_micros() as u64,
        refused: response
            .extensions()
            .get::<ApiError>()
            .map(access::ExchangeLine::refused_by),
        started,
    };
    // The line itself waits for the body's end (a held or long stream may take minutes).
    tracing::debug!(request_id = %line.id, status = line.status, latency_us = line.latency_us, "Response head ready.");
    response.map(|body| access::LoggedBody::wrap(body, line))
}

/// A running server, for the binary and for tests.
pub struct RunningServer {
    pub addr: SocketAddr,
    /// The admin listener's address, when one was given.
    pub admin_addr: Option<SocketAddr>,
    pub state: Arc<AppState>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Starts serving on `listener` in the background.
    pub fn start(listener: TcpListener, state: AppState) -> std::io::Result<Self> {
        Self::start_with_admin(listener, None, state)
    }

    /// Starts serving the API on `listener` and, if given, the admin API on `admin`.
    pub fn start_with_admin(
        listener: TcpListener,
        admin: Option<TcpListener>,
        state: AppState,
    ) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let state = Arc::new(state);
        let shutdown = CancellationToken::new();
        let admin_addr = match admin {
            Some(admin) => {
                let admin_addr = admin.local_addr()?;
                let admin_state = Arc::new(crate::approvals::admin::AdminState {
                    approvals: state.approvals.clone(),
                    policies: state.policies.clone(),
                    keys: state.admin_keys.clone(),
                });
                // Metrics are for the operators' scraper, on the admin listener only.
                let metrics = Router::new()
                    .route("/metrics", get(health::metrics))
                    .layer(axum::middleware::map_response(
                        crate::approvals::admin::no_store,
                    ))
                    .with_state(state.clone());
                let app = crate::approvals::admin::router(admin_state).merge(metrics);
                let stop = shutdown.clone();
                // The admin listener has the API listener's limits, with its own connection
                // budget (a quarter of it at most per client address), so neither listener can
                // starve the other of connections or file descriptors.
                let mut limits = state.config.limits.clone();
                limits.max_connections = limits.admin_max_connections;
                limits.max_connections_per_peer = limits
                    .max_connections_per_peer
                    .min((limits.admin_max_connections / 4).max(1));
                let admin_metrics = Arc::new(metrics::Metrics::default());
                tokio::spawn(async move {
                    let served = listener::serve(admin, app, limits, admin_metrics, stop).await;
                    if let Err(e) = served {
                        tracing::error!(error = %e, "The admin listener stopped.");
                    }
                });
                Some(admin_addr)
            }
            None => None,
        };
        let app = router(state.clone());
        let grace = Duration::from_millis(state.config.shutdown_grace_ms);
        state.policies.clone().watch(
            Duration::from_millis(state.config.policies.reload_interval_ms),
            shutdown.clone(),
        );
        let task = tokio::spawn(serve(listener, app, state.clone(), shutdown.clone(), grace));
        Ok(Self {
            addr,
            admin_addr,
            state,
            shutdown,
            task,
        })
    }

    /// Stops accepting, lets in-flight requests finish up to the grace period, then returns.
    pub async fn shutdown(self) -> std::io::Result<()> {
        self.shutdown.cancel();
        self.task.await.unwrap_or(Ok(()))
    }

    /// A token that starts the shutdown when cancelled (wired to SIGTERM/SIGINT by the binary).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Waits until the server has stopped on its own (after its token was cancelled).
    pub async fn wait(self) -> std::io::Result<()> {
        self.task.await.unwrap_or(Ok(()))
    }
}

async fn serve(
    listener: TcpListener,
    app: Router,
    state: Arc<AppState>,
    shutdown: CancellationToken,
    grace: Duration,
) -> std::io::Result<()> {
    let signal = shutdown.clone();
    let ready_state = state.clone();
    tokio::spawn(async move {
        signal.cancelled().await;
        ready_state.shutting_down.cancel();
        tracing::info!("Shutdown started: no new connections, draining in-flight requests.");
    });
    let server = listener::serve(
        listener,
        app,
        state.config.limits.clone(),
        state.metrics.clone(),
        shutdown.clone(),
    );
    let mut server = std::pin::pin!(server);
    let result = drain(&mut server, &state, &shutdown, grace).await;
    // Last, the audit writer: everything queued goes to the database, or else to the spool.
    state.audit.flush().await;
    result
}

async fn drain(
    server: &mut std::pin::Pin<&mut impl std::future::Future<Output = std::io::Result<()>>>,
    state: &AppState,
    shutdown: &CancellationToken,
    grace: Duration,
) -> std::io::Result<()> {
    tokio::select! {
        result = server.as_mut() => return result,
        () = async {
            shutdown.cancelled().await;
            tokio::time::sleep(grace).await;
        } => {}
    }
    tracing::warn!(
        grace_ms = grace.as_millis() as u64,
        "Shutdown grace period over: ending the remaining streams."
    );
    state.cut_streams.cancel();
    // The cut streams end with an error event; give the connections a moment to send it.
    match tokio::time::timeout(Duration::from_millis(CUT_FLUSH_MS), server.as_mut()).await {
        Ok(result) => result,
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_panicking_handler_answers_with_the_error_envelope() {
        async fn boom() -> &'static str {
            panic!("a bug in a handler")
        }
        let app: Router = Router::new()
            .route("/boom", get(boom))
            .layer(middleware::from_fn(request_context));
        let response = app
            .oneshot(
                http::Request::get("/boom")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("answered");
        assert_eq!(response.status(), 500);
        assert!(response.headers().contains_key("request-id"));
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["error"]["type"], "api_error");
        assert!(
            v["request_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("req_"))
        );
    }
}
