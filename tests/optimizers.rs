//! Optimizer updates against Keras's formulas, computed by hand over three steps, plus
//! validation, the iteration counter and `reset`.
//!
//! Every test drives the optimizer directly: `update(slot, lr_t, t, param, grad)` for each
//! tensor with the step's rate and count, then `finish_step()` once per batch (which is what a
//! model does).

use ndarray::{Array2, ArrayView2, ArrayViewMut2, array};
use ndnet::optimizers::{
    Adam, AdamConfig, LearningRate, Optimizer, OptimizerConfig, RmsProp, RmsPropConfig, Sgd,
    SgdConfig,
};
use ndnet::prelude::*;

/// Updates tensor `slot` at the optimizer's current step, as the model does: `lr_t` and `t` are
/// the optimizer's current learning rate and update count.
fn update(opt: &mut dyn Optimizer, slot: usize, w: ArrayViewMut2<f32>, g: ArrayView2<f32>) {
    let (lr_t, t) = (opt.current_learning_rate(), opt.iterations());
    opt.update(slot, lr_t, t, w, g);
}

/// Applies `grads[k]` as step `k` to a single tensor starting at `w0`, returning the weights
/// after each step.
fn run(opt: &mut dyn Optimizer, w0: Array2<f32>, grads: &[Array2<f32>]) -> Vec<Array2<f32>> {
    let mut w = w0;
    let mut out = Vec::new();
    for g in grads {
        update(opt, 0, w.view_mut(), g.view());
        opt.finish_step();
        out.push(w.clone());
    }
    out
}

/// Same gradient every step, one scalar weight.
fn run_scalar(opt: &mut dyn Optimizer, w0: f32, grads: &[f32]) -> Vec<f32> {
    let grads: Vec<Array2<f32>> = grads.iter().map(|&g| array![[g]]).collect();
    run(opt, array![[w0]], &grads)
        .iter()
        .map(|w| w[[0, 0]])
        .collect()
}

fn assert_seq(actual: &[f32], expected: &[f64], tol: f64) {
    assert_eq!(actual.len(), expected.len());
    for (a, e) in actual.iter().zip(expected) {
        assert!(
            (*a as f64 - e).abs() <= tol,
            "{actual:?} vs {expected:?} (tol {tol:e})"
        );
    }
}

fn invalid(opt: &dyn Optimizer) -> String {
    opt.validate().expect_err("must be rejected").to_string()
}

// f32 arithmetic on numbers of size ~1 loses a few 6e-8 per step: 1e-6 over three steps.
const TOL: f64 = 1e-6;

// ---------------------------------------------------------------------------------------------
// SGD
// ---------------------------------------------------------------------------------------------

#[test]
fn sgd_plain_subtracts_lr_times_gradient_each_step() {
    // lr 0.1, g = (1, -2), w0 = (1, 1): each step moves by (-0.1, +0.2).
    // w1 = (0.9, 1.2), w2 = (0.8, 1.4), w3 = (0.7, 1.6).
    let mut sgd = Sgd::new(0.1);
    let g = array![[1.0f32, -2.0]];
    let ws = run(&mut sgd, array![[1.0f32, 1.0]], &[g.clone(), g.clone(), g]);
    let flat: Vec<f32> = ws.iter().flat_map(|w| w.iter().copied()).collect();
    assert_seq(&flat, &[0.9, 1.2, 0.8, 1.4, 0.7, 1.6], TOL);
}

#[test]
fn sgd_momentum_accumulates_a_velocity_that_holds_the_learning_rate() {
    // lr 0.1, momentum 0.9, g = 1, w0 = 1:
    // v1 = -0.1·1 = -0.1,                w1 = 1 - 0.1 = 0.9
    // v2 = 0.9·(-0.1) - 0.1 = -0.19,     w2 = 0.9 - 0.19 = 0.71
    // v3 = 0.9·(-0.19) - 0.1 = -0.271,   w3 = 0.71 - 0.271 = 0.439
    let mut sgd = Sgd::new(0.1).momentum(0.9);
    assert_seq(
        &run_scalar(&mut sgd, 1.0, &[1.0, 1.0, 1.0]),
        &[0.9, 0.71, 0.439],
        TOL,
    );
}

#[test]
fn sgd_nesterov_looks_ahead_along_the_velocity() {
    // lr 0.1, momentum 0.9, nesterov, g = 1, w0 = 1: w += 0.9·v - 0.1·g after updating v.
    // v1 = -0.1,   w1 = 1 + 0.9·(-0.1) - 0.1 = 0.81
    // v2 = -0.19,  w2 = 0.81 + 0.9·(-0.19) - 0.1 = 0.81 - 0.271 = 0.539
    // v3 = -0.271, w3 = 0.539 + 0.9·(-0.271) - 0.1 = 0.539 - 0.3439 = 0.1951
    let mut sgd = Sgd::new(0.1).momentum(0.9).nesterov(true);
    assert_seq(
        &run_scalar(&mut sgd, 1.0, &[1.0, 1.0, 1.0]),
        &[0.81, 0.539, 0.1951],
        TOL,
    );
}

#[test]
fn sgd_decay_divides_the_rate_by_one_plus_decay_times_updates_done() {
    // lr 0.1, decay 0.5, g = 1, w0 = 1. lr_t = 0.1 / (1 + 0.5 t) with t = 0 first:
    // lr_0 = 0.1, lr_1 = 0.1/1.5 = 0.0666667, lr_2 = 0.1/2 = 0.05.
    // w1 = 0.9, w2 = 0.9 - 0.0666667 = 0.8333333, w3 = 0.8333333 - 0.05 = 0.7833333.
    let mut sgd = Sgd::new(0.1).decay(0.5);
    assert_seq(
        &run_scalar(&mut sgd, 1.0, &[1.0, 1.0, 1.0]),
        &[0.9, 0.833_333_3, 0.783_333_3],
        TOL,
    );
}

#[test]
fn sgd_decay_with_momentum_uses_the_keras_velocity_not_the_pytorch_one() {
    // lr 0.1, decay 1, momentum 0.5, g = 1, w0 = 0. lr_t = 0.1, 0.05, 0.0333333.
    // Keras: v = 0.5 v - lr_t g; w += v.
    //   v1 = -0.1,                         w1 = -0.1
    //   v2 = 0.5·(-0.1) - 0.05 = -0.1,     w2 = -0.2
    //   v3 = 0.5·(-0.1) - 0.0333333 = -0.0833333, w3 = -0.2833333
    // (PyTorch's v = 0.5 v + g; w -= lr_t v would give w2 = -0.1 - 0.05·1.5 = -0.175.)
    let mut sgd = Sgd::new(0.1).momentum(0.5).decay(1.0);
    assert_seq(
        &run_scalar(&mut sgd, 0.0, &[1.0, 1.0, 1.0]),
        &[-0.1, -0.2, -0.283_333_3],
        TOL,
    );
}

#[test]
fn sgd_nesterov_with_decay_by_hand() {
    // lr 0.1, decay 1, momentum 0.5, nesterov, g = 1, w0 = 0. lr_t = 0.1, 0.05, 0.0333333.
    //   v1 = -0.1;       w1 = 0 + 0.5·(-0.1) - 0.1 = -0.15
    //   v2 = -0.05 - 0.05 = -0.1;          w2 = -0.15 + 0.5·(-0.1) - 0.05 = -0.25
    //   v3 = -0.05 - 0.0333333 = -0.0833333; w3 = -0.25 - 0.0416667 - 0.0333333 = -0.325
    let mut sgd = Sgd::new(0.1).momentum(0.5).decay(1.0).nesterov(true);
    assert_seq(
        &run_scalar(&mut sgd, 0.0, &[1.0, 1.0, 1.0]),
        &[-0.15, -0.25, -0.325],
        TOL,
    );
}

#[test]
fn sgd_momentum_with_changing_gradients_by_hand() {
    // lr 0.1, momentum 0.9, g = 1, -2, 0.5, w0 = 0:
    // v1 = -0.1,                       w1 = -0.1
    // v2 = -0.09 + 0.2 = 0.11,         w2 = 0.01
    // v3 = 0.099 - 0.05 = 0.049,       w3 = 0.059
    let mut sgd = Sgd::new(0.1).momentum(0.9);
    assert_seq(
        &run_scalar(&mut sgd, 0.0, &[1.0, -2.0, 0.5]),
        &[-0.1, 0.01, 0.059],
        TOL,
    );
}

#[test]
fn sgd_keeps_a_separate_velocity_per_slot() {
    // Two tensors per step, lr 0.1, momentum 0.9. Slot 0 gets g = 1, slot 1 gets g = -1:
    // slot 0 as in the momentum test: 0.9, 0.71, 0.439 from 1; slot 1 mirrored: 1.1, 1.29, 1.561.
    let mut sgd = Sgd::new(0.1).momentum(0.9);
    let (mut a, mut b) = (array![[1.0f32]], array![[1.0f32, 1.0]]);
    let (ga, gb) = (array![[1.0f32]], array![[-1.0f32, -1.0]]);
    let (mut sa, mut sb) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        update(&mut sgd, 0, a.view_mut(), ga.view());
        update(&mut sgd, 1, b.view_mut(), gb.view());
        sgd.finish_step();
        sa.push(a[[0, 0]]);
        sb.push(b[[0, 1]]);
    }
    assert_seq(&sa, &[0.9, 0.71, 0.439], TOL);
    assert_seq(&sb, &[1.1, 1.29, 1.561], TOL);
}

#[test]
fn sgd_decay_counts_batches_not_tensors() {
    // lr 0.1, decay 1, two tensors per batch, g = 1. Both tensors use lr 0.1 in batch 1 and
    // 0.05 in batch 2: each goes 0 -> -0.1 -> -0.15.
    let mut sgd = Sgd::new(0.1).decay(1.0);
    let (mut a, mut b) = (array![[0.0f32]], array![[0.0f32]]);
    let g = array![[1.0f32]];
    for _ in 0..2 {
        update(&mut sgd, 0, a.view_mut(), g.view());
        update(&mut sgd, 1, b.view_mut(), g.view());
        sgd.finish_step();
    }
    assert!((a[[0, 0]] + 0.15).abs() < 1e-7 && (b[[0, 0]] + 0.15).abs() < 1e-7);
}

#[test]
fn sgd_current_learning_rate_follows_the_decay() {
    // lr 0.1, decay 0.5: 0.1, then 0.1 / 1.5 = 0.0666667, then 0.1 / 2 = 0.05.
    let mut sgd = Sgd::new(0.1).decay(0.5);
    let mut rates = Vec::new();
    for _ in 0..3 {
        rates.push(sgd.current_learning_rate());
        sgd.finish_step();
    }
    assert_seq(&rates, &[0.1, 0.066_666_67, 0.05], 1e-8);
}

#[test]
fn learning_rate_at_divides_by_one_plus_decay_times_updates_done() {
    // lr 0.1, decay 0.5: t = 0, 1, 2, 4 -> 0.1, 0.1/1.5 = 0.0666667, 0.1/2 = 0.05, 0.1/3.
    let rate = LearningRate {
        learning_rate: 0.1,
        decay: 0.5,
    };
    let rates: Vec<f32> = [0, 1, 2, 4].iter().map(|&t| rate.at(t)).collect();
    assert_seq(&rates, &[0.1, 0.066_666_67, 0.05, 0.033_333_33], 1e-8);
    // Without decay the rate is the base rate at every step.
    assert_eq!(LearningRate::new(0.3).at(1_000_000), 0.3);
    assert!(rate.validate("SGD").is_ok());
    let bad = LearningRate {
        learning_rate: 0.1,
        decay: -1.0,
    };
    assert!(
        bad.validate("SGD")
            .unwrap_err()
            .to_string()
            .contains("decay")
    );
}

#[test]
fn a_model_step_uses_the_decayed_rate_of_its_update_count() {
    // Dense(1), no activation, w = b = 0, x = 1, y = 1, MSE: dL/dw = dL/db = 2 (w + b - 1).
    // SGD lr 0.1, decay 1: step 1 at lr 0.1, gradient -2: w = b = 0.2;
    // step 2 at lr 0.1 / 2 = 0.05, gradient 2 (0.4 - 1) = -1.2: w = b = 0.2 + 0.06 = 0.26.
    let mut model = Sequential::new(1).with_seed(0);
    model
        .add(Dense::new(1).kernel_initializer(Initializer::Zeros))
        .unwrap();
    model
        .compile(MeanSquaredError, Sgd::new(0.1).decay(1.0))
        .unwrap();
    let (x, y) = (array![[1.0f32]], array![[1.0f32]]);
    model.train_on_batch(&x, &y).unwrap();
    assert_eq!(model.optimizer().unwrap().current_learning_rate(), 0.05);
    model.train_on_batch(&x, &y).unwrap();
    let w: Vec<f32> = model.get_weights().iter().flatten().copied().collect();
    assert_seq(&w, &[0.26, 0.26], TOL);
}

#[test]
fn configs_default_to_the_keras_defaults_and_build_the_same_optimizer() {
    let sgd = SgdConfig::default();
    assert_eq!(
        (
            sgd.rate.learning_rate,
            sgd.momentum,
            sgd.nesterov,
            sgd.rate.decay
        ),
        (0.01, 0.0, false, 0.0)
    );
    let adam = AdamConfig::default();
    assert_eq!(
        (
            adam.rate.learning_rate,
            adam.beta_1,
            adam.beta_2,
            adam.epsilon
        ),
        (0.001, 0.9, 0.999, 1e-7)
    );
    let rms = RmsPropConfig::default();
    assert_eq!(
        (rms.rate.learning_rate, rms.rho, rms.momentum, rms.epsilon),
        (0.001, 0.9, 0.0, 1e-7)
    );
    // A struct literal and the builders give the same config.
    let literal = OptimizerConfig::Sgd(SgdConfig {
        rate: LearningRate {
            learning_rate: 0.1,
            decay: 1e-4,
        },
        momentum: 0.9,
        nesterov: true,
        ..SgdConfig::default()
    });
    let built = Sgd::new(0.1).momentum(0.9).nesterov(true).decay(1e-4);
    assert_eq!(built.config(), Some(literal.clone()));
    assert_eq!(literal.build().unwrap().config(), Some(literal));
}

#[test]
fn sgd_defaults_are_keras_defaults() {
    let sgd = Sgd::default();
    assert_eq!(
        (
            sgd.config.rate.learning_rate,
            sgd.config.momentum,
            sgd.config.nesterov,
            sgd.config.rate.decay
        ),
        (0.01, 0.0, false, 0.0)
    );
}

// ---------------------------------------------------------------------------------------------
// Adam
// ---------------------------------------------------------------------------------------------
//
// lr_t = lr / (1 + decay t) · sqrt(1 - β₂^(t+1)) / (1 - β₁^(t+1)); m = β₁m + (1-β₁)g;
// v = β₂v + (1-β₂)g²; w -= lr_t · m / (sqrt(v) + ε). β₁ = 0.9, β₂ = 0.999, ε = 1e-7.
// Tolerance: 0.999 in f32 is 0.99900001287, which shifts 1 - β₂ by 1.3e-5 relative; through
// sqrt that is ≤ 1e-5 of a step of at most 0.1: 2e-6.

const ADAM_TOL: f64 = 2e-6;

#[test]
fn adam_three_steps_by_hand() {
    // lr 0.1, g = 1, -2, 0.5, w0 = 0.
    // t=1: m = 0.1; v = 0.001; lr_t = 0.1·sqrt(0.001)/0.1 = 0.031622777;
    //      step = 0.031622777·0.1/(0.031622777 + 1e-7) = 0.099999684; w1 = -0.099999684
    // t=2: m = 0.09 - 0.2 = -0.11; v = 0.000999 + 0.004 = 0.004999;
    //      lr_t = 0.1·sqrt(1 - 0.998001)/(1 - 0.81) = 0.1·0.044710178/0.19 = 0.023531672;
    //      step = 0.023531672·(-0.11)/(0.070703607 + 1e-7) = -0.036610301; w2 = -0.063389383
    // t=3: m = -0.099 + 0.05 = -0.049; v = 0.004994001 + 0.00025 = 0.005244001;
    //      lr_t = 0.1·sqrt(1 - 0.997002999)/(1 - 0.729) = 0.1·0.054744873/0.271 = 0.020201060;
    //      step = 0.020201060·(-0.049)/(0.072415475 + 1e-7) = -0.013669047; w3 = -0.049720335
    let mut adam = Adam::new(0.1);
    assert_seq(
        &run_scalar(&mut adam, 0.0, &[1.0, -2.0, 0.5]),
        &[-0.099_999_684, -0.063_389_383, -0.049_720_335],
        ADAM_TOL,
    );
}

#[test]
fn adam_decay_scales_the_bias_corrected_rate() {
    // As above with decay 0.5: the corrected rates are divided by 1, 1.5, 2:
    // t=1 unchanged: w1 = -0.099999684
    // t=2: lr_t = 0.023531672/1.5 = 0.015687782; step = -0.036610301/1.5 = -0.024406867;
    //      w2 = -0.075592816
    // t=3: lr_t = 0.020201060/2 = 0.010100530; step = -0.013669047/2 = -0.006834524;
    //      w3 = -0.068758293
    let mut adam = Adam::new(0.1).decay(0.5);
    assert_seq(
        &run_scalar(&mut adam, 0.0, &[1.0, -2.0, 0.5]),
        &[-0.099_999_684, -0.075_592_816, -0.068_758_293],
        ADAM_TOL,
    );
}

#[test]
fn adam_defaults_are_keras_defaults() {
    let adam = Adam::default();
    assert_eq!(
        (
            adam.config.rate.learning_rate,
            adam.config.beta_1,
            adam.config.beta_2,
            adam.config.epsilon,
            adam.config.rate.decay
        ),
        (0.001, 0.9, 0.999, 1e-7, 0.0)
    );
}

// ---------------------------------------------------------------------------------------------
// RMSprop
// ---------------------------------------------------------------------------------------------

#[test]
fn rmsprop_without_momentum_three_steps_by_hand() {
    // lr 0.01, ρ 0.9, ε 1e-7, g = 1, -2, 0.5, w0 = 0. s = 0.9 s + 0.1 g²;
    // w -= lr g / (sqrt(s) + ε).
    // t=1: s = 0.1;               step = 0.01/(0.316227766 + 1e-7) = 0.031622767; w1 = -0.031622767
    // t=2: s = 0.09 + 0.4 = 0.49; step = -0.02/(0.7 + 1e-7) = -0.028571424;      w2 = -0.003051342
    // t=3: s = 0.441 + 0.025 = 0.466; step = 0.005/(0.682641927 + 1e-7) = 0.007324483;
    //      w3 = -0.010375825
    let mut rms = RmsProp::new(0.01);
    assert_seq(
        &run_scalar(&mut rms, 0.0, &[1.0, -2.0, 0.5]),
        &[-0.031_622_767, -0.003_051_342, -0.010_375_825],
        TOL,
    );
}

#[test]
fn rmsprop_with_momentum_three_steps_by_hand() {
    // lr 0.01, ρ 0.9, μ 0.5, g = 1, -2, 0.5, w0 = 0. u = μu + lr g / sqrt(s + ε); w -= u.
    // t=1: s = 0.1;   u = 0.01/sqrt(0.1000001) = 0.031622761;              w1 = -0.031622761
    // t=2: s = 0.49;  u = 0.015811381 - 0.02/sqrt(0.4900001) = 0.015811381 - 0.028571426
    //                   = -0.012760045;                                    w2 = -0.018862716
    // t=3: s = 0.466; u = -0.006380022 + 0.005/sqrt(0.4660001) = -0.006380022 + 0.007324483
    //                   = 0.000944461;                                     w3 = -0.019807176
    let mut rms = RmsProp::new(0.01).momentum(0.5);
    assert_seq(
        &run_scalar(&mut rms, 0.0, &[1.0, -2.0, 0.5]),
        &[-0.031_622_761, -0.018_862_716, -0.019_807_176],
        TOL,
    );
}

#[test]
fn rmsprop_defaults_are_keras_defaults() {
    let rms = RmsProp::default();
    assert_eq!(
        (
            rms.config.rate.learning_rate,
            rms.config.rho,
            rms.config.momentum,
            rms.config.epsilon,
            rms.config.rate.decay
        ),
        (0.001, 0.9, 0.0, 1e-7, 0.0)
    );
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

#[test]
fn sgd_rejects_a_negative_learning_rate() {
    let msg = invalid(&Sgd::new(-0.1));
    assert!(
        msg.contains("SGD") && msg.contains("learning_rate") && msg.contains("-0.1"),
        "{msg}"
    );
}

#[test]
fn sgd_rejects_a_zero_learning_rate() {
    assert!(invalid(&Sgd::new(0.0)).contains("learning_rate"));
}

#[test]
fn sgd_rejects_a_nan_learning_rate() {
    let msg = invalid(&Sgd::new(f32::NAN));
    assert!(
        msg.contains("learning_rate") && msg.contains("NaN"),
        "{msg}"
    );
}

#[test]
fn sgd_rejects_momentum_one() {
    let msg = invalid(&Sgd::new(0.1).momentum(1.0));
    assert!(msg.contains("momentum") && msg.contains("[0, 1)"), "{msg}");
}

#[test]
fn sgd_rejects_negative_and_nan_momentum() {
    assert!(invalid(&Sgd::new(0.1).momentum(-0.5)).contains("momentum"));
    assert!(invalid(&Sgd::new(0.1).momentum(f32::NAN)).contains("momentum"));
}

#[test]
fn sgd_rejects_negative_decay() {
    assert!(invalid(&Sgd::new(0.1).decay(-1e-3)).contains("decay"));
}

#[test]
fn adam_rejects_betas_of_one_and_a_zero_epsilon() {
    let msg = invalid(&Adam::new(0.001).betas(1.0, 0.999));
    assert!(msg.contains("Adam") && msg.contains("beta_1"), "{msg}");
    assert!(invalid(&Adam::new(0.001).betas(0.9, 1.0)).contains("beta_2"));
    assert!(invalid(&Adam::new(0.001).epsilon(0.0)).contains("epsilon"));
    assert!(invalid(&Adam::new(f32::NAN)).contains("learning_rate"));
}

#[test]
fn rmsprop_rejects_rho_one_and_negative_momentum() {
    let msg = invalid(&RmsProp::new(0.001).rho(1.0));
    assert!(msg.contains("RMSprop") && msg.contains("rho"), "{msg}");
    assert!(invalid(&RmsProp::new(0.001).momentum(-0.1)).contains("momentum"));
    assert!(invalid(&RmsProp::new(-1.0)).contains("learning_rate"));
}

#[test]
fn valid_settings_pass_validation() {
    assert!(
        Sgd::new(0.1)
            .momentum(0.9)
            .nesterov(true)
            .decay(1e-4)
            .validate()
            .is_ok()
    );
    assert!(Adam::new(0.001).decay(1e-3).validate().is_ok());
    assert!(RmsProp::new(0.001).momentum(0.9).validate().is_ok());
}

#[test]
fn compile_rejects_an_invalid_optimizer_and_stays_uncompiled() {
    let mut model = Sequential::new(2).with_seed(0);
    model.add(Dense::new(1)).unwrap();
    let err = model
        .compile(MeanSquaredError, Sgd::new(0.1).momentum(1.0))
        .unwrap_err();
    assert!(err.to_string().contains("momentum"), "{err}");
    assert!(!model.is_compiled());
}

// ---------------------------------------------------------------------------------------------
// Iterations and reset
// ---------------------------------------------------------------------------------------------

#[test]
fn iterations_count_finish_step_calls_not_updates() {
    let mut sgd = Sgd::new(0.1).momentum(0.9);
    let mut w = array![[0.0f32]];
    let g = array![[1.0f32]];
    assert_eq!(sgd.iterations(), 0);
    update(&mut sgd, 0, w.view_mut(), g.view());
    update(&mut sgd, 1, w.view_mut(), g.view());
    assert_eq!(sgd.iterations(), 0);
    sgd.finish_step();
    assert_eq!(sgd.iterations(), 1);
    sgd.finish_step();
    assert_eq!(sgd.iterations(), 2);
}

#[test]
fn reset_forgets_the_velocity_and_the_iteration_count() {
    // After two momentum steps and a reset, the next step is a first step again:
    // from w = 0 with lr 0.1, g = 1: v = -0.1 (not 0.9·(-0.19) - 0.1), so w moves by -0.1.
    let mut sgd = Sgd::new(0.1).momentum(0.9).decay(0.5);
    run_scalar(&mut sgd, 0.0, &[1.0, 1.0]);
    sgd.reset();
    assert_eq!(sgd.iterations(), 0);
    assert_seq(&run_scalar(&mut sgd, 0.0, &[1.0]), &[-0.1], TOL);
}

#[test]
fn adam_reset_forgets_the_moments() {
    // After reset the first step is again w1 = -0.099999684 (lr 0.1, g = 1).
    let mut adam = Adam::new(0.1);
    run_scalar(&mut adam, 0.0, &[1.0, -2.0, 0.5]);
    adam.reset();
    assert_eq!(adam.iterations(), 0);
    assert_seq(
        &run_scalar(&mut adam, 0.0, &[1.0]),
        &[-0.099_999_684],
        ADAM_TOL,
    );
}

#[test]
fn rmsprop_reset_forgets_the_running_mean_and_momentum() {
    let mut rms = RmsProp::new(0.01).momentum(0.5);
    run_scalar(&mut rms, 0.0, &[1.0, -2.0, 0.5]);
    rms.reset();
    assert_eq!(rms.iterations(), 0);
    assert_seq(&run_scalar(&mut rms, 0.0, &[1.0]), &[-0.031_622_761], TOL);
}

#[test]
fn set_learning_rate_changes_the_next_step() {
    // lr 0.1 then 0.5, plain SGD, g = 1, w0 = 0: -0.1, then -0.6.
    let mut sgd = Sgd::new(0.1);
    let mut w = array![[0.0f32]];
    let g = array![[1.0f32]];
    update(&mut sgd, 0, w.view_mut(), g.view());
    sgd.finish_step();
    sgd.set_learning_rate(0.5).unwrap();
    assert_eq!(sgd.learning_rate(), 0.5);
    update(&mut sgd, 0, w.view_mut(), g.view());
    assert!((w[[0, 0]] + 0.6).abs() < 1e-7);
}

#[test]
fn a_model_step_advances_the_optimizer_once_per_batch() {
    // Two Dense layers = four tensors, but one iteration per train_on_batch.
    let mut model = Sequential::new(2).with_seed(0);
    model.add(Dense::new(3)).unwrap();
    model.add(Dense::new(1)).unwrap();
    model.compile(MeanSquaredError, Sgd::new(0.01)).unwrap();
    let (x, y) = (array![[1.0f32, 2.0]], array![[0.5f32]]);
    model.train_on_batch(&x, &y).unwrap();
    model.train_on_batch(&x, &y).unwrap();
    assert_eq!(model.optimizer_mut().unwrap().iterations(), 2);
}

#[test]
fn compiling_again_resets_the_optimizer() {
    let mut model = Sequential::new(2).with_seed(0);
    model.add(Dense::new(1)).unwrap();
    model.compile(MeanSquaredError, Sgd::new(0.01)).unwrap();
    model
        .train_on_batch(&array![[1.0f32, 2.0]], &array![[0.5f32]])
        .unwrap();
    let opt = model.optimizer_mut().unwrap().clone_box();
    assert_eq!(opt.iterations(), 1);
    model
        .compile_boxed(Box::new(MeanSquaredError), opt)
        .unwrap();
    assert_eq!(model.optimizer_mut().unwrap().iterations(), 0);
}
