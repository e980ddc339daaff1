//! Data boundaries: every scanned part of the request goes through the policy's scanner once;
//! each detection is allowed, redacted, pseudonymized or blocked as its class says. Thinking
//! blocks are never edited (their signatures would break).

use std::sync::Arc;

use serde_json::Value;

use super::reply::ReplyGuard;
use super::{Filter, FilterError, Finding, Rejection, RequestContext, ResponseStage, Verdict};
use crate::api::{ContentBlock, ErrorKind, MessageContent, MessagesRequest, Role, System};
use crate::policy::{Action, Policy, Unscannable};

pub struct DataBoundaries {
    policy: Arc<Policy>,
}

impl DataBoundaries {
    pub fn new(policy: Arc<Policy>) -> Self {
        Self { policy }
    }
}

/// The replacement for a redacted value: `[REDACTED:aws_access_key_id]`.
pub fn redaction_label(rule: &str) -> String {
    let short = rule.strip_prefix("secrets.").unwrap_or(rule);
    format!("[REDACTED:{short}]")
}

/// Keys of unknown blocks that hold no content to scan.
const OPAQUE_KEYS: &[&str] = &[
    "type",
    "id",
    "tool_use_id",
    "signature",
    "media_type",
    "cache_control",
];

struct Walker<'p, 'c, 'a> {
    policy: &'p Policy,
    ctx: &'c mut RequestContext<'a>,
    changed: bool,
    blocked: Option<Rejection>,
}

impl Walker<'_, '_, '_> {
    fn reject(&mut self, class: &str, rule: &str, location: &str) {
        if self.blocked.is_none() {
            self.blocked = Some(Rejection {
                kind: ErrorKind::Permission,
                rule: rule.to_string(),
                message: format!(
                    "request blocked by policy '{}': {class} found in {location} (rule {rule})",
                    self.policy.name
                ),
            });
        }
    }

    fn text(&mut self, text: &mut String, location: &str) {
        if self.blocked.is_some() || text.is_empty() {
            return;
        }
        let detections = self.policy.scanner.scan(text);
        if detections.is_empty() {
            return;
        }
        let mut rewrites = Vec::new();
        for d in &detections {
            let info = self.policy.scanner.rule(d.rule);
            let action = self.policy.rule_actions[d.rule];
            let value = &text[d.start..d.end];
            self.ctx.findings.push(Finding::new(
                &info.class,
                &info.id,
                action,
                location,
                (d.start, d.end),
                value,
                self.ctx.fingerprint_key,
            ));
            match action {
                Action::Block => self.reject(&info.class, &info.id, location),
                Action::Redact | Action::Pseudonymize => rewrites.push(*d),
                Action::Allow => {}
            }
        }
        if self.blocked.is_some() || rewrites.is_empty() {
            return;
        }
        // Detections come sorted by start, longest first. One that overlaps the value just
        // replaced is covered by the same replacement, its tail included (two secrets written
        // without a separator must not leave the second one's end in clear).
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for d in rewrites {
            if d.start < last {
                last = last.max(d.end);
                continue;
            }
            let info = self.policy.scanner.rule(d.rule);
            out.push_str(&text[last..d.start]);
            match self.policy.rule_actions[d.rule] {
                Action::Pseudonymize => {
                    let p = self
                        .ctx
                        .pseudonyms
                        .placeholder(&info.class, &text[d.start..d.end]);
                    out.push_str(&p);
                }
                _ => out.push_str(&redaction_label(&info.id)),
            }
            last = d.end;
        }
        out.push_str(&text[last..]);
        *text = out;
        self.changed = true;
    }

    /// Every string in a JSON value (tool inputs, unknown blocks), skipping opaque keys.
    fn json(&mut self, value: &mut Value, location: &str) {
        match value {
            Value::String(s) => self.text(s, location),
            Value::Array(items) => {
                for (i, v) in items.iter_mut().enumerate() {
                    self.json(v, &format!("{location}[{i}]"));
                }
            }
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if !OPAQUE_KEYS.contains(&k.as_str()) {
                        self.json(v, &format!("{location}.{k}"));
                    }
                }
            }
            _ => {}
        }
    }

    fn unscannable(&mut self, kind: &str, location: &str) {
        let action = match self.policy.unscannable {
            Unscannable::Allow => Action::Allow,
            Unscannable::Block => Action::Block,
        };
        self.ctx.findings.push(Finding::new(
            "unscannable",
            "unscannable",
            action,
            location,
            (0, 0),
            kind,
            self.ctx.fingerprint_key,
        ));
        if action == Action::Block {
            self.reject(
                &format!("content Warden cannot scan ({kind})"),
                "unscannable",
                location,
            );
        }
    }

    fn blocks(&mut self, blocks: &mut [ContentBlock], location: &str, text_on: bool) {
        let scan = &self.policy.scan;
        let (tool_results, tool_inputs, documents) =
            (scan.tool_results, scan.tool_use_inputs, scan.documents);
        for (j, block) in blocks.iter_mut().enumerate() {
            let here = format!("{location}[{j}]");
            match block {
                ContentBlock::Text { text, extra } if text_on => {
                    self.text(text, &format!("{here}.text"));
                    // Citations quote the documents they cite: the quote must be treated like
                    // the document, or a redacted value would go out through `cited_text`.
                    if let Some(citations) = extra.get_mut("citations") {
                        self.json(citations, &format!("{here}.citations"));
                    }
                }
                ContentBlock::Text { .. } => {}
                ContentBlock::ToolResult { content, .. } if tool_results => match content {
                    Some(MessageContent::Text(s)) => self.text(s, &format!("{here}.content")),
                    Some(MessageContent::Blocks(inner)) => {
                        self.blocks(inner, &format!("{here}.content"), true)
                    }
                    None => {}
                },
                ContentBlock::ToolResult { .. } => {}
                ContentBlock::ToolUse { input, .. } if tool_inputs => {
                    self.json(input, &format!("{here}.input"))
                }
                ContentBlock::ToolUse { .. } => {}
                ContentBlock::Thinking { .. } | ContentBlock::RedactedThinking { .. } => {}
                ContentBlock::Unknown(map) => {
                    let kind = map
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    let source_type = map
                        .get("source")
                        .and_then(|s| s.get("type"))
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    match (kind.as_str(), source_type.as_str()) {
                        ("image", _) => self.unscannable("image", &here),
                        ("document", "base64" | "url" | "file") => {
                            self.unscannable(&format!("{source_type} document"), &here)
                        }
                        ("document", _) if !documents => {}
                        _ => {
                            let mut value = Value::Object(std::mem::take(map));
                            self.json(&mut value, &here);
                            if let Value::Object(m) = value {
                                *map = m;
                            }
                        }
                    }
                }
            }
            if self.blocked.is_some() {
                return;
            }
        }
    }
}

impl Filter for DataBoundaries {
    fn name(&self) -> &'static str {
        "data_boundaries"
    }

    fn on_request(
        &self,
        request: &mut MessagesRequest,
        ctx: &mut RequestContext<'_>,
    ) -> Result<Verdict, FilterError> {
        let policy = &*self.policy;
        let mut w = Walker {
            policy,
            ctx,
            changed: false,
            blocked: None,
        };
        if policy.scan.system {
            match &mut request.system {
                Some(System::Text(s)) => w.text(s, "system"),
                Some(System::Blocks(b)) => w.blocks(b, "system", true),
                None => {}
            }
        }
        for (i, message) in request.messages.iter_mut().enumerate() {
            let location = format!("messages[{i}].content");
            let text_on = match message.role {
                Role::User => policy.scan.user_text,
                Role::Assistant => policy.scan.assistant_text,
            };
            match &mut message.content {
                MessageContent::Text(s) if text_on => w.text(s, &location),
                MessageContent::Text(_) => {}
                MessageContent::Blocks(b) => w.blocks(b, &location, text_on),
            }
            if w.blocked.is_some() {
                break;
            }
        }
        if let Some(rejection) = w.blocked {
            return Ok(Verdict::Reject(rejection));
        }
        Ok(if w.changed {
            Verdict::Rewritten
        } else {
            Verdict::Pass
        })
    }

    fn response_stage(&self, ctx: &RequestContext<'_>) -> Option<Box<dyn ResponseStage>> {
        self.policy.reply_scan.then(|| {
            Box::new(ReplyGuard::new(
                self.policy.clone(),
                ctx.pseudonyms.restore_map(),
                ctx.reply_findings.clone(),
            )) as Box<dyn ResponseStage>
        })
    }
}

/// Text as the audit store keeps it: every value the policy does not allow replaced by its
/// redaction label (`only_secrets`: only the `secrets` class, for the `full` storage mode).
pub fn redact_for_storage(policy: &Policy, text: &str, only_secrets: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for d in policy.scanner.scan(text) {
        let info = policy.scanner.rule(d.rule);
        let hide = if only_secrets {
            info.class == "secrets"
        } else {
            policy.rule_actions[d.rule] != Action::Allow
        };
        if !hide {
            continue;
        }
        if d.start < last {
            last = last.max(d.end);
            continue;
        }
        out.push_str(&text[last..d.start]);
        out.push_str(&redaction_label(&info.id));
        last = d.end;
    }
    out.push_str(&text[last..]);
    out
}
