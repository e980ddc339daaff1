//! The API's prompt cache, as the mock reports it in `usage`: a request's prompt is read as
//! blocks in the order the model reads them (each tool definition, each system block, each
//! message's content blocks, with the message's role); the prefix up to a block that carries
//! `cache_control` (a breakpoint) is written to the cache, and a later request whose prefix up to
//! one of the 20 blocks before (and including) one of its breakpoints is byte-for-byte a prefix
//! seen within its time to live reads it instead.
//!
//! Like the API: entries belong to one credential and one model; a prefix shorter than the
//! model's minimum cacheable length is not cached; a read refreshes the entry; `ttl: "1h"`
//! keeps an entry an hour, anything else five minutes. The prefix is compared exactly, on the
//! canonical JSON of each block without its `cache_control`. Tokens are estimated as a quarter
//! of the bytes (the mock has no tokenizer): cumulative block bytes for cached prefixes, the
//! request body's bytes for the total, the rest being `input_tokens`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::reply::estimate_tokens;

/// How many blocks before a breakpoint the API looks for an earlier cached prefix.
const LOOKBACK_BLOCKS: usize = 20;

/// Entries kept at most; the oldest to expire go first beyond it.
const ENTRIES_MAX: usize = 100_000;

/// The input side of a reply's `usage`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InputUsage {
    pub input_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
}

impl InputUsage {
    /// A request nothing of which was cached.
    pub fn uncached(body_len: usize) -> Self {
        Self {
            input_tokens: estimate_tokens(body_len),
            ..Self::default()
        }
    }
}

#[derive(Debug)]
struct Entry {
    expires: Instant,
    ttl: Duration,
}

#[derive(Debug, Default)]
pub struct PromptCache {
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

/// The smallest prefix a model caches, in tokens, as the API documents it per model family.
fn minimum_tokens(model: &str) -> u64 {
    let m = model.to_ascii_lowercase();
    if ["opus-4-5", "opus-4-6", "haiku-4-5"]
        .iter()
        .any(|f| m.contains(f))
    {
        4096
    } else if m.contains("haiku-3") || m.contains("3-haiku") || m.contains("sonnet-4-6") {
        2048
    } else {
        1024
    }
}

/// One block of the prompt: its bytes (canonical JSON, `cache_control` left out) and, when it
/// is a breakpoint, the entry's time to live.
struct Block {
    bytes: Vec<u8>,
    breakpoint: Option<Duration>,
}

fn ttl_of(cache_control: &Value) -> Duration {
    match cache_control.get("ttl").and_then(Value::as_str) {
        Some("1h") => Duration::from_secs(3600),
        _ => Duration::from_secs(300),
    }
}

fn block(value: &Value, prefix: &str) -> Block {
    let mut v = value.clone();
    let breakpoint = v
        .as_object_mut()
        .and_then(|m| m.remove("cache_control"))
        .map(|c| ttl_of(&c));
    let mut bytes = prefix.as_bytes().to_vec();
    bytes.extend_from_slice(v.to_string().as_bytes());
    Block { bytes, breakpoint }
}

/// The prompt's blocks in the order the model reads them: tools, system, messages.
fn blocks(req: &Value) -> Vec<Block> {
    let mut out = Vec::new();
    for tool in req["tools"].as_array().into_iter().flatten() {
        out.push(block(tool, "tool:"));
    }
    match &req["system"] {
        Value::String(s) => out.push(block(&Value::String(s.clone()), "system:")),
        Value::Array(items) => out.extend(items.iter().map(|b| block(b, "system:"))),
        _ => {}
    }
    for message in req["messages"].as_array().into_iter().flatten() {
        let role = message["role"].as_str().unwrap_or("");
        match &message["content"] {
            Value::Array(items) => {
                for (i, b) in items.iter().enumerate() {
                    // The role opens the message: a turn of another role is another prefix.
                    let prefix = if i == 0 {
                        format!("{role}:")
                    } else {
                        String::new()
                    };
                    out.push(block(b, &prefix));
                }
            }
            other => out.push(block(other, &format!("{role}:"))),
        }
    }
    out
}

/// Whether any block of the prompt carries `cache_control` (most requests: none, and nothing
/// is copied).
fn has_breakpoint(req: &Value) -> bool {
    let marked = |items: &Value| {
        items
            .as_array()
            .is_some_and(|a| a.iter().any(|b| b.get("cache_control").is_some()))
    };
    marked(&req["tools"])
        || marked(&req["system"])
        || req["messages"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| marked(&m["content"])))
}

impl PromptCache {
    /// What `req` (sent with `credential`, `body_len` bytes) reads from and writes to the
    /// cache, at `now`; the cache is updated.
    pub fn account(
        &self,
        credential: &[u8],
        req: &Value,
        body_len: usize,
        now: Instant,
    ) -> InputUsage {
        if !has_breakpoint(req) {
            return InputUsage::uncached(body_len);
        }
        let total = estimate_tokens(body_len);
        let blocks = blocks(req);
        let model = req["model"].as_str().unwrap_or("");
        let minimum = minimum_tokens(model);
        // The id of each prefix (through block i) and its estimated tokens.
        let mut hasher = blake3::Hasher::new();
        hasher.update(&(credential.len() as u64).to_be_bytes());
        hasher.update(credential);
        hasher.update(&(model.len() as u64).to_be_bytes());
        hasher.update(model.as_bytes());
        let mut prefixes = Vec::with_capacity(blocks.len());
        let mut bytes = 0usize;
        for b in &blocks {
            hasher.update(&(b.bytes.len() as u64).to_be_bytes());
            hasher.update(&b.bytes);
            bytes += b.bytes.len();
            prefixes.push((*hasher.finalize().as_bytes(), (bytes / 4) as u64));
        }
        let Ok(mut entries) = self.entries.lock() else {
            return InputUsage::uncached(body_len);
        };
        if entries.len() > ENTRIES_MAX {
            entries.retain(|_, e| e.expires > now);
        }
        // The longest prefix already cached, looking back from each breakpoint.
        let mut read: Option<usize> = None;
        for (at, b) in blocks.iter().enumerate() {
            if b.breakpoint.is_none() {
                continue;
            }
            let hit = (at.saturating_sub(LOOKBACK_BLOCKS - 1)..=at)
                .rev()
                .find(|&j| entries.get(&prefixes[j].0).is_some_and(|e| e.expires > now));
            if hit > read {
                read = hit;
            }
        }
        let read_tokens = match read {
            Some(j) => {
                if let Some(e) = entries.get_mut(&prefixes[j].0) {
                    e.expires = now + e.ttl;
                }
                prefixes[j].1
            }
            None => 0,
        };
        // Every breakpoint past it, long enough to cache, is written.
        let mut written_to = read_tokens;
        for (at, b) in blocks.iter().enumerate() {
            let Some(ttl) = b.breakpoint else { continue };
            let (id, tokens) = prefixes[at];
            if read.is_some_and(|j| at <= j) || tokens < minimum {
                continue;
            }
            entries.insert(
                id,
                Entry {
                    expires: now + ttl,
                    ttl,
                },
            );
            written_to = written_to.max(tokens);
        }
        let cache_creation = written_to - read_tokens;
        InputUsage {
            input_tokens: total.saturating_sub(read_tokens + cache_creation),
            cache_creation_input_tokens: cache_creation,
            cache_read_input_tokens: read_tokens,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(system: &str, turns: &[&str]) -> Value {
        let mut messages = Vec::new();
        for (i, t) in turns.iter().enumerate() {
            let role = if i % 2 == 0 { "user" } else { "assistant" };
            messages.push(json!({"role": role, "content": [{"type": "text", "text": t}]}));
        }
        if let Some(last) = messages.last_mut() {
            last["content"][0]["cache_control"] = json!({"type": "ephemeral"});
        }
        json!({"model": "claude-sonnet-4-5", "max_tokens": 10,
               "system": [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}],
               "messages": messages})
    }

    fn account(cache: &PromptCache, key: &str, req: &Value, at: Instant) -> InputUsage {
        cache.account(key.as_bytes(), req, req.to_string().len(), at)
    }

    #[test]
    fn a_conversation_writes_then_reads_its_prefix_turn_after_turn() {
        let cache = PromptCache::default();
        let system = "Rules. ".repeat(1000);
        let t0 = Instant::now();
        let one = request(&system, &["hello"]);
        let first = account(&cache, "k", &one, t0);
        assert_eq!(first.cache_read_input_tokens, 0);
        assert!(first.cache_creation_input_tokens >= 1024, "{first:?}");
        // The next turn: the earlier prefix (the last message moved its breakpoint) is read.
        let two = request(&system, &["hello", "hi", "more"]);
        let second = account(&cache, "k", &two, t0 + Duration::from_secs(10));
        assert_eq!(
            second.cache_read_input_tokens,
            first.cache_creation_input_tokens
        );
        assert!(second.cache_creation_input_tokens > 0);
        // Another credential shares nothing; one changed byte in the system prompt misses.
        let other = account(&cache, "k2", &two, t0 + Duration::from_secs(11));
        assert_eq!(other.cache_read_input_tokens, 0);
        let changed = request(
            &system.replacen("Rules", "Rulez", 1),
            &["hello", "hi", "more"],
        );
        assert_eq!(
            account(&cache, "k", &changed, t0 + Duration::from_secs(12)).cache_read_input_tokens,
            0
        );
        // After five quiet minutes the entry is gone.
        let late = account(&cache, "k", &two, t0 + Duration::from_secs(10 + 301));
        assert_eq!(late.cache_read_input_tokens, 0);
    }

    #[test]
    fn a_short_prefix_is_not_cached_and_a_read_is_only_a_byte_identical_prefix() {
        let cache = PromptCache::default();
        let t0 = Instant::now();
        let short = request("Short rules.", &["hello"]);
        let u = account(&cache, "k", &short, t0);
        assert_eq!(
            (u.cache_creation_input_tokens, u.cache_read_input_tokens),
            (0, 0)
        );
        let system = "Rules. ".repeat(1000);
        account(&cache, "k", &request(&system, &["hello"]), t0);
        // Without the message's breakpoint, the system prompt's prefix is read.
        let mut moved = request(&system, &["hello"]);
        moved["messages"][0]["content"][0]
            .as_object_mut()
            .expect("block")
            .remove("cache_control");
        let u = account(&cache, "k", &moved, t0);
        assert!(u.cache_read_input_tokens >= 1024, "{u:?}");
        // The same conversation again reads it whole; one byte changed in the message reads
        // only the system prompt before it, and writes the new message.
        let whole = account(&cache, "k", &request(&system, &["hello"]), t0);
        let edited = account(&cache, "k", &request(&system, &["hellO"]), t0);
        assert_eq!(edited.cache_read_input_tokens, u.cache_read_input_tokens);
        assert!(whole.cache_read_input_tokens > edited.cache_read_input_tokens);
        assert!(edited.cache_creation_input_tokens > 0, "{edited:?}");
    }
}
