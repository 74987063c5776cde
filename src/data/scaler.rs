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
use crate::model::check_finite;

/// Per-column standardization `z = (x - mean) / scale`, as scikit-learn's `StandardScaler`.
///
/// `scale` is the population standard deviation (divisor `n`, not `n - 1`), and 1 for a column
/// whose variance is zero (up to rounding), so constant columns become 0 instead of NaN. The
/// statistics are computed in `f64`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StandardScaler {
    fitted: Option<Fitted>,
}

#[derive(Debug, Clone, PartialEq)]
struct Fitted {
    mean: Array1<f64>,
    scale: Array1<f64>,
    n_samples: usize,
}

impl StandardScaler {
    /// A scaler that has not been fitted.
    pub fn new() -> Self {
        StandardScaler::default()
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
