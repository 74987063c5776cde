//! The tutorial's three sonar experiments: Baseline, Visible (dropout on the inputs) and Hidden
//! (dropout after each hidden layer), each scored by 10-fold stratified cross-validation with
//! inputs standardized inside each fold.
//!
//! ```text
//! cargo run --release --example sonar_dropout
//! cargo run --release --example sonar_dropout -- --experiment hidden --seed 3 --verbose
//! ```
//!
//! The data is found through `--data`, `SONAR_CSV`, `./sonar.csv`, the cache directory, or
//! downloaded (see `ndnet::datasets::sonar`).

use std::path::PathBuf;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ndnet::data::CrossValidation;
use ndnet::datasets::sonar;
use ndnet::experiments::SonarExperiment;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Which {
    Baseline,
    Visible,
    Hidden,
    All,
}

/// Dropout on the sonar data: the tutorial's three models under stratified cross-validation.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Which experiment to run.
    #[arg(long, value_enum, default_value = "all")]
    experiment: Which,
    /// Training epochs per fold.
    #[arg(long, default_value_t = 300)]
    epochs: usize,
    /// Number of cross-validation folds.
    #[arg(long, default_value_t = 10)]
    folds: usize,
    /// Mini-batch size.
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    /// Seed of the folds, the initial weights, the shuffling and the dropout masks.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Path of sonar.csv (otherwise SONAR_CSV, ./sonar.csv, the cache, or a download).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Worker threads for the folds (0: all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Print each fold's accuracy and the time per experiment.
    #[arg(long)]
    verbose: bool,
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> ndnet::Result<()> {
    let data = sonar::load(args.data.as_deref())?;
    if args.verbose {
        eprintln!(
            "{}: {} rows, {} features",
            data.path.display(),
            data.x.nrows(),
            data.x.ncols()
        );
    }
    let experiments: Vec<SonarExperiment> = match args.experiment {
        Which::Baseline => vec![SonarExperiment::Baseline],
        Which::Visible => vec![SonarExperiment::Visible],
        Which::Hidden => vec![SonarExperiment::Hidden],
        Which::All => SonarExperiment::ALL.to_vec(),
    };
    let fit = ndnet::FitOptions {
        epochs: args.epochs,
        batch_size: args.batch_size,
        ..SonarExperiment::fit_options()
    };
    let cv = CrossValidation::new(args.folds, args.seed).threads(args.threads);

    let bar = ProgressBar::with_draw_target(
        Some((experiments.len() * args.folds) as u64),
        ProgressDrawTarget::stderr(),
    );
    if let Ok(style) =
        ProgressStyle::with_template("{msg:>9} [{bar:30}] {pos}/{len} folds {elapsed}")
    {
        bar.set_style(style.progress_chars("=> "));
    }

    for experiment in experiments {
        bar.set_message(experiment.name());
        let start = Instant::now();
        let scores = cv.score_with_progress(
            || experiment.build(),
            &data.x,
            &data.y,
            &fit,
            |_, _| bar.inc(1),
        )?;
        let line = format!("{}: {scores}", experiment.name());
        bar.suspend(|| {
            println!("{line}");
            if args.verbose {
                let folds: Vec<String> = scores
                    .scores
                    .iter()
                    .map(|s| format!("{:.2}", s * 100.0))
                    .collect();
                println!("  folds: {}", folds.join(" "));
                println!("  time: {:.2} s", start.elapsed().as_secs_f64());
            }
        });
    }
    bar.finish_and_clear();
    Ok(())
}
