//! Finite-difference checks of every analytic gradient: `Dense` with each activation, the
//! stand-alone activation layers, `Dropout`, the losses, and whole models.
//!
//! # Method
//!
//! Layers are checked through the `Layer` trait against the scalar objective
//! `L(x, θ) = Σ_ij r_ij · y_ij(x, θ)` for a fixed array `r`, so `dL/dy = r` is what `backward`
//! receives, and `backward` must produce `dL/dx` and `dL/dθ`. The numeric side is the central
//! difference `(L(v + h) - L(v - h)) / ((v + h) - (v - h))`: the perturbed values are f32 (the
//! layers compute in f32), the objective is summed in f64, and the denominator is the step that
//! was actually taken after f32 rounding, not the nominal `2h`.
//!
//! # Tolerances
//!
//! With `h = 1e-2` the two error sources of a central difference are:
//! - truncation `h²/6 · |L'''|`: for tanh, sigmoid and softmax the third derivative is at most 2
//!   per unit, times at most `Σ|r| ≤ 5` (one row, five units), times `|w|³ ≤ 0.125` for weights in
//!   `[-0.5, 0.5]`: `1.7e-5 · 2 · 5 ≈ 1.7e-4` in the worst case; zero for the piecewise-linear
//!   activations as long as no kink is crossed (the Relu tests assert every pre-activation is at
//!   least 0.05 away from 0, five times the largest change a perturbation can cause);
//! - rounding: each f32 output carries a relative error of a few units of 6e-8; the objective
//!   sums 15 terms of size at most 1, so its error is at most about `15 · 3e-7 = 4.5e-6`, which
//!   becomes `4.5e-6 / 2e-2 ≈ 2.3e-4` after dividing by the step.
//!
//! Both are below `LAYER_ABS = 1e-3`; `LAYER_REL = 1e-3` of the gradient's own size is added for
//! large gradients. A wrong derivative (a missing factor, a wrong sign, the wrong mask) is off by
//! at least several hundredths on these inputs.

use ndarray::{Array1, Array2, ArrayD, Ix1, Ix2, array};
use ndnet::activation::sigmoid;
use ndnet::layers::{
    leaky_relu, linear, relu, sigmoid as sigmoid_layer, softmax as softmax_layer, tanh,
};
use ndnet::prelude::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const H: f32 = 1e-2;
const LAYER_ABS: f64 = 1e-3;
const LAYER_REL: f64 = 1e-3;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn uniform(rows: usize, cols: usize, lo: f32, hi: f32, seed: u64) -> Array2<f32> {
    let mut rng = SmallRng::seed_from_u64(seed);
    Array2::from_shape_simple_fn((rows, cols), || rng.random_range(lo..hi))
}

/// Values in `[-hi, -lo] ∪ [lo, hi]`: never closer than `lo` to a ReLU kink.
fn away_from_zero(rows: usize, cols: usize, lo: f32, hi: f32, seed: u64) -> Array2<f32> {
    let mut rng = SmallRng::seed_from_u64(seed);
    Array2::from_shape_simple_fn((rows, cols), || {
        let v = rng.random_range(lo..hi);
        if rng.random_bool(0.5) { v } else { -v }
    })
}

fn assert_close(what: &str, numeric: &[f64], analytic: &[f32], abs: f64, rel: f64) {
    assert_eq!(numeric.len(), analytic.len(), "{what}: length");
    for (k, (&n, &a)) in numeric.iter().zip(analytic).enumerate() {
        let a = a as f64;
        let tol = abs + rel * a.abs().max(n.abs());
        assert!(
            (n - a).abs() <= tol,
            "{what}[{k}]: numeric {n:.7}, analytic {a:.7}, |diff| {:.2e} > tol {tol:.2e}",
            (n - a).abs()
        );
    }
}

/// `Σ r · layer(x)`, accumulated in f64.
fn objective(layer: &mut dyn Layer, x: &Array2<f32>, r: &Array2<f32>, mode: Mode) -> f64 {
    let mut y = Array2::zeros(r.raw_dim());
    layer.forward(x.view(), y.view_mut(), mode).unwrap();
    y.iter().zip(r).map(|(&a, &b)| a as f64 * b as f64).sum()
}

/// `dL/dx` and the parameter gradients (flattened, in `visit_params` order) from `backward`.
fn analytic(layer: &mut dyn Layer, x: &Array2<f32>, r: &Array2<f32>) -> (Vec<f32>, Vec<Vec<f32>>) {
    let mut y = Array2::zeros(r.raw_dim());
    layer.forward(x.view(), y.view_mut(), Mode::Train).unwrap();
    let mut g = r.clone();
    let mut gi = Array2::zeros(x.raw_dim());
    layer
        .backward(
            x.view(),
            y.view(),
            g.view_mut(),
            Some(gi.view_mut()),
            GradWrt::Output,
        )
        .unwrap();
    let mut params = Vec::new();
    layer.visit_params(&mut |p| params.push(p.grad.iter().copied().collect()));
    (gi.iter().copied().collect(), params)
}

/// Central differences of the objective w.r.t. every input element.
fn numeric_input_grad(layer: &mut dyn Layer, x: &Array2<f32>, r: &Array2<f32>) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    for idx in 0..x.len() {
        let (mut xp, mut xm) = (x.clone(), x.clone());
        *xp.iter_mut().nth(idx).unwrap() += H;
        *xm.iter_mut().nth(idx).unwrap() -= H;
        let step = (xp.iter().nth(idx).unwrap() - xm.iter().nth(idx).unwrap()) as f64;
        let lp = objective(layer, &xp, r, Mode::Eval);
        let lm = objective(layer, &xm, r, Mode::Eval);
        out.push((lp - lm) / step);
    }
    out
}

/// Central differences of the objective w.r.t. every weight, tensor by tensor (Keras order).
fn numeric_param_grads(layer: &mut dyn Layer, x: &Array2<f32>, r: &Array2<f32>) -> Vec<Vec<f64>> {
    let original = layer.weights();
    let mut grads = Vec::new();
    for t in 0..original.len() {
        let mut g = Vec::new();
        for k in 0..original[t].len() {
            let (mut wp, mut wm) = (original.clone(), original.clone());
            *wp[t].iter_mut().nth(k).unwrap() += H;
            *wm[t].iter_mut().nth(k).unwrap() -= H;
            let step = (wp[t].iter().nth(k).unwrap() - wm[t].iter().nth(k).unwrap()) as f64;
            layer.set_weights(&wp).unwrap();
            let lp = objective(layer, x, r, Mode::Eval);
            layer.set_weights(&wm).unwrap();
            let lm = objective(layer, x, r, Mode::Eval);
            g.push((lp - lm) / step);
        }
        grads.push(g);
    }
    layer.set_weights(&original).unwrap();
    grads
}

/// A Dense(5) layer on 4 inputs with kernel and bias drawn from U(-0.5, 0.5).
fn dense(activation: Activation) -> Dense {
    let mut layer = Dense::new(5)
        .activation(activation)
        .kernel_initializer(Initializer::RandomUniform {
            min: -0.5,
            max: 0.5,
        })
        .bias_initializer(Initializer::RandomUniform {
            min: -0.5,
            max: 0.5,
        });
    layer.build(4, &mut SmallRng::seed_from_u64(11)).unwrap();
    layer
}

/// Asserts every pre-activation `x · W + b` of `layer` is at least `margin` away from 0.
/// A perturbation of 1e-2 in `x` (|W| <= 0.5), in `W` (|x| <= 1) or in `b` moves a
/// pre-activation by at most 1e-2, so a margin of 0.05 keeps every evaluation on one side of
/// the kink.
fn assert_pre_activations_away_from_zero(layer: &Dense, x: &Array2<f32>, margin: f32) {
    let z = x.dot(layer.kernel()) + layer.bias();
    let closest = z.iter().fold(f32::INFINITY, |m, v| m.min(v.abs()));
    assert!(
        closest >= margin,
        "test precondition: a pre-activation is {closest} from the kink"
    );
    assert!(z.iter().any(|&v| v < 0.0) && z.iter().any(|&v| v > 0.0));
}

fn check_dense_input_gradient(activation: Activation) {
    let mut layer = dense(activation);
    let x = uniform(3, 4, -1.0, 1.0, 3);
    let r = uniform(3, 5, -1.0, 1.0, 22);
    if matches!(activation, Activation::Relu | Activation::LeakyRelu { .. }) {
        assert_pre_activations_away_from_zero(&layer, &x, 0.05);
    }
    let (gi, _) = analytic(&mut layer, &x, &r);
    let numeric = numeric_input_grad(&mut layer, &x, &r);
    assert_close("dL/dx", &numeric, &gi, LAYER_ABS, LAYER_REL);
}

fn check_dense_param_gradients(activation: Activation) {
    let mut layer = dense(activation);
    let x = uniform(3, 4, -1.0, 1.0, 3);
    let r = uniform(3, 5, -1.0, 1.0, 22);
    if matches!(activation, Activation::Relu | Activation::LeakyRelu { .. }) {
        assert_pre_activations_away_from_zero(&layer, &x, 0.05);
    }
    let (_, params) = analytic(&mut layer, &x, &r);
    let numeric = numeric_param_grads(&mut layer, &x, &r);
    assert_eq!(params.len(), 2, "kernel and bias");
    assert_close("dL/dkernel", &numeric[0], &params[0], LAYER_ABS, LAYER_REL);
    assert_close("dL/dbias", &numeric[1], &params[1], LAYER_ABS, LAYER_REL);
}

fn check_activation_layer(mut layer: ActivationLayer, x: Array2<f32>) {
    layer
        .build(x.ncols(), &mut SmallRng::seed_from_u64(0))
        .unwrap();
    let r = uniform(x.nrows(), x.ncols(), -1.0, 1.0, 31);
    let (gi, params) = analytic(&mut layer, &x, &r);
    assert!(params.is_empty(), "activation layers have no parameters");
    let numeric = numeric_input_grad(&mut layer, &x, &r);
    assert_close("dL/dx", &numeric, &gi, LAYER_ABS, LAYER_REL);
}

// ---------------------------------------------------------------------------------------------
// Dense
// ---------------------------------------------------------------------------------------------

#[test]
fn dense_linear_input_gradient_matches_finite_differences() {
    check_dense_input_gradient(Activation::Linear);
}

#[test]
fn dense_linear_kernel_and_bias_gradients_match_finite_differences() {
    check_dense_param_gradients(Activation::Linear);
}

#[test]
fn dense_relu_input_gradient_matches_finite_differences() {
    check_dense_input_gradient(Activation::Relu);
}

#[test]
fn dense_relu_kernel_and_bias_gradients_match_finite_differences() {
    check_dense_param_gradients(Activation::Relu);
}

#[test]
fn dense_leaky_relu_input_gradient_matches_finite_differences() {
    check_dense_input_gradient(Activation::LeakyRelu { alpha: 0.3 });
}

#[test]
fn dense_leaky_relu_kernel_and_bias_gradients_match_finite_differences() {
    check_dense_param_gradients(Activation::LeakyRelu { alpha: 0.3 });
}

#[test]
fn dense_sigmoid_input_gradient_matches_finite_differences() {
    check_dense_input_gradient(Activation::Sigmoid);
}

#[test]
fn dense_sigmoid_kernel_and_bias_gradients_match_finite_differences() {
    check_dense_param_gradients(Activation::Sigmoid);
}

#[test]
fn dense_tanh_input_gradient_matches_finite_differences() {
    check_dense_input_gradient(Activation::Tanh);
}

#[test]
fn dense_tanh_kernel_and_bias_gradients_match_finite_differences() {
    check_dense_param_gradients(Activation::Tanh);
}

#[test]
fn dense_softmax_input_gradient_matches_finite_differences() {
    check_dense_input_gradient(Activation::Softmax);
}

#[test]
fn dense_softmax_kernel_and_bias_gradients_match_finite_differences() {
    check_dense_param_gradients(Activation::Softmax);
}

#[test]
fn dense_without_bias_has_only_a_kernel_gradient_matching_finite_differences() {
    let mut layer = Dense::new(3)
        .activation(Activation::Tanh)
        .use_bias(false)
        .kernel_initializer(Initializer::RandomUniform {
            min: -0.5,
            max: 0.5,
        });
    layer.build(2, &mut SmallRng::seed_from_u64(5)).unwrap();
    let x = uniform(4, 2, -1.0, 1.0, 6);
    let r = uniform(4, 3, -1.0, 1.0, 7);
    let (_, params) = analytic(&mut layer, &x, &r);
    let numeric = numeric_param_grads(&mut layer, &x, &r);
    assert_eq!(params.len(), 1);
    assert_close("dL/dkernel", &numeric[0], &params[0], LAYER_ABS, LAYER_REL);
}

#[test]
fn dense_backward_by_hand_for_one_linear_unit() {
    // x = [[1, 2], [3, -1]], W = [[0.5], [-0.25]], b = [0.1], r = [[1], [2]].
    // dL/dW = xᵀ r = [[1·1 + 3·2], [2·1 + (-1)·2]] = [[7], [0]]
    // dL/db = Σ r = 3
    // dL/dx = r Wᵀ = [[0.5, -0.25], [1.0, -0.5]]
    let mut layer = Dense::new(1);
    layer.build(2, &mut SmallRng::seed_from_u64(0)).unwrap();
    layer
        .set_weights(&[
            array![[0.5f32], [-0.25]].into_dyn(),
            array![0.1f32].into_dyn(),
        ])
        .unwrap();
    let x = array![[1.0f32, 2.0], [3.0, -1.0]];
    let r = array![[1.0f32], [2.0]];
    let (gi, params) = analytic(&mut layer, &x, &r);
    assert_eq!(gi, vec![0.5, -0.25, 1.0, -0.5]);
    assert_eq!(params, vec![vec![7.0, 0.0], vec![3.0]]);
}

#[test]
fn dense_backward_overwrites_parameter_gradients() {
    // Same numbers as above: each backward pass writes this batch's dL/dW = [[7], [0]] and
    // dL/db = 3, whatever the buffers held (two passes do not give [[14], [0]] and 6). A pass with
    // r = [[-1], [0]] then gives dL/dW = xᵀ r = [[-1], [-2]] and dL/db = -1.
    let mut layer = Dense::new(1);
    layer.build(2, &mut SmallRng::seed_from_u64(0)).unwrap();
    layer
        .set_weights(&[
            array![[0.5f32], [-0.25]].into_dyn(),
            array![0.1f32].into_dyn(),
        ])
        .unwrap();
    let x = array![[1.0f32, 2.0], [3.0, -1.0]];
    let mut y = Array2::zeros((2, 1));
    layer.forward(x.view(), y.view_mut(), Mode::Train).unwrap();
    let grads = |layer: &mut Dense| {
        let mut v = Vec::new();
        layer.visit_params(&mut |p| v.push(p.grad.iter().copied().collect::<Vec<f32>>()));
        v
    };
    for _ in 0..2 {
        let mut g = array![[1.0f32], [2.0]];
        layer
            .backward(x.view(), y.view(), g.view_mut(), None, GradWrt::Output)
            .unwrap();
        assert_eq!(grads(&mut layer), vec![vec![7.0, 0.0], vec![3.0]]);
    }
    let mut g = array![[-1.0f32], [0.0]];
    layer
        .backward(x.view(), y.view(), g.view_mut(), None, GradWrt::Output)
        .unwrap();
    assert_eq!(grads(&mut layer), vec![vec![-1.0, -2.0], vec![-1.0]]);
}

// ---------------------------------------------------------------------------------------------
// Stand-alone activation layers
// ---------------------------------------------------------------------------------------------

#[test]
fn linear_layer_input_gradient_matches_finite_differences() {
    check_activation_layer(linear(), uniform(3, 5, -2.0, 2.0, 41));
}

#[test]
fn relu_layer_input_gradient_matches_finite_differences() {
    // |x| >= 0.05 while the perturbation is 0.01: no kink is crossed.
    check_activation_layer(relu(), away_from_zero(3, 5, 0.05, 2.0, 42));
}

#[test]
fn leaky_relu_layer_input_gradient_matches_finite_differences() {
    check_activation_layer(leaky_relu(0.3), away_from_zero(3, 5, 0.05, 2.0, 43));
}

#[test]
fn sigmoid_layer_input_gradient_matches_finite_differences() {
    check_activation_layer(sigmoid_layer(), uniform(3, 5, -2.0, 2.0, 44));
}

#[test]
fn tanh_layer_input_gradient_matches_finite_differences() {
    check_activation_layer(tanh(), uniform(3, 5, -2.0, 2.0, 45));
}

#[test]
fn softmax_layer_input_gradient_matches_finite_differences() {
    check_activation_layer(softmax_layer(), uniform(3, 5, -2.0, 2.0, 46));
}

#[test]
fn relu_layer_gradient_by_hand() {
    // y = max(x, 0): the gradient passes where x > 0 and is zero elsewhere (x = 0 included,
    // as Keras/TensorFlow). x = [-1, 0, 2], r = [5, 6, 7] -> [0, 0, 7].
    let mut layer = relu();
    layer.build(3, &mut SmallRng::seed_from_u64(0)).unwrap();
    let x = array![[-1.0f32, 0.0, 2.0]];
    let (gi, _) = analytic(&mut layer, &x, &array![[5.0f32, 6.0, 7.0]]);
    assert_eq!(gi, vec![0.0, 0.0, 7.0]);
}

#[test]
fn sigmoid_layer_gradient_by_hand() {
    // sigmoid(0) = 0.5, derivative 0.5 · 0.5 = 0.25; r = 2 -> 0.5.
    let mut layer = sigmoid_layer();
    layer.build(1, &mut SmallRng::seed_from_u64(0)).unwrap();
    let (gi, _) = analytic(&mut layer, &array![[0.0f32]], &array![[2.0f32]]);
    assert_eq!(gi, vec![0.5]);
}

// ---------------------------------------------------------------------------------------------
// Dropout
// ---------------------------------------------------------------------------------------------

fn built_dropout(rate: f32, width: usize, seed: u64) -> Dropout {
    let mut layer = Dropout::new(rate);
    layer
        .build(width, &mut SmallRng::seed_from_u64(seed))
        .unwrap();
    layer
}

#[test]
fn dropout_backward_multiplies_by_the_forward_mask_over_keep_probability() {
    // rate 0.5: kept elements are scaled by 1 / (1 - 0.5) = 2, dropped ones by 0. The inputs are
    // all non-zero, so the mask can be read off the output: kept where y != 0.
    let mut layer = built_dropout(0.5, 6, 3);
    let x = away_from_zero(4, 6, 0.1, 1.0, 51);
    let r = uniform(4, 6, -1.0, 1.0, 52);
    let mut y = Array2::zeros((4, 6));
    layer.forward(x.view(), y.view_mut(), Mode::Train).unwrap();
    let kept: Vec<bool> = y.iter().map(|&v| v != 0.0).collect();
    assert!(kept.iter().any(|&k| k) && kept.iter().any(|&k| !k));
    let mut g = r.clone();
    let mut gi = Array2::zeros((4, 6));
    layer
        .backward(
            x.view(),
            y.view(),
            g.view_mut(),
            Some(gi.view_mut()),
            GradWrt::Output,
        )
        .unwrap();
    for ((&gi, &r), &k) in gi.iter().zip(&r).zip(&kept) {
        assert_eq!(gi, if k { r * 2.0 } else { 0.0 });
    }
}

#[test]
fn dropout_backward_matches_finite_differences_of_the_same_masked_function() {
    // A clone of the layer carries the same RNG state, so each clone draws the very mask the
    // original drew: f(x) = Σ r · x · m / (1 - rate) is then differentiated numerically.
    // f is linear in x, so the central difference is exact up to rounding (h = 1e-2).
    let template = built_dropout(0.3, 5, 9);
    let x = uniform(3, 5, -1.0, 1.0, 53);
    let r = uniform(3, 5, -1.0, 1.0, 54);
    let (gi, _) = analytic(&mut template.clone(), &x, &r);
    let mut numeric = Vec::new();
    for idx in 0..x.len() {
        let (mut xp, mut xm) = (x.clone(), x.clone());
        *xp.iter_mut().nth(idx).unwrap() += H;
        *xm.iter_mut().nth(idx).unwrap() -= H;
        let step = (xp.iter().nth(idx).unwrap() - xm.iter().nth(idx).unwrap()) as f64;
        let lp = objective(&mut template.clone(), &xp, &r, Mode::Train);
        let lm = objective(&mut template.clone(), &xm, &r, Mode::Train);
        numeric.push((lp - lm) / step);
    }
    assert!(gi.contains(&0.0), "some unit must be dropped");
    assert!(gi.iter().any(|&g| g != 0.0), "some unit must be kept");
    assert_close("dL/dx", &numeric, &gi, LAYER_ABS, LAYER_REL);
}

// ---------------------------------------------------------------------------------------------
// Losses
// ---------------------------------------------------------------------------------------------
//
// Loss::loss returns f32 (accumulated in f64 inside). With h = 1e-3 on predictions in
// [0.2, 0.8]: truncation h²/6 · |l'''| with l''' = 2/p³ ≤ 250, divided by the 8 elements the
// loss averages over: 1.7e-7 · 250 / 8 ≈ 5e-6; rounding of a loss near 0.7 to f32 (3e-8)
// divided by 2e-3: 1.5e-5. Tolerance: 1e-4 absolute plus 1e-3 relative.

const LOSS_H: f32 = 1e-3;
const LOSS_ABS: f64 = 1e-4;
const LOSS_REL: f64 = 1e-3;

/// Central differences of `f(pred)` w.r.t. every element of `pred`.
fn numeric_loss_grad(pred: &Array2<f32>, h: f32, f: impl Fn(&Array2<f32>) -> f32) -> Vec<f64> {
    (0..pred.len())
        .map(|idx| {
            let (mut pp, mut pm) = (pred.clone(), pred.clone());
            *pp.iter_mut().nth(idx).unwrap() += h;
            *pm.iter_mut().nth(idx).unwrap() -= h;
            let step = (pp.iter().nth(idx).unwrap() - pm.iter().nth(idx).unwrap()) as f64;
            (f(&pp) as f64 - f(&pm) as f64) / step
        })
        .collect()
}

fn loss_gradient(
    loss: &dyn Loss,
    pred: &Array2<f32>,
    target: &Array2<f32>,
    weights: Option<&Array1<f32>>,
    fused: bool,
) -> Vec<f32> {
    let mut grad = Array2::zeros(pred.raw_dim());
    loss.gradient(
        pred.view(),
        target.view(),
        weights.map(|w| w.view()),
        fused,
        grad.view_mut(),
    )
    .unwrap();
    grad.iter().copied().collect()
}

fn softmax(z: &Array2<f32>) -> Array2<f32> {
    let mut p = z.clone();
    Activation::Softmax.apply(p.view_mut());
    p
}

#[test]
fn binary_crossentropy_gradient_matches_finite_differences() {
    let pred = uniform(4, 2, 0.2, 0.8, 61);
    let target = array![[0.0f32, 1.0], [1.0, 1.0], [0.0, 0.0], [0.3, 0.7]];
    let analytic = loss_gradient(&BinaryCrossentropy, &pred, &target, None, false);
    let numeric = numeric_loss_grad(&pred, LOSS_H, |p| {
        BinaryCrossentropy
            .loss(p.view(), target.view(), None)
            .unwrap()
    });
    assert_close("dBCE/dp", &numeric, &analytic, LOSS_ABS, LOSS_REL);
}

#[test]
fn binary_crossentropy_gradient_with_sample_weights_matches_finite_differences() {
    let pred = uniform(4, 2, 0.2, 0.8, 62);
    let target = array![[0.0f32, 1.0], [1.0, 1.0], [0.0, 0.0], [1.0, 0.0]];
    let w = array![1.0f32, 0.5, 2.0, 0.0];
    let analytic = loss_gradient(&BinaryCrossentropy, &pred, &target, Some(&w), false);
    let numeric = numeric_loss_grad(&pred, LOSS_H, |p| {
        BinaryCrossentropy
            .loss(p.view(), target.view(), Some(w.view()))
            .unwrap()
    });
    assert_close("dBCE/dp", &numeric, &analytic, LOSS_ABS, LOSS_REL);
    // The last sample has weight 0: no gradient at all.
    assert_eq!(&analytic[6..], &[0.0, 0.0]);
}

#[test]
fn fused_sigmoid_binary_crossentropy_gradient_matches_finite_differences_in_logits() {
    // The fused gradient is w.r.t. the pre-activation z, with p = sigmoid(z). h = 1e-2 in z:
    // truncation ≤ 1.7e-5 · |d³l/dz³| (≤ 0.1) / 8; rounding of sigmoid (6e-8) through a loss
    // slope ≤ 5 divided by 2e-2 gives ≤ 1.5e-5.
    let z = uniform(4, 2, -3.0, 3.0, 63);
    let target = array![[0.0f32, 1.0], [1.0, 1.0], [0.0, 0.0], [0.3, 0.7]];
    let p = z.mapv(sigmoid);
    let analytic = loss_gradient(&BinaryCrossentropy, &p, &target, None, true);
    let numeric = numeric_loss_grad(&z, 1e-2, |z| {
        BinaryCrossentropy
            .loss(z.mapv(sigmoid).view(), target.view(), None)
            .unwrap()
    });
    assert_close("dBCE/dz", &numeric, &analytic, LOSS_ABS, LOSS_REL);
}

#[test]
fn fused_sigmoid_binary_crossentropy_gradient_is_p_minus_y_over_batch() {
    // z = 0 -> p = 0.5. Batch of 2 single-output rows, y = [1, 0]:
    // (p - y) / 2 = [-0.25, 0.25].
    let p = array![[0.5f32], [0.5]];
    let y = array![[1.0f32], [0.0]];
    assert_eq!(
        loss_gradient(&BinaryCrossentropy, &p, &y, None, true),
        vec![-0.25, 0.25]
    );
}

#[test]
fn categorical_crossentropy_gradient_matches_finite_differences() {
    // Rows of `pred` deliberately do not sum to 1: the loss normalizes them first, and the
    // gradient must include that normalization.
    let pred = uniform(3, 4, 0.1, 0.6, 64);
    let target = array![
        [0.0f32, 1.0, 0.0, 0.0],
        [0.25, 0.25, 0.5, 0.0],
        [0.0, 0.0, 0.0, 1.0]
    ];
    let analytic = loss_gradient(&CategoricalCrossentropy, &pred, &target, None, false);
    let numeric = numeric_loss_grad(&pred, LOSS_H, |p| {
        CategoricalCrossentropy
            .loss(p.view(), target.view(), None)
            .unwrap()
    });
    assert_close("dCCE/dp", &numeric, &analytic, LOSS_ABS, LOSS_REL);
}

#[test]
fn fused_softmax_categorical_crossentropy_gradient_matches_finite_differences_in_logits() {
    let z = uniform(3, 4, -2.0, 2.0, 65);
    let target = array![
        [0.0f32, 1.0, 0.0, 0.0],
        [0.25, 0.25, 0.5, 0.0],
        [0.0, 0.0, 0.0, 1.0]
    ];
    let analytic = loss_gradient(&CategoricalCrossentropy, &softmax(&z), &target, None, true);
    let numeric = numeric_loss_grad(&z, 1e-2, |z| {
        CategoricalCrossentropy
            .loss(softmax(z).view(), target.view(), None)
            .unwrap()
    });
    assert_close("dCCE/dz", &numeric, &analytic, LOSS_ABS, LOSS_REL);
}

#[test]
fn mean_squared_error_gradient_matches_finite_differences() {
    // Quadratic: the central difference is exact but for rounding.
    let pred = uniform(3, 2, -2.0, 2.0, 66);
    let target = uniform(3, 2, -2.0, 2.0, 67);
    let analytic = loss_gradient(&MeanSquaredError, &pred, &target, None, false);
    let numeric = numeric_loss_grad(&pred, LOSS_H, |p| {
        MeanSquaredError
            .loss(p.view(), target.view(), None)
            .unwrap()
    });
    assert_close("dMSE/dp", &numeric, &analytic, LOSS_ABS, LOSS_REL);
}

#[test]
fn mean_squared_error_gradient_by_hand() {
    // l = mean over 2 rows × 2 columns of (p - y)²; dl/dp = 2 (p - y) / 4.
    // p - y = [[1, -2], [0.5, 0]] -> [[0.5, -1], [0.25, 0]]. Loss (1 + 4 + 0.25 + 0) / 4 = 1.3125.
    let p = array![[1.0f32, 0.0], [1.5, 3.0]];
    let y = array![[0.0f32, 2.0], [1.0, 3.0]];
    let mut g = Array2::zeros((2, 2));
    let l = MeanSquaredError
        .gradient(p.view(), y.view(), None, false, g.view_mut())
        .unwrap();
    assert_eq!(g, array![[0.5f32, -1.0], [0.25, 0.0]]);
    assert_eq!(l, 1.3125);
}

// ---------------------------------------------------------------------------------------------
// Whole models
// ---------------------------------------------------------------------------------------------
//
// The analytic gradient comes from one `train_on_batch` with plain `Sgd::new(1.0)`:
// w_after = w_before - 1.0 · g, so g = w_before - w_after (rounding: half an ulp of |w| ≤ 1,
// 6e-8). The numeric gradient perturbs one weight through `set_weights` and reads the mean loss
// from `evaluate` (inference mode; these models have no dropout, so training and inference
// compute the same function). With h = 1e-2: truncation h²/6 · |L'''| ≤ 1.7e-5 · ~2 and
// rounding of an f32 loss near 0.7 computed through three f32 layers (~1e-6) / 2e-2 = 5e-5.
// Tolerance: 2e-4 absolute plus 1e-2 relative.

const MODEL_ABS: f64 = 2e-4;
const MODEL_REL: f64 = 1e-2;

fn assert_model_gradients_match(model: &mut Sequential, x: &Array2<f32>, y: &Array2<f32>) {
    let before = model.get_weights();
    let mut trained = model.clone();
    trained.train_on_batch(x, y).unwrap();
    let after = trained.get_weights();
    for t in 0..before.len() {
        let analytic: Vec<f32> = before[t]
            .iter()
            .zip(after[t].iter())
            .map(|(b, a)| b - a)
            .collect();
        assert!(
            analytic.iter().any(|&g| g != 0.0),
            "tensor {t} got no gradient"
        );
        let mut numeric = Vec::new();
        for k in 0..before[t].len() {
            let perturbed = |delta: f32| -> (Vec<ArrayD<f32>>, f32) {
                let mut w = before.clone();
                let v = w[t].iter_mut().nth(k).unwrap();
                *v += delta;
                let value = *v;
                (w, value)
            };
            let (wp, vp) = perturbed(H);
            let (wm, vm) = perturbed(-H);
            model.set_weights(&wp).unwrap();
            let lp = model.evaluate(x, y).unwrap().loss as f64;
            model.set_weights(&wm).unwrap();
            let lm = model.evaluate(x, y).unwrap().loss as f64;
            numeric.push((lp - lm) / (vp - vm) as f64);
        }
        model.set_weights(&before).unwrap();
        assert_close(
            &format!("weight tensor {t}"),
            &numeric,
            &analytic,
            MODEL_ABS,
            MODEL_REL,
        );
    }
}

fn labels(bits: &[u8]) -> Array2<f32> {
    Array2::from_shape_fn((bits.len(), 1), |(i, _)| bits[i] as f32)
}

fn random_bias() -> Initializer {
    Initializer::RandomUniform {
        min: -0.3,
        max: 0.3,
    }
}

#[test]
fn model_tanh_relu_sigmoid_bce_gradients_match_finite_differences() {
    // 3 -> Dense(5, tanh) -> Dense(4, relu) -> Dense(1, sigmoid), binary cross-entropy (fused).
    let mut model = Sequential::new(3).with_seed(18);
    model
        .add(
            Dense::new(5)
                .activation(Activation::Tanh)
                .bias_initializer(random_bias()),
        )
        .unwrap();
    model
        .add(
            Dense::new(4)
                .activation(Activation::Relu)
                .bias_initializer(random_bias()),
        )
        .unwrap();
    model
        .add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    model.compile(BinaryCrossentropy, Sgd::new(1.0)).unwrap();
    let x = uniform(6, 3, -1.0, 1.0, 71);
    let y = labels(&[0, 1, 1, 0, 1, 0]);

    // Precondition: the ReLU layer's pre-activations stay clear of the kink. A perturbation of
    // 1e-2 in one weight moves them by at most 1e-2 · max(|x|, |tanh|, 1) · max|W| ≤ 1e-2.
    let w = model.get_weights();
    let k0 = w[0].view().into_dimensionality::<Ix2>().unwrap();
    let b0 = w[1].view().into_dimensionality::<Ix1>().unwrap();
    let k1 = w[2].view().into_dimensionality::<Ix2>().unwrap();
    let b1 = w[3].view().into_dimensionality::<Ix1>().unwrap();
    let h0 = (x.dot(&k0) + b0).mapv(f32::tanh);
    let z1: Array2<f32> = h0.dot(&k1) + b1;
    let closest = z1.iter().fold(f32::INFINITY, |m, v| m.min(v.abs()));
    assert!(
        closest > 0.02,
        "precondition: relu input {closest} too close to 0"
    );
    assert!(z1.iter().any(|&v| v < 0.0), "some relu must be off");

    assert_model_gradients_match(&mut model, &x, &y);
}

#[test]
fn model_softmax_categorical_crossentropy_gradients_match_finite_differences() {
    let mut model = Sequential::new(3).with_seed(23);
    model
        .add(
            Dense::new(4)
                .activation(Activation::Tanh)
                .bias_initializer(random_bias()),
        )
        .unwrap();
    model
        .add(
            Dense::new(3)
                .activation(Activation::Softmax)
                .bias_initializer(random_bias()),
        )
        .unwrap();
    model
        .compile(CategoricalCrossentropy, Sgd::new(1.0))
        .unwrap();
    let x = uniform(5, 3, -1.0, 1.0, 72);
    let y = array![
        [1.0f32, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, 0.0, 1.0],
        [0.0, 1.0, 0.0],
        [1.0, 0.0, 0.0]
    ];
    assert_model_gradients_match(&mut model, &x, &y);
}

#[test]
fn model_with_standalone_sigmoid_layer_and_bce_gradients_match_finite_differences() {
    // The fused gradient must also work when the sigmoid is its own layer.
    let mut model = Sequential::new(3).with_seed(29);
    model
        .add(
            Dense::new(4)
                .activation(Activation::Tanh)
                .bias_initializer(random_bias()),
        )
        .unwrap();
    model
        .add(Dense::new(1).bias_initializer(random_bias()))
        .unwrap();
    model.add(sigmoid_layer()).unwrap();
    model.compile(BinaryCrossentropy, Sgd::new(1.0)).unwrap();
    let x = uniform(6, 3, -1.0, 1.0, 73);
    let y = labels(&[1, 0, 0, 1, 1, 0]);
    assert_model_gradients_match(&mut model, &x, &y);
}

#[test]
fn model_linear_output_mean_squared_error_gradients_match_finite_differences() {
    let mut model = Sequential::new(2).with_seed(31);
    model
        .add(
            Dense::new(3)
                .activation(Activation::Sigmoid)
                .bias_initializer(random_bias()),
        )
        .unwrap();
    model
        .add(Dense::new(2).bias_initializer(random_bias()))
        .unwrap();
    model.compile(MeanSquaredError, Sgd::new(1.0)).unwrap();
    let x = uniform(4, 2, -1.0, 1.0, 74);
    let y = uniform(4, 2, -1.0, 1.0, 75);
    assert_model_gradients_match(&mut model, &x, &y);
}

#[test]
fn hidden_sigmoid_keeps_its_derivative_when_a_layer_is_added_after_compile() {
    // Compiling with BCE fuses the gradient of the *last* layer's sigmoid. When another layer is
    // added afterwards and the model is compiled again, the former last layer is a hidden layer
    // and must use the sigmoid's derivative again.
    let mut model = Sequential::new(3).with_seed(37);
    model
        .add(
            Dense::new(4)
                .activation(Activation::Sigmoid)
                .bias_initializer(random_bias()),
        )
        .unwrap();
    model.compile(BinaryCrossentropy, Sgd::new(1.0)).unwrap();
    model
        .add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    model.compile(BinaryCrossentropy, Sgd::new(1.0)).unwrap();
    let x = uniform(6, 3, -1.0, 1.0, 76);
    let y = labels(&[0, 1, 1, 0, 1, 1]);
    assert_model_gradients_match(&mut model, &x, &y);
}

#[test]
fn recompiling_with_an_unfused_loss_restores_the_output_derivative() {
    // BCE fuses with the sigmoid output; MSE does not. After switching to MSE the gradient must
    // go through the sigmoid's derivative again.
    let mut model = Sequential::new(2).with_seed(41);
    model
        .add(
            Dense::new(3)
                .activation(Activation::Tanh)
                .bias_initializer(random_bias()),
        )
        .unwrap();
    model
        .add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    model.compile(BinaryCrossentropy, Sgd::new(1.0)).unwrap();
    model.compile(MeanSquaredError, Sgd::new(1.0)).unwrap();
    let x = uniform(5, 2, -1.0, 1.0, 77);
    let y = labels(&[1, 0, 1, 1, 0]);
    assert_model_gradients_match(&mut model, &x, &y);
}

#[test]
fn one_sgd_step_on_a_linear_unit_by_hand() {
    // One Dense(1) linear unit, MSE, x = [[1], [2]], y = [[0], [0]], w = 1, b = 0 (no bias
    // constraint). p = [1, 2]; dL/dp = 2 (p - y) / 2 = [1, 2]; dL/dw = 1·1 + 2·2 = 5;
    // dL/db = 3. One SGD step with lr 0.1: w = 1 - 0.5 = 0.5, b = -0.3.
    let mut model = Sequential::new(1).with_seed(0);
    model
        .add(Dense::new(1).kernel_initializer(Initializer::Ones))
        .unwrap();
    model.compile(MeanSquaredError, Sgd::new(0.1)).unwrap();
    let loss = model
        .train_on_batch(&array![[1.0f32], [2.0]], &array![[0.0f32], [0.0]])
        .unwrap();
    // Loss before the update: (1 + 4) / 2 = 2.5.
    assert_eq!(loss, 2.5);
    let w = model.get_weights();
    assert_eq!(w[0].iter().copied().collect::<Vec<_>>(), vec![0.5]);
    assert!((w[1][[0]] - -0.3).abs() < 1e-7, "bias {}", w[1][[0]]);
}
