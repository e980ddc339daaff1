//! The one log line per exchange, written once the response is done: after its last byte went to
//! the client (or the client left), so that formatting and writing it is not part of the
//! latency the client sees, and so that it can say how long the whole exchange took.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use bytes::Bytes;
use http::Method;
use http_body::{Frame, SizeHint};

use super::error::ApiError;
use crate::ids::RequestId;

/// What the line says, gathered when the response head is ready.
pub struct ExchangeLine {
    pub id: RequestId,
    pub method: Method,
    pub path: String,
    pub status: u16,
    pub team: String,
    /// From the request's arrival to the response head.
    pub latency_us: u64,
    /// Warden's refusal, when it refused: (error type, rule).
    pub refused: Option<(&'static str, String)>,
    pub started: Instant,
}

impl ExchangeLine {
    pub fn refused_by(err: &ApiError) -> (&'static str, String) {
        (err.kind.type_str(), err.rule.clone().unwrap_or_default())
    }

    fn write(self) {
        let ExchangeLine {
            id,
            method,
            path,
            status,
            team,
            latency_us,
            refused,
            started,
        } = self;
        let duration_us = started.elapsed().as_micros() as u64;
        // Health probes come every few seconds from every orchestrator: at debug, so the info
        // log is the traffic. A failing probe (not 200) stays at info.
        if status == 200 && matches!(path.as_str(), "/healthz" | "/readyz") {
            tracing::debug!(request_id = %id, %method, %path, status, duration_us, "Probe answered.");
            return;
        }
        match refused {
            Some((error_type, rule)) => tracing::info!(
                request_id = %id, %method, %path, status, team, latency_us, duration_us,
                error_type, rule, "Request refused by Warden."
            ),
            None => tracing::info!(
                request_id = %id, %method, %path, status, team, latency_us, duration_us,
                "Request answered."
            ),
        }
    }
}

/// A response body that writes its exchange's line when it is dropped: hyper drops it once the
/// last frame is written, or when the connection ends early.
pub struct LoggedBody {
    body: Body,
    line: Option<ExchangeLine>,
}

impl LoggedBody {
    pub fn wrap(body: Body, line: ExchangeLine) -> Body {
        Body::new(Self {
            body,
            line: Some(line),
        })
    }
}

impl Drop for LoggedBody {
    fn drop(&mut self) {
        if let Some(line) = self.line.take() {
            line.write();
        }
    }
}

impl http_body::Body for LoggedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
