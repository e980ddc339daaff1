//! The reply stage: secrets the model writes are redacted, and pseudonyms are restored to the
//! real values, in whole Messages and in streams. In a stream, text is held back only as long as
//! a match could still be in progress (a keyword seen near the end, a placeholder not yet closed)
//! and flushed at `content_block_stop`; a tool_use block's input is held until its stop, then
//! cleaned as JSON. Thinking blocks are never edited.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::data::redaction_label;
use super::pseudonym::{MAX_PLACEHOLDER_LEN, restore, restore_outside_urls};
use super::{Finding, ReplyFindings, ResponseStage, StageError};
use crate::api::messages::MessageReply;
use crate::api::{ContentBlock, SseEvent};
use crate::policy::{Action, Policy, ThinkingAction};

/// Largest tool input held while it streams; beyond it the stream fails closed.
const MAX_HELD_TOOL_INPUT_BYTES: usize = 4 * 1024 * 1024;

enum Block {
    Text {
        pending: String,
        /// Bytes of this block's upstream text already released: where `pending` starts.
        offset: usize,
        /// The released text's last word (since its last whitespace, bounded): whether a
        /// placeholder that follows sits in a URL.
        word: String,
    },
    ToolUse {
        json: String,
        held: Vec<SseEvent>,
    },
    /// Held whole, start included, when the policy blocks replies whose thinking leaks.
    Thinking {
        text: String,
        held: Vec<SseEvent>,
    },
}

pub struct ReplyGuard {
    policy: Arc<Policy>,
    restore: Arc<Vec<(String, String)>>,
    /// Whether any rule redacts or blocks: if none, only restoring is left to do.
    redacting: bool,
    blocks: HashMap<u64, Block>,
    /// What was redacted or withheld, for the audit record.
    findings: ReplyFindings,
}

impl ReplyGuard {
    pub fn new(
        policy: Arc<Policy>,
        restore: Arc<Vec<(String, String)>>,
        findings: ReplyFindings,
    ) -> Self {
        let redacting = policy
            .rule_actions
            .iter()
            .any(|a| matches!(a, Action::Redact | Action::Block));
        Self {
            policy,
            restore,
            redacting,
            blocks: HashMap::new(),
            findings,
        }
    }

    /// Redacts, then restores; `None` when nothing changed. Each redaction is recorded as a
    /// finding at `location`, its span shifted by `offset` (where `text` starts in the block).
    pub fn clean(&self, text: &str, location: &str, offset: usize) -> Option<String> {
        self.clean_after(text, location, offset, "")
    }

    /// [`ReplyGuard::clean`] for text that follows `before` (the last word of what was already
    /// sent), so that a placeholder in a URL that began there stays a placeholder.
    fn clean_after(
        &self,
        text: &str,
        location: &str,
        offset: usize,
        before: &str,
    ) -> Option<String> {
        let mut current: Option<String> = None;
        if self.redacting {
            let mut out = String::new();
            let mut last = 0;
            // The canonical view: a value the model wrote with hidden or look-alike characters
            // inside is found, and its whole span in the original text is redacted.
            for d in self.policy.scanner.scan_canonical(text) {
                if !matches!(
                    self.policy.rule_actions[d.rule],
                    Action::Redact | Action::Block
                ) {
                    continue;
                }
                if d.start < last {
                    // Overlaps the value just redacted: its tail goes under the same label,
                    // or it would be left in clear.
                    last = last.max(d.end);
                    continue;
                }
                let info = self.policy.scanner.rule(d.rule);
                self.findings.push(Finding::new(
                    &info.class,
                    &info.id,
                    Action::Redact,
                    location,
                    (offset + d.start, offset + d.end),
                    &d.value,
                    self.findings.key(),
                ));
                out.push_str(&text[last..d.start]);
                out.push_str(&redaction_label(&info.id));
                last = d.end;
            }
            if last > 0 {
                out.push_str(&text[last..]);
                current = Some(out);
            }
        }
        let base = current.as_deref().unwrap_or(text);
        let restored = if self.policy.reply_restore_in_urls {
            restore(base, &self.restore)
        } else {
            restore_outside_urls(base, &self.restore, before)
        };
        match restored {
            Some(restored) => Some(restored),
            None => current,
        }
    }

    /// A tool call's input as the client will receive it from this stage (secrets redacted,
    /// placeholders restored where the policy restores them), or as it is when the policy does
    /// not scan replies: what an approval is bound to. Records no findings.
    pub fn client_view(
        policy: &Arc<Policy>,
        restore: &Arc<Vec<(String, String)>>,
        input: &Value,
    ) -> Value {
        let mut value = input.clone();
        if policy.reply_scan {
            let guard = Self::new(policy.clone(), restore.clone(), ReplyFindings::default());
            guard.clean_json(&mut value, "input");
        }
        value
    }

    /// Cleans every string in `value`; findings name their path below `location`.
    fn clean_json(&self, value: &mut Value, location: &str) -> bool {
        let mut path = location.to_string();
        self.clean_json_at(value, &mut path)
    }

    /// `path` grows and shrinks as the walk descends: one buffer, not a string per node.
    fn clean_json_at(&self, value: &mut Value, path: &mut String) -> bool {
        use std::fmt::Write as _;
        let len = path.len();
        let changed = match value {
            Value::String(s) => match self.clean(s, path, 0) {
                Some(c) => {
                    *s = c;
                    true
                }
                None => false,
            },
            Value::Array(items) => {
                let mut changed = false;
                for (i, v) in items.iter_mut().enumerate() {
                    let _ = write!(path, "[{i}]");
                    changed |= self.clean_json_at(v, path);
                    path.truncate(len);
                }
                changed
            }
            Value::Object(map) => {
                let mut changed = false;
                for (k, v) in map.iter_mut() {
                    path.push('.');
                    path.push_str(k);
                    changed |= self.clean_json_at(v, path);
                    path.truncate(len);
                }
                changed
            }
            _ => false,
        };
        path.truncate(len);
        changed
    }

    /// How much of `pending` can be sent now without cutting a possible match or placeholder.
    fn cut(&self, pending: &str) -> usize {
        let floor = |mut i: usize| {
            while i > 0 && !pending.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        let mut cut = floor(self.policy.scanner.hold_from(pending));
        if self.redacting {
            if let Some(open) = self.policy.scanner.open_from(pending) {
                cut = cut.min(open);
            }
            // Latest start first: moving the cut back to a value's start can put it inside an
            // earlier (overlapping) value, which the rest of the walk then also steps over.
            for d in self.policy.scanner.scan_canonical(pending).iter().rev() {
                if d.start < cut && d.end > cut {
                    cut = d.start;
                }
            }
        }
        let mut cut = floor(cut);
        if !self.restore.is_empty() {
            let window = floor(cut.saturating_sub(MAX_PLACEHOLDER_LEN));
            if let Some(lt) = pending[window..cut].rfind('<') {
                let lt = window + lt;
                if !pending[lt..cut].contains('>') {
                    cut = lt;
                }
            }
        }
        floor(cut)
    }

    /// The first redact-or-block detection in a thinking text, as a withheld verdict.
    fn check_thinking(&self, text: &str, index: u64) -> Result<(), StageError> {
        if self.policy.reply_thinking != ThinkingAction::Block {
            return Ok(());
        }
        let hit = self
            .policy
            .scanner
            .scan_canonical(text)
            .into_iter()
            .find(|d| {
                matches!(
                    self.policy.rule_actions[d.rule],
                    Action::Redact | Action::Block
                )
            });
        match hit {
            None => Ok(()),
            Some(d) => {
                let info = self.policy.scanner.rule(d.rule);
                self.findings.push(Finding::new(
                    &info.class,
                    &info.id,
                    Action::Block,
                    &format!("reply.content[{index}].thinking"),
                    (d.start, d.end),
                    &d.value,
                    self.findings.key(),
                ));
                Err(StageError::Withheld {
                    rule: info.id.clone(),
                    message: format!(
                        "reply withheld by policy '{}': {} found in a thinking block (rule {}; reply.thinking: block)",
                        self.policy.name, info.class, info.id
                    ),
                })
            }
        }
    }

    fn text_delta(index: u64, text: &str) -> SseEvent {
        SseEvent::from_json(&json!({
            "type": "content_block_delta",
            "index": index,
            "delta": {"type": "text_delta", "text": text},
        }))
    }

    fn flush(&mut self, index: u64, out: &mut Vec<SseEvent>) -> Result<(), StageError> {
        match self.blocks.remove(&index) {
            Some(Block::Thinking { text, held }) => {
                self.check_thinking(&text, index)?;
                out.extend(held);
            }
            Some(Block::Text {
                pending,
                offset,
                word,
            }) if !pending.is_empty() => {
                let location = format!("reply.content[{index}].text");
                let text = self
                    .clean_after(&pending, &location, offset, &word)
                    .unwrap_or(pending);
                out.push(Self::text_delta(index, &text));
            }
            Some(Block::ToolUse { json, held }) => {
                let mut value: Value =
                    match serde_json::from_str(if json.is_empty() { "{}" } else { &json }) {
                        Ok(v) => v,
                        Err(_) => {
                            // Not JSON we can read: the client gets what upstream sent, as it would anyway.
                            out.extend(held);
                            return Ok(());
                        }
                    };
                if self.clean_json(&mut value, &format!("reply.content[{index}].input")) {
                    out.push(SseEvent::from_json(&json!({
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": value.to_string()},
                    })));
                } else {
                    out.extend(held);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// A text delta for the text block at `index`: what can no longer be part of a pattern goes
    /// out cleaned, the rest waits for the next delta (or the block's end).
    fn on_text(&mut self, index: u64, delta: &str, out: &mut Vec<SseEvent>) {
        let Some(Block::Text {
            pending,
            offset,
            word,
        }) = self.blocks.get_mut(&index)
        else {
            return;
        };
        pending.push_str(delta);
        let snapshot = std::mem::take(pending);
        let before = std::mem::take(word);
        let start = *offset;
        let cut = self.cut(&snapshot);
        let (ready, rest) = snapshot.split_at(cut);
        if !ready.is_empty() {
            let location = format!("reply.content[{index}].text");
            let text = self
                .clean_after(ready, &location, start, &before)
                .unwrap_or_else(|| ready.to_string());
            out.push(Self::text_delta(index, &text));
        }
        let word_now = last_word(&before, ready);
        if let Some(Block::Text {
            pending,
            offset,
            word,
        }) = self.blocks.get_mut(&index)
        {
            pending.push_str(rest);
            *offset = start + cut;
            *word = word_now;
        }
    }
}

/// The longest last word kept to tell whether a placeholder sits in a URL.
const MAX_WORD_BYTES: usize = 4096;

/// The last word of `before` followed by `text`: after the last whitespace, bounded.
fn last_word(before: &str, text: &str) -> String {
    let mut word = match text.rfind(char::is_whitespace) {
        Some(ws) => text[ws..]
            .trim_start_matches(char::is_whitespace)
            .to_string(),
        None => format!("{before}{text}"),
    };
    if word.len() > MAX_WORD_BYTES {
        let mut cut = word.len() - MAX_WORD_BYTES;
        while !word.is_char_boundary(cut) {
            cut += 1;
        }
        word.drain(..cut);
    }
    word
}

fn index_of(v: &Value) -> Option<u64> {
    v.get("index").and_then(Value::as_u64)
}

impl ResponseStage for ReplyGuard {
    fn on_event(&mut self, event: SseEvent, out: &mut Vec<SseEvent>) -> Result<(), StageError> {
        // Warden's own notice (who rejected a call, and why) is not the model's output: an
        // approver's address in it is not a leak to redact.
        if event.is_own() {
            out.push(event);
            return Ok(());
        }
        let name = event.event().unwrap_or("");
        if matches!(name, "message_delta" | "message_stop" | "error") {
            // A block upstream never closed: release what it holds (scanned) before the message
            // ends, an upstream error event included: the client gets all it would directly.
            self.on_end(out)?;
        }
        if !matches!(
            name,
            "content_block_start" | "content_block_delta" | "content_block_stop"
        ) {
            out.push(event);
            return Ok(());
        }
        // Text deltas, nearly every event of a stream, through the typed view: a `Value` parse
        // builds every object as a map. Everything else, and any event the view cannot read,
        // takes the `Value` path below.
        if name == "content_block_delta" {
            if let Ok(view) = event.view() {
                if let (Some(index), Some(delta)) = (view.index, &view.delta) {
                    if delta.kind.as_deref() == Some("text_delta")
                        && matches!(self.blocks.get(&index), Some(Block::Text { .. }))
                    {
                        self.on_text(index, delta.text.as_deref().unwrap_or(""), out);
                        return Ok(());
                    }
                }
            }
        }
        let Ok(v) = event.json() else {
            out.push(event);
            return Ok(());
        };
        let Some(index) = index_of(&v) else {
            out.push(event);
            return Ok(());
        };
        match name {
            "content_block_start" => {
                match v["content_block"]["type"].as_str() {
                    Some("text") => {
                        self.blocks.insert(
                            index,
                            Block::Text {
                                pending: String::new(),
                                offset: 0,
                                word: String::new(),
                            },
                        );
                    }
                    Some("tool_use") => {
                        self.blocks.insert(
                            index,
                            Block::ToolUse {
                                json: String::new(),
                                held: Vec::new(),
                            },
                        );
                    }
                    Some("thinking") if self.policy.reply_thinking == ThinkingAction::Block => {
                        let text = v["content_block"]["thinking"]
                            .as_str()
                            .unwrap_or("")
                            .to_string();
                        self.blocks.insert(
                            index,
                            Block::Thinking {
                                text,
                                held: vec![event],
                            },
                        );
                        return Ok(());
                    }
                    _ => {}
                }
                out.push(event);
            }
            "content_block_delta" => {
                let delta = &v["delta"];
                match (self.blocks.get_mut(&index), delta["type"].as_str()) {
                    (Some(Block::Text { .. }), Some("text_delta")) => {
                        self.on_text(index, delta["text"].as_str().unwrap_or(""), out);
                    }
                    (_, Some("citations_delta")) if !self.restore.is_empty() || self.redacting => {
                        // A citation quotes the documents the model read, which carry the
                        // request's placeholders (and may carry a secret the model repeats).
                        let mut v = v;
                        let location = format!("reply.content[{index}].citations");
                        if self.clean_json(&mut v["delta"]["citation"], &location) {
                            out.push(SseEvent::from_json(&v));
                        } else {
                            out.push(event);
                        }
                    }
                    (Some(Block::ToolUse { json, held }), Some("input_json_delta")) => {
                        json.push_str(delta["partial_json"].as_str().unwrap_or(""));
                        if json.len() > MAX_HELD_TOOL_INPUT_BYTES {
                            return Err(StageError::Failed("tool input too large to check".into()));
                        }
                        held.push(event);
                    }
                    (Some(Block::Thinking { text, held }), kind) => {
                        if kind == Some("thinking_delta") {
                            text.push_str(delta["thinking"].as_str().unwrap_or(""));
                        }
                        held.push(event);
                    }
                    _ => out.push(event),
                }
            }
            _ => {
                self.flush(index, out)?;
                out.push(event);
            }
        }
        Ok(())
    }

    fn on_end(&mut self, out: &mut Vec<SseEvent>) -> Result<(), StageError> {
        let mut open: Vec<u64> = self.blocks.keys().copied().collect();
        open.sort_unstable();
        for index in open {
            self.flush(index, out)?;
        }
        Ok(())
    }

    fn holding(&self) -> bool {
        self.blocks.values().any(|b| match b {
            Block::ToolUse { held, .. } | Block::Thinking { held, .. } => !held.is_empty(),
            Block::Text { .. } => false,
        })
    }

    fn on_message(&mut self, message: &mut MessageReply) -> Result<bool, StageError> {
        let mut changed = false;
        for (i, block) in message.content.iter_mut().enumerate() {
            if message.own_blocks.contains(&i) {
                continue;
            }
            match block {
                ContentBlock::Text { text, extra } => {
                    if let Some(c) = self.clean(text, &format!("reply.content[{i}].text"), 0) {
                        *text = c;
                        changed = true;
                    }
                    if let Some(citations) = extra.get_mut("citations") {
                        changed |=
                            self.clean_json(citations, &format!("reply.content[{i}].citations"));
                    }
                }
                ContentBlock::ToolUse { input, .. } => {
                    changed |= self.clean_json(input, &format!("reply.content[{i}].input"));
                }
                ContentBlock::Thinking { opaque } => {
                    if let Some(thinking) = opaque.get("thinking").and_then(Value::as_str) {
                        self.check_thinking(thinking, i as u64)?;
                    }
                }
                _ => {}
            }
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicySet;

    /// The bundled default policy, compiled once for all cases.
    pub(super) fn default_policy() -> Arc<Policy> {
        static POLICY: std::sync::OnceLock<Arc<Policy>> = std::sync::OnceLock::new();
        POLICY
            .get_or_init(|| {
                let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
                let set = PolicySet::load(&dir).expect("bundled policies");
                set.for_team("default", false)
                    .expect("default")
                    .policy
                    .clone()
            })
            .clone()
    }

    fn guard(restore: Vec<(String, String)>) -> ReplyGuard {
        ReplyGuard::new(
            default_policy(),
            Arc::new(restore),
            ReplyFindings::default(),
        )
    }

    fn event(v: Value) -> SseEvent {
        SseEvent::from_json(&v)
    }

    /// Streams `pieces` as text deltas of block 0 and returns the text the client receives.
    fn stream(g: &mut ReplyGuard, pieces: &[&str]) -> String {
        let mut out = Vec::new();
        let start = json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}});
        g.on_event(event(start), &mut out).expect("ok");
        for p in pieces {
            let d = json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}});
            g.on_event(event(d), &mut out).expect("ok");
        }
        g.on_event(
            event(json!({"type": "content_block_stop", "index": 0})),
            &mut out,
        )
        .expect("ok");
        let stops = out
            .iter()
            .filter(|e| e.event() == Some("content_block_stop"))
            .count();
        assert_eq!(stops, 1, "the stop goes out exactly once, last");
        out.iter()
            .filter_map(|e| e.json().ok())
            .filter(|v| v["delta"]["type"] == "text_delta")
            .map(|v| v["delta"]["text"].as_str().unwrap_or("").to_string())
            .collect()
    }

    #[test]
    fn every_split_of_a_secret_across_two_deltas_is_redacted() {
        let secrets = [
            ("AKIAZ3MSJV7WQ2PLX4NB", "[REDACTED:aws_access_key_id]"),
            (
                "ghp_R7vK2mQ9xW4pL8nT3yB6cF1dH5jS0aZ2eU4i",
                "[REDACTED:github_pat]",
            ),
            (
                "sk_live_4eC39HqLyjWDarjtT1zdp7dc9x",
                "[REDACTED:stripe_secret_key]",
            ),
            (
                "xoxb-482910375216-5820374619283-AbCdEfGhIjKlMnOpQrStUvWx",
                "[REDACTED:slack_token]",
            ),
        ];
        for (secret, label) in secrets {
            let text = format!("Use {secret} for the deploy.");
            let want = format!("Use {label} for the deploy.");
            for i in 1..text.len() {
                let mut g = guard(Vec::new());
                let got = stream(&mut g, &[&text[..i], &text[i..]]);
                assert_eq!(got, want, "split at {i}");
            }
            // And one byte at a time.
            let mut g = guard(Vec::new());
            let bytes: Vec<String> = text.chars().map(String::from).collect();
            let pieces: Vec<&str> = bytes.iter().map(String::as_str).collect();
            assert_eq!(stream(&mut g, &pieces), want);
        }
    }

    #[test]
    fn every_split_of_a_placeholder_is_restored() {
        let text = "Write to <EMAIL_1> today, and copy <EMAIL_12> too.";
        let pairs = vec![
            ("<EMAIL_1>".to_string(), "jane@example.com".to_string()),
            ("<EMAIL_12>".to_string(), "joe@example.com".to_string()),
        ];
        for i in 1..text.len() {
            let mut g = guard(pairs.clone());
            assert_eq!(
                stream(&mut g, &[&text[..i], &text[i..]]),
                "Write to jane@example.com today, and copy joe@example.com too.",
                "split at {i}"
            );
        }
    }

    #[test]
    fn a_keyword_that_cannot_start_a_secret_does_not_hold_the_stream() {
        // "token" is a keyword of the generic assignment rule; "token limit" can never become
        // `token = "…"`, so only the fixed 64-byte tail is held, not everything from the keyword.
        let mut g = guard(Vec::new());
        let mut out = Vec::new();
        let start = json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}});
        g.on_event(event(start), &mut out).expect("ok");
        let first = "The token limit of the model is large, so long documents fit in one request. ";
        let d = json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": first}});
        g.on_event(event(d), &mut out).expect("ok");
        let sent: String = out
            .iter()
            .filter_map(|e| e.json().ok())
            .filter(|v| v["delta"]["type"] == "text_delta")
            .map(|v| v["delta"]["text"].as_str().unwrap_or("").to_string())
            .collect();
        assert!(
            sent.starts_with("The token"),
            "held from the keyword: {sent:?}"
        );

        // While `token = "` could still become a secret, the text from the keyword is held.
        let mut g = guard(Vec::new());
        let mut out = Vec::new();
        g.on_event(event(json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})), &mut out).expect("ok");
        let open = "Here is the config for the service you asked about. It has api_token = \"Zq8v";
        let d = json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": open}});
        g.on_event(event(d), &mut out).expect("ok");
        let sent: String = out
            .iter()
            .filter_map(|e| e.json().ok())
            .map(|v| v["delta"]["text"].as_str().unwrap_or("").to_string())
            .collect();
        assert!(
            !sent.contains("token"),
            "the candidate must be held: {sent:?}"
        );
    }

    #[test]
    fn multibyte_text_streams_through_at_every_split() {
        let text = "Grüße aus Zürich 👋🏽 — 東京の天気は晴れ。 Contact <EMAIL_1> or use ghp_R7vK2mQ9xW4pL8nT3yB6cF1dH5jS0aZ2eU4i — ✓ done. ".repeat(2);
        let want = text.replace("<EMAIL_1>", "jürgen@example.com").replace(
            "ghp_R7vK2mQ9xW4pL8nT3yB6cF1dH5jS0aZ2eU4i",
            "[REDACTED:github_pat]",
        );
        let pairs = vec![("<EMAIL_1>".to_string(), "jürgen@example.com".to_string())];
        let boundaries: Vec<usize> = (1..text.len())
            .filter(|i| text.is_char_boundary(*i))
            .collect();
        for i in boundaries {
            let mut g = guard(pairs.clone());
            assert_eq!(
                stream(&mut g, &[&text[..i], &text[i..]]),
                want,
                "split at {i}"
            );
        }
        let mut g = guard(pairs);
        let chars: Vec<String> = text.chars().map(String::from).collect();
        let pieces: Vec<&str> = chars.iter().map(String::as_str).collect();
        assert_eq!(stream(&mut g, &pieces), want);
    }

    /// The text the client has received after each of `pieces` (the block still open).
    fn sent_after_each(g: &mut ReplyGuard, pieces: &[&str]) -> Vec<String> {
        let mut out = Vec::new();
        let start = json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}});
        g.on_event(event(start), &mut out).expect("ok");
        pieces
            .iter()
            .map(|p| {
                let d = json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}});
                g.on_event(event(d), &mut out).expect("ok");
                out.iter()
                    .filter_map(|e| e.json().ok())
                    .filter(|v| v["delta"]["type"] == "text_delta")
                    .map(|v| v["delta"]["text"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_short_reply_goes_out_as_it_comes_when_nothing_could_be_a_match() {
        let mut g = guard(Vec::new());
        let sent = sent_after_each(&mut g, &["Sure, ", "happy to ", "help with ", "that! "]);
        assert_eq!(
            sent,
            [
                "Sure, ",
                "Sure, happy to ",
                "Sure, happy to help with ",
                "Sure, happy to help with that! "
            ]
        );
        // A word that might still become a card number or a key is held until it cannot.
        let mut g = guard(Vec::new());
        let sent = sent_after_each(
            &mut g,
            &["Your card 4539 ", "1488 0343 6467 ", "is on file."],
        );
        assert_eq!(sent[0], "Your card ");
        assert_eq!(sent[1], "Your card ");
        assert!(
            sent[2].starts_with("Your card 4539 1488 0343 6467 is on"),
            "{:?}",
            sent[2]
        );
        let mut g = guard(Vec::new());
        let sent = sent_after_each(&mut g, &["Run it with gh", "p_R7vK"]);
        assert_eq!(sent, ["Run it with ", "Run it with "]);
    }

    #[test]
    fn a_secret_whose_match_begins_long_before_its_keyword_is_redacted_at_every_split() {
        // An Azure SAS token is recognised by `sig=`, which comes up to 200 bytes after the
        // start of the match (`sv=`): the text before the keyword must be held while it could
        // still turn out to be part of one.
        let sas = "sv=2024-11-04&ss=bfqt&srt=sco&sp=rwdlacupiytfx&se=2026-12-31T23:59:59Z&st=2026-01-01T00:00:00Z&spr=https&sig=Zq8vN3xP0aLk7Wm2Ty5Rb9Hc4Jd6Fg1Ks8Lp3Qw0Ez7Ux5Yv2Ia9Ob4Cn6Dm%3D";
        let text = format!("The URL is https://acct.blob.core.windows.net/c?{sas} — keep it safe.");
        for i in (1..text.len()).filter(|i| text.is_char_boundary(*i)) {
            let mut g = guard(Vec::new());
            let got = stream(&mut g, &[&text[..i], &text[i..]]);
            assert!(!got.contains("Zq8vN3xP"), "split at {i}: {got}");
            assert!(
                got.contains("[REDACTED:azure_sas_token]"),
                "split at {i}: {got}"
            );
        }
    }

    #[test]
    fn text_with_nothing_to_hide_streams_through_in_order() {
        let mut g = guard(Vec::new());
        let pieces = ["The quick ", "brown fox ", "jumps over ", "the lazy dog."];
        assert_eq!(stream(&mut g, &pieces), pieces.concat());
    }
}

#[cfg(test)]
mod recorded {
    use super::*;

    fn guard(restore: Vec<(String, String)>, sink: &ReplyFindings) -> ReplyGuard {
        ReplyGuard::new(
            super::tests::default_policy(),
            Arc::new(restore),
            sink.clone(),
        )
    }

    #[test]
    fn a_secret_redacted_in_a_stream_is_recorded_at_its_place_in_the_block() {
        let key = "AKIAZ3MSJV7WQ2PLX4NB";
        let text = format!("Here is some longer preamble text before it. The key is {key}, done.");
        let at = text.find(key).expect("present");
        for split in [1, at - 3, at + 5, text.len() - 2] {
            let sink = ReplyFindings::new(b"k");
            let mut g = guard(Vec::new(), &sink);
            let mut out = Vec::new();
            let events = [
                json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
                json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": &text[..split]}}),
                json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": &text[split..]}}),
                json!({"type": "content_block_stop", "index": 1}),
            ];
            for e in events {
                g.on_event(SseEvent::from_json(&e), &mut out).expect("ok");
            }
            let found = sink.take();
            assert_eq!(found.len(), 1, "split {split}: {found:?}");
            let f = &found[0];
            assert_eq!(f.rule, "secrets.aws_access_key_id");
            assert_eq!(f.action, "redact");
            assert_eq!(f.location, "reply.content[1].text");
            assert_eq!((f.start, f.end), (at, at + key.len()), "split {split}");
            assert_eq!(f.fingerprint, super::super::finding::fingerprint(b"k", key));
            assert!(!format!("{f:?}").contains(key));
        }
    }

    #[test]
    fn placeholders_in_citations_are_restored_in_json_and_in_streams() {
        let restore = vec![("<EMAIL_1>".to_string(), "jane@example.com".to_string())];
        let sink = ReplyFindings::default();
        let mut g = guard(restore, &sink);
        let citation = json!({"type": "char_location", "cited_text": "mail <EMAIL_1> today",
            "document_index": 0, "start_char_index": 0, "end_char_index": 20});
        let delta = json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "citations_delta", "citation": citation}});
        let mut out = Vec::new();
        g.on_event(SseEvent::from_json(&json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})), &mut out).expect("ok");
        g.on_event(SseEvent::from_json(&delta), &mut out)
            .expect("ok");
        let sent = out.last().and_then(|e| e.json().ok()).expect("event");
        assert_eq!(
            sent["delta"]["citation"]["cited_text"],
            "mail jane@example.com today"
        );
        assert_eq!(
            sent["delta"]["citation"]["end_char_index"], 20,
            "other fields kept"
        );

        let mut message: MessageReply = serde_json::from_value(json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "m",
            "content": [{"type": "text", "text": "See <EMAIL_1>.", "citations": [citation]}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 1, "output_tokens": 1}
        }))
        .expect("message");
        assert!(g.on_message(&mut message).expect("ok"));
        let v = serde_json::to_value(&message).expect("json");
        assert_eq!(v["content"][0]["text"], "See jane@example.com.");
        assert_eq!(
            v["content"][0]["citations"][0]["cited_text"],
            "mail jane@example.com today"
        );
    }

    #[test]
    fn a_secret_in_a_json_reply_tool_input_is_recorded_with_its_path() {
        let sink = ReplyFindings::new(b"k");
        let mut g = guard(Vec::new(), &sink);
        let mut message: MessageReply = serde_json::from_value(json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "m",
            "content": [{"type": "text", "text": "ok"},
                {"type": "tool_use", "id": "t1", "name": "Bash",
                 "input": {"command": "export TOKEN=ghp_R7vK2mQ9xW4pL8nT3yB6cF1dH5jS0aZ2eU4i"}}],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 1, "output_tokens": 1}
        }))
        .expect("message");
        assert!(g.on_message(&mut message).expect("ok"));
        let found = sink.take();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].location, "reply.content[1].input.command");
        assert_eq!(found[0].class, "secrets");
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Fragments that make secrets, placeholders, near-misses and multibyte text when joined.
    const PIECES: &[&str] = &[
        "AKIAZ3MSJV7WQ2PLX4NB",
        "ghp_R7vK2mQ9xW4pL8nT3yB6cF1dH5jS0aZ2eU4i",
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc9x",
        "<EMAIL_1>",
        "<EMA",
        "IL_1>",
        "token = \"",
        "key ",
        "AKIA",
        " the reply goes on ",
        "\n",
        "é",
        "日本",
        "4539 1488 0343 6467",
        "-----BEGIN RSA PRIVATE KEY-----",
    ];

    fn policy() -> Arc<Policy> {
        super::tests::default_policy()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// For any text and any split into deltas, what the client receives equals the
        /// redaction (and restoring) of the whole text. Text whose values are glued together
        /// with no separator (`AKIA…ghp_…`) can be split into values differently in a stream
        /// than in the whole; for it, the property is that no secret comes out.
        #[test]
        fn streaming_equals_cleaning_the_joined_text(
            picks in proptest::collection::vec(0..PIECES.len(), 0..24),
            cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..12),
            glued in any::<bool>(),
        ) {
            let pieces: Vec<&str> = picks.iter().map(|&i| PIECES[i]).collect();
            let text = pieces.join(if glued { "" } else { " " });
            let restore = Arc::new(vec![("<EMAIL_1>".to_string(), "jane@example.com".to_string())]);
            let g0 = ReplyGuard::new(policy(), restore.clone(), ReplyFindings::default());
            let expected = g0.clean(&text, "t", 0).unwrap_or_else(|| text.clone());

            let mut at: Vec<usize> = cuts
                .iter()
                .map(|c| c.index(text.len() + 1))
                .filter(|&i| text.is_char_boundary(i))
                .collect();
            at.sort_unstable();
            at.dedup();
            let mut g = ReplyGuard::new(policy(), restore, ReplyFindings::default());
            let mut out = Vec::new();
            let start = json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}});
            g.on_event(SseEvent::from_json(&start), &mut out).expect("ok");
            let mut last = 0;
            for i in at.into_iter().chain([text.len()]) {
                let d = json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": &text[last..i]}});
                g.on_event(SseEvent::from_json(&d), &mut out).expect("ok");
                last = i;
            }
            g.on_event(SseEvent::from_json(&json!({"type": "content_block_stop", "index": 0})), &mut out).expect("ok");
            let got: String = out
                .iter()
                .filter_map(|e| e.json().ok())
                .filter(|v| v["delta"]["type"] == "text_delta")
                .map(|v| v["delta"]["text"].as_str().unwrap_or("").to_string())
                .collect();
            if glued {
                // Not even a part: any 12 bytes of a secret in the output is a leak.
                for secret in &PIECES[..3] {
                    for part in secret.as_bytes().windows(12) {
                        let part = std::str::from_utf8(part).unwrap_or("");
                        prop_assert!(!got.contains(part), "{} leaked from {:?}: {}", part, text, got);
                    }
                }
            } else {
                prop_assert_eq!(got, expected);
            }
        }
    }
}
