//! Accuracy metrics, and (in [`calibration`]) metrics of predicted probabilities.

pub mod calibration;

use ndarray::ArrayView2;

/// How predictions are turned into classes and compared with targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accuracy {
    /// Element-wise: predicted class is `p > 0.5`, compared with `y > 0.5`.
    Binary,
    /// Row-wise: `argmax p == argmax y`.
    Categorical,
}

impl Accuracy {
    /// Binary for a single output column, categorical otherwise.
    pub fn for_width(width: usize) -> Self {
        if width == 1 {
            Accuracy::Binary
        } else {
            Accuracy::Categorical
        }
    }

    /// `(correct, total)` over a batch.
    pub fn count(&self, pred: ArrayView2<f32>, target: ArrayView2<f32>) -> (usize, usize) {
        match self {
            Accuracy::Binary => {
                let correct = pred
                    .iter()
                    .zip(target.iter())
                    .filter(|&(&p, &y)| (p > 0.5) == (y > 0.5))
                    .count();
                (correct, pred.len())
            }
            Accuracy::Categorical => {
                let correct = pred
                    .outer_iter()
                    .zip(target.outer_iter())
                    .filter(|(p, y)| argmax(p.iter()) == argmax(y.iter()))
                    .count();
                (correct, pred.nrows())
            }
        }
    }

    /// The fraction correct, in `[0, 1]` (0 for an empty batch).
    pub fn score(&self, pred: ArrayView2<f32>, target: ArrayView2<f32>) -> f32 {
        let (c, t) = self.count(pred, target);
        if t == 0 { 0.0 } else { c as f32 / t as f32 }
    }
}

/// Index of the largest value (the first on ties; NaN never wins).
pub fn argmax<'a>(values: impl Iterator<Item = &'a f32>) -> usize {
    let mut best = (0, f32::NEG_INFINITY);
    for (i, &v) in values.enumerate() {
        if v > best.1 {
            best = (i, v);
        }
    }
    best.0
}

/// Class of each row: `y > 0.5` for one column, the arg-max otherwise.
///
/// ```
/// use ndnet::metrics::class_labels;
/// use ndarray::array;
/// assert_eq!(class_labels(array![[0.2f32], [0.7]].view()), vec![0, 1]);
/// assert_eq!(class_labels(array![[0.1f32, 0.9], [0.6, 0.4]].view()), vec![1, 0]);
/// ```
pub fn class_labels(y: ArrayView2<f32>) -> Vec<usize> {
    if y.ncols() == 1 {
        y.iter().map(|&v| usize::from(v > 0.5)).collect()
    } else {
        y.outer_iter().map(|r| argmax(r.iter())).collect()
    }
}

/// Mean of `values` in f64 (0 for none).
pub(crate) fn mean_of<'a, T: Copy + Into<f64> + 'a>(values: impl Iterator<Item = &'a T>) -> f64 {
    let (sum, n) = values.fold((0.0f64, 0usize), |(s, n), &v| (s + v.into(), n + 1));
    sum / n.max(1) as f64
}

/// Population standard deviation of `values` in f64 (0 for none).
pub(crate) fn std_of<'a, T: Copy + Into<f64> + 'a>(
    values: impl Iterator<Item = &'a T> + Clone,
) -> f64 {
    let m = mean_of(values.clone());
    let (sum, n) = values.fold((0.0f64, 0usize), |(s, n), &v| {
        let d = v.into() - m;
        (s + d * d, n + 1)
    });
    (sum / n.max(1) as f64).sqrt()
}
