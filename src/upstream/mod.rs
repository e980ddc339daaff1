//! The forwarder: one pooled HTTP client to the Claude API, the header relay rules, and the
//! upstream credential that only Warden holds. It knows nothing of policy.

use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Method, Uri};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::config::UpstreamConfig;
use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("the upstream API could not be reached")]
    Unreachable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the upstream API did not answer within {0} ms")]
    Timeout(u64),
    #[error("Warden has no upstream credential configured")]
    NoCredential,
    #[error("the upstream client could not be built: {0}")]
    Build(String),
    #[error("the upstream URL is invalid: {0}")]
    Url(String),
}

/// What upstream answered: status and headers, and the body still to read. Dropping it drops
/// the upstream request.
pub type UpstreamResponse = http::Response<axum::body::Body>;

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

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
    transport: Transport,
    /// The upstream's scheme and authority, parsed once.
    scheme: Scheme,
    authority: Authority,
    /// Its path without a trailing `/` (empty for the root), put before every request's path.
    base_path: String,
    key: Option<Secret>,
    first_byte_timeout_ms: u64,
    idle_timeout_ms: u64,
}

/// How requests reach upstream.
///
/// - `Direct`: hyper's own pooled client. A gateway forwards requests it has already parsed, so
///   reqwest's layers (URL parsing, redirect and retry policies, its body wrapper) were work done
///   twice on every request: 16 % of Warden's instructions per request with no policy.
/// - `Proxied`: reqwest, when the environment names an egress proxy (`HTTPS_PROXY`,
///   `HTTP_PROXY`, `ALL_PROXY`, any case): it reads those and `NO_PROXY` as curl does, CONNECT
///   tunnels and proxy credentials included.
///
/// Neither follows redirects: a redirect goes back to the client as it came.
#[expect(
    clippy::large_enum_variant,
    reason = "one per process: boxing would save no memory and add an indirection per request"
)]
enum Transport {
    /// Whole bodies (what Warden has read and filtered), and streamed ones (uploads relayed as
    /// they arrive), over the same connector.
    Direct(
        Client<Connector, Full<Bytes>>,
        Client<Connector, axum::body::Body>,
    ),
    Proxied(reqwest::Client),
}

/// A request body for upstream: read whole, or relayed as it arrives.
pub enum Outgoing {
    Whole(Bytes),
    Stream(axum::body::Body),
}

/// The environment variables that name an egress proxy.
const PROXY_VARIABLES: [&str; 6] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
];

fn proxy_in_environment() -> bool {
    PROXY_VARIABLES
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|value| !value.is_empty()))
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarder")
            .field(
                "transport",
                &match self.transport {
                    Transport::Direct(..) => "direct",
                    Transport::Proxied(_) => "proxied",
                },
            )
            .field("scheme", &self.scheme)
            .field("authority", &self.authority)
            .field("base_path", &self.base_path)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Forwarder {
    pub fn new(cfg: &UpstreamConfig, key: Option<Secret>) -> Result<Self, UpstreamError> {
        let base: Uri = cfg
            .url
            .parse()
            .map_err(|e: http::uri::InvalidUri| UpstreamError::Url(e.to_string()))?;
        let (Some(scheme), Some(authority)) = (base.scheme().cloned(), base.authority().cloned())
        else {
            return Err(UpstreamError::Url("not an http(s) base URL".into()));
        };
        if scheme != Scheme::HTTP && scheme != Scheme::HTTPS {
            return Err(UpstreamError::Url("not an http(s) base URL".into()));
        }
        let base_path = base.path().trim_end_matches('/').to_string();
        let connect_timeout = Duration::from_millis(cfg.connect_timeout_ms);
        let transport = if proxy_in_environment() {
            Transport::Proxied(
                reqwest::Client::builder()
                    .use_rustls_tls()
                    .tcp_nodelay(true)
                    .connect_timeout(connect_timeout)
                    .pool_idle_timeout(Duration::from_secs(90))
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(|e| UpstreamError::Build(e.to_string()))?,
            )
        } else {
            Transport::Direct(
                direct_client(connect_timeout)?,
                direct_client(connect_timeout)?,
            )
        };
        Ok(Self {
            transport,
            scheme,
            authority,
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

    /// The upstream URI of a request's path and query: the base's path, then the request's.
    fn uri(&self, path_and_query: &PathAndQuery) -> Result<Uri, UpstreamError> {
        let path_and_query = if self.base_path.is_empty() {
            path_and_query.clone()
        } else {
            PathAndQuery::try_from(format!("{}{path_and_query}", self.base_path))
                .map_err(|e| UpstreamError::Url(e.to_string()))?
        };
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path_and_query)
            .build()
            .map_err(|e| UpstreamError::Url(e.to_string()))
    }

    /// Sends one request upstream and waits for the response headers.
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &PathAndQuery,
        inbound: &HeaderMap,
        body: Bytes,
    ) -> Result<UpstreamResponse, UpstreamError> {
        self.send_body(method, path_and_query, inbound, Outgoing::Whole(body))
            .await
    }

    /// [`Forwarder::send`] with a body that may still be arriving; an error in a streamed body
    /// aborts the upstream request.
    pub async fn send_body(
        &self,
        method: Method,
        path_and_query: &PathAndQuery,
        inbound: &HeaderMap,
        body: Outgoing,
    ) -> Result<UpstreamResponse, UpstreamError> {
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
        let uri = self.uri(path_and_query)?;
        let timeout = Duration::from_millis(self.first_byte_timeout_ms);
        let answered = match &self.transport {
            Transport::Direct(whole, streamed) => {
                let response = match body {
                    Outgoing::Whole(body) => {
                        let mut request = http::Request::new(Full::new(body));
                        *request.method_mut() = method;
                        *request.uri_mut() = uri;
                        *request.headers_mut() = headers;
                        tokio::time::timeout(timeout, whole.request(request)).await
                    }
                    Outgoing::Stream(body) => {
                        let mut request = http::Request::new(body);
                        *request.method_mut() = method;
                        *request.uri_mut() = uri;
                        *request.headers_mut() = headers;
                        tokio::time::timeout(timeout, streamed.request(request)).await
                    }
                };
                response.map(|r| {
                    r.map(|response| response.map(axum::body::Body::new))
                        .map_err(|e| UpstreamError::Unreachable(Box::new(e)))
                })
            }
            Transport::Proxied(client) => {
                let body = match body {
                    Outgoing::Whole(body) => reqwest::Body::from(body),
                    Outgoing::Stream(body) => reqwest::Body::wrap_stream(body.into_data_stream()),
                };
                let request = client
                    .request(method, uri.to_string())
                    .headers(headers)
                    .body(body);
                tokio::time::timeout(timeout, request.send())
                    .await
                    .map(|r| match r {
                        Ok(response) => {
                            Ok(http::Response::from(response).map(axum::body::Body::new))
                        }
                        Err(e) if e.is_timeout() => {
                            Err(UpstreamError::Timeout(self.first_byte_timeout_ms))
                        }
                        Err(e) => Err(UpstreamError::Unreachable(Box::new(e))),
                    })
            }
        };
        answered.unwrap_or(Err(UpstreamError::Timeout(self.first_byte_timeout_ms)))
    }
}

/// hyper's pooled client, HTTP/1.1 and HTTP/2 (by ALPN), TLS with the Mozilla roots compiled in
/// (webpki-roots: the image needs no CA bundle).
fn direct_client<B>(connect_timeout: Duration) -> Result<Client<Connector, B>, UpstreamError>
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
{
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.enforce_http(false);
    http.set_connect_timeout(Some(connect_timeout));
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| UpstreamError::Build(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .build(https))
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
            assert_eq!(concatenated, want);
            let path = PathAndQuery::try_from(path).expect("path");
            let uri = forwarder(base).uri(&path).expect("uri");
            assert_eq!(uri.to_string(), want);
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
