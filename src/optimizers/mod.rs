//! Optimizers: the [`Optimizer`] trait with Keras 2's [`Sgd`], [`Adam`] and [`RmsProp`].

mod adam;
mod rmsprop;
mod sgd;

pub use adam::Adam;
pub use rmsprop::RmsProp;
pub use sgd::Sgd;

use ndarray::{Array2, ArrayView2, ArrayViewMut2};

use crate::error::{Error, Result};

/// Updates parameters from their gradients.
///
/// The model calls [`update`](Optimizer::update) for every parameter tensor of every layer, in a
/// fixed order (`slot` 0, 1, ...), then [`finish_step`](Optimizer::finish_step) once per batch.
/// State (momentum buffers, moments) is allocated on the first step and reused afterwards.
pub trait Optimizer: Send + std::fmt::Debug {
    /// Keras's name, e.g. `"SGD"`.
    fn name(&self) -> &'static str;
    /// Checks the hyper-parameters.
    fn validate(&self) -> Result<()>;
    /// The base learning rate.
    fn learning_rate(&self) -> f32;
    /// Replaces the base learning rate (for schedules).
    fn set_learning_rate(&mut self, lr: f32);
    /// Number of updates done (`t` in the formulas).
    fn iterations(&self) -> u64;
    /// Applies one update to the parameter at position `slot`.
    fn update(&mut self, slot: usize, param: ArrayViewMut2<f32>, grad: ArrayView2<f32>);
    /// Ends a batch: `t += 1`.
    fn finish_step(&mut self);
    /// Forgets all state (moments and `t`).
    fn reset(&mut self);
    /// A boxed copy, state included.
    fn clone_box(&self) -> Box<dyn Optimizer>;
}

impl Clone for Box<dyn Optimizer> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// Returns the state buffer for `slot`, allocating zeros shaped like `like` on first use.
pub(crate) fn slot_state<'a>(
    states: &'a mut Vec<Array2<f32>>,
    slot: usize,
    like: &ArrayViewMut2<f32>,
) -> &'a mut Array2<f32> {
    while states.len() <= slot {
        states.push(Array2::zeros((0, 0)));
    }
    if states[slot].dim() != like.dim() {
        states[slot] = Array2::zeros(like.dim());
    }
    &mut states[slot]
}

pub(crate) fn check_positive(owner: &str, name: &str, v: f32) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(Error::param(owner, name, v, "must be finite and > 0"))
    }
}

pub(crate) fn check_non_negative(owner: &str, name: &str, v: f32) -> Result<()> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(Error::param(owner, name, v, "must be finite and >= 0"))
    }
}

pub(crate) fn check_unit_interval(owner: &str, name: &str, v: f32) -> Result<()> {
    if v.is_finite() && (0.0..1.0).contains(&v) {
        Ok(())
    } else {
        Err(Error::param(owner, name, v, "must be in [0, 1)"))
    }
}
