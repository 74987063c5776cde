//! What training reports, as plain data: [`History`], [`Evaluation`], the per-epoch
//! [`EpochLogs`], the [`Control`] a callback returns and the [`Metric`]s it can monitor.
//!
//! This module uses nothing else of the crate: [`Error::Fit`](crate::Error::Fit) carries a
//! [`History`], so the history sits below the errors, and the model above both. The types are
//! re-exported from [`crate::model`] and [`crate::callbacks`].

use std::fmt;

/// Per-epoch logs of [`Sequential::fit`](crate::Sequential::fit).
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

/// Result of [`Sequential::evaluate`](crate::Sequential::evaluate).
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
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
