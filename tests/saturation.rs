//! A sigmoid output that saturates to exactly 0.0 or 1.0 in f32 must give a finite binary
//! cross-entropy and finite gradients (Keras clips `p` to `[1e-7, 1 - 1e-7]` and the gradient
//! through the clip is zero).
//!
//! Numbers used below, worked out by hand:
//! - `sigmoid(100) = 1 / (1 + e^-100)`: `e^-100 ≈ 3.7e-44` is lost next to 1, so exactly 1.0.
//!   `sigmoid(-100) = 1 / (1 + e^100)`: `e^100 ≈ 2.7e43` overflows f32 to infinity, so exactly 0.
//! - The clip bounds in f32: `1e-7` is `1.0000000116860974e-7`; `1 - 1e-7` rounds to
//!   `1 - 2^-23 = 0.99999988079`.
//! - `p = 1, y = 0`: `-ln(1 - (1 - 2^-23)) = 23 ln 2 = 15.942385`.
//! - `p = 0, y = 1`: `-ln(1.0000000116860974e-7) = 16.118096`.
//! - `p = 1, y = 1`: `-ln(1 - 2^-23) = 1.1920930e-7`; `p = 0, y = 0`: `-ln(1 - 1e-7) = 1.0e-7`.

use ndarray::{Array2, array};
use ndnet::activation::sigmoid;
use ndnet::prelude::*;

const LOSS_P1_Y0: f64 = 15.942_385_152_878_742; // 23 ln 2
const LOSS_P0_Y1: f64 = 16.118_095_639_272_223; // -ln(f32 1e-7)

fn bce_grad(p: &Array2<f32>, y: &Array2<f32>, fused: bool) -> (Array2<f32>, f32) {
    let mut g = Array2::from_elem(p.raw_dim(), f32::NAN);
    let l = BinaryCrossentropy
        .gradient(p.view(), y.view(), None, fused, g.view_mut())
        .unwrap();
    (g, l)
}

/// Dense(1, sigmoid) on one input with kernel `w` and bias `b`, BCE, plain SGD.
fn single_unit(w: f32, b: f32, lr: f32) -> Sequential {
    let mut model = Sequential::new(1).with_seed(1);
    model
        .add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    model
        .set_weights(&[array![[w]].into_dyn(), array![b].into_dyn()])
        .unwrap();
    model.compile(BinaryCrossentropy, Sgd::new(lr)).unwrap();
    model
}

#[test]
fn sigmoid_of_plus_and_minus_100_is_exactly_one_and_zero() {
    assert_eq!(sigmoid(100.0), 1.0);
    assert_eq!(sigmoid(-100.0), 0.0);
    assert_eq!(sigmoid(f32::INFINITY), 1.0);
    assert_eq!(sigmoid(f32::NEG_INFINITY), 0.0);
}

#[test]
fn bce_of_confidently_wrong_saturated_outputs_is_the_clipped_log() {
    // Rows (p = 1, y = 0) and (p = 0, y = 1): (15.942385 + 16.118096) / 2 = 16.030240.
    let p = array![[1.0f32], [0.0]];
    let y = array![[0.0f32], [1.0]];
    let l = BinaryCrossentropy.loss(p.view(), y.view(), None).unwrap();
    let expected = (LOSS_P1_Y0 + LOSS_P0_Y1) / 2.0;
    assert!(l.is_finite());
    assert!((l as f64 - expected).abs() < 1e-5, "{l} vs {expected}");
}

#[test]
fn bce_of_each_saturated_case_alone_matches_the_hand_value() {
    let one = |p: f32, y: f32| {
        BinaryCrossentropy
            .loss(array![[p]].view(), array![[y]].view(), None)
            .unwrap() as f64
    };
    assert!((one(1.0, 0.0) - LOSS_P1_Y0).abs() < 1e-5);
    assert!((one(0.0, 1.0) - LOSS_P0_Y1).abs() < 1e-5);
    // Confidently right: tiny but positive, 1.1920930e-7 and 1.0e-7.
    assert!((one(1.0, 1.0) - 1.192_093e-7).abs() < 1e-12);
    assert!((one(0.0, 0.0) - 1.0e-7).abs() < 1e-12);
}

#[test]
fn fused_bce_gradient_is_zero_where_the_output_is_clipped() {
    // Every element is outside [1e-7, 1 - 1e-7]: the clip passes no gradient.
    let p = array![[1.0f32], [0.0], [1.0], [0.0]];
    let y = array![[0.0f32], [1.0], [1.0], [0.0]];
    let (g, l) = bce_grad(&p, &y, true);
    assert_eq!(g, Array2::<f32>::zeros((4, 1)));
    assert!(l.is_finite());
}

#[test]
fn unfused_bce_gradient_is_zero_not_infinite_where_the_output_is_clipped() {
    // Unfused, dl/dp = (p - y) / (p (1 - p)) would divide by zero at p = 0 or 1.
    let p = array![[1.0f32], [0.0]];
    let y = array![[0.0f32], [1.0]];
    let (g, l) = bce_grad(&p, &y, false);
    assert_eq!(g, Array2::<f32>::zeros((2, 1)));
    assert!(l.is_finite());
}

#[test]
fn fused_bce_gradient_of_an_unclipped_row_is_unaffected_by_a_clipped_one() {
    // Row 0: p = 1 (clipped) -> 0. Row 1: p = 0.5, y = 1 -> (0.5 - 1) / 2 = -0.25.
    let p = array![[1.0f32], [0.5]];
    let y = array![[0.0f32], [1.0]];
    let (g, _) = bce_grad(&p, &y, true);
    assert_eq!(g, array![[0.0f32], [-0.25]]);
}

#[test]
fn train_on_batch_with_saturated_wrong_outputs_returns_the_finite_clipped_loss() {
    // w = 100, b = 0, x = [1, -1]: z = ±100, p = [1, 0]; y = [0, 1]. Loss 16.030240.
    let mut model = single_unit(100.0, 0.0, 0.1);
    let x = array![[1.0f32], [-1.0]];
    let y = array![[0.0f32], [1.0]];
    assert_eq!(model.predict(&x).unwrap(), array![[1.0f32], [0.0]]);
    let loss = model.train_on_batch(&x, &y).unwrap();
    assert!(
        (loss as f64 - (LOSS_P1_Y0 + LOSS_P0_Y1) / 2.0).abs() < 1e-5,
        "loss {loss}"
    );
}

#[test]
fn train_on_batch_with_all_outputs_clipped_leaves_the_weights_unchanged() {
    // Every gradient is zero (clipped), so one SGD step changes nothing: w = 100, b = 0.
    let mut model = single_unit(100.0, 0.0, 0.1);
    let x = array![[1.0f32], [-1.0]];
    let y = array![[0.0f32], [1.0]];
    model.train_on_batch(&x, &y).unwrap();
    let w = model.get_weights();
    assert_eq!(w[0][[0, 0]], 100.0);
    assert_eq!(w[1][[0]], 0.0);
}

#[test]
fn train_on_batch_with_one_saturated_row_learns_from_the_other_row() {
    // w = 100, b = 0; x = [1, 0], y = [0, 1]. Row 0: z = 100, p = 1, clipped, no gradient.
    // Row 1: z = 0, p = 0.5: dL/dz = (0.5 - 1) / 2 = -0.25, dL/dw = x·(-0.25) = 0,
    // dL/db = -0.25. SGD lr 1: w stays 100, b = 0 + 0.25 = 0.25.
    // Loss before the step: (15.942385 + ln 2) / 2 = (15.942385 + 0.693147) / 2 = 8.317766.
    let mut model = single_unit(100.0, 0.0, 1.0);
    let loss = model
        .train_on_batch(&array![[1.0f32], [0.0]], &array![[0.0f32], [1.0]])
        .unwrap();
    assert!((loss - 8.317_766).abs() < 1e-5, "loss {loss}");
    let w = model.get_weights();
    assert_eq!(w[0][[0, 0]], 100.0);
    assert_eq!(w[1][[0]], 0.25);
}

#[test]
fn deeper_model_trained_on_saturating_data_keeps_finite_loss_and_weights() {
    // Hidden ReLU units with kernels of 5 and inputs of size ~10 give output logits in the
    // thousands: every output is exactly 0 or 1. Training with momentum for many steps must
    // never produce a NaN or infinity anywhere.
    let mut model = Sequential::new(3).with_seed(5);
    model
        .add(
            Dense::new(4)
                .activation(Activation::Relu)
                .kernel_initializer(Initializer::Constant(5.0)),
        )
        .unwrap();
    model
        .add(
            Dense::new(1)
                .activation(Activation::Sigmoid)
                .kernel_initializer(Initializer::Constant(5.0)),
        )
        .unwrap();
    model
        .compile(BinaryCrossentropy, Sgd::new(0.5).momentum(0.9))
        .unwrap();
    let x = array![
        [10.0f32, 10.0, 10.0],
        [12.0, 8.0, 9.0],
        [-10.0, -10.0, -10.0]
    ];
    // Rows 0 and 1 saturate to p = 1 but are labelled 0; row 2 gives p = sigmoid(0) = 0.5.
    let y = array![[0.0f32], [0.0], [1.0]];
    let p = model.predict(&x).unwrap();
    assert_eq!((p[[0, 0]], p[[1, 0]]), (1.0, 1.0));
    for _ in 0..50 {
        let loss = model.train_on_batch(&x, &y).unwrap();
        assert!(loss.is_finite());
    }
    let options = FitOptions {
        epochs: 20,
        batch_size: 2,
        ..Default::default()
    };
    let history = model.fit(&x, &y, &options).unwrap();
    assert!(history.loss.iter().all(|l| l.is_finite()));
    for w in model.get_weights() {
        assert!(w.iter().all(|v| v.is_finite()));
    }
    assert!(model.predict(&x).unwrap().iter().all(|p| p.is_finite()));
}
