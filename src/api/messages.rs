//! `POST /v1/messages` (and `count_tokens`) request and the `Message` reply.
//!
//! The top level is parsed field by field from a JSON object so that a type error names the field
//! (`messages[2].content: invalid type…`), and every field Warden does not model stays in `extra`
//! in its original order.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::decode::RequestFields;

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
    #[error(
        "request JSON repeats a key within one object; Warden refuses repeated keys because parsers disagree on which copy counts"
    )]
    DuplicateKey,
}

/// Whether `value` nests `[`/`{` deeper than `limit` (walked without recursion).
fn deeper_than(value: &Value, limit: usize) -> bool {
    deeper_than_from(value, 1, limit)
}

/// [`deeper_than`] for a value that sits at `depth` in the document (the top level is 1).
fn deeper_than_from(value: &Value, depth: usize, limit: usize) -> bool {
    let mut stack = vec![(value, depth)];
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

/// [`deeper_than_from`] for an array of content blocks that sits at `depth`.
fn blocks_deeper_than(blocks: &[ContentBlock], depth: usize, limit: usize) -> bool {
    depth > limit
        || blocks
            .iter()
            .any(|b| block_deeper_than(b, depth + 1, limit))
}

/// [`deeper_than_from`] for a content block whose object sits at `depth`.
fn block_deeper_than(block: &ContentBlock, depth: usize, limit: usize) -> bool {
    let values =
        |map: &Map<String, Value>| map.values().any(|v| deeper_than_from(v, depth + 1, limit));
    if depth > limit {
        return true;
    }
    match block {
        ContentBlock::Text { extra, .. } => values(extra),
        ContentBlock::ToolUse { input, extra, .. } => {
            deeper_than_from(input, depth + 1, limit) || values(extra)
        }
        ContentBlock::ToolResult { content, extra, .. } => {
            values(extra)
                || matches!(content, Some(MessageContent::Blocks(blocks))
                    if blocks_deeper_than(blocks, depth + 1, limit))
        }
        ContentBlock::Thinking { opaque } | ContentBlock::RedactedThinking { opaque } => {
            values(opaque)
        }
        ContentBlock::Unknown(map) => values(map),
    }
}

/// Who a message is from. Roles this version does not know (Claude Code's mid-conversation
/// `system` turns, under a beta) are kept as written and go upstream unchanged: the typed model
/// never rejects what upstream may accept, and their text is scanned like a user's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
    Other(String),
}

impl Role {
    pub fn as_str(&self) -> &str {
        match self {
            Self::User => "user",
            Self::Assistant => "assistant",
            Self::Other(role) => role,
        }
    }
}

impl Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let role = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(match role.as_ref() {
            "user" => Self::User,
            "assistant" => Self::Assistant,
            _ => Self::Other(role.into_owned()),
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Message {
    pub role: Role,
    pub content: MessageContent,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum MessageContent {
    Text(String),
    Blocks(Vec<ContentBlock>),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum System {
    Text(String),
    Blocks(Vec<ContentBlock>),
}

/// A content block. Known types are typed as far as a filter needs; `thinking` and
/// `redacted_thinking` keep everything opaque because an edited thinking block is rejected
/// upstream. Any other type is kept whole in `Unknown`.
#[derive(Clone, Debug, PartialEq, Serialize)]
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
#[derive(Clone, Debug, PartialEq, Serialize)]
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
        // One typed pass over the bytes; only a body it refuses is parsed again, slowly, to say
        // which field is wrong (the same deserializers, so both accept the same bodies).
        match serde_json::from_slice::<RequestFields>(body) {
            Ok(fields) => {
                if let Some(request) = Self::from_fields(fields, endpoint)
                    && !request.nests_deeper_than(max_depth)
                {
                    return Ok(request);
                }
            }
            Err(e) if e.to_string().starts_with(super::decode::DUPLICATE_KEY) => {
                return Err(RequestParseError::DuplicateKey);
            }
            Err(_) => {}
        }
        Err(Self::why_refused(body, endpoint, max_depth))
    }

    /// The request, when the fields hold one for `endpoint`.
    fn from_fields(fields: RequestFields, endpoint: Endpoint) -> Option<Self> {
        let max_tokens = match fields.max_tokens {
            Some(v) if v.as_u64().is_none() => return None,
            None if endpoint == Endpoint::Messages => return None,
            m => m,
        };
        Some(Self {
            model: fields.model?,
            messages: fields.messages?,
            max_tokens,
            system: fields.system,
            tools: fields.tools,
            stream: fields.stream,
            extra: fields.extra,
        })
    }

    /// Whether the request nests `[`/`{` deeper than `limit`, counting the top-level object as
    /// one: what [`deeper_than`] says of the same body parsed as a `Value`.
    fn nests_deeper_than(&self, limit: usize) -> bool {
        let values = |map: &Map<String, Value>, depth: usize| {
            map.values().any(|v| deeper_than_from(v, depth, limit))
        };
        // The object itself is depth 1 and `messages` (always there) depth 2.
        if 2 > limit || (!self.messages.is_empty() && 3 > limit) || values(&self.extra, 2) {
            return true;
        }
        for message in &self.messages {
            if values(&message.extra, 4) {
                return true;
            }
            if let MessageContent::Blocks(blocks) = &message.content
                && blocks_deeper_than(blocks, 4, limit)
            {
                return true;
            }
        }
        if let Some(System::Blocks(blocks)) = &self.system
            && blocks_deeper_than(blocks, 2, limit)
        {
            return true;
        }
        if let Some(tools) = &self.tools {
            if 2 > limit || (!tools.is_empty() && 3 > limit) {
                return true;
            }
            if tools.iter().any(|t| values(&t.extra, 4)) {
                return true;
            }
        }
        false
    }

    /// The error for a body the typed pass refused: parsed as a `Value` first, so that a syntax
    /// error anywhere is reported as one, then field by field so that a type error names its path.
    fn why_refused(body: &[u8], endpoint: Endpoint, max_depth: usize) -> RequestParseError {
        match Self::parse_slowly(body, endpoint, max_depth) {
            Err(e) => e,
            // Both passes use the same deserializers; if they ever disagree, refuse rather than
            // guess (fail closed), and say so.
            Ok(_) => RequestParseError::Json("request body could not be read".into()),
        }
    }

    fn parse_slowly(
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

/// A whole `Message` reply (non-streaming). Warden reads its content and stop reason; the other
/// fields (`id`, `model`, `usage`, fields that do not exist yet) are kept as the JSON text they
/// came as, and written back unchanged when a stage rewrites the reply.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MessageReply {
    pub content: Vec<ContentBlock>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<Value>,
    #[serde(flatten)]
    pub extra: RawFields,
    /// Indices of the `content` blocks Warden wrote itself (notices standing where a tool call
    /// was): later stages leave them as they are. Never sent.
    #[serde(skip)]
    pub own_blocks: Vec<usize>,
}

/// Object fields kept as their JSON text, in the order they came; a repeated key is kept too,
/// and [`RawFields::get`] reads the last, as a JSON parser would.
#[derive(Clone, Debug, Default)]
pub struct RawFields(pub(super) Vec<(String, Box<serde_json::value::RawValue>)>);

impl RawFields {
    /// The field's value, parsed.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .and_then(|(_, raw)| serde_json::from_str(raw.get()).ok())
    }
}

impl PartialEq for RawFields {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(&other.0)
                .all(|((k, v), (k2, v2))| k == k2 && v.get() == v2.get())
    }
}

impl Serialize for RawFields {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
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
            json!({"model": "m", "max_tokens": 1, "messages": [{"role": 7, "content": "x"}]}),
        )
        .expect_err("a role that is not a string");
        assert!(err.to_string().starts_with("messages[0].role:"), "{err}");
        // A role this version does not know is upstream's to judge: kept, as written.
        let input = json!({"model": "m", "max_tokens": 1, "messages": [
            {"role": "user", "content": "x"}, {"role": "system", "content": "y"}, {"role": "robot", "content": "z"}]});
        let req = parse(input.clone()).expect("unknown roles parse");
        assert_eq!(req.messages[1].role, Role::Other("system".into()));
        let out: Value =
            serde_json::from_slice(&req.to_bytes().expect("serialises")).expect("json");
        assert_eq!(out, input);
        let err =
            parse(json!({"model": 7, "messages": [], "max_tokens": 1})).expect_err("bad model");
        assert!(err.to_string().starts_with("model:"), "{err}");
        assert!(matches!(
            MessagesRequest::parse(b"{\"model\": ", Endpoint::Messages),
            Err(RequestParseError::Json(_))
        ));
    }

    /// A request with something nested at every place the typed walk looks.
    fn nested_request() -> Value {
        json!({
            "model": "m",
            "max_tokens": 1,
            "metadata": {"a": [[1]]},
            "system": [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral", "x": [1]}}],
            "tools": [{"name": "t", "input_schema": {"type": "object", "properties": {"p": {"type": "string"}}}}],
            "messages": [
                {"role": "user", "content": "plain", "note": {"k": [1, [2]]}},
                {"role": "assistant", "content": [
                    {"type": "tool_use", "id": "u1", "name": "t", "input": {"deep": [{"x": [1]}]}},
                    {"type": "thinking", "thinking": "t", "signature": "s", "meta": [[[1]]]}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "u1", "content": [
                        {"type": "text", "text": "r", "citations": [{"a": {"b": [1]}}]},
                        {"type": "tool_result", "tool_use_id": "u2", "content": [{"type": "image", "source": {"data": [[1]]}}]}
                    ]},
                    {"type": "hologram", "payload": {"z": [[[[1]]]]}}
                ]}
            ]
        })
    }

    #[test]
    fn the_typed_depth_walk_refuses_exactly_what_the_value_walk_refuses() {
        let body = nested_request();
        let bytes = body.to_string();
        let deepest = (0..64).find(|&l| !deeper_than(&body, l)).expect("finite");
        assert!(
            deepest > 8,
            "the fixture nests deep enough to test: {deepest}"
        );
        for limit in 0..=deepest + 1 {
            let parsed = MessagesRequest::parse_within(bytes.as_bytes(), Endpoint::Messages, limit);
            assert_eq!(parsed.is_ok(), !deeper_than(&body, limit), "limit {limit}");
            if let Err(e) = parsed {
                assert!(
                    matches!(e, RequestParseError::TooDeep(l) if l == limit),
                    "{e}"
                );
            }
        }
        // Each place on its own: only that part nests past the limit.
        for part in [
            json!({"model": "m", "max_tokens": 1, "messages": [], "x": [[[[1]]]]}),
            json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "c", "x": [[1]]}]}),
            json!({"model": "m", "max_tokens": 1, "messages": [], "tools": [{"name": "t", "s": [[1]]}]}),
            json!({"model": "m", "max_tokens": 1, "messages": [], "system": [{"type": "text", "text": "t", "x": [1]}]}),
        ] {
            let bytes = part.to_string();
            for limit in 0..8 {
                assert_eq!(
                    MessagesRequest::parse_within(bytes.as_bytes(), Endpoint::Messages, limit)
                        .is_ok(),
                    !deeper_than(&part, limit),
                    "{part} at {limit}"
                );
            }
        }
    }

    #[test]
    fn a_block_without_its_types_shape_is_kept_whole() {
        let blocks = json!([
            {"type": "text", "text": 5},
            {"type": "tool_use", "id": "u", "name": "n"},
            {"type": "tool_result", "tool_use_id": "u", "content": [1, 2]},
            {"type": "tool_result", "tool_use_id": 7, "content": "ok"},
            {"type": 3, "text": "x"},
            {"text": "no type"}
        ]);
        let input = json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": blocks}]});
        let req = parse(input.clone()).expect("parses");
        let MessageContent::Blocks(parsed) = &req.messages[0].content else {
            panic!("blocks expected")
        };
        assert_eq!(parsed.len(), 6);
        assert!(
            parsed.iter().all(|b| matches!(b, ContentBlock::Unknown(_))),
            "{parsed:?}"
        );
        let out: Value =
            serde_json::from_slice(&req.to_bytes().expect("serialises")).expect("json");
        assert_eq!(out, input);
        // A block that is not an object is an error, named by its path.
        let err = parse(json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": ["sk-ant-x"]}]}))
            .expect_err("a string is not a block");
        assert!(
            err.to_string().starts_with("messages[0].content[0]:"),
            "{err}"
        );
        assert!(!err.to_string().contains("sk-ant-x"), "{err}");
    }

    #[test]
    fn a_repeated_key_at_any_depth_is_refused() {
        // Upstream parsers disagree on which copy of a repeated key counts (the first, the last,
        // an error): whichever Warden scanned, another could be the one that is read.
        for body in [
            r#"{"model": "a", "model": "b", "max_tokens": 1, "messages": []}"#,
            r#"{"model": "m", "max_tokens": 1, "messages": [], "messages": []}"#,
            r#"{"model": "m", "max_tokens": 1, "max_tokens": 2, "messages": []}"#,
            r#"{"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "a", "content": "b"}]}"#,
            r#"{"model": "m", "max_tokens": 1, "messages": [{"role": "user", "role": "user", "content": "a"}]}"#,
            r#"{"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [{"type": "text", "text": "one", "text": "two"}]}]}"#,
            r#"{"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [{"type": "image", "type": "text", "text": "t"}]}]}"#,
            r#"{"model": "m", "max_tokens": 1, "messages": [], "metadata": {"user_id": "a", "user_id": "b"}}"#,
            r#"{"model": "m", "max_tokens": 1, "messages": [], "x": [{"deep": {"k": 1, "k": 2}}]}"#,
            r#"{"model": "m", "max_tokens": 1, "messages": [], "tools": [{"name": "a", "name": "b"}]}"#,
            r#"{"model": "m", "max_tokens": 1, "messages": [], "tools": [{"name": "a", "input_schema": {"properties": {"p": {}, "p": {}}}}]}"#,
            r#"{"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [{"type": "tool_use", "id": "u", "name": "n", "input": {"c": "ls", "c": "rm"}}]}]}"#,
            // The same key spelled with an escape is the same key.
            r#"{"model": "m", "max_tokens": 1, "messages": [], "m\u0065ssages": []}"#,
            r#"{"model": "m", "max_tokens": 1, "messages": [], "meta": {"a": 1, "\u0061": 2}}"#,
        ] {
            let err = MessagesRequest::parse(body.as_bytes(), Endpoint::Messages).expect_err(body);
            assert!(
                matches!(err, RequestParseError::DuplicateKey),
                "{body}: {err}"
            );
        }
        // The same key in two different objects is not a repeat.
        let body = r#"{"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}], "metadata": {"role": "x"}}"#;
        MessagesRequest::parse(body.as_bytes(), Endpoint::Messages).expect("distinct objects");
    }

    #[test]
    fn a_reply_keeps_the_fields_it_does_not_read_as_they_came() {
        let body = r#"{"id":"msg_1","content":[{"type":"text","text":"hi"}],"usage":{"input_tokens":3,"output_tokens": 4.0e0},"stop_reason":null,"future":[1,{"a":"é"}]}"#;
        let reply: MessageReply = serde_json::from_str(body).expect("parses");
        assert_eq!(reply.stop_reason, None);
        assert_eq!(
            reply
                .extra
                .get("usage")
                .and_then(|u| u["input_tokens"].as_i64()),
            Some(3)
        );
        let out = serde_json::to_string(&reply).expect("serialises");
        // Numbers and escapes are written back byte for byte, not re-encoded.
        assert!(out.contains(r#""output_tokens": 4.0e0"#), "{out}");
        assert!(out.contains(r#""future":[1,{"a":"é"}]"#), "{out}");
    }

    #[test]
    fn count_tokens_needs_no_max_tokens() {
        let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        MessagesRequest::parse(body.to_string().as_bytes(), Endpoint::CountTokens)
            .expect("count_tokens body parses");
    }
}
