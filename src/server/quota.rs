//! Quotas (an ingress limit): requests and tokens per minute, per key and per team, as the team's policy sets them.
//! In-process and per replica: with N replicas behind a balancer a team gets up to N times its
//! limit (documented in docs/policies.md). Each limit is a token bucket that holds a minute's
//! worth and refills continuously. Input tokens are estimated from the request's size before it
//! goes out and corrected from the reply's `usage` afterwards, so a team that underestimates
//! pays it back on its next requests.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::policy::raw::QuotaPolicy;

/// Bytes per token when estimating a request's input before it is sent (the usual ratio for
/// English and code; the estimate is corrected from `usage`).
const BYTES_PER_TOKEN: usize = 4;

pub fn estimate_tokens(body_bytes: usize) -> u64 {
    body_bytes.div_ceil(BYTES_PER_TOKEN) as u64
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    Requests,
    Tokens,
}

#[derive(Debug)]
struct Bucket {
    /// May go below zero after a correction: the debt is paid back before the next request.
    level: f64,
    updated: Instant,
}

/// What a request took from the buckets, to correct once its real usage is known.
#[derive(Clone, Debug, Default)]
pub struct Charge {
    /// (bucket key, capacity) of the token buckets charged.
    tokens: Vec<(String, u32)>,
    estimate: u64,
}

/// Why a request must wait.
#[derive(Clone, Debug, PartialEq)]
pub struct Exceeded {
    /// `quotas.key.requests_per_minute` and the like.
    pub rule: String,
    pub limit: u32,
    pub retry_after: Duration,
}

#[derive(Debug, Default)]
pub struct Quotas {
    buckets: Mutex<HashMap<(String, Kind), Bucket>>,
}

impl Quotas {
    /// Takes one request and `estimate` tokens from every bucket that applies, or none if any
    /// lacks them (then says which and for how long).
    pub fn admit(
        &self,
        policy: &QuotaPolicy,
        key_id: &str,
        team: &str,
        estimate: u64,
    ) -> Result<Charge, Exceeded> {
        let mut wanted: Vec<(String, Kind, u32, f64, String)> = Vec::new();
        for (scope, id, limits) in [("key", key_id, policy.key), ("team", team, policy.team)] {
            if let Some(rpm) = limits.requests_per_minute {
                wanted.push((
                    format!("{scope}:{id}"),
                    Kind::Requests,
                    rpm,
                    1.0,
                    format!("quotas.{scope}.requests_per_minute"),
                ));
            }
            if let Some(tpm) = limits.tokens_per_minute {
                // A request larger than a whole minute's budget waits for a full bucket.
                let need = (estimate as f64).min(f64::from(tpm));
                wanted.push((
                    format!("{scope}:{id}"),
                    Kind::Tokens,
                    tpm,
                    need,
                    format!("quotas.{scope}.tokens_per_minute"),
                ));
            }
        }
        if wanted.is_empty() {
            return Ok(Charge::default());
        }
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(Charge::default());
        };
        let mut worst: Option<Exceeded> = None;
        for (id, kind, limit, need, rule) in &wanted {
            let b = refill(&mut buckets, id, *kind, *limit, now);
            if b.level < *need {
                let per_second = f64::from(*limit) / 60.0;
                let wait = Duration::from_secs_f64(((*need - b.level) / per_second).max(0.001));
                if worst.as_ref().is_none_or(|w| wait > w.retry_after) {
                    worst = Some(Exceeded {
                        rule: rule.clone(),
                        limit: *limit,
                        retry_after: wait,
                    });
                }
            }
        }
        if let Some(e) = worst {
            return Err(e);
        }
        let mut charge = Charge {
            tokens: Vec::new(),
            estimate,
        };
        for (id, kind, limit, _, _) in &wanted {
            let b = refill(&mut buckets, id, *kind, *limit, now);
            b.level -= match kind {
                Kind::Requests => 1.0,
                Kind::Tokens => estimate as f64,
            };
            if *kind == Kind::Tokens {
                charge.tokens.push((id.clone(), *limit));
            }
        }
        Ok(charge)
    }

    /// Corrects the token buckets a request was charged, once its real usage is known.
    pub fn settle(&self, charge: &Charge, used_tokens: u64) {
        if charge.tokens.is_empty() {
            return;
        }
        let delta = used_tokens as f64 - charge.estimate as f64;
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            return;
        };
        for (id, limit) in &charge.tokens {
            let b = refill(&mut buckets, id, Kind::Tokens, *limit, now);
            b.level -= delta;
        }
    }
}

fn refill<'a>(
    buckets: &'a mut HashMap<(String, Kind), Bucket>,
    id: &str,
    kind: Kind,
    limit: u32,
    now: Instant,
) -> &'a mut Bucket {
    let capacity = f64::from(limit);
    let b = buckets.entry((id.to_string(), kind)).or_insert(Bucket {
        level: capacity,
        updated: now,
    });
    let elapsed = now.saturating_duration_since(b.updated).as_secs_f64();
    b.level = (b.level + elapsed * capacity / 60.0).min(capacity);
    b.updated = now;
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::policy::raw::Limits;

    fn policy(key_rpm: Option<u32>, team_tpm: Option<u32>) -> QuotaPolicy {
        QuotaPolicy {
            key: Limits {
                requests_per_minute: key_rpm,
                tokens_per_minute: None,
            },
            team: Limits {
                requests_per_minute: None,
                tokens_per_minute: team_tpm,
            },
        }
    }

    #[test]
    fn a_key_gets_its_requests_per_minute_then_waits_about_one_interval() {
        let q = Quotas::default();
        let p = policy(Some(3), None);
        for _ in 0..3 {
            q.admit(&p, "k1", "t", 10).expect("within the limit");
        }
        let e = q
            .admit(&p, "k1", "t", 10)
            .expect_err("fourth in the minute");
        assert_eq!(e.rule, "quotas.key.requests_per_minute");
        // Three a minute: one comes back every 20 s.
        assert!(
            e.retry_after > Duration::from_secs(19) && e.retry_after <= Duration::from_secs(20)
        );
        // Another key of the same team is not affected.
        q.admit(&p, "k2", "t", 10).expect("other key");
    }

    #[test]
    fn tokens_are_shared_by_the_team_and_corrected_from_usage() {
        let q = Quotas::default();
        let p = policy(None, Some(1_000));
        let c = q.admit(&p, "k1", "t", 400).expect("fits");
        // The reply says it used far more than estimated: the debt is charged.
        q.settle(&c, 1_000);
        let e = q.admit(&p, "k2", "t", 100).expect_err("team budget spent");
        assert_eq!(e.rule, "quotas.team.tokens_per_minute");
        assert!(e.retry_after > Duration::from_secs(5));
        // A refused request takes nothing.
        let other_team = q
            .admit(&p, "k3", "u", 900)
            .expect("another team has its own budget");
        q.settle(&other_team, 100);
        q.admit(&p, "k3", "u", 900)
            .expect("overestimate given back");
    }

    #[test]
    fn no_limits_no_buckets() {
        let q = Quotas::default();
        for _ in 0..10_000 {
            q.admit(&QuotaPolicy::default(), "k", "t", 1_000_000)
                .expect("unlimited");
        }
        assert!(q.buckets.lock().expect("lock").is_empty());
    }
}
