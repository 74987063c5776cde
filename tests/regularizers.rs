//! L1/L2 kernel regularizers: the penalty in the loss and its gradient, worked out by hand.

use ndarray::{Array2, array};
use ndnet::prelude::*;

#[test]
fn the_penalty_is_l1_sum_abs_plus_l2_sum_squares() {
    // Σ|w| = 1 + 2 + 0 + 3 = 6, Σw² = 1 + 4 + 0 + 9 = 14.
    let w = array![[1.0f32, -2.0], [0.0, 3.0]];
    assert!((Regularizer::l1(0.1).penalty(w.view()) - 0.6).abs() < 1e-6);
    assert!((Regularizer::l2(0.01).penalty(w.view()) - 0.14).abs() < 1e-6);
    assert!((Regularizer::l1_l2(0.1, 0.01).penalty(w.view()) - 0.74).abs() < 1e-6);
}

#[test]
fn the_gradient_is_l1_sign_plus_twice_l2_w_with_sign_of_zero_zero() {
    // l1 · sign(w) = [[0.1, -0.1], [0, 0.1]]; 2 · l2 · w = [[0.02, -0.04], [0, 0.06]].
    let w = array![[1.0f32, -2.0], [0.0, 3.0]];
    let mut g = Array2::from_elem((2, 2), 1.0f32);
    Regularizer::l1_l2(0.1, 0.01).add_gradient(w.view(), g.view_mut());
    let expected = array![[1.12f32, 0.86], [1.0, 1.16]];
    for (got, want) in g.iter().zip(expected.iter()) {
        assert!((got - want).abs() < 1e-6, "{g}");
    }
}

/// `y = x · W` with `W = [[w0], [w1]]`, no bias, mean squared error.
fn linear(w: [f32; 2], reg: Regularizer) -> Sequential {
    let mut model = Sequential::new(2).with_seed(1);
    model
        .add(Dense::new(1).use_bias(false).kernel_regularizer(reg))
        .unwrap();
    model
        .set_weights(&[array![[w[0]], [w[1]]].into_dyn()])
        .unwrap();
    model.compile(MeanSquaredError, Sgd::new(0.01)).unwrap();
    model
}

fn kernel_grad(model: &mut Sequential) -> Vec<f32> {
    let mut out = Vec::new();
    model.layers_mut()[0].visit_params(&mut |p| out.extend(p.grad.iter().copied()));
    out
}

#[test]
fn l2_adds_its_penalty_to_the_batch_loss_and_its_gradient_to_the_kernel() {
    // x = [1, 1], W = [1, 2]: p = 3, y = 0, mse = 9; penalty 0.5 · (1 + 4) = 2.5: loss 11.5.
    // dmse/dW = 2 (p - y) x = [6, 6]; d penalty/dW = 2 · 0.5 · W = [1, 2]: [7, 8].
    let mut model = linear([1.0, 2.0], Regularizer::l2(0.5));
    let loss = model
        .compute_gradients(&array![[1.0f32, 1.0]], &array![[0.0f32]])
        .unwrap();
    assert!((loss - 11.5).abs() < 1e-5, "{loss}");
    assert_eq!(kernel_grad(&mut model), vec![7.0, 8.0]);
}

#[test]
fn l1_adds_its_penalty_and_sign_gradient_and_nothing_for_a_zero_weight() {
    // W = [0, 2]: p = 2, mse = 4; penalty 0.1 · 2 = 0.2: loss 4.2.
    // dmse/dW = 2 · 2 · [1, 1] = [4, 4]; + 0.1 · sign(W) = [0, 0.1]: [4, 4.1].
    let mut model = linear([0.0, 2.0], Regularizer::l1(0.1));
    let loss = model
        .compute_gradients(&array![[1.0f32, 1.0]], &array![[0.0f32]])
        .unwrap();
    assert!((loss - 4.2).abs() < 1e-5, "{loss}");
    let g = kernel_grad(&mut model);
    assert_eq!(g[0], 4.0);
    assert!((g[1] - 4.1).abs() < 1e-6, "{g:?}");
}

#[test]
fn evaluate_and_the_fit_history_include_the_penalty_as_keras_does() {
    // Same as above with L2 0.5: 9 + 2.5 = 11.5 before the update.
    let x = array![[1.0f32, 1.0]];
    let y = array![[0.0f32]];
    let mut model = linear([1.0, 2.0], Regularizer::l2(0.5));
    assert!((model.evaluate(&x, &y).unwrap().loss - 11.5).abs() < 1e-5);
    let options = FitOptions {
        epochs: 1,
        batch_size: 1,
        ..Default::default()
    };
    let h = model.fit(&x, &y, &options).unwrap();
    assert!((h.loss[0] - 11.5).abs() < 1e-5, "{:?}", h.loss);
}

#[test]
fn a_training_step_moves_the_weights_by_the_regularized_gradient() {
    // SGD lr 0.01 on the gradient [7, 8]: W = [1 - 0.07, 2 - 0.08] = [0.93, 1.92].
    let mut model = linear([1.0, 2.0], Regularizer::l2(0.5));
    model
        .train_on_batch(&array![[1.0f32, 1.0]], &array![[0.0f32]])
        .unwrap();
    let w = model.get_weights()[0].clone();
    assert!(
        (w[[0, 0]] - 0.93).abs() < 1e-6 && (w[[1, 0]] - 1.92).abs() < 1e-6,
        "{w}"
    );
}

#[test]
fn a_layer_without_regularizer_adds_nothing() {
    let mut model = Sequential::new(2).with_seed(1);
    model.add(Dense::new(1).use_bias(false)).unwrap();
    assert_eq!(model.layers()[0].regularization_loss(), 0.0);
}

#[test]
fn negative_or_non_finite_coefficients_are_refused_when_the_layer_is_added() {
    let mut model = Sequential::new(2);
    assert!(
        model
            .add(Dense::new(1).kernel_regularizer(Regularizer::l2(-0.1)))
            .is_err()
    );
    assert!(
        model
            .add(Dense::new(1).kernel_regularizer(Regularizer::l1(f32::NAN)))
            .is_err()
    );
}

#[test]
fn the_regularizer_is_part_of_the_dense_config() {
    let layer = Dense::new(3).kernel_regularizer(Regularizer::l1_l2(0.01, 0.02));
    match layer.config() {
        ndnet::layers::LayerConfig::Dense {
            kernel_regularizer, ..
        } => assert_eq!(kernel_regularizer, Some(Regularizer { l1: 0.01, l2: 0.02 })),
        c => panic!("{c:?}"),
    }
}
