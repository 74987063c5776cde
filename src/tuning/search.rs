//! [`Search`]: repeated stratified cross-validation of many configurations on the same folds.

use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::{ArrayView2, AsArray, Ix2};

use super::{Config, ParamSpace};
use crate::data::StratifiedKFold;
use crate::data::cross_val::{FoldData, prepare_folds, run_indexed};
use crate::error::{Error, Result};
use crate::metrics::{mean_of, std_of};
use crate::model::{IntoTargets, Sequential};

/// Where a running search is: `done` of `total` fold trainings have finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Fold trainings finished so far (configurations × repeats × folds in all).
    pub done: usize,
    /// Fold trainings in the whole search.
    pub total: usize,
}

/// The scores of one configuration.
///
/// Accuracies are fractions in `[0, 1]`. A fold whose training diverged (a non-finite loss)
/// scores NaN, and then so do the means and standard deviations that include it.
#[derive(Debug, Clone, PartialEq)]
pub struct TuningResult {
    /// Position of the configuration in the list given to the search.
    pub index: usize,
    /// The configuration.
    pub config: Config,
    /// Mean accuracy over all folds of all repeats.
    pub mean: f64,
    /// Population standard deviation of the accuracy over all folds of all repeats.
    pub std: f64,
    /// Mean accuracy of each repeat of the cross-validation.
    pub repeat_means: Vec<f64>,
    /// Accuracy of each fold: `scores[repeat][fold]`.
    pub scores: Vec<Vec<f32>>,
    /// Number of folds whose training diverged.
    pub diverged: usize,
}

impl TuningResult {
    fn from_scores(index: usize, config: Config, scores: Vec<Vec<f32>>) -> Self {
        let repeat_means = scores.iter().map(|r| mean_of(r.iter())).collect();
        let all = || scores.iter().flatten();
        let diverged = all().filter(|s| s.is_nan()).count();
        TuningResult {
            index,
            config,
            mean: mean_of(all()),
            std: std_of(all()),
            repeat_means,
            scores,
            diverged,
        }
    }

    /// Population standard deviation of the repeat means: how much the mean moves when only the
    /// folds' shuffling and the seeds change.
    pub fn repeat_std(&self) -> f64 {
        std_of(self.repeat_means.iter())
    }

    /// Largest minus smallest repeat mean.
    pub fn repeat_spread(&self) -> f64 {
        let max = self.repeat_means.iter().copied().fold(f64::MIN, f64::max);
        let min = self.repeat_means.iter().copied().fold(f64::MAX, f64::min);
        if self.repeat_means.is_empty() {
            0.0
        } else {
            max - min
        }
    }

    /// The fold scores of all repeats, in order.
    pub fn all_scores(&self) -> impl Iterator<Item = f32> + '_ {
        self.scores.iter().flatten().copied()
    }
}

/// Repeated stratified k-fold cross-validation of many configurations on the same folds.
///
/// Repeat `r` (`0..repeats`) splits the rows with `StratifiedKFold::new(folds).shuffled(seed +
/// r)`; in fold `k` the training rows are standardized with a [`StandardScaler`](crate::data::StandardScaler) fitted on them
/// alone (when `standardize`), and every configuration's model is re-seeded with the seed
/// [`CrossValidation`](crate::data::CrossValidation) gives fold `k` for seed `seed + r`, so all
/// configurations see the same data, the same folds and the same seeds, and each scores what
/// `CrossValidation::new(folds, seed + r).score(...)` gives it.
///
/// ```
/// use ndnet::tuning::{ParamSpace, Search, paired_difference};
/// use ndarray::Array2;
///
/// // 40 rows of 60 features; the class is the sign of the first feature.
/// let x = Array2::from_shape_fn((40, 60), |(i, j)| ((i * 7 + j * 13) % 17) as f32 / 8.0 - 1.0);
/// let y = x.column(0).mapv(|v| if v > 0.0 { 1.0 } else { 0.0 }).insert_axis(ndarray::Axis(1));
///
/// // Four random points of a space of 2 × 3 × 2 = 12, two repeats of 4-fold CV.
/// let space = ParamSpace::default()
///     .hidden_dropout([0.0, 0.2])
///     .max_norm([None, Some(3.0), Some(4.0)])
///     .learning_rate([0.01, 0.1])
///     .epochs([10]);
/// let configs = space.random(4, 42)?;
/// let search = Search::new(4, 2, 7).threads(2);
/// let results = search.run_with_progress(&configs, |c| c.build(), &x, &y, |p| {
///     assert!(p.done <= p.total);
/// })?;
/// let (best, worst) = (&results[0], &results[results.len() - 1]);
/// assert_eq!(best.scores.len(), 2); // repeats
/// assert_eq!(best.scores[0].len(), 4); // folds
/// let d = paired_difference(best, worst)?;
/// assert!(d.mean >= 0.0);
/// # Ok::<(), ndnet::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Search {
    /// Folds per cross-validation, at least 2.
    pub folds: usize,
    /// Cross-validations with different seeds, at least 1.
    pub repeats: usize,
    /// Seed of the first repeat; repeat `r` uses `seed + r`.
    pub seed: u64,
    /// Standardize the features inside each fold.
    pub standardize: bool,
    /// Worker threads (0: all cores). Ignored without the `parallel` feature.
    pub threads: usize,
}

impl Search {
    /// `repeats` cross-validations of `folds` stratified folds, seeded `seed`, `seed + 1`, ...,
    /// standardized, on all cores.
    pub fn new(folds: usize, repeats: usize, seed: u64) -> Self {
        Search {
            folds,
            repeats,
            seed,
            standardize: true,
            threads: 0,
        }
    }

    /// Sets the number of worker threads (0: all cores).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Turns the per-fold standardization on or off.
    pub fn standardize(mut self, on: bool) -> Self {
        self.standardize = on;
        self
    }

    /// The seed of repeat `repeat`: `seed + repeat` (wrapping).
    pub fn repeat_seed(&self, repeat: usize) -> u64 {
        self.seed.wrapping_add(repeat as u64)
    }

    /// Number of fold trainings for `configs` configurations.
    pub fn trainings(&self, configs: usize) -> usize {
        configs
            .saturating_mul(self.repeats)
            .saturating_mul(self.folds)
    }

    /// Scores every configuration (see the type's documentation) and returns the results
    /// sorted by mean accuracy, best first (diverged configurations last, ties in input
    /// order).
    ///
    /// `build` returns a fresh compiled model for a configuration (its seed is replaced by the
    /// fold's); it is trained with the configuration's [`fit_options`](Config::fit_options).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for an empty list, an invalid configuration (named by its
    /// position), fewer than 1 repeat, an impossible split, or more fold sets
    /// (`repeats · folds`) than can be counted or allocated (checked before allocating); any error of `build`, `fit` or
    /// `evaluate` other than divergence, with the configuration, repeat and fold.
    pub fn run<'a, B>(
        &self,
        configs: &[Config],
        build: B,
        x: impl AsArray<'a, f32, Ix2>,
        y: impl IntoTargets<'a>,
    ) -> Result<Vec<TuningResult>>
    where
        B: Fn(&Config) -> Result<Sequential> + Sync,
    {
        self.run_with_progress(configs, build, x, y, |_| {})
    }

    /// [`run`](Self::run), calling `on_progress` each time a fold training finishes (from the
    /// worker thread that ran it).
    pub fn run_with_progress<'a, B, P>(
        &self,
        configs: &[Config],
        build: B,
        x: impl AsArray<'a, f32, Ix2>,
        y: impl IntoTargets<'a>,
        on_progress: P,
    ) -> Result<Vec<TuningResult>>
    where
        B: Fn(&Config) -> Result<Sequential> + Sync,
        P: Fn(Progress) + Sync,
    {
        let (x, y) = (x.into(), y.into_targets());
        if configs.is_empty() {
            return Err(Error::param(
                "Search",
                "configs",
                "[]",
                "must hold at least one configuration",
            ));
        }
        for (i, c) in configs.iter().enumerate() {
            c.validate().map_err(|e| match e {
                Error::InvalidParameter {
                    name,
                    value,
                    reason,
                    ..
                } => Error::InvalidParameter {
                    owner: format!("search: configuration {i} ({c})"),
                    name,
                    value,
                    reason,
                },
                other => other,
            })?;
        }
        if self.repeats == 0 {
            return Err(Error::param("Search", "repeats", 0, "must be at least 1"));
        }
        let (repeats, folds) = (self.repeats, self.folds);
        let overflow = || {
            Error::param(
                "Search",
                "repeats",
                repeats,
                format!(
                    "{} configurations × {repeats} repeats × {folds} folds overflows usize",
                    configs.len()
                ),
            )
        };
        let per_config = repeats.checked_mul(folds).ok_or_else(overflow)?;
        let total = configs.len().checked_mul(per_config).ok_or_else(overflow)?;
        let data = self.prepare(x, y)?;
        let done = AtomicUsize::new(0);
        let train = |item: usize| -> Result<f32> {
            let (c, rk) = (item / per_config, item % per_config);
            let fold = &data[rk];
            let config = &configs[c];
            let context = |e: Error| {
                Error::InvalidState(format!(
                    "search: configuration {c} ({config}), repeat {}, fold {}: {e}",
                    rk / folds,
                    rk % folds
                ))
            };
            let mut model = build(config).map_err(context)?;
            model.set_seed(fold.seed);
            let score = match model.fit(&fold.x_train, &fold.y_train, &config.fit_options()) {
                Ok(_) => {
                    model
                        .evaluate(&fold.x_test, &fold.y_test)
                        .map_err(context)?
                        .accuracy
                }
                Err(e) if e.is_divergence() => f32::NAN,
                Err(e) => return Err(context(e)),
            };
            let done = done.fetch_add(1, Ordering::Relaxed) + 1;
            on_progress(Progress { done, total });
            Ok(score)
        };
        let scores = run_indexed(total, self.threads, train)?;
        let mut results: Vec<TuningResult> = configs
            .iter()
            .enumerate()
            .map(|(c, &config)| {
                let own = &scores[c * per_config..(c + 1) * per_config];
                let by_repeat = own.chunks(folds).map(<[f32]>::to_vec).collect();
                TuningResult::from_scores(c, config, by_repeat)
            })
            .collect();
        results.sort_by(|a, b| {
            // NaN (diverged) last, then best mean first, then input order.
            a.mean
                .is_nan()
                .cmp(&b.mean.is_nan())
                .then(b.mean.total_cmp(&a.mean))
                .then(a.index.cmp(&b.index))
        });
        Ok(results)
    }

    /// The standardized folds of every repeat, repeat-major.
    fn prepare(&self, x: ArrayView2<f32>, y: ArrayView2<f32>) -> Result<Vec<FoldData>> {
        let sets = self.repeats.saturating_mul(self.folds);
        let mut data = Vec::new();
        data.try_reserve_exact(sets).map_err(|_| {
            Error::param(
                "Search",
                "repeats",
                self.repeats,
                format!(
                    "{sets} fold sets ({} folds each) cannot be allocated",
                    self.folds
                ),
            )
        })?;
        for r in 0..self.repeats {
            let seed = self.repeat_seed(r);
            let splitter = StratifiedKFold::new(self.folds).shuffled(seed);
            data.extend(prepare_folds(
                "search",
                x,
                y,
                &splitter,
                seed,
                self.standardize,
            )?);
        }
        Ok(data)
    }
}

/// Scores every point of `space`'s grid with `repeats` × `folds`-fold cross-validation seeded
/// from `seed`, building the sonar network with [`Config::build_for`] for the width of `x`:
/// shorthand for `Search::new(folds, repeats, seed).run(&space.grid()?, ...)`.
///
/// # Errors
///
/// As [`ParamSpace::grid`] and [`Search::run`].
pub fn search<'a>(
    space: &ParamSpace,
    x: impl AsArray<'a, f32, Ix2>,
    y: impl IntoTargets<'a>,
    folds: usize,
    repeats: usize,
    seed: u64,
) -> Result<Vec<TuningResult>> {
    let x = x.into();
    let inputs = x.ncols();
    Search::new(folds, repeats, seed).run(&space.grid()?, |c| c.build_for(inputs), x, y)
}
