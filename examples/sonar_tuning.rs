//! Tuning dropout on the sonar data: the tutorial's closing tips as a grid search.
//!
//! The tips (dropout of 20-50% on the inputs and the hidden layers, a larger network, a learning
//! rate 10-100× larger with decay, momentum 0.9-0.99, max-norm 4-5) become a list of
//! `experiments::Config`s, which a `selection::Search` scores by 3 × 10-fold stratified
//! cross-validation, all on the same folds with the same per-fold seeds. The program prints the
//! best configurations and the tutorial's models, compares the best dropout configuration with
//! the baseline fold by fold, scores the top ones again on fresh folds (the best of many noisy
//! scores is optimistic), and writes the results as CSV and (feature `plot`) SVG.
//!
//! ```text
//! cargo run --release --features plot --example sonar_tuning
//! cargo run --release --example sonar_tuning -- --quick
//! ```
//!
//! The data is read from `--data`, `SONAR_CSV` or `./sonar.csv` if given, else from the copy
//! built into ndnet (see `ndnet::datasets::sonar`).

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use ndnet::datasets::sonar;
use ndnet::experiments::{Config, ParamSpace, SonarExperiment};
use ndnet::selection::{self, CrossValidation, Search};

type TuningResult = selection::TuningResult<Config>;
/// A sweep of the search: its title and configurations.
type Sweep = (String, Vec<Config>);

/// Dropout rates tried (the tutorial's tip: 20-50%, with 0 and 10% for reference).
const RATES: [f32; 6] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5];
/// Max-norm settings tried (the tutorial used 3; its tip: 4-5).
const MAX_NORMS: [Option<f32>; 4] = [None, Some(3.0), Some(4.0), Some(5.0)];
/// Decay per update with the large learning rate: over the 3,600 updates of 300 epochs it
/// takes SGD's rate from 0.1 (10× the baseline's) down to 0.0027, below the baseline's 0.01.
const DECAY: f32 = 1e-2;
/// Seed offset of the confirmation run, far from the search's repeats.
const CONFIRM_SEED_OFFSET: u64 = 1000;

const HELP: &str = "\
sonar_tuning: tuning dropout on the sonar data, the tutorial's closing tips as a grid search
scored by repeated stratified cross-validation on shared folds; the results go to CSV (and SVG
with the `plot` feature).

Usage: sonar_tuning [OPTIONS]

Options:
      --repeats <N>    cross-validations per configuration, seeds seed, seed + 1, ...
                       [default: 3, or 1 with --quick]
      --folds <N>      folds per cross-validation [default: 10]
      --seed <N>       seed of the first repeat's folds and models [default: 7]
      --threads <N>    worker threads, 0 for all cores [default: 0]
      --data <PATH>    sonar.csv to read (otherwise SONAR_CSV, ./sonar.csv, or the copy built
                       into ndnet)
      --out-dir <DIR>  where the CSV tables and the plot go [default: target/tuning]
      --quick          a small smoke-test grid with one repeat (seconds instead of minutes)
      --top <N>        configurations printed [default: 10]
      --confirm <N>    best configurations re-scored on fresh folds, 0 for none [default: 5]
  -h, --help           print this help
  -V, --version        print the version
";

/// The command line.
#[derive(Debug)]
struct Args {
    repeats: Option<usize>,
    folds: usize,
    seed: u64,
    threads: usize,
    data: Option<PathBuf>,
    out_dir: PathBuf,
    quick: bool,
    top: usize,
    confirm: usize,
}

impl Args {
    fn parse() -> Self {
        let mut args = Args {
            repeats: None,
            folds: 10,
            seed: 7,
            threads: 0,
            data: None,
            out_dir: PathBuf::from("target/tuning"),
            quick: false,
            top: 10,
            confirm: 5,
        };
        common::parse_args("sonar_tuning", HELP, |name, p| {
            match name {
                "repeats" => args.repeats = Some(common::value(p)?),
                "folds" => args.folds = common::value(p)?,
                "seed" => args.seed = common::value(p)?,
                "threads" => args.threads = common::value(p)?,
                "data" => args.data = Some(p.value()?.into()),
                "out-dir" => args.out_dir = p.value()?.into(),
                "quick" => args.quick = true,
                "top" => args.top = common::value(p)?,
                "confirm" => args.confirm = common::value(p)?,
                _ => return Ok(false),
            }
            Ok(true)
        });
        args
    }
}

/// The same rate on the inputs and the hidden layers, for each of `rates`, × `max_norms`.
fn sweep(setting: Config, rates: &[f32], max_norms: &[Option<f32>]) -> ndnet::Result<Vec<Config>> {
    let mut configs = Vec::new();
    for &rate in rates {
        let space = ParamSpace {
            input_dropout: vec![rate],
            hidden_dropout: vec![rate],
            max_norm: max_norms.to_vec(),
            ..ParamSpace::from(setting)
        };
        configs.extend(space.grid()?);
    }
    Ok(configs)
}

/// The baseline with SGD's learning rate, momentum and decay and the width multiplier replaced.
fn training((learning_rate, momentum, decay, width_multiplier): (f32, f32, f32, f32)) -> Config {
    let base = Config::tutorial(SonarExperiment::Baseline);
    Config {
        learning_rate,
        momentum,
        decay,
        width_multiplier,
        ..base
    }
}

/// The search: a sweep of dropout rates × max-norms for each training setting, the part that is
/// plotted; then dropout on the inputs only or the hidden layers only (at max-norm 4), and the
/// tips' extremes (momentum 0.99, a learning rate 100× the baseline's).
#[rustfmt::skip] // tables of settings, one a line
fn search_space(quick: bool) -> ndnet::Result<(Vec<Sweep>, Vec<Config>)> {
    let (rates, max_norms): (&[f32], &[Option<f32>]) =
        if quick { (&[0.0, 0.2, 0.4], &[None, Some(4.0)]) } else { (&RATES, &MAX_NORMS) };
    // (learning rate, momentum, decay, width): the baseline's SGD, the tutorial's dropout SGD,
    // with decay, and (not with --quick) a network twice as wide.
    let mut settings = vec![(0.01, 0.8, 0.0, 1.0), (0.1, 0.9, 0.0, 1.0), (0.1, 0.9, DECAY, 1.0)];
    if !quick {
        settings.push((0.1, 0.9, DECAY, 2.0));
    }
    let mut sweeps = Vec::new();
    for (lr, momentum, decay, width) in settings {
        let title = format!("SGD lr {lr}, momentum {momentum}, decay {decay}, width ×{width}");
        sweeps.push((title, sweep(training((lr, momentum, decay, width)), rates, max_norms)?));
    }
    let placed = Config { max_norm: Some(4.0), ..training((0.1, 0.9, DECAY, 1.0)) };
    let inputs = rates[1..].iter().map(|&r| Config { input_dropout: r, ..placed });
    let hidden = rates[1..].iter().map(|&r| Config { hidden_dropout: r, ..placed });
    let mut others: Vec<Config> = inputs.chain(hidden).collect();
    others.extend([SonarExperiment::Visible, SonarExperiment::Hidden].map(Config::tutorial));
    if !quick {
        for extreme in [(0.1, 0.99, 0.0), (0.1, 0.99, DECAY), (1.0, 0.9, 0.0), (1.0, 0.9, DECAY)] {
            let (lr, momentum, decay) = extreme;
            others.extend(sweep(training((lr, momentum, decay, 1.0)), &[0.0, 0.2, 0.5], &[Some(4.0)])?);
        }
    }
    Ok((sweeps, others))
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// The items of `all`, each once, in order.
fn distinct<T: PartialEq>(all: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out = Vec::new();
    for item in all {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// `rows`, each with its rank in the search's `results` and the tutorial's name for it.
fn print_table<'a>(results: &[TuningResult], rows: impl IntoIterator<Item = &'a TuningResult>) {
    for r in rows {
        let rank = results.iter().position(|s| s.config == r.config);
        let tutorial = r.config.tutorial_experiment().map(|e| format!("  [{e}]"));
        println!(
            "{:>4}. {r}{}",
            rank.map_or(0, |i| i + 1),
            tutorial.unwrap_or_default()
        );
    }
}

fn run(args: &Args) -> ndnet::Result<()> {
    let start = Instant::now();
    let data = sonar::load(args.data.as_deref())?;
    let repeats = args.repeats.unwrap_or(if args.quick { 1 } else { 3 });
    let (sweeps, others) = search_space(args.quick)?;
    let tutorial = SonarExperiment::ALL.map(Config::tutorial);
    let swept = sweeps.iter().flat_map(|s| &s.1);
    let configs = distinct(swept.chain(&others).chain(&tutorial).copied());

    let cv = CrossValidation::new(args.folds, args.seed).threads(args.threads);
    let search = Search::new(cv, repeats);
    let trainings = search.trainings(configs.len());
    let n = configs.len();
    println!(
        "{n} configurations × {repeats} repeats × {} folds",
        args.folds
    );
    let bar = common::Progress::new(trainings, "trainings", "search ");
    let results = search.run_with_progress(&configs, &data.x, &data.y, |_| bar.inc())?;
    bar.clear();
    let search_time = start.elapsed();
    std::fs::create_dir_all(&args.out_dir).map_err(|source| ndnet::Error::Io {
        path: args.out_dir.clone(),
        source,
    })?;
    let mut written = vec![args.out_dir.join("sonar_tuning.csv")];
    selection::write_csv(&results, &written[0])?;

    println!("\nTop {}, mean (std) accuracy over all folds:", args.top);
    print_table(&results, results.iter().take(args.top));
    let find = |set: &[TuningResult], c: &Config| set.iter().find(|r| r.config == *c).cloned();
    println!("\nThe tutorial's models:");
    print_table(
        &results,
        results.iter().filter(|r| tutorial.contains(&r.config)),
    );
    let base = tutorial[0];
    let baseline = find(&results, &base).expect("the baseline is searched");
    if repeats > 1 {
        let spread = baseline.repeat_spread() * 100.0;
        println!("\nThe baseline's repeat means span {spread:.2} points (noise between repeats).");
    }
    // Folds of a repeated CV share most training rows: the paired difference's standard error
    // is corrected for that.
    let best_dropout = results.iter().find(|r| r.config.has_dropout());
    if let Some(best) = best_dropout {
        let d = selection::paired_difference(best, &baseline)?;
        println!("\nThe best dropout configuration against the baseline, fold by fold: {d}");
    }

    if args.confirm > 0 {
        // The best of many noisy scores is biased upwards: score the top configurations and the
        // baseline again, on folds and seeds the search never used.
        let top = results.iter().take(args.confirm).chain(best_dropout);
        let chosen = distinct(top.map(|r| r.config).chain([base]));
        let fresh = Search::new(search.cv.advanced(CONFIRM_SEED_OFFSET), repeats);
        let bar = common::Progress::new(fresh.trainings(chosen.len()), "trainings", "confirm");
        let confirmed = fresh.run_with_progress(&chosen, &data.x, &data.y, |_| bar.inc())?;
        bar.clear();
        let (first, last) = (fresh.repeat_seed(0), fresh.repeat_seed(repeats - 1));
        println!("\nAgain on fresh folds (seeds {first}..={last}), with the search's ranks:");
        print_table(&results, &confirmed);
        let best = best_dropout.and_then(|r| find(&confirmed, &r.config));
        if let (Some(best), Some(b)) = (best, find(&confirmed, &base)) {
            let d = selection::paired_difference(&best, &b)?;
            println!("On fresh folds, that best dropout configuration against the baseline: {d}");
        }
        written.push(args.out_dir.join("sonar_tuning_confirm.csv"));
        selection::write_csv(&confirmed, &written[1])?;
    }
    written.extend(plot(&args.out_dir, &sweeps, &results, &baseline)?);
    let (search_s, total_s) = (search_time.as_secs_f64(), start.elapsed().as_secs_f64());
    println!("\n{trainings} trainings: search {search_s:.1} s, total {total_s:.1} s.");
    for path in written {
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// Mean accuracy against dropout rate: one panel per sweep, one line per max-norm setting, the
/// baseline as a dashed line in the band of its repeat means' std.
#[cfg(feature = "plot")]
fn plot(
    out_dir: &Path,
    sweeps: &[Sweep],
    results: &[TuningResult],
    baseline: &TuningResult,
) -> ndnet::Result<Option<PathBuf>> {
    use ndnet::experiments::max_norm_panel;
    use ndnet::plot::{DropoutPlot, Reference};

    let (repeats, folds) = (baseline.scores.len(), baseline.scores[0].len());
    let mut plot = DropoutPlot::new(format!("Sonar, {repeats} × {folds}-fold CV: mean accuracy"));
    for (title, configs) in sweeps {
        let mut own = results.to_vec();
        own.retain(|r| configs.contains(&r.config));
        let panel = max_norm_panel(title, &own, |c| Some(c.input_dropout));
        plot = plot.panel(panel.x_label("dropout rate on inputs and hidden layers"));
    }
    plot = plot.reference(Reference {
        label: "baseline".into(),
        value: baseline.mean * 100.0,
        band: baseline.repeat_std() * 100.0,
        band_label: "std of its CV repeat means".into(),
    });
    let path = out_dir.join("sonar_tuning.svg");
    plot.write_svg(&path)?;
    Ok(Some(path))
}

#[cfg(not(feature = "plot"))]
fn plot(
    _: &Path,
    _: &[Sweep],
    _: &[TuningResult],
    _: &TuningResult,
) -> ndnet::Result<Option<PathBuf>> {
    println!("\n(no plot: build with `--features plot` to write sonar_tuning.svg)");
    Ok(None)
}
