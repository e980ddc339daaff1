//! The forwarder: one pooled HTTP client to the Claude API, the header relay rules, and the
//! upstream credential that only Warden holds. It knows nothing of policy.

use std::time::Duration;

use bytes::Bytes;
use http::Method;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::config::UpstreamConfig;
use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("the upstream API could not be reached")]
    Unreachable(#[source] reqwest::Error),
    #[error("the upstream API did not answer within {0} ms")]
    Timeout(u64),
    #[error("Warden has no upstream credential configured")]
    NoCredential,
    #[error("the upstream request could not be built")]
    Build(#[source] reqwest::Error),
    #[error("the upstream URL is invalid: {0}")]
    Url(String),
}

/// Request headers that never go upstream: hop-by-hop headers, the client's own credentials
/// (replaced by Warden's), and `accept-encoding` (Warden reads the body, so it asks for identity).
const DROPPED_REQUEST_HEADERS: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "x-api-key",
    "authorization",
    "accept-encoding",
];

/// Response headers that are not relayed: hop-by-hop, and the length (Warden may change the body).
const DROPPED_RESPONSE_HEADERS: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
];

/// Whether a client request header is forwarded upstream.
pub fn forwards_request_header(name: &HeaderName, connection_listed: &[String]) -> bool {
    let n = name.as_str();
    !DROPPED_REQUEST_HEADERS.contains(&n) && !connection_listed.iter().any(|c| c == n)
}

/// Copies the headers of an upstream response that go back to the client.
pub fn relay_response_headers(upstream: &HeaderMap, out: &mut HeaderMap) {
    let listed = connection_listed(upstream);
    for (name, value) in upstream {
        let n = name.as_str();
        if !DROPPED_RESPONSE_HEADERS.contains(&n) && !listed.iter().any(|c| c == n) {
            out.append(name.clone(), value.clone());
        }
    }
}

/// Header names a `Connection:` header declares hop-by-hop.
fn connection_listed(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The pooled client and everything needed to call upstream.
pub struct Forwarder {
    client: reqwest::Client,
    /// The upstream URL, parsed once: parsing it per request (host and IDNA included) cost
    /// 4 % of the worker's time at c=1. Requests take its scheme, host and port.
    base: reqwest::Url,
    /// Its path without a trailing `/` (empty for the root), put before every request's path.
    base_path: String,
    key: Option<Secret>,
    first_byte_timeout_ms: u64,
    idle_timeout_ms: u64,
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarder")
            .field("base", &self.base)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Forwarder {
    pub fn new(cfg: &UpstreamConfig, key: Option<Secret>) -> Result<Self, UpstreamError> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_millis(cfg.connect_timeout_ms))
            .pool_idle_timeout(Duration::from_secs(90))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(UpstreamError::Build)?;
        let base = reqwest::Url::parse(&cfg.url).map_err(|e| UpstreamError::Url(e.to_string()))?;
        if base.cannot_be_a_base() {
            return Err(UpstreamError::Url("not an http(s) base URL".into()));
        }
        let base_path = base.path().trim_end_matches('/').to_string();
        Ok(Self {
            client,
            base,
            base_path,
            key,
            first_byte_timeout_ms: cfg.first_byte_timeout_ms,
            idle_timeout_ms: cfg.idle_timeout_ms,
        })
    }

    pub fn has_credential(&self) -> bool {
        self.key.is_some()
    }

    /// Longest silence allowed between two chunks of a response body.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }

    pub fn idle_timeout_ms(&self) -> u64 {
        self.idle_timeout_ms
    }

    /// The upstream URL of a request's path and query: the base's path, then the request's.
    fn url(&self, path_and_query: &str) -> reqwest::Url {
        let (path, query) = match path_and_query.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path_and_query, None),
        };
        let mut url = self.base.clone();
        if self.base_path.is_empty() {
            url.set_path(path);
        } else {
            url.set_path(&format!("{}{path}", self.base_path));
        }
        url.set_query(query);
        url
    }

    /// Sends one request upstream and waits for the response headers.
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        inbound: &HeaderMap,
        body: Bytes,
    ) -> Result<reqwest::Response, UpstreamError> {
        let key = self.key.as_ref().ok_or(UpstreamError::NoCredential)?;
        let listed = connection_listed(inbound);
        let mut headers = HeaderMap::with_capacity(inbound.len() + 1);
        for (name, value) in inbound {
            if forwards_request_header(name, &listed) {
                headers.append(name.clone(), value.clone());
            }
        }
        let mut key_value =
            HeaderValue::from_str(key.expose()).map_err(|_| UpstreamError::NoCredential)?;
        key_value.set_sensitive(true);
        headers.insert(HeaderName::from_static("x-api-key"), key_value);

        let request = self
            .client
            .request(method, self.url(path_and_query))
            .headers(headers)
            .body(body);
        match tokio::time::timeout(
            Duration::from_millis(self.first_byte_timeout_ms),
            request.send(),
        )
        .await
        {
            Err(_) => Err(UpstreamError::Timeout(self.first_byte_timeout_ms)),
            Ok(Err(e)) if e.is_timeout() => Err(UpstreamError::Timeout(self.first_byte_timeout_ms)),
            Ok(Err(e)) => Err(UpstreamError::Unreachable(e)),
            Ok(Ok(response)) => Ok(response),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_urls_keep_the_base_path_and_the_query() {
        let forwarder = |url: &str| {
            let cfg = UpstreamConfig {
                url: url.into(),
                ..UpstreamConfig::default()
            };
            Forwarder::new(&cfg, None).expect("forwarder")
        };
        for (base, path, want) in [
            (
                "https://api.anthropic.com",
                "/v1/messages",
                "https://api.anthropic.com/v1/messages",
            ),
            (
                "https://api.anthropic.com/",
                "/v1/messages?beta=true",
                "https://api.anthropic.com/v1/messages?beta=true",
            ),
            (
                "http://gw.internal:8443/anthropic/",
                "/v1/messages/count_tokens?x=1&y=%20",
                "http://gw.internal:8443/anthropic/v1/messages/count_tokens?x=1&y=%20",
            ),
        ] {
            // The same URL the string concatenation Warden used before gave.
            let concatenated = format!("{}{path}", base.trim_end_matches('/'));
            assert_eq!(forwarder(base).url(path).as_str(), want);
            assert_eq!(
                reqwest::Url::parse(&concatenated).expect("parses").as_str(),
                want
            );
        }
        let cfg = UpstreamConfig {
            url: "not a url".into(),
            ..UpstreamConfig::default()
        };
        assert!(matches!(
            Forwarder::new(&cfg, None),
            Err(UpstreamError::Url(_))
        ));
    }

    #[test]
    fn client_credentials_and_hop_headers_do_not_go_upstream() {
        let listed = vec!["x-private-hop".to_string()];
        for name in [
            "authorization",
            "x-api-key",
            "connection",
            "host",
            "x-private-hop",
        ] {
            assert!(
                !forwards_request_header(&HeaderName::from_static(name), &listed),
                "{name} must be dropped"
            );
        }
        for name in [
            "anthropic-version",
            "anthropic-beta",
            "x-stainless-os",
            "user-agent",
            "x-new-header",
        ] {
            assert!(
                forwards_request_header(&HeaderName::from_static(name), &listed),
                "{name} must be forwarded"
            );
        }
    }

    #[test]
    fn response_headers_are_relayed_except_hop_by_hop() {
        let mut up = HeaderMap::new();
        up.insert("request-id", HeaderValue::from_static("req_up"));
        up.insert(
            "anthropic-ratelimit-unified-status",
            HeaderValue::from_static("allowed"),
        );
        up.insert("retry-after", HeaderValue::from_static("3"));
        up.insert("connection", HeaderValue::from_static("keep-alive"));
        up.insert("content-length", HeaderValue::from_static("10"));
        let mut out = HeaderMap::new();
        relay_response_headers(&up, &mut out);
        assert_eq!(
            out.get("request-id").map(|v| v.as_bytes()),
            Some(&b"req_up"[..])
        );
        assert!(out.contains_key("anthropic-ratelimit-unified-status"));
        assert!(out.contains_key("retry-after"));
        assert!(!out.contains_key("connection"));
        assert!(!out.contains_key("content-length"));
    }

    #[test]
    fn debug_output_hides_the_key() {
        let f = Forwarder::new(
            &UpstreamConfig::default(),
            Some(Secret::new("sk-ant-hidden")),
        )
        .expect("client builds");
        assert!(!format!("{f:?}").contains("sk-ant-hidden"));
    }
}
