//! OpenTelemetry trace export (the `otlp` feature): one span per Messages exchange, sent to an
//! OTLP/HTTP collector (`telemetry.otlp_endpoint`, JSON encoding, `POST {endpoint}/v1/traces`).
//!
//! Warden joins the caller's trace: the client's `traceparent` is the span's parent, and the
//! request goes upstream with a `traceparent` naming Warden's span, so a trace shows client →
//! Warden → Claude. A request without one starts a new trace. Without an endpoint nothing is
//! exported and `traceparent` goes upstream as it came.
//!
//! The exporter never slows a request: spans go on a bounded queue (full: the span is dropped
//! and counted), and a task posts them in batches. A collector that is down costs the batch,
//! never a request. Written against the OTLP specification's JSON encoding (ids as hex) with
//! reqwest, already a dependency, rather than the OpenTelemetry SDK crates.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::sync::mpsc;

/// Spans posted in one request at most.
const MAX_BATCH: usize = 512;
/// Spans waiting for the exporter at most; more are dropped.
const QUEUE: usize = 4_096;
/// How long one post to the collector may take.
const POST_TIMEOUT: Duration = Duration::from_secs(5);

/// A W3C trace context: the trace, this hop's span, and the flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceContext {
    /// 32 lower-case hex digits.
    pub trace_id: String,
    /// Warden's span: 16 hex digits.
    pub span_id: String,
    /// The caller's span, when it sent a `traceparent`.
    pub parent_span_id: Option<String>,
    /// 2 hex digits (`01`: sampled).
    pub flags: String,
}

impl TraceContext {
    /// Joins the trace of `traceparent` (if it is valid and not all zeros) or starts one.
    pub fn join(traceparent: Option<&str>) -> Self {
        let span_id = random_hex(8);
        if let Some((trace_id, parent, flags)) = traceparent.and_then(crate::ids::parse_traceparent)
        {
            return Self {
                trace_id,
                span_id,
                parent_span_id: Some(parent),
                flags,
            };
        }
        Self {
            trace_id: random_hex(16),
            span_id,
            parent_span_id: None,
            flags: "01".into(),
        }
    }

    /// The `traceparent` for the request upstream: this trace, Warden's span as the parent.
    pub fn upstream_header(&self) -> String {
        format!("00-{}-{}-{}", self.trace_id, self.span_id, self.flags)
    }
}

fn random_hex(bytes: usize) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes * 2);
    loop {
        s.clear();
        for _ in 0..bytes {
            let _ = write!(s, "{:02x}", rand::random::<u8>());
        }
        if !s.bytes().all(|b| b == b'0') {
            return s;
        }
    }
}

/// One finished exchange, as a span.
#[derive(Debug)]
pub struct Span {
    pub context: TraceContext,
    pub name: String,
    pub start: SystemTime,
    pub end: SystemTime,
    /// An error status (5xx, or a broken exchange).
    pub error: bool,
    pub attributes: Vec<(&'static str, AttributeValue)>,
}

#[derive(Debug)]
pub enum AttributeValue {
    Str(String),
    Int(i64),
    Bool(bool),
}

impl AttributeValue {
    fn to_json(&self) -> Value {
        match self {
            Self::Str(s) => json!({ "stringValue": s }),
            // OTLP's JSON encoding writes 64-bit integers as strings.
            Self::Int(i) => json!({ "intValue": i.to_string() }),
            Self::Bool(b) => json!({ "boolValue": b }),
        }
    }
}

fn nanos(t: SystemTime) -> String {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
        .to_string()
}

impl Span {
    fn to_json(&self) -> Value {
        let mut span = json!({
            "traceId": self.context.trace_id,
            "spanId": self.context.span_id,
            "name": self.name,
            // SPAN_KIND_SERVER
            "kind": 2,
            "startTimeUnixNano": nanos(self.start),
            "endTimeUnixNano": nanos(self.end),
            "attributes": self.attributes.iter().map(|(k, v)| json!({"key": k, "value": v.to_json()})).collect::<Vec<_>>(),
            // STATUS_CODE_ERROR or STATUS_CODE_UNSET
            "status": { "code": if self.error { 2 } else { 0 } },
        });
        if let Some(parent) = &self.context.parent_span_id {
            span["parentSpanId"] = json!(parent);
        }
        span
    }
}

/// The body of `POST /v1/traces` for `spans`.
pub fn export_request(service_name: &str, spans: &[Span]) -> Value {
    json!({
        "resourceSpans": [{
            "resource": { "attributes": [
                { "key": "service.name", "value": { "stringValue": service_name } },
                { "key": "service.version", "value": { "stringValue": env!("CARGO_PKG_VERSION") } },
            ]},
            "scopeSpans": [{
                "scope": { "name": "warden", "version": env!("CARGO_PKG_VERSION") },
                "spans": spans.iter().map(Span::to_json).collect::<Vec<_>>(),
            }],
        }],
    })
}

/// Counts for `/metrics`.
#[derive(Debug, Default)]
pub struct ExportCounts {
    pub exported: AtomicU64,
    pub dropped: AtomicU64,
}

/// The handle requests use: `record` never waits.
#[derive(Clone, Debug)]
pub struct Exporter {
    tx: mpsc::Sender<Span>,
    pub counts: Arc<ExportCounts>,
}

impl Exporter {
    /// Starts the export task posting to `{endpoint}/v1/traces` every `flush` (or sooner, when a
    /// batch is full). Call from within a Tokio runtime.
    pub fn start(endpoint: &str, service_name: &str, flush: Duration) -> Result<Self, String> {
        let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
        reqwest::Url::parse(&url).map_err(|e| format!("telemetry.otlp_endpoint: {e}"))?;
        let client = reqwest::Client::builder()
            .timeout(POST_TIMEOUT)
            .build()
            .map_err(|e| format!("telemetry: {e}"))?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let counts = Arc::new(ExportCounts::default());
        tokio::spawn(run(
            rx,
            client,
            url,
            service_name.to_string(),
            flush,
            counts.clone(),
        ));
        Ok(Self { tx, counts })
    }

    pub fn record(&self, span: Span) {
        if self.tx.try_send(span).is_err() {
            self.counts.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn run(
    mut rx: mpsc::Receiver<Span>,
    client: reqwest::Client,
    url: String,
    service_name: String,
    flush: Duration,
    counts: Arc<ExportCounts>,
) {
    let mut batch: Vec<Span> = Vec::with_capacity(MAX_BATCH);
    loop {
        let deadline = tokio::time::sleep(flush);
        tokio::pin!(deadline);
        let mut closed = false;
        while batch.len() < MAX_BATCH {
            let room = MAX_BATCH - batch.len();
            tokio::select! {
                n = rx.recv_many(&mut batch, room) => {
                    if n == 0 {
                        closed = true;
                        break;
                    }
                }
                () = &mut deadline => break,
            }
        }
        if !batch.is_empty() {
            let body = export_request(&service_name, &batch);
            let n = batch.len() as u64;
            batch.clear();
            let sent = client
                .post(&url)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body.to_string())
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => {
                    counts.exported.fetch_add(n, Ordering::Relaxed);
                }
                Ok(r) => {
                    counts.dropped.fetch_add(n, Ordering::Relaxed);
                    tracing::warn!(
                        status = r.status().as_u16(),
                        spans = n,
                        "The OTLP collector refused a batch of spans."
                    );
                }
                Err(e) => {
                    counts.dropped.fetch_add(n, Ordering::Relaxed);
                    tracing::warn!(error = %e, spans = n, "Could not send spans to the OTLP collector.");
                }
            }
        }
        if closed {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_a_valid_traceparent_and_starts_a_trace_otherwise() {
        let t = TraceContext::join(Some(
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
        ));
        assert_eq!(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(t.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
        assert_ne!(t.span_id, "00f067aa0ba902b7");
        assert_eq!(
            t.upstream_header(),
            format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{}-01", t.span_id)
        );
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "garbage",
        ] {
            let t = TraceContext::join(Some(bad));
            assert_eq!(t.parent_span_id, None, "{bad}");
            assert_eq!(t.trace_id.len(), 32);
            assert_ne!(t.trace_id, "00000000000000000000000000000000");
        }
    }

    #[test]
    fn export_request_follows_the_otlp_json_encoding() {
        let span = Span {
            context: TraceContext::join(Some(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )),
            name: "POST /v1/messages".into(),
            start: UNIX_EPOCH + Duration::from_nanos(1_000),
            end: UNIX_EPOCH + Duration::from_nanos(5_000),
            error: true,
            attributes: vec![
                ("warden.team", AttributeValue::Str("payments".into())),
                ("http.response.status_code", AttributeValue::Int(502)),
            ],
        };
        let v = export_request("warden-test", &[span]);
        let s = &v["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
        assert_eq!(s["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(s["parentSpanId"], "00f067aa0ba902b7");
        assert_eq!(s["startTimeUnixNano"], "1000");
        assert_eq!(s["endTimeUnixNano"], "5000");
        assert_eq!(s["status"]["code"], 2);
        assert_eq!(s["attributes"][1]["value"]["intValue"], "502");
        assert_eq!(
            v["resourceSpans"][0]["resource"]["attributes"][0]["value"]["stringValue"],
            "warden-test"
        );
    }
}
