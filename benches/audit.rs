//! Audit throughput: records per second from `submit` to committed rows, into Postgres (a fresh
//! database on WARDEN_TEST_DATABASE_URL, default 127.0.0.1:5432) and into the embedded SQLite
//! store; and what `submit` costs the request path.
//!
//! Run: `cargo bench --bench audit` (AUDIT_RECORDS sets the count, default 100,000;
//! AUDIT_PROMPT_REPEAT the prompt's length in 55-byte sentences, default 8: 75 makes it 4 KB).

use std::time::Instant;

use sqlx::Executor;
use warden::audit::record::{Decision, ExchangeRecord, FindingRow};
use warden::audit::{AuditStore, AuditWriter, WriterConfig};

fn record(i: usize) -> ExchangeRecord {
    ExchangeRecord {
        id: format!("req_bench_{i}"),
        occurred_at: ExchangeRecord::now(),
        upstream_request_id: Some(format!("req_up_{i}")),
        key_id: "key_bench".into(),
        principal: "bench@example.com".into(),
        team: "default".into(),
        client_addr: Some("127.0.0.1".into()),
        user_agent: Some("Anthropic/Python 2.10.0".into()),
        traceparent: None,
        parent_id: None,
        custom_id: None,
        cache_read_tokens: None,
        cache_write_tokens: None,
        endpoint: "POST /v1/messages".into(),
        model: Some("claude-sonnet-4-5".into()),
        streamed: i % 2 == 0,
        policy_name: Some("default".into()),
        policy_version: Some("332a4a16f0a31786".into()),
        decision: Decision::Forwarded,
        status: 200,
        rule: None,
        latency_us: 1500,
        upstream_latency_us: Some(1200),
        input_tokens: Some(1000),
        output_tokens: Some(200),
        storage_mode: "redacted".into(),
        prompt: Some(
            "Please review this function and suggest improvements. ".repeat(
                std::env::var("AUDIT_PROMPT_REPEAT")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(8),
            ),
        ),
        output: Some("Here are three improvements.".into()),
        findings: vec![FindingRow {
            class: "secrets".into(),
            rule: "secrets.github_pat".into(),
            action: "redact".into(),
            location: "messages[0].content".into(),
            span_start: 10,
            span_end: 50,
            fingerprint: "a1b2c3d4e5f60718293a4b5c6d7e8f90".into(),
        }],
        tool_calls: Vec::new(),
        tool_results: Vec::new(),
    }
}

async fn run(name: &str, store: AuditStore, n: usize) {
    let spool =
        std::env::temp_dir().join(format!("warden-bench-{}-{name}.spool", std::process::id()));
    let (writer, _task) = AuditWriter::start(
        store.clone(),
        WriterConfig {
            batch_rows: 1_000,
            flush_interval_ms: 50,
            queue_capacity: n + 1,
            queue_max_bytes: usize::MAX,
            spool_path: spool,
            retry_interval_ms: 1_000,
            migrate_on_recover: false,
            ..WriterConfig::default()
        },
        format!("bench-{name}"),
    );
    let records: Vec<ExchangeRecord> = (0..n).map(record).collect();
    let started = Instant::now();
    let mut submit_ns = 0u128;
    for r in records {
        let t = Instant::now();
        let _ = writer.submit(r);
        submit_ns += t.elapsed().as_nanos();
    }
    writer.flush().await;
    let secs = started.elapsed().as_secs_f64();
    let stored = store.count().await.unwrap_or(0);
    println!(
        "{name:<9} {n} records in {secs:.2} s = {:>8.0} records/s into the store ({stored} rows, 1 finding each); submit() {:.2} µs mean",
        n as f64 / secs,
        submit_ns as f64 / n as f64 / 1000.0
    );
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let n: usize = std::env::var("AUDIT_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let admin_url = std::env::var("WARDEN_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let admin = sqlx::PgPool::connect(&admin_url)
            .await
            .expect("Postgres answers");
        let db = format!("warden_bench_{}", std::process::id());
        admin
            .execute(format!("CREATE DATABASE {db}").as_str())
            .await
            .expect("create");
        let url = format!(
            "{}/{db}",
            &admin_url[..admin_url.rfind('/').expect("db in url")]
        );
        let pg = AuditStore::connect(&url).await.expect("connect");
        pg.migrate().await.expect("migrate");
        run("postgres", pg.clone(), n).await;
        if let AuditStore::Postgres(p) = pg {
            p.close().await;
        }
        let _ = admin
            .execute(format!("DROP DATABASE {db} WITH (FORCE)").as_str())
            .await;

        let path = std::env::temp_dir().join(format!("warden-bench-{}.db", std::process::id()));
        let sqlite = AuditStore::open_sqlite(&path).await.expect("sqlite");
        sqlite.migrate().await.expect("migrate");
        run("sqlite", sqlite, n).await;
        let _ = std::fs::remove_file(&path);
    });
}
