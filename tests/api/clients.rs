//! The official SDKs, unchanged, through the real `warden` binary: the pinned `anthropic` Python
//! package and `@anthropic-ai/sdk` run their checks (tests/clients/) against `warden serve` in
//! front of `warden mock-upstream`. The test command (scripts/test) installs the pinned clients.
//! Afterwards, Warden's TRACE log of the whole run is searched for the keys.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::binary::Stack;
use crate::helpers::fixtures_dir;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run_client(stack: &Stack, program: &Path, args: &[&str], cwd: &Path) {
    let output = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .env("WARDEN_URL", &stack.warden_url)
        .env("WARDEN_KEY", &stack.key)
        .env("WARDEN_SUPPORT_KEY", &stack.support_key)
        .env("WARDEN_PLATFORM_KEY", &stack.platform_key)
        .env("WARDEN_ADMIN_URL", &stack.admin_url)
        .env("WARDEN_ADMIN_KEY", &stack.admin_key)
        .env("WARDEN_BIN", env!("CARGO_BIN_EXE_warden"))
        .env("POLICY_DIR", &stack.policy_dir)
        .env("MOCK_URL", &stack.mock_url)
        .env("FIXTURES_DIR", fixtures_dir())
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("ANTHROPIC_BASE_URL")
        .env_remove("ANTHROPIC_AUTH_TOKEN")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}\n{stderr}");
    assert!(
        output.status.success(),
        "client suite failed:\n{stdout}\n{stderr}"
    );
}

#[test]
fn python_sdk() {
    let python = std::env::var_os("WARDEN_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/client-venv/bin/python"));
    assert!(
        python.exists(),
        "{} is missing: run `scripts/test`, which installs the pinned Python SDK",
        python.display()
    );
    let stack = Stack::start("python", "worker_threads: 1\n");
    run_client(
        &stack,
        &python,
        &[
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/clients/python",
        ],
        &root(),
    );
    stack.assert_log_clean();
}

#[test]
fn typescript_sdk() {
    let node_dir = root().join("tests/clients/node");
    assert!(
        node_dir.join("node_modules/@anthropic-ai/sdk").exists(),
        "the pinned TypeScript SDK is missing: run `scripts/test`, which installs it"
    );
    let stack = Stack::start("node", "");
    run_client(&stack, Path::new("node"), &["--test"], &node_dir);
    stack.assert_log_clean();
}

/// The real Claude Code CLI (pinned in tests/clients/claude-code), run non-interactively through
/// the `warden` binary and the mock with nonessential traffic off: a plain session, then an
/// agent loop in which it runs a Bash tool call and sends the result back. Claude Code retries a
/// refused request without the features it asked for, so success alone would hide a 400:
/// Warden's own count of the answers it gave says there was none.
#[test]
fn claude_code_cli() {
    let dir = root().join("tests/clients/claude-code");
    let claude = dir.join("node_modules/.bin/claude");
    assert!(
        claude.exists(),
        "the pinned Claude Code CLI is missing: run `scripts/test`, which installs it"
    );
    let stack = Stack::start("claude-code", "");
    let home = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("claude-code-home");
    let work = home.join("work");
    std::fs::create_dir_all(&work).expect("work dir");
    let run = |prompt: &str, extra: &[&str], headers: &str| {
        let output = Command::new(&claude)
            .args(["-p", prompt, "--output-format", "json"])
            .args(extra)
            .current_dir(&work)
            .env("HOME", &home)
            .env("ANTHROPIC_BASE_URL", &stack.warden_url)
            .env("ANTHROPIC_API_KEY", &stack.key)
            .env("ANTHROPIC_CUSTOM_HEADERS", headers)
            .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
            .env("DISABLE_AUTOUPDATER", "1")
            .env_remove("ANTHROPIC_AUTH_TOKEN")
            .output()
            .expect("claude runs");
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        assert!(
            output.status.success(),
            "claude failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let v: serde_json::Value = serde_json::from_str(&stdout).expect("claude's JSON result");
        assert_eq!(v["is_error"], false, "{v}");
        v
    };
    let hello = run("Say hello", &[], "");
    assert_eq!(hello["result"], "Hello from the Warden mock upstream.");
    let tool = run(
        "Run the echo",
        &["--allowedTools", "Bash(echo:*)"],
        "x-mock-scenario: tool_use\nx-mock-tool: {\"name\":\"Bash\",\"input\":{\"command\":\"echo warden-tool-ran\",\"description\":\"echo\"}}\nx-mock-after-tool: parrot",
    );
    assert_eq!(tool["result"], "warden-tool-ran", "{tool}");
    assert_eq!(tool["num_turns"], 2, "{tool}");
    let metrics = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            reqwest::get(format!("{}/metrics", stack.admin_url))
                .await?
                .text()
                .await
        })
        .expect("metrics");
    let answered: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("warden_requests_total{"))
        .collect();
    assert!(!answered.is_empty(), "{metrics}");
    assert!(
        answered.iter().all(|l| l.contains("status=\"200\"")),
        "every request Claude Code sent was answered 200: {answered:?}"
    );
    stack.assert_log_clean();
}
