//! Callbacks for [`Sequential::fit_with_callbacks`]: code that runs between epochs (and
//! batches) of training, as Keras's `callbacks=[...]`.
//!
//! - [`EarlyStopping`] stops when a monitored value stops improving and can restore the best
//!   weights.
//! - [`ModelCheckpoint`] saves the model after each epoch, or only when it improves (feature
//!   `serde`).
//! - [`LearningRateScheduler`] sets the learning rate from a
//!   [schedule](crate::schedules) or a closure.
//! - [`MomentumScheduler`] sets the optimizer's momentum from a schedule (a momentum ramp).
//! - [`DropoutScheduler`] sets the dropout layers' rate from a schedule (annealed dropout).
//! - [`LambdaCallback`] runs a closure at the end of every epoch.
//! - Implement [`Callback`] for anything else.
//!
//! Epochs are numbered from 0 in callbacks, as in Keras (the printed logs count from 1).
//!
//! ```
//! use ndnet::prelude::*;
//! use ndnet::callbacks::{Control, LambdaCallback};
//! use ndarray::array;
//!
//! let x = array![[0.0f32], [1.0]];
//! let y = array![[0.0f32], [1.0]];
//! let mut model = Sequential::new(1).with_seed(1);
//! model.add(Dense::new(1).activation(Activation::Sigmoid))?;
//! model.compile(BinaryCrossentropy, Sgd::new(0.1))?;
//! // Stop once the training loss is below 0.6.
//! let mut stop = LambdaCallback::new(|_epoch, logs| {
//!     if logs.loss < 0.6 { Control::Stop } else { Control::Continue }
//! });
//! let options = FitOptions { epochs: 10_000, batch_size: 2, ..Default::default() };
//! let history = model.fit_with_callbacks(&x, &y, &options, &mut [&mut stop])?;
//! assert!(*history.loss.last().unwrap() < 0.6);
//! assert!(history.epochs() < 10_000);
//! # Ok::<(), ndnet::Error>(())
//! ```

use std::fmt;

use ndarray::ArrayD;

use crate::error::{Error, Result};
use crate::model::Sequential;
use std::str::FromStr;

pub use crate::history::{Control, EpochLogs, Metric};
pub use crate::model::Callback;
use crate::schedules::LearningRateSchedule;
use crate::validate;

/// A callback from a closure run at the end of every epoch (Keras's `LambdaCallback` with
/// `on_epoch_end`).
pub struct LambdaCallback<F> {
    f: F,
}

impl<F: FnMut(usize, &EpochLogs) -> Control> LambdaCallback<F> {
    /// Calls `f(epoch, logs)` at the end of every epoch; training stops when it returns
    /// [`Control::Stop`].
    pub fn new(f: F) -> Self {
        LambdaCallback { f }
    }
}

impl<F> fmt::Debug for LambdaCallback<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LambdaCallback")
    }
}

impl<F: FnMut(usize, &EpochLogs) -> Control> Callback for LambdaCallback<F> {
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &EpochLogs,
        _: &mut Sequential,
    ) -> Result<Control> {
        Ok((self.f)(epoch, logs))
    }
}

/// Stops training when a monitored value has stopped improving (Keras's `EarlyStopping`).
///
/// After each epoch (from `start_from_epoch` on), the monitored value improves when it beats the
/// best so far by more than `min_delta` (lower for losses, higher for accuracies). Each epoch
/// without improvement counts one; training stops once the count reaches `patience` (never
/// after the first epoch). With a `baseline`, the count is only reset by values that also
/// beat the baseline.
///
/// With `restore_best_weights`, the weights of the best epoch are put back when training ends,
/// whether it stopped early or ran out of epochs (Keras 3's behaviour; Keras 2 restored them
/// only on an early stop). If no epoch improved, the weights of the first monitored epoch are
/// restored.
///
/// ```
/// use ndnet::callbacks::{EarlyStopping, Metric};
/// let stop = EarlyStopping::new(Metric::ValLoss).min_delta(1e-3).patience(20).restore_best_weights(true);
/// # let _ = stop;
/// ```
#[derive(Debug, Clone)]
pub struct EarlyStopping {
    monitor: Metric,
    min_delta: f32,
    patience: usize,
    baseline: Option<f32>,
    restore_best_weights: bool,
    start_from_epoch: usize,
    wait: usize,
    best: f32,
    best_epoch: Option<usize>,
    stopped_epoch: Option<usize>,
    best_weights: Option<Vec<ArrayD<f32>>>,
}

impl EarlyStopping {
    /// Monitors `monitor` with Keras's defaults: `min_delta 0`, `patience 0`, no baseline, no
    /// restoring, from the first epoch.
    pub fn new(monitor: Metric) -> Self {
        EarlyStopping {
            monitor,
            min_delta: 0.0,
            patience: 0,
            baseline: None,
            restore_best_weights: false,
            start_from_epoch: 0,
            wait: 0,
            best: monitor.worst(),
            best_epoch: None,
            stopped_epoch: None,
            best_weights: None,
        }
    }

    /// Smallest change that counts as an improvement (its absolute value is used).
    pub fn min_delta(mut self, min_delta: f32) -> Self {
        self.min_delta = min_delta.abs();
        self
    }

    /// Epochs without improvement after which training stops.
    pub fn patience(mut self, patience: usize) -> Self {
        self.patience = patience;
        self
    }

    /// A value the monitored quantity must beat for the patience count to reset.
    pub fn baseline(mut self, baseline: f32) -> Self {
        self.baseline = Some(baseline);
        self
    }

    /// Restore the best epoch's weights when training ends.
    pub fn restore_best_weights(mut self, restore: bool) -> Self {
        self.restore_best_weights = restore;
        self
    }

    /// Epochs to train before monitoring starts (a warm-up).
    pub fn start_from_epoch(mut self, epoch: usize) -> Self {
        self.start_from_epoch = epoch;
        self
    }

    /// The epoch (from 0) after which training stopped, `None` if it did not stop early.
    pub fn stopped_epoch(&self) -> Option<usize> {
        self.stopped_epoch
    }

    /// The epoch (from 0) with the best monitored value so far.
    pub fn best_epoch(&self) -> Option<usize> {
        self.best_epoch
    }

    /// The best monitored value so far, `None` before any epoch improved.
    pub fn best(&self) -> Option<f32> {
        self.best.is_finite().then_some(self.best)
    }

    /// Epochs since the last improvement.
    pub fn wait(&self) -> usize {
        self.wait
    }
}

impl Callback for EarlyStopping {
    fn on_train_begin(&mut self, _: &mut Sequential) -> Result<()> {
        if !self.min_delta.is_finite() {
            return Err(Error::param(
                "EarlyStopping",
                "min_delta",
                self.min_delta,
                "must be finite",
            ));
        }
        // Instances can be reused: every fit starts afresh.
        self.wait = 0;
        self.best = self.monitor.worst();
        self.best_epoch = None;
        self.stopped_epoch = None;
        self.best_weights = None;
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &EpochLogs,
        model: &mut Sequential,
    ) -> Result<Control> {
        let current = read(self.monitor, logs, "EarlyStopping")?;
        if epoch < self.start_from_epoch {
            return Ok(Control::Continue);
        }
        if self.restore_best_weights && self.best_weights.is_none() {
            self.best_weights = Some(model.get_weights());
            self.best_epoch = Some(epoch);
        }
        self.wait += 1;
        if self.monitor.improves(current, self.best, self.min_delta) {
            self.best = current;
            self.best_epoch = Some(epoch);
            if self.restore_best_weights {
                self.best_weights = Some(model.get_weights());
            }
            let beats_baseline = self
                .baseline
                .is_none_or(|b| self.monitor.improves(current, b, self.min_delta));
            if beats_baseline {
                self.wait = 0;
            }
            return Ok(Control::Continue);
        }
        if self.wait >= self.patience && epoch > 0 {
            self.stopped_epoch = Some(epoch);
            return Ok(Control::Stop);
        }
        Ok(Control::Continue)
    }

    fn on_train_end(&mut self, model: &mut Sequential) -> Result<()> {
        let best = self.best_weights.as_ref();
        if let Some(w) = best.filter(|_| self.restore_best_weights) {
            model.set_weights(w)?;
        }
        Ok(())
    }
}

/// Saves the model after every epoch, or only after epochs that improve a monitored value
/// (Keras's `ModelCheckpoint`). Needs the `serde` feature.
///
/// A `{epoch}` in the path is replaced by the epoch number counted from 1, as Keras formats
/// `filepath`. With `save_best_only`, the model is saved when the monitored value is strictly
/// better than the best saved so far (the first epoch always is); the best carries over to
/// later `fit` calls with the same checkpoint. The optimizer state is saved too, unless
/// turned off with [`include_optimizer`](ModelCheckpoint::include_optimizer).
///
/// ```no_run
/// use ndnet::callbacks::{Metric, ModelCheckpoint};
/// let checkpoint = ModelCheckpoint::new("best.ndnet").monitor(Metric::ValLoss).save_best_only(true);
/// # let _ = checkpoint;
/// ```
#[cfg(feature = "serde")]
#[derive(Debug, Clone)]
pub struct ModelCheckpoint {
    path: std::path::PathBuf,
    monitor: Metric,
    save_best_only: bool,
    include_optimizer: bool,
    best: f32,
    saved: Vec<usize>,
}

#[cfg(feature = "serde")]
impl ModelCheckpoint {
    /// Saves to `path` after every epoch, monitoring `val_loss` once `save_best_only` is on.
    pub fn new(path: impl Into<std::path::PathBuf>) -> Self {
        ModelCheckpoint {
            path: path.into(),
            monitor: Metric::ValLoss,
            save_best_only: false,
            include_optimizer: true,
            best: Metric::ValLoss.worst(),
            saved: Vec::new(),
        }
    }

    /// The value that decides what "best" is.
    pub fn monitor(mut self, monitor: Metric) -> Self {
        self.monitor = monitor;
        self.best = monitor.worst();
        self
    }

    /// Save only when the monitored value improves.
    pub fn save_best_only(mut self, on: bool) -> Self {
        self.save_best_only = on;
        self
    }

    /// Whether to save the optimizer's state (default: yes).
    pub fn include_optimizer(mut self, on: bool) -> Self {
        self.include_optimizer = on;
        self
    }

    /// The epochs (from 0) after which the model was saved.
    pub fn saved_epochs(&self) -> &[usize] {
        &self.saved
    }

    /// The best monitored value saved so far (`save_best_only`), `None` before the first save.
    pub fn best(&self) -> Option<f32> {
        self.best.is_finite().then_some(self.best)
    }

    /// The file written after epoch `epoch` (from 0).
    pub fn path_for(&self, epoch: usize) -> std::path::PathBuf {
        match self.path.to_str() {
            Some(p) if p.contains("{epoch}") => {
                p.replace("{epoch}", &(epoch + 1).to_string()).into()
            }
            _ => self.path.clone(),
        }
    }
}

#[cfg(feature = "serde")]
impl Callback for ModelCheckpoint {
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &EpochLogs,
        model: &mut Sequential,
    ) -> Result<Control> {
        if self.save_best_only {
            let current = read(self.monitor, logs, "ModelCheckpoint")?;
            if !self.monitor.improves(current, self.best, 0.0) {
                return Ok(Control::Continue);
            }
            self.best = current;
        }
        let path = self.path_for(epoch);
        if self.include_optimizer {
            model.save(&path)?;
        } else {
            model.save_without_optimizer(&path)?;
        }
        self.saved.push(epoch);
        Ok(Control::Continue)
    }
}

enum Rule {
    PerEpoch(Box<dyn LearningRateSchedule>),
    PerStep(Box<dyn LearningRateSchedule>),
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
            rule: Rule::PerEpoch(Box::new(schedule)),
        }
    }

    /// `lr = schedule.rate(optimizer.iterations())` before every batch.
    pub fn per_step(schedule: impl LearningRateSchedule + 'static) -> Self {
        LearningRateScheduler {
            rule: Rule::PerStep(Box::new(schedule)),
        }
    }
}

impl fmt::Debug for LearningRateScheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule {
            Rule::PerEpoch(s) => write!(f, "LearningRateScheduler::per_epoch({s:?})"),
            Rule::PerStep(s) => write!(f, "LearningRateScheduler::per_step({s:?})"),
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
            Rule::PerEpoch(s) | Rule::PerStep(s) => s.validate(),
            Rule::Closure(_) => Ok(()),
        }
    }

    fn on_epoch_begin(&mut self, epoch: usize, model: &mut Sequential) -> Result<()> {
        let lr = match &mut self.rule {
            Rule::PerEpoch(s) => s.rate(epoch as u64),
            Rule::Closure(f) => {
                let current = model.optimizer().map_or(f32::NAN, |o| o.learning_rate());
                f(epoch, current)
            }
            Rule::PerStep(_) => return Ok(()),
        };
        set_learning_rate(model, lr)
    }

    fn on_train_batch_begin(&mut self, model: &mut Sequential) -> Result<()> {
        if let Rule::PerStep(s) = &self.rule {
            let t = model.optimizer().map_or(0, |o| o.iterations());
            set_learning_rate(model, s.rate(t))?;
        }
        Ok(())
    }
}

/// When a [`MomentumScheduler`] or [`DropoutScheduler`] applies its schedule.
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

    fn epoch_value(&self, epoch: usize) -> Option<f32> {
        match self {
            When::PerEpoch(s) => Some(s.rate(epoch as u64)),
            When::PerStep(_) => None,
        }
    }

    fn step_value(&self, model: &Sequential) -> Option<f32> {
        match self {
            When::PerStep(s) => Some(s.rate(model.optimizer().map_or(0, |o| o.iterations()))),
            When::PerEpoch(_) => None,
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
        match self.when.epoch_value(epoch) {
            Some(m) => set_momentum(model, m),
            None => Ok(()),
        }
    }

    fn on_train_batch_begin(&mut self, model: &mut Sequential) -> Result<()> {
        match self.when.step_value(model) {
            Some(m) => set_momentum(model, m),
            None => Ok(()),
        }
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
        match self.when.epoch_value(epoch) {
            Some(r) => self.apply(model, r),
            None => Ok(()),
        }
    }

    fn on_train_batch_begin(&mut self, model: &mut Sequential) -> Result<()> {
        match self.when.step_value(model) {
            Some(r) => self.apply(model, r),
            None => Ok(()),
        }
    }
}

impl FromStr for Metric {
    type Err = Error;

    /// `loss`, `accuracy` (or `acc`), `val_loss`, `val_accuracy` (or `val_acc`).
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "loss" => Ok(Metric::Loss),
            "accuracy" | "acc" => Ok(Metric::Accuracy),
            "val_loss" => Ok(Metric::ValLoss),
            "val_accuracy" | "val_acc" => Ok(Metric::ValAccuracy),
            _ => Err(Error::param(
                "Metric",
                "name",
                s,
                "expected loss, accuracy, val_loss or val_accuracy",
            )),
        }
    }
}

/// The metric's value in `logs`, or an error naming the callback when it is missing.
fn read(metric: Metric, logs: &EpochLogs, owner: &str) -> Result<f32> {
    logs.get(metric).ok_or_else(|| {
        Error::InvalidState(format!(
            "{owner} monitors {}, which fit only computes with validation data: set \
                 validation_data or validation_split in FitOptions",
            metric.name()
        ))
    })
}
