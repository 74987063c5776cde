//! What training reports: [`History`], [`Evaluation`], the per-epoch [`EpochLogs`] and the
//! [`Callback`] trait `fit` calls, with the [`Control`] it returns and the [`Metric`]s it
//! can monitor. The callbacks themselves are in [`crate::callbacks`].

use std::fmt;
use std::str::FromStr;

use super::Sequential;
use crate::error::{Error, Result};

/// Per-epoch logs of [`Sequential::fit`].
///
/// `loss` and `accuracy` are the sample-weighted means over the epoch's batches, measured in
/// training mode (dropout on), as Keras reports them. `val_loss` and `val_accuracy` are measured
/// in inference mode after each epoch, and are empty without validation data. Losses include the
/// layers' regularization penalties, as in Keras.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// Training loss per epoch.
    pub loss: Vec<f32>,
    /// Training accuracy per epoch.
    pub accuracy: Vec<f32>,
    /// Validation loss per epoch.
    pub val_loss: Vec<f32>,
    /// Validation accuracy per epoch.
    pub val_accuracy: Vec<f32>,
    /// The optimizer's base learning rate at the end of each epoch (see
    /// [`LearningRateScheduler`](crate::callbacks::LearningRateScheduler)).
    pub learning_rate: Vec<f32>,
}

impl History {
    /// Number of epochs recorded.
    pub fn epochs(&self) -> usize {
        self.loss.len()
    }

    /// Appends one epoch's logs.
    pub fn push(&mut self, logs: &EpochLogs) {
        self.loss.push(logs.loss);
        self.accuracy.push(logs.accuracy);
        if let Some(v) = logs.val {
            self.val_loss.push(v.loss);
            self.val_accuracy.push(v.accuracy);
        }
        self.learning_rate.push(logs.learning_rate);
    }
}

/// Result of [`Sequential::evaluate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// Mean loss over the samples.
    pub loss: f32,
    /// Fraction of correct predictions.
    pub accuracy: f32,
}

/// What a callback wants after an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Go on training.
    Continue,
    /// Stop after this epoch (the other callbacks still see it, then `on_train_end` runs).
    Stop,
}

/// The values `fit` measured in one epoch (Keras's `logs`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochLogs {
    /// The epoch, from 0.
    pub epoch: usize,
    /// Mean training loss (dropout on, regularization penalties included).
    pub loss: f32,
    /// Training accuracy (dropout on).
    pub accuracy: f32,
    /// Loss and accuracy on the validation data, when there is any.
    pub val: Option<Evaluation>,
    /// The optimizer's base learning rate at the end of the epoch.
    pub learning_rate: f32,
}

impl EpochLogs {
    /// The value of `metric`, `None` for a validation metric without validation data.
    pub fn get(&self, metric: Metric) -> Option<f32> {
        match metric {
            Metric::Loss => Some(self.loss),
            Metric::Accuracy => Some(self.accuracy),
            Metric::ValLoss => self.val.map(|v| v.loss),
            Metric::ValAccuracy => self.val.map(|v| v.accuracy),
        }
    }
}

/// A value callbacks can monitor. Losses are minimized, accuracies maximized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// `loss`.
    Loss,
    /// `accuracy`.
    Accuracy,
    /// `val_loss`.
    ValLoss,
    /// `val_accuracy`.
    ValAccuracy,
}

impl Metric {
    /// Keras's name: `loss`, `accuracy`, `val_loss` or `val_accuracy`.
    pub fn name(&self) -> &'static str {
        match self {
            Metric::Loss => "loss",
            Metric::Accuracy => "accuracy",
            Metric::ValLoss => "val_loss",
            Metric::ValAccuracy => "val_accuracy",
        }
    }

    /// Whether larger values are better (accuracies).
    pub fn higher_is_better(&self) -> bool {
        matches!(self, Metric::Accuracy | Metric::ValAccuracy)
    }

    /// The worst possible value: `+inf` for a loss, `-inf` for an accuracy.
    pub(crate) fn worst(&self) -> f32 {
        if self.higher_is_better() {
            f32::NEG_INFINITY
        } else {
            f32::INFINITY
        }
    }

    /// Whether `current` beats `reference` by more than `min_delta` (Keras's
    /// `monitor_op(current - min_delta, reference)` with the delta's sign set by the direction).
    pub(crate) fn improves(&self, current: f32, reference: f32, min_delta: f32) -> bool {
        if self.higher_is_better() {
            current - min_delta > reference
        } else {
            current + min_delta < reference
        }
    }

    /// The metric's value in `logs`, or an error naming the callback when it is missing.
    pub(crate) fn read(&self, logs: &EpochLogs, owner: &str) -> Result<f32> {
        logs.get(*self).ok_or_else(|| {
            Error::InvalidState(format!(
                "{owner} monitors {}, which fit only computes with validation data: set \
                 validation_data or validation_split in FitOptions",
                self.name()
            ))
        })
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
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

/// Code run by [`Sequential::fit_with_callbacks`] between epochs and batches.
///
/// Every method has a default that does nothing; each gets the model, so a callback can read
/// or replace weights, save the model or change the optimizer's learning rate. An error ends
/// `fit` with that error.
pub trait Callback {
    /// Before the first epoch.
    fn on_train_begin(&mut self, model: &mut Sequential) -> Result<()> {
        let _ = model;
        Ok(())
    }

    /// At the start of epoch `epoch` (from 0).
    fn on_epoch_begin(&mut self, epoch: usize, model: &mut Sequential) -> Result<()> {
        let _ = (epoch, model);
        Ok(())
    }

    /// Before every training batch. This runs inside the training loop: keep it cheap and
    /// free of allocations.
    fn on_train_batch_begin(&mut self, model: &mut Sequential) -> Result<()> {
        let _ = model;
        Ok(())
    }

    /// At the end of epoch `epoch`, after the validation pass, with the epoch's logs.
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &EpochLogs,
        model: &mut Sequential,
    ) -> Result<Control> {
        let _ = (epoch, logs, model);
        Ok(Control::Continue)
    }

    /// After the last epoch, whether training ran out of epochs, was stopped or failed (a
    /// divergence, an error of any callback): it runs on every path once `on_train_begin` has
    /// been called.
    fn on_train_end(&mut self, model: &mut Sequential) -> Result<()> {
        let _ = model;
        Ok(())
    }
}
