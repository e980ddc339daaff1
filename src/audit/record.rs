//! The audit record of one exchange and its place in the hash chain.
//!
//! Each Warden instance writes one chain: every record carries the hash of the previous one and a
//! hash of its own canonical content, so that altering, inserting or deleting a row breaks the
//! chain at that point. The canonical content is a fixed JSON layout of the stored values, so
//! that `warden audit verify` can recompute it from the database alone.

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The hash a chain starts from.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One finding as stored: never the value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingRow {
    pub class: String,
    pub rule: String,
    pub action: String,
    pub location: String,
    pub span_start: i64,
    pub span_end: i64,
    pub fingerprint: String,
}

/// A tool call the model emitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCallRow {
    pub tool_use_id: String,
    pub name: String,
    /// The input as JSON, as the storage mode says.
    pub input: Option<String>,
    /// `allowed`, `denied`, `approval-pending`, `approved`, `rejected` or `expired`.
    pub decision: String,
    pub approval_id: Option<String>,
}

/// A tool result a request carried back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolResultRow {
    pub tool_use_id: String,
    pub bytes: i64,
    /// Whether a finding was made inside it.
    pub flagged: bool,
}

/// What happened to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Forwarded,
    Blocked,
    Error,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Forwarded => "forwarded",
            Self::Blocked => "blocked",
            Self::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "forwarded" => Some(Self::Forwarded),
            "blocked" => Some(Self::Blocked),
            "error" => Some(Self::Error),
            _ => None,
        }
    }
}

/// One exchange, as the request path builds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExchangeRecord {
    pub id: String,
    /// Microsecond precision: what Postgres keeps, so the hash can be recomputed from a row.
    pub occurred_at: DateTime<Utc>,
    pub upstream_request_id: Option<String>,
    pub key_id: String,
    pub principal: String,
    pub team: String,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
    /// The W3C `traceparent` the client sent (forwarded upstream as it came). Left out of the
    /// canonical form when absent, so rows written before the column existed keep their hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// For an item of a Message Batch: the id of the exchange that created the batch, and the
    /// item's `custom_id`. Left out of the canonical form when absent, like `traceparent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_id: Option<String>,
    pub endpoint: String,
    pub model: Option<String>,
    pub streamed: bool,
    pub policy_name: Option<String>,
    pub policy_version: Option<String>,
    pub decision: Decision,
    pub status: i32,
    pub rule: Option<String>,
    pub latency_us: i64,
    pub upstream_latency_us: Option<i64>,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    /// Prompt tokens upstream read from and wrote to its prompt cache (`usage`'s
    /// `cache_read_input_tokens` and `cache_creation_input_tokens`). Left out of the canonical
    /// form when absent, like `traceparent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_tokens: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_tokens: Option<i64>,
    pub storage_mode: String,
    pub prompt: Option<String>,
    pub output: Option<String>,
    pub findings: Vec<FindingRow>,
    #[serde(default)]
    pub tool_calls: Vec<ToolCallRow>,
    #[serde(default)]
    pub tool_results: Vec<ToolResultRow>,
}

impl ExchangeRecord {
    /// The time now, at the precision the store keeps.
    pub fn now() -> DateTime<Utc> {
        Utc::now().trunc_subsecs(6)
    }
}

/// A record with its place in its instance's chain, as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChainedRecord {
    pub instance_id: String,
    pub seq: i64,
    pub prev_hash: String,
    pub hash: String,
    pub record: ExchangeRecord,
}

/// The hash of a record given the previous hash: SHA-256 over the previous hash and the canonical
/// JSON of everything stored about the record (instance and position included).
pub fn chain_hash(prev_hash: &str, instance_id: &str, seq: i64, record: &ExchangeRecord) -> String {
    /// The canonical layout, serialised straight into the hasher (no intermediate JSON tree).
    #[derive(Serialize)]
    struct Canonical<'a> {
        instance_id: &'a str,
        seq: i64,
        record: &'a ExchangeRecord,
        occurred_at_us: i64,
    }
    struct HashWriter<'a>(&'a mut Sha256);
    impl std::io::Write for HashWriter<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.update(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    let canonical = Canonical {
        instance_id,
        seq,
        record,
        occurred_at_us: record.occurred_at.timestamp_micros(),
    };
    // Serialising plain data into memory cannot fail; if it ever did, the hash would not match
    // on verify, which is the safe direction.
    let _ = serde_json::to_writer(HashWriter(&mut h), &canonical);
    hex::encode(h.finalize())
}

/// Appends records to one instance's chain.
#[derive(Debug)]
pub struct Chain {
    pub instance_id: String,
    next_seq: i64,
    last_hash: String,
}

impl Chain {
    pub fn new(instance_id: String) -> Self {
        Self {
            instance_id,
            next_seq: 1,
            last_hash: GENESIS_HASH.to_string(),
        }
    }

    pub fn link(&mut self, mut record: ExchangeRecord) -> ChainedRecord {
        record.occurred_at = record.occurred_at.trunc_subsecs(6);
        let seq = self.next_seq;
        let hash = chain_hash(&self.last_hash, &self.instance_id, seq, &record);
        let chained = ChainedRecord {
            instance_id: self.instance_id.clone(),
            seq,
            prev_hash: std::mem::replace(&mut self.last_hash, hash.clone()),
            hash,
            record,
        };
        self.next_seq += 1;
        chained
    }
}

/// The first break found in a chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainBreak {
    /// The row's content no longer matches its hash: it was altered.
    Altered {
        instance_id: String,
        seq: i64,
        id: String,
    },
    /// The row does not follow the previous one: a row before it was deleted or one inserted.
    Broken {
        instance_id: String,
        seq: i64,
        id: String,
        expected_seq: i64,
    },
    /// A tombstone Warden did not seal, or one whose row had not reached its retention: rows
    /// were deleted behind it.
    Unsealed {
        instance_id: String,
        seq: i64,
        id: String,
        why: String,
    },
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Altered {
                instance_id,
                seq,
                id,
            } => write!(
                f,
                "row {id} (instance {instance_id}, seq {seq}) was altered: its content does not match its hash"
            ),
            Self::Broken {
                instance_id,
                seq,
                id,
                expected_seq,
            } => write!(
                f,
                "chain of instance {instance_id} is broken at row {id} (seq {seq}, expected seq {expected_seq}): a row was deleted or inserted before it"
            ),
            Self::Unsealed {
                instance_id,
                seq,
                id,
                why,
            } => write!(
                f,
                "the tombstone of row {id} (instance {instance_id}, seq {seq}) is not one Warden left when pruning: {why}"
            ),
        }
    }
}

pub use super::tombstone::Tombstone;

/// Checks one instance's rows, in `seq` order, across the gaps that pruning left (`pruned`, by
/// sequence number): every position from 1 on must be a row whose content matches its hash, or
/// a tombstone, and each must link to the one before.
pub fn verify_chain(
    rows: &[ChainedRecord],
    pruned: &std::collections::BTreeMap<i64, Tombstone>,
) -> Result<usize, ChainBreak> {
    let mut prev = GENESIS_HASH.to_string();
    let mut rows = rows.iter().peekable();
    let mut expected_seq = 1;
    let last_seq = rows
        .clone()
        .map(|r| r.seq)
        .chain(pruned.keys().copied())
        .max()
        .unwrap_or(0);
    let mut verified = 0;
    while expected_seq <= last_seq {
        match rows.peek() {
            Some(row) if row.seq == expected_seq => {
                if row.prev_hash != prev {
                    return Err(ChainBreak::Broken {
                        instance_id: row.instance_id.clone(),
                        seq: row.seq,
                        id: row.record.id.clone(),
                        expected_seq,
                    });
                }
                let hash = chain_hash(&row.prev_hash, &row.instance_id, row.seq, &row.record);
                if hash != row.hash {
                    return Err(ChainBreak::Altered {
                        instance_id: row.instance_id.clone(),
                        seq: row.seq,
                        id: row.record.id.clone(),
                    });
                }
                prev = row.hash.clone();
                verified += 1;
                rows.next();
            }
            Some(row) if row.seq < expected_seq => {
                // A second row at a position already taken: inserted.
                return Err(ChainBreak::Broken {
                    instance_id: row.instance_id.clone(),
                    seq: row.seq,
                    id: row.record.id.clone(),
                    expected_seq,
                });
            }
            next => match pruned.get(&expected_seq) {
                Some(t) if t.prev_hash == prev => prev = t.hash.clone(),
                _ => {
                    let (instance_id, seq, id) = next
                        .map(|r| (r.instance_id.clone(), r.seq, r.record.id.clone()))
                        .unwrap_or_default();
                    return Err(ChainBreak::Broken {
                        instance_id,
                        seq,
                        id,
                        expected_seq,
                    });
                }
            },
        }
        expected_seq += 1;
    }
    if let Some(row) = rows.next() {
        return Err(ChainBreak::Broken {
            instance_id: row.instance_id.clone(),
            seq: row.seq,
            id: row.record.id.clone(),
            expected_seq,
        });
    }
    Ok(verified)
}

#[cfg(test)]
pub(crate) fn sample(id: &str) -> ExchangeRecord {
    ExchangeRecord {
        id: id.to_string(),
        occurred_at: ExchangeRecord::now(),
        upstream_request_id: Some("req_up".into()),
        key_id: "key_1".into(),
        principal: "alice@example.com".into(),
        team: "support".into(),
        client_addr: Some("127.0.0.1".into()),
        user_agent: Some("Anthropic/Python 2.10.0".into()),
        traceparent: None,
        parent_id: None,
        custom_id: None,
        cache_read_tokens: None,
        cache_write_tokens: None,
        endpoint: "POST /v1/messages".into(),
        model: Some("claude-sonnet-4-5".into()),
        streamed: true,
        policy_name: Some("support".into()),
        policy_version: Some("16fc6344ef160f37".into()),
        decision: Decision::Forwarded,
        status: 200,
        rule: None,
        latency_us: 1234,
        upstream_latency_us: Some(1000),
        input_tokens: Some(12),
        output_tokens: Some(34),
        storage_mode: "redacted".into(),
        prompt: Some("hello <EMAIL_1>".into()),
        output: Some("hi".into()),
        findings: vec![FindingRow {
            class: "pii.email".into(),
            rule: "pii.email".into(),
            action: "pseudonymize".into(),
            location: "messages[0].content".into(),
            span_start: 6,
            span_end: 22,
            fingerprint: "ab12".into(),
        }],
        tool_calls: Vec::new(),
        tool_results: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_verifies_and_any_change_breaks_it() {
        let mut chain = Chain::new("ins_a".into());
        let rows: Vec<ChainedRecord> = (0..5)
            .map(|i| chain.link(sample(&format!("req_{i}"))))
            .collect();
        let none = std::collections::BTreeMap::new();
        assert_eq!(verify_chain(&rows, &none), Ok(5));
        let tombstones: std::collections::BTreeMap<i64, Tombstone> = rows[..2]
            .iter()
            .map(|r| {
                (
                    r.seq,
                    Tombstone {
                        id: r.record.id.clone(),
                        prev_hash: r.prev_hash.clone(),
                        hash: r.hash.clone(),
                        team: Some(r.record.team.clone()),
                        occurred_at: r.record.occurred_at,
                        pruned_at: r.record.occurred_at,
                        retention_days: Some(0),
                        seal: None,
                    },
                )
            })
            .collect();
        assert_eq!(
            verify_chain(&rows[2..], &tombstones),
            Ok(3),
            "a pruned chain verifies across the gap"
        );

        let mut altered = rows.clone();
        altered[2].record.team = "platform".into();
        assert!(matches!(
            verify_chain(&altered, &none),
            Err(ChainBreak::Altered { seq: 3, .. })
        ));

        let mut deleted = rows.clone();
        deleted.remove(2);
        assert!(matches!(
            verify_chain(&deleted, &none),
            Err(ChainBreak::Broken { seq: 4, .. })
        ));

        assert!(
            matches!(
                verify_chain(&rows[1..], &none),
                Err(ChainBreak::Broken { seq: 2, .. })
            ),
            "deleting the oldest row is caught unless a prune says so"
        );

        let mut inserted = rows.clone();
        let mut forged = rows[1].clone();
        forged.record.id = "req_forged".into();
        inserted.insert(2, forged);
        assert!(verify_chain(&inserted, &none).is_err());
    }
}
