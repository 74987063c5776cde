use ndarray::{Array2, ArrayView2, ArrayViewMut2};

use super::{
    Optimizer, OptimizerConfig, OptimizerState, StateBuffers, restore_groups, save_groups,
    slot_state, take_buffers,
};
use crate::elementwise::{zip_state, zip2};
use crate::error::Result;
use crate::validate;

/// Stochastic gradient descent with momentum, Nesterov momentum and time decay, as Keras 2.
///
/// With `t` the number of updates already done (0 for the first batch):
///
/// ```text
/// lr_t = learning_rate / (1 + decay · t)
/// v    = momentum · v - lr_t · g            (v starts at 0; it holds the learning rate)
/// w   += v                                  (plain)
/// w   += momentum · v - lr_t · g            (nesterov)
/// ```
///
/// This is not PyTorch's form (`v = μv + g; w -= lr·v`): the two differ once the rate decays
/// (Keras's velocity keeps the old rates, PyTorch's step uses the current one for all of it).
/// [`momentum_form`](Sgd::momentum_form)`(`[`MomentumForm::PyTorch`]`)` selects PyTorch's form
/// (the one of the dropout paper's code):
///
/// ```text
/// v  = momentum · v + g                     (v starts at 0; it holds no learning rate)
/// w -= lr_t · v                             (plain)
/// w -= lr_t · (g + momentum · v)            (nesterov)
/// ```
///
/// With a constant rate the two forms take the same steps. There is no dampening.
///
/// ```
/// use ndnet::optimizers::{Optimizer, Sgd};
/// let sgd = Sgd::new(0.1).momentum(0.9).decay(1e-4).nesterov(true);
/// assert!(sgd.validate().is_ok());
/// assert!(Sgd::new(-1.0).validate().is_err());
/// ```
#[derive(Debug, Clone)]
pub struct Sgd {
    /// Base learning rate (Keras default 0.01).
    pub learning_rate: f32,
    /// Momentum in `[0, 1)`.
    pub momentum: f32,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// Inverse-time decay of the learning rate per update.
    pub decay: f32,
    /// Where the learning rate enters the momentum update.
    pub momentum_form: MomentumForm,
    iterations: u64,
    velocity: Vec<Array2<f32>>,
}

impl Default for Sgd {
    fn default() -> Self {
        Sgd::new(0.01)
    }
}

impl Sgd {
    /// Plain SGD with the given learning rate.
    pub fn new(learning_rate: f32) -> Self {
        Sgd {
            learning_rate,
            momentum: 0.0,
            nesterov: false,
            decay: 0.0,
            momentum_form: MomentumForm::Keras,
            iterations: 0,
            velocity: Vec::new(),
        }
    }

    /// Sets the momentum.
    pub fn momentum(mut self, momentum: f32) -> Self {
        self.momentum = momentum;
        self
    }

    /// Turns Nesterov momentum on or off.
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }

    /// Sets the decay.
    pub fn decay(mut self, decay: f32) -> Self {
        self.decay = decay;
        self
    }

    /// Chooses the momentum update: Keras's (the default) or PyTorch's.
    ///
    /// ```
    /// use ndnet::optimizers::{MomentumForm, Optimizer, Sgd};
    /// use ndarray::array;
    /// // lr 0.5 then 0.25 (decay 1), momentum 0.5, gradient 1 twice, w from 0.
    /// let step_twice = |mut sgd: Sgd| {
    ///     let mut w = array![[0.0f32]];
    ///     for _ in 0..2 {
    ///         sgd.update(0, w.view_mut(), array![[1.0f32]].view());
    ///         sgd.finish_step();
    ///     }
    ///     w[[0, 0]]
    /// };
    /// let sgd = Sgd::new(0.5).momentum(0.5).decay(1.0);
    /// // Keras: v = -0.5, then 0.5·(-0.5) - 0.25 = -0.5; w = -1.0.
    /// assert_eq!(step_twice(sgd.clone()), -1.0);
    /// // PyTorch: v = 1, w = -0.5; v = 1.5, w = -0.5 - 0.25·1.5 = -0.875.
    /// assert_eq!(step_twice(sgd.momentum_form(MomentumForm::PyTorch)), -0.875);
    /// ```
    pub fn momentum_form(mut self, form: MomentumForm) -> Self {
        self.momentum_form = form;
        self
    }

    /// The learning rate used by the next update: `lr / (1 + decay · t)`.
    pub fn current_learning_rate(&self) -> f32 {
        self.learning_rate / (1.0 + self.decay * self.iterations as f32)
    }
}

impl Optimizer for Sgd {
    common_optimizer_methods!();

    fn name(&self) -> &'static str {
        "SGD"
    }

    fn validate(&self) -> Result<()> {
        validate::positive("SGD", "learning_rate", self.learning_rate)?;
        validate::unit_interval("SGD", "momentum", self.momentum)?;
        validate::non_negative("SGD", "decay", self.decay)
    }

    fn update(&mut self, slot: usize, param: ArrayViewMut2<f32>, grad: ArrayView2<f32>) {
        let lr = self.current_learning_rate();
        let m = self.momentum;
        if m == 0.0 {
            zip2(param, grad, |w, g| *w -= lr * g);
            return;
        }
        let v = slot_state(&mut self.velocity, slot, &param);
        if self.momentum_form == MomentumForm::PyTorch {
            if self.nesterov {
                zip_state(param, grad, v.view_mut(), |w, g, v| {
                    *v = m * *v + g;
                    *w -= lr * (g + m * *v);
                });
            } else {
                zip_state(param, grad, v.view_mut(), |w, g, v| {
                    *v = m * *v + g;
                    *w -= lr * *v;
                });
            }
        } else if self.nesterov {
            zip_state(param, grad, v.view_mut(), |w, g, v| {
                *v = m * *v - lr * g;
                *w += m * *v - lr * g;
            });
        } else {
            zip_state(param, grad, v.view_mut(), |w, g, v| {
                *v = m * *v - lr * g;
                *w += *v;
            });
        }
    }

    fn reset(&mut self) {
        self.iterations = 0;
        self.velocity.clear();
    }

    fn momentum(&self) -> Option<f32> {
        Some(self.momentum)
    }

    fn set_momentum(&mut self, momentum: f32) -> Result<()> {
        validate::unit_interval("SGD", "momentum", momentum)?;
        self.momentum = momentum;
        Ok(())
    }

    fn config(&self) -> Option<OptimizerConfig> {
        let (learning_rate, momentum, nesterov, decay) =
            (self.learning_rate, self.momentum, self.nesterov, self.decay);
        Some(match self.momentum_form {
            MomentumForm::Keras => OptimizerConfig::Sgd {
                learning_rate,
                momentum,
                nesterov,
                decay,
            },
            MomentumForm::PyTorch => OptimizerConfig::SgdPyTorch {
                learning_rate,
                momentum,
                nesterov,
                decay,
            },
        })
    }

    fn state(&self) -> OptimizerState {
        OptimizerState {
            iterations: self.iterations,
            buffers: vec![StateBuffers::new("velocity", &self.velocity)],
        }
    }

    fn set_state(&mut self, state: OptimizerState) -> Result<()> {
        let iterations = state.iterations;
        [self.velocity] = take_buffers("SGD", state, ["velocity"])?;
        self.iterations = iterations;
        Ok(())
    }

    fn save_state(&self, saved: &mut OptimizerState) {
        save_groups(saved, self.iterations, [("velocity", &self.velocity)]);
    }

    fn restore_state(&mut self, saved: &OptimizerState) -> Result<()> {
        self.iterations = restore_groups("SGD", saved, ["velocity"], [&mut self.velocity])?;
        Ok(())
    }
}

/// Where [`Sgd`] puts the learning rate in its momentum update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MomentumForm {
    /// Keras: `v = μv − lr·g; w += v` (the velocity holds the learning rates of past steps).
    #[default]
    Keras,
    /// PyTorch (and the dropout paper's code): `v = μv + g; w −= lr·v`.
    PyTorch,
}
