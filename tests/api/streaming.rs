//! Streams: every record through in order and unchanged, incrementally, with broken and cut
//! upstreams turned into an `error` event, and client hang-ups cancelling upstream.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;

use crate::helpers::{TestApp, fixtures_dir, message_body, streamed_text};

async fn collect(r: reqwest::Response) -> String {
    assert_eq!(r.status(), 200);
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    assert!(ct.is_some_and(|c| c.starts_with("text/event-stream")));
    assert!(r.headers().get("content-length").is_none());
    r.text().await.expect("stream read to the end")
}

/// The `event:` names in order (records without one included as "").
fn event_names(stream: &str) -> Vec<String> {
    stream
        .split("\n\n")
        .filter(|r| !r.trim().is_empty())
        .map(|r| {
            r.lines()
                .rev()
                .find_map(|l| l.strip_prefix("event:"))
                .map(|n| n.trim().to_string())
                .unwrap_or_default()
        })
        .collect()
}

#[tokio::test]
async fn every_recorded_stream_comes_through_byte_for_byte() {
    let app = TestApp::start().await;
    let mut files: Vec<String> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures exist at tests/fixtures/sse")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".txt") || n.ends_with(".sse"))
        .collect();
    files.sort();
    assert!(files.len() >= 15, "all recordings found: {files:?}");
    for file in files {
        let scenario = format!("replay:{file}");
        let direct = app
            .post_direct("/v1/messages")
            .header("x-mock-scenario", &scenario)
            .json(&message_body("m", true))
            .send()
            .await
            .expect("direct");
        let direct = collect(direct).await;
        let through = app
            .post("/v1/messages")
            .header("x-mock-scenario", &scenario)
            .json(&message_body("m", true))
            .send()
            .await
            .expect("through warden");
        let through = collect(through).await;
        let recorded = std::fs::read_to_string(fixtures_dir().join(&file)).expect("read");
        assert_eq!(direct, recorded, "{file}: the mock replays faithfully");
        // A recording cut short (no message_stop) gets Warden's error event appended; every other
        // recording comes through exactly.
        if recorded.contains("message_stop") {
            assert_eq!(through, recorded, "{file}");
        } else {
            assert!(through.starts_with(&recorded), "{file}");
            assert!(through[recorded.len()..].contains("event: error"), "{file}");
        }
    }
}

#[tokio::test]
async fn tool_use_streams_with_input_split_mid_token() {
    let app = TestApp::start().await;
    let r = app
        .post("/v1/messages")
        .json(&message_body("mock-tool_use", true))
        .send()
        .await
        .expect("sent");
    let body = collect(r).await;
    let names = event_names(&body);
    assert_eq!(names.first().map(String::as_str), Some("message_start"));
    assert_eq!(names.last().map(String::as_str), Some("message_stop"));
    assert!(
        names.iter().all(|n| !n.is_empty()),
        "every record has an event line"
    );
    let partial: String = body
        .split("\n\n")
        .filter_map(|r| r.lines().find_map(|l| l.strip_prefix("data: ")))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter(|v| v["delta"]["type"] == "input_json_delta")
        .map(|v| {
            v["delta"]["partial_json"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    let input: Value = serde_json::from_str(&partial).expect("pieces assemble into JSON");
    assert_eq!(input["location"], "Paris, France");
}

#[tokio::test]
async fn unknown_events_pass_through_in_order() {
    let app = TestApp::start().await;
    let body = collect(
        app.post("/v1/messages")
            .json(&message_body("mock-unknown_events", true))
            .send()
            .await
            .expect("sent"),
    )
    .await;
    let names = event_names(&body);
    assert!(
        names.iter().filter(|n| *n == "future_event").count() >= 2,
        "{names:?}"
    );
    assert!(body.contains("hologram_delta"));
}

#[tokio::test]
async fn events_reach_the_client_before_the_stream_ends() {
    let app = TestApp::start().await;
    let r = app.send_messages("slow_pings:4:250", true).await;
    let mut body = r.bytes_stream();
    let first = body.next().await.expect("a chunk").expect("ok");
    let first = String::from_utf8_lossy(&first).into_owned();
    assert!(first.contains("message_start"), "{first}");
    assert!(
        !first.contains("message_stop"),
        "the stream is relayed, not buffered"
    );
    let mut rest = first;
    let mut reads = 1;
    while let Some(chunk) = body.next().await {
        rest.push_str(&String::from_utf8_lossy(&chunk.expect("ok")));
        reads += 1;
    }
    assert!(event_names(&rest).iter().filter(|n| *n == "ping").count() >= 4);
    assert!(rest.contains("message_stop"));
    // Events a quarter second apart upstream arrive apart: joining ready events into one write
    // never waits for the next one. (Text deltas may be joined by the reply stage's hold-back;
    // every other event comes in a read of its own.)
    let names = event_names(&rest);
    let apart = names.iter().filter(|n| *n != "content_block_delta").count() + 1;
    assert!(
        reads >= apart,
        "{reads} reads for {names:?}: events were held back"
    );
}

#[tokio::test]
async fn an_upstream_that_dies_mid_stream_ends_with_an_error_event() {
    let app = TestApp::start().await;
    for scenario in ["cut_stream", "truncated_stream"] {
        let body = collect(app.send_messages(scenario, true).await).await;
        let names = event_names(&body);
        assert_eq!(
            names.first().map(String::as_str),
            Some("message_start"),
            "{scenario}"
        );
        assert_eq!(
            names.last().map(String::as_str),
            Some("error"),
            "{scenario}: {names:?}"
        );
        let last = body.trim_end().rsplit("\n\n").next().expect("a record");
        let data: Value = serde_json::from_str(
            last.lines()
                .find_map(|l| l.strip_prefix("data: "))
                .expect("data"),
        )
        .expect("json");
        assert_eq!(data["type"], "error");
        assert_eq!(data["error"]["type"], "api_error");
    }
    // An error event from upstream itself is relayed as it is, and nothing is added after it.
    let body = collect(app.send_messages("midstream_error", true).await).await;
    assert!(body.ends_with(
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
    ));
    let ok = app.send_messages("", false).await;
    assert_eq!(ok.status(), 200, "Warden keeps serving");
}

#[tokio::test]
async fn a_silent_upstream_stream_times_out_with_an_error_event() {
    let app = TestApp::start_with(|c| c.upstream.idle_timeout_ms = 200).await;
    let body = collect(app.send_messages("slow_pings:2:2000", true).await).await;
    let names = event_names(&body);
    assert_eq!(names.last().map(String::as_str), Some("error"), "{names:?}");
    assert!(body.contains("went silent for 200 ms"));
}

#[tokio::test]
async fn a_client_that_hangs_up_cancels_the_upstream_stream() {
    let app = TestApp::start().await;
    let r = app.send_messages("slow_pings:100:100", true).await;
    let mut body = r.bytes_stream();
    body.next().await.expect("first chunk").expect("ok");
    assert_eq!(app.mock.state.active_streams(), 1);
    drop(body);
    // The upstream stream would run ten more seconds; it must be dropped long before.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while app.mock.state.active_streams() != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "upstream stream still open"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_stream_finish() {
    let app = TestApp::start().await;
    let r = app.send_messages("slow_pings:3:200", true).await;
    let addr = app.warden.addr;
    let stopping = tokio::spawn(app.warden.shutdown());
    let body = collect(r).await;
    assert!(body.contains("message_stop"), "in-flight stream completed");
    stopping.await.expect("joined").expect("clean shutdown");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn a_stream_still_open_after_the_grace_period_ends_with_an_error_event() {
    let app = TestApp::start_with(|c| c.shutdown_grace_ms = 300).await;
    let r = app.send_messages("slow_pings:50:200", true).await;
    let stopping = tokio::spawn(app.warden.shutdown());
    let body = collect(r).await;
    assert!(!body.contains("message_stop"));
    assert_eq!(event_names(&body).last().map(String::as_str), Some("error"));
    assert!(body.contains("shutting down"));
    stopping.await.expect("joined").expect("clean shutdown");
}

/// However a stream ends early (upstream's own error event, a dropped connection, an end
/// without `message_stop`), a client behind a scanning policy gets all the text it would get
/// with none, and the error event comes last.
#[tokio::test]
async fn a_stream_that_ends_early_keeps_all_its_text_under_reply_scanning() {
    let open = TestApp::start().await;
    let scanning =
        TestApp::start_with(|c| c.policies.dir = crate::helpers::bundled_policies()).await;
    for scenario in ["midstream_error", "cut_stream", "truncated_stream"] {
        let direct = collect(open.send_messages(scenario, true).await).await;
        let scanned = collect(scanning.send_messages(scenario, true).await).await;
        assert!(!streamed_text(&direct).is_empty(), "{scenario}: {direct}");
        assert_eq!(
            streamed_text(&scanned),
            streamed_text(&direct),
            "{scenario}: {scanned}"
        );
        assert_eq!(
            event_names(&scanned).last().map(String::as_str),
            Some("error"),
            "{scenario}"
        );
    }
}
