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
use http_body_util::BodyExt;
use tokio::sync::OwnedSemaphorePermit;

use super::AppState;
use super::error::ApiError;
use super::trail::Trail;
use crate::api::messages::MessageReply;
use crate::api::{ErrorKind, SseEvent, SseParser};
use crate::filter::{StageError, StagePipeline};
use crate::ids::RequestId;
use crate::upstream::{UpstreamResponse, relay_response_headers};

/// How often a ping goes out while a stage holds events back.
const HELD_PING_INTERVAL_MS: u64 = 5_000;

/// A stage's verdict as the client sees it: a withheld reply is a policy denial; a stage that
/// could not decide is Warden's own error.
pub(super) fn stage_error(e: StageError) -> ApiError {
    match e {
        StageError::Withheld { rule, message } => ApiError::new(ErrorKind::Permission, message)
            .with_rule(rule)
            .no_retry(),
        StageError::Failed(_) => {
            ApiError::new(ErrorKind::Api, "a response stage could not decide").with_rule("response")
        }
    }
}

pub(super) fn response_head(upstream: &UpstreamResponse) -> http::response::Builder {
    let mut builder = Response::builder().status(upstream.status());
    if let Some(headers) = builder.headers_mut() {
        relay_response_headers(upstream.headers(), headers);
    }
    builder
}

pub(super) fn finish(builder: http::response::Builder, body: Body) -> Response {
    builder
        .body(body)
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// Relays status, headers and body as they come, without looking inside.
pub fn verbatim(upstream: UpstreamResponse) -> Response {
    let head = response_head(&upstream);
    finish(head, Body::new(upstream.into_body()))
}

pub(super) async fn whole_body(
    state: &AppState,
    upstream: UpstreamResponse,
) -> Result<Bytes, ApiError> {
    match tokio::time::timeout(
        state.forwarder.idle_timeout(),
        upstream.into_body().collect(),
    )
    .await
    {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
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
    upstream: UpstreamResponse,
    mut pipeline: StagePipeline,
    id: &RequestId,
    trail: &mut Option<Trail>,
    stream_slot: Option<OwnedSemaphorePermit>,
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
        if let Some(t) = trail.as_mut() {
            t.set_output(bytes.clone());
        }
        return Ok(finish(head, Body::from(bytes)));
    }
    if is_sse {
        return Ok(stream(
            state,
            upstream,
            pipeline,
            head,
            id,
            trail.take(),
            stream_slot,
        ));
    }
    let bytes = whole_body(state, upstream).await?;
    // One typed parse serves the audit trail (usage, tool calls) and the stages.
    let message = (trail.is_some() || !pipeline.is_empty())
        .then(|| serde_json::from_slice::<MessageReply>(&bytes).ok())
        .flatten();
    if let Some(t) = trail.as_mut() {
        if let Some(m) = &message {
            if let Some(usage) = m.extra.get("usage") {
                t.set_usage(&super::trail::usage_in(&usage));
            }
            for block in &m.content {
                if let crate::api::messages::ContentBlock::ToolUse {
                    id, name, input, ..
                } = block
                {
                    t.add_tool_call(id, name, input);
                }
            }
        }
        t.set_output(bytes.clone());
    }
    if pipeline.is_empty() {
        return Ok(finish(head, Body::from(bytes)));
    }
    let Some(mut message) = message else {
        // Not a Message we can read: stages cannot vouch for it, so it does not go out.
        return Err(ApiError::new(
            ErrorKind::BadGateway,
            "the upstream reply could not be read for policy checks",
        )
        .with_rule("response"));
    };
    // A tool call that waits for a human holds the reply with it.
    let changed = pipeline
        .on_message(&mut message)
        .await
        .map_err(stage_error)?;
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
    upstream: UpstreamResponse,
    pipeline: StagePipeline,
    mut head: http::response::Builder,
    id: &RequestId,
    trail: Option<Trail>,
    slot: Option<OwnedSemaphorePermit>,
) -> Response {
    let mut ping = tokio::time::interval(Duration::from_millis(HELD_PING_INTERVAL_MS));
    ping.reset();
    state.metrics.stream_opened();
    let pump = Pump {
        state: state.clone(),
        passthrough: pipeline.is_empty(),
        pipeline,
        body: Box::pin(upstream.into_body().into_data_stream()),
        parser: SseParser::default(),
        parsed: Vec::new(),
        out: Vec::new(),
        finished: false,
        ends: false,
        ping,
        phase: Phase::Streaming,
        request_id: id.to_string(),
        trail,
        output: String::new(),
        tools: std::collections::HashMap::new(),
        failure: None,
        upstream_done: false,
        _slot: slot,
    };
    if let Some(h) = head.headers_mut() {
        h.insert(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        );
    }
    // The pump is polled by the client connection itself: no task, no channel, and when the
    // client goes away the body is dropped, which drops (and so cancels) the upstream request.
    let chunks = futures_util::stream::unfold(pump, |mut pump| async move {
        pump.next_chunk().await.map(|chunk| (chunk, pump))
    });
    finish(head, Body::from_stream(coalesced(chunks)))
}

/// Largest write [`coalesced`] builds from chunks that were already waiting.
const COALESCE_MAX_BYTES: usize = 16 * 1024;

/// Scheduler rounds without anything from upstream after which [`coalesced`] sends what it has.
/// Measured: a chunk upstream's connection already holds takes two rounds to reach the pump
/// (with one, no chunk was ever joined; with two, a 200-delta stream at c=64 went out in about
/// a tenth of the writes).
const COALESCE_IDLE_ROUNDS: u32 = 2;

/// Scheduler rounds one write may wait through in all, so that a stream whose every round brings
/// something (a loaded worker, or a stage holding text back) still goes out steadily. Measured on
/// 200-delta streams at c=64 (`scripts/cpu-per-request`): 16 rounds gave 663–683 streams/s, 64
/// gave 867–890, no cap 918–974.
const COALESCE_MAX_ROUNDS: u32 = 64;

/// Joins chunks that are ready together into one write to the client. Upstream's connection hands
/// its body over one chunk at a time, so a burst of events (a fast upstream, or many events in
/// one TLS record) would otherwise cost one system call — and one wake-up of the client — per
/// event. The first chunk (the client's first byte) goes out at once; after each later one the
/// stream yields to let upstream's connection run, takes what is ready, and sends once
/// [`COALESCE_IDLE_ROUNDS`] rounds pass in which upstream delivered nothing, or after
/// [`COALESCE_MAX_ROUNDS`] rounds in all: it never waits on a timer. An empty chunk from the pump
/// means upstream delivered something that produced no output yet (text a stage holds back):
/// progress, but nothing to send. Stages still see one event at a time; only the writes are
/// joined, up to [`COALESCE_MAX_BYTES`].
fn coalesced(
    chunks: impl futures_util::Stream<Item = Bytes> + Send + 'static,
) -> impl futures_util::Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    let chunks = Box::pin(chunks.fuse());
    futures_util::stream::unfold((chunks, true), |(mut chunks, first)| async move {
        let chunk = loop {
            let chunk = chunks.next().await?;
            if !chunk.is_empty() {
                break chunk;
            }
        };
        if first {
            return Some((Ok(chunk), (chunks, false)));
        }
        let mut joined: Option<BytesMut> = None;
        let mut len = chunk.len();
        let (mut idle_rounds, mut rounds) = (0, 0);
        while len < COALESCE_MAX_BYTES && rounds < COALESCE_MAX_ROUNDS {
            // Asking first tells upstream's connection that its next chunk is wanted; the yield
            // lets it run.
            match futures_util::FutureExt::now_or_never(chunks.next()) {
                Some(Some(more)) => {
                    if !more.is_empty() {
                        len += more.len();
                        joined
                            .get_or_insert_with(|| BytesMut::from(&chunk[..]))
                            .extend_from_slice(&more);
                    }
                    idle_rounds = 0;
                }
                Some(None) => break,
                None if idle_rounds == COALESCE_IDLE_ROUNDS => break,
                None => {
                    tokio::task::yield_now().await;
                    idle_rounds += 1;
                    rounds += 1;
                }
            }
        }
        let out = joined.map_or(chunk, BytesMut::freeze);
        Some((Ok(out), (chunks, false)))
    })
}

/// Notes, for the audit record, what an upstream event says: text and tool input written, and
/// token usage.
fn capture(
    event: &SseEvent,
    output: &mut String,
    tools: &mut std::collections::HashMap<u64, (String, String, String)>,
    trail: Option<&mut Trail>,
) {
    if !matches!(
        event.event(),
        Some(
            "content_block_delta"
                | "content_block_start"
                | "content_block_stop"
                | "message_start"
                | "message_delta"
        )
    ) {
        return;
    }
    // The typed view, not a `Value`: this runs on every event of every stream. An event whose
    // fields do not have the API's types is not captured (upstream broke its own format).
    let Ok(v) = event.view() else {
        return;
    };
    let room = MAX_CAPTURED_OUTPUT_BYTES.saturating_sub(output.len());
    let mut keep = |s: &str| {
        if room > 0 {
            let mut end = s.len().min(room);
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            output.push_str(&s[..end]);
        }
    };
    match v.kind.as_deref() {
        Some("content_block_start") => {
            if let (Some(block), Some(index)) = (&v.content_block, v.index) {
                if block.kind.as_deref() == Some("tool_use") {
                    let id = block.id.as_deref().unwrap_or("").to_string();
                    let name = block.name.as_deref().unwrap_or("").to_string();
                    tools.insert(index, (id, name, String::new()));
                }
            }
        }
        Some("content_block_delta") => {
            let Some(d) = &v.delta else {
                return;
            };
            if let Some(t) = &d.text {
                keep(t);
            } else if let Some(j) = &d.partial_json {
                keep(j);
                if let Some((_, _, input)) = v.index.and_then(|i| tools.get_mut(&i)) {
                    if input.len() < MAX_CAPTURED_OUTPUT_BYTES {
                        input.push_str(j);
                    }
                }
            }
        }
        Some("content_block_stop") => {
            if let (Some((id, name, input)), Some(t)) =
                (v.index.and_then(|i| tools.remove(&i)), trail)
            {
                let input: serde_json::Value =
                    serde_json::from_str(if input.is_empty() { "{}" } else { &input })
                        .unwrap_or(serde_json::Value::String(input));
                t.add_tool_call(&id, &name, &input);
            }
        }
        Some("message_start") => {
            if let Some(t) = trail {
                if let Some(usage) = v.message.and_then(|m| m.usage) {
                    t.set_usage(&usage);
                }
            }
        }
        Some("message_delta") => {
            if let Some(t) = trail {
                t.set_usage(&v.usage.unwrap_or_default());
            }
        }
        _ => {}
    }
}

/// A stream failure that is not Warden's decision: reported as an `api_error` event.
fn upstream_failure(message: String) -> ApiError {
    ApiError::new(ErrorKind::Api, message).with_rule("upstream")
}

type UpstreamBody =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, axum::Error>> + Send>>;

/// Moves one stream from upstream to the client, one chunk per poll. It ends when upstream ends,
/// breaks or goes silent, or when the shutdown grace period is over; a failure reaches the client
/// as an `error` event.
struct Pump {
    state: Arc<AppState>,
    pipeline: StagePipeline,
    /// No stages: chunks go on exactly as they came, as soon as they came.
    passthrough: bool,
    body: UpstreamBody,
    parser: SseParser,
    parsed: Vec<SseEvent>,
    out: Vec<SseEvent>,
    /// Upstream reached its end (`message_stop`, or its own `error` event).
    finished: bool,
    /// The chunk about to be sent carries the stream's last event: the record goes to disk
    /// before it does.
    ends: bool,
    ping: tokio::time::Interval,
    phase: Phase,
    request_id: String,
    /// Completed (and handed to the audit writer) when the pump is dropped: at the end of the
    /// stream, or when the client goes away.
    trail: Option<Trail>,
    /// What the model wrote (text and tool input), for the audit record; capped.
    output: String,
    /// Tool calls streaming in, by block index: (id, name, input JSON so far).
    tools: std::collections::HashMap<u64, (String, String, String)>,
    /// Why the stream ended early, if it did.
    failure: Option<String>,
    /// Upstream's body ended; the stream ends once no stage waits on a decision.
    upstream_done: bool,
    /// This stream's place under `limits.max_streams`, given back when the pump is dropped.
    _slot: Option<OwnedSemaphorePermit>,
}

/// Output captured from one stream for the audit record, at most this much.
const MAX_CAPTURED_OUTPUT_BYTES: usize = 1024 * 1024;

impl Drop for Pump {
    fn drop(&mut self) {
        self.state.metrics.stream_closed();
        // A stream the client did not receive to its end is owed no record on disk first.
        let rule = match (&self.phase, self.failure.take()) {
            (_, Some(rule)) => Some(rule),
            (Phase::Done, None) => None,
            _ => Some("client_closed".to_string()),
        };
        drop(self.complete(rule));
    }
}

enum Phase {
    Streaming,
    Failed(ApiError),
    Done,
}

enum Step {
    Send(Bytes),
    Nothing,
    End(Bytes),
}

impl Pump {
    /// Completes the record (once): what the model wrote and how the stream ended.
    fn complete(&mut self, rule: Option<String>) -> Option<super::trail::Durable> {
        let mut trail = self.trail.take()?;
        trail.set_output(Bytes::from(std::mem::take(&mut self.output)));
        Some(trail.finish(crate::audit::Decision::Forwarded, 200, rule))
    }

    /// The chunk about to go out ends the stream: the record is on disk first.
    async fn before_last(&mut self, rule: Option<String>) {
        if let Some(durable) = self.complete(rule) {
            durable.written().await;
        }
    }

    async fn next_chunk(&mut self) -> Option<Bytes> {
        loop {
            match std::mem::replace(&mut self.phase, Phase::Done) {
                Phase::Done => return None,
                Phase::Failed(e) => {
                    self.failure = e.rule.clone().or_else(|| Some("stream".into()));
                    tracing::warn!(request_id = %self.request_id, reason = %e.message, rule = e.rule.as_deref().unwrap_or(""), "Stream ended with an error event.");
                    // Upstream failed, not a stage: what the stages still hold has been scanned
                    // as far as it came, and goes out before the error, as it would directly.
                    let mut buf = BytesMut::new();
                    if e.rule.as_deref() == Some("upstream")
                        && !self.passthrough
                        && !self.pipeline.awaiting()
                    {
                        match self.pipeline.finish(&mut self.out) {
                            Ok(()) => buf.extend_from_slice(&self.take_out()),
                            Err(_) => self.out.clear(),
                        }
                    }
                    let event = SseEvent::error(e.kind, &e.message, Some(&self.request_id));
                    buf.extend_from_slice(event.raw());
                    self.before_last(self.failure.clone()).await;
                    return Some(buf.freeze());
                }
                Phase::Streaming => match self.step().await {
                    Ok(Step::Send(chunk)) => {
                        self.phase = Phase::Streaming;
                        if self.ends {
                            self.before_last(None).await;
                        }
                        return Some(chunk);
                    }
                    // Upstream moved but nothing is ready to send: an empty chunk tells
                    // [`coalesced`] so.
                    Ok(Step::Nothing) => {
                        self.phase = Phase::Streaming;
                        return Some(Bytes::new());
                    }
                    Ok(Step::End(tail)) => {
                        if !self.finished {
                            self.phase = Phase::Failed(upstream_failure(
                                "the upstream stream ended before message_stop".into(),
                            ));
                        }
                        if !tail.is_empty() {
                            if self.ends {
                                self.before_last(None).await;
                            }
                            return Some(tail);
                        }
                    }
                    Err(e) => self.phase = Phase::Failed(e),
                },
            }
        }
    }

    /// Waits for the next thing to happen: a chunk from upstream, a decision a stage waited on,
    /// a ping due, or the cut-off.
    async fn step(&mut self) -> Result<Step, ApiError> {
        if self.upstream_done && !self.pipeline.awaiting() {
            if !self.passthrough {
                self.pipeline.finish(&mut self.out).map_err(stage_error)?;
            }
            return Ok(Step::End(self.take_out()));
        }
        let idle = self.state.forwarder.idle_timeout();
        let awaiting = self.pipeline.awaiting();
        let next = tokio::select! {
            () = self.state.cut_streams.cancelled() => {
                return Err(upstream_failure("Warden is shutting down; retry the request".into()));
            }
            _ = self.ping.tick(), if self.pipeline.holding() => {
                return Ok(Step::Send(SseEvent::ping().into_raw()));
            }
            resumed = std::future::poll_fn(|cx| self.pipeline.poll_resume(cx, &mut self.out)), if awaiting => {
                resumed.map_err(stage_error)?;
                let joined = self.take_out();
                return Ok(if joined.is_empty() { Step::Nothing } else { Step::Send(joined) });
            }
            next = tokio::time::timeout(idle, self.body.next()), if !self.upstream_done => next,
        };
        match next {
            Err(_) => Err(upstream_failure(format!(
                "the upstream stream went silent for {} ms",
                idle.as_millis()
            ))),
            Ok(Some(Err(_))) => Err(upstream_failure("the upstream stream broke off".into())),
            Ok(Some(Ok(chunk))) => {
                self.parser
                    .push(&chunk, &mut self.parsed)
                    .map_err(|e| upstream_failure(e.to_string()))?;
                let was_finished = self.finished;
                self.absorb()?;
                if self.passthrough {
                    self.ends |= self.finished && !was_finished;
                    Ok(Step::Send(chunk))
                } else {
                    let joined = self.take_out();
                    Ok(if joined.is_empty() {
                        Step::Nothing
                    } else {
                        Step::Send(joined)
                    })
                }
            }
            Ok(None) => {
                self.parser.finish(&mut self.parsed);
                self.absorb()?;
                self.upstream_done = true;
                let joined = self.take_out();
                Ok(if joined.is_empty() {
                    Step::Nothing
                } else {
                    Step::Send(joined)
                })
            }
        }
    }

    /// Runs parsed events through the stages (with none, only the bookkeeping: the raw chunk is
    /// sent as it came) and notes whether upstream reached its end.
    fn absorb(&mut self) -> Result<(), ApiError> {
        for event in self.parsed.drain(..) {
            self.finished |= matches!(event.event(), Some("message_stop" | "error"));
            if self.trail.is_some() {
                capture(
                    &event,
                    &mut self.output,
                    &mut self.tools,
                    self.trail.as_mut(),
                );
            }
            if !self.passthrough {
                self.pipeline
                    .push(event, &mut self.out)
                    .map_err(stage_error)?;
            }
        }
        Ok(())
    }

    /// The events ready to send, as one chunk.
    fn take_out(&mut self) -> Bytes {
        self.ends |= self
            .out
            .iter()
            .any(|e| matches!(e.event(), Some("message_stop" | "error")));
        match self.out.len() {
            0 => Bytes::new(),
            1 => self.out.pop().map(SseEvent::into_raw).unwrap_or_default(),
            _ => {
                let mut buf = BytesMut::new();
                for e in self.out.drain(..) {
                    buf.extend_from_slice(e.raw());
                }
                buf.freeze()
            }
        }
    }
}
