//! Prometheus metrics at `GET /metrics` on the admin listener: labels from small closed sets
//! (team, endpoint, status, decision, class, action), never a request id or a user string.
//! Names follow `warden_<area>_<thing>_<unit>`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use crate::filter::Finding;

/// (team, endpoint, status, decision)
type RequestLabels = (String, &'static str, u16, &'static str);

#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<RequestLabels, u64>>,
    findings: Mutex<BTreeMap<(String, &'static str), u64>>,
    tool_decisions: Mutex<BTreeMap<String, u64>>,
    /// Tokens upstream reported, by team and kind (input, output, cache_read, cache_write).
    tokens: Mutex<BTreeMap<(String, &'static str), u64>>,
    upstream_latency: Histogram,
    added_latency: Histogram,
    open_streams: AtomicI64,
    open_connections: AtomicI64,
    refused_connections: AtomicU64,
    /// Requests refused for a missing or unknown key, and how many of them were recorded.
    auth_refused: AtomicU64,
    auth_refusals_recorded: AtomicU64,
    /// Connections Warden closed itself, by reason (`client_write_timeout`).
    cut_connections: Mutex<BTreeMap<&'static str, u64>>,
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

/// Upper bounds of the latency buckets, in seconds: 100 µs to a minute.
const BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
    30.0, 60.0,
];

/// A latency histogram with fixed buckets; lock-free to observe.
#[derive(Debug, Default)]
struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|&b| secs <= b) {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, n) in BUCKETS.iter().zip(&self.counts) {
            cumulative += n.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    }
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    if let Ok(mut m) = map.lock() {
        *m.entry(key).or_insert(0) += 1;
    }
}

impl Metrics {
    pub fn request(&self, team: &str, endpoint: &'static str, status: u16, decision: Decision) {
        bump(
            &self.requests,
            (team.to_string(), endpoint, status, decision.as_str()),
        );
    }

    pub fn findings(&self, findings: &[Finding]) {
        for f in findings {
            bump(&self.findings, (f.class.clone(), f.action));
        }
    }

    /// A tool call's decision (`allowed`, `denied`, `approved`, `rejected`, `expired`).
    /// Adds an exchange's token counts (those upstream reported) to its team's.
    pub fn tokens(&self, team: &str, counts: [(&'static str, Option<i64>); 4]) {
        if counts.iter().all(|(_, n)| n.is_none()) {
            return;
        }
        if let Ok(mut m) = self.tokens.lock() {
            for (kind, n) in counts {
                if let Some(n) = n.filter(|n| *n > 0) {
                    *m.entry((team.to_string(), kind)).or_insert(0) += n as u64;
                }
            }
        }
    }

    pub fn tool_decision(&self, decision: &str) {
        bump(&self.tool_decisions, decision.to_string());
    }

    /// Time from sending upstream to its response headers.
    pub fn upstream_latency(&self, d: Duration) {
        self.upstream_latency.observe(d);
    }

    /// Warden's own time before a request went upstream (auth, parsing, every filter).
    pub fn added_latency(&self, d: Duration) {
        self.added_latency.observe(d);
    }

    /// A streamed reply started being relayed; `stream_closed` when it ends.
    pub fn stream_opened(&self) {
        self.open_streams.fetch_add(1, Ordering::Relaxed);
    }

    pub fn stream_closed(&self) {
        self.open_streams.fetch_sub(1, Ordering::Relaxed);
    }

    /// A client connection was accepted; `connection_closed` when it ends.
    pub fn connection_opened(&self) {
        self.open_connections.fetch_add(1, Ordering::Relaxed);
    }

    pub fn connection_closed(&self) {
        self.open_connections.fetch_sub(1, Ordering::Relaxed);
    }

    /// A connection over `limits.max_connections` was answered 529 and closed.
    pub fn connection_refused(&self) {
        self.refused_connections.fetch_add(1, Ordering::Relaxed);
    }

    /// A request was refused for its key; `recorded` when it got an audit row.
    pub fn auth_refused(&self, recorded: bool) {
        self.auth_refused.fetch_add(1, Ordering::Relaxed);
        if recorded {
            self.auth_refusals_recorded.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Warden closed a connection itself, for `reason`.
    pub fn connection_cut(&self, reason: &'static str) {
        if let Ok(mut m) = self.cut_connections.lock() {
            *m.entry(reason).or_default() += 1;
        }
    }

    /// The exposition text; `policy` carries the live set's facts.
    pub fn render(&self, policy_version: &str, reloads: u64, reload_failures: u64) -> String {
        let mut out = String::new();
        out.push_str("# HELP warden_requests_total Messages requests by team, endpoint, status and decision.\n# TYPE warden_requests_total counter\n");
        if let Ok(m) = self.requests.lock() {
            for ((team, endpoint, status, decision), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "warden_requests_total{{team=\"{}\",endpoint=\"{endpoint}\",status=\"{status}\",decision=\"{decision}\"}} {n}",
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
        out.push_str("# HELP warden_tool_decisions_total Tool calls in replies by decision.\n# TYPE warden_tool_decisions_total counter\n");
        if let Ok(m) = self.tool_decisions.lock() {
            for (decision, n) in m.iter() {
                let _ = writeln!(
                    out,
                    "warden_tool_decisions_total{{decision=\"{}\"}} {n}",
                    escape(decision)
                );
            }
        }
        out.push_str("# HELP warden_upstream_tokens_total Tokens upstream reported in replies' usage, by team and kind: input (not from the prompt cache), output, cache_read, cache_write.\n# TYPE warden_upstream_tokens_total counter\n");
        if let Ok(m) = self.tokens.lock() {
            for ((team, kind), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "warden_upstream_tokens_total{{team=\"{}\",kind=\"{kind}\"}} {n}",
                    escape(team)
                );
            }
        }
        self.upstream_latency.render(
            &mut out,
            "warden_upstream_latency_seconds",
            "Time from sending a request upstream to its response headers.",
        );
        self.added_latency.render(
            &mut out,
            "warden_added_latency_seconds",
            "Warden's own time before a request goes upstream (auth, parsing, every filter).",
        );
        out.push_str("# HELP warden_connections_cut_total Client connections Warden closed itself, by reason.\n# TYPE warden_connections_cut_total counter\n");
        if let Ok(m) = self.cut_connections.lock() {
            for (reason, n) in m.iter() {
                let _ = writeln!(
                    out,
                    "warden_connections_cut_total{{reason=\"{reason}\"}} {n}"
                );
            }
        }
        let _ = write!(
            out,
            "# HELP warden_open_connections Client connections open now.\n# TYPE warden_open_connections gauge\nwarden_open_connections {}\n\
             # HELP warden_connections_refused_total Connections over limits.max_connections or limits.max_connections_per_peer, answered 529.\n# TYPE warden_connections_refused_total counter\nwarden_connections_refused_total {}\n\
             # HELP warden_auth_refused_total Requests refused for a missing or unknown Warden key.\n# TYPE warden_auth_refused_total counter\nwarden_auth_refused_total {}\n\
             # HELP warden_auth_refusals_recorded_total Refused requests recorded in the audit store (sampled: the first per client address and key each minute).\n# TYPE warden_auth_refusals_recorded_total counter\nwarden_auth_refusals_recorded_total {}\n",
            self.open_connections.load(Ordering::Relaxed),
            self.refused_connections.load(Ordering::Relaxed),
            self.auth_refused.load(Ordering::Relaxed),
            self.auth_refusals_recorded.load(Ordering::Relaxed),
        );
        let _ = write!(
            out,
            "# HELP warden_open_streams Streamed replies being relayed now.\n# TYPE warden_open_streams gauge\nwarden_open_streams {}\n\
             # HELP warden_policy_reloads_total Policy sets that went live after start.\n# TYPE warden_policy_reloads_total counter\nwarden_policy_reloads_total {reloads}\n\
             # HELP warden_policy_reload_failures_total Policy reloads refused because the files did not validate.\n# TYPE warden_policy_reload_failures_total counter\nwarden_policy_reload_failures_total {reload_failures}\n\
             # HELP warden_policy_info The live policy set.\n# TYPE warden_policy_info gauge\nwarden_policy_info{{version=\"{}\"}} 1\n",
            self.open_streams.load(Ordering::Relaxed),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_count_everything() {
        let m = Metrics::default();
        m.upstream_latency(Duration::from_micros(80));
        m.upstream_latency(Duration::from_millis(3));
        m.upstream_latency(Duration::from_secs(120));
        let text = m.render("v", 0, 0);
        assert!(
            text.contains("warden_upstream_latency_seconds_bucket{le=\"0.0001\"} 1"),
            "{text}"
        );
        assert!(text.contains("warden_upstream_latency_seconds_bucket{le=\"0.005\"} 2"));
        assert!(text.contains("warden_upstream_latency_seconds_bucket{le=\"60\"} 2"));
        assert!(text.contains("warden_upstream_latency_seconds_bucket{le=\"+Inf\"} 3"));
        assert!(text.contains("warden_upstream_latency_seconds_count 3"));
    }
}
