//! The Anthropic wire types: requests, content blocks, tools, Message, SSE events and errors.
//!
//! Every struct keeps the fields it does not know in a flattened `extra` map, so that what goes
//! upstream is what came in, minus what a policy changed. This module knows nothing of policy or
//! storage.

mod decode;
pub mod error;
pub mod messages;
pub mod sse;

pub use decode::strict_value;
pub use error::{ErrorKind, error_body};
pub use messages::{ContentBlock, Message, MessageContent, MessagesRequest, Role, System, Tool};
pub use sse::{EventView, SseEvent, SseParser};
