//! Standardizing features to zero mean and unit variance.
//!
//! ```
//! use ndarray::array;
//! use ndnet::data::StandardScaler;
//!
//! let x = array![[1.0f32, 10.0], [3.0, 10.0]];
//! let mut scaler = StandardScaler::new();
//! let z = scaler.fit_transform(x.view())?;
//! // Column 0: mean 2, population std 1. Column 1 is constant: mean 10, scale 1.
//! assert_eq!(z, array![[-1.0, 0.0], [1.0, 0.0]]);
//! # Ok::<(), ndnet::Error>(())
//! ```

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut2, Zip};

use crate::error::{Error, Result};
use crate::validate::check_finite;

/// Per-column standardization `z = (x - mean) / scale`, as scikit-learn's `StandardScaler`.
///
/// `scale` is the population standard deviation (divisor `n`, not `n - 1`), and 1 for a column
/// whose variance is zero (up to rounding), so constant columns become 0 instead of NaN. The
/// statistics are computed in `f64`.
///
/// With the `serde` feature it serializes as
/// `{"mean": [...], "scale": [...], "n_samples_seen": n}` (or `null`s before fitting), and
/// deserializing checks the parts as [`from_parts`](StandardScaler::from_parts) does.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "ScalerParts", into = "ScalerParts")
)]
pub struct StandardScaler {
    fitted: Option<Fitted>,
}

#[derive(Debug, Clone, PartialEq)]
struct Fitted {
    mean: Array1<f64>,
    scale: Array1<f64>,
    n_samples: usize,
}

/// The serialized form of a [`StandardScaler`].
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ScalerParts {
    mean: Option<Vec<f64>>,
    scale: Option<Vec<f64>>,
    n_samples_seen: Option<usize>,
}

#[cfg(feature = "serde")]
impl From<StandardScaler> for ScalerParts {
    fn from(s: StandardScaler) -> Self {
        match s.fitted {
            Some(f) => ScalerParts {
                mean: Some(f.mean.to_vec()),
                scale: Some(f.scale.to_vec()),
                n_samples_seen: Some(f.n_samples),
            },
            None => ScalerParts {
                mean: None,
                scale: None,
                n_samples_seen: None,
            },
        }
    }
}

#[cfg(feature = "serde")]
impl TryFrom<ScalerParts> for StandardScaler {
    type Error = Error;

    fn try_from(p: ScalerParts) -> Result<Self> {
        match (p.mean, p.scale, p.n_samples_seen) {
            (None, None, _) => Ok(StandardScaler::new()),
            (Some(mean), Some(scale), n) => {
                StandardScaler::from_parts(&mean, &scale, n.unwrap_or(0))
            }
            _ => Err(Error::InvalidState(
                "StandardScaler: mean and scale must both be given or both be null".into(),
            )),
        }
    }
}

impl StandardScaler {
    /// A scaler that has not been fitted.
    pub fn new() -> Self {
        StandardScaler::default()
    }

    /// A fitted scaler from its parts: the per-column `mean`, the per-column divisor `scale`
    /// (as [`mean`](Self::mean) and [`scale`](Self::scale) return them) and the number of rows
    /// it was fitted on (informational; 0 if unknown).
    ///
    /// ```
    /// use ndarray::array;
    /// use ndnet::data::StandardScaler;
    ///
    /// let scaler = StandardScaler::from_parts(&[2.0, 10.0], &[1.0, 4.0], 2)?;
    /// assert_eq!(scaler.transform(array![[3.0f32, 2.0]].view())?, array![[1.0, -2.0]]);
    /// # Ok::<(), ndnet::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] if the lengths differ; [`Error::EmptyData`] if they are empty;
    /// [`Error::InvalidParameter`] for a mean that is not finite or a scale that is not finite
    /// and positive.
    pub fn from_parts(mean: &[f64], scale: &[f64], n_samples_seen: usize) -> Result<Self> {
        if mean.len() != scale.len() {
            return Err(Error::ShapeMismatch {
                what: "StandardScaler::from_parts: mean and scale lengths".into(),
                expected: vec![mean.len()],
                found: vec![scale.len()],
            });
        }
        if mean.is_empty() {
            return Err(Error::EmptyData(
                "StandardScaler::from_parts: no columns".into(),
            ));
        }
        if let Some(j) = mean.iter().position(|m| !m.is_finite()) {
            return Err(Error::param(
                "StandardScaler",
                "mean",
                mean[j],
                "must be finite",
            ));
        }
        if let Some(j) = scale.iter().position(|&s| !(s.is_finite() && s > 0.0)) {
            return Err(Error::param(
                "StandardScaler",
                "scale",
                scale[j],
                "must be finite and positive",
            ));
        }
        Ok(StandardScaler {
            fitted: Some(Fitted {
                mean: Array1::from(mean.to_vec()),
                scale: Array1::from(scale.to_vec()),
                n_samples: n_samples_seen,
            }),
        })
    }

    /// Learns each column's mean and population standard deviation.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyData`] if `x` has no rows or no columns; [`Error::NonFinite`] (with row and
    /// column) for a NaN or infinite value.
    pub fn fit(&mut self, x: ArrayView2<'_, f32>) -> Result<&mut Self> {
        let (n, d) = x.dim();
        if n == 0 || d == 0 {
            return Err(Error::EmptyData(format!(
                "StandardScaler::fit on an array of shape ({n}, {d})"
            )));
        }
        check_finite(|| "StandardScaler::fit input".to_owned(), x)?;
        let nf = n as f64;
        let mut mean = Array1::<f64>::zeros(d);
        let mut scale = Array1::<f64>::zeros(d);
        for (j, col) in x.columns().into_iter().enumerate() {
            let m = col.iter().map(|&v| f64::from(v)).sum::<f64>() / nf;
            let var = col
                .iter()
                .map(|&v| {
                    let c = f64::from(v) - m;
                    c * c
                })
                .sum::<f64>()
                / nf;
            mean[j] = m;
            scale[j] = if is_constant(var, m, nf) {
                1.0
            } else {
                var.sqrt()
            };
        }
        self.fitted = Some(Fitted {
            mean,
            scale,
            n_samples: n,
        });
        Ok(self)
    }

    /// Whether [`fit`](Self::fit) has been called.
    pub fn is_fitted(&self) -> bool {
        self.fitted.is_some()
    }

    /// The mean of each column, once fitted.
    pub fn mean(&self) -> Option<ArrayView1<'_, f64>> {
        self.fitted.as_ref().map(|f| f.mean.view())
    }

    /// The divisor of each column (population standard deviation, or 1 for a constant column),
    /// once fitted.
    pub fn scale(&self) -> Option<ArrayView1<'_, f64>> {
        self.fitted.as_ref().map(|f| f.scale.view())
    }

    /// Number of columns seen by [`fit`](Self::fit), once fitted.
    pub fn n_features(&self) -> Option<usize> {
        self.fitted.as_ref().map(|f| f.mean.len())
    }

    /// Number of rows seen by [`fit`](Self::fit), once fitted.
    pub fn n_samples_seen(&self) -> Option<usize> {
        self.fitted.as_ref().map(|f| f.n_samples)
    }

    fn checked(&self, method: &str, shape: (usize, usize)) -> Result<&Fitted> {
        let fitted = self.fitted.as_ref().ok_or_else(|| {
            Error::InvalidState(format!("StandardScaler::{method} called before fit"))
        })?;
        let width = fitted.mean.len();
        if shape.1 != width {
            return Err(Error::ShapeMismatch {
                what: format!(
                    "StandardScaler::{method}: fitted on {width} columns, given {}",
                    shape.1
                ),
                expected: vec![shape.0, width],
                found: vec![shape.0, shape.1],
            });
        }
        Ok(fitted)
    }

    /// Standardizes `x` into a new array.
    ///
    /// Values are not checked: a NaN in `x` gives a NaN in the result.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] naming both widths if `x` does not have as many columns as the
    /// data the scaler was fitted on; [`Error::InvalidState`] before [`fit`](Self::fit).
    pub fn transform(&self, x: ArrayView2<'_, f32>) -> Result<Array2<f32>> {
        let fitted = self.checked("transform", x.dim())?;
        let mut out = x.to_owned();
        standardize(fitted, out.view_mut());
        Ok(out)
    }

    /// Standardizes `x` in place, without allocating.
    ///
    /// # Errors
    ///
    /// As [`transform`](Self::transform).
    pub fn transform_inplace(&self, x: ArrayViewMut2<'_, f32>) -> Result<()> {
        let fitted = self.checked("transform_inplace", x.dim())?;
        standardize(fitted, x);
        Ok(())
    }

    /// [`fit`](Self::fit) on `x`, then [`transform`](Self::transform) it.
    ///
    /// # Errors
    ///
    /// As [`fit`](Self::fit).
    pub fn fit_transform(&mut self, x: ArrayView2<'_, f32>) -> Result<Array2<f32>> {
        self.fit(x)?;
        self.transform(x)
    }

    /// Undoes the standardization: `x = z * scale + mean`.
    ///
    /// # Errors
    ///
    /// As [`transform`](Self::transform).
    pub fn inverse_transform(&self, z: ArrayView2<'_, f32>) -> Result<Array2<f32>> {
        let fitted = self.checked("inverse_transform", z.dim())?;
        let mut out = z.to_owned();
        for mut row in out.rows_mut() {
            Zip::from(&mut row)
                .and(&fitted.mean)
                .and(&fitted.scale)
                .for_each(|v, &m, &s| *v = (f64::from(*v) * s + m) as f32);
        }
        Ok(out)
    }
}

fn standardize(fitted: &Fitted, mut x: ArrayViewMut2<'_, f32>) {
    for mut row in x.rows_mut() {
        Zip::from(&mut row)
            .and(&fitted.mean)
            .and(&fitted.scale)
            .for_each(|v, &m, &s| *v = ((f64::from(*v) - m) / s) as f32);
    }
}

/// scikit-learn's test for a constant feature: a variance within the rounding error of its
/// computation counts as zero.
fn is_constant(var: f64, mean: f64, n: f64) -> bool {
    let eps = f64::EPSILON;
    let upper_bound = n * eps * var + (n * mean * eps).powi(2);
    var <= upper_bound
}

#[cfg(all(test, feature = "serde"))]
mod tests {
    use super::*;

    #[test]
    fn standard_scaler_round_trips_through_json_and_checks_what_it_reads() {
        let x = ndarray::array![[1.0f32, 10.0], [3.0, 10.0]];
        let mut scaler = StandardScaler::new();
        scaler.fit(x.view()).unwrap();
        let json = serde_json::to_string(&scaler).unwrap();
        assert_eq!(
            json,
            r#"{"mean":[2.0,10.0],"scale":[1.0,1.0],"n_samples_seen":2}"#
        );
        let back: StandardScaler = serde_json::from_str(&json).unwrap();
        assert_eq!(back, scaler);
        let unfitted: StandardScaler =
            serde_json::from_str(r#"{"mean":null,"scale":null,"n_samples_seen":null}"#).unwrap();
        assert!(!unfitted.is_fitted());
        assert!(
            serde_json::from_str::<StandardScaler>(
                r#"{"mean":[0.0],"scale":[-1.0],"n_samples_seen":1}"#
            )
            .is_err()
        );
    }
}
