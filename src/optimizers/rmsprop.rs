use ndarray::{Array2, ArrayView2, ArrayViewMut2};

use super::{
    Optimizer, OptimizerConfig, OptimizerState, StateBuffers, restore_groups, save_groups,
    slot_state, take_buffers,
};
use crate::elementwise::{zip_state, zip_state2};
use crate::error::Result;
use crate::validate;

/// RMSprop, as Keras 2 (`tf.keras.optimizers.RMSprop`).
///
/// ```text
/// lr_t = learning_rate / (1 + decay · t)
/// s    = ρ s + (1 - ρ) g²
/// without momentum:  w -= lr_t · g / (sqrt(s) + ε)
/// with momentum μ:   u = μ u + lr_t · g / sqrt(s + ε);  w -= u
/// ```
///
/// Defaults: `learning_rate 0.001, rho 0.9, momentum 0, epsilon 1e-7`.
///
/// Keras 3 (and tf.keras ≥ 2.11) puts epsilon inside the square root without momentum too,
/// `w -= lr_t · g / sqrt(s + ε)`; [`epsilon_inside_sqrt(true)`](RmsProp::epsilon_inside_sqrt)
/// selects that form. The default stays Keras 2's.
#[derive(Debug, Clone)]
pub struct RmsProp {
    /// Base learning rate.
    pub learning_rate: f32,
    /// Decay of the running mean of squared gradients.
    pub rho: f32,
    /// Momentum in `[0, 1)`.
    pub momentum: f32,
    /// Numerical fuzz.
    pub epsilon: f32,
    /// Inverse-time decay of the learning rate per update.
    pub decay: f32,
    epsilon_inside: bool,
    iterations: u64,
    ms: Vec<Array2<f32>>,
    mom: Vec<Array2<f32>>,
}

impl Default for RmsProp {
    fn default() -> Self {
        RmsProp::new(0.001)
    }
}

impl RmsProp {
    /// RMSprop with Keras's defaults and the given learning rate.
    pub fn new(learning_rate: f32) -> Self {
        RmsProp {
            learning_rate,
            rho: 0.9,
            momentum: 0.0,
            epsilon: 1e-7,
            decay: 0.0,
            epsilon_inside: false,
            iterations: 0,
            ms: Vec::new(),
            mom: Vec::new(),
        }
    }

    /// Sets `rho`.
    pub fn rho(mut self, rho: f32) -> Self {
        self.rho = rho;
        self
    }

    /// Sets the momentum.
    pub fn momentum(mut self, momentum: f32) -> Self {
        self.momentum = momentum;
        self
    }

    /// Sets the decay.
    pub fn decay(mut self, decay: f32) -> Self {
        self.decay = decay;
        self
    }

    /// Without momentum, divides by `sqrt(s + ε)` (Keras 3) instead of `sqrt(s) + ε` (Keras 2,
    /// the default). With momentum both Kerases use `sqrt(s + ε)` already.
    ///
    /// ```
    /// use ndnet::optimizers::{Optimizer, RmsProp};
    /// use ndarray::array;
    /// // One step from w = 1 with g = 0.1, rho 0.9, lr 0.01, epsilon 0.01:
    /// // s = 0.1 · 0.01 = 0.001; Keras 3: w = 1 - 0.01 · 0.1 / sqrt(0.011) = 0.990465.
    /// let mut opt = RmsProp::new(0.01).epsilon_inside_sqrt(true);
    /// opt.epsilon = 0.01;
    /// let mut w = array![[1.0f32]];
    /// opt.update(0, w.view_mut(), array![[0.1f32]].view());
    /// assert!((w[[0, 0]] - 0.990465).abs() < 1e-6);
    /// ```
    pub fn epsilon_inside_sqrt(mut self, inside: bool) -> Self {
        self.epsilon_inside = inside;
        self
    }
}

impl Optimizer for RmsProp {
    common_optimizer_methods!();

    fn name(&self) -> &'static str {
        "RMSprop"
    }

    fn validate(&self) -> Result<()> {
        validate::positive("RMSprop", "learning_rate", self.learning_rate)?;
        validate::unit_interval("RMSprop", "rho", self.rho)?;
        validate::unit_interval("RMSprop", "momentum", self.momentum)?;
        validate::positive("RMSprop", "epsilon", self.epsilon)?;
        validate::non_negative("RMSprop", "decay", self.decay)
    }

    fn update(&mut self, slot: usize, param: ArrayViewMut2<f32>, grad: ArrayView2<f32>) {
        let lr = self.learning_rate / (1.0 + self.decay * self.iterations as f32);
        let (rho, mu, eps) = (self.rho, self.momentum, self.epsilon);
        let ms = slot_state(&mut self.ms, slot, &param).view_mut();
        if mu == 0.0 && self.epsilon_inside {
            zip_state(param, grad, ms, |w, g, s| {
                *s = rho * *s + (1.0 - rho) * g * g;
                *w -= lr * g / (*s + eps).sqrt();
            });
            return;
        }
        if mu == 0.0 {
            zip_state(param, grad, ms, |w, g, s| {
                *s = rho * *s + (1.0 - rho) * g * g;
                *w -= lr * g / (s.sqrt() + eps);
            });
            return;
        }
        let mom = slot_state(&mut self.mom, slot, &param).view_mut();
        zip_state2(param, grad, ms, mom, |w, g, s, u| {
            *s = rho * *s + (1.0 - rho) * g * g;
            *u = mu * *u + lr * g / (*s + eps).sqrt();
            *w -= *u;
        });
    }

    fn reset(&mut self) {
        self.iterations = 0;
        self.ms.clear();
        self.mom.clear();
    }

    fn config(&self) -> Option<OptimizerConfig> {
        Some(OptimizerConfig::RmsProp {
            learning_rate: self.learning_rate,
            rho: self.rho,
            momentum: self.momentum,
            epsilon: self.epsilon,
            decay: self.decay,
            epsilon_inside_sqrt: self.epsilon_inside,
        })
    }

    fn state(&self) -> OptimizerState {
        OptimizerState {
            iterations: self.iterations,
            buffers: vec![
                StateBuffers::new("ms", &self.ms),
                StateBuffers::new("momentum", &self.mom),
            ],
        }
    }

    fn set_state(&mut self, state: OptimizerState) -> Result<()> {
        let iterations = state.iterations;
        [self.ms, self.mom] = take_buffers("RMSprop", state, ["ms", "momentum"])?;
        self.iterations = iterations;
        Ok(())
    }

    fn save_state(&self, saved: &mut OptimizerState) {
        save_groups(
            saved,
            self.iterations,
            [("ms", &self.ms), ("momentum", &self.mom)],
        );
    }

    fn restore_state(&mut self, saved: &OptimizerState) -> Result<()> {
        self.iterations = restore_groups(
            "RMSprop",
            saved,
            ["ms", "momentum"],
            [&mut self.ms, &mut self.mom],
        )?;
        Ok(())
    }
}
