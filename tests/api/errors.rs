//! Bad input and broken upstreams: each gets the documented status and envelope, nothing
//! unauthenticated or invalid reaches upstream, and Warden keeps serving afterwards.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{TestApp, WARDEN_KEY, expect_error, message_body};

#[tokio::test]
async fn malformed_json_and_wrong_types_are_400_naming_the_field() {
    let app = TestApp::start().await;
    let r = app
        .post("/v1/messages")
        .body("{\"model\": \"x\", ")
        .send()
        .await
        .expect("sent");
    let msg = expect_error(r, 400, "invalid_request_error").await;
    assert!(msg.contains("not valid JSON"), "{msg}");

    let cases = [
        (
            json!({"messages": [], "max_tokens": 1}),
            "model: Field required",
        ),
        (
            json!({"model": "m", "max_tokens": 1}),
            "messages: Field required",
        ),
        (
            json!({"model": "m", "messages": []}),
            "max_tokens: Field required",
        ),
        (
            json!({"model": "m", "messages": [], "max_tokens": "many"}),
            "max_tokens:",
        ),
        (
            json!({"model": "m", "messages": "hi", "max_tokens": 1}),
            "messages:",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": 5}], "max_tokens": 1}),
            "messages[0].content:",
        ),
        (json!([1, 2]), "must be a JSON object"),
    ];
    for (body, expected) in cases {
        let r = app
            .post("/v1/messages")
            .json(&body)
            .send()
            .await
            .expect("sent");
        let msg = expect_error(r, 400, "invalid_request_error").await;
        assert!(msg.contains(expected), "{body}: {msg}");
    }
    assert_eq!(app.mock.state.total(), 0, "nothing invalid went upstream");
}

#[tokio::test]
async fn a_value_in_a_rejected_field_is_not_echoed() {
    let app = TestApp::start().await;
    let secret = "sk-ant-api03-AAAAsecretvalueBBBB";
    let r = app
        .post("/v1/messages")
        .json(&json!({"model": "m", "messages": [], "max_tokens": secret}))
        .send()
        .await
        .expect("sent");
    let msg = expect_error(r, 400, "invalid_request_error").await;
    assert!(!msg.contains(secret));
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_and_never_forwarded() {
    let app = TestApp::start().await;
    // 40 MiB of otherwise valid JSON.
    let filler = "a".repeat(40 * 1024 * 1024);
    let body =
        json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": filler}]});
    let r = app
        .post("/v1/messages")
        .json(&body)
        .send()
        .await
        .expect("sent");
    let msg = expect_error(r, 413, "request_too_large").await;
    assert!(msg.contains("33554432"), "{msg}");

    // Without a declared length (chunked), the limit still holds.
    let app = TestApp::start_with(|c| c.limits.max_body_bytes = 4096).await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..10).map(|_| Ok(vec![b' '; 1024])).collect();
    let r = app
        .post("/v1/messages")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .expect("sent");
    expect_error(r, 413, "request_too_large").await;
    assert_eq!(app.mock.state.total(), 0);
}

#[tokio::test]
async fn a_body_that_ends_early_is_400() {
    let app = TestApp::start().await;
    let mut tcp = tokio::net::TcpStream::connect(app.warden.addr)
        .await
        .expect("connect");
    let head = format!(
        "POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: {WARDEN_KEY}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{{\"model\": \"m\""
    );
    tcp.write_all(head.as_bytes()).await.expect("write");
    tcp.shutdown().await.expect("half-close");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut answer))
        .await
        .expect("answered")
        .expect("read");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("\"invalid_request_error\""), "{text}");
    assert_eq!(app.mock.state.total(), 0);
    // And Warden still serves.
    let r = app.send_messages("", false).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn unknown_or_missing_keys_are_401_without_retry() {
    let app = TestApp::start().await;
    for auth in [
        Some((
            "x-api-key",
            "wdn_NotAKeyWardenKnows00000000000000000000".to_string(),
        )),
        Some(("authorization", "Bearer wdn_Nope".to_string())),
        Some(("x-api-key", "sk-ant-api03-a-real-anthropic-key".to_string())),
        None,
    ] {
        let mut req = app
            .http
            .post(format!("{}/v1/messages", app.url))
            .json(&message_body("m", false));
        if let Some((h, v)) = &auth {
            req = req.header(*h, v);
        }
        let r = req.send().await.expect("sent");
        assert_eq!(
            r.headers()
                .get("x-should-retry")
                .and_then(|v| v.to_str().ok()),
            Some("false")
        );
        let msg = expect_error(r, 401, "authentication_error").await;
        // Says what was wrong: no key at all, or a key this Warden does not know.
        match auth {
            Some((_, v)) => {
                assert!(!msg.contains(&v), "key not echoed");
                assert!(msg.starts_with("invalid Warden key"), "{msg}");
            }
            None => assert!(msg.starts_with("no key was sent"), "{msg}"),
        }
    }
    assert_eq!(app.mock.state.total(), 0);
}

#[tokio::test]
async fn upstream_errors_are_relayed_verbatim() {
    let app = TestApp::start().await;
    for (code, kind) in [
        (429, "rate_limit_error"),
        (529, "overloaded_error"),
        (500, "api_error"),
        (400, "invalid_request_error"),
    ] {
        let direct = app
            .post_direct("/v1/messages")
            .header("x-mock-scenario", format!("status:{code}"))
            .json(&message_body("m", false))
            .send()
            .await
            .expect("sent");
        let direct_retry_after = direct.headers().get("retry-after").cloned();
        let direct_body = direct.text().await.expect("body");
        let r = app
            .post("/v1/messages")
            .header("x-mock-scenario", format!("status:{code}"))
            .json(&message_body("m", true))
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status().as_u16(), code);
        assert_eq!(r.headers().get("retry-after").cloned(), direct_retry_after);
        assert_eq!(
            r.headers().get("request-id").and_then(|v| v.to_str().ok()),
            Some("req_mock_error")
        );
        let body = r.text().await.expect("body");
        assert_eq!(body, direct_body, "relayed byte for byte");
        let v: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["error"]["type"], kind);
    }
    let r = app.send_messages("status:400", false).await;
    let v: Value = r.json().await.expect("json");
    assert_eq!(
        v["error"]["message"],
        "prompt is too long: 250000 tokens > 200000 maximum"
    );
}

#[tokio::test]
async fn an_upstream_that_never_answers_is_504() {
    let app = TestApp::start_with(|c| c.upstream.first_byte_timeout_ms = 300).await;
    let r = app.send_messages("slow_first_byte:5000", false).await;
    let msg = expect_error(r, 504, "timeout_error").await;
    assert!(msg.contains("300 ms"), "{msg}");
    let ok = app.send_messages("", false).await;
    assert_eq!(ok.status(), 200, "Warden keeps serving");
}

#[tokio::test]
async fn an_unreachable_upstream_is_502() {
    // A port that was just free: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let app = TestApp::start_with(|c| c.upstream.url = format!("http://127.0.0.1:{port}")).await;
    let r = app.send_messages("", false).await;
    expect_error(r, 502, "api_error").await;
}

#[tokio::test]
async fn wrong_methods_get_the_envelope() {
    let app = TestApp::start().await;
    let r = app.get("/v1/messages").send().await.expect("sent");
    let allow = r
        .headers()
        .get("allow")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    assert_eq!(
        allow.as_deref(),
        Some("POST"),
        "405 names the methods the path takes"
    );
    expect_error(r, 405, "invalid_request_error").await;
    // The open routes too, TRACE included.
    for method in ["TRACE", "PUT", "DELETE", "PATCH"] {
        let r = app
            .http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
                format!("{}/", app.url),
            )
            .send()
            .await
            .expect("sent");
        expect_error(r, 405, "invalid_request_error").await;
    }
}

#[tokio::test]
async fn deep_json_and_too_many_blocks_are_400_naming_the_limit() {
    let app = TestApp::start_with(|c| c.limits.max_content_blocks = 50).await;
    // A tool input nested 200 levels deep: refused before it is parsed or scanned.
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let body = format!(
        r#"{{"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{{"role": "user", "content": "hi"}}], "metadata": {{"x": {deep}}}}}"#
    );
    let r = app
        .post("/v1/messages")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("sent");
    let msg = expect_error(r, 400, "invalid_request_error").await;
    assert!(msg.contains("limits.max_json_depth"), "{msg}");

    let blocks: Vec<serde_json::Value> = (0..60)
        .map(|i| serde_json::json!({"type": "text", "text": format!("part {i}")}))
        .collect();
    let r = app
        .post("/v1/messages")
        .json(
            &serde_json::json!({"model": "claude-sonnet-4-5", "max_tokens": 10,
            "messages": [{"role": "user", "content": blocks}]}),
        )
        .send()
        .await
        .expect("sent");
    let msg = expect_error(r, 400, "invalid_request_error").await;
    assert!(
        msg.contains("60 content blocks") && msg.contains("limits.max_content_blocks"),
        "{msg}"
    );
    assert_eq!(app.mock.state.total(), 0, "nothing went upstream");

    // Within both limits, the same shapes go through.
    let r = app
        .post("/v1/messages")
        .json(
            &serde_json::json!({"model": "claude-sonnet-4-5", "max_tokens": 10,
            "messages": [{"role": "user", "content": &blocks[..40]}], "metadata": {"x": [[[1]]]}}),
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn every_route_but_the_open_ones_needs_a_key() {
    let app = TestApp::start().await;
    let http = reqwest::Client::new();
    let methods = [
        reqwest::Method::GET,
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
        reqwest::Method::OPTIONS,
    ];
    // Every keyed route, and paths no route names (the fallback is keyed too).
    let mut paths: Vec<String> = warden::server::KEYED_ROUTES
        .iter()
        .map(|p| p.replace("{id}", "claude-sonnet-4-5"))
        .collect();
    paths.extend(
        [
            "/metrics",
            "/admin/approvals",
            "/v1/files",
            "/v1/messages/batches",
            "/v1/complete",
            "/%2e%2e/etc/passwd",
            "/healthz/extra",
        ]
        .map(String::from),
    );
    for path in &paths {
        for method in &methods {
            let r = http
                .request(method.clone(), format!("{}{path}", app.url))
                .send()
                .await
                .expect("sent");
            assert_eq!(r.status(), 401, "{method} {path} without a key");
        }
    }
    for path in warden::server::OPEN_ROUTES {
        let r = http
            .get(format!("{}{path}", app.url))
            .send()
            .await
            .expect("sent");
        assert!(
            r.status().is_success(),
            "GET {path} is open: {}",
            r.status()
        );
    }
    assert_eq!(
        app.mock.state.total(),
        0,
        "nothing unauthenticated went upstream"
    );
}

/// A client whose base URL lacks `/v1`, or has it once too often, is told which, in a 404 that
/// does not quote the path.
#[tokio::test]
async fn a_base_url_with_v1_missing_or_doubled_gets_a_404_that_says_so() {
    let app = TestApp::start().await;
    for (path, says) in [
        ("/messages", "lacks /v1"),
        ("/v1/v1/messages", "twice"),
        ("/v1/v1/messages/count_tokens", "twice"),
    ] {
        let r = app
            .post(path)
            .json(&message_body("claude-sonnet-4-5", false))
            .send()
            .await
            .expect("sent");
        let message = expect_error(r, 404, "not_found_error").await;
        assert!(message.contains(says), "{path}: {message}");
    }
    assert!(
        app.mock.state.received().is_empty(),
        "nothing went upstream"
    );
}
