//! The response side: upstream errors relayed verbatim, whole Messages through the response
//! stages, and SSE streams through them one event at a time with bounded memory.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http::HeaderValue;
use tokio::sync::mpsc;

use super::AppState;
use super::error::ApiError;
use crate::api::messages::MessageReply;
use crate::api::{ErrorKind, SseEvent, SseParser};
use crate::filter::StagePipeline;
use crate::ids::RequestId;
use crate::upstream::relay_response_headers;

/// How often a ping goes out while a stage holds events back.
const HELD_PING_INTERVAL_MS: u64 = 5_000;
/// Chunks in flight between the pump and the client connection: small, so a slow client slows
/// the upstream read instead of growing a buffer.
const STREAM_CHANNEL_CHUNKS: usize = 8;

fn response_head(upstream: &reqwest::Response) -> http::response::Builder {
    let mut builder = Response::builder().status(upstream.status());
    if let Some(headers) = builder.headers_mut() {
        relay_response_headers(upstream.headers(), headers);
    }
    builder
}

fn finish(builder: http::response::Builder, body: Body) -> Response {
    builder
        .body(body)
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// Relays status, headers and body as they come, without looking inside.
pub fn verbatim(upstream: reqwest::Response) -> Response {
    let head = response_head(&upstream);
    finish(head, Body::from_stream(upstream.bytes_stream()))
}

async fn whole_body(state: &AppState, upstream: reqwest::Response) -> Result<Bytes, ApiError> {
    match tokio::time::timeout(state.forwarder.idle_timeout(), upstream.bytes()).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(ApiError::new(
            ErrorKind::BadGateway,
            "the upstream response broke off before it was complete",
        )
        .with_rule("upstream")),
        Err(_) => Err(ApiError::new(
            ErrorKind::Timeout,
            format!(
                "the upstream API did not answer within {} ms",
                state.forwarder.idle_timeout_ms()
            ),
        )
        .with_rule("upstream")),
    }
}

pub async fn respond(
    state: &Arc<AppState>,
    upstream: reqwest::Response,
    mut pipeline: StagePipeline,
    id: &RequestId,
) -> Result<Response, ApiError> {
    let head = response_head(&upstream);
    let is_sse = upstream
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    // Upstream errors (429, 529, 500, 400 "prompt is too long: …") go back exactly as they came:
    // clients key their recovery on the status, the headers and the message text.
    if !upstream.status().is_success() {
        let bytes = whole_body(state, upstream).await?;
        return Ok(finish(head, Body::from(bytes)));
    }
    if is_sse {
        return Ok(stream(state, upstream, pipeline, head, id));
    }
    let bytes = whole_body(state, upstream).await?;
    if pipeline.is_empty() {
        return Ok(finish(head, Body::from(bytes)));
    }
    let Ok(mut message) = serde_json::from_slice::<MessageReply>(&bytes) else {
        // Not a Message we can read: stages cannot vouch for it, so it does not go out.
        return Err(ApiError::new(
            ErrorKind::BadGateway,
            "the upstream reply could not be read for policy checks",
        )
        .with_rule("response"));
    };
    let changed = pipeline.on_message(&mut message).map_err(|_| {
        ApiError::new(ErrorKind::Api, "a response stage could not decide").with_rule("response")
    })?;
    if !changed {
        return Ok(finish(head, Body::from(bytes)));
    }
    let body = serde_json::to_vec(&message).map_err(|_| {
        ApiError::new(ErrorKind::Api, "Warden could not re-encode the reply").with_rule("response")
    })?;
    Ok(finish(head, Body::from(body)))
}

fn stream(
    state: &Arc<AppState>,
    upstream: reqwest::Response,
    pipeline: StagePipeline,
    mut head: http::response::Builder,
    id: &RequestId,
) -> Response {
    let (tx, rx) = mpsc::channel::<Bytes>(STREAM_CHANNEL_CHUNKS);
    let pump = Pump {
        state: state.clone(),
        pipeline,
        tx,
        request_id: id.to_string(),
    };
    state.tracker.spawn(pump.run(upstream));
    if let Some(h) = head.headers_mut() {
        h.insert(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        );
    }
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, Infallible>(chunk), rx))
    });
    finish(head, Body::from_stream(body))
}

/// Moves one stream from upstream to the client. It ends when upstream ends, breaks or goes
/// silent, when the client goes away (dropping the upstream request, which cancels it), or when
/// the shutdown grace period is over.
struct Pump {
    state: Arc<AppState>,
    pipeline: StagePipeline,
    tx: mpsc::Sender<Bytes>,
    request_id: String,
}

enum End {
    Complete,
    ClientGone,
}

impl Pump {
    async fn run(mut self, upstream: reqwest::Response) {
        let result = self.pump(upstream).await;
        if let Err(message) = result {
            tracing::warn!(request_id = %self.request_id, reason = %message, "Stream ended with an error event.");
            let event = SseEvent::error(ErrorKind::Api, &message, Some(&self.request_id));
            let _ = self.tx.send(event.into_raw()).await;
        }
    }

    async fn send(&self, events: &mut Vec<SseEvent>) -> Result<(), End> {
        if events.is_empty() {
            return Ok(());
        }
        let chunk = if events.len() == 1 {
            events.pop().map(SseEvent::into_raw).unwrap_or_default()
        } else {
            let mut buf = BytesMut::new();
            for e in events.drain(..) {
                buf.extend_from_slice(e.raw());
            }
            buf.freeze()
        };
        self.tx.send(chunk).await.map_err(|_| End::ClientGone)
    }

    /// Runs parsed events through the stages (with none, nothing to do: the raw chunk is sent as
    /// it came). Returns whether the stream reached its end (`message_stop`, or upstream's own
    /// `error` event).
    fn absorb(
        &mut self,
        parsed: &mut Vec<SseEvent>,
        out: &mut Vec<SseEvent>,
    ) -> Result<bool, String> {
        let mut finished = false;
        for event in parsed.drain(..) {
            finished |= matches!(event.event(), Some("message_stop" | "error"));
            if !self.pipeline.is_empty() {
                self.pipeline
                    .push(event, out)
                    .map_err(|_| "a response stage could not decide".to_string())?;
            }
        }
        Ok(finished)
    }

    /// Returns `Err(message)` for a failure the client must hear about as an `error` event.
    async fn pump(&mut self, upstream: reqwest::Response) -> Result<End, String> {
        let idle = self.state.forwarder.idle_timeout();
        let mut body = upstream.bytes_stream();
        let mut parser = SseParser::default();
        let mut parsed = Vec::new();
        let mut out = Vec::new();
        let mut finished = false;
        let mut ping = tokio::time::interval(Duration::from_millis(HELD_PING_INTERVAL_MS));
        ping.reset();
        let passthrough = self.pipeline.is_empty();
        loop {
            let next = tokio::select! {
                () = self.tx.closed() => return Ok(End::ClientGone),
                () = self.state.cut_streams.cancelled() => {
                    return Err("Warden is shutting down; retry the request".into());
                }
                _ = ping.tick(), if self.pipeline.holding() => {
                    let mut p = vec![SseEvent::ping()];
                    if self.send(&mut p).await.is_err() {
                        return Ok(End::ClientGone);
                    }
                    continue;
                }
                next = tokio::time::timeout(idle, body.next()) => next,
            };
            match next {
                Err(_) => {
                    return Err(format!(
                        "the upstream stream went silent for {} ms",
                        idle.as_millis()
                    ));
                }
                Ok(Some(Err(_))) => return Err("the upstream stream broke off".into()),
                Ok(Some(Ok(chunk))) => {
                    parser
                        .push(&chunk, &mut parsed)
                        .map_err(|e| e.to_string())?;
                    finished |= self.absorb(&mut parsed, &mut out)?;
                    // With no stages, the chunk goes on as it came: nothing to wait for.
                    let sent = if passthrough {
                        self.tx.send(chunk).await.map_err(|_| End::ClientGone)
                    } else {
                        self.send(&mut out).await
                    };
                    if sent.is_err() {
                        return Ok(End::ClientGone);
                    }
                }
                Ok(None) => {
                    parser.finish(&mut parsed);
                    finished |= self.absorb(&mut parsed, &mut out)?;
                    if !passthrough {
                        self.pipeline
                            .finish(&mut out)
                            .map_err(|_| "a response stage could not decide".to_string())?;
                        if self.send(&mut out).await.is_err() {
                            return Ok(End::ClientGone);
                        }
                    }
                    if !finished {
                        return Err("the upstream stream ended before message_stop".into());
                    }
                    return Ok(End::Complete);
                }
            }
        }
    }
}
