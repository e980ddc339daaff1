//! Secrets never appear in Warden's logs, at any level: the real binary runs with
//! `RUST_LOG=trace` (Warden, hyper, reqwest and all) through every kind of exchange.

use serde_json::json;

use crate::binary::Stack;
use crate::helpers::{UPSTREAM_KEY, message_body};

#[tokio::test]
async fn no_key_appears_in_any_log_line() {
    let stack = Stack::start("logs", "upstream:\n  first_byte_timeout_ms: 300\n");
    let http = reqwest::Client::new();
    let url = format!("{}/v1/messages", stack.warden_url);
    let post = |key: &str| {
        http.post(&url)
            .header("x-api-key", key)
            .header("anthropic-version", "2023-06-01")
    };
    let _ = post(&stack.key)
        .json(&message_body("m", false))
        .send()
        .await;
    let _ = http
        .get(format!("{}/v1/models", stack.warden_url))
        .header("authorization", format!("Bearer {}", stack.key))
        .send()
        .await;
    for scenario in [
        "tool_use",
        "cut_stream",
        "midstream_error",
        "status:429",
        "slow_first_byte:2000",
    ] {
        if let Ok(r) = post(&stack.key)
            .header("x-mock-scenario", scenario)
            .json(&message_body("m", true))
            .send()
            .await
        {
            let _ = r.text().await;
        }
    }
    let wrong_key = "wdn_WrongKeyThatLooksReal000000000000000000";
    let _ = post(wrong_key).json(&message_body("m", false)).send().await;
    let _ = post(&stack.key)
        .json(&json!({"model": "m", "max_tokens": stack.key, "messages": []}))
        .send()
        .await;

    let log = stack.log();
    assert!(log.contains("TRACE"), "trace logging was on");
    assert!(
        log.contains("Request refused by Warden."),
        "refusals were logged"
    );
    stack.assert_log_clean();
    assert!(!log.contains(wrong_key));
    assert!(!log.contains(UPSTREAM_KEY));
}
