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

use crate::error::{Error, Result};
use crate::model::Sequential;
use std::str::FromStr;

pub use crate::history::{Control, EpochLogs, Metric};
pub use crate::model::Callback;

mod monitor;
mod schedulers;

pub use monitor::EarlyStopping;
#[cfg(feature = "serde")]
pub use monitor::ModelCheckpoint;
pub use schedulers::{DropoutScheduler, LearningRateScheduler, MomentumScheduler};

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
