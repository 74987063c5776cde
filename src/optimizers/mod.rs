//! Optimizers: the [`Optimizer`] trait with Keras 2's [`Sgd`], [`Adam`] and [`RmsProp`].
//!
//! Each optimizer is its hyper-parameters as plain data ([`SgdConfig`], [`AdamConfig`],
//! [`RmsPropConfig`]) plus its [`OptimizerState`] (the update count `t` and one buffer per
//! parameter in each of its buffer groups): [`Sgd`] is [`Stateful`]`<SgdConfig>`, a
//! `{ config, state }` pair, as burn's optimizer adaptor wraps a simple optimizer.
//!
//! What every optimizer shares is written once, as Keras 3's base optimizer does it: the base
//! learning rate and Keras 2's `decay` are a [`LearningRate`], whose
//! [`at`](LearningRate::at)`(t)` is the rate of update `t`; the update count, the state's copies
//! and checks, `reset`, the learning-rate accessors and `new`/`decay` are written once for all.
//! A config writes only its checks and its rule, [`UpdateRule::update`] (Keras 3's
//! `update_step`), which the model reaches through
//! [`Optimizer::update`]`(slot, lr_t, t, param, grad)` with the rate of the step.
//!
//! ```
//! use ndnet::optimizers::{LearningRate, Optimizer, Sgd, SgdConfig};
//! // The builders set the config's fields; the two spellings are the same optimizer.
//! let built = Sgd::new(0.1).momentum(0.9).decay(1e-4);
//! let config = SgdConfig {
//!     rate: LearningRate { learning_rate: 0.1, decay: 1e-4 },
//!     momentum: 0.9,
//!     ..SgdConfig::default()
//! };
//! assert_eq!(built.config, config);
//! assert_eq!(Sgd::from(config).current_learning_rate(), 0.1);
//! ```

mod adam;
mod rmsprop;
mod sgd;

pub use adam::{Adam, AdamConfig};
pub use rmsprop::{RmsProp, RmsPropConfig};
pub use sgd::{MomentumForm, Sgd, SgdConfig};
pub use stateful::{Stateful, UpdateRule};

mod stateful;

use ndarray::{Array2, ArrayView2, ArrayViewMut2};

use crate::clone_box::clone_box_trait;
use crate::error::{Error, Result};
use crate::schedules::{InverseTimeDecay, LearningRateSchedule};
use crate::validate;

/// The base learning rate and Keras 2's inverse-time `decay`, shared by every optimizer here.
///
/// Update `t` (0 for the first, counted in batches) uses
///
/// ```text
/// lr_t = learning_rate / (1 + decay · t)
/// ```
///
/// which is [`InverseTimeDecay`]`(learning_rate, 1, decay)`. A
/// [`LearningRateScheduler`](crate::callbacks::LearningRateScheduler) replaces
/// `learning_rate` between steps; `decay` still applies on top of it.
///
/// ```
/// use ndnet::optimizers::LearningRate;
/// let rate = LearningRate { learning_rate: 0.1, decay: 0.5 };
/// assert_eq!((rate.at(0), rate.at(2)), (0.1, 0.05));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LearningRate {
    /// Base learning rate `lr` (> 0 at compile; a schedule may set it to 0 later).
    pub learning_rate: f32,
    /// Inverse-time decay per update (>= 0): `lr_t = lr / (1 + decay · t)`. 0: a constant rate.
    pub decay: f32,
}

impl LearningRate {
    /// `learning_rate` without decay.
    pub const fn new(learning_rate: f32) -> Self {
        LearningRate {
            learning_rate,
            decay: 0.0,
        }
    }

    /// The rate of update `t` (0 for the first): `learning_rate / (1 + decay · t)`, in `f32`.
    pub fn at(&self, t: u64) -> f32 {
        InverseTimeDecay::new(self.learning_rate, 1, self.decay).rate(t)
    }

    /// `InvalidParameter` (naming `owner`) unless `learning_rate > 0` and `decay >= 0`, both
    /// finite.
    pub fn validate(&self, owner: &str) -> Result<()> {
        validate::positive(owner, "learning_rate", self.learning_rate)?;
        validate::non_negative(owner, "decay", self.decay)
    }
}

clone_box_trait!(
    /// `clone_box` for [`Optimizer`]: implemented for every optimizer that is `Clone`, so that
    /// no optimizer writes one.
    OptimizerClone for Optimizer
);

/// Updates parameters from their gradients.
///
/// For each batch the model takes `t = `[`iterations`](Optimizer::iterations)`()` and
/// `lr_t = `[`current_learning_rate`](Optimizer::current_learning_rate)`()` once, calls
/// [`update`](Optimizer::update)`(slot, lr_t, t, param, grad)` for every parameter tensor of
/// every layer, in a fixed order (`slot` 0, 1, ...), then
/// [`finish_step`](Optimizer::finish_step). State buffers are allocated on the first step and
/// reused afterwards.
///
/// The optimizers here are all [`Stateful`]`<R>` for a config `R` that implements
/// [`UpdateRule`]. An optimizer written from scratch implements its rule
/// ([`update`](Optimizer::update)), its checks and its name, and gives access to its
/// [`LearningRate`] and [`OptimizerState`]; everything else is provided.
pub trait Optimizer: OptimizerClone + Send + Sync + std::fmt::Debug {
    /// Keras's name, e.g. `"SGD"`.
    fn name(&self) -> &'static str;
    /// Checks the hyper-parameters.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] naming the first one out of its range.
    fn validate(&self) -> Result<()>;
    /// The base learning rate and decay.
    fn rate(&self) -> &LearningRate;
    /// Mutable [`rate`](Optimizer::rate). Prefer
    /// [`set_learning_rate`](Optimizer::set_learning_rate), which checks the value.
    fn rate_mut(&mut self) -> &mut LearningRate;
    /// The state: `t` and the buffer groups.
    fn state_ref(&self) -> &OptimizerState;
    /// Mutable [`state_ref`](Optimizer::state_ref). Prefer
    /// [`set_state`](Optimizer::set_state), which checks the groups and `t`.
    fn state_mut(&mut self) -> &mut OptimizerState;
    /// Applies one update to the parameter at position `slot` (a kernel `(inputs, units)`, a
    /// bias `(units, 1)`), with `lr_t` the learning rate of this step and `t` the number of
    /// updates done before it (0 for the first). `param` and `grad` have the same shape (the
    /// model checks it before calling).
    fn update(
        &mut self,
        slot: usize,
        lr_t: f32,
        t: u64,
        param: ArrayViewMut2<f32>,
        grad: ArrayView2<f32>,
    );
    /// The hyper-parameters as plain data, for saving. `None` (the default, for optimizers
    /// defined outside this crate) means the optimizer cannot be saved.
    fn config(&self) -> Option<OptimizerConfig> {
        None
    }
    /// The momentum, for an optimizer that has one (`None` otherwise).
    fn momentum(&self) -> Option<f32> {
        None
    }
    /// Replaces the momentum (for a momentum schedule, see
    /// [`MomentumScheduler`](crate::callbacks::MomentumScheduler)).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for a value outside the optimizer's range (nothing changes),
    /// [`Error::InvalidState`] for an optimizer without momentum (the default).
    fn set_momentum(&mut self, momentum: f32) -> Result<()> {
        let _ = momentum;
        Err(no_momentum(self.name()))
    }

    /// The base learning rate.
    fn learning_rate(&self) -> f32 {
        self.rate().learning_rate
    }
    /// Replaces the base learning rate (for schedules).
    ///
    /// # Errors
    ///
    /// A rate that is NaN, infinite or negative is an [`Error::InvalidParameter`] and changes
    /// nothing (0 is allowed: a schedule may decay to it).
    fn set_learning_rate(&mut self, lr: f32) -> Result<()> {
        validate::non_negative(self.name(), "learning_rate", lr)?;
        self.rate_mut().learning_rate = lr;
        Ok(())
    }
    /// Number of updates done (`t` in the formulas).
    fn iterations(&self) -> u64 {
        self.state_ref().iterations
    }
    /// The learning rate of the next update: [`LearningRate::at`] of
    /// [`iterations`](Optimizer::iterations). This is the one place a step's rate is computed.
    fn current_learning_rate(&self) -> f32 {
        self.rate().at(self.iterations())
    }
    /// Ends a batch: `t += 1`.
    fn finish_step(&mut self) {
        // The model refuses to step at `MAX_ITERATIONS`, so this never saturates there.
        let state = self.state_mut();
        state.iterations = state.iterations.saturating_add(1);
    }
    /// Forgets all state (the buffers and `t`); the buffer groups stay, empty.
    fn reset(&mut self) {
        let state = self.state_mut();
        state.iterations = 0;
        for group in &mut state.buffers {
            group.slots.clear();
        }
    }
    /// A copy of the state: `t` and the per-parameter buffers (momentum, moments).
    fn state(&self) -> OptimizerState {
        self.state_ref().clone()
    }
    /// Replaces the state with one [`state`](Optimizer::state) returned, so training resumes
    /// where it stopped.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] (changing nothing) unless the buffer groups have the names
    /// this optimizer uses, in order, and `iterations` is at most [`MAX_ITERATIONS`].
    fn set_state(&mut self, state: OptimizerState) -> Result<()> {
        self.state_ref().check_replacement(self.name(), &state)?;
        *self.state_mut() = state;
        Ok(())
    }
    /// Copies the state into `saved`, reusing its buffers: once `saved` has the state's shapes
    /// this allocates nothing. The model calls it before every update so that it can undo a
    /// step that makes a weight non-finite (see [`restore_state`](Optimizer::restore_state)).
    fn save_state(&self, saved: &mut OptimizerState) {
        saved.clone_from(self.state_ref());
    }
    /// Puts back, bitwise, a state [`save_state`](Optimizer::save_state) wrote, reusing the
    /// buffers.
    ///
    /// # Errors
    ///
    /// As [`set_state`](Optimizer::set_state); the state is kept then.
    fn restore_state(&mut self, saved: &OptimizerState) -> Result<()> {
        self.state_ref().check_replacement(self.name(), saved)?;
        self.state_mut().clone_from(saved);
        Ok(())
    }
}

/// The error of setting the momentum of the optimizer `name`, which has none.
fn no_momentum(name: &str) -> Error {
    Error::InvalidState(format!("{name} has no momentum to set"))
}

/// The largest update count an optimizer continues from: 2⁵³, the largest integer up to which
/// every count is exact in the `f64` Adam's bias correction uses. [`Optimizer::set_state`]
/// rejects a larger count, and a model refuses to step an optimizer that has reached it.
pub const MAX_ITERATIONS: u64 = 1 << 53;

/// An optimizer's state: the number of updates done and its per-parameter buffers.
#[derive(Debug, PartialEq, Default)]
pub struct OptimizerState {
    /// Updates done (`t`).
    pub iterations: u64,
    /// Buffer groups, e.g. SGD's `velocity`, Adam's `m` and `v`.
    pub buffers: Vec<StateBuffers>,
}

impl Clone for OptimizerState {
    fn clone(&self) -> Self {
        OptimizerState {
            iterations: self.iterations,
            buffers: self.buffers.clone(),
        }
    }

    /// Reuses the buffers: no allocation once the shapes match.
    fn clone_from(&mut self, source: &Self) {
        self.iterations = source.iterations;
        self.buffers.clone_from(&source.buffers);
    }
}

/// One kind of per-parameter buffer of an optimizer, one array per parameter slot (shaped as the
/// parameter: a kernel `(inputs, units)`, a bias `(units, 1)`). Empty until the first update.
#[derive(Debug, PartialEq)]
pub struct StateBuffers {
    /// `velocity`, `m`, `v`, `ms` or `momentum`.
    pub name: String,
    /// One array per parameter slot.
    pub slots: Vec<Array2<f32>>,
}

impl Clone for StateBuffers {
    fn clone(&self) -> Self {
        StateBuffers {
            name: self.name.clone(),
            slots: self.slots.clone(),
        }
    }

    /// Reuses the name's and the arrays' allocations.
    fn clone_from(&mut self, source: &Self) {
        self.name.clone_from(&source.name);
        self.slots.clone_from(&source.slots);
    }
}

impl OptimizerState {
    /// A fresh state (`t` = 0) with empty buffer groups of these names.
    pub fn with_groups(names: &[&str]) -> Self {
        OptimizerState {
            iterations: 0,
            buffers: names
                .iter()
                .map(|&name| StateBuffers {
                    name: name.to_string(),
                    slots: Vec::new(),
                })
                .collect(),
        }
    }

    /// `InvalidParameter` unless `other` can replace this state: the same group names in the
    /// same order and at most [`MAX_ITERATIONS`] updates. Allocates only for the error.
    fn check_replacement(&self, owner: &str, other: &OptimizerState) -> Result<()> {
        if other.iterations > MAX_ITERATIONS {
            return Err(Error::param(
                owner,
                "iterations",
                other.iterations,
                format!("must be at most {MAX_ITERATIONS} (2^53)"),
            ));
        }
        let same = self.buffers.len() == other.buffers.len()
            && self
                .buffers
                .iter()
                .zip(&other.buffers)
                .all(|(a, b)| a.name == b.name);
        if same {
            return Ok(());
        }
        let names = |s: &OptimizerState| -> Vec<String> {
            s.buffers.iter().map(|b| b.name.clone()).collect()
        };
        Err(Error::param(
            owner,
            "state buffers",
            format!("{:?}", names(other)),
            format!("expected {:?}", names(self)),
        ))
    }

    /// The buffers of parameter `slot` in the first `N` groups, for an
    /// [`UpdateRule::update`]: zeros shaped like `like` on first use (or when the parameter's
    /// shape changed). Missing groups are added, unnamed. Allocates only then. `None` does not
    /// happen; it keeps the update free of panics.
    pub fn slots_mut<const N: usize>(
        &mut self,
        slot: usize,
        like: &ArrayViewMut2<f32>,
    ) -> Option<[&mut Array2<f32>; N]> {
        while self.buffers.len() < N {
            self.buffers.push(StateBuffers {
                name: String::new(),
                slots: Vec::new(),
            });
        }
        let (groups, _) = self.buffers.split_first_chunk_mut::<N>()?;
        Some(groups.each_mut().map(|g| {
            let slots = &mut g.slots;
            while slots.len() <= slot {
                slots.push(Array2::zeros((0, 0)));
            }
            let buffer = &mut slots[slot];
            if buffer.dim() != like.dim() {
                *buffer = Array2::zeros(like.dim());
            }
            buffer
        }))
    }
}

/// An optimizer's hyper-parameters as plain data; [`build`](OptimizerConfig::build) makes the
/// optimizer. In JSON: `{"class_name": "SGD", "config": {"learning_rate": 0.1, ...}}`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(tag = "class_name", content = "config")
)]
#[non_exhaustive]
pub enum OptimizerConfig {
    /// [`Sgd`], in either [`MomentumForm`].
    #[cfg_attr(feature = "serde", serde(rename = "SGD"))]
    Sgd(SgdConfig),
    /// [`Adam`].
    Adam(AdamConfig),
    /// [`RmsProp`].
    #[cfg_attr(feature = "serde", serde(rename = "RMSprop"))]
    RmsProp(RmsPropConfig),
}

impl OptimizerConfig {
    /// A fresh optimizer with these hyper-parameters.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for a hyper-parameter out of its range.
    pub fn build(&self) -> Result<Box<dyn Optimizer>> {
        let opt: Box<dyn Optimizer> = match *self {
            OptimizerConfig::Sgd(c) => Box::new(Stateful::from(c)),
            OptimizerConfig::Adam(c) => Box::new(Stateful::from(c)),
            OptimizerConfig::RmsProp(c) => Box::new(Stateful::from(c)),
        };
        opt.validate()?;
        Ok(opt)
    }
}
