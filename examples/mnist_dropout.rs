//! The dropout paper's MNIST ladder (Srivastava et al. 2014, Table 2, permutation-invariant):
//! (a) a standard ReLU net, (b) the same with dropout 0.2 on the inputs and 0.5 after every
//! hidden layer, (c) dropout and max-norm on every layer's incoming weights. 784-1024-1024-1024-10
//! by default, softmax and cross-entropy, batch 100, the recipe of the authors' code: SGD with
//! PyTorch-form momentum rising linearly from 0.5 to 0.99 over the first 100,000 updates, a
//! learning rate decaying as `lr / (1 + t / 10000)`, weights N(0, 1 / fan_in), zero biases,
//! max-norm 3.
//!
//! The authors' code (deepnet) averages the gradient over the batch, updates `v = μv + g` and
//! `w -= ε_t v`, and applies the max-norm after every update, as here. Two things differ:
//! - Its dropout multiplies by the mask in training and by `1 - p` at test time; ndnet's divides
//!   by `1 - p` in training (Keras). The same function then has weights `(1 - p)` times the
//!   authors' in each layer after a dropout, so their initial stddev and max-norm translate to
//!   `(1 - p)` times theirs (`--scaling deepnet`), and their weight learning rate to `(1 - p)^2`
//!   times theirs: their `ε` 1.0 is 0.25 for the layers after a 0.5 dropout (0.64 for the first,
//!   1.0 for the biases; one `lr` cannot give all three). Their 1.0 in ndnet's terms is too
//!   large: the plain net's training loss is NaN within its first epoch.
//! - Their rate 1.0 is for the dropout nets only: their plain-net example uses 0.1.
//!
//! Choices made on the holdout split (`--holdout`, 1,000 updates): `--scaling deepnet --lr 0.25`
//! for the dropout models, 0.1 for the plain net; see the README.
//! The three models start from the same initial weights (with `--scaling deepnet`, the dropout
//! models' scaled by `1 - p`) and see the same batches (one seed).
//!
//! ```text
//! cargo run --release --example mnist_dropout -- --quick              # a 1-minute check
//! cargo run --release --example mnist_dropout -- --epochs 100         # 3 models, 3 threads
//! cargo run --release --example mnist_dropout -- --dataset fashion --epochs 50
//! cargo run --release --example mnist_dropout -- --models dropout-maxnorm --epochs 1700
//! cargo run --release --example mnist_dropout -- --holdout            # for choices: 50k/10k
//! ```
//!
//! Prints the test error of each model after every epoch (on stderr, with the time per epoch and
//! the remaining time) and a summary at the end; writes `<out>/<dataset>_test_error.csv` (one row
//! per epoch, one column per model, rewritten after every epoch), `<out>/<dataset>_log.csv` (one
//! row per model and epoch: updates, training loss, test loss and error, learning rate, momentum,
//! seconds) and, with the feature `plot`, `<out>/<dataset>_test_error.svg`.
//!
//! Data: `--data DIR`, `MNIST_DIR` / `FASHION_MNIST_DIR`, the user cache
//! (`~/.cache/ndnet/mnist`), for Fashion-MNIST `/usr/share/datasets/fashion-mnist`, else (feature
//! `download`) a download; see `ndnet::datasets::mnist`.
//!
//! With `--holdout` the models train on the first 50,000 training images and are scored on the
//! last 10,000 (MNIST's usual validation split), never on the test set: use it for any choice of
//! epochs or hyper-parameters, as the paper did.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use ndnet::callbacks::MomentumScheduler;
use ndnet::datasets::mnist::{self, ImageSet, Source};
use ndnet::optimizers::{MomentumForm, Sgd};
use ndnet::prelude::*;
use ndnet::schedules::PolynomialDecay;

const USAGE: &str = "\
usage: mnist_dropout [options]
  --dataset mnist|fashion   data set (default mnist)
  --epochs N                epochs per model (default 100; --quick: 3)
  --hidden WxD              D hidden ReLU layers of W units (default 1024x3)
  --max-norm C              max-norm of model (c) (default 3, the authors' code; the paper's appendix says 2)
  --models LIST             comma-separated subset of plain,dropout,dropout-maxnorm (default all three)
  --lr R | NAME=R,...       base learning rate: one for all models, or per model, e.g.
                            plain=0.1,dropout-maxnorm=0.25 (default 0.1; see the notes at the top)
  --scaling keras|deepnet   weights of the dropout models in ndnet's (Keras's, inverted dropout)
                            terms, or the authors' code's translated: initial stddev and max-norm
                            times (1 - p) of the layer's input dropout (default keras)
  --minutes M               stop each model after the last epoch that fits in M minutes
  --seed S                  initial weights, batch order and dropout masks (default 1)
  --threads T               models trained at once, one thread each (default: one per model)
  --product-threads P       threads per large matrix product of each model (default 1); the
                            results are the same bits for any P
  --quick                   5,000 training and 2,000 test images, 3 epochs (unless --epochs)
  --holdout                 train on 50,000 images, score on the other 10,000 training images
  --data DIR                folder with the four IDX files
  --out DIR                 where the CSV (and SVG) files go (default mnist-dropout)
  --save DIR                save each trained model as DIR/<dataset>_<model>.ndnet
  --help                    this text";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    Dropout,
    DropoutMaxNorm,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Plain, Kind::Dropout, Kind::DropoutMaxNorm];

    fn name(self) -> &'static str {
        match self {
            Kind::Plain => "plain",
            Kind::Dropout => "dropout",
            Kind::DropoutMaxNorm => "dropout-maxnorm",
        }
    }

    fn paper(self) -> &'static str {
        match self {
            Kind::Plain => "1.60 (standard net, 2x800 logistic)",
            Kind::Dropout => "1.25 (dropout, 3x1024 ReLU)",
            Kind::DropoutMaxNorm => "1.06 (dropout + max-norm, 3x1024 ReLU)",
        }
    }
}

/// How the dropout models' weights relate to the authors' code, which drops units without
/// rescaling in training and multiplies by `1 - p` at test time. ndnet's dropout divides by
/// `1 - p` in training instead (Keras), so the same function has weights `W = (1 - p) W_deepnet`
/// in the layer after a dropout of rate `p`: an initial stddev `(1 - p) / sqrt(fan_in)`, a max-norm
/// `(1 - p) c`, and a weight learning rate `(1 - p)^2` times the authors' (biases unchanged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scaling {
    /// Stddev `1 / sqrt(fan_in)` and max-norm `c` on ndnet's weights.
    Keras,
    /// Stddev and max-norm times `1 - p` of the layer's input dropout (the learning rate is
    /// left to `--lr`: one rate cannot translate both weights and biases).
    Deepnet,
}

/// `R` for all models, or `name=R,...` for some (the others keep their value).
fn parse_lr(v: &str, lr: &mut [f32; 3]) -> Result<(), lexopt::Error> {
    if let Ok(r) = v.parse::<f32>() {
        *lr = [r; 3];
    } else {
        for part in v.split(',') {
            let (name, r) = part
                .split_once('=')
                .ok_or_else(|| format!("--lr {v}: expected R or NAME=R,..."))?;
            let i = Kind::ALL
                .iter()
                .position(|k| k.name() == name)
                .ok_or_else(|| format!("--lr: unknown model {name}"))?;
            lr[i] = r
                .parse()
                .map_err(|_| format!("--lr {part}: not a number"))?;
        }
    }
    if lr.iter().any(|r| !(r.is_finite() && *r > 0.0)) {
        return Err(format!("--lr {v}: learning rates must be positive").into());
    }
    Ok(())
}

#[derive(Debug)]
struct Args {
    dataset: Source,
    epochs: Option<usize>,
    hidden: (usize, usize),
    max_norm: f32,
    /// Base learning rate per model, indexed like `Kind::ALL`.
    lr: [f32; 3],
    scaling: Scaling,
    save: Option<PathBuf>,
    minutes: Option<f64>,
    models: Vec<Kind>,
    seed: u64,
    threads: Option<usize>,
    product_threads: usize,
    quick: bool,
    holdout: bool,
    data: Option<PathBuf>,
    out: PathBuf,
}

fn parse_args() -> Result<Args, lexopt::Error> {
    use lexopt::prelude::*;
    let mut args = Args {
        dataset: Source::Mnist,
        epochs: None,
        hidden: (1024, 3),
        max_norm: 3.0,
        lr: [0.1; 3],
        scaling: Scaling::Keras,
        save: None,
        minutes: None,
        models: Kind::ALL.to_vec(),
        seed: 1,
        threads: None,
        product_threads: 1,
        quick: false,
        holdout: false,
        data: None,
        out: PathBuf::from("mnist-dropout"),
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("dataset") => {
                args.dataset = match parser.value()?.string()?.as_str() {
                    "mnist" => Source::Mnist,
                    "fashion" | "fashion-mnist" => Source::FashionMnist,
                    other => {
                        return Err(format!("unknown --dataset {other} (mnist or fashion)").into());
                    }
                }
            }
            Long("epochs") => args.epochs = Some(parser.value()?.parse()?),
            Long("hidden") => {
                let v = parser.value()?.string()?;
                let parsed = v
                    .split_once('x')
                    .and_then(|(w, d)| Some((w.parse().ok()?, d.parse().ok()?)))
                    .filter(|&(w, d): &(usize, usize)| w > 0 && d > 0);
                args.hidden = parsed
                    .ok_or_else(|| format!("--hidden {v}: expected WIDTHxDEPTH, e.g. 1024x3"))?;
            }
            Long("max-norm") => args.max_norm = parser.value()?.parse()?,
            Long("models") => {
                let v = parser.value()?.string()?;
                let mut models = Vec::new();
                for name in v.split(',') {
                    let kind = Kind::ALL
                        .into_iter()
                        .find(|k| k.name() == name)
                        .ok_or_else(|| {
                            format!(
                                "--models: unknown model {name} (plain, dropout, dropout-maxnorm)"
                            )
                        })?;
                    if !models.contains(&kind) {
                        models.push(kind);
                    }
                }
                args.models = models;
            }
            Long("lr") => {
                let v = parser.value()?.string()?;
                parse_lr(&v, &mut args.lr)?;
            }
            Long("scaling") => {
                args.scaling = match parser.value()?.string()?.as_str() {
                    "keras" => Scaling::Keras,
                    "deepnet" => Scaling::Deepnet,
                    other => {
                        return Err(format!("unknown --scaling {other} (keras or deepnet)").into());
                    }
                }
            }
            Long("save") => args.save = Some(parser.value()?.into()),
            Long("minutes") => args.minutes = Some(parser.value()?.parse()?),
            Long("seed") => args.seed = parser.value()?.parse()?,
            Long("threads") => {
                let t: usize = parser.value()?.parse()?;
                if t == 0 {
                    return Err("--threads must be at least 1".into());
                }
                args.threads = Some(t);
            }
            Long("product-threads") => {
                args.product_threads = parser.value()?.parse()?;
                if args.product_threads == 0 {
                    return Err("--product-threads must be at least 1".into());
                }
            }
            Long("quick") => args.quick = true,
            Long("holdout") => args.holdout = true,
            Long("data") => args.data = Some(parser.value()?.into()),
            Long("out") => args.out = parser.value()?.into(),
            Long("help") | Short('h') => {
                println!("{USAGE}");
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
            eprintln!("error: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// The model of the ladder: same Dense layers (so the same initial weights for one seed), with or
/// without dropout and max-norm.
fn build(kind: Kind, args: &Args) -> ndnet::Result<Sequential> {
    let (hidden, max_norm, seed) = (args.hidden, args.max_norm, args.seed);
    let dropout = kind != Kind::Plain;
    let mut model = Sequential::new(mnist::N_PIXELS).with_seed(seed);
    // `keep` is 1 - p of the dropout in front of the layer (1 without dropout or with --scaling
    // keras): see `Scaling`.
    let dense = |units: usize, fan_in: usize, activation: Activation, keep: f32| {
        let init = Initializer::RandomNormal {
            mean: 0.0,
            stddev: keep / (fan_in as f32).sqrt(),
        };
        let d = Dense::new(units)
            .activation(activation)
            .kernel_initializer(init);
        if kind == Kind::DropoutMaxNorm {
            d.kernel_constraint(MaxNorm::new(keep * max_norm))
        } else {
            d
        }
    };
    let keep = |p: f32| {
        if dropout && args.scaling == Scaling::Deepnet {
            1.0 - p
        } else {
            1.0
        }
    };
    if dropout {
        model.add(Dropout::new(0.2))?;
    }
    let mut fan_in = mnist::N_PIXELS;
    let mut input_keep = keep(0.2);
    for _ in 0..hidden.1 {
        model.add(dense(hidden.0, fan_in, Activation::Relu, input_keep))?;
        if dropout {
            model.add(Dropout::new(0.5))?;
        }
        fan_in = hidden.0;
        input_keep = keep(0.5);
    }
    model.add(dense(
        mnist::N_CLASSES,
        fan_in,
        Activation::Softmax,
        input_keep,
    ))?;
    // lr_t = lr / (1 + 1e-4 · t) = lr / (1 + t / 10000).
    let lr = args.lr[Kind::ALL.iter().position(|&k| k == kind).unwrap_or(0)];
    let sgd = Sgd::new(lr)
        .momentum(0.5)
        .decay(1e-4)
        .momentum_form(MomentumForm::PyTorch);
    model.compile(CategoricalCrossentropy, sgd)?;
    Ok(model)
}

/// Per-epoch results shared by the training threads.
struct Shared {
    /// Test (or validation) error in % per model, per epoch.
    errors: Vec<Vec<f64>>,
    log: String,
}

fn fmt_duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

fn run(args: &Args) -> ndnet::Result<()> {
    let data = mnist::load_source(args.dataset, args.data.as_deref())?;
    let (mut train, mut test) = (data.train, data.test);
    let scored_on = if args.holdout {
        test = train.slice(50_000, 60_000);
        train = train.slice(0, 50_000);
        "validation (last 10,000 training images)"
    } else {
        "test"
    };
    if args.quick {
        train = train.slice(0, 5_000);
        test = test.slice(0, 2_000);
    }
    let epochs = args.epochs.unwrap_or(if args.quick { 3 } else { 100 });
    let threads = args
        .threads
        .unwrap_or(args.models.len())
        .min(args.models.len());
    let batches = train.len().div_ceil(100);
    ndnet::set_product_threads(args.product_threads);
    eprintln!(
        "{}: {} training images, {} {scored_on} images (from {}); 784-{}x{}-10, {} epochs of {} updates, {} model(s) on {} thread(s), {} product thread(s) each",
        args.dataset.name(),
        train.len(),
        test.len(),
        data.dir.display(),
        args.hidden.0,
        args.hidden.1,
        epochs,
        batches,
        args.models.len(),
        threads,
        args.product_threads
    );
    for dir in std::iter::once(&args.out).chain(&args.save) {
        std::fs::create_dir_all(dir).map_err(|e| ndnet::Error::Io {
            path: dir.clone(),
            source: e,
        })?;
    }
    let prefix = match args.dataset {
        Source::Mnist => "mnist",
        _ => "fashion",
    };
    let wide_csv = args.out.join(format!("{prefix}_test_error.csv"));
    let log_csv = args.out.join(format!("{prefix}_log.csv"));
    let shared = Mutex::new(Shared {
        errors: vec![Vec::new(); args.models.len()],
        log: String::from(
            "model,epoch,updates,train_loss,train_accuracy,test_loss,test_error_percent,learning_rate,momentum,seconds\n",
        ),
    });
    let queue = Mutex::new((0..args.models.len()).collect::<Vec<_>>());
    let summaries: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());
    let started = Instant::now();
    let outcome: Mutex<ndnet::Result<()>> = Mutex::new(Ok(()));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().map(|mut q| {
                        if q.is_empty() {
                            None
                        } else {
                            Some(q.remove(0))
                        }
                    });
                    let Ok(Some(m)) = next else { break };
                    let kind = args.models[m];
                    let result = train_one(
                        kind, m, args, epochs, &train, &test, &shared, &wide_csv, &log_csv,
                    );
                    match result {
                        Ok(summary) => {
                            if let Ok(mut s) = summaries.lock() {
                                s.push((m, summary));
                            }
                        }
                        Err(e) => {
                            eprintln!("[{}] failed: {e}", kind.name());
                            if let Ok(mut o) = outcome.lock() {
                                *o = Err(e);
                            }
                        }
                    }
                }
            });
        }
    });
    let mut summaries = summaries.into_inner().unwrap_or_default();
    summaries.sort_by_key(|s| s.0);
    println!(
        "{} ({} {scored_on} images), 784-{}x{}-10, seed {}:",
        args.dataset.name(),
        test.len(),
        args.hidden.0,
        args.hidden.1,
        args.seed
    );
    println!(
        "{:<16} {:>9} {:>7} {:>9} {:>10} {:>9}  paper (%, full run)",
        "model", "error (%)", "epochs", "updates", "time", "s/epoch"
    );
    for (_, s) in &summaries {
        println!("{s}");
    }
    if let Ok(s) = shared.lock() {
        let common = s.errors.iter().map(Vec::len).min().unwrap_or(0);
        if common > 0 && s.errors.iter().any(|e| e.len() != common) {
            let at: Vec<String> = args
                .models
                .iter()
                .zip(&s.errors)
                .map(|(k, e)| format!("{} {:.2}%", k.name(), e[common - 1]))
                .collect();
            println!(
                "at epoch {common}, the last all models reached: {}",
                at.join(", ")
            );
        }
    }
    println!(
        "wall time {}",
        fmt_duration(started.elapsed().as_secs_f64())
    );
    println!("per-epoch errors: {}", wide_csv.display());
    #[cfg(feature = "plot")]
    {
        let svg = args.out.join(format!("{prefix}_test_error.svg"));
        if let Ok(s) = shared.lock() {
            plot(&svg, args, &s.errors, scored_on)?;
        }
        println!("plot: {}", svg.display());
    }
    outcome.into_inner().unwrap_or(Ok(()))
}

#[allow(clippy::too_many_arguments)]
fn train_one(
    kind: Kind,
    index: usize,
    args: &Args,
    epochs: usize,
    train: &ImageSet,
    test: &ImageSet,
    shared: &Mutex<Shared>,
    wide_csv: &Path,
    log_csv: &Path,
) -> ndnet::Result<String> {
    let mut model = build(kind, args)?;
    let options = FitOptions {
        epochs: 1,
        batch_size: 100,
        ..Default::default()
    };
    let mut momentum = MomentumScheduler::per_step(PolynomialDecay::new(0.5, 100_000, 0.99));
    let start = Instant::now();
    let mut last_error = f64::NAN;
    let mut done = 0;
    for epoch in 0..epochs {
        if let Some(m) = args.minutes {
            let elapsed = start.elapsed().as_secs_f64();
            if epoch > 0 && elapsed + elapsed / epoch as f64 > m * 60.0 {
                eprintln!(
                    "[{}] stopping after {epoch} epochs: --minutes {m}",
                    kind.name()
                );
                break;
            }
        }
        done = epoch + 1;
        let history =
            model.fit_with_callbacks(&train.x, &train.y, &options, &mut [&mut momentum])?;
        let eval = model.evaluate(&test.x, &test.y)?;
        let error = (1.0 - f64::from(eval.accuracy)) * 100.0;
        last_error = error;
        let elapsed = start.elapsed().as_secs_f64();
        let per_epoch = elapsed / (epoch + 1) as f64;
        let opt = model.optimizer();
        let updates = opt.map_or(0, |o| o.iterations());
        // The rate of the next update, lr / (1 + decay · t).
        let lr = opt.map_or(f32::NAN, |o| o.current_learning_rate());
        let mom = opt.and_then(|o| o.momentum()).unwrap_or(f32::NAN);
        eprintln!(
            "[{:<15}] epoch {:>4}/{epochs}  error {error:6.3}%  loss {:.4}  {:.1} s/epoch  ETA {}",
            kind.name(),
            epoch + 1,
            history.loss[0],
            per_epoch,
            fmt_duration(per_epoch * (epochs - epoch - 1) as f64)
        );
        if let Ok(mut s) = shared.lock() {
            s.errors[index].push(error);
            let _ = writeln!(
                s.log,
                "{},{},{updates},{},{},{},{error:.2},{lr},{mom},{elapsed:.1}",
                kind.name(),
                epoch + 1,
                history.loss[0],
                history.accuracy[0],
                eval.loss,
            );
            write_atomic(log_csv, &s.log)?;
            write_atomic(wide_csv, &wide(args, &s.errors))?;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let updates = model.optimizer().map_or(0, |o| o.iterations());
    if let Some(dir) = &args.save {
        let prefix = match args.dataset {
            Source::Mnist => "mnist",
            _ => "fashion",
        };
        let path = dir.join(format!("{prefix}_{}.ndnet", kind.name()));
        model.save(&path)?;
        eprintln!("[{}] saved {}", kind.name(), path.display());
    }
    Ok(format!(
        "{:<16} {last_error:>9.2} {done:>7} {updates:>9} {:>10} {:>9.1}  {}",
        kind.name(),
        fmt_duration(secs),
        secs / done.max(1) as f64,
        kind.paper()
    ))
}

/// `epoch,<model>,...` with the error in % per model.
fn wide(args: &Args, errors: &[Vec<f64>]) -> String {
    let mut out = String::from("epoch");
    for k in &args.models {
        out.push(',');
        out.push_str(k.name());
    }
    out.push('\n');
    let rows = errors.iter().map(Vec::len).max().unwrap_or(0);
    for e in 0..rows {
        let _ = write!(out, "{}", e + 1);
        for col in errors {
            match col.get(e) {
                Some(v) => {
                    let _ = write!(out, ",{v:.2}");
                }
                None => out.push(','),
            }
        }
        out.push('\n');
    }
    out
}

fn write_atomic(path: &Path, text: &str) -> ndnet::Result<()> {
    let tmp = path.with_extension("csv.part");
    let io = |e| ndnet::Error::Io {
        path: path.to_path_buf(),
        source: e,
    };
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(feature = "plot")]
fn plot(path: &Path, args: &Args, errors: &[Vec<f64>], scored_on: &str) -> ndnet::Result<()> {
    use ndnet::plot::{DropoutPlot, Line, Panel};
    let mut panel = Panel::new(format!(
        "{}, 784-{}x{}-10, batch 100",
        args.dataset.name(),
        args.hidden.0,
        args.hidden.1
    ));
    for (k, e) in args.models.iter().zip(errors) {
        let points = e
            .iter()
            .enumerate()
            .map(|(i, &v)| ((i + 1) as f64, v))
            .collect();
        panel = panel.line(Line::new(k.name(), points));
    }
    let mut plot = DropoutPlot::new(format!("{scored_on} error per epoch"))
        .panel(panel)
        .columns(1);
    plot.x_label = "epoch".into();
    plot.y_label = format!("{scored_on} error (%)");
    plot.write_svg(path)
}
