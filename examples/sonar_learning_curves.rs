//! Learning curves of the tutorial's baseline and hidden-dropout models on one stratified 80/20
//! split of the sonar data: loss and accuracy per epoch, training against validation, side by
//! side, so you can see how dropout changes the gap between the two (the "diagnostic plots" the
//! tutorial suggests).
//!
//! ```text
//! cargo run --release --features plot --example sonar_learning_curves
//! cargo run --release --features plot --example sonar_learning_curves -- --epochs 500 --seed 3
//! ```
//!
//! Writes `learning_curves.svg` and one CSV per model (`baseline.csv`, `hidden_dropout.csv`) to
//! `--out-dir` (default `target/learning_curves`). The inputs are standardized with a scaler
//! fitted on the training 80% only. The training curves are measured with dropout active, as
//! Keras reports them; the validation curves in inference mode.

mod common;

use std::path::PathBuf;

use ndarray::Axis;
use ndnet::data::StandardScaler;
use ndnet::datasets::sonar;
use ndnet::experiments::SonarExperiment;
use ndnet::plot::write_learning_curves_svg;
use ndnet::selection::StratifiedKFold;
use ndnet::{Error, FitOptions, History};

const HELP: &str = "\
sonar_learning_curves: learning curves of the tutorial's baseline and hidden-dropout models on
one stratified 80/20 split of the sonar data. Writes loss and accuracy per epoch, training
against validation, as an SVG (two panels side by side) and one CSV per model.

Usage: sonar_learning_curves [OPTIONS]

Options:
      --epochs <N>       training epochs [default: 300]
      --batch-size <N>   mini-batch size [default: 16]
      --seed <N>         seed of the split, initial weights, shuffling and dropout masks [default: 7]
      --data <PATH>      sonar.csv to read (otherwise SONAR_CSV, ./sonar.csv, or the copy built
                         into ndnet)
      --out-dir <DIR>    directory for the SVG and the CSV files [default: target/learning_curves]
  -h, --help             print this help
  -V, --version          print the version
";

/// The command line.
#[derive(Debug)]
struct Args {
    epochs: usize,
    batch_size: usize,
    seed: u64,
    data: Option<PathBuf>,
    out_dir: PathBuf,
}

impl Args {
    fn parse() -> Self {
        let mut args = Args {
            epochs: 300,
            batch_size: 16,
            seed: 7,
            data: None,
            out_dir: PathBuf::from("target/learning_curves"),
        };
        common::parse_args("sonar_learning_curves", HELP, |name, p| {
            match name {
                "epochs" => args.epochs = common::value(p)?,
                "batch-size" => args.batch_size = common::value(p)?,
                "seed" => args.seed = common::value(p)?,
                "data" => args.data = Some(p.value()?.into()),
                "out-dir" => args.out_dir = p.value()?.into(),
                _ => return Ok(false),
            }
            Ok(true)
        });
        args
    }
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
    // Fold 0 of a shuffled, stratified 5-fold split: 80% train, 20% validation.
    let folds = StratifiedKFold::new(5)
        .shuffled(args.seed)
        .split(&data.labels)?;
    let (train, test) = &folds[0];
    let mut scaler = StandardScaler::new();
    let x_train = scaler.fit_transform(data.x.select(Axis(0), train).view())?;
    let x_test = scaler.transform(data.x.select(Axis(0), test).view())?;
    let (y_train, y_test) = (data.y.select(Axis(0), train), data.y.select(Axis(0), test));
    println!(
        "sonar: {} training rows, {} validation rows, {} epochs",
        train.len(),
        test.len(),
        args.epochs
    );

    let options = FitOptions {
        epochs: args.epochs,
        batch_size: args.batch_size,
        validation_data: Some((x_test.view(), y_test.view())),
        ..SonarExperiment::fit_options()
    };
    let mut runs = Vec::new();
    for (experiment, name, file) in [
        (
            SonarExperiment::Baseline,
            "Baseline (SGD lr 0.01, momentum 0.8)",
            "baseline.csv",
        ),
        (
            SonarExperiment::Hidden,
            "Hidden dropout 0.2 (SGD lr 0.1, momentum 0.9)",
            "hidden_dropout.csv",
        ),
    ] {
        let mut model = experiment.build()?;
        model.set_seed(args.seed);
        let history = model.fit(&x_train, &y_train, &options)?;
        std::fs::create_dir_all(&args.out_dir).map_err(|e| Error::Io {
            path: args.out_dir.clone(),
            source: e,
        })?;
        history.write_csv(args.out_dir.join(file))?;
        report(name, &history);
        runs.push((name, history));
    }

    let svg = args.out_dir.join("learning_curves.svg");
    let runs: Vec<(&str, &History)> = runs.iter().map(|(n, h)| (*n, h)).collect();
    write_learning_curves_svg(
        &svg,
        &format!(
            "Sonar, stratified 80/20 split (seed {}): training vs validation",
            args.seed
        ),
        &runs,
    )?;
    println!("wrote {}", svg.display());
    Ok(())
}

/// Prints where validation loss bottomed out and how far apart the curves ended.
fn report(name: &str, h: &History) {
    let last = h.epochs() - 1;
    let (best, best_loss) = h
        .val_loss
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map_or((0, f32::NAN), |(i, &v)| (i, v));
    println!(
        "{name}\n  lowest val_loss {best_loss:.3} at epoch {}; at the end: loss {:.3}, \
         val_loss {:.3} (gap {:.3}), val_accuracy {:.1}%",
        best + 1,
        h.loss[last],
        h.val_loss[last],
        h.val_loss[last] - h.loss[last],
        h.val_accuracy[last] * 100.0
    );
}
