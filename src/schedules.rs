//! Learning-rate schedules, with Keras's formulas (`keras.optimizers.schedules`).
//!
//! A schedule maps a step number to a learning rate. The
//! [`LearningRateScheduler`](crate::callbacks::LearningRateScheduler) callback applies one
//! through [`Optimizer::set_learning_rate`](crate::optimizers::Optimizer::set_learning_rate),
//! either before every batch with the optimizer's update count as the step (what Keras does when
//! a schedule is the optimizer's learning rate) or at the start of every epoch with the epoch
//! index (0-based) as the step (what Keras's `LearningRateScheduler` callback does).
//!
//! | schedule | rate at step `t` (`p = t / decay_steps`, floored when `staircase`) |
//! |---|---|
//! | [`InverseTimeDecay`] | `initial / (1 + decay_rate · p)` |
//! | [`ExponentialDecay`] | `initial · decay_rate^p` |
//! | [`PiecewiseConstantDecay`] | `values[i]` for the first `i` with `t <= boundaries[i]`, else the last value |
//! | [`PolynomialDecay`] | `(initial − end) · (1 − min(t, decay_steps) / decay_steps)^power + end` |
//!
//! A schedule can drive other per-step values too: the
//! [`MomentumScheduler`](crate::callbacks::MomentumScheduler) callback sets the momentum from
//! one (e.g. `PolynomialDecay::new(0.5, 100_000, 0.99)`, a linear ramp from 0.5 to 0.99 over
//! 100,000 updates, as in the dropout paper's MNIST code), and the
//! [`DropoutScheduler`](crate::callbacks::DropoutScheduler) the dropout rate.
//!
//! A step decay ("halve the rate every 10 epochs") is `ExponentialDecay::new(lr, 10, 0.5)` with
//! `staircase(true)`, applied per epoch. The arithmetic is in `f32`, as TensorFlow does it.
//!
//! ```
//! use ndnet::schedules::{ExponentialDecay, LearningRateSchedule};
//! let s = ExponentialDecay::new(0.1, 10, 0.5).staircase(true);
//! assert_eq!(s.rate(0), 0.1);
//! assert_eq!(s.rate(9), 0.1);
//! assert_eq!(s.rate(10), 0.05);
//! ```

use crate::error::{Error, Result};
use crate::validate;

/// A learning rate as a function of the step.
pub trait LearningRateSchedule: Send + std::fmt::Debug {
    /// The learning rate at `step` (0 for the first).
    fn rate(&self, step: u64) -> f32;
    /// Checks the parameters.
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

/// `p = step / decay_steps`, floored when `staircase`, in `f32`.
fn progress(step: u64, decay_steps: u64, staircase: bool) -> f32 {
    let p = step as f32 / decay_steps.max(1) as f32;
    if staircase { p.floor() } else { p }
}

/// The parameters both decays share: rates finite and non-negative, at least one step.
fn check_decay(owner: &str, initial: f32, decay_steps: u64, decay_rate: f32) -> Result<()> {
    validate::non_negative(owner, "initial_learning_rate", initial)?;
    validate::non_negative(owner, "decay_rate", decay_rate)?;
    validate::at_least_one(owner, "decay_steps", decay_steps)
}

/// `initial_learning_rate / (1 + decay_rate · step / decay_steps)` (Keras's `InverseTimeDecay`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InverseTimeDecay {
    /// Rate at step 0.
    pub initial_learning_rate: f32,
    /// Steps per unit of decay.
    pub decay_steps: u64,
    /// How fast the rate decays.
    pub decay_rate: f32,
    /// Decay in whole units of `decay_steps` only.
    pub staircase: bool,
}

impl InverseTimeDecay {
    /// The schedule, without staircase.
    pub fn new(initial_learning_rate: f32, decay_steps: u64, decay_rate: f32) -> Self {
        InverseTimeDecay {
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase: false,
        }
    }

    /// Turns the staircase on or off.
    pub fn staircase(mut self, staircase: bool) -> Self {
        self.staircase = staircase;
        self
    }
}

impl LearningRateSchedule for InverseTimeDecay {
    fn rate(&self, step: u64) -> f32 {
        let p = progress(step, self.decay_steps, self.staircase);
        self.initial_learning_rate / (1.0 + self.decay_rate * p)
    }

    fn validate(&self) -> Result<()> {
        check_decay(
            "InverseTimeDecay",
            self.initial_learning_rate,
            self.decay_steps,
            self.decay_rate,
        )
    }
}

/// `initial_learning_rate · decay_rate^(step / decay_steps)` (Keras's `ExponentialDecay`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExponentialDecay {
    /// Rate at step 0.
    pub initial_learning_rate: f32,
    /// Steps per factor of `decay_rate`.
    pub decay_steps: u64,
    /// Factor per `decay_steps` steps.
    pub decay_rate: f32,
    /// Decay in whole units of `decay_steps` only (a step decay).
    pub staircase: bool,
}

impl ExponentialDecay {
    /// The schedule, without staircase.
    pub fn new(initial_learning_rate: f32, decay_steps: u64, decay_rate: f32) -> Self {
        ExponentialDecay {
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase: false,
        }
    }

    /// Turns the staircase on or off.
    pub fn staircase(mut self, staircase: bool) -> Self {
        self.staircase = staircase;
        self
    }
}

impl LearningRateSchedule for ExponentialDecay {
    fn rate(&self, step: u64) -> f32 {
        let p = progress(step, self.decay_steps, self.staircase);
        self.initial_learning_rate * self.decay_rate.powf(p)
    }

    fn validate(&self) -> Result<()> {
        check_decay(
            "ExponentialDecay",
            self.initial_learning_rate,
            self.decay_steps,
            self.decay_rate,
        )
    }
}

/// Constant pieces (Keras's `PiecewiseConstantDecay`): `values[0]` while
/// `step <= boundaries[0]`, `values[1]` while `step <= boundaries[1]`, ..., and the last value
/// after the last boundary.
///
/// ```
/// use ndnet::schedules::{LearningRateSchedule, PiecewiseConstantDecay};
/// let s = PiecewiseConstantDecay::new(vec![100, 200], vec![0.1, 0.01, 0.001])?;
/// assert_eq!((s.rate(100), s.rate(101), s.rate(201)), (0.1, 0.01, 0.001));
/// # Ok::<(), ndnet::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PiecewiseConstantDecay {
    boundaries: Vec<u64>,
    values: Vec<f32>,
}

impl PiecewiseConstantDecay {
    /// The schedule; needs one more value than boundaries, increasing boundaries and finite,
    /// non-negative values.
    pub fn new(boundaries: Vec<u64>, values: Vec<f32>) -> Result<Self> {
        let s = PiecewiseConstantDecay { boundaries, values };
        s.validate()?;
        Ok(s)
    }
}

impl LearningRateSchedule for PiecewiseConstantDecay {
    fn rate(&self, step: u64) -> f32 {
        let i = self.boundaries.partition_point(|&b| b < step);
        self.values
            .get(i)
            .or(self.values.last())
            .copied()
            .unwrap_or(f32::NAN)
    }

    fn validate(&self) -> Result<()> {
        if self.values.len() != self.boundaries.len() + 1 {
            return Err(Error::param(
                "PiecewiseConstantDecay",
                "values",
                format!("{} values", self.values.len()),
                format!(
                    "needs one more value than boundaries ({})",
                    self.boundaries.len()
                ),
            ));
        }
        if self.boundaries.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::param(
                "PiecewiseConstantDecay",
                "boundaries",
                format!("{:?}", self.boundaries),
                "must be strictly increasing",
            ));
        }
        for &v in &self.values {
            validate::non_negative("PiecewiseConstantDecay", "values", v)?;
        }
        Ok(())
    }
}

/// `(initial − end) · (1 − min(step, decay_steps) / decay_steps)^power + end` (Keras's
/// `PolynomialDecay` without `cycle`): from `initial_learning_rate` at step 0 to
/// `end_learning_rate` at `decay_steps`, constant afterwards. With `power` 1 (the default) a
/// straight line; `end` may be larger than `initial` (a ramp up, e.g. for momentum).
///
/// ```
/// use ndnet::schedules::{LearningRateSchedule, PolynomialDecay};
/// let ramp = PolynomialDecay::new(0.5, 100, 0.9);
/// assert_eq!((ramp.rate(0), ramp.rate(50), ramp.rate(100), ramp.rate(1000)), (0.5, 0.7, 0.9, 0.9));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PolynomialDecay {
    /// Value at step 0.
    pub initial_learning_rate: f32,
    /// Steps until `end_learning_rate` is reached.
    pub decay_steps: u64,
    /// Value from `decay_steps` on.
    pub end_learning_rate: f32,
    /// Exponent of the polynomial (1: linear).
    pub power: f32,
}

impl PolynomialDecay {
    /// The linear schedule (`power` 1).
    pub fn new(initial_learning_rate: f32, decay_steps: u64, end_learning_rate: f32) -> Self {
        PolynomialDecay {
            initial_learning_rate,
            decay_steps,
            end_learning_rate,
            power: 1.0,
        }
    }

    /// Sets the exponent.
    pub fn power(mut self, power: f32) -> Self {
        self.power = power;
        self
    }
}

impl LearningRateSchedule for PolynomialDecay {
    fn rate(&self, step: u64) -> f32 {
        let steps = self.decay_steps.max(1);
        let p = step.min(steps) as f32 / steps as f32;
        (self.initial_learning_rate - self.end_learning_rate) * (1.0 - p).powf(self.power)
            + self.end_learning_rate
    }

    fn validate(&self) -> Result<()> {
        let owner = "PolynomialDecay";
        validate::non_negative(owner, "initial_learning_rate", self.initial_learning_rate)?;
        validate::non_negative(owner, "end_learning_rate", self.end_learning_rate)?;
        validate::positive(owner, "power", self.power)?;
        validate::at_least_one(owner, "decay_steps", self.decay_steps)
    }
}
