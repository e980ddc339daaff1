//! The audit trail of one exchange: started when the request arrives, completed when the answer
//! (or the stream) ends, then handed to the audit writer. What it keeps of prompts and outputs
//! follows the team policy's `audit.storage`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::ConnectInfo;
use bytes::Bytes;
use http::request::Parts;
use sha2::{Digest, Sha256};

use super::AppState;
use crate::api::{ContentBlock, MessageContent, MessagesRequest};
use crate::audit::{AuditWriter, Decision, ExchangeRecord, FindingRow, ToolCallRow, ToolResultRow};
use crate::filter::data::redact_for_storage;
use crate::filter::{Finding, ReplyFindings};
use crate::ids::{Principal, RequestId};
use crate::policy::{Policy, StorageMode};

/// Largest prompt or output kept in a record; longer ones are cut (and say so).
const MAX_STORED_TEXT_BYTES: usize = 1024 * 1024;

pub struct Trail {
    record: ExchangeRecord,
    started: Instant,
    policy: Option<Arc<Policy>>,
    writer: AuditWriter,
    /// Raw material for `prompt`, `output` and tool inputs: the storage mode is applied by the
    /// audit writer's task, not on the request path.
    prompt: Option<(Bytes, Option<Bytes>)>,
    output: Option<Bytes>,
    tool_inputs: Vec<Bytes>,
    /// What tool permissions decided about the reply's calls.
    tool_log: Option<crate::filter::tools::ToolLog>,
    /// What the reply stages redact or withhold; collected when the exchange ends.
    reply_findings: Option<ReplyFindings>,
    metrics: Arc<crate::server::metrics::Metrics>,
    /// The quota charge to correct from the reply's usage when the exchange ends.
    quota: Option<(
        Arc<crate::server::quota::Quotas>,
        crate::server::quota::Charge,
    )>,
    /// The exchange's span, exported when it ends.
    #[cfg(feature = "otlp")]
    trace: Option<(
        crate::telemetry::TraceContext,
        crate::telemetry::Exporter,
        std::time::SystemTime,
    )>,
}

fn cap(mut s: String) -> String {
    if s.len() > MAX_STORED_TEXT_BYTES {
        let mut end = MAX_STORED_TEXT_BYTES;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str("…[truncated by Warden]");
    }
    s
}

impl Trail {
    pub fn begin(state: &AppState, id: &RequestId, principal: &Principal, parts: &Parts) -> Self {
        Self::begin_from(
            state,
            id,
            principal,
            &parts.method,
            &parts.uri,
            &parts.headers,
            &parts.extensions,
        )
    }

    /// [`Trail::begin`] from the pieces of a request that has not been taken apart.
    pub fn begin_from(
        state: &AppState,
        id: &RequestId,
        principal: &Principal,
        method: &http::Method,
        uri: &http::Uri,
        headers: &http::HeaderMap,
        extensions: &http::Extensions,
    ) -> Self {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        Self {
            record: ExchangeRecord {
                id: id.to_string(),
                occurred_at: ExchangeRecord::now(),
                upstream_request_id: None,
                key_id: principal.key_id.to_string(),
                principal: principal.principal.to_string(),
                team: principal.team.to_string(),
                client_addr: extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|c| c.0.ip().to_string()),
                user_agent: header("user-agent"),
                // A malformed one is not recorded (it still goes upstream as it came).
                traceparent: header("traceparent")
                    .filter(|t| crate::ids::parse_traceparent(t).is_some()),
                parent_id: None,
                custom_id: None,
                cache_read_tokens: None,
                cache_write_tokens: None,
                endpoint: format!("{} {}", method, uri.path()),
                model: None,
                streamed: false,
                policy_name: None,
                policy_version: None,
                decision: Decision::Error,
                status: 0,
                rule: None,
                latency_us: 0,
                upstream_latency_us: None,
                input_tokens: None,
                output_tokens: None,
                storage_mode: StorageMode::Redacted.as_str().into(),
                prompt: None,
                output: None,
                findings: Vec::new(),
                tool_calls: Vec::new(),
                tool_results: Vec::new(),
            },
            started: Instant::now(),
            policy: None,
            writer: state.audit.clone(),
            prompt: None,
            output: None,
            tool_inputs: Vec::new(),
            tool_log: None,
            reply_findings: None,
            quota: None,
            metrics: state.metrics.clone(),
            #[cfg(feature = "otlp")]
            trace: None,
        }
    }

    /// Marks this exchange as an item of the batch that exchange `parent` created.
    pub fn set_batch_item(&mut self, parent: &RequestId, custom_id: &str) {
        self.record.parent_id = Some(parent.to_string());
        self.record.custom_id = Some(custom_id.to_string());
    }

    pub fn set_tool_log(&mut self, log: crate::filter::tools::ToolLog) {
        self.tool_log = Some(log);
    }

    pub fn set_policy(&mut self, policy: &Arc<Policy>) {
        self.record.policy_name = Some(policy.name.clone());
        self.record.policy_version = Some(policy.version.clone());
        self.record.storage_mode = policy.audit.storage.as_str().into();
        self.policy = Some(policy.clone());
    }

    pub fn set_request(&mut self, model: &str, streamed: bool) {
        self.record.model = Some(model.to_string());
        self.record.streamed = streamed;
    }

    /// The prompt: `original` as received; `forwarded` as it went upstream, when it did.
    pub fn set_prompt(&mut self, original: Bytes, forwarded: Option<Bytes>) {
        self.prompt = Some((original, forwarded));
    }

    pub fn set_output(&mut self, output: Bytes) {
        self.output = Some(output);
    }

    pub fn set_findings(&mut self, findings: &[Finding]) {
        self.record.findings = findings.iter().map(finding_row).collect();
    }

    pub fn set_quota(
        &mut self,
        quotas: Arc<crate::server::quota::Quotas>,
        charge: crate::server::quota::Charge,
    ) {
        self.quota = Some((quotas, charge));
    }

    pub fn set_reply_findings(&mut self, sink: ReplyFindings) {
        self.reply_findings = Some(sink);
    }

    /// A tool call the model emitted; its decision comes from the tool log at the end.
    pub fn add_tool_call(&mut self, id: &str, name: &str, input: &serde_json::Value) {
        self.tool_inputs.push(Bytes::from(input.to_string()));
        self.record.tool_calls.push(ToolCallRow {
            tool_use_id: id.to_string(),
            name: name.to_string(),
            input: None,
            decision: "allowed".into(),
            approval_id: None,
        });
    }

    /// The tool results a request carries, flagged when a finding was made inside one.
    pub fn set_tool_results(&mut self, request: &MessagesRequest, findings: &[Finding]) {
        for (i, message) in request.messages.iter().enumerate() {
            let MessageContent::Blocks(blocks) = &message.content else {
                continue;
            };
            for (j, block) in blocks.iter().enumerate() {
                if let ContentBlock::ToolResult {
                    tool_use_id,
                    content,
                    ..
                } = block
                {
                    let location = format!("messages[{i}].content[{j}]");
                    let bytes = content
                        .as_ref()
                        .and_then(|c| serde_json::to_vec(c).ok())
                        .map_or(0, |b| b.len() as i64);
                    self.record.tool_results.push(ToolResultRow {
                        tool_use_id: tool_use_id.clone(),
                        bytes,
                        flagged: findings.iter().any(|f| {
                            f.location == location
                                || f.location.starts_with(&format!("{location}."))
                                || f.location.starts_with(&format!("{location}["))
                        }),
                    });
                }
            }
        }
    }

    /// Exports the exchange as a span of `context` when it ends.
    #[cfg(feature = "otlp")]
    pub fn set_trace(
        &mut self,
        context: crate::telemetry::TraceContext,
        exporter: crate::telemetry::Exporter,
    ) {
        // The span starts when the exchange did.
        let now = std::time::SystemTime::now();
        let start = now.checked_sub(self.started.elapsed()).unwrap_or(now);
        self.trace = Some((context, exporter, start));
    }

    #[cfg(feature = "otlp")]
    fn export_span(&mut self) {
        use crate::telemetry::{AttributeValue as V, Span};
        let Some((context, exporter, start)) = self.trace.take() else {
            return;
        };
        let r = &self.record;
        let mut attributes = vec![
            ("warden.request_id", V::Str(r.id.clone())),
            ("warden.team", V::Str(r.team.clone())),
            ("warden.key_id", V::Str(r.key_id.clone())),
            ("warden.decision", V::Str(r.decision.as_str().to_string())),
            ("http.response.status_code", V::Int(i64::from(r.status))),
            ("warden.streamed", V::Bool(r.streamed)),
            ("warden.findings", V::Int(r.findings.len() as i64)),
        ];
        let optional = [
            ("gen_ai.request.model", r.model.clone()),
            ("warden.rule", r.rule.clone()),
            ("warden.upstream_request_id", r.upstream_request_id.clone()),
            (
                "warden.policy",
                r.policy_name
                    .as_ref()
                    .map(|n| format!("{n}@{}", r.policy_version.clone().unwrap_or_default())),
            ),
        ];
        for (key, value) in optional {
            if let Some(v) = value {
                attributes.push((key, V::Str(v)));
            }
        }
        for (key, value) in [
            ("gen_ai.usage.input_tokens", r.input_tokens),
            ("gen_ai.usage.output_tokens", r.output_tokens),
            ("warden.upstream_latency_us", r.upstream_latency_us),
        ] {
            if let Some(v) = value {
                attributes.push((key, V::Int(v)));
            }
        }
        exporter.record(Span {
            context,
            name: r.endpoint.clone(),
            start,
            end: std::time::SystemTime::now(),
            error: r.status >= 500 || r.status == 0,
            attributes,
        });
    }

    pub fn set_upstream(&mut self, request_id: Option<String>, latency: std::time::Duration) {
        self.record.upstream_request_id = request_id;
        self.record.upstream_latency_us = Some(latency.as_micros() as i64);
    }

    /// Takes what `usage` says; a count it leaves out keeps the value an earlier event gave
    /// (a stream's `message_start` has the input side, its `message_delta` the output).
    pub fn set_usage(&mut self, usage: &crate::api::sse::Usage) {
        let r = &mut self.record;
        for (field, value) in [
            (&mut r.input_tokens, usage.input_tokens),
            (&mut r.output_tokens, usage.output_tokens),
            (&mut r.cache_read_tokens, usage.cache_read_input_tokens),
            (&mut r.cache_write_tokens, usage.cache_creation_input_tokens),
        ] {
            if value.is_some() {
                *field = value;
            }
        }
    }

    /// Completes the record and hands it to the writer (which never blocks). What the storage
    /// mode keeps of prompts, outputs and tool inputs is worked out by the writer's task, or
    /// here under `audit.durability: fsync_before_reply`, where the returned receipt resolves
    /// once the record is on disk: await it before the response's last bytes go out.
    /// Ends the exchange with what the handler answered: forwarded, or refused (`blocked`: by a
    /// policy rule) or failed, with the error's status and rule.
    pub fn finish_with(
        self,
        result: &Result<axum::response::Response, super::error::ApiError>,
        blocked: bool,
    ) -> Durable {
        match result {
            Ok(r) => self.finish(Decision::Forwarded, r.status().as_u16(), None),
            Err(e) => self.finish(
                if blocked {
                    Decision::Blocked
                } else {
                    Decision::Error
                },
                e.kind.status().as_u16(),
                e.rule.clone(),
            ),
        }
    }

    pub fn finish(mut self, decision: Decision, status: u16, rule: Option<String>) -> Durable {
        self.record.decision = decision;
        self.record.status = i32::from(status);
        self.record.rule = rule;
        self.record.latency_us = self.started.elapsed().as_micros() as i64;
        // What the reply stages redacted or withheld, now that the reply has gone out.
        if let Some(sink) = self.reply_findings.take() {
            let found = sink.take();
            self.metrics.findings(&found);
            self.record.findings.extend(found.iter().map(finding_row));
        }
        if let Some((quotas, charge)) = self.quota.take() {
            // What the exchange really used (nothing, if it never reached the model), counted
            // as the API's rate limits count it: prompt tokens read from its cache are free.
            let used = self.record.input_tokens.unwrap_or(0)
                + self.record.cache_write_tokens.unwrap_or(0)
                + self.record.output_tokens.unwrap_or(0);
            quotas.settle(&charge, used.max(0) as u64);
        }
        if let Some(log) = &self.tool_log {
            for row in &mut self.record.tool_calls {
                if let Some((decision, approval_id)) = log.get(&row.tool_use_id) {
                    row.decision = decision;
                    row.approval_id = approval_id;
                }
            }
        }
        for row in &self.record.tool_calls {
            self.metrics.tool_decision(&row.decision);
        }
        let r = &self.record;
        self.metrics.tokens(
            &r.team,
            [
                ("input", r.input_tokens),
                ("output", r.output_tokens),
                ("cache_read", r.cache_read_tokens),
                ("cache_write", r.cache_write_tokens),
            ],
        );
        #[cfg(feature = "otlp")]
        self.export_span();
        if !self.writer.enabled() {
            return Durable(None);
        }
        let (policy, prompt, output, tool_inputs) =
            (self.policy, self.prompt, self.output, self.tool_inputs);
        // What waits in the queue is only what the storage mode will keep, copied out of the
        // buffers it came in: a request body is a slice of hyper's read buffer, and holding the
        // slice would hold the whole buffer (measured: 2-3x the queue's byte budget).
        let mode = policy.as_ref().map(|p| p.audit.storage);
        let own = |b: &Bytes| Bytes::copy_from_slice(b);
        // The prompt to keep, and whether it is the text as sent upstream (the filters'
        // rewrite: `redacted` keeps it as it is) or as received.
        let prompt = match (mode, prompt) {
            (None | Some(StorageMode::None), _) | (_, None) => None,
            (Some(StorageMode::Redacted), Some((_, Some(sent)))) => Some((own(&sent), true)),
            (Some(_), Some((original, _))) => Some((own(&original), false)),
        };
        let (output, tool_inputs) = match mode {
            None | Some(StorageMode::None) => (None, Vec::new()),
            Some(_) => (
                output.as_ref().map(own),
                tool_inputs.iter().map(own).collect(),
            ),
        };
        let bytes = prompt.as_ref().map_or(0, |(p, _)| p.len())
            + output.as_ref().map_or(0, Bytes::len)
            + tool_inputs.iter().map(Bytes::len).sum::<usize>();
        let finish = policy.map(|policy| {
            Box::new(move |r: &mut ExchangeRecord| {
                if let Some((prompt, as_sent)) = prompt {
                    r.prompt = stored(&policy, &prompt, as_sent);
                }
                if let Some(output) = output {
                    r.output = stored(&policy, &output, false);
                }
                for (row, input) in r.tool_calls.iter_mut().zip(tool_inputs) {
                    row.input = stored(&policy, &input, false);
                }
            }) as crate::audit::writer::Finisher
        });
        match self.writer.submit_with(self.record, finish, bytes) {
            Ok(receipt) => Durable(receipt),
            Err(_) => {
                tracing::error!("Audit record could not be kept.");
                Durable(None)
            }
        }
    }
}

/// A finished record's way to disk: resolves once the journal has synced it (at once when
/// the writer keeps records in memory until its batch, or keeps none).
#[must_use = "await `written` before the response's last bytes, or drop it where no guarantee is owed"]
pub struct Durable(Option<crate::audit::journal::Receipt>);

impl Durable {
    pub async fn written(self) {
        if let Some(receipt) = self.0 {
            if !receipt.wait().await {
                tracing::error!(
                    "Audit record not synced to the journal before the reply: the journal failed."
                );
            }
        }
    }
}

fn finding_row(f: &Finding) -> FindingRow {
    FindingRow {
        class: f.class.clone(),
        rule: f.rule.clone(),
        action: f.action.to_string(),
        location: f.location.clone(),
        span_start: f.start as i64,
        span_end: f.end as i64,
        fingerprint: f.fingerprint.clone(),
    }
}

/// What the store keeps of `text` under the policy's storage mode. `as_sent`: `text` is the
/// request as it went upstream, already rewritten by the filters.
fn stored(policy: &Policy, text: &[u8], as_sent: bool) -> Option<String> {
    let owned = || crate::text_lossy(text).into_owned();
    Some(cap(match policy.audit.storage {
        StorageMode::None => return None,
        StorageMode::Hash => hex::encode(Sha256::digest(text)),
        // Secrets are never stored in plaintext, whatever the mode.
        StorageMode::Full => redact_for_storage(policy, &owned(), true),
        // What went upstream was rewritten by the filters already; anything else (a blocked
        // request, the model's output) is redacted here.
        StorageMode::Redacted if as_sent => owned(),
        StorageMode::Redacted => redact_for_storage(policy, &owned(), false),
    }))
}

/// Whether the audit store can take this exchange's record; when it cannot and the policy says
/// `on_failure: reject`, the request must not go out.
/// The refusal when the audit store cannot record a request and `audit.on_failure` says reject.
pub fn cannot_record() -> super::error::ApiError {
    super::error::ApiError::new(
        crate::api::ErrorKind::Unavailable,
        "the audit store cannot record this request, and policy says audit.on_failure: reject",
    )
    .with_rule("audit.on_failure")
}

pub fn admits(state: &AppState, policy: &Policy) -> bool {
    state.audit.can_accept() || policy.audit.on_failure == crate::policy::OnFailure::Allow
}

/// [`admits`] for a request that is not a conversation, under the team's policy (refused when
/// the team has none and the store cannot take the record).
pub fn admits_team(state: &AppState, team: &str) -> bool {
    if state.audit.can_accept() {
        return true;
    }
    let fallback = state.config.policies.unknown_team == crate::config::UnknownTeam::Default;
    state
        .policies
        .current()
        .for_team(team, fallback)
        .is_some_and(|c| admits(state, &c.policy))
}

/// The token counts of a Message's `usage` object.
pub fn usage_in(usage: &serde_json::Value) -> crate::api::sse::Usage {
    crate::api::sse::Usage {
        input_tokens: usage["input_tokens"].as_i64(),
        output_tokens: usage["output_tokens"].as_i64(),
        cache_read_input_tokens: usage["cache_read_input_tokens"].as_i64(),
        cache_creation_input_tokens: usage["cache_creation_input_tokens"].as_i64(),
    }
}
