//! The API listener's accept loop. `axum::serve` offers no limits of its own, so Warden drives
//! hyper itself to bound what one client can hold:
//!
//! - **connections**: at most `limits.max_connections` at once, and at most
//!   `limits.max_connections_per_peer` from one client address (an IPv6 client's /64), so one
//!   client cannot fill the server; one more is answered with a 529 `overloaded_error`
//!   (`Connection: close`) instead of waiting unseen in the backlog. Those answers are bounded
//!   too ([`MAX_REFUSING`] at once): past that a refused connection is closed unanswered, so a
//!   flood of connections cannot hold file descriptors through its own refusals;
//! - **idle connections**: an HTTP/2 connection with no stream in flight for
//!   `limits.connection_idle_timeout_ms` is closed (a client that sends only the preface holds
//!   nothing), and HTTP/2 keep-alive pings close a peer that stopped answering;
//! - **headers**: hyper's parser stops at twice `limits.max_headers` headers and at its read
//!   buffer (twice `limits.max_header_bytes`, at least 8 KiB) with a bare 431; below that, the
//!   `header_limits` middleware answers the configured limits with the API's error shape;
//! - **slow clients**: the request head must arrive within `limits.header_read_timeout_ms` (a
//!   client that sends nothing, or trickles its headers byte by byte, is cut off; the same
//!   timer closes a kept-alive connection idle that long between requests), and a connection whose writes have
//!   made no progress for `limits.client_write_timeout_ms` (a client that stopped reading its
//!   stream) is closed, which drops the reply and its upstream request.
//!
//! Shutdown: on the token, stop accepting, ask every connection to finish its in-flight requests
//! (`graceful_shutdown`), and return once they have all closed.

use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use super::metrics::Metrics;
use crate::api::ErrorKind;
use crate::config::LimitsConfig;

/// hyper refuses a read buffer smaller than this.
const MIN_HYPER_BUFFER: usize = 8 * 1024;
/// How long the refusal of a connection over the limit may take, reading the request included.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(1);
/// The most a refused connection's request is read (to answer after it, not into it).
const REFUSAL_READ_BYTES: usize = 1024 * 1024;
/// Refused connections answered at once; more are closed without an answer.
pub const MAX_REFUSING: usize = 256;
/// HTTP/2 keep-alive: a ping this often on a quiet connection, and the time its answer may take.
const H2_PING_INTERVAL: Duration = Duration::from_secs(30);
const H2_PING_TIMEOUT: Duration = Duration::from_secs(20);
/// How long an idle connection told to close may take before it is dropped.
const IDLE_CLOSE_GRACE: Duration = Duration::from_secs(1);

/// The address a per-peer limit counts by: an IPv4 address, or an IPv6 address's /64 (one
/// client usually holds a whole /64).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Peer {
    V4(std::net::Ipv4Addr),
    V6(u64),
}

impl Peer {
    fn of(ip: std::net::IpAddr) -> Self {
        match ip {
            std::net::IpAddr::V4(v4) => Self::V4(v4),
            std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4),
                None => Self::V6((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

/// Open connections per peer.
#[derive(Default)]
struct PeerCounts(std::sync::Mutex<std::collections::HashMap<Peer, usize>>);

/// One peer's connection, counted until dropped.
struct PeerSlot {
    counts: Arc<PeerCounts>,
    peer: Peer,
}

impl PeerCounts {
    fn acquire(self: &Arc<Self>, peer: Peer, limit: usize) -> Option<PeerSlot> {
        let mut m = self.0.lock().ok()?;
        let n = m.entry(peer).or_default();
        if *n >= limit {
            return None;
        }
        *n += 1;
        Some(PeerSlot {
            counts: self.clone(),
            peer,
        })
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        if let Ok(mut m) = self.counts.0.lock()
            && let Some(n) = m.get_mut(&self.peer)
        {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.peer);
            }
        }
    }
}

/// Serves `app` on `listener` until `shutdown` is cancelled and every connection has closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: LimitsConfig,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    let peers = Arc::new(PeerCounts::default());
    let connections = TaskTracker::new();
    let limits = Arc::new(limits);
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: the listener is fine, wait a moment.
                tracing::warn!(error = %e, "Accepting a connection failed.");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Small SSE records must not wait for Nagle.
        let _ = tcp.set_nodelay(true);
        let admitted = peers
            .acquire(Peer::of(remote.ip()), limits.max_connections_per_peer)
            .map(|peer| (peer, slots.clone().try_acquire_owned()));
        let (peer, slot) = match admitted {
            Some((peer, Ok(slot))) => (peer, slot),
            refused => {
                let (why, limit) = if refused.is_some() {
                    ("limits.max_connections", limits.max_connections)
                } else {
                    (
                        "limits.max_connections_per_peer",
                        limits.max_connections_per_peer,
                    )
                };
                metrics.connection_refused();
                match refusing.clone().try_acquire_owned() {
                    Ok(permit) => {
                        connections.spawn(async move {
                            refuse(tcp, why, limit).await;
                            drop(permit);
                        });
                    }
                    Err(_) => {
                        metrics.connection_cut("refused_unanswered");
                        drop(tcp);
                    }
                }
                continue;
            }
        };
        let (app, limits, metrics, shutdown) = (
            app.clone(),
            limits.clone(),
            metrics.clone(),
            shutdown.clone(),
        );
        connections.spawn(async move {
            metrics.connection_opened();
            serve_connection(tcp, remote, app, &limits, &metrics, shutdown).await;
            metrics.connection_closed();
            drop(slot);
            drop(peer);
        });
    }
    connections.close();
    connections.wait().await;
    Ok(())
}

/// Requests in flight on one HTTP/2 connection, and when the last one ended.
#[derive(Debug)]
struct Activity {
    started: Instant,
    in_flight: std::sync::atomic::AtomicUsize,
    /// Milliseconds since `started` when a request last ended (or the connection opened).
    last: AtomicU64,
}

impl Activity {
    fn now(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Resolves once no request has been in flight for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let last = self.last.load(Ordering::Relaxed);
            let deadline = self.started + Duration::from_millis(last) + limit;
            tokio::time::sleep_until(deadline.into()).await;
            if self.in_flight.load(Ordering::Relaxed) == 0
                && self.last.load(Ordering::Relaxed) == last
            {
                return;
            }
            if self.in_flight.load(Ordering::Relaxed) > 0 {
                // Busy: look again one period from now.
                self.last.store(self.now(), Ordering::Relaxed);
            }
        }
    }
}

/// Marks one request in flight until dropped (with the response body it guards).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: &Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        Self(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.last.store(self.0.now(), Ordering::Relaxed);
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How long a request body a handler left unread is still read after the answer (HTTP/1.1).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// A request body that, when dropped unread (a refusal answered before the body was needed:
/// a bad key, an unknown path, a declared length over the limit), keeps reading and discarding
/// it in the background — up to `budget` bytes and [`DRAIN_TIMEOUT`] — before hyper may close
/// the connection. Closing on a client still sending resets the connection, and clients such as
/// Node's fetch then report a broken pipe instead of the answer they were sent.
struct Drained {
    body: Option<Incoming>,
    budget: usize,
}

impl http_body::Body for Drained {
    type Data = bytes::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        match self.body.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body
            .as_ref()
            .is_none_or(http_body::Body::is_end_stream)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body
            .as_ref()
            .map_or_else(http_body::SizeHint::default, http_body::Body::size_hint)
    }
}

impl Drop for Drained {
    fn drop(&mut self) {
        let Some(body) = self.body.take() else {
            return;
        };
        if http_body::Body::is_end_stream(&body) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let budget = self.budget;
        runtime.spawn(async move {
            let mut body = body;
            let mut left = budget;
            let drain = async {
                while let Some(Ok(frame)) = http_body_util::BodyExt::frame(&mut body).await {
                    left = left.saturating_sub(frame.data_ref().map_or(0, bytes::Bytes::len));
                    if left == 0 {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(DRAIN_TIMEOUT, drain).await;
        });
    }
}

/// A response body that keeps its request counted as in flight until the body is done.
struct Guarded {
    body: Body,
    _in_flight: InFlight,
}

impl http_body::Body for Guarded {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

async fn serve_connection(
    tcp: TcpStream,
    remote: SocketAddr,
    app: Router,
    limits: &LimitsConfig,
    metrics: &Metrics,
    shutdown: CancellationToken,
) {
    // hyper's header timer starts only once the protocol is known, that is once bytes arrive:
    // a connection that never sends anything is timed here.
    let head_timeout = Duration::from_millis(limits.header_read_timeout_ms);
    let mut first = [0u8; 1];
    tokio::select! {
        peeked = tokio::time::timeout(head_timeout, tcp.peek(&mut first)) => match peeked {
            Ok(Ok(n)) if n > 0 => {}
            // Closed, or broken, before a request.
            Ok(_) => return,
            Err(_) => {
                tracing::debug!(%remote, "A client sent nothing within the header read timeout: connection closed.");
                metrics.connection_cut("header_read_timeout");
                return;
            }
        },
        () = shutdown.cancelled() => return,
    }
    // An HTTP/2 client (prior knowledge) opens with the preface `PRI * HTTP/2.0`.
    let mut preface = [0u8; 3];
    let h2 = matches!(tcp.peek(&mut preface).await, Ok(3)) && &preface == b"PRI";
    let activity = Arc::new(Activity {
        started: Instant::now(),
        in_flight: std::sync::atomic::AtomicUsize::new(0),
        last: AtomicU64::new(0),
    });
    let io = Watched::new(tcp);
    let writes = io.writes.clone();
    let tracked = activity.clone();
    let drain_budget = limits.max_body_bytes;
    let service = TowerToHyperService::new(tower::service_fn(
        move |mut request: http::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(remote));
            let in_flight = h2.then(|| InFlight::start(&tracked));
            let response = if h2 {
                // HTTP/2 ends an unread request stream on its own (RST_STREAM NO_ERROR after the
                // answer); only HTTP/1.1 must read what it will not use.
                app.clone().oneshot(request.map(Body::new))
            } else {
                app.clone().oneshot(request.map(|body| {
                    Body::new(Drained {
                        body: Some(body),
                        budget: drain_budget,
                    })
                }))
            };
            async move {
                let response = response.await?;
                Ok::<_, std::convert::Infallible>(match in_flight {
                    Some(in_flight) => response.map(|body| {
                        Body::new(Guarded {
                            body,
                            _in_flight: in_flight,
                        })
                    }),
                    None => response,
                })
            }
        },
    ));
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(head_timeout)
        .max_headers(limits.max_headers.saturating_mul(2))
        .max_buf_size(
            limits
                .max_header_bytes
                .saturating_mul(2)
                .max(MIN_HYPER_BUFFER),
        );
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(H2_PING_INTERVAL))
        .keep_alive_timeout(H2_PING_TIMEOUT)
        .max_header_list_size(
            u32::try_from(limits.max_header_bytes.saturating_mul(2)).unwrap_or(u32::MAX),
        );
    let mut connection = pin!(builder.serve_connection_with_upgrades(TokioIo::new(io), service));
    let stall = Duration::from_millis(limits.client_write_timeout_ms);
    let idle = Duration::from_millis(limits.connection_idle_timeout_ms);
    let mut draining = false;
    let mut idle_close: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            () = activity.idle_for(idle), if h2 && !draining => {
                tracing::debug!(%remote, "An HTTP/2 connection was idle: closing it.");
                metrics.connection_cut("idle");
                draining = true;
                idle_close = Some(tokio::time::Instant::now() + IDLE_CLOSE_GRACE);
                connection.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep_until(idle_close.unwrap_or_else(tokio::time::Instant::now)), if idle_close.is_some() => {
                // A peer that never finished its handshake does not answer the GOAWAY.
                return;
            }
            served = connection.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(error = %e, %remote, "A client connection ended with an error.");
                }
                return;
            }
            () = shutdown.cancelled(), if !draining => {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
            () = writes.stalled_for(stall) => {
                tracing::warn!(
                    %remote,
                    timeout_ms = limits.client_write_timeout_ms,
                    "A client stopped reading its reply: connection closed."
                );
                metrics.connection_cut("client_write_timeout");
                // Dropping the connection drops the reply being relayed and its upstream request.
                return;
            }
        }
    }
}

/// Answers a connection over `limits.max_connections` and closes it. The request is read first
/// (within [`REFUSAL_TIMEOUT`] and [`REFUSAL_READ_BYTES`]): a client still sending when the
/// answer arrives takes it for a broken connection rather than a 529 it can retry.
async fn refuse(mut tcp: TcpStream, rule: &'static str, limit: usize) {
    let id = crate::ids::RequestId::generate();
    let body = crate::api::error::error_body(
        ErrorKind::Overloaded,
        &format!(
            "Warden is serving its maximum of {limit} connections (rule {rule}); retry shortly"
        ),
        Some(&id.to_string()),
    )
    .to_string();
    tracing::warn!(request_id = %id, limit, rule, "Connection refused: a connection limit was reached.");
    let response = format!(
        "HTTP/1.1 529 Overloaded\r\nrequest-id: {id}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nx-should-retry: true\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let answer = async {
        read_request(&mut tcp).await?;
        tcp.write_all(response.as_bytes()).await?;
        tcp.shutdown().await
    };
    let _ = tokio::time::timeout(REFUSAL_TIMEOUT, answer).await;
}

/// Reads one HTTP/1 request: its head, then as many body bytes as its `content-length` says.
async fn read_request(tcp: &mut TcpStream) -> io::Result<()> {
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    let mut wanted = None;
    while got.len() < REFUSAL_READ_BYTES {
        if let Some(total) = wanted
            && got.len() >= total
        {
            break;
        }
        let n = tcp.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        if wanted.is_none()
            && let Some(end) = memchr::memmem::find(&got, b"\r\n\r\n")
        {
            let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            wanted = Some(end + 4 + length);
        }
    }
    Ok(())
}

/// When the connection's writes last stopped making progress.
#[derive(Debug)]
struct Writes {
    started: Instant,
    /// Milliseconds since `started` at which a write first returned `Pending` and has not gone
    /// through since, plus one; 0 while writes go through.
    blocked_since: AtomicU64,
    /// Woken when writes become blocked, so a connection whose writes go through has no timer.
    became_blocked: tokio::sync::Notify,
}

impl Writes {
    fn blocked(&self) {
        let now = self.started.elapsed().as_millis() as u64 + 1;
        if self
            .blocked_since
            .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            self.became_blocked.notify_one();
        }
    }

    fn progressed(&self) {
        self.blocked_since.store(0, Ordering::Relaxed);
    }

    /// Resolves once a write has been blocked for `limit` without going through.
    async fn stalled_for(&self, limit: Duration) {
        loop {
            let since = self.blocked_since.load(Ordering::Relaxed);
            if since == 0 {
                // A stale wake-up only costs one more turn of the loop.
                self.became_blocked.notified().await;
                continue;
            }
            let deadline = self.started + Duration::from_millis(since - 1) + limit;
            tokio::time::sleep_until(deadline.into()).await;
            if self.blocked_since.load(Ordering::Relaxed) == since {
                return;
            }
        }
    }
}

/// A client socket that records whether its writes are making progress.
struct Watched {
    tcp: TcpStream,
    writes: Arc<Writes>,
    /// hyper's own answer to a request it could not parse, being written in the API's error
    /// envelope instead: the bytes, how many are written, and the length of hyper's buffer.
    rewrite: Option<(Vec<u8>, usize, usize)>,
}

/// hyper answers a request it cannot parse (a malformed head, conflicting framing headers, a
/// head past `max_buf_size`, a URI too long) by itself, with an empty body, before any Warden
/// code sees the request. Such an answer, recognised by its status and `content-length: 0`
/// (every answer Warden writes has a body), is replaced by the same status in the API's error
/// envelope, and the connection closes.
fn enveloped(buf: &[u8]) -> Option<Vec<u8>> {
    let rest = buf.strip_prefix(b"HTTP/1.1 ")?;
    let (status, reason, message) = match rest.get(..4)? {
        b"400 " => (
            400,
            "Bad Request",
            "Warden could not parse this HTTP request (malformed head or conflicting framing headers)",
        ),
        b"414 " => (414, "URI Too Long", "the request URI is too long"),
        b"431 " => (
            431,
            "Request Header Fields Too Large",
            "the request's header fields are too large",
        ),
        _ => return None,
    };
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..end]).ok()?.to_ascii_lowercase();
    if end != buf.len() || !head.contains("\r\ncontent-length: 0\r\n") {
        return None;
    }
    let body = serde_json::json!({
        "type": "error",
        "error": {"type": "invalid_request_error", "message": format!("{message} (rule http.parse)")},
    })
    .to_string();
    Some(
        format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

impl Watched {
    fn new(tcp: TcpStream) -> Self {
        Self {
            tcp,
            writes: Arc::new(Writes {
                started: Instant::now(),
                blocked_since: AtomicU64::new(0),
                became_blocked: tokio::sync::Notify::new(),
            }),
            rewrite: None,
        }
    }

    /// Writes the rewritten answer to its end, then reports hyper's buffer as written.
    fn poll_rewrite(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        loop {
            let Some((bytes, done, len)) = self.rewrite.as_mut() else {
                return Poll::Ready(Ok(0));
            };
            if *done == bytes.len() {
                let len = *len;
                self.rewrite = None;
                return Poll::Ready(Ok(len));
            }
            match Pin::new(&mut self.tcp).poll_write(cx, &bytes[*done..]) {
                Poll::Ready(Ok(n)) => *done += n,
                other => return self.note(other),
            }
        }
    }

    fn note<T>(&self, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match &poll {
            Poll::Pending => self.writes.blocked(),
            Poll::Ready(_) => self.writes.progressed(),
        }
        poll
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.rewrite.is_none() {
            self.rewrite = enveloped(buf).map(|bytes| (bytes, 0, buf.len()));
        }
        if self.rewrite.is_some() {
            return self.poll_rewrite(cx);
        }
        let poll = Pin::new(&mut self.tcp).poll_write(cx, buf);
        self.note(poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.rewrite.is_none() {
            if let Some(first) = bufs.iter().find(|b| !b.is_empty()) {
                self.rewrite = enveloped(first).map(|bytes| (bytes, 0, first.len()));
            }
        }
        if self.rewrite.is_some() {
            return self.poll_rewrite(cx);
        }
        let poll = Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs);
        self.note(poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A TCP flush writes nothing: it says nothing about the client reading.
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}
