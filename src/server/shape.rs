//! Limits on a request's shape, checked before it is scanned: how many content blocks it
//! carries. With the nesting depth (checked while parsing, `MessagesRequest::parse_within`) and
//! the body size (checked where it is read), they bound the work one request can cost Warden.

use crate::api::{ErrorKind, MessageContent, MessagesRequest, System};

use super::error::ApiError;

/// Content blocks in system, messages and tool results (nested blocks count too).
pub fn content_blocks(request: &MessagesRequest) -> usize {
    fn count(blocks: &[crate::api::ContentBlock]) -> usize {
        blocks
            .iter()
            .map(|b| match b {
                crate::api::ContentBlock::ToolResult {
                    content: Some(MessageContent::Blocks(inner)),
                    ..
                } => 1 + count(inner),
                _ => 1,
            })
            .sum()
    }
    let system = match &request.system {
        Some(System::Blocks(b)) => count(b),
        Some(System::Text(_)) => 1,
        None => 0,
    };
    system
        + request
            .messages
            .iter()
            .map(|m| match &m.content {
                MessageContent::Text(_) => 1,
                MessageContent::Blocks(b) => count(b),
            })
            .sum::<usize>()
}

pub fn check_blocks(request: &MessagesRequest, limit: usize) -> Result<(), ApiError> {
    let n = content_blocks(request);
    if n > limit {
        return Err(ApiError::new(
            ErrorKind::InvalidRequest,
            format!(
                "request carries {n} content blocks; at most {limit} (limits.max_content_blocks)"
            ),
        )
        .with_rule("limits.max_content_blocks")
        .no_retry());
    }
    Ok(())
}
