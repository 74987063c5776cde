//! Fold-by-fold comparison of two candidates scored on the same folds.

use std::fmt;

use super::TuningResult;
use crate::error::{Error, Result};

/// The fold-by-fold difference between two candidates scored on the same folds.
///
/// Folds of a repeated cross-validation share most of their training rows, so the naive
/// standard error `std / sqrt(n)` of the mean difference is far too small. `corrected_se` is
/// the corrected repeated k-fold estimate (Nadeau & Bengio 2003; Bouckaert & Frank 2004):
/// `sqrt((1/n + 1/(k - 1)) · var)`, with `n = repeats · k` differences, their sample variance
/// `var`, and `1/(k - 1)` the ratio of test to training rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedDifference {
    /// Mean of `a - b` over all folds of all repeats.
    pub mean: f64,
    /// Sample standard deviation of the fold differences.
    pub std: f64,
    /// Corrected standard error of `mean` (see the type's documentation).
    pub corrected_se: f64,
    /// Number of fold pairs.
    pub n: usize,
}

impl PairedDifference {
    /// `mean / corrected_se`: the corrected resampled t statistic (`n - 1` degrees of freedom).
    pub fn t(&self) -> f64 {
        self.mean / self.corrected_se
    }
}

/// `+2.93 points (corrected paired SE 3.16, t = 0.93)`: the mean difference and its corrected
/// standard error in percentage points (accuracies are fractions), and [`t`](Self::t).
impl fmt::Display for PairedDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:+.2} points (corrected paired SE {:.2}, t = {:.2})",
            self.mean * 100.0,
            self.corrected_se * 100.0,
            self.t()
        )
    }
}

/// Compares `a` with `b` fold by fold; both must come from the same search (same repeats and
/// folds).
///
/// # Errors
///
/// [`Error::ShapeMismatch`] if the two do not have the same repeats and folds;
/// [`Error::InvalidParameter`] with fewer than 2 folds.
pub fn paired_difference<C>(a: &TuningResult<C>, b: &TuningResult<C>) -> Result<PairedDifference> {
    let shape = |r: &TuningResult<C>| r.scores.iter().map(Vec::len).collect::<Vec<_>>();
    if shape(a) != shape(b) {
        return Err(Error::ShapeMismatch {
            what: "paired_difference: folds per repeat".into(),
            expected: shape(a),
            found: shape(b),
        });
    }
    let k = a.scores.first().map_or(0, Vec::len);
    if k < 2 {
        return Err(Error::param(
            "paired_difference",
            "folds",
            k,
            "must be at least 2",
        ));
    }
    let d: Vec<f64> = a
        .all_scores()
        .zip(b.all_scores())
        .map(|(x, y)| f64::from(x) - f64::from(y))
        .collect();
    let n = d.len();
    let m = d.iter().sum::<f64>() / n as f64;
    let var = d.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1).max(1) as f64;
    Ok(PairedDifference {
        mean: m,
        std: var.sqrt(),
        corrected_se: ((1.0 / n as f64 + 1.0 / (k - 1) as f64) * var).sqrt(),
        n,
    })
}
