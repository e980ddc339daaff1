//! Command-line parsing, one file per subcommand. `anyhow` is allowed here and nowhere below.

mod approvals;
mod audit;
mod eval;
mod keys;
mod mock;
mod policy;
mod serve;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "warden",
    version,
    about = "A policy-enforcing gateway for the Claude API"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway.
    Serve(serve::ServeArgs),
    /// Run the faithful mock of the Claude API (for tests, benchmarks and demos).
    MockUpstream(mock::MockArgs),
    /// Manage Warden keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Check, test and explain team policies.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Measure the detectors on a labelled dataset.
    Eval(eval::EvalArgs),
    /// Train a detector's model from a labelled dataset.
    #[command(subcommand)]
    Train(train::TrainCommand),
    /// Apply the audit store's migrations.
    Migrate(audit::StoreArgs),
    /// Work with the audit store.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Decide tool calls held for approval (through any replica's admin API).
    #[command(subcommand)]
    Approvals(approvals::ApprovalsCommand),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::MockUpstream(args) => mock::run(args),
        Command::Keys(cmd) => keys::run(cmd),
        Command::Policy(cmd) => policy::run(cmd),
        Command::Eval(args) => eval::run(args),
        Command::Train(cmd) => train::run(cmd),
        Command::Migrate(args) => audit::migrate(args),
        Command::Audit(cmd) => audit::run(cmd),
        Command::Approvals(cmd) => approvals::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("warden: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr, as text or JSON; `RUST_LOG` overrides the configured level.
fn init_logging(level: &str, json: bool) {
    use tracing_subscriber::EnvFilter;
    // Postgres's NOTICEs (e.g. "relation … already exists, skipping" on every migration check
    // at start) are the database talking to itself: warnings and up only.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{level},sqlx::postgres::notice=warn")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// The runtime; `worker_threads` 0 means one per core. One thread gets tokio's current-thread
/// scheduler: the work-stealing one with a single worker still pays for cross-thread queues and
/// wake-ups, and measured on the load benchmark the current-thread one serves about a third more
/// requests per second at c=32 with less CPU per stream (docs/performance.md).
fn runtime(worker_threads: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = if worker_threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        if worker_threads > 0 {
            b.worker_threads(worker_threads);
        }
        b
    };
    Ok(builder.enable_all().build()?)
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// How the user ran this binary, for hints that name a command to run next: `cargo run
/// --release --` under cargo, else the path it was started by (relative to the working
/// directory where it can be), else `warden` (found on the PATH).
pub fn self_command() -> String {
    if std::env::var_os("CARGO_PKG_NAME").is_some() {
        return "cargo run --release --".to_string();
    }
    let Some(argv0) = std::env::args_os().next().map(std::path::PathBuf::from) else {
        return "warden".to_string();
    };
    if argv0.components().count() <= 1 {
        return "warden".to_string();
    }
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| {
            argv0
                .strip_prefix(&cwd)
                .ok()
                .map(std::path::Path::to_path_buf)
        })
        .unwrap_or(argv0);
    shown.display().to_string()
}

/// Columns padded to their widest cell, a header row first, no trailing spaces.
pub fn print_table<const N: usize>(head: [&str; N], rows: &[[String; N]]) {
    let mut widths = head.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            out.push_str(cell);
            if i + 1 < N {
                out.push_str(&" ".repeat(w - cell.chars().count()));
            }
        }
        out.trim_end().to_string()
    };
    println!("{}", line(head.to_vec()));
    for row in rows {
        println!("{}", line(row.iter().map(String::as_str).collect()));
    }
}
