//! [`Search`]: repeated stratified cross-validation of many candidates on the same folds.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::{ArrayView2, AsArray, Ix2};

use super::CrossValidation;
use super::cross_val::FoldData;
use crate::error::{Error, Result};
use crate::metrics::{mean_of, std_of};
use crate::model::{FitOptions, IntoTargets, Sequential};

/// One point of a hyper-parameter family, as a [`Search`] scores it: it builds a fresh compiled
/// model and says how to train it. Its `Display` names it in error messages.
///
/// The search knows nothing else of the network: any family of models can be searched by
/// implementing this trait (the tutorial's sonar family is
/// [`experiments::Config`](crate::experiments::Config)).
///
/// ```
/// use std::fmt;
/// use ndnet::prelude::*;
/// use ndnet::selection::{Candidate, CrossValidation, Search};
///
/// /// One hidden ReLU layer of `units` units.
/// #[derive(Debug, Clone, PartialEq)]
/// struct Width { units: usize }
///
/// impl fmt::Display for Width {
///     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
///         write!(f, "{} hidden units", self.units)
///     }
/// }
///
/// impl Candidate for Width {
///     fn build(&self, input_dim: usize) -> ndnet::Result<Sequential> {
///         let mut m = Sequential::new(input_dim);
///         m.add(Dense::new(self.units).activation(Activation::Relu))?;
///         m.add(Dense::new(1).activation(Activation::Sigmoid))?;
///         m.compile(BinaryCrossentropy, Sgd::new(0.1).momentum(0.9))?;
///         Ok(m)
///     }
///     fn fit_options(&self) -> FitOptions<'static> {
///         FitOptions { epochs: 10, batch_size: 8, ..Default::default() }
///     }
/// }
///
/// // Two blobs in 2 dimensions, 12 rows each.
/// let x = ndarray::Array2::from_shape_fn((24, 2), |(i, j)| {
///     let centre = if i < 12 { -1.0 } else { 1.0 };
///     centre + 0.1 * ((i * 7 + j * 3) % 5) as f32
/// });
/// let y = ndarray::Array2::from_shape_fn((24, 1), |(i, _)| if i < 12 { 0.0 } else { 1.0 });
/// let widths = [Width { units: 2 }, Width { units: 8 }];
/// let results = Search::new(CrossValidation::new(3, 7), 2).run(&widths, &x, &y)?;
/// assert_eq!(results.len(), 2);
/// assert_eq!(results[0].scores.len(), 2); // repeats
/// # Ok::<(), ndnet::Error>(())
/// ```
pub trait Candidate: fmt::Display {
    /// A fresh compiled model for inputs of width `input_dim`; the search replaces its seed by
    /// the fold's.
    ///
    /// # Errors
    ///
    /// Any error building or compiling the model (an invalid hyper-parameter, say).
    fn build(&self, input_dim: usize) -> Result<Sequential>;

    /// The options every fold's model is trained with.
    fn fit_options(&self) -> FitOptions<'static>;

    /// Checks the candidate before anything is trained, so that a search with an invalid
    /// candidate fails at once; the default accepts every candidate.
    ///
    /// # Errors
    ///
    /// The first problem found, as [`Error::InvalidParameter`] where it names a parameter.
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

/// Where a running search is: `done` of `total` fold trainings have finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Fold trainings finished so far (configurations × repeats × folds in all).
    pub done: usize,
    /// Fold trainings in the whole search.
    pub total: usize,
}

/// The scores of one candidate.
///
/// Accuracies are fractions in `[0, 1]`. A fold whose training diverged (a non-finite loss)
/// scores NaN, and then so do the means and standard deviations that include it.
#[derive(Debug, Clone, PartialEq)]
pub struct TuningResult<C> {
    /// Position of the candidate in the list given to the search.
    pub index: usize,
    /// The candidate.
    pub config: C,
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

impl<C> TuningResult<C> {
    fn from_scores(index: usize, config: C, scores: Vec<Vec<f32>>) -> Self {
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

/// `87.00% (8.40%), repeat means 88.02 / 85.98: <candidate>`: the mean and population std in
/// percent as [`CvScores`](super::CvScores) prints them, the repeat means (with more than one
/// repeat), and the candidate.
impl<C: fmt::Display> fmt::Display for TuningResult<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}% ({:.2}%)", self.mean * 100.0, self.std * 100.0)?;
        if self.repeat_means.len() > 1 {
            let means: Vec<String> = self
                .repeat_means
                .iter()
                .map(|m| format!("{:.2}", m * 100.0))
                .collect();
            write!(f, ", repeat means {}", means.join(" / "))?;
        }
        write!(f, ": {}", self.config)
    }
}

/// Repeated stratified k-fold cross-validation of many candidates on the same folds.
///
/// Repeat `r` (`0..repeats`) is the cross-validation [`cv.advanced(r)`](CrossValidation::advanced):
/// for `cv = CrossValidation::new(folds, seed)` that is `CrossValidation::new(folds, seed + r)`.
/// Its folds are split once and shared by every candidate: in fold `k` the training rows are
/// standardized with a [`StandardScaler`](crate::data::StandardScaler) fitted on them alone
/// (when `cv.standardize`), and every candidate's model is re-seeded with the seed that
/// cross-validation gives fold `k`. So all candidates see the same data, the same folds and the
/// same seeds, and each scores what `cv.advanced(r).score(...)` gives it. With the `parallel`
/// feature the `(candidate, repeat, fold)` trainings run on `cv.threads` worker threads; each
/// has its own randomness, so the results are bitwise the same for any number of threads.
///
/// ```
/// use ndnet::experiments::ParamSpace;
/// use ndnet::selection::{CrossValidation, Search, paired_difference};
/// use ndarray::Array2;
///
/// // 40 rows of 60 features; the class is the sign of the first feature.
/// let x = Array2::from_shape_fn((40, 60), |(i, j)| ((i * 7 + j * 13) % 17) as f32 / 8.0 - 1.0);
/// let y = x.column(0).mapv(|v| if v > 0.0 { 1.0 } else { 0.0 }).insert_axis(ndarray::Axis(1));
///
/// // Four random points of a space of 2 × 3 × 2 = 12, two repeats of 4-fold CV.
/// let space = ParamSpace {
///     hidden_dropout: vec![0.0, 0.2],
///     max_norm: vec![None, Some(3.0), Some(4.0)],
///     learning_rate: vec![0.01, 0.1],
///     epochs: vec![10],
///     ..ParamSpace::default()
/// };
/// let configs = space.random(4, 42)?;
/// let search = Search::new(CrossValidation::new(4, 7).threads(2), 2);
/// let results = search.run_with_progress(&configs, &x, &y, |p| {
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
    /// The first repeat's cross-validation: folds, seeds, standardization and threads.
    pub cv: CrossValidation,
    /// Cross-validations with different seeds, at least 1.
    pub repeats: usize,
}

impl Search {
    /// `repeats` cross-validations: `cv`, then `cv` with its seeds advanced by 1, 2, ...
    pub fn new(cv: CrossValidation, repeats: usize) -> Self {
        Search { cv, repeats }
    }

    /// Folds per cross-validation.
    pub fn folds(&self) -> usize {
        self.cv.splitter.n_splits
    }

    /// The model seed of repeat `repeat`: `cv.seed + repeat` (wrapping).
    pub fn repeat_seed(&self, repeat: usize) -> u64 {
        self.cv.advanced(repeat as u64).seed
    }

    /// Number of fold trainings for `candidates` candidates.
    pub fn trainings(&self, candidates: usize) -> usize {
        candidates
            .saturating_mul(self.repeats)
            .saturating_mul(self.folds())
    }

    /// Scores every candidate (see the type's documentation) and returns the results sorted
    /// by mean accuracy, best first (diverged candidates last, ties in input order).
    ///
    /// Each fold's model is the candidate's [`build`](Candidate::build) for the width of `x`,
    /// trained with its [`fit_options`](Candidate::fit_options).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for an empty list, a candidate that does not
    /// [`validate`](Candidate::validate) (named by its position), fewer than 1 repeat, an
    /// impossible split, or more fold sets (`repeats · folds`) than can be counted or allocated
    /// (checked before allocating); any error of `build`, `fit` or `evaluate` other than
    /// divergence, with the candidate, repeat and fold.
    pub fn run<'a, C>(
        &self,
        candidates: &[C],
        x: impl AsArray<'a, f32, Ix2>,
        y: impl IntoTargets<'a>,
    ) -> Result<Vec<TuningResult<C>>>
    where
        C: Candidate + Clone + Sync,
    {
        self.run_with_progress(candidates, x, y, |_| {})
    }

    /// [`run`](Self::run), calling `on_progress` each time a fold training finishes (from the
    /// worker thread that ran it).
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run).
    pub fn run_with_progress<'a, C, P>(
        &self,
        candidates: &[C],
        x: impl AsArray<'a, f32, Ix2>,
        y: impl IntoTargets<'a>,
        on_progress: P,
    ) -> Result<Vec<TuningResult<C>>>
    where
        C: Candidate + Clone + Sync,
        P: Fn(Progress) + Sync,
    {
        let (x, y) = (x.into(), y.into_targets());
        if candidates.is_empty() {
            return Err(Error::param(
                "Search",
                "configs",
                "[]",
                "must hold at least one configuration",
            ));
        }
        for (i, c) in candidates.iter().enumerate() {
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
        let (repeats, folds) = (self.repeats, self.folds());
        let overflow = || {
            Error::param(
                "Search",
                "repeats",
                repeats,
                format!(
                    "{} configurations × {repeats} repeats × {folds} folds overflows usize",
                    candidates.len()
                ),
            )
        };
        let per_config = repeats.checked_mul(folds).ok_or_else(overflow)?;
        let total = candidates
            .len()
            .checked_mul(per_config)
            .ok_or_else(overflow)?;
        let data = self.prepare(x, y)?;
        let done = AtomicUsize::new(0);
        let train = |item: usize| -> Result<f32> {
            let (c, rk) = (item / per_config, item % per_config);
            let fold = &data[rk];
            let config = &candidates[c];
            let context = |e: Error| {
                Error::InvalidState(format!(
                    "search: configuration {c} ({config}), repeat {}, fold {}: {e}",
                    rk / folds,
                    rk % folds
                ))
            };
            let mut model = config.build(x.ncols()).map_err(context)?;
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
        let scores = crate::kernels::threads::map_indexed(total, self.cv.threads, train)?;
        let mut results: Vec<TuningResult<C>> = candidates
            .iter()
            .enumerate()
            .map(|(c, config)| {
                let own = &scores[c * per_config..(c + 1) * per_config];
                let by_repeat = own.chunks(folds).map(<[f32]>::to_vec).collect();
                TuningResult::from_scores(c, config.clone(), by_repeat)
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
        let sets = self.repeats.saturating_mul(self.folds());
        let mut data = Vec::new();
        data.try_reserve_exact(sets).map_err(|_| {
            Error::param(
                "Search",
                "repeats",
                self.repeats,
                format!(
                    "{sets} fold sets ({} folds each) cannot be allocated",
                    self.folds()
                ),
            )
        })?;
        for r in 0..self.repeats {
            data.extend(self.cv.advanced(r as u64).prepare("search", x, y)?);
        }
        Ok(data)
    }
}
