//! Things a Keras user reaches for: the Keras 3 loss and optimizer forms, hold-out splits,
//! balanced class weights, one-call label encoding, readable errors, the CSV header hint.

use ndarray::{Array2, array};
use ndnet::data::{
    CsvLoader, LabelEncoder, balanced_class_weights, train_test_split,
    train_test_split_unstratified,
};
use ndnet::losses::{BinaryCrossentropy, Loss, from_name};
use ndnet::optimizers::{Optimizer, RmsProp};

#[test]
fn bce_from_logits_gradient_keeps_clipped_rows_and_default_zeroes_them() {
    // p = 1e-9 (below the clip) with y = 1, p = 0.25 with y = 0, p = 1 with y = 1.
    let p = array![[1e-9f32], [0.25], [1.0]];
    let y = array![[1.0f32], [0.0], [1.0]];
    let mut g = Array2::zeros((3, 1));
    BinaryCrossentropy::from_logits_gradient()
        .gradient(p.view(), y.view(), None, true, g.view_mut())
        .unwrap();
    // (p - y) / 3 for every row.
    let expected = [(1e-9 - 1.0) / 3.0, 0.25 / 3.0, 0.0];
    for (a, e) in g.iter().zip(expected) {
        assert!((a - e).abs() < 1e-7, "{g}");
    }
    BinaryCrossentropy
        .gradient(p.view(), y.view(), None, true, g.view_mut())
        .unwrap();
    assert_eq!(g[[0, 0]], 0.0, "Keras 2 zeroes the clipped row");
    assert!((g[[1, 0]] - 0.25 / 3.0).abs() < 1e-7);
    // Same loss value; saved and found by name.
    let keras3 = BinaryCrossentropy::from_logits_gradient();
    assert_eq!(
        keras3.loss(p.view(), y.view(), None).unwrap(),
        BinaryCrossentropy.loss(p.view(), y.view(), None).unwrap()
    );
    assert_eq!(from_name(keras3.name()).unwrap().name(), keras3.name());
}

#[test]
fn rmsprop_epsilon_inside_the_square_root_matches_keras_3_by_hand() {
    // Two steps, g = 0.2 then -0.1, rho 0.5, lr 0.1, epsilon 0.01, w0 = 1.
    // s1 = 0.5 · 0.04 = 0.02;            s2 = 0.5 · 0.02 + 0.5 · 0.01 = 0.015.
    // Keras 3: w1 = 1 - 0.1 · 0.2 / sqrt(0.03) = 0.884530; w2 = w1 + 0.1 · 0.1 / sqrt(0.025).
    // Keras 2: w1 = 1 - 0.02 / (sqrt(0.02) + 0.01) = 0.867900; w2 = w1 + 0.01 / (sqrt(0.015) + 0.01).
    let run = |inside: bool| {
        let mut opt = RmsProp::new(0.1)
            .rho(0.5)
            .epsilon(0.01)
            .epsilon_inside_sqrt(inside);
        let mut w = array![[1.0f32]];
        opt.update(0, 0.1, 0, w.view_mut(), array![[0.2f32]].view());
        let w1 = w[[0, 0]];
        opt.update(0, 0.1, 0, w.view_mut(), array![[-0.1f32]].view());
        (w1, w[[0, 0]])
    };
    let k3_1 = 1.0 - 0.02 / 0.03f64.sqrt();
    let k3_2 = k3_1 + 0.01 / 0.025f64.sqrt();
    let k2_1 = 1.0 - 0.02 / (0.02f64.sqrt() + 0.01);
    let k2_2 = k2_1 + 0.01 / (0.015f64.sqrt() + 0.01);
    let (a1, a2) = run(true);
    assert!((f64::from(a1) - k3_1).abs() < 1e-6 && (f64::from(a2) - k3_2).abs() < 1e-6);
    let (b1, b2) = run(false);
    assert!((f64::from(b1) - k2_1).abs() < 1e-6 && (f64::from(b2) - k2_2).abs() < 1e-6);
    // The option survives the configuration (what a saved model stores).
    let config = RmsProp::new(0.1)
        .epsilon_inside_sqrt(true)
        .config()
        .unwrap();
    let rebuilt = config.build().unwrap();
    assert_eq!(rebuilt.config().unwrap(), config);
    assert_ne!(RmsProp::new(0.1).config().unwrap(), config);
}

#[test]
fn stratified_split_keeps_class_shares_and_the_plain_one_draws_any_rows() {
    // 30 rows of class 0 and 10 of class 1, sorted by class.
    let x = Array2::from_shape_fn((40, 1), |(i, _)| i as f32);
    let y = Array2::from_shape_fn((40, 1), |(i, _)| if i < 30 { 0.0 } else { 1.0 });
    let s = train_test_split(&x, &y, 0.25, 3).unwrap();
    // ceil(0.25 · 40) = 10 held out: 7.5 → 7 or 8 of class 0 and 2.5 → 2 or 3 of class 1;
    // the fractional parts tie, so the larger class gets the extra row: 8 and 2.
    assert_eq!(s.x_test.nrows(), 10);
    assert_eq!(s.y_test.sum(), 2.0);
    assert_eq!(s.x_train.nrows(), 30);
    let mut all: Vec<usize> = s.train_index.iter().chain(&s.test_index).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..40).collect::<Vec<_>>());
    for (k, &i) in s.test_index.iter().enumerate() {
        assert_eq!(s.x_test[[k, 0]], i as f32);
    }
    // Seeded: same seed, same rows; another seed, other rows.
    assert_eq!(train_test_split(&x, &y, 0.25, 3).unwrap(), s);
    assert_ne!(
        train_test_split(&x, &y, 0.25, 4).unwrap().test_index,
        s.test_index
    );
    let plain = train_test_split_unstratified(&x, &y, 0.25, 3).unwrap();
    assert_eq!(plain.test_index.len(), 10);
    for bad in [0.0, 1.0, -0.5, f64::NAN] {
        assert!(train_test_split(&x, &y, bad, 0).is_err(), "{bad}");
    }
    assert!(train_test_split(&x, y.slice(ndarray::s![..5, ..]), 0.25, 0).is_err());
    // 1-D labels are one target column, as fit reads them; a 3-D y is refused.
    let labels = y.column(0).to_owned();
    let from_labels = train_test_split(&x, &labels, 0.25, 3).unwrap();
    assert_eq!(from_labels.test_index, s.test_index);
    assert_eq!(from_labels.y_test.dim(), (10, 1));
    assert_eq!(from_labels.y_test.sum(), 2.0);
    let cube = ndarray::Array3::<f32>::zeros((40, 1, 1));
    let e = train_test_split(&x, &cube, 0.25, 3).unwrap_err();
    assert!(matches!(e, ndnet::Error::ShapeMismatch { .. }), "{e:?}");
}

#[test]
fn balanced_class_weights_are_n_over_classes_times_count() {
    // 5 rows: 3 of class 0, 1 of class 1, 1 of class 2: 5 / (3 · 3), 5 / 3, 5 / 3.
    let w = balanced_class_weights(&[0, 1, 0, 2, 0]).unwrap();
    assert_eq!(w, vec![5.0 / 9.0, 5.0 / 3.0, 5.0 / 3.0]);
    assert!(balanced_class_weights(&[]).is_err());
    // Class 1 has no row.
    assert!(balanced_class_weights(&[0, 2, 2]).is_err());
}

#[test]
fn labels_become_a_target_column_in_one_call() {
    let y = LabelEncoder::new()
        .fit_binary_column(&["R", "M", "M", "R"])
        .unwrap();
    assert_eq!(y, array![[1.0], [0.0], [0.0], [1.0]]);
    let y = LabelEncoder::new().fit_one_hot(&["b", "a", "c"]).unwrap();
    assert_eq!(y, array![[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]);
    assert!(
        LabelEncoder::new()
            .fit_binary_column(&["a", "b", "c"])
            .is_err()
    );
}

#[test]
fn error_debug_is_the_variant_and_the_message() {
    let err = ndnet::data::load_csv("/no/such/dir/file.csv").unwrap_err();
    let debug = format!("{err:?}");
    assert_eq!(debug, format!("Io: {err}"));
    assert!(
        !debug.contains("Os {") && !debug.contains("kind:"),
        "{debug}"
    );
    let err = CsvLoader::new()
        .load_reader("1,x,M\n".as_bytes())
        .unwrap_err();
    assert!(format!("{err:?}").starts_with("Csv: "), "{err:?}");
}

#[test]
fn a_header_line_error_suggests_has_header() {
    let err = CsvLoader::new()
        .load_reader("a,b,label\n1,2,M\n".as_bytes())
        .unwrap_err();
    assert!(err.to_string().contains("has_header(true)"), "{err}");
    // A bad value on a later line is not a header: no hint.
    let err = CsvLoader::new()
        .load_reader("1,2,M\n3,x,R\n".as_bytes())
        .unwrap_err();
    assert!(!err.to_string().contains("has_header"), "{err}");
}

#[test]
fn ndarray_is_re_exported() {
    let a: ndnet::ndarray::Array2<f32> = ndnet::ndarray::array![[1.0]];
    assert_eq!(a.dim(), (1, 1));
}
