use ndarray::{ArrayView2, ArrayViewMut2};

use super::{LearningRate, OptimizerConfig, OptimizerState, Stateful, UpdateRule};
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

/// Adam: an [`AdamConfig`] and the moments `m` and `v` of each parameter.
pub type Adam = Stateful<AdamConfig>;

impl Adam {
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
}

impl UpdateRule for AdamConfig {
    const NAME: &'static str = "Adam";
    const GROUPS: &'static [&'static str] = &["m", "v"];

    /// `learning_rate > 0`, both betas in `[0, 1)`, `epsilon > 0` and `decay >= 0`, all finite.
    fn validate(&self) -> Result<()> {
        self.rate.validate(Self::NAME)?;
        validate::unit_interval(Self::NAME, "beta_1", self.beta_1)?;
        validate::unit_interval(Self::NAME, "beta_2", self.beta_2)?;
        validate::positive(Self::NAME, "epsilon", self.epsilon)
    }

    fn rate(&self) -> &LearningRate {
        &self.rate
    }

    fn rate_mut(&mut self) -> &mut LearningRate {
        &mut self.rate
    }

    fn update(
        &self,
        state: &mut OptimizerState,
        slot: usize,
        lr: f32,
        t: u64,
        param: ArrayViewMut2<f32>,
        grad: ArrayView2<f32>,
    ) {
        let (b1, b2, eps) = (self.beta_1, self.beta_2, self.epsilon);
        let t = t.saturating_add(1) as f64;
        let lr = lr as f64;
        let lr_t = (lr * (1.0 - (b2 as f64).powf(t)).sqrt() / (1.0 - (b1 as f64).powf(t))) as f32;
        let Some([m, v]) = state.slots_mut(slot, &param) else {
            return;
        };
        zip_state2(param, grad, m.view_mut(), v.view_mut(), |w, g, m, v| {
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            *w -= lr_t * *m / (v.sqrt() + eps);
        });
    }

    fn to_config(&self) -> Option<OptimizerConfig> {
        Some(OptimizerConfig::Adam(*self))
    }
}
