use ndarray::{ArrayView2, ArrayViewMut2};

use super::{LearningRate, OptimizerConfig, OptimizerState, Stateful, UpdateRule};
use crate::elementwise::{zip_state, zip2_flushed};
use crate::error::Result;
use crate::validate;

/// [`Sgd`]'s hyper-parameters: stochastic gradient descent with momentum, Nesterov momentum and
/// time decay, as Keras 2.
///
/// With `t` the number of updates already done (0 for the first batch) and
/// `lr_t = learning_rate / (1 + decay · t)` (see [`LearningRate`]), Keras's form is
///
/// ```text
/// v    = momentum · v - lr_t · g            (v starts at 0; it holds the learning rate)
/// w   += v                                  (plain)
/// w   += momentum · v - lr_t · g            (nesterov)
/// ```
///
/// This is not PyTorch's form (`v = μv + g; w -= lr·v`): the two differ once the rate decays
/// (Keras's velocity keeps the old rates, PyTorch's step uses the current one for all of it).
/// [`MomentumForm::PyTorch`] selects PyTorch's form (the one of the dropout paper's code):
///
/// ```text
/// v  = momentum · v + g                     (v starts at 0; it holds no learning rate)
/// w -= lr_t · v                             (plain)
/// w -= lr_t · (g + momentum · v)            (nesterov)
/// ```
///
/// With a constant rate the two forms take the same steps. There is no dampening. Without
/// momentum both are `w -= lr_t · g`.
///
/// Defaults (Keras's): `learning_rate 0.01, momentum 0, nesterov false, decay 0`, Keras's form.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SgdConfig {
    /// `learning_rate` and `decay`: update `t` uses `lr_t = learning_rate / (1 + decay · t)`.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub rate: LearningRate,
    /// Momentum `μ` in `[0, 1)`: the fraction of the velocity `v` kept from one update to the
    /// next. 0: plain SGD, no velocity.
    pub momentum: f32,
    /// Nesterov momentum: step along `μ · v - lr_t · g` (Keras) or `lr_t · (g + μ · v)`
    /// (PyTorch) after updating `v`, instead of along `v`.
    pub nesterov: bool,
    /// Where the learning rate enters the momentum update (absent in a saved file: Keras's).
    #[cfg_attr(feature = "serde", serde(default))]
    pub momentum_form: MomentumForm,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig {
            rate: LearningRate::new(0.01),
            momentum: 0.0,
            nesterov: false,
            momentum_form: MomentumForm::Keras,
        }
    }
}

/// The range of [`SgdConfig::momentum`], `[0, 1)`.
fn check_momentum(momentum: f32) -> Result<()> {
    validate::unit_interval("SGD", "momentum", momentum)
}

/// Stochastic gradient descent: an [`SgdConfig`] and the velocity of each parameter.
///
/// ```
/// use ndnet::optimizers::{Optimizer, Sgd};
/// let sgd = Sgd::new(0.1).momentum(0.9).decay(1e-4).nesterov(true);
/// assert!(sgd.validate().is_ok());
/// assert!(Sgd::new(-1.0).validate().is_err());
/// ```
pub type Sgd = Stateful<SgdConfig>;

impl Sgd {
    /// Sets the momentum.
    pub fn momentum(mut self, momentum: f32) -> Self {
        self.config.momentum = momentum;
        self
    }

    /// Turns Nesterov momentum on or off.
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.config.nesterov = nesterov;
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
    ///         let (lr_t, t) = (sgd.current_learning_rate(), sgd.iterations());
    ///         sgd.update(0, lr_t, t, w.view_mut(), array![[1.0f32]].view());
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
        self.config.momentum_form = form;
        self
    }
}

impl UpdateRule for SgdConfig {
    const NAME: &'static str = "SGD";
    const GROUPS: &'static [&'static str] = &["velocity"];

    /// `learning_rate > 0`, `momentum` in `[0, 1)` and `decay >= 0`, all finite.
    fn validate(&self) -> Result<()> {
        self.rate.validate(Self::NAME)?;
        check_momentum(self.momentum)
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
        let m = self.momentum;
        if m == 0.0 {
            zip2_flushed(param, grad, |w, g| *w -= lr * g);
            return;
        }
        let Some([v]) = state.slots_mut(slot, &param) else {
            return;
        };
        let v = v.view_mut();
        match (self.momentum_form, self.nesterov) {
            (MomentumForm::PyTorch, true) => zip_state(param, grad, v, |w, g, v| {
                *v = m * *v + g;
                *w -= lr * (g + m * *v);
            }),
            (MomentumForm::PyTorch, false) => zip_state(param, grad, v, |w, g, v| {
                *v = m * *v + g;
                *w -= lr * *v;
            }),
            (MomentumForm::Keras, true) => zip_state(param, grad, v, |w, g, v| {
                *v = m * *v - lr * g;
                *w += m * *v - lr * g;
            }),
            (MomentumForm::Keras, false) => zip_state(param, grad, v, |w, g, v| {
                *v = m * *v - lr * g;
                *w += *v;
            }),
        }
    }

    fn to_config(&self) -> Option<OptimizerConfig> {
        Some(OptimizerConfig::Sgd(*self))
    }

    fn momentum(&self) -> Option<f32> {
        Some(self.momentum)
    }

    fn set_momentum(&mut self, momentum: f32) -> Result<()> {
        check_momentum(momentum)?;
        self.momentum = momentum;
        Ok(())
    }
}

/// Where [`Sgd`] puts the learning rate in its momentum update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum MomentumForm {
    /// Keras: `v = μv − lr·g; w += v` (the velocity holds the learning rates of past steps).
    #[default]
    #[cfg_attr(feature = "serde", serde(rename = "keras"))]
    Keras,
    /// PyTorch (and the dropout paper's code): `v = μv + g; w −= lr·v`.
    #[cfg_attr(feature = "serde", serde(rename = "pytorch"))]
    PyTorch,
}
