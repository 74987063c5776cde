use ndarray::{ArrayView2, ArrayViewMut2};

use super::{LearningRate, OptimizerConfig, OptimizerState, Stateful, UpdateRule};
use crate::elementwise::{zip_state, zip_state2};
use crate::error::Result;
use crate::validate;

/// [`RmsProp`]'s hyper-parameters, as Keras 2 (`tf.keras.optimizers.RMSprop`).
///
/// With `lr_t = learning_rate / (1 + decay · t)` (see [`LearningRate`]):
///
/// ```text
/// s = ρ s + (1 - ρ) g²
/// without momentum:  w -= lr_t · g / (sqrt(s) + ε)
/// with momentum μ:   u = μ u + lr_t · g / sqrt(s + ε);  w -= u
/// ```
///
/// Keras 3 (and tf.keras ≥ 2.11) puts epsilon inside the square root without momentum too,
/// `w -= lr_t · g / sqrt(s + ε)`; [`epsilon_inside_sqrt`](RmsPropConfig::epsilon_inside_sqrt)
/// selects that form. The default stays Keras 2's.
///
/// Defaults (Keras's): `learning_rate 0.001, rho 0.9, momentum 0, epsilon 1e-7, decay 0`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RmsPropConfig {
    /// `learning_rate` and `decay`: update `t` uses `lr_t = learning_rate / (1 + decay · t)`.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub rate: LearningRate,
    /// `ρ` in `[0, 1)`: decay of the running mean of squared gradients, `s = ρ s + (1 - ρ) g²`.
    pub rho: f32,
    /// Momentum `μ` in `[0, 1)`: `u = μ u + lr_t · g / sqrt(s + ε)`. 0: no momentum buffer.
    pub momentum: f32,
    /// `ε > 0`, numerical fuzz in the denominator (`sqrt(s) + ε` or `sqrt(s + ε)`).
    pub epsilon: f32,
    /// Without momentum, divide by `sqrt(s + ε)` (Keras 3) instead of `sqrt(s) + ε` (Keras 2,
    /// `false`, also when absent in a file written before the option existed). With momentum
    /// both Kerases use `sqrt(s + ε)`.
    #[cfg_attr(feature = "serde", serde(default))]
    pub epsilon_inside_sqrt: bool,
}

impl Default for RmsPropConfig {
    fn default() -> Self {
        RmsPropConfig {
            rate: LearningRate::new(0.001),
            rho: 0.9,
            momentum: 0.0,
            epsilon: 1e-7,
            epsilon_inside_sqrt: false,
        }
    }
}

/// RMSprop: an [`RmsPropConfig`] and, per parameter, the running mean `ms` and the
/// `momentum` buffer.
pub type RmsProp = Stateful<RmsPropConfig>;

impl RmsProp {
    /// Sets `rho`.
    pub fn rho(mut self, rho: f32) -> Self {
        self.config.rho = rho;
        self
    }

    /// Sets the momentum.
    pub fn momentum(mut self, momentum: f32) -> Self {
        self.config.momentum = momentum;
        self
    }

    /// Sets `epsilon`.
    pub fn epsilon(mut self, epsilon: f32) -> Self {
        self.config.epsilon = epsilon;
        self
    }

    /// Sets [`epsilon_inside_sqrt`](RmsPropConfig::epsilon_inside_sqrt).
    ///
    /// ```
    /// use ndnet::optimizers::{Optimizer, RmsProp};
    /// use ndarray::array;
    /// // One step from w = 1 with g = 0.1, rho 0.9, lr 0.01, epsilon 0.01:
    /// // s = 0.1 · 0.01 = 0.001; Keras 3: w = 1 - 0.01 · 0.1 / sqrt(0.011) = 0.990465.
    /// let mut opt = RmsProp::new(0.01).epsilon(0.01).epsilon_inside_sqrt(true);
    /// let mut w = array![[1.0f32]];
    /// opt.update(0, 0.01, 0, w.view_mut(), array![[0.1f32]].view());
    /// assert!((w[[0, 0]] - 0.990465).abs() < 1e-6);
    /// ```
    pub fn epsilon_inside_sqrt(mut self, inside: bool) -> Self {
        self.config.epsilon_inside_sqrt = inside;
        self
    }
}

impl UpdateRule for RmsPropConfig {
    const NAME: &'static str = "RMSprop";
    const GROUPS: &'static [&'static str] = &["ms", "momentum"];

    /// `learning_rate > 0`, `rho` and `momentum` in `[0, 1)`, `epsilon > 0` and `decay >= 0`,
    /// all finite.
    fn validate(&self) -> Result<()> {
        self.rate.validate(Self::NAME)?;
        validate::unit_interval(Self::NAME, "rho", self.rho)?;
        validate::unit_interval(Self::NAME, "momentum", self.momentum)?;
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
        _t: u64,
        param: ArrayViewMut2<f32>,
        grad: ArrayView2<f32>,
    ) {
        let (rho, mu, eps) = (self.rho, self.momentum, self.epsilon);
        if mu == 0.0 {
            let Some([ms]) = state.slots_mut(slot, &param) else {
                return;
            };
            let ms = ms.view_mut();
            if self.epsilon_inside_sqrt {
                plain_step(param, grad, ms, (rho, lr), |s| (s + eps).sqrt());
            } else {
                plain_step(param, grad, ms, (rho, lr), |s| s.sqrt() + eps);
            }
            return;
        }
        let Some([ms, mom]) = state.slots_mut(slot, &param) else {
            return;
        };
        zip_state2(param, grad, ms.view_mut(), mom.view_mut(), |w, g, s, u| {
            *s = rho * *s + (1.0 - rho) * g * g;
            *u = mu * *u + lr * g / (*s + eps).sqrt();
            *w -= *u;
        });
    }

    fn to_config(&self) -> Option<OptimizerConfig> {
        Some(OptimizerConfig::RmsProp(*self))
    }
}

/// RMSprop without momentum, `s = ρ s + (1 - ρ) g²; w -= lr_t · g / denominator(s)`: one loop
/// for each form of the denominator (Keras 2's `sqrt(s) + ε`, Keras 3's `sqrt(s + ε)`).
fn plain_step(
    param: ArrayViewMut2<f32>,
    grad: ArrayView2<f32>,
    ms: ArrayViewMut2<f32>,
    (rho, lr): (f32, f32),
    denominator: impl Fn(f32) -> f32 + Sync,
) {
    zip_state(param, grad, ms, |w, g, s| {
        *s = rho * *s + (1.0 - rho) * g * g;
        *w -= lr * g / denominator(*s);
    });
}
