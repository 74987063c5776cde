//! Every misuse is reported as an `Error` value (never a panic) that says what and where.

use ndarray::{Array2, ArrayD, array};
use ndnet::prelude::*;

/// 3 -> Dense(4, relu) -> Dense(1, sigmoid), BCE, SGD.
fn compiled() -> Sequential {
    let mut model = uncompiled();
    model.compile(BinaryCrossentropy, Sgd::new(0.1)).unwrap();
    model
}

fn uncompiled() -> Sequential {
    let mut model = Sequential::new(3).with_seed(1);
    model
        .add(Dense::new(4).activation(Activation::Relu))
        .unwrap();
    model
        .add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    model
}

fn data(rows: usize) -> (Array2<f32>, Array2<f32>) {
    let x = Array2::from_shape_fn((rows, 3), |(i, j)| (i + j) as f32 * 0.1);
    let y = Array2::from_shape_fn((rows, 1), |(i, _)| (i % 2) as f32);
    (x, y)
}

fn fit_options() -> FitOptions<'static> {
    FitOptions {
        epochs: 1,
        batch_size: 2,
        ..Default::default()
    }
}

fn contains_all(err: &Error, needles: &[&str]) {
    let msg = err.to_string();
    for n in needles {
        assert!(msg.contains(n), "{n:?} missing from {msg:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Data shape and values
// ---------------------------------------------------------------------------------------------

#[test]
fn fit_with_the_wrong_input_width_names_the_first_layer_and_both_widths() {
    let mut model = compiled();
    let x = Array2::<f32>::zeros((4, 5));
    let y = Array2::<f32>::zeros((4, 1));
    let err = model.fit(&x, &y, &fit_options()).unwrap_err();
    assert!(matches!(
        err,
        Error::LayerInputMismatch {
            index: 0,
            expected: 3,
            found: 5,
            ..
        }
    ));
    contains_all(
        &err,
        &["layer 0", "dense", "Dense", "(batch, 3)", "(batch, 5)"],
    );
}

#[test]
fn predict_with_the_wrong_input_width_is_an_error() {
    let model = uncompiled();
    let err = model.predict(&Array2::<f32>::zeros((2, 2))).unwrap_err();
    contains_all(&err, &["dense", "(batch, 3)", "(batch, 2)"]);
}

#[test]
fn evaluate_and_train_on_batch_with_the_wrong_input_width_are_errors() {
    let mut model = compiled();
    let (x, y) = (Array2::<f32>::zeros((2, 4)), Array2::<f32>::zeros((2, 1)));
    let e1 = model.evaluate(&x, &y).unwrap_err();
    let e2 = model.train_on_batch(&x, &y).unwrap_err();
    contains_all(&e1, &["(batch, 3)", "(batch, 4)"]);
    contains_all(&e2, &["(batch, 3)", "(batch, 4)"]);
}

#[test]
fn x_and_y_with_different_row_counts_are_rejected() {
    let mut model = compiled();
    let (x, _) = data(4);
    let (_, y) = data(3);
    let err = model.fit(&x, &y, &fit_options()).unwrap_err();
    assert!(matches!(
        err,
        Error::RowCountMismatch {
            x_rows: 4,
            y_rows: 3,
            ..
        }
    ));
    contains_all(&err, &["fit", "4 rows", "3"]);
}

#[test]
fn targets_wider_than_the_output_are_rejected() {
    let mut model = compiled();
    let (x, _) = data(4);
    let y = Array2::<f32>::zeros((4, 2));
    let err = model.fit(&x, &y, &fit_options()).unwrap_err();
    contains_all(&err, &["targets", "[4, 1]", "[4, 2]"]);
}

#[test]
fn empty_data_is_rejected() {
    let mut model = compiled();
    let (x, y) = (Array2::<f32>::zeros((0, 3)), Array2::<f32>::zeros((0, 1)));
    let err = model.fit(&x, &y, &fit_options()).unwrap_err();
    assert!(matches!(err, Error::EmptyData(_)));
    contains_all(&err, &["fit", "empty"]);
}

#[test]
fn predict_on_no_rows_is_rejected() {
    let model = uncompiled();
    let err = model.predict(&Array2::<f32>::zeros((0, 3))).unwrap_err();
    contains_all(&err, &["predict", "empty"]);
}

#[test]
fn batch_size_zero_is_rejected() {
    let mut model = compiled();
    let (x, y) = data(4);
    let options = FitOptions {
        batch_size: 0,
        ..fit_options()
    };
    let err = model.fit(&x, &y, &options).unwrap_err();
    contains_all(&err, &["batch_size", "0"]);
}

#[test]
fn nan_in_x_is_reported_with_its_row_and_column() {
    let mut model = compiled();
    let (mut x, y) = data(4);
    x[[2, 1]] = f32::NAN;
    let err = model.fit(&x, &y, &fit_options()).unwrap_err();
    assert!(matches!(
        err,
        Error::NonFinite {
            row: 2,
            column: 1,
            ..
        }
    ));
    contains_all(&err, &["NaN", "row 2", "column 1"]);
}

#[test]
fn infinity_in_x_is_reported_with_its_row_and_column() {
    let mut model = compiled();
    let (mut x, y) = data(4);
    x[[3, 0]] = f32::NEG_INFINITY;
    let err = model.train_on_batch(&x, &y).unwrap_err();
    contains_all(&err, &["-inf", "row 3", "column 0"]);
}

#[test]
fn nan_in_y_is_reported_with_its_row_and_column() {
    let model = compiled();
    let (x, mut y) = data(4);
    y[[1, 0]] = f32::NAN;
    let err = model.evaluate(&x, &y).unwrap_err();
    contains_all(&err, &["NaN", "row 1", "column 0"]);
}

#[test]
fn infinity_in_y_is_reported_with_its_row_and_column() {
    let mut model = compiled();
    let (x, mut y) = data(4);
    y[[3, 0]] = f32::INFINITY;
    let err = model.fit(&x, &y, &fit_options()).unwrap_err();
    contains_all(&err, &["inf", "row 3", "column 0"]);
}

#[test]
fn predict_rejects_nan_inputs() {
    let model = uncompiled();
    let err = model.predict(&array![[0.0f32, f32::NAN, 0.0]]).unwrap_err();
    contains_all(&err, &["predict", "row 0", "column 1"]);
}

#[test]
fn binary_labels_above_one_are_rejected() {
    let mut model = compiled();
    let (x, mut y) = data(4);
    y[[1, 0]] = 2.0;
    let err = model.fit(&x, &y, &fit_options()).unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidTarget {
            row: 1,
            column: 0,
            ..
        }
    ));
    contains_all(&err, &["binary_crossentropy", "row 1", "2", "[0, 1]"]);
}

#[test]
fn negative_binary_labels_are_rejected() {
    let mut model = compiled();
    let (x, mut y) = data(4);
    y[[3, 0]] = -0.5;
    let err = model.train_on_batch(&x, &y).unwrap_err();
    contains_all(&err, &["binary_crossentropy", "row 3", "-0.5"]);
}

#[test]
fn categorical_targets_not_summing_to_one_are_rejected() {
    let mut model = Sequential::new(2).with_seed(0);
    model
        .add(Dense::new(3).activation(Activation::Softmax))
        .unwrap();
    model
        .compile(CategoricalCrossentropy, Sgd::new(0.1))
        .unwrap();
    let x = array![[0.0f32, 1.0], [1.0, 0.0]];
    // Row 1 sums to 0.8.
    let y = array![[0.0f32, 1.0, 0.0], [0.5, 0.2, 0.1]];
    let err = model.fit(&x, &y, &fit_options()).unwrap_err();
    contains_all(&err, &["categorical_crossentropy", "row 1", "sum to 1"]);
}

// ---------------------------------------------------------------------------------------------
// Invalid layers and hyper-parameters
// ---------------------------------------------------------------------------------------------

fn add_error(layer: impl Layer + 'static) -> Error {
    let mut model = Sequential::new(3).with_seed(0);
    let err = model.add(layer).unwrap_err();
    assert!(
        model.layers().is_empty(),
        "a rejected layer must not be added"
    );
    err
}

#[test]
fn dense_with_zero_units_is_rejected() {
    let err = add_error(Dense::new(0));
    contains_all(&err, &["layer 0", "Dense", "units", "0"]);
}

#[test]
fn a_rejected_layer_keeps_the_parameter_error_as_its_source() {
    match add_error(Dropout::new(1.5)) {
        Error::Layer {
            index,
            kind,
            source,
        } => {
            assert_eq!((index, kind.as_str()), (0, "Dropout"));
            assert!(matches!(*source, Error::InvalidParameter { ref name, .. } if name == "rate"));
        }
        other => panic!("expected Error::Layer, got {other:?}"),
    }
}

#[test]
fn dropout_rate_one_is_rejected() {
    contains_all(&add_error(Dropout::new(1.0)), &["Dropout", "rate", "1"]);
}

#[test]
fn max_norm_zero_is_rejected() {
    let err = add_error(Dense::new(2).kernel_constraint(MaxNorm::new(0.0)));
    contains_all(&err, &["MaxNorm", "max_value", "0"]);
}

#[test]
fn a_negative_initializer_stddev_is_rejected() {
    let err = add_error(Dense::new(2).kernel_initializer(Initializer::RandomNormal {
        mean: 0.0,
        stddev: -0.05,
    }));
    contains_all(&err, &["stddev", "-0.05"]);
}

#[test]
fn an_empty_uniform_initializer_range_is_rejected() {
    let err = add_error(
        Dense::new(2).bias_initializer(Initializer::RandomUniform { min: 1.0, max: 1.0 }),
    );
    contains_all(&err, &["range"]);
}

#[test]
fn a_negative_leaky_relu_slope_is_rejected() {
    contains_all(
        &add_error(ndnet::layers::leaky_relu(-0.3)),
        &["alpha", "-0.3"],
    );
}

#[test]
fn a_model_with_zero_inputs_is_rejected() {
    let mut model = Sequential::new(0);
    let err = model.add(Dense::new(2)).unwrap_err();
    contains_all(&err, &["input_dim", "0"]);
}

#[test]
fn sgd_learning_rate_zero_is_rejected_at_compile() {
    let mut model = uncompiled();
    let err = model
        .compile(BinaryCrossentropy, Sgd::new(0.0))
        .unwrap_err();
    contains_all(&err, &["SGD", "learning_rate", "0"]);
    assert!(!model.is_compiled());
}

#[test]
fn adam_beta_one_is_rejected_at_compile() {
    let mut model = uncompiled();
    let err = model
        .compile(BinaryCrossentropy, Adam::new(0.001).betas(1.0, 0.999))
        .unwrap_err();
    contains_all(&err, &["Adam", "beta_1", "1"]);
}

// ---------------------------------------------------------------------------------------------
// Model state
// ---------------------------------------------------------------------------------------------

#[test]
fn fit_before_compile_is_an_error() {
    let mut model = uncompiled();
    let (x, y) = data(4);
    let err = model.fit(&x, &y, &fit_options()).unwrap_err();
    assert!(matches!(err, Error::InvalidState(_)));
    contains_all(&err, &["fit", "before compile"]);
}

#[test]
fn evaluate_before_compile_is_an_error() {
    let model = uncompiled();
    let (x, y) = data(4);
    contains_all(
        &model.evaluate(&x, &y).unwrap_err(),
        &["evaluate", "before compile"],
    );
}

#[test]
fn train_on_batch_before_compile_is_an_error() {
    let mut model = uncompiled();
    let (x, y) = data(4);
    contains_all(
        &model.train_on_batch(&x, &y).unwrap_err(),
        &["train_on_batch", "before compile"],
    );
}

#[test]
fn adding_a_layer_undoes_compile() {
    let mut model = compiled();
    model.add(Dense::new(1)).unwrap();
    assert!(!model.is_compiled());
    let (x, y) = data(4);
    contains_all(
        &model.fit(&x, &y, &fit_options()).unwrap_err(),
        &["before compile"],
    );
}

#[test]
fn compile_on_an_empty_model_is_an_error() {
    let mut model = Sequential::new(3);
    let err = model
        .compile(BinaryCrossentropy, Sgd::new(0.1))
        .unwrap_err();
    contains_all(&err, &["compile", "no layers"]);
}

#[test]
fn predict_on_an_empty_model_is_an_error() {
    let model = Sequential::new(3);
    let err = model.predict(&Array2::<f32>::zeros((2, 3))).unwrap_err();
    contains_all(&err, &["predict", "no layers"]);
}

// ---------------------------------------------------------------------------------------------
// set_weights
// ---------------------------------------------------------------------------------------------

#[test]
fn set_weights_with_the_wrong_count_changes_nothing() {
    let mut model = compiled();
    let before = model.get_weights();
    let mut fewer = before.clone();
    fewer.pop();
    let err = model.set_weights(&fewer).unwrap_err();
    contains_all(&err, &["number of weight tensors", "[4]", "[3]"]);
    assert_eq!(model.get_weights(), before);
}

#[test]
fn set_weights_reports_the_row_and_column_of_a_nan_weight() {
    let mut model = compiled();
    let mut w = model.get_weights();
    // kernel of the first Dense layer is (3, units): poison row 2, column 1
    w[0][[2, 1]] = f32::NAN;
    match model.set_weights(&w).unwrap_err() {
        Error::NonFinite { row, column, .. } => assert_eq!((row, column), (2, 1)),
        other => panic!("expected NonFinite, got {other:?}"),
    }
}

#[test]
fn set_weights_with_a_wrong_shape_changes_nothing() {
    // Tensor 0 is valid (and different), tensor 2 has the wrong shape: tensor 0 must not be
    // written either.
    let mut model = compiled();
    let before = model.get_weights();
    let mut new: Vec<ArrayD<f32>> = before.iter().map(|w| w.mapv(|v| v + 1.0)).collect();
    new[2] = Array2::<f32>::zeros((1, 4)).into_dyn();
    let err = model.set_weights(&new).unwrap_err();
    contains_all(&err, &["tensor 2", "[4, 1]", "[1, 4]"]);
    assert_eq!(model.get_weights(), before);
}

#[test]
fn set_weights_with_a_nan_changes_nothing() {
    let mut model = compiled();
    let before = model.get_weights();
    let mut new = before.clone();
    new[1][[2]] = f32::NAN;
    let err = model.set_weights(&new).unwrap_err();
    contains_all(&err, &["tensor 1", "NaN"]);
    assert_eq!(model.get_weights(), before);
}

// ---------------------------------------------------------------------------------------------
// Validation data
// ---------------------------------------------------------------------------------------------

#[test]
fn validation_data_with_the_wrong_width_is_rejected_before_training() {
    let mut model = compiled();
    let before = model.get_weights();
    let (x, y) = data(4);
    let vx = Array2::<f32>::zeros((2, 2));
    let vy = Array2::<f32>::zeros((2, 1));
    let options = FitOptions {
        validation_data: Some((vx.view(), vy.view())),
        ..fit_options()
    };
    let err = model.fit(&x, &y, &options).unwrap_err();
    contains_all(&err, &["validation_data", "(batch, 3)", "(batch, 2)"]);
    assert_eq!(model.get_weights(), before, "no step may be taken");
}

#[test]
fn validation_data_with_mismatched_rows_names_validation_data() {
    let mut model = compiled();
    let (x, y) = data(4);
    let (vx, _) = data(3);
    let (_, vy) = data(2);
    let options = FitOptions {
        validation_data: Some((vx.view(), vy.view())),
        ..fit_options()
    };
    let err = model.fit(&x, &y, &options).unwrap_err();
    contains_all(&err, &["validation_data", "3 rows", "2"]);
}

#[test]
fn invalid_validation_labels_are_rejected() {
    let mut model = compiled();
    let (x, y) = data(4);
    let (vx, mut vy) = data(2);
    vy[[1, 0]] = 3.0;
    let options = FitOptions {
        validation_data: Some((vx.view(), vy.view())),
        ..fit_options()
    };
    let err = model.fit(&x, &y, &options).unwrap_err();
    contains_all(&err, &["binary_crossentropy", "row 1", "3"]);
}

// ---------------------------------------------------------------------------------------------
// Divergence
// ---------------------------------------------------------------------------------------------

/// One linear unit, MSE, targets of 1e6 and inputs of 10 with lr 1: every step multiplies the
/// error by about 2 · lr · (x² + 1) = 202, so the squared error passes f32::MAX (3.4e38) within
/// a handful of steps.
fn diverging() -> (Sequential, Array2<f32>, Array2<f32>) {
    let mut model = Sequential::new(1).with_seed(0);
    model.add(Dense::new(1)).unwrap();
    model.compile(MeanSquaredError, Sgd::new(1.0)).unwrap();
    (
        model,
        Array2::from_elem((8, 1), 10.0),
        Array2::from_elem((8, 1), 1e6),
    )
}

#[test]
fn fit_reports_divergence_with_epoch_and_batch() {
    let (mut model, x, y) = diverging();
    let options = FitOptions {
        epochs: 100,
        batch_size: 2,
        ..Default::default()
    };
    let err = model.fit(&x, &y, &options).unwrap_err();
    match *err.root() {
        Error::Diverged { epoch, batch, loss } => {
            assert!((1..=100).contains(&epoch), "epoch {epoch}");
            assert!((1..=4).contains(&batch), "batch {batch}");
            assert!(!loss.is_finite());
        }
        ref other => panic!("expected Diverged, got {other:?}"),
    }
    contains_all(&err, &["epoch", "batch", "learning rate"]);
}

#[test]
fn train_on_batch_reports_divergence() {
    let (mut model, x, y) = diverging();
    let mut result = Ok(0.0);
    for _ in 0..100 {
        result = model.train_on_batch(&x, &y);
        if result.is_err() {
            break;
        }
    }
    let err = result.unwrap_err();
    assert!(matches!(err, Error::Diverged { .. }), "{err:?}");
    contains_all(&err, &["epoch", "batch"]);
}
