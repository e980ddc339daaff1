//! `warden train injection --dataset FILE --out FILE`: trains the injection detector's model on
//! the training split of a labelled JSONL file, picks its threshold on the validation split, and
//! writes the weights file. Deterministic: the same data gives the same bytes.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::eval::{MAX_FPR, load_rows};
use crate::detect::injection::model::{self, TrainConfig};

#[derive(Debug, Subcommand)]
pub enum TrainCommand {
    /// The prompt-injection model (`src/detect/injection/model.bin`).
    Injection(InjectionArgs),
}

#[derive(Debug, Args)]
pub struct InjectionArgs {
    /// A JSONL file of `{"text": …, "label": 0|1}`; repeat for several. Rows that name their
    /// `split` are used only when it is `dev`: a `holdout` row is for `warden eval` alone.
    #[arg(long, required = true)]
    dataset: Vec<PathBuf>,
    /// Where to write the weights.
    #[arg(long, default_value = "src/detect/injection/model.bin")]
    out: PathBuf,
    #[arg(long, default_value_t = TrainConfig::default().epochs)]
    epochs: u32,
    #[arg(long, default_value_t = TrainConfig::default().l2)]
    l2: f64,
    #[arg(long, default_value_t = TrainConfig::default().learning_rate)]
    learning_rate: f64,
    #[arg(long, default_value_t = TrainConfig::default().features.hash_bits)]
    hash_bits: u8,
    /// Shortest character n-gram.
    #[arg(long, default_value_t = TrainConfig::default().features.char_min)]
    char_min: u8,
    /// Longest character n-gram.
    #[arg(long, default_value_t = TrainConfig::default().features.char_max)]
    char_max: u8,
    /// Word n-grams up to this length: 0 (none), 1 (words) or 2 (and word pairs).
    #[arg(long, default_value_t = TrainConfig::default().features.word_max)]
    word_max: u8,
    /// Read a run of whitespace as one space (the first model's features).
    #[arg(long)]
    collapse_whitespace: bool,
}

pub fn run(cmd: TrainCommand) -> anyhow::Result<()> {
    match cmd {
        TrainCommand::Injection(args) => injection(args),
    }
}

fn injection(args: InjectionArgs) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for path in &args.dataset {
        rows.extend(
            load_rows(path)?
                .into_iter()
                .filter(|r| r.split.as_deref().is_none_or(|s| s == "dev")),
        );
    }
    let (validation, train): (Vec<_>, Vec<_>) =
        rows.iter().partition(|r| model::is_validation(&r.text));
    let examples: Vec<(&str, bool)> = train.iter().map(|r| r.example()).collect();
    let mut config = TrainConfig {
        epochs: args.epochs,
        l2: args.l2,
        learning_rate: args.learning_rate,
        ..TrainConfig::default()
    };
    config.features.hash_bits = args.hash_bits;
    config.features.char_min = args.char_min;
    config.features.char_max = args.char_max;
    config.features.word_max = args.word_max;
    config.features.collapse_whitespace = args.collapse_whitespace;
    let validation_examples: Vec<(&str, bool)> = validation.iter().map(|r| r.example()).collect();
    let started = Instant::now();
    let (trained, point) = fit(&examples, &validation_examples, &config)?;
    let took = started.elapsed();
    let threshold = trained.threshold();
    let bytes = trained.to_bytes();
    std::fs::write(&args.out, &bytes)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "trained on {} rows ({} injected) in {:.1} s; validation {} rows ({} injected)",
        train.len(),
        train.iter().filter(|r| r.label == 1).count(),
        took.as_secs_f64(),
        validation.len(),
        validation.iter().filter(|r| r.label == 1).count()
    );
    println!(
        "model alone on validation: TPR {:.3} at FPR {:.3}; threshold {threshold:.4}",
        point.tpr, point.fpr
    );
    println!("wrote {} ({} bytes)", args.out.display(), bytes.len());
    Ok(())
}

/// Trains on `train` and sets the threshold from `validation`: the lowest model probability that
/// keeps its false-positive rate within [`MAX_FPR`], placed halfway to the next lower score for a
/// margin. Returns the model and the operating point the threshold came from.
pub(crate) fn fit(
    train: &[(&str, bool)],
    validation: &[(&str, bool)],
    config: &TrainConfig,
) -> anyhow::Result<(model::Model, model::OperatingPoint)> {
    let trained = model::train(train, config);
    let scores: Vec<(f64, bool)> = validation
        .iter()
        .map(|&(text, injected)| (trained.probability(text), injected))
        .collect();
    let point = model::operating_point(&scores, MAX_FPR)
        .context("no threshold keeps the validation FPR within bounds")?;
    let threshold = (((point.threshold + point.below) / 2.0) as f32).clamp(1e-6, 1.0 - 1e-6);
    Ok((trained.with_threshold(threshold), point))
}
