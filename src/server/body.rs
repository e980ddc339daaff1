//! Reading a request body within the configured limit.

use axum::body::Body;
use bytes::Bytes;
use http::HeaderMap;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::error::ApiError;
use crate::api::ErrorKind;
use crate::config::LimitsConfig;

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        ErrorKind::RequestTooLarge,
        format!("Request exceeds the maximum allowed number of bytes ({limit})"),
    )
    .with_rule("limits.max_body_bytes")
    .no_retry()
}

/// Reads the whole body within `limits.body_read_timeout_ms`, refusing early on a declared length
/// over `limits.max_body_bytes`.
pub async fn read_limited(
    body: Body,
    headers: &HeaderMap,
    limits: &LimitsConfig,
) -> Result<Bytes, ApiError> {
    let timeout = std::time::Duration::from_millis(limits.body_read_timeout_ms);
    match tokio::time::timeout(timeout, read_within(body, headers, limits.max_body_bytes)).await {
        Ok(read) => read,
        Err(_) => Err(ApiError::new(
            ErrorKind::RequestTimeout,
            format!(
                "the request body did not arrive within limits.body_read_timeout_ms ({} ms)",
                limits.body_read_timeout_ms
            ),
        )
        .with_rule("limits.body_read_timeout_ms")
        .no_retry()),
    }
}

async fn read_within(body: Body, headers: &HeaderMap, limit: usize) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large(limit)),
        Err(_) => Err(ApiError::new(
            ErrorKind::InvalidRequest,
            "the request body ended before it was complete",
        )
        .with_rule("request")),
    }
}
