//! What one client can hold: connections, streams, request heads, and clients too slow to send
//! or to read. Each limit answers with the API's error shape (or closes the connection when there
//! is no request to answer) and gives back what the client held.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::helpers::{TestApp, WARDEN_KEY, expect_error, message_body};

/// Polls `/metrics` until `line` appears (a whole line), or fails after `within`.
async fn wait_for_metric(app: &TestApp, line: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let text = app.metrics().await;
        if text.lines().any(|l| l == line) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "`{line}` not in /metrics after {within:?}:\n{}",
            text.lines()
                .filter(|l| l.starts_with("warden_open") || l.starts_with("warden_conn"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn host(app: &TestApp) -> String {
    app.url.trim_start_matches("http://").to_string()
}

/// Reads what the server sends until it closes the connection or `within` passes; returns the
/// bytes and whether it closed.
async fn read_until_closed(tcp: &mut TcpStream, within: Duration) -> (Vec<u8>, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (got, true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (got, false),
        }
    }
}

#[tokio::test]
async fn a_connection_over_the_limit_is_answered_529_and_the_slot_comes_back() {
    let app = TestApp::start_with(|c| c.limits.max_connections = 2).await;
    let first = TcpStream::connect(host(&app)).await.expect("connect");
    let _second = TcpStream::connect(host(&app)).await.expect("connect");
    wait_for_metric(&app, "warden_open_connections 2", Duration::from_secs(5)).await;

    let r = app.send_messages("", false).await;
    assert_eq!(r.headers()["retry-after"], "1");
    let msg = expect_error(r, 529, "overloaded_error").await;
    assert!(msg.contains("limits.max_connections"), "{msg}");
    assert_eq!(app.mock.state.total(), 0, "nothing went upstream");
    wait_for_metric(
        &app,
        "warden_connections_refused_total 1",
        Duration::from_secs(5),
    )
    .await;

    // A client that goes away gives its slot back.
    drop(first);
    wait_for_metric(&app, "warden_open_connections 1", Duration::from_secs(5)).await;
    let r = app.send_messages("", false).await;
    assert_eq!(r.status(), 200);
}

/// A Messages request with `extra` headers beyond the usual ones.
async fn with_headers(app: &TestApp, extra: usize) -> reqwest::Response {
    let mut request = app.post("/v1/messages");
    for i in 0..extra {
        request = request.header(format!("x-extra-{i}"), "1");
    }
    request
        .json(&message_body("m", false))
        .send()
        .await
        .expect("sent")
}

#[tokio::test]
async fn headers_over_the_limits_get_a_431_naming_the_limit() {
    let app = TestApp::start_with(|c| {
        c.limits.max_headers = 20;
        c.limits.max_header_bytes = 2048;
    })
    .await;
    let r = with_headers(&app, 25).await;
    let msg = expect_error(r, 431, "invalid_request_error").await;
    assert!(msg.contains("limits.max_headers"), "{msg}");

    let r = app
        .post("/v1/messages")
        .header("x-big", "a".repeat(3000))
        .json(&message_body("m", false))
        .send()
        .await
        .expect("sent");
    let msg = expect_error(r, 431, "invalid_request_error").await;
    assert!(msg.contains("limits.max_header_bytes"), "{msg}");
    assert!(!msg.contains("aaaa"), "the header is not echoed: {msg}");

    // Far beyond the limit, hyper's parser stops reading: still a 431.
    assert_eq!(with_headers(&app, 60).await.status(), 431);
    assert_eq!(app.mock.state.total(), 0, "nothing went upstream");

    // Within the limits, the same client is served.
    assert_eq!(app.send_messages("", false).await.status(), 200);
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off() {
    let app = TestApp::start_with(|c| c.limits.header_read_timeout_ms = 300).await;
    let mut tcp = TcpStream::connect(host(&app)).await.expect("connect");
    let started = Instant::now();
    let head = format!(
        "POST /v1/messages HTTP/1.1\r\nhost: warden\r\nx-api-key: {WARDEN_KEY}\r\ncontent-type: application/json\r\n"
    );
    let mut closed = false;
    for b in head.bytes() {
        if tcp.write_all(&[b]).await.is_err() {
            closed = true;
            break;
        }
        // A closed connection shows as a read of 0 bytes (or an error).
        let mut probe = [0u8; 512];
        if let Ok(read) =
            tokio::time::timeout(Duration::from_millis(50), tcp.read(&mut probe)).await
        {
            if matches!(read, Ok(0) | Err(_)) {
                closed = true;
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still connected after 5 s of trickling"
        );
    }
    assert!(closed, "the trickling client was never cut off");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "cut off only after {:?}",
        started.elapsed()
    );
    wait_for_metric(&app, "warden_open_connections 0", Duration::from_secs(5)).await;
    assert_eq!(app.mock.state.total(), 0);

    // A connection that never sends a request is closed on the same timer.
    let mut idle = TcpStream::connect(host(&app)).await.expect("connect");
    let (_, closed) = read_until_closed(&mut idle, Duration::from_secs(3)).await;
    assert!(closed, "an idle connection was kept open");
    wait_for_metric(
        &app,
        "warden_connections_cut_total{reason=\"header_read_timeout\"} 1",
        Duration::from_secs(5),
    )
    .await;

    // So is a kept-alive connection left idle after a request.
    let mut kept = TcpStream::connect(host(&app)).await.expect("connect");
    let body = serde_json::to_string(&message_body("m", false)).expect("json");
    let request = format!(
        "POST /v1/messages HTTP/1.1\r\nhost: warden\r\nx-api-key: {WARDEN_KEY}\r\nanthropic-version: 2023-06-01\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    kept.write_all(request.as_bytes()).await.expect("write");
    let (reply, closed) = read_until_closed(&mut kept, Duration::from_secs(3)).await;
    assert!(String::from_utf8_lossy(&reply).starts_with("HTTP/1.1 200"));
    assert!(closed, "an idle kept-alive connection was kept open");
}

#[tokio::test]
async fn a_client_trickling_its_body_gets_408() {
    let app = TestApp::start_with(|c| c.limits.body_read_timeout_ms = 300).await;
    let mut tcp = TcpStream::connect(host(&app)).await.expect("connect");
    let head = format!(
        "POST /v1/messages HTTP/1.1\r\nhost: warden\r\nx-api-key: {WARDEN_KEY}\r\nanthropic-version: 2023-06-01\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{{\"model\":"
    );
    tcp.write_all(head.as_bytes()).await.expect("write");
    let (reply, _) = read_until_closed(&mut tcp, Duration::from_secs(3)).await;
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(
        reply.contains("\"type\":\"invalid_request_error\""),
        "{reply}"
    );
    assert!(reply.contains("limits.body_read_timeout_ms"), "{reply}");
    assert_eq!(app.mock.state.total(), 0);
}

#[tokio::test]
async fn a_client_that_stops_reading_its_stream_is_cut_off() {
    let app = TestApp::start_with(|c| c.limits.client_write_timeout_ms = 300).await;
    // A small receive window, so Warden's writes block after a few megabytes at most.
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("rcvbuf");
    let mut tcp = socket.connect(app.warden.addr).await.expect("connect");
    let body = serde_json::to_string(&message_body("m", true)).expect("json");
    let request = format!(
        "POST /v1/messages HTTP/1.1\r\nhost: warden\r\nx-api-key: {WARDEN_KEY}\r\nanthropic-version: 2023-06-01\r\ncontent-type: application/json\r\nx-mock-scenario: long:100000\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(request.as_bytes()).await.expect("write");
    wait_for_metric(&app, "warden_open_streams 1", Duration::from_secs(10)).await;
    // Never read: Warden must give up on this client, and let go of the stream and upstream.
    wait_for_metric(
        &app,
        "warden_connections_cut_total{reason=\"client_write_timeout\"} 1",
        Duration::from_secs(20),
    )
    .await;
    wait_for_metric(&app, "warden_open_streams 0", Duration::from_secs(5)).await;
    wait_for_metric(&app, "warden_open_connections 0", Duration::from_secs(5)).await;
    drop(tcp);
    // Others are still served.
    assert_eq!(app.send_messages("", true).await.status(), 200);
}

#[tokio::test]
async fn streams_over_the_limit_get_529_and_plain_requests_still_pass() {
    let app = TestApp::start_with(|c| c.limits.max_streams = 1).await;
    // One stream held open for a while (pings 100 ms apart).
    let held = app.send_messages("slow_pings:15:100", true).await;
    assert_eq!(held.status(), 200);
    wait_for_metric(&app, "warden_open_streams 1", Duration::from_secs(5)).await;

    let r = app.send_messages("", true).await;
    let msg = expect_error(r, 529, "overloaded_error").await;
    assert!(msg.contains("limits.max_streams"), "{msg}");
    assert_eq!(app.send_messages("", false).await.status(), 200);

    // When the held stream ends, its place comes back.
    let text = held.text().await.expect("stream read");
    assert!(text.contains("message_stop"), "{text}");
    wait_for_metric(&app, "warden_open_streams 0", Duration::from_secs(5)).await;
    assert_eq!(app.send_messages("", true).await.status(), 200);
}

/// Sends `path` with a wrong key and a body of `len` bytes over one raw connection, reading the
/// answer while the body is still going out, as a client that streams an upload does. Returns
/// the answer's status line and whether the whole body could be written.
async fn early_refusal(app: &TestApp, path: &str, len: usize) -> (String, bool) {
    let addr = app.url.trim_start_matches("http://").to_string();
    let tcp = TcpStream::connect(&addr).await.expect("connect");
    let (mut read, mut write) = tcp.into_split();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\nx-api-key: wdn_wrongkey0000000000000000\r\ncontent-type: application/octet-stream\r\ncontent-length: {len}\r\n\r\n"
    );
    let writer = tokio::spawn(async move {
        write.write_all(head.as_bytes()).await?;
        let chunk = vec![b'a'; 64 * 1024];
        let mut sent = 0;
        while sent < len {
            let n = chunk.len().min(len - sent);
            write.write_all(&chunk[..n]).await?;
            sent += n;
        }
        write.flush().await
    });
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    let wrote = matches!(writer.await, Ok(Ok(())));
    let status = String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    (status, wrote)
}

#[tokio::test]
async fn a_request_refused_before_its_body_is_read_gets_its_answer_and_no_reset() {
    // Closing a connection while the client is still sending resets it: Node's fetch then
    // reports EPIPE instead of the 401 or 404 it was sent. The body is read to its end first.
    let app = TestApp::start().await;
    for path in ["/v1/files", "/v1/messages", "/v1/nothing-here"] {
        for _ in 0..3 {
            let (status, wrote) = early_refusal(&app, path, 8 * 1024 * 1024).await;
            assert!(status.starts_with("HTTP/1.1 401"), "{path}: {status:?}");
            assert!(wrote, "{path}: the upload was cut off by a reset");
        }
    }
}
