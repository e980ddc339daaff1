//! The official SDKs, unchanged, through the real `warden` binary: the pinned `anthropic` Python
//! package and `@anthropic-ai/sdk` run their checks (tests/clients/) against `warden serve` in
//! front of `warden mock-upstream`. The test command (scripts/test) installs the pinned clients.
//! Afterwards, Warden's TRACE log of the whole run is searched for the keys.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::helpers::{UPSTREAM_KEY, fixtures_dir};

const BIN: &str = env!("CARGO_BIN_EXE_warden");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `warden ARGS`, copies its stderr to `log`, and returns once it logged its address.
fn start(args: &[&str], env: &[(&str, &str)], log: &Path) -> (Proc, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "trace")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("warden binary starts");
    let stderr = child.stderr.take().expect("stderr piped");
    let mut file = std::fs::File::create(log).expect("log file");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(addr) = line.split("addr=").nth(1) {
                let _ = tx.send(addr.split_whitespace().next().unwrap_or("").to_string());
            }
            let _ = writeln!(file, "{line}");
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("warden logged its listening address");
    (Proc(child), format!("http://{addr}"))
}

/// Creates a key with `warden keys new` exactly as the README says, returning (key, config line).
fn new_key() -> (String, String) {
    let out = Command::new(BIN)
        .args([
            "keys",
            "new",
            "--team",
            "default",
            "--principal",
            "sdk-tests@example.com",
        ])
        .output()
        .expect("keys new runs");
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let key = stderr
        .split_whitespace()
        .find(|w| w.starts_with("wdn_"))
        .expect("the key is printed on stderr")
        .to_string();
    let entry = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !entry.contains(&key),
        "stdout (the config entry) never holds the key"
    );
    (key, entry)
}

struct Stack {
    _mock: Proc,
    _warden: Proc,
    mock_url: String,
    warden_url: String,
    key: String,
    warden_log: PathBuf,
}

fn stack(name: &str) -> Stack {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("clients-{name}"));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let fixtures = fixtures_dir();
    let fixtures = fixtures.to_str().expect("utf8 path");
    let (mock, mock_url) = start(
        &[
            "mock-upstream",
            "--listen",
            "127.0.0.1:0",
            "--fixtures-dir",
            fixtures,
        ],
        &[],
        &dir.join("mock.log"),
    );
    let (key, entry) = new_key();
    let config = dir.join("warden.yaml");
    std::fs::write(&config, format!("keys:\n{entry}")).expect("config written");
    let warden_log = dir.join("warden.log");
    let (warden, warden_url) = start(
        &[
            "serve",
            "--config",
            config.to_str().expect("utf8"),
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            &mock_url,
        ],
        &[("ANTHROPIC_API_KEY", UPSTREAM_KEY)],
        &warden_log,
    );
    Stack {
        _mock: mock,
        _warden: warden,
        mock_url,
        warden_url,
        key,
        warden_log,
    }
}

fn run_client(stack: &Stack, program: &Path, args: &[&str], cwd: &Path) {
    let output = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .env("WARDEN_URL", &stack.warden_url)
        .env("WARDEN_KEY", &stack.key)
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

fn assert_log_clean(stack: &Stack) {
    let log = std::fs::read_to_string(&stack.warden_log).expect("warden log");
    assert!(log.contains("Request answered."), "the log was captured");
    assert!(!log.contains(UPSTREAM_KEY), "upstream key in Warden's log");
    assert!(!log.contains(&stack.key), "Warden key in Warden's log");
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
    let stack = stack("python");
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
    assert_log_clean(&stack);
}

#[test]
fn typescript_sdk() {
    let node_dir = root().join("tests/clients/node");
    assert!(
        node_dir.join("node_modules/@anthropic-ai/sdk").exists(),
        "the pinned TypeScript SDK is missing: run `scripts/test`, which installs it"
    );
    let stack = stack("node");
    run_client(&stack, Path::new("node"), &["--test"], &node_dir);
    assert_log_clean(&stack);
}
