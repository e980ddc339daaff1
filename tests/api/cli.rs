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
