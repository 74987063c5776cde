//! Weight constraints, applied to a parameter right after every optimizer update (Keras 2).
//!
//! A constraint sees the parameter as a 2-D array: a `Dense` kernel as `(inputs, units)`, a bias
//! as `(units, 1)`. With `axis = 0` a norm is therefore taken over each unit's incoming weights for
//! a kernel, and over the whole vector for a bias, exactly as Keras does for 2-D and 1-D tensors.

use ndarray::{ArrayViewMut2, Axis};

use crate::clone_box::clone_box_trait;
use crate::error::{Error, Result};
use crate::kernels::elementwise::zip_slices;
use crate::validate;

/// The small constant Keras adds to norms before dividing (`keras.backend.epsilon()`).
pub const EPSILON: f32 = 1e-7;

/// A projection applied to a parameter after each update.
pub trait Constraint: ConstraintClone + Send + Sync + std::fmt::Debug {
    /// Short description, e.g. `MaxNorm(3, axis=0)`.
    fn describe(&self) -> String;
    /// Checks the hyper-parameters.
    fn validate(&self) -> Result<()>;
    /// Projects `w` in place. Must not allocate.
    ///
    /// # Errors
    /// The error [`validate`](Constraint::validate) gives when the hyper-parameters are invalid
    /// (checked on every call, in O(1)); `w` is left unchanged then.
    ///
    /// ```
    /// use ndnet::prelude::*;
    /// use ndarray::array;
    /// let mut w = array![[3.0f32], [4.0]]; // norm 5
    /// MaxNorm::new(1.0).apply(w.view_mut())?;
    /// assert!((w[[0, 0]] - 0.6).abs() < 1e-6 && (w[[1, 0]] - 0.8).abs() < 1e-6);
    /// assert!(MaxNorm::new(f32::NAN).apply(w.view_mut()).is_err());
    /// # Ok::<(), ndnet::Error>(())
    /// ```
    fn apply(&self, w: ArrayViewMut2<f32>) -> Result<()>;
    /// The constraint as plain data, for saving and rebuilding. Constraints defined outside
    /// this crate keep the default, [`ConstraintConfig::Custom`], which cannot be rebuilt.
    fn config(&self) -> ConstraintConfig {
        ConstraintConfig::Custom {
            description: self.describe(),
        }
    }
}

clone_box_trait!(
    /// `clone_box` for [`Constraint`]: implemented for every constraint that is `Clone`, which
    /// gives `Clone` for `Box<dyn Constraint>`.
    ConstraintClone for Constraint
);

/// A boxed constraint is a constraint (so a rebuilt one can be handed to
/// [`Dense::kernel_constraint`](crate::layers::Dense::kernel_constraint)).
impl Constraint for Box<dyn Constraint> {
    fn describe(&self) -> String {
        self.as_ref().describe()
    }
    fn validate(&self) -> Result<()> {
        self.as_ref().validate()
    }
    fn apply(&self, w: ArrayViewMut2<f32>) -> Result<()> {
        self.as_ref().apply(w)
    }
    fn config(&self) -> ConstraintConfig {
        self.as_ref().config()
    }
}

/// A constraint as plain data: what [`LayerConfig`](crate::layers::LayerConfig) stores and a
/// saved model holds. [`build`](ConstraintConfig::build) turns it back into a constraint.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(tag = "class_name", content = "config")
)]
#[non_exhaustive]
pub enum ConstraintConfig {
    /// [`MaxNorm`].
    MaxNorm(MaxNorm),
    /// [`UnitNorm`].
    UnitNorm(UnitNorm),
    /// [`NonNeg`].
    NonNeg,
    /// [`MinMaxNorm`].
    MinMaxNorm(MinMaxNorm),
    /// A constraint defined outside this crate, known only by its description.
    Custom {
        /// What [`Constraint::describe`] returned.
        description: String,
    },
}

impl ConstraintConfig {
    /// The constraint this describes, validated. A `Custom` constraint cannot be rebuilt and
    /// gives an error.
    pub fn build(&self) -> Result<Box<dyn Constraint>> {
        let c: Box<dyn Constraint> = match self {
            ConstraintConfig::MaxNorm(c) => Box::new(*c),
            ConstraintConfig::UnitNorm(c) => Box::new(*c),
            ConstraintConfig::NonNeg => Box::new(NonNeg),
            ConstraintConfig::MinMaxNorm(c) => Box::new(*c),
            ConstraintConfig::Custom { description } => {
                return Err(Error::param(
                    "constraint",
                    "config",
                    description,
                    "a constraint defined outside ndnet cannot be rebuilt from its description",
                ));
            }
        };
        c.validate()?;
        Ok(c)
    }
}

fn check_axis(owner: &str, axis: usize) -> Result<()> {
    if axis > 1 {
        return Err(Error::param(
            owner,
            "axis",
            axis,
            "must be 0 or 1 for 2-D weights",
        ));
    }
    Ok(())
}

/// Rescales each slice along `axis` by `factor(norm)`, where `norm` is the slice's L2 norm.
/// `axis = 0` takes the norm of each column, `axis = 1` of each row.
///
/// Column norms are accumulated row by row into a fixed-size buffer on the stack, a block of
/// columns at a time, so the weights are read in memory order and nothing is allocated.
fn scale_by_norm(mut w: ArrayViewMut2<f32>, axis: usize, factor: impl Fn(f32) -> f32) {
    if axis == 1 {
        for mut row in w.axis_iter_mut(Axis(0)) {
            let f = factor(row.iter().map(|v| v * v).sum::<f32>().sqrt());
            row.mapv_inplace(|v| v * f);
        }
        return;
    }
    let cols = w.ncols();
    let Some(data) = w.as_slice_mut() else {
        for mut col in w.axis_iter_mut(Axis(1)) {
            let f = factor(col.iter().map(|v| v * v).sum::<f32>().sqrt());
            col.mapv_inplace(|v| v * f);
        }
        return;
    };
    const BLOCK: usize = 128;
    let mut sums = [0.0f32; BLOCK];
    let mut j0 = 0;
    while j0 < cols {
        let width = BLOCK.min(cols - j0);
        let sums = &mut sums[..width];
        sums.fill(0.0);
        for row in data.chunks_exact(cols) {
            zip_slices(sums, &row[j0..j0 + width], |s, v| *s += v * v);
        }
        for s in sums.iter_mut() {
            *s = factor(s.sqrt());
        }
        for row in data.chunks_exact_mut(cols) {
            zip_slices(&mut row[j0..j0 + width], sums, |v, f| *v *= f);
        }
        j0 += width;
    }
}

/// MaxNorm: `n = ||w||₂` along `axis`; `w ← w · clip(n, 0, max_value) / (1e-7 + n)`.
///
/// Columns whose norm is below `max_value` still shrink by `n / (n + 1e-7)`; a zero column stays
/// zero. The tutorial uses `MaxNorm { max_value: 3.0, axis: 0 }` on the kernels.
///
/// ```
/// use ndnet::constraints::{Constraint, MaxNorm};
/// use ndarray::array;
/// // column norms: 5 and 1
/// let mut w = array![[3.0f32, 0.0], [4.0, 1.0]];
/// MaxNorm::new(3.0).apply(w.view_mut());
/// // first column scaled by 3 / (5 + 1e-7): [1.8, 2.4]
/// assert!((w[[0, 0]] - 1.8).abs() < 1e-6 && (w[[1, 0]] - 2.4).abs() < 1e-6);
/// assert!((w[[1, 1]] - 1.0).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MaxNorm {
    /// Largest norm allowed.
    pub max_value: f32,
    /// Axis along which norms are taken (0: each unit's incoming weights).
    pub axis: usize,
}

impl MaxNorm {
    /// `MaxNorm(max_value)` with Keras's default `axis = 0`.
    pub fn new(max_value: f32) -> Self {
        MaxNorm { max_value, axis: 0 }
    }
}

impl Constraint for MaxNorm {
    fn describe(&self) -> String {
        format!("MaxNorm({}, axis={})", self.max_value, self.axis)
    }
    fn validate(&self) -> Result<()> {
        validate::positive("MaxNorm", "max_value", self.max_value)?;
        check_axis("MaxNorm", self.axis)
    }
    fn apply(&self, w: ArrayViewMut2<f32>) -> Result<()> {
        self.validate()?;
        let c = self.max_value;
        scale_by_norm(w, self.axis, |n| n.clamp(0.0, c) / (EPSILON + n));
        Ok(())
    }
    fn config(&self) -> ConstraintConfig {
        ConstraintConfig::MaxNorm(*self)
    }
}

/// UnitNorm: `w ← w / (1e-7 + ||w||₂)` along `axis`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct UnitNorm {
    /// Axis along which norms are taken.
    pub axis: usize,
}

impl Constraint for UnitNorm {
    fn describe(&self) -> String {
        format!("UnitNorm(axis={})", self.axis)
    }
    fn validate(&self) -> Result<()> {
        check_axis("UnitNorm", self.axis)
    }
    fn apply(&self, w: ArrayViewMut2<f32>) -> Result<()> {
        self.validate()?;
        scale_by_norm(w, self.axis, |n| 1.0 / (EPSILON + n));
        Ok(())
    }
    fn config(&self) -> ConstraintConfig {
        ConstraintConfig::UnitNorm(*self)
    }
}

/// NonNeg: negative weights are set to zero.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct NonNeg;

impl Constraint for NonNeg {
    fn describe(&self) -> String {
        "NonNeg".to_string()
    }
    fn validate(&self) -> Result<()> {
        Ok(())
    }
    fn apply(&self, mut w: ArrayViewMut2<f32>) -> Result<()> {
        w.mapv_inplace(|v| if v >= 0.0 { v } else { 0.0 });
        Ok(())
    }
    fn config(&self) -> ConstraintConfig {
        ConstraintConfig::NonNeg
    }
}

/// MinMaxNorm: `d = rate · clip(n, min_value, max_value) + (1 - rate) · n`; `w ← w · d / (1e-7 + n)`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MinMaxNorm {
    /// Smallest norm.
    pub min_value: f32,
    /// Largest norm.
    pub max_value: f32,
    /// How far to move towards the clipped norm each time (1: all the way).
    pub rate: f32,
    /// Axis along which norms are taken.
    pub axis: usize,
}

impl Default for MinMaxNorm {
    /// Keras defaults: `min_value 0, max_value 1, rate 1, axis 0`.
    fn default() -> Self {
        MinMaxNorm {
            min_value: 0.0,
            max_value: 1.0,
            rate: 1.0,
            axis: 0,
        }
    }
}

impl Constraint for MinMaxNorm {
    fn describe(&self) -> String {
        format!(
            "MinMaxNorm({}, {}, rate={}, axis={})",
            self.min_value, self.max_value, self.rate, self.axis
        )
    }
    fn validate(&self) -> Result<()> {
        let ok = self.min_value.is_finite()
            && self.max_value.is_finite()
            && 0.0 <= self.min_value
            && self.min_value <= self.max_value;
        if !ok {
            return Err(Error::param(
                "MinMaxNorm",
                "range",
                format!("[{}, {}]", self.min_value, self.max_value),
                "needs 0 <= min_value <= max_value, both finite",
            ));
        }
        if !(self.rate.is_finite() && (0.0..=1.0).contains(&self.rate)) {
            return Err(Error::param(
                "MinMaxNorm",
                "rate",
                self.rate,
                "must be in [0, 1]",
            ));
        }
        check_axis("MinMaxNorm", self.axis)
    }
    fn apply(&self, w: ArrayViewMut2<f32>) -> Result<()> {
        self.validate()?;
        let (lo, hi, r) = (self.min_value, self.max_value, self.rate);
        scale_by_norm(w, self.axis, |n| {
            (r * n.clamp(lo, hi) + (1.0 - r) * n) / (EPSILON + n)
        });
        Ok(())
    }
    fn config(&self) -> ConstraintConfig {
        ConstraintConfig::MinMaxNorm(*self)
    }
}
