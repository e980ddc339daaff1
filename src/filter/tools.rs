//! Tool permissions. On the request: tools the team may not use are removed (or the request is
//! refused), a `tool_choice` naming one is a 400, and a `tool_result` answering a call that policy
//! denies, or that needed a human's approval nobody gave, is a 403. On the reply (JSON and
//! streams): a denied `tool_use` becomes a text block naming the rule; one that needs approval is
//! held, with everything after it, until an approver decides or the timeout passes.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use serde_json::{Value, json};

use super::{Filter, FilterError, Rejection, RequestContext, ResponseStage, StageError, Verdict};
use crate::api::messages::{MessageContent, MessageReply, Role};
use crate::api::{ContentBlock, ErrorKind, MessagesRequest, SseEvent};
use crate::approvals::{Approvals, HoldRequest, Outcome, ResultProof, Ticket, input_digest};
use crate::policy::Policy;
use crate::policy::tools::{OnDeniedTool, ToolAction};

/// Decisions about the tool calls of one exchange, for its audit record: tool_use id →
/// (decision, approval id).
#[derive(Clone, Debug, Default)]
pub struct ToolLog(Arc<Mutex<HashMap<String, ToolDecisionEntry>>>);

/// A call's decision and, if a human was asked, the approval id.
type ToolDecisionEntry = (String, Option<String>);

impl ToolLog {
    pub fn record(&self, tool_use_id: &str, decision: &str, approval_id: Option<&str>) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(
                tool_use_id.to_string(),
                (decision.to_string(), approval_id.map(str::to_string)),
            );
        }
    }

    pub fn get(&self, tool_use_id: &str) -> Option<(String, Option<String>)> {
        self.0.lock().ok()?.get(tool_use_id).cloned()
    }
}

/// Removes the items `denied` gives a decision for; returns (name, rule) of each, in order.
fn remove_denied<T>(
    items: &mut Vec<T>,
    name: impl Fn(&T) -> &str,
    denied: impl Fn(&str) -> Option<crate::policy::tools::ToolDecision>,
) -> Vec<(String, String)> {
    let mut removed = Vec::new();
    items.retain(|item| match denied(name(item)) {
        Some(d) => {
            removed.push((name(item).to_string(), d.rule));
            false
        }
        None => true,
    });
    removed
}

/// Longest last-user-message shown to an approver.
const MAX_CONTEXT_CHARS: usize = 2_000;

pub struct ToolGate {
    policy: Arc<Policy>,
}

impl ToolGate {
    pub fn new(policy: Arc<Policy>) -> Self {
        Self { policy }
    }
}

fn deny(kind: ErrorKind, rule: &str, message: String) -> Verdict {
    Verdict::Reject(Rejection {
        kind,
        rule: rule.to_string(),
        message,
    })
}

fn block_text(content: &MessageContent) -> String {
    match content {
        MessageContent::Text(t) => t.clone(),
        MessageContent::Blocks(blocks) => blocks
            .iter()
            .filter_map(|b| match b {
                ContentBlock::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

impl Filter for ToolGate {
    fn name(&self) -> &'static str {
        "tools"
    }

    fn on_request(
        &self,
        request: &mut MessagesRequest,
        ctx: &mut RequestContext<'_>,
    ) -> Result<Verdict, FilterError> {
        let tp = &self.policy.tools;
        let escalates = self
            .policy
            .injection
            .as_ref()
            .is_some_and(|i| !i.require_approval_after.is_empty());
        if tp.is_open() && !escalates {
            return Ok(Verdict::Pass);
        }
        let team = &self.policy.name;
        let mut changed = false;

        // Offered tools and MCP servers: what the team may not use is removed, or refused.
        let mut removed: Vec<(String, String)> = Vec::new();
        let mut refused = None;
        if let Some(tools) = request.tools.as_mut() {
            removed = remove_denied(tools, |t| &t.name, |n| tp.denied_offer(n));
            refused = removed
                .first()
                .map(|(name, rule)| ("tool", name.clone(), rule.clone()));
        }
        if let Some(Value::Array(servers)) = request.extra.get_mut("mcp_servers") {
            let gone = remove_denied(
                servers,
                |s| s["name"].as_str().unwrap_or(""),
                |n| tp.denied_mcp_server(n),
            );
            refused = refused.or_else(|| {
                gone.into_iter()
                    .next()
                    .map(|(name, rule)| ("MCP server", name, rule))
            });
        }
        if let Some((what, name, rule)) = refused {
            if tp.on_denied_tool == OnDeniedTool::Reject {
                return Ok(deny(
                    ErrorKind::Permission,
                    &rule,
                    format!("{what} '{name}' may not be used under policy '{team}' (rule {rule})"),
                ));
            }
            changed = true;
        }
        if let Some(choice) = request.extra.get("tool_choice") {
            if choice["type"] == "tool" {
                let name = choice["name"].as_str().unwrap_or("");
                if let Some(d) = tp.denied_offer(name) {
                    return Ok(deny(
                        ErrorKind::InvalidRequest,
                        &d.rule,
                        format!(
                            "tool_choice names tool '{name}', which policy '{team}' does not allow (rule {}){}",
                            d.rule,
                            if removed.iter().any(|(r, _)| r == name) {
                                "; it was removed from tools"
                            } else {
                                ""
                            }
                        ),
                    ));
                }
            }
        }

        // History: a result may answer only a call policy allows, or one a human approved. Calls
        // are read from every message and results from every message not the model's, whatever
        // role a newer API version gives them.
        let mut calls: HashMap<&str, (&str, &Value)> = HashMap::new();
        for m in &request.messages {
            if let MessageContent::Blocks(blocks) = &m.content {
                for b in blocks {
                    if let ContentBlock::ToolUse {
                        id, name, input, ..
                    } = b
                    {
                        calls.insert(id.as_str(), (name.as_str(), input));
                    }
                }
            }
        }
        for m in &request.messages {
            let MessageContent::Blocks(blocks) = &m.content else {
                continue;
            };
            if m.role == Role::Assistant {
                continue;
            }
            for b in blocks {
                let ContentBlock::ToolResult { tool_use_id, .. } = b else {
                    continue;
                };
                let Some((name, input)) = calls.get(tool_use_id.as_str()) else {
                    continue;
                };
                let d = tp.decide(name, input);
                let mut proof = ResultProof {
                    tool_use_id: tool_use_id.clone(),
                    tool_name: name.to_string(),
                    input_sha256: input_digest(input),
                    team: ctx.principal.team.to_string(),
                    principal: ctx.principal.principal.to_string(),
                    rule: None,
                };
                match d.action {
                    ToolAction::Allow => ctx.approval_proofs.push(proof),
                    ToolAction::Deny => {
                        return Ok(deny(
                            ErrorKind::Permission,
                            &d.rule,
                            format!(
                                "a tool_result answers call {tool_use_id} to '{name}', which policy '{team}' denies (rule {})",
                                d.rule
                            ),
                        ));
                    }
                    ToolAction::RequireApproval => {
                        proof.rule = Some(d.rule);
                        ctx.approval_proofs.push(proof);
                    }
                }
            }
        }

        // What an approver will be shown besides the call: the request's last user words
        // (redacted only if a call is held, which most requests never have).
        ctx.last_user_message = request
            .messages
            .iter()
            .rev()
            .find(|m| m.role == Role::User)
            .map(|m| block_text(&m.content))
            .filter(|t| !t.trim().is_empty());
        Ok(if changed {
            Verdict::Rewritten
        } else {
            Verdict::Pass
        })
    }

    fn response_stage(&self, ctx: &RequestContext<'_>) -> Option<Box<dyn ResponseStage>> {
        if self.policy.tools.is_open() && ctx.escalated_tools.is_empty() {
            return None;
        }
        Some(Box::new(ToolStage {
            policy: self.policy.clone(),
            escalated: ctx.escalated_tools.clone(),
            hub: ctx.approvals.clone(),
            exchange_id: ctx.request_id.to_string(),
            team: ctx.principal.team.to_string(),
            principal: ctx.principal.principal.to_string(),
            key_id: ctx.principal.key_id.to_string(),
            last_user_message: ctx.last_user_message.clone(),
            log: ctx.tool_log.clone(),
            restore: ctx.pseudonyms.restore_map(),
            gating: None,
            waiting: None,
            queue: VecDeque::new(),
            passed: 0,
            replaced: 0,
            pending_json: Vec::new(),
        }))
    }
}

/// A tool_use block being read from the stream: its events are held until its stop.
struct Gated {
    index: u64,
    id: String,
    name: String,
    json: String,
    events: Vec<SseEvent>,
}

/// A held call: its events, and the ticket that resolves when someone decides.
struct Waiting {
    gated: Gated,
    ticket: Ticket,
}

pub struct ToolStage {
    policy: Arc<Policy>,
    /// Tools (name globs) whose calls wait for a human because the conversation carries
    /// content flagged as an injection.
    escalated: Vec<String>,
    hub: Option<Arc<Approvals>>,
    exchange_id: String,
    team: String,
    principal: String,
    key_id: String,
    last_user_message: Option<String>,
    log: ToolLog,
    /// The exchange's pseudonyms: a held call is bound to its input as the client will receive
    /// it from the reply stage ([`super::reply::ReplyGuard::client_view`]).
    restore: Arc<Vec<(String, String)>>,
    gating: Option<Gated>,
    waiting: Option<Waiting>,
    /// Events that arrived while a call waits: they go out after it, in order.
    queue: VecDeque<SseEvent>,
    /// tool_use blocks let through, and replaced by text.
    passed: usize,
    replaced: usize,
    /// JSON replies: (block index, ticket) of held calls.
    pending_json: Vec<(usize, String, Ticket)>,
}

/// Largest tool input held while it streams.
const MAX_GATED_INPUT_BYTES: usize = 4 * 1024 * 1024;

impl ToolStage {
    /// The policy's decision, raised to approval for a tool the injection defense escalated.
    fn decide(&self, name: &str, input: &Value) -> crate::policy::tools::ToolDecision {
        let d = self.policy.tools.decide(name, input);
        if d.action == ToolAction::Allow
            && self
                .escalated
                .iter()
                .any(|g| crate::detect::glob_match(g, name))
        {
            return crate::policy::tools::ToolDecision {
                action: ToolAction::RequireApproval,
                rule: "injection.require_approval_after".into(),
            };
        }
        d
    }

    /// Warden's notice standing where a call was. Later stages pass it as it is (an approver's
    /// address is not the model's to leak), so the one part the model wrote, the tool's name,
    /// is cleaned here as the reply stage would clean it.
    fn replacement_text(&self, name: &str, why: &str) -> String {
        let name = super::data::redact_for_storage(&self.policy, name, false);
        format!("[Warden: the call to tool '{name}' was not run: {why}]")
    }

    fn why(outcome: &Outcome) -> String {
        let reason = |r: &Option<String>| {
            r.as_deref()
                .filter(|r| !r.trim().is_empty())
                .map(|r| format!(" (reason: {r})"))
                .unwrap_or_default()
        };
        match outcome {
            Outcome::Approved { .. } => "approved".into(),
            Outcome::Rejected { by, reason: r } => format!("rejected by {by}{}", reason(r)),
            Outcome::Expired => "no approver decided before the approval timeout".into(),
            Outcome::Failed(m) => format!("approval could not be requested: {m}"),
        }
    }

    /// The events of a text block standing where the tool_use block was.
    fn text_block(index: u64, text: &str, out: &mut Vec<SseEvent>) {
        out.push(
            SseEvent::from_json(&json!({
                "type": "content_block_start", "index": index,
                "content_block": {"type": "text", "text": ""}
            }))
            .own(),
        );
        out.push(
            SseEvent::from_json(&json!({
                "type": "content_block_delta", "index": index,
                "delta": {"type": "text_delta", "text": text}
            }))
            .own(),
        );
        out.push(
            SseEvent::from_json(&json!({
                "type": "content_block_stop", "index": index
            }))
            .own(),
        );
    }

    /// Starts the wait for a human, or says why there cannot be one.
    fn hold(&self, id: &str, name: &str, input: &Value, rule: &str) -> Result<Ticket, String> {
        let Some(hub) = &self.hub else {
            return Err("approvals are not available on this Warden".into());
        };
        let input_sha256 = input_digest(&super::reply::ReplyGuard::client_view(
            &self.policy,
            &self.restore,
            input,
        ));
        let input = super::data::redact_for_storage(&self.policy, &input.to_string(), false);
        // Redacted whole, then shortened: cutting first could leave half a secret undetected.
        let last_user_message = self.last_user_message.as_deref().map(|t| {
            super::data::redact_for_storage(&self.policy, t, false)
                .chars()
                .take(MAX_CONTEXT_CHARS)
                .collect()
        });
        Ok(hub.hold(HoldRequest {
            exchange_id: self.exchange_id.clone(),
            tool_use_id: id.to_string(),
            team: self.team.clone(),
            principal: self.principal.clone(),
            key_id: self.key_id.clone(),
            tool_name: name.to_string(),
            input,
            last_user_message,
            rule: rule.to_string(),
            policy_version: self.policy.version.clone(),
            timeout: std::time::Duration::from_secs(self.policy.tools.approval.timeout_seconds),
            input_sha256,
        }))
    }

    /// One event, when nothing is waiting.
    fn process(&mut self, event: SseEvent, out: &mut Vec<SseEvent>) -> Result<(), StageError> {
        match event.event() {
            Some("content_block_start") => {
                let v = event
                    .json()
                    .map_err(|e| StageError::Failed(e.to_string()))?;
                let block = &v["content_block"];
                if block["type"] == "tool_use" {
                    let index = v["index"].as_u64().unwrap_or(0);
                    // The input may already be whole in the start event.
                    let json = match &block["input"] {
                        Value::Object(m) if !m.is_empty() => block["input"].to_string(),
                        _ => String::new(),
                    };
                    self.gating = Some(Gated {
                        index,
                        id: block["id"].as_str().unwrap_or("").to_string(),
                        name: block["name"].as_str().unwrap_or("").to_string(),
                        json,
                        events: vec![event],
                    });
                    return Ok(());
                }
                out.push(event);
            }
            Some("content_block_delta") if self.gating.is_some() => {
                let v = event
                    .json()
                    .map_err(|e| StageError::Failed(e.to_string()))?;
                if let Some(g) = self
                    .gating
                    .as_mut()
                    .filter(|g| v["index"].as_u64() == Some(g.index))
                {
                    if let Some(p) = v["delta"]["partial_json"].as_str() {
                        g.json.push_str(p);
                        if g.json.len() > MAX_GATED_INPUT_BYTES {
                            return Err(StageError::Failed("tool input too large to check".into()));
                        }
                    }
                    g.events.push(event);
                } else {
                    out.push(event);
                }
            }
            Some("content_block_stop") if self.gating.is_some() => {
                let v = event
                    .json()
                    .map_err(|e| StageError::Failed(e.to_string()))?;
                let Some(mut g) = self
                    .gating
                    .take_if(|g| v["index"].as_u64() == Some(g.index))
                else {
                    out.push(event);
                    return Ok(());
                };
                g.events.push(event);
                let input: Value = if g.json.trim().is_empty() {
                    json!({})
                } else {
                    // Input we cannot read cannot be judged: fail closed.
                    serde_json::from_str(&g.json).map_err(|_| {
                        StageError::Failed("a tool_use input is not valid JSON".into())
                    })?
                };
                let d = self.decide(&g.name, &input);
                match d.action {
                    ToolAction::Allow => {
                        self.log.record(&g.id, "allowed", None);
                        self.passed += 1;
                        out.append(&mut g.events);
                    }
                    ToolAction::Deny => {
                        self.log.record(&g.id, "denied", None);
                        self.replaced += 1;
                        let text = self.replacement_text(
                            &g.name,
                            &format!("policy '{}' denies it (rule {})", self.policy.name, d.rule),
                        );
                        Self::text_block(g.index, &text, out);
                    }
                    ToolAction::RequireApproval => {
                        match self.hold(&g.id, &g.name, &input, &d.rule) {
                            Ok(ticket) => {
                                self.log.record(&g.id, "approval-pending", Some(&ticket.id));
                                self.waiting = Some(Waiting { gated: g, ticket });
                            }
                            Err(why) => {
                                self.log.record(&g.id, "rejected", None);
                                self.replaced += 1;
                                let text = self.replacement_text(&g.name, &why);
                                Self::text_block(g.index, &text, out);
                            }
                        }
                    }
                }
            }
            Some("message_delta") => {
                // With every tool call replaced, the turn did not end in a tool call: the SDK and
                // Claude Code must not look for one to run.
                if self.replaced > 0 && self.passed == 0 && event.data().contains("\"tool_use\"") {
                    let mut v = event
                        .json()
                        .map_err(|e| StageError::Failed(e.to_string()))?;
                    if v["delta"]["stop_reason"] == "tool_use" {
                        v["delta"]["stop_reason"] = json!("end_turn");
                        out.push(SseEvent::from_json(&v));
                        return Ok(());
                    }
                }
                out.push(event);
            }
            _ => out.push(event),
        }
        Ok(())
    }

    fn settle(&mut self, w: Waiting, outcome: &Outcome, out: &mut Vec<SseEvent>) {
        let Waiting { mut gated, ticket } = w;
        self.log
            .record(&gated.id, outcome.tool_decision(), Some(&ticket.id));
        if matches!(outcome, Outcome::Approved { .. }) {
            self.passed += 1;
            out.append(&mut gated.events);
        } else {
            self.replaced += 1;
            let text = self.replacement_text(&gated.name, &Self::why(outcome));
            Self::text_block(gated.index, &text, out);
        }
    }
}

impl ResponseStage for ToolStage {
    fn on_event(&mut self, event: SseEvent, out: &mut Vec<SseEvent>) -> Result<(), StageError> {
        if self.waiting.is_some() {
            self.queue.push_back(event);
            return Ok(());
        }
        self.process(event, out)
    }

    fn holding(&self) -> bool {
        self.gating.is_some() || self.waiting.is_some() || !self.queue.is_empty()
    }

    fn awaiting(&self) -> bool {
        self.waiting.is_some() || !self.pending_json.is_empty()
    }

    fn poll_resume(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut Vec<SseEvent>,
    ) -> Poll<Result<(), StageError>> {
        let mut progressed = false;
        loop {
            let Some(w) = self.waiting.as_mut() else {
                // Nothing waits: what queued up behind the decision goes on, until the next hold.
                while self.waiting.is_none() {
                    let Some(e) = self.queue.pop_front() else {
                        break;
                    };
                    if let Err(e) = self.process(e, out) {
                        return Poll::Ready(Err(e));
                    }
                    progressed = true;
                }
                if self.waiting.is_none() {
                    return if progressed {
                        Poll::Ready(Ok(()))
                    } else {
                        Poll::Pending
                    };
                }
                continue;
            };
            match std::pin::Pin::new(&mut w.ticket).poll(cx) {
                Poll::Ready(outcome) => {
                    if let Some(w) = self.waiting.take() {
                        self.settle(w, &outcome, out);
                    }
                    progressed = true;
                }
                Poll::Pending => {
                    return if progressed {
                        Poll::Ready(Ok(()))
                    } else {
                        Poll::Pending
                    };
                }
            }
        }
    }

    fn on_end(&mut self, out: &mut Vec<SseEvent>) -> Result<(), StageError> {
        // A tool_use block the stream never finished is not let out half-checked.
        if let Some(g) = self.gating.take() {
            self.log.record(&g.id, "denied", None);
        }
        out.extend(self.queue.drain(..));
        Ok(())
    }

    fn on_message(&mut self, message: &mut MessageReply) -> Result<bool, StageError> {
        let mut changed = false;
        for (i, block) in message.content.iter_mut().enumerate() {
            let ContentBlock::ToolUse {
                id, name, input, ..
            } = block
            else {
                continue;
            };
            let d = self.decide(name, input);
            match d.action {
                ToolAction::Allow => {
                    self.log.record(id, "allowed", None);
                    self.passed += 1;
                }
                ToolAction::Deny => {
                    self.log.record(id, "denied", None);
                    self.replaced += 1;
                    let text = self.replacement_text(
                        name,
                        &format!("policy '{}' denies it (rule {})", self.policy.name, d.rule),
                    );
                    *block = text_content(text);
                    message.own_blocks.push(i);
                    changed = true;
                }
                ToolAction::RequireApproval => match self.hold(id, name, input, &d.rule) {
                    Ok(ticket) => {
                        self.log.record(id, "approval-pending", Some(&ticket.id));
                        self.pending_json.push((i, name.clone(), ticket));
                    }
                    Err(why) => {
                        self.log.record(id, "rejected", None);
                        self.replaced += 1;
                        *block = text_content(self.replacement_text(name, &why));
                        message.own_blocks.push(i);
                        changed = true;
                    }
                },
            }
        }
        if self.pending_json.is_empty() {
            changed |= self.fix_stop_reason(message);
        }
        Ok(changed)
    }

    fn poll_message(
        &mut self,
        cx: &mut Context<'_>,
        message: &mut MessageReply,
    ) -> Poll<Result<bool, StageError>> {
        let mut i = 0;
        while i < self.pending_json.len() {
            let (index, name, ticket) = &mut self.pending_json[i];
            match std::pin::Pin::new(&mut *ticket).poll(cx) {
                Poll::Ready(outcome) => {
                    let (index, name, ticket) = (*index, name.clone(), ticket.id.clone());
                    self.pending_json.remove(i);
                    if let Some(ContentBlock::ToolUse { id, .. }) = message.content.get(index) {
                        self.log
                            .record(&id.clone(), outcome.tool_decision(), Some(&ticket));
                    }
                    if matches!(outcome, Outcome::Approved { .. }) {
                        self.passed += 1;
                    } else {
                        self.replaced += 1;
                        let text = self.replacement_text(&name, &Self::why(&outcome));
                        if let Some(b) = message.content.get_mut(index) {
                            *b = text_content(text);
                            message.own_blocks.push(index);
                        }
                    }
                }
                Poll::Pending => i += 1,
            }
        }
        if !self.pending_json.is_empty() {
            return Poll::Pending;
        }
        self.fix_stop_reason(message);
        // Whether anything changed is re-judged by the caller from the content itself.
        Poll::Ready(Ok(self.replaced > 0))
    }
}

impl ToolStage {
    fn fix_stop_reason(&self, message: &mut MessageReply) -> bool {
        if self.replaced > 0
            && self.passed == 0
            && message.stop_reason.as_ref().and_then(Value::as_str) == Some("tool_use")
        {
            message.stop_reason = Some(json!("end_turn"));
            return true;
        }
        false
    }
}

fn text_content(text: String) -> ContentBlock {
    ContentBlock::Text {
        text,
        extra: serde_json::Map::new(),
    }
}
