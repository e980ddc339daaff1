//! Policies: the file format, loading and validation with errors that name file, line and field,
//! compilation into ready scanners and filter chains, versioning by content hash, and hot reload.
//! This module knows nothing of HTTP.

mod compile;
pub mod fixtures;
pub mod raw;
pub mod reload;
pub mod shell;
pub mod tools;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::detect::Scanner;
use crate::filter::FilterChain;
pub use compile::compile_text;
pub use raw::{Action, OnFailure, StorageMode, ThinkingAction, Unscannable};

/// A compiled policy: everything a request needs, built once at load.
pub struct Policy {
    /// The team this file is for (its file stem).
    pub name: String,
    /// First 16 hex digits of the SHA-256 of the file and the word lists it reads.
    pub version: String,
    pub description: String,
    pub models: Vec<String>,
    pub max_tokens: Option<u64>,
    pub scan: raw::RawScan,
    pub unscannable: Unscannable,
    pub reply_scan: bool,
    pub reply_thinking: raw::ThinkingAction,
    pub reply_restore_in_urls: bool,
    pub audit: raw::RawAudit,
    pub scanner: Scanner,
    /// The action for each scanner rule, by rule index.
    pub rule_actions: Vec<Action>,
    pub tools: tools::ToolPolicy,
    /// The injection defense, when the policy turns it on.
    pub injection: Option<raw::RawInjection>,
    /// The team's instructions above the client's system prompt.
    pub preamble: Option<String>,
    pub quotas: raw::QuotaPolicy,
    pub batches: raw::RawBatches,
    pub files: raw::RawFiles,
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("name", &self.name)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// A policy with the filter chain built from it.
#[derive(Clone, Debug)]
pub struct CompiledPolicy {
    pub policy: Arc<Policy>,
    pub chain: FilterChain,
}

/// Every policy of a directory, compiled; swapped as a whole on reload.
#[derive(Debug, Default)]
pub struct PolicySet {
    pub policies: BTreeMap<String, CompiledPolicy>,
    /// Hash of every file the set was built from.
    pub version: String,
    /// Where the set was loaded from.
    pub dir: PathBuf,
}

impl PolicySet {
    /// Each team's `audit.retention_days`, and the days for teams without a policy of their own
    /// (the default policy's).
    pub fn retention(&self) -> (BTreeMap<String, u32>, u32) {
        let by_team: BTreeMap<String, u32> = self
            .policies
            .iter()
            .map(|(team, p)| (team.clone(), p.policy.audit.retention_days))
            .collect();
        let default_days = by_team.get("default").copied().unwrap_or(90);
        (by_team, default_days)
    }
}

/// A policy problem, located as precisely as the file allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for PolicyError {}

/// The files a policy directory holds: `<team>.yaml` (or `.yml`), not the `*.tests.yaml` fixtures.
pub fn policy_files(dir: &Path) -> Result<Vec<PathBuf>, PolicyError> {
    let entries = std::fs::read_dir(dir).map_err(|e| PolicyError {
        file: dir.to_path_buf(),
        line: None,
        field: None,
        message: format!("cannot read the policy directory: {e}"),
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            (name.ends_with(".yaml") || name.ends_with(".yml"))
                && !name.contains(".tests.")
                && p.is_file()
        })
        .collect();
    files.sort();
    Ok(files)
}

/// A hash of everything under `dir` that a policy set is built from (all files, recursively,
/// names and contents), to notice changes cheaply.
pub fn dir_fingerprint(dir: &Path) -> String {
    fn walk(dir: &Path, hasher: &mut Sha256) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            if p.is_dir() {
                walk(&p, hasher);
            } else if let Ok(bytes) = std::fs::read(&p) {
                hasher.update(p.to_string_lossy().as_bytes());
                hasher.update(&bytes);
            }
        }
    }
    let mut hasher = Sha256::new();
    walk(dir, &mut hasher);
    hex::encode(hasher.finalize())
}

impl PolicySet {
    /// Loads and compiles every policy in `dir`. All errors are returned, not just the first.
    pub fn load(dir: &Path) -> Result<Self, Vec<PolicyError>> {
        let files = policy_files(dir).map_err(|e| vec![e])?;
        if files.is_empty() {
            return Err(vec![PolicyError {
                file: dir.to_path_buf(),
                line: None,
                field: None,
                message: "no policy files (*.yaml) found".into(),
            }]);
        }
        let mut policies = BTreeMap::new();
        let mut errors = Vec::new();
        let mut set_hasher = Sha256::new();
        for file in files {
            match compile::compile_file(&file) {
                Ok(policy) => {
                    set_hasher.update(policy.name.as_bytes());
                    set_hasher.update(policy.version.as_bytes());
                    let policy = Arc::new(policy);
                    let chain = crate::filter::policy_chain(policy.clone());
                    policies.insert(policy.name.clone(), CompiledPolicy { policy, chain });
                }
                Err(mut e) => errors.append(&mut e),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            policies,
            version: hex::encode(set_hasher.finalize())[..16].to_string(),
            dir: dir.to_path_buf(),
        })
    }

    /// The policy for `team`: its own, else `default` when `fallback` allows.
    pub fn for_team(&self, team: &str, fallback: bool) -> Option<&CompiledPolicy> {
        self.policies
            .get(team)
            .or_else(|| fallback.then(|| self.policies.get("default")).flatten())
    }
}
