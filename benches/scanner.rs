//! Scanner throughput (criterion) with the bundled `default` policy's rules: clean prose, source
//! code, and text dense with findings; and the reply stage's cost per streamed text delta.
//!
//! Run: `cargo bench --bench scanner`. `DENSE_UNIT="…"` replaces the unit the dense input repeats,
//! to see what one kind of finding costs.

use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use warden::api::SseEvent;
use warden::filter::ResponseStage;
use warden::filter::reply::ReplyGuard;
use warden::policy::PolicySet;

const PROSE: &str = "The quarterly review covered the migration of the billing service to the new cluster, \
the staffing plan for the support rotation, and the open questions about data retention. \
Several teams asked whether the rollout could be staged by region; the answer was yes, with a \
two-week soak in each. Latency targets were met in every region except one, where a noisy \
neighbour on shared storage caused tail spikes that the platform team is still chasing. ";

fn corpus(seed: &str, bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + seed.len());
    while s.len() < bytes {
        s.push_str(seed);
    }
    s
}

fn source_code() -> String {
    // Real code: this project's own sources.
    let mut s = String::new();
    for f in [
        "src/server/relay.rs",
        "src/detect/mod.rs",
        "src/api/sse.rs",
        "src/filter/data.rs",
        "src/config.rs",
    ] {
        s.push_str(&std::fs::read_to_string(f).unwrap_or_default());
    }
    corpus(&s, 256 * 1024)
}

fn dense() -> String {
    let unit = "Contact jane.doe@example.com or +44 20 7946 0958; card 4539 1488 0343 6467; \
key AKIAZ3MSJV7WQ2PLX4NB; token ghp_R7vK2mQ9xW4pL8nT3yB6cF1dH5jS0aZ2eU4i; host 10.20.3.14; \
IBAN DE89 3704 0044 0532 0130 00. Nothing else of note in this line. ";
    let unit = std::env::var("DENSE_UNIT").unwrap_or(unit.to_string());
    corpus(&unit, 256 * 1024)
}

fn bench(c: &mut Criterion) {
    let set = PolicySet::load(Path::new("policies")).expect("bundled policies load");
    let policy = set
        .for_team("default", false)
        .expect("default policy")
        .policy
        .clone();
    let scanner = &policy.scanner;
    let inputs = [
        ("clean_prose", corpus(PROSE, 256 * 1024)),
        ("source_code", source_code()),
        ("dense_findings", dense()),
    ];
    let mut g = c.benchmark_group("scanner");
    for (name, text) in &inputs {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(*name, |b| b.iter(|| scanner.scan(text).len()));
    }
    g.finish();

    // The reply stage on a stream of 20-byte text deltas, with pseudonyms to restore.
    let restore = Arc::new(vec![(
        "<EMAIL_1>".to_string(),
        "jane.doe@example.com".to_string(),
    )]);
    let deltas: Vec<SseEvent> = PROSE
        .as_bytes()
        .chunks(20)
        .map(|c| {
            SseEvent::from_json(&json!({
                "type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": String::from_utf8_lossy(c)}
            }))
        })
        .collect();
    let start = SseEvent::from_json(
        &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    );
    let mut g = c.benchmark_group("reply_stage");
    g.throughput(Throughput::Elements(deltas.len() as u64));
    g.bench_function("text_deltas", |b| {
        b.iter(|| {
            let mut guard = ReplyGuard::new(policy.clone(), restore.clone(), Default::default());
            let mut out = Vec::new();
            guard.on_event(start.clone(), &mut out).expect("ok");
            for d in &deltas {
                guard.on_event(d.clone(), &mut out).expect("ok");
            }
            out.len()
        })
    });
    g.finish();

    // Each delta timed on its own, for the per-delta p99 (criterion gives means).
    let mut ns: Vec<u128> = Vec::with_capacity(deltas.len() * 200);
    for _ in 0..200 {
        let mut guard = ReplyGuard::new(policy.clone(), restore.clone(), Default::default());
        let mut out = Vec::new();
        guard.on_event(start.clone(), &mut out).expect("ok");
        for d in &deltas {
            let d = d.clone();
            let t = std::time::Instant::now();
            guard.on_event(d, &mut out).expect("ok");
            ns.push(t.elapsed().as_nanos());
            out.clear();
        }
    }
    ns.sort_unstable();
    let p = |q: f64| ns[((ns.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
    println!(
        "reply_stage per text delta ({} timed): p50 {:.2} µs, p99 {:.2} µs, max {:.1} µs",
        ns.len(),
        p(0.5),
        p(0.99),
        p(1.0)
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
