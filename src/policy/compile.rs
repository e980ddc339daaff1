//! Raw policy file → compiled [`Policy`]: validation that names file, line and field, then one
//! scanner for all the rules the policy turns on.

use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::raw::{Action, RawClass, RawPolicy};
use super::{Policy, PolicyError};
use crate::detect::{self, Matcher, RuleSpec, Scanner, Validator};

/// Where a key first appears in the file, for errors about values serde accepted.
fn line_of(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let t = l.trim_start().trim_start_matches("- ");
            t.starts_with(&format!("{key}:")) || t.starts_with(&format!("\"{key}\":"))
        })
        .map(|i| i + 1)
}

struct Ctx<'a> {
    file: &'a Path,
    text: &'a str,
    errors: Vec<PolicyError>,
}

impl Ctx<'_> {
    fn error(&mut self, key: &str, field: String, message: impl Into<String>) {
        self.errors.push(PolicyError {
            file: self.file.to_path_buf(),
            line: line_of(self.text, key),
            field: Some(field),
            message: message.into(),
        });
    }
}

const FIXED_CLASSES: &[&str] = &["secrets", "customer_id", "production_logs", "repository"];

fn is_known_class(class: &str) -> bool {
    FIXED_CLASSES.contains(&class) || detect::PII_CLASSES.contains(&class)
}

fn unknown_class_message() -> String {
    format!(
        "unknown class (known: secrets, {}, customer_id, production_logs, repository; team classes go under `custom:`)",
        detect::PII_CLASSES.join(", ")
    )
}

/// The unknown class a deserialisation error at `path` sits under, if it sits under one.
fn unknown_class_under(text: &str, path: &str) -> Option<String> {
    let rest = path.strip_prefix("classes.")?;
    let tree: serde_yaml::Value = serde_yaml::from_str(text).ok()?;
    let classes = tree.get("classes")?.as_mapping()?;
    classes
        .keys()
        .filter_map(serde_yaml::Value::as_str)
        .filter(|c| !is_known_class(c))
        .find(|c| rest == *c || rest.starts_with(&format!("{c}.")))
        .map(str::to_string)
}

/// A deserialiser's message in the policy's words: no internal type names.
fn readable(message: &str) -> String {
    let mut out = message.to_string();
    while let Some(at) = out.find("struct Raw") {
        let end = out[at + "struct Raw".len()..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .map_or(out.len(), |i| at + "struct Raw".len() + i);
        out.replace_range(at..end, "a mapping of settings");
    }
    out
}

pub fn compile_file(file: &Path) -> Result<Policy, Vec<PolicyError>> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        vec![PolicyError {
            file: file.to_path_buf(),
            line: None,
            field: None,
            message: format!("cannot read: {e}"),
        }]
    })?;
    compile_text(file, &text)
}

/// Compiles `text` as the policy file `file` (its name is the team; word lists and pattern files
/// are read next to it). The entry point for the policy loader's fuzz target.
pub fn compile_text(file: &Path, text: &str) -> Result<Policy, Vec<PolicyError>> {
    let err = |line, field, message: String| {
        vec![PolicyError {
            file: file.to_path_buf(),
            line,
            field,
            message,
        }]
    };
    let name = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("")
        .to_string();
    let raw: RawPolicy = if text.trim().is_empty() {
        return Err(err(None, None, "empty policy file".into()));
    } else {
        serde_path_to_error::deserialize(serde_yaml::Deserializer::from_str(text)).map_err(|e| {
            let path = e.path().to_string();
            // A class name misspelled is the mistake to report, before any field under it.
            if let Some(class) = unknown_class_under(text, &path) {
                return err(
                    line_of(text, &class),
                    Some(format!("classes.{class}")),
                    unknown_class_message(),
                );
            }
            let inner = e.into_inner();
            let line = inner.location().map(|l| l.line());
            let message = inner.to_string();
            // serde_yaml appends " at line N column M" (the line is reported separately) and
            // may start with the path (reported as the field).
            let message = message.split(" at line ").next().unwrap_or(&message);
            let message = message
                .strip_prefix(&format!("{path}: "))
                .unwrap_or(message);
            err(line, (path != ".").then_some(path), readable(message))
        })?
    };
    let mut ctx = Ctx {
        file,
        text,
        errors: Vec::new(),
    };
    let mut hasher = Sha256::new();
    hasher.update(text.as_bytes());
    let mut specs: Vec<RuleSpec> = Vec::new();
    let mut actions: Vec<Action> = Vec::new();
    let base = file.parent().unwrap_or(Path::new("."));

    for (class, cfg) in &raw.classes {
        let field = format!("classes.{class}");
        let known = is_known_class(class);
        if !known {
            ctx.error(class, field, unknown_class_message());
            continue;
        }
        check_fields(&mut ctx, class, &field, cfg);
        let before = specs.len();
        match class.as_str() {
            "secrets" => match detect::secret_rules() {
                Ok(rules) => specs.extend(rules),
                Err(e) => ctx.error(class, field.clone(), e.to_string()),
            },
            "customer_id" => team_rules(
                &mut ctx,
                &mut hasher,
                base,
                "customer_id",
                "customer_id",
                &field,
                cfg,
                &mut specs,
            ),
            "production_logs" => {
                let threshold = cfg.threshold.unwrap_or(0.5);
                if !(threshold > 0.0 && threshold <= 1.0) {
                    ctx.error(
                        "threshold",
                        format!("{field}.threshold"),
                        "must be in (0, 1]",
                    );
                }
                specs.push(RuleSpec {
                    id: "production_logs".into(),
                    class: "production_logs".into(),
                    matcher: Matcher::Logs {
                        threshold,
                        min_lines: 2,
                    },
                });
            }
            "repository" => repository_rules(&mut ctx, &field, cfg, &mut specs),
            pii => {
                let regions = match &cfg.regions {
                    None => detect::default_phone_regions(),
                    Some(codes) => {
                        let mut regions = Vec::with_capacity(codes.len());
                        for code in codes {
                            match code.to_ascii_uppercase().parse() {
                                Ok(region) => regions.push(region),
                                Err(_) => ctx.error(
                                    pii,
                                    format!("{field}.regions"),
                                    format!(
                                        "{code:?} is not an ISO 3166 region code (DE, FR, US, …)"
                                    ),
                                ),
                            }
                        }
                        regions.into()
                    }
                };
                let allow_test = cfg.allow_test_numbers.unwrap_or(false);
                if let Some(spec) = detect::pii_rule_with(pii, allow_test, regions) {
                    specs.push(spec);
                }
            }
        }
        actions.extend(std::iter::repeat_n(cfg.action, specs.len() - before));
    }
    for (name, cfg) in &raw.custom {
        let field = format!("custom.{name}");
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            ctx.error(
                name,
                field.clone(),
                "custom class names use letters, digits, _ and -",
            );
        }
        if cfg.patterns.is_empty() && cfg.words.is_empty() && cfg.word_lists.is_empty() {
            ctx.error(name, field.clone(), "needs patterns, words or word_lists");
        }
        let class = format!("custom.{name}");
        let before = specs.len();
        team_rules(
            &mut ctx,
            &mut hasher,
            base,
            &class,
            &class,
            &field,
            cfg,
            &mut specs,
        );
        actions.extend(std::iter::repeat_n(cfg.action, specs.len() - before));
    }
    for (i, glob) in raw.models.allow.iter().enumerate() {
        if glob.trim().is_empty() {
            ctx.error("allow", format!("models.allow[{i}]"), "must not be empty");
        }
    }
    if raw.models.max_tokens == Some(0) {
        ctx.error(
            "max_tokens",
            "models.max_tokens".into(),
            "must be greater than 0",
        );
    }
    let tools = match super::tools::ToolPolicy::compile(&raw.tools) {
        Ok(t) => t,
        Err(errors) => {
            for (field, message) in errors {
                ctx.error("tools", field, message);
            }
            super::tools::ToolPolicy::default()
        }
    };
    if let Some(inj) = &raw.injection {
        if !(0.0..=1.0).contains(&inj.threshold) || inj.threshold.is_nan() {
            ctx.error(
                "threshold",
                "injection.threshold".into(),
                "must be between 0 and 1",
            );
        }
        for (i, glob) in inj.untrusted.tool_results.iter().enumerate() {
            if glob.trim().is_empty() {
                ctx.error(
                    "tool_results",
                    format!("injection.untrusted.tool_results[{i}]"),
                    "must not be empty",
                );
            }
        }
        for (i, glob) in inj.require_approval_after.iter().enumerate() {
            if glob.trim().is_empty() {
                ctx.error(
                    "require_approval_after",
                    format!("injection.require_approval_after[{i}]"),
                    "must not be empty",
                );
            }
        }
        if let Err(e) = crate::detect::injection::shared() {
            ctx.error("injection", "injection".into(), e.to_string());
        }
    }
    for (scope, limits) in [("key", raw.quotas.key), ("team", raw.quotas.team)] {
        for (name, v) in [
            ("requests_per_minute", limits.requests_per_minute),
            ("tokens_per_minute", limits.tokens_per_minute),
        ] {
            if v == Some(0) {
                ctx.error(
                    name,
                    format!("quotas.{scope}.{name}"),
                    "must be greater than 0 (leave it out for no limit)",
                );
            }
        }
    }
    if raw.preamble.as_deref().is_some_and(|p| p.trim().is_empty()) {
        ctx.error(
            "preamble",
            "preamble".into(),
            "must not be empty when given",
        );
    }
    if !ctx.errors.is_empty() {
        return Err(ctx.errors);
    }
    let scanner = Scanner::new(specs).map_err(|e| {
        let message = e.to_string();
        err(None, Some("classes".into()), message)
    })?;
    Ok(Policy {
        name,
        version: hex::encode(hasher.finalize())[..16].to_string(),
        description: raw.description,
        models: raw.models.allow,
        max_tokens: raw.models.max_tokens,
        scan: raw.scan,
        unscannable: raw.unscannable,
        reply_scan: raw.reply.scan,
        reply_thinking: raw.reply.thinking,
        reply_restore_in_urls: raw.reply.restore_in_urls,
        audit: raw.audit,
        scanner,
        rule_actions: actions,
        tools,
        injection: raw.injection,
        preamble: raw.preamble,
        quotas: raw.quotas,
        batches: raw.batches,
        files: raw.files,
    })
}

/// Flags settings that do not apply to the class, so a typo'd policy never silently weakens.
fn check_fields(ctx: &mut Ctx<'_>, class: &str, field: &str, cfg: &RawClass) {
    let team_class = class == "customer_id";
    let mut misplaced = Vec::new();
    if !team_class
        && (!cfg.patterns.is_empty() || !cfg.words.is_empty() || !cfg.word_lists.is_empty())
    {
        misplaced.push("patterns/words/word_lists (customer_id and custom classes only)");
    }
    if class != "pii.credit_card" && cfg.allow_test_numbers.is_some() {
        misplaced.push("allow_test_numbers (pii.credit_card only)");
    }
    if class != "pii.phone" && cfg.regions.is_some() {
        misplaced.push("regions (pii.phone only)");
    }
    if class != "production_logs" && cfg.threshold.is_some() {
        misplaced.push("threshold (production_logs only)");
    }
    if class != "repository" && (!cfg.allow.is_empty() || !cfg.deny.is_empty()) {
        misplaced.push("allow/deny (repository only)");
    }
    for m in misplaced {
        ctx.error(
            class,
            field.to_string(),
            format!("setting does not apply here: {m}"),
        );
    }
    if cfg.action == Action::Pseudonymize && matches!(class, "production_logs" | "repository") {
        ctx.error(
            class,
            format!("{field}.action"),
            "pseudonymize does not apply to this class; use redact or block",
        );
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site per class kind; a struct would only rename them"
)]
fn team_rules(
    ctx: &mut Ctx<'_>,
    hasher: &mut Sha256,
    base: &Path,
    class: &str,
    id_prefix: &str,
    field: &str,
    cfg: &RawClass,
    specs: &mut Vec<RuleSpec>,
) {
    for (i, pattern) in cfg.patterns.iter().enumerate() {
        if let Err(e) = regex::Regex::new(pattern) {
            ctx.error(
                "patterns",
                format!("{field}.patterns[{i}]"),
                format!("invalid regex: {e}"),
            );
            continue;
        }
        specs.push(RuleSpec {
            id: format!("{id_prefix}.pattern_{}", i + 1),
            class: class.to_string(),
            matcher: Matcher::Free {
                regex: pattern.clone(),
                validator: Validator::None,
            },
        });
    }
    let mut words: Vec<String> = cfg.words.clone();
    for (i, list) in cfg.word_lists.iter().enumerate() {
        let path = base.join(list);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                hasher.update(text.as_bytes());
                words.extend(
                    text.lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty() && !l.starts_with('#'))
                        .map(str::to_string),
                );
            }
            Err(e) => ctx.error(
                "word_lists",
                format!("{field}.word_lists[{i}]"),
                format!("cannot read {}: {e}", path.display()),
            ),
        }
    }
    if !words.is_empty() {
        specs.push(RuleSpec {
            id: format!("{id_prefix}.words"),
            class: class.to_string(),
            matcher: Matcher::Words { words },
        });
    }
}

fn repository_rules(ctx: &mut Ctx<'_>, field: &str, cfg: &RawClass, specs: &mut Vec<RuleSpec>) {
    if cfg.allow.is_empty() && cfg.deny.is_empty() {
        ctx.error("repository", field.to_string(), "needs allow or deny");
    }
    for (i, repo) in cfg.deny.iter().enumerate() {
        if !repo.name.contains('/') {
            ctx.error(
                "name",
                format!("{field}.deny[{i}].name"),
                "must be owner/name",
            );
            continue;
        }
        let mut words = repo.markers.clone();
        words.push(repo.name.clone());
        specs.push(RuleSpec {
            id: format!("repository.{}", repo.name),
            class: "repository".into(),
            matcher: Matcher::Words { words },
        });
    }
    if !cfg.allow.is_empty() {
        specs.push(RuleSpec {
            id: "repository.unlisted".into(),
            class: "repository".into(),
            matcher: Matcher::Keyword {
                keywords: vec!["github.com".into(), "gitlab.com".into(), "bitbucket.org".into()],
                regex: r"(?:github\.com|gitlab\.com|bitbucket\.org)[/:]([A-Za-z0-9_.\-]+/[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*?)(?:\.git)?(?-u:\b)".into(),
                lookbehind: 0,
                back_over: None,
                max_len: 200,
                secret_group: 1,
                entropy: None,
                validator: Validator::NotIn(Arc::new(cfg.allow.clone())),
            },
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(text: &str) -> Result<Policy, Vec<PolicyError>> {
        let dir = std::env::temp_dir().join(format!("warden-policy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp");
        let file = dir.join(format!("t{}.yaml", rand::random::<u32>()));
        std::fs::write(&file, text).expect("write");
        let result = compile_file(&file);
        let _ = std::fs::remove_file(&file);
        result
    }

    fn one_error(text: &str) -> String {
        let errors = compile(text).expect_err("invalid");
        errors.first().map(ToString::to_string).unwrap_or_default()
    }

    #[test]
    fn unknown_keys_name_line_and_field() {
        let e = one_error(
            "description: x\nclasses:\n  secrets:\n    action: redact\n    acton: block\n",
        );
        assert!(e.contains(":5"), "{e}");
        assert!(e.contains("classes.secrets"), "{e}");
        assert!(e.contains("acton"), "{e}");
    }

    #[test]
    fn bad_values_unknown_classes_and_bad_regexes_are_located() {
        let e = one_error("classes:\n  pii.email:\n    action: obliterate\n");
        assert!(e.contains(":3") && e.contains("obliterate"), "{e}");
        let e =
            one_error("classes:\n  secrets: { action: redact }\n  pii.emial: { action: redact }\n");
        assert!(
            e.contains(":3") && e.contains("classes.pii.emial") && e.contains("unknown class"),
            "{e}"
        );
        let e =
            one_error("classes:\n  customer_id:\n    action: redact\n    patterns: ['ACME-(']\n");
        assert!(
            e.contains("classes.customer_id.patterns[0]") && e.contains("invalid regex"),
            "{e}"
        );
        let e = one_error(
            "classes:\n  customer_id:\n    action: redact\n    word_lists: [missing.txt]\n",
        );
        assert!(
            e.contains("word_lists[0]") && e.contains("missing.txt"),
            "{e}"
        );
        let e = one_error("classes:\n  production_logs: { action: pseudonymize }\n");
        assert!(e.contains("pseudonymize does not apply"), "{e}");
        let e = one_error("classes:\n  secrets: { action: redact, threshold: 0.5 }\n");
        assert!(e.contains("does not apply here"), "{e}");
    }

    #[test]
    fn errors_name_the_field_once_in_the_policys_words_and_a_bad_class_first() {
        let e = one_error("custom:\n  oops: nonsense\n");
        assert_eq!(e.matches("custom.oops").count(), 1, "{e}");
        assert!(!e.contains("Raw"), "{e}");
        assert!(e.contains("a mapping of settings"), "{e}");
        // A misspelled field under a misspelled class: the class is the mistake.
        let e = one_error("classes:\n  pii.emial:\n    actoin: redact\n");
        assert!(
            e.contains("classes.pii.emial") && e.contains("unknown class"),
            "{e}"
        );
        assert!(e.contains(":2"), "{e}");
    }

    #[test]
    fn the_version_follows_the_content() {
        let a = compile("classes:\n  secrets: { action: redact }\n").expect("valid");
        let b = compile("classes:\n  secrets: { action: block }\n").expect("valid");
        let c = compile("classes:\n  secrets: { action: redact }\n").expect("valid");
        assert_ne!(a.version, b.version);
        assert_eq!(a.version, c.version);
        assert_eq!(a.rule_actions.len(), a.scanner.rule_count());
    }
}
