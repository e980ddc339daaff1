//! Quotas through Warden: requests and tokens per minute, per key and per team, answered with
//! 429 `rate_limit_error` and `retry-after` before anything goes upstream.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::helpers::{TestApp, WARDEN_KEY, expect_error, key_entry};

const SECOND_KEY: &str = "wdn_SecondKeySameTeam0123456789abcdefghijklm";

async fn app() -> TestApp {
    TestApp::start_with(|c| {
        c.policies.dir =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/quota-policies");
        c.keys.push(key_entry(SECOND_KEY, "key_second", "default"));
    })
    .await
}

fn ask(text: &str) -> Value {
    json!({"model": "claude-sonnet-4-5", "max_tokens": 20, "messages": [{"role": "user", "content": text}]})
}

/// Asks `text` with `key`.
async fn send(app: &TestApp, key: &str, text: &str) -> reqwest::Response {
    app.post_as(key, "/v1/messages")
        .json(&ask(text))
        .send()
        .await
        .expect("sent")
}

async fn upstream_calls(app: &TestApp) -> u64 {
    app.mock_requests().await["total"].as_u64().expect("total")
}

#[tokio::test]
async fn a_key_over_its_requests_per_minute_gets_429_with_retry_after() {
    let app = app().await;
    for _ in 0..2 {
        let r = send(&app, WARDEN_KEY, "hi").await;
        assert_eq!(r.status(), 200);
    }
    let r = send(&app, WARDEN_KEY, "hi").await;
    let retry_after: u64 = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("retry-after in seconds");
    assert!(
        (25..=30).contains(&retry_after),
        "one request every 30 s: {retry_after}"
    );
    assert_eq!(
        r.headers()
            .get("x-should-retry")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    let message = expect_error(r, 429, "rate_limit_error").await;
    assert!(
        message.contains("quotas.key.requests_per_minute"),
        "{message}"
    );
    assert_eq!(
        upstream_calls(&app).await,
        2,
        "the refused request never went out"
    );
    // The limit is per key: the team's other key still gets through.
    let r = send(&app, SECOND_KEY, "hi").await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn the_team_shares_its_tokens_per_minute() {
    let app = app().await;
    // About 2,000 tokens estimated (8 KB): the team's 3,000 a minute take one such request.
    let big = "lorem ipsum dolor sit amet ".repeat(300);
    let r = send(&app, WARDEN_KEY, &big).await;
    assert_eq!(r.status(), 200);
    let r = send(&app, SECOND_KEY, &big).await;
    assert!(r.headers().contains_key("retry-after"));
    let message = expect_error(r, 429, "rate_limit_error").await;
    assert!(
        message.contains("quotas.team.tokens_per_minute"),
        "{message}"
    );
    // Small requests still fit in what is left.
    let r = send(&app, SECOND_KEY, "hi").await;
    assert_eq!(r.status(), 200);
}
