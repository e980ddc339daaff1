//! Hand-written `Deserialize` for the Messages types.
//!
//! serde's derive buffers every struct with a `#[serde(flatten)]` field, and every untagged or
//! internally tagged enum, into an intermediate tree before it builds the type: the typed parse of
//! a 346-byte reply cost 20,000 instructions, and a request was parsed into a `Value` and then
//! into the types. These visitors read each object once, straight from the bytes, and keep the
//! fields Warden does not model in order in `extra`. They accept what the derived code accepted:
//! a block whose known `type` lacks that type's shape (a `text` block whose `text` is a number)
//! is kept whole as [`ContentBlock::Unknown`], as the derive's untagged fallback kept it. A
//! repeated key, at any depth, is an error (`DUPLICATE_KEY`): parsers differ on which copy
//! wins, so Warden could scan one copy while upstream reads the other.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::messages::{
    ContentBlock, Message, MessageContent, MessageReply, RawFields, Role, System, Tool,
};

/// `Deserialize` for a type read from one JSON object: the block gets the object's
/// `MapAccess` as `map` and builds the value.
macro_rules! from_object {
    ($ty:ty, $expecting:literal, |$map:ident| $read:block) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_map<A: MapAccess<'de>>(
                        self,
                        mut $map: A,
                    ) -> Result<Self::Value, A::Error> {
                        $read
                    }
                }
                d.deserialize_map(V)
            }
        }
    };
}

/// An object key, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The start of the error a repeated object key raises, anywhere in a request.
pub(super) const DUPLICATE_KEY: &str = "a JSON object repeats a key";

fn duplicate<E: de::Error>() -> E {
    E::custom(DUPLICATE_KEY)
}

/// `extra[key] = next value`; a key already there is an error (upstream parsers disagree on
/// which copy of a repeated key counts, so Warden accepts neither).
fn keep<'de, A: MapAccess<'de>>(
    extra: &mut Map<String, Value>,
    key: Key<'de>,
    map: &mut A,
) -> Result<(), A::Error> {
    let value = map.next_value_seed(Strict)?;
    if extra.contains_key(key.0.as_ref()) {
        return Err(duplicate());
    }
    extra.insert(key.0.into_owned(), value);
    Ok(())
}

/// Sets a field read once; a second copy of its key is an error.
fn once<'de, T: Deserialize<'de>, A: MapAccess<'de>>(
    slot: &mut Option<T>,
    map: &mut A,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(duplicate());
    }
    *slot = Some(map.next_value()?);
    Ok(())
}

/// A JSON value read as `serde_json::Value` is, except that an object repeating a key, at any
/// depth, is an error.
struct Strict;

/// Parses one JSON document into a `Value`, refusing an object that repeats a key at any depth
/// (for bodies Warden reads as a whole without a typed model: batch envelopes, results lines).
pub fn strict_value(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = de::DeserializeSeed::deserialize(Strict, &mut de)?;
    de.end()?;
    Ok(value)
}

impl<'de> de::DeserializeSeed<'de> for Strict {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(Strict)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(v) = seq.next_element_seed(Strict)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<Key>()? {
            keep(&mut out, key, &mut map)?;
        }
        Ok(Value::Object(out))
    }
}

/// A string or an array of content blocks: a message's `content`, `system`, a tool result's
/// `content`.
enum TextOrBlocks {
    Text(String),
    Blocks(Vec<ContentBlock>),
}

impl<'de> Deserialize<'de> for TextOrBlocks {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TextOrBlocks;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an array of content blocks")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(TextOrBlocks::Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(TextOrBlocks::Text(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut blocks = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(block) = seq.next_element()? {
                    blocks.push(block);
                }
                Ok(TextOrBlocks::Blocks(blocks))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for MessageContent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match TextOrBlocks::deserialize(d)? {
            TextOrBlocks::Text(text) => Self::Text(text),
            TextOrBlocks::Blocks(blocks) => Self::Blocks(blocks),
        })
    }
}

impl<'de> Deserialize<'de> for System {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match TextOrBlocks::deserialize(d)? {
            TextOrBlocks::Text(text) => Self::Text(text),
            TextOrBlocks::Blocks(blocks) => Self::Blocks(blocks),
        })
    }
}

from_object!(ContentBlock, "a content block object", |map| {
    let mut fields = Map::new();
    while let Some(key) = map.next_key::<Key>()? {
        keep(&mut fields, key, &mut map)?;
    }
    Ok(ContentBlock::from_fields(fields))
});

/// The known block types, once a block is known to have its type's shape.
enum Known {
    Text,
    ToolUse,
    ToolResult,
    Thinking,
    RedactedThinking,
}

fn is_string(value: Option<&Value>) -> bool {
    matches!(value, Some(Value::String(_)))
}

/// Removes `key` from `fields`, keeping the others in order.
fn take(fields: &mut Map<String, Value>, key: &str) -> Option<Value> {
    fields.shift_remove(key)
}

/// Removes a field already known to be a string.
fn take_string(fields: &mut Map<String, Value>, key: &str) -> String {
    match take(fields, key) {
        Some(Value::String(s)) => s,
        _ => String::new(),
    }
}

impl ContentBlock {
    /// The block a JSON object is: its known type when it has that type's shape, else the object
    /// whole.
    fn from_fields(mut fields: Map<String, Value>) -> Self {
        let known = match fields.get("type").and_then(Value::as_str) {
            Some("text") if is_string(fields.get("text")) => Known::Text,
            Some("tool_use")
                if is_string(fields.get("id"))
                    && is_string(fields.get("name"))
                    && fields.contains_key("input") =>
            {
                Known::ToolUse
            }
            Some("tool_result")
                if is_string(fields.get("tool_use_id"))
                    && match fields.get("content") {
                        None | Some(Value::Null | Value::String(_)) => true,
                        Some(Value::Array(items)) => items.iter().all(Value::is_object),
                        Some(_) => false,
                    } =>
            {
                Known::ToolResult
            }
            Some("thinking") => Known::Thinking,
            Some("redacted_thinking") => Known::RedactedThinking,
            _ => return Self::Unknown(fields),
        };
        take(&mut fields, "type");
        match known {
            Known::Text => Self::Text {
                text: take_string(&mut fields, "text"),
                extra: fields,
            },
            Known::ToolUse => Self::ToolUse {
                id: take_string(&mut fields, "id"),
                name: take_string(&mut fields, "name"),
                input: take(&mut fields, "input").unwrap_or(Value::Null),
                extra: fields,
            },
            Known::ToolResult => {
                let content = match take(&mut fields, "content") {
                    Some(Value::String(text)) => Some(MessageContent::Text(text)),
                    Some(Value::Array(items)) => Some(MessageContent::Blocks(
                        items
                            .into_iter()
                            .filter_map(|item| match item {
                                Value::Object(map) => Some(Self::from_fields(map)),
                                _ => None,
                            })
                            .collect(),
                    )),
                    _ => None,
                };
                Self::ToolResult {
                    tool_use_id: take_string(&mut fields, "tool_use_id"),
                    content,
                    extra: fields,
                }
            }
            Known::Thinking => Self::Thinking { opaque: fields },
            Known::RedactedThinking => Self::RedactedThinking { opaque: fields },
        }
    }
}

from_object!(Message, "a message object", |map| {
    let mut role: Option<Role> = None;
    let mut content: Option<MessageContent> = None;
    let mut extra = Map::new();
    while let Some(key) = map.next_key::<Key>()? {
        match key.0.as_ref() {
            "role" => once(&mut role, &mut map)?,
            "content" => once(&mut content, &mut map)?,
            _ => keep(&mut extra, key, &mut map)?,
        }
    }
    Ok(Message {
        role: role.ok_or_else(|| de::Error::missing_field("role"))?,
        content: content.ok_or_else(|| de::Error::missing_field("content"))?,
        extra,
    })
});

from_object!(Tool, "a tool object", |map| {
    let mut name: Option<String> = None;
    let mut extra = Map::new();
    while let Some(key) = map.next_key::<Key>()? {
        match key.0.as_ref() {
            "name" => once(&mut name, &mut map)?,
            _ => keep(&mut extra, key, &mut map)?,
        }
    }
    Ok(Tool {
        name: name.ok_or_else(|| de::Error::missing_field("name"))?,
        extra,
    })
});

from_object!(MessageReply, "a Message object", |map| {
    let mut content: Option<Vec<ContentBlock>> = None;
    let mut stop_reason: Option<Option<Value>> = None;
    let mut extra = Vec::new();
    while let Some(key) = map.next_key::<Key>()? {
        match key.0.as_ref() {
            "content" => content = Some(map.next_value()?),
            "stop_reason" => stop_reason = Some(map.next_value()?),
            _ => extra.push((key.0.into_owned(), map.next_value()?)),
        }
    }
    Ok(MessageReply {
        content: content.unwrap_or_default(),
        stop_reason: stop_reason.flatten(),
        extra: RawFields(extra),
        own_blocks: Vec::new(),
    })
});

/// The top-level fields of a Messages request as they came, before the endpoint's checks.
pub(super) struct RequestFields {
    pub model: Option<String>,
    pub messages: Option<Vec<Message>>,
    pub max_tokens: Option<Value>,
    pub system: Option<System>,
    pub tools: Option<Vec<Tool>>,
    pub stream: Option<bool>,
    pub extra: Map<String, Value>,
}

from_object!(RequestFields, "a Messages request object", |map| {
    let mut r = RequestFields {
        model: None,
        messages: None,
        max_tokens: None,
        system: None,
        tools: None,
        stream: None,
        extra: Map::new(),
    };
    while let Some(key) = map.next_key::<Key>()? {
        match key.0.as_ref() {
            "model" => once(&mut r.model, &mut map)?,
            "messages" => once(&mut r.messages, &mut map)?,
            "max_tokens" => {
                if r.max_tokens.is_some() {
                    return Err(duplicate());
                }
                r.max_tokens = Some(map.next_value_seed(Strict)?);
            }
            "system" => once(&mut r.system, &mut map)?,
            "tools" => once(&mut r.tools, &mut map)?,
            "stream" => once(&mut r.stream, &mut map)?,
            _ => keep(&mut r.extra, key, &mut map)?,
        }
    }
    Ok(r)
});
