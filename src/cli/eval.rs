//! `warden eval secrets|pii --dataset FILE`: precision, recall and throughput of the detectors on
//! a labelled JSONL file (`{"text": …, "label": 0|1}` a line; 1 = the text holds that kind of
//! data), using a team policy's compiled scanner.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde::Deserialize;

use crate::policy::PolicySet;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Kind {
    Secrets,
    Pii,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    kind: Kind,
    /// A JSONL file of `{"text": …, "label": 0|1}`.
    #[arg(long)]
    dataset: PathBuf,
    #[arg(long, default_value = "policies")]
    policies: PathBuf,
    /// The team whose scanner is evaluated.
    #[arg(long, default_value = "default")]
    team: String,
}

#[derive(Deserialize)]
struct Row {
    text: String,
    label: u8,
}

/// Counts for a binary detector.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Confusion {
    pub tp: usize,
    pub fp: usize,
    pub tn: usize,
    pub r#fn: usize,
}

impl Confusion {
    pub fn add(&mut self, predicted: bool, actual: bool) {
        match (predicted, actual) {
            (true, true) => self.tp += 1,
            (true, false) => self.fp += 1,
            (false, false) => self.tn += 1,
            (false, true) => self.r#fn += 1,
        }
    }

    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.r#fn)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let set = PolicySet::load(&args.policies).map_err(|e| {
        anyhow::anyhow!(
            e.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    })?;
    let policy = &set
        .for_team(&args.team, false)
        .with_context(|| format!("no policy for team {}", args.team))?
        .policy;
    let text = std::fs::read_to_string(&args.dataset)
        .with_context(|| format!("cannot read {}", args.dataset.display()))?;
    let rows: Vec<Row> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("line {}", i + 1)))
        .collect::<anyhow::Result<_>>()?;
    let wanted = |class: &str| match args.kind {
        Kind::Secrets => class == "secrets",
        Kind::Pii => class.starts_with("pii."),
    };
    let mut confusion = Confusion::default();
    let mut bytes = 0usize;
    let started = Instant::now();
    for row in &rows {
        bytes += row.text.len();
        let predicted = policy
            .scanner
            .scan(&row.text)
            .iter()
            .any(|d| wanted(&policy.scanner.rule(d.rule).class));
        confusion.add(predicted, row.label == 1);
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{:?} on {} ({} rows, team {}):",
        args.kind,
        args.dataset.display(),
        rows.len(),
        args.team
    );
    println!(
        "precision {:.3}  recall {:.3}  (tp {} fp {} tn {} fn {})",
        confusion.precision(),
        confusion.recall(),
        confusion.tp,
        confusion.fp,
        confusion.tn,
        confusion.r#fn
    );
    println!(
        "throughput {:.1} MB/s ({} bytes in {:.3} s)",
        bytes as f64 / 1e6 / secs.max(1e-9),
        bytes,
        secs
    );
    Ok(())
}
