//! The proxied endpoints: parse and check the request, run the policy's filter chain, forward,
//! and hand the upstream response to the relay.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use http::request::Parts;

use super::AppState;
use super::body::read_limited;
use super::error::ApiError;
use super::metrics::Decision;
use super::relay;
use super::trail::{self, Trail};
use crate::api::ErrorKind;
use crate::api::MessagesRequest;
use crate::api::messages::Endpoint;
use crate::audit::Decision as AuditDecision;
use crate::config::UnknownTeam;
use crate::filter::{ChainOutcome, RequestContext};
use crate::ids::{Principal, RequestId};
use crate::upstream::UpstreamResponse;

pub async fn create_message(
    State(state): State<Arc<AppState>>,
    Extension(id): Extension<RequestId>,
    Extension(principal): Extension<Principal>,
    request: Request,
) -> Result<Response, ApiError> {
    messages(state, id, principal, request, Endpoint::Messages).await
}

pub async fn count_tokens(
    State(state): State<Arc<AppState>>,
    Extension(id): Extension<RequestId>,
    Extension(principal): Extension<Principal>,
    request: Request,
) -> Result<Response, ApiError> {
    messages(state, id, principal, request, Endpoint::CountTokens).await
}

fn path_and_query(parts: &Parts) -> http::uri::PathAndQuery {
    parts
        .uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/"))
}

/// The team's compiled policy (the default one when the config says unknown teams get it); a
/// team with none is refused.
pub(super) fn team_policy(
    state: &AppState,
    principal: &Principal,
) -> Result<crate::policy::CompiledPolicy, ApiError> {
    let set = state.policies.current();
    let fallback = state.config.policies.unknown_team == UnknownTeam::Default;
    set.for_team(principal.team.as_str(), fallback)
        .cloned()
        .ok_or_else(|| no_policy(principal))
}

fn no_policy(principal: &Principal) -> ApiError {
    ApiError::new(
        ErrorKind::Permission,
        format!(
            "no policy for team '{}' (add policies/{}.yaml, or set policies.unknown_team: default)",
            principal.team, principal.team
        ),
    )
    .with_rule("policy")
    .no_retry()
}

/// Sends the request upstream with its method, path, query and headers.
pub(super) async fn forward(
    state: &AppState,
    parts: &Parts,
    body: Bytes,
) -> Result<UpstreamResponse, ApiError> {
    Ok(state
        .forwarder
        .send(
            parts.method.clone(),
            &path_and_query(parts),
            &parts.headers,
            body,
        )
        .await?)
}

async fn messages(
    state: Arc<AppState>,
    id: RequestId,
    principal: Principal,
    request: Request,
    endpoint: Endpoint,
) -> Result<Response, ApiError> {
    let began = std::time::Instant::now();
    #[cfg_attr(not(feature = "otlp"), allow(unused_mut))]
    let (mut parts, body) = request.into_parts();
    let mut trail = Some(Trail::begin(&state, &id, &principal, &parts));
    #[cfg(feature = "otlp")]
    if let (Some(exporter), Some(t)) = (&state.telemetry, trail.as_mut()) {
        // Warden's span joins the caller's trace, and upstream sees Warden as its parent.
        let context = crate::telemetry::TraceContext::join(
            parts
                .headers
                .get("traceparent")
                .and_then(|v| v.to_str().ok()),
        );
        if let Ok(v) = http::HeaderValue::from_str(&context.upstream_header()) {
            parts.headers.insert("traceparent", v);
        }
        t.set_trace(context, exporter.clone());
    }
    let mut blocked = false;
    let result = exchange(
        &state,
        &id,
        &principal,
        parts,
        body,
        endpoint,
        &mut trail,
        &mut blocked,
        began,
    )
    .await;
    let (status, decision) = match &result {
        Ok(response) => (response.status().as_u16(), Decision::Forwarded),
        Err(e) if blocked => (e.kind.status().as_u16(), Decision::Blocked),
        Err(e) => (e.kind.status().as_u16(), Decision::Error),
    };
    let endpoint_label = match endpoint {
        Endpoint::Messages => "/v1/messages",
        Endpoint::CountTokens => "/v1/messages/count_tokens",
    };
    state
        .metrics
        .request(principal.team.as_str(), endpoint_label, status, decision);
    // A stream takes its trail along and completes it when it ends; everything else ends here,
    // on disk before the response goes out.
    if let Some(trail) = trail {
        let durable = match &result {
            Ok(response) => {
                trail.finish(AuditDecision::Forwarded, response.status().as_u16(), None)
            }
            Err(e) => trail.finish(
                if blocked {
                    AuditDecision::Blocked
                } else {
                    AuditDecision::Error
                },
                e.kind.status().as_u16(),
                e.rule.clone(),
            ),
        };
        durable.written().await;
    }
    result
}

#[expect(
    clippy::too_many_arguments,
    reason = "the parts of one exchange, threaded once"
)]
async fn exchange(
    state: &Arc<AppState>,
    id: &RequestId,
    principal: &Principal,
    parts: Parts,
    body: axum::body::Body,
    endpoint: Endpoint,
    trail: &mut Option<Trail>,
    blocked: &mut bool,
    began: std::time::Instant,
) -> Result<Response, ApiError> {
    let bytes = read_limited(body, &parts.headers, &state.config.limits).await?;
    let mut parsed =
        MessagesRequest::parse_within(&bytes, endpoint, state.config.limits.max_json_depth)?;
    super::shape::check_blocks(&parsed, state.config.limits.max_content_blocks)?;
    let stream_slot = if parsed.is_streaming() {
        Some(state.streams.clone().try_acquire_owned().map_err(|_| {
            ApiError::new(
                ErrorKind::Overloaded,
                format!(
                    "Warden is relaying its maximum of {} streams (limits.max_streams); retry shortly",
                    state.config.limits.max_streams
                ),
            )
            .with_rule("limits.max_streams")
        })?)
    } else {
        None
    };
    let set = state.policies.current();
    let fallback = state.config.policies.unknown_team == UnknownTeam::Default;
    let compiled = set
        .for_team(principal.team.as_str(), fallback)
        .ok_or_else(|| no_policy(principal))?;
    let policy = &compiled.policy;
    let estimate = match endpoint {
        Endpoint::Messages => crate::server::quota::estimate_tokens(bytes.len()),
        Endpoint::CountTokens => 0,
    };
    let charge = state
        .quotas
        .admit(
            &policy.quotas,
            principal.key_id.as_str(),
            principal.team.as_str(),
            estimate,
        )
        .map_err(|e| {
            ApiError::from(e).with_policy(&format!("{}@{}", policy.name, policy.version))
        })?;
    if let Some(t) = trail.as_mut() {
        t.set_quota(state.quotas.clone(), charge);
        t.set_policy(policy);
        t.set_request(&parsed.model, parsed.is_streaming());
    }
    let policy_header = format!("{}@{}", policy.name, policy.version);
    let mut ctx = RequestContext::new(id, principal, state.fingerprint_key.expose().as_bytes());
    ctx.approvals = Some(state.approvals.clone());
    let outcome = compiled.chain.run_request(&mut parsed, &mut ctx);
    state.metrics.findings(&ctx.findings);
    if let Some(t) = trail.as_mut() {
        t.set_findings(&ctx.findings);
        t.set_tool_results(&parsed, &ctx.findings);
    }
    tracing::debug!(request_id = %id, policy = %policy_header, findings = ctx.findings.len(), "Request filtered.");
    let outcome = match outcome {
        Ok(o) => o,
        Err(rejection) => {
            *blocked = true;
            if let Some(t) = trail.as_mut() {
                t.set_prompt(bytes.clone(), None);
            }
            return Err(ApiError::from(rejection).with_policy(&policy_header));
        }
    };
    let checked = match check_approvals(state, &ctx).await {
        Ok(()) => {
            super::files::check_file_ids(state, principal, &super::files::file_ids(&bytes)).await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = checked {
        *blocked = e.kind == ErrorKind::Permission;
        if let Some(t) = trail.as_mut() {
            t.set_prompt(bytes.clone(), None);
        }
        return Err(e.with_policy(&policy_header));
    }
    if let Some(t) = trail.as_mut() {
        t.set_tool_log(ctx.tool_log.clone());
        t.set_reply_findings(ctx.reply_findings.clone());
    }
    if !trail::admits(state, policy) {
        // Rule 4 of the design: nothing goes out that cannot be recorded, unless policy allows.
        return Err(trail::cannot_record().with_policy(&policy_header));
    }
    let pipeline = compiled.chain.response_pipeline(&ctx);
    // Rule 1 of the design: a request no filter changed goes out as the bytes that came in.
    let body = match outcome {
        ChainOutcome::Unchanged => bytes.clone(),
        ChainOutcome::Rewritten => Bytes::from(parsed.to_bytes().map_err(|_| {
            ApiError::new(
                ErrorKind::Api,
                "Warden could not re-encode the filtered request",
            )
            .with_rule("filter")
        })?),
    };
    if let Some(t) = trail.as_mut() {
        t.set_prompt(bytes.clone(), Some(body.clone()));
    }
    let sent = std::time::Instant::now();
    state.metrics.added_latency(sent - began);
    let upstream = forward(state, &parts, body).await?;
    state.metrics.upstream_latency(sent.elapsed());
    if let Some(t) = trail.as_mut() {
        let upstream_id = upstream
            .headers()
            .get("request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        t.set_upstream(upstream_id, sent.elapsed());
    }
    let mut response = relay::respond(state, upstream, pipeline, id, trail, stream_slot).await?;
    if let Ok(v) = http::HeaderValue::from_str(&policy_header) {
        response.headers_mut().insert("x-warden-policy", v);
    }
    Ok(response)
}

/// A tool result may come back only for the call Warden relayed, and only once a human approved
/// it when policy asked for approval. A store that cannot say refuses the request (fail closed).
pub(super) async fn check_approvals(
    state: &AppState,
    ctx: &RequestContext<'_>,
) -> Result<(), ApiError> {
    if ctx.approval_proofs.is_empty() {
        return Ok(());
    }
    let refusal = state
        .approvals
        .check_results(&ctx.approval_proofs)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "Cannot check approvals for tool results; refusing.");
            ApiError::new(
                ErrorKind::Unavailable,
                "Warden cannot check the approvals this request's tool results need; try again",
            )
            .with_rule("tools.approval")
        })?;
    match refusal {
        None => Ok(()),
        Some(r) => Err(ApiError::new(ErrorKind::Permission, r.message)
            .with_rule(r.rule)
            .no_retry()),
    }
}

/// Forwards a request that carries no message content (models, configured pass-through paths)
/// and relays the answer as it comes. Each one is recorded in the audit store like any other
/// request that reaches upstream (no prompt: its body is not a conversation).
pub async fn passthrough(
    State(state): State<Arc<AppState>>,
    Extension(id): Extension<RequestId>,
    Extension(principal): Extension<Principal>,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let trail = Trail::begin(&state, &id, &principal, &parts);
    let result = async {
        let bytes = read_limited(body, &parts.headers, &state.config.limits).await?;
        if !trail::admits_team(&state, principal.team.as_str()) {
            return Err(trail::cannot_record());
        }
        let upstream = forward(&state, &parts, bytes).await?;
        Ok(relay::verbatim(upstream))
    }
    .await;
    trail.finish_with(&result, false).written().await;
    result
}

/// Any path not routed: forwarded if the config lists its prefix, else 404. Prefixes match
/// whole segments of the path, which [`super::path`] has already refused unless canonical.
pub async fn fallback(
    state: State<Arc<AppState>>,
    id: Extension<RequestId>,
    principal: Extension<Principal>,
    request: Request,
) -> Result<Response, ApiError> {
    let path = request.uri().path();
    let listed = state.config.passthrough_paths.iter().any(|prefix| {
        let prefix = prefix.trim_end_matches('/');
        path == prefix
            || path
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/'))
    });
    if listed {
        passthrough(state, id, principal, request).await
    } else {
        Err(ApiError::not_found_for(path))
    }
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorKind::MethodNotAllowed,
        "this method is not allowed on this path",
    )
    .with_rule("router")
}
