//! Detectors: secrets, personal data, customer identifiers, production logs, repository markers
//! and team-defined patterns, compiled into one scanner per policy.
//!
//! One pass: every keyword of every rule goes into one Aho-Corasick automaton, and the rules
//! without a keyword into one combined regex; a rule's own regex and validator run only around a
//! keyword hit or on a combined-regex candidate. This module knows nothing of requests or
//! policies: it takes rule definitions and text, and returns spans.

pub mod canonical;
pub mod injection;
mod keywords;
pub mod logs;
mod numeric;
pub mod secret_value;
pub mod validate;

use keywords::KeywordDfa;
use regex::Regex;
use serde::Deserialize;
use std::borrow::Cow;

/// What a rule checks beyond its pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Validator {
    None,
    CreditCard {
        allow_test_numbers: bool,
    },
    Iban,
    Ssn,
    Ipv4,
    /// An IPv6 address (the IP address rule's second shape, [`numeric::ipv6`]).
    Ipv6,
    /// `+`-prefixed and North American numbers by shape; numbers written the national way
    /// (a second shape) are checked against these regions' numbering plans.
    Phone(PhoneRegions),
    /// A number of national shape that is a valid number in one of these regions.
    NationalPhone(PhoneRegions),
    /// The value (a repository `owner/name`) matches none of these globs.
    NotIn(std::sync::Arc<Vec<String>>),
    /// A built-in secret rule's match: not an example, a placeholder, a public token or a
    /// reference ([`secret_value`]).
    Secret(secret_value::Check),
}

/// The regions whose numbering plans national phone numbers are checked against.
pub type PhoneRegions = std::sync::Arc<[phonenumber::country::Id]>;

/// The regions a policy that names none checks national phone numbers against: the largest
/// markets of Warden's users' customers. A policy narrows or widens them with
/// `pii.phone.regions`.
pub const DEFAULT_PHONE_REGIONS: &[&str] = &[
    "US", "GB", "DE", "FR", "NL", "ES", "IT", "BR", "JP", "IN", "AU", "CA",
];

/// [`DEFAULT_PHONE_REGIONS`], parsed.
pub fn default_phone_regions() -> PhoneRegions {
    DEFAULT_PHONE_REGIONS
        .iter()
        .filter_map(|r| r.parse().ok())
        .collect()
}

/// Words just before a dotted number or a digit group that make it a version, a build, an
/// order, account or reference number rather than an address or a phone number.
const NOT_PII_CONTEXT: &[&str] = &[
    "version", "ver ", "ver.", " v", "build", "release", "order", "invoice", "ticket", "oid",
    "sha", "commit", "ref", "case", "account", "acct", "isbn", "tracking", "serial", "sku",
];

/// For each byte, the words of [`NOT_PII_CONTEXT`] that start with it in either case, as a
/// bit set: the context check compares words only where one can start, and only those words.
const CONTEXT_WORDS_BY_FIRST_BYTE: [u32; 256] = {
    assert!(NOT_PII_CONTEXT.len() <= 32);
    let mut table = [0u32; 256];
    let mut k = 0;
    while k < NOT_PII_CONTEXT.len() {
        let c = NOT_PII_CONTEXT[k].as_bytes()[0];
        table[c.to_ascii_lowercase() as usize] |= 1 << k;
        table[c.to_ascii_uppercase() as usize] |= 1 << k;
        k += 1;
    }
    table
};

/// How far back the context words are looked for.
const CONTEXT_BYTES: usize = 24;

impl Validator {
    /// Context that lowers confidence below a finding: `version 1.2.3.4` is not an IP address,
    /// `order 555-123-4567` not a phone number.
    fn ruled_out_by_context(&self, text: &str, start: usize) -> bool {
        if !matches!(self, Self::Ipv4 | Self::Phone(_) | Self::NationalPhone(_)) {
            return false;
        }
        if matches!(self, Self::Ipv4) && in_version_column(text, start) {
            return true;
        }
        let bytes = text.as_bytes();
        let base = start.saturating_sub(CONTEXT_BYTES);
        let before = &bytes[base..start];
        let letter_or_digit = |at: usize| bytes.get(at).is_some_and(u8::is_ascii_alphanumeric);
        // Only where a context word can start, and only the words that start there: this runs
        // for every phone number and IP address found. A word counts only as a whole word:
        // `ver` is not in `server`, `sha` not in `Shannon`, `oid` not in `avoid`, ` v` not in
        // ` via`.
        (0..before.len()).any(|i| {
            let mut words = CONTEXT_WORDS_BY_FIRST_BYTE[before[i] as usize];
            while words != 0 {
                let w = NOT_PII_CONTEXT[words.trailing_zeros() as usize].as_bytes();
                let at = base + i;
                let whole = before[i..]
                    .get(..w.len())
                    .is_some_and(|b| b.eq_ignore_ascii_case(w))
                    && (!w[0].is_ascii_alphanumeric() || at == 0 || !letter_or_digit(at - 1))
                    && (!w[w.len() - 1].is_ascii_alphanumeric()
                        || !bytes.get(at + w.len()).is_some_and(u8::is_ascii_alphabetic));
                if whole {
                    return true;
                }
                words &= words - 1;
            }
            false
        })
    }

    fn check(&self, value: &str) -> bool {
        match self {
            Self::NotIn(globs) => !globs.iter().any(|g| glob_match(g, value)),
            Self::None => true,
            Self::CreditCard { allow_test_numbers } => {
                validate::credit_card(value)
                    && !(*allow_test_numbers && validate::is_test_card(value))
            }
            Self::Iban => validate::iban(value),
            Self::Ssn => validate::ssn(value),
            Self::Ipv4 => validate::ipv4(value),
            // The shape's own parse is the check.
            Self::Ipv6 => true,
            Self::Phone(_) => validate::phone(value),
            Self::NationalPhone(regions) => validate::national_phone(value, regions),
            // Judged with its surroundings, by `check_in`.
            Self::Secret(_) => true,
        }
    }

    /// [`Self::check`] for the value at `text[start..end]`, with what surrounds it.
    fn check_in(&self, text: &str, start: usize, end: usize) -> bool {
        match self {
            Self::Secret(check) => secret_value::plausible(*check, text, start, end),
            _ => self.check(&text[start..end]),
        }
    }
}

/// Whether the number at `start` sits in a delimited table's column whose header names a
/// version (`version`, `firmware`, `build`, `release`, `revision`): `1.12.0.3` there is a
/// version, not an IPv4 address.
fn in_version_column(text: &str, start: usize) -> bool {
    // Table rows are short: a line longer than this is prose, and looking no further keeps the
    // check from reading a long text once per number in it.
    const LINE_MAX: usize = 1024;
    let from = floor_char_boundary(text, start.saturating_sub(LINE_MAX));
    let line_start = match text[from..start].rfind('\n') {
        Some(i) => from + i + 1,
        None if from == 0 => 0,
        None => return false,
    };
    let to = ceil_char_boundary(text, (start + LINE_MAX).min(text.len()));
    let line_end = text[start..to].find('\n').map_or(to, |i| start + i);
    let cell = &text[line_start..start];
    let line = &text[line_start..line_end];
    // The separator: one before the value, or (first column) one after it.
    let Some(sep) = [',', '\t', ';', '|']
        .into_iter()
        .find(|&c| cell.contains(c))
        .or_else(|| {
            [',', '\t', ';', '|']
                .into_iter()
                .find(|&c| line.contains(c))
        })
    else {
        return false;
    };
    let column = cell.matches(sep).count();
    let cells = line.matches(sep).count();
    // The header: the table's first line, with as many cells as this one and no digits.
    let Some(header) = text[..line_start]
        .lines()
        .rev()
        .take(256)
        .take_while(|l| l.len() <= LINE_MAX && l.matches(sep).count() == cells)
        .last()
    else {
        return false;
    };
    if cells == 0 || header.bytes().any(|c| c.is_ascii_digit()) {
        return false;
    }
    let Some(name) = header.split(sep).nth(column) else {
        return false;
    };
    let name = name.trim().to_ascii_lowercase();
    [
        "version", "ver", "firmware", "fw", "build", "release", "revision", "rev",
    ]
    .iter()
    .any(|w| {
        name.split(|c: char| !c.is_ascii_alphanumeric())
            .any(|p| p == *w)
    })
}

/// A rule, as the policy compiler hands it over.
#[derive(Clone, Debug)]
pub struct RuleSpec {
    /// Finding rule id, e.g. `secrets.github_pat`, `pii.email`, `customer_id.acct_number`.
    pub id: String,
    /// Data class, e.g. `secrets`, `pii.email`, `custom.project_falcon`.
    pub class: String,
    pub matcher: Matcher,
}

#[derive(Clone, Debug)]
pub enum Matcher {
    /// A regex run around hits of its keywords.
    Keyword {
        keywords: Vec<String>,
        regex: String,
        lookbehind: usize,
        /// With a lookbehind: the bytes a match's part before the keyword is made of. The match
        /// then starts where a run of them before the keyword starts (at most `lookbehind` back),
        /// and is tried anchored there instead of searched for across the window.
        back_over: Option<fn(u8) -> bool>,
        max_len: usize,
        secret_group: usize,
        entropy: Option<f64>,
        validator: Validator,
    },
    /// A regex with no keyword: part of the combined candidate regex.
    Free { regex: String, validator: Validator },
    /// Exact words or phrases (ASCII case-insensitive), matched on word boundaries.
    Words { words: Vec<String> },
    /// The production-logs detector.
    Logs { threshold: f64, min_lines: usize },
}

/// One detection: which rule, and the byte span of the sensitive value in the scanned text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Detection {
    pub rule: usize,
    pub start: usize,
    pub end: usize,
}

/// A detection in a text's canonical view, mapped back to the text: `start..end` are byte
/// offsets of the original (hidden characters inside the match included), `value` is what the
/// detector read (for fingerprints and pseudonyms, so the same value hidden two ways is one value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found<'t> {
    pub rule: usize,
    pub start: usize,
    pub end: usize,
    pub value: Cow<'t, str>,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("rule {rule}: invalid regex: {message}")]
    Regex { rule: String, message: String },
    #[error("rule {rule}: secret_group {group} does not exist in its regex")]
    Group { rule: String, group: usize },
    #[error("rule {rule}: {message}")]
    Rule { rule: String, message: String },
    #[error("cannot build the keyword automaton: {0}")]
    Automaton(String),
}

/// The public facts about a compiled rule.
#[derive(Clone, Debug)]
pub struct RuleInfo {
    pub id: String,
    pub class: String,
}

enum Compiled {
    Keyword {
        regex: Regex,
        /// `regex` is anchored at the start of the window (`^(?:…)`): it matches there or not at
        /// all.
        anchored: bool,
        back_over: Option<fn(u8) -> bool>,
        /// For matches that start at the keyword: a lazy DFA that tells, while text is still
        /// streaming in, whether a match can still start at a keyword hit.
        prefix: Option<Box<PrefixDfa>>,
        lookbehind: usize,
        max_len: usize,
        secret_group: usize,
        entropy: Option<f64>,
        validator: Validator,
    },
    /// A team pattern (in [`Scanner::free`]) or a built-in personal-data rule (in
    /// [`Scanner::numeric`]).
    Free,
    Words,
    Logs(logs::LogDetector),
}

/// An anchored lazy DFA and its cache: walks the text after a keyword hit and says whether the
/// rule's match is impossible (dead state) or could still complete with more text.
struct PrefixDfa {
    dfa: regex_automata::hybrid::dfa::DFA,
    cache: std::sync::Mutex<regex_automata::hybrid::dfa::Cache>,
}

impl PrefixDfa {
    fn new(pattern: &str) -> Option<Self> {
        let dfa = regex_automata::hybrid::dfa::DFA::new(pattern).ok()?;
        let cache = std::sync::Mutex::new(dfa.create_cache());
        Some(Self { dfa, cache })
    }

    /// False only when no continuation of `tail` can match: the DFA reached its dead state.
    /// Anything else (alive, matched, gave up) keeps the candidate open, erring toward holding.
    fn may_match(&self, tail: &[u8]) -> bool {
        let Ok(mut cache) = self.cache.lock() else {
            return true;
        };
        let input = regex_automata::Input::new(tail).anchored(regex_automata::Anchored::Yes);
        let Ok(mut state) = self.dfa.start_state_forward(&mut cache, &input) else {
            return true;
        };
        for &b in tail {
            match self.dfa.next_state(&mut cache, state, b) {
                Ok(next) if next.is_dead() => return false,
                Ok(next) if next.is_quit() => return true,
                Ok(next) => state = next,
                Err(_) => return true,
            }
        }
        true
    }
}

/// What a keyword in the automaton stands for.
#[derive(Clone)]
enum Trigger {
    /// A keyword rule; `exact` holds the keyword's bytes when it must match case-sensitively
    /// (token prefixes such as `ghp_` or `AKIA`; the automaton itself ignores case).
    Rule {
        rule: usize,
        exact: Option<Box<[u8]>>,
    },
    Word(usize),
    LogHint {
        rule: usize,
        exact: Box<[u8]>,
    },
    /// A digit: the personal-data patterns (cards, IBANs, phones, SSNs, addresses) all contain
    /// one, so they are tried only in a window around digits.
    Digit,
}

/// Team patterns (keywordless, unvalidated) in one automaton whose matches name the pattern
/// that made them.
struct FreeGroup {
    combined: regex_automata::meta::Regex,
    rules: Vec<usize>,
}

impl FreeGroup {
    fn new(patterns: &[String], rules: Vec<usize>) -> Result<Option<Self>, BuildError> {
        if patterns.is_empty() {
            return Ok(None);
        }
        let combined = regex_automata::meta::Regex::builder()
            .configure(regex_automata::meta::Regex::config().nfa_size_limit(Some(1 << 22)))
            .build_many(patterns)
            .map_err(|e| BuildError::Regex {
                rule: "combined".into(),
                message: e.to_string(),
            })?;
        Ok(Some(Self { combined, rules }))
    }
}

/// Whether [`Scanner::scan_numeric`] can find anything at the run of digits at `at`: not when a
/// word character is right before it (digits inside tokens and identifiers), unless that is the
/// second of two capitals (an IBAN's country). Checked before the call, which dense text makes
/// for every run of digits.
#[inline]
fn numeric_may_start(b: &[u8], at: usize) -> bool {
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    at == 0 || !word(b[at - 1]) || after_two_capitals(b, at)
}

/// Two capital letters right before `at`: where an IBAN's country code would be.
#[inline]
fn after_two_capitals(b: &[u8], at: usize) -> bool {
    at >= 2 && b[at - 2].is_ascii_uppercase() && b[at - 1].is_ascii_uppercase()
}

/// Longest personal-data match: an anchored search looks no further.
const NUMERIC_MAX_LEN: usize = 64;

/// A built-in personal-data rule, as the scanner tries it at a run of digits.
struct NumericRule {
    rule: usize,
    shape: numeric::Shape,
    validator: Validator,
}

/// All the rules of one policy, ready to scan.
pub struct Scanner {
    rules: Vec<(RuleInfo, Compiled)>,
    automaton: Option<KeywordDfa>,
    /// For each automaton pattern, the rules it triggers.
    triggers: Vec<Vec<Trigger>>,
    /// For each automaton pattern, whether it is a digit that triggers nothing but the
    /// personal-data rules: the commonest hit in text dense with numbers, dispatched without
    /// reading `triggers`.
    digit_only: Vec<bool>,
    /// Team patterns: searched over the whole text (they usually start with a literal, which
    /// the regex engine finds at memchr speed).
    free: Option<FreeGroup>,
    /// Built-in personal-data rules (all validated, all containing digits), in rule order,
    /// matched by hand (see [`numeric`]).
    numeric: Vec<NumericRule>,
    /// The IP address rule, when the policy has one: IPv6 addresses are looked for around runs
    /// of digits next to a colon.
    ipv6: Option<usize>,
    /// Longest keyword or listed word, for the stream hold-back window.
    max_literal_len: usize,
    /// Every rule's pattern in one anchored lazy DFA: where a match may still be in progress at
    /// the end of streamed text. `None` when the patterns do not build as one DFA (the stream
    /// then holds a fixed window).
    hold: Option<Box<HoldDfa>>,
}

/// The most a stream holds back while a match might still be in progress: a match that is
/// still possible after this many bytes is caught by the scan of what is held (a detection that
/// crosses the release point moves that point back to its start).
const HOLD_WINDOW_MAX: usize = 1024;

/// Makes a cache for [`HoldDfa`]'s pool.
type CacheFn = Box<
    dyn Fn() -> regex_automata::hybrid::dfa::Cache
        + Send
        + Sync
        + std::panic::UnwindSafe
        + std::panic::RefUnwindSafe,
>;

/// All of a policy's patterns, anchored, in one lazy DFA: tells from which byte of a streamed
/// text a match could still be under way. Its caches (the states built so far) are pooled and
/// shared by every stream of the policy: built once, not per reply.
struct HoldDfa {
    dfa: regex_automata::hybrid::dfa::DFA,
    caches: regex_automata::util::pool::Pool<regex_automata::hybrid::dfa::Cache, CacheFn>,
}

impl HoldDfa {
    fn new(patterns: &[String]) -> Option<Self> {
        if patterns.is_empty() {
            return None;
        }
        let dfa = regex_automata::hybrid::dfa::DFA::builder()
            .configure(
                regex_automata::hybrid::dfa::Config::new()
                    // `\b` in Unicode mode: the DFA gives up on non-ASCII text, which then holds.
                    .unicode_word_boundary(true)
                    .cache_capacity(4 << 20),
            )
            .syntax(regex_automata::util::syntax::Config::new().utf8(false))
            .thompson(regex_automata::nfa::thompson::Config::new().nfa_size_limit(Some(64 << 20)))
            .build_many(patterns)
            .inspect_err(|e| {
                tracing::debug!(error = %e, "Stream hold-back falls back to a fixed window.");
            })
            .ok()?;
        let for_pool = dfa.clone();
        let make: CacheFn = Box::new(move || for_pool.create_cache());
        Some(Self {
            dfa,
            caches: regex_automata::util::pool::Pool::new(make),
        })
    }

    /// Whether a match of some pattern could start at `at` and still be in progress at the end
    /// of `text` (or end exactly there: more text could extend it). Anything the DFA cannot
    /// tell (it gave up, or its cache is exhausted) counts as possible.
    fn open_at(
        &self,
        cache: &mut regex_automata::hybrid::dfa::Cache,
        text: &[u8],
        at: usize,
    ) -> bool {
        let input = regex_automata::Input::new(text)
            .range(at..)
            .anchored(regex_automata::Anchored::Yes);
        let Ok(mut state) = self.dfa.start_state_forward(cache, &input) else {
            return true;
        };
        for &b in &text[at..] {
            match self.dfa.next_state(cache, state, b) {
                Ok(next) if next.is_dead() => return false,
                Ok(next) if next.is_quit() => return true,
                Ok(next) => state = next,
                Err(_) => return true,
            }
        }
        true
    }
}

/// Longest match a keywordless rule makes in practice (an IBAN with spaces is 42 bytes).
const FREE_MATCH_HOLD: usize = 64;

impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("rules", &self.rules.len())
            .finish()
    }
}

/// Compiled regexes by pattern, shared by every policy and every reload: the built-in rules are
/// the same in all teams' scanners, and a `Regex` clone shares its compiled program. Patterns are
/// few (rule files and policy patterns), so the cache stays small.
fn regex_cache() -> &'static std::sync::Mutex<std::collections::HashMap<String, Regex>> {
    static CACHE: std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<String, Regex>>> =
        std::sync::OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn compile_regex(rule: &str, pattern: &str) -> Result<Regex, BuildError> {
    if let Some(re) = regex_cache()
        .lock()
        .ok()
        .and_then(|c| c.get(pattern).cloned())
    {
        return Ok(re);
    }
    let re = regex::RegexBuilder::new(pattern)
        .size_limit(1 << 22)
        .build()
        .map_err(|e| BuildError::Regex {
            rule: rule.to_string(),
            message: e.to_string(),
        })?;
    if let Ok(mut cache) = regex_cache().lock() {
        cache.insert(pattern.to_string(), re.clone());
    }
    Ok(re)
}

impl Scanner {
    pub fn new(specs: Vec<RuleSpec>) -> Result<Self, BuildError> {
        let mut rules = Vec::with_capacity(specs.len());
        let mut keywords: Vec<String> = Vec::new();
        let mut triggers: Vec<Vec<Trigger>> = Vec::new();
        let add_keyword =
            |kw: &str, t: Trigger, keywords: &mut Vec<String>, triggers: &mut Vec<Vec<Trigger>>| {
                let lower = kw.to_ascii_lowercase();
                match keywords.iter().position(|k| *k == lower) {
                    Some(i) => triggers[i].push(t),
                    None => {
                        keywords.push(lower);
                        triggers.push(vec![t]);
                    }
                }
            };
        let mut free_patterns = Vec::new();
        let mut free_rules = Vec::new();
        let mut numeric = Vec::new();
        let mut second_shapes = Vec::new();
        let mut ipv6 = None;
        let mut hold_patterns: Vec<String> = Vec::new();
        for (i, spec) in specs.into_iter().enumerate() {
            match &spec.matcher {
                Matcher::Keyword { regex, .. } | Matcher::Free { regex, .. } => {
                    hold_patterns.push(regex.clone());
                }
                Matcher::Words { words } => hold_patterns.extend(
                    words
                        .iter()
                        .filter(|w| !w.trim().is_empty())
                        .map(|w| format!("(?i:{})", regex::escape(w.trim()))),
                ),
                // Log lines are judged a line at a time; no shorter hold would help them.
                Matcher::Logs { .. } => {}
            }
            let info = RuleInfo {
                id: spec.id.clone(),
                class: spec.class.clone(),
            };
            let compiled = match spec.matcher {
                Matcher::Keyword {
                    keywords: kws,
                    regex,
                    lookbehind,
                    back_over,
                    max_len,
                    secret_group,
                    entropy,
                    validator,
                } => {
                    if kws.is_empty() {
                        return Err(BuildError::Rule {
                            rule: spec.id,
                            message: "needs at least one keyword".into(),
                        });
                    }
                    let re = compile_regex(&spec.id, &regex)?;
                    // Matches that start at the keyword are tried anchored there: a mismatch
                    // costs a byte or two instead of a search over the window.
                    let anchored = if lookbehind == 0 || back_over.is_some() {
                        Some(compile_regex(&spec.id, &format!("^(?:{regex})"))?)
                    } else {
                        None
                    };
                    if secret_group >= re.captures_len() {
                        return Err(BuildError::Group {
                            rule: spec.id,
                            group: secret_group,
                        });
                    }
                    // A rule whose regex ignores case is triggered by its keywords in any case;
                    // token prefixes must match exactly, which keeps "ask" from triggering `SK`.
                    let ignore_case = regex.starts_with("(?i");
                    for kw in &kws {
                        let exact = (!ignore_case).then(|| kw.as_bytes().into());
                        add_keyword(
                            kw,
                            Trigger::Rule { rule: i, exact },
                            &mut keywords,
                            &mut triggers,
                        );
                    }
                    let prefix = if lookbehind == 0 {
                        PrefixDfa::new(&regex).map(Box::new)
                    } else {
                        None
                    };
                    Compiled::Keyword {
                        anchored: anchored.is_some(),
                        regex: anchored.unwrap_or(re),
                        back_over,
                        prefix,
                        lookbehind,
                        max_len,
                        secret_group,
                        entropy,
                        validator,
                    }
                }
                Matcher::Free { regex, validator } => {
                    // The second shapes of some rules, tried after every rule's first.
                    match &validator {
                        Validator::Phone(regions) => {
                            hold_patterns.push(numeric::NATIONAL_PHONE_HOLD.into());
                            second_shapes.push(NumericRule {
                                rule: i,
                                shape: numeric::Shape::NationalPhone,
                                validator: Validator::NationalPhone(regions.clone()),
                            });
                        }
                        Validator::Ssn => {
                            hold_patterns.push(numeric::SSN_IN_CONTEXT_HOLD.into());
                            second_shapes.push(NumericRule {
                                rule: i,
                                shape: numeric::Shape::SsnInContext,
                                validator: Validator::Ssn,
                            });
                        }
                        Validator::Ipv4 => {
                            hold_patterns.push(numeric::IPV6_HOLD.into());
                            ipv6 = Some(i);
                        }
                        _ => {}
                    }
                    match numeric::Shape::of(&validator, &regex) {
                        Some(shape) => numeric.push(NumericRule {
                            rule: i,
                            shape: shape.map_err(|message| BuildError::Regex {
                                rule: spec.id.clone(),
                                message,
                            })?,
                            validator,
                        }),
                        None => {
                            // Checked here so that a bad team pattern is named by its rule;
                            // the combined automaton below is what scans.
                            compile_regex(&spec.id, &regex)?;
                            free_patterns.push(regex);
                            free_rules.push(i);
                        }
                    }
                    Compiled::Free
                }
                Matcher::Words { words } => {
                    for w in words.iter().filter(|w| !w.trim().is_empty()) {
                        add_keyword(w.trim(), Trigger::Word(i), &mut keywords, &mut triggers);
                    }
                    Compiled::Words
                }
                Matcher::Logs {
                    threshold,
                    min_lines,
                } => {
                    for hint in logs::HINTS {
                        let t = Trigger::LogHint {
                            rule: i,
                            exact: hint.as_bytes().into(),
                        };
                        add_keyword(hint, t, &mut keywords, &mut triggers);
                    }
                    Compiled::Logs(logs::LogDetector::new(threshold, min_lines))
                }
            };
            rules.push((info, compiled));
        }
        // A national phone number is the loosest shape: it gives way to every other.
        second_shapes
            .sort_by_key(|n: &NumericRule| matches!(n.shape, numeric::Shape::NationalPhone));
        numeric.extend(second_shapes);
        if !numeric.is_empty() || ipv6.is_some() {
            for d in b'0'..=b'9' {
                add_keyword(
                    &(d as char).to_string(),
                    Trigger::Digit,
                    &mut keywords,
                    &mut triggers,
                );
            }
        }
        let max_literal_len = keywords.iter().map(String::len).max().unwrap_or(0);
        let automaton = if keywords.is_empty() {
            None
        } else {
            Some(KeywordDfa::new(&keywords).map_err(BuildError::Automaton)?)
        };
        let free = FreeGroup::new(&free_patterns, free_rules)?;
        let digit_only = triggers
            .iter()
            .map(|t| matches!(t.as_slice(), [Trigger::Digit]))
            .collect();
        Ok(Self {
            rules,
            automaton,
            triggers,
            digit_only,
            free,
            numeric,
            ipv6,
            max_literal_len,
            hold: HoldDfa::new(&hold_patterns).map(Box::new),
        })
    }

    /// Every detection in the canonical views of `text` ([`canonical`]), as spans of `text`
    /// itself, each with the value the detector read. Sorted by start, longest first.
    pub fn scan_canonical<'t>(&self, text: &'t str) -> Vec<Found<'t>> {
        let view = canonical::canonical(text);
        let mut found: Vec<Found<'t>> = Vec::new();
        let take = |view: &canonical::View<'t>, found: &mut Vec<Found<'t>>| {
            for d in self.scan(view.text()) {
                let (start, end) = view.original(d.start, d.end);
                let value = &view.text()[d.start..d.end];
                if found
                    .iter()
                    .any(|f| f.rule == d.rule && f.start == start && f.end == end)
                {
                    continue;
                }
                found.push(Found {
                    rule: d.rule,
                    start,
                    end,
                    value: if view.is_original() {
                        Cow::Borrowed(&text[start..end])
                    } else {
                        Cow::Owned(value.to_string())
                    },
                });
            }
        };
        take(&view, &mut found);
        if let Some(view) = canonical::without_comments(text) {
            take(&view, &mut found);
        }
        found.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
        found
    }

    pub fn rule(&self, index: usize) -> &RuleInfo {
        &self.rules[index].0
    }

    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// The byte of a streamed `text` from which it must be held back: the earliest place where
    /// a match of one of the rules (a secret, a card number, a listed word, a team pattern)
    /// could have begun and still be under way, in the text or in its canonical view. `text.len()`
    /// when nothing could be: a short reply then goes out as it comes instead of at the end.
    pub fn hold_from(&self, text: &str) -> usize {
        let len = text.len();
        let window = len.saturating_sub(HOLD_WINDOW_MAX);
        let Some(hold) = self.hold.as_deref() else {
            return len.saturating_sub(self.stream_hold());
        };
        // A match hidden by a comment is read from a view the DFA does not walk.
        if text.as_bytes()[window..].windows(4).any(|w| w == b"<!--") {
            return window;
        }
        let mut cache = hold.caches.get();
        let cache = &mut *cache;
        let mut first_open = |t: &str| {
            let b = t.as_bytes();
            (b.len().saturating_sub(HOLD_WINDOW_MAX)..b.len())
                .find(|&at| hold.open_at(cache, b, at))
                .unwrap_or(b.len())
        };
        let view = canonical::canonical(text);
        if view.is_original() {
            return first_open(text);
        }
        let raw = first_open(text);
        let canon = first_open(view.text());
        let canon = if canon == view.text().len() {
            len
        } else {
            view.original(canon, canon).0
        };
        raw.min(canon)
    }

    /// Text a stream holds back when its rules do not build as one DFA: enough for a keyword
    /// or a keywordless match (a card number, an IBAN, a listed word) split across chunks to be
    /// seen whole.
    pub fn stream_hold(&self) -> usize {
        self.max_literal_len.max(FREE_MATCH_HOLD)
    }

    /// The earliest byte from which a keyword rule's match may still be in progress at the end of
    /// `text` (its keyword occurred, and its longest match would run past the end).
    pub fn open_from(&self, text: &str) -> Option<usize> {
        let ac = self.automaton.as_ref()?;
        let len = text.len();
        let mut earliest: Option<usize> = None;
        ac.for_each_hit(text.as_bytes(), |hit| {
            for trigger in &self.triggers[hit.pattern] {
                if let Trigger::Rule { rule: r, exact } = trigger {
                    if exact
                        .as_deref()
                        .is_some_and(|e| !text.as_bytes()[hit.start..].starts_with(e))
                    {
                        continue;
                    }
                    if let Compiled::Keyword {
                        lookbehind,
                        max_len,
                        prefix,
                        ..
                    } = &self.rules[*r].1
                    {
                        // Still open: the longest match would run past the end, and the text so
                        // far does not already rule the match out.
                        let possible = prefix
                            .as_ref()
                            .is_none_or(|p| p.may_match(&text.as_bytes()[hit.start..]));
                        if hit.start + max_len > len && possible {
                            let from = hit.start.saturating_sub(*lookbehind);
                            earliest = Some(earliest.map_or(from, |e| e.min(from)));
                        }
                    }
                }
            }
        });
        earliest
    }

    /// Every detection in `text`, sorted by start, overlapping ones included.
    pub fn scan(&self, text: &str) -> Vec<Detection> {
        let mut found: Vec<Detection> = Vec::new();
        if let Some(ac) = &self.automaton {
            let mut logs_checked: Vec<usize> = Vec::new();
            let mut numeric_from = 0;
            let bytes = text.as_bytes();
            let mut at_digits = |at: usize, found: &mut Vec<Detection>| {
                if at >= numeric_from && numeric_may_start(bytes, at) {
                    numeric_from = self.scan_numeric(text, at, found).unwrap_or(numeric_from);
                }
            };
            ac.for_each_hit(bytes, |hit| {
                if self.digit_only[hit.pattern] {
                    at_digits(hit.start, &mut found);
                    return;
                }
                for trigger in &self.triggers[hit.pattern] {
                    match trigger {
                        Trigger::Rule { rule, exact } => {
                            if exact
                                .as_deref()
                                .is_none_or(|e| bytes[hit.start..].starts_with(e))
                            {
                                self.run_keyword_rule(*rule, text, hit.start, &mut found);
                            }
                        }
                        Trigger::Digit => at_digits(hit.start, &mut found),
                        Trigger::Word(r) => {
                            let r = *r;
                            if is_word_boundary(text, hit.start, hit.end) {
                                found.push(Detection {
                                    rule: r,
                                    start: hit.start,
                                    end: hit.end,
                                });
                            }
                        }
                        Trigger::LogHint { rule: r, exact } => {
                            let r = *r;
                            if bytes[hit.start..].starts_with(exact) && !logs_checked.contains(&r) {
                                logs_checked.push(r);
                                if let Compiled::Logs(d) = &self.rules[r].1 {
                                    if let Some((start, end)) = d.detect(text) {
                                        found.push(Detection {
                                            rule: r,
                                            start,
                                            end,
                                        });
                                    }
                                }
                            }
                        }
                    }
                }
            });
        }
        if let Some(group) = &self.free {
            found.extend(group.combined.find_iter(text).map(|m| Detection {
                rule: group.rules[m.pattern().as_usize()],
                start: m.start(),
                end: m.end(),
            }));
        }
        // Several keyword hits can find the same match: sort, then drop the repeats.
        // Detections arrive nearly in order: the stable sort's run detection makes this cheap.
        found.sort_by_key(|d| (d.start, std::cmp::Reverse(d.end), d.rule));
        found.dedup();
        found
    }

    /// Tries the personal-data rules where they can start around the run of digits at `at`
    /// (the automaton reports a digit only where a run starts): at the run itself (cards, SSNs,
    /// IP addresses, `555-…` phone numbers, all after a word boundary), at a `+` or `(` just
    /// before it (phone numbers), and at two capital letters before it (an IBAN's country).
    /// At each start the rules are tried in order, each on its own match, until one passes its
    /// validator. Returns the end of the detection made, if any: runs inside it are not tried
    /// again (a match that fails its validator may hide a real one starting inside it: `4111
    /// 4539 1488 0343 6467` fails Luhn from its first group, and holds a card from its second).
    // Kept out of line so that the scan's per-hit closure stays small enough to be inlined into
    // the automaton's hit loop: most runs of digits are turned away before this call, and
    // inlining it made every hit pay a call (dense text 176-185 -> 190-199 MiB/s out of line).
    #[inline(never)]
    fn scan_numeric(&self, text: &str, at: usize, found: &mut Vec<Detection>) -> Option<usize> {
        let b = text.as_bytes();
        let starts = if after_two_capitals(b, at) {
            // Two capitals before the digits: only an IBAN starts like this, and nothing else
            // can start at the digits (a letter precedes them).
            [Some(at - 2), None]
        } else {
            [
                (at >= 1 && matches!(b[at - 1], b'+' | b'(')).then(|| at - 1),
                Some(at),
            ]
        };
        for start in starts.into_iter().flatten() {
            for n in &self.numeric {
                if !n.shape.may_start_with(b[start]) {
                    continue;
                }
                let Some(end) = n.shape.match_at(text, start) else {
                    continue;
                };
                if n.validator.check(&text[start..end])
                    && !n.validator.ruled_out_by_context(text, start)
                    && !(matches!(n.shape, numeric::Shape::NationalPhone)
                        && self.holds_other_data(text, start, end))
                {
                    found.push(Detection {
                        rule: n.rule,
                        start,
                        end,
                    });
                    return Some(end);
                }
            }
        }
        if let Some(rule) = self.ipv6 {
            let run = at + b[at..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
            if b.get(run) == Some(&b':') || (at > 0 && b[at - 1] == b':') {
                if let Some((start, end)) = numeric::ipv6(b, at) {
                    found.push(Detection { rule, start, end });
                    return Some(end);
                }
            }
        }
        None
    }

    /// Whether a group inside the national phone number at `start..end` starts another rule's
    /// valid match (`12 123-45-6789` holds an SSN; `step 12` is not part of it): the number
    /// then gives way, and the groups are tried on their own.
    fn holds_other_data(&self, text: &str, start: usize, end: usize) -> bool {
        let b = text.as_bytes();
        (start + 1..end)
            .filter(|&i| b[i].is_ascii_digit() && !b[i - 1].is_ascii_digit())
            .any(|i| {
                self.numeric.iter().any(|n| {
                    !matches!(n.shape, numeric::Shape::NationalPhone)
                        && n.shape.may_start_with(b[i])
                        && n.shape.match_at(text, i).is_some_and(|e| {
                            n.validator.check(&text[i..e])
                                && !n.validator.ruled_out_by_context(text, i)
                        })
                })
            })
    }

    fn run_keyword_rule(&self, rule: usize, text: &str, at: usize, found: &mut Vec<Detection>) {
        let Compiled::Keyword {
            regex,
            anchored,
            back_over,
            lookbehind,
            max_len,
            secret_group,
            entropy,
            validator,
            ..
        } = &self.rules[rule].1
        else {
            return;
        };
        let start = match back_over {
            Some(part) => {
                let b = text.as_bytes();
                let limit = at.saturating_sub(*lookbehind);
                let mut s = at;
                while s > limit && part(b[s - 1]) {
                    s -= 1;
                }
                ceil_char_boundary(text, s)
            }
            None => floor_char_boundary(text, at.saturating_sub(*lookbehind)),
        };
        let end = ceil_char_boundary(text, at.saturating_add(*max_len).min(text.len()));
        let window = &text[start..end];
        let mut accept = |whole: (usize, usize), secret: regex::Match<'_>| {
            // Only matches that involve this keyword hit; others are found from their own hit.
            if start + whole.0 > at || start + whole.1 <= at {
                return;
            }
            let value = secret.as_str();
            if entropy.is_some_and(|min| validate::entropy(value) < entropy_floor(min, value))
                || !validator.check_in(text, start + secret.start(), start + secret.end())
            {
                return;
            }
            found.push(Detection {
                rule,
                start: start + secret.start(),
                end: start + secret.end(),
            });
        };
        if *secret_group == 0 {
            // No group to extract: a plain search, several times cheaper than captures. A regex
            // anchored at the window's start matches there or nowhere: one search, not the
            // second an iterator makes to learn that there is no other match.
            if *anchored {
                if let Some(m) = regex.find(window) {
                    accept((m.start(), m.end()), m);
                }
            } else {
                for m in regex.find_iter(window) {
                    accept((m.start(), m.end()), m);
                }
            }
            return;
        }
        // With no lookbehind the regex is anchored at the keyword: most hits fail at once, and
        // a failed match is much cheaper to learn without captures.
        if *lookbehind == 0 && !regex.is_match(window) {
            return;
        }
        for caps in regex.captures_iter(window) {
            if let (Some(whole), Some(secret)) = (caps.get(0), caps.get(*secret_group)) {
                accept((whole.start(), whole.end()), secret);
            }
        }
    }
}

/// The entropy a value must reach, for a rule asking `min` bits per character: a hexadecimal
/// value draws on 16 symbols, not 64, so a random one reaches about 0.4 bits less (a random
/// 32-digit hex string averages 3.75; the same length in base64, about 4.3).
fn entropy_floor(min: f64, value: &str) -> f64 {
    if value.bytes().all(|c| c.is_ascii_hexdigit()) {
        min - 0.4
    } else {
        min
    }
}

/// Glob match with `*` (any run) and `?` (one character), ASCII case-insensitive.
pub fn glob_match(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let v: Vec<char> = value.to_ascii_lowercase().chars().collect();
    let (mut pi, mut vi) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char_boundary(s: &str, mut i: usize) -> usize {
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

fn is_word_boundary(text: &str, start: usize, end: usize) -> bool {
    let bytes = text.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let before = start == 0 || !is_word(bytes[start - 1]) || !is_word(bytes[start]);
    let after = end >= bytes.len() || !is_word(bytes[end]) || !is_word(bytes[end - 1]);
    before && after
}

/// The secret rules shipped with Warden (`src/detect/secrets.yaml`).
pub const SECRET_RULES_YAML: &str = include_str!("secrets.yaml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretRulesFile {
    rules: Vec<SecretRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretRule {
    id: String,
    keywords: Vec<String>,
    regex: String,
    #[serde(default)]
    lookbehind: usize,
    #[serde(default = "default_max_len")]
    max_len: usize,
    #[serde(default)]
    secret_group: usize,
    #[serde(default)]
    entropy: Option<f64>,
    /// A check beyond the common ones ([`secret_value::Check`]).
    #[serde(default)]
    check: Option<SecretCheck>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SecretCheck {
    BasicAuth,
    KeyName,
}

fn default_max_len() -> usize {
    256
}

/// The built-in secret rules as specs of class `secrets`.
pub fn secret_rules() -> Result<Vec<RuleSpec>, BuildError> {
    let file: SecretRulesFile =
        serde_yaml::from_str(SECRET_RULES_YAML).map_err(|e| BuildError::Rule {
            rule: "secrets.yaml".into(),
            message: e.to_string(),
        })?;
    Ok(file
        .rules
        .into_iter()
        .map(|r| RuleSpec {
            id: format!("secrets.{}", r.id),
            class: "secrets".into(),
            matcher: Matcher::Keyword {
                keywords: r.keywords,
                regex: r.regex,
                lookbehind: r.lookbehind,
                back_over: None,
                max_len: r.max_len,
                secret_group: r.secret_group,
                entropy: r.entropy,
                validator: Validator::Secret(match r.check {
                    None => secret_value::Check::Value,
                    Some(SecretCheck::BasicAuth) => secret_value::Check::BasicAuth,
                    Some(SecretCheck::KeyName) => secret_value::Check::KeyName,
                }),
            },
        })
        .collect())
}

/// The built-in personal-data rules, one per `pii.*` class, phone numbers checked against the
/// default regions.
pub fn pii_rule(class: &str, allow_test_cards: bool) -> Option<RuleSpec> {
    pii_rule_with(class, allow_test_cards, default_phone_regions())
}

/// [`pii_rule`], national phone numbers checked against `phone_regions`.
pub fn pii_rule_with(
    class: &str,
    allow_test_cards: bool,
    phone_regions: PhoneRegions,
) -> Option<RuleSpec> {
    if class == "pii.phone" {
        // Compiled now, with the policy, rather than by the first request that holds a number.
        for &region in phone_regions.iter() {
            validate::numbering_plan(region);
        }
    }
    let (matcher, id) = match class {
        "pii.email" => (
            Matcher::Keyword {
                keywords: vec!["@".into()],
                // Internationalised addresses too: a partly redacted `jürgen.müller@…` would leak.
                regex: r"[A-Za-z0-9._%+\-\x{80}-\x{10FFFF}]{1,64}@[A-Za-z0-9\x{80}-\x{10FFFF}](?:[A-Za-z0-9\-\x{80}-\x{10FFFF}]{0,62}\.)+[A-Za-z\x{80}-\x{10FFFF}]{2,24}".into(),
                lookbehind: 64,
                back_over: Some(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-') || b >= 0x80
                }),
                max_len: 128,
                secret_group: 0,
                entropy: None,
                validator: Validator::None,
            },
            "pii.email",
        ),
        "pii.credit_card" => (
            Matcher::Free {
                regex: r"(?-u:\b)[2-6]\d{3}(?:[ \-]\d{4}){3}[ \-]\d{3}(?-u:\b)|(?-u:\b)[2-6]\d{3}(?:[ \-]?\d{4}){2}[ \-]?\d{1,7}(?-u:\b)|(?-u:\b)3[47]\d{2}[ \-]?\d{6}[ \-]?\d{5}(?-u:\b)|(?-u:\b)3[0689]\d{2}[ \-]?\d{6}[ \-]?\d{4}(?-u:\b)".into(),
                validator: Validator::CreditCard {
                    allow_test_numbers: allow_test_cards,
                },
            },
            "pii.credit_card",
        ),
        "pii.iban" => (
            Matcher::Free {
                regex: r"(?-u:\b)[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?-u:\b)".into(),
                validator: Validator::Iban,
            },
            "pii.iban",
        ),
        "pii.ssn" => (
            Matcher::Free {
                regex: r"(?-u:\b)\d{3}-\d{2}-\d{4}(?-u:\b)".into(),
                validator: Validator::Ssn,
            },
            "pii.ssn",
        ),
        "pii.phone" => (
            Matcher::Free {
                regex: r"\+[1-9]\d{0,2}(?:[ .\-]?\(?\d{1,4}\)?){1,2}(?:[ .\-]?\d{2,4}){2,4}(?-u:\b)|(?:\(\d{3}\) ?|(?-u:\b)\d{3}[.\-])\d{3}[.\-]\d{4}(?-u:\b)".into(),
                validator: Validator::Phone(phone_regions),
            },
            "pii.phone",
        ),
        "pii.ip_address" => (
            Matcher::Free {
                regex: r"(?-u:\b)(?:\d{1,3}\.){3}\d{1,3}(?-u:\b)".into(),
                validator: Validator::Ipv4,
            },
            "pii.ip_address",
        ),
        _ => return None,
    };
    Some(RuleSpec {
        id: id.into(),
        class: class.into(),
        matcher,
    })
}

/// The `pii.*` classes Warden detects.
pub const PII_CLASSES: &[&str] = &[
    "pii.email",
    "pii.phone",
    "pii.credit_card",
    "pii.iban",
    "pii.ssn",
    "pii.ip_address",
];

#[cfg(test)]
mod tests;
