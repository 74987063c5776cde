//! Weight regularizers: L1 and L2 penalties added to the loss (Keras 2's `regularizers.L1L2`).
//!
//! A [`Regularizer`] attached to a [`Dense`](crate::layers::Dense) kernel adds
//!
//! ```text
//! penalty = l1 · Σ|w| + l2 · Σw²
//! ```
//!
//! to the batch loss of every training step (and to the loss `fit` reports and `evaluate`
//! returns, as Keras does), and its gradient `l1 · sign(w) + 2 · l2 · w` to the kernel's gradient
//! during `backward`, in place, without allocating. `sign(0) = 0`, as TensorFlow's gradient of
//! `|w|` at zero.
//!
//! ```
//! use ndnet::prelude::*;
//! let layer = Dense::new(30)
//!     .activation(Activation::Relu)
//!     .kernel_regularizer(Regularizer::l2(0.01));
//! # let _ = layer;
//! ```

use ndarray::{ArrayView2, ArrayViewMut2};

use crate::elementwise::zip2;
use crate::error::Result;
use crate::validate;

/// An L1 and/or L2 penalty on a weight tensor.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Regularizer {
    /// Coefficient of `Σ|w|`.
    pub l1: f32,
    /// Coefficient of `Σw²`.
    pub l2: f32,
}

impl Regularizer {
    /// `l1 · Σ|w|` (Keras's `regularizers.l1(l1)`; Keras's default coefficient is 0.01).
    pub fn l1(l1: f32) -> Self {
        Regularizer { l1, l2: 0.0 }
    }

    /// `l2 · Σw²` (Keras's `regularizers.l2(l2)`; Keras's default coefficient is 0.01).
    pub fn l2(l2: f32) -> Self {
        Regularizer { l1: 0.0, l2 }
    }

    /// `l1 · Σ|w| + l2 · Σw²` (Keras's `regularizers.l1_l2(l1, l2)`).
    pub fn l1_l2(l1: f32, l2: f32) -> Self {
        Regularizer { l1, l2 }
    }

    /// Checks that both coefficients are finite and non-negative.
    pub fn validate(&self, owner: &str) -> Result<()> {
        validate::non_negative(owner, "l1", self.l1)?;
        validate::non_negative(owner, "l2", self.l2)
    }

    /// The penalty `l1 · Σ|w| + l2 · Σw²` (summed in f64).
    pub fn penalty(&self, w: ArrayView2<f32>) -> f32 {
        let (mut abs, mut sq) = (0.0f64, 0.0f64);
        for &v in w.iter() {
            abs += v.abs() as f64;
            sq += (v as f64) * (v as f64);
        }
        (self.l1 as f64 * abs + self.l2 as f64 * sq) as f32
    }

    /// Adds the penalty's gradient `l1 · sign(w) + 2 · l2 · w` to `grad`, in place.
    pub fn add_gradient(&self, w: ArrayView2<f32>, grad: ArrayViewMut2<f32>) {
        let (l1, l2x2) = (self.l1, 2.0 * self.l2);
        zip2(grad, w, |g, w| {
            let sign = if w > 0.0 {
                1.0
            } else if w < 0.0 {
                -1.0
            } else {
                0.0
            };
            *g += l1 * sign + l2x2 * w;
        });
    }
}
