//! The pieces of the dropout paper's MNIST recipe, against hand-computed values: SGD with
//! PyTorch-form momentum, the polynomial (linear ramp) schedule, the momentum schedule, and
//! changing the dropout rate during training.

use ndarray::{Array2, array};
use ndnet::callbacks::{Callback, DropoutScheduler, MomentumScheduler};
use ndnet::layers::LayerConfig;
use ndnet::optimizers::{
    Adam, LearningRate, MomentumForm, Optimizer, OptimizerConfig, Sgd, SgdConfig,
};
use ndnet::prelude::*;
use ndnet::schedules::{LearningRateSchedule, PolynomialDecay};

fn run_scalar(opt: &mut dyn Optimizer, w0: f32, grads: &[f32]) -> Vec<f32> {
    let mut w = array![[w0]];
    let mut out = Vec::new();
    for &g in grads {
        let (lr_t, t) = (opt.current_learning_rate(), opt.iterations());
        opt.update(0, lr_t, t, w.view_mut(), array![[g]].view());
        opt.finish_step();
        out.push(w[[0, 0]]);
    }
    out
}

fn assert_seq(actual: &[f32], expected: &[f64]) {
    assert_eq!(actual.len(), expected.len());
    for (a, e) in actual.iter().zip(expected) {
        assert!((*a as f64 - e).abs() <= 1e-6, "{actual:?} vs {expected:?}");
    }
}

fn torch(lr: f32, momentum: f32) -> Sgd {
    Sgd::new(lr)
        .momentum(momentum)
        .momentum_form(MomentumForm::PyTorch)
}

// ---------------------------------------------------------------------------------------------
// SGD, PyTorch form
// ---------------------------------------------------------------------------------------------

#[test]
fn pytorch_momentum_accumulates_raw_gradients() {
    // lr 0.5, μ 0.5, g = 1, -2, 0.5, w0 = 0:
    // v = 1,            w = -0.5
    // v = 0.5 - 2 = -1.5,  w = -0.5 + 0.75 = 0.25
    // v = -0.75 + 0.5 = -0.25, w = 0.25 + 0.125 = 0.375
    let ws = run_scalar(&mut torch(0.5, 0.5), 0.0, &[1.0, -2.0, 0.5]);
    assert_seq(&ws, &[-0.5, 0.25, 0.375]);
}

#[test]
fn with_a_constant_rate_both_forms_take_the_same_steps() {
    // lr 0.1, μ 0.9, g = 1: w = -0.1, -0.29, -0.561 in both forms.
    let expected = [-0.1, -0.29, -0.561];
    assert_seq(&run_scalar(&mut torch(0.1, 0.9), 0.0, &[1.0; 3]), &expected);
    assert_seq(
        &run_scalar(&mut Sgd::new(0.1).momentum(0.9), 0.0, &[1.0; 3]),
        &expected,
    );
}

#[test]
fn with_a_decaying_rate_the_forms_differ_as_computed_by_hand() {
    // lr_t = 0.1 / (1 + t): 0.1, 0.05, 0.0333...; μ 0.9, g = 1.
    // PyTorch: v = 1, 1.9, 2.71; w = -0.1, -0.1 - 0.095 = -0.195, -0.195 - 0.0903333 = -0.2853333.
    // Keras:   v = -0.1, -0.14, -0.1593333; w = -0.1, -0.24, -0.3993333.
    let ws = run_scalar(&mut torch(0.1, 0.9).decay(1.0), 0.0, &[1.0; 3]);
    assert_seq(&ws, &[-0.1, -0.195, -0.285_333_333]);
    let ws = run_scalar(&mut Sgd::new(0.1).momentum(0.9).decay(1.0), 0.0, &[1.0; 3]);
    assert_seq(&ws, &[-0.1, -0.24, -0.399_333_333]);
}

#[test]
fn pytorch_nesterov_steps_along_gradient_plus_momentum_times_velocity() {
    // lr 0.1, μ 0.9, g = 1: v = 1, 1.9, 2.71; w -= 0.1 (1 + 0.9 v):
    // -0.19, -0.19 - 0.271 = -0.461, -0.461 - 0.3439 = -0.8049.
    let ws = run_scalar(&mut torch(0.1, 0.9).nesterov(true), 0.0, &[1.0; 3]);
    assert_seq(&ws, &[-0.19, -0.461, -0.8049]);
}

#[test]
fn pytorch_form_survives_its_config() {
    let sgd = torch(0.1, 0.9).decay(1.0);
    let config = sgd.config().unwrap();
    assert!(matches!(
        config,
        OptimizerConfig::Sgd(SgdConfig {
            momentum_form: MomentumForm::PyTorch,
            ..
        })
    ));
    let mut rebuilt = config.build().unwrap();
    assert_eq!(rebuilt.config(), Some(config));
    // Still the PyTorch steps of the decaying-rate test.
    let ws = run_scalar(rebuilt.as_mut(), 0.0, &[1.0; 3]);
    assert_seq(&ws, &[-0.1, -0.195, -0.285_333_333]);
}

#[cfg(feature = "serde")]
#[test]
fn a_model_with_pytorch_sgd_saves_and_loads_with_its_form() {
    let mut model = Sequential::new(2).with_seed(1);
    model.add(Dense::new(1)).unwrap();
    model.compile(MeanSquaredError, torch(0.1, 0.9)).unwrap();
    let bytes = model.to_bytes(true).unwrap();
    let loaded = Sequential::from_bytes(&bytes).unwrap();
    assert_eq!(
        loaded.optimizer().unwrap().config(),
        Some(OptimizerConfig::Sgd(SgdConfig {
            rate: LearningRate {
                learning_rate: 0.1,
                decay: 0.0
            },
            momentum: 0.9,
            nesterov: false,
            momentum_form: MomentumForm::PyTorch,
        }))
    );
}

#[test]
fn set_momentum_checks_its_range_and_adam_has_none() {
    let mut sgd = Sgd::new(0.1);
    sgd.set_momentum(0.5).unwrap();
    assert_eq!(Optimizer::momentum(&sgd), Some(0.5));
    assert!(sgd.set_momentum(1.0).is_err());
    assert!(sgd.set_momentum(f32::NAN).is_err());
    assert_eq!(Optimizer::momentum(&sgd), Some(0.5));
    let mut adam = Adam::new(0.001);
    assert_eq!(adam.momentum(), None);
    assert!(matches!(
        adam.set_momentum(0.5),
        Err(ndnet::Error::InvalidState(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// Schedules
// ---------------------------------------------------------------------------------------------

#[test]
fn polynomial_decay_ramps_linearly_then_holds() {
    // The paper's momentum: 0.5 -> 0.99 over 100,000 updates.
    let ramp = PolynomialDecay::new(0.5, 100_000, 0.99);
    for (t, expected) in [
        (0u64, 0.5f32),
        (25_000, 0.6225),
        (50_000, 0.745),
        (100_000, 0.99),
        (1_000_000, 0.99),
    ] {
        assert!((ramp.rate(t) - expected).abs() < 1e-6, "t = {t}");
    }
    // power 2 downwards: (1 - 0) (1 - 5/10)^2 + 0 = 0.25.
    assert_eq!(PolynomialDecay::new(1.0, 10, 0.0).power(2.0).rate(5), 0.25);
    assert!(PolynomialDecay::new(1.0, 0, 0.0).validate().is_err());
    assert!(PolynomialDecay::new(-1.0, 10, 0.0).validate().is_err());
    assert!(
        PolynomialDecay::new(1.0, 10, 0.0)
            .power(0.0)
            .validate()
            .is_err()
    );
}

/// Records, before every batch and epoch, the optimizer's momentum and the first dropout layer's
/// rate (it runs after the schedulers, which come first in the callback list).
#[derive(Default)]
struct Recorder {
    momentum: Vec<f32>,
    rates: Vec<f32>,
}

fn dropout_rate(model: &Sequential) -> f32 {
    model
        .layers()
        .iter()
        .find_map(|l| match l.config() {
            LayerConfig::Dropout { rate } => Some(rate),
            _ => None,
        })
        .unwrap_or(f32::NAN)
}

impl Callback for Recorder {
    fn on_epoch_begin(&mut self, _: usize, model: &mut Sequential) -> ndnet::Result<()> {
        self.rates.push(dropout_rate(model));
        Ok(())
    }
    fn on_train_batch_begin(&mut self, model: &mut Sequential) -> ndnet::Result<()> {
        self.momentum
            .push(model.optimizer().and_then(|o| o.momentum()).unwrap());
        Ok(())
    }
}

fn small_model(dropout: bool, optimizer: impl Optimizer + 'static) -> Sequential {
    let mut m = Sequential::new(2).with_seed(3);
    if dropout {
        m.add(Dropout::new(0.5)).unwrap();
    }
    m.add(Dense::new(2).activation(Activation::Softmax))
        .unwrap();
    m.compile(CategoricalCrossentropy, optimizer).unwrap();
    m
}

fn data() -> (Array2<f32>, Array2<f32>) {
    (
        array![[0.0f32, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]],
        array![[1.0f32, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]],
    )
}

#[test]
fn momentum_scheduler_sets_the_momentum_before_every_batch_from_the_update_count() {
    let (x, y) = data();
    let mut model = small_model(false, Sgd::new(0.1));
    // 0 -> 0.6 over 3 updates: 0, 0.2, 0.4, 0.6, 0.6, 0.6 for t = 0..5.
    let mut ramp = MomentumScheduler::per_step(PolynomialDecay::new(0.0, 3, 0.6));
    let mut rec = Recorder::default();
    let options = FitOptions {
        epochs: 3,
        batch_size: 2,
        ..Default::default()
    };
    model
        .fit_with_callbacks(&x, &y, &options, &mut [&mut ramp, &mut rec])
        .unwrap();
    assert_seq(&rec.momentum, &[0.0, 0.2, 0.4, 0.6, 0.6, 0.6]);
}

#[test]
fn momentum_scheduler_per_epoch_uses_the_epoch() {
    let (x, y) = data();
    let mut model = small_model(false, Sgd::new(0.1));
    let mut ramp = MomentumScheduler::per_epoch(PolynomialDecay::new(0.0, 2, 0.8));
    let mut rec = Recorder::default();
    let options = FitOptions {
        epochs: 3,
        batch_size: 2,
        ..Default::default()
    };
    model
        .fit_with_callbacks(&x, &y, &options, &mut [&mut ramp, &mut rec])
        .unwrap();
    assert_seq(&rec.momentum, &[0.0, 0.0, 0.4, 0.4, 0.8, 0.8]);
}

#[test]
fn momentum_scheduler_errors_for_adam_and_out_of_range_values() {
    let (x, y) = data();
    let options = FitOptions::default();
    let mut model = small_model(false, Adam::new(0.01));
    let mut ramp = MomentumScheduler::per_step(PolynomialDecay::new(0.0, 3, 0.6));
    assert!(
        model
            .fit_with_callbacks(&x, &y, &options, &mut [&mut ramp])
            .is_err()
    );
    let mut model = small_model(false, Sgd::new(0.1));
    let mut too_big = MomentumScheduler::per_step(PolynomialDecay::new(1.5, 3, 0.6));
    let e = model
        .fit_with_callbacks(&x, &y, &options, &mut [&mut too_big])
        .unwrap_err();
    assert!(e.to_string().contains("momentum"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Dropout rate changes
// ---------------------------------------------------------------------------------------------

#[test]
fn set_rate_changes_the_mask_and_its_scale() {
    let mut model = Sequential::new(1000).with_seed(5);
    model.add(Dropout::new(0.5)).unwrap();
    let x = Array2::<f32>::ones((4, 1000));
    // Rate 0: training forward is the identity.
    let positions = model.layers_mut();
    assert!(positions[0].set_dropout_rate(0.0).unwrap());
    assert_eq!(model.forward(&x, Mode::Train).unwrap(), x.view());
    // Rate 0.75: every output is 0 or 1 / 0.25 = 4, about a quarter kept.
    model.layers_mut()[0].set_dropout_rate(0.75).unwrap();
    let out = model.forward(&x, Mode::Train).unwrap().to_owned();
    assert!(out.iter().all(|&v| v == 0.0 || v == 4.0));
    let kept = out.iter().filter(|&&v| v == 4.0).count();
    // 4000 draws, p = 0.25: mean 1000, sd ~27; ±150 is more than 5 sd.
    assert!((850..=1150).contains(&kept), "{kept}");
    // A bad rate is refused and leaves the layer as it was.
    let mut d = Dropout::new(0.3);
    assert!(d.set_rate(1.0).is_err());
    assert!(d.set_rate(-0.1).is_err());
    assert_eq!(d.rate(), 0.3);
    // Other layers ignore the call.
    let mut dense = Dense::new(3);
    assert!(!dense.set_dropout_rate(0.5).unwrap());
}

#[test]
fn dropout_scheduler_sets_every_dropout_layer_per_epoch() {
    let (x, y) = data();
    let mut model = small_model(true, Sgd::new(0.1));
    // 0.5 -> 0 over 2 epochs: 0.5, 0.25, 0, 0.
    let mut anneal = DropoutScheduler::per_epoch(PolynomialDecay::new(0.5, 2, 0.0));
    let mut rec = Recorder::default();
    let options = FitOptions {
        epochs: 4,
        batch_size: 2,
        ..Default::default()
    };
    model
        .fit_with_callbacks(&x, &y, &options, &mut [&mut anneal, &mut rec])
        .unwrap();
    assert_seq(&rec.rates, &[0.5, 0.25, 0.0, 0.0]);
    assert_eq!(dropout_rate(&model), 0.0);
}

#[test]
fn dropout_scheduler_refuses_models_and_positions_without_dropout() {
    let (x, y) = data();
    let options = FitOptions::default();
    let mut model = small_model(false, Sgd::new(0.1));
    let mut anneal = DropoutScheduler::per_epoch(PolynomialDecay::new(0.5, 2, 0.0));
    assert!(
        model
            .fit_with_callbacks(&x, &y, &options, &mut [&mut anneal])
            .is_err()
    );
    let mut model = small_model(true, Sgd::new(0.1));
    // Position 1 is the Dense layer.
    let mut wrong = DropoutScheduler::per_epoch(PolynomialDecay::new(0.5, 2, 0.0)).layers(&[1]);
    let e = model
        .fit_with_callbacks(&x, &y, &options, &mut [&mut wrong])
        .unwrap_err();
    assert!(e.to_string().contains("layers"), "{e}");
    let mut right = DropoutScheduler::per_step(PolynomialDecay::new(0.5, 2, 0.1)).layers(&[0]);
    model
        .fit_with_callbacks(&x, &y, &options, &mut [&mut right])
        .unwrap();
    // 4 rows, batch 32: one update; the rate was set before it from t = 0.
    assert_eq!(dropout_rate(&model), 0.5);
}
