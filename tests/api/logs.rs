//! Secrets never appear in Warden's logs, at any level.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::helpers::{TestApp, UPSTREAM_KEY, WARDEN_KEY, message_body};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs every kind of exchange with TRACE logging for all crates captured (the whole runtime is
/// on this thread, so the thread's default subscriber sees Warden, hyper and reqwest alike).
#[tokio::test(flavor = "current_thread")]
async fn no_key_appears_in_any_log_line() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = TestApp::start_with(|c| c.upstream.first_byte_timeout_ms = 300).await;
    let wrong_key = "wdn_WrongKeyThatLooksReal000000000000000000";
    let _ = app
        .post("/v1/messages")
        .json(&message_body("m", false))
        .send()
        .await;
    let _ = app.get("/v1/models").send().await;
    for scenario in [
        "tool_use",
        "cut_stream",
        "midstream_error",
        "status:429",
        "slow_first_byte:2000",
    ] {
        if let Ok(r) = app
            .post("/v1/messages")
            .header("x-mock-scenario", scenario)
            .json(&message_body("m", true))
            .send()
            .await
        {
            let _ = r.text().await;
        }
    }
    let _ = app
        .http
        .post(format!("{}/v1/messages", app.url))
        .header("authorization", format!("Bearer {wrong_key}"))
        .json(&message_body("m", false))
        .send()
        .await;
    let _ = app
        .post("/v1/messages")
        .json(&json!({"model": "m", "max_tokens": WARDEN_KEY, "messages": []}))
        .send()
        .await;

    let logs = String::from_utf8(captured.0.lock().map(|b| b.clone()).unwrap_or_default())
        .expect("utf8 logs");
    assert!(logs.contains("Request answered."), "logging was captured");
    assert!(
        logs.contains("Request refused by Warden."),
        "refusals were logged"
    );
    for secret in [UPSTREAM_KEY, WARDEN_KEY, wrong_key] {
        assert!(!logs.contains(secret), "a key leaked into the logs");
    }
}
