//! End-to-end training: small problems learned to 100% accuracy, the `History` logs, batching,
//! reproducibility, prediction, weights and the summary table.
//!
//! The data sets are generated deterministically with a seeded `SmallRng` and `rand_distr`'s
//! `Normal`, and every model is seeded, so each test is the same computation on every run.

use ndarray::{Array2, ArrayD, array};
use ndnet::prelude::*;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand_distr::{Distribution, Normal};

fn xor() -> (Array2<f32>, Array2<f32>) {
    (
        array![[0.0f32, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]],
        array![[0.0f32], [1.0], [1.0], [0.0]],
    )
}

/// `per_class` points around each center with standard deviation `std` in every coordinate;
/// labels are the class indices.
fn blobs(centers: &[[f32; 2]], per_class: usize, std: f32, seed: u64) -> (Array2<f32>, Vec<usize>) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let noise = Normal::new(0.0f32, std).unwrap();
    let n = centers.len() * per_class;
    let mut x = Array2::zeros((n, 2));
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let class = i % centers.len();
        for j in 0..2 {
            x[[i, j]] = centers[class][j] + noise.sample(&mut rng);
        }
        labels.push(class);
    }
    (x, labels)
}

/// Two blobs centred at (-2, -2) and (2, 2), std 0.5: the centres are 4√2 = 5.66 apart, i.e.
/// 5.66 sigma on each side of the separating line: 200 points are separable.
fn two_blobs(seed: u64) -> (Array2<f32>, Array2<f32>) {
    let (x, labels) = blobs(&[[-2.0, -2.0], [2.0, 2.0]], 100, 0.5, seed);
    let y = Array2::from_shape_fn((labels.len(), 1), |(i, _)| labels[i] as f32);
    (x, y)
}

fn one_hot(labels: &[usize], classes: usize) -> Array2<f32> {
    Array2::from_shape_fn((labels.len(), classes), |(i, j)| {
        if labels[i] == j { 1.0 } else { 0.0 }
    })
}

fn options(epochs: usize, batch_size: usize) -> FitOptions<'static> {
    FitOptions {
        epochs,
        batch_size,
        ..Default::default()
    }
}

fn xor_model(seed: u64, dropout: Option<f32>) -> Sequential {
    let mut model = Sequential::new(2).with_seed(seed);
    model
        .add(Dense::new(16).activation(Activation::Tanh))
        .unwrap();
    if let Some(rate) = dropout {
        model.add(Dropout::new(rate)).unwrap();
    }
    model
        .add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    model
}

fn blob_model(seed: u64, dropout: Option<f32>) -> Sequential {
    let mut model = Sequential::new(2).with_seed(seed);
    model
        .add(Dense::new(8).activation(Activation::Relu))
        .unwrap();
    if let Some(rate) = dropout {
        model.add(Dropout::new(rate)).unwrap();
    }
    model
        .add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    model
}

/// The tutorial's baseline: 60 -> Dense(60, relu) -> Dense(30, relu) -> Dense(1, sigmoid).
fn sonar_baseline() -> Sequential {
    let mut model = Sequential::new(60).with_seed(7);
    for units in [60, 30] {
        model
            .add(
                Dense::new(units)
                    .activation(Activation::Relu)
                    .kernel_initializer(Initializer::KERAS_NORMAL),
            )
            .unwrap();
    }
    model
        .add(
            Dense::new(1)
                .activation(Activation::Sigmoid)
                .kernel_initializer(Initializer::KERAS_NORMAL),
        )
        .unwrap();
    model
}

// ---------------------------------------------------------------------------------------------
// Learning
// ---------------------------------------------------------------------------------------------

#[test]
fn xor_reaches_full_accuracy_with_sgd_momentum() {
    let (x, y) = xor();
    let mut model = xor_model(3, None);
    model
        .compile(BinaryCrossentropy, Sgd::new(0.5).momentum(0.9))
        .unwrap();
    model.fit(&x, &y, &options(500, 4)).unwrap();
    assert_eq!(model.evaluate(&x, &y).unwrap().accuracy, 1.0);
}

#[test]
fn xor_reaches_full_accuracy_with_adam() {
    let (x, y) = xor();
    let mut model = xor_model(4, None);
    model.compile(BinaryCrossentropy, Adam::new(0.05)).unwrap();
    model.fit(&x, &y, &options(500, 4)).unwrap();
    assert_eq!(model.evaluate(&x, &y).unwrap().accuracy, 1.0);
}

#[test]
fn xor_reaches_full_accuracy_with_dropout_in_the_model() {
    let (x, y) = xor();
    let mut model = xor_model(5, Some(0.2));
    model
        .compile(BinaryCrossentropy, Sgd::new(0.3).momentum(0.9))
        .unwrap();
    model.fit(&x, &y, &options(1000, 4)).unwrap();
    assert_eq!(model.evaluate(&x, &y).unwrap().accuracy, 1.0);
}

#[test]
fn two_blobs_reach_full_accuracy_with_sgd() {
    let (x, y) = two_blobs(1);
    let mut model = blob_model(6, None);
    model
        .compile(BinaryCrossentropy, Sgd::new(0.05).momentum(0.9))
        .unwrap();
    model.fit(&x, &y, &options(30, 16)).unwrap();
    assert_eq!(model.evaluate(&x, &y).unwrap().accuracy, 1.0);
}

#[test]
fn two_blobs_reach_full_accuracy_with_adam() {
    let (x, y) = two_blobs(2);
    let mut model = blob_model(7, None);
    model.compile(BinaryCrossentropy, Adam::new(0.01)).unwrap();
    model.fit(&x, &y, &options(30, 16)).unwrap();
    assert_eq!(model.evaluate(&x, &y).unwrap().accuracy, 1.0);
}

#[test]
fn two_blobs_reach_full_accuracy_with_dropout_in_the_model() {
    let (x, y) = two_blobs(3);
    let mut model = blob_model(8, Some(0.2));
    model
        .compile(BinaryCrossentropy, Sgd::new(0.05).momentum(0.9))
        .unwrap();
    model.fit(&x, &y, &options(30, 16)).unwrap();
    assert_eq!(model.evaluate(&x, &y).unwrap().accuracy, 1.0);
}

#[test]
fn three_blobs_reach_full_accuracy_with_softmax_and_categorical_crossentropy() {
    // Centres (-3, 0), (3, 0), (0, 4), std 0.5: the closest pair is 5 apart (10 sigma).
    let (x, labels) = blobs(&[[-3.0, 0.0], [3.0, 0.0], [0.0, 4.0]], 60, 0.5, 4);
    let y = one_hot(&labels, 3);
    let mut model = Sequential::new(2).with_seed(9);
    model
        .add(Dense::new(8).activation(Activation::Relu))
        .unwrap();
    model
        .add(Dense::new(3).activation(Activation::Softmax))
        .unwrap();
    model
        .compile(CategoricalCrossentropy, Adam::new(0.01))
        .unwrap();
    model.fit(&x, &y, &options(40, 16)).unwrap();
    assert_eq!(model.evaluate(&x, &y).unwrap().accuracy, 1.0);
    assert_eq!(model.predict_classes(&x).unwrap(), labels);
}

#[test]
fn training_lowers_the_loss() {
    let (x, y) = two_blobs(5);
    let mut model = blob_model(10, None);
    model
        .compile(BinaryCrossentropy, Sgd::new(0.05).momentum(0.9))
        .unwrap();
    let before = model.evaluate(&x, &y).unwrap().loss;
    let history = model.fit(&x, &y, &options(10, 16)).unwrap();
    let after = model.evaluate(&x, &y).unwrap().loss;
    assert!(after < before / 2.0, "{before} -> {after}");
    assert!(history.loss[9] < history.loss[0]);
}

// ---------------------------------------------------------------------------------------------
// History and batching
// ---------------------------------------------------------------------------------------------

#[test]
fn history_has_one_entry_per_epoch_and_no_validation_logs_without_validation_data() {
    let (x, y) = xor();
    let mut model = xor_model(1, None);
    model.compile(BinaryCrossentropy, Sgd::new(0.1)).unwrap();
    let history = model.fit(&x, &y, &options(7, 2)).unwrap();
    assert_eq!(history.epochs(), 7);
    assert_eq!(history.loss.len(), 7);
    assert_eq!(history.accuracy.len(), 7);
    assert!(history.val_loss.is_empty() && history.val_accuracy.is_empty());
}

#[test]
fn history_has_validation_logs_for_every_epoch_with_validation_data() {
    let (x, y) = two_blobs(6);
    let (vx, vy) = two_blobs(7);
    let mut model = blob_model(11, Some(0.5));
    model.compile(BinaryCrossentropy, Sgd::new(0.05)).unwrap();
    let options = FitOptions {
        epochs: 5,
        batch_size: 32,
        validation_data: Some((vx.view(), vy.view())),
        ..Default::default()
    };
    let history = model.fit(&x, &y, &options).unwrap();
    assert_eq!(history.val_loss.len(), 5);
    assert_eq!(history.val_accuracy.len(), 5);
    // The last validation entry is the inference-mode evaluation after the last epoch.
    let e = model.evaluate(&vx, &vy).unwrap();
    assert_eq!(history.val_loss[4], e.loss);
    assert_eq!(history.val_accuracy[4], e.accuracy);
}

#[test]
fn the_last_batch_of_an_epoch_may_be_smaller() {
    // 10 rows in batches of 4: 4 + 4 + 2, three optimizer steps per epoch; 5 epochs -> 15.
    let x = Array2::from_shape_fn((10, 2), |(i, j)| (i + j) as f32 / 10.0);
    let y = Array2::from_shape_fn((10, 1), |(i, _)| (i % 2) as f32);
    let mut model = xor_model(2, None);
    model.compile(BinaryCrossentropy, Sgd::new(0.1)).unwrap();
    model.fit(&x, &y, &options(5, 4)).unwrap();
    assert_eq!(model.optimizer_mut().unwrap().iterations(), 15);
}

#[test]
fn a_batch_larger_than_the_data_is_one_step_per_epoch() {
    let (x, y) = xor();
    let mut model = xor_model(2, None);
    model.compile(BinaryCrossentropy, Sgd::new(0.1)).unwrap();
    model.fit(&x, &y, &options(3, 32)).unwrap();
    assert_eq!(model.optimizer_mut().unwrap().iterations(), 3);
}

/// One linear unit, kernel 1, no bias, MSE, with a learning rate so small that the weight
/// never changes in f32 (1 - 1e-30·g rounds back to 1), so every batch sees the same model.
fn frozen_unit() -> Sequential {
    let mut model = Sequential::new(1).with_seed(0);
    model
        .add(
            Dense::new(1)
                .use_bias(false)
                .kernel_initializer(Initializer::Ones),
        )
        .unwrap();
    model.compile(MeanSquaredError, Sgd::new(1e-30)).unwrap();
    model
}

#[test]
fn epoch_loss_is_the_sample_weighted_mean_of_the_batch_losses() {
    // x = 0..9, y = 0, p = x: sample losses x² = 0, 1, 4, ..., 81, total 285, mean 28.5.
    // Batches of 4 (4 + 4 + 2 rows): weighting each batch mean by its rows gives 28.5 for any
    // order; the plain mean of the three batch means would not (unshuffled: 3.5, 31.5, 72.5
    // -> 35.83).
    let x = Array2::from_shape_fn((10, 1), |(i, _)| i as f32);
    let y = Array2::zeros((10, 1));
    let mut model = frozen_unit();
    let history = model.fit(&x, &y, &options(2, 4)).unwrap();
    assert_eq!(history.loss, vec![28.5, 28.5]);
    assert_eq!(model.get_weights()[0][[0, 0]], 1.0);
}

#[test]
fn training_logs_see_dropout_while_evaluate_does_not() {
    // Dropout(0.5) -> frozen Dense(1) kernel 1 without bias, MSE, x = 1..=200, y = 0.
    // evaluate (dropout off): mean x² exactly. Training mode: each x is doubled or zeroed, so
    // the epoch loss is mean(4 x² m), about twice as large and certainly different.
    let x = Array2::from_shape_fn((200, 1), |(i, _)| (i + 1) as f32);
    let y = Array2::zeros((200, 1));
    let mut model = Sequential::new(1).with_seed(3);
    model.add(Dropout::new(0.5)).unwrap();
    model
        .add(
            Dense::new(1)
                .use_bias(false)
                .kernel_initializer(Initializer::Ones),
        )
        .unwrap();
    model.compile(MeanSquaredError, Sgd::new(1e-30)).unwrap();
    let train_loss = model.fit(&x, &y, &options(1, 200)).unwrap().loss[0];
    let eval_loss = model.evaluate(&x, &y).unwrap().loss;
    // mean of (i+1)² for i < 200 = 201·401/6 = 13433.5
    assert_eq!(eval_loss, 13_433.5);
    assert_ne!(train_loss, eval_loss);
}

// ---------------------------------------------------------------------------------------------
// Reproducibility
// ---------------------------------------------------------------------------------------------

fn trained(seed: u64) -> (History, Vec<ArrayD<f32>>) {
    let (x, y) = two_blobs(8);
    let mut model = blob_model(seed, Some(0.3));
    model
        .compile(BinaryCrossentropy, Sgd::new(0.05).momentum(0.9))
        .unwrap();
    let history = model.fit(&x, &y, &options(5, 16)).unwrap();
    (history, model.get_weights())
}

#[test]
fn the_same_seed_gives_bitwise_identical_history_and_weights() {
    // Initialization, shuffling and dropout masks all come from the seed.
    let (h1, w1) = trained(42);
    let (h2, w2) = trained(42);
    assert_eq!(h1, h2);
    assert_eq!(w1, w2);
}

#[test]
fn a_different_seed_gives_different_history_and_weights() {
    let (h1, w1) = trained(42);
    let (h2, w2) = trained(43);
    assert_ne!(h1.loss, h2.loss);
    assert_ne!(w1, w2);
}

// ---------------------------------------------------------------------------------------------
// Prediction
// ---------------------------------------------------------------------------------------------

#[test]
fn predict_returns_probabilities_in_zero_one_for_a_sigmoid_output() {
    let (x, y) = two_blobs(9);
    let mut model = blob_model(12, None);
    model.compile(BinaryCrossentropy, Sgd::new(0.05)).unwrap();
    model.fit(&x, &y, &options(3, 16)).unwrap();
    let p = model.predict(&x).unwrap();
    assert_eq!(p.dim(), (200, 1));
    assert!(p.iter().all(|&v| (0.0..=1.0).contains(&v)));
}

#[test]
fn predict_returns_rows_summing_to_one_for_a_softmax_output() {
    let (x, _) = blobs(&[[0.0, 0.0]], 50, 1.0, 10);
    let mut model = Sequential::new(2).with_seed(13);
    model
        .add(Dense::new(4).activation(Activation::Softmax))
        .unwrap();
    let p = model.predict(&x).unwrap();
    for row in p.rows() {
        assert!((row.sum() - 1.0).abs() < 1e-6);
        assert!(row.iter().all(|&v| (0.0..=1.0).contains(&v)));
    }
}

#[test]
fn predict_classes_thresholds_a_single_output_at_one_half() {
    // One sigmoid unit with kernel 1 and bias 0: p = sigmoid(x). x = -1, 0, 1 gives
    // p = 0.27, 0.5, 0.73; the class is p > 0.5: 0, 0, 1.
    let mut model = Sequential::new(1).with_seed(0);
    model
        .add(
            Dense::new(1)
                .activation(Activation::Sigmoid)
                .kernel_initializer(Initializer::Ones),
        )
        .unwrap();
    assert_eq!(
        model
            .predict_classes(&array![[-1.0f32], [0.0], [1.0]])
            .unwrap(),
        vec![0, 0, 1]
    );
}

#[test]
fn predict_classes_of_a_trained_xor_model() {
    let (x, y) = xor();
    let mut model = xor_model(3, None);
    model
        .compile(BinaryCrossentropy, Sgd::new(0.5).momentum(0.9))
        .unwrap();
    model.fit(&x, &y, &options(500, 4)).unwrap();
    assert_eq!(model.predict_classes(&x).unwrap(), vec![0, 1, 1, 0]);
}

#[test]
fn predict_works_on_more_rows_than_the_training_batch() {
    // Trained in batches of 4, predicting 1000 rows goes through the buffers in chunks; the
    // result must equal row-by-row prediction.
    let (x, y) = xor();
    let mut model = xor_model(3, None);
    model.compile(BinaryCrossentropy, Sgd::new(0.1)).unwrap();
    model.fit(&x, &y, &options(2, 4)).unwrap();
    let big = Array2::from_shape_fn((1000, 2), |(i, j)| ((i * 2 + j) as f32 * 0.01).sin());
    let all = model.predict(&big).unwrap();
    for i in [0, 31, 32, 999] {
        let one = model.predict(big.slice(ndarray::s![i..i + 1, ..])).unwrap();
        assert_eq!(all[[i, 0]], one[[0, 0]]);
    }
}

// ---------------------------------------------------------------------------------------------
// Weights
// ---------------------------------------------------------------------------------------------

#[test]
fn get_weights_lists_kernel_then_bias_for_each_dense_layer() {
    // 3 -> Dense(4) -> Dropout -> Dense(2): (3, 4), (4,), (4, 2), (2,). Dropout has none.
    let mut model = Sequential::new(3).with_seed(0);
    model.add(Dense::new(4)).unwrap();
    model.add(Dropout::new(0.5)).unwrap();
    model.add(Dense::new(2)).unwrap();
    let shapes: Vec<Vec<usize>> = model
        .get_weights()
        .iter()
        .map(|w| w.shape().to_vec())
        .collect();
    assert_eq!(shapes, vec![vec![3, 4], vec![4], vec![4, 2], vec![2]]);
}

#[test]
fn set_weights_then_get_weights_round_trips() {
    let mut model = Sequential::new(3).with_seed(0);
    model.add(Dense::new(4)).unwrap();
    model.add(Dense::new(2)).unwrap();
    let new: Vec<ArrayD<f32>> = model
        .get_weights()
        .iter()
        .enumerate()
        .map(|(t, w)| w.mapv(|v| v * 2.0 + t as f32))
        .collect();
    model.set_weights(&new).unwrap();
    assert_eq!(model.get_weights(), new);
}

#[test]
fn set_weights_sets_the_function_the_model_computes() {
    // One linear unit: kernel (2, 1) = [[2], [-1]], bias 0.5: x = (1, 3) -> 2 - 3 + 0.5 = -0.5.
    let mut model = Sequential::new(2).with_seed(0);
    model.add(Dense::new(1)).unwrap();
    model
        .set_weights(&[
            array![[2.0f32], [-1.0]].into_dyn(),
            array![0.5f32].into_dyn(),
        ])
        .unwrap();
    assert_eq!(
        model.predict(&array![[1.0f32, 3.0]]).unwrap(),
        array![[-0.5f32]]
    );
}

#[test]
fn weights_copied_to_another_model_give_the_same_predictions() {
    let (x, y) = two_blobs(11);
    let mut a = blob_model(14, None);
    a.compile(BinaryCrossentropy, Sgd::new(0.05)).unwrap();
    a.fit(&x, &y, &options(3, 16)).unwrap();
    let mut b = blob_model(15, None);
    assert_ne!(a.predict(&x).unwrap(), b.predict(&x).unwrap());
    b.set_weights(&a.get_weights()).unwrap();
    assert_eq!(a.predict(&x).unwrap(), b.predict(&x).unwrap());
}

// ---------------------------------------------------------------------------------------------
// Summary
// ---------------------------------------------------------------------------------------------

#[test]
fn summary_of_the_sonar_baseline_lists_layers_shapes_and_total() {
    // Parameters: 60·60 + 60 = 3,660; 60·30 + 30 = 1,830; 30·1 + 1 = 31; total 5,521.
    let model = sonar_baseline();
    assert_eq!(model.param_count(), 5_521);
    let s = model.to_string();
    for needle in [
        "dense (Dense)",
        "dense_1 (Dense)",
        "dense_2 (Dense)",
        "(None, 60)",
        "(None, 30)",
        "(None, 1)",
        "3,660",
        "1,830",
        "31",
        "Total params: 5,521",
        "Trainable params: 5,521",
        "Non-trainable params: 0",
    ] {
        assert!(s.contains(needle), "missing {needle:?} in\n{s}");
    }
}

#[test]
fn summary_names_dropout_layers_and_gives_them_no_parameters() {
    // The hidden-dropout model: dense, dropout, dense_1, dropout_1, dense_2.
    let mut model = Sequential::new(60).with_seed(0);
    model.add(Dense::new(60)).unwrap();
    model.add(Dropout::new(0.2)).unwrap();
    model.add(Dense::new(30)).unwrap();
    model.add(Dropout::new(0.2)).unwrap();
    model.add(Dense::new(1)).unwrap();
    assert_eq!(
        model.layer_names(),
        &["dense", "dropout", "dense_1", "dropout_1", "dense_2"]
    );
    let s = model.to_string();
    let dropout_line = s
        .lines()
        .find(|l| l.contains("dropout_1 (Dropout)"))
        .unwrap();
    assert!(dropout_line.contains("(None, 30)"), "{dropout_line}");
    assert!(dropout_line.trim_end().ends_with(" 0"), "{dropout_line}");
    assert!(s.contains("Total params: 5,521"));
}
