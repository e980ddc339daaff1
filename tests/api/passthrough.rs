//! What goes through unchanged: unknown fields, blocks, headers, both API versions; and what the
//! client gets back: the upstream's answer and its headers.

use serde_json::{Value, json};

use crate::helpers::{TestApp, UPSTREAM_KEY, WARDEN_KEY, message_body};

#[tokio::test]
async fn a_message_goes_through_and_the_reply_comes_back() {
    let app = TestApp::start().await;
    let r = app
        .post("/v1/messages")
        .json(&message_body("claude-sonnet-4-5", false))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers().get("request-id").and_then(|v| v.to_str().ok()),
        Some("req_mock_upstream"),
        "upstream request-id is relayed"
    );
    assert!(
        r.headers()
            .contains_key("anthropic-ratelimit-requests-remaining")
    );
    assert!(r.headers().contains_key("x-warden-request-id"));
    let m: Value = r.json().await.expect("json");
    assert_eq!(m["type"], "message");
    assert_eq!(
        m["content"][0]["text"],
        "Hello from the Warden mock upstream."
    );
    assert_eq!(app.mock.state.total(), 1);
}

#[tokio::test]
async fn unknown_fields_blocks_and_headers_reach_upstream_unchanged() {
    let app = TestApp::start().await;
    let body = json!({
        "model": "claude-opus-4-5",
        "max_tokens": 1024,
        "brand_new_option": {"depth": [1, 2, {"x": null}]},
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "look"},
                {"type": "quantum_document", "source": {"type": "qubits", "data": "∣ψ⟩"}},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
            ]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "sig=="},
                {"type": "compaction", "content": "summary"},
                {"type": "tool_use", "id": "toolu_1", "name": "mcp__github__get_issue", "input": {"n": 1}, "caller": {"type": "direct"}}
            ]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "ok"}], "is_error": false}]}
        ],
        "tools": [{"name": "mcp__github__get_issue", "input_schema": {"type": "object"}, "defer_loading": true},
                  {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}],
        "context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]}
    });
    // Sent as exact bytes, key order and spacing included.
    let raw = serde_json::to_string_pretty(&body).expect("json");
    for version in ["2023-06-01", "2026-10-21"] {
        let r = app
            .http
            .post(format!("{}/v1/messages?beta=true", app.url))
            .header("x-api-key", WARDEN_KEY)
            .header("content-type", "application/json")
            .header("anthropic-version", version)
            .header(
                "anthropic-beta",
                "future-feature-2027-01-01,context-management-2025-06-27",
            )
            .header("x-stainless-lang", "python")
            .header("x-stainless-retry-count", "0")
            .header("user-agent", "Anthropic/Python 2.10.0")
            .header("x-brand-new-header", "kept")
            .body(raw.clone())
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), 200);
        let got = app
            .mock
            .state
            .received()
            .pop()
            .expect("mock saw the request");
        assert_eq!(got.body, raw, "body forwarded byte for byte");
        assert_eq!(got.path, "/v1/messages?beta=true");
        assert_eq!(got.header("anthropic-version"), Some(version));
        assert_eq!(
            got.header("anthropic-beta"),
            Some("future-feature-2027-01-01,context-management-2025-06-27")
        );
        assert_eq!(got.header("x-stainless-lang"), Some("python"));
        assert_eq!(got.header("user-agent"), Some("Anthropic/Python 2.10.0"));
        assert_eq!(got.header("x-brand-new-header"), Some("kept"));
        assert_eq!(
            got.header("x-api-key"),
            Some(UPSTREAM_KEY),
            "Warden's credential is set"
        );
        assert_eq!(got.header("authorization"), None);
        assert!(got.headers.iter().all(|(_, v)| !v.contains(WARDEN_KEY)));
    }
}

#[tokio::test]
async fn bearer_credentials_are_replaced_too() {
    let app = TestApp::start().await;
    let r = app
        .http
        .post(format!("{}/v1/messages", app.url))
        .header("authorization", format!("Bearer {WARDEN_KEY}"))
        .json(&message_body("claude-x", false))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
    let got = app.mock.state.received().pop().expect("received");
    assert_eq!(got.header("authorization"), None);
    assert_eq!(got.header("x-api-key"), Some(UPSTREAM_KEY));
}

#[tokio::test]
async fn count_tokens_and_models_are_forwarded() {
    let app = TestApp::start().await;
    let r = app
        .post("/v1/messages/count_tokens")
        .json(&json!({"model": "claude-x", "messages": [{"role": "user", "content": "count me"}]}))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    assert!(v["input_tokens"].as_u64().is_some_and(|n| n > 0));

    let models: Value = app
        .get("/v1/models?limit=20")
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(models["data"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        app.mock.state.received().pop().map(|r| r.path),
        Some("/v1/models?limit=20".into())
    );

    let one = app
        .get("/v1/models/claude-haiku-4-5-20251001")
        .send()
        .await
        .expect("sent");
    assert_eq!(one.status(), 200);
    let missing = app
        .get("/v1/models/claude-nope")
        .send()
        .await
        .expect("sent");
    assert_eq!(missing.status(), 404, "upstream 404 relayed");
}

#[tokio::test]
async fn unlisted_paths_are_404_and_listed_ones_are_forwarded() {
    let app = TestApp::start().await;
    let r = app.get("/v1/skills").send().await.expect("sent");
    let msg = crate::helpers::expect_error(r, 404, "not_found_error").await;
    assert!(msg.contains("passthrough_paths"));
    assert_eq!(app.mock.state.total(), 0);

    let app = TestApp::start_with(|c| c.passthrough_paths = vec!["/v1/skills".into()]).await;
    let r = app.get("/v1/skills/skill_1").send().await.expect("sent");
    // Forwarded: the answer is the mock's (which serves no skills), not Warden's.
    let msg = crate::helpers::expect_error(r, 404, "not_found_error").await;
    assert!(!msg.contains("passthrough_paths"), "{msg}");
    assert_eq!(app.mock.state.total(), 1);
    // A listed prefix does not take Warden's own routes from their filters.
    let app = TestApp::start_with(|c| c.passthrough_paths = vec!["/v1/files".into()]).await;
    let r = app
        .post("/v1/messages")
        .json(&serde_json::json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [
            {"type": "document", "source": {"type": "file", "file_id": "file_notours"}}]}]}))
        .send()
        .await
        .expect("sent");
    crate::helpers::expect_error(r, 403, "permission_error").await;
    let r = app
        .get("/v1/files/file_notours")
        .send()
        .await
        .expect("sent");
    crate::helpers::expect_error(r, 404, "not_found_error").await;
    assert_eq!(app.mock.state.total(), 0);
    // Still authenticated.
    let r = app
        .http
        .get(format!("{}/v1/skills", app.url))
        .send()
        .await
        .expect("sent");
    crate::helpers::expect_error(r, 401, "authentication_error").await;
}

#[tokio::test]
async fn probes_and_health_need_no_key() {
    let app = TestApp::start().await;
    let head = app
        .http
        .head(format!("{}/", app.url))
        .send()
        .await
        .expect("sent");
    assert_eq!(head.status(), 200);
    for path in ["/", "/healthz", "/readyz"] {
        let r = app
            .http
            .get(format!("{}{path}", app.url))
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), 200, "{path}");
    }
    assert_eq!(app.mock.state.total(), 0, "probes never reach upstream");
}

/// The first request of a Claude Code session, recorded from `@anthropic-ai/claude-code` 2.1.337
/// (npm) talking to `warden mock-upstream`: it carries a `messages[]` turn with `"role":
/// "system"` under the `mid-conversation-system-2026-04-07` beta. It goes through with its
/// roles as they were, and the text of the turn whose role Warden does not model is scanned.
#[tokio::test]
async fn claude_codes_first_request_goes_through_and_its_system_turns_are_scanned() {
    const TOKEN: &str = "ghp_Zq3VhT8mR2kLx9WbN4cJ7pYs1dFgA6eUo5iK";
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/claude-code");
    let body = std::fs::read_to_string(dir.join("first-request.json")).expect("fixture");
    let headers: std::collections::BTreeMap<String, String> = serde_json::from_str(
        &std::fs::read_to_string(dir.join("first-request.headers.json")).expect("fixture"),
    )
    .expect("headers");
    let app = TestApp::start_with(|c| c.policies.dir = crate::helpers::bundled_policies()).await;
    let recorded: Value = serde_json::from_str(&body).expect("json");
    let roles = |v: &Value| -> Vec<String> {
        v["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| m["role"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert!(
        roles(&recorded).iter().any(|r| r == "system"),
        "the fixture has a system turn"
    );

    let mut with_secret = recorded.clone();
    for m in with_secret["messages"].as_array_mut().expect("messages") {
        if m["role"] == "system" {
            let text = m["content"].as_str().expect("text content").to_string();
            m["content"] = Value::String(format!("{text}\nThe deploy token is {TOKEN}."));
        }
    }
    for (what, sent) in [
        ("as recorded", body.clone()),
        ("a secret in the system turn", with_secret.to_string()),
    ] {
        let mut request = app.post("/v1/messages?beta=true");
        for (name, value) in &headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let r = request
            .header("content-type", "application/json")
            .body(sent)
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), 200, "{what}");
        let reply = r.text().await.expect("stream");
        assert!(reply.contains("message_stop"), "{what}: {reply}");
        let got = app.mock.state.received().pop().expect("received");
        let forwarded: Value = serde_json::from_str(&got.body).expect("json");
        assert_eq!(roles(&forwarded), roles(&recorded), "{what}: roles kept");
        assert!(
            !got.body.contains(TOKEN),
            "{what}: the system turn was not scanned"
        );
        let names = |v: &Value| -> Vec<String> {
            v["tools"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| t["name"].as_str().unwrap_or("").to_string())
                .collect()
        };
        assert_eq!(
            names(&forwarded),
            names(&recorded),
            "{what}: every tool offered"
        );
    }
    let got = app.mock.state.received().pop();
    assert!(got.is_none() || !got.expect("r").body.contains(TOKEN));
}

#[tokio::test]
async fn an_agent_loop_against_the_mock_ends_and_the_mock_reports_what_it_saw() {
    let app = TestApp::start().await;
    let history = json!({"model": "mock-tool_use", "max_tokens": 64, "messages": [
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"location": "Paris"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "Sunny, 21 C"}]}]}
    ]});
    // A turn of tool results gets a final answer, not another tool call.
    let r: Value = app
        .post("/v1/messages")
        .json(&history)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(r["stop_reason"], "end_turn", "{r}");
    // `x-mock-after-tool: parrot` answers with the tool results the model was given.
    let r: Value = app
        .post("/v1/messages")
        .header("x-mock-after-tool", "parrot")
        .json(&history)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(r["content"][0]["text"], "Sunny, 21 C", "{r}");
    // `echo` reports the path with its query string.
    let r: Value = app
        .post("/v1/messages?beta=true")
        .header("x-mock-scenario", "echo")
        .json(&message_body("m", false))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let echoed: Value =
        serde_json::from_str(r["content"][0]["text"].as_str().expect("text")).expect("json");
    assert_eq!(echoed["path"], "/v1/messages?beta=true");
}
