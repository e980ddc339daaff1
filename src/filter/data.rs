//! Data boundaries: every scanned part of the request goes through the policy's scanner once;
//! each detection is allowed, redacted, pseudonymized or blocked as its class says. Thinking
//! blocks are never edited (their signatures would break).

use std::sync::Arc;

use serde_json::Value;

use super::reply::ReplyGuard;
use super::{Filter, FilterError, Finding, Rejection, RequestContext, ResponseStage, Verdict};
use serde_json::Map;

use crate::api::{ContentBlock, ErrorKind, MessageContent, MessagesRequest, Role, System};
use crate::detect::Found;
use crate::policy::raw::ThinkingAction;
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

/// Keys whose string values are identifiers, signatures or enums that upstream parses: scanned
/// like everything else, but never rewritten (a finding to redact in one refuses the request).
const FIXED_KEYS: &[&str] = &[
    "type",
    "id",
    "tool_use_id",
    "signature",
    "media_type",
    "name",
    "file_id",
    "container_id",
];

/// How far each side of a boundary between two adjacent text blocks is read again as one text,
/// to find a value split across the blocks (longer than any single-line value a rule matches).
const JOIN_WINDOW: usize = 1024;

struct Walker<'p, 'c, 'a> {
    policy: &'p Policy,
    ctx: &'c mut RequestContext<'a>,
    changed: bool,
    blocked: Option<Rejection>,
}

/// What to do with one detection, once recorded.
enum Step {
    Keep,
    Replace(String),
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

    /// Records a detection and says what replaces it.
    fn detected(&mut self, d: &Found<'_>, location: &str) -> Step {
        let info = self.policy.scanner.rule(d.rule);
        let action = self.policy.rule_actions[d.rule];
        self.ctx.findings.push(Finding::new(
            &info.class,
            &info.id,
            action,
            location,
            (d.start, d.end),
            &d.value,
            self.ctx.fingerprint_key,
        ));
        match action {
            Action::Block => {
                let (class, id) = (info.class.clone(), info.id.clone());
                self.reject(&class, &id, location);
                Step::Keep
            }
            Action::Pseudonymize => {
                Step::Replace(self.ctx.pseudonyms.placeholder(&info.class, &d.value))
            }
            Action::Redact => Step::Replace(redaction_label(&info.id)),
            Action::Allow => Step::Keep,
        }
    }

    /// A string Warden may rewrite: every detection in its canonical view is allowed, replaced
    /// (the original bytes of the match, hidden characters included) or blocks the request.
    fn text(&mut self, text: &mut String, location: &str) {
        if self.blocked.is_some() || text.is_empty() {
            return;
        }
        let found = self.policy.scanner.scan_canonical(text);
        if found.is_empty() {
            return;
        }
        let mut rewrites = Vec::new();
        for d in &found {
            if let Step::Replace(with) = self.detected(d, location) {
                rewrites.push((d.start, d.end, with));
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
        for (start, end, with) in rewrites {
            if start < last {
                last = last.max(end);
                continue;
            }
            out.push_str(&text[last..start]);
            out.push_str(&with);
            last = end;
        }
        out.push_str(&text[last..]);
        *text = out;
        self.changed = true;
    }

    /// A string Warden must not rewrite (an id, a name, a signature, an object key): scanned, and
    /// any value the policy does not allow refuses the request.
    fn fixed(&mut self, text: &str, location: &str) {
        if self.blocked.is_some() || text.is_empty() {
            return;
        }
        for d in self.policy.scanner.scan_canonical(text) {
            if let Step::Replace(_) = self.detected(&d, location) {
                let info = self.policy.scanner.rule(d.rule);
                let (class, id) = (info.class.clone(), info.id.clone());
                self.reject(
                    &format!("{class} (in a field Warden cannot rewrite)"),
                    &id,
                    location,
                );
            }
        }
    }

    /// Every string in a JSON value, object keys included: values of [`FIXED_KEYS`] and keys are
    /// scanned without being rewritten, other strings as [`Walker::text`].
    fn json(&mut self, value: &mut Value, location: &str) {
        if self.blocked.is_some() {
            return;
        }
        match value {
            Value::String(s) => self.text(s, location),
            Value::Array(items) => {
                for (i, v) in items.iter_mut().enumerate() {
                    self.json(v, &format!("{location}[{i}]"));
                }
            }
            Value::Object(map) => self.object(map, location),
            _ => {}
        }
    }

    fn object(&mut self, map: &mut Map<String, Value>, location: &str) {
        for (k, v) in map.iter_mut() {
            let here = format!("{location}.{k}");
            self.fixed(k, &format!("{location} (a key)"));
            match v {
                Value::String(s) if FIXED_KEYS.contains(&k.as_str()) => self.fixed(s, &here),
                _ => self.json(v, &here),
            }
        }
    }

    /// Every string in a JSON value that must reach upstream as it is (a signed thinking block).
    fn json_fixed(&mut self, value: &Value, location: &str) {
        match value {
            Value::String(s) => self.fixed(s, location),
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    self.json_fixed(v, &format!("{location}[{i}]"));
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    self.fixed(k, &format!("{location} (a key)"));
                    self.json_fixed(v, &format!("{location}.{k}"));
                }
            }
            _ => {}
        }
    }

    /// A thinking block: signed, so never edited. Its values are found and recorded; the policy's
    /// `scan.thinking` decides whether one it would redact refuses the request.
    fn thinking(&mut self, opaque: &Map<String, Value>, location: &str) {
        let pass = self.policy.scan.thinking == ThinkingAction::Pass;
        for (k, v) in opaque {
            let here = format!("{location}.{k}");
            self.fixed(k, &format!("{location} (a key)"));
            let Value::String(s) = v else {
                self.json_fixed(v, &here);
                continue;
            };
            if self.blocked.is_some() {
                return;
            }
            for d in self.policy.scanner.scan_canonical(s) {
                let action = self.policy.rule_actions[d.rule];
                match self.detected(&d, &here) {
                    Step::Replace(_) if !pass => {
                        let info = self.policy.scanner.rule(d.rule);
                        let (class, id) = (info.class.clone(), info.id.clone());
                        self.reject(
                            &format!("{class} (in a signed thinking block; scan.thinking: block)"),
                            &id,
                            &here,
                        );
                    }
                    _ => debug_assert!(pass || action != Action::Redact),
                }
            }
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

    /// A block Warden does not model, or an image or document: every string in it, except the
    /// base64 payload of a `base64` source, which is governed by `unscannable`.
    fn other_block(&mut self, map: &mut Map<String, Value>, here: &str, documents: bool) {
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
            ("image", _) => self.unscannable("image", here),
            ("document", "base64" | "url" | "file") => {
                self.unscannable(&format!("{source_type} document"), here)
            }
            // Documents are scanned by policy (`scan.documents`); a policy that turns it off
            // allows their text through, and says so in its file.
            ("document", _) if !documents => return,
            _ => {}
        }
        for (k, v) in map.iter_mut() {
            let at = format!("{here}.{k}");
            self.fixed(k, &format!("{here} (a key)"));
            match (k.as_str(), v) {
                (_, Value::String(s)) if FIXED_KEYS.contains(&k.as_str()) => self.fixed(s, &at),
                ("source", Value::Object(source)) if source_type == "base64" => {
                    for (sk, sv) in source.iter_mut() {
                        self.fixed(sk, &format!("{at} (a key)"));
                        match sv {
                            // The payload: `unscannable` above has decided.
                            Value::String(_) if sk == "data" => {}
                            Value::String(s) if FIXED_KEYS.contains(&sk.as_str()) => {
                                self.fixed(s, &format!("{at}.{sk}"))
                            }
                            _ => self.json(sv, &format!("{at}.{sk}")),
                        }
                    }
                }
                (_, v) => self.json(v, &at),
            }
        }
    }

    fn blocks(&mut self, blocks: &mut [ContentBlock], location: &str, text_on: bool) {
        let scan = &self.policy.scan;
        let (tool_results, tool_inputs, documents) =
            (scan.tool_results, scan.tool_use_inputs, scan.documents);
        for (j, block) in blocks.iter_mut().enumerate() {
            let here = format!("{location}[{j}]");
            match block {
                ContentBlock::Text { text, extra } => {
                    if text_on {
                        self.text(text, &format!("{here}.text"));
                    }
                    // Citations quote the documents they cite: the quote must be treated like
                    // the document, or a redacted value would go out through `cited_text`.
                    self.object(extra, &here);
                }
                ContentBlock::ToolResult {
                    tool_use_id,
                    content,
                    extra,
                } => {
                    self.fixed(tool_use_id, &format!("{here}.tool_use_id"));
                    if tool_results {
                        match content {
                            Some(MessageContent::Text(s)) => {
                                self.text(s, &format!("{here}.content"))
                            }
                            Some(MessageContent::Blocks(inner)) => {
                                self.blocks(inner, &format!("{here}.content"), true)
                            }
                            None => {}
                        }
                    }
                    self.object(extra, &here);
                }
                ContentBlock::ToolUse {
                    id,
                    name,
                    input,
                    extra,
                } => {
                    self.fixed(id, &format!("{here}.id"));
                    self.fixed(name, &format!("{here}.name"));
                    if tool_inputs {
                        self.json(input, &format!("{here}.input"));
                    }
                    self.object(extra, &here);
                }
                ContentBlock::Thinking { opaque } | ContentBlock::RedactedThinking { opaque } => {
                    self.thinking(opaque, &here)
                }
                ContentBlock::Unknown(map) => self.other_block(map, &here, documents),
            }
            if self.blocked.is_some() {
                return;
            }
        }
        if text_on {
            self.joined(blocks, location);
        }
    }

    /// Values split across adjacent text blocks: the model reads the blocks as one text, so the
    /// text around each boundary is scanned as one, and a value that crosses a boundary is
    /// handled in every block it touches (replaced in the first, cut from the others).
    fn joined(&mut self, blocks: &mut [ContentBlock], location: &str) {
        let mut j = 0;
        while j < blocks.len() {
            let run_end = (j..blocks.len())
                .find(|&k| !matches!(blocks[k], ContentBlock::Text { .. }))
                .unwrap_or(blocks.len());
            if run_end - j >= 2 {
                self.joined_run(&mut blocks[j..run_end], location, j);
            }
            if self.blocked.is_some() {
                return;
            }
            j = run_end + 1;
        }
    }

    fn joined_run(&mut self, run: &mut [ContentBlock], location: &str, first: usize) {
        let texts: Vec<&str> = run
            .iter()
            .map(|b| match b {
                ContentBlock::Text { text, .. } => text.as_str(),
                _ => "",
            })
            .collect();
        // Where each block starts in the joined text.
        let mut starts = Vec::with_capacity(texts.len() + 1);
        let mut joined = String::new();
        for t in &texts {
            starts.push(joined.len());
            joined.push_str(t);
        }
        starts.push(joined.len());
        let boundaries = &starts[1..texts.len()];
        // The windows around the boundaries, merged where they overlap.
        let mut windows: Vec<(usize, usize)> = Vec::new();
        for &b in boundaries {
            let lo = floor_boundary(&joined, b.saturating_sub(JOIN_WINDOW));
            let hi = ceil_boundary(&joined, (b + JOIN_WINDOW).min(joined.len()));
            match windows.last_mut() {
                Some(w) if w.1 >= lo => w.1 = hi,
                _ => windows.push((lo, hi)),
            }
        }
        let block_of = |at: usize| starts.partition_point(|&s| s <= at).saturating_sub(1);
        // (start, end, replacement) in joined coordinates, for values that cross a boundary.
        let mut cuts: Vec<(usize, usize, Option<String>)> = Vec::new();
        for (lo, hi) in windows {
            for d in self.policy.scanner.scan_canonical(&joined[lo..hi]) {
                let (start, end) = (lo + d.start, lo + d.end);
                if block_of(start) == block_of(end.saturating_sub(1)) {
                    continue; // inside one block: that block's own scan has it
                }
                if cuts.iter().any(|c| c.0 <= start && end <= c.1) {
                    continue;
                }
                let here = format!(
                    "{location}[{}..={}].text",
                    first + block_of(start),
                    first + block_of(end - 1)
                );
                let found = Found {
                    rule: d.rule,
                    start,
                    end,
                    value: d.value.clone(),
                };
                match self.detected(&found, &here) {
                    Step::Replace(with) => cuts.push((start, end, Some(with))),
                    Step::Keep => {}
                }
                if self.blocked.is_some() {
                    return;
                }
            }
        }
        if cuts.is_empty() {
            return;
        }
        // Apply each cut to the blocks it touches, from the last block back.
        let mut edits: Vec<Vec<(usize, usize, String)>> = vec![Vec::new(); texts.len()];
        for (start, end, with) in cuts {
            let (a, b) = (block_of(start), block_of(end - 1));
            for k in a..=b {
                let lo = start.max(starts[k]) - starts[k];
                let hi = end.min(starts[k + 1]) - starts[k];
                let put = if k == a {
                    with.clone().unwrap_or_default()
                } else {
                    String::new()
                };
                edits[k].push((lo, hi, put));
            }
        }
        for (k, mut list) in edits.into_iter().enumerate() {
            if list.is_empty() {
                continue;
            }
            list.sort_by_key(|e| std::cmp::Reverse(e.0));
            if let ContentBlock::Text { text, .. } = &mut run[k] {
                for (lo, hi, put) in list {
                    if hi <= text.len() && lo <= hi {
                        text.replace_range(lo..hi, &put);
                    }
                }
            }
        }
        self.changed = true;
    }
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(s: &str, mut i: usize) -> usize {
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i
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
        // Every string upstream receives is scanned: the content by the policy's `scan` switches,
        // and every other field (tool definitions, metadata, stop sequences, fields Warden does
        // not know) always. Identifiers and names are scanned without being rewritten.
        w.fixed(&request.model, "model");
        // In the order the model reads the prompt (tools, system, messages), so a pseudonym's
        // number depends only on what comes before it: the placeholders of a conversation's
        // earlier turns stay the same bytes when later turns add values, and the client's
        // prompt cache keeps hitting.
        if let Some(tools) = &mut request.tools {
            for (i, tool) in tools.iter_mut().enumerate() {
                let here = format!("tools[{i}]");
                w.fixed(&tool.name, &format!("{here}.name"));
                w.object(&mut tool.extra, &here);
            }
        }
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
                // A role this version does not know: no setting exempts it.
                Role::Other(_) => true,
            };
            match &mut message.content {
                MessageContent::Text(s) if text_on => w.text(s, &location),
                MessageContent::Text(_) => {}
                MessageContent::Blocks(b) => w.blocks(b, &location, text_on),
            }
            w.object(&mut message.extra, &format!("messages[{i}]"));
            if w.blocked.is_some() {
                break;
            }
        }
        w.object(&mut request.extra, "request");
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

/// Scans a document that is not part of a request (an uploaded file's text, its name) as the
/// policy scans a request's text: values are replaced in `text` as their class's action says,
/// findings go to `ctx`, and a class whose action is `block` (or a value in `name`, which cannot
/// be rewritten) refuses it. Returns whether `text` changed.
pub fn scan_document(
    policy: &Policy,
    ctx: &mut RequestContext<'_>,
    name: &str,
    text: &mut String,
    location: &str,
) -> Result<bool, Rejection> {
    let mut w = Walker {
        policy,
        ctx,
        changed: false,
        blocked: None,
    };
    w.fixed(name, &format!("{location}.filename"));
    w.text(text, location);
    match w.blocked {
        Some(r) => Err(r),
        None => Ok(w.changed),
    }
}

/// Scans JSON that goes upstream beside what Warden filters (a batch's envelope, an item's
/// `custom_id`, an upload's form fields): nothing there is rewritten, so a value the policy does
/// not allow refuses it. Findings go to `ctx`.
pub fn scan_fixed(
    policy: &Policy,
    ctx: &mut RequestContext<'_>,
    value: &Value,
    location: &str,
) -> Result<(), Rejection> {
    let mut w = Walker {
        policy,
        ctx,
        changed: false,
        blocked: None,
    };
    w.json_fixed(value, location);
    match w.blocked {
        Some(r) => Err(r),
        None => Ok(()),
    }
}

/// Text as the audit store keeps it: every value the policy does not allow replaced by its
/// redaction label (`only_secrets`: only the `secrets` class, for the `full` storage mode).
pub fn redact_for_storage(policy: &Policy, text: &str, only_secrets: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for d in policy.scanner.scan_canonical(text) {
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
