//! `warden migrate` and `warden audit verify`: operate on the audit store named by the config
//! (`audit.database_url`, else the embedded SQLite file).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::audit::AuditStore;
use crate::config::Config;

#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Config file (YAML); default `warden.yaml` if present.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// The store's URL (`postgres://…` or `sqlite://path`), instead of the config's.
    #[arg(long)]
    database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk every instance's hash chain; exit 1 at the first altered, inserted or deleted row.
    Verify(StoreArgs),
}

async fn open(args: &StoreArgs) -> anyhow::Result<AuditStore> {
    let url = match &args.database_url {
        Some(url) => url.clone(),
        None => Config::load(args.config.as_deref(), std::env::vars())
            .context("invalid configuration")?
            .audit
            .url(),
    };
    AuditStore::connect(&url)
        .await
        .context("cannot open the audit store")
}

pub fn migrate(args: StoreArgs) -> anyhow::Result<()> {
    super::runtime(1)?.block_on(async {
        let store = open(&args).await?;
        store.migrate().await.context("migration failed")?;
        println!("audit store ({}) is up to date", store.backend());
        Ok(())
    })
}

pub fn run(cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Verify(args) => super::runtime(1)?.block_on(async {
            let store = open(&args).await?;
            match store
                .verify()
                .await
                .context("cannot read the audit store")?
            {
                Ok(rows) => {
                    println!("ok: {rows} rows, every chain intact");
                    Ok(())
                }
                Err(broken) => {
                    println!("TAMPERED: {broken}");
                    anyhow::bail!("the audit chain is broken")
                }
            }
        }),
    }
}
