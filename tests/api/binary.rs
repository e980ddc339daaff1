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
    /// Sends a signal (`HUP`, `TERM`, …) without waiting.
    pub fn signal(&self, name: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{name}"), &self.0.id().to_string()])
            .status();
    }

    /// SIGTERM, then waits for the process to exit; returns whether it exited cleanly.
    pub fn terminate(&mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        self.0.wait().is_ok_and(|s| s.success())
    }
}

impl Proc {
    /// SIGKILL: the process gets no chance to flush anything.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `http://` URL of the address Warden logged as `name=` in its start-up line.
pub fn logged_url(line: &str, name: &str) -> String {
    line.split(&format!(" {name}="))
        .nth(1)
        .and_then(|v| v.split_whitespace().next())
        .map(|v| format!("http://{v}"))
        .unwrap_or_else(|| panic!("{name} in: {line}"))
}

/// Starts `warden ARGS`, copies its stderr to `log`, and returns once it logged its address,
/// with the line in which it did.
fn start_line(args: &[&str], env: &[(&str, &str)], log: &Path) -> (Proc, String) {
    start_line_in(None, args, env, log)
}

/// [`start_line`] in the working directory `cwd`, as a user runs it from there.
pub fn start_line_in(
    cwd: Option<&Path>,
    args: &[&str],
    env: &[(&str, &str)],
    log: &Path,
) -> (Proc, String) {
    let mut command = Command::new(BIN);
    if let Some(dir) = cwd {
        command.current_dir(dir);
    }
    let mut child = command
        .env_remove("CARGO_PKG_NAME")
        .args(args)
        .env("RUST_LOG", "trace")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("warden binary starts");
    let stderr = child.stderr.take().expect("stderr piped");
    let mut file = std::fs::File::create(log).expect("log file");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("addr=") {
                let _ = tx.send(line.clone());
            }
            let _ = writeln!(file, "{line}");
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("warden logged its listening address");
    (Proc(child), line)
}

/// `warden mock-upstream` on a free port, replaying the SSE fixtures; its log goes to `dir`.
pub fn start_mock(dir: &Path) -> (Proc, String) {
    let fixtures = fixtures_dir();
    let (proc, line) = start_line(
        &[
            "mock-upstream",
            "--listen",
            "127.0.0.1:0",
            "--fixtures-dir",
            fixtures.to_str().expect("utf8 path"),
        ],
        &[],
        &dir.join("mock.log"),
    );
    (proc, logged_url(&line, "addr"))
}

/// `warden serve --config CONFIG` on a free port in front of `upstream`, with the test upstream
/// key; returns the process and its start-up line (see [`logged_url`]).
pub fn serve(config: &Path, upstream: &str, log: &Path) -> (Proc, String) {
    serve_with_env(config, upstream, log, &[])
}

/// [`serve`] with more environment variables.
fn serve_with_env(
    config: &Path,
    upstream: &str,
    log: &Path,
    env: &[(&str, &str)],
) -> (Proc, String) {
    let mut all = vec![("ANTHROPIC_API_KEY", UPSTREAM_KEY)];
    all.extend_from_slice(env);
    start_line(
        &[
            "serve",
            "--config",
            config.to_str().expect("utf8 path"),
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            upstream,
        ],
        &all,
        log,
    )
}

/// Runs `warden keys ARGS` and returns (the key, printed once on stderr with `prefix`, and the
/// config entry printed on stdout, which must not hold the key).
fn make_key(args: &[&str], prefix: &str) -> (String, String) {
    let out = Command::new(BIN)
        .arg("keys")
        .args(args)
        .output()
        .expect("warden keys runs");
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let key = stderr
        .split_whitespace()
        .find(|w| w.starts_with(prefix))
        .expect("the key is printed on stderr")
        .to_string();
    let entry = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !entry.contains(&key),
        "stdout (the config entry) never holds the key"
    );
    (key, entry)
}

/// Creates a key with `warden keys new` exactly as the README says, returning (key, config line).
pub fn new_key(team: &str) -> (String, String) {
    make_key(
        &["new", "--team", team, "--principal", "tests@example.com"],
        "wdn_",
    )
}

/// Writes `dir/warden.yaml` for one `warden serve`: the bundled policies, an admin listener on a
/// free port, `audit` (the lines under `audit:`, indented) and `keys` (config entries).
pub fn write_config(dir: &Path, audit: &str, keys: &str) -> PathBuf {
    let config = dir.join("warden.yaml");
    std::fs::write(
        &config,
        format!(
            "admin:\n  listen: 127.0.0.1:0\npolicies:\n  dir: {}\naudit:\n{audit}keys:\n{keys}",
            crate::helpers::bundled_policies().display()
        ),
    )
    .expect("config written");
    config
}

/// Creates an admin key with `warden keys new-admin`, returning (key, config line).
pub fn new_admin_key(name: &str, groups: &str) -> (String, String) {
    make_key(
        &[
            "new-admin",
            "--name",
            name,
            "--roles",
            "approver,auditor",
            "--groups",
            groups,
        ],
        "wadm_",
    )
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
    /// A key of the `platform` team (its policy gates tools).
    pub platform_key: String,
    /// The admin listener, and an approver's admin key (group `platform-leads`).
    pub admin_url: String,
    pub admin_key: String,
    /// This stack's own copy of the bundled policies, reloaded every 100 ms.
    pub policy_dir: PathBuf,
    pub warden_log: PathBuf,
    /// The generated warden.yaml.
    pub config: PathBuf,
}

impl Stack {
    /// `extra_config` is appended to the generated warden.yaml.
    pub fn start(name: &str, extra_config: &str) -> Self {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("stack-{name}"));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let (mock, mock_url) = start_mock(&dir);
        let (key, entry) = new_key("default");
        let (support_key, support_entry) = new_key("support");
        let (platform_key, platform_entry) = new_key("platform");
        let (admin_key, admin_entry) = new_admin_key("lead@example.com", "platform-leads");
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
                "{extra_config}\npolicies:\n  dir: {}\n  reload_interval_ms: 100\naudit:\n  sqlite_path: {}\n  spool_path: {}\nadmin:\n  listen: 127.0.0.1:0\n  keys:\n{admin_entry}approvals:\n  webhook_url: {mock_url}/_mock/webhook\n  poll_interval_ms: 200\nkeys:\n{entry}{support_entry}{platform_entry}",
                policy_dir.display(),
                dir.join("audit.db").display(),
                dir.join("audit.spool").display()
            ),
        )
        .expect("config written");
        let warden_log = dir.join("warden.log");
        let (warden, line) = serve(&config, &mock_url, &warden_log);
        let (warden_url, admin_url) = (logged_url(&line, "addr"), logged_url(&line, "admin_addr"));
        Self {
            _mock: mock,
            _warden: warden,
            mock_url,
            warden_url,
            key,
            support_key,
            platform_key,
            admin_url,
            admin_key,
            policy_dir,
            warden_log,
            config,
        }
    }

    /// Asks the Warden process to reload (SIGHUP).
    pub fn hup(&self) {
        self._warden.signal("HUP");
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
        assert!(
            !log.contains(&self.platform_key),
            "Warden key in Warden's log"
        );
        assert!(!log.contains(&self.admin_key), "admin key in Warden's log");
    }
}

/// The status Warden answers a small request with, using `key`.
async fn status_with(url: &str, key: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{url}/v1/messages"))
        .header("x-api-key", key)
        .json(
            &serde_json::json!({"model": "claude-sonnet-4-5", "max_tokens": 10,
            "messages": [{"role": "user", "content": "hi"}]}),
        )
        .send()
        .await
        .expect("sent")
        .status()
        .as_u16()
}

#[tokio::test]
async fn sighup_takes_new_keys_from_the_config_and_a_broken_config_keeps_the_old_ones() {
    let stack = Stack::start("hup", "");
    let url = stack.warden_url.clone();
    let (new_key_value, new_entry) = new_key("default");
    assert_eq!(
        status_with(&url, &new_key_value).await,
        401,
        "not configured yet"
    );
    let original = std::fs::read_to_string(&stack.config).expect("config");
    std::fs::write(&stack.config, format!("{original}{new_entry}")).expect("config");
    stack.hup();
    let mut status = 0;
    for _ in 0..100 {
        status = status_with(&url, &new_key_value).await;
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, 200, "the new key works after SIGHUP");
    assert_eq!(
        status_with(&url, &stack.key).await,
        200,
        "the old keys still work"
    );

    // A broken file: the keys in use stay.
    std::fs::write(&stack.config, "keys: [not, a, key]\n").expect("config");
    stack.hup();
    let mut logged = false;
    for _ in 0..100 {
        if stack.log().contains("Config reload failed") {
            logged = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(logged, "the failure is logged");
    assert_eq!(status_with(&url, &new_key_value).await, 200);
}

/// Behind an egress proxy, operators set `HTTPS_PROXY` / `HTTP_PROXY` (and `NO_PROXY`) as for any
/// other tool, and Warden's upstream calls go through it. The mock plays the proxy here: the
/// upstream name does not resolve, so a request that arrives went through the proxy.
#[tokio::test]
async fn upstream_calls_go_through_the_proxy_the_environment_names() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("proxy-env");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let (_proxy, proxy_url) = start_mock(&dir);
    let (key, entry) = new_key("default");
    let config = write_config(
        &dir,
        &format!(
            "  sqlite_path: {}\n  spool_path: {}\n",
            dir.join("audit.db").display(),
            dir.join("audit.spool").display()
        ),
        &entry,
    );
    let (_warden, line) = serve_with_env(
        &config,
        "http://claude-upstream.invalid",
        &dir.join("warden.log"),
        &[("HTTP_PROXY", &proxy_url), ("NO_PROXY", "")],
    );
    let url = logged_url(&line, "addr");
    assert_eq!(status_with(&url, &key).await, 200);
    let seen: serde_json::Value = reqwest::get(format!("{proxy_url}/_mock/requests"))
        .await
        .expect("mock answers")
        .json()
        .await
        .expect("json");
    let last = seen["requests"]
        .as_array()
        .and_then(|r| r.last())
        .expect("the proxy saw the request");
    assert_eq!(last["path"], "/v1/messages");
    let host = last["headers"]
        .as_array()
        .and_then(|h| h.iter().find(|p| p[0] == "host"))
        .map(|p| p[1].clone());
    assert_eq!(host, Some(serde_json::json!("claude-upstream.invalid")));
}
