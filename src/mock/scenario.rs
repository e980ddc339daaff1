//! Which behaviour a request asks of the mock: from the `x-mock-scenario` header, else from a
//! model named `mock-<scenario>`, else the plain text reply.

use http::HeaderMap;
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// A short text reply.
    Text,
    /// The reply's text is a JSON document of what the mock received (method, path, headers, body).
    Echo,
    /// Text, then a `tool_use` whose input streams as `input_json_delta` split mid-token.
    ToolUse,
    /// A `thinking` block with its signature, then text.
    Thinking,
    /// Text with unknown event types, delta types and block types mixed in.
    UnknownEvents,
    /// Replays a recording from the fixtures directory (streaming only).
    Replay(String),
    /// Answers with this error status (`status:429`, `status:529`, …).
    Status(u16),
    /// Answers with this status the first time the nonce is seen, then succeeds
    /// (`status_once:429:<nonce>`).
    StatusOnce(u16, String),
    /// Waits this long before answering (`slow_first_byte:<ms>`).
    SlowFirstByte(u64),
    /// Streams `count` pings `ms` apart before the text (`slow_pings:<count>:<ms>`).
    SlowPings(u32, u64),
    /// Streams a few records, then drops the connection.
    CutStream,
    /// Streams a few records, then an `error` event (overloaded), then ends.
    MidstreamError,
    /// Streams a few records, then ends cleanly without `message_stop`.
    TruncatedStream,
    /// A long text reply of this many words (`long:<words>`), for benchmarks.
    Long(usize),
    /// Replies with the text of the `x-mock-say` header, streamed in deltas of this many
    /// characters (`say:<chars>`): a reply "written by the model" that a test controls.
    Say(usize),
    /// Replies with the last user message's text as the mock received it, streamed in deltas of
    /// this many characters (`parrot:<chars>`): shows what the model saw.
    Parrot(usize),
}

impl Scenario {
    /// The scenario for a request. A turn that answers tool calls (its last message carries
    /// `tool_result` blocks) takes the `x-mock-after-tool` scenario instead, `text` by default
    /// after `tool_use`: an agent loop gets its final answer instead of calling tools forever.
    pub fn select(headers: &HeaderMap, body: &Value) -> Self {
        let chosen = Self::chosen(headers, body);
        if !answers_tools(body) {
            return chosen;
        }
        match headers
            .get("x-mock-after-tool")
            .and_then(|v| v.to_str().ok())
        {
            Some(next) => Self::parse(next),
            None if chosen == Self::ToolUse => Self::Text,
            None => chosen,
        }
    }

    fn chosen(headers: &HeaderMap, body: &Value) -> Self {
        let from_header = headers
            .get("x-mock-scenario")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let from_model = body
            .get("model")
            .and_then(Value::as_str)
            .and_then(|m| m.strip_prefix("mock-"))
            .map(str::to_string);
        from_header
            .or(from_model)
            .map_or(Self::Text, |s| Self::parse(&s))
    }

    /// Parses a scenario name with its arguments (`status:429`, `say:8`, …); unknown names are
    /// the plain text reply.
    pub fn parse(s: &str) -> Self {
        let mut parts = s.splitn(3, ':');
        let name = parts.next().unwrap_or("");
        let a = parts.next();
        let b = parts.next();
        let num = |x: Option<&str>| x.and_then(|v| v.parse::<u64>().ok());
        match name {
            "echo" => Self::Echo,
            "tool_use" => Self::ToolUse,
            "thinking" => Self::Thinking,
            "unknown_events" => Self::UnknownEvents,
            "replay" => Self::Replay(a.unwrap_or("basic_response.txt").to_string()),
            "status" => Self::Status(num(a).unwrap_or(500) as u16),
            "status_once" => {
                Self::StatusOnce(num(a).unwrap_or(500) as u16, b.unwrap_or("").to_string())
            }
            "slow_first_byte" => Self::SlowFirstByte(num(a).unwrap_or(1000)),
            "slow_pings" => Self::SlowPings(num(a).unwrap_or(3) as u32, num(b).unwrap_or(100)),
            "cut_stream" => Self::CutStream,
            "midstream_error" => Self::MidstreamError,
            "truncated_stream" => Self::TruncatedStream,
            "long" => Self::Long(num(a).unwrap_or(200) as usize),
            "say" => Self::Say(num(a).unwrap_or(4).max(1) as usize),
            "parrot" => Self::Parrot(num(a).unwrap_or(4).max(1) as usize),
            _ => Self::Text,
        }
    }
}

/// Whether the request's last message answers tool calls.
fn answers_tools(body: &Value) -> bool {
    body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["content"].as_array())
        .is_some_and(|blocks| blocks.iter().any(|b| b["type"] == "tool_result"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn header_wins_over_model_name() {
        let mut h = HeaderMap::new();
        let body = json!({"model": "mock-tool_use"});
        assert_eq!(Scenario::select(&h, &body), Scenario::ToolUse);
        h.insert(
            "x-mock-scenario",
            "status_once:429:abc".parse().expect("valid"),
        );
        assert_eq!(
            Scenario::select(&h, &body),
            Scenario::StatusOnce(429, "abc".into())
        );
        assert_eq!(
            Scenario::select(&HeaderMap::new(), &json!({"model": "claude-x"})),
            Scenario::Text
        );
    }

    #[test]
    fn a_turn_of_tool_results_gets_the_after_tool_scenario() {
        let answered = json!({"model": "mock-tool_use", "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "w", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "sunny"}]},
        ]});
        let mut h = HeaderMap::new();
        assert_eq!(Scenario::select(&h, &answered), Scenario::Text);
        h.insert("x-mock-after-tool", "parrot:3".parse().expect("valid"));
        assert_eq!(Scenario::select(&h, &answered), Scenario::Parrot(3));
        let first = json!({"model": "mock-tool_use", "messages": [{"role": "user", "content": "weather?"}]});
        assert_eq!(Scenario::select(&h, &first), Scenario::ToolUse);
    }
}
