//! Message Batches under policy.
//!
//! - **Create**: every item's `params` goes through the team's filter chain exactly as a
//!   request sent alone would (models, data boundaries, tools, injection, preamble). An item the
//!   policy refuses refuses the batch, with an error naming its `custom_id`, or, with
//!   `batches.blocked_items: drop`, is left out and named in `x-warden-dropped-items`. Each item
//!   is recorded as its own exchange, linked to the batch's exchange (`parent_id`, `custom_id`).
//!   What the reply stages will need later (each item's placeholders, the tools that need
//!   approval after flagged content) is sealed in the batch's ownership row.
//! - **Results**: JSONL, relayed line by line as upstream sends it (never buffered whole); each
//!   succeeded item's message goes through the reply stages of its own item (redaction,
//!   placeholders restored, tool decisions). A tool call that would need a human's approval is
//!   denied: nobody waits on a results download.
//! - **List, retrieve, cancel, delete**: only the team's own batches; `results_url` points at
//!   Warden, never at upstream.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http::request::Parts;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::body::read_limited;
use super::error::ApiError;
use super::owned::{self, Kind};
use super::proxy::{check_approvals, forward, team_policy};
use super::relay;
use super::trail::{self, Trail};
use crate::api::messages::{Endpoint, MessageReply};
use crate::api::sse::Usage;
use crate::api::{ErrorKind, MessagesRequest};
use crate::audit::Decision as AuditDecision;
use crate::filter::{Pseudonyms, ReplyFindings, RequestContext, StageError};
use crate::ids::{Principal, RequestId};
use crate::policy::raw::BlockedItems;

/// The longest results line Warden reads (a whole Message with its content).
const MAX_RESULT_LINE_BYTES: usize = 64 * 1024 * 1024;

/// What the reply stages need of one item when its result comes back.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct ItemMemory {
    /// Placeholder → value.
    restore: Vec<(String, String)>,
    /// Tools (name globs) that need approval because untrusted content was flagged.
    escalated: Vec<String>,
}

/// What is sealed in a batch's ownership row.
#[derive(Debug, Default, Serialize, Deserialize)]
struct BatchMemory {
    /// The exchange that created the batch (its items' `parent_id`).
    exchange_id: String,
    items: HashMap<String, ItemMemory>,
}

fn invalid(message: String) -> ApiError {
    ApiError::new(ErrorKind::InvalidRequest, message)
        .with_rule("request")
        .no_retry()
}

/// One item, as the policy left it.
struct Item {
    custom_id: String,
    trail: Option<Trail>,
    /// The rule that refused it, when policy did.
    refused_by: Option<String>,
    /// `None`: dropped by policy.
    params: Option<Value>,
    memory: ItemMemory,
}

/// `POST /v1/messages/batches`.
pub async fn create(
    State(state): State<Arc<AppState>>,
    Extension(id): Extension<RequestId>,
    Extension(principal): Extension<Principal>,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let mut trail = Trail::begin(&state, &id, &principal, &parts);
    let mut items: Vec<Item> = Vec::new();
    let mut blocked = false;
    let result = create_batch(
        &state,
        &id,
        &principal,
        &parts,
        body,
        &mut trail,
        &mut items,
        &mut blocked,
    )
    .await;
    let (status, rule, decision) = match &result {
        Ok(r) => (r.status().as_u16(), None, AuditDecision::Forwarded),
        Err(e) => (
            e.kind.status().as_u16(),
            e.rule.clone(),
            if blocked {
                AuditDecision::Blocked
            } else {
                AuditDecision::Error
            },
        ),
    };
    state.metrics.request(
        principal.team.as_str(),
        "/v1/messages/batches",
        status,
        match decision {
            AuditDecision::Forwarded => super::metrics::Decision::Forwarded,
            AuditDecision::Blocked => super::metrics::Decision::Blocked,
            AuditDecision::Error => super::metrics::Decision::Error,
        },
    );
    for item in &mut items {
        if let Some(t) = item.trail.take() {
            // An item the policy refused keeps its own verdict; the rest share the batch's.
            let durable = match &item.refused_by {
                None => t.finish(decision, status, rule.clone()),
                Some(by) => t.finish(AuditDecision::Blocked, 403, Some(by.clone())),
            };
            durable.written().await;
        }
    }
    trail.finish(decision, status, rule).written().await;
    result
}

#[expect(
    clippy::too_many_arguments,
    reason = "the parts of one exchange and what it leaves for the audit record"
)]
async fn create_batch(
    state: &Arc<AppState>,
    id: &RequestId,
    principal: &Principal,
    parts: &Parts,
    body: Body,
    trail: &mut Trail,
    items: &mut Vec<Item>,
    blocked: &mut bool,
) -> Result<Response, ApiError> {
    let bytes = read_limited(body, &parts.headers, &state.config.limits).await?;
    let mut envelope = crate::api::strict_value(&bytes).map_err(|e| {
        if e.to_string().contains("repeats a key") {
            invalid("the batch body repeats a key in a JSON object; send each key once".into())
        } else {
            invalid("the batch body is not valid JSON".into())
        }
    })?;
    let compiled = team_policy(state, principal)?;
    let policy = &compiled.policy;
    let policy_header = format!("{}@{}", policy.name, policy.version);
    trail.set_policy(policy);
    let Some(requests) = envelope
        .get("requests")
        .and_then(Value::as_array)
        .filter(|r| !r.is_empty())
    else {
        return Err(invalid(
            "requests: Field required (a non-empty list)".into(),
        ));
    };
    // What goes upstream beside the items' params (fields of the envelope and of each item,
    // `custom_id` included) cannot be rewritten: a value the policy refuses refuses the batch,
    // and the error names the item by its place, never by a `custom_id` that may hold the value.
    let mut beside = RequestContext::new(id, principal, state.fingerprint_key.expose().as_bytes());
    let mut outside = |value: &Value, location: &str| {
        crate::filter::data::scan_fixed(policy, &mut beside, value, location)
    };
    let mut refused_beside = None;
    if let Some(map) = envelope.as_object() {
        for (k, v) in map.iter().filter(|(k, _)| *k != "requests") {
            if let Err(r) = outside(&json!({ k: v }), "batch") {
                refused_beside = Some(r);
                break;
            }
        }
    }
    for (i, request) in requests.iter().enumerate() {
        if refused_beside.is_some() {
            break;
        }
        if let Some(map) = request.as_object() {
            let fields: serde_json::Map<String, Value> = map
                .iter()
                .filter(|(k, _)| *k != "params")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if let Err(r) = outside(&Value::Object(fields), &format!("requests[{i}]")) {
                refused_beside = Some(r);
            }
        }
    }
    state.metrics.findings(&beside.findings);
    trail.set_findings(&beside.findings);
    if let Some(rejection) = refused_beside {
        *blocked = true;
        return Err(ApiError::from(rejection).with_policy(&policy_header));
    }
    let charge = state
        .quotas
        .admit(
            &policy.quotas,
            principal.key_id.as_str(),
            principal.team.as_str(),
            crate::server::quota::estimate_tokens(bytes.len()),
        )
        .map_err(|e| ApiError::from(e).with_policy(&policy_header))?;
    trail.set_quota(state.quotas.clone(), charge);
    let mut changed = false;
    let mut dropped: Vec<String> = Vec::new();
    for (i, request) in requests.iter().enumerate() {
        let custom_id = request
            .get("custom_id")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(format!("requests.{i}.custom_id: Field required")))?
            .to_string();
        if items.iter().any(|it| it.custom_id == custom_id) {
            return Err(invalid(format!(
                "requests.{i}.custom_id: '{}' is used twice in this batch",
                shown(&custom_id)
            )));
        }
        let params = request
            .get("params")
            .ok_or_else(|| invalid(format!("requests.{i}.params: Field required")))?;
        let original = Bytes::from(serde_json::to_vec(params).unwrap_or_default());
        let mut parsed = MessagesRequest::parse_within(
            &original,
            Endpoint::Messages,
            state.config.limits.max_json_depth,
        )
        .map_err(|e| {
            let e = ApiError::from(e);
            invalid(format!("requests.{i}.params: {}", e.message))
        })?;
        super::shape::check_blocks(&parsed, state.config.limits.max_content_blocks)?;
        let item_id = RequestId::generate();
        let mut item_trail = Trail::begin(state, &item_id, principal, parts);
        item_trail.set_batch_item(id, &custom_id);
        item_trail.set_policy(policy);
        item_trail.set_request(&parsed.model, false);
        let mut ctx = RequestContext::new(
            &item_id,
            principal,
            state.fingerprint_key.expose().as_bytes(),
        );
        let outcome = compiled.chain.run_request(&mut parsed, &mut ctx);
        state.metrics.findings(&ctx.findings);
        item_trail.set_findings(&ctx.findings);
        item_trail.set_tool_results(&parsed, &ctx.findings);
        let rewritten = matches!(outcome, Ok(crate::filter::ChainOutcome::Rewritten));
        let refusal = match outcome {
            Err(rejection) => Some(ApiError::from(rejection)),
            Ok(_) => match check_approvals(state, &ctx).await {
                Ok(()) => super::files::check_file_ids(
                    state,
                    principal,
                    &super::files::file_ids(&original),
                )
                .await
                .err(),
                Err(e) => Some(e),
            },
        };
        if let Some(e) = refusal {
            item_trail.set_prompt(original, None);
            let message = format!("batch item '{}': {}", shown(&custom_id), e.message);
            let refused = ApiError { message, ..e };
            let is_policy = refused.kind == ErrorKind::Permission;
            let rule = refused.rule.clone();
            items.push(Item {
                custom_id: custom_id.clone(),
                trail: Some(item_trail),
                refused_by: Some(rule.clone().unwrap_or_else(|| "policy".into())),
                params: None,
                memory: ItemMemory::default(),
            });
            if is_policy && policy.batches.blocked_items == BlockedItems::Drop {
                tracing::info!(request_id = %id, custom_id = %shown(&custom_id), rule = ?rule, "Batch item dropped by policy.");
                dropped.push(custom_id);
                changed = true;
                continue;
            }
            *blocked = is_policy;
            return Err(refused.with_policy(&policy_header));
        }
        let forwarded = if rewritten {
            changed = true;
            let rewritten = parsed.to_bytes().map_err(|_| {
                ApiError::new(
                    ErrorKind::Api,
                    "Warden could not re-encode a filtered batch item",
                )
                .with_rule("filter")
            })?;
            Bytes::from(rewritten)
        } else {
            original.clone()
        };
        item_trail.set_prompt(original, Some(forwarded.clone()));
        let params = if changed {
            serde_json::from_slice(&forwarded).unwrap_or(Value::Null)
        } else {
            params.clone()
        };
        items.push(Item {
            custom_id,
            trail: Some(item_trail),
            refused_by: None,
            params: Some(params),
            memory: ItemMemory {
                restore: ctx.pseudonyms.pairs().to_vec(),
                escalated: ctx.escalated_tools.clone(),
            },
        });
    }
    if items.iter().all(|it| it.params.is_none()) {
        *blocked = true;
        return Err(ApiError::new(
            ErrorKind::Permission,
            "every item of the batch was refused by policy (batches.blocked_items: drop); nothing was sent",
        )
        .with_rule("batches.blocked_items")
        .with_policy(&policy_header)
        .no_retry());
    }
    if !trail::admits(state, policy) {
        return Err(trail::cannot_record().with_policy(&policy_header));
    }
    // Seal before sending: a batch whose placeholders could not be kept must not go out.
    let memory = BatchMemory {
        exchange_id: id.to_string(),
        items: items
            .iter()
            .filter(|it| it.params.is_some() && !it.memory_is_empty())
            .map(|it| (it.custom_id.clone(), it.memory.clone()))
            .collect(),
    };
    let detail = if memory.items.is_empty() {
        None
    } else {
        let sealer = state.sealer.get(&state.config.audit)?;
        Some(sealer.seal(
            &serde_json::to_vec(&memory).unwrap_or_default(),
            id.as_str(),
        ))
    };
    let body = if changed {
        if let Some(list) = envelope.get_mut("requests").and_then(Value::as_array_mut) {
            let kept: Vec<Value> = list
                .drain(..)
                .zip(items.iter())
                .filter_map(|(mut request, item)| {
                    let params = item.params.clone()?;
                    request["params"] = params;
                    Some(request)
                })
                .collect();
            *list = kept;
        }
        Bytes::from(serde_json::to_vec(&envelope).unwrap_or_default())
    } else {
        bytes.clone()
    };
    trail.set_prompt(bytes, Some(body.clone()));
    let sent = std::time::Instant::now();
    let upstream = forward(state, parts, body).await?;
    let upstream_id = upstream
        .headers()
        .get("request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    trail.set_upstream(upstream_id, sent.elapsed());
    let ok = upstream.status().is_success();
    let head = relay::response_head(&upstream);
    let answer = relay::whole_body(state, upstream).await?;
    trail.set_output(answer.clone());
    if !ok {
        return Ok(relay::finish(head, Body::from(answer)));
    }
    let mut batch: Value = serde_json::from_slice(&answer).map_err(|_| {
        ApiError::new(
            ErrorKind::BadGateway,
            "upstream answered the batch with something that is not a batch",
        )
        .with_rule("upstream")
    })?;
    let batch_id = batch
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    owned::record(
        state,
        principal,
        Kind::Batch,
        &batch_id,
        id.as_str(),
        detail,
    )
    .await?;
    point_results_at_warden(&mut batch, &parts.headers);
    let mut response = relay::finish(head, Body::from(batch.to_string()));
    response.headers_mut().remove(http::header::CONTENT_LENGTH);
    if !dropped.is_empty() {
        let list = dropped
            .iter()
            .map(|c| shown(c))
            .collect::<Vec<_>>()
            .join(",");
        if let Ok(v) = http::HeaderValue::from_str(&list) {
            response.headers_mut().insert("x-warden-dropped-items", v);
        }
    }
    if let Ok(v) = http::HeaderValue::from_str(&policy_header) {
        response.headers_mut().insert("x-warden-policy", v);
    }
    Ok(response)
}

impl Item {
    fn memory_is_empty(&self) -> bool {
        self.memory.restore.is_empty() && self.memory.escalated.is_empty()
    }
}

/// A `custom_id` as Warden repeats it: printable ASCII, at most 64 characters (the API's own
/// limit), so an error or header never carries more than the client chose to name its item.
fn shown(custom_id: &str) -> String {
    custom_id
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(64)
        .collect()
}

/// Replaces a batch's `results_url` (upstream's) with Warden's.
fn point_results_at_warden(batch: &mut Value, headers: &http::HeaderMap) {
    let id = batch.get("id").and_then(Value::as_str).map(str::to_string);
    if let (Some(id), Some(url)) = (id, batch.get_mut("results_url")) {
        if url.is_string() {
            *url = Value::String(owned::results_url(headers, &id));
        }
    }
}

/// Sends a request about one batch upstream and relays the answer, audited like a
/// pass-through request; batch objects in the answer get Warden's `results_url`.
async fn about_batch(
    state: Arc<AppState>,
    id: RequestId,
    principal: Principal,
    request: Request,
    batch_id: Option<String>,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let trail = Trail::begin(&state, &id, &principal, &parts);
    let result = async {
        if let Some(batch_id) = &batch_id {
            owned::owned_by_team(&state, &principal, Kind::Batch, batch_id).await?;
        }
        let bytes = read_limited(body, &parts.headers, &state.config.limits).await?;
        if !trail::admits_team(&state, principal.team.as_str()) {
            return Err(trail::cannot_record());
        }
        let upstream = forward(&state, &parts, bytes).await?;
        let ok = upstream.status().is_success();
        let head = relay::response_head(&upstream);
        let answer = relay::whole_body(&state, upstream).await?;
        if !ok {
            return Ok(relay::finish(head, Body::from(answer)));
        }
        let Ok(mut v) = serde_json::from_slice::<Value>(&answer) else {
            return Ok(relay::finish(head, Body::from(answer)));
        };
        if batch_id.is_none() {
            // A list: only this team's batches.
            owned::keep_owned(&state, &principal, &mut v).await?;
            if let Some(data) = v.get_mut("data").and_then(Value::as_array_mut) {
                for b in data.iter_mut() {
                    point_results_at_warden(b, &parts.headers);
                }
            }
        } else {
            point_results_at_warden(&mut v, &parts.headers);
        }
        let mut response = relay::finish(head, Body::from(v.to_string()));
        response.headers_mut().remove(http::header::CONTENT_LENGTH);
        Ok(response)
    }
    .await;
    trail.finish_with(&result, false).written().await;
    result
}

/// `GET /v1/messages/batches`: the team's own batches.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(id): Extension<RequestId>,
    Extension(principal): Extension<Principal>,
    request: Request,
) -> Result<Response, ApiError> {
    about_batch(state, id, principal, request, None).await
}

/// `GET`/`DELETE /v1/messages/batches/{id}` and `POST …/{id}/cancel`.
pub async fn one(
    State(state): State<Arc<AppState>>,
    Extension(id): Extension<RequestId>,
    Extension(principal): Extension<Principal>,
    Path(batch_id): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    about_batch(state, id, principal, request, Some(batch_id)).await
}

/// `GET /v1/messages/batches/{id}/results`: JSONL through each item's reply stages, line by
/// line.
pub async fn results(
    State(state): State<Arc<AppState>>,
    Extension(id): Extension<RequestId>,
    Extension(principal): Extension<Principal>,
    Path(batch_id): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, _body) = request.into_parts();
    let mut trail = Trail::begin(&state, &id, &principal, &parts);
    let prepared = async {
        let owner = owned::owned_by_team(&state, &principal, Kind::Batch, &batch_id).await?;
        let memory = match &owner.detail {
            None => BatchMemory::default(),
            Some(sealed) => {
                let sealer = state.sealer.get(&state.config.audit)?;
                let plain = sealer.open(sealed, &owner.exchange_id).ok_or_else(|| {
                    ApiError::new(
                        ErrorKind::Api,
                        "Warden cannot open what it kept of this batch's items (was the audit key changed?)",
                    )
                    .with_rule("audit.tombstone_key_file")
                })?;
                serde_json::from_slice(&plain).unwrap_or_default()
            }
        };
        let compiled = team_policy(&state, &principal)?;
        trail.set_policy(&compiled.policy);
        if !trail::admits(&state, &compiled.policy) {
            return Err(trail::cannot_record());
        }
        let upstream = forward(&state, &parts, Bytes::new()).await?;
        Ok((compiled, memory, upstream))
    }
    .await;
    let (compiled, memory, upstream) = match prepared {
        Ok(p) => p,
        Err(e) => {
            trail
                .finish(
                    AuditDecision::Error,
                    e.kind.status().as_u16(),
                    e.rule.clone(),
                )
                .written()
                .await;
            return Err(e);
        }
    };
    let head = relay::response_head(&upstream);
    if !upstream.status().is_success() {
        let status = upstream.status().as_u16();
        let answer = relay::whole_body(&state, upstream).await?;
        trail.set_output(answer.clone());
        trail
            .finish(AuditDecision::Forwarded, status, None)
            .written()
            .await;
        return Ok(relay::finish(head, Body::from(answer)));
    }
    let findings = ReplyFindings::new(state.fingerprint_key.expose().as_bytes());
    trail.set_reply_findings(findings.clone());
    let filter = ResultFilter {
        state: state.clone(),
        compiled,
        memory,
        principal,
        findings,
        usage: std::sync::Mutex::new(Usage::default()),
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    let idle = state.forwarder.idle_timeout();
    tokio::spawn(async move {
        let mut body = upstream.into_body().into_data_stream();
        let mut pending = BytesMut::new();
        let mut status = 200;
        let mut rule = None;
        loop {
            let chunk = match tokio::time::timeout(idle, body.next()).await {
                Ok(Some(Ok(chunk))) => chunk,
                Ok(None) => break,
                Ok(Some(Err(_))) | Err(_) => {
                    status = 502;
                    rule = Some("upstream".to_string());
                    let _ = tx
                        .send(Err(std::io::Error::other("upstream results broke off")))
                        .await;
                    break;
                }
            };
            pending.extend_from_slice(&chunk);
            while let Some(end) = memchr::memchr(b'\n', &pending) {
                let line = pending.split_to(end + 1);
                let out = filter.line(&line[..end]).await;
                if tx.send(Ok(out)).await.is_err() {
                    break;
                }
            }
            if pending.len() > MAX_RESULT_LINE_BYTES {
                status = 502;
                rule = Some("upstream".to_string());
                let _ = tx
                    .send(Err(std::io::Error::other("a results line is too long")))
                    .await;
                pending.clear();
                break;
            }
        }
        if !pending.is_empty() && rule.is_none() {
            let out = filter.line(&pending).await;
            let _ = tx.send(Ok(out)).await;
        }
        drop(tx);
        // The results exchange's usage is its items' together.
        if let Ok(usage) = filter.usage.lock() {
            trail.set_usage(&usage);
        }
        trail
            .finish(AuditDecision::Forwarded, status, rule)
            .written()
            .await;
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut response = relay::finish(head, Body::from_stream(stream));
    response.headers_mut().remove(http::header::CONTENT_LENGTH);
    Ok(response)
}

/// Runs each results line through its item's reply stages.
struct ResultFilter {
    state: Arc<AppState>,
    compiled: crate::policy::CompiledPolicy,
    memory: BatchMemory,
    principal: Principal,
    findings: ReplyFindings,
    /// The items' token counts, added up.
    usage: std::sync::Mutex<Usage>,
}

impl ResultFilter {
    /// The line as the client gets it, newline included. A line Warden cannot read does not go
    /// out as it came: it could carry anything (fail closed).
    async fn line(&self, line: &[u8]) -> Bytes {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return Bytes::from_static(b"\n");
        }
        let Ok(mut v) = crate::api::strict_value(line) else {
            return Bytes::from(
                json!({"custom_id": null, "result": errored("api_error", "Warden could not read this results line from upstream; it was withheld")})
                    .to_string()
                    + "\n",
            );
        };
        let custom_id = v["custom_id"].as_str().unwrap_or_default().to_string();
        if v["result"]["type"] == "succeeded" {
            if let Some(replaced) = self.message(&custom_id, &mut v["result"]["message"]).await {
                v["result"] = replaced;
            }
        }
        Bytes::from(v.to_string() + "\n")
    }

    /// Filters one item's message in place; `Some(result)` replaces the whole result when the
    /// reply stages withhold it.
    async fn message(&self, custom_id: &str, message: &mut Value) -> Option<Value> {
        if let Ok(mut total) = self.usage.lock() {
            total.add(&trail::usage_in(&message["usage"]));
        }
        let bytes = serde_json::to_vec(message).unwrap_or_default();
        let Ok(mut reply) = serde_json::from_slice::<MessageReply>(&bytes) else {
            return Some(errored(
                "api_error",
                "Warden could not read this item's message; it was withheld",
            ));
        };
        let memory = self
            .memory
            .items
            .get(custom_id)
            .cloned()
            .unwrap_or_default();
        let item_id = RequestId::generate();
        let mut ctx = RequestContext::new(
            &item_id,
            &self.principal,
            self.state.fingerprint_key.expose().as_bytes(),
        );
        ctx.pseudonyms = Pseudonyms::from_pairs(memory.restore);
        ctx.escalated_tools = memory.escalated;
        ctx.reply_findings = self.findings.clone();
        let mut pipeline = self.compiled.chain.response_pipeline(&ctx);
        match pipeline.on_message(&mut reply).await {
            Ok(false) => None,
            Ok(true) => {
                if let Ok(v) = serde_json::to_value(&reply) {
                    *message = v;
                }
                None
            }
            Err(StageError::Withheld { rule, message }) => Some(errored(
                "permission_error",
                &format!("{message} (rule {rule})"),
            )),
            Err(StageError::Failed(_)) => Some(errored(
                "api_error",
                "a response stage could not decide; the item's message was withheld",
            )),
        }
    }
}

/// An `errored` result in the API's shape.
fn errored(kind: &str, message: &str) -> Value {
    json!({"type": "errored", "error": {"type": "error", "error": {"type": kind, "message": message}}})
}
