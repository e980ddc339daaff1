//! Limits on a request's shape, checked before it is parsed or scanned: how deeply its JSON
//! nests, and how many content blocks it carries. Both bound the work (and the stack) a single
//! request can cost Warden; the body's size is bounded where it is read.

use crate::api::{ErrorKind, MessageContent, MessagesRequest, System};

use super::error::ApiError;

/// The deepest `[`/`{` nesting in `body` (strings skipped), stopping early past `limit`.
pub fn json_depth(body: &[u8], limit: usize) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in body {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > deepest {
                    deepest = depth;
                    if deepest > limit {
                        return deepest;
                    }
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

pub fn check_depth(body: &[u8], limit: usize) -> Result<(), ApiError> {
    if json_depth(body, limit) > limit {
        return Err(ApiError::new(
            ErrorKind::InvalidRequest,
            format!("request JSON nests deeper than {limit} levels (limits.max_json_depth)"),
        )
        .with_rule("limits.max_json_depth")
        .no_retry());
    }
    Ok(())
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_nesting_outside_strings() {
        assert_eq!(json_depth(br#"{"a": [1, {"b": "[[[[{{"}]}"#, 64), 3);
        assert_eq!(json_depth(br#"{"a": "\"[[[\\"}"#, 64), 1);
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(
            json_depth(deep.as_bytes(), 64),
            65,
            "stops just past the limit"
        );
    }
}
