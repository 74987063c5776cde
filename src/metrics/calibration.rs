//! How good predicted class probabilities are, beyond accuracy: negative log-likelihood, Brier
//! score, expected calibration error with its reliability diagram, and the accuracy kept when
//! the most uncertain rows are rejected.
//!
//! Every function takes class probabilities `probs` `(rows, classes)` (as
//! [`Sequential::predict_proba`](crate::Sequential::predict_proba) or
//! [`McPrediction::proba`](crate::mc::McPrediction::proba) give them; each row sums to 1) and the
//! true class of each row, `labels` (as [`class_labels`](crate::metrics::class_labels) gives them).
//! The predicted class of a row is its arg-max (the first on ties), its *confidence* that
//! largest probability.
//!
//! ```
//! use ndnet::metrics::calibration::{brier_score, expected_calibration_error, negative_log_likelihood};
//! use ndarray::array;
//! let probs = array![[0.9f32, 0.1], [0.4, 0.6], [0.7, 0.3]];
//! let labels = [0, 1, 1];
//! // -(ln 0.9 + ln 0.6 + ln 0.3) / 3
//! assert!((negative_log_likelihood(probs.view(), &labels)? - 0.606_7).abs() < 1e-4);
//! // ((0.01 + 0.01) + (0.16 + 0.16) + (0.49 + 0.49)) / 3
//! assert!((brier_score(probs.view(), &labels)? - 0.44).abs() < 1e-6);
//! // Two bins: (0, 0.5] is empty; (0.5, 1] holds all three rows, accuracy 2/3, confidence 11/15.
//! assert!((expected_calibration_error(probs.view(), &labels, 2)? - 1.0 / 15.0).abs() < 1e-6);
//! # Ok::<(), ndnet::Error>(())
//! ```

use ndarray::{Array1, ArrayView1, ArrayView2};

use crate::error::{Error, Result};
use crate::metrics::argmax;

/// The smallest probability [`negative_log_likelihood`] takes the logarithm of (Keras's
/// `epsilon()`), so a confident mistake costs `-ln 1e-7 ≈ 16.1` rather than infinity.
pub const EPSILON: f64 = 1e-7;

/// Checks `probs` against `labels`: as many rows, at least one, finite values in `[0, 1]`,
/// labels below the number of classes.
fn check(what: &str, probs: ArrayView2<f32>, labels: &[usize]) -> Result<()> {
    if probs.nrows() != labels.len() {
        return Err(Error::RowCountMismatch {
            what: what.into(),
            x_rows: probs.nrows(),
            y_rows: labels.len(),
        });
    }
    if probs.nrows() == 0 || probs.ncols() == 0 {
        return Err(Error::EmptyData(what.into()));
    }
    crate::validate::check_finite(|| what.to_string(), probs)?;
    if let Some(((row, column), &p)) = probs
        .indexed_iter()
        .find(|(_, p)| !(0.0..=1.0).contains(*p))
    {
        return Err(Error::param(
            what,
            format!("probs[{row}, {column}]"),
            p,
            "must be a probability in [0, 1]",
        ));
    }
    if let Some((row, &label)) = labels
        .iter()
        .enumerate()
        .find(|(_, l)| **l >= probs.ncols())
    {
        return Err(Error::param(
            what,
            format!("labels[{row}]"),
            label,
            format!("must be a class below {}", probs.ncols()),
        ));
    }
    Ok(())
}

/// Mean negative log-likelihood of the true classes, in nats:
/// `-(1/n) Σ_i ln max(probs[i, labels[i]], EPSILON)`.
///
/// # Errors
///
/// [`Error::RowCountMismatch`] if `labels` does not have one entry per row,
/// [`Error::EmptyData`] for no rows, [`Error::NonFinite`] or [`Error::InvalidParameter`] for a
/// value outside `[0, 1]` or a label that is not a class.
pub fn negative_log_likelihood(probs: ArrayView2<f32>, labels: &[usize]) -> Result<f64> {
    check("negative_log_likelihood", probs, labels)?;
    let total: f64 = labels
        .iter()
        .enumerate()
        .map(|(i, &y)| -f64::from(probs[[i, y]]).max(EPSILON).ln())
        .sum();
    Ok(total / labels.len() as f64)
}

/// The Brier score (Brier 1950): `(1/n) Σ_i Σ_c (probs[i, c] - [c = labels[i]])²`, in `[0, 2]`.
/// With the two columns `[1 - p, p]` of a binary model it is twice the one-column form
/// `(1/n) Σ_i (p_i - y_i)²`.
///
/// # Errors
///
/// As [`negative_log_likelihood`].
pub fn brier_score(probs: ArrayView2<f32>, labels: &[usize]) -> Result<f64> {
    check("brier_score", probs, labels)?;
    let total: f64 = probs
        .outer_iter()
        .zip(labels)
        .map(|(row, &y)| {
            row.iter()
                .enumerate()
                .map(|(c, &p)| (f64::from(p) - f64::from(u8::from(c == y))).powi(2))
                .sum::<f64>()
        })
        .sum();
    Ok(total / labels.len() as f64)
}

/// One bin of a [`Reliability`] diagram.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReliabilityBin {
    /// Lower edge (excluded, except 0 for the first bin).
    pub lower: f64,
    /// Upper edge (included).
    pub upper: f64,
    /// Rows whose confidence falls in the bin.
    pub count: usize,
    /// Mean confidence of those rows (NaN for an empty bin).
    pub confidence: f64,
    /// Fraction of those rows predicted correctly (NaN for an empty bin).
    pub accuracy: f64,
}

/// Confidence against accuracy in equal-width bins of confidence (Guo et al. 2017): the data of a
/// reliability diagram and of the expected calibration error.
#[derive(Debug, Clone, PartialEq)]
pub struct Reliability {
    /// The bins, from `[0, 1/B]` to `(1 - 1/B, 1]`.
    pub bins: Vec<ReliabilityBin>,
    /// Number of rows.
    pub rows: usize,
}

impl Reliability {
    /// The bins of `probs` against `labels`: bin `b` of `n_bins` holds the rows with confidence in
    /// `(b / n_bins, (b + 1) / n_bins]` (a confidence of 0 goes to the first bin).
    ///
    /// # Errors
    ///
    /// As [`negative_log_likelihood`]; [`Error::InvalidParameter`] for 0 bins.
    pub fn new(probs: ArrayView2<f32>, labels: &[usize], n_bins: usize) -> Result<Self> {
        const WHAT: &str = "Reliability";
        if n_bins == 0 {
            return Err(Error::param(WHAT, "n_bins", 0, "must be at least 1"));
        }
        check(WHAT, probs, labels)?;
        let mut count = vec![0usize; n_bins];
        let mut confidence = vec![0.0f64; n_bins];
        let mut correct = vec![0usize; n_bins];
        for (row, &y) in probs.outer_iter().zip(labels) {
            let predicted = argmax(row.iter());
            let conf = f64::from(row[predicted]);
            let b = ((conf * n_bins as f64).ceil() as usize).clamp(1, n_bins) - 1;
            count[b] += 1;
            confidence[b] += conf;
            correct[b] += usize::from(predicted == y);
        }
        let bins = (0..n_bins)
            .map(|b| {
                let n = count[b] as f64;
                ReliabilityBin {
                    lower: b as f64 / n_bins as f64,
                    upper: (b + 1) as f64 / n_bins as f64,
                    count: count[b],
                    confidence: if count[b] == 0 {
                        f64::NAN
                    } else {
                        confidence[b] / n
                    },
                    accuracy: if count[b] == 0 {
                        f64::NAN
                    } else {
                        correct[b] as f64 / n
                    },
                }
            })
            .collect();
        Ok(Reliability {
            bins,
            rows: labels.len(),
        })
    }

    /// The expected calibration error `Σ_b (n_b / n) |accuracy_b - confidence_b|` over the
    /// non-empty bins, in `[0, 1]`.
    pub fn ece(&self) -> f64 {
        self.bins
            .iter()
            .filter(|b| b.count > 0)
            .map(|b| b.count as f64 / self.rows as f64 * (b.accuracy - b.confidence).abs())
            .sum()
    }
}

/// The expected calibration error of `probs` in `n_bins` equal-width confidence bins (15 is the
/// usual choice): [`Reliability::new`]`(probs, labels, n_bins)?.ece()`.
///
/// # Errors
///
/// As [`Reliability::new`].
pub fn expected_calibration_error(
    probs: ArrayView2<f32>,
    labels: &[usize],
    n_bins: usize,
) -> Result<f64> {
    Ok(Reliability::new(probs, labels, n_bins)?.ece())
}

/// The entropy `-Σ_c p_c ln p_c` of each row of `probs`, in nats (terms with `p_c = 0` count 0).
///
/// ```
/// use ndnet::metrics::calibration::entropy;
/// use ndarray::array;
/// let h = entropy(array![[0.5f32, 0.5], [1.0, 0.0]].view())?;
/// assert!((h[0] - std::f32::consts::LN_2).abs() < 1e-7);
/// assert_eq!(h[1], 0.0);
/// # Ok::<(), ndnet::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::NonFinite`] for a NaN or infinite value.
pub fn entropy(probs: ArrayView2<f32>) -> Result<Array1<f32>> {
    crate::validate::check_finite(|| "entropy".to_string(), probs)?;
    Ok(probs
        .outer_iter()
        .map(|row| {
            -row.iter()
                .map(|&p| f64::from(p))
                .filter(|&p| p > 0.0)
                .map(|p| p * p.ln())
                .sum::<f64>() as f32
        })
        .collect())
}

/// Accuracy on the rows kept after rejecting the `floor(fraction · n)` rows with the largest
/// `uncertainty` (on ties, the earlier row is rejected first). `fraction = 0` gives the plain
/// accuracy. A good uncertainty makes the accuracy rise with `fraction`.
///
/// ```
/// use ndnet::metrics::calibration::accuracy_with_rejection;
/// use ndarray::array;
/// let probs = array![[0.9f32, 0.1], [0.6, 0.4], [0.2, 0.8], [0.45, 0.55]];
/// let labels = [0, 1, 1, 0];
/// let uncertainty = [0.1f32, 0.7, 0.2, 0.9];
/// assert_eq!(accuracy_with_rejection(probs.view(), &labels, &uncertainty, 0.0)?, 0.5);
/// // Rejecting the two most uncertain rows (3, then 1) keeps two correct ones.
/// assert_eq!(accuracy_with_rejection(probs.view(), &labels, &uncertainty, 0.5)?, 1.0);
/// # Ok::<(), ndnet::Error>(())
/// ```
///
/// # Errors
///
/// As [`negative_log_likelihood`]; [`Error::ShapeMismatch`] unless `uncertainty` has one finite
/// value per row; [`Error::InvalidParameter`] unless `fraction` is in `[0, 1)`.
pub fn accuracy_with_rejection(
    probs: ArrayView2<f32>,
    labels: &[usize],
    uncertainty: &[f32],
    fraction: f64,
) -> Result<f64> {
    const WHAT: &str = "accuracy_with_rejection";
    check(WHAT, probs, labels)?;
    if uncertainty.len() != labels.len() {
        return Err(Error::ShapeMismatch {
            what: format!("{WHAT}: uncertainty (one value per row)"),
            expected: vec![labels.len()],
            found: vec![uncertainty.len()],
        });
    }
    crate::validate::check_finite(
        || format!("{WHAT}: uncertainty"),
        ArrayView1::from(uncertainty),
    )?;
    if !(fraction.is_finite() && (0.0..1.0).contains(&fraction)) {
        return Err(Error::param(
            WHAT,
            "fraction",
            fraction,
            "must be in [0, 1)",
        ));
    }
    let n = labels.len();
    let rejected = (fraction * n as f64).floor() as usize;
    let mut order: Vec<usize> = (0..n).collect();
    // Stable: equal uncertainties keep row order, so the earlier row is rejected first.
    order.sort_by(|&a, &b| uncertainty[b].total_cmp(&uncertainty[a]));
    let kept = &order[rejected..];
    let correct = kept
        .iter()
        .filter(|&&i| argmax(probs.row(i).iter()) == labels[i])
        .count();
    Ok(correct as f64 / kept.len() as f64)
}

#[cfg(feature = "plot")]
pub use plot::{reliability_diagram, write_reliability_svg};

#[cfg(feature = "plot")]
mod plot {
    use std::path::Path;

    use super::Reliability;
    use crate::error::{Error, Result};
    use crate::plot::{DropoutPlot, Line, Panel};

    /// A reliability diagram: one line per predictor through the (mean confidence, accuracy in
    /// %) of its non-empty bins, and the diagonal of perfect calibration; the legend gives each
    /// predictor's expected calibration error.
    ///
    /// ```
    /// use ndnet::metrics::calibration::{Reliability, reliability_diagram};
    /// use ndarray::array;
    /// let probs = array![[0.9f32, 0.1], [0.4, 0.6], [0.7, 0.3]];
    /// let r = Reliability::new(probs.view(), &[0, 1, 1], 15)?;
    /// let svg = reliability_diagram("Calibration", &[("weight scaling", &r)])?.to_svg_string()?;
    /// assert!(svg.contains("weight scaling"));
    /// # Ok::<(), ndnet::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::EmptyData`] without predictors.
    pub fn reliability_diagram(
        title: &str,
        curves: &[(&str, &Reliability)],
    ) -> Result<DropoutPlot> {
        if curves.is_empty() {
            return Err(Error::EmptyData(
                "reliability_diagram: no predictors to draw".into(),
            ));
        }
        let mut panel = Panel::new("confidence against accuracy, equal-width bins")
            .x_label("confidence (mean of the bin)")
            .y_range(0.0, 100.0);
        for (name, r) in curves {
            let points = r
                .bins
                .iter()
                .filter(|b| b.count > 0)
                .map(|b| (b.confidence, b.accuracy * 100.0))
                .collect();
            let label = format!("{name} (ECE {:.2}%)", r.ece() * 100.0);
            panel = panel.line(Line::new(label, points));
        }
        panel = panel.line(Line::new(
            "perfect calibration",
            vec![(0.0, 0.0), (1.0, 100.0)],
        ));
        let mut plot = DropoutPlot::new(title).columns(1).panel(panel);
        plot.x_label = "confidence".into();
        plot.y_label = "accuracy (%)".into();
        plot.panel_size = (620, 460);
        Ok(plot)
    }

    /// Writes [`reliability_diagram`] to `path` as SVG, atomically (a reader sees the old file
    /// or the complete new one).
    ///
    /// # Errors
    ///
    /// As [`reliability_diagram`]; [`Error::Io`] if the file cannot be written.
    pub fn write_reliability_svg(
        path: impl AsRef<Path>,
        title: &str,
        curves: &[(&str, &Reliability)],
    ) -> Result<()> {
        reliability_diagram(title, curves)?.write_svg(path)
    }
}
