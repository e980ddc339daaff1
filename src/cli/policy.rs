//! `warden policy check|test|explain`: validate the policy directory, run its fixtures, and show
//! what a request would become under a team's policy. Nothing is ever sent upstream.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::policy::PolicySet;
use crate::policy::fixtures::{evaluate, run_all};

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate every policy file (unknown keys, bad regexes, missing word lists).
    Check(DirArgs),
    /// Run the fixtures (`<team>.tests.yaml`) beside each policy; exit 1 on any failure.
    Test(DirArgs),
    /// Show every finding and the rewritten request for a request file; sends nothing.
    Explain(ExplainArgs),
}

#[derive(Debug, Args)]
pub struct DirArgs {
    /// The policy directory.
    #[arg(default_value = "policies")]
    dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The team whose policy applies.
    #[arg(long)]
    team: String,
    /// A Messages request body (JSON); `-` reads it from stdin.
    file: PathBuf,
    #[arg(long, default_value = "policies")]
    dir: PathBuf,
}

fn load(dir: &std::path::Path) -> anyhow::Result<PolicySet> {
    PolicySet::load(dir).map_err(|errors| {
        for e in &errors {
            eprintln!("{e}");
        }
        anyhow::anyhow!("{} error(s) in {}", errors.len(), dir.display())
    })
}

pub fn run(cmd: PolicyCommand) -> anyhow::Result<()> {
    match cmd {
        PolicyCommand::Check(args) => {
            let set = load(&args.dir)?;
            for (team, p) in &set.policies {
                println!(
                    "ok  {team:<16} version {}  rules {}",
                    p.policy.version,
                    p.policy.scanner.rule_count()
                );
            }
            println!(
                "{} policies valid (set version {})",
                set.policies.len(),
                set.version
            );
            Ok(())
        }
        PolicyCommand::Test(args) => {
            let set = load(&args.dir)?;
            let results = run_all(&set).map_err(|errors| {
                for e in &errors {
                    eprintln!("{e}");
                }
                anyhow::anyhow!("invalid fixture files")
            })?;
            let mut failed = 0;
            for r in &results {
                if r.failures.is_empty() {
                    println!("PASS {}: {}", r.file.display(), r.name);
                } else {
                    failed += 1;
                    println!("FAIL {}: {}", r.file.display(), r.name);
                    for f in &r.failures {
                        println!("     {f}");
                    }
                }
            }
            println!("{} passed, {} failed", results.len() - failed, failed);
            anyhow::ensure!(failed == 0, "{failed} policy fixture(s) failed");
            anyhow::ensure!(
                !results.is_empty(),
                "no fixtures found in {}",
                args.dir.display()
            );
            Ok(())
        }
        PolicyCommand::Explain(args) => {
            let set = load(&args.dir)?;
            let policy = set
                .for_team(&args.team, true)
                .with_context(|| format!("no policy for team {} and no default", args.team))?;
            let text = if args.file.as_os_str() == "-" {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                    .context("cannot read the request from stdin")?;
                text
            } else {
                std::fs::read_to_string(&args.file)
                    .with_context(|| format!("cannot read {}", args.file.display()))?
            };
            let request: serde_json::Value =
                serde_json::from_str(&text).context("the request is not JSON")?;
            let eval = evaluate(policy, &request).map_err(|e| anyhow::anyhow!(e))?;
            println!("policy: {}@{}", policy.policy.name, policy.policy.version);
            println!("findings: {}", eval.findings.len());
            for f in &eval.findings {
                println!(
                    "  {:<14} {:<40} {:<13} {} [{}..{}] fp={}",
                    f.class, f.rule, f.action, f.location, f.start, f.end, f.fingerprint
                );
            }
            match (&eval.rejection, &eval.forwarded) {
                (Some(r), _) => println!(
                    "decision: block ({} {}): {}",
                    r.kind.status().as_u16(),
                    r.rule,
                    r.message
                ),
                (None, Some(body)) => {
                    println!(
                        "decision: forward{}",
                        if eval.rewritten {
                            " (rewritten)"
                        } else {
                            " (unchanged)"
                        }
                    );
                    println!("{}", serde_json::to_string_pretty(body).unwrap_or_default());
                }
                (None, None) => {}
            }
            Ok(())
        }
    }
}
