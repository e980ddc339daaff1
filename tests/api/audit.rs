//! The audit store against the real databases: Postgres (a fresh database per test on the
//! server at WARDEN_TEST_DATABASE_URL, default 127.0.0.1:5432) and SQLite (a temporary file).

use sqlx::{Executor, Row};
use warden::audit::AuditStore;
use warden::audit::record::{
    Chain, ChainBreak, ChainedRecord, Decision, ExchangeRecord, FindingRow, ToolCallRow,
    ToolResultRow,
};
use warden::audit::tombstone::TombstoneKey;

fn admin_url() -> String {
    std::env::var("WARDEN_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}_{}", std::process::id(), rand::random::<u32>())
}

/// A fresh, migrated Postgres database for one test.
pub async fn postgres_store() -> (AuditStore, String) {
    let admin = sqlx::PgPool::connect(&admin_url())
        .await
        .expect("Postgres answers at WARDEN_TEST_DATABASE_URL (scripts/test starts one if needed)");
    // Databases left by earlier runs (processes no longer alive) are dropped; this run's, and
    // those of test processes running beside it (cargo nextest runs one per test), are kept,
    // so a failing test's data can be inspected until the next run.
    let old: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'warden_test_%'")
            .fetch_all(&admin)
            .await
            .unwrap_or_default();
    let left_behind = |db: &&String| {
        db.strip_prefix("warden_test_")
            .and_then(|rest| rest.split('_').next())
            .and_then(|pid| pid.parse::<u32>().ok())
            .is_some_and(|pid| {
                pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
            })
    };
    for db in old.iter().filter(left_behind) {
        let _ = admin
            .execute(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)").as_str())
            .await;
    }
    let name = unique("warden_test");
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create database");
    let base = admin_url();
    let url = format!(
        "{}/{name}",
        &base[..base.rfind('/').expect("url has a database")]
    );
    let store = AuditStore::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    (store, url)
}

/// A fresh, migrated SQLite database for one test.
pub async fn sqlite_store() -> (AuditStore, String) {
    let path = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{}.db", unique("audit")));
    let url = format!("sqlite://{}", path.display());
    let store = AuditStore::connect(&url).await.expect("open");
    store.migrate().await.expect("migrate");
    (store, url)
}

fn record(id: &str, team: &str) -> ExchangeRecord {
    ExchangeRecord {
        id: id.to_string(),
        occurred_at: ExchangeRecord::now(),
        upstream_request_id: Some("req_up".into()),
        key_id: "key_1".into(),
        principal: "alice@example.com".into(),
        team: team.into(),
        client_addr: Some("127.0.0.1".into()),
        user_agent: Some("Anthropic/Python 2.10.0".into()),
        traceparent: None,
        parent_id: None,
        custom_id: None,
        cache_read_tokens: None,
        cache_write_tokens: None,
        endpoint: "POST /v1/messages".into(),
        model: Some("claude-sonnet-4-5".into()),
        streamed: false,
        policy_name: Some(team.into()),
        policy_version: Some("16fc6344ef160f37".into()),
        decision: Decision::Forwarded,
        status: 200,
        rule: None,
        latency_us: 1500,
        upstream_latency_us: Some(1200),
        input_tokens: Some(10),
        output_tokens: Some(20),
        storage_mode: "redacted".into(),
        prompt: Some("mail <EMAIL_1> about [REDACTED:github_pat]".into()),
        output: Some("Done.".into()),
        findings: vec![
            FindingRow {
                class: "pii.email".into(),
                rule: "pii.email".into(),
                action: "pseudonymize".into(),
                location: "messages[0].content".into(),
                span_start: 5,
                span_end: 21,
                fingerprint: "0f1e2d3c4b5a69788796a5b4c3d2e1f0".into(),
            },
            FindingRow {
                class: "secrets".into(),
                rule: "secrets.github_pat".into(),
                action: "redact".into(),
                location: "messages[0].content".into(),
                span_start: 28,
                span_end: 68,
                fingerprint: "a1b2c3d4e5f60718293a4b5c6d7e8f90".into(),
            },
        ],
        tool_calls: vec![ToolCallRow {
            tool_use_id: format!("toolu_{id}"),
            name: "Bash".into(),
            input: Some(r#"{"command":"ls"}"#.into()),
            decision: "allowed".into(),
            approval_id: None,
        }],
        tool_results: vec![ToolResultRow {
            tool_use_id: "toolu_earlier".into(),
            bytes: 120,
            flagged: true,
        }],
    }
}

fn chained(n: usize) -> Vec<ChainedRecord> {
    let mut chain = Chain::new(unique("ins"));
    (0..n)
        .map(|i| chain.link(record(&format!("req_{}_{i}", unique("x")), "support")))
        .collect()
}

async fn stores() -> Vec<(AuditStore, String)> {
    vec![postgres_store().await, sqlite_store().await]
}

#[tokio::test]
async fn records_round_trip_verify_and_replays_insert_once() {
    for (store, _) in stores().await {
        let rows = chained(25);
        store.insert(&rows).await.expect("insert");
        store
            .insert(&rows[10..])
            .await
            .expect("a replay of the same records is harmless");
        assert_eq!(
            store.count().await.expect("count"),
            25,
            "{}",
            store.backend()
        );
        let chains = store.chains().await.expect("read");
        let back = chains.values().next().expect("one chain");
        assert_eq!(
            back,
            &rows,
            "{}: what is read back is what was written",
            store.backend()
        );
        assert_eq!(
            store.verify(None).await.expect("verify"),
            Ok(25),
            "{}",
            store.backend()
        );
    }
}

#[tokio::test]
async fn rows_are_append_only() {
    for (store, _) in stores().await {
        store.insert(&chained(2)).await.expect("insert");
        let err = match &store {
            AuditStore::Postgres(p) => sqlx::query("UPDATE exchanges SET team = 'x'")
                .execute(p)
                .await
                .err(),
            AuditStore::Sqlite(p) => sqlx::query("UPDATE exchanges SET team = 'x'")
                .execute(p)
                .await
                .err(),
        };
        assert!(
            err.is_some_and(|e| e.to_string().contains("append-only")),
            "{}",
            store.backend()
        );
        let err = match &store {
            AuditStore::Postgres(p) => sqlx::query("DELETE FROM findings").execute(p).await.err(),
            AuditStore::Sqlite(p) => sqlx::query("DELETE FROM findings").execute(p).await.err(),
        };
        assert!(err.is_some(), "{}", store.backend());
    }
}

/// Runs tampering SQL with the append-only guard lifted, as an attacker with DDL rights would.
async fn tamper(store: &AuditStore, sql: &str) {
    const TABLES: [&str; 4] = ["exchanges", "findings", "tool_calls", "tool_results"];
    match store {
        AuditStore::Postgres(p) => {
            let mut tx = p.begin().await.expect("tx");
            for t in TABLES {
                tx.execute(format!("ALTER TABLE {t} DISABLE TRIGGER USER").as_str())
                    .await
                    .expect("disable");
            }
            tx.execute(sql).await.expect("tamper statement");
            for t in TABLES {
                tx.execute(format!("ALTER TABLE {t} ENABLE TRIGGER USER").as_str())
                    .await
                    .expect("enable");
            }
            tx.commit().await.expect("commit");
        }
        AuditStore::Sqlite(p) => {
            for t in TABLES {
                for kind in ["update", "delete"] {
                    p.execute(format!("DROP TRIGGER IF EXISTS {t}_no_{kind}").as_str())
                        .await
                        .expect("drop trigger");
                }
            }
            p.execute(sql).await.expect("tamper statement");
        }
    }
}

#[tokio::test]
async fn verify_finds_an_altered_a_deleted_and_an_inserted_row() {
    for backend in ["postgres", "sqlite"] {
        for (attack, check) in [
            (
                "UPDATE exchanges SET principal = 'mallory' WHERE seq = 3",
                "altered",
            ),
            (
                "UPDATE findings SET action = 'allow' WHERE exchange_id IN (SELECT id FROM exchanges WHERE seq = 4)",
                "altered",
            ),
            (
                "UPDATE tool_calls SET decision = 'approved' WHERE exchange_id IN (SELECT id FROM exchanges WHERE seq = 5)",
                "altered",
            ),
            (
                "DELETE FROM findings WHERE exchange_id IN (SELECT id FROM exchanges WHERE seq = 2); DELETE FROM tool_calls WHERE exchange_id IN (SELECT id FROM exchanges WHERE seq = 2); DELETE FROM tool_results WHERE exchange_id IN (SELECT id FROM exchanges WHERE seq = 2); DELETE FROM exchanges WHERE seq = 2",
                "deleted",
            ),
            (
                "INSERT INTO exchanges SELECT 'req_forged', instance_id, 99, occurred_at, upstream_request_id, key_id, principal, team, client_addr, user_agent, endpoint, model, streamed, policy_name, policy_version, decision, status, rule, latency_us, upstream_latency_us, input_tokens, output_tokens, storage_mode, prompt, output, prev_hash, hash, traceparent, parent_id, custom_id, cache_read_tokens, cache_write_tokens FROM exchanges WHERE seq = 5",
                "inserted",
            ),
        ] {
            let (store, _) = if backend == "postgres" {
                postgres_store().await
            } else {
                sqlite_store().await
            };
            store.insert(&chained(6)).await.expect("insert");
            assert_eq!(store.verify(None).await.expect("verify"), Ok(6));
            for statement in attack.split("; ") {
                tamper(&store, statement).await;
            }
            let verdict = store.verify(None).await.expect("verify");
            match (check, &verdict) {
                ("altered", Err(ChainBreak::Altered { .. }))
                | ("deleted", Err(ChainBreak::Broken { .. }))
                | ("inserted", Err(_)) => {}
                _ => panic!("{backend}: {check} row not found: {verdict:?}"),
            }
        }
    }
}

#[tokio::test]
async fn a_new_sqlite_store_uses_large_pages_for_prompt_sized_rows() {
    let (store, _) = sqlite_store().await;
    let AuditStore::Sqlite(pool) = &store else {
        unreachable!("sqlite_store opens SQLite")
    };
    let (page_size,): (i64,) = sqlx::query_as("PRAGMA page_size")
        .fetch_one(pool)
        .await
        .expect("pragma");
    assert_eq!(page_size, 65536);
}

mod writer {
    use super::*;
    use warden::audit::{AuditWriter, StoreState, WriterConfig};

    fn config(spool: &str) -> WriterConfig {
        WriterConfig {
            batch_rows: 100,
            flush_interval_ms: 20,
            queue_capacity: 10_000,
            queue_max_bytes: 64 << 20,
            spool_path: std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("{}.spool", unique(spool))),
            retry_interval_ms: 50,
            migrate_on_recover: false,
            ..WriterConfig::default()
        }
    }

    #[tokio::test]
    async fn records_are_batched_into_the_database_with_an_intact_chain() {
        for (store, _) in stores().await {
            let (writer, _task) = AuditWriter::start(store.clone(), config("batch"), unique("ins"));
            for i in 0..1_000 {
                writer
                    .submit(record(&format!("req_{i}"), "support"))
                    .expect("accepted");
            }
            writer.flush().await;
            assert_eq!(
                store.count().await.expect("count"),
                1_000,
                "{}",
                store.backend()
            );
            assert_eq!(store.verify(None).await.expect("verify"), Ok(1_000));
            assert_eq!(writer.state(), StoreState::Ok);
        }
    }

    /// An idle sidecar's writer sleeps until there is something to write, where it used to wake
    /// every flush interval; a record that arrives then is still written within the interval,
    /// without a flush.
    #[tokio::test]
    async fn an_idle_writer_sleeps_until_a_record_arrives() {
        let (store, _) = sqlite_store().await;
        let (writer, _task) = AuditWriter::start(store.clone(), config("sleep"), unique("sleep"));
        // 300 ms idle at a 20 ms flush interval: fifteen wake-ups if it polled.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(writer.wakeups(), 0, "an idle writer woke up");
        writer
            .submit(record("req_after_idle", "support"))
            .expect("accepted");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while writer.written() < 1 {
            assert!(
                std::time::Instant::now() < deadline,
                "the record was not written without a flush"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(store.count().await.expect("count"), 1);
        // Back to sleep: at most the wake-up for the record and the one for its deadline.
        let woke = writer.wakeups();
        assert!(woke <= 2, "{woke} wake-ups for one record");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(
            writer.wakeups(),
            woke,
            "the writer kept waking with nothing to do"
        );
    }

    /// The scheduling policy and nice value of every `warden-audit` thread of this process.
    #[cfg(target_os = "linux")]
    fn writer_threads() -> Vec<(String, i32)> {
        let mut found = Vec::new();
        for task in std::fs::read_dir("/proc/thread-self/..").expect("tasks") {
            let dir = task.expect("task").path();
            let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
            if comm.trim() == "warden-audit" {
                let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
                // The fields after `(comm)` start at field 3; nice is field 19, policy 41.
                let fields: Vec<&str> = stat[stat.rfind(')').expect("stat") + 2..]
                    .split(' ')
                    .collect();
                found.push((
                    fields[41 - 3].to_string(),
                    fields[19 - 3].parse().unwrap_or(0),
                ));
            }
        }
        found
    }

    /// By default the writer's thread runs under Linux's idle scheduling policy, so that a
    /// request waking up preempts a batch being written instead of waiting out its time slice;
    /// `writer_priority: low` gives it a nice value instead.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_writer_thread_yields_the_cpu_to_requests() {
        const SCHED_IDLE: &str = "5";
        const SCHED_OTHER: &str = "0";
        let (store, _) = sqlite_store().await;
        let (writer, _task) = AuditWriter::start(store.clone(), config("idle"), unique("idle"));
        writer.flush().await;
        let threads = writer_threads();
        assert!(!threads.is_empty(), "no warden-audit thread found");
        assert!(threads.iter().all(|(p, _)| p == SCHED_IDLE), "{threads:?}");
        drop(writer);

        // A writer started alone in a test binary of its own would be the only one; here other
        // tests' writers may run, so look for one that is low rather than for all.
        let low = WriterConfig {
            priority: warden::audit::writer::WriterPriority::Low,
            ..config("low")
        };
        let (writer, _task) = AuditWriter::start(store.clone(), low, unique("low"));
        writer.flush().await;
        assert!(
            writer_threads()
                .iter()
                .any(|(p, nice)| p == SCHED_OTHER && *nice == warden::audit::writer::WRITER_NICE),
            "{:?}",
            writer_threads()
        );
    }

    #[tokio::test]
    async fn rows_cut_from_the_end_of_a_chain_are_caught_by_the_anchor() {
        for (store, _) in stores().await {
            let cfg = config("anchor");
            let anchor_file = warden::audit::writer::anchor_path(&cfg.spool_path);
            let instance = unique("anc");
            let (writer, _task) = AuditWriter::start(store.clone(), cfg, instance.clone());
            for i in 0..5 {
                writer
                    .submit(record(
                        &format!("req_anchor_{i}_{}", unique("x")),
                        "support",
                    ))
                    .expect("accepted");
            }
            writer.flush().await;
            assert_eq!(writer.head_seq(), 5);
            let lines = warden::audit::writer::parse_anchors(
                &std::fs::read_to_string(&anchor_file).expect("anchor written"),
            )
            .expect("parses");
            assert_eq!(lines.len(), 1);
            assert_eq!(
                (lines[0].instance.as_str(), lines[0].seq),
                (instance.as_str(), 5)
            );
            assert_eq!(store.check_anchor(&lines[0]).await.expect("check"), None);

            // Cutting the last two rows leaves a chain that verifies on its own...
            tamper(
                &store,
                &["findings", "tool_calls", "tool_results", "exchanges"]
                    .map(|t| {
                        let id = if t == "exchanges" { "id" } else { "exchange_id" };
                        format!("DELETE FROM {t} WHERE {id} IN (SELECT id FROM exchanges WHERE instance_id = '{instance}' AND seq > 3)")
                    })
                    .join("; "),
            )
            .await;
            assert!(
                store.verify(None).await.expect("verify").is_ok(),
                "{}",
                store.backend()
            );
            // ...but not against the anchor.
            let problem = store.check_anchor(&lines[0]).await.expect("check");
            assert!(
                problem.as_deref().is_some_and(
                    |p| p.contains("ends at seq 3") && p.contains("removed from its end")
                ),
                "{problem:?}"
            );
        }
    }

    #[tokio::test]
    async fn an_outage_spools_and_everything_arrives_exactly_once_afterwards() {
        let (store, url) = postgres_store().await;
        let (writer, _task) = AuditWriter::start(store.clone(), config("outage"), unique("ins"));
        for i in 0..50 {
            writer
                .submit(record(&format!("req_before_{i}"), "support"))
                .expect("accepted");
        }
        writer.flush().await;
        outage(&url, true).await;
        // More than one replay chunk (1,000 records) goes through the spool.
        for i in 0..2_500 {
            writer
                .submit(record(&format!("req_during_{i}"), "support"))
                .expect("accepted");
        }
        writer.flush().await;
        assert_eq!(
            writer.state(),
            StoreState::Spooling,
            "the database is down: records are spooled"
        );
        assert!(writer.spooled() >= 2_500);
        assert!(
            writer.spool_bytes() > 0,
            "what waits on disk is measured (warden_audit_spool_bytes)"
        );
        assert_eq!(writer.submitted(), 2_550);
        outage(&url, false).await;
        for i in 0..50 {
            writer
                .submit(record(&format!("req_after_{i}"), "support"))
                .expect("accepted");
        }
        writer.flush().await;
        assert_eq!(writer.state(), StoreState::Ok);
        assert_eq!(
            (writer.spool_bytes(), writer.queued_bytes()),
            (0, 0),
            "nothing waits any more"
        );
        assert_eq!(
            store.count().await.expect("count"),
            2_600,
            "every record exactly once"
        );
        assert_eq!(
            store.verify(None).await.expect("verify"),
            Ok(2_600),
            "and the chain is intact"
        );
    }

    #[tokio::test]
    async fn a_full_queue_spills_to_the_spool_without_losing_a_record() {
        for (store, _) in stores().await {
            let mut cfg = config("full");
            cfg.queue_capacity = 2;
            let (writer, _task) = AuditWriter::start(store.clone(), cfg, unique("ins"));
            for i in 0..500 {
                writer
                    .submit(record(&format!("req_{i}"), "support"))
                    .expect("accepted");
            }
            writer.flush().await;
            assert!(writer.spooled() > 0, "some records went through the spool");
            assert_eq!(
                store.count().await.expect("count"),
                500,
                "{}",
                store.backend()
            );
            assert_eq!(store.verify(None).await.expect("verify"), Ok(500));
        }
    }

    /// Records carry whole prompts: the queue is bounded in bytes as well as in records, so a
    /// database that falls behind cannot make Warden hold gigabytes of prompts in memory.
    #[tokio::test]
    async fn a_queue_over_its_byte_budget_spills_to_the_spool_without_losing_a_record() {
        for (store, _) in stores().await {
            let mut cfg = config("bytes");
            cfg.queue_max_bytes = 10_000;
            let (writer, _task) = AuditWriter::start(store.clone(), cfg, unique("ins"));
            for i in 0..50 {
                let mut r = record(&format!("req_{i}"), "support");
                r.prompt = Some("x".repeat(4_000));
                writer.submit(r).expect("accepted");
            }
            writer.flush().await;
            assert!(writer.spooled() > 0, "some records went through the spool");
            assert_eq!(
                store.count().await.expect("count"),
                50,
                "{}",
                store.backend()
            );
            assert_eq!(store.verify(None).await.expect("verify"), Ok(50));
        }
    }

    #[tokio::test]
    async fn a_restart_replays_what_the_last_process_spooled() {
        let (store, url) = postgres_store().await;
        let cfg = config("restart");
        let (writer, task) = AuditWriter::start(store.clone(), cfg.clone(), unique("ins"));
        outage(&url, true).await;
        for i in 0..100 {
            writer
                .submit(record(&format!("req_{i}"), "support"))
                .expect("accepted");
        }
        writer.flush().await;
        assert_eq!(writer.state(), StoreState::Spooling);
        drop(writer);
        task.await
            .expect("the writer ends when its handles are gone");
        outage(&url, false).await;
        let store = AuditStore::connect(&url).await.expect("reconnect");
        let (writer, _task) = AuditWriter::start(store.clone(), cfg, unique("ins"));
        writer.flush().await;
        assert_eq!(store.count().await.expect("count"), 100);
        assert_eq!(store.verify(None).await.expect("verify"), Ok(100));
    }
}

/// The audit trail of requests through the whole gateway, on both stores.
mod gateway {
    use serde_json::{Value, json};
    use warden::secret::Secret;

    use super::*;
    use crate::helpers::{TestApp, bundled_policies, expect_error, key_entry};
    use warden::audit::StoreState;

    const SUPPORT_KEY: &str = "wdn_SupportAuditKey0000000000000000000000000";
    const AWS_KEY: &str = "AKIAZ3MSJV7WQ2PLX4NB";
    const SSN: &str = "123-45-6789";
    const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    async fn app(database_url: Option<String>) -> TestApp {
        TestApp::start_with(|c| {
            c.policies.dir = bundled_policies();
            c.keys
                .push(key_entry(SUPPORT_KEY, "key_support", "support"));
            c.audit.database_url = database_url.map(Secret::new);
        })
        .await
    }

    fn ask(text: &str, model: &str, stream: bool) -> Value {
        json!({"model": model, "max_tokens": 100, "stream": stream, "messages": [{"role": "user", "content": text}]})
    }

    fn request_id(r: &reqwest::Response) -> String {
        r.headers()
            .get("x-warden-request-id")
            .and_then(|v| v.to_str().ok())
            .expect("request id")
            .to_string()
    }

    async fn rows(url: &str) -> Vec<ChainedRecord> {
        let store = AuditStore::connect(url).await.expect("open");
        store
            .chains()
            .await
            .expect("read")
            .into_values()
            .flatten()
            .collect()
    }

    #[tokio::test]
    async fn every_exchange_is_recorded_with_its_findings_and_no_secret_value() {
        let (_pg, pg_url) = postgres_store().await;
        for database_url in [None, Some(pg_url)] {
            let app = app(database_url.clone()).await;
            let forwarded = app
                .post("/v1/messages")
                .header("traceparent", TRACEPARENT)
                .json(&ask(
                    &format!("why is {AWS_KEY} rejected?"),
                    "claude-sonnet-4-5",
                    false,
                ))
                .send()
                .await
                .expect("sent");
            let forwarded_id = request_id(&forwarded);
            assert_eq!(forwarded.status(), 200);
            let blocked = app
                .post_as(SUPPORT_KEY, "/v1/messages")
                .json(&ask(&format!("SSN {SSN}"), "claude-sonnet-4-5", false))
                .send()
                .await
                .expect("sent");
            let blocked_id = request_id(&blocked);
            expect_error(blocked, 403, "permission_error").await;
            let streamed = app
                .post("/v1/messages")
                .json(&ask("weather?", "mock-tool_use", true))
                .send()
                .await
                .expect("sent");
            let streamed_id = request_id(&streamed);
            streamed.text().await.expect("stream");
            // A wrong key is refused and recorded, without the key.
            let wrong_key = "wdn_NotAKeyWardenIssued000000000000000000000";
            let refused = app
                .post_as(wrong_key, "/v1/messages")
                .json(&ask("hi", "claude-sonnet-4-5", false))
                .send()
                .await
                .expect("sent");
            let refused_id = request_id(&refused);
            expect_error(refused, 401, "authentication_error").await;
            // The model writes a secret: redacted in the reply, and recorded where it was.
            let mut leaked_ids = Vec::new();
            for stream in [false, true] {
                let r = app
                    .post("/v1/messages")
                    .header("x-mock-scenario", "say:7")
                    .header("x-mock-say", format!("Try the key {AWS_KEY} now."))
                    .json(&ask("which key?", "claude-sonnet-4-5", stream))
                    .send()
                    .await
                    .expect("sent");
                leaked_ids.push(request_id(&r));
                assert!(
                    r.text()
                        .await
                        .expect("body")
                        .contains("[REDACTED:aws_access_key_id]")
                );
            }
            app.warden.state.audit.flush().await;

            let url = database_url.unwrap_or_else(|| {
                format!(
                    "sqlite://{}",
                    app.warden.state.config.audit.sqlite_path.display()
                )
            });
            let rows = rows(&url).await;
            let find = |id: &str| {
                rows.iter()
                    .find(|r| r.record.id == id)
                    .map(|r| &r.record)
                    .expect("row for the exchange")
            };

            let f = find(&forwarded_id);
            assert_eq!(
                (f.decision, f.status, f.team.as_str()),
                (Decision::Forwarded, 200, "default")
            );
            assert_eq!(f.policy_name.as_deref(), Some("default"));
            assert_eq!(f.traceparent.as_deref(), Some(TRACEPARENT));
            let seen = app.mock_requests().await;
            assert!(
                seen.to_string().contains(TRACEPARENT),
                "traceparent forwarded upstream"
            );
            assert!(f.policy_version.is_some() && f.upstream_request_id.is_some());
            assert!(
                f.findings
                    .iter()
                    .any(|x| x.rule == "secrets.aws_access_key_id" && x.action == "redact")
            );
            assert!(
                f.prompt
                    .as_deref()
                    .is_some_and(|p| p.contains("[REDACTED:aws_access_key_id]"))
            );
            assert!(f.input_tokens.is_some() && f.output_tokens.is_some());

            let b = find(&blocked_id);
            assert_eq!(
                (b.decision, b.status, b.rule.as_deref()),
                (Decision::Blocked, 403, Some("pii.ssn"))
            );
            assert_eq!(b.team, "support");

            let s = find(&streamed_id);
            assert!(s.streamed);
            assert!(
                s.output.as_deref().is_some_and(|o| o.contains("Paris")),
                "the tool call is in the output"
            );
            assert!(s.output_tokens.is_some());

            for id in &leaked_ids {
                let r = find(id);
                let reply: Vec<_> = r
                    .findings
                    .iter()
                    .filter(|f| f.location.starts_with("reply."))
                    .collect();
                assert_eq!(reply.len(), 1, "{:?}", r.findings);
                assert_eq!(reply[0].location, "reply.content[0].text");
                assert_eq!(reply[0].rule, "secrets.aws_access_key_id");
                assert_eq!((reply[0].span_start, reply[0].span_end), (12, 32));
            }

            let r = find(&refused_id);
            assert_eq!(
                (r.decision, r.status, r.rule.as_deref()),
                (Decision::Blocked, 401, Some("authentication"))
            );
            assert!(r.key_id.starts_with("unknown:"), "{}", r.key_id);
            assert_eq!(r.principal, "(unauthenticated)");

            let everything = serde_json::to_string(&rows).expect("json");
            assert!(
                !everything.contains(wrong_key),
                "the presented key is not stored"
            );
            assert!(
                !everything.contains(AWS_KEY) && !everything.contains(SSN),
                "no value at rest"
            );
            let store = AuditStore::connect(&url).await.expect("open");
            assert!(store.verify(None).await.expect("verify").is_ok());
        }
    }

    #[tokio::test]
    async fn exchanges_past_their_retention_are_pruned_on_a_timer() {
        let app = TestApp::start_with(|c| {
            c.policies.dir = bundled_policies();
            c.audit.prune_interval_seconds = 1;
        })
        .await;
        let url = format!(
            "sqlite://{}",
            app.warden.state.config.audit.sqlite_path.display()
        );
        let store = AuditStore::connect(&url).await.expect("open");
        let mut chain = Chain::new(unique("timer"));
        let mut rows = Vec::new();
        for (i, age_days) in [400, 1, 200].into_iter().enumerate() {
            let mut r = record(&format!("req_timer_{i}_{}", unique("x")), "default");
            r.occurred_at = ExchangeRecord::now() - chrono::Duration::days(age_days);
            rows.push(chain.link(r));
        }
        store.insert(&rows).await.expect("insert");
        // The default policy keeps 90 days: the two older rows go, the recent one stays.
        let mut left = store.count().await.expect("count");
        for _ in 0..60 {
            if left == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            left = store.count().await.expect("count");
        }
        assert_eq!(left, 1, "pruned by the timer");
        let key = TombstoneKey::load(&app.warden.state.config.audit, None)
            .expect("key readable")
            .expect("the first prune made the key file");
        assert_eq!(store.verify(Some(&key)).await.expect("verify"), Ok(1));
    }

    /// Each storage mode keeps what it says of the prompt and the output: `full` the request as
    /// received with secrets still redacted, `redacted` the text as it went upstream, `hash` the
    /// SHA-256 of the request as received, `none` nothing.
    #[tokio::test]
    async fn each_storage_mode_keeps_what_it_says_and_never_a_secret() {
        use sha2::Digest;
        const EMAIL: &str = "jane.doe@example.com";
        for mode in ["full", "redacted", "hash", "none"] {
            let dir = std::env::temp_dir().join(unique(&format!("warden-storage-{mode}")));
            std::fs::create_dir_all(&dir).expect("dir");
            let default = std::fs::read_to_string(bundled_policies().join("default.yaml"))
                .expect("bundled default");
            std::fs::write(
                dir.join("default.yaml"),
                format!("{default}\naudit:\n  storage: {mode}\n"),
            )
            .expect("policy");
            let app = TestApp::start_with(|c| c.policies.dir = dir.clone()).await;
            let body = ask(
                &format!("mail {EMAIL} with the key {AWS_KEY}"),
                "claude-sonnet-4-5",
                false,
            );
            let r = app
                .post("/v1/messages")
                .body(serde_json::to_vec(&body).expect("json"))
                .header("content-type", "application/json")
                .send()
                .await
                .expect("sent");
            assert_eq!(r.status(), 200, "{mode}");
            let id = request_id(&r);
            let _ = r.text().await;
            app.warden.state.audit.flush().await;
            let url = format!(
                "sqlite://{}",
                app.warden.state.config.audit.sqlite_path.display()
            );
            let rows = rows(&url).await;
            let row = &rows
                .iter()
                .find(|r| r.record.id == id)
                .expect("row for the exchange")
                .record;
            assert_eq!(row.storage_mode, mode);
            let prompt = row.prompt.clone().unwrap_or_default();
            assert!(!prompt.contains(AWS_KEY), "{mode}: {prompt}");
            match mode {
                "full" => {
                    assert!(prompt.contains(EMAIL), "{prompt}");
                    assert!(prompt.contains("[REDACTED:aws_access_key_id]"), "{prompt}");
                }
                "redacted" => {
                    assert!(!prompt.contains(EMAIL), "{prompt}");
                    assert!(prompt.contains("[REDACTED:aws_access_key_id]"), "{prompt}");
                }
                "hash" => {
                    let sent = serde_json::to_vec(&body).expect("json");
                    assert_eq!(prompt, hex::encode(sha2::Sha256::digest(&sent)));
                    assert_eq!(row.output.as_ref().map(String::len), Some(64));
                }
                _ => assert!(row.prompt.is_none() && row.output.is_none()),
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    /// `audit.enabled: false` (for measuring what auditing costs) records nothing and says so
    /// where ops look: `/readyz` and the `warden_audit_enabled` gauge.
    #[tokio::test]
    async fn with_records_turned_off_nothing_is_stored_and_readyz_and_metrics_say_so() {
        let app = TestApp::start_with(|c| {
            c.policies.dir = bundled_policies();
            c.audit.enabled = false;
        })
        .await;
        let r = app
            .post("/v1/messages")
            .json(&ask(
                &format!("my key is {AWS_KEY}"),
                "claude-sonnet-4-5",
                false,
            ))
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), 200);
        app.warden.state.audit.flush().await;
        let url = format!(
            "sqlite://{}",
            app.warden.state.config.audit.sqlite_path.display()
        );
        let store = AuditStore::connect(&url).await.expect("open");
        assert_eq!(store.count().await.expect("count"), 0);
        assert_eq!(app.readyz().await["audit"]["state"], "disabled");
        assert!(app.metrics().await.contains("\nwarden_audit_enabled 0\n"));
        // The filters still ran: the key went upstream redacted.
        let seen = app.mock_requests().await.to_string();
        assert!(!seen.contains(AWS_KEY), "{seen}");
    }

    /// The audit queue's way in and ways out, and what waits in memory and on disk, are on
    /// `/metrics`: with the writer behind the request path, ops watch the spool grow there.
    #[tokio::test]
    async fn metrics_count_records_in_and_out_and_what_waits() {
        let app = TestApp::start_with(|c| c.policies.dir = bundled_policies()).await;
        for _ in 0..3 {
            assert_eq!(app.send_messages("", false).await.status(), 200);
        }
        app.warden.state.audit.flush().await;
        let text = app.metrics().await;
        for line in [
            "\nwarden_audit_records_submitted_total 3\n",
            "\nwarden_audit_records_written_total 3\n",
            "\nwarden_audit_records_spooled_total 0\n",
            "\nwarden_audit_queue_bytes 0\n",
            "\nwarden_audit_spool_bytes 0\n",
        ] {
            assert!(text.contains(line), "{line:?} not in:\n{text}");
        }
    }

    #[tokio::test]
    async fn tool_calls_and_their_results_are_linked_across_exchanges() {
        let (_pg, pg_url) = postgres_store().await;
        let app = app(Some(pg_url.clone())).await;
        // The model asks for a tool (streamed) …
        let first = app
            .post("/v1/messages")
            .json(&ask("weather in Paris?", "mock-tool_use", true))
            .send()
            .await
            .expect("sent");
        let body = first.text().await.expect("stream");
        let tool_use_id = body
            .split("\"id\":\"")
            .find_map(|p| {
                p.strip_prefix("toolu_")
                    .map(|rest| format!("toolu_{}", &rest[..rest.find('"').unwrap_or(0)]))
            })
            .expect("a tool_use id in the stream");
        // … and the next request carries its result, with an email address inside.
        let second = app
            .post("/v1/messages")
            .json(&json!({"model": "claude-sonnet-4-5", "max_tokens": 50, "messages": [
                {"role": "user", "content": "weather in Paris?"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": tool_use_id, "name": "get_weather", "input": {"location": "Paris"}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use_id, "content": "Sunny. Alerts go to ops@example.com"}]}
            ]}))
            .send()
            .await
            .expect("sent");
        assert_eq!(second.status(), 200);
        app.warden.state.audit.flush().await;
        let AuditStore::Postgres(pool) = AuditStore::connect(&pg_url).await.expect("open") else {
            panic!("postgres");
        };
        let row = sqlx::query("SELECT name, decision, input, result_bytes, result_flagged FROM v_tool_calls_with_approvals WHERE tool_use_id = $1")
            .bind(&tool_use_id)
            .fetch_one(&pool)
            .await
            .expect("the tool call, joined with its result");
        assert_eq!(row.get::<String, _>("name"), "get_weather");
        assert_eq!(row.get::<String, _>("decision"), "allowed");
        assert!(
            row.get::<Option<String>, _>("input")
                .is_some_and(|i| i.contains("Paris"))
        );
        assert!(
            row.get::<Option<i64>, _>("result_bytes")
                .is_some_and(|b| b > 0)
        );
        assert_eq!(
            row.get::<Option<bool>, _>("result_flagged"),
            Some(true),
            "the result held an email address"
        );
    }

    #[tokio::test]
    async fn a_dead_database_loses_nothing_and_never_slows_a_request_down_to_failure() {
        let (store, url) = postgres_store().await;
        let app = app(Some(url.clone())).await;
        let mut ids = Vec::new();
        for round in 0..3 {
            if round == 1 {
                outage(&url, true).await;
            }
            if round == 2 {
                outage(&url, false).await;
            }
            for _ in 0..20 {
                let r = app.send_messages("", false).await;
                assert_eq!(
                    r.status(),
                    200,
                    "requests are served whatever the database does"
                );
                ids.push(request_id(&r));
            }
            app.warden.state.audit.flush().await;
        }
        app.warden.state.audit.flush().await;
        assert_eq!(
            store.count().await.expect("count"),
            60,
            "every exchange, exactly once"
        );
        let stored: Vec<String> = rows(&url).await.into_iter().map(|r| r.record.id).collect();
        assert!(ids.iter().all(|id| stored.contains(id)));
        assert!(store.verify(None).await.expect("verify").is_ok());
    }

    #[tokio::test]
    async fn a_database_down_at_start_does_not_stop_warden_and_is_migrated_when_it_returns() {
        // A fresh, empty database (never migrated) that refuses connections.
        let admin = sqlx::PgPool::connect(&admin_url()).await.expect("admin");
        let name = unique("warden_test");
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create");
        let base = admin_url();
        let url = format!("{}/{name}", &base[..base.rfind('/').expect("db")]);
        outage(&url, true).await;
        let app = app(Some(url.clone())).await;
        let r = app.send_messages("", false).await;
        assert_eq!(
            r.status(),
            200,
            "served while the database has never been reachable"
        );
        app.warden.state.audit.flush().await;
        assert_eq!(app.warden.state.audit.state(), StoreState::Spooling);
        outage(&url, false).await;
        app.warden.state.audit.flush().await;
        let store = AuditStore::connect(&url).await.expect("connect");
        assert_eq!(store.count().await.expect("migrated and replayed"), 1);
        assert!(store.verify(None).await.expect("verify").is_ok());
    }

    #[tokio::test]
    async fn when_nothing_can_record_the_request_is_refused_before_it_goes_out() {
        let (_store, url) = postgres_store().await;
        let app = TestApp::start_with(|c| {
            c.policies.dir = bundled_policies();
            c.audit.database_url = Some(Secret::new(url.clone()));
            c.audit.spool_path = std::path::PathBuf::from("/nonexistent-dir/warden.spool");
        })
        .await;
        outage(&url, true).await;
        assert_eq!(app.send_messages("", false).await.status(), 200);
        app.warden.state.audit.flush().await;
        let before = app.mock.state.total();
        let r = app.send_messages("", false).await;
        let msg = expect_error(r, 503, "api_error").await;
        assert!(msg.contains("audit.on_failure"), "{msg}");
        assert_eq!(app.mock.state.total(), before, "nothing went upstream");
        let ready: Value = app.readyz().await;
        assert_eq!(ready["audit"]["state"], "failing");
        outage(&url, false).await;
    }
}

#[tokio::test]
async fn the_cli_migrates_and_verifies_and_reports_tampering() {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
            .args(args)
            .output()
            .expect("runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (store, url) = postgres_store().await;
    let (ok, out) = run(&["migrate", "--database-url", &url]);
    assert!(ok, "{out}");
    store.insert(&chained(4)).await.expect("insert");
    let (ok, out) = run(&["audit", "verify", "--database-url", &url]);
    assert!(ok && out.contains("4 rows"), "{out}");
    tamper(
        &store,
        "UPDATE exchanges SET team = 'platform' WHERE seq = 2",
    )
    .await;
    let (ok, out) = run(&["audit", "verify", "--database-url", &url]);
    assert!(!ok, "{out}");
    assert!(out.contains("TAMPERED") && out.contains("seq 2"), "{out}");
}

/// Every ```sql block in docs/queries.md runs against a seeded Postgres store and answers.
#[tokio::test]
async fn the_documented_queries_run_and_answer() {
    let (store, _) = postgres_store().await;
    let mut chain = Chain::new(unique("ins"));
    let mut rows = Vec::new();
    for (i, (principal, team)) in [
        ("alice@example.com", "support"),
        ("bob@example.com", "platform"),
    ]
    .iter()
    .enumerate()
    {
        let mut r = record(&unique("req"), team);
        r.principal = principal.to_string();
        r.findings.push(FindingRow {
            class: "customer_id".into(),
            rule: "customer_id.words".into(),
            action: "pseudonymize".into(),
            location: "messages[0].content".into(),
            span_start: 0,
            span_end: 7,
            fingerprint: format!("c{i}"),
        });
        rows.push(chain.link(r));
        let mut blocked = record(&unique("req"), team);
        blocked.principal = principal.to_string();
        blocked.decision = Decision::Blocked;
        blocked.status = 403;
        blocked.rule = Some("pii.ssn".into());
        rows.push(chain.link(blocked));
    }
    let mut failed = record(&unique("req"), "support");
    failed.decision = Decision::Error;
    failed.status = 504;
    failed.rule = Some("upstream".into());
    rows.push(chain.link(failed));
    store.insert(&rows).await.expect("seed");

    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/queries.md"))
        .expect("queries.md");
    let queries: Vec<&str> = doc
        .split("```sql")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .collect();
    assert!(queries.len() >= 10, "at least ten documented queries");
    let AuditStore::Postgres(pool) = &store else {
        panic!("postgres store expected");
    };
    for (i, q) in queries.iter().enumerate() {
        let answer = sqlx::query(q).fetch_all(pool).await;
        let rows = answer.unwrap_or_else(|e| panic!("query {} failed: {e}\n{q}", i + 1));
        // The last query lists chain gaps: an intact store has none.
        if i + 1 == queries.len() {
            assert!(rows.is_empty(), "no gaps in an intact chain");
        } else {
            assert!(
                !rows.is_empty(),
                "query {} answered nothing on the seeded data:\n{q}",
                i + 1
            );
        }
    }
}

#[tokio::test]
async fn security_can_search_show_and_export_from_the_cli() {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
            .args(args)
            .output()
            .expect("runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    for (store, url) in stores().await {
        let mut chain = Chain::new(unique("ins"));
        let mut rows = Vec::new();
        for (i, team) in ["support", "platform", "support"].iter().enumerate() {
            let mut r = record(&format!("req_cli_{i}_{}", unique("x")), team);
            if i == 2 {
                r.decision = Decision::Blocked;
                r.status = 403;
                r.rule = Some("pii.ssn".into());
                r.findings.clear();
            }
            rows.push(chain.link(r));
        }
        store.insert(&rows).await.expect("insert");

        let table = run(&[
            "audit",
            "search",
            "--team",
            "support",
            "--database-url",
            &url,
        ]);
        assert!(table.starts_with("time "), "a header row: {table}");
        assert!(
            table.trim_end().ends_with("\n2 rows"),
            "{}: {table}",
            store.backend()
        );
        assert!(
            table.lines().all(|l| l == l.trim_end()),
            "no trailing spaces: {table:?}"
        );
        let blocked = run(&[
            "audit",
            "search",
            "--decision",
            "blocked",
            "--format",
            "jsonl",
            "--database-url",
            &url,
        ]);
        let lines: Vec<serde_json::Value> = blocked
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["record"]["rule"], "pii.ssn");
        let secrets = run(&[
            "audit",
            "search",
            "--class",
            "secrets",
            "--format",
            "csv",
            "--database-url",
            &url,
        ]);
        assert_eq!(
            secrets.lines().count(),
            3,
            "header and the two exchanges with a secret finding: {secrets}"
        );
        assert!(secrets.starts_with("time,id,team"));

        let shown = run(&["audit", "show", &rows[1].record.id, "--database-url", &url]);
        let v: serde_json::Value = serde_json::from_str(&shown).expect("json");
        assert_eq!(v["record"]["team"], "platform");
        assert_eq!(v["record"]["findings"].as_array().map(Vec::len), Some(2));

        let exported = run(&[
            "audit",
            "export",
            "--since",
            "2020-01-01",
            "--database-url",
            &url,
        ]);
        assert_eq!(exported.lines().count(), 3);
        let none = run(&[
            "audit",
            "export",
            "--since",
            "2999-01-01",
            "--database-url",
            &url,
        ]);
        assert_eq!(none.lines().count(), 0);
    }
}

/// Five rows of one chain: (team, age in days).
const PRUNE_ROWS: [(&str, i64); 5] = [
    ("support", 40),
    ("platform", 40),
    ("support", 1),
    ("support", 50),
    ("platform", 1),
];

async fn aged_rows(store: &AuditStore, rows: &[(&str, i64)]) -> Vec<ChainedRecord> {
    let mut chain = Chain::new(unique("ins"));
    let linked: Vec<ChainedRecord> = rows
        .iter()
        .enumerate()
        .map(|(i, (team, age_days))| {
            let mut r = record(&format!("req_prune_{i}_{}", unique("x")), team);
            r.occurred_at = ExchangeRecord::now() - chrono::Duration::days(*age_days);
            chain.link(r)
        })
        .collect();
    store.insert(&linked).await.expect("insert");
    linked
}

fn support_30_days() -> std::collections::BTreeMap<String, u32> {
    [("support".to_string(), 30)].into_iter().collect()
}

fn tombstone_key(c: char) -> TombstoneKey {
    TombstoneKey::new(c.to_string().repeat(40)).expect("key")
}

#[tokio::test]
async fn pruning_keeps_the_chain_verifiable_and_an_unrecorded_deletion_is_still_caught() {
    for (store, _) in stores().await {
        let key = tombstone_key('k');
        aged_rows(&store, &PRUNE_ROWS).await;
        let removed = store
            .prune(&support_30_days(), 90, &key)
            .await
            .expect("prune");
        assert_eq!(
            removed,
            2,
            "{}: the two support rows past 30 days",
            store.backend()
        );
        assert_eq!(store.count().await.expect("count"), 3);
        assert_eq!(
            store.verify(Some(&key)).await.expect("verify"),
            Ok(3),
            "{}: verifies across the gaps",
            store.backend()
        );
        for other in [None, Some(&tombstone_key('o'))] {
            assert!(
                matches!(
                    store.verify(other).await.expect("verify"),
                    Err(ChainBreak::Unsealed { .. })
                ),
                "{}: without Warden's key no tombstone is accepted",
                store.backend()
            );
        }
        let left = store.search(&Default::default(), 10).await.expect("search");
        assert!(left.iter().all(|r| !(r.record.team == "support"
            && r.record.occurred_at < ExchangeRecord::now() - chrono::Duration::days(30))));

        tamper(
            &store,
            "DELETE FROM findings WHERE exchange_id IN (SELECT id FROM exchanges WHERE seq = 3)",
        )
        .await;
        for table in ["tool_calls", "tool_results"] {
            tamper(&store, &format!("DELETE FROM {table} WHERE exchange_id IN (SELECT id FROM exchanges WHERE seq = 3)")).await;
        }
        tamper(&store, "DELETE FROM exchanges WHERE seq = 3").await;
        assert!(
            matches!(
                store.verify(Some(&key)).await.expect("verify"),
                Err(ChainBreak::Broken { .. })
            ),
            "{}",
            store.backend()
        );
    }
}

/// Runs `sqls` as a table owner who switched pruning on the way Warden does (the Postgres
/// setting, SQLite's guard row): the power the append-only triggers leave to pruning.
async fn as_pruner(store: &AuditStore, sqls: &[String]) {
    match store {
        AuditStore::Postgres(p) => {
            let mut tx = p.begin().await.expect("tx");
            tx.execute("SET LOCAL warden.prune = 'on'")
                .await
                .expect("set");
            for sql in sqls {
                tx.execute(sql.as_str()).await.expect("owner's statement");
            }
            tx.commit().await.expect("commit");
        }
        AuditStore::Sqlite(p) => {
            let mut tx = p.begin().await.expect("tx");
            tx.execute("INSERT INTO audit_prune_guard (active) VALUES (1)")
                .await
                .expect("guard");
            for sql in sqls {
                tx.execute(sql.as_str()).await.expect("owner's statement");
            }
            tx.execute("DELETE FROM audit_prune_guard")
                .await
                .expect("guard");
            tx.commit().await.expect("commit");
        }
    }
}

/// Deletes the rows at `seqs` with their children and leaves a tombstone for each, copying the
/// row's chain fields, as pruning would; `seal` is the seal column's SQL.
fn forge_tombstones(instance: &str, seqs: &[i64], seal: &str, retention: &str) -> Vec<String> {
    let list = seqs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let mut sqls = vec![format!(
        "INSERT INTO pruned (instance_id, seq, id, prev_hash, hash, occurred_at, team, retention_days, seal) \
         SELECT instance_id, seq, id, prev_hash, hash, occurred_at, team, {retention}, {seal} FROM exchanges \
         WHERE instance_id = '{instance}' AND seq IN ({list})"
    )];
    for table in ["findings", "tool_calls", "tool_results"] {
        sqls.push(format!(
            "DELETE FROM {table} WHERE exchange_id IN (SELECT id FROM exchanges WHERE instance_id = '{instance}' AND seq IN ({list}))"
        ));
    }
    sqls.push(format!(
        "DELETE FROM exchanges WHERE instance_id = '{instance}' AND seq IN ({list})"
    ));
    sqls
}

/// Whoever can write the audit tables can delete rows and leave tombstones; without the key
/// Warden holds outside the database, none of them verifies: not for the newest row, not for
/// hundreds at once, not with a seal copied from a real tombstone, not for a row made to look
/// old, and not for a real tombstone rewritten to claim another retention.
#[tokio::test]
async fn tombstones_a_table_owner_forges_do_not_verify() {
    let key = tombstone_key('k');
    let unsealed = |verdict: Result<usize, ChainBreak>, what: &str, backend: &str| {
        assert!(
            matches!(verdict, Err(ChainBreak::Unsealed { .. })),
            "{backend}: {what}: {verdict:?}"
        );
    };
    // The newest row, an old one, and 500 at once, with no seal and with a made-up one.
    for (what, seqs, seal) in [
        ("the newest row", vec![5], "NULL"),
        ("an old row, made-up seal", vec![1], "'00ff'"),
        ("a run of rows", (1..=5).collect::<Vec<i64>>(), "NULL"),
    ] {
        for (store, _) in stores().await {
            let rows = aged_rows(&store, &PRUNE_ROWS).await;
            assert_eq!(store.verify(Some(&key)).await.expect("verify"), Ok(5));
            as_pruner(
                &store,
                &forge_tombstones(&rows[0].instance_id, &seqs, seal, "30"),
            )
            .await;
            unsealed(
                store.verify(Some(&key)).await.expect("verify"),
                what,
                store.backend(),
            );
        }
    }
    for (store, _) in stores().await {
        let many: Vec<(&str, i64)> = (0..500).map(|_| ("support", 1)).collect();
        let rows = aged_rows(&store, &many).await;
        as_pruner(
            &store,
            &forge_tombstones(
                &rows[0].instance_id,
                &(1..=500).collect::<Vec<_>>(),
                "NULL",
                "0",
            ),
        )
        .await;
        assert_eq!(store.count().await.expect("count"), 0);
        unsealed(
            store.verify(Some(&key)).await.expect("verify"),
            "500 rows",
            store.backend(),
        );
    }

    // A real seal copied onto the tombstone of another row.
    for (store, _) in stores().await {
        let rows = aged_rows(&store, &PRUNE_ROWS).await;
        store
            .prune(&support_30_days(), 90, &key)
            .await
            .expect("prune");
        let instance = &rows[0].instance_id;
        let copied =
            format!("(SELECT seal FROM pruned WHERE instance_id = '{instance}' AND seq = 1)");
        as_pruner(&store, &forge_tombstones(instance, &[5], &copied, "30")).await;
        unsealed(
            store.verify(Some(&key)).await.expect("verify"),
            "copied seal",
            store.backend(),
        );
    }

    // A recent row made to look old, so that Warden itself would prune it: the prune refuses
    // and keeps the evidence.
    for (store, _) in stores().await {
        let rows = aged_rows(&store, &PRUNE_ROWS).await;
        let old = match store.backend() {
            "postgres" => "now() - interval '400 days'".to_string(),
            _ => format!(
                "'{}'",
                (ExchangeRecord::now() - chrono::Duration::days(400)).to_rfc3339()
            ),
        };
        tamper(
            &store,
            &format!(
                "UPDATE exchanges SET occurred_at = {old} WHERE instance_id = '{}' AND seq = 5",
                rows[0].instance_id
            ),
        )
        .await;
        let refused = store.prune(&support_30_days(), 90, &key).await;
        assert!(
            refused.is_err(),
            "{}: pruned an altered row",
            store.backend()
        );
        let kept = store.search(&Default::default(), 10).await.expect("search");
        assert!(
            kept.iter().any(|r| r.seq == 5),
            "{}: the altered row is kept",
            store.backend()
        );
        assert!(
            matches!(
                store.verify(Some(&key)).await.expect("verify"),
                Err(ChainBreak::Altered { seq: 5, .. })
            ),
            "{}",
            store.backend()
        );
    }

    // A real tombstone deleted and written again claiming a shorter retention or an older row.
    for change in ["retention_days = 0", "occurred_at = pruned_at"] {
        for (store, _) in stores().await {
            let rows = aged_rows(&store, &PRUNE_ROWS).await;
            store
                .prune(&support_30_days(), 90, &key)
                .await
                .expect("prune");
            let instance = &rows[0].instance_id;
            let rewrite = vec![
                format!(
                    "CREATE TEMPORARY TABLE t AS SELECT * FROM pruned WHERE instance_id = '{instance}'"
                ),
                format!("UPDATE t SET {change}"),
            ];
            tamper_pruned(&store, &rewrite, instance).await;
            unsealed(
                store.verify(Some(&key)).await.expect("verify"),
                change,
                store.backend(),
            );
        }
    }
}

/// Rewrites an instance's tombstones through a temporary copy `t` that `prepare` makes and edits,
/// with the append-only triggers of `pruned` out of the way (what a table owner can do).
async fn tamper_pruned(store: &AuditStore, prepare: &[String], instance: &str) {
    let mut sqls = prepare.to_vec();
    sqls.push(format!(
        "DELETE FROM pruned WHERE instance_id = '{instance}'"
    ));
    sqls.push("INSERT INTO pruned SELECT * FROM t".to_string());
    match store {
        AuditStore::Postgres(p) => {
            let mut conn = p.acquire().await.expect("conn");
            conn.execute("ALTER TABLE pruned DISABLE TRIGGER USER")
                .await
                .expect("disable");
            for sql in &sqls {
                conn.execute(sql.as_str()).await.expect("owner's statement");
            }
            conn.execute("ALTER TABLE pruned ENABLE TRIGGER USER")
                .await
                .expect("enable");
            conn.execute("DROP TABLE t").await.expect("drop");
        }
        AuditStore::Sqlite(p) => {
            let mut conn = p.acquire().await.expect("conn");
            for kind in ["update", "delete"] {
                conn.execute(format!("DROP TRIGGER IF EXISTS pruned_no_{kind}").as_str())
                    .await
                    .expect("drop trigger");
            }
            for sql in &sqls {
                conn.execute(sql.as_str()).await.expect("owner's statement");
            }
            conn.execute("DROP TABLE t").await.expect("drop");
        }
    }
}

/// The real binary killed with SIGKILL in the middle of a load of plain and streamed requests:
/// every exchange whose response a client received in full is in the store after a restart,
/// and the chain verifies.
#[tokio::test]
async fn sigkill_under_load_loses_no_exchange_a_client_was_answered_for() {
    use crate::binary::{logged_url, new_key, serve, start_mock, write_config};

    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(unique("sigkill"));
    std::fs::create_dir_all(&dir).expect("dir");
    let (_mock, mock_url) = start_mock(&dir);
    let (key, entry) = new_key("default");
    let db = dir.join("audit.db");
    let config = write_config(
        &dir,
        &format!(
            "  sqlite_path: {}\n  spool_path: {}\n",
            db.display(),
            dir.join("audit.spool").display()
        ),
        &entry,
    );
    let (mut warden, line) = serve(&config, &mock_url, &dir.join("warden-1.log"));
    let base = logged_url(&line, "addr");

    let answered = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut clients = Vec::new();
    for c in 0..16 {
        let (base, key, answered) = (base.clone(), key.clone(), answered.clone());
        clients.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            for i in 0.. {
                let stream = (c + i) % 2 == 0;
                let sent = http
                    .post(format!("{base}/v1/messages"))
                    .header("x-api-key", &key)
                    .json(&serde_json::json!({
                        "model": "claude-sonnet-4-5", "max_tokens": 20, "stream": stream,
                        "messages": [{"role": "user", "content": format!("request {c}/{i}")}]
                    }))
                    .send()
                    .await;
                let Ok(r) = sent else { return };
                let Some(id) = r
                    .headers()
                    .get("x-warden-request-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
                else {
                    return;
                };
                let status = r.status();
                // Whole: the body read to its end, and a stream up to its last event.
                let Ok(body) = r.text().await else { return };
                if status == 200 && (!stream || body.contains("message_stop")) {
                    answered.lock().expect("lock").push(id);
                }
            }
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    warden.kill();
    for c in clients {
        let _ = c.await;
    }
    let answered = answered.lock().expect("lock").clone();
    assert!(answered.len() > 50, "load ran: {} answered", answered.len());

    // The restart replays what the killed process had journaled but not written.
    let (_warden2, _) = serve(&config, &mock_url, &dir.join("warden-2.log"));
    let store = AuditStore::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("open");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let missing = loop {
        let present = store.existing_ids(&answered).await.expect("ids");
        let missing: Vec<&String> = answered
            .iter()
            .filter(|id| !present.contains(*id))
            .collect();
        if missing.is_empty() || tokio::time::Instant::now() > deadline {
            break missing.len();
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(
        missing,
        0,
        "of {} exchanges answered in full, {missing} have no record",
        answered.len()
    );
    assert!(
        store.verify(None).await.expect("verify").is_ok(),
        "the chain verifies"
    );
}

/// The real binary under load: the database goes away, Warden is stopped with SIGTERM while it
/// is spooling, the database comes back, and a new Warden replays what the old one spooled.
#[tokio::test]
async fn sigterm_while_spooling_and_a_restart_lose_nothing() {
    use crate::binary::{logged_url, new_key, serve, start_mock, write_config};

    let (store, url) = postgres_store().await;
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(unique("sigterm"));
    std::fs::create_dir_all(&dir).expect("dir");
    let (_mock, mock_url) = start_mock(&dir);
    let (key, entry) = new_key("default");
    let config = write_config(
        &dir,
        &format!(
            "  database_url: {url}\n  spool_path: {}\n",
            dir.join("audit.spool").display()
        ),
        &entry,
    );
    let launch = |log: &str| {
        let (proc, line) = serve(&config, &mock_url, &dir.join(log));
        (proc, logged_url(&line, "addr"))
    };
    let http = reqwest::Client::new();
    let send = |base: String| {
        let http = http.clone();
        let key = key.clone();
        async move {
            http.post(format!("{base}/v1/messages"))
                .header("x-api-key", key)
                .json(&serde_json::json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}))
                .send()
                .await
                .expect("sent")
                .status()
                .as_u16()
        }
    };

    let (mut warden, base) = launch("warden-1.log");
    for _ in 0..20 {
        assert_eq!(send(base.clone()).await, 200);
    }
    outage(&url, true).await;
    for _ in 0..30 {
        assert_eq!(
            send(base.clone()).await,
            200,
            "served while the database is down"
        );
    }
    assert!(warden.terminate(), "clean exit on SIGTERM");
    outage(&url, false).await;

    let (_warden2, _base2) = launch("warden-2.log");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    while store.count().await.expect("count") < 50 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the restart did not replay the spool"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        store.count().await.expect("count"),
        50,
        "every exchange exactly once"
    );
    assert!(
        store.verify(None).await.expect("verify").is_ok(),
        "intact chains"
    );
}

/// Refuses (and cuts) or restores connections to one test database, as an outage would.
pub async fn outage(url: &str, down: bool) {
    let admin = sqlx::PgPool::connect(&admin_url()).await.expect("admin");
    let db = &url[url.rfind('/').expect("db") + 1..];
    admin
        .execute(format!("ALTER DATABASE {db} ALLOW_CONNECTIONS {}", !down).as_str())
        .await
        .expect("alter");
    if down {
        admin
            .execute(
                format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"
                )
                .as_str(),
            )
            .await
            .expect("terminate");
    }
}

#[tokio::test]
async fn every_view_answers_on_both_stores() {
    for (store, _) in stores().await {
        store.insert(&chained(3)).await.expect("insert");
        // Three forwarded exchanges of one team and day, each with an email and a secret finding
        // and one tool call.
        for (view, expected) in [
            ("v_blocked_requests", 0),
            ("v_findings_by_team_day", 2),
            ("v_secrets_leaks_attempted", 3),
            ("v_tool_calls_with_approvals", 3),
        ] {
            let sql = format!("SELECT count(*) AS n FROM {view}");
            let n: i64 = match &store {
                AuditStore::Postgres(p) => sqlx::query(&sql).fetch_one(p).await.map(|r| r.get("n")),
                AuditStore::Sqlite(p) => sqlx::query(&sql).fetch_one(p).await.map(|r| r.get("n")),
            }
            .unwrap_or_else(|e| panic!("{} {view}: {e}", store.backend()));
            assert_eq!(n, expected, "{} {view}", store.backend());
        }
    }
}

#[tokio::test]
async fn who_owns_a_batch_or_file_is_kept_once_and_never_rewritten() {
    use warden::audit::store::OwnedObject;
    for (store, _) in stores().await {
        let owned = |id: &str, team: &str| OwnedObject {
            id: id.into(),
            kind: "file".into(),
            team: team.into(),
            principal: format!("someone@{team}"),
            exchange_id: "req_wdn_1".into(),
            created_at: warden::audit::ExchangeRecord::now(),
            detail: Some("sealed".into()),
        };
        store
            .insert_owned(&owned("file_a", "support"))
            .await
            .expect("insert");
        store
            .insert_owned(&owned("file_b", "platform"))
            .await
            .expect("insert");
        // A second claim on the same id does not change its owner.
        store
            .insert_owned(&owned("file_a", "platform"))
            .await
            .expect("insert");
        let a = store.owned("file_a").await.expect("read").expect("kept");
        let mut want = owned("file_a", "support");
        want.created_at = a.created_at;
        assert_eq!(a, want, "{}", store.backend());
        assert_eq!(store.owned("file_z").await.expect("read"), None);
        let ids = [
            "file_a".to_string(),
            "file_b".to_string(),
            "file_z".to_string(),
        ];
        let mine = store.owned_among("support", &ids).await.expect("read");
        assert_eq!(
            mine.into_iter().collect::<Vec<_>>(),
            ["file_a"],
            "{}",
            store.backend()
        );
        let err = match &store {
            AuditStore::Postgres(p) => sqlx::query("UPDATE owned_objects SET team = 'x'")
                .execute(p)
                .await
                .err(),
            AuditStore::Sqlite(p) => sqlx::query("UPDATE owned_objects SET team = 'x'")
                .execute(p)
                .await
                .err(),
        };
        assert!(
            err.is_some_and(|e| e.to_string().contains("append-only")),
            "{}",
            store.backend()
        );
    }
}
