//! Flushing subnormal results to zero (`set_flush_subnormals`, on by default), against values
//! worked out by hand. Alone in its test binary, without libtest's harness: the setting is
//! process-wide, and these checks turn it off and on.

use ndarray::{ArrayD, IxDyn, array};
use ndnet::optimizers::{Adam, Optimizer, Sgd};
use ndnet::prelude::*;

/// The smallest positive subnormal, 2⁻¹⁴⁹.
const TINIEST: f32 = f32::from_bits(1);

fn is_subnormal(v: f32) -> bool {
    v != 0.0 && v.abs() < f32::MIN_POSITIVE
}

/// SGD updates (learning rate 1, momentum `m`, Keras's form) of a 1×1 weight starting at 1, one
/// per gradient of `grads`; returns the weight and the velocity.
fn sgd_steps(m: f32, grads: &[f32]) -> (f32, f32) {
    let mut sgd = Sgd::new(1.0).momentum(m);
    let mut w = array![[1.0f32]];
    for &g in grads {
        let (lr, t) = (sgd.current_learning_rate(), sgd.iterations());
        sgd.update(0, lr, t, w.view_mut(), array![[g]].view());
        sgd.finish_step();
    }
    (w[[0, 0]], sgd.state().buffers[0].slots[0][[0, 0]])
}

fn sgd_velocity() {
    // v = 0.5·0 - 1·(-MIN_POSITIVE) = MIN_POSITIVE (normal); then v = 0.5·MIN_POSITIVE, exactly
    // MIN_POSITIVE / 2, subnormal. w = 1 + v rounds to 1 both times.
    let grads = [-f32::MIN_POSITIVE, 0.0];
    ndnet::set_flush_subnormals(false);
    assert_eq!(sgd_steps(0.5, &grads), (1.0, f32::MIN_POSITIVE / 2.0));
    ndnet::set_flush_subnormals(true);
    assert_eq!(sgd_steps(0.5, &grads), (1.0, 0.0));

    // With momentum 0.9 and zero gradients the velocity halves about every 6.6 steps until it
    // is k·2⁻¹⁴⁹ with 0.1·k < 0.5: 0.9·5·2⁻¹⁴⁹ = 4.5·2⁻¹⁴⁹ rounds to the even 4·2⁻¹⁴⁹, and
    // 0.9·4·2⁻¹⁴⁹ = 3.6·2⁻¹⁴⁹ rounds back to 4·2⁻¹⁴⁹: it stays subnormal for good.
    let mut grads = vec![-1.0f32];
    grads.extend(std::iter::repeat_n(0.0, 2000));
    ndnet::set_flush_subnormals(false);
    let (_, v) = sgd_steps(0.9, &grads);
    assert_eq!(v, 4.0 * TINIEST);
    ndnet::set_flush_subnormals(true);
    let (_, v) = sgd_steps(0.9, &grads);
    assert_eq!(v.to_bits(), 0, "flushed to +0");
    // Without momentum: w = 2·MIN_POSITIVE - MIN_POSITIVE·1.5 = MIN_POSITIVE / 2, subnormal.
    let mut plain = Sgd::new(1.0);
    let mut w = array![[2.0 * f32::MIN_POSITIVE]];
    plain.update(
        0,
        1.0,
        0,
        w.view_mut(),
        array![[1.5 * f32::MIN_POSITIVE]].view(),
    );
    assert_eq!(w[[0, 0]], 0.0);
}

fn adam_moments() {
    // g = 2⁻⁶⁴: m = 0.1·g = normal; v = 0.001·g² = 0.001·2⁻¹²⁸, subnormal (below 2⁻¹²⁶).
    let g = 2f32.powi(-64);
    let run = || {
        let mut adam = Adam::new(0.001);
        let mut w = array![[0.5f32]];
        adam.update(0, 0.001, 0, w.view_mut(), array![[g]].view());
        let state = adam.state();
        (
            state.buffers[0].slots[0][[0, 0]],
            state.buffers[1].slots[0][[0, 0]],
        )
    };
    ndnet::set_flush_subnormals(false);
    let (m, v) = run();
    assert!(!is_subnormal(m) && m > 0.0);
    assert!(is_subnormal(v), "v = {v:e}");
    ndnet::set_flush_subnormals(true);
    let (m_flushed, v) = run();
    assert_eq!((m_flushed, v), (m, 0.0));
}

fn activations() {
    let tiny = f32::MIN_POSITIVE / 8.0;
    // ReLU's gradient passes a subnormal gradient through where y > 0: flushed to zero.
    let y = array![[1.0f32, 2.0, 0.0]];
    let mut grad = array![[tiny, -tiny, tiny]];
    Activation::Relu
        .backward(y.view(), grad.view_mut())
        .unwrap();
    assert_eq!(grad, array![[0.0, 0.0, 0.0]]);
    assert!(grad[[0, 1]].is_sign_negative());
    ndnet::set_flush_subnormals(false);
    let mut grad = array![[tiny, -tiny, tiny]];
    Activation::Relu
        .backward(y.view(), grad.view_mut())
        .unwrap();
    assert_eq!(grad, array![[tiny, -tiny, 0.0]]);
    // A Dense layer's output: 1·x + 0 with x subnormal.
    let mut model = Sequential::new(1).with_seed(1);
    model.add(Dense::new(1)).unwrap();
    model
        .set_weights(&[
            ArrayD::from_elem(IxDyn(&[1, 1]), 1.0),
            ArrayD::from_elem(IxDyn(&[1]), 0.0),
        ])
        .unwrap();
    let x = array![[tiny], [1.0]];
    assert_eq!(model.predict(&x).unwrap(), array![[tiny], [1.0]]);
    ndnet::set_flush_subnormals(true);
    assert_eq!(model.predict(&x).unwrap(), array![[0.0], [1.0]]);
    // Sigmoid of a very negative number is subnormal before the flush (e^-100 ≈ 3.7e-44).
    let mut z = array![[-100.0f32, 0.0]];
    Activation::Sigmoid.apply(z.view_mut());
    assert_eq!(z, array![[0.0, 0.5]]);
}

/// Trains 1-2-1 (ReLU, sigmoid) with SGD momentum 0.9, kills hidden unit 1 (bias -100) and
/// trains on: the velocities of its weights decay with zero gradients. Returns the weights and
/// the number of subnormal velocity values.
fn dead_unit_run() -> (Vec<ArrayD<f32>>, usize) {
    let mut model = Sequential::new(1).with_seed(3);
    model
        .add(Dense::new(2).activation(Activation::Relu))
        .unwrap();
    model
        .add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    model
        .compile(BinaryCrossentropy, Sgd::new(0.1).momentum(0.9))
        .unwrap();
    let x = array![[0.2f32], [0.9], [0.5], [0.7]];
    let y = array![[0.0f32], [1.0], [0.0], [1.0]];
    let alive = vec![
        ArrayD::from_shape_vec(IxDyn(&[1, 2]), vec![1.0, 1.0]).unwrap(),
        ArrayD::from_shape_vec(IxDyn(&[2]), vec![0.1, 0.1]).unwrap(),
        ArrayD::from_shape_vec(IxDyn(&[2, 1]), vec![1.0, -1.0]).unwrap(),
        ArrayD::from_shape_vec(IxDyn(&[1]), vec![0.0]).unwrap(),
    ];
    model.set_weights(&alive).unwrap();
    for _ in 0..5 {
        model.train_on_batch(&x, &y).unwrap();
    }
    let mut dead = model.get_weights();
    dead[1][1] = -100.0;
    model.set_weights(&dead).unwrap();
    for _ in 0..2000 {
        model.train_on_batch(&x, &y).unwrap();
    }
    let state = model.optimizer().unwrap().state();
    let subnormal = state.buffers[0]
        .slots
        .iter()
        .flat_map(|s| s.iter().copied())
        .filter(|&v| is_subnormal(v))
        .count();
    (model.get_weights(), subnormal)
}

fn dead_unit() {
    ndnet::set_flush_subnormals(false);
    let (weights_off, subnormal_off) = dead_unit_run();
    ndnet::set_flush_subnormals(true);
    let (weights_on, subnormal_on) = dead_unit_run();
    // The dead unit's incoming weight and bias and its outgoing weight: 3 velocities stuck at
    // subnormal values without the flush, none with it.
    assert_eq!(
        subnormal_off, 3,
        "velocities left subnormal without the flush"
    );
    assert_eq!(subnormal_on, 0);
    // Adding a subnormal velocity to a weight of normal size changes nothing: same weights.
    assert_eq!(weights_off, weights_on);
}

fn main() {
    assert!(ndnet::flush_subnormals(), "on by default");
    sgd_velocity();
    adam_moments();
    activations();
    dead_unit();
    ndnet::set_flush_subnormals(true);
    println!("subnormals: 4 checks passed");
}
