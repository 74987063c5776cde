//! Callbacks: EarlyStopping (patience, min_delta, baseline, restoring the best weights),
//! ModelCheckpoint, learning-rate schedules, and user callbacks that stop training.
//!
//! EarlyStopping and ModelCheckpoint are driven by hand-written logs through the `Callback`
//! trait, so each sequence of monitored values is explicit; the fit tests check the wiring.

mod common;

use ndarray::{Array2, ArrayD, array};
use ndnet::Evaluation;
use ndnet::callbacks::{
    Callback, Control, EarlyStopping, EpochLogs, LambdaCallback, LearningRateScheduler, Metric,
};
use ndnet::prelude::*;
use ndnet::schedules::{ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay};

fn logs(epoch: usize, value: f32) -> EpochLogs {
    EpochLogs {
        epoch,
        loss: value,
        accuracy: value,
        val: Some(Evaluation {
            loss: value,
            accuracy: value,
        }),
        learning_rate: 0.1,
    }
}

/// A one-weight model whose weight we set to mark each epoch.
fn marker_model() -> Sequential {
    let mut model = Sequential::new(1).with_seed(1);
    model.add(Dense::new(1).use_bias(false)).unwrap();
    model.compile(MeanSquaredError, Sgd::new(0.1)).unwrap();
    model
}

fn set_marker(model: &mut Sequential, v: f32) {
    model.set_weights(&[array![[v]].into_dyn()]).unwrap();
}

fn marker(model: &Sequential) -> f32 {
    model.get_weights()[0][[0, 0]]
}

/// Feeds `values` to `cb` as epochs 0, 1, ... (the model's weight set to the epoch number
/// before each), stopping where the callback says; returns the epoch it stopped at.
fn drive(cb: &mut dyn Callback, model: &mut Sequential, values: &[f32]) -> Option<usize> {
    cb.on_train_begin(model).unwrap();
    let mut stopped = None;
    for (epoch, &v) in values.iter().enumerate() {
        set_marker(model, epoch as f32);
        if cb.on_epoch_end(epoch, &logs(epoch, v), model).unwrap() == Control::Stop {
            stopped = Some(epoch);
            break;
        }
    }
    cb.on_train_end(model).unwrap();
    stopped
}

// ---------------------------------------------------------------- EarlyStopping

#[test]
fn early_stopping_stops_once_patience_epochs_bring_no_improvement() {
    // Best 0.9 at epoch 1; epochs 2 and 3 do not beat it: wait 1, then 2 = patience: stop at 3.
    let mut es = EarlyStopping::new(Metric::Loss).patience(2);
    let stopped = drive(&mut es, &mut marker_model(), &[1.0, 0.9, 0.95, 0.93, 0.5]);
    assert_eq!(stopped, Some(3));
    assert_eq!(es.stopped_epoch(), Some(3));
    assert_eq!(es.best_epoch(), Some(1));
    assert_eq!(es.best(), Some(0.9));
}

#[test]
fn early_stopping_counts_changes_smaller_than_min_delta_as_no_improvement() {
    // min_delta 0.01: 0.995 and 0.992 are within 0.01 of the best 1.0: stop at epoch 2.
    let mut es = EarlyStopping::new(Metric::Loss).patience(2).min_delta(0.01);
    assert_eq!(
        drive(&mut es, &mut marker_model(), &[1.0, 0.995, 0.992, 0.5]),
        Some(2)
    );
    // Without min_delta every epoch improves.
    let mut es = EarlyStopping::new(Metric::Loss).patience(2);
    assert_eq!(
        drive(&mut es, &mut marker_model(), &[1.0, 0.995, 0.992, 0.5]),
        None
    );
}

#[test]
fn early_stopping_with_patience_zero_stops_at_the_first_epoch_without_improvement() {
    let mut es = EarlyStopping::new(Metric::Loss);
    assert_eq!(
        drive(&mut es, &mut marker_model(), &[1.0, 2.0, 0.5]),
        Some(1)
    );
}

#[test]
fn early_stopping_never_stops_at_epoch_zero() {
    // NaN never improves, but Keras only stops from the second epoch on.
    let mut es = EarlyStopping::new(Metric::Loss);
    assert_eq!(
        drive(&mut es, &mut marker_model(), &[f32::NAN, f32::NAN]),
        Some(1)
    );
}

#[test]
fn early_stopping_maximizes_accuracies() {
    // 0.6 at epoch 1 is the best; epochs 2 and 3 equal it, which is no improvement.
    let mut es = EarlyStopping::new(Metric::ValAccuracy).patience(2);
    assert_eq!(
        drive(&mut es, &mut marker_model(), &[0.5, 0.6, 0.6, 0.6, 0.9]),
        Some(3)
    );
}

#[test]
fn early_stopping_with_a_baseline_only_resets_patience_for_values_beating_it() {
    // Baseline 0.5: 0.8, 0.7, 0.6 improve but do not beat it, so the count keeps growing
    // (1, 2, 3); at 0.65 (no improvement) it is 4 >= 2: stop at epoch 3. Without the baseline
    // the count is 1 there.
    let values = [0.8, 0.7, 0.6, 0.65, 0.66];
    let mut es = EarlyStopping::new(Metric::Loss).patience(2).baseline(0.5);
    assert_eq!(drive(&mut es, &mut marker_model(), &values), Some(3));
    let mut es = EarlyStopping::new(Metric::Loss).patience(2);
    assert_eq!(drive(&mut es, &mut marker_model(), &values), Some(4));
}

#[test]
fn early_stopping_restores_the_best_weights_when_it_stops() {
    let mut model = marker_model();
    let mut es = EarlyStopping::new(Metric::Loss)
        .patience(2)
        .restore_best_weights(true);
    assert_eq!(drive(&mut es, &mut model, &[1.0, 0.9, 0.95, 0.93]), Some(3));
    assert_eq!(marker(&model), 1.0, "the weights of epoch 1");
}

#[test]
fn early_stopping_restores_the_best_weights_also_at_the_epoch_limit() {
    let mut model = marker_model();
    let mut es = EarlyStopping::new(Metric::Loss)
        .patience(10)
        .restore_best_weights(true);
    assert_eq!(drive(&mut es, &mut model, &[1.0, 0.7, 0.9, 0.8]), None);
    assert_eq!(
        marker(&model),
        1.0,
        "the weights of epoch 1, not of the last epoch 3"
    );
}

#[test]
fn early_stopping_without_restore_keeps_the_last_weights() {
    let mut model = marker_model();
    let mut es = EarlyStopping::new(Metric::Loss).patience(2);
    drive(&mut es, &mut model, &[1.0, 0.9, 0.95, 0.93]);
    assert_eq!(marker(&model), 3.0);
}

#[test]
fn early_stopping_starts_afresh_when_reused() {
    let mut es = EarlyStopping::new(Metric::Loss).patience(1);
    let mut model = marker_model();
    assert_eq!(drive(&mut es, &mut model, &[0.1, 0.2]), Some(1));
    // A new fit: 0.5 is worse than the old best 0.1 but is the first value of this run.
    assert_eq!(drive(&mut es, &mut model, &[0.5, 0.4, 0.3]), None);
}

#[test]
fn early_stopping_on_val_loss_without_validation_data_is_an_error() {
    let mut model = marker_model();
    let mut es = EarlyStopping::new(Metric::ValLoss);
    let options = FitOptions::default();
    let e = model
        .fit_with_callbacks(
            &array![[1.0f32]],
            &array![[0.0f32]],
            &options,
            &mut [&mut es],
        )
        .unwrap_err();
    assert!(e.to_string().contains("val_loss"), "{e}");
}

/// Records the weights at the end of every epoch.
#[derive(Default)]
struct Recorder {
    weights: Vec<Vec<ArrayD<f32>>>,
    train_begin: usize,
    epoch_begin: usize,
    train_end: usize,
}

impl Callback for Recorder {
    fn on_train_begin(&mut self, _: &mut Sequential) -> ndnet::Result<()> {
        self.train_begin += 1;
        Ok(())
    }
    fn on_epoch_begin(&mut self, _: usize, _: &mut Sequential) -> ndnet::Result<()> {
        self.epoch_begin += 1;
        Ok(())
    }
    fn on_epoch_end(
        &mut self,
        _: usize,
        _: &EpochLogs,
        model: &mut Sequential,
    ) -> ndnet::Result<Control> {
        self.weights.push(model.get_weights());
        Ok(Control::Continue)
    }
    fn on_train_end(&mut self, _: &mut Sequential) -> ndnet::Result<()> {
        self.train_end += 1;
        Ok(())
    }
}

#[test]
fn fit_stops_early_and_returns_the_best_epochs_weights() {
    // A min_delta larger than any change: only epoch 0 counts as an improvement, so with
    // patience 3 training stops after epoch 3 (4 epochs) and restores epoch 0's weights.
    let x = array![[1.0f32], [2.0], [3.0]];
    let y = array![[2.0f32], [4.0], [6.0]];
    let mut model = marker_model();
    let mut rec = Recorder::default();
    let mut es = EarlyStopping::new(Metric::Loss)
        .patience(3)
        .min_delta(1e6)
        .restore_best_weights(true);
    let options = FitOptions {
        epochs: 50,
        batch_size: 1,
        ..Default::default()
    };
    let h = model
        .fit_with_callbacks(&x, &y, &options, &mut [&mut rec, &mut es])
        .unwrap();
    assert_eq!(h.epochs(), 4);
    assert_eq!(es.stopped_epoch(), Some(3));
    assert_eq!(model.get_weights(), rec.weights[0]);
    assert_ne!(rec.weights[3], rec.weights[0]);
    assert_eq!((rec.train_begin, rec.epoch_begin, rec.train_end), (1, 4, 1));
}

// ---------------------------------------------------------------- ModelCheckpoint

#[cfg(feature = "serde")]
#[test]
fn model_checkpoint_saves_only_when_the_monitored_value_improves() {
    use ndnet::callbacks::ModelCheckpoint;
    let dir = common::tempdir().unwrap();
    let template = dir.path().join("model-{epoch}.ndnet");
    let mut cp = ModelCheckpoint::new(&template).save_best_only(true);
    let mut model = marker_model();
    // val_loss 1.0, 0.8, 0.9, 0.7: saves after epochs 0, 1 and 3 (files 1, 2 and 4).
    drive(&mut cp, &mut model, &[1.0, 0.8, 0.9, 0.7]);
    assert_eq!(cp.saved_epochs(), &[0, 1, 3]);
    let exists = |n: usize| dir.path().join(format!("model-{n}.ndnet")).exists();
    assert_eq!(
        (exists(1), exists(2), exists(3), exists(4)),
        (true, true, false, true)
    );
    let best = Sequential::load(dir.path().join("model-4.ndnet")).unwrap();
    assert_eq!(marker(&best), 3.0);
    assert_eq!(cp.best(), Some(0.7));
}

#[cfg(feature = "serde")]
#[test]
fn model_checkpoint_with_one_path_keeps_the_best_model() {
    use ndnet::callbacks::ModelCheckpoint;
    let dir = common::tempdir().unwrap();
    let path = dir.path().join("best.ndnet");
    let mut cp = ModelCheckpoint::new(&path)
        .monitor(Metric::ValAccuracy)
        .save_best_only(true);
    let mut model = marker_model();
    // Accuracies 0.5, 0.8, 0.6: the best is epoch 1.
    drive(&mut cp, &mut model, &[0.5, 0.8, 0.6]);
    assert_eq!(marker(&Sequential::load(&path).unwrap()), 1.0);
}

#[cfg(feature = "serde")]
#[test]
fn model_checkpoint_saves_every_epoch_by_default() {
    use ndnet::callbacks::ModelCheckpoint;
    let dir = common::tempdir().unwrap();
    let mut cp = ModelCheckpoint::new(dir.path().join("m{epoch}.ndnet"));
    drive(&mut cp, &mut marker_model(), &[1.0, 2.0, 3.0]);
    assert_eq!(cp.saved_epochs(), &[0, 1, 2]);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
}

// ---------------------------------------------------------------- learning-rate schedules

/// Trains a small model for `epochs` epochs of 4 batches with `scheduler`, returning the
/// history's learning rates and the rate seen by every batch.
fn rates(epochs: usize, mut scheduler: LearningRateScheduler) -> (Vec<f32>, Vec<f32>) {
    struct Probe(Vec<f32>);
    impl Callback for Probe {
        fn on_train_batch_begin(&mut self, model: &mut Sequential) -> ndnet::Result<()> {
            self.0.push(model.optimizer().unwrap().learning_rate());
            Ok(())
        }
    }
    let mut model = marker_model();
    let x = Array2::from_shape_fn((8, 1), |(i, _)| i as f32 * 0.1);
    let y = x.clone();
    let options = FitOptions {
        epochs,
        batch_size: 2,
        ..Default::default()
    };
    let mut probe = Probe(Vec::new());
    let h = model
        .fit_with_callbacks(&x, &y, &options, &mut [&mut scheduler, &mut probe])
        .unwrap();
    (h.learning_rate, probe.0)
}

fn assert_all_close(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-7, "{got:?} vs {want:?}");
    }
}

#[test]
fn inverse_time_decay_per_epoch_by_hand() {
    // 0.1 / (1 + 0.5 · epoch): 0.1, 0.0666667, 0.05, 0.04.
    let (lr, _) = rates(
        4,
        LearningRateScheduler::per_epoch(InverseTimeDecay::new(0.1, 1, 0.5)),
    );
    assert_all_close(&lr, &[0.1, 0.066_666_67, 0.05, 0.04]);
}

#[test]
fn exponential_decay_per_epoch_by_hand() {
    // 0.1 · 0.5^(epoch / 2): 0.1, 0.0707107, 0.05, 0.0353553; staircase: 0.1, 0.1, 0.05, 0.05.
    let (lr, _) = rates(
        4,
        LearningRateScheduler::per_epoch(ExponentialDecay::new(0.1, 2, 0.5)),
    );
    assert_all_close(&lr, &[0.1, 0.070_710_68, 0.05, 0.035_355_34]);
    let step = ExponentialDecay::new(0.1, 2, 0.5).staircase(true);
    let (lr, _) = rates(4, LearningRateScheduler::per_epoch(step));
    assert_all_close(&lr, &[0.1, 0.1, 0.05, 0.05]);
}

#[test]
fn piecewise_constant_decay_per_epoch_by_hand() {
    // Boundaries 1, 2: epochs 0 and 1 (<= 1) get 0.1, epoch 2 gets 0.01, epoch 3 gets 0.001.
    let s = PiecewiseConstantDecay::new(vec![1, 2], vec![0.1, 0.01, 0.001]).unwrap();
    let (lr, _) = rates(4, LearningRateScheduler::per_epoch(s));
    assert_all_close(&lr, &[0.1, 0.1, 0.01, 0.001]);
}

#[test]
fn a_closure_schedule_gets_the_epoch_and_the_current_rate() {
    // Starting from SGD's 0.1, halved at the start of every epoch (epoch 0 included, as Keras's
    // LearningRateScheduler): 0.05, 0.025, 0.0125.
    let (lr, _) = rates(3, LearningRateScheduler::new(|_, lr| lr * 0.5));
    assert_all_close(&lr, &[0.05, 0.025, 0.0125]);
    let (lr, _) = rates(
        3,
        LearningRateScheduler::new(|epoch, lr| if epoch < 2 { lr } else { 0.001 }),
    );
    assert_all_close(&lr, &[0.1, 0.1, 0.001]);
}

#[test]
fn a_per_step_schedule_sets_the_rate_before_every_batch_from_the_update_count() {
    // 4 batches per epoch, 2 epochs: steps t = 0..8, rate 0.1 / (1 + t / 4).
    let (lr, per_batch) = rates(
        2,
        LearningRateScheduler::per_step(InverseTimeDecay::new(0.1, 4, 1.0)),
    );
    let want: Vec<f32> = (0..8).map(|t| 0.1 / (1.0 + t as f32 / 4.0)).collect();
    assert_all_close(&per_batch, &want);
    assert_all_close(&lr, &[want[3], want[7]]);
}

#[test]
fn the_scheduled_rate_drives_the_update() {
    // y = x · w, w = 1, x = 1, target 0: the MSE gradient is 2. The schedule sets 0.01 over
    // SGD's 1.0: w = 1 - 0.01 · 2 = 0.98.
    let mut model = marker_model();
    set_marker(&mut model, 1.0);
    model.compile(MeanSquaredError, Sgd::new(1.0)).unwrap();
    let mut s = LearningRateScheduler::new(|_, _| 0.01);
    model
        .fit_with_callbacks(
            &array![[1.0f32]],
            &array![[0.0f32]],
            &FitOptions::default(),
            &mut [&mut s],
        )
        .unwrap();
    assert!((marker(&model) - 0.98).abs() < 1e-6, "{}", marker(&model));
}

#[test]
fn a_schedule_giving_a_non_finite_rate_stops_fit_with_an_error() {
    let mut model = marker_model();
    let mut s = LearningRateScheduler::new(|_, _| f32::NAN);
    let e = model
        .fit_with_callbacks(
            &array![[1.0f32]],
            &array![[0.0f32]],
            &FitOptions::default(),
            &mut [&mut s],
        )
        .unwrap_err();
    assert!(e.to_string().contains("learning_rate"), "{e}");
}

#[test]
fn an_invalid_piecewise_schedule_is_refused() {
    assert!(PiecewiseConstantDecay::new(vec![1, 2], vec![0.1]).is_err());
    assert!(PiecewiseConstantDecay::new(vec![2, 1], vec![0.1, 0.2, 0.3]).is_err());
}

// ---------------------------------------------------------------- user callbacks

/// Stops after `at` epochs and counts its calls.
struct StopAt {
    at: usize,
    ends: usize,
}

impl Callback for StopAt {
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        _: &EpochLogs,
        _: &mut Sequential,
    ) -> ndnet::Result<Control> {
        self.ends += 1;
        Ok(if epoch + 1 == self.at {
            Control::Stop
        } else {
            Control::Continue
        })
    }
}

#[test]
fn a_user_callback_can_stop_training() {
    let mut model = marker_model();
    let mut stop = StopAt { at: 3, ends: 0 };
    let options = FitOptions {
        epochs: 100,
        ..Default::default()
    };
    let h = model
        .fit_with_callbacks(
            &array![[1.0f32]],
            &array![[0.0f32]],
            &options,
            &mut [&mut stop],
        )
        .unwrap();
    assert_eq!(h.epochs(), 3);
    assert_eq!(stop.ends, 3);
}

#[test]
fn every_callback_sees_the_epoch_in_which_one_of_them_stops() {
    let mut model = marker_model();
    let mut first = StopAt { at: 2, ends: 0 };
    let mut second = StopAt { at: 99, ends: 0 };
    let options = FitOptions {
        epochs: 100,
        ..Default::default()
    };
    model
        .fit_with_callbacks(
            &array![[1.0f32]],
            &array![[0.0f32]],
            &options,
            &mut [&mut first, &mut second],
        )
        .unwrap();
    assert_eq!((first.ends, second.ends), (2, 2));
}

#[test]
fn a_lambda_callback_sees_the_logs_of_every_epoch() {
    let mut model = marker_model();
    let mut seen = Vec::new();
    let options = FitOptions {
        epochs: 3,
        validation_split: 0.5,
        ..Default::default()
    };
    model
        .fit_with_callbacks(
            &array![[1.0f32], [2.0]],
            &array![[0.0f32], [0.0]],
            &options,
            &mut [&mut LambdaCallback::new(|epoch, logs: &EpochLogs| {
                seen.push((epoch, logs.val.is_some()));
                Control::Continue
            })],
        )
        .unwrap();
    assert_eq!(seen, vec![(0, true), (1, true), (2, true)]);
}

#[test]
fn an_error_from_a_callback_ends_fit_with_that_error() {
    struct Fails;
    impl Callback for Fails {
        fn on_epoch_begin(&mut self, epoch: usize, _: &mut Sequential) -> ndnet::Result<()> {
            if epoch == 1 {
                Err(Error::InvalidState("disk full".into()))
            } else {
                Ok(())
            }
        }
    }
    let mut model = marker_model();
    let options = FitOptions {
        epochs: 5,
        ..Default::default()
    };
    let e = model
        .fit_with_callbacks(
            &array![[1.0f32]],
            &array![[0.0f32]],
            &options,
            &mut [&mut Fails],
        )
        .unwrap_err();
    assert_eq!(e.to_string(), "disk full");
}

#[test]
fn metrics_parse_from_keras_names() {
    assert_eq!("val_loss".parse::<Metric>().unwrap(), Metric::ValLoss);
    assert_eq!("acc".parse::<Metric>().unwrap(), Metric::Accuracy);
    assert!("f1".parse::<Metric>().is_err());
    assert_eq!(Metric::ValAccuracy.to_string(), "val_accuracy");
}
