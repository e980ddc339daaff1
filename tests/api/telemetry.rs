//! OTLP trace export: each exchange is a span in the caller's trace, posted to a real HTTP
//! collector endpoint, and the request upstream names Warden's span as its parent. A collector
//! that is down costs spans, never requests.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde_json::Value;
use tokio::net::TcpListener;

use crate::helpers::{TestApp, message_body};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

/// A collector: records every `POST /v1/traces` body.
async fn collector() -> (String, Arc<Mutex<Vec<Value>>>) {
    let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
    async fn traces(State(seen): State<Arc<Mutex<Vec<Value>>>>, body: String) -> &'static str {
        if let (Ok(mut seen), Ok(v)) = (seen.lock(), serde_json::from_str(&body)) {
            seen.push(v);
        }
        "{}"
    }
    let app = Router::new()
        .route("/v1/traces", post(traces))
        .with_state(seen.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, seen)
}

/// Every span the collector has received.
fn spans(seen: &Mutex<Vec<Value>>) -> Vec<Value> {
    let seen = seen.lock().expect("lock");
    seen.iter()
        .flat_map(|body| {
            body["resourceSpans"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|r| r["scopeSpans"].as_array().into_iter().flatten())
                .flat_map(|s| s["spans"].as_array().cloned().unwrap_or_default())
        })
        .collect()
}

async fn wait_for_spans(seen: &Mutex<Vec<Value>>, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = spans(seen);
        if found.len() >= n {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {n} spans arrived",
            found.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn attribute<'a>(span: &'a Value, key: &str) -> &'a Value {
    span["attributes"]
        .as_array()
        .and_then(|a| a.iter().find(|kv| kv["key"] == key))
        .map_or(&Value::Null, |kv| &kv["value"])
}

#[tokio::test]
async fn exchanges_are_spans_in_the_callers_trace_and_upstream_is_their_child() {
    let (endpoint, seen) = collector().await;
    let app = TestApp::start_with(|c| {
        c.telemetry.otlp_endpoint = Some(endpoint);
        c.telemetry.flush_interval_ms = 20;
    })
    .await;
    let r = app
        .post("/v1/messages")
        .header("traceparent", format!("00-{TRACE_ID}-{CLIENT_SPAN}-01"))
        .header("tracestate", "vendor=opaque")
        .json(&message_body("claude-sonnet-4-5", false))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
    let request_id = r.headers()["x-warden-request-id"]
        .to_str()
        .expect("ascii")
        .to_string();

    let span = wait_for_spans(&seen, 1).await.remove(0);
    assert_eq!(span["traceId"], TRACE_ID);
    assert_eq!(span["parentSpanId"], CLIENT_SPAN);
    assert_eq!(span["name"], "POST /v1/messages");
    assert_eq!(span["kind"], 2);
    assert_eq!(
        attribute(&span, "warden.request_id")["stringValue"],
        request_id
    );
    assert_eq!(attribute(&span, "warden.team")["stringValue"], "default");
    assert_eq!(
        attribute(&span, "warden.decision")["stringValue"],
        "forwarded"
    );
    assert_eq!(
        attribute(&span, "http.response.status_code")["intValue"],
        "200"
    );
    assert_eq!(
        attribute(&span, "gen_ai.request.model")["stringValue"],
        "claude-sonnet-4-5"
    );
    let start: u128 = span["startTimeUnixNano"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("start");
    let end: u128 = span["endTimeUnixNano"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("end");
    assert!(
        start <= end && end - start < 10_000_000_000,
        "{start}..{end}"
    );

    // Upstream saw the same trace with Warden's span as its parent.
    let span_id = span["spanId"].as_str().expect("span id");
    assert_ne!(span_id, CLIENT_SPAN);
    let received = app.mock.state.received();
    let upstream = received.last().expect("forwarded");
    assert_eq!(
        upstream.header("traceparent"),
        Some(format!("00-{TRACE_ID}-{span_id}-01").as_str())
    );
    // Vendors' trace state goes on as it came.
    assert_eq!(upstream.header("tracestate"), Some("vendor=opaque"));

    // Without a traceparent, Warden starts the trace.
    let r = app.send_messages("", false).await;
    assert_eq!(r.status(), 200);
    let spans = wait_for_spans(&seen, 2).await;
    let fresh = &spans[1];
    assert!(fresh.get("parentSpanId").is_none(), "{fresh}");
    assert_ne!(fresh["traceId"], TRACE_ID);
    let received = app.mock.state.received();
    assert_eq!(
        received.last().expect("forwarded").header("traceparent"),
        Some(
            format!(
                "00-{}-{}-01",
                fresh["traceId"].as_str().expect("id"),
                fresh["spanId"].as_str().expect("id")
            )
            .as_str()
        )
    );
    assert!(
        app.metrics()
            .await
            .lines()
            .any(|l| l == "warden_otlp_spans_exported_total 2"),
        "exported spans counted"
    );
}

#[tokio::test]
async fn a_dead_collector_costs_spans_not_requests() {
    // A port nothing listens on.
    let dead = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", dead.local_addr().expect("addr"));
    drop(dead);
    let app = TestApp::start_with(|c| {
        c.telemetry.otlp_endpoint = Some(endpoint);
        c.telemetry.flush_interval_ms = 20;
    })
    .await;
    for stream in [false, true] {
        assert_eq!(app.send_messages("", stream).await.status(), 200);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !app
        .metrics()
        .await
        .lines()
        .any(|l| l == "warden_otlp_spans_dropped_total 2")
    {
        assert!(Instant::now() < deadline, "dropped spans never counted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
