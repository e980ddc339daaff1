//! The API listener's accept loop. `axum::serve` offers no limits of its own, so Warden drives
//! hyper itself to bound what one client can hold:
//!
//! - **connections**: at most `limits.max_connections` at once; one more is answered with a 529
//!   `overloaded_error` (`Connection: close`) instead of waiting unseen in the backlog;
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

/// Serves `app` on `listener` until `shutdown` is cancelled and every connection has closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: LimitsConfig,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
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
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics.connection_refused();
            connections.spawn(refuse(tcp, limits.max_connections));
            continue;
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
        });
    }
    connections.close();
    connections.wait().await;
    Ok(())
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
    let io = Watched::new(tcp);
    let writes = io.writes.clone();
    let service = TowerToHyperService::new(tower::service_fn(
        move |mut request: http::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(remote));
            app.clone().oneshot(request.map(Body::new))
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
        .max_header_list_size(
            u32::try_from(limits.max_header_bytes.saturating_mul(2)).unwrap_or(u32::MAX),
        );
    let mut connection = pin!(builder.serve_connection_with_upgrades(TokioIo::new(io), service));
    let stall = Duration::from_millis(limits.client_write_timeout_ms);
    let mut draining = false;
    loop {
        tokio::select! {
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
async fn refuse(mut tcp: TcpStream, limit: usize) {
    let id = crate::ids::RequestId::generate();
    let body = crate::api::error::error_body(
        ErrorKind::Overloaded,
        &format!(
            "Warden is serving its maximum of {limit} connections (rule limits.max_connections); retry shortly"
        ),
        Some(&id.to_string()),
    )
    .to_string();
    tracing::warn!(request_id = %id, limit, "Connection refused: limits.max_connections reached.");
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
        let poll = Pin::new(&mut self.tcp).poll_write(cx, buf);
        self.note(poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
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
