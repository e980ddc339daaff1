//! The Anthropic error envelope: `{"type":"error","error":{"type":…,"message":…},"request_id":…}`.

use http::StatusCode;
use serde_json::json;

/// The error types the API defines, each with its HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidRequest,
    Authentication,
    Permission,
    NotFound,
    RequestTooLarge,
    RateLimit,
    Api,
    BadGateway,
    Timeout,
    /// 503: Warden cannot serve the request now (its audit store cannot record it).
    Unavailable,
    Overloaded,
    /// 408: the client took too long to send its request.
    RequestTimeout,
    /// 431: the request head is over the configured limits.
    HeadersTooLarge,
    /// 405: the path exists but not for this method (TRACE, PUT on a GET route, …).
    MethodNotAllowed,
}

impl ErrorKind {
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidRequest => StatusCode::BAD_REQUEST,
            Self::Authentication => StatusCode::UNAUTHORIZED,
            Self::Permission => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::RequestTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RateLimit => StatusCode::TOO_MANY_REQUESTS,
            Self::Api => StatusCode::INTERNAL_SERVER_ERROR,
            Self::BadGateway => StatusCode::BAD_GATEWAY,
            Self::Timeout => StatusCode::GATEWAY_TIMEOUT,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Overloaded => {
                StatusCode::from_u16(529).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
            }
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    /// The `error.type` string. A 502 has no type of its own in the API; it is an `api_error`.
    pub fn type_str(self) -> &'static str {
        match self {
            Self::InvalidRequest
            | Self::RequestTimeout
            | Self::HeadersTooLarge
            | Self::MethodNotAllowed => "invalid_request_error",
            Self::Authentication => "authentication_error",
            Self::Permission => "permission_error",
            Self::NotFound => "not_found_error",
            Self::RequestTooLarge => "request_too_large",
            Self::RateLimit => "rate_limit_error",
            Self::Api | Self::BadGateway | Self::Unavailable => "api_error",
            Self::Timeout => "timeout_error",
            Self::Overloaded => "overloaded_error",
        }
    }
}

/// Renders the envelope. `message` must never contain a matched secret; callers name the rule.
pub fn error_body(kind: ErrorKind, message: &str, request_id: Option<&str>) -> serde_json::Value {
    let mut body = json!({
        "type": "error",
        "error": { "type": kind.type_str(), "message": message },
    });
    if let Some(id) = request_id {
        body["request_id"] = json!(id);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_has_the_api_shape() {
        let v = error_body(ErrorKind::RequestTooLarge, "too big", Some("req_1"));
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "request_too_large");
        assert_eq!(v["error"]["message"], "too big");
        assert_eq!(v["request_id"], "req_1");
        assert_eq!(ErrorKind::Overloaded.status().as_u16(), 529);
        assert_eq!(ErrorKind::BadGateway.type_str(), "api_error");
    }
}
