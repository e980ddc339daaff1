//! `warden mock-upstream`: the faithful mock of the Claude API on its own port.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::mock::{MockOptions, RunningMock};

#[derive(Debug, Args)]
pub struct MockArgs {
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// Delay before each answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Delay between two SSE records, in microseconds.
    #[arg(long, default_value_t = 0)]
    chunk_delay_us: u64,
    /// Directory of SSE recordings for the `replay:<file>` scenario.
    #[arg(long, default_value = "tests/fixtures/sse")]
    fixtures_dir: PathBuf,
    /// Runtime worker threads; 0 means one per core.
    #[arg(long, default_value_t = 0)]
    worker_threads: usize,
}

pub fn run(args: MockArgs) -> anyhow::Result<()> {
    super::init_logging("info", false);
    super::runtime(args.worker_threads)?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let mock = RunningMock::start(
            listener,
            MockOptions {
                latency_ms: args.latency_ms,
                chunk_delay_us: args.chunk_delay_us,
                fixtures_dir: args.fixtures_dir,
            },
        )?;
        tracing::info!(addr = %mock.addr, "Mock upstream is listening.");
        tokio::select! {
            () = super::shutdown_signal() => {},
            () = mock.wait() => {},
        }
        Ok(())
    })
}
