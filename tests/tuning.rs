//! The hyper-parameter search: parameter spaces, the search itself, comparisons and CSV output.

mod common;

use std::sync::Mutex;

use ndarray::Array2;
use ndnet::Error;
use ndnet::experiments::{Config, ParamSpace, SonarExperiment};
use ndnet::selection::{
    Candidate, CrossValidation, Progress, Search, TuningResult, paired_difference, write_csv,
    write_csv_to,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Normal};

/// Two overlapping Gaussian blobs in 60 dimensions, `rows / 2` rows each (class 0 first), so that
/// configurations score differently but well above chance.
fn blobs(rows: usize, seed: u64) -> (Array2<f32>, Array2<f32>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let noise = Normal::new(0.0f32, 1.0).unwrap();
    let x = Array2::from_shape_fn((rows, 60), |(i, _)| {
        let centre = if i < rows / 2 { -0.25 } else { 0.25 };
        centre + noise.sample(&mut rng)
    });
    let y = Array2::from_shape_fn((rows, 1), |(i, _)| if i < rows / 2 { 0.0 } else { 1.0 });
    (x, y)
}

/// A few quick configurations: short training, different dropout and constraints.
fn quick_configs() -> Vec<Config> {
    ParamSpace {
        input_dropout: vec![0.0, 0.3],
        max_norm: vec![None, Some(0.1)],
        learning_rate: vec![0.05],
        momentum: vec![0.9],
        epochs: vec![8],
        batch_size: vec![8],
        ..ParamSpace::default()
    }
    .grid()
    .unwrap()
}

fn message(e: Error) -> String {
    e.to_string()
}

// ---------------------------------------------------------------------------------------------
// ParamSpace
// ---------------------------------------------------------------------------------------------

#[test]
fn the_default_space_is_the_tutorial_baseline_alone() {
    let grid = ParamSpace::default().grid().unwrap();
    assert_eq!(grid, vec![Config::tutorial(SonarExperiment::Baseline)]);
    assert_eq!(
        Config::default(),
        Config::tutorial(SonarExperiment::Baseline)
    );
}

#[test]
fn grid_size_is_the_product_of_the_list_lengths() {
    let space = ParamSpace {
        input_dropout: vec![0.0, 0.2],
        hidden_dropout: vec![0.0, 0.2, 0.5],
        max_norm: vec![None, Some(3.0), Some(4.0), Some(5.0)],
        width_multiplier: vec![1.0, 2.0],
        learning_rate: vec![0.01, 0.1],
        momentum: vec![0.8, 0.9, 0.99],
        decay: vec![0.0, 1e-3],
        epochs: vec![100, 300],
        batch_size: vec![16, 32],
    };
    let expected = 2 * 3 * 4 * 2 * 2 * 3 * 2 * 2 * 2;
    assert_eq!(space.len(), expected);
    let grid = space.grid().unwrap();
    assert_eq!(grid.len(), expected);
    // Every point is distinct.
    for (i, c) in grid.iter().enumerate() {
        assert!(!grid[..i].contains(c), "point {i} ({c}) appears twice");
    }
}

#[test]
fn grid_varies_the_last_field_fastest() {
    let space = ParamSpace {
        input_dropout: vec![0.0, 0.5],
        batch_size: vec![16, 32],
        ..ParamSpace::default()
    };
    let grid = space.grid().unwrap();
    let pairs: Vec<(f32, usize)> = grid
        .iter()
        .map(|c| (c.input_dropout, c.batch_size))
        .collect();
    assert_eq!(pairs, vec![(0.0, 16), (0.0, 32), (0.5, 16), (0.5, 32)]);
}

#[test]
fn random_sampling_is_deterministic_per_seed_and_draws_distinct_grid_points() {
    let space = ParamSpace {
        input_dropout: vec![0.0, 0.1, 0.2, 0.3, 0.4, 0.5],
        hidden_dropout: vec![0.0, 0.1, 0.2, 0.3, 0.4, 0.5],
        max_norm: vec![None, Some(3.0), Some(4.0), Some(5.0)],
        ..ParamSpace::default()
    };
    let grid = space.grid().unwrap();
    let a = space.random(20, 11).unwrap();
    assert_eq!(a, space.random(20, 11).unwrap(), "same seed, same sample");
    assert_ne!(
        a,
        space.random(20, 12).unwrap(),
        "another seed, another sample"
    );
    assert_eq!(a.len(), 20);
    let positions: Vec<usize> = a
        .iter()
        .map(|c| grid.iter().position(|g| g == c).expect("a grid point"))
        .collect();
    // Distinct, and in grid order.
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    // The whole grid is a valid sample.
    assert_eq!(space.random(grid.len(), 5).unwrap(), grid);
}

#[test]
fn random_rejects_zero_or_more_points_than_the_grid() {
    let space = ParamSpace {
        input_dropout: vec![0.0, 0.2],
        ..ParamSpace::default()
    };
    let e = message(space.random(3, 1).unwrap_err());
    assert!(e.contains("size of the grid (2)"), "{e}");
    assert!(space.random(0, 1).is_err());
}

#[test]
fn invalid_spaces_are_rejected_naming_the_list_and_the_value() {
    let base = ParamSpace::default;
    let cases: Vec<(ParamSpace, &str, &str)> = vec![
        (
            ParamSpace {
                input_dropout: vec![],
                ..base()
            },
            "input_dropout",
            "at least one value",
        ),
        (
            ParamSpace {
                hidden_dropout: vec![0.2, 1.0],
                ..base()
            },
            "hidden_dropout = 1",
            "[0, 1)",
        ),
        (
            ParamSpace {
                input_dropout: vec![-0.1],
                ..base()
            },
            "input_dropout = -0.1",
            "[0, 1)",
        ),
        (
            ParamSpace {
                input_dropout: vec![f32::NAN],
                ..base()
            },
            "input_dropout = NaN",
            "[0, 1)",
        ),
        (
            ParamSpace {
                max_norm: vec![Some(0.0)],
                ..base()
            },
            "max_norm = 0",
            "greater than 0",
        ),
        (
            ParamSpace {
                max_norm: vec![],
                ..base()
            },
            "max_norm",
            "at least one value",
        ),
        (
            ParamSpace {
                width_multiplier: vec![0.0],
                ..base()
            },
            "width_multiplier = 0",
            "greater than 0",
        ),
        (
            ParamSpace {
                width_multiplier: vec![0.001],
                ..base()
            },
            "width_multiplier = 0.001",
            "0 units",
        ),
        (
            ParamSpace {
                learning_rate: vec![0.0],
                ..base()
            },
            "learning_rate = 0",
            "greater than 0",
        ),
        (
            ParamSpace {
                momentum: vec![1.0],
                ..base()
            },
            "momentum = 1",
            "[0, 1)",
        ),
        (
            ParamSpace {
                decay: vec![-1e-3],
                ..base()
            },
            "decay = -0.001",
            "at least 0",
        ),
        (
            ParamSpace {
                epochs: vec![0],
                ..base()
            },
            "epochs = 0",
            "at least 1",
        ),
        (
            ParamSpace {
                batch_size: vec![16, 0],
                ..base()
            },
            "batch_size = 0",
            "at least 1",
        ),
        (
            ParamSpace {
                hidden_dropout: vec![0.2, 0.5, 0.2],
                ..base()
            },
            "hidden_dropout = 0.2",
            "listed twice",
        ),
    ];
    for (space, what, why) in cases {
        let e = space.grid().expect_err(what);
        assert!(matches!(e, Error::InvalidParameter { .. }), "{what}: {e:?}");
        let text = e.to_string();
        assert!(text.contains("ParamSpace"), "{text}");
        assert!(text.contains(what), "expected `{what}` in: {text}");
        assert!(text.contains(why), "expected `{why}` in: {text}");
        assert!(
            space.random(1, 0).is_err(),
            "random must validate too: {what}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------------------------

#[test]
fn tutorial_configs_build_the_tutorial_models_layer_for_layer() {
    // SonarExperiment::build writes the tutorial's add chains; the family's Config must build
    // the same layers, optimizer and loss, and so the same weights from the same seed.
    let x = ndarray::Array2::from_shape_fn((5, 60), |(i, j)| ((i * 13 + j * 7) % 11) as f32 - 5.0);
    for e in SonarExperiment::ALL {
        let config = Config::tutorial(e);
        assert_eq!(config.tutorial_experiment(), Some(e));
        let (mut ours, mut theirs) = (config.build().unwrap(), e.build().unwrap());
        assert_eq!(ours.layer_names(), theirs.layer_names(), "{e}");
        assert_eq!(ours.param_count(), theirs.param_count(), "{e}");
        let optimizer = |m: &ndnet::Sequential| format!("{:?}", m.optimizer().unwrap().config());
        assert_eq!(optimizer(&ours), optimizer(&theirs), "{e}");
        assert!(optimizer(&ours).starts_with("Some("), "{e}: a saveable SGD");
        let loss = |m: &ndnet::Sequential| m.loss().unwrap().name();
        assert_eq!(loss(&ours), loss(&theirs), "{e}");
        ours.set_seed(3);
        theirs.set_seed(3);
        assert_eq!(
            ours.predict(&x).unwrap(),
            theirs.predict(&x).unwrap(),
            "{e}"
        );
        let ours: Vec<_> = ours.layers().iter().map(|l| l.config()).collect();
        let theirs: Vec<_> = theirs.layers().iter().map(|l| l.config()).collect();
        assert_eq!(format!("{ours:?}"), format!("{theirs:?}"), "{e}");
    }
}

#[test]
fn the_tutorial_chains_have_the_tutorials_layers() {
    // Hand-written from the tutorial: 60 inputs, Dense 60 and 30 (ReLU), Dense 1 (sigmoid),
    // dropout 0.2 on the inputs (Visible) or after each hidden layer (Hidden).
    let expected = [
        (SonarExperiment::Baseline, vec!["Dense", "Dense", "Dense"]),
        (
            SonarExperiment::Visible,
            vec!["Dropout", "Dense", "Dense", "Dense"],
        ),
        (
            SonarExperiment::Hidden,
            vec!["Dense", "Dropout", "Dense", "Dropout", "Dense"],
        ),
    ];
    for (e, kinds) in expected {
        let m = e.build().unwrap();
        let found: Vec<&str> = m.layers().iter().map(|l| l.kind()).collect();
        assert_eq!(found, kinds, "{e}");
        assert_eq!(m.param_count(), 60 * 60 + 60 + 60 * 30 + 30 + 30 + 1, "{e}");
    }
}

#[test]
fn a_config_builds_60_w_then_30_w_hidden_units_and_no_layer_for_rate_0() {
    let config = Config {
        input_dropout: 0.0,
        hidden_dropout: 0.3,
        width_multiplier: 2.0,
        ..Config::default()
    };
    assert_eq!(config.hidden_units(), [120, 60]);
    let model = config.build().unwrap();
    // dense, dropout, dense, dropout, dense: no input dropout layer.
    assert_eq!(model.layers().len(), 5);
    assert_eq!(
        model.param_count(),
        60 * 120 + 120 + 120 * 60 + 60 + 60 + 1,
        "60 → 120 → 60 → 1"
    );
    assert!(config.has_dropout());
    assert!(!Config::default().has_dropout());
}

#[test]
fn an_invalid_config_does_not_build() {
    let e = message(
        Config {
            momentum: 1.5,
            ..Config::default()
        }
        .build()
        .unwrap_err(),
    );
    assert!(e.contains("momentum = 1.5"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Search
// ---------------------------------------------------------------------------------------------

#[test]
fn a_search_returns_one_result_per_config_sorted_by_mean_descending() {
    let (x, y) = blobs(36, 1);
    let configs = quick_configs();
    let results = Search::new(CrossValidation::new(3, 5), 2)
        .run(&configs, &x, &y)
        .unwrap();
    assert_eq!(results.len(), configs.len());
    // Best first; equal means keep the input order.
    assert!(
        results
            .windows(2)
            .all(|w| w[0].mean > w[1].mean || (w[0].mean == w[1].mean && w[0].index < w[1].index)),
        "{:?}",
        results
            .iter()
            .map(|r| (r.index, r.mean))
            .collect::<Vec<_>>()
    );
    let mut indices: Vec<usize> = results.iter().map(|r| r.index).collect();
    indices.sort_unstable();
    assert_eq!(indices, vec![0, 1, 2, 3]);
    for r in &results {
        assert_eq!(r.config, configs[r.index]);
        assert_eq!(r.scores.len(), 2, "repeats");
        assert!(r.scores.iter().all(|s| s.len() == 3), "folds");
        assert_eq!(r.diverged, 0);
        // mean and population std over all 6 folds; repeat means over each repeat's 3.
        let all: Vec<f64> = r.all_scores().map(f64::from).collect();
        let mean = all.iter().sum::<f64>() / 6.0;
        let var = all.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / 6.0;
        assert!((r.mean - mean).abs() < 1e-12);
        assert!((r.std - var.sqrt()).abs() < 1e-12);
        for (rep, m) in r.scores.iter().zip(&r.repeat_means) {
            let expected = rep.iter().map(|&s| f64::from(s)).sum::<f64>() / 3.0;
            assert!((m - expected).abs() < 1e-12);
        }
    }
    // The blobs are learnable: the best configuration is well above chance.
    assert!(results[0].mean > 0.7, "best mean {}", results[0].mean);
}

#[test]
fn a_search_is_bitwise_reproducible_across_runs_and_thread_counts() {
    let (x, y) = blobs(36, 2);
    let configs = quick_configs();
    let run = |threads| {
        Search::new(CrossValidation::new(3, 9).threads(threads), 2)
            .run(&configs, &x, &y)
            .unwrap()
    };
    let one = run(1);
    assert_eq!(one, run(1), "two runs on one thread");
    assert_eq!(one, run(2), "one thread vs two");
}

#[test]
fn every_config_is_scored_on_the_cross_validation_folds_of_each_repeat_seed() {
    // Repeat r of Search::new(CrossValidation::new(k, seed), _) is CrossValidation::new(k, seed +
    // r): same folds, same
    // per-fold seeds, hence bitwise the same scores, for every configuration.
    let (x, y) = blobs(36, 3);
    let configs = quick_configs();
    let results = Search::new(CrossValidation::new(3, 40), 2)
        .run(&configs, &x, &y)
        .unwrap();
    for r in &results {
        for (repeat, scores) in r.scores.iter().enumerate() {
            let cv = CrossValidation::new(3, 40 + repeat as u64).threads(1);
            let expected = cv
                .score(|| r.config.build(), &x, &y, &r.config.fit_options())
                .unwrap();
            assert_eq!(
                scores, &expected.scores,
                "config {}, repeat {repeat}",
                r.index
            );
        }
    }
}

#[test]
fn the_tutorial_configs_score_what_the_tutorial_models_score() {
    let (x, y) = blobs(30, 4);
    let short = |e: SonarExperiment| Config {
        epochs: 5,
        ..Config::tutorial(e)
    };
    let configs: Vec<Config> = SonarExperiment::ALL.into_iter().map(short).collect();
    let results = Search::new(CrossValidation::new(3, 3), 1)
        .run(&configs, &x, &y)
        .unwrap();
    for e in SonarExperiment::ALL {
        let r = results.iter().find(|r| r.config == short(e)).unwrap();
        let fit = short(e).fit_options();
        let expected = CrossValidation::new(3, 3)
            .score(|| e.build(), &x, &y, &fit)
            .unwrap();
        assert_eq!(r.scores[0], expected.scores, "{e}");
    }
}

#[test]
fn the_progress_callback_counts_every_fold_training() {
    let (x, y) = blobs(30, 5);
    let configs = &quick_configs()[..2];
    let seen = Mutex::new(Vec::new());
    let search = Search::new(CrossValidation::new(3, 1), 2);
    assert_eq!(search.trainings(configs.len()), 12);
    search
        .run_with_progress(configs, &x, &y, |p: Progress| seen.lock().unwrap().push(p))
        .unwrap();
    let mut seen = seen.into_inner().unwrap();
    seen.sort_by_key(|p| p.done);
    let done: Vec<usize> = seen.iter().map(|p| p.done).collect();
    assert_eq!(done, (1..=12).collect::<Vec<_>>());
    assert!(seen.iter().all(|p| p.total == 12));
}

#[test]
fn a_diverged_config_is_recorded_and_sorted_last_not_an_error() {
    let (x, y) = blobs(30, 6);
    let configs = [
        // A learning rate of 1e30 overflows the weights on the first updates.
        Config {
            learning_rate: 1e30,
            momentum: 0.0,
            epochs: 3,
            ..Config::default()
        },
        Config {
            epochs: 3,
            ..Config::default()
        },
    ];
    let results = Search::new(CrossValidation::new(3, 1), 1)
        .run(&configs, &x, &y)
        .unwrap();
    assert_eq!(results[0].index, 1);
    assert_eq!(results[1].index, 0);
    assert_eq!(results[1].diverged, 3);
    assert!(results[1].mean.is_nan());
}

/// A candidate of another family: a single hidden layer of `units` units.
#[derive(Debug, Clone, PartialEq)]
struct OneHidden {
    units: usize,
    learning_rate: f32,
}

impl std::fmt::Display for OneHidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} units, lr {}", self.units, self.learning_rate)
    }
}

impl Candidate for OneHidden {
    fn build(&self, input_dim: usize) -> ndnet::Result<ndnet::Sequential> {
        use ndnet::prelude::*;
        let mut m = Sequential::new(input_dim);
        m.add(Dense::new(self.units).activation(Activation::Relu))?;
        m.add(Dense::new(1).activation(Activation::Sigmoid))?;
        m.compile(BinaryCrossentropy, Sgd::new(self.learning_rate))?;
        Ok(m)
    }

    fn fit_options(&self) -> ndnet::FitOptions<'static> {
        ndnet::FitOptions {
            epochs: 3,
            batch_size: 16,
            ..Default::default()
        }
    }
}

#[test]
fn a_search_over_another_candidate_type_builds_its_models() {
    // Any Candidate can be searched; here a single hidden layer for the data's 60 inputs.
    let (x, y) = blobs(30, 7);
    let candidates = [OneHidden {
        units: 8,
        learning_rate: 0.01,
    }];
    let results = Search::new(CrossValidation::new(3, 1), 1)
        .run(&candidates, &x, &y)
        .unwrap();
    assert_eq!(results[0].scores[0].len(), 3);
    assert_eq!(results[0].config, candidates[0]);
}

/// A candidate whose models cannot be built.
#[derive(Debug, Clone)]
struct Failing;

impl std::fmt::Display for Failing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("failing")
    }
}

impl Candidate for Failing {
    fn build(&self, _: usize) -> ndnet::Result<ndnet::Sequential> {
        Err(Error::InvalidState("no model today".into()))
    }

    fn fit_options(&self) -> ndnet::FitOptions<'static> {
        ndnet::FitOptions::default()
    }
}

#[test]
fn searches_reject_bad_input_with_clear_messages() {
    let (x, y) = blobs(30, 8);
    let none: [Config; 0] = [];
    let e = message(
        Search::new(CrossValidation::new(3, 1), 1)
            .run(&none, &x, &y)
            .unwrap_err(),
    );
    assert!(e.contains("at least one configuration"), "{e}");

    let bad = Config {
        hidden_dropout: 1.0,
        ..Config::default()
    };
    let e = Search::new(CrossValidation::new(3, 1), 1)
        .run(&[Config::default(), bad], &x, &y)
        .unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { .. }), "{e:?}");
    let e = e.to_string();
    assert!(e.contains("configuration 1"), "{e}");
    assert!(e.contains("hidden_dropout = 1"), "{e}");

    let e = message(
        Search::new(CrossValidation::new(3, 1), 0)
            .run(&[Config::default()], &x, &y)
            .unwrap_err(),
    );
    assert!(e.contains("repeats"), "{e}");

    let e = message(
        Search::new(CrossValidation::new(1, 1), 1)
            .run(&[Config::default()], &x, &y)
            .unwrap_err(),
    );
    assert!(e.contains("n_splits"), "{e}");

    let short_y = y.slice(ndarray::s![..20, ..]).to_owned();
    let e = Search::new(CrossValidation::new(3, 1), 1)
        .run(&[Config::default()], &x, &short_y)
        .unwrap_err();
    assert!(matches!(e, Error::RowCountMismatch { .. }), "{e:?}");

    // A candidate's build error names the configuration, repeat and fold.
    let e = message(
        Search::new(CrossValidation::new(3, 1).threads(1), 1)
            .run(&[Failing], &x, &y)
            .unwrap_err(),
    );
    assert!(e.contains("configuration 0"), "{e}");
    assert!(e.contains("no model today"), "{e}");
}

#[test]
fn the_search_function_scores_the_grid() {
    let (x, y) = blobs(30, 9);
    let space = ParamSpace {
        hidden_dropout: vec![0.0, 0.2],
        epochs: vec![4],
        ..ParamSpace::default()
    };
    let results = ndnet::experiments::search(&space, &x, &y, 3, 1, 2).unwrap();
    let expected = Search::new(CrossValidation::new(3, 2), 1)
        .run(&space.grid().unwrap(), &x, &y)
        .unwrap();
    assert_eq!(results, expected);
}

// ---------------------------------------------------------------------------------------------
// Comparing and writing results
// ---------------------------------------------------------------------------------------------

fn result(index: usize, scores: Vec<Vec<f32>>) -> TuningResult<Config> {
    let all: Vec<f64> = scores.iter().flatten().map(|&s| f64::from(s)).collect();
    let mean = all.iter().sum::<f64>() / all.len() as f64;
    TuningResult {
        index,
        config: Config::default(),
        mean,
        std: 0.0,
        repeat_means: scores
            .iter()
            .map(|r| r.iter().map(|&s| f64::from(s)).sum::<f64>() / r.len() as f64)
            .collect(),
        scores,
        diverged: 0,
    }
}

#[test]
fn paired_difference_uses_the_corrected_standard_error() {
    // Differences 0.5 and 0 over one repeat of 2 folds: mean 0.25, sample variance
    // (0.25² + 0.25²) / 1 = 0.125; corrected SE = sqrt((1/2 + 1/(2-1)) · 0.125) = sqrt(0.1875).
    let a = result(0, vec![vec![1.0, 0.5]]);
    let b = result(1, vec![vec![0.5, 0.5]]);
    let d = paired_difference(&a, &b).unwrap();
    assert_eq!(d.n, 2);
    assert!((d.mean - 0.25).abs() < 1e-12);
    assert!((d.std - 0.125f64.sqrt()).abs() < 1e-12);
    assert!((d.corrected_se - 0.1875f64.sqrt()).abs() < 1e-12);
    assert!((d.t() - 0.25 / 0.1875f64.sqrt()).abs() < 1e-12);
    // In points: +25.00, SE 100 · sqrt(0.1875) = 43.30, t = 0.25 / 0.4330 = 0.58.
    assert_eq!(
        d.to_string(),
        "+25.00 points (corrected paired SE 43.30, t = 0.58)"
    );

    let c = result(2, vec![vec![1.0, 0.5, 0.5]]);
    assert!(matches!(
        paired_difference(&a, &c),
        Err(Error::ShapeMismatch { .. })
    ));
}

#[test]
fn a_result_prints_its_mean_std_repeat_means_and_config() {
    // Scores 1, 0.5 | 0.5, 0.5: mean 0.625, repeat means 0.75 and 0.5 (std as given, 0).
    let r = result(0, vec![vec![1.0, 0.5], vec![0.5, 0.5]]);
    assert_eq!(
        r.to_string(),
        "62.50% (0.00%), repeat means 75.00 / 50.00: \
         in 0 hid 0 maxnorm none w 1 lr 0.01 mom 0.8 decay 0 ep 300 bs 16"
    );
    let one = result(0, vec![vec![1.0, 0.5]]);
    assert!(
        one.to_string().starts_with("75.00% (0.00%): in 0 hid 0"),
        "{one}"
    );
}

#[test]
fn repeat_noise_is_the_spread_of_the_repeat_means() {
    // Repeat means 0.8, 0.9 and 0.85: population std sqrt((0.05² + 0.05² + 0) / 3).
    let r = result(0, vec![vec![0.8, 0.8], vec![0.9, 0.9], vec![0.85, 0.85]]);
    assert!((r.repeat_spread() - 0.1).abs() < 1e-6);
    let expected = ((0.05f64.powi(2) * 2.0) / 3.0).sqrt();
    assert!((r.repeat_std() - expected).abs() < 1e-6);
}

#[test]
fn the_csv_has_a_header_and_one_row_per_config_that_parse_back() {
    let (x, y) = blobs(30, 10);
    let mut configs = quick_configs();
    // The tutorial's models train for 300 epochs: a few milliseconds on 20 rows.
    configs.push(Config::tutorial(SonarExperiment::Visible));
    configs.push(Config::tutorial(SonarExperiment::Hidden));
    let results = Search::new(CrossValidation::new(3, 3), 2)
        .run(&configs, &x, &y)
        .unwrap();
    let dir = common::tempdir().unwrap();
    let path = dir.path().join("results.csv");
    write_csv(&results, &path).unwrap();

    // No field needs quoting (numbers, names and empty cells): split on commas.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains('"'), "{text}");
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let expected_header = [
        "rank",
        "mean",
        "std",
        "repeat_std",
        "diverged_folds",
        "input_dropout",
        "hidden_dropout",
        "max_norm",
        "width_multiplier",
        "learning_rate",
        "momentum",
        "decay",
        "epochs",
        "batch_size",
        "tutorial",
        "repeat_1",
        "repeat_2",
        "r1_f1",
        "r1_f2",
        "r1_f3",
        "r2_f1",
        "r2_f2",
        "r2_f3",
    ];
    assert_eq!(header, expected_header);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(rows.iter().all(|r| r.len() == header.len()));
    assert_eq!(rows.len(), configs.len());
    for (rank, (row, r)) in rows.iter().zip(&results).enumerate() {
        let num = |name: &str| row[col(name)].parse::<f64>().unwrap();
        assert_eq!(row[col("rank")].parse::<usize>().unwrap(), rank + 1);
        // Shortest round-trip formatting: the numbers come back exactly.
        assert_eq!(num("mean"), r.mean);
        assert_eq!(num("std"), r.std);
        assert_eq!(num("repeat_2"), r.repeat_means[1]);
        assert_eq!(num("r2_f3") as f32, r.scores[1][2]);
        let c = &r.config;
        assert_eq!(num("input_dropout") as f32, c.input_dropout);
        assert_eq!(num("learning_rate") as f32, c.learning_rate);
        assert_eq!(num("epochs") as usize, c.epochs);
        let max_norm = row[col("max_norm")];
        match c.max_norm {
            None => assert_eq!(max_norm, ""),
            Some(m) => assert_eq!(max_norm.parse::<f32>().unwrap(), m),
        }
        let tutorial = row[col("tutorial")];
        assert_eq!(
            tutorial,
            c.tutorial_experiment().map_or("", |e| e.name()),
            "row {rank}"
        );
    }
    let mut named: Vec<&str> = rows.iter().map(|r| r[col("tutorial")]).collect();
    named.retain(|n| !n.is_empty());
    named.sort_unstable();
    assert_eq!(named, vec!["Hidden", "Visible"]);
}

#[test]
fn write_csv_refuses_results_of_different_shapes() {
    let a = result(0, vec![vec![1.0, 0.5]]);
    let b = result(1, vec![vec![1.0, 0.5, 0.5]]);
    let mut out = Vec::new();
    let e = write_csv_to(&[a, b], &mut out).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e:?}");
}

#[test]
fn write_csv_names_the_file_it_cannot_create() {
    let dir = common::tempdir().unwrap();
    let path = dir.path().join("missing").join("results.csv");
    let e = write_csv(&[result(0, vec![vec![1.0, 0.5]])], &path).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
    assert!(e.to_string().contains("missing"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Plots (feature `plot`)
// ---------------------------------------------------------------------------------------------

#[cfg(feature = "plot")]
mod plot {
    use super::*;
    use ndnet::experiments::max_norm_panel;
    use ndnet::plot::{DropoutPlot, Line, Panel, Reference};

    fn with(config: Config, mean: f64) -> TuningResult<Config> {
        TuningResult {
            config,
            mean,
            ..result(0, vec![vec![mean as f32]])
        }
    }

    #[test]
    fn max_norm_panel_draws_one_line_per_distinct_setting_none_first_at_the_best_mean_per_rate() {
        let c = |rate: f32, max_norm: Option<f32>, width: f32| Config {
            input_dropout: rate,
            max_norm,
            width_multiplier: width,
            ..Config::default()
        };
        let results = vec![
            with(c(0.2, Some(4.0), 1.0), 0.86),
            with(c(0.0, None, 1.0), 0.84),
            with(c(0.2, None, 1.0), 0.80),
            with(c(0.0, Some(4.0), 1.0), 0.85),
            with(c(0.2, Some(4.0), 2.0), 0.88),
            with(c(0.4, Some(4.0), 1.0), f64::NAN),
            // Max-norm 5 scores as max-norm 4 everywhere: the same line.
            with(c(0.0, Some(5.0), 1.0), 0.85),
            with(c(0.2, Some(5.0), 1.0), 0.88),
        ];
        let panel = max_norm_panel("inputs", &results, |c| Some(c.input_dropout));
        let labels: Vec<&str> = panel.lines.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(labels, vec!["max-norm none", "max-norm 4 = 5"]);
        // Percent, sorted by rate; at rate 0.2 with max-norm 4 the better width (88%) is drawn;
        // the diverged point is left out.
        let close = |a: &[(f64, f64)], b: &[(f64, f64)]| {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(p, q)| (p.0 - q.0).abs() < 1e-6 && (p.1 - q.1).abs() < 1e-9)
        };
        assert!(
            close(&panel.lines[0].points, &[(0.0, 84.0), (0.2, 80.0)]),
            "{:?}",
            panel.lines[0]
        );
        assert!(
            close(&panel.lines[1].points, &[(0.0, 85.0), (0.2, 88.0)]),
            "{:?}",
            panel.lines[1]
        );
    }

    #[test]
    fn a_plot_is_written_as_svg_with_titles_legends_and_reference() {
        let plot = DropoutPlot::new("Dropout on sonar")
            .panel(Panel::new("SGD(0.1, 0.9)").line(Line::new(
                "max-norm 3",
                vec![(0.4, 84.0), (0.0, 83.0), (0.2, 86.5)],
            )))
            .panel(
                Panel::new("SGD(0.01, 0.8)")
                    .line(Line::new("max-norm none", vec![(0.0, 52.0)]))
                    .y_range(48.0, 90.0)
                    .x_label("rate on inputs and hidden layers"),
            )
            .reference(Reference {
                label: "Baseline".into(),
                value: 85.5,
                band: 0.7,
                band_label: "std of the CV repeat means".into(),
            })
            .y_range(75.0, 90.0);
        let dir = common::tempdir().unwrap();
        let path = dir.path().join("plot.svg");
        plot.write_svg(&path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..60]);
        for text in [
            "Dropout on sonar",
            "SGD(0.1, 0.9)",
            "SGD(0.01, 0.8)",
            "max-norm 3",
            "dashed: Baseline 85.50%",
            "grey band: ± 0.70 points, std of the CV repeat means",
            "dropout rate",
            "rate on inputs and hidden layers",
            "mean CV accuracy (%)",
        ] {
            assert!(svg.contains(text), "missing {text:?}");
        }
    }

    #[test]
    fn an_empty_or_malformed_plot_is_an_error() {
        assert!(DropoutPlot::new("empty").to_svg_string().is_err());
        let one = Panel::new("p").line(Line::new("l", vec![(0.0, 80.0)]));
        assert!(
            DropoutPlot::new("t")
                .panel(one.clone())
                .columns(0)
                .to_svg_string()
                .is_err()
        );
        assert!(
            DropoutPlot::new("t")
                .panel(one.clone())
                .y_range(90.0, 80.0)
                .to_svg_string()
                .is_err()
        );
        let flat = one.y_range(80.0, 80.0);
        assert!(DropoutPlot::new("t").panel(flat).to_svg_string().is_err());
    }
}
