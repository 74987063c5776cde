//! The callbacks that monitor a value: [`EarlyStopping`] and [`ModelCheckpoint`].

use ndarray::ArrayD;

use super::{Callback, Control, EpochLogs, Metric, read};
use crate::error::{Error, Result};
use crate::model::Sequential;

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
