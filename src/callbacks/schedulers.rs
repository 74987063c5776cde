//! The callbacks that set a hyper-parameter from a schedule: the learning rate, the momentum
//! and the dropout rate.

use std::fmt;

use super::Callback;
use crate::error::{Error, Result};
use crate::model::Sequential;
use crate::schedules::LearningRateSchedule;
use crate::validate;

/// What a [`LearningRateScheduler`] applies: a schedule, as the other schedulers, or Keras's
/// closure of the epoch and the current rate.
enum Rule {
    Schedule(When),
    Closure(Box<dyn FnMut(usize, f32) -> f32 + Send>),
}

/// Sets the optimizer's learning rate from a schedule or a closure, through
/// [`Optimizer::set_learning_rate`](crate::optimizers::Optimizer::set_learning_rate).
///
/// - [`new`](Self::new)`(|epoch, lr| ...)`: Keras's `LearningRateScheduler`: at the start of
///   every epoch (from 0) the closure gets the epoch and the current rate and returns the new
///   rate.
/// - [`per_epoch`](Self::per_epoch)`(schedule)`: at the start of every epoch the rate is
///   `schedule.rate(epoch)`.
/// - [`per_step`](Self::per_step)`(schedule)`: before every batch the rate is
///   `schedule.rate(t)`, `t` the optimizer's update count, as when Keras gets a schedule as
///   the optimizer's learning rate (the count survives save and load).
///
/// The rate set is the optimizer's base rate: an [`Sgd`](crate::optimizers::Sgd) `decay`
/// still applies on top of it. A rate that is negative or not finite is an error.
///
/// ```
/// use ndnet::callbacks::LearningRateScheduler;
/// use ndnet::schedules::InverseTimeDecay;
/// // Keras's example: keep the rate for 10 epochs, then decay it by e^-0.1 per epoch.
/// let by_epoch = LearningRateScheduler::new(|epoch, lr| if epoch < 10 { lr } else { lr * (-0.1f32).exp() });
/// let by_step = LearningRateScheduler::per_step(InverseTimeDecay::new(0.1, 100, 0.5));
/// # let _ = (by_epoch, by_step);
/// ```
pub struct LearningRateScheduler {
    rule: Rule,
}

impl LearningRateScheduler {
    /// `lr = f(epoch, lr)` at the start of every epoch.
    pub fn new(f: impl FnMut(usize, f32) -> f32 + Send + 'static) -> Self {
        LearningRateScheduler {
            rule: Rule::Closure(Box::new(f)),
        }
    }

    /// `lr = schedule.rate(epoch)` at the start of every epoch.
    pub fn per_epoch(schedule: impl LearningRateSchedule + 'static) -> Self {
        LearningRateScheduler {
            rule: Rule::Schedule(When::PerEpoch(Box::new(schedule))),
        }
    }

    /// `lr = schedule.rate(optimizer.iterations())` before every batch.
    pub fn per_step(schedule: impl LearningRateSchedule + 'static) -> Self {
        LearningRateScheduler {
            rule: Rule::Schedule(When::PerStep(Box::new(schedule))),
        }
    }
}

impl fmt::Debug for LearningRateScheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule {
            Rule::Schedule(When::PerEpoch(s)) => {
                write!(f, "LearningRateScheduler::per_epoch({s:?})")
            }
            Rule::Schedule(When::PerStep(s)) => write!(f, "LearningRateScheduler::per_step({s:?})"),
            Rule::Closure(_) => f.write_str("LearningRateScheduler::new(<closure>)"),
        }
    }
}

fn set_learning_rate(model: &mut Sequential, lr: f32) -> Result<()> {
    validate::non_negative("LearningRateScheduler", "learning_rate", lr)?;
    if let Some(opt) = model.optimizer_mut() {
        opt.set_learning_rate(lr)?;
    }
    Ok(())
}

impl Callback for LearningRateScheduler {
    fn on_train_begin(&mut self, _: &mut Sequential) -> Result<()> {
        match &self.rule {
            Rule::Schedule(when) => when.schedule().validate(),
            Rule::Closure(_) => Ok(()),
        }
    }

    fn on_epoch_begin(&mut self, epoch: usize, model: &mut Sequential) -> Result<()> {
        match &mut self.rule {
            Rule::Schedule(when) => when.at_epoch_begin(epoch, model, set_learning_rate),
            Rule::Closure(f) => {
                let current = model.optimizer().map_or(f32::NAN, |o| o.learning_rate());
                set_learning_rate(model, f(epoch, current))
            }
        }
    }

    fn on_train_batch_begin(&mut self, model: &mut Sequential) -> Result<()> {
        match &self.rule {
            Rule::Schedule(when) => when.before_batch(model, set_learning_rate),
            Rule::Closure(_) => Ok(()),
        }
    }
}

/// When a scheduler applies its schedule.
#[derive(Debug)]
enum When {
    /// At the start of every epoch, with the epoch (from 0) as the step.
    PerEpoch(Box<dyn LearningRateSchedule>),
    /// Before every batch, with the optimizer's update count as the step.
    PerStep(Box<dyn LearningRateSchedule>),
}

impl When {
    fn schedule(&self) -> &dyn LearningRateSchedule {
        match self {
            When::PerEpoch(s) | When::PerStep(s) => s.as_ref(),
        }
    }

    /// At the start of epoch `epoch`: `set(model, schedule.rate(epoch))` for a per-epoch
    /// schedule, nothing for a per-step one.
    fn at_epoch_begin(
        &self,
        epoch: usize,
        model: &mut Sequential,
        set: impl FnOnce(&mut Sequential, f32) -> Result<()>,
    ) -> Result<()> {
        match self {
            When::PerEpoch(s) => set(model, s.rate(epoch as u64)),
            When::PerStep(_) => Ok(()),
        }
    }

    /// Before a batch: `set(model, schedule.rate(t))`, `t` the optimizer's update count (0
    /// without an optimizer), for a per-step schedule, nothing for a per-epoch one.
    fn before_batch(
        &self,
        model: &mut Sequential,
        set: impl FnOnce(&mut Sequential, f32) -> Result<()>,
    ) -> Result<()> {
        match self {
            When::PerStep(s) => {
                let t = model.optimizer().map_or(0, |o| o.iterations());
                set(model, s.rate(t))
            }
            When::PerEpoch(_) => Ok(()),
        }
    }
}

/// Sets the optimizer's momentum from a [schedule](crate::schedules), through
/// [`Optimizer::set_momentum`](crate::optimizers::Optimizer::set_momentum): before every batch
/// with the optimizer's update count `t` as the step ([`per_step`](Self::per_step)), or at the
/// start of every epoch with the epoch ([`per_epoch`](Self::per_epoch)).
///
/// The dropout paper's MNIST recipe raises SGD's momentum linearly from 0.5 to 0.99 over the
/// first 100,000 updates:
///
/// ```
/// use ndnet::callbacks::MomentumScheduler;
/// use ndnet::schedules::PolynomialDecay;
/// let ramp = MomentumScheduler::per_step(PolynomialDecay::new(0.5, 100_000, 0.99));
/// # let _ = ramp;
/// ```
///
/// An optimizer without momentum (Adam), or a value outside `[0, 1)`, ends `fit` with an error.
#[derive(Debug)]
pub struct MomentumScheduler {
    when: When,
}

impl MomentumScheduler {
    /// `momentum = schedule.rate(optimizer.iterations())` before every batch.
    pub fn per_step(schedule: impl LearningRateSchedule + 'static) -> Self {
        MomentumScheduler {
            when: When::PerStep(Box::new(schedule)),
        }
    }

    /// `momentum = schedule.rate(epoch)` at the start of every epoch.
    pub fn per_epoch(schedule: impl LearningRateSchedule + 'static) -> Self {
        MomentumScheduler {
            when: When::PerEpoch(Box::new(schedule)),
        }
    }
}

fn set_momentum(model: &mut Sequential, momentum: f32) -> Result<()> {
    match model.optimizer_mut() {
        Some(opt) => opt.set_momentum(momentum),
        None => Ok(()),
    }
}

impl Callback for MomentumScheduler {
    fn on_train_begin(&mut self, _: &mut Sequential) -> Result<()> {
        self.when.schedule().validate()
    }

    fn on_epoch_begin(&mut self, epoch: usize, model: &mut Sequential) -> Result<()> {
        self.when.at_epoch_begin(epoch, model, set_momentum)
    }

    fn on_train_batch_begin(&mut self, model: &mut Sequential) -> Result<()> {
        self.when.before_batch(model, set_momentum)
    }
}

/// Sets the drop probability of the model's [`Dropout`](crate::layers::Dropout) layers from a
/// [schedule](crate::schedules) (annealed or curriculum dropout), through
/// [`Layer::set_dropout_rate`](crate::layers::Layer::set_dropout_rate): at the start of every
/// epoch with the epoch as the step ([`per_epoch`](Self::per_epoch)) or before every batch with
/// the optimizer's update count ([`per_step`](Self::per_step)). All dropout layers get the
/// rate, or only those at the positions given to [`layers`](Self::layers).
///
/// ```
/// use ndnet::callbacks::DropoutScheduler;
/// use ndnet::schedules::PolynomialDecay;
/// // Anneal the hidden dropout (layer 3) from 0.5 to 0 over 50 epochs.
/// let anneal = DropoutScheduler::per_epoch(PolynomialDecay::new(0.5, 50, 0.0)).layers(&[3]);
/// # let _ = anneal;
/// ```
///
/// A rate outside `[0, 1)`, a position that is not a dropout layer, or a model without dropout
/// layers ends `fit` with an error.
#[derive(Debug)]
pub struct DropoutScheduler {
    when: When,
    layers: Option<Vec<usize>>,
}

impl DropoutScheduler {
    /// `rate = schedule.rate(epoch)` at the start of every epoch.
    pub fn per_epoch(schedule: impl LearningRateSchedule + 'static) -> Self {
        DropoutScheduler {
            when: When::PerEpoch(Box::new(schedule)),
            layers: None,
        }
    }

    /// `rate = schedule.rate(optimizer.iterations())` before every batch.
    pub fn per_step(schedule: impl LearningRateSchedule + 'static) -> Self {
        DropoutScheduler {
            when: When::PerStep(Box::new(schedule)),
            layers: None,
        }
    }

    /// Only the dropout layers at these positions in the model (from 0).
    pub fn layers(mut self, positions: &[usize]) -> Self {
        self.layers = Some(positions.to_vec());
        self
    }

    fn apply(&self, model: &mut Sequential, rate: f32) -> Result<()> {
        let layers = model.layers_mut();
        match &self.layers {
            None => {
                let mut any = false;
                for layer in layers.iter_mut() {
                    any |= layer.set_dropout_rate(rate)?;
                }
                if !any {
                    return Err(Error::InvalidState(
                        "DropoutScheduler: the model has no Dropout layer".into(),
                    ));
                }
            }
            Some(positions) => {
                for &i in positions {
                    let ok = match layers.get_mut(i) {
                        Some(layer) => layer.set_dropout_rate(rate)?,
                        None => false,
                    };
                    if !ok {
                        return Err(Error::param(
                            "DropoutScheduler",
                            "layers",
                            i,
                            "is not the position of a Dropout layer in the model",
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

impl Callback for DropoutScheduler {
    fn on_train_begin(&mut self, _: &mut Sequential) -> Result<()> {
        self.when.schedule().validate()
    }

    fn on_epoch_begin(&mut self, epoch: usize, model: &mut Sequential) -> Result<()> {
        self.when
            .at_epoch_begin(epoch, model, |model, rate| self.apply(model, rate))
    }

    fn on_train_batch_begin(&mut self, model: &mut Sequential) -> Result<()> {
        self.when
            .before_batch(model, |model, rate| self.apply(model, rate))
    }
}
