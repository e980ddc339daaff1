//! Tool permissions: which tools a team may be offered, which calls are denied, and which wait
//! for a human. Rules are written as Claude Code writes its permissions: a tool name or glob
//! (`Bash`, `mcp__github__*`, `mcp__*__delete_*`), optionally with an argument pattern
//! (`Bash(git push *)`, `Write(/etc/**)`, `WebFetch(domain:*.internal.example.com)`).
//!
//! Evaluation: of the rules that match a call, the most specific wins (a rule with an argument
//! pattern beats one without; then the one with more literal characters); on a tie, `deny` beats
//! `require_approval` beats `allow`. No rule matching: the policy's `default`.

use serde::Deserialize;
use serde_json::Value;

use crate::detect::glob_match;

/// The `tools:` section of a policy file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawTools {
    /// For a tool no rule names: `allow` or `deny`.
    pub default: ToolDefault,
    pub allow: Vec<String>,
    pub deny: Vec<String>,
    pub require_approval: Vec<String>,
    /// A request offering a tool the team may not use: `remove` it from `tools` before
    /// forwarding, or `reject` the request (403).
    pub on_denied_tool: OnDeniedTool,
    pub approval: RawApproval,
}

impl Default for RawTools {
    fn default() -> Self {
        Self {
            default: ToolDefault::Allow,
            allow: Vec::new(),
            deny: Vec::new(),
            require_approval: Vec::new(),
            on_denied_tool: OnDeniedTool::Remove,
            approval: RawApproval::default(),
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ToolDefault {
    Allow,
    Deny,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OnDeniedTool {
    Remove,
    Reject,
}

/// Who decides a held call, and how long it may wait.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawApproval {
    /// Admin key names, or `group:<name>` for every admin key in that group. Empty: any admin
    /// key with the `approver` or `admin` role.
    pub approvers: Vec<String>,
    /// Seconds a call waits for a decision.
    pub timeout_seconds: u64,
    /// What an unanswered call becomes. Only `deny` (the call is replaced, as for a rejection).
    pub on_timeout: OnTimeout,
    /// Whether the principal whose request produced the call may approve it (separation of
    /// duties says no).
    pub self_approval: bool,
}

impl Default for RawApproval {
    fn default() -> Self {
        Self {
            approvers: Vec::new(),
            timeout_seconds: 300,
            on_timeout: OnTimeout::Deny,
            self_approval: false,
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OnTimeout {
    Deny,
}

/// What a rule says about a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ToolAction {
    Allow,
    RequireApproval,
    Deny,
}

impl ToolAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::RequireApproval => "require_approval",
            Self::Deny => "deny",
        }
    }
}

/// One rule, parsed.
#[derive(Clone, Debug)]
struct Rule {
    /// As written, for messages: `tools.deny: Bash(rm *)`.
    text: String,
    action: ToolAction,
    name: String,
    arg: Option<String>,
    /// Literal characters in the rule (name and argument): more is more specific.
    literal: usize,
}

/// The decision about one tool call or one offered tool, and the rule that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolDecision {
    pub action: ToolAction,
    /// `tools.deny: Bash(rm *)`, or `tools.default: deny` when no rule matched.
    pub rule: String,
}

/// A policy's tool rules, compiled.
#[derive(Clone, Debug)]
pub struct ToolPolicy {
    rules: Vec<Rule>,
    pub default: ToolDefault,
    pub on_denied_tool: OnDeniedTool,
    pub approval: RawApproval,
}

impl Default for ToolPolicy {
    fn default() -> Self {
        Self {
            rules: Vec::new(),
            default: ToolDefault::Allow,
            on_denied_tool: OnDeniedTool::Remove,
            approval: RawApproval::default(),
        }
    }
}

/// Splits `Name(arg)` into its parts; `Err` says what is wrong.
fn parse_rule(text: &str) -> Result<(String, Option<String>), String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty rule".into());
    }
    match text.find('(') {
        None => {
            if text.contains(')') {
                return Err("unbalanced ')'".into());
            }
            Ok((text.to_string(), None))
        }
        Some(open) => {
            if !text.ends_with(')') {
                return Err("an argument pattern must end with ')'".into());
            }
            let name = text[..open].trim();
            let arg = &text[open + 1..text.len() - 1];
            if name.is_empty() {
                return Err("no tool name before '('".into());
            }
            if arg.trim().is_empty() {
                return Err("empty argument pattern".into());
            }
            Ok((name.to_string(), Some(arg.to_string())))
        }
    }
}

fn literal_len(s: &str) -> usize {
    s.chars().filter(|c| !matches!(c, '*' | '?')).count()
}

impl ToolPolicy {
    /// Compiles the section; errors name the list and the entry (`tools.deny[2]: …`).
    pub fn compile(raw: &RawTools) -> Result<Self, Vec<(String, String)>> {
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        for (list, action, entries) in [
            ("allow", ToolAction::Allow, &raw.allow),
            (
                "require_approval",
                ToolAction::RequireApproval,
                &raw.require_approval,
            ),
            ("deny", ToolAction::Deny, &raw.deny),
        ] {
            for (i, entry) in entries.iter().enumerate() {
                match parse_rule(entry) {
                    Ok((name, arg)) => rules.push(Rule {
                        text: format!("tools.{list}: {}", entry.trim()),
                        action,
                        literal: literal_len(&name) + arg.as_deref().map_or(0, literal_len),
                        name,
                        arg,
                    }),
                    Err(e) => errors.push((format!("tools.{list}[{i}]"), e)),
                }
            }
        }
        if raw.approval.timeout_seconds == 0 {
            errors.push((
                "tools.approval.timeout_seconds".into(),
                "must be greater than 0".into(),
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            rules,
            default: raw.default,
            on_denied_tool: raw.on_denied_tool,
            approval: raw.approval.clone(),
        })
    }

    /// True when the policy gates nothing: every tool allowed, no rule to evaluate.
    pub fn is_open(&self) -> bool {
        self.default == ToolDefault::Allow
            && self.rules.iter().all(|r| r.action == ToolAction::Allow)
    }

    fn default_decision(&self) -> ToolDecision {
        ToolDecision {
            action: match self.default {
                ToolDefault::Allow => ToolAction::Allow,
                ToolDefault::Deny => ToolAction::Deny,
            },
            rule: match self.default {
                ToolDefault::Allow => "tools.default: allow".into(),
                ToolDefault::Deny => "tools.default: deny".into(),
            },
        }
    }

    /// The most specific of the matching rules; deny wins ties, then approval.
    fn best<'a>(&self, matching: impl Iterator<Item = &'a Rule>) -> Option<&'a Rule> {
        matching.max_by_key(|r| (r.arg.is_some(), r.literal, r.action))
    }

    /// The decision about a call of tool `name` with `input`.
    pub fn decide(&self, name: &str, input: &Value) -> ToolDecision {
        let matching = self.rules.iter().filter(|r| {
            glob_match(&r.name, name)
                && r.arg
                    .as_deref()
                    .is_none_or(|arg| arg_matches(name, arg, input))
        });
        match self.best(matching) {
            Some(r) => ToolDecision {
                action: r.action,
                rule: r.text.clone(),
            },
            None => self.default_decision(),
        }
    }

    /// Whether tool `name` may be offered to the model at all: `Some(decision)` with a deny when
    /// it must not be. A tool denied by name but allowed (or gated) for some arguments is
    /// offered; its calls are decided one by one.
    pub fn denied_offer(&self, name: &str) -> Option<ToolDecision> {
        let by_name = self
            .best(
                self.rules
                    .iter()
                    .filter(|r| r.arg.is_none() && glob_match(&r.name, name)),
            )
            .map(|r| ToolDecision {
                action: r.action,
                rule: r.text.clone(),
            })
            .unwrap_or_else(|| self.default_decision());
        if by_name.action != ToolAction::Deny {
            return None;
        }
        let some_calls_allowed = self
            .rules
            .iter()
            .any(|r| r.arg.is_some() && r.action != ToolAction::Deny && glob_match(&r.name, name));
        (!some_calls_allowed).then_some(by_name)
    }

    /// Whether an MCP server from the request's `mcp_servers` must be removed: a deny rule
    /// covers every tool of the server (`mcp__<server>__*`), or unknown tools are denied and no
    /// rule allows any of its tools.
    pub fn denied_mcp_server(&self, server: &str) -> Option<ToolDecision> {
        let probe = format!("mcp__{server}__*");
        let prefix = format!("mcp__{server}__");
        if let Some(r) = self.best(
            self.rules
                .iter()
                .filter(|r| r.arg.is_none() && glob_match(&r.name, &probe)),
        ) {
            return (r.action == ToolAction::Deny).then(|| ToolDecision {
                action: r.action,
                rule: r.text.clone(),
            });
        }
        let any_allowed = self.rules.iter().any(|r| {
            r.action != ToolAction::Deny
                && (r
                    .name
                    .to_ascii_lowercase()
                    .starts_with(&prefix.to_ascii_lowercase())
                    || glob_match(&r.name, &probe))
        });
        (self.default == ToolDefault::Deny && !any_allowed).then(|| self.default_decision())
    }
}

/// The argument a rule's pattern is matched against, by tool: the command for `Bash`, the path
/// for file tools, `domain:<host>` (or the URL) for `WebFetch`; for any other tool the input as
/// compact JSON.
fn arg_matches(tool: &str, pattern: &str, input: &Value) -> bool {
    let field = |k: &str| input.get(k).and_then(Value::as_str);
    match tool {
        "Bash" => field("command").is_some_and(|c| glob_match(pattern, c.trim())),
        "Read" | "Write" | "Edit" | "MultiEdit" | "NotebookEdit" => field("file_path")
            .or_else(|| field("notebook_path"))
            .is_some_and(|p| path_match(pattern, p)),
        "Glob" | "Grep" => field("path")
            .or_else(|| field("pattern"))
            .is_some_and(|p| path_match(pattern, p)),
        "WebFetch" => {
            let Some(url) = field("url") else {
                return false;
            };
            match pattern.strip_prefix("domain:") {
                Some(domain) => host_of(url).is_some_and(|h| glob_match(domain, h)),
                None => glob_match(pattern, url),
            }
        }
        _ => glob_match(pattern, &input.to_string()),
    }
}

/// The host part of a URL, without port or credentials.
fn host_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    let host = host.split(':').next()?;
    (!host.is_empty()).then_some(host)
}

/// Path globs: `**` crosses directories, `*` and `?` do not.
fn path_match(pattern: &str, path: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((b'*', rest)) if rest.first() == Some(&b'*') => {
                let rest = &rest[1..];
                (0..=s.len()).any(|i| go(rest, &s[i..]))
            }
            Some((b'*', rest)) => {
                let stop = s.iter().position(|&c| c == b'/').unwrap_or(s.len());
                (0..=stop).any(|i| go(rest, &s[i..]))
            }
            Some((b'?', rest)) => s.first().is_some_and(|&c| c != b'/') && go(rest, &s[1..]),
            Some((&c, rest)) => s.first() == Some(&c) && go(rest, &s[1..]),
        }
    }
    go(pattern.as_bytes(), path.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(yaml: &str) -> ToolPolicy {
        let raw: RawTools = serde_yaml::from_str(yaml).expect("valid yaml");
        ToolPolicy::compile(&raw).expect("compiles")
    }

    #[test]
    fn most_specific_rule_wins_and_deny_wins_ties() {
        let p = policy(
            "allow: [Bash, 'mcp__github__*']\n\
             require_approval: ['Bash(git push *)', 'mcp__github__create_*']\n\
             deny: ['Bash(rm *)', 'mcp__*__delete_*', 'Bash(git push --force *)', 'mcp__github__create_*']\n",
        );
        let bash = |c: &str| p.decide("Bash", &json!({"command": c})).action;
        assert_eq!(bash("ls -la"), ToolAction::Allow);
        assert_eq!(bash("git push origin main"), ToolAction::RequireApproval);
        assert_eq!(bash("git push --force origin main"), ToolAction::Deny);
        assert_eq!(bash("rm -rf /"), ToolAction::Deny);
        assert_eq!(
            p.decide("mcp__github__get_issue", &json!({})).action,
            ToolAction::Allow
        );
        assert_eq!(
            p.decide("mcp__github__delete_repo", &json!({})).action,
            ToolAction::Deny
        );
        // Same rule text in require_approval and deny: deny wins the tie.
        let d = p.decide("mcp__github__create_issue", &json!({}));
        assert_eq!(d.action, ToolAction::Deny);
        assert_eq!(d.rule, "tools.deny: mcp__github__create_*");
        // Unknown tools take the default.
        assert_eq!(p.decide("Write", &json!({})).rule, "tools.default: allow");
    }

    #[test]
    fn file_paths_web_domains_and_default_deny() {
        let p = policy(
            "default: deny\n\
             allow: [Read, 'Write(/work/**)', 'WebFetch(domain:*.example.com)']\n\
             deny: ['Write(/work/*.env)']\n",
        );
        let write = |f: &str| p.decide("Write", &json!({"file_path": f})).action;
        assert_eq!(write("/work/src/main.rs"), ToolAction::Allow);
        assert_eq!(write("/work/.env"), ToolAction::Deny);
        // `*` does not cross directories.
        assert_eq!(write("/work/sub/prod.env"), ToolAction::Allow);
        assert_eq!(write("/etc/passwd"), ToolAction::Deny);
        let fetch = |u: &str| p.decide("WebFetch", &json!({"url": u})).action;
        assert_eq!(fetch("https://docs.example.com/a?b"), ToolAction::Allow);
        assert_eq!(
            fetch("https://user@api.example.com:8443/x"),
            ToolAction::Allow
        );
        assert_eq!(fetch("https://example.com.evil.io/"), ToolAction::Deny);
        assert_eq!(
            p.decide("Bash", &json!({"command": "ls"})).action,
            ToolAction::Deny
        );
    }

    #[test]
    fn which_tools_are_offered() {
        let p = policy(
            "default: deny\nallow: [Read, 'Bash(git status)', 'mcp__jira__*']\ndeny: [WebSearch, 'mcp__github__*']\n",
        );
        assert!(p.denied_offer("Read").is_none());
        // Denied by default, but some Bash calls are allowed: offered, decided per call.
        assert!(p.denied_offer("Bash").is_none());
        assert_eq!(
            p.denied_offer("WebSearch").map(|d| d.rule),
            Some("tools.deny: WebSearch".to_string())
        );
        assert_eq!(
            p.denied_offer("Write").map(|d| d.rule),
            Some("tools.default: deny".to_string())
        );
        assert!(p.denied_mcp_server("github").is_some());
        assert!(p.denied_mcp_server("jira").is_none());
        assert!(p.denied_mcp_server("slack").is_some());
    }

    #[test]
    fn bad_rules_are_reported_by_list_and_index() {
        let raw: RawTools =
            serde_yaml::from_str("deny: [Bash, 'Bash(rm *', '(x)']\n").expect("yaml");
        let errors = ToolPolicy::compile(&raw).expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["tools.deny[1]", "tools.deny[2]"]);
    }
}
