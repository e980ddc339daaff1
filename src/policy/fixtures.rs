//! Policy fixtures (`<team>.tests.yaml` beside `<team>.yaml`): a request in, the expected
//! decision and findings out. `warden policy test` runs them; `warden policy explain` uses the
//! same evaluation to show what a request would become. Nothing is sent anywhere.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::{CompiledPolicy, PolicyError, PolicySet};
use crate::api::MessagesRequest;
use crate::api::messages::Endpoint;
use crate::filter::{ChainOutcome, Finding, Rejection, RequestContext};
use crate::ids::{KeyId, Principal, PrincipalId, RequestId, TeamId};

/// What the chain did with a request.
#[derive(Debug)]
pub struct Evaluation {
    /// `None` when the request would be forwarded.
    pub rejection: Option<Rejection>,
    pub findings: Vec<Finding>,
    /// The body that would go upstream (when forwarded).
    pub forwarded: Option<Value>,
    pub rewritten: bool,
}

/// Runs `request` through `policy`'s request filters.
pub fn evaluate(policy: &CompiledPolicy, request: &Value) -> Result<Evaluation, String> {
    let bytes = serde_json::to_vec(request).map_err(|e| e.to_string())?;
    let mut parsed =
        MessagesRequest::parse(&bytes, Endpoint::Messages).map_err(|e| e.to_string())?;
    let id = RequestId::generate();
    let principal = Principal {
        key_id: KeyId("key_fixture".into()),
        principal: PrincipalId("fixture".into()),
        team: TeamId(policy.policy.name.clone()),
    };
    let mut ctx = RequestContext::new(&id, &principal, b"warden-policy-fixtures");
    let mut outcome = policy.chain.run_request(&mut parsed, &mut ctx);
    // Offline there is no approvals store: a tool result whose call needed a human's approval
    // is refused, as the server refuses it until someone approves.
    let gated = ctx
        .approval_proofs
        .iter()
        .find_map(|p| p.rule.as_ref().map(|rule| (p, rule)));
    if let (Ok(_), Some((p, rule))) = (&outcome, gated) {
        outcome = Err(crate::filter::Rejection {
            kind: crate::api::ErrorKind::Permission,
            rule: rule.clone(),
            message: format!(
                "a tool_result answers call {} to '{}', which needs a human's approval (rule {rule})",
                p.tool_use_id, p.tool_name
            ),
        });
    }
    let findings = std::mem::take(&mut ctx.findings);
    Ok(match outcome {
        Err(rejection) => Evaluation {
            rejection: Some(rejection),
            findings,
            forwarded: None,
            rewritten: false,
        },
        Ok(o) => Evaluation {
            rejection: None,
            findings,
            forwarded: Some(serde_json::to_value(&parsed).map_err(|e| e.to_string())?),
            rewritten: o == ChainOutcome::Rewritten,
        },
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureFile {
    tests: Vec<Fixture>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    name: String,
    request: Value,
    expect: Expect,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Decision {
    Forward,
    Block,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    decision: Decision,
    /// For `block`: the rule that blocked.
    #[serde(default)]
    rule: Option<String>,
    /// Findings that must be present (each listed field must match).
    #[serde(default)]
    findings: Vec<ExpectedFinding>,
    /// Exactly this many findings.
    #[serde(default)]
    finding_count: Option<usize>,
    /// Strings the forwarded body must contain / must not contain.
    #[serde(default)]
    forwarded_contains: Vec<String>,
    #[serde(default)]
    forwarded_excludes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedFinding {
    class: Option<String>,
    rule: Option<String>,
    action: Option<String>,
    location: Option<String>,
}

impl ExpectedFinding {
    fn matches(&self, f: &Finding) -> bool {
        self.class.as_ref().is_none_or(|c| *c == f.class)
            && self.rule.as_ref().is_none_or(|r| *r == f.rule)
            && self.action.as_ref().is_none_or(|a| a == f.action)
            && self.location.as_ref().is_none_or(|l| *l == f.location)
    }
}

/// The outcome of one fixture.
#[derive(Debug)]
pub struct FixtureResult {
    pub file: PathBuf,
    pub name: String,
    /// Empty when the fixture passed.
    pub failures: Vec<String>,
}

fn check(expect: &Expect, eval: &Evaluation) -> Vec<String> {
    let mut failures = Vec::new();
    match (&expect.decision, &eval.rejection) {
        (Decision::Forward, Some(r)) => failures.push(format!(
            "expected forward, got block by {}: {}",
            r.rule, r.message
        )),
        (Decision::Block, None) => failures.push("expected block, got forward".into()),
        (Decision::Block, Some(r)) => {
            if let Some(rule) = &expect.rule {
                if *rule != r.rule {
                    failures.push(format!("expected block by rule {rule}, got {}", r.rule));
                }
            }
        }
        (Decision::Forward, None) => {}
    }
    for want in &expect.findings {
        if !eval.findings.iter().any(|f| want.matches(f)) {
            failures.push(format!("missing finding {want:?}"));
        }
    }
    if let Some(n) = expect.finding_count {
        if eval.findings.len() != n {
            failures.push(format!(
                "expected {n} findings, got {}",
                eval.findings.len()
            ));
        }
    }
    let body = eval
        .forwarded
        .as_ref()
        .map(Value::to_string)
        .unwrap_or_default();
    for s in &expect.forwarded_contains {
        if !body.contains(s.as_str()) {
            failures.push(format!("forwarded body lacks {s:?}"));
        }
    }
    for s in &expect.forwarded_excludes {
        if body.contains(s.as_str()) {
            failures.push("forwarded body contains an excluded string".into());
        }
    }
    failures
}

fn fixture_path(dir: &Path, team: &str) -> PathBuf {
    dir.join(format!("{team}.tests.yaml"))
}

/// Runs every fixture file of the set's directory against its policy.
pub fn run_all(set: &PolicySet) -> Result<Vec<FixtureResult>, Vec<PolicyError>> {
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for (team, compiled) in &set.policies {
        let file = fixture_path(&set.dir, team);
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let parsed: FixtureFile =
            match serde_path_to_error::deserialize(serde_yaml::Deserializer::from_str(&text)) {
                Ok(f) => f,
                Err(e) => {
                    let field = e.path().to_string();
                    let inner = e.into_inner();
                    errors.push(PolicyError {
                        file: file.clone(),
                        line: inner.location().map(|l| l.line()),
                        field: Some(field),
                        message: inner.to_string(),
                    });
                    continue;
                }
            };
        for fixture in parsed.tests {
            let failures = match evaluate(compiled, &fixture.request) {
                Ok(eval) => check(&fixture.expect, &eval),
                Err(e) => vec![format!("the request is not a valid Messages request: {e}")],
            };
            results.push(FixtureResult {
                file: file.clone(),
                name: fixture.name,
                failures,
            });
        }
    }
    if errors.is_empty() {
        Ok(results)
    } else {
        Err(errors)
    }
}
