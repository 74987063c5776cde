//! The tutorial's three sonar experiments: Baseline, Visible (dropout on the inputs) and Hidden
//! (dropout after each hidden layer), each scored by 10-fold stratified cross-validation with
//! inputs standardized inside each fold. The models are written below as the tutorial's Keras
//! code writes them, one `add` a layer (`ndnet::experiments::SonarExperiment::build` is the
//! same three chains).
//!
//! ```text
//! cargo run --release --example sonar_dropout
//! cargo run --release --example sonar_dropout -- --experiment hidden --seed 3 --verbose
//! ```
//!
//! The data is read from `--data`, `SONAR_CSV` or `./sonar.csv` if given, else from the copy
//! built into ndnet (see `ndnet::datasets::sonar`).

mod common;

use std::path::PathBuf;
use std::time::Instant;

use ndnet::Activation::{Relu, Sigmoid};
use ndnet::datasets::sonar;
use ndnet::experiments::SonarExperiment;
use ndnet::prelude::*;
use ndnet::selection::CrossValidation;

const HELP: &str = "\
sonar_dropout: the tutorial's three dropout experiments on the UCI Sonar data (mines vs rocks).
Scores Baseline (no dropout), Visible (20% dropout on the inputs) and Hidden (20% dropout after
each hidden layer) by stratified k-fold cross-validation, inputs standardized inside each fold,
and prints each model's mean accuracy and standard deviation over the folds.

Usage: sonar_dropout [OPTIONS]

Options:
      --experiment <NAME>  baseline, visible, hidden or all (any case) [default: all]
      --epochs <N>         training epochs per fold [default: 300]
      --folds <N>          number of cross-validation folds [default: 10]
      --batch-size <N>     mini-batch size [default: 16]
      --seed <N>           seed of the folds, initial weights, shuffling and dropout masks [default: 7]
      --data <PATH>        sonar.csv to read (otherwise SONAR_CSV, ./sonar.csv, or the copy built
                           into ndnet)
      --threads <N>        worker threads for the folds, 0 for all cores [default: 0]
      --verbose            print each fold's accuracy and the time per experiment
  -h, --help               print this help
  -V, --version            print the version
";

/// The command line.
#[derive(Debug)]
struct Args {
    /// `None` for all three.
    experiment: Option<SonarExperiment>,
    epochs: usize,
    folds: usize,
    batch_size: usize,
    seed: u64,
    data: Option<PathBuf>,
    threads: usize,
    verbose: bool,
}

impl Args {
    fn parse() -> Self {
        let mut args = Args {
            experiment: None,
            epochs: 300,
            folds: 10,
            batch_size: 16,
            seed: 7,
            data: None,
            threads: 0,
            verbose: false,
        };
        common::parse_args("sonar_dropout", HELP, |name, p| {
            match name {
                "experiment" => {
                    let v: String = common::value(p)?;
                    args.experiment = if v.eq_ignore_ascii_case("all") {
                        None
                    } else {
                        Some(v.parse().map_err(|e: ndnet::Error| {
                            lexopt::Error::from(format!(
                                "invalid value {v:?} for --experiment: {e} (or all)"
                            ))
                        })?)
                    };
                }
                "epochs" => args.epochs = common::value(p)?,
                "folds" => args.folds = common::value(p)?,
                "batch-size" => args.batch_size = common::value(p)?,
                "seed" => args.seed = common::value(p)?,
                "data" => args.data = Some(p.value()?.into()),
                "threads" => args.threads = common::value(p)?,
                "verbose" => args.verbose = true,
                _ => return Ok(false),
            }
            Ok(true)
        });
        args
    }
}

/// The tutorial's models: `create_baseline()` and its two dropout variants. `init` is Keras's
/// `kernel_initializer='normal'` (N(0, 0.05²)), `maxnorm` its `kernel_constraint=maxnorm(3)`.
#[rustfmt::skip] // one layer a line, as in the tutorial
fn build(experiment: SonarExperiment) -> ndnet::Result<Sequential> {
    let (init, maxnorm) = (Initializer::KERAS_NORMAL, MaxNorm::new(3.0));
    let mut model = Sequential::new(60);
    match experiment {
        SonarExperiment::Baseline => {
            model.add(Dense::new(60).activation(Relu).kernel_initializer(init))?;
            model.add(Dense::new(30).activation(Relu).kernel_initializer(init))?;
            model.add(Dense::new(1).activation(Sigmoid).kernel_initializer(init))?;
            model.compile(BinaryCrossentropy, Sgd::new(0.01).momentum(0.8))?;
        }
        SonarExperiment::Visible => {
            model.add(Dropout::new(0.2))?;
            model.add(Dense::new(60).activation(Relu).kernel_initializer(init).kernel_constraint(maxnorm))?;
            model.add(Dense::new(30).activation(Relu).kernel_initializer(init).kernel_constraint(maxnorm))?;
            model.add(Dense::new(1).activation(Sigmoid).kernel_initializer(init))?;
            model.compile(BinaryCrossentropy, Sgd::new(0.1).momentum(0.9))?;
        }
        SonarExperiment::Hidden => {
            model.add(Dense::new(60).activation(Relu).kernel_initializer(init).kernel_constraint(maxnorm))?;
            model.add(Dropout::new(0.2))?;
            model.add(Dense::new(30).activation(Relu).kernel_initializer(init).kernel_constraint(maxnorm))?;
            model.add(Dropout::new(0.2))?;
            model.add(Dense::new(1).activation(Sigmoid).kernel_initializer(init))?;
            model.compile(BinaryCrossentropy, Sgd::new(0.1).momentum(0.9))?;
        }
    }
    Ok(model)
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
        Some(one) => vec![one],
        None => SonarExperiment::ALL.to_vec(),
    };
    let fit = FitOptions {
        epochs: args.epochs,
        batch_size: args.batch_size,
        ..SonarExperiment::fit_options()
    };
    let cv = CrossValidation::new(args.folds, args.seed).threads(args.threads);

    let bar = common::Progress::new(experiments.len() * args.folds, "folds", "");
    for experiment in experiments {
        bar.set_label(experiment.name());
        let start = Instant::now();
        let scores = cv.score_with_progress(
            || build(experiment),
            &data.x,
            &data.y,
            &fit,
            |_, _| bar.inc(),
        )?;
        bar.clear();
        println!("{}: {scores}", experiment.name());
        if args.verbose {
            let folds: Vec<String> = scores
                .scores
                .iter()
                .map(|s| format!("{:.2}", s * 100.0))
                .collect();
            println!("  folds: {}", folds.join(" "));
            println!("  time: {:.2} s", start.elapsed().as_secs_f64());
        }
    }
    bar.clear();
    Ok(())
}
