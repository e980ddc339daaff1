//! `warden serve`: load and validate the config, start the gateway, stop gracefully on SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::config::{Config, LogFormat};
use crate::server::{AppState, RunningServer};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Config file (YAML). Default: `warden.yaml` in the working directory, if present.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Listen address; overrides the config and WARDEN_LISTEN.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Upstream base URL (e.g. http://127.0.0.1:8090 for `warden mock-upstream`); overrides the
    /// config and WARDEN_UPSTREAM_URL.
    #[arg(long)]
    upstream: Option<String>,
    /// Admin listener address (approvals page and API, /metrics); overrides the config and
    /// WARDEN_ADMIN_LISTEN. Never the same as --listen.
    #[arg(long)]
    admin_listen: Option<SocketAddr>,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let mut env: Vec<(String, String)> = std::env::vars().collect();
    if let Some(listen) = args.listen {
        env.push(("WARDEN_LISTEN".into(), listen.to_string()));
    }
    if let Some(url) = args.upstream {
        env.push(("WARDEN_UPSTREAM_URL".into(), url));
    }
    if let Some(admin) = args.admin_listen {
        env.push(("WARDEN_ADMIN_LISTEN".into(), admin.to_string()));
    }
    let mut config =
        Config::load(args.config.as_deref(), env.clone()).context("invalid configuration")?;
    let config_path = args.config.clone();
    super::init_logging(&config.log.level, config.log.format == LogFormat::Json);
    fit_connections_to_descriptors(&mut config.limits);
    let upstream_key = config
        .upstream_key(std::env::var("ANTHROPIC_API_KEY").ok())
        .context("cannot load the upstream credential")?;
    let fingerprint_key = match config
        .fingerprint_key(std::env::var("WARDEN_FINGERPRINT_KEY").ok())
        .context("cannot load the fingerprint key")?
    {
        Some(k) => k,
        None => {
            tracing::warn!(
                "No fingerprint key (fingerprint_key_file or WARDEN_FINGERPRINT_KEY): using a random one; findings' fingerprints will not match across restarts."
            );
            crate::secret::Secret::new(crate::ids::new_warden_key())
        }
    };
    if upstream_key.is_none() {
        tracing::warn!(
            "No upstream credential: set ANTHROPIC_API_KEY or upstream.api_key_file. Requests will fail until one is set."
        );
    }
    let file = args
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(crate::config::DEFAULT_CONFIG_FILE));
    super::runtime(config.worker_threads)?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        // The admin listener must never share the public port.
        if config.admin.listen == config.listen && config.listen.port() != 0 {
            anyhow::bail!("admin.listen must differ from listen: the admin API is never on the public port");
        }
        let admin = tokio::net::TcpListener::bind(config.admin.listen)
            .await
            .with_context(|| format!("cannot listen on {} (admin.listen)", config.admin.listen))?;
        let upstream = config.upstream.url.clone();
        let keys = config.keys.len();
        let state = AppState::new(config, upstream_key, fingerprint_key).await?;
        let server = RunningServer::start_with_admin(listener, Some(admin), state)?;
        let admin_addr = server.admin_addr.map(|a| a.to_string()).unwrap_or_default();
        tracing::info!(addr = %server.addr, admin_addr = %admin_addr, %upstream, keys, version = env!("CARGO_PKG_VERSION"), "Warden is listening.");
        if keys == 0 {
            // Once it is listening (a hint before a failed start would only mislead).
            eprintln!(
                "warden: no Warden keys are configured, so every API request gets 401. Create one \
                 (the key is shown once; {file} gets only its hash), then restart or send SIGHUP:\n    \
                 {} keys new --team default --principal you@example.com --config {file}",
                super::self_command(),
                file = file.display(),
            );
        }
        let token = server.shutdown_token();
        tokio::spawn(async move {
            super::shutdown_signal().await;
            token.cancel();
        });
        #[cfg(unix)]
        {
            // SIGHUP: reload the policies now rather than at the next poll, and the config's
            // keys (an invalid config file keeps the keys in use and says why).
            let state = server.state.clone();
            if let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
                tokio::spawn(async move {
                    while hup.recv().await.is_some() {
                        let store = state.policies.clone();
                        let _ = tokio::task::spawn_blocking(move || store.reload(true)).await;
                        match Config::load(config_path.as_deref(), env.clone()) {
                            Ok(config) => state.reload_keys(&config),
                            Err(e) => tracing::error!(error = %e, "Config reload failed; keeping the keys in use."),
                        }
                    }
                });
            }
        }
        server.wait().await?;
        tracing::info!("Warden stopped.");
        Ok(())
    })
}

/// File descriptors kept free of client connections: the audit store, the spool, upstream
/// connections, policy reloads, logs.
const RESERVED_DESCRIPTORS: u64 = 512;

/// Raises the soft limit on open files to the hard limit, then makes sure both listeners'
/// connection limits fit under it with [`RESERVED_DESCRIPTORS`] to spare, so that accepting never
/// fails for want of a descriptor: a connection past the limits is answered 529 instead.
fn fit_connections_to_descriptors(limits: &mut crate::config::LimitsConfig) {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let mut nofile = getrlimit(Resource::Nofile);
        if nofile.current < nofile.maximum {
            nofile.current = nofile.maximum;
            if let Err(e) = setrlimit(Resource::Nofile, nofile) {
                tracing::warn!(error = %e, "Cannot raise the open-files limit.");
            }
            nofile = getrlimit(Resource::Nofile);
        }
        let Some(available) = nofile.current else {
            return;
        };
        // Each client connection may also hold an upstream connection.
        let budget = available.saturating_sub(RESERVED_DESCRIPTORS) / 2;
        let wanted = (limits.max_connections + limits.admin_max_connections) as u64;
        if wanted > budget {
            let admin = (limits.admin_max_connections as u64).min(budget / 8).max(1);
            let api = budget.saturating_sub(admin).max(1);
            tracing::warn!(
                open_files = available,
                max_connections = api,
                admin_max_connections = admin,
                "The open-files limit is too low for limits.max_connections: lowered to fit (raise `ulimit -n` to keep the configured limits)."
            );
            limits.max_connections = api as usize;
            limits.admin_max_connections = admin as usize;
            limits.max_connections_per_peer = limits.max_connections_per_peer.min(api as usize);
        }
    }
}
