//! The operator commands, run as the binary: policy check/test/explain and eval.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_warden");

fn run(args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn policy_check_and_test_pass_on_the_bundled_policies() {
    let (ok, out) = run(&["policy", "check", "policies"]);
    assert!(ok, "{out}");
    assert!(out.contains("3 policies valid"), "{out}");
    let (ok, out) = run(&["policy", "test", "policies"]);
    assert!(ok, "{out}");
    assert!(out.contains(" 0 failed"), "{out}");
}

#[test]
fn a_broken_policy_fails_check_naming_file_line_and_field() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("broken-policies");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("default.yaml"),
        "classes:\n  secrets:\n    action: redact\n    colour: blue\n",
    )
    .expect("write");
    let (ok, out) = run(&["policy", "check", dir.to_str().expect("utf8")]);
    assert!(!ok);
    assert!(out.contains("default.yaml:4"), "{out}");
    assert!(out.contains("classes.secrets"), "{out}");
    assert!(out.contains("colour"), "{out}");
}

#[test]
fn a_failing_fixture_makes_policy_test_exit_non_zero() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("failing-fixture");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("default.yaml"),
        "classes:\n  secrets: { action: redact }\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("default.tests.yaml"),
        "tests:\n  - name: wrongly expects a block\n    request: {model: m, max_tokens: 5, messages: [{role: user, content: 'key AKIAZ3MSJV7WQ2PLX4NB'}]}\n    expect: {decision: block}\n",
    )
    .expect("write");
    let (ok, out) = run(&["policy", "test", dir.to_str().expect("utf8")]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("FAIL") && out.contains("expected block, got forward"),
        "{out}"
    );
}

#[test]
fn explain_shows_findings_and_the_rewritten_request_without_sending() {
    let file = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("explain.json");
    std::fs::write(
        &file,
        r#"{"model":"claude-sonnet-4-5","max_tokens":50,"messages":[{"role":"user","content":"mail jane.doe@example.com the key AKIAZ3MSJV7WQ2PLX4NB"}]}"#,
    )
    .expect("write");
    let (ok, out) = run(&[
        "policy",
        "explain",
        "--team",
        "default",
        file.to_str().expect("utf8"),
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains("pii.email") && out.contains("secrets.aws_access_key_id"),
        "{out}"
    );
    assert!(
        out.contains("<EMAIL_1>") && out.contains("[REDACTED:aws_access_key_id]"),
        "{out}"
    );
    assert!(
        !out.contains("AKIAZ3MSJV7WQ2PLX4NB"),
        "the secret is not printed"
    );
}

/// `policy explain -` reads the request from stdin, as a pipe from another tool gives it.
#[test]
fn explain_reads_the_request_from_stdin() {
    use std::io::Write as _;
    let mut child = Command::new(BIN)
        .args(["policy", "explain", "--team", "default", "-"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(br#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"mail jane.doe@example.com"}]}"#)
        .expect("written");
    let out = child.wait_with_output().expect("ends");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("pii.email") && text.contains("<EMAIL_1>"),
        "{text}"
    );
}

#[test]
fn eval_reports_precision_and_recall() {
    let (ok, out) = run(&[
        "eval",
        "secrets",
        "--dataset",
        "tests/fixtures/eval/secrets-smoke.jsonl",
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("precision 1.000  recall 1.000"), "{out}");
    assert!(out.contains("MB/s"));
}

#[test]
fn eval_injection_holds_attack_categories_out_of_training_fold_by_fold() {
    let holdout = |folds: &str| {
        run(&[
            "eval",
            "injection",
            "--dataset",
            "tests/fixtures/eval/injection-categories.jsonl",
            "--holdout-categories",
            folds,
        ])
    };
    let (ok, out) = holdout("2");
    assert!(ok, "{out}");
    assert!(out.contains("4 attack categories in 2 folds"), "{out}");
    // Two categories of six attack rows each per fold, tested against the clean validation rows.
    for fold in ["fold 0: 12 held-out attacks", "fold 1: 12 held-out attacks"] {
        assert!(out.contains(fold), "{out}");
    }
    assert!(out.contains("mean over 2 folds: TPR"), "{out}");

    let (ok, out) = holdout("5");
    assert!(!ok, "more folds than categories must fail: {out}");
    assert!(
        out.contains("4 attack categories, fewer than 5 folds"),
        "{out}"
    );
}

/// The README's first run, in a directory with no config: `keys new --config warden.yaml`
/// makes the file, and `serve` with flags and variables on top of it starts with the key and
/// answers it. A config that is only key entries (no `keys:` line) is an error naming the file,
/// and with no keys the hint comes after start-up and names a command that works from there.
#[tokio::test]
async fn a_newcomers_first_key_works_the_first_time() {
    use crate::binary::{start_line_in, start_mock};
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("newcomer-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::os::unix::fs::symlink(crate::helpers::bundled_policies(), dir.join("policies"))
        .expect("policies");
    let out = Command::new(BIN)
        .current_dir(&dir)
        .args([
            "keys",
            "new",
            "--team",
            "default",
            "--principal",
            "you@example.com",
        ])
        .args(["--config", "warden.yaml"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let key = stderr
        .split_whitespace()
        .find(|w| w.starts_with("wdn_"))
        .expect("the key on stderr")
        .to_string();
    let config = std::fs::read_to_string(dir.join("warden.yaml")).expect("warden.yaml made");
    assert!(
        config.starts_with("keys:") && !config.contains(&key),
        "{config}"
    );

    let (_mock, mock_url) = start_mock(&dir);
    let env = [("ANTHROPIC_API_KEY", crate::helpers::UPSTREAM_KEY)];
    let serve = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        mock_url.as_str(),
        "--admin-listen",
        "127.0.0.1:0",
    ];
    let (_warden, line) = start_line_in(Some(&dir), &serve, &env, &dir.join("warden.log"));
    let url = crate::binary::logged_url(&line, "addr");
    let answer = reqwest::Client::new()
        .post(format!("{url}/v1/messages"))
        .header("x-api-key", &key)
        .header("anthropic-version", "2023-06-01")
        .json(
            &serde_json::json!({"model": "claude-sonnet-4-5", "max_tokens": 10,
                                  "messages": [{"role": "user", "content": "Hi"}]}),
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(answer.status(), 200);

    // The old mistake: only the entry, no `keys:` line. An error naming the file, with flags.
    let broken = dir.join("broken");
    std::fs::create_dir_all(&broken).expect("dir");
    let entry = config.lines().nth(1).expect("the entry line");
    std::fs::write(broken.join("warden.yaml"), format!("{entry}\n")).expect("write");
    let out = Command::new(BIN)
        .current_dir(&broken)
        .args(serve)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warden.yaml") && stderr.contains("top level is a list"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("no Warden keys"),
        "no hint for a start that failed: {stderr}"
    );

    // No keys: the hint, after start-up, names this binary and the config file.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).expect("dir");
    std::os::unix::fs::symlink(crate::helpers::bundled_policies(), empty.join("policies"))
        .expect("policies");
    let log = empty.join("warden.log");
    let (_bare, _) = start_line_in(Some(&empty), &serve, &env, &log);
    let mut text = String::new();
    for _ in 0..100 {
        text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("keys new") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let listening = text.find("Warden is listening").expect("started");
    let hint = text.find("no Warden keys").expect("the hint");
    assert!(hint > listening, "{text}");
    assert!(
        text.contains(&format!(
            "{BIN} keys new --team default --principal you@example.com --config warden.yaml"
        )),
        "{text}"
    );
}

/// `warden audit search` / `verify` where there is no store: one clear error that says where it
/// looked and how to name the store, and nothing created.
#[test]
fn audit_commands_without_a_store_say_where_they_looked_and_create_nothing() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("no-store-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).expect("dir");
    for args in [
        &["audit", "search"][..],
        &["audit", "verify"],
        &["audit", "show", "req_x"],
    ] {
        let out = Command::new(BIN)
            .current_dir(&dir)
            .args(args)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}: {stderr}");
        assert!(stderr.contains("no audit store at"), "{args:?}: {stderr}");
        assert!(stderr.contains("--database-url"), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one error: {stderr}");
        let left: Vec<_> = std::fs::read_dir(&dir).expect("dir").flatten().collect();
        assert!(left.is_empty(), "{args:?} created {left:?}");
    }
    // A file that is not an audit store is named as such.
    std::fs::write(dir.join("other.db"), b"").expect("write");
    let out = Command::new(BIN)
        .current_dir(&dir)
        .args(["audit", "search", "--database-url", "sqlite://other.db"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("holds no audit tables"), "{stderr}");
    assert!(!stderr.contains("no such table"), "{stderr}");
}

/// At the default log level, probes are not logged (every orchestrator sends one every few
/// seconds) but a refused request is, naming the rule as the audit row does.
#[tokio::test]
async fn the_info_log_is_the_traffic_not_the_probes() {
    use crate::binary::{logged_url, start_line_in, start_mock};
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("info-log-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (_mock, mock_url) = start_mock(&dir);
    let config = dir.join("warden.yaml");
    std::fs::write(
        &config,
        format!(
            "policies:\n  dir: {}\naudit:\n  sqlite_path: {}\n  spool_path: {}\nkeys:\n  - {{ id: k, principal: p, team: default, sha256: {} }}\n",
            crate::helpers::bundled_policies().display(),
            dir.join("audit.db").display(),
            dir.join("audit.spool").display(),
            "0".repeat(64)
        ),
    )
    .expect("config");
    let log = dir.join("warden.log");
    let args = [
        "serve",
        "--config",
        config.to_str().expect("utf8"),
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        mock_url.as_str(),
    ];
    let env = [
        ("RUST_LOG", "info"),
        ("WARDEN_ADMIN_LISTEN", "127.0.0.1:0"),
        ("ANTHROPIC_API_KEY", crate::helpers::UPSTREAM_KEY),
    ];
    let (_warden, line) = start_line_in(None, &args, &env, &log);
    let url = logged_url(&line, "addr");
    let http = reqwest::Client::new();
    for path in ["/healthz", "/readyz", "/healthz"] {
        let probe = http
            .get(format!("{url}{path}"))
            .send()
            .await
            .expect("probe");
        assert_eq!(probe.status(), 200, "{path}");
    }
    let refused = http
        .post(format!("{url}/v1/messages"))
        .json(&serde_json::json!({"model": "m", "max_tokens": 1, "messages": []}))
        .send()
        .await
        .expect("sent");
    assert_eq!(refused.status(), 401);
    let mut text = String::new();
    for _ in 0..100 {
        text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("Request refused") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let refusal = text
        .lines()
        .find(|l| l.contains("Request refused"))
        .unwrap_or_else(|| panic!("no refusal line:\n{text}"));
    assert!(
        refusal.contains("rule=\"authentication\"") || refusal.contains("rule=authentication"),
        "{refusal}"
    );
    assert!(
        !text.contains("/healthz") && !text.contains("/readyz"),
        "{text}"
    );
}
