//! Prometheus metrics at `GET /metrics`: counters only, labels from small closed sets (team,
//! decision, class, action), never a request id or a user string. Names follow
//! `warden_<area>_<thing>_<unit>`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use crate::filter::Finding;

#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, &'static str), u64>>,
    findings: Mutex<BTreeMap<(String, &'static str), u64>>,
}

/// What happened to a request, for `warden_requests_total{decision}`.
#[derive(Clone, Copy, Debug)]
pub enum Decision {
    Forwarded,
    Blocked,
    Error,
}

impl Decision {
    fn as_str(self) -> &'static str {
        match self {
            Self::Forwarded => "forwarded",
            Self::Blocked => "blocked",
            Self::Error => "error",
        }
    }
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    if let Ok(mut m) = map.lock() {
        *m.entry(key).or_insert(0) += 1;
    }
}

impl Metrics {
    pub fn request(&self, team: &str, decision: Decision) {
        bump(&self.requests, (team.to_string(), decision.as_str()));
    }

    pub fn findings(&self, findings: &[Finding]) {
        for f in findings {
            bump(&self.findings, (f.class.clone(), f.action));
        }
    }

    /// The exposition text; `policy` carries the live set's facts.
    pub fn render(&self, policy_version: &str, reloads: u64, reload_failures: u64) -> String {
        let mut out = String::new();
        out.push_str("# HELP warden_requests_total Messages requests by team and decision.\n# TYPE warden_requests_total counter\n");
        if let Ok(m) = self.requests.lock() {
            for ((team, decision), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "warden_requests_total{{team=\"{}\",decision=\"{decision}\"}} {n}",
                    escape(team)
                );
            }
        }
        out.push_str("# HELP warden_findings_total Findings by data class and action.\n# TYPE warden_findings_total counter\n");
        if let Ok(m) = self.findings.lock() {
            for ((class, action), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "warden_findings_total{{class=\"{}\",action=\"{action}\"}} {n}",
                    escape(class)
                );
            }
        }
        let _ = write!(
            out,
            "# HELP warden_policy_reloads_total Policy sets that went live after start.\n# TYPE warden_policy_reloads_total counter\nwarden_policy_reloads_total {reloads}\n\
             # HELP warden_policy_reload_failures_total Policy reloads refused because the files did not validate.\n# TYPE warden_policy_reload_failures_total counter\nwarden_policy_reload_failures_total {reload_failures}\n\
             # HELP warden_policy_info The live policy set.\n# TYPE warden_policy_info gauge\nwarden_policy_info{{version=\"{}\"}} 1\n",
            escape(policy_version)
        );
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
