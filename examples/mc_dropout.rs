//! Monte-Carlo dropout against the weight-scaling prediction (`predict`).
//!
//! Trains the tutorial's Hidden dropout model on sonar (or loads one with `--model`), then
//! compares `predict` with `predict_mc` at T = 1, 10, 50, 100 on held-out rows: test error,
//! negative log-likelihood, Brier score, expected calibration error (15 bins), and the accuracy
//! kept when the 5, 10 and 20% most uncertain rows (highest predictive entropy) are rejected.
//! The held-out rows are those of every fold of a shuffled stratified k-fold split, each
//! predicted by the model trained on the other folds (one fold only with `--model`).
//!
//! ```text
//! cargo run --release --example mc_dropout
//! cargo run --release --example mc_dropout -- --folds 5 --seed 7 --save hidden.ndnet
//! cargo run --release --example mc_dropout -- --model hidden.ndnet
//! cargo run --release --features plot --example mc_dropout -- --svg reliability.svg
//! ```
//!
//! On MNIST or Fashion-MNIST the example scores a model trained by `mnist_dropout --save DIR`
//! on the 10,000 test images (it does not train one):
//!
//! ```text
//! cargo run --release --example mnist_dropout -- --models dropout-maxnorm --save models
//! cargo run --release --features plot --example mc_dropout -- --dataset mnist \
//!     --model models/mnist_dropout-maxnorm.ndnet --svg mnist-reliability.svg
//! ```
//!
//! The times are those of one thread unless `--threads` says otherwise; the cost of MC dropout
//! is given relative to T plain forward passes (`predict_proba` on the same rows).

use std::path::PathBuf;
use std::time::Instant;

use ndarray::{Array2, Axis};
use ndnet::data::StandardScaler;
use ndnet::datasets::{mnist, sonar};
use ndnet::experiments::SonarExperiment;
use ndnet::metrics::calibration::{
    Reliability, accuracy_with_rejection, brier_score, entropy, negative_log_likelihood,
};
use ndnet::selection::StratifiedKFold;
use ndnet::{Error, Result, Sequential};

const SAMPLES: [usize; 4] = [1, 10, 50, 100];
const REJECT: [f64; 4] = [0.0, 0.05, 0.10, 0.20];

struct Args {
    dataset: String,
    data: Option<PathBuf>,
    model: Option<PathBuf>,
    save: Option<PathBuf>,
    svg: Option<PathBuf>,
    folds: usize,
    epochs: usize,
    seed: u64,
    threads: usize,
}

fn parse_args() -> std::result::Result<Args, lexopt::Error> {
    use lexopt::prelude::*;
    let mut args = Args {
        dataset: "sonar".into(),
        data: None,
        model: None,
        save: None,
        svg: None,
        folds: 5,
        epochs: 300,
        seed: 7,
        threads: 1,
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("dataset") => args.dataset = parser.value()?.string()?,
            Long("data") => args.data = Some(parser.value()?.into()),
            Long("model") => args.model = Some(parser.value()?.into()),
            Long("save") => args.save = Some(parser.value()?.into()),
            Long("svg") => args.svg = Some(parser.value()?.into()),
            Long("folds") => args.folds = parser.value()?.parse()?,
            Long("epochs") => args.epochs = parser.value()?.parse()?,
            Long("seed") => args.seed = parser.value()?.parse()?,
            Long("threads") => args.threads = parser.value()?.parse()?,
            Long("help") => {
                println!(
                    "mc_dropout [--dataset sonar|mnist|fashion] [--data PATH] [--model PATH] \
                     [--save PATH] [--svg PATH] [--folds K] [--epochs N] [--seed S] [--threads T]"
                );
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(args)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// A data set: features, targets as the model trains on them, and class labels.
struct Dataset {
    x: Array2<f32>,
    y: Array2<f32>,
    labels: Vec<usize>,
}

/// The sonar data (the image data sets go through [`run_images`]).
fn load_dataset(args: &Args) -> Result<Dataset> {
    match args.dataset.as_str() {
        "sonar" => {
            let s = sonar::load(args.data.as_deref())?;
            Ok(Dataset {
                x: s.x,
                y: s.y,
                labels: s.labels,
            })
        }
        other => Err(Error::InvalidState(format!(
            "mc_dropout: unknown --dataset {other}: expected sonar, mnist or fashion"
        ))),
    }
}

/// A fresh model for the data set: the tutorial's Hidden model for sonar.
fn build_model(args: &Args, seed: u64) -> Result<Sequential> {
    let mut model = match args.dataset.as_str() {
        "sonar" => SonarExperiment::Hidden.build()?,
        other => {
            return Err(Error::InvalidState(format!(
                "mc_dropout: no model for --dataset {other}"
            )));
        }
    };
    model.set_seed(seed);
    Ok(model)
}

/// Class probabilities of each predictor on the held-out rows, in row order of `test`.
struct Predictions {
    weight_scaling: Array2<f32>,
    mc: Vec<Array2<f32>>,
}

/// The image data set named by `--dataset`, if it is one.
fn image_source(name: &str) -> Option<mnist::Source> {
    match name {
        "mnist" => Some(mnist::Source::Mnist),
        "fashion" | "fashion-mnist" => Some(mnist::Source::FashionMnist),
        _ => None,
    }
}

/// MNIST or Fashion-MNIST: the model of `--model` on the 10,000 test images.
fn run_images(args: &Args, source: mnist::Source) -> Result<()> {
    let path = args.model.as_ref().ok_or_else(|| {
        Error::InvalidState(format!(
            "mc_dropout --dataset {}: give a trained model with --model FILE \
             (e.g. from mnist_dropout --save DIR)",
            args.dataset
        ))
    })?;
    let model = Sequential::load(path)?;
    let test = mnist::load_source(source, args.data.as_deref())?.test;
    let start = Instant::now();
    let weight_scaling = model.predict_proba(&test.x)?;
    let predict_time = start.elapsed().as_secs_f64();
    let mut mc = Vec::new();
    let mut mc_time = Vec::new();
    for &t in &SAMPLES {
        let start = Instant::now();
        let p = model
            .mc_dropout(t)
            .seed(args.seed)
            .threads(args.threads)
            .predict(&test.x)?;
        mc_time.push(start.elapsed().as_secs_f64());
        mc.push(p.proba()?);
        eprintln!("T = {t}: {:.1} s", mc_time[mc_time.len() - 1]);
    }
    println!(
        "{}: {} test images, model {}, seed {}, {} thread(s) for MC dropout",
        source.name(),
        test.len(),
        path.display(),
        args.seed,
        args.threads
    );
    let predictions = Predictions { weight_scaling, mc };
    report(
        args,
        source.name(),
        &test.labels,
        &predictions,
        predict_time,
        &mc_time,
    )
}

fn run(args: &Args) -> Result<()> {
    if let Some(source) = image_source(&args.dataset) {
        return run_images(args, source);
    }
    let data = load_dataset(args)?;
    let folds = StratifiedKFold::new(args.folds)
        .shuffled(args.seed)
        .split(&data.labels)?;
    let folds = if args.model.is_some() {
        &folds[..1]
    } else {
        &folds[..]
    };
    let mut labels = Vec::new();
    let mut ws = Vec::new();
    let mut mc: Vec<Vec<Array2<f32>>> = vec![Vec::new(); SAMPLES.len()];
    let (mut predict_time, mut mc_time) = (0.0f64, vec![0.0f64; SAMPLES.len()]);
    for (k, (train, test)) in folds.iter().enumerate() {
        let pick = |a: &Array2<f32>, rows: &[usize]| a.select(Axis(0), rows);
        let mut scaler = StandardScaler::new();
        let x_train = scaler.fit_transform(pick(&data.x, train).view())?;
        let x_test = scaler.transform(pick(&data.x, test).view())?;
        let model = match &args.model {
            Some(path) => Sequential::load(path)?,
            None => {
                let mut model = build_model(args, args.seed + k as u64)?;
                let fit = ndnet::FitOptions {
                    epochs: args.epochs,
                    ..SonarExperiment::fit_options()
                };
                model.fit(&x_train, &pick(&data.y, train), &fit)?;
                model
            }
        };
        if k == 0
            && let Some(path) = &args.save
        {
            model.save(path)?;
        }
        labels.extend(test.iter().map(|&i| data.labels[i]));
        let start = Instant::now();
        ws.push(model.predict_proba(&x_test)?);
        predict_time += start.elapsed().as_secs_f64();
        for (s, &t) in SAMPLES.iter().enumerate() {
            let start = Instant::now();
            let p = model.predict_mc(&x_test, t, args.seed)?;
            mc_time[s] += start.elapsed().as_secs_f64();
            mc[s].push(p.proba()?);
        }
    }
    let stack = |parts: &[Array2<f32>]| -> Result<Array2<f32>> {
        let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
        ndarray::concatenate(Axis(0), &views)
            .map_err(|e| Error::InvalidState(format!("stacking predictions: {e}")))
    };
    let predictions = Predictions {
        weight_scaling: stack(&ws)?,
        mc: mc.iter().map(|m| stack(m)).collect::<Result<_>>()?,
    };
    println!(
        "{} held-out rows ({} fold(s)), {} epochs, seed {}",
        labels.len(),
        folds.len(),
        args.epochs,
        args.seed
    );
    report(args, "sonar", &labels, &predictions, predict_time, &mc_time)
}

/// Prints the table of both predictors and writes the reliability diagram of `--svg`.
fn report(
    args: &Args,
    dataset: &str,
    labels: &[usize],
    predictions: &Predictions,
    predict_time: f64,
    mc_time: &[f64],
) -> Result<()> {
    println!(
        "| predictor | error % | NLL | Brier | ECE % (15 bins) | acc % kept, reject 0 / 5 / 10 / 20 % | time (ms) |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut rows = vec![(
        "weight scaling (predict)".to_string(),
        &predictions.weight_scaling,
        predict_time,
    )];
    for (s, &t) in SAMPLES.iter().enumerate() {
        rows.push((
            format!("MC dropout, T = {t}"),
            &predictions.mc[s],
            mc_time[s],
        ));
    }
    let mut curves = Vec::new();
    for (name, probs, time) in &rows {
        let p = probs.view();
        let h = entropy(p)?;
        let u = h.as_slice().unwrap_or(&[]).to_vec();
        let kept: Vec<String> = REJECT
            .iter()
            .map(|&f| {
                accuracy_with_rejection(p, labels, &u, f).map(|a| format!("{:.1}", a * 100.0))
            })
            .collect::<Result<_>>()?;
        let reliability = Reliability::new(p, labels, 15)?;
        let acc = accuracy_with_rejection(p, labels, &u, 0.0)?;
        println!(
            "| {name} | {:.2} | {:.4} | {:.4} | {:.2} | {} | {:.1} |",
            (1.0 - acc) * 100.0,
            negative_log_likelihood(p, labels)?,
            brier_score(p, labels)?,
            reliability.ece() * 100.0,
            kept.join(" / "),
            time * 1e3
        );
        curves.push((name.clone(), reliability));
    }
    println!(
        "cost of MC dropout relative to T plain forward passes (predict): {}",
        SAMPLES
            .iter()
            .enumerate()
            .map(|(s, &t)| format!("T={t}: {:.2}", mc_time[s] / (t as f64 * predict_time)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(path) = &args.svg {
        write_svg(path, &format!("Reliability on {dataset}"), &curves)?;
    }
    Ok(())
}

#[cfg(feature = "plot")]
fn write_svg(path: &std::path::Path, title: &str, curves: &[(String, Reliability)]) -> Result<()> {
    // Weight scaling and MC dropout at T = 50.
    let picked: Vec<(&str, &Reliability)> = curves
        .iter()
        .filter(|(n, _)| n.starts_with("weight") || n.ends_with("T = 50"))
        .map(|(n, r)| (n.as_str(), r))
        .collect();
    ndnet::metrics::calibration::write_reliability_svg(path, title, &picked)?;
    println!("wrote {}", path.display());
    Ok(())
}

#[cfg(not(feature = "plot"))]
fn write_svg(
    _path: &std::path::Path,
    _title: &str,
    _curves: &[(String, Reliability)],
) -> Result<()> {
    Err(Error::InvalidState(
        "--svg needs the plot feature: cargo run --features plot --example mc_dropout".into(),
    ))
}
