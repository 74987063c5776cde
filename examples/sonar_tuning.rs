//! Tuning dropout on the sonar data: the tutorial's closing tips as a grid search.
//!
//! Every configuration is scored by 3 × 10-fold stratified cross-validation (three shuffles of
//! the folds, seeds `seed`, `seed + 1`, `seed + 2`), all on the same folds with the same
//! per-fold seeds. The program prints the best configurations, where the tutorial's three
//! models rank, how much the CV repeats disagree, and whether the best dropout configuration
//! beats the baseline by more than that; it re-scores the top configurations on fresh folds
//! (the best of many noisy scores is optimistic), and writes the full table as CSV and, when
//! built with the `plot` feature, a plot of accuracy against dropout rate as SVG.
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

/// Dropout rates tried (the tutorial's tip: 20-50%, with 0 and 10% for reference).
const RATES: [f32; 6] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5];
/// Max-norm settings tried (the tutorial used 3; its tip: 4-5).
const MAX_NORMS: [Option<f32>; 4] = [None, Some(3.0), Some(4.0), Some(5.0)];
/// Decay per update with the large learning rate: over the 3,600 updates of 300 epochs it
/// takes SGD's rate from 0.1 (10× the baseline's) down to 0.0027, below the baseline's 0.01.
const DECAY: f32 = 1e-2;
/// Mean accuracy below which a configuration counts as not having learned (the baseline scores
/// about 85%; collapsed trainings predict one class, 53%).
const LEARNED: f64 = 0.8;
/// Seed offset of the confirmation run, far from the search's repeats.
const CONFIRM_SEED_OFFSET: u64 = 1000;

const HELP: &str = "\
sonar_tuning: tuning dropout on the sonar data, the tutorial's closing tips as a grid search.
Scores dropout rates and placements, max-norm, learning rate, momentum, decay and width by repeated
stratified cross-validation on shared folds, prints the best configurations and where the
tutorial's models rank, checks whether the best beats the baseline by more than the noise,
re-scores the top configurations on fresh folds, and writes the table as CSV (and an SVG plot
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

/// What a block varies, which decides how it is plotted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// One training setting; the same rate on inputs and hidden layers × max-norm.
    Sweep,
    /// Dropout on the inputs only or the hidden layers only, at one training setting.
    Placement,
    /// Several training settings at one max-norm.
    Extremes,
}

/// A part of the search.
struct Block {
    /// How the block is plotted.
    #[cfg_attr(not(feature = "plot"), allow(dead_code))]
    kind: Kind,
    title: String,
    /// The training setting (for `Extremes`, the first of several; for `Placement`, with its
    /// max-norm).
    #[cfg_attr(not(feature = "plot"), allow(dead_code))]
    setting: Config,
    configs: Vec<Config>,
}

/// Whether two configurations train the same way (all but dropout and max-norm agree).
#[cfg(feature = "plot")]
fn same_training(a: &Config, b: &Config) -> bool {
    let strip = |c: &Config| Config {
        input_dropout: 0.0,
        hidden_dropout: 0.0,
        max_norm: None,
        ..*c
    };
    strip(a) == strip(b)
}

/// The baseline's training: 300 epochs, batches of 16, width 1.
fn base() -> Config {
    Config::tutorial(SonarExperiment::Baseline)
}

/// `rates` on the inputs and the hidden layers alike, × `max_norms`, for one training setting.
fn sweep(setting: Config, rates: &[f32], max_norms: &[Option<f32>]) -> ndnet::Result<Vec<Config>> {
    let mut configs = Vec::new();
    for &rate in rates {
        configs.extend(
            ParamSpace {
                input_dropout: vec![rate],
                hidden_dropout: vec![rate],
                max_norm: max_norms.iter().copied().collect(),
                ..ParamSpace::from(setting)
            }
            .grid()?,
        );
    }
    Ok(configs)
}

/// The search: five blocks covering the tutorial's tips (see the README).
fn blocks(quick: bool) -> ndnet::Result<Vec<Block>> {
    let (rates, max_norms): (&[f32], &[Option<f32>]) = if quick {
        (&[0.0, 0.2, 0.4], &[None, Some(4.0)])
    } else {
        (&RATES, &MAX_NORMS)
    };
    let tutorial_sgd = Config {
        learning_rate: 0.1,
        momentum: 0.9,
        ..base()
    };
    let decayed = Config {
        decay: DECAY,
        ..tutorial_sgd
    };
    let mut settings = vec![
        (
            "SGD lr 0.01, momentum 0.8 (the baseline's)".to_owned(),
            base(),
        ),
        (
            "SGD lr 0.1, momentum 0.9 (the tutorial's dropout)".to_owned(),
            tutorial_sgd,
        ),
        (format!("SGD lr 0.1, momentum 0.9, decay {DECAY}"), decayed),
    ];
    if !quick {
        let wide = Config {
            width_multiplier: 2.0,
            ..decayed
        };
        settings.push((
            format!("SGD lr 0.1, momentum 0.9, decay {DECAY}, width ×2"),
            wide,
        ));
    }
    let mut blocks = Vec::new();
    for (title, setting) in settings {
        blocks.push(Block {
            kind: Kind::Sweep,
            title,
            setting,
            configs: sweep(setting, rates, max_norms)?,
        });
    }
    // Where the dropout goes: inputs only or hidden layers only (both is in the decay block), at
    // the tip's max-norm 4; and the tutorial's own Visible and Hidden models.
    let placed = Config {
        max_norm: Some(4.0),
        ..decayed
    };
    let placed_rates = rates[1..].iter().copied();
    let mut configs = ParamSpace {
        input_dropout: placed_rates.clone().collect(),
        ..ParamSpace::from(placed)
    }
    .grid()?;
    configs.extend(
        ParamSpace {
            hidden_dropout: placed_rates.collect(),
            ..ParamSpace::from(placed)
        }
        .grid()?,
    );
    configs.push(Config::tutorial(SonarExperiment::Visible));
    configs.push(Config::tutorial(SonarExperiment::Hidden));
    blocks.push(Block {
        kind: Kind::Placement,
        title: format!("Placement: lr 0.1, momentum 0.9, decay {DECAY}, max-norm 4"),
        setting: placed,
        configs,
    });
    if !quick {
        // The tips' extremes: momentum 0.99, or a learning rate 100× the baseline's.
        let mut configs = Vec::new();
        for (learning_rate, momentum) in [(0.1, 0.99), (1.0, 0.9)] {
            for decay in [0.0, DECAY] {
                let setting = Config {
                    learning_rate,
                    momentum,
                    decay,
                    ..base()
                };
                configs.extend(sweep(setting, &[0.0, 0.2, 0.5], &[Some(4.0)])?);
            }
        }
        blocks.push(Block {
            kind: Kind::Extremes,
            title: "Extremes: momentum 0.99 or lr 1.0, max-norm 4".into(),
            setting: configs[0],
            configs,
        });
    }
    Ok(blocks)
}

/// The configurations of all blocks, each once, in block order.
fn distinct(blocks: &[Block]) -> Vec<Config> {
    let mut configs: Vec<Config> = Vec::new();
    for c in blocks.iter().flat_map(|b| &b.configs) {
        if !configs.contains(c) {
            configs.push(*c);
        }
    }
    configs
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn progress_bar(total: usize, label: &str) -> common::Progress {
    common::Progress::new(total, "trainings", label)
}

fn pct(x: f64) -> String {
    format!("{:.2}", x * 100.0)
}

fn repeat_means(r: &TuningResult) -> String {
    let means: Vec<String> = r.repeat_means.iter().map(|&m| pct(m)).collect();
    means.join(" / ")
}

/// Results with bitwise the same fold scores whose configurations differ only in max-norm: the
/// constraint never bound, so they are one model. Reported as one row.
struct Group<'a> {
    /// 1-based rank of the first member.
    rank: usize,
    members: Vec<&'a TuningResult>,
}

impl Group<'_> {
    fn head(&self) -> &TuningResult {
        self.members[0]
    }

    fn contains(&self, c: &Config) -> bool {
        self.members.iter().any(|r| r.config == *c)
    }

    /// `in 0.3 hid 0.3 max-norm 3=4=5 w 1 lr 0.1 mom 0.9 decay 0.01`, with the epochs and batch
    /// size when they are not the tutorial's, and the tutorial's names of its members.
    fn label(&self) -> String {
        let max_norms: Vec<String> = self
            .members
            .iter()
            .map(|r| r.config.max_norm.map_or("none".into(), |m| m.to_string()))
            .collect();
        let c = &self.head().config;
        let mut text = format!(
            "in {} hid {} max-norm {} w {} lr {} mom {} decay {}",
            c.input_dropout,
            c.hidden_dropout,
            max_norms.join("="),
            c.width_multiplier,
            c.learning_rate,
            c.momentum,
            c.decay
        );
        if (c.epochs, c.batch_size) != (base().epochs, base().batch_size) {
            text += &format!(" epochs {} batch {}", c.epochs, c.batch_size);
        }
        for r in &self.members {
            if let Some(e) = r.config.tutorial_experiment() {
                text += &format!("  [tutorial: {e}]");
            }
        }
        text
    }
}

/// Groups `results` (sorted best first); groups are in the order of their best member.
fn group(results: &[TuningResult]) -> Vec<Group<'_>> {
    let same_but_max_norm = |a: &Config, b: &Config| {
        Config {
            max_norm: None,
            ..*a
        } == Config {
            max_norm: None,
            ..*b
        }
    };
    let mut groups: Vec<Group> = Vec::new();
    for (i, r) in results.iter().enumerate() {
        let home = groups.iter_mut().find(|g| {
            g.head().scores == r.scores && same_but_max_norm(&g.head().config, &r.config)
        });
        match home {
            Some(g) => g.members.push(r),
            None => groups.push(Group {
                rank: i + 1,
                members: vec![r],
            }),
        }
    }
    groups
}

fn print_table(groups: &[&Group]) {
    println!(
        "{:>5}  {:>15}  {:>21}  configuration",
        "rank", "mean ± std (%)", "repeat means (%)"
    );
    for g in groups {
        let r = g.head();
        println!(
            "{:>5}  {:>6} ± {:>5}  {:>21}  {}",
            g.rank,
            pct(r.mean),
            pct(r.std),
            repeat_means(r),
            g.label()
        );
    }
}

fn print_difference(what: &str, a: &TuningResult, b: &TuningResult) -> ndnet::Result<f64> {
    if a.config == b.config {
        println!("  {what}: the same configuration");
        return Ok(0.0);
    }
    let d = selection::paired_difference(a, b)?;
    println!(
        "  {what}: {:+.2} points (corrected paired SE {:.2}, t = {:.2})",
        d.mean * 100.0,
        d.corrected_se * 100.0,
        d.t()
    );
    Ok(d.mean)
}

fn run(args: &Args) -> ndnet::Result<()> {
    let start = Instant::now();
    let data = sonar::load(args.data.as_deref())?;
    let repeats = args.repeats.unwrap_or(if args.quick { 1 } else { 3 });
    let blocks = blocks(args.quick)?;
    let mut configs = distinct(&blocks);
    for e in SonarExperiment::ALL {
        let c = Config::tutorial(e);
        if !configs.contains(&c) {
            configs.push(c);
        }
    }
    let search = Search::new(
        CrossValidation::new(args.folds, args.seed).threads(args.threads),
        repeats,
    );
    println!(
        "{} rows from {}; {} configurations × {} repeats × {} folds = {} trainings",
        data.x.nrows(),
        data.path.display(),
        configs.len(),
        repeats,
        args.folds,
        search.trainings(configs.len())
    );

    let bar = progress_bar(search.trainings(configs.len()), "search ");
    let results = search.run_with_progress(&configs, &data.x, &data.y, |_| bar.inc())?;
    bar.clear();
    let search_time = start.elapsed();

    std::fs::create_dir_all(&args.out_dir).map_err(|e| ndnet::Error::Io {
        path: args.out_dir.clone(),
        source: e,
    })?;
    let csv_path = args.out_dir.join("sonar_tuning.csv");
    selection::write_csv(&results, &csv_path)?;

    let groups = group(&results);
    let group_of = |c: &Config| groups.iter().find(|g| g.contains(c));
    let baseline = group_of(&base())
        .expect("the baseline is always searched")
        .head();

    println!(
        "\n{} configurations give {} distinct results: configurations that differ only in \
         max-norm and score bitwise the same are one row (the constraint never bound).",
        results.len(),
        groups.len()
    );
    println!(
        "\nTop {} (accuracy over {} × {} folds):",
        args.top.min(groups.len()),
        repeats,
        args.folds
    );
    print_table(&groups.iter().take(args.top).collect::<Vec<_>>());

    println!("\nThe tutorial's models:");
    let tutorial: Vec<&Group> = SonarExperiment::ALL
        .into_iter()
        .filter_map(|e| group_of(&Config::tutorial(e)))
        .collect();
    print_table(&tutorial);

    println!("\nEach block's best, with and without dropout (mean %, search rank):");
    for block in &blocks {
        let best = |dropout: bool| {
            groups.iter().find(|g| {
                g.members
                    .iter()
                    .any(|r| block.configs.contains(&r.config) && r.config.has_dropout() == dropout)
            })
        };
        let show = |g: Option<&Group>| {
            g.map_or("-".to_owned(), |g| {
                format!("{} (rank {})", pct(g.head().mean), g.rank)
            })
        };
        println!(
            "  {:<58} with dropout {:<14} without {}",
            block.title,
            show(best(true)),
            show(best(false))
        );
    }

    let best_plain = groups.iter().find(|g| !g.head().config.has_dropout());
    let best_dropout = groups.iter().find(|g| g.head().config.has_dropout());
    println!(
        "\n{} configurations score below {:.0}% (training collapsed or was erratic), {} diverged.",
        results
            .iter()
            .filter(|r| r.mean.is_nan() || r.mean < LEARNED)
            .count(),
        LEARNED * 100.0,
        results.iter().filter(|r| r.diverged > 0).count()
    );

    // Noise between CV repeats: how much a configuration's mean moves when only the shuffling
    // of the folds and the seeds change.
    let learned: Vec<&TuningResult> = groups
        .iter()
        .map(|g| g.head())
        .filter(|r| r.mean >= LEARNED)
        .collect();
    let n_learned = learned.len().max(1) as f64;
    let pooled_std =
        (learned.iter().map(|r| r.repeat_std().powi(2)).sum::<f64>() / n_learned).sqrt();
    let mean_spread = learned.iter().map(|r| r.repeat_spread()).sum::<f64>() / n_learned;
    let noise = baseline.repeat_spread().max(mean_spread);
    println!("\nNoise between CV repeats:");
    if repeats > 1 {
        println!(
            "  baseline: repeat means {} %, spread {} points",
            repeat_means(baseline),
            pct(baseline.repeat_spread()),
        );
        println!(
            "  the {} distinct results above {:.0}%: mean spread of the repeat means {} points, \
             pooled std {} points",
            learned.len(),
            LEARNED * 100.0,
            pct(mean_spread),
            pct(pooled_std)
        );
        println!(
            "  repeat noise (the larger spread, baseline's or mean): {} points",
            pct(noise)
        );
    } else {
        println!("  (needs --repeats 2 or more)");
    }

    println!(
        "\nVerdict (paired over the same {} folds):",
        repeats * args.folds
    );
    if let Some(g) = best_dropout {
        let r = g.head();
        let gain = print_difference(
            &format!(
                "best dropout configuration (rank {}, {} %) vs baseline ({} %)",
                g.rank,
                pct(r.mean),
                pct(baseline.mean)
            ),
            r,
            baseline,
        )?;
        if repeats > 1 {
            println!(
                "  that is {} the repeat noise of {} points",
                if gain > noise { "more than" } else { "within" },
                pct(noise)
            );
        }
    }
    if let Some(g) = best_plain {
        print_difference(
            &format!(
                "best configuration without dropout (rank {}, {} %) vs baseline",
                g.rank,
                pct(g.head().mean)
            ),
            g.head(),
            baseline,
        )?;
    }
    if let (Some(d), Some(p)) = (best_dropout, best_plain) {
        print_difference("best dropout vs best without dropout", d.head(), p.head())?;
    }

    let mut written = vec![csv_path];
    if args.confirm > 0 {
        // The best of many noisy scores is biased upwards: score the top configurations, the
        // best without dropout and the baseline again, on folds and seeds the search never used.
        let mut chosen: Vec<Config> = groups
            .iter()
            .take(args.confirm)
            .map(|g| g.head().config)
            .collect();
        for g in [best_dropout, best_plain].into_iter().flatten() {
            if !chosen.contains(&g.head().config) {
                chosen.push(g.head().config);
            }
        }
        if !chosen.contains(&base()) {
            chosen.push(base());
        }
        let fresh = Search::new(search.cv.advanced(CONFIRM_SEED_OFFSET), repeats);
        let bar = progress_bar(fresh.trainings(chosen.len()), "confirm");
        let confirmed = fresh.run_with_progress(&chosen, &data.x, &data.y, |_| bar.inc())?;
        bar.clear();
        println!(
            "\nThe top {}, the best without dropout and the baseline again, on fresh folds \
             (seeds {}..={}), best first:",
            args.confirm,
            fresh.cv.seed,
            fresh.repeat_seed(repeats - 1)
        );
        println!(
            "{:>5}  {:>9}  {:>15}  {:>21}  configuration",
            "rank", "search %", "fresh mean ± std", "fresh repeat means"
        );
        let fresh_of = |c: &Config| confirmed.iter().find(|r| r.config == *c);
        for r in &confirmed {
            let Some(g) = group_of(&r.config) else {
                continue;
            };
            println!(
                "{:>5}  {:>9}  {:>6} ± {:>5}  {:>21}  {}",
                g.rank,
                pct(g.head().mean),
                pct(r.mean),
                pct(r.std),
                repeat_means(r),
                g.label()
            );
        }
        let fresh_baseline = fresh_of(&base());
        for (name, g) in [
            ("the search's best dropout configuration", best_dropout),
            ("the search's best without dropout", best_plain),
        ] {
            let (Some(g), Some(b)) = (g, fresh_baseline) else {
                continue;
            };
            if let Some(r) = fresh_of(&g.head().config) {
                print_difference(&format!("on fresh folds, {name} vs baseline"), r, b)?;
            }
        }
        let path = args.out_dir.join("sonar_tuning_confirm.csv");
        selection::write_csv(&confirmed, &path)?;
        written.push(path);
    }

    let band = if repeats > 1 { pooled_std } else { 0.0 };
    if let Some(path) = plot(&args.out_dir, &blocks, &results, baseline, band)? {
        written.push(path);
    }
    println!(
        "\n{} configurations, {} trainings: search {:.1} s, total {:.1} s.",
        configs.len(),
        search.trainings(configs.len()),
        search_time.as_secs_f64(),
        start.elapsed().as_secs_f64()
    );
    for path in written {
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// Mean accuracy against dropout rate: one panel per block, one line per max-norm setting.
#[cfg(feature = "plot")]
fn plot(
    out_dir: &Path,
    blocks: &[Block],
    results: &[TuningResult],
    baseline: &TuningResult,
    band: f64,
) -> ndnet::Result<Option<PathBuf>> {
    use ndnet::experiments::{max_norm_panel, results_line};
    use ndnet::plot::{DropoutPlot, Line, Panel, Reference};

    // The shared axis fits the configurations that learned; collapsed ones sit on it as
    // crosses, except in the panels about collapse, which show the whole range.
    let learned = results.iter().filter(|r| r.mean >= LEARNED);
    let (low, high) = learned.fold((f64::MAX, f64::MIN), |(l, h), r| {
        (l.min(r.mean * 100.0), h.max(r.mean * 100.0))
    });
    let base_pct = baseline.mean * 100.0;
    let (low, high) = (
        low.min(base_pct - band * 100.0).floor() - 1.0,
        high.max(base_pct).ceil() + 1.0,
    );
    let same_rate = |c: &Config| (c.input_dropout == c.hidden_dropout).then_some(c.input_dropout);

    let mut plot = DropoutPlot::new(format!(
        "Sonar, {} × {}-fold stratified CV: mean accuracy against dropout rate",
        baseline.repeat_means.len(),
        baseline.scores.first().map_or(0, Vec::len)
    ));
    for block in blocks {
        let setting = &block.setting;
        let panel = match block.kind {
            Kind::Sweep => {
                let own: Vec<TuningResult> = results
                    .iter()
                    .filter(|r| same_training(&r.config, setting))
                    .cloned()
                    .collect();
                let panel = max_norm_panel(&block.title, &own, same_rate)
                    .x_label("dropout rate on inputs and hidden layers");
                let collapses = own.iter().any(|r| r.mean < LEARNED);
                if collapses {
                    panel.y_range(48.0, high)
                } else {
                    panel
                }
            }
            Kind::Placement => {
                let here = |c: &Config| same_training(c, setting) && c.max_norm == setting.max_norm;
                let line = |label: &str, rate: &dyn Fn(&Config) -> Option<f32>| {
                    results_line(label, results, |c| if here(c) { rate(c) } else { None })
                };
                let mut panel = Panel::new(&block.title)
                    .line(line("inputs only", &|c| {
                        (c.hidden_dropout == 0.0).then_some(c.input_dropout)
                    }))
                    .line(line("hidden layers only", &|c| {
                        (c.input_dropout == 0.0).then_some(c.hidden_dropout)
                    }))
                    .line(line("inputs and hidden", &same_rate));
                for e in [SonarExperiment::Visible, SonarExperiment::Hidden] {
                    let c = Config::tutorial(e);
                    if let Some(r) = results.iter().find(|r| r.config == c) {
                        let rate = f64::from(c.input_dropout.max(c.hidden_dropout));
                        let label = format!("tutorial's {e} (no decay, max-norm 3)");
                        panel = panel.line(Line::new(label, vec![(rate, r.mean * 100.0)]));
                    }
                }
                panel
            }
            Kind::Extremes => {
                let mut panel = Panel::new(&block.title)
                    .y_range(48.0, high)
                    .x_label("dropout rate on inputs and hidden layers");
                let mut settings: Vec<Config> = Vec::new();
                for c in &block.configs {
                    if !settings.iter().any(|s| same_training(s, c)) {
                        settings.push(*c);
                    }
                }
                for s in settings {
                    let label = format!(
                        "lr {}, momentum {}, decay {}",
                        s.learning_rate, s.momentum, s.decay
                    );
                    panel = panel.line(results_line(label, results, |c| {
                        if same_training(c, &s) && c.max_norm == s.max_norm {
                            same_rate(c)
                        } else {
                            None
                        }
                    }));
                }
                panel
            }
        };
        plot = plot.panel(panel);
    }
    plot = plot.y_range(low, high).reference(Reference {
        label: "baseline".into(),
        value: base_pct,
        band: band * 100.0,
        band_label: "pooled std of the CV repeat means".into(),
    });
    let path = out_dir.join("sonar_tuning.svg");
    plot.write_svg(&path)?;
    Ok(Some(path))
}

#[cfg(not(feature = "plot"))]
fn plot(
    _out_dir: &Path,
    _blocks: &[Block],
    _results: &[TuningResult],
    _baseline: &TuningResult,
    _band: f64,
) -> ndnet::Result<Option<PathBuf>> {
    println!(
        "\n(no plot: build with `--features plot` to write sonar_tuning.svg, e.g.\n  \
         cargo run --release --features plot --example sonar_tuning)"
    );
    Ok(None)
}
