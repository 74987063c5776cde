//! A multi-class model beyond the tutorial's binary one: three Gaussian blobs in the plane,
//! a softmax output, categorical cross-entropy, and the class probabilities of a few points.
//!
//! ```text
//! cargo run --release --example blobs_multiclass
//! cargo run --release --example blobs_multiclass -- --epochs 200 --std 1.5 --seed 3
//! ```

use clap::Parser;
use ndarray::array;
use ndnet::callbacks::{EarlyStopping, Metric};
use ndnet::datasets::blobs::make_blobs;
use ndnet::prelude::*;

/// Three Gaussian blobs, a softmax classifier and its predicted probabilities.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Maximum training epochs (early stopping on val_loss may end sooner).
    #[arg(long, default_value_t = 150)]
    epochs: usize,
    /// Points per class.
    #[arg(long, default_value_t = 100)]
    samples: usize,
    /// Standard deviation of each blob (larger blobs overlap more).
    #[arg(long, default_value_t = 1.2)]
    std: f32,
    /// Seed of the data, the initial weights and the shuffling.
    #[arg(long, default_value_t = 7)]
    seed: u64,
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
