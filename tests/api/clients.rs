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
