//! Prompt-injection detection for untrusted content (tool results, fetched pages, documents):
//! how likely a text is to carry instructions meant for the model rather than for the reader.
//!
//! Two halves, combined by taking the larger score:
//! - **rules** for the known forms (override phrases, fake turns and delimiters, exfiltration,
//!   hidden text, base64- or tag-encoded instructions), one multi-pattern regex over the text;
//! - a **learned model** (logistic regression over hashed n-grams, weights shipped in
//!   `model.bin`) for the ordinary-looking instructions rules cannot list.
//!
//! The maximum rather than a learned combination: the two halves see different things (the
//! training data has almost none of the classic forms the rules catch), so there is no data to
//! fit a joint model on, and the maximum keeps each half's meaning: a rule hit alone flags, and a
//! confident model alone flags. The model's probability is recentred so that its own threshold
//! (stored in the weights file) maps to [`DEFAULT_THRESHOLD`], the same 0.5 at which a rule alone
//! flags. This module knows nothing of requests or policies: text in, verdict out.

mod hidden;
pub mod model;
mod rules;
mod screen;

use std::borrow::Cow;

pub(crate) use hidden::comments;
pub use hidden::{HiddenText, strip_hidden};
pub use model::{Model, ModelError};

use rules::{Family, Hit, Rules};

/// The weights shipped with Warden, trained by `warden train injection`.
static BUILTIN_MODEL: &[u8] = include_bytes!("model.bin");

/// The score at or above which a text counts as injected, for both halves.
pub const DEFAULT_THRESHOLD: f32 = 0.5;

/// A rule match inside quotes or after words such as "for example" or "attack" is probably a
/// text *about* prompt injection: its weight is multiplied by this.
const DISCUSSION_FACTOR: f32 = 0.3;
/// When every rule match is discussed, the rules' score stays below the threshold.
const DISCUSSION_CAP: f32 = 0.45;
/// How far before a match the discussion words are looked for.
const DISCUSSION_CONTEXT_BYTES: usize = 120;
/// Words that, shortly before a match, mark it as being talked about.
const DISCUSSION_WORDS: &[&str] = &[
    "example",
    "e.g.",
    "such as",
    "for instance",
    "attack",
    "injection",
    "jailbreak",
    "malicious",
    "adversar",
    "phrase",
    "payload",
    "detect",
    "string like",
    "strings like",
    "inputs like",
    "text like",
    "prompts like",
];

/// Tag characters outside flag emoji from which a hidden payload counts.
const MIN_SMUGGLED_TAGS: u32 = 4;
/// Zero-width characters from which they count as hiding something.
const MIN_ZERO_WIDTH: u32 = 3;
/// Shortest base64 run worth decoding.
const MIN_BASE64_CHARS: usize = 24;
/// Decoded base64 must be at least this printable to be read as text.
const MIN_PRINTABLE_RATIO: f32 = 0.9;

/// Rule ids of the hidden and encoded forms.
const RULE_TAG_CHARS: &str = "injection.tag_chars";
const RULE_ZERO_WIDTH: &str = "injection.zero_width";
const RULE_BIDI: &str = "injection.bidi_control";
const RULE_HIDDEN_INSTRUCTION: &str = "injection.hidden_instruction";
const RULE_BASE64_INSTRUCTION: &str = "injection.base64_instruction";
const RULE_TAG_INSTRUCTION: &str = "injection.tag_instruction";

/// What the detector concluded about one text.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Verdict {
    /// How likely the text carries an injected instruction, in [0, 1]: the larger of
    /// `rule_score` and `model_score`.
    pub score: f32,
    /// From the rules alone: 1 − Π(1 − weight) over the rules that fired.
    pub rule_score: f32,
    /// From the model alone, recentred so that the model's threshold is 0.5.
    pub model_score: f32,
    /// The ids of the rules that fired (each once, in order of first match).
    pub rules: Vec<&'static str>,
    pub hidden: HiddenText,
}

impl Verdict {
    pub fn flagged(&self, threshold: f32) -> bool {
        self.score >= threshold
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DetectorError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("cannot build the rule automaton: {0}")]
    Rules(String),
}

/// Texts shorter than this are scanned every time (cheaper than hashing and a lookup).
const CACHE_MIN_BYTES: usize = 1024;
/// Verdicts kept; when full, an arbitrary one makes room.
const CACHE_ENTRIES: usize = 4096;

/// Recent verdicts by BLAKE3 of (BLAKE3 of the text, scope). Agent loops send the whole
/// conversation with every request, so the same tool results come back turn after turn; without
/// this each one is scanned again every turn. A collision-resistant hash, so no text can be crafted to take another's
/// verdict; scoped (by team) so that one team cannot time whether another sent a text.
#[derive(Default)]
struct VerdictCache {
    verdicts: std::sync::Mutex<std::collections::HashMap<[u8; 32], Verdict>>,
    hits: std::sync::atomic::AtomicU64,
}

/// The compiled rules and the model. Build once; `Send + Sync`, share it behind an `Arc`.
pub struct Detector {
    rules: Rules,
    model: Model,
    /// log-odds of the model's threshold: subtracted so that the threshold maps to 0.5.
    model_offset: f64,
    cache: VerdictCache,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

/// Per rule id: the best weight seen, and whether any of its matches was not discussed.
#[derive(Default)]
struct Fired {
    rules: Vec<(&'static str, f32)>,
    any_plain: bool,
}

impl Fired {
    fn add(&mut self, id: &'static str, weight: f32, discussed: bool) {
        let weight = if discussed {
            weight * DISCUSSION_FACTOR
        } else {
            self.any_plain = true;
            weight
        };
        match self.rules.iter_mut().find(|(r, _)| *r == id) {
            Some((_, w)) => *w = w.max(weight),
            None => self.rules.push((id, weight)),
        }
    }

    fn score(&self) -> f32 {
        let score = 1.0 - self.rules.iter().map(|(_, w)| 1.0 - w).product::<f32>();
        if self.any_plain {
            score
        } else {
            score.min(DISCUSSION_CAP)
        }
    }
}

/// The shipped weights, parsed (borrowed from the binary: no copy).
pub fn builtin_model() -> Result<Model, ModelError> {
    Model::from_bytes(Cow::Borrowed(BUILTIN_MODEL))
}

/// The detector with the shipped weights, built once per process (compiling its rules takes
/// milliseconds) and shared by every policy that turns the injection defense on.
pub fn shared() -> Result<std::sync::Arc<Detector>, String> {
    static SHARED: std::sync::OnceLock<Result<std::sync::Arc<Detector>, String>> =
        std::sync::OnceLock::new();
    SHARED
        .get_or_init(|| {
            Detector::builtin()
                .map(std::sync::Arc::new)
                .map_err(|e| e.to_string())
        })
        .clone()
}

impl Detector {
    /// The detector with the shipped weights.
    pub fn builtin() -> Result<Self, DetectorError> {
        Self::with_model(builtin_model()?)
    }

    /// Same as [`Detector::builtin`].
    pub fn new() -> Result<Self, DetectorError> {
        Self::builtin()
    }

    pub fn with_model(model: Model) -> Result<Self, DetectorError> {
        let rules = Rules::new().map_err(DetectorError::Rules)?;
        let t = f64::from(model.threshold());
        Ok(Self {
            rules,
            model_offset: (t / (1.0 - t)).ln(),
            model,
            cache: VerdictCache::default(),
        })
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// [`Detector::scan`], remembering the verdicts of texts of 1 KB and more seen recently in
    /// `scope` (a team): a text seen again costs its BLAKE3 hash instead of a scan.
    pub fn scan_cached(&self, scope: &str, text: &str) -> Verdict {
        if text.len() < CACHE_MIN_BYTES {
            return self.scan(text);
        }
        // The text hashed alone and first, so that its chunks are aligned for BLAKE3's
        // many-chunks-at-once path; then the scope.
        let text_hash = blake3::hash(text.as_bytes());
        let mut hasher = blake3::Hasher::new();
        hasher.update(text_hash.as_bytes());
        hasher.update(scope.as_bytes());
        let key: [u8; 32] = hasher.finalize().into();
        if let Some(v) = self
            .cache
            .verdicts
            .lock()
            .ok()
            .and_then(|m| m.get(&key).cloned())
        {
            self.cache
                .hits
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return v;
        }
        let verdict = self.scan(text);
        if let Ok(mut m) = self.cache.verdicts.lock() {
            if m.len() >= CACHE_ENTRIES
                && let Some(old) = m.keys().next().copied()
            {
                m.remove(&old);
            }
            m.insert(key, verdict.clone());
        }
        verdict
    }

    /// How many scans [`Detector::scan_cached`] answered from its cache.
    pub fn cache_hits(&self) -> u64 {
        self.cache.hits.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn scan(&self, text: &str) -> Verdict {
        let chars = hidden::scan_chars(text);
        let mut hidden = chars.counts;
        let mut fired = Fired::default();

        // Rules read the text's canonical view, as every detector does: `ig\u{200b}nore` and
        // `ｉｇｎｏｒｅ` read `ignore`.
        let canon = crate::detect::canonical::canonical(text);
        let visible = canon.text();
        let comments = hidden::comments(visible);
        hidden.html_comments = comments.len() as u32;
        let mut instruction_in_comment = false;
        self.rules.scan(visible, |hit| {
            if hit.rule.family == Family::InvisibleCss {
                hidden.invisible_css += 1;
            } else if comments
                .iter()
                .any(|&(s, e)| hit.start >= s && hit.start < e)
            {
                instruction_in_comment = true;
            }
            fired.add(hit.rule.id, hit.rule.weight, discussed(visible, &hit));
        });
        if instruction_in_comment {
            fired.add(RULE_HIDDEN_INSTRUCTION, 0.9, false);
        }

        if chars.smuggled_tags >= MIN_SMUGGLED_TAGS {
            fired.add(RULE_TAG_CHARS, 0.9, false);
        }
        if hidden.zero_width >= MIN_ZERO_WIDTH {
            fired.add(RULE_ZERO_WIDTH, 0.25, false);
        }
        if hidden.bidi_controls > 0 {
            fired.add(RULE_BIDI, 0.3, false);
        }
        if !chars.tag_payload.is_empty() {
            self.decoded(&chars.tag_payload, RULE_TAG_INSTRUCTION, &mut fired);
        }
        for_each_base64(text.as_bytes(), |decoded| {
            self.decoded(decoded, RULE_BASE64_INSTRUCTION, &mut fired);
        });

        let rule_score = fired.score();
        let model_score = (1.0 / (1.0 + (self.model_offset - self.model.logit(text)).exp())) as f32;
        Verdict {
            score: rule_score.max(model_score),
            rule_score,
            model_score,
            rules: fired.rules.into_iter().map(|(r, _)| r).collect(),
            hidden,
        }
    }

    /// Runs the rules on text decoded from a hidden or encoded form; an instruction there is
    /// never discussion.
    fn decoded(&self, text: &str, id: &'static str, fired: &mut Fired) {
        let mut found = false;
        self.rules.scan(text, |hit| {
            if hit.rule.family != Family::InvisibleCss {
                found = true;
                fired.add(hit.rule.id, hit.rule.weight, false);
            }
        });
        if found {
            fired.add(id, 0.9, false);
        }
    }
}

/// Whether a match looks quoted or talked about rather than addressed to the model.
fn discussed(text: &str, hit: &Hit) -> bool {
    let bytes = text.as_bytes();
    let before = &bytes[hit.start.saturating_sub(DISCUSSION_CONTEXT_BYTES)..hit.start];
    // Quoted: an opening quote just before the match (spaces allowed).
    let quote_before = before
        .iter()
        .rev()
        .take(3)
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| matches!(b, b'"' | b'\'' | b'`'))
        || ends_with_curly_quote(before);
    if quote_before {
        return true;
    }
    let lower = before.to_ascii_lowercase();
    DISCUSSION_WORDS
        .iter()
        .any(|w| memchr::memmem::find(&lower, w.as_bytes()).is_some())
}

fn ends_with_curly_quote(before: &[u8]) -> bool {
    let trimmed = before.trim_ascii_end();
    ["\u{201C}", "\u{2018}", "\u{00AB}", "\u{300C}"]
        .iter()
        .any(|q| trimmed.ends_with(q.as_bytes()))
}

/// Calls `f` with the decoded text of every base64 run of at least `MIN_BASE64_CHARS` that
/// decodes to printable text (standard or URL-safe alphabet, padding optional).
///
/// Skips like Boyer-Moore: a long enough run starting at or after `i` must cover byte
/// `i + MIN_BASE64_CHARS - 1`, so only that byte is read until one is in the alphabet; then the
/// run around it is found. Prose (words are short runs) costs about one read in ten bytes.
fn for_each_base64(bytes: &[u8], mut f: impl FnMut(&str)) {
    let is_b64 = |b: u8| base64_value(b).is_some();
    // Invariant: `i` is 0 or the byte before it is outside the alphabet, so a run found from `i`
    // is whole on its left.
    let mut i = 0;
    while i + MIN_BASE64_CHARS <= bytes.len() {
        let probe = i + MIN_BASE64_CHARS - 1;
        if !is_b64(bytes[probe]) {
            i = probe + 1;
            continue;
        }
        let mut start = probe;
        while start > i && is_b64(bytes[start - 1]) {
            start -= 1;
        }
        let mut end = probe + 1;
        while end < bytes.len() && is_b64(bytes[end]) {
            end += 1;
        }
        if end - start >= MIN_BASE64_CHARS
            && let Some(text) = decode_base64(&bytes[start..end])
        {
            f(&text);
        }
        i = end;
    }
}

/// Base64 digit values (standard and URL-safe), 0xFF for other bytes: one load per byte.
const BASE64: [u8; 256] = {
    let mut t = [0xFFu8; 256];
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = i as u8;
        t[b'a' as usize + i] = 26 + i as u8;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        t[b'0' as usize + d] = 52 + d as u8;
        d += 1;
    }
    t[b'+' as usize] = 62;
    t[b'-' as usize] = 62;
    t[b'/' as usize] = 63;
    t[b'_' as usize] = 63;
    t
};

#[inline]
fn base64_value(b: u8) -> Option<u8> {
    let v = BASE64[usize::from(b)];
    (v != 0xFF).then_some(v)
}

/// Decodes a run of base64 characters; `None` unless the result is mostly printable UTF-8 text
/// with some spaces (identifiers, hashes and binary data decode to noise).
fn decode_base64(run: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(run.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for &b in run {
        acc = (acc << 6) | u32::from(base64_value(b)?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    let text = String::from_utf8(out).ok()?;
    let printable = text
        .chars()
        .filter(|c| !c.is_control() || c.is_whitespace())
        .count();
    let total = text.chars().count().max(1);
    let has_space = text.contains(' ');
    (has_space && printable as f32 / total as f32 >= MIN_PRINTABLE_RATIO).then_some(text)
}

#[cfg(test)]
mod tests;
