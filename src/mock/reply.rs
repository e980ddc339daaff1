//! The mock's replies: the same content as a whole Message or as a realistic SSE stream.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::{Value, json};

use super::cache::InputUsage;
use super::scenario::Scenario;
use super::{MockState, error_response, sse_body};

static MESSAGE_COUNTER: AtomicU64 = AtomicU64::new(1);

/// What the echo scenario reports back.
pub struct Echo<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a Value,
}

impl Echo<'_> {
    fn to_text(&self) -> String {
        let headers: serde_json::Map<String, Value> = self
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.to_string(),
                    Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()),
                )
            })
            .collect();
        json!({"method": self.method, "path": self.path, "headers": headers, "body": self.body})
            .to_string()
    }
}

pub fn estimate_tokens(bytes: usize) -> u64 {
    (bytes as u64 / 4).max(1)
}

enum Block {
    Text(String),
    /// Text streamed in deltas of a fixed number of characters.
    Chunked(String, usize),
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    Thinking {
        thinking: String,
        signature: String,
    },
    Unknown(Value),
}

impl Block {
    fn whole(&self) -> Value {
        match self {
            Block::Text(t) | Block::Chunked(t, _) => json!({"type": "text", "text": t}),
            Block::ToolUse { id, name, input } => {
                json!({"type": "tool_use", "id": id, "name": name, "input": input})
            }
            Block::Thinking {
                thinking,
                signature,
            } => {
                json!({"type": "thinking", "thinking": thinking, "signature": signature})
            }
            Block::Unknown(v) => v.clone(),
        }
    }

    fn start(&self) -> Value {
        match self {
            Block::Text(_) | Block::Chunked(..) => json!({"type": "text", "text": ""}),
            Block::ToolUse { id, name, .. } => {
                json!({"type": "tool_use", "id": id, "name": name, "input": {}})
            }
            Block::Thinking { .. } => json!({"type": "thinking", "thinking": "", "signature": ""}),
            Block::Unknown(v) => v.clone(),
        }
    }

    fn deltas(&self) -> Vec<Value> {
        match self {
            Block::Text(t) => split_words(t)
                .into_iter()
                .map(|w| json!({"type": "text_delta", "text": w}))
                .collect(),
            Block::Chunked(t, n) => t
                .chars()
                .collect::<Vec<_>>()
                .chunks(*n)
                .map(|c| json!({"type": "text_delta", "text": c.iter().collect::<String>()}))
                .collect(),
            Block::ToolUse { input, .. } => {
                // Split the JSON every 7 bytes: mid-key, mid-string, mid-number, as upstream does.
                let s = input.to_string();
                let mut pieces = vec![json!({"type": "input_json_delta", "partial_json": ""})];
                let chars: Vec<char> = s.chars().collect();
                for chunk in chars.chunks(7) {
                    pieces.push(json!({
                        "type": "input_json_delta",
                        "partial_json": chunk.iter().collect::<String>()
                    }));
                }
                pieces
            }
            Block::Thinking {
                thinking,
                signature,
            } => {
                let mut d: Vec<Value> = split_words(thinking)
                    .into_iter()
                    .map(|w| json!({"type": "thinking_delta", "thinking": w}))
                    .collect();
                d.push(json!({"type": "signature_delta", "signature": signature}));
                d
            }
            Block::Unknown(_) => vec![json!({"type": "hologram_delta", "payload": "✨"})],
        }
    }
}

/// Splits text into word-sized pieces that keep their spaces, as the API's deltas do.
fn split_words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        cur.push(c);
        if c == ' ' {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

const LOREM: &[&str] = &[
    "Warden", "checks", "every", "request", "before", "it", "reaches", "the", "model,", "and",
    "every", "reply", "before", "it", "reaches", "you.",
];

fn content_for(scenario: &Scenario, echo: &Echo<'_>) -> (Vec<Block>, &'static str) {
    let hello = || Block::Text("Hello from the Warden mock upstream.".to_string());
    match scenario {
        Scenario::Echo => (vec![Block::Text(echo.to_text())], "end_turn"),
        Scenario::Say(n) => {
            let text = unescape(
                echo.headers
                    .get("x-mock-say")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or(""),
            );
            (vec![Block::Chunked(text, *n)], "end_turn")
        }
        Scenario::Parrot(n) => (
            vec![Block::Chunked(last_user_text(echo.body), *n)],
            "end_turn",
        ),
        Scenario::ToolUse => {
            // `x-mock-tool` chooses the calls: `{"name": …, "input": …}` or a list of them.
            let chosen: Vec<(String, Value)> = echo
                .headers
                .get("x-mock-tool")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| serde_json::from_str::<Value>(v).ok())
                .map(|v| match v {
                    Value::Array(calls) => calls,
                    one => vec![one],
                })
                .unwrap_or_default()
                .into_iter()
                .map(|c| {
                    (
                        c["name"].as_str().unwrap_or("get_weather").to_string(),
                        c.get("input").cloned().unwrap_or_else(|| json!({})),
                    )
                })
                .collect();
            let calls = if chosen.is_empty() {
                vec![(
                    "get_weather".to_string(),
                    json!({"location": "Paris, France", "unit": "celsius", "days": 3}),
                )]
            } else {
                chosen
            };
            let mut blocks = vec![Block::Text("I'll check the weather in Paris.".into())];
            for (name, input) in calls {
                blocks.push(Block::ToolUse {
                    id: format!(
                        "toolu_mock{:08}",
                        MESSAGE_COUNTER.fetch_add(1, Ordering::Relaxed)
                    ),
                    name,
                    input,
                });
            }
            (blocks, "tool_use")
        }
        Scenario::Thinking => (
            vec![
                Block::Thinking {
                    // `x-mock-say` sets the thinking text, for tests of what a policy does with it.
                    thinking: echo
                        .headers
                        .get("x-mock-say")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("The user greets me; a short friendly answer fits.")
                        .to_string(),
                    signature: "EqQBCkYIARgCKkBmockSignatureNotARealOne==".into(),
                },
                hello(),
            ],
            "end_turn",
        ),
        Scenario::UnknownEvents => (
            vec![
                hello(),
                Block::Unknown(json!({"type": "hologram", "payload": "", "future": {"x": 1}})),
            ],
            "end_turn",
        ),
        Scenario::Long(words) => (
            vec![Block::Text(
                (0..*words)
                    .map(|i| LOREM[i % LOREM.len()])
                    .collect::<Vec<_>>()
                    .join(" "),
            )],
            "end_turn",
        ),
        _ => (vec![hello()], "end_turn"),
    }
}

/// The text of the last user message: string content, or its text blocks and the text of its
/// tool results, joined by newlines.
fn last_user_text(body: &Value) -> String {
    let Some(last) = body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
    else {
        return String::new();
    };
    fn texts(content: &Value, out: &mut Vec<String>) {
        match content {
            Value::String(s) => out.push(s.clone()),
            Value::Array(blocks) => {
                for b in blocks {
                    match b["type"].as_str() {
                        Some("tool_result") => texts(&b["content"], out),
                        _ => {
                            if let Some(t) = b["text"].as_str() {
                                out.push(t.to_string());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    texts(&last["content"], &mut out);
    out.join("\n")
}

fn message_head(id: &str, model: &str, usage: InputUsage) -> Value {
    json!({
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": null,
        "stop_sequence": null,
        "usage": {
            "input_tokens": usage.input_tokens,
            "cache_creation_input_tokens": usage.cache_creation_input_tokens,
            "cache_read_input_tokens": usage.cache_read_input_tokens,
            "output_tokens": 1,
            "service_tier": "standard"
        }
    })
}

fn record(name: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

fn with_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert("request-id", HeaderValue::from_static("req_mock_upstream"));
    h.insert(
        "anthropic-ratelimit-requests-remaining",
        HeaderValue::from_static("999"),
    );
    response
}

fn status_error(code: u16) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (kind, message) = match code {
        400 => (
            "invalid_request_error",
            "prompt is too long: 250000 tokens > 200000 maximum",
        ),
        401 => ("authentication_error", "invalid x-api-key"),
        403 => (
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
        ),
        404 => ("not_found_error", "Not found"),
        413 => (
            "request_too_large",
            "Request exceeds the maximum allowed number of bytes.",
        ),
        429 => (
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
        ),
        529 => ("overloaded_error", "Overloaded"),
        504 => ("timeout_error", "Request timed out"),
        _ => ("api_error", "Internal server error"),
    };
    let mut r = error_response(status, kind, message);
    if code == 429 {
        r.headers_mut()
            .insert("retry-after", HeaderValue::from_static("1"));
        r.headers_mut().insert(
            "anthropic-ratelimit-requests-remaining",
            HeaderValue::from_static("0"),
        );
    }
    r
}

/// The whole Message a non-streamed request for `scenario` gets (a batch item's result).
pub fn whole_message(
    scenario: &Scenario,
    req: &Value,
    echo: &Echo<'_>,
    usage: InputUsage,
) -> Value {
    let model = req.get("model").and_then(Value::as_str).unwrap_or("claude");
    let id = format!(
        "msg_mock{:012}",
        MESSAGE_COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let (blocks, stop_reason) = content_for(scenario, echo);
    let output_tokens: u64 = blocks
        .iter()
        .map(|b| estimate_tokens(b.whole().to_string().len()))
        .sum();
    let mut m = message_head(&id, model, usage);
    m["content"] = Value::Array(blocks.iter().map(Block::whole).collect());
    m["stop_reason"] = json!(stop_reason);
    m["usage"]["output_tokens"] = json!(output_tokens);
    m
}

pub async fn answer(
    state: &MockState,
    scenario: Scenario,
    req: &Value,
    echo: &Echo<'_>,
    body_len: usize,
) -> Response {
    let stream = req.get("stream").and_then(Value::as_bool) == Some(true);
    let model = req.get("model").and_then(Value::as_str).unwrap_or("claude");
    match &scenario {
        Scenario::Status(code) => return status_error(*code),
        Scenario::StatusOnce(code, nonce) if state.first_time(nonce) => return status_error(*code),
        Scenario::SlowFirstByte(ms) => tokio::time::sleep(Duration::from_millis(*ms)).await,
        Scenario::Replay(file) => return replay(state, file, stream).await,
        _ => {}
    }
    let usage = state.input_usage(echo.headers, req, body_len);
    if !stream {
        return with_headers(
            axum::Json(whole_message(&scenario, req, echo, usage)).into_response(),
        );
    }
    let id = format!(
        "msg_mock{:012}",
        MESSAGE_COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let (blocks, stop_reason) = content_for(&scenario, echo);
    let output_tokens: u64 = blocks
        .iter()
        .map(|b| estimate_tokens(b.whole().to_string().len()))
        .sum();
    let mut records = vec![record(
        "message_start",
        &json!({"type": "message_start", "message": message_head(&id, model, usage)}),
    )];
    if let Scenario::SlowPings(count, _) = scenario {
        for _ in 0..count {
            records.push(record("ping", &json!({"type": "ping"})));
        }
    }
    let mut cut_after = None;
    for (index, block) in blocks.iter().enumerate() {
        records.push(record(
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": block.start()}),
        ));
        if index == 0 {
            records.push(record("ping", &json!({"type": "ping"})));
        }
        for (n, delta) in block.deltas().into_iter().enumerate() {
            records.push(record(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": index, "delta": delta}),
            ));
            if n == 1 && cut_after.is_none() {
                cut_after = Some(records.len());
            }
        }
        records.push(record(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": index}),
        ));
        if scenario == Scenario::UnknownEvents {
            records.push(record(
                "future_event",
                &json!({"type": "future_event", "detail": {"index": index}}),
            ));
        }
    }
    records.push(record(
        "message_delta",
        &json!({
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": null},
            "usage": {"output_tokens": output_tokens}
        }),
    ));
    records.push(record("message_stop", &json!({"type": "message_stop"})));

    let mut delay = Duration::from_micros(state.options.chunk_delay_us);
    let mut break_off = false;
    let cut = cut_after.unwrap_or(2).min(records.len());
    match scenario {
        Scenario::CutStream => {
            records.truncate(cut);
            break_off = true;
        }
        Scenario::TruncatedStream => records.truncate(cut),
        Scenario::MidstreamError => {
            records.truncate(cut);
            records.push(record(
                "error",
                &json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
            ));
        }
        Scenario::SlowPings(_, ms) => delay = delay.max(Duration::from_millis(ms)),
        _ => {}
    }
    sse_response(state, records, delay, break_off)
}

fn sse_response(
    state: &MockState,
    records: Vec<Bytes>,
    delay: Duration,
    break_off: bool,
) -> Response {
    let mut response = Response::new(sse_body(state, records, delay, break_off));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    );
    with_headers(response)
}

async fn replay(state: &MockState, file: &str, stream: bool) -> Response {
    if !stream {
        return error_response(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "mock: replay needs \"stream\": true",
        );
    }
    if file.contains('/') || file.contains("..") {
        return error_response(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "mock: bad file",
        );
    }
    let path = state.options.fixtures_dir.join(file);
    let Ok(text) = tokio::fs::read(&path).await else {
        return error_response(
            StatusCode::NOT_FOUND,
            "not_found_error",
            "mock: no such recording",
        );
    };
    // Send the recording in uneven pieces so that records straddle chunk boundaries.
    let mut pieces = Vec::new();
    let mut rest = Bytes::from(text);
    let mut size = 1;
    while !rest.is_empty() {
        let n = size.min(rest.len());
        pieces.push(rest.split_to(n));
        size = size * 3 % 97 + 1;
    }
    let delay = Duration::from_micros(state.options.chunk_delay_us);
    let mut response = Response::new(if delay.is_zero() {
        Body::from_stream(futures_util::stream::iter(
            pieces.into_iter().map(Ok::<_, std::io::Error>),
        ))
    } else {
        sse_body(state, pieces, delay, false)
    });
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    with_headers(response)
}

/// The `x-mock-say` header's text: `\n` is a newline and `\uXXXX` the character with that
/// code point (a header carries ASCII only; tests need the model to write any character).
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("\\n") {
            out.push('\n');
            rest = after;
        } else if let Some(c) = tail
            .get(2..6)
            .filter(|_| tail.starts_with("\\u"))
            .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            .and_then(char::from_u32)
        {
            out.push(c);
            rest = &tail[6..];
        } else {
            out.push('\\');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}
