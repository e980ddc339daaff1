//! Every error a client sees from Warden itself, mapped in one place to the Anthropic envelope
//! and its status. Upstream errors are relayed verbatim elsewhere and never pass through here.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::HeaderValue;

use crate::api::messages::RequestParseError;
use crate::api::{ErrorKind, error_body};
use crate::filter::Rejection;
use crate::upstream::UpstreamError;

/// An error Warden answers itself.
#[derive(Clone, Debug)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
    /// The policy rule or Warden component that decided, for the log line and the audit record.
    pub rule: Option<String>,
    /// `team@version` of the policy that decided, sent as `x-warden-policy`.
    pub policy: Option<String>,
    /// `Some(false)` when a retry cannot succeed (auth, policy denial): the SDKs honour
    /// `x-should-retry: false`.
    pub should_retry: Option<bool>,
    /// Seconds to wait before retrying, sent as `retry-after` (quotas).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            rule: None,
            policy: None,
            should_retry: None,
            retry_after: None,
        }
    }

    pub fn with_policy(mut self, policy: &str) -> Self {
        self.policy = Some(policy.to_string());
        self
    }

    pub fn no_retry(mut self) -> Self {
        self.should_retry = Some(false);
        self
    }

    pub fn with_rule(mut self, rule: impl Into<String>) -> Self {
        self.rule = Some(rule.into());
        self
    }

    /// 401 for a request whose key is unknown, or (`sent` false) that sent none. The rule is
    /// `authentication`, as in the audit row.
    pub fn unauthenticated(sent: bool) -> Self {
        Self::new(
            ErrorKind::Authentication,
            if sent {
                "invalid Warden key: the key sent is not one of this Warden's keys; send a key issued by `warden keys new` in x-api-key or Authorization: Bearer"
            } else {
                "no key was sent: send a key issued by `warden keys new` in x-api-key or Authorization: Bearer"
            },
        )
        .with_rule("authentication")
        .no_retry()
    }

    pub fn not_found() -> Self {
        Self::new(
            ErrorKind::NotFound,
            "Warden does not serve this path; see docs/config.md (passthrough_paths) to forward it",
        )
        .with_rule("router")
    }

    /// 404 for `path`, saying what the client's base URL probably should be when the path is
    /// one of the API's with `/v1` missing or doubled (clients differ on whether the base URL
    /// carries it). The path itself is not quoted: it may carry anything.
    pub fn not_found_for(path: &str) -> Self {
        let served = |p: &str| {
            matches!(
                p,
                "/v1/messages" | "/v1/messages/count_tokens" | "/v1/models"
            ) || p
                .strip_prefix("/v1/models/")
                .is_some_and(|id| !id.is_empty() && !id.contains('/'))
        };
        let hint = if let Some(rest) = path.strip_prefix("/v1/v1/") {
            served(&format!("/v1/{rest}")).then_some(
                "the path has /v1 twice: this client adds /v1 itself, so its base URL must not end in /v1",
            )
        } else {
            served(&format!("/v1{path}")).then_some(
                "the path lacks /v1: this client expects its base URL to end in /v1 (http://<warden>/v1)",
            )
        };
        match hint {
            Some(hint) => Self::new(
                ErrorKind::NotFound,
                format!("Warden does not serve this path; {hint}"),
            )
            .with_rule("router"),
            None => Self::not_found(),
        }
    }

    /// Renders the envelope with the request id, as the request-id middleware does.
    pub fn render(&self, request_id: Option<&str>) -> Response {
        let mut response = (
            self.kind.status(),
            Json(error_body(self.kind, &self.message, request_id)),
        )
            .into_response();
        if let Some(retry) = self.should_retry {
            response.headers_mut().insert(
                "x-should-retry",
                HeaderValue::from_static(if retry { "true" } else { "false" }),
            );
        }
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from(secs));
        }
        if let Some(v) = self
            .policy
            .as_deref()
            .and_then(|p| HeaderValue::from_str(p).ok())
        {
            response.headers_mut().insert("x-warden-policy", v);
        }
        response.extensions_mut().insert(self.clone());
        response
    }
}

impl From<crate::server::quota::Exceeded> for ApiError {
    fn from(e: crate::server::quota::Exceeded) -> Self {
        let secs = e.retry_after.as_secs_f64().ceil().max(1.0) as u64;
        let mut err = Self::new(
            ErrorKind::RateLimit,
            format!(
                "rate limit reached: {} is {} (per Warden replica); retry after {secs} s",
                e.rule, e.limit
            ),
        )
        .with_rule(e.rule);
        err.retry_after = Some(secs);
        err.should_retry = Some(true);
        err
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.render(None)
    }
}

impl From<RequestParseError> for ApiError {
    fn from(e: RequestParseError) -> Self {
        let rule = match e {
            RequestParseError::TooDeep(_) => "limits.max_json_depth",
            _ => "request",
        };
        Self::new(ErrorKind::InvalidRequest, e.to_string()).with_rule(rule)
    }
}

impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> Self {
        let retry = r.kind == ErrorKind::Api;
        let e = Self::new(r.kind, r.message).with_rule(r.rule);
        if retry { e } else { e.no_retry() }
    }
}

impl From<UpstreamError> for ApiError {
    fn from(e: UpstreamError) -> Self {
        let kind = match &e {
            UpstreamError::Timeout(_) => ErrorKind::Timeout,
            UpstreamError::Unreachable(_) => ErrorKind::BadGateway,
            UpstreamError::NoCredential | UpstreamError::Build(_) | UpstreamError::Url(_) => {
                ErrorKind::Api
            }
        };
        Self::new(kind, e.to_string()).with_rule("upstream")
    }
}

#[cfg(test)]
mod tests {
    use super::ApiError;

    #[test]
    fn a_path_with_v1_missing_or_doubled_says_what_the_base_url_should_be() {
        for (path, says) in [
            ("/messages", "lacks /v1"),
            ("/models/claude-x", "lacks /v1"),
            ("/messages/count_tokens", "lacks /v1"),
            ("/v1/v1/messages", "twice"),
            ("/v1/v1/models", "twice"),
        ] {
            let e = ApiError::not_found_for(path);
            assert!(e.message.contains(says), "{path}: {}", e.message);
        }
        for path in ["/v2/messages", "/messagesx", "/v1/v1/other", "/models/a/b"] {
            let e = ApiError::not_found_for(path);
            assert!(
                e.message.contains("passthrough_paths"),
                "{path}: {}",
                e.message
            );
        }
    }
}
