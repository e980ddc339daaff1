//! `warden eval secrets|pii|injection --dataset FILE`: precision, recall and throughput of the
//! detectors on a labelled JSONL file (`{"text": …, "label": 0|1}` a line; 1 = the text holds that
//! kind of data). Secrets and personal data use a team policy's compiled scanner, as the gateway
//! does (canonical views included); rows that carry `spans: [{start, end, type}]` (UTF-8 byte
//! offsets) are also scored by span, per class. Injection uses the built-in injection detector.
//! Rows may name their `split` (`dev`, `holdout`): `--split holdout` scores only the rows the
//! detectors were not tuned on (the generators under `tools/datasets/` write such rows).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde::Deserialize;

use crate::detect::injection::{self, Detector, model};
use crate::policy::PolicySet;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Kind {
    Secrets,
    Pii,
    Injection,
}

/// Which rows of the dataset to evaluate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Split {
    #[default]
    All,
    /// The rows `warden train` held out (the same hash rule as training).
    Validation,
    /// Rows whose `split` field is `dev`.
    Dev,
    /// Rows whose `split` field is `holdout`: formats, groups or categories held out of tuning.
    Holdout,
}

impl Split {
    fn takes(self, row: &Row) -> bool {
        match self {
            Self::All => true,
            Self::Validation => model::is_validation(&row.text),
            Self::Dev => row.split.as_deref() == Some("dev"),
            Self::Holdout => row.split.as_deref() == Some("holdout"),
        }
    }
}

/// What the per-group table breaks figures down by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum By {
    Group,
    Format,
    Category,
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
    /// Which rows: all, the validation split `warden train` held out (by hash), or the rows
    /// whose `split` field is `dev` or `holdout`.
    #[arg(long, value_enum, default_value_t = Split::All)]
    split: Split,
    /// Also print the figures per value of this row field (e.g. each provider, locale or
    /// attack category).
    #[arg(long, value_enum)]
    by: Option<By>,
    /// Print up to N missed spans and N false findings, with their rows' groups.
    #[arg(long, default_value_t = 0)]
    show: usize,
    /// Injection only: a weights file to use instead of the shipped one (e.g. one just written
    /// by `warden train injection --out`).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Injection only: instead of the shipped model, train N models, each with one N-th of the
    /// attack categories held out of training, and test each on its held-out categories'
    /// attacks against the clean validation rows: how the detector does on attacks unlike any it
    /// was trained on.
    #[arg(long, value_name = "N", conflicts_with_all = ["model", "split"])]
    holdout_categories: Option<usize>,
}

#[derive(Deserialize)]
pub(crate) struct Row {
    pub text: String,
    pub label: u8,
    /// The attack's category, where the dataset gives one.
    #[serde(default)]
    pub category: Option<String>,
    /// The labelled values: byte spans and their class (`secrets`, `pii.email`, …).
    #[serde(default)]
    pub spans: Option<Vec<Span>>,
    /// `dev` or `holdout`, where the dataset says.
    #[serde(default)]
    pub split: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub format: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
    #[serde(rename = "type")]
    pub class: String,
}

impl Row {
    fn field(&self, by: By) -> &str {
        match by {
            By::Group => self.group.as_deref(),
            By::Format => self.format.as_deref(),
            By::Category => self.category.as_deref(),
        }
        .unwrap_or("-")
    }
}

impl Row {
    /// The row as a training or scoring example: its text, and whether it is injected.
    pub fn example(&self) -> (&str, bool) {
        (self.text.as_str(), self.label == 1)
    }
}

/// The rows of a JSONL dataset.
pub(crate) fn load_rows(path: &std::path::Path) -> anyhow::Result<Vec<Row>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("line {}", i + 1)))
        .collect()
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

    pub fn fpr(&self) -> f64 {
        ratio(self.fp, self.fp + self.tn)
    }

    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    if let Kind::Injection = args.kind {
        return run_injection(&args);
    }
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
    let rows: Vec<Row> = load_rows(&args.dataset)?
        .into_iter()
        .filter(|r| args.split.takes(r))
        .collect();
    let wanted = |class: &str| match args.kind {
        Kind::Secrets => class == "secrets",
        Kind::Pii | Kind::Injection => class.starts_with("pii."),
    };
    let mut rows_confusion = Confusion::default();
    let mut spans = SpanCounts::default();
    let mut by: std::collections::BTreeMap<&str, (Confusion, SpanCounts)> = Default::default();
    let mut shown = (0, 0);
    let mut bytes = 0usize;
    let started = Instant::now();
    for row in &rows {
        bytes += row.text.len();
        let found: Vec<(usize, usize, &str)> = policy
            .scanner
            .scan_canonical(&row.text)
            .iter()
            .map(|f| (f.start, f.end, policy.scanner.rule(f.rule).class.as_str()))
            .filter(|(_, _, class)| wanted(class))
            .collect();
        let predicted = !found.is_empty();
        rows_confusion.add(predicted, row.label == 1);
        let mut counts = SpanCounts::default();
        if let Some(gold) = &row.spans {
            let gold: Vec<&Span> = gold.iter().filter(|g| wanted(&g.class)).collect();
            counts.score(&gold, &found);
            if shown.0 < args.show || shown.1 < args.show {
                for g in &gold {
                    if shown.0 < args.show && !found.iter().any(|f| overlaps(g, f)) {
                        shown.0 += 1;
                        println!(
                            "missed {} [{}] {:?}",
                            g.class,
                            row.group.as_deref().unwrap_or("-"),
                            row.text.get(g.start..g.end).unwrap_or("?")
                        );
                    }
                }
                for f in &found {
                    if shown.1 < args.show && !gold.iter().any(|g| overlaps(g, f)) {
                        shown.1 += 1;
                        println!(
                            "false {} [{}] {:?}",
                            f.2,
                            row.group.as_deref().unwrap_or("-"),
                            &row.text[f.0..f.1]
                        );
                    }
                }
            }
            spans.merge(&counts);
        }
        if let Some(key) = args.by {
            let entry = by.entry(row.field(key)).or_default();
            entry.0.add(predicted, row.label == 1);
            entry.1.merge(&counts);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{:?} on {} ({:?}: {} rows, team {}):",
        args.kind,
        args.dataset.display(),
        args.split,
        rows.len(),
        args.team
    );
    println!(
        "rows:  precision {:.3}  recall {:.3}  FPR {:.3}  (tp {} fp {} tn {} fn {})",
        rows_confusion.precision(),
        rows_confusion.recall(),
        rows_confusion.fpr(),
        rows_confusion.tp,
        rows_confusion.fp,
        rows_confusion.tn,
        rows_confusion.r#fn
    );
    if spans.gold.values().sum::<usize>() > 0 {
        spans.print("spans");
    }
    for (key, (c, s)) in &by {
        println!(
            "  {key:<28} rows {:>4}: precision {:.3} recall {:.3} (fp {} fn {}); spans: gold {} found {} false {}",
            c.tp + c.fp + c.tn + c.r#fn,
            c.precision(),
            c.recall(),
            c.fp,
            c.r#fn,
            s.gold.values().sum::<usize>(),
            s.found.values().sum::<usize>(),
            s.false_found.values().sum::<usize>(),
        );
    }
    println!(
        "throughput {:.1} MB/s ({} bytes in {:.3} s)",
        bytes as f64 / 1e6 / secs.max(1e-9),
        bytes,
        secs
    );
    Ok(())
}

fn overlaps(g: &Span, f: &(usize, usize, &str)) -> bool {
    g.class == f.2 && g.start < f.1 && f.0 < g.end
}

/// Span-level counts per class: a labelled span is found when a detection of its class overlaps
/// it; a detection is false when it overlaps no labelled span of its class.
#[derive(Default)]
struct SpanCounts {
    gold: std::collections::BTreeMap<String, usize>,
    found: std::collections::BTreeMap<String, usize>,
    predicted: std::collections::BTreeMap<String, usize>,
    false_found: std::collections::BTreeMap<String, usize>,
}

impl SpanCounts {
    fn score(&mut self, gold: &[&Span], found: &[(usize, usize, &str)]) {
        for g in gold {
            *self.gold.entry(g.class.clone()).or_default() += 1;
            if found.iter().any(|f| overlaps(g, f)) {
                *self.found.entry(g.class.clone()).or_default() += 1;
            }
        }
        for f in found {
            *self.predicted.entry(f.2.to_string()).or_default() += 1;
            if !gold.iter().any(|g| overlaps(g, f)) {
                *self.false_found.entry(f.2.to_string()).or_default() += 1;
            }
        }
    }

    fn merge(&mut self, other: &Self) {
        for (mine, theirs) in [
            (&mut self.gold, &other.gold),
            (&mut self.found, &other.found),
            (&mut self.predicted, &other.predicted),
            (&mut self.false_found, &other.false_found),
        ] {
            for (k, v) in theirs {
                *mine.entry(k.clone()).or_default() += v;
            }
        }
    }

    fn print(&self, title: &str) {
        let mut classes: Vec<&String> = self.gold.keys().chain(self.predicted.keys()).collect();
        classes.sort_unstable();
        classes.dedup();
        let line = |name: &str, gold: usize, found: usize, predicted: usize, false_found: usize| {
            let precision = ratio(predicted - false_found, predicted);
            let recall = ratio(found, gold);
            let f1 = if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            };
            println!(
                "{title}: {name:<18} precision {precision:.3}  recall {recall:.3}  F1 {f1:.3}  \
                 (labelled {gold}, found {found}; detections {predicted}, false {false_found})"
            );
        };
        let get =
            |m: &std::collections::BTreeMap<String, usize>, k: &str| m.get(k).copied().unwrap_or(0);
        for class in &classes {
            line(
                class,
                get(&self.gold, class),
                get(&self.found, class),
                get(&self.predicted, class),
                get(&self.false_found, class),
            );
        }
        if classes.len() > 1 {
            line(
                "all",
                self.gold.values().sum(),
                self.found.values().sum(),
                self.predicted.values().sum(),
                self.false_found.values().sum(),
            );
        }
    }
}

/// The largest false-positive rate the injection detector's operating point may have.
pub(crate) const MAX_FPR: f64 = 0.02;

fn run_injection(args: &EvalArgs) -> anyhow::Result<()> {
    if let Some(folds) = args.holdout_categories {
        return run_injection_holdout(args, folds);
    }
    let rows: Vec<Row> = load_rows(&args.dataset)?
        .into_iter()
        .filter(|r| args.split.takes(r))
        .collect();
    let started = Instant::now();
    let shipped = injection::builtin_model()?;
    let model_load = started.elapsed();
    drop(shipped);
    let started = Instant::now();
    let detector = match &args.model {
        None => Detector::builtin()?,
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            Detector::with_model(injection::Model::from_bytes(bytes.into())?)?
        }
    };
    let load = started.elapsed();

    let mut verdicts = Vec::with_capacity(rows.len());
    let mut bytes = 0usize;
    let started = Instant::now();
    for row in &rows {
        bytes += row.text.len();
        verdicts.push(detector.scan(&row.text));
    }
    let secs = started.elapsed().as_secs_f64();

    println!(
        "injection on {} ({:?} split: {} rows, {} injected; shipped weights parsed in {} µs, \
         detector with its rule automaton built in {} µs)",
        args.dataset.display(),
        args.split,
        rows.len(),
        rows.iter().filter(|r| r.label == 1).count(),
        model_load.as_micros(),
        load.as_micros()
    );
    let threshold = injection::DEFAULT_THRESHOLD;
    for (name, score) in [
        (
            "detector",
            (|v: &injection::Verdict| v.score) as fn(&injection::Verdict) -> f32,
        ),
        ("rules only", |v| v.rule_score),
        ("model only", |v| v.model_score),
    ] {
        let mut c = Confusion::default();
        for (row, v) in rows.iter().zip(&verdicts) {
            c.add(score(v) >= threshold, row.label == 1);
        }
        println!(
            "{name:>10} at {threshold}: TPR {:.3}  FPR {:.3}  precision {:.3}  F1 {:.3}  (tp {} fp {} tn {} fn {})",
            c.recall(),
            c.fpr(),
            c.precision(),
            c.f1(),
            c.tp,
            c.fp,
            c.tn,
            c.r#fn
        );
    }
    let scores: Vec<(f64, bool)> = rows
        .iter()
        .zip(&verdicts)
        .map(|(r, v)| (f64::from(v.score), r.label == 1))
        .collect();
    match model::operating_point(&scores, MAX_FPR) {
        Some(p) => println!(
            "best TPR with FPR <= {:.0} %: TPR {:.3} at threshold {:.4} (FPR {:.3})",
            MAX_FPR * 100.0,
            p.tpr,
            p.threshold,
            p.fpr
        ),
        None => println!("no threshold keeps FPR <= {:.0} %", MAX_FPR * 100.0),
    }
    println!(
        "throughput {:.1} MB/s, {:.1} µs per row ({} bytes in {:.3} s)",
        bytes as f64 / 1e6 / secs.max(1e-9),
        secs * 1e6 / rows.len().max(1) as f64,
        bytes,
        secs
    );
    Ok(())
}

/// `--holdout-categories N`: category `i` (of the injected rows' categories, sorted) falls in
/// fold `i % N`. Per fold, the model trains on the training split without that fold's attacks
/// (its threshold set, as `warden train` sets it, on the validation split without them), and is
/// tested on every row of the fold's attacks, none of which it saw, against the clean validation
/// rows.
fn run_injection_holdout(args: &EvalArgs, folds: usize) -> anyhow::Result<()> {
    anyhow::ensure!(folds >= 2, "--holdout-categories needs at least 2 folds");
    let rows = load_rows(&args.dataset)?;
    let mut categories: Vec<&str> = rows
        .iter()
        .filter(|r| r.label == 1)
        .filter_map(|r| r.category.as_deref())
        .collect();
    categories.sort_unstable();
    categories.dedup();
    anyhow::ensure!(
        categories.len() >= folds,
        "{} has {} attack categories, fewer than {folds} folds",
        args.dataset.display(),
        categories.len()
    );
    let fold_of = |r: &Row| -> Option<usize> {
        if r.label != 1 {
            return None;
        }
        let i = categories.binary_search(&r.category.as_deref()?).ok()?;
        Some(i % folds)
    };
    println!(
        "injection on {}: {} attack categories in {folds} folds, each held out of training \
         in turn",
        args.dataset.display(),
        categories.len()
    );
    // Each row's split and fold, worked out once for all folds.
    let placed: Vec<(&Row, bool, Option<usize>)> = rows
        .iter()
        .map(|r| (r, model::is_validation(&r.text), fold_of(r)))
        .collect();
    let (mut sum_best, mut sum_default) = (0.0, 0.0);
    for fold in 0..folds {
        let (validation, train): (Vec<_>, Vec<_>) = placed
            .iter()
            .filter(|&&(_, _, f)| f != Some(fold))
            .partition(|&&(_, is_validation, _)| is_validation);
        let train: Vec<(&str, bool)> = train.iter().map(|(r, _, _)| r.example()).collect();
        let validation: Vec<(&str, bool)> =
            validation.iter().map(|(r, _, _)| r.example()).collect();
        let (trained, _) = super::train::fit(&train, &validation, &model::TrainConfig::default())?;
        let detector = Detector::with_model(trained)?;
        // The test set: the fold's attacks, and the clean rows training never saw.
        let scores: Vec<(f64, bool)> = placed
            .iter()
            .filter(|&&(r, is_validation, f)| f == Some(fold) || (r.label == 0 && is_validation))
            .map(|(r, _, _)| (f64::from(detector.scan(&r.text).score), r.label == 1))
            .collect();
        let mut c = Confusion::default();
        for &(score, injected) in &scores {
            c.add(score >= f64::from(injection::DEFAULT_THRESHOLD), injected);
        }
        let best = model::operating_point(&scores, MAX_FPR).map_or(0.0, |p| p.tpr);
        sum_best += best;
        sum_default += c.recall();
        println!(
            "fold {fold}: {} held-out attacks, {} clean; TPR {best:.3} at FPR <= {:.0} %; at {}: \
             TPR {:.3} FPR {:.3}",
            c.tp + c.r#fn,
            c.tn + c.fp,
            MAX_FPR * 100.0,
            injection::DEFAULT_THRESHOLD,
            c.recall(),
            c.fpr()
        );
    }
    println!(
        "mean over {folds} folds: TPR {:.3} at FPR <= {:.0} %, TPR {:.3} at {}",
        sum_best / folds as f64,
        MAX_FPR * 100.0,
        sum_default / folds as f64,
        injection::DEFAULT_THRESHOLD
    );
    Ok(())
}
