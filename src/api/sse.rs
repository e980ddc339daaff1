//! Server-sent events: one record at a time from a byte stream, and back to bytes.
//!
//! A record that no stage touched goes back out as the exact bytes that came in (comments, `id:`
//! lines, unknown event names and all), so the client sees what upstream sent. A record built by
//! Warden always has an `event:` line: both SDKs drop records without one.

use std::borrow::Cow;

use bytes::{Bytes, BytesMut};
use serde_json::Value;

use super::error::{ErrorKind, error_body};

/// One SSE record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent {
    raw: Bytes,
    event: Option<String>,
    data: String,
    /// Written by Warden itself (a notice standing where a tool call was), not by the model:
    /// later stages pass it as it is. Never set on a record parsed from upstream.
    own: bool,
}

impl SseEvent {
    /// A record built by Warden: `event: NAME`, then the data (one `data:` line per line).
    pub fn new(event: &str, data: &str) -> Self {
        let mut raw = String::with_capacity(event.len() + data.len() + 16);
        raw.push_str("event: ");
        raw.push_str(event);
        raw.push('\n');
        for line in data.split('\n') {
            raw.push_str("data: ");
            raw.push_str(line);
            raw.push('\n');
        }
        raw.push('\n');
        Self {
            raw: Bytes::from(raw),
            event: Some(event.to_string()),
            data: data.to_string(),
            own: false,
        }
    }

    /// This record, marked as Warden's own words (see [`SseEvent::is_own`]).
    pub fn own(mut self) -> Self {
        self.own = true;
        self
    }

    /// Whether Warden wrote this record itself (a notice), rather than relaying the model's.
    pub fn is_own(&self) -> bool {
        self.own
    }

    /// A record from a JSON value, with the event name taken from its `type`.
    pub fn from_json(value: &Value) -> Self {
        let name = value
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("message");
        Self::new(name, &value.to_string())
    }

    pub fn ping() -> Self {
        Self::new("ping", r#"{"type": "ping"}"#)
    }

    /// An `event: error` record in the Anthropic envelope, for failures after the stream started.
    pub fn error(kind: ErrorKind, message: &str, request_id: Option<&str>) -> Self {
        Self::from_json(&error_body(kind, message, request_id))
    }

    /// The `event:` name, if the record had one (the last one wins, as in the SSE spec).
    pub fn event(&self) -> Option<&str> {
        self.event.as_deref()
    }

    /// The joined `data:` lines.
    pub fn data(&self) -> &str {
        &self.data
    }

    /// The bytes that go on the wire for this record.
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }

    pub fn into_raw(self) -> Bytes {
        self.raw
    }

    /// The data parsed as JSON.
    pub fn json(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_str(&self.data)
    }

    /// The fields of the data Warden reads on every event, strings borrowed where no escape
    /// forces a copy. Far cheaper than [`json`](Self::json), which builds every object as a map: a
    /// stream's events were parsed as `Value`s twice (for the audit trail and for the reply
    /// stage), a third of the instructions of a streamed request. An event whose fields have
    /// other types than these (a string `index`, say) does not parse; callers fall back to
    /// `json` or skip it.
    pub fn view(&self) -> Result<EventView<'_>, serde_json::Error> {
        serde_json::from_str(&self.data)
    }
}

/// What [`SseEvent::view`] reads: the block index, the delta's or new block's type and text, and
/// token usage. Every other field is skipped unparsed.
#[derive(Debug, Default, serde::Deserialize)]
pub struct EventView<'a> {
    #[serde(rename = "type", borrow, default, deserialize_with = "borrowed")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(default)]
    pub index: Option<u64>,
    #[serde(borrow, default)]
    pub delta: Option<PartView<'a>>,
    #[serde(borrow, default)]
    pub content_block: Option<PartView<'a>>,
    /// `message_start` carries usage in its message.
    #[serde(default)]
    pub message: Option<MessageUsage>,
    /// `message_delta` carries it at the top.
    #[serde(default)]
    pub usage: Option<Usage>,
}

/// A `content_block_delta`'s delta or a `content_block_start`'s block: their type, and the
/// strings Warden reads of either (text and partial JSON of a delta, id and name of a tool call).
#[derive(Debug, Default, serde::Deserialize)]
pub struct PartView<'a> {
    #[serde(rename = "type", borrow, default, deserialize_with = "borrowed")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub text: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub partial_json: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub name: Option<Cow<'a, str>>,
}

/// An optional string, borrowed from the input unless it has escapes (serde's `Option<Cow>`
/// always copies).
fn borrowed<'de: 'a, 'a, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Cow<'a, str>>, D::Error> {
    #[derive(serde::Deserialize)]
    struct Borrowed<'a>(#[serde(borrow)] Cow<'a, str>);
    <Option<Borrowed<'a>> as serde::Deserialize>::deserialize(d).map(|o| o.map(|b| b.0))
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct MessageUsage {
    #[serde(default)]
    pub usage: Option<Usage>,
}

/// A reply's token counts, as `usage` gives them (each may be absent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub input_tokens: Option<i64>,
    #[serde(default)]
    pub output_tokens: Option<i64>,
    #[serde(default)]
    pub cache_read_input_tokens: Option<i64>,
    #[serde(default)]
    pub cache_creation_input_tokens: Option<i64>,
}

impl Usage {
    /// Adds `other`'s counts to these (a count absent from both stays absent).
    pub fn add(&mut self, other: &Usage) {
        for (mine, theirs) in [
            (&mut self.input_tokens, other.input_tokens),
            (&mut self.output_tokens, other.output_tokens),
            (
                &mut self.cache_read_input_tokens,
                other.cache_read_input_tokens,
            ),
            (
                &mut self.cache_creation_input_tokens,
                other.cache_creation_input_tokens,
            ),
        ] {
            if let Some(n) = theirs {
                *mine = Some(mine.unwrap_or(0) + n);
            }
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SseError {
    #[error("an SSE record exceeded {limit} bytes")]
    RecordTooLarge { limit: usize },
}

/// Incremental parser: feed chunks as they arrive (split anywhere, even inside a `\r\n`), take
/// whole records out. Memory is bounded by the largest record, which is capped.
#[derive(Debug)]
pub struct SseParser {
    buf: BytesMut,
    /// Start of the first line not yet examined, relative to `buf`.
    pos: usize,
    event: Option<String>,
    data: Option<String>,
    max_record_bytes: usize,
}

/// The default cap on one record: far above any real event, low enough to bound memory.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;

impl Default for SseParser {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_RECORD_BYTES)
    }
}

impl SseParser {
    pub fn new(max_record_bytes: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            pos: 0,
            event: None,
            data: None,
            max_record_bytes,
        }
    }

    /// Adds a chunk and appends every record it completes to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        self.buf.extend_from_slice(chunk);
        self.drain(false, out);
        if self.buf.len() > self.max_record_bytes {
            return Err(SseError::RecordTooLarge {
                limit: self.max_record_bytes,
            });
        }
        Ok(())
    }

    /// At end of input: whatever is left (a record with no closing blank line) is passed on as
    /// it is, so that nothing upstream sent is lost.
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) {
        self.drain(true, out);
        if !self.buf.is_empty() {
            if self.pos < self.buf.len() {
                let line = self.buf[self.pos..].to_vec();
                self.field(&line);
            }
            self.pos = self.buf.len();
            self.emit(out);
        }
    }

    fn drain(&mut self, at_eof: bool, out: &mut Vec<SseEvent>) {
        while let Some(rel) = memchr::memchr2(b'\n', b'\r', &self.buf[self.pos..]) {
            let end = self.pos + rel;
            let next = if self.buf[end] == b'\r' {
                match self.buf.get(end + 1) {
                    Some(b'\n') => end + 2,
                    Some(_) => end + 1,
                    // A lone `\r` at the end of what we have may be half of `\r\n`.
                    None if at_eof => end + 1,
                    None => return,
                }
            } else {
                end + 1
            };
            let blank = end == self.pos;
            if !blank {
                let line = self.buf[self.pos..end].to_vec();
                self.field(&line);
            }
            self.pos = next;
            if blank {
                self.emit(out);
            }
        }
    }

    fn emit(&mut self, out: &mut Vec<SseEvent>) {
        let raw = self.buf.split_to(self.pos).freeze();
        self.pos = 0;
        out.push(SseEvent {
            raw,
            event: self.event.take(),
            data: self.data.take().unwrap_or_default(),
            own: false,
        });
    }

    fn field(&mut self, line: &[u8]) {
        if line.first() == Some(&b':') {
            return;
        }
        let (name, value) = match memchr::memchr(b':', line) {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        match name {
            b"event" => self.event = Some(crate::text_lossy(value).into_owned()),
            b"data" => {
                let value = crate::text_lossy(value);
                match &mut self.data {
                    Some(d) => {
                        d.push('\n');
                        d.push_str(&value);
                    }
                    None => self.data = Some(value.into_owned()),
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = "event: message_start\ndata: {\"type\":\"message_start\"}\n\n: a comment\nevent: ping\ndata: {\"type\": \"ping\"}\n\nevent: future_thing\nid: 7\ndata: {\"a\":1}\ndata: {\"b\":2}\n\n";

    fn parse_in_chunks(input: &[u8], size: usize) -> Vec<SseEvent> {
        let mut p = SseParser::default();
        let mut out = Vec::new();
        for chunk in input.chunks(size) {
            p.push(chunk, &mut out).expect("within limit");
        }
        p.finish(&mut out);
        out
    }

    #[test]
    fn records_split_anywhere_come_out_whole_and_verbatim() {
        for size in [1, 2, 3, 7, 64, 4096] {
            let events = parse_in_chunks(STREAM.as_bytes(), size);
            assert_eq!(events.len(), 3, "chunk size {size}");
            assert_eq!(events[0].event(), Some("message_start"));
            assert_eq!(events[1].event(), Some("ping"));
            assert_eq!(events[2].event(), Some("future_thing"));
            assert_eq!(events[2].data(), "{\"a\":1}\n{\"b\":2}");
            let joined: Vec<u8> = events.iter().flat_map(|e| e.raw().to_vec()).collect();
            assert_eq!(joined, STREAM.as_bytes(), "chunk size {size}");
        }
    }

    #[test]
    fn crlf_and_cr_line_endings_are_understood() {
        let input = "event: a\r\ndata: 1\r\n\r\nevent: b\rdata: 2\r\r";
        for size in [1, 2, 5, 100] {
            let events = parse_in_chunks(input.as_bytes(), size);
            assert_eq!(events.len(), 2, "chunk size {size}");
            assert_eq!((events[0].event(), events[0].data()), (Some("a"), "1"));
            assert_eq!((events[1].event(), events[1].data()), (Some("b"), "2"));
        }
    }

    #[test]
    fn last_event_line_wins_and_trailing_record_is_kept() {
        let input =
            "event: message_delta\n: note\nevent: message\ndata: {}\n\nevent: tail\ndata: x";
        let events = parse_in_chunks(input.as_bytes(), 3);
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].event(), Some("message"));
        assert_eq!(events[1].event(), Some("tail"));
        assert_eq!(events[1].raw().as_ref(), b"event: tail\ndata: x");
    }

    #[test]
    fn an_oversized_record_is_an_error_not_unbounded_memory() {
        let mut p = SseParser::new(1024);
        let mut out = Vec::new();
        let big = vec![b'a'; 2048];
        assert_eq!(
            p.push(&big, &mut out),
            Err(SseError::RecordTooLarge { limit: 1024 })
        );
    }

    #[test]
    fn built_records_round_trip_through_the_parser() {
        let e = SseEvent::error(ErrorKind::Overloaded, "Overloaded", None);
        let events = parse_in_chunks(e.raw(), 5);
        assert_eq!(events, vec![e.clone()]);
        assert_eq!(e.event(), Some("error"));
        let v = e.json().expect("json");
        assert_eq!(v["error"]["type"], "overloaded_error");
    }
}
