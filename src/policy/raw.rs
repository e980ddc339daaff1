//! The policy file format, as written by security teams: serde structs whose doc comments are the
//! reference in `docs/policies.md`. Compiled into [`super::Policy`] by `compile.rs`.

use std::collections::BTreeMap;

use serde::Deserialize;

/// One team's policy file, `policies/<team>.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    /// What the policy is for, in a sentence.
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub models: RawModels,
    /// Which parts of a request are scanned.
    #[serde(default)]
    pub scan: RawScan,
    /// Content Warden cannot read (images, base64 PDFs): `allow` or `block`.
    #[serde(default)]
    pub unscannable: Unscannable,
    /// Data classes and what to do with each.
    #[serde(default)]
    pub classes: BTreeMap<String, RawClass>,
    /// Team-defined classes, each becoming `custom.<name>`.
    #[serde(default)]
    pub custom: BTreeMap<String, RawClass>,
    #[serde(default)]
    pub reply: RawReply,
    #[serde(default)]
    pub audit: RawAudit,
    /// Tool permissions and approvals.
    #[serde(default)]
    pub tools: super::tools::RawTools,
    /// Prompt-injection defense for content the model reads from tools and documents.
    #[serde(default)]
    pub injection: Option<RawInjection>,
    /// The team's instructions, placed by Warden before the client's system prompt.
    #[serde(default)]
    pub preamble: Option<String>,
    /// Requests and tokens per minute, per key and for the team (per replica).
    #[serde(default)]
    pub quotas: QuotaPolicy,
    /// Message Batches: what to do with an item the policy refuses.
    #[serde(default)]
    pub batches: RawBatches,
    /// The Files API: which uploads are accepted, and how they are scanned.
    #[serde(default)]
    pub files: RawFiles,
}

/// Message Batches (`/v1/messages/batches`). Every item goes through the policy as if it had
/// been sent alone.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawBatches {
    /// An item the policy refuses: `refuse` the whole batch (the error names the item's
    /// `custom_id`), or `drop` the item, send the rest, and report the dropped ones in the
    /// `x-warden-dropped-items` header and the audit record.
    pub blocked_items: BlockedItems,
}

impl Default for RawBatches {
    fn default() -> Self {
        Self {
            blocked_items: BlockedItems::Refuse,
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BlockedItems {
    Refuse,
    Drop,
}

/// The Files API (`/v1/files`). Text-like uploads (plain text, Markdown, CSV, JSON, XML, YAML,
/// HTML, source code) are scanned with the policy's classes as a request's text would be: a
/// class whose action is `block` refuses the upload, `redact` and `pseudonymize` replace the
/// value (pseudonyms are not restored: a file has no reply).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawFiles {
    /// Uploads Warden cannot read as text (PDFs, images, archives, anything else): `allow` or
    /// `block`.
    pub unscannable: Unscannable,
    /// Largest upload accepted, in bytes. A file that is not text is relayed as it arrives.
    pub max_bytes: usize,
    /// Largest text file accepted: text is read whole to be scanned before it goes upstream.
    pub max_text_bytes: usize,
}

impl Default for RawFiles {
    fn default() -> Self {
        Self {
            unscannable: Unscannable::Block,
            max_bytes: 500 * 1024 * 1024,
            max_text_bytes: 32 * 1024 * 1024,
        }
    }
}

/// Which content is untrusted, and what the injection defense does with it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawInjection {
    pub untrusted: RawUntrusted,
    /// Score in [0, 1] from which content counts as an injection (0.5: the classifier's own
    /// operating point, chosen for at most 2 % false positives on its validation data).
    pub threshold: f32,
    /// For flagged content: `flag` (finding only), `spotlight` (mark it as data) or `block`.
    pub action: InjectionAction,
    /// Spotlight every untrusted block, flagged or not (detection can miss; marking cannot).
    pub spotlight_all: bool,
    /// Remove invisible characters (Unicode tags, zero-width and bidi controls) and HTML
    /// comments from untrusted content.
    pub strip_hidden: bool,
    /// Once untrusted content in the conversation was flagged, calls to these tools (name globs)
    /// wait for a human's approval.
    pub require_approval_after: Vec<String>,
}

impl Default for RawInjection {
    fn default() -> Self {
        Self {
            untrusted: RawUntrusted::default(),
            threshold: 0.5,
            action: InjectionAction::Spotlight,
            spotlight_all: false,
            strip_hidden: true,
            require_approval_after: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawUntrusted {
    /// Results of these tools (name globs; `*` for all) are untrusted.
    pub tool_results: Vec<String>,
    /// `document` blocks are untrusted.
    pub documents: bool,
    /// The user's own text is untrusted (for apps that paste third-party content into it).
    pub user_text: bool,
}

impl Default for RawUntrusted {
    fn default() -> Self {
        Self {
            tool_results: vec!["*".into()],
            documents: true,
            user_text: false,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum InjectionAction {
    Flag,
    #[default]
    Spotlight,
    Block,
}

impl InjectionAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Flag => "flag",
            Self::Spotlight => "spotlight",
            Self::Block => "block",
        }
    }
}

/// What the audit store keeps of this team's exchanges.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAudit {
    /// Prompts and outputs: `full` (as sent, secrets still redacted), `redacted` (as the model saw
    /// them: every redacted or pseudonymized value replaced), `hash` (SHA-256 only) or `none`.
    pub storage: StorageMode,
    /// Days before `warden audit prune` removes this team's rows.
    pub retention_days: u32,
    /// If a record can be neither queued nor spooled: `reject` the request (503, before anything
    /// goes upstream) or `allow` it unrecorded.
    pub on_failure: OnFailure,
}

impl Default for RawAudit {
    fn default() -> Self {
        Self {
            storage: StorageMode::Redacted,
            retention_days: 90,
            on_failure: OnFailure::Reject,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StorageMode {
    Full,
    #[default]
    Redacted,
    Hash,
    None,
}

impl StorageMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Redacted => "redacted",
            Self::Hash => "hash",
            Self::None => "none",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    #[default]
    Reject,
    Allow,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModels {
    /// Model names or globs (`claude-sonnet-*`); empty means every model.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Largest `max_tokens` a request may ask for.
    #[serde(default)]
    pub max_tokens: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawScan {
    pub system: bool,
    pub user_text: bool,
    pub assistant_text: bool,
    pub tool_results: bool,
    pub documents: bool,
    pub tool_use_inputs: bool,
    /// Thinking blocks sent back in the history cannot be edited (their signatures would break):
    /// `block` refuses a request whose thinking holds a value of a class whose action is redact,
    /// pseudonymize or block; `pass` forwards it with the finding recorded (a `block` class is
    /// refused either way).
    pub thinking: ThinkingAction,
}

impl Default for RawScan {
    fn default() -> Self {
        Self {
            system: true,
            user_text: true,
            assistant_text: true,
            tool_results: true,
            documents: true,
            tool_use_inputs: true,
            thinking: ThinkingAction::Block,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Unscannable {
    #[default]
    Allow,
    Block,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawReply {
    /// Redact secrets in replies and restore pseudonyms (JSON and streams).
    pub scan: bool,
    /// Thinking blocks cannot be edited (their signatures would break): `pass` them as they are,
    /// or `block` the reply when one holds a value of a class whose action is redact or block
    /// (streams then hold each thinking block until it is complete).
    pub thinking: ThinkingAction,
    /// Restore pseudonyms inside URLs the model writes (`https://x.example/?c=<CUSTOMER_ID_1>`,
    /// markdown links and images, `href`/`src` attributes), in text and in tool inputs. Off: a
    /// URL is a channel out of the conversation (an image the client renders is a request to
    /// whoever wrote the URL), so the placeholder stays there.
    pub restore_in_urls: bool,
}

impl Default for RawReply {
    fn default() -> Self {
        Self {
            scan: true,
            thinking: ThinkingAction::Pass,
            restore_in_urls: false,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ThinkingAction {
    #[default]
    Pass,
    Block,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Let it through; the finding is still recorded.
    Allow,
    /// Replace it with `[REDACTED:<rule>]`.
    Redact,
    /// Replace it with a stable placeholder (`<EMAIL_1>`) and restore it in the reply.
    Pseudonymize,
    /// Refuse the request with 403.
    Block,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Redact => "redact",
            Self::Pseudonymize => "pseudonymize",
            Self::Block => "block",
        }
    }
}

/// A class's settings. Which fields apply depends on the class.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClass {
    pub action: Action,
    /// `customer_id`, `custom.*`: regexes for the class.
    #[serde(default)]
    pub patterns: Vec<String>,
    /// `customer_id`, `custom.*`: literal words or phrases.
    #[serde(default)]
    pub words: Vec<String>,
    /// `customer_id`, `custom.*`: files (relative to the policy) with one word or phrase a line.
    #[serde(default)]
    pub word_lists: Vec<String>,
    /// `pii.credit_card`: ignore the card numbers processors publish for testing.
    #[serde(default)]
    pub allow_test_numbers: Option<bool>,
    /// `pii.phone`: ISO 3166 region codes whose national numbering plans phone numbers written
    /// without a country code are checked against (default: `detect::DEFAULT_PHONE_REGIONS`).
    #[serde(default)]
    pub regions: Option<Vec<String>>,
    /// `production_logs`: share of lines that must look like log lines, 0 to 1 (default 0.5).
    #[serde(default)]
    pub threshold: Option<f64>,
    /// `repository`: repositories whose content may be shared (names or globs, `acme/platform-*`);
    /// a remote URL of any other repository is this class.
    #[serde(default)]
    pub allow: Vec<String>,
    /// `repository`: repositories whose content may not be shared, with their markers.
    #[serde(default)]
    pub deny: Vec<RawRepository>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRepository {
    /// `owner/name`.
    pub name: String,
    /// Strings that mark content as coming from it: remote URLs, path prefixes, code names.
    #[serde(default)]
    pub markers: Vec<String>,
}

/// Limits for one scope (`key` or `team`); absent: unlimited.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub requests_per_minute: Option<u32>,
    pub tokens_per_minute: Option<u32>,
}

impl Limits {
    pub fn is_empty(&self) -> bool {
        self.requests_per_minute.is_none() && self.tokens_per_minute.is_none()
    }
}

/// A policy's `quotas:` section.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct QuotaPolicy {
    /// For each key of the team.
    pub key: Limits,
    /// For the team as a whole.
    pub team: Limits,
}
