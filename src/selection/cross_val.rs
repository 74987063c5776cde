//! Cross-validation: the tutorial's `cross_val_score` over a `Pipeline` of a `StandardScaler` and
//! the model.

use std::fmt;

use ndarray::{Array2, ArrayView2, AsArray, Axis, Ix2};

use super::{Fold, StratifiedKFold};
use crate::data::StandardScaler;
use crate::error::{Error, Result};
use crate::metrics::{class_labels, mean_of, std_of};
use crate::model::{FitOptions, IntoTargets, Sequential};
use crate::rng::{STREAM_FOLD, derive_seed};

/// Scores of the folds of a cross-validation (accuracy in `[0, 1]`, fold order).
#[derive(Debug, Clone, PartialEq)]
pub struct CvScores {
    /// One accuracy per fold.
    pub scores: Vec<f32>,
}

impl CvScores {
    /// Mean of the fold scores.
    pub fn mean(&self) -> f64 {
        mean_of(self.scores.iter())
    }

    /// Population standard deviation of the fold scores (NumPy's `std`, as the tutorial prints).
    pub fn std(&self) -> f64 {
        std_of(self.scores.iter())
    }
}

/// One fold, its rows selected (and standardized with a scaler fitted on its training rows
/// alone, when asked), with the seed its model is re-seeded with.
pub(super) struct FoldData {
    pub(super) x_train: Array2<f32>,
    pub(super) y_train: Array2<f32>,
    pub(super) x_test: Array2<f32>,
    pub(super) y_test: Array2<f32>,
    pub(super) seed: u64,
}

/// `RowCountMismatch` naming `what` unless `x` and `y` have the same number of rows.
fn check_rows(what: &str, x: ArrayView2<f32>, y: ArrayView2<f32>) -> Result<()> {
    if x.nrows() == y.nrows() {
        Ok(())
    } else {
        Err(Error::RowCountMismatch {
            what: what.into(),
            x_rows: x.nrows(),
            y_rows: y.nrows(),
        })
    }
}

/// The rows of each of `folds` (already checked against the row count), standardized when
/// `standardize`, with fold `k`'s model seed derived from `seed` and `k`.
fn prepare_given_folds(
    x: ArrayView2<f32>,
    y: ArrayView2<f32>,
    folds: &[Fold],
    seed: u64,
    standardize: bool,
) -> Result<Vec<FoldData>> {
    folds
        .iter()
        .enumerate()
        .map(|(k, (train, test))| {
            let mut x_train = x.select(Axis(0), train);
            let mut x_test = x.select(Axis(0), test);
            if standardize {
                let mut scaler = StandardScaler::new();
                scaler.fit(x_train.view())?;
                scaler.transform_inplace(x_train.view_mut())?;
                scaler.transform_inplace(x_test.view_mut())?;
            }
            Ok(FoldData {
                x_train,
                y_train: y.select(Axis(0), train),
                x_test,
                y_test: y.select(Axis(0), test),
                seed: derive_seed(seed, STREAM_FOLD, k as u64),
            })
        })
        .collect()
}

/// The folds of given test-index sets (scikit-learn's `PredefinedSplit`): fold `k` tests on
/// `test_sets[k]` and trains on every other row. Checks that every index is below `n_rows`,
/// that no row is in two sets (or twice in one), and that every test and training set is
/// non-empty.
fn folds_from_test_sets(test_sets: &[Vec<usize>], n_rows: usize) -> Result<Vec<Fold>> {
    let bad = |value: String, reason: String| {
        Err(Error::param("CrossValidation", "test_sets", value, reason))
    };
    if test_sets.is_empty() {
        return bad("[]".into(), "give at least one test set".into());
    }
    let mut fold_of = vec![usize::MAX; n_rows];
    for (k, set) in test_sets.iter().enumerate() {
        if set.is_empty() {
            return bad(
                format!("set {k}"),
                "every test set needs at least one row".into(),
            );
        }
        for &i in set {
            let Some(slot) = fold_of.get_mut(i) else {
                let reason = format!("row indices must be below the number of rows ({n_rows})");
                return bad(format!("row {i} in set {k}"), reason);
            };
            if *slot != usize::MAX {
                let reason = format!("the row is already in test set {}", *slot);
                return bad(format!("row {i} in set {k}"), reason);
            }
            *slot = k;
        }
    }
    let mut folds = Vec::with_capacity(test_sets.len());
    for (k, set) in test_sets.iter().enumerate() {
        let train: Vec<usize> = (0..n_rows).filter(|&i| fold_of[i] != k).collect();
        if train.is_empty() {
            let reason = "a test set cannot hold every row: nothing would be left to train on";
            return bad(format!("set {k}"), reason.into());
        }
        let mut test = set.clone();
        test.sort_unstable();
        folds.push((train, test));
    }
    Ok(folds)
}

/// Whether the model's first layer is a [`Normalization`](crate::layers::Normalization) layer,
/// which cross-validation adapts on each training fold instead of standardizing the data.
fn starts_with_normalization(model: &Sequential) -> bool {
    model
        .layers()
        .first()
        .is_some_and(|l| l.kind() == "Normalization")
}

/// `86.04% (4.58%)`: mean and population std in percent, as the tutorial prints them.
impl fmt::Display for CvScores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.2}% ({:.2}%)",
            self.mean() * 100.0,
            self.std() * 100.0
        )
    }
}

/// A stratified k-fold cross-validation of a model-building closure.
///
/// For each fold: the training rows are standardized with a [`StandardScaler`] fitted on them
/// alone (the test rows are transformed with that scaler; or, when the model's first layer is
/// a [`Normalization`](crate::layers::Normalization), that layer is adapted on the training
/// rows and the data is left raw), a fresh model is built, re-seeded from
/// `seed` and the fold index, trained, and scored by accuracy on the test rows in inference mode.
/// Folds run in parallel (feature `parallel`); every fold's randomness is its own, so the scores
/// are bitwise the same for any number of threads.
///
/// ```
/// use ndnet::prelude::*;
/// use ndnet::selection::CrossValidation;
/// use ndarray::Array2;
///
/// // Two separable blobs, 20 rows each.
/// let x = Array2::from_shape_fn((40, 2), |(i, j)| if i < 20 { -1.0 } else { 1.0 } + 0.1 * ((i * 7 + j * 3) % 5) as f32);
/// let y = Array2::from_shape_fn((40, 1), |(i, _)| if i < 20 { 0.0 } else { 1.0 });
/// let build = || -> ndnet::Result<Sequential> {
///     let mut m = Sequential::new(2);
///     m.add(Dense::new(4).activation(Activation::Relu))?;
///     m.add(Dense::new(1).activation(Activation::Sigmoid))?;
///     m.compile(BinaryCrossentropy, Sgd::new(0.1).momentum(0.9))?;
///     Ok(m)
/// };
/// let fit = FitOptions { epochs: 20, batch_size: 8, ..Default::default() };
/// let scores = CrossValidation::new(5, 7).score(build, &x, &y, &fit)?;
/// assert_eq!(scores.scores.len(), 5);
/// assert!(scores.mean() > 0.9);
/// println!("Blobs: {scores}");
/// # Ok::<(), ndnet::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrossValidation {
    /// The splitter (shuffled, seeded).
    pub splitter: StratifiedKFold,
    /// Seed from which each fold's model seed is derived.
    pub seed: u64,
    /// Standardize the features inside each fold.
    pub standardize: bool,
    /// Worker threads (0: all cores). Ignored without the `parallel` feature.
    pub threads: usize,
}

impl CrossValidation {
    /// `n_splits` shuffled stratified folds, all seeded from `seed`, standardized, all cores.
    pub fn new(n_splits: usize, seed: u64) -> Self {
        CrossValidation {
            splitter: StratifiedKFold::new(n_splits).shuffled(seed),
            seed,
            standardize: true,
            threads: 0,
        }
    }

    /// Turns the per-fold standardization on or off.
    pub fn standardize(mut self, on: bool) -> Self {
        self.standardize = on;
        self
    }

    /// Sets the number of worker threads (0: all cores).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// The same cross-validation with the splitter's seed and the model seed both advanced by
    /// `offset` (wrapping): for [`CrossValidation::new(k, seed)`](Self::new) it is
    /// `CrossValidation::new(k, seed + offset)`. [`Search`](super::Search)'s repeats are these.
    pub fn advanced(&self, offset: u64) -> Self {
        CrossValidation {
            splitter: StratifiedKFold {
                seed: self.splitter.seed.wrapping_add(offset),
                ..self.splitter
            },
            seed: self.seed.wrapping_add(offset),
            ..*self
        }
    }

    /// The folds of `(x, y)` (stratified on [`class_labels`]) with their rows selected and,
    /// when [`standardize`](Self::standardize) is on, standardized, each with its model seed.
    /// `what` names the caller in a row-count error.
    pub(super) fn prepare(
        &self,
        what: &str,
        x: ArrayView2<f32>,
        y: ArrayView2<f32>,
    ) -> Result<Vec<FoldData>> {
        check_rows(what, x, y)?;
        let folds = self.splitter.split(&class_labels(y))?;
        prepare_given_folds(x, y, &folds, self.seed, self.standardize)
    }

    /// Cross-validates: see the type's documentation.
    ///
    /// `build` returns a fresh compiled model; its seed is replaced by the fold's. The class of
    /// each row, for stratification, is `y > 0.5` for one target column and the arg-max of the
    /// row otherwise. `fit.validation_data` is ignored.
    pub fn score<'a>(
        &self,
        build: impl Fn() -> Result<Sequential> + Sync,
        x: impl AsArray<'a, f32, Ix2>,
        y: impl IntoTargets<'a>,
        fit: &FitOptions<'_>,
    ) -> Result<CvScores> {
        self.score_with_progress(build, x, y, fit, |_, _| {})
    }

    /// [`score`](Self::score), calling `on_fold(fold, accuracy)` as each fold finishes (from the
    /// worker thread that ran it, in completion order).
    pub fn score_with_progress<'a>(
        &self,
        build: impl Fn() -> Result<Sequential> + Sync,
        x: impl AsArray<'a, f32, Ix2>,
        y: impl IntoTargets<'a>,
        fit: &FitOptions<'_>,
        on_fold: impl Fn(usize, f32) + Sync,
    ) -> Result<CvScores> {
        let (x, y) = (x.into(), y.into_targets());
        check_rows("cross-validation", x, y)?;
        let folds = self.splitter.split(&class_labels(y))?;
        self.run_folds(&folds, build, x, y, fit, on_fold)
    }

    /// Cross-validates on given folds, scikit-learn's `PredefinedSplit`: fold `k` is scored on
    /// the rows `test_sets[k]` after training on all other rows, so a run can use exactly the
    /// folds of another program and be compared with it fold by fold. Everything else (model
    /// seeds from `seed` and the fold index, per-fold standardization, threads) is as
    /// [`score`](Self::score); the splitter is not used. A row in no set is always trained on.
    ///
    /// ```
    /// use ndnet::prelude::*;
    /// use ndnet::selection::CrossValidation;
    /// use ndarray::Array2;
    ///
    /// let x = Array2::from_shape_fn((8, 1), |(i, _)| i as f32);
    /// let y = Array2::from_shape_fn((8, 1), |(i, _)| if i < 4 { 0.0 } else { 1.0 });
    /// let build = || -> ndnet::Result<Sequential> {
    ///     let mut m = Sequential::new(1);
    ///     m.add(Dense::new(1).activation(Activation::Sigmoid))?;
    ///     m.compile(BinaryCrossentropy, Sgd::new(0.5))?;
    ///     Ok(m)
    /// };
    /// let fit = FitOptions { epochs: 50, batch_size: 4, ..Default::default() };
    /// let folds = vec![vec![0, 7], vec![1, 6], vec![2, 5, 3, 4]];
    /// let scores = CrossValidation::new(2, 7).score_predefined(&folds, build, &x, &y, &fit)?;
    /// assert_eq!(scores.scores.len(), 3);
    /// # Ok::<(), ndnet::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] if there is no set, a set is empty, an index is out of range,
    /// a row is in two sets, or a set holds every row; otherwise as [`score`](Self::score).
    pub fn score_predefined<'a>(
        &self,
        test_sets: &[Vec<usize>],
        build: impl Fn() -> Result<Sequential> + Sync,
        x: impl AsArray<'a, f32, Ix2>,
        y: impl IntoTargets<'a>,
        fit: &FitOptions<'_>,
    ) -> Result<CvScores> {
        let (x, y) = (x.into(), y.into_targets());
        check_rows("cross-validation", x, y)?;
        let folds = folds_from_test_sets(test_sets, x.nrows())?;
        self.run_folds(&folds, build, x, y, fit, |_, _| {})
    }

    fn run_folds(
        &self,
        folds: &[Fold],
        build: impl Fn() -> Result<Sequential> + Sync,
        x: ArrayView2<f32>,
        y: ArrayView2<f32>,
        fit: &FitOptions<'_>,
        on_fold: impl Fn(usize, f32) + Sync,
    ) -> Result<CvScores> {
        // A model that starts with a Normalization layer carries its own scaler: it is adapted on
        // each training fold and the data is passed raw.
        let adapt = starts_with_normalization(&build()?);
        let folds = prepare_given_folds(x, y, folds, self.seed, self.standardize && !adapt)?;
        let fit = FitOptions {
            validation_data: None,
            ..fit.clone()
        };
        let run = |k: usize| -> Result<f32> {
            let fold = &folds[k];
            let mut model = build()?;
            model.set_seed(fold.seed);
            if adapt {
                model.adapt(&fold.x_train)?;
            }
            model.fit(&fold.x_train, &fold.y_train, &fit)?;
            let accuracy = model.evaluate(&fold.x_test, &fold.y_test)?.accuracy;
            on_fold(k, accuracy);
            Ok(accuracy)
        };
        let scores = crate::kernels::threads::map_indexed(folds.len(), self.threads, run)?;
        Ok(CvScores { scores })
    }
}

/// Cross-validates `build` on `(x, y)`: shorthand for
/// `CrossValidation::new(n_splits, seed).score(build, x, y, fit)`.
pub fn cross_val_score<'a>(
    build: impl Fn() -> Result<Sequential> + Sync,
    x: impl AsArray<'a, f32, Ix2>,
    y: impl IntoTargets<'a>,
    n_splits: usize,
    seed: u64,
    fit: &FitOptions<'_>,
) -> Result<CvScores> {
    CrossValidation::new(n_splits, seed).score(build, x, y, fit)
}
