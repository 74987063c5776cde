//! Hold-out splits and class weights: scikit-learn's `train_test_split` and
//! `class_weight="balanced"`.
//!
//! ```
//! use ndnet::data::train_test_split;
//! use ndnet::datasets::sonar;
//!
//! let data = sonar::load(None)?;
//! // 20% held out, each class in the same proportion as in the whole file.
//! let split = train_test_split(&data.x, &data.y, 0.2, 7)?;
//! assert_eq!(split.x_test.nrows(), 42); // ceil(0.2 · 208)
//! assert_eq!(split.y_test.sum(), 20.0); // 20 R rows of 97, 22 M rows of 111
//! # Ok::<(), ndnet::Error>(())
//! ```

use ndarray::{Array2, ArrayView, ArrayView2, AsArray, Axis, Dimension, Ix1, Ix2};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::error::{Error, Result};
use crate::metrics::class_labels;

/// The two parts of a hold-out split; rows keep their original order within each part.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainTestSplit {
    /// Training features.
    pub x_train: Array2<f32>,
    /// Held-out features.
    pub x_test: Array2<f32>,
    /// Training targets.
    pub y_train: Array2<f32>,
    /// Held-out targets.
    pub y_test: Array2<f32>,
    /// Row indices of the training part, ascending.
    pub train_index: Vec<usize>,
    /// Row indices of the held-out part, ascending.
    pub test_index: Vec<usize>,
}

/// Splits `(x, y)` into a training and a held-out part, stratified: each class (the class of a
/// row as [`class_labels`]: `y > 0.5` for one column, the arg-max otherwise) has the same share
/// of the held-out part as of the whole, up to rounding, as scikit-learn's
/// `train_test_split(x, y, test_size=..., stratify=y)`.
///
/// The held-out part has `ceil(test_size · n)` rows (scikit-learn's count); they are shared
/// among the classes in proportion to their sizes, the remainders going to the largest
/// fractional parts. Which rows of a class are held out is drawn with a generator seeded with
/// `seed`. Use the parts as `fit`'s `validation_data`, instead of `validation_split`, which takes
/// the last rows.
///
/// `y` is what `fit` takes as targets: a 2-D array `(rows, outputs)`, or a 1-D array of labels
/// (one column).
///
/// # Errors
///
/// [`Error::InvalidParameter`] if `test_size` is not in `(0, 1)` or leaves either part empty;
/// [`Error::RowCountMismatch`] if `x` and `y` have different row counts;
/// [`Error::EmptyData`] without rows; [`Error::ShapeMismatch`] if `y` is neither 1-D nor 2-D.
pub fn train_test_split<'a, D: Dimension>(
    x: impl AsArray<'a, f32, Ix2>,
    y: impl AsArray<'a, f32, D>,
    test_size: f64,
    seed: u64,
) -> Result<TrainTestSplit> {
    split(x.into(), targets(y.into())?, test_size, seed, true)
}

/// [`train_test_split`] without stratification: `ceil(test_size · n)` rows drawn uniformly at
/// random (seeded) are held out, whatever their class.
///
/// # Errors
///
/// As [`train_test_split`].
pub fn train_test_split_unstratified<'a, D: Dimension>(
    x: impl AsArray<'a, f32, Ix2>,
    y: impl AsArray<'a, f32, D>,
    test_size: f64,
    seed: u64,
) -> Result<TrainTestSplit> {
    split(x.into(), targets(y.into())?, test_size, seed, false)
}

/// `y` as `(rows, outputs)`, as `fit` reads its targets: a 2-D array as it is, a 1-D array as
/// one column.
fn targets<'a, D: Dimension>(y: ArrayView<'a, f32, D>) -> Result<ArrayView2<'a, f32>> {
    let shape = y.shape().to_vec();
    let two_d = if y.ndim() == 1 {
        y.into_dimensionality::<Ix1>()
            .map(|labels| labels.insert_axis(Axis(1)))
    } else {
        y.into_dimensionality::<Ix2>()
    };
    two_d.map_err(|_| Error::ShapeMismatch {
        what: "train_test_split: y (targets, 1-D or 2-D)".into(),
        expected: vec![shape.first().copied().unwrap_or(0), 1],
        found: shape,
    })
}

fn split(
    x: ndarray::ArrayView2<f32>,
    y: ndarray::ArrayView2<f32>,
    test_size: f64,
    seed: u64,
    stratify: bool,
) -> Result<TrainTestSplit> {
    let n = x.nrows();
    if n != y.nrows() {
        return Err(Error::RowCountMismatch {
            what: "train_test_split".into(),
            x_rows: n,
            y_rows: y.nrows(),
        });
    }
    if n == 0 {
        return Err(Error::EmptyData("train_test_split".into()));
    }
    if !(test_size > 0.0 && test_size < 1.0) {
        return Err(Error::param(
            "train_test_split",
            "test_size",
            test_size,
            "must be in (0, 1), the fraction of rows held out",
        ));
    }
    let n_test = (test_size * n as f64).ceil() as usize;
    if n_test == 0 || n_test >= n {
        return Err(Error::param(
            "train_test_split",
            "test_size",
            test_size,
            format!("{n} rows cannot be split into non-empty parts with it"),
        ));
    }
    let labels = if stratify {
        class_labels(y)
    } else {
        vec![0; n]
    };
    let n_classes = labels.iter().max().map_or(0, |&m| m + 1);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n_classes];
    for (i, &c) in labels.iter().enumerate() {
        members[c].push(i);
    }
    // Largest remainder: floor of each class's share, then one more row for the classes with
    // the largest fractional parts (ties to the larger class, then the lower class index).
    let exact: Vec<f64> = members
        .iter()
        .map(|m| m.len() as f64 * n_test as f64 / n as f64)
        .collect();
    let mut take: Vec<usize> = exact.iter().map(|&e| e.floor() as usize).collect();
    let mut order: Vec<usize> = (0..n_classes).collect();
    order.sort_by(|&a, &b| {
        let (fa, fb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
        fb.total_cmp(&fa)
            .then(members[b].len().cmp(&members[a].len()))
            .then(a.cmp(&b))
    });
    let mut left = n_test - take.iter().sum::<usize>();
    for &c in &order {
        if left == 0 {
            break;
        }
        if take[c] < members[c].len() {
            take[c] += 1;
            left -= 1;
        }
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut test_index = Vec::with_capacity(n_test);
    for (rows, &k) in members.iter_mut().zip(&take) {
        rows.shuffle(&mut rng);
        test_index.extend_from_slice(&rows[..k]);
    }
    test_index.sort_unstable();
    let mut held = vec![false; n];
    for &i in &test_index {
        held[i] = true;
    }
    let train_index: Vec<usize> = (0..n).filter(|&i| !held[i]).collect();
    Ok(TrainTestSplit {
        x_train: x.select(Axis(0), &train_index),
        x_test: x.select(Axis(0), &test_index),
        y_train: y.select(Axis(0), &train_index),
        y_test: y.select(Axis(0), &test_index),
        train_index,
        test_index,
    })
}

/// scikit-learn's `class_weight="balanced"`: class `c` gets `n / (k · count_c)`, where `n` is
/// the number of labels and `k` the number of classes (`max label + 1`), so every class carries
/// the same total weight. Pass the result as [`FitOptions::class_weight`](crate::FitOptions).
///
/// ```
/// // 6 rows of class 0 and 2 of class 1: 8 / (2 · 6) and 8 / (2 · 2).
/// let w = ndnet::data::balanced_class_weights(&[0, 0, 0, 1, 0, 0, 1, 0])?;
/// assert_eq!(w, vec![8.0 / 12.0, 2.0]);
/// # Ok::<(), ndnet::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::EmptyData`] without labels; [`Error::InvalidParameter`] if a class below the
/// largest label has no row (its weight would be infinite).
pub fn balanced_class_weights(labels: &[usize]) -> Result<Vec<f32>> {
    let Some(&max) = labels.iter().max() else {
        return Err(Error::EmptyData("balanced_class_weights".into()));
    };
    let k = max
        .checked_add(1)
        .ok_or_else(|| Error::param("balanced_class_weights", "label", max, "is too large"))?;
    if k > labels.len() {
        return Err(Error::param(
            "balanced_class_weights",
            "labels",
            max,
            format!(
                "{} labels cannot cover classes 0..={max}: some class has no row",
                labels.len()
            ),
        ));
    }
    let mut counts = vec![0usize; k];
    for &l in labels {
        counts[l] += 1;
    }
    if let Some(c) = counts.iter().position(|&c| c == 0) {
        return Err(Error::param(
            "balanced_class_weights",
            "labels",
            c,
            "this class has no row, so it has no balanced weight",
        ));
    }
    let n = labels.len() as f64;
    Ok(counts
        .iter()
        .map(|&c| (n / (k as f64 * c as f64)) as f32)
        .collect())
}
