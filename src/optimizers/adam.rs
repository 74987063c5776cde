use ndarray::{ArrayView2, ArrayViewMut2};

use super::{LearningRate, Optimizer, OptimizerConfig, OptimizerState};
use crate::elementwise::zip_state2;
use crate::error::Result;
use crate::validate;

/// [`Adam`]'s hyper-parameters, as Keras 2 (`tf.keras.optimizers.Adam`), with optional
/// inverse-time decay.
///
/// With `t` the number of updates already done and `lr_t = learning_rate / (1 + decay · t)`
/// (see [`LearningRate`]):
///
/// ```text
/// m  = β₁ m + (1 - β₁) g
/// v  = β₂ v + (1 - β₂) g²
/// w -= lr_t · sqrt(1 - β₂^(t+1)) / (1 - β₁^(t+1)) · m / (sqrt(v) + ε)
/// ```
///
/// The bias correction is computed in `f64`. Defaults (Keras's):
/// `learning_rate 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7, decay 0`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AdamConfig {
    /// `learning_rate` and `decay`: update `t` uses `lr_t = learning_rate / (1 + decay · t)`.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub rate: LearningRate,
    /// `β₁` in `[0, 1)`: decay of the first moment, `m = β₁ m + (1 - β₁) g`.
    pub beta_1: f32,
    /// `β₂` in `[0, 1)`: decay of the second moment, `v = β₂ v + (1 - β₂) g²`.
    pub beta_2: f32,
    /// `ε > 0`, added to `sqrt(v)` in the step's denominator.
    pub epsilon: f32,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            rate: LearningRate::new(0.001),
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
        }
    }
}

impl AdamConfig {
    /// Checks every hyper-parameter.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) unless
    /// `learning_rate > 0`, both betas in `[0, 1)`, `epsilon > 0` and `decay >= 0`, all finite.
    pub fn validate(&self) -> Result<()> {
        self.rate.validate("Adam")?;
        validate::unit_interval("Adam", "beta_1", self.beta_1)?;
        validate::unit_interval("Adam", "beta_2", self.beta_2)?;
        validate::positive("Adam", "epsilon", self.epsilon)
    }
}

/// Adam: an [`AdamConfig`] and the moments `m` and `v` of each parameter.
#[derive(Debug, Clone)]
pub struct Adam {
    /// The hyper-parameters.
    pub config: AdamConfig,
    /// `t` and the `m` and `v` groups.
    state: OptimizerState,
}

impl Default for Adam {
    fn default() -> Self {
        Adam::from(AdamConfig::default())
    }
}

impl From<AdamConfig> for Adam {
    /// A fresh optimizer (no state) with these hyper-parameters; checked at `compile`.
    fn from(config: AdamConfig) -> Self {
        Adam {
            config,
            state: OptimizerState::with_groups(&["m", "v"]),
        }
    }
}

impl Adam {
    /// Adam with Keras's defaults and the given learning rate.
    pub fn new(learning_rate: f32) -> Self {
        Adam::from(AdamConfig {
            rate: LearningRate::new(learning_rate),
            ..AdamConfig::default()
        })
    }

    /// Sets `beta_1` and `beta_2`.
    pub fn betas(mut self, beta_1: f32, beta_2: f32) -> Self {
        self.config.beta_1 = beta_1;
        self.config.beta_2 = beta_2;
        self
    }

    /// Sets `epsilon`.
    pub fn epsilon(mut self, epsilon: f32) -> Self {
        self.config.epsilon = epsilon;
        self
    }

    /// Sets the decay.
    pub fn decay(mut self, decay: f32) -> Self {
        self.config.rate.decay = decay;
        self
    }
}

impl Optimizer for Adam {
    fn name(&self) -> &'static str {
        "Adam"
    }

    fn validate(&self) -> Result<()> {
        self.config.validate()
    }

    fn rate(&self) -> &LearningRate {
        &self.config.rate
    }

    fn rate_mut(&mut self) -> &mut LearningRate {
        &mut self.config.rate
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
        lr: f32,
        t: u64,
        param: ArrayViewMut2<f32>,
        grad: ArrayView2<f32>,
    ) {
        let AdamConfig {
            beta_1: b1,
            beta_2: b2,
            epsilon: eps,
            ..
        } = self.config;
        let t = t.saturating_add(1) as f64;
        let lr = lr as f64;
        let lr_t = (lr * (1.0 - (b2 as f64).powf(t)).sqrt() / (1.0 - (b1 as f64).powf(t))) as f32;
        let Some([m, v]) = self.state.slots_mut(slot, &param) else {
            return;
        };
        zip_state2(param, grad, m.view_mut(), v.view_mut(), |w, g, m, v| {
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            *w -= lr_t * *m / (v.sqrt() + eps);
        });
    }

    fn config(&self) -> Option<OptimizerConfig> {
        Some(OptimizerConfig::Adam(self.config))
    }
}
