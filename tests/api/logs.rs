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

#[tokio::test]
async fn a_streamed_exchange_is_logged_when_it_ends_with_its_duration() {
    let stack = Stack::start("logs-stream", "");
    let body = reqwest::Client::new()
        .post(format!("{}/v1/messages", stack.warden_url))
        .header("x-api-key", &stack.key)
        .header("anthropic-version", "2023-06-01")
        .header("x-mock-scenario", "slow_pings:3:150")
        .json(&message_body("m", true))
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("stream read");
    assert!(body.contains("message_stop"), "{body}");
    let field = |line: &str, name: &str| -> u64 {
        let start = line.find(&format!("{name}=")).expect(name) + name.len() + 1;
        line[start..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|v| v.parse().ok())
            .expect(name)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let line = loop {
        let log = stack.log();
        if let Some(line) = log
            .lines()
            .find(|l| l.contains("Request answered.") && l.contains("path=/v1/messages"))
        {
            break line.to_string();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no line for the stream: {log}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    // The mock sends every event 150 ms after the one before (ten of them): the line came after
    // the last, and says how long the stream took.
    assert!(field(&line, "duration_us") >= 450_000, "{line}");
    assert!(
        field(&line, "latency_us") < field(&line, "duration_us"),
        "{line}"
    );
}
