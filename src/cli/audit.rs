//! `warden migrate` and `warden audit verify`: operate on the audit store named by the config
//! (`audit.database_url`, else the embedded SQLite file).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::audit::AuditStore;
use crate::audit::store::Filter;
use crate::audit::tombstone::{KEY_ENV, TombstoneKey};
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

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Anchor files (`warden-audit.head` beside each instance's spool): each line's row must
    /// still be in the store, which catches rows cut from the end of a chain.
    #[arg(long)]
    anchor: Vec<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk every instance's hash chain; exit 1 at the first altered, inserted or deleted row.
    Verify(VerifyArgs),
    /// Find exchanges (newest first).
    Search(Box<SearchArgs>),
    /// One exchange with its findings, as JSON: by Warden's request id (`x-warden-request-id`)
    /// or by the upstream's (`request-id`, the one the SDKs report in their errors).
    Show {
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove exchanges older than their team's `audit.retention_days` (tombstones keep the
    /// chains verifiable).
    Prune {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Every exchange since a time, as JSON lines (for a SIEM).
    Export {
        /// RFC 3339 time or YYYY-MM-DD.
        #[arg(long)]
        since: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    Table,
    Jsonl,
    Csv,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Warden's request id or the upstream's.
    #[arg(long)]
    id: Option<String>,
    /// The items of the batch this exchange (the batch's creation) created.
    #[arg(long)]
    batch: Option<String>,
    #[arg(long)]
    team: Option<String>,
    #[arg(long)]
    principal: Option<String>,
    #[arg(long)]
    key: Option<String>,
    #[arg(long)]
    model: Option<String>,
    /// forwarded, blocked or error.
    #[arg(long)]
    decision: Option<String>,
    /// Exchanges with a finding of this class (secrets, pii.email, customer_id…).
    #[arg(long)]
    class: Option<String>,
    /// RFC 3339 time or YYYY-MM-DD.
    #[arg(long)]
    since: Option<String>,
    #[arg(long)]
    until: Option<String>,
    #[arg(long, default_value_t = 100)]
    limit: i64,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    #[command(flatten)]
    store: StoreArgs,
}

/// A point in time for `--since`/`--until`: RFC 3339, a date (`2026-12-07`, midnight UTC),
/// `today` or `yesterday` (midnight UTC), or a duration back from now (`1h`, `30m`, `2d`,
/// `1h 30m`).
fn parse_time(s: &str) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    parse_time_at(s, chrono::Utc::now())
}

fn parse_time_at(
    s: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    let midnight = |d: chrono::NaiveDate| d.and_time(chrono::NaiveTime::MIN).and_utc();
    match s {
        "today" => return Ok(midnight(now.date_naive())),
        "yesterday" => return Ok(midnight(now.date_naive() - chrono::Days::new(1))),
        _ => {}
    }
    if let Ok(day) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(midnight(day));
    }
    let ago = humantime::parse_duration(s).map_err(|_| {
        anyhow::anyhow!(
            "{s:?} is not a time: use RFC 3339 (2026-12-07T09:00:00Z), a date (2026-12-07), \
             today, yesterday, or a duration back from now (1h, 30m, 2d)"
        )
    })?;
    let ago = chrono::Duration::from_std(ago).context("that duration is too long")?;
    now.checked_sub_signed(ago)
        .context("that duration reaches before the calendar")
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn print_rows(rows: &[crate::audit::ChainedRecord], format: Format) -> anyhow::Result<()> {
    let columns = |r: &crate::audit::ExchangeRecord| {
        [
            r.occurred_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            r.id.clone(),
            r.team.clone(),
            r.principal.clone(),
            r.model.clone().unwrap_or_default(),
            r.decision.as_str().to_string(),
            r.status.to_string(),
            r.rule.clone().unwrap_or_default(),
            r.findings.len().to_string(),
        ]
    };
    const HEAD: [&str; 9] = [
        "time",
        "id",
        "team",
        "principal",
        "model",
        "decision",
        "status",
        "rule",
        "findings",
    ];
    match format {
        Format::Jsonl => {
            for r in rows {
                println!("{}", serde_json::to_string(r)?);
            }
        }
        Format::Csv => {
            println!("{}", HEAD.join(","));
            for r in rows {
                println!(
                    "{}",
                    columns(&r.record)
                        .iter()
                        .map(|c| csv_field(c))
                        .collect::<Vec<_>>()
                        .join(",")
                );
            }
        }
        Format::Table => {
            let cells: Vec<[String; 9]> = rows.iter().map(|r| columns(&r.record)).collect();
            super::print_table(HEAD, &cells);
            println!(
                "{} {}",
                rows.len(),
                if rows.len() == 1 { "row" } else { "rows" }
            );
        }
    }
    Ok(())
}

/// The audit store the arguments name, which must already exist and hold Warden's tables:
/// reading commands never create one (an empty file in the wrong directory would only hide
/// where the real store is).
async fn open(args: &StoreArgs) -> anyhow::Result<AuditStore> {
    let (url, from) = store_url(args)?;
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        anyhow::ensure!(
            std::path::Path::new(path).exists(),
            "no audit store at {path} ({from}). Run this where Warden runs, or name the store: \
             --config FILE (the server's config) or --database-url sqlite://PATH | postgres://…"
        );
    }
    let store = AuditStore::connect(&url)
        .await
        .with_context(|| format!("cannot open the audit store ({from})"))?;
    anyhow::ensure!(
        store.has_tables().await,
        "the store at {} ({from}) holds no audit tables: it is not Warden's audit store, or was \
         never migrated (`warden audit migrate` makes the tables)",
        shown_url(&url)
    );
    Ok(store)
}

/// The store's URL and where it came from, for messages.
fn store_url(args: &StoreArgs) -> anyhow::Result<(String, String)> {
    if let Some(url) = &args.database_url {
        return Ok((url.clone(), "from --database-url".to_string()));
    }
    let config =
        Config::load(args.config.as_deref(), std::env::vars()).context("invalid configuration")?;
    let from = match &args.config {
        Some(file) => format!("audit settings of {}", file.display()),
        None if std::path::Path::new(crate::config::DEFAULT_CONFIG_FILE).exists() => format!(
            "audit settings of {} in this directory",
            crate::config::DEFAULT_CONFIG_FILE
        ),
        None => format!(
            "the default; no {} in this directory",
            crate::config::DEFAULT_CONFIG_FILE
        ),
    };
    Ok((config.audit.url(), from))
}

/// A URL without its password, for messages.
fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

pub fn migrate(args: StoreArgs) -> anyhow::Result<()> {
    super::runtime(1)?.block_on(async {
        // The one command that makes the store (or its tables) where there is none.
        let (url, from) = store_url(&args)?;
        let store = AuditStore::connect(&url)
            .await
            .with_context(|| format!("cannot open the audit store ({from})"))?;
        store.migrate().await.context("migration failed")?;
        println!("audit store ({}) is up to date", store.backend());
        Ok(())
    })
}

pub fn run(cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Search(args) => super::runtime(1)?.block_on(async {
            let store = open(&args.store).await?;
            let filter = Filter {
                team: args.team,
                principal: args.principal,
                key_id: args.key,
                model: args.model,
                decision: args.decision,
                class: args.class,
                since: args.since.as_deref().map(parse_time).transpose()?,
                until: args.until.as_deref().map(parse_time).transpose()?,
                id: args.id,
                parent_id: args.batch,
                teams_not: Vec::new(),
            };
            let rows = store.search(&filter, args.limit).await?;
            print_rows(&rows, args.format)
        }),
        AuditCommand::Prune { store } => super::runtime(1)?.block_on(async {
            let config = Config::load(store.config.as_deref(), std::env::vars())
                .context("invalid configuration")?;
            let set = crate::policy::PolicySet::load(&config.policies.dir).map_err(|e| {
                anyhow::anyhow!(
                    e.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            })?;
            let (retention, default_days) = set.retention();
            let key = TombstoneKey::load_or_create(&config.audit, std::env::var(KEY_ENV).ok())?;
            let db = open(&store).await?;
            let removed = db.prune(&retention, default_days, &key).await?;
            println!("pruned {removed} exchanges past their retention");
            Ok(())
        }),
        AuditCommand::Show { id, store } => super::runtime(1)?.block_on(async {
            let store = open(&store).await?;
            let filter = Filter {
                id: Some(id.clone()),
                ..Filter::default()
            };
            let rows = store.search(&filter, 1).await?;
            let row = rows.first().with_context(|| format!("no exchange {id}"))?;
            println!("{}", serde_json::to_string_pretty(row)?);
            Ok(())
        }),
        AuditCommand::Export { since, store } => super::runtime(1)?.block_on(async {
            let store = open(&store).await?;
            let filter = Filter {
                since: Some(parse_time(&since)?),
                ..Filter::default()
            };
            let rows = store.search(&filter, i64::MAX).await?;
            print_rows(&rows, Format::Jsonl)
        }),
        AuditCommand::Verify(args) => super::runtime(1)?.block_on(async {
            let store = open(&args.store).await?;
            let config = Config::load(args.store.config.as_deref(), std::env::vars())
                .context("invalid configuration")?;
            let key = TombstoneKey::load(&config.audit, std::env::var(KEY_ENV).ok())?;
            let rows = match store
                .verify(key.as_ref())
                .await
                .context("cannot read the audit store")?
            {
                Ok(rows) => rows,
                Err(broken) => {
                    println!("TAMPERED: {broken}");
                    anyhow::bail!("the audit chain is broken")
                }
            };
            let mut anchors = 0;
            for file in &args.anchor {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                let lines = crate::audit::writer::parse_anchors(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                for line in &lines {
                    if let Some(problem) = store.check_anchor(line).await? {
                        println!("TAMPERED: {problem}");
                        anyhow::bail!("the audit chain is broken")
                    }
                    anchors += 1;
                }
            }
            let plural =
                |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
            let rows = plural(rows as u64, "row", "rows");
            if args.anchor.is_empty() {
                println!("ok: {rows}, every chain intact");
            } else {
                let anchors = plural(anchors, "anchored head", "anchored heads");
                println!("ok: {rows}, every chain intact, {anchors} present");
            }
            Ok(())
        }),
    }
}

#[cfg(test)]
mod time_tests {
    use super::*;

    #[test]
    fn since_takes_times_dates_days_and_durations() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-07T21:40:05Z")
            .expect("time")
            .with_timezone(&chrono::Utc);
        let at = |s: &str| parse_time_at(s, now).expect(s).to_rfc3339();
        assert_eq!(at("1h"), "2026-12-07T20:40:05+00:00");
        assert_eq!(at("2d"), "2026-12-05T21:40:05+00:00");
        assert_eq!(at("1h 30m"), "2026-12-07T20:10:05+00:00");
        assert_eq!(at("today"), "2026-12-07T00:00:00+00:00");
        assert_eq!(at("yesterday"), "2026-12-06T00:00:00+00:00");
        assert_eq!(at("2026-12-01"), "2026-12-01T00:00:00+00:00");
        assert_eq!(at("2026-12-01T08:00:00+01:00"), "2026-12-01T07:00:00+00:00");
        let e = parse_time_at("last tuesday", now).expect_err("refused");
        assert!(e.to_string().contains("a duration back from now"), "{e}");
    }
}
