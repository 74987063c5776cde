//! `predict_proba`: class probabilities for binary and multi-class models, and the generated
//! Gaussian blobs a multi-class model learns from.

use ndarray::{Array2, array};
use ndnet::datasets::blobs::make_blobs;
use ndnet::prelude::*;

#[test]
fn a_binary_model_gives_two_columns_one_minus_p_and_p() {
    // sigmoid(0.5 · 2 - 1 · 1 + 0) = sigmoid(0) = 0.5; sigmoid(0.5 · 4) = sigmoid(2) = 0.880797.
    let mut model = Sequential::new(2).with_seed(1);
    model
        .add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    model
        .set_weights(&[
            array![[0.5f32], [-1.0]].into_dyn(),
            array![0.0f32].into_dyn(),
        ])
        .unwrap();
    let x = array![[2.0f32, 1.0], [4.0, 0.0]];
    let p = model.predict_proba(&x).unwrap();
    assert_eq!(p.dim(), (2, 2));
    assert_eq!(p.row(0).to_vec(), vec![0.5, 0.5]);
    assert!((p[[1, 1]] - 0.880_797).abs() < 1e-6);
    assert!((p[[1, 0]] - 0.119_203).abs() < 1e-6);
    let q = model.predict(&x).unwrap();
    assert_eq!(p.column(1), q.column(0));
}

#[test]
fn a_softmax_model_gives_its_rows_which_sum_to_one() {
    // Logits [1, 2, 3]: e^z / Σ = [0.090031, 0.244728, 0.665241].
    let mut model = Sequential::new(1).with_seed(1);
    model
        .add(
            Dense::new(3)
                .use_bias(false)
                .activation(Activation::Softmax),
        )
        .unwrap();
    model
        .set_weights(&[array![[1.0f32, 2.0, 3.0]].into_dyn()])
        .unwrap();
    let p = model.predict_proba(&array![[1.0f32]]).unwrap();
    for (got, want) in p.iter().zip([0.090_031f32, 0.244_728, 0.665_241]) {
        assert!((got - want).abs() < 1e-6, "{p}");
    }
    assert_eq!(model.predict_classes(&array![[1.0f32]]).unwrap(), vec![2]);
}

#[test]
fn a_multi_label_sigmoid_model_gives_one_probability_per_label() {
    let mut model = Sequential::new(2).with_seed(1);
    model
        .add(Dense::new(3).activation(Activation::Sigmoid))
        .unwrap();
    let x = array![[0.3f32, -0.2]];
    assert_eq!(model.predict_proba(&x).unwrap(), model.predict(&x).unwrap());
}

#[test]
fn outputs_that_are_not_probabilities_are_an_error() {
    let mut model = Sequential::new(2).with_seed(1);
    model.add(Dense::new(1)).unwrap();
    let e = model.predict_proba(&array![[0.3f32, -0.2]]).unwrap_err();
    assert!(e.to_string().contains("sigmoid or softmax"), "{e}");
    assert!(e.to_string().contains("linear"), "{e}");
}

#[test]
fn blobs_are_shuffled_one_hot_and_reproducible() {
    let centers = array![[-2.0f32, 0.0], [2.0, 0.0], [0.0, 3.0]];
    let a = make_blobs(40, centers.view(), 0.5, 3).unwrap();
    assert_eq!(a, make_blobs(40, centers.view(), 0.5, 3).unwrap());
    assert_ne!(a.x, make_blobs(40, centers.view(), 0.5, 4).unwrap().x);
    assert_eq!(a.x.dim(), (120, 2));
    for (row, &label) in a.labels.iter().enumerate() {
        assert_eq!(a.y.row(row).sum(), 1.0);
        assert_eq!(a.y[[row, label]], 1.0);
    }
    assert_ne!(a.labels[..40], [0; 40], "the rows are shuffled");
    // Each class's mean is near its center: 40 points of std 0.5 give an SE of 0.08.
    for (c, center) in centers.outer_iter().enumerate() {
        let rows: Vec<usize> = (0..120).filter(|&r| a.labels[r] == c).collect();
        for d in 0..2 {
            let mean = rows.iter().map(|&r| a.x[[r, d]]).sum::<f32>() / rows.len() as f32;
            assert!((mean - center[d]).abs() < 0.4, "class {c} dim {d}: {mean}");
        }
    }
}

#[test]
fn blobs_reject_bad_parameters() {
    let centers = array![[0.0f32, 0.0]];
    assert!(make_blobs(0, centers.view(), 1.0, 1).is_err());
    assert!(make_blobs(10, centers.view(), -1.0, 1).is_err());
    assert!(make_blobs(10, Array2::<f32>::zeros((0, 2)).view(), 1.0, 1).is_err());
    assert!(make_blobs(10, array![[f32::NAN, 0.0]].view(), 1.0, 1).is_err());
}

#[test]
fn a_softmax_model_learns_three_blobs_and_its_probabilities_pick_the_class() {
    let centers = array![[-3.0f32, 0.0], [3.0, 0.0], [0.0, 4.0]];
    let data = make_blobs(60, centers.view(), 0.7, 5).unwrap();
    let mut model = Sequential::new(2).with_seed(5);
    model
        .add(Dense::new(16).activation(Activation::Relu))
        .unwrap();
    model
        .add(Dense::new(3).activation(Activation::Softmax))
        .unwrap();
    model
        .compile(CategoricalCrossentropy, Adam::new(0.02))
        .unwrap();
    let options = FitOptions {
        epochs: 60,
        batch_size: 16,
        ..Default::default()
    };
    model.fit(&data.x, &data.y, &options).unwrap();
    let p = model.predict_proba(&data.x).unwrap();
    assert_eq!(p.dim(), (180, 3));
    for row in p.outer_iter() {
        assert!((row.sum() - 1.0).abs() < 1e-5);
    }
    let classes = model.predict_classes(&data.x).unwrap();
    let correct = classes
        .iter()
        .zip(&data.labels)
        .filter(|(a, b)| a == b)
        .count();
    assert!(correct >= 170, "{correct} of 180");
}
