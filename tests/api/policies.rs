//! Data boundaries through the whole gateway, with the bundled policies: what reaches upstream
//! is redacted or pseudonymized, replies get the real values back (JSON and streams, whatever the
//! delta boundaries), blocked classes never leave, and policy edits apply without a restart.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, bundled_policies, expect_error, key_entry, streamed_text};

const SUPPORT_KEY: &str = "wdn_SupportTeamKeyForTests000000000000000000";
const PLATFORM_KEY: &str = "wdn_PlatformTeamKeyForTests00000000000000000";
const AWS_KEY: &str = "AKIAZ3MSJV7WQ2PLX4NB";
const EMAIL: &str = "jane.doe@example.com";

async fn bundled() -> TestApp {
    TestApp::start_with(|c| {
        c.policies.dir = bundled_policies();
        c.keys
            .push(key_entry(SUPPORT_KEY, "key_support", "support"));
        c.keys
            .push(key_entry(PLATFORM_KEY, "key_platform", "platform"));
    })
    .await
}

fn ask(text: &str, model: &str, stream: bool) -> Value {
    json!({"model": model, "max_tokens": 300, "stream": stream,
           "messages": [{"role": "user", "content": text}]})
}

#[tokio::test]
async fn a_secret_in_the_prompt_reaches_upstream_redacted() {
    let app = bundled().await;
    let r = app
        .post("/v1/messages")
        .json(&ask(
            &format!("boto says InvalidClientTokenId for {AWS_KEY}"),
            "claude-sonnet-4-5",
            false,
        ))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()
            .get("x-warden-policy")
            .is_some_and(|v| v.to_str().unwrap_or("").starts_with("default@"))
    );
    let got = app.mock.state.received().pop().expect("forwarded");
    assert!(!got.body.contains(AWS_KEY), "the key left Warden");
    assert!(got.body.contains("[REDACTED:aws_access_key_id]"));
}

#[tokio::test]
async fn a_pseudonymized_email_comes_back_restored_in_json_and_streams() {
    let app = bundled().await;
    let prompt = format!("Write to {EMAIL} and cc {EMAIL} about the refund.");
    let r = app
        .post("/v1/messages")
        .header("x-mock-scenario", "parrot:5")
        .json(&ask(&prompt, "claude-sonnet-4-5", false))
        .send()
        .await
        .expect("sent");
    let m: Value = r.json().await.expect("json");
    assert_eq!(
        m["content"][0]["text"],
        prompt.as_str(),
        "the user sees the real address"
    );
    let seen = app.mock.state.received().pop().expect("forwarded");
    assert!(!seen.body.contains(EMAIL), "the model never saw it");
    assert!(seen.body.contains("<EMAIL_1>"));

    // Every split of the placeholder across text deltas: chunk sizes 1 to 12.
    for chunk in 1..=12 {
        let r = app
            .post("/v1/messages")
            .header("x-mock-scenario", format!("parrot:{chunk}"))
            .json(&ask(&prompt, "claude-sonnet-4-5", true))
            .send()
            .await
            .expect("sent");
        let body = r.text().await.expect("stream");
        assert_eq!(streamed_text(&body), prompt, "chunk size {chunk}");
        assert!(body.contains("message_stop"));
    }
}

#[tokio::test]
async fn a_secret_the_model_writes_is_redacted_at_every_split_point() {
    let app = bundled().await;
    let github = "ghp_R7vK2mQ9xW4pL8nT3yB6cF1dH5jS0aZ2eU4i";
    let reply = format!("Use export GITHUB_TOKEN={github} then rerun.");
    for chunk in 1..=github.len() + 3 {
        let r = app
            .post("/v1/messages")
            .header("x-mock-scenario", format!("say:{chunk}"))
            .header("x-mock-say", &reply)
            .json(&ask("how do I auth?", "claude-sonnet-4-5", true))
            .send()
            .await
            .expect("sent");
        let text = streamed_text(&r.text().await.expect("stream"));
        assert_eq!(
            text, "Use export GITHUB_TOKEN=[REDACTED:github_pat] then rerun.",
            "chunk size {chunk}"
        );
    }
    let r = app
        .post("/v1/messages")
        .header("x-mock-scenario", "say:3")
        .header("x-mock-say", &reply)
        .json(&ask("how do I auth?", "claude-sonnet-4-5", false))
        .send()
        .await
        .expect("sent");
    let m: Value = r.json().await.expect("json");
    assert!(!m.to_string().contains(github));
}

#[tokio::test]
async fn a_blocked_class_is_403_and_nothing_leaves() {
    let app = bundled().await;
    let ssn = "123-45-6789";
    let r = app
        .post_as(SUPPORT_KEY, "/v1/messages")
        .json(&ask(
            &format!("Her SSN is {ssn}"),
            "claude-sonnet-4-5",
            false,
        ))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        r.headers()
            .get("x-should-retry")
            .and_then(|v| v.to_str().ok()),
        Some("false")
    );
    assert!(
        r.headers()
            .get("x-warden-policy")
            .is_some_and(|v| v.to_str().unwrap_or("").starts_with("support@"))
    );
    let msg = expect_error(r, 403, "permission_error").await;
    assert!(msg.contains("pii.ssn"), "{msg}");
    assert!(!msg.contains(ssn), "the value is not echoed");
    assert_eq!(app.mock.state.total(), 0, "nothing reached upstream");

    let r = app
        .post_as(SUPPORT_KEY, "/v1/messages")
        .json(&ask("hi", "claude-opus-4-5", false))
        .send()
        .await
        .expect("sent");
    let msg = expect_error(r, 403, "permission_error").await;
    assert!(msg.contains("models.allow"), "{msg}");
    assert_eq!(app.mock.state.total(), 0);
}

#[tokio::test]
async fn a_team_without_a_policy_is_refused_unless_default_applies() {
    let key = "wdn_MarketingTeamKey000000000000000000000000";
    let app = TestApp::start_with(|c| {
        c.policies.dir = bundled_policies();
        c.keys.push(key_entry(key, "key_mkt", "marketing"));
    })
    .await;
    let r = app
        .post_as(key, "/v1/messages")
        .json(&ask("hi", "m", false))
        .send()
        .await
        .expect("sent");
    let msg = expect_error(r, 403, "permission_error").await;
    assert!(msg.contains("marketing"));

    let app = TestApp::start_with(|c| {
        c.policies.dir = bundled_policies();
        c.policies.unknown_team = warden::config::UnknownTeam::Default;
        c.keys.push(key_entry(key, "key_mkt", "marketing"));
    })
    .await;
    let r = app
        .post_as(key, "/v1/messages")
        .json(&ask("hi", "m", false))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read").flatten() {
        if entry.path().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
        }
    }
}

/// Polls until `check` holds (policy reloads happen on a timer), for at most five seconds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn policy_edits_apply_without_restart_and_broken_edits_are_refused() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("reload-policies");
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&bundled_policies(), &dir);
    let app = TestApp::start_with(|c| {
        c.policies.dir = dir.clone();
        c.policies.reload_interval_ms = 100;
    })
    .await;
    let send = || async {
        app.post("/v1/messages")
            .json(&ask(&format!("mail {EMAIL}"), "claude-sonnet-4-5", false))
            .send()
            .await
            .expect("sent")
            .status()
            .as_u16()
    };
    assert_eq!(send().await, 200);

    let default = dir.join("default.yaml");
    let original = std::fs::read_to_string(&default).expect("read");
    let blocking = original.replace(
        "pii.email: { action: pseudonymize }",
        "pii.email: { action: block }",
    );
    assert_ne!(blocking, original);
    std::fs::write(&default, &blocking).expect("edit");
    eventually("the edit to apply", || async { send().await == 403 }).await;

    // A broken edit: the last good policy (blocking) stays, and /readyz says why.
    std::fs::write(
        &default,
        blocking.replace("action: block", "action: obliterate"),
    )
    .expect("break");
    let ready = || async {
        let v: Value = app.readyz().await;
        v["policies"]["reload_error"].as_str().map(str::to_string)
    };
    // `fs::write` truncates before it writes: a poll in between reads an empty file and reports
    // that (keeping the last good set, as it must). Wait for the broken edit's own error.
    eventually("the broken edit to be reported", || async {
        ready()
            .await
            .is_some_and(|e| e.contains("obliterate") || e.contains("unknown variant"))
    })
    .await;
    let error = ready().await.unwrap_or_default();
    assert!(error.contains("default.yaml"), "{error}");
    assert!(
        error.contains("obliterate") || error.contains("unknown variant"),
        "{error}"
    );
    assert_eq!(send().await, 403, "the last good policy still applies");
    assert!(app.warden.state.policies.reload_failures() >= 1);
    let metrics = app.metrics().await;
    assert!(
        !metrics.contains("warden_policy_reload_failures_total 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn metrics_count_decisions_and_findings_without_values() {
    let app = bundled().await;
    let _ = app
        .post("/v1/messages")
        .json(&ask(&format!("key {AWS_KEY}"), "claude-sonnet-4-5", false))
        .send()
        .await;
    let _ = app
        .post_as(SUPPORT_KEY, "/v1/messages")
        .json(&ask("SSN 123-45-6789", "claude-sonnet-4-5", false))
        .send()
        .await;
    let text = app.metrics().await;
    assert!(
        text.contains("warden_requests_total{team=\"default\",endpoint=\"/v1/messages\",status=\"200\",decision=\"forwarded\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("warden_requests_total{team=\"support\",endpoint=\"/v1/messages\",status=\"403\",decision=\"blocked\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("warden_findings_total{class=\"secrets\",action=\"redact\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("warden_findings_total{class=\"pii.ssn\",action=\"block\"} 1"),
        "{text}"
    );
    assert!(text.contains("warden_policy_reload_failures_total 0"));
    // One request went upstream: one observation in each latency histogram; no stream open.
    assert!(
        text.contains("warden_upstream_latency_seconds_count 1"),
        "{text}"
    );
    assert!(
        text.contains("warden_added_latency_seconds_count 1"),
        "{text}"
    );
    assert!(text.contains("warden_open_streams 0"), "{text}");
    assert!(!text.contains(AWS_KEY) && !text.contains("123-45-6789"));
    // Metrics are on the admin listener, not on the public port.
    let public = app.get("/metrics").send().await.expect("sent");
    assert_eq!(
        public.status(),
        404,
        "the public port has no /metrics, even with a key"
    );
}

#[tokio::test]
async fn a_reply_whose_thinking_leaks_is_withheld_when_the_policy_says_so() {
    let app = bundled().await;
    let leak = format!("The user's key is {AWS_KEY}, I should not repeat it.");
    let send = |stream: bool, thinking: String| {
        app.post_as(SUPPORT_KEY, "/v1/messages")
            .header("x-mock-scenario", "thinking")
            .header("x-mock-say", thinking)
            .json(&ask("hello", "claude-sonnet-4-5", stream))
            .send()
    };
    let r = send(false, leak.clone()).await.expect("sent");
    let msg = expect_error(r, 403, "permission_error").await;
    assert!(
        msg.contains("thinking") && msg.contains("secrets.aws_access_key_id"),
        "{msg}"
    );
    assert!(!msg.contains(AWS_KEY));

    let body = send(true, leak)
        .await
        .expect("sent")
        .text()
        .await
        .expect("stream");
    assert!(!body.contains(AWS_KEY), "no part of the thinking went out");
    assert!(!body.contains("thinking_delta"));
    let last = body.trim_end().rsplit("\n\n").next().unwrap_or("");
    assert!(
        last.starts_with("event: error") && last.contains("permission_error"),
        "{last}"
    );

    // A clean thinking block is released whole, in order, signature included.
    let body = send(true, "Plain reasoning.".into())
        .await
        .expect("sent")
        .text()
        .await
        .expect("stream");
    let start = body.find("\"thinking_delta\"").expect("thinking delta");
    let sig = body.find("\"signature_delta\"").expect("signature");
    let text = body.find("\"text_delta\"").expect("text");
    assert!(start < sig && sig < text, "order kept");
    assert!(body.contains("message_stop"));

    // Teams without the setting get thinking as it is (default policy: pass).
    let body = app
        .post("/v1/messages")
        .header("x-mock-scenario", "thinking")
        .header("x-mock-say", format!("key {AWS_KEY}"))
        .json(&ask("hello", "claude-sonnet-4-5", true))
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("stream");
    assert!(body.contains("message_stop"));
}
