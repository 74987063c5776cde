//! `validation_split`, `sample_weight` and `class_weight` in `fit`, with Keras's semantics and
//! losses worked out by hand.
//!
//! Most tests use `y = x · w` with one weight `w = 1` (no bias), mean squared error, and a
//! learning rate of 1e-30, so the weight does not move in f32 (1 - 1e-30 · g rounds to 1) and
//! every loss is the loss at `w = 1`: a row `x` with target `t` costs `(x - t)²`.

use ndarray::{Array1, Array2, array};
use ndnet::prelude::*;

fn identity_model(outputs: usize) -> Sequential {
    let mut model = Sequential::new(1).with_seed(1);
    model.add(Dense::new(outputs).use_bias(false)).unwrap();
    model
        .set_weights(&[Array2::from_elem((1, outputs), 1.0f32).into_dyn()])
        .unwrap();
    model.compile(MeanSquaredError, Sgd::new(1e-30)).unwrap();
    model
}

/// x = 0, 1, ..., n - 1 as a column; targets 0.
fn column(n: usize) -> (Array2<f32>, Array2<f32>) {
    let x = Array2::from_shape_fn((n, 1), |(i, _)| i as f32);
    (x, Array2::zeros((n, 1)))
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= 1e-5 * b.abs().max(1.0)
}

#[test]
fn validation_split_holds_out_the_last_rows_before_shuffling() {
    // 10 rows, split 0.2: rows 0..8 train, rows 8 and 9 validate.
    // loss = mean(0² .. 7²) = 140 / 8 = 17.5; val_loss = (8² + 9²) / 2 = 72.5.
    let mut model = identity_model(1);
    let (x, y) = column(10);
    let options = FitOptions {
        epochs: 2,
        batch_size: 3,
        shuffle: true,
        validation_split: 0.2,
        ..Default::default()
    };
    let h = model.fit(&x, &y, &options).unwrap();
    assert!(h.loss.iter().all(|&l| close(l, 17.5)), "{:?}", h.loss);
    assert!(
        h.val_loss.iter().all(|&l| close(l, 72.5)),
        "{:?}",
        h.val_loss
    );
}

#[test]
fn validation_split_rounds_the_training_part_down_as_keras() {
    // 10 rows, split 0.25: floor(10 · 0.75) = 7 train; rows 7, 8, 9 validate:
    // (49 + 64 + 81) / 3 = 64.666...
    let mut model = identity_model(1);
    let (x, y) = column(10);
    let options = FitOptions {
        validation_split: 0.25,
        ..Default::default()
    };
    let h = model.fit(&x, &y, &options).unwrap();
    assert!(close(h.val_loss[0], 194.0 / 3.0), "{:?}", h.val_loss);
    assert!(close(h.loss[0], 91.0 / 7.0), "{:?}", h.loss);
}

#[test]
fn a_validation_split_that_leaves_a_part_empty_is_an_error() {
    let mut model = identity_model(1);
    let (x, y) = column(1);
    let options = FitOptions {
        validation_split: 0.5,
        ..Default::default()
    };
    // floor(1 · 0.5) = 0 training rows.
    assert!(model.fit(&x, &y, &options).is_err());
    let (x, y) = column(10);
    for bad in [1.0, -0.1, f64::NAN] {
        let options = FitOptions {
            validation_split: bad,
            ..Default::default()
        };
        let e = model.fit(&x, &y, &options).unwrap_err();
        assert!(e.to_string().contains("validation_split"), "{e}");
    }
}

#[test]
fn validation_data_takes_precedence_over_validation_split() {
    // Keras: validation_data overrides validation_split; all 4 rows train: (0+1+4+9)/4 = 3.5.
    let mut model = identity_model(1);
    let (x, y) = column(4);
    let vx = array![[10.0f32]];
    let vy = array![[0.0f32]];
    let options = FitOptions {
        validation_split: 0.5,
        validation_data: Some((vx.view(), vy.view())),
        ..Default::default()
    };
    let h = model.fit(&x, &y, &options).unwrap();
    assert!(close(h.loss[0], 3.5));
    assert!(close(h.val_loss[0], 100.0));
}

#[test]
fn sample_weight_scales_each_rows_loss_and_divides_by_the_row_count() {
    // Rows x = 1, 2 (targets 0) cost 1 and 4; weights 2 and 0.5:
    // Keras's SUM_OVER_BATCH_SIZE: (2 · 1 + 0.5 · 4) / 2 = 2 (unweighted: 2.5).
    let mut model = identity_model(1);
    let x = array![[1.0f32], [2.0]];
    let y = array![[0.0f32], [0.0]];
    let w = array![2.0f32, 0.5];
    let options = FitOptions {
        batch_size: 2,
        sample_weight: Some(w.view()),
        ..Default::default()
    };
    let h = model.fit(&x, &y, &options).unwrap();
    assert!(close(h.loss[0], 2.0), "{:?}", h.loss);
}

#[test]
fn sample_weight_scales_the_gradient_too() {
    // d/dw of Σ w_i (x_i w - 0)² / 2 at w = 1: (2 · 2 · 1 + 0.5 · 2 · 2 · 2) / 2 = 4;
    // SGD with lr 0.01: w = 1 - 0.04 = 0.96.
    let mut model = identity_model(1);
    model.compile(MeanSquaredError, Sgd::new(0.01)).unwrap();
    let x = array![[1.0f32], [2.0]];
    let y = array![[0.0f32], [0.0]];
    let w = array![2.0f32, 0.5];
    let options = FitOptions {
        batch_size: 2,
        sample_weight: Some(w.view()),
        ..Default::default()
    };
    model.fit(&x, &y, &options).unwrap();
    let weight = model.get_weights()[0][[0, 0]];
    assert!(close(weight, 0.96), "{weight}");
}

#[test]
fn class_weight_multiplies_the_loss_of_each_rows_class() {
    // x = 1, 2 with classes 0, 1: both rows cost 1 ((1-0)², (2-1)²);
    // class weights 3 and 0.5: (3 · 1 + 0.5 · 1) / 2 = 1.75.
    let mut model = identity_model(1);
    let x = array![[1.0f32], [2.0]];
    let y = array![[0.0f32], [1.0]];
    let options = FitOptions {
        batch_size: 2,
        class_weight: Some(&[3.0, 0.5]),
        ..Default::default()
    };
    let h = model.fit(&x, &y, &options).unwrap();
    assert!(close(h.loss[0], 1.75), "{:?}", h.loss);
}

#[test]
fn class_weight_multiplies_sample_weight() {
    // Sample weights 2 and 4 times class weights 3 and 0.5: 6 and 2; (6 · 1 + 2 · 1) / 2 = 4.
    let mut model = identity_model(1);
    let x = array![[1.0f32], [2.0]];
    let y = array![[0.0f32], [1.0]];
    let w = array![2.0f32, 4.0];
    let options = FitOptions {
        batch_size: 2,
        class_weight: Some(&[3.0, 0.5]),
        sample_weight: Some(w.view()),
        ..Default::default()
    };
    let h = model.fit(&x, &y, &options).unwrap();
    assert!(close(h.loss[0], 4.0), "{:?}", h.loss);
}

#[test]
fn class_weight_uses_the_arg_max_of_one_hot_targets() {
    // Softmax over two zero logits: p = (0.5, 0.5), each row costs ln 2 = 0.693147.
    // Rows of classes 0, 1, 1 with class weights 2, 1: (2 + 1 + 1) · ln 2 / 3 = 0.924196.
    let mut model = Sequential::new(1).with_seed(1);
    model
        .add(
            Dense::new(2)
                .use_bias(false)
                .activation(Activation::Softmax),
        )
        .unwrap();
    model
        .set_weights(&[Array2::<f32>::zeros((1, 2)).into_dyn()])
        .unwrap();
    model
        .compile(CategoricalCrossentropy, Sgd::new(1e-30))
        .unwrap();
    let x = array![[1.0f32], [2.0], [3.0]];
    let y = array![[1.0f32, 0.0], [0.0, 1.0], [0.0, 1.0]];
    let options = FitOptions {
        batch_size: 3,
        class_weight: Some(&[2.0, 1.0]),
        ..Default::default()
    };
    let h = model.fit(&x, &y, &options).unwrap();
    assert!(
        close(h.loss[0], 4.0 * std::f32::consts::LN_2 / 3.0),
        "{:?}",
        h.loss
    );
}

#[test]
fn validation_rows_keep_their_sample_weights_but_not_the_class_weights() {
    // x = 0, 1, 2, 3 (class 0), split 0.5: rows 0, 1 train, rows 2, 3 validate.
    // Sample weights 1, 1, 1, 0.5; class weight 10 for class 0.
    // loss = 10 · (0 + 1) / 2 = 5; val_loss = (4 + 0.5 · 9) / 2 = 4.25.
    let mut model = identity_model(1);
    let (x, y) = column(4);
    let w = array![1.0f32, 1.0, 1.0, 0.5];
    let options = FitOptions {
        batch_size: 2,
        validation_split: 0.5,
        sample_weight: Some(w.view()),
        class_weight: Some(&[10.0]),
        ..Default::default()
    };
    let h = model.fit(&x, &y, &options).unwrap();
    assert!(close(h.loss[0], 5.0), "{:?}", h.loss);
    assert!(close(h.val_loss[0], 4.25), "{:?}", h.val_loss);
}

#[test]
fn a_class_without_a_weight_is_an_error_naming_the_row() {
    let mut model = identity_model(1);
    let x = array![[1.0f32], [2.0], [3.0]];
    let y = array![[0.0f32], [1.0], [2.0]];
    let options = FitOptions {
        class_weight: Some(&[1.0, 1.0]),
        ..Default::default()
    };
    let e = model.fit(&x, &y, &options).unwrap_err();
    assert!(
        e.to_string().contains("class_weight") && e.to_string().contains("row 2"),
        "{e}"
    );
}

#[test]
fn sample_weights_of_the_wrong_length_or_sign_are_errors() {
    let mut model = identity_model(1);
    let (x, y) = column(3);
    let short = Array1::from_elem(2, 1.0f32);
    let options = FitOptions {
        sample_weight: Some(short.view()),
        ..Default::default()
    };
    assert!(matches!(
        model.fit(&x, &y, &options),
        Err(Error::ShapeMismatch { .. })
    ));
    let negative = array![1.0f32, -1.0, 1.0];
    let options = FitOptions {
        sample_weight: Some(negative.view()),
        ..Default::default()
    };
    let e = model.fit(&x, &y, &options).unwrap_err();
    assert!(e.to_string().contains("sample_weight[1]"), "{e}");
}
