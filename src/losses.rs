//! Loss functions, with Keras 2's clipping and numerically stable fused gradients.

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut2, Zip};

use crate::activation::Activation;
use crate::clone_box::clone_box_trait;
use crate::error::{Error, Result};

/// Keras's fuzz factor `epsilon()`: probabilities are clipped to `[EPSILON, 1 - EPSILON]`.
pub const EPSILON: f32 = 1e-7;

/// A loss `L(pred, target)`, averaged over the samples of a batch.
///
/// With sample weights `w`, the batch loss is `Σ w_i l_i / rows` (Keras's
/// `SUM_OVER_BATCH_SIZE`).
///
/// A loss that is a mean of per-element terms implements [`ElementwiseLoss`] instead, which
/// gives it this trait.
pub trait Loss: LossClone + Send + Sync + std::fmt::Debug {
    /// Keras's name, e.g. `"binary_crossentropy"`.
    fn name(&self) -> &'static str;

    /// Checks that `target` holds values this loss accepts; errors name the row and column.
    fn validate_targets(&self, target: ArrayView2<f32>) -> Result<()>;

    /// True when [`gradient`](Loss::gradient) can return the gradient w.r.t. the pre-activation
    /// of `activation` directly (e.g. sigmoid + binary cross-entropy gives `(p - y) / n`).
    fn fuses_with(&self, activation: Activation) -> bool {
        let _ = activation;
        false
    }

    /// The batch loss of predictions `pred: (rows, outputs)` against `target` of the same
    /// shape, with optional per-row `weights: (rows,)`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when `target` or `weights` do not match `pred` (the losses of
    /// this crate check this in every build, in O(1)).
    ///
    /// ```
    /// use ndnet::prelude::*;
    /// use ndarray::array;
    /// let (p, y) = (array![[0.5f32], [0.5]], array![[1.0f32], [0.0]]);
    /// let l = BinaryCrossentropy.loss(p.view(), y.view(), None)?;
    /// assert!((l - std::f32::consts::LN_2).abs() < 1e-6);
    /// assert!(BinaryCrossentropy.loss(p.view(), y.view(), Some(array![1.0f32].view())).is_err());
    /// # Ok::<(), ndnet::Error>(())
    /// ```
    fn loss(
        &self,
        pred: ArrayView2<f32>,
        target: ArrayView2<f32>,
        weights: Option<ArrayView1<f32>>,
    ) -> Result<f32>;

    /// Writes dLoss/dPred into `grad` (or, when `fused`, dLoss/dPre-activation of the output
    /// activation this loss [fuses with](Loss::fuses_with)) and returns the batch loss.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when `target`, `weights` or `grad` do not match `pred`;
    /// nothing is written then.
    fn gradient(
        &self,
        pred: ArrayView2<f32>,
        target: ArrayView2<f32>,
        weights: Option<ArrayView1<f32>>,
        fused: bool,
        grad: ArrayViewMut2<f32>,
    ) -> Result<f32>;
}

clone_box_trait!(
    /// `clone_box` for [`Loss`]: implemented for every loss that is `Clone`, which gives `Clone`
    /// for `Box<dyn Loss>`.
    LossClone for Loss
);

/// Checks that `target` (and `grad`) have the shape of `pred` and `weights` one value per row.
fn check_shapes(
    loss: &str,
    pred: &ArrayView2<f32>,
    target: &ArrayView2<f32>,
    weights: Option<&ArrayView1<f32>>,
    grad: Option<&ArrayViewMut2<f32>>,
) -> Result<()> {
    let mismatch = |what: &str, found: &[usize]| Error::ShapeMismatch {
        what: format!("{loss}: {what} (the predictions are {:?})", pred.shape()),
        expected: if what == "weights" {
            vec![pred.nrows()]
        } else {
            pred.shape().to_vec()
        },
        found: found.to_vec(),
    };
    if target.dim() != pred.dim() {
        return Err(mismatch("targets", target.shape()));
    }
    if let Some(w) = weights
        && w.len() != pred.nrows()
    {
        return Err(mismatch("weights", w.shape()));
    }
    if let Some(g) = grad
        && g.dim() != pred.dim()
    {
        return Err(mismatch("gradient buffer", g.shape()));
    }
    Ok(())
}

fn weight(weights: Option<ArrayView1<f32>>, row: usize) -> f32 {
    weights.map_or(1.0, |w| w[row])
}

/// `Σ_i w_i · row_loss(p_i, y_i) / rows`, accumulated in f64.
fn weighted_mean(
    pred: ArrayView2<f32>,
    target: ArrayView2<f32>,
    weights: Option<ArrayView1<f32>>,
    row_loss: impl Fn(ArrayView1<f32>, ArrayView1<f32>) -> f64,
) -> f32 {
    let total: f64 = pred
        .outer_iter()
        .zip(target.outer_iter())
        .enumerate()
        .map(|(i, (p, y))| weight(weights, i) as f64 * row_loss(p, y))
        .sum();
    (total / pred.nrows().max(1) as f64) as f32
}

/// `grad[i, j] = d(p[i, j], y[i, j]) · w_i / n`: an element-wise gradient, row-weighted.
fn elementwise_gradient(
    pred: ArrayView2<f32>,
    target: ArrayView2<f32>,
    weights: Option<ArrayView1<f32>>,
    n: usize,
    mut grad: ArrayViewMut2<f32>,
    d: impl Fn(f32, f32) -> f32,
) {
    let n = n.max(1) as f32;
    for (i, mut g_row) in grad.outer_iter_mut().enumerate() {
        let scale = weight(weights, i) / n;
        Zip::from(&mut g_row)
            .and(pred.row(i))
            .and(target.row(i))
            .for_each(|g, &p, &y| *g = d(p, y) * scale);
    }
}

/// The tail the element-wise gradients share: the shape checks, `grad[i, j] = d(p, y) · w_i / n`
/// and the batch loss of `loss`.
fn gradient_and_loss(
    loss: &dyn Loss,
    (pred, target, weights): (ArrayView2<f32>, ArrayView2<f32>, Option<ArrayView1<f32>>),
    n: usize,
    grad: ArrayViewMut2<f32>,
    d: impl Fn(f32, f32) -> f32,
) -> Result<f32> {
    check_shapes(loss.name(), &pred, &target, weights.as_ref(), Some(&grad))?;
    elementwise_gradient(pred, target, weights, n, grad, d);
    loss.loss(pred, target, weights)
}

/// A loss that is a mean of per-element terms, `l = mean_j value(p_j, y_j)` over the output
/// columns of a sample, averaged over the batch as every [`Loss`]; the blanket implementation
/// makes each one a [`Loss`].
///
/// With `rows · cols` elements and per-row weights `w_i` (1 without weights), the batch loss is
/// `Σ_i w_i · (Σ_j value(p_ij, y_ij) / cols) / rows`, each sum in `f64`, and the gradient is
/// `grad[i, j] = derivative(p_ij, y_ij, fused) · w_i / (rows · cols)`. [`Loss::loss`] and
/// [`Loss::gradient`] check the shapes first ([`Error::ShapeMismatch`], nothing written).
///
/// ```
/// use ndnet::losses::{ElementwiseLoss, Loss, MeanSquaredError};
/// use ndarray::{array, Array2};
/// assert_eq!(MeanSquaredError.value(3.0, 1.0), 4.0);
/// let (p, y) = (array![[3.0f32, 1.0]], array![[1.0f32, 1.0]]);
/// let mut g = Array2::zeros((1, 2));
/// // mean_j (p_j - y_j)² = 2; d/dp = 2 (p - y) / (rows · cols).
/// assert_eq!(Loss::gradient(&MeanSquaredError, p.view(), y.view(), None, false, g.view_mut())?, 2.0);
/// assert_eq!(g, array![[2.0, 0.0]]);
/// # Ok::<(), ndnet::Error>(())
/// ```
pub trait ElementwiseLoss: Clone + Send + Sync + std::fmt::Debug + 'static {
    /// Keras's name, as [`Loss::name`].
    fn name(&self) -> &'static str;

    /// Checks that `target` holds values this loss accepts, as [`Loss::validate_targets`].
    ///
    /// # Errors
    /// [`Error::InvalidTarget`] naming the row and column of the first value out of range.
    fn validate_targets(&self, target: ArrayView2<f32>) -> Result<()>;

    /// True when [`derivative`](ElementwiseLoss::derivative) with `fused` is the derivative
    /// w.r.t. the pre-activation of `activation`, as [`Loss::fuses_with`]. None by default.
    fn fuses_with(&self, activation: Activation) -> bool {
        let _ = activation;
        false
    }

    /// The term of one element, `value(p, y)`, in `f64`.
    fn value(&self, p: f32, y: f32) -> f64;

    /// `d value / d p` at `(p, y)` or, when `fused`, the derivative w.r.t. the pre-activation
    /// of the output activation this loss [fuses with](ElementwiseLoss::fuses_with); without the
    /// factor `w_i / (rows · cols)`, which the gradient applies.
    fn derivative(&self, p: f32, y: f32, fused: bool) -> f32;
}

impl<T: ElementwiseLoss> Loss for T {
    fn name(&self) -> &'static str {
        ElementwiseLoss::name(self)
    }

    fn validate_targets(&self, target: ArrayView2<f32>) -> Result<()> {
        ElementwiseLoss::validate_targets(self, target)
    }

    fn fuses_with(&self, activation: Activation) -> bool {
        ElementwiseLoss::fuses_with(self, activation)
    }

    fn loss(
        &self,
        pred: ArrayView2<f32>,
        target: ArrayView2<f32>,
        weights: Option<ArrayView1<f32>>,
    ) -> Result<f32> {
        check_shapes(Loss::name(self), &pred, &target, weights.as_ref(), None)?;
        let cols = pred.ncols().max(1) as f64;
        Ok(weighted_mean(pred, target, weights, |p_row, y_row| {
            let s: f64 = p_row
                .iter()
                .zip(y_row.iter())
                .map(|(&p, &y)| self.value(p, y))
                .sum();
            s / cols
        }))
    }

    fn gradient(
        &self,
        pred: ArrayView2<f32>,
        target: ArrayView2<f32>,
        weights: Option<ArrayView1<f32>>,
        fused: bool,
        grad: ArrayViewMut2<f32>,
    ) -> Result<f32> {
        let n = pred.nrows() * pred.ncols();
        gradient_and_loss(self, (pred, target, weights), n, grad, |p, y| {
            self.derivative(p, y, fused)
        })
    }
}

fn check_range(loss: &str, target: ArrayView2<f32>, lo: f32, hi: f32) -> Result<()> {
    for ((row, column), &value) in target.indexed_iter() {
        if !(value >= lo && value <= hi) {
            return Err(Error::InvalidTarget {
                loss: loss.into(),
                row,
                column,
                value,
                reason: format!("targets must lie in [{lo}, {hi}]"),
            });
        }
    }
    Ok(())
}

/// Binary cross-entropy on probabilities, as Keras 2: `p` is clipped to `[1e-7, 1 - 1e-7]` and
/// `l = -(y ln p + (1 - y) ln(1 - p))`, averaged over the output columns of a sample and then
/// over the batch.
///
/// The gradient is taken through the clip, so it is zero where `p` was clipped. After a sigmoid
/// the fused gradient w.r.t. the pre-activation is `(p - y) / (rows · cols)`, which stays finite
/// when `p` saturates to exactly 0 or 1 in f32.
///
/// ```
/// use ndnet::losses::{BinaryCrossentropy, Loss};
/// use ndarray::array;
/// let l = BinaryCrossentropy.loss(array![[1.0f32], [0.5]].view(), array![[0.0f32], [1.0]].view(), None)?;
/// // row 1: p is clipped to 1 - 1e-7, which is 1 - 2^-23 in f32: -ln(2^-23) = 15.942;
/// // row 2: -ln 0.5 = 0.693; mean 8.318
/// assert!((l - 8.318).abs() < 1e-3);
/// # Ok::<(), ndnet::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BinaryCrossentropy;

impl ElementwiseLoss for BinaryCrossentropy {
    fn name(&self) -> &'static str {
        "binary_crossentropy"
    }

    fn validate_targets(&self, target: ArrayView2<f32>) -> Result<()> {
        check_range(ElementwiseLoss::name(self), target, 0.0, 1.0)
    }

    fn fuses_with(&self, activation: Activation) -> bool {
        activation == Activation::Sigmoid
    }

    fn value(&self, p: f32, y: f32) -> f64 {
        let p = p.clamp(EPSILON, 1.0 - EPSILON) as f64;
        let y = y as f64;
        -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
    }

    fn derivative(&self, p: f32, y: f32, fused: bool) -> f32 {
        if !(EPSILON..=1.0 - EPSILON).contains(&p) {
            0.0
        } else if fused {
            p - y
        } else {
            (p - y) / (p * (1.0 - p))
        }
    }
}

impl BinaryCrossentropy {
    /// Binary cross-entropy with Keras 3's gradient (tf.keras ≥ 2.6 too): after a sigmoid the
    /// gradient w.r.t. the logits is `(p - y) / (rows · cols)` for every row, with no clip, as
    /// when the loss is computed from the logits. Keras 2's form (the default,
    /// [`BinaryCrossentropy`]) gives zero gradient to a row whose `p` was clipped to
    /// `[1e-7, 1 - 1e-7]`. The reported loss value is the clipped one in both; without a sigmoid
    /// output the two are the same.
    ///
    /// ```
    /// use ndnet::losses::{BinaryCrossentropy, Loss};
    /// use ndarray::{array, Array2};
    /// // p = 1 (saturated) for a target 0: Keras 2's gradient is 0, Keras 3's (1 - 0) / 2.
    /// let (p, y) = (array![[1.0f32], [0.5]], array![[0.0f32], [1.0]]);
    /// let mut g = Array2::zeros((2, 1));
    /// BinaryCrossentropy::from_logits_gradient().gradient(p.view(), y.view(), None, true, g.view_mut());
    /// assert_eq!(g, array![[0.5], [-0.25]]);
    /// BinaryCrossentropy.gradient(p.view(), y.view(), None, true, g.view_mut());
    /// assert_eq!(g, array![[0.0], [-0.25]]);
    /// ```
    pub fn from_logits_gradient() -> BinaryCrossentropyFromLogits {
        BinaryCrossentropyFromLogits
    }
}

/// Binary cross-entropy with Keras 3's unclipped logit gradient: see
/// [`BinaryCrossentropy::from_logits_gradient`]. Saved by the name
/// `binary_crossentropy_from_logits_gradient`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BinaryCrossentropyFromLogits;

impl ElementwiseLoss for BinaryCrossentropyFromLogits {
    fn name(&self) -> &'static str {
        "binary_crossentropy_from_logits_gradient"
    }

    fn validate_targets(&self, target: ArrayView2<f32>) -> Result<()> {
        ElementwiseLoss::validate_targets(&BinaryCrossentropy, target)
    }

    fn fuses_with(&self, activation: Activation) -> bool {
        activation == Activation::Sigmoid
    }

    fn value(&self, p: f32, y: f32) -> f64 {
        BinaryCrossentropy.value(p, y)
    }

    /// `p - y` when fused, with no clip; [`BinaryCrossentropy`]'s derivative otherwise.
    fn derivative(&self, p: f32, y: f32, fused: bool) -> f32 {
        if fused {
            p - y
        } else {
            BinaryCrossentropy.derivative(p, y, fused)
        }
    }
}

/// Categorical cross-entropy on probabilities, as Keras 2: each row of `p` is divided by its sum,
/// clipped to `[1e-7, 1 - 1e-7]`, and `l = -Σ_j y_j ln p_j`, averaged over the batch. Targets are
/// one-hot (or soft) rows: non-negative, summing to 1.
///
/// After a softmax the fused gradient w.r.t. the logits is `(p - y) / rows`. Unlike the
/// binary case it is not zeroed where the clip binds, so it differs from the gradient through
/// the clip only when a target class's probability falls below `1e-7`; there it keeps pushing
/// that probability up instead of stalling.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CategoricalCrossentropy;

impl Loss for CategoricalCrossentropy {
    fn name(&self) -> &'static str {
        "categorical_crossentropy"
    }

    fn validate_targets(&self, target: ArrayView2<f32>) -> Result<()> {
        check_range(self.name(), target, 0.0, 1.0)?;
        for (row, r) in target.outer_iter().enumerate() {
            let sum: f32 = r.sum();
            if (sum - 1.0).abs() > 1e-3 {
                return Err(Error::InvalidTarget {
                    loss: self.name().into(),
                    row,
                    column: 0,
                    value: sum,
                    reason: "each target row must sum to 1 (one-hot or a distribution)".into(),
                });
            }
        }
        Ok(())
    }

    fn fuses_with(&self, activation: Activation) -> bool {
        activation == Activation::Softmax
    }

    fn loss(
        &self,
        pred: ArrayView2<f32>,
        target: ArrayView2<f32>,
        weights: Option<ArrayView1<f32>>,
    ) -> Result<f32> {
        check_shapes(self.name(), &pred, &target, weights.as_ref(), None)?;
        Ok(weighted_mean(pred, target, weights, |p_row, y_row| {
            let sum = p_row.sum();
            p_row
                .iter()
                .zip(y_row.iter())
                .map(|(&p, &y)| -(y as f64) * ((p / sum).clamp(EPSILON, 1.0 - EPSILON) as f64).ln())
                .sum()
        }))
    }

    fn gradient(
        &self,
        pred: ArrayView2<f32>,
        target: ArrayView2<f32>,
        weights: Option<ArrayView1<f32>>,
        fused: bool,
        mut grad: ArrayViewMut2<f32>,
    ) -> Result<f32> {
        if fused {
            let n = pred.nrows();
            return gradient_and_loss(self, (pred, target, weights), n, grad, |p, y| p - y);
        }
        check_shapes(self.name(), &pred, &target, weights.as_ref(), Some(&grad))?;
        let n = pred.nrows().max(1) as f32;
        for (i, mut g_row) in grad.outer_iter_mut().enumerate() {
            let scale = weight(weights, i) / n;
            let (p_row, y_row) = (pred.row(i), target.row(i));
            // q = p / S, l = -Σ y ln clip(q): dl/dq_j = -y_j / q_j inside the clip range,
            // dl/dp_i = (dl/dq_i - Σ_j dl/dq_j q_j) / S.
            let sum = p_row.sum();
            let mut dot = 0.0f32;
            Zip::from(&mut g_row)
                .and(p_row)
                .and(y_row)
                .for_each(|g, &p, &y| {
                    let q = p / sum;
                    *g = if (EPSILON..=1.0 - EPSILON).contains(&q) {
                        -y / q
                    } else {
                        0.0
                    };
                    dot += *g * q;
                });
            g_row.mapv_inplace(|g| (g - dot) / sum * scale);
        }
        self.loss(pred, target, weights)
    }
}

/// Mean squared error: `l = mean_j (p_j - y_j)²`, averaged over the batch.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MeanSquaredError;

impl ElementwiseLoss for MeanSquaredError {
    fn name(&self) -> &'static str {
        "mean_squared_error"
    }

    fn validate_targets(&self, _target: ArrayView2<f32>) -> Result<()> {
        Ok(())
    }

    fn value(&self, p: f32, y: f32) -> f64 {
        ((p - y) as f64).powi(2)
    }

    fn derivative(&self, p: f32, y: f32, _fused: bool) -> f32 {
        2.0 * (p - y)
    }
}

/// The loss with Keras's name `name` (`binary_crossentropy`, `categorical_crossentropy`,
/// `mean_squared_error`), as a saved model names it; `None` for any other name.
///
/// ```
/// use ndnet::losses::{from_name, Loss};
/// assert_eq!(from_name("binary_crossentropy").map(|l| l.name()), Some("binary_crossentropy"));
/// assert!(from_name("hinge").is_none());
/// ```
pub fn from_name(name: &str) -> Option<Box<dyn Loss>> {
    match name {
        "binary_crossentropy" => Some(Box::new(BinaryCrossentropy)),
        "binary_crossentropy_from_logits_gradient" => Some(Box::new(BinaryCrossentropyFromLogits)),
        "categorical_crossentropy" => Some(Box::new(CategoricalCrossentropy)),
        "mean_squared_error" => Some(Box::new(MeanSquaredError)),
        _ => None,
    }
}
