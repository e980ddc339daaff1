//! The request path, refused unless it is already in the one form every URL normaliser agrees
//! on. Routing, the pass-through prefixes and the forwarder all read the path as it came; if an
//! egress proxy or upstream could read it as another path (`/v1/files/../messages`,
//! `/v1/%6dessages`, `/v1//messages`), a request could be routed as one endpoint and served as
//! another. So a path is accepted only when normalising it cannot change it: no `.` or `..`
//! segment, no empty segment (`//`, a trailing `/`), no percent-encoding at all, no backslash,
//! and only the characters RFC 3986 allows unencoded in a path. The Claude API's own paths and
//! ids never need more.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::api::ErrorKind;

/// Why a path is not canonical, or `None` when it is.
pub fn refusal(path: &str) -> Option<&'static str> {
    if path == "/" {
        return None;
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Some("the path must start with '/'");
    };
    for segment in rest.split('/') {
        match segment {
            "" => return Some("the path has an empty segment ('//' or a trailing '/')"),
            "." | ".." => return Some("the path has a '.' or '..' segment"),
            _ => {}
        }
        for b in segment.bytes() {
            match b {
                b'%' => return Some("the path is percent-encoded"),
                b'\\' => return Some("the path has a backslash"),
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => {}
                b'-' | b'.' | b'_' | b'~' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*'
                | b'+' | b',' | b';' | b'=' | b':' | b'@' => {}
                _ => return Some("the path has a character that must be encoded"),
            }
        }
    }
    None
}

/// Refuses a request whose path is not canonical, with 400 in the API's envelope, before any
/// route or pass-through prefix sees it.
pub async fn canonical_path(request: Request, next: Next) -> Response {
    if let Some(why) = refusal(request.uri().path()) {
        return ApiError::new(
            ErrorKind::InvalidRequest,
            format!("{why}; Warden accepts only canonical paths (RFC 3986, normalised)"),
        )
        .with_rule("request.path")
        .no_retry()
        .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::refusal;

    #[test]
    fn only_paths_no_normaliser_would_change_pass() {
        for ok in [
            "/",
            "/v1/messages",
            "/v1/messages/count_tokens",
            "/v1/models/claude-sonnet-4-5",
            "/v1/files/file_011CNha8iCJcU1wXNR6q4V8w/content",
            "/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude@2025:rawPredict",
        ] {
            assert_eq!(refusal(ok), None, "{ok}");
        }
        for bad in [
            "/v1/files/../messages",
            "/v1/files/./../messages",
            "/v1/messages/batches/../../messages",
            "/v1/files/%2e%2e/messages",
            "/v1/files/%2E%2E/messages",
            "/v1/files/.%2e/messages",
            "/v1/%6dessages",
            "/v1/files%2f..%2fmessages",
            "/v1/files%2F..%2Fmessages",
            "/v1//messages",
            "/v1/messages/",
            "//v1/messages",
            "/v1/files/..",
            "/v1/files/.",
            "/v1/files\\..\\messages",
            "/v1/files/%00",
            "/v1/mes sages",
            "/v1/messagés",
            "v1/messages",
        ] {
            assert!(refusal(bad).is_some(), "{bad}");
        }
    }
}
