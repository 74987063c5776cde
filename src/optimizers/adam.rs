use ndarray::{Array2, ArrayView2, ArrayViewMut2};

use super::{
    Optimizer, OptimizerConfig, OptimizerState, StateBuffers, restore_groups, save_groups,
    slot_state, take_buffers,
};
use crate::elementwise::zip_state2;
use crate::error::Result;
use crate::validate;

/// Adam, as Keras 2 (`tf.keras.optimizers.Adam`), with optional inverse-time decay.
///
/// With `t` the number of updates already done:
///
/// ```text
/// lr_t = learning_rate / (1 + decay · t) · sqrt(1 - β₂^(t+1)) / (1 - β₁^(t+1))
/// m    = β₁ m + (1 - β₁) g
/// v    = β₂ v + (1 - β₂) g²
/// w   -= lr_t · m / (sqrt(v) + ε)
/// ```
///
/// Defaults: `learning_rate 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7`.
#[derive(Debug, Clone)]
pub struct Adam {
    /// Base learning rate.
    pub learning_rate: f32,
    /// Decay of the first moment.
    pub beta_1: f32,
    /// Decay of the second moment.
    pub beta_2: f32,
    /// Added to `sqrt(v)`.
    pub epsilon: f32,
    /// Inverse-time decay of the learning rate per update.
    pub decay: f32,
    iterations: u64,
    m: Vec<Array2<f32>>,
    v: Vec<Array2<f32>>,
}

impl Default for Adam {
    fn default() -> Self {
        Adam::new(0.001)
    }
}

impl Adam {
    /// Adam with Keras's defaults and the given learning rate.
    pub fn new(learning_rate: f32) -> Self {
        Adam {
            learning_rate,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            decay: 0.0,
            iterations: 0,
            m: Vec::new(),
            v: Vec::new(),
        }
    }

    /// Sets `beta_1` and `beta_2`.
    pub fn betas(mut self, beta_1: f32, beta_2: f32) -> Self {
        self.beta_1 = beta_1;
        self.beta_2 = beta_2;
        self
    }

    /// Sets `epsilon`.
    pub fn epsilon(mut self, epsilon: f32) -> Self {
        self.epsilon = epsilon;
        self
    }

    /// Sets the decay.
    pub fn decay(mut self, decay: f32) -> Self {
        self.decay = decay;
        self
    }
}

impl Optimizer for Adam {
    common_optimizer_methods!();

    fn name(&self) -> &'static str {
        "Adam"
    }

    fn validate(&self) -> Result<()> {
        validate::positive("Adam", "learning_rate", self.learning_rate)?;
        validate::unit_interval("Adam", "beta_1", self.beta_1)?;
        validate::unit_interval("Adam", "beta_2", self.beta_2)?;
        validate::positive("Adam", "epsilon", self.epsilon)?;
        validate::non_negative("Adam", "decay", self.decay)
    }

    fn update(&mut self, slot: usize, param: ArrayViewMut2<f32>, grad: ArrayView2<f32>) {
        let t = self.iterations.saturating_add(1) as f64;
        let (b1, b2, eps) = (self.beta_1, self.beta_2, self.epsilon);
        let lr = self.learning_rate as f64 / (1.0 + self.decay as f64 * self.iterations as f64);
        let lr_t = (lr * (1.0 - (b2 as f64).powf(t)).sqrt() / (1.0 - (b1 as f64).powf(t))) as f32;
        let m = slot_state(&mut self.m, slot, &param).view_mut();
        let v = slot_state(&mut self.v, slot, &param).view_mut();
        zip_state2(param, grad, m, v, |w, g, m, v| {
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            *w -= lr_t * *m / (v.sqrt() + eps);
        });
    }

    fn reset(&mut self) {
        self.iterations = 0;
        self.m.clear();
        self.v.clear();
    }

    fn config(&self) -> Option<OptimizerConfig> {
        Some(OptimizerConfig::Adam {
            learning_rate: self.learning_rate,
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            epsilon: self.epsilon,
            decay: self.decay,
        })
    }

    fn state(&self) -> OptimizerState {
        OptimizerState {
            iterations: self.iterations,
            buffers: vec![
                StateBuffers::new("m", &self.m),
                StateBuffers::new("v", &self.v),
            ],
        }
    }

    fn set_state(&mut self, state: OptimizerState) -> Result<()> {
        let iterations = state.iterations;
        [self.m, self.v] = take_buffers("Adam", state, ["m", "v"])?;
        self.iterations = iterations;
        Ok(())
    }

    fn save_state(&self, saved: &mut OptimizerState) {
        save_groups(saved, self.iterations, [("m", &self.m), ("v", &self.v)]);
    }

    fn restore_state(&mut self, saved: &OptimizerState) -> Result<()> {
        self.iterations = restore_groups("Adam", saved, ["m", "v"], [&mut self.m, &mut self.v])?;
        Ok(())
    }
}
