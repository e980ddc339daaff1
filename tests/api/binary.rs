//! Running the real `warden` binary (mock-upstream + serve) as child processes, with Warden's
//! TRACE log captured to a file, for the SDK suites and the log-leak check.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::helpers::{UPSTREAM_KEY, fixtures_dir};

const BIN: &str = env!("CARGO_BIN_EXE_warden");

/// A child process killed when dropped.
pub struct Proc(Child);

impl Proc {
    /// SIGTERM, then waits for the process to exit; returns whether it exited cleanly.
    pub fn terminate(&mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        self.0.wait().is_ok_and(|s| s.success())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `warden ARGS`, copies its stderr to `log`, and returns once it logged its address.
pub fn start(args: &[&str], env: &[(&str, &str)], log: &Path) -> (Proc, String) {
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
pub fn new_key(team: &str) -> (String, String) {
    let out = Command::new(BIN)
        .args([
            "keys",
            "new",
            "--team",
            team,
            "--principal",
            "tests@example.com",
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

/// `warden mock-upstream` and `warden serve` in front of it, configured as the README says.
pub struct Stack {
    _mock: Proc,
    _warden: Proc,
    pub mock_url: String,
    pub warden_url: String,
    pub key: String,
    /// A key of the `support` team.
    pub support_key: String,
    /// This stack's own copy of the bundled policies, reloaded every 100 ms.
    pub policy_dir: PathBuf,
    pub warden_log: PathBuf,
}

impl Stack {
    /// `extra_config` is appended to the generated warden.yaml.
    pub fn start(name: &str, extra_config: &str) -> Self {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("stack-{name}"));
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
        let (key, entry) = new_key("default");
        let (support_key, support_entry) = new_key("support");
        let policy_dir = dir.join("policies");
        let _ = std::fs::remove_dir_all(&policy_dir);
        std::fs::create_dir_all(&policy_dir).expect("policy dir");
        let bundled = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies");
        for file in std::fs::read_dir(bundled)
            .expect("bundled policies")
            .flatten()
        {
            std::fs::copy(file.path(), policy_dir.join(file.file_name())).expect("copy policy");
        }
        let config = dir.join("warden.yaml");
        std::fs::write(
            &config,
            format!(
                "{extra_config}\npolicies:\n  dir: {}\n  reload_interval_ms: 100\naudit:\n  sqlite_path: {}\n  spool_path: {}\nkeys:\n{entry}{support_entry}",
                policy_dir.display(),
                dir.join("audit.db").display(),
                dir.join("audit.spool").display()
            ),
        )
        .expect("config written");
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
        Self {
            _mock: mock,
            _warden: warden,
            mock_url,
            warden_url,
            key,
            support_key,
            policy_dir,
            warden_log,
        }
    }

    /// Everything Warden logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.warden_log).expect("warden log")
    }

    /// Asserts Warden's log holds neither the upstream key nor this stack's Warden key.
    pub fn assert_log_clean(&self) {
        let log = self.log();
        assert!(log.contains("Request answered."), "the log was captured");
        assert!(!log.contains(UPSTREAM_KEY), "upstream key in Warden's log");
        assert!(!log.contains(&self.key), "Warden key in Warden's log");
        assert!(
            !log.contains(&self.support_key),
            "Warden key in Warden's log"
        );
    }
}
