//! The admin API, on its own listener: pending approvals for approvers and auditors, and the
//! decisions. Authenticated with admin keys (`wadm_…`, `Authorization: Bearer` or `x-api-key`),
//! which carry roles; Warden keys are a different type and are never accepted here.
//!
//! - `GET  /admin/approvals`              pending calls (auditor, approver, admin)
//! - `GET  /admin/approvals/{id}`         one call and its decision (auditor, approver, admin)
//! - `POST /admin/approvals/{id}/approve` `{"reason": "…"}` (approver, admin)
//! - `POST /admin/approvals/{id}/reject`  `{"reason": "…"}` (approver, admin)
//! - `GET  /admin/`                       the approver's page (static; it asks for the key)

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::{Approvals, Approver, DecideError, Outcome};
use crate::audit::{ApprovalDecisionRow, ApprovalRequestRow};
use crate::config::{AdminKeyEntry, AdminRole};
use crate::policy::reload::PolicyStore;

/// An authenticated admin key.
#[derive(Clone, Debug)]
pub struct AdminIdentity {
    pub id: String,
    pub name: String,
    pub roles: Vec<AdminRole>,
    pub groups: Vec<String>,
}

impl AdminIdentity {
    fn may(&self, wanted: &[AdminRole]) -> bool {
        self.roles
            .iter()
            .any(|r| *r == AdminRole::Admin || wanted.contains(r))
    }
}

/// Admin keys by the SHA-256 of the key.
#[derive(Debug, Default)]
pub struct AdminKeys {
    by_hash: HashMap<[u8; 32], AdminIdentity>,
}

impl AdminKeys {
    pub fn from_entries(entries: &[AdminKeyEntry]) -> Self {
        let mut by_hash = HashMap::new();
        for e in entries {
            if let Some(hash) = crate::server::auth::parse_key_hash(&e.sha256) {
                by_hash.insert(
                    hash,
                    AdminIdentity {
                        id: e.id.clone(),
                        name: e.name.clone(),
                        roles: e.roles.clone(),
                        groups: e.groups.clone(),
                    },
                );
            }
        }
        Self { by_hash }
    }

    fn lookup(&self, headers: &HeaderMap) -> Option<&AdminIdentity> {
        // Only admin keys: a Warden key (`wdn_…`) is not even hashed and looked up.
        crate::server::auth::presented_keys(headers)
            .filter(|k| k.starts_with("wadm_"))
            .find_map(|k| self.by_hash.get(&crate::server::auth::hash_key(k)))
    }
}

pub struct AdminState {
    pub approvals: Arc<Approvals>,
    pub policies: Arc<PolicyStore>,
    /// Shared with the gateway, which swaps them when the config is reloaded.
    pub keys: Arc<arc_swap::ArcSwap<AdminKeys>>,
}

fn error(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    (
        status,
        axum::Json(json!({"type": "error", "error": {"type": kind, "message": message.into()}})),
    )
        .into_response()
}

/// The admin router; every route but the page requires an admin key.
pub fn router(state: Arc<AdminState>) -> Router {
    let api = Router::new()
        .route("/admin/approvals", get(list))
        .route("/admin/approvals/{id}", get(show))
        .route("/admin/approvals/{id}/approve", post(approve))
        .route("/admin/approvals/{id}/reject", post(reject))
        .layer(middleware::from_fn_with_state(state.clone(), require_admin));
    Router::new()
        // The listener's root leads to the page, the address people type.
        .route(
            "/",
            get(|| async { axum::response::Redirect::to("/admin/") }),
        )
        .route("/admin", get(page))
        .route("/admin/", get(page))
        .merge(api)
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "not_found_error",
                "no such admin route",
            )
        })
        .method_not_allowed_fallback(|| async {
            error(
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request_error",
                "this method is not allowed on this admin route",
            )
        })
        .layer(middleware::map_response(no_store))
        .with_state(state)
}

/// Approvals and their inputs are for the approver's eyes: no cache keeps them, and no browser
/// guesses another content type.
pub async fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    headers.insert(
        http::header::X_CONTENT_TYPE_OPTIONS,
        http::HeaderValue::from_static("nosniff"),
    );
    response
}

async fn require_admin(
    State(state): State<Arc<AdminState>>,
    mut request: Request,
    next: Next,
) -> Response {
    match state.keys.load().lookup(request.headers()) {
        Some(identity) => {
            let identity = identity.clone();
            request.extensions_mut().insert(identity);
            next.run(request).await
        }
        None => {
            // What was wrong, never the key itself.
            let sent: Vec<&str> = crate::server::auth::presented_keys(request.headers())
                .filter(|k| !k.is_empty())
                .collect();
            let (reason, message) = if sent.is_empty() {
                (
                    "no_key",
                    "no key was sent: the admin API takes an admin key (Authorization: Bearer wadm_…, made with `warden keys new-admin`)",
                )
            } else if sent.iter().any(|k| k.starts_with("wdn_")) {
                (
                    "warden_key",
                    "a Warden key (wdn_…) was sent: the admin listener takes admin keys only (wadm_…, made with `warden keys new-admin`)",
                )
            } else if sent.iter().any(|k| k.starts_with("wadm_")) {
                (
                    "unknown_key",
                    "the admin key sent is not one of this Warden's admin keys (admin: keys: in its config)",
                )
            } else {
                (
                    "unknown_key",
                    "the key sent is not an admin key: admin keys start with wadm_ (made with `warden keys new-admin`)",
                )
            };
            state.approvals.admin_refused(reason);
            tracing::warn!(
                reason,
                method = %request.method(),
                path = %request.uri().path(),
                "Admin request refused: not authenticated."
            );
            error(StatusCode::UNAUTHORIZED, "authentication_error", message)
        }
    }
}

fn request_json(r: &ApprovalRequestRow) -> Value {
    json!({
        "id": r.id,
        "tool_name": r.tool_name,
        "input": serde_json::from_str::<Value>(&r.input).unwrap_or(Value::String(r.input.clone())),
        "principal": r.principal,
        "team": r.team,
        "key_id": r.key_id,
        "last_user_message": r.last_user_message,
        "rule": r.rule,
        "policy_version": r.policy_version,
        "exchange_id": r.exchange_id,
        "tool_use_id": r.tool_use_id,
        "instance_id": r.instance_id,
        "requested_at": r.requested_at.to_rfc3339(),
        "expires_at": r.expires_at.to_rfc3339(),
    })
}

fn decision_json(d: &ApprovalDecisionRow) -> Value {
    json!({
        "decision": d.decision,
        "decided_by": d.decided_by,
        "decided_at": d.decided_at.to_rfc3339(),
        "reason": d.reason,
    })
}

fn store_error(e: impl std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "Admin API: the store did not answer.");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "api_error",
        "the approvals store is not answering; try again",
    )
}

async fn list(
    State(state): State<Arc<AdminState>>,
    axum::Extension(who): axum::Extension<AdminIdentity>,
) -> Response {
    if !who.may(&[AdminRole::Approver, AdminRole::Auditor]) {
        return forbidden(&state, &who, "list approvals");
    }
    match state.approvals.pending().await {
        Ok(rows) => axum::Json(json!({
            "data": rows.iter().map(request_json).collect::<Vec<_>>()
        }))
        .into_response(),
        Err(e) => store_error(e),
    }
}

async fn show(
    State(state): State<Arc<AdminState>>,
    axum::Extension(who): axum::Extension<AdminIdentity>,
    Path(id): Path<String>,
) -> Response {
    if !who.may(&[AdminRole::Approver, AdminRole::Auditor]) {
        return forbidden(&state, &who, "read approvals");
    }
    match state.approvals.get(&id).await {
        Ok(Some((r, d))) => {
            let mut v = request_json(&r);
            v["status"] = json!(d.as_ref().map_or("pending", |d| d.decision.as_str()));
            v["decision"] = d.as_ref().map(decision_json).unwrap_or(Value::Null);
            v["events"] = match state.approvals.events(&id).await {
                Ok(events) => events
                    .iter()
                    .map(|e| {
                        json!({
                            "event": e.event,
                            "occurred_at": e.occurred_at.to_rfc3339(),
                            "instance_id": e.instance_id,
                            "detail": e.detail,
                        })
                    })
                    .collect(),
                Err(e) => return store_error(e),
            };
            axum::Json(v).into_response()
        }
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "not_found_error",
            format!("no approval {id}"),
        ),
        Err(e) => store_error(e),
    }
}

fn forbidden(state: &AdminState, who: &AdminIdentity, action: &str) -> Response {
    state.approvals.admin_refused("role");
    tracing::warn!(key_id = %who.id, name = %who.name, action, "Admin request refused: no role for it.");
    error(
        StatusCode::FORBIDDEN,
        "permission_error",
        format!(
            "admin key '{}' ({}) may not {action}: its roles are {}",
            who.id,
            who.name,
            who.roles
                .iter()
                .map(|r| format!("{r:?}").to_lowercase())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
}

async fn approve(
    state: State<Arc<AdminState>>,
    who: axum::Extension<AdminIdentity>,
    id: Path<String>,
    body: axum::body::Bytes,
) -> Response {
    decide(state, who, id, body, true).await
}

async fn reject(
    state: State<Arc<AdminState>>,
    who: axum::Extension<AdminIdentity>,
    id: Path<String>,
    body: axum::body::Bytes,
) -> Response {
    decide(state, who, id, body, false).await
}

async fn decide(
    State(state): State<Arc<AdminState>>,
    axum::Extension(who): axum::Extension<AdminIdentity>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
    approve: bool,
) -> Response {
    if !who.may(&[AdminRole::Approver]) {
        return forbidden(&state, &who, "decide approvals (the approver role)");
    }
    let reason = if body.is_empty() {
        None
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) => v["reason"].as_str().map(str::to_string),
            Err(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    "body must be JSON: {\"reason\": \"…\"}",
                );
            }
        }
    };
    let approver = Approver {
        name: who.name.clone(),
        groups: who.groups.clone(),
    };
    match state
        .approvals
        .decide(&id, &approver, approve, reason, |team| {
            let set = state.policies.current();
            set.policies
                .get(team)
                .map(|p| p.policy.tools.approval.clone())
        })
        .await
    {
        Ok(outcome) => {
            let decision = match &outcome {
                Outcome::Approved { .. } => "approved",
                _ => "rejected",
            };
            axum::Json(json!({"id": id, "decision": decision, "decided_by": who.name}))
                .into_response()
        }
        Err(DecideError::NotFound(_)) => error(
            StatusCode::NOT_FOUND,
            "not_found_error",
            format!("no approval {id}"),
        ),
        Err(e @ DecideError::AlreadyDecided(..)) => {
            error(StatusCode::CONFLICT, "invalid_request_error", e.to_string())
        }
        Err(DecideError::Forbidden(m)) => {
            state.approvals.admin_refused("decision");
            tracing::warn!(approval_id = %id, name = %who.name, why = %m, "Approval decision refused.");
            error(StatusCode::FORBIDDEN, "permission_error", m)
        }
        Err(DecideError::Store(e)) => store_error(e),
    }
}

const PAGE: &str = include_str!("page.html");

/// The page's Content-Security-Policy: nothing loads but the page's own inline script and style
/// (by hash) and calls to this listener; no framing, no forms posted elsewhere, no base URL.
fn page_csp() -> &'static str {
    static CSP: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CSP.get_or_init(|| {
        use base64::Engine as _;
        use sha2::{Digest, Sha256};
        let inline = |open: &str, close: &str| -> String {
            let body = PAGE
                .split_once(open)
                .and_then(|(_, rest)| rest.split_once(close))
                .map_or("", |(body, _)| body);
            let digest = Sha256::digest(body.as_bytes());
            format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            )
        };
        format!(
            "default-src 'none'; script-src {}; style-src {}; connect-src 'self'; \
             frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
            inline("<script>", "</script>"),
            inline("<style>", "</style>"),
        )
    })
}

async fn page() -> impl IntoResponse {
    (
        [
            (http::header::CONTENT_SECURITY_POLICY, page_csp()),
            (http::header::X_FRAME_OPTIONS, "DENY"),
            (http::header::REFERRER_POLICY, "no-referrer"),
        ],
        Html(PAGE),
    )
}
