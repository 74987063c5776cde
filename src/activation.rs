//! Element-wise and row-wise activation functions.
//!
//! Every activation here can compute its derivative from its *output* alone, so layers keep only
//! their output buffer and never store pre-activations.

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut2, Axis, Zip};

use crate::error::{Error, Result};
use crate::kernels::elementwise::{
    flush_subnormals, flushed, map_inplace, zip_slices, zip2_flushed,
};
use crate::validate;

/// An activation function `y = f(z)`, applied after a layer's affine map or as its own layer.
///
/// | variant | `f(z)` | `f'` in terms of `y` |
/// |---|---|---|
/// | `Linear` | `z` | `1` |
/// | `Relu` | `max(z, 0)` | `1` if `y > 0` else `0` |
/// | `LeakyRelu { alpha }` | `z` if `z > 0` else `alpha * z` | `1` if `y > 0` else `alpha` |
/// | `Sigmoid` | `1 / (1 + e^-z)` | `y (1 - y)` |
/// | `Tanh` | `tanh z` | `1 - y²` |
/// | `Softmax` | `e^z_i / Σ_j e^z_j` per row | `g_i ← y_i (g_i - Σ_j g_j y_j)` |
/// | `Selu` | `λ z` if `z > 0` else `λ α (e^z - 1)` | `λ` if `y >= 0` else `y + λ α` |
///
/// SELU uses Keras's constants `α = 1.6732632423543772` ([`SELU_ALPHA`]) and
/// `λ = 1.0507009873554805` ([`SELU_SCALE`]); pair it with
/// [`Initializer::LecunNormal`](crate::init::Initializer::LecunNormal) and
/// [`AlphaDropout`](crate::layers::AlphaDropout).
///
/// ```
/// use ndnet::Activation;
/// use ndarray::array;
/// let mut z = array![[-1.0f32, 0.0, 2.0]];
/// Activation::Relu.apply(z.view_mut());
/// assert_eq!(z, array![[0.0, 0.0, 2.0]]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum Activation {
    /// Identity.
    #[default]
    Linear,
    /// Rectified linear unit.
    Relu,
    /// Leaky ReLU with slope `alpha` (>= 0) for negative inputs (Keras default 0.3).
    LeakyRelu {
        /// Slope for `z <= 0`.
        alpha: f32,
    },
    /// Logistic sigmoid.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// Softmax over each row.
    Softmax,
    /// Scaled exponential linear unit (Klambauer et al. 2017).
    Selu,
}

/// SELU's `α` (Keras's value).
pub const SELU_ALPHA: f32 = 1.673_263_2;
/// SELU's scale `λ` (Keras's value).
pub const SELU_SCALE: f32 = 1.050_701;

impl Activation {
    /// The Keras name of the activation (`"relu"`, `"sigmoid"`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softmax => "softmax",
            Activation::Selu => "selu",
        }
    }

    /// Checks the activation's parameters.
    pub fn validate(&self, owner: &str) -> Result<()> {
        match *self {
            Activation::LeakyRelu { alpha } => validate::non_negative(owner, "alpha", alpha),
            _ => Ok(()),
        }
    }

    /// Applies the activation in place to a batch `(rows, units)`.
    pub fn apply(&self, z: ArrayViewMut2<f32>) {
        // Without a bias there is no shape to mismatch.
        let _ = self.apply_with_bias(z, None);
    }

    /// Adds `bias` (one value per column) to each row, then applies the activation, in one pass.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when `bias` does not have one value per column of `z`; `z` is
    /// left unchanged then.
    ///
    /// ```
    /// use ndnet::Activation;
    /// use ndarray::array;
    /// let mut z = array![[-1.0f32, 0.0, 2.0]];
    /// Activation::Relu.apply_with_bias(z.view_mut(), Some(array![1.0f32, 1.0, 1.0].view()))?;
    /// assert_eq!(z, array![[0.0, 1.0, 3.0]]);
    /// assert!(Activation::Relu.apply_with_bias(z.view_mut(), Some(array![1.0f32].view())).is_err());
    /// # Ok::<(), ndnet::Error>(())
    /// ```
    pub fn apply_with_bias(
        &self,
        mut z: ArrayViewMut2<f32>,
        bias: Option<ArrayView1<f32>>,
    ) -> Result<()> {
        if let Some(b) = bias
            && b.len() != z.ncols()
        {
            return Err(Error::ShapeMismatch {
                what: format!("{} activation: bias (one value per column)", self.name()),
                expected: vec![z.ncols()],
                found: vec![b.len()],
            });
        }
        match self {
            Activation::Softmax => {
                let flush = flush_subnormals();
                for mut row in z.axis_iter_mut(Axis(0)) {
                    if let Some(b) = bias {
                        row += &b;
                    }
                    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let mut sum = 0.0f32;
                    row.mapv_inplace(|v| {
                        let e = (v - max).exp();
                        sum += e;
                        e
                    });
                    let inv = 1.0 / sum;
                    row.mapv_inplace(|v| flushed(flush, v * inv));
                }
            }
            Activation::Linear => affine(z, bias, |v| v),
            Activation::Relu => affine(z, bias, |v| v.max(0.0)),
            Activation::LeakyRelu { alpha } => {
                affine(z, bias, move |v| if v > 0.0 { v } else { alpha * v })
            }
            Activation::Sigmoid => affine(z, bias, sigmoid),
            Activation::Tanh => affine(z, bias, f32::tanh),
            Activation::Selu => affine(z, bias, |v| {
                if v > 0.0 {
                    SELU_SCALE * v
                } else {
                    SELU_SCALE * SELU_ALPHA * (v.exp() - 1.0)
                }
            }),
        }
        Ok(())
    }

    /// Multiplies the gradient `grad` (w.r.t. the output `y`) by the activation's derivative, in
    /// place, turning it into the gradient w.r.t. the pre-activation `z`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless `y` and `grad` have the same shape; `grad` is left
    /// unchanged then.
    pub fn backward(&self, y: ArrayView2<f32>, mut grad: ArrayViewMut2<f32>) -> Result<()> {
        if y.dim() != grad.dim() {
            return Err(Error::ShapeMismatch {
                what: format!(
                    "{} activation backward: gradient (the output's shape)",
                    self.name()
                ),
                expected: y.shape().to_vec(),
                found: grad.shape().to_vec(),
            });
        }
        match *self {
            Activation::Linear => {}
            Activation::Relu => zip2_flushed(grad, y, |g, y| *g = if y > 0.0 { *g } else { 0.0 }),
            Activation::LeakyRelu { alpha } => {
                zip2_flushed(grad, y, |g, y| *g *= if y > 0.0 { 1.0 } else { alpha })
            }
            Activation::Sigmoid => zip2_flushed(grad, y, |g, y| *g *= y * (1.0 - y)),
            Activation::Tanh => zip2_flushed(grad, y, |g, y| *g *= 1.0 - y * y),
            Activation::Selu => zip2_flushed(grad, y, |g, y| {
                *g *= if y < 0.0 {
                    y + SELU_SCALE * SELU_ALPHA
                } else {
                    SELU_SCALE
                }
            }),
            Activation::Softmax => {
                let flush = flush_subnormals();
                for (mut g, y) in grad.axis_iter_mut(Axis(0)).zip(y.axis_iter(Axis(0))) {
                    let dot: f32 = g.iter().zip(y.iter()).map(|(a, b)| a * b).sum();
                    Zip::from(&mut g).and(&y).for_each(|g, &y| {
                        *g = flushed(flush, y * (*g - dot));
                    });
                }
            }
        }
        Ok(())
    }
}

/// `z ← f(z + bias)` row by row (or `z ← f(z)` without a bias), one pass over contiguous rows,
/// each result [`flushed`] when [`flush_subnormals`] is on.
#[inline]
fn affine(mut z: ArrayViewMut2<f32>, bias: Option<ArrayView1<f32>>, f: impl Fn(f32) -> f32) {
    let on = flush_subnormals();
    let f = |v: f32| flushed(on, f(v));
    let Some(b) = bias else {
        map_inplace(z, |v| *v = f(*v));
        return;
    };
    for mut row in z.axis_iter_mut(Axis(0)) {
        match (row.as_slice_mut(), b.as_slice()) {
            (Some(r), Some(bs)) => zip_slices(r, bs, |v, b| *v = f(*v + b)),
            _ => Zip::from(&mut row).and(&b).for_each(|v, &b| *v = f(*v + b)),
        }
    }
}

/// Logistic sigmoid `1 / (1 + e^-z)`; exactly 0.0 or 1.0 when `z` saturates in f32, never NaN.
#[inline]
pub fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}
