//! Load benchmark: the same requests straight to `warden mock-upstream` and through `warden serve`
//! in front of it, side by side in one run, with the release binary as separate processes.
//!
//! Prints p50/p99 latency at concurrency 1, the latency Warden adds, time to first byte on
//! streams, requests per second at concurrency 32, and Warden's resident memory.
//!
//! Run: `cargo bench --bench load` (env `LOAD_SECONDS` sets the duration of each RPS phase,
//! `LOAD_REQUESTS` the sequential requests per target; `LOAD_AUDIT_COMPARE=1` adds a Warden with
//! auditing off; `LOAD_HELD=50` adds a phase of 500 concurrent streams, 50 of them held for approval).
//!
//! Why a small generator here rather than `oha`: it must measure time to the first SSE byte, run
//! both targets with the same client in one process, and start and read Warden's RSS itself; and
//! nothing may be downloaded at run time. It uses reqwest with one pooled keep-alive client per
//! worker and HdrHistogram for percentiles.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_warden");
const WARDEN_KEY: &str = "wdn_BenchmarkKey000000000000000000000000000";
/// Sequential requests per target at c=1 (`LOAD_REQUESTS` overrides).
const SEQUENTIAL_REQUESTS: usize = 3000;
const WARMUP_REQUESTS: usize = 300;
const CONCURRENCY: usize = 32;
/// A key of the bundled `platform` team, whose policy holds `git push` for approval.
const PLATFORM_KEY: &str = "wdn_BenchmarkPlatformKey00000000000000000000";
/// Text deltas per stream in the held-streams phase.
const HELD_PHASE_DELTAS: usize = 200;

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `LOAD_PIN` pins the processes with `taskset` (util-linux):
/// - `split`: the client and the mock share CPU 0 and Warden has CPU 1, so Warden's capacity is
///   measured against the upstream path rather than against its own load generator;
/// - `one`: everything on CPU 0, so no request waits for a wake-up on another core and the added
///   latency is Warden's own processing.
fn pin_mode() -> Option<String> {
    std::env::var("LOAD_PIN")
        .ok()
        .filter(|v| v == "split" || v == "one")
}

fn pinned() -> bool {
    pin_mode().is_some()
}

fn command(cpu: &str) -> Command {
    command_for(BIN, cpu)
}

fn command_for(program: &str, cpu: &str) -> Command {
    if pinned() {
        let mut c = Command::new("taskset");
        c.args(["-c", cpu, program]);
        c
    } else {
        Command::new(program)
    }
}

fn start(cpu: &str, args: &[&str], env: &[(&str, &str)]) -> (Proc, String) {
    let mut child = command(cpu)
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn,warden::cli=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("warden binary starts");
    let stderr = child.stderr.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(addr) = line.split("addr=").nth(1) {
                let _ = tx.send(addr.split_whitespace().next().unwrap_or("").to_string());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("address logged");
    (Proc(child), format!("http://{addr}"))
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[derive(Clone)]
struct Target {
    name: &'static str,
    url: String,
    key_header: (&'static str, String),
}

fn body(stream: bool) -> String {
    // About 4 KB, like a modest prompt.
    let text = "Please review this function and suggest improvements. ".repeat(73);
    json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 512,
        "stream": stream,
        "messages": [{"role": "user", "content": text}]
    })
    .to_string()
}

async fn one(client: &reqwest::Client, t: &Target, body: &str) -> (Duration, Duration) {
    let started = Instant::now();
    let r = client
        .post(format!("{}/v1/messages", t.url))
        .header(t.key_header.0, &t.key_header.1)
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("request sent");
    assert!(r.status().is_success(), "{}: status {}", t.name, r.status());
    let mut r = r;
    let first = r.chunk().await.expect("first chunk");
    let ttfb = started.elapsed();
    assert!(first.is_some());
    while r.chunk().await.expect("chunk").is_some() {}
    (ttfb, started.elapsed())
}

fn sequential_requests() -> usize {
    std::env::var("LOAD_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(SEQUENTIAL_REQUESTS)
}

struct Sequential {
    total: Histogram<u64>,
    ttfb: Histogram<u64>,
}

/// Interleaves the targets request by request, so drift on the machine hits both alike.
async fn sequential(targets: &[Target], stream: bool) -> Vec<Sequential> {
    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .expect("client");
    let body = body(stream);
    let mut out: Vec<Sequential> = targets
        .iter()
        .map(|_| Sequential {
            total: Histogram::new(3).expect("histogram"),
            ttfb: Histogram::new(3).expect("histogram"),
        })
        .collect();
    for i in 0..WARMUP_REQUESTS + sequential_requests() {
        for (t, h) in targets.iter().zip(out.iter_mut()) {
            let (ttfb, total) = one(&client, t, &body).await;
            if i >= WARMUP_REQUESTS {
                let _ = h.total.record(total.as_micros() as u64);
                let _ = h.ttfb.record(ttfb.as_micros() as u64);
            }
        }
    }
    out
}

async fn rps(t: &Target, seconds: u64) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let body = Arc::new(body(false));
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let (t, done, stop, body) = (t.clone(), done.clone(), stop.clone(), body.clone());
        workers.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .tcp_nodelay(true)
                .build()
                .expect("client");
            while !stop.load(Ordering::Relaxed) {
                one(&client, &t, &body).await;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await; // warm-up
    let before = done.load(Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let completed = done.load(Ordering::Relaxed) - before;
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    completed as f64 / elapsed
}

/// `n` streams at once, each a reply of [`HELD_PHASE_DELTAS`] text deltas; the time each took
/// to complete.
async fn concurrent_streams(t: &Target, n: usize) -> Histogram<u64> {
    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .expect("client");
    let body = Arc::new(body(true));
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (client, t, body) = (client.clone(), t.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let started = Instant::now();
            let mut r = client
                .post(format!("{}/v1/messages", t.url))
                .header(t.key_header.0, &t.key_header.1)
                .header("anthropic-version", "2023-06-01")
                .header("content-type", "application/json")
                .header("x-mock-scenario", format!("long:{HELD_PHASE_DELTAS}"))
                .body(body.to_string())
                .send()
                .await
                .expect("request sent");
            assert!(r.status().is_success(), "{}: status {}", t.name, r.status());
            while r.chunk().await.expect("chunk").is_some() {}
            started.elapsed()
        }));
    }
    let mut h = Histogram::new(3).expect("histogram");
    for task in tasks {
        let took = task.await.expect("stream task");
        let _ = h.record(took.as_micros() as u64);
    }
    h
}

/// Opens `n` streams whose tool call Warden holds for approval (nobody approves them while the
/// phase runs); they stay open until the returned tasks are aborted.
async fn held_streams(t: &Target, n: usize) -> Vec<tokio::task::JoinHandle<()>> {
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (client, t) = (client.clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            let mut r = client
                .post(format!("{}/v1/messages", t.url))
                .header("x-api-key", PLATFORM_KEY)
                .header("anthropic-version", "2023-06-01")
                .header("content-type", "application/json")
                .header("x-mock-scenario", "tool_use")
                .header(
                    "x-mock-tool",
                    r#"{"name":"Bash","input":{"command":"git push origin main"}}"#,
                )
                .body(body(true))
                .send()
                .await
                .expect("request sent");
            while let Ok(Some(_)) = r.chunk().await {}
        }));
    }
    tasks
}

/// Starts nginx as a single process (no master, no daemon) proxying to `upstream` with
/// keep-alive connections and no buffering (SSE passes through as it comes).
fn start_nginx(dir: &std::path::Path, upstream: &str, cpu: &str) -> (Proc, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let upstream = upstream.trim_start_matches("http://");
    let d = dir.display();
    let conf = dir.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/nginx-error.log warn;\n\
             events {{ worker_connections 4096; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/nginx-body;\n  proxy_temp_path {d}/nginx-proxy;\n\
               client_max_body_size 32m;\n\
               upstream mock {{ server {upstream}; keepalive 64; }}\n\
               server {{\n    listen 127.0.0.1:{port};\n    location / {{\n\
                 proxy_pass http://mock;\n      proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n\
                 proxy_buffering off;\n      proxy_request_buffering off;\n    }}\n  }}\n}}\n"
        ),
    )
    .expect("nginx config");
    let proc = command_for("nginx", cpu)
        .args([
            "-c",
            conf.to_str().expect("utf8"),
            "-e",
            &format!("{d}/nginx-error.log"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(Proc)
        .expect("nginx on PATH (LOAD_NGINX=1)");
    let url = format!("127.0.0.1:{port}");
    for _ in 0..100 {
        if std::net::TcpStream::connect(&url).is_ok() {
            return (proc, format!("http://{url}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nginx did not start: see {d}/nginx-error.log");
}

fn us(h: &Histogram<u64>, q: f64) -> u64 {
    h.value_at_quantile(q)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing useful: run only for real.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let seconds: u64 = std::env::var("LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    // Warden's runtime threads (WARDEN_WORKER_THREADS; 0 = one per core). The default here, 1,
    // is the sidecar setting docs/performance.md recommends.
    let warden_threads = std::env::var("WARDEN_WORKER_THREADS").unwrap_or_else(|_| "1".into());
    let (_mock, mock_url) = start("0", &["mock-upstream", "--listen", "127.0.0.1:0"], &[]);
    let (hash, platform_hash) = {
        use sha2::Digest;
        (
            hex::encode(sha2::Sha256::digest(WARDEN_KEY.as_bytes())),
            hex::encode(sha2::Sha256::digest(PLATFORM_KEY.as_bytes())),
        )
    };
    let dir = std::env::temp_dir().join(format!("warden-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    // LOAD_POLICIES picks the policy directory: the bundled `policies` (default team: secrets
    // redacted, PII pseudonymized, replies scanned), or `tests/fixtures/policies` for no filters.
    let policies = std::env::var("LOAD_POLICIES").unwrap_or_else(|_| "policies".into());
    let warden_cpu = if pin_mode().as_deref() == Some("one") {
        "0"
    } else {
        "1"
    };
    let start_warden = |name: &str, audit_enabled: bool| {
        let config = dir.join(format!("{name}.yaml"));
        std::fs::write(
            &config,
            format!(
                "admin:\n  listen: 127.0.0.1:0\npolicies:\n  dir: {policies}\naudit:\n  enabled: {audit_enabled}\n  sqlite_path: {}\n  spool_path: {}\n{}keys:\n  - {{ id: key_bench, principal: bench, team: default, sha256: {hash} }}\n  - {{ id: key_bench_platform, principal: bench, team: platform, sha256: {platform_hash} }}\n",
                dir.join(format!("{name}.db")).display(),
                dir.join(format!("{name}.spool")).display(),
                // LOAD_AUDIT_DATABASE_URL puts the audit store in Postgres instead of SQLite.
                std::env::var("LOAD_AUDIT_DATABASE_URL")
                    .map(|u| format!("  database_url: {u}\n"))
                    .unwrap_or_default()
            ),
        )
        .expect("config");
        start(
            warden_cpu,
            &[
                "serve",
                "--config",
                config.to_str().expect("utf8"),
                "--listen",
                "127.0.0.1:0",
                "--upstream",
                &mock_url,
            ],
            &[
                ("ANTHROPIC_API_KEY", "sk-ant-bench-upstream"),
                ("WARDEN_WORKER_THREADS", &warden_threads),
            ],
        )
    };
    let (warden, warden_url) = start_warden("warden", true);
    // LOAD_AUDIT_COMPARE=1: a second Warden, identical but with `audit.enabled: false`, joins
    // the sequential phases, so what auditing adds is measured side by side in the same run.
    let unaudited = std::env::var("LOAD_AUDIT_COMPARE")
        .is_ok_and(|v| v == "1")
        .then(|| start_warden("unaudited", false));
    // LOAD_NGINX=1: nginx (from PATH; nothing is downloaded) as a plain reverse proxy in front
    // of the same mock, one process like Warden's one worker thread: what any proxy costs on
    // this machine, the floor under Warden's figures.
    let nginx = std::env::var("LOAD_NGINX")
        .is_ok_and(|v| v == "1")
        .then(|| start_nginx(&dir, &mock_url, warden_cpu));
    let warden_pid = warden.0.id();
    if pinned() {
        let me = std::process::id().to_string();
        let ok = Command::new("taskset")
            .args(["-a", "-p", "-c", "0", &me])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "taskset could not pin the load generator");
    }
    let idle_rss = rss_kib(warden_pid, "VmRSS:");

    let direct = Target {
        name: "direct",
        url: mock_url,
        key_header: ("x-api-key", "sk-ant-bench-direct".into()),
    };
    let through = Target {
        name: "warden",
        url: warden_url,
        key_header: ("x-api-key", WARDEN_KEY.into()),
    };
    let mut targets = vec![direct.clone(), through.clone()];
    let nginx_target = nginx.as_ref().map(|(_, url)| Target {
        name: "nginx",
        url: url.clone(),
        key_header: ("x-api-key", "sk-ant-bench-direct".into()),
    });
    if let Some((_, url)) = &unaudited {
        targets.push(Target {
            name: "warden, audit off",
            url: url.clone(),
            key_header: ("x-api-key", WARDEN_KEY.into()),
        });
    }
    if let Some(t) = &nginx_target {
        targets.push(t.clone());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");

    println!(
        "Warden load benchmark: {} sequential requests per target (after {WARMUP_REQUESTS} warm-up), ~4 KB body; RPS over {seconds} s at c={CONCURRENCY}.",
        sequential_requests()
    );
    println!("Warden worker threads: {warden_threads} (0 = one per core); policies: {policies}.");
    match pin_mode().as_deref() {
        Some("one") => println!("Pinned (one): client, mock and Warden all on CPU 0."),
        Some(_) => println!("Pinned (split): client and mock on CPU 0, Warden on CPU 1."),
        None => println!(
            "Unpinned: client, mock and Warden share this machine's {} cores.",
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0)
        ),
    }
    let json = rt.block_on(sequential(&targets, false));
    let sse = rt.block_on(sequential(&targets, true));
    println!(
        "\n{:<34}{:>10}{:>10}{:>10}",
        "c=1 (µs)", "direct", "warden", "added"
    );
    let row = |label: &str, a: u64, b: u64| {
        println!("{label:<34}{a:>10}{b:>10}{:>10}", b as i64 - a as i64);
    };
    row(
        "non-streaming p50",
        us(&json[0].total, 0.5),
        us(&json[1].total, 0.5),
    );
    row(
        "non-streaming p99",
        us(&json[0].total, 0.99),
        us(&json[1].total, 0.99),
    );
    row(
        "streaming first byte p50",
        us(&sse[0].ttfb, 0.5),
        us(&sse[1].ttfb, 0.5),
    );
    row(
        "streaming first byte p99",
        us(&sse[0].ttfb, 0.99),
        us(&sse[1].ttfb, 0.99),
    );
    row(
        "streaming complete p50",
        us(&sse[0].total, 0.5),
        us(&sse[1].total, 0.5),
    );
    row(
        "streaming complete p99",
        us(&sse[0].total, 0.99),
        us(&sse[1].total, 0.99),
    );
    if unaudited.is_some() {
        // Added latency of each Warden (over direct), and what auditing adds on top.
        println!(
            "\n{:<34}{:>10}{:>10}{:>10}",
            "c=1 added (µs)", "audit off", "audit on", "on - off"
        );
        let added = |h: &[Sequential], pick: fn(&Sequential) -> &Histogram<u64>, i, q| {
            us(pick(&h[i]), q) as i64 - us(pick(&h[0]), q) as i64
        };
        let total: fn(&Sequential) -> &Histogram<u64> = |s| &s.total;
        let ttfb: fn(&Sequential) -> &Histogram<u64> = |s| &s.ttfb;
        for (label, h, pick, q) in [
            ("non-streaming p50", &json, total, 0.5),
            ("non-streaming p99", &json, total, 0.99),
            ("streaming first byte p50", &sse, ttfb, 0.5),
            ("streaming first byte p99", &sse, ttfb, 0.99),
            ("streaming complete p50", &sse, total, 0.5),
            ("streaming complete p99", &sse, total, 0.99),
        ] {
            let (off, on) = (added(h, pick, 2, q), added(h, pick, 1, q));
            println!("{label:<34}{off:>10}{on:>10}{:>10}", on - off);
        }
    }
    if nginx_target.is_some() {
        let n = targets.len() - 1;
        println!(
            "\n{:<34}{:>10}{:>10}",
            "c=1 added over direct (µs)", "nginx", "warden"
        );
        for (label, h, ttfb, q) in [
            ("non-streaming p50", &json, false, 0.5),
            ("non-streaming p99", &json, false, 0.99),
            ("streaming first byte p50", &sse, true, 0.5),
            ("streaming first byte p99", &sse, true, 0.99),
        ] {
            let pick = |i: usize| {
                let hist = if ttfb { &h[i].ttfb } else { &h[i].total };
                us(hist, q) as i64
            };
            println!(
                "{label:<34}{:>10}{:>10}",
                pick(n) - pick(0),
                pick(1) - pick(0)
            );
        }
    }

    let direct_rps = rt.block_on(rps(&direct, seconds));
    let warden_rps = rt.block_on(rps(&through, seconds));
    println!(
        "\nc={CONCURRENCY} non-streaming RPS: direct {direct_rps:.0}, warden {warden_rps:.0}, ratio {:.2}",
        warden_rps / direct_rps
    );
    if let Some((_, url)) = &unaudited {
        let t = Target {
            name: "warden, audit off",
            url: url.clone(),
            key_header: ("x-api-key", WARDEN_KEY.into()),
        };
        let off_rps = rt.block_on(rps(&t, seconds));
        println!(
            "c={CONCURRENCY} non-streaming RPS through Warden with auditing off: {off_rps:.0}, ratio {:.2}",
            off_rps / direct_rps
        );
    }
    if let Some(t) = &nginx_target {
        let nginx_rps = rt.block_on(rps(t, seconds));
        println!(
            "c={CONCURRENCY} non-streaming RPS through nginx: {nginx_rps:.0}, ratio {:.2}",
            nginx_rps / direct_rps
        );
    }
    println!(
        "Warden RSS: idle {:.1} MB, peak {:.1} MB",
        idle_rss as f64 / 1024.0,
        rss_kib(warden_pid, "VmHWM:") as f64 / 1024.0
    );

    // LOAD_HELD=N: N streams held for approval while LOAD_STREAMS (default 500) minus N others
    // run; the others' completion time with and without the held ones, and direct.
    if let Some(held) = std::env::var("LOAD_HELD")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        let total: usize = std::env::var("LOAD_STREAMS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(500);
        let others = total.saturating_sub(held);
        // Warm up the connection pools.
        rt.block_on(concurrent_streams(&direct, others));
        rt.block_on(concurrent_streams(&through, others));
        let d = rt.block_on(concurrent_streams(&direct, others));
        let w = rt.block_on(concurrent_streams(&through, others));
        let holding = rt.block_on(async {
            let tasks = held_streams(&through, held).await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            let h = concurrent_streams(&through, others).await;
            for t in tasks {
                t.abort();
            }
            h
        });
        println!(
            "\n{others} concurrent streams of {HELD_PHASE_DELTAS} deltas, completion time (ms): p50 / p99"
        );
        let ms = |h: &Histogram<u64>, q| us(h, q) as f64 / 1000.0;
        println!(
            "  direct                              {:>8.1} / {:>8.1}",
            ms(&d, 0.5),
            ms(&d, 0.99)
        );
        println!(
            "  through Warden                      {:>8.1} / {:>8.1}",
            ms(&w, 0.5),
            ms(&w, 0.99)
        );
        println!(
            "  through Warden, {held} others held      {:>8.1} / {:>8.1}",
            ms(&holding, 0.5),
            ms(&holding, 0.99)
        );
        // Under this load Warden is busy the whole time: what a delta costs is the extra time
        // to finish all streams, spread over every delta of every stream.
        let per_event = |h: &Histogram<u64>| {
            (us(h, 0.5) as f64 - us(&d, 0.5) as f64) / (others * HELD_PHASE_DELTAS) as f64
        };
        println!(
            "  Warden's time per delta, all streams together (µs): without held {:.1}; with {held} held {:.1}",
            per_event(&w),
            per_event(&holding)
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}
