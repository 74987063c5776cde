//! [`Stateful`]: a config's [`UpdateRule`] with its [`OptimizerState`], the one
//! [`Optimizer`] implementation of the optimizers here.

use ndarray::{ArrayView2, ArrayViewMut2};

use super::{LearningRate, Optimizer, OptimizerConfig, OptimizerState, no_momentum};
use crate::error::Result;

/// An optimizer's hyper-parameters and rule (Keras 3's `update_step`, burn's
/// `SimpleOptimizer`), implemented by [`SgdConfig`](super::SgdConfig),
/// [`AdamConfig`](super::AdamConfig) and [`RmsPropConfig`](super::RmsPropConfig).
/// [`Stateful`] gives it its state and makes it an [`Optimizer`].
pub trait UpdateRule: Copy + PartialEq + Send + Sync + std::fmt::Debug + 'static {
    /// Keras's name, e.g. `"SGD"`.
    const NAME: &'static str;
    /// The names of the state's buffer groups, in order (SGD: `velocity`).
    const GROUPS: &'static [&'static str];
    /// Checks every hyper-parameter.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) naming the first one out of
    /// its range.
    fn validate(&self) -> Result<()>;
    /// The base learning rate and decay.
    fn rate(&self) -> &LearningRate;
    /// Mutable [`rate`](UpdateRule::rate).
    fn rate_mut(&mut self) -> &mut LearningRate;
    /// Applies one update to the parameter at position `slot` with the step's rate `lr_t`,
    /// `t` updates done before it, and the buffers in `state` (see
    /// [`OptimizerState::slots_mut`]).
    fn update(
        &self,
        state: &mut OptimizerState,
        slot: usize,
        lr_t: f32,
        t: u64,
        param: ArrayViewMut2<f32>,
        grad: ArrayView2<f32>,
    );
    /// The config as the enum a saved model stores (`None`: cannot be saved).
    fn to_config(&self) -> Option<OptimizerConfig> {
        None
    }
    /// The momentum, for a rule that has one.
    fn momentum(&self) -> Option<f32> {
        None
    }
    /// Replaces the momentum.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for a value out of range
    /// (nothing changes), [`Error::InvalidState`](crate::Error::InvalidState) for a rule
    /// without momentum (the default).
    fn set_momentum(&mut self, momentum: f32) -> Result<()> {
        let _ = momentum;
        Err(no_momentum(Self::NAME))
    }
}

/// An optimizer at run time: its hyper-parameters `config` and its `state` (the update count
/// and the buffers), e.g. [`Sgd`](super::Sgd) = `Stateful<SgdConfig>`. Built fresh from a
/// config with `From`, or with [`new`](Stateful::new) and the builders.
#[derive(Debug, Clone)]
pub struct Stateful<R> {
    /// The hyper-parameters.
    pub config: R,
    /// `t` and the buffer groups [`UpdateRule::GROUPS`].
    state: OptimizerState,
}

impl<R: UpdateRule> From<R> for Stateful<R> {
    /// A fresh optimizer (no state) with these hyper-parameters; checked at `compile`.
    fn from(config: R) -> Self {
        Stateful {
            config,
            state: OptimizerState::with_groups(R::GROUPS),
        }
    }
}

impl<R: UpdateRule + Default> Default for Stateful<R> {
    /// Keras's defaults.
    fn default() -> Self {
        Stateful::from(R::default())
    }
}

impl<R: UpdateRule + Default> Stateful<R> {
    /// Keras's defaults with the given learning rate.
    pub fn new(learning_rate: f32) -> Self {
        let mut config = R::default();
        config.rate_mut().learning_rate = learning_rate;
        Stateful::from(config)
    }
}

impl<R: UpdateRule> Stateful<R> {
    /// Sets Keras 2's inverse-time decay (see [`LearningRate`]).
    pub fn decay(mut self, decay: f32) -> Self {
        self.config.rate_mut().decay = decay;
        self
    }
}

impl<R: UpdateRule> Optimizer for Stateful<R> {
    fn name(&self) -> &'static str {
        R::NAME
    }

    fn validate(&self) -> Result<()> {
        self.config.validate()
    }

    fn rate(&self) -> &LearningRate {
        self.config.rate()
    }

    fn rate_mut(&mut self) -> &mut LearningRate {
        self.config.rate_mut()
    }

    fn state_ref(&self) -> &OptimizerState {
        &self.state
    }

    fn state_mut(&mut self) -> &mut OptimizerState {
        &mut self.state
    }

    fn update(
        &mut self,
        slot: usize,
        lr_t: f32,
        t: u64,
        param: ArrayViewMut2<f32>,
        grad: ArrayView2<f32>,
    ) {
        self.config
            .update(&mut self.state, slot, lr_t, t, param, grad);
    }

    fn config(&self) -> Option<OptimizerConfig> {
        self.config.to_config()
    }

    fn momentum(&self) -> Option<f32> {
        self.config.momentum()
    }

    fn set_momentum(&mut self, momentum: f32) -> Result<()> {
        self.config.set_momentum(momentum)
    }
}
