//! A multi-class model beyond the tutorial's binary one: three Gaussian blobs in the plane,
//! a softmax output, categorical cross-entropy, and the class probabilities of a few points.
//!
//! ```text
//! cargo run --release --example blobs_multiclass
//! cargo run --release --example blobs_multiclass -- --epochs 200 --std 1.5 --seed 3
//! ```

mod common;

use ndarray::array;
use ndnet::callbacks::{EarlyStopping, Metric};
use ndnet::datasets::blobs::make_blobs;
use ndnet::prelude::*;

const HELP: &str = "\
blobs_multiclass: a three-class softmax classifier on generated Gaussian blobs in the plane.
Trains with categorical cross-entropy, Adam and early stopping on the validation loss, then
prints the model summary, the training history and the class probabilities of a few points.

Usage: blobs_multiclass [OPTIONS]

Options:
      --epochs <N>   maximum training epochs (early stopping may end sooner) [default: 150]
      --samples <N>  points per class [default: 100]
      --std <X>      standard deviation of each blob (larger blobs overlap more) [default: 1.2]
      --seed <N>     seed of the data, the initial weights and the shuffling [default: 7]
  -h, --help         print this help
  -V, --version      print the version
";

/// The command line.
#[derive(Debug)]
struct Args {
    epochs: usize,
    samples: usize,
    std: f32,
    seed: u64,
}

impl Args {
    fn parse() -> Self {
        let mut args = Args {
            epochs: 150,
            samples: 100,
            std: 1.2,
            seed: 7,
        };
        common::parse_args("blobs_multiclass", HELP, |name, p| {
            match name {
                "epochs" => args.epochs = common::value(p)?,
                "samples" => args.samples = common::value(p)?,
                "std" => args.std = common::value(p)?,
                "seed" => args.seed = common::value(p)?,
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
    let classes = ["west", "east", "north"];
    let centers = array![[-2.5f32, 0.0], [2.5, 0.0], [0.0, 3.0]];
    let data = make_blobs(args.samples, centers.view(), args.std, args.seed)?;

    let mut model = Sequential::new(2).with_seed(args.seed);
    model.add(Dense::new(16).activation(Activation::Relu))?;
    model.add(Dropout::new(0.1))?;
    model.add(Dense::new(3).activation(Activation::Softmax))?;
    model.compile(CategoricalCrossentropy, Adam::new(0.01))?;
    model.summary();

    // The rows are shuffled already, so the last 20% are a fair validation set.
    let options = FitOptions {
        epochs: args.epochs,
        batch_size: 16,
        validation_split: 0.2,
        ..Default::default()
    };
    let mut stop = EarlyStopping::new(Metric::ValLoss)
        .patience(20)
        .restore_best_weights(true);
    let history = model.fit_with_callbacks(&data.x, &data.y, &options, &mut [&mut stop])?;
    // The weights of the best epoch (lowest val_loss) are restored at the end of training.
    let best = stop.best_epoch().unwrap_or(history.epochs() - 1);
    println!(
        "\ntrained {} epochs{}; restored epoch {}: loss {:.4}, accuracy {:.1}%, \
         val_loss {:.4}, val_accuracy {:.1}%",
        history.epochs(),
        if stop.stopped_epoch().is_some() {
            " (stopped early)"
        } else {
            ""
        },
        best + 1,
        history.loss[best],
        history.accuracy[best] * 100.0,
        history.val_loss[best],
        history.val_accuracy[best] * 100.0,
    );

    let points = array![
        [-2.5f32, 0.0],
        [2.5, 0.0],
        [0.0, 3.0],
        [0.0, 0.0],
        [1.2, 1.5]
    ];
    let proba = model.predict_proba(&points)?;
    let predicted = model.predict_classes(&points)?;
    println!(
        "\n{:>14}  {:>7} {:>7} {:>7}  class",
        "point", classes[0], classes[1], classes[2]
    );
    for ((p, row), &c) in points.outer_iter().zip(proba.outer_iter()).zip(&predicted) {
        println!(
            "({:>5.1}, {:>4.1})  {:>7.3} {:>7.3} {:>7.3}  {}",
            p[0], p[1], row[0], row[1], row[2], classes[c]
        );
    }
    Ok(())
}
