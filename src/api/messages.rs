//! `POST /v1/messages` (and `count_tokens`) request and the `Message` reply.
//!
//! The top level is parsed field by field from a JSON object so that a type error names the field
//! (`messages[2].content: invalid type…`), and every field Warden does not model stays in `extra`
//! in its original order.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Why a request body could not be read as a Messages request. The text names the field and never
/// quotes a value.
#[derive(Debug, thiserror::Error)]
pub enum RequestParseError {
    #[error("request body is not valid JSON: {0}")]
    Json(String),
    #[error("request body must be a JSON object")]
    NotAnObject,
    #[error("{0}: Field required")]
    Missing(&'static str),
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("request JSON nests deeper than {0} levels (limits.max_json_depth)")]
    TooDeep(usize),
}

/// Whether `value` nests `[`/`{` deeper than `limit` (walked without recursion).
fn deeper_than(value: &Value, limit: usize) -> bool {
    let mut stack = vec![(value, 1usize)];
    while let Some((v, depth)) = stack.pop() {
        let nests = matches!(v, Value::Array(_) | Value::Object(_));
        if nests && depth > limit {
            return true;
        }
        match v {
            Value::Array(items) => stack.extend(items.iter().map(|c| (c, depth + 1))),
            Value::Object(map) => stack.extend(map.values().map(|c| (c, depth + 1))),
            _ => {}
        }
    }
    false
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct Message {
    pub role: Role,
    pub content: MessageContent,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum MessageContent {
    Text(String),
    Blocks(Vec<ContentBlock>),
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum System {
    Text(String),
    Blocks(Vec<ContentBlock>),
}

/// A content block. Known types are typed as far as a filter needs; `thinking` and
/// `redacted_thinking` keep everything opaque because an edited thinking block is rejected
/// upstream. Any other type is kept whole in `Unknown`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(tag = "type")]
pub enum ContentBlock {
    #[serde(rename = "text")]
    Text {
        text: String,
        #[serde(flatten)]
        extra: Map<String, Value>,
    },
    #[serde(rename = "tool_use")]
    ToolUse {
        id: String,
        name: String,
        input: Value,
        #[serde(flatten)]
        extra: Map<String, Value>,
    },
    #[serde(rename = "tool_result")]
    ToolResult {
        tool_use_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<MessageContent>,
        #[serde(flatten)]
        extra: Map<String, Value>,
    },
    #[serde(rename = "thinking")]
    Thinking {
        #[serde(flatten)]
        opaque: Map<String, Value>,
    },
    #[serde(rename = "redacted_thinking")]
    RedactedThinking {
        #[serde(flatten)]
        opaque: Map<String, Value>,
    },
    /// Every other type (`image`, `document`, `search_result`, server tool results, types that
    /// do not exist yet), kept whole, `type` included.
    #[serde(untagged)]
    Unknown(Map<String, Value>),
}

impl ContentBlock {
    /// The block's `type` string, whatever it is.
    pub fn type_str(&self) -> &str {
        match self {
            Self::Text { .. } => "text",
            Self::ToolUse { .. } => "tool_use",
            Self::ToolResult { .. } => "tool_result",
            Self::Thinking { .. } => "thinking",
            Self::RedactedThinking { .. } => "redacted_thinking",
            Self::Unknown(map) => map.get("type").and_then(Value::as_str).unwrap_or(""),
        }
    }
}

/// A tool definition: client tools, server tools (`web_search_…`) and MCP toolsets alike have a
/// `name`; everything else is kept as it came.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct Tool {
    pub name: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A Messages request (also the body of `count_tokens`, which has no `max_tokens`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MessagesRequest {
    pub model: String,
    pub messages: Vec<Message>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<System>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Which endpoint a body is for; it decides which fields are required.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Messages,
    CountTokens,
}

fn take_field<T: serde::de::DeserializeOwned>(
    map: &mut Map<String, Value>,
    field: &'static str,
) -> Result<Option<T>, RequestParseError> {
    match map.remove(field) {
        None => Ok(None),
        Some(value) => serde_path_to_error::deserialize(value)
            .map(Some)
            .map_err(|e| {
                let path = e.path().to_string();
                let field = if path == "." || path.is_empty() {
                    field.to_string()
                } else if path.starts_with('[') {
                    format!("{field}{path}")
                } else {
                    format!("{field}.{path}")
                };
                RequestParseError::Invalid {
                    field,
                    message: scrub_serde_message(&e.into_inner().to_string()),
                }
            }),
    }
}

/// serde's messages quote the offending value (`invalid type: string "sk-…"`); a rejected value
/// may be a secret, so keep only the shape of the complaint.
fn scrub_serde_message(message: &str) -> String {
    match (message.find('"'), message.rfind('"')) {
        (Some(start), Some(end)) if end > start => {
            format!("{}…{}", &message[..start], &message[end + 1..])
        }
        _ => message.to_string(),
    }
}

impl MessagesRequest {
    /// Parses and validates a request body for `endpoint`.
    pub fn parse(body: &[u8], endpoint: Endpoint) -> Result<Self, RequestParseError> {
        Self::parse_within(body, endpoint, usize::MAX)
    }

    /// [`MessagesRequest::parse`], refusing JSON that nests deeper than `max_depth`.
    pub fn parse_within(
        body: &[u8],
        endpoint: Endpoint,
        max_depth: usize,
    ) -> Result<Self, RequestParseError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            // serde_json's own guard against deep nesting (128 levels) fires first.
            if e.to_string().contains("recursion limit exceeded") {
                return RequestParseError::TooDeep(max_depth.min(128));
            }
            RequestParseError::Json(format!(
                "{} at line {} column {}",
                match e.classify() {
                    serde_json::error::Category::Eof => "unexpected end of input",
                    serde_json::error::Category::Syntax => "syntax error",
                    serde_json::error::Category::Data => "invalid data",
                    serde_json::error::Category::Io => "read error",
                },
                e.line(),
                e.column()
            ))
        })?;
        if deeper_than(&value, max_depth) {
            return Err(RequestParseError::TooDeep(max_depth));
        }
        let Value::Object(mut map) = value else {
            return Err(RequestParseError::NotAnObject);
        };
        let model: String =
            take_field(&mut map, "model")?.ok_or(RequestParseError::Missing("model"))?;
        let messages: Vec<Message> =
            take_field(&mut map, "messages")?.ok_or(RequestParseError::Missing("messages"))?;
        let max_tokens: Option<Value> = match map.remove("max_tokens") {
            None => None,
            Some(v) if v.as_u64().is_some() => Some(v),
            Some(_) => {
                return Err(RequestParseError::Invalid {
                    field: "max_tokens".into(),
                    message: "Input should be a valid non-negative integer".into(),
                });
            }
        };
        if endpoint == Endpoint::Messages && max_tokens.is_none() {
            return Err(RequestParseError::Missing("max_tokens"));
        }
        let system = take_field(&mut map, "system")?;
        let tools = take_field(&mut map, "tools")?;
        let stream = take_field(&mut map, "stream")?;
        Ok(Self {
            model,
            messages,
            max_tokens,
            system,
            tools,
            stream,
            extra: map,
        })
    }

    pub fn is_streaming(&self) -> bool {
        self.stream == Some(true)
    }

    /// The request as JSON bytes, for when a filter changed it. Unchanged requests are forwarded
    /// as the bytes that came in.
    pub fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}

/// A whole `Message` reply (non-streaming).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct MessageReply {
    #[serde(default)]
    pub content: Vec<ContentBlock>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<MessagesRequest, RequestParseError> {
        MessagesRequest::parse(v.to_string().as_bytes(), Endpoint::Messages)
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_refused_while_parsing() {
        let body = |depth: usize| {
            format!(
                r#"{{"model": "m", "max_tokens": 1, "messages": [], "metadata": {{"x": {}1{}}}}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            )
        };
        // The object itself and `metadata` are two levels; the arrays add the rest.
        assert!(MessagesRequest::parse_within(body(62).as_bytes(), Endpoint::Messages, 64).is_ok());
        assert!(matches!(
            MessagesRequest::parse_within(body(63).as_bytes(), Endpoint::Messages, 64),
            Err(RequestParseError::TooDeep(64))
        ));
        // Past serde_json's own guard, the same error.
        assert!(matches!(
            MessagesRequest::parse_within(body(500).as_bytes(), Endpoint::Messages, 64),
            Err(RequestParseError::TooDeep(64))
        ));
    }

    #[test]
    fn unknown_fields_and_blocks_survive_a_round_trip() {
        let input = json!({
            "model": "claude-x",
            "max_tokens": 10,
            "future_field": {"a": [1, 2]},
            "messages": [{
                "role": "user",
                "cache_hint": true,
                "content": [
                    {"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}},
                    {"type": "hologram", "payload": "zzz"},
                    {"type": "thinking", "thinking": "t", "signature": "sig"},
                    {"type": "tool_result", "tool_use_id": "t1", "content": "ok", "is_error": false}
                ]
            }],
            "tools": [{"name": "Bash", "input_schema": {"type": "object"}}, {"type": "web_search_20250305", "name": "web_search"}]
        });
        let req = parse(input.clone()).expect("parses");
        let MessageContent::Blocks(blocks) = &req.messages[0].content else {
            panic!("blocks expected")
        };
        assert_eq!(blocks[1].type_str(), "hologram");
        let out: Value =
            serde_json::from_slice(&req.to_bytes().expect("serialises")).expect("json");
        assert_eq!(out, input);
    }

    #[test]
    fn errors_name_the_field_and_never_quote_values() {
        let err = parse(json!({"model": "m", "max_tokens": 5})).expect_err("missing messages");
        assert_eq!(err.to_string(), "messages: Field required");
        let err = parse(json!({"messages": [], "max_tokens": 5})).expect_err("missing model");
        assert_eq!(err.to_string(), "model: Field required");
        let err = parse(json!({"model": "m", "messages": []})).expect_err("missing max_tokens");
        assert_eq!(err.to_string(), "max_tokens: Field required");
        let err = parse(json!({"model": "m", "messages": [], "max_tokens": "sk-ant-secret"}))
            .expect_err("bad max_tokens");
        assert!(err.to_string().starts_with("max_tokens:"));
        assert!(!err.to_string().contains("sk-ant-secret"));
        let err = parse(
            json!({"model": "m", "max_tokens": 1, "messages": [{"role": "robot", "content": "x"}]}),
        )
        .expect_err("bad role");
        assert!(err.to_string().starts_with("messages[0].role:"), "{err}");
        let err =
            parse(json!({"model": 7, "messages": [], "max_tokens": 1})).expect_err("bad model");
        assert!(err.to_string().starts_with("model:"), "{err}");
        assert!(matches!(
            MessagesRequest::parse(b"{\"model\": ", Endpoint::Messages),
            Err(RequestParseError::Json(_))
        ));
    }

    #[test]
    fn count_tokens_needs_no_max_tokens() {
        let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        MessagesRequest::parse(body.to_string().as_bytes(), Endpoint::CountTokens)
            .expect("count_tokens body parses");
    }
}
