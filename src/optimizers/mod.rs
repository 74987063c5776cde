//! Optimizers: the [`Optimizer`] trait with Keras 2's [`Sgd`], [`Adam`] and [`RmsProp`].

/// The `Optimizer` methods every optimizer here implements the same way: a `learning_rate`
/// field, an `iterations` counter, and `Clone`.
macro_rules! common_optimizer_methods {
    () => {
        fn learning_rate(&self) -> f32 {
            self.learning_rate
        }

        fn set_learning_rate(&mut self, lr: f32) -> crate::error::Result<()> {
            crate::validate::non_negative(self.name(), "learning_rate", lr)?;
            self.learning_rate = lr;
            Ok(())
        }

        fn iterations(&self) -> u64 {
            self.iterations
        }

        fn finish_step(&mut self) {
            // The model refuses to step at `MAX_ITERATIONS`, so this never saturates there.
            self.iterations = self.iterations.saturating_add(1);
        }

        fn clone_box(&self) -> Box<dyn Optimizer> {
            Box::new(self.clone())
        }
    };
}

mod adam;
mod rmsprop;
mod sgd;

pub use adam::Adam;
pub use rmsprop::RmsProp;
pub use sgd::{MomentumForm, Sgd};

use ndarray::{Array2, ArrayView2, ArrayViewMut2};

use crate::error::{Error, Result};

/// Updates parameters from their gradients.
///
/// The model calls [`update`](Optimizer::update) for every parameter tensor of every layer, in a
/// fixed order (`slot` 0, 1, ...), then [`finish_step`](Optimizer::finish_step) once per batch.
/// State (momentum buffers, moments) is allocated on the first step and reused afterwards.
pub trait Optimizer: Send + Sync + std::fmt::Debug {
    /// Keras's name, e.g. `"SGD"`.
    fn name(&self) -> &'static str;
    /// Checks the hyper-parameters.
    fn validate(&self) -> Result<()>;
    /// The base learning rate.
    fn learning_rate(&self) -> f32;
    /// Replaces the base learning rate (for schedules). A rate that is NaN, infinite or
    /// negative is an `InvalidParameter` error and changes nothing (0 is allowed: a schedule may
    /// decay to it).
    fn set_learning_rate(&mut self, lr: f32) -> Result<()>;
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
    /// [`Error::InvalidParameter`] for a value outside the optimizer's range,
    /// [`Error::InvalidState`] for an optimizer without momentum (the default).
    fn set_momentum(&mut self, momentum: f32) -> Result<()> {
        let _ = momentum;
        Err(Error::InvalidState(format!(
            "{} has no momentum to set",
            self.name()
        )))
    }
    /// A copy of the state: `t` and the per-parameter buffers (momentum, moments).
    fn state(&self) -> OptimizerState {
        OptimizerState {
            iterations: self.iterations(),
            buffers: Vec::new(),
        }
    }
    /// Replaces the state with one [`state`](Optimizer::state) returned, so training resumes
    /// where it stopped. Buffer groups must have the names this optimizer uses, and
    /// `iterations` must be at most [`MAX_ITERATIONS`].
    fn set_state(&mut self, state: OptimizerState) -> Result<()> {
        let _ = state;
        Err(Error::InvalidState(format!(
            "{}: restoring the optimizer state is not supported",
            self.name()
        )))
    }
    /// Copies the state into `saved`, reusing its buffers: once `saved` has the state's shapes
    /// this allocates nothing. The model calls it before every update so that it can undo a
    /// step that makes a weight non-finite (see [`restore_state`](Optimizer::restore_state)).
    /// The default uses [`state`](Optimizer::state), which allocates.
    fn save_state(&self, saved: &mut OptimizerState) {
        *saved = self.state();
    }
    /// Puts back, bitwise, a state [`save_state`](Optimizer::save_state) wrote. The default
    /// uses [`set_state`](Optimizer::set_state); an optimizer that does not support it keeps
    /// its current state, and this returns its error.
    fn restore_state(&mut self, saved: &OptimizerState) -> Result<()> {
        self.set_state(saved.clone())
    }
}

/// The largest update count an optimizer continues from: 2⁵³, the largest integer up to which
/// every count is exact in the `f64` Adam's bias correction uses. [`Optimizer::set_state`]
/// rejects a larger count, and a model refuses to step an optimizer that has reached it.
pub const MAX_ITERATIONS: u64 = 1 << 53;

/// `InvalidParameter` unless `iterations <= MAX_ITERATIONS`.
fn check_iterations(owner: &str, iterations: u64) -> Result<()> {
    if iterations <= MAX_ITERATIONS {
        Ok(())
    } else {
        Err(Error::param(
            owner,
            "iterations",
            iterations,
            format!("must be at most {MAX_ITERATIONS} (2^53)"),
        ))
    }
}

/// [`Optimizer::save_state`] of the optimizers here: copies `t` and the buffer groups into
/// `saved`, reusing its allocations (`clone_from` keeps a buffer of the same size).
fn save_groups<const N: usize>(
    saved: &mut OptimizerState,
    iterations: u64,
    groups: [(&str, &Vec<Array2<f32>>); N],
) {
    saved.iterations = iterations;
    saved.buffers.truncate(N);
    for (i, (name, slots)) in groups.into_iter().enumerate() {
        match saved.buffers.get_mut(i) {
            Some(b) => {
                if b.name != name {
                    b.name = name.to_string();
                }
                b.slots.clone_from(slots);
            }
            None => saved.buffers.push(StateBuffers::new(name, slots)),
        }
    }
}

/// [`Optimizer::restore_state`] of the optimizers here: puts back what [`save_groups`] saved.
/// Returns `t`, or an error (changing nothing) when the groups are not `names`.
fn restore_groups<const N: usize>(
    owner: &str,
    saved: &OptimizerState,
    names: [&str; N],
    groups: [&mut Vec<Array2<f32>>; N],
) -> Result<u64> {
    check_iterations(owner, saved.iterations)?;
    let found: Vec<&str> = saved.buffers.iter().map(|b| b.name.as_str()).collect();
    if found != names {
        return Err(Error::param(
            owner,
            "state buffers",
            format!("{found:?}"),
            format!("expected {names:?}"),
        ));
    }
    for (dst, src) in groups.into_iter().zip(&saved.buffers) {
        dst.clone_from(&src.slots);
    }
    Ok(saved.iterations)
}

/// An optimizer's state: the number of updates done and its per-parameter buffers.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OptimizerState {
    /// Updates done (`t`).
    pub iterations: u64,
    /// Buffer groups, e.g. SGD's `velocity`, Adam's `m` and `v`.
    pub buffers: Vec<StateBuffers>,
}

/// One kind of per-parameter buffer of an optimizer, one array per parameter slot (shaped as the
/// parameter: a kernel `(inputs, units)`, a bias `(units, 1)`). Empty until the first update.
#[derive(Debug, Clone, PartialEq)]
pub struct StateBuffers {
    /// `velocity`, `m`, `v`, `ms` or `momentum`.
    pub name: String,
    /// One array per parameter slot.
    pub slots: Vec<Array2<f32>>,
}

impl StateBuffers {
    fn new(name: &str, slots: &[Array2<f32>]) -> Self {
        StateBuffers {
            name: name.to_string(),
            slots: slots.to_vec(),
        }
    }
}

/// Checks that `state` has exactly the buffer groups `names`, in order, and returns their slots.
fn take_buffers<const N: usize>(
    owner: &str,
    state: OptimizerState,
    names: [&str; N],
) -> Result<[Vec<Array2<f32>>; N]> {
    check_iterations(owner, state.iterations)?;
    let found: Vec<&str> = state.buffers.iter().map(|b| b.name.as_str()).collect();
    if found != names {
        return Err(Error::param(
            owner,
            "state buffers",
            format!("{found:?}"),
            format!("expected {names:?}"),
        ));
    }
    let mut groups = state.buffers.into_iter().map(|b| b.slots);
    Ok(std::array::from_fn(|_| groups.next().unwrap_or_default()))
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
    /// [`Sgd`].
    #[cfg_attr(feature = "serde", serde(rename = "SGD"))]
    Sgd {
        /// Base learning rate.
        learning_rate: f32,
        /// Momentum.
        momentum: f32,
        /// Nesterov momentum.
        nesterov: bool,
        /// Inverse-time decay per update.
        decay: f32,
    },
    /// [`Sgd`] with [`MomentumForm::PyTorch`].
    #[cfg_attr(feature = "serde", serde(rename = "SGD_pytorch_momentum"))]
    SgdPyTorch {
        /// Base learning rate.
        learning_rate: f32,
        /// Momentum.
        momentum: f32,
        /// Nesterov momentum.
        nesterov: bool,
        /// Inverse-time decay per update.
        decay: f32,
    },
    /// [`Adam`].
    Adam {
        /// Base learning rate.
        learning_rate: f32,
        /// Decay of the first moment.
        beta_1: f32,
        /// Decay of the second moment.
        beta_2: f32,
        /// Added to `sqrt(v)`.
        epsilon: f32,
        /// Inverse-time decay per update.
        decay: f32,
    },
    /// [`RmsProp`].
    #[cfg_attr(feature = "serde", serde(rename = "RMSprop"))]
    RmsProp {
        /// Base learning rate.
        learning_rate: f32,
        /// Decay of the running mean of squared gradients.
        rho: f32,
        /// Momentum.
        momentum: f32,
        /// Numerical fuzz.
        epsilon: f32,
        /// Inverse-time decay per update.
        decay: f32,
        /// Keras 3's placement of epsilon without momentum, `sqrt(s + ε)` (absent in files
        /// written before the option existed: `false`, Keras 2's `sqrt(s) + ε`).
        #[cfg_attr(feature = "serde", serde(default))]
        epsilon_inside_sqrt: bool,
    },
}

impl OptimizerConfig {
    /// A fresh optimizer with these hyper-parameters, validated.
    pub fn build(&self) -> Result<Box<dyn Optimizer>> {
        let opt: Box<dyn Optimizer> = match *self {
            OptimizerConfig::Sgd {
                learning_rate,
                momentum,
                nesterov,
                decay,
            } => Box::new(
                Sgd::new(learning_rate)
                    .momentum(momentum)
                    .nesterov(nesterov)
                    .decay(decay),
            ),
            OptimizerConfig::SgdPyTorch {
                learning_rate,
                momentum,
                nesterov,
                decay,
            } => Box::new(
                Sgd::new(learning_rate)
                    .momentum(momentum)
                    .nesterov(nesterov)
                    .decay(decay)
                    .momentum_form(MomentumForm::PyTorch),
            ),
            OptimizerConfig::Adam {
                learning_rate,
                beta_1,
                beta_2,
                epsilon,
                decay,
            } => Box::new(
                Adam::new(learning_rate)
                    .betas(beta_1, beta_2)
                    .epsilon(epsilon)
                    .decay(decay),
            ),
            OptimizerConfig::RmsProp {
                learning_rate,
                rho,
                momentum,
                epsilon,
                decay,
                epsilon_inside_sqrt,
            } => {
                let mut o = RmsProp::new(learning_rate)
                    .rho(rho)
                    .momentum(momentum)
                    .decay(decay)
                    .epsilon_inside_sqrt(epsilon_inside_sqrt);
                o.epsilon = epsilon;
                Box::new(o)
            }
        };
        opt.validate()?;
        Ok(opt)
    }
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
