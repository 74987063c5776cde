//! The Normalization layer: statistics against hand-computed values, the transform inside a
//! model, saving and loading with the model, and cross-validation adapting it on each fold.

use ndarray::{Array2, array};
use ndnet::data::StandardScaler;
use ndnet::layers::{Layer, LayerConfig, Normalization};
use ndnet::prelude::*;
use ndnet::selection::CrossValidation;

#[test]
fn adapt_learns_mean_and_population_std_with_scale_one_for_a_constant_column() {
    // Column 0: 1, 2, 6 -> mean 3, population variance (4 + 1 + 9) / 3 = 14/3.
    // Column 1: constant 5 -> mean 5, scale 1.
    // Column 2: -1, 1, 0 -> mean 0, variance 2/3.
    let x = array![[1.0f32, 5.0, -1.0], [2.0, 5.0, 1.0], [6.0, 5.0, 0.0]];
    let mut norm = Normalization::new();
    assert!(!norm.is_adapted());
    norm.adapt(x.view()).unwrap();
    assert_eq!(norm.mean().unwrap(), &[3.0, 5.0, 0.0]);
    let scale = norm.scale().unwrap();
    assert!(
        (scale[0] - (14.0f32 / 3.0).sqrt()).abs() < 1e-6,
        "{scale:?}"
    );
    assert_eq!(scale[1], 1.0);
    assert!((scale[2] - (2.0f32 / 3.0).sqrt()).abs() < 1e-6, "{scale:?}");
    assert_eq!(norm.config(), LayerConfig::Normalization);
    assert_eq!(norm.param_count(), 0);
}

#[test]
fn in_a_model_it_standardizes_and_backpropagates_through_the_scale() {
    // mean (2, 10), scale (2, 4): row (4, 2) -> (1, -2).
    let norm = Normalization::from_parts(&[2.0, 10.0], &[2.0, 4.0]).unwrap();
    let mut model = Sequential::new(2).with_seed(1);
    model.add(norm).unwrap();
    let out = model.predict(&array![[4.0f32, 2.0], [2.0, 10.0]]).unwrap();
    assert_eq!(out, array![[1.0, -2.0], [0.0, 0.0]]);

    // d/dx of (x - m) / s is 1 / s.
    let mut layer = Normalization::from_parts(&[2.0, 10.0], &[2.0, 4.0]).unwrap();
    let mut rng = <rand::rngs::SmallRng as rand::SeedableRng>::seed_from_u64(0);
    layer.build(2, &mut rng).unwrap();
    let input = array![[4.0f32, 2.0]];
    let mut output = Array2::zeros((1, 2));
    layer
        .forward(input.view(), output.view_mut(), Mode::Train)
        .unwrap();
    let mut grad_out = array![[1.0f32, 8.0]];
    let mut grad_in = Array2::zeros((1, 2));
    layer
        .backward(
            input.view(),
            output.view(),
            grad_out.view_mut(),
            Some(grad_in.view_mut()),
            GradWrt::Output,
        )
        .unwrap();
    assert_eq!(grad_in, array![[0.5, 2.0]]);
}

#[test]
fn an_unadapted_layer_is_the_identity_and_bad_statistics_are_errors() {
    let mut model = Sequential::new(2);
    model.add(Normalization::new()).unwrap();
    let x = array![[3.0f32, -4.0]];
    assert_eq!(model.predict(&x).unwrap(), x);

    assert!(Normalization::from_parts(&[0.0, 1.0], &[1.0]).is_err());
    assert!(Normalization::from_parts(&[0.0], &[0.0]).is_err());
    assert!(Normalization::from_parts(&[f32::NAN], &[1.0]).is_err());
    assert!(Normalization::from_parts(&[], &[]).is_err());
    // Statistics of 3 features in a model of width 2.
    let mut model = Sequential::new(2);
    let err = model
        .add(Normalization::from_parts(&[0.0; 3], &[1.0; 3]).unwrap())
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("statistics of 3 features for an input of width 2"),
        "{msg}"
    );
    // Adapting on data of the wrong width.
    let mut model = Sequential::new(2);
    model.add(Normalization::new()).unwrap();
    assert!(model.adapt(&array![[1.0f32, 2.0, 3.0]]).is_err());
    assert!(model.adapt(&Array2::<f32>::zeros((0, 2))).is_err());
}

#[test]
fn from_scaler_applies_the_scalers_transform() {
    let x = array![[1.0f32, 10.0], [3.0, 14.0], [5.0, 12.0]];
    let mut scaler = StandardScaler::new();
    let expected = scaler.fit_transform(x.view()).unwrap();
    let mut model = Sequential::new(2);
    model
        .add(Normalization::from_scaler(&scaler).unwrap())
        .unwrap();
    let out = model.predict(&x).unwrap();
    for (a, b) in out.iter().zip(expected.iter()) {
        assert!((a - b).abs() < 1e-6, "{out} vs {expected}");
    }
    assert!(Normalization::from_scaler(&StandardScaler::new()).is_err());
}

#[cfg(feature = "serde")]
#[test]
fn a_saved_model_keeps_its_statistics_and_predicts_on_raw_rows() {
    let x = array![[100.0f32, 0.5], [300.0, 1.5], [200.0, 1.0], [400.0, 2.0]];
    let mut model = Sequential::new(2).with_seed(3);
    model.add(Normalization::new()).unwrap();
    model
        .add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    model.adapt(&x).unwrap();
    let bytes = model.to_bytes(false).unwrap();
    let loaded = Sequential::from_bytes(&bytes).unwrap();
    assert_eq!(loaded.layers()[0].config(), LayerConfig::Normalization);
    // mean (250, 1.25); population std of (100, 300, 200, 400) is sqrt(12500) = 111.803...
    let w = loaded.layers()[0].weights();
    assert_eq!(w[0].as_slice().unwrap(), &[250.0, 1.25]);
    assert!((w[1][0] - 12500f32.sqrt()).abs() < 1e-3, "{:?}", w[1]);
    assert_eq!(loaded.predict(&x).unwrap(), model.predict(&x).unwrap());
    // The header names the tensors mean and scale.
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("normalization/mean"), "{text}");
    assert!(text.contains("normalization/scale"), "{text}");
    assert_eq!(loaded.param_count(), model.param_count());
    assert_eq!(model.param_count(), 3);
}

/// Two classes that a linear model separates only after standardizing: feature 1 carries the
/// class but is tiny next to feature 0's offset.
fn offset_data() -> (Array2<f32>, Array2<f32>) {
    let x = Array2::from_shape_fn((40, 2), |(i, j)| match j {
        0 => 1000.0 + ((i * 7) % 11) as f32,
        _ => (if i % 2 == 0 { -0.01 } else { 0.01 }) + 0.001 * ((i * 3) % 5) as f32,
    });
    let y = Array2::from_shape_fn((40, 1), |(i, _)| (i % 2) as f32);
    (x, y)
}

fn fit_options() -> FitOptions<'static> {
    FitOptions {
        epochs: 30,
        batch_size: 8,
        ..Default::default()
    }
}

#[test]
fn cross_validation_adapts_a_leading_normalization_instead_of_standardizing() {
    let (x, y) = offset_data();
    let with_layer = || -> ndnet::Result<Sequential> {
        let mut m = Sequential::new(2);
        m.add(Normalization::new())?;
        m.add(Dense::new(1).activation(Activation::Sigmoid))?;
        m.compile(BinaryCrossentropy, Sgd::new(0.5))?;
        Ok(m)
    };
    let plain = || -> ndnet::Result<Sequential> {
        let mut m = Sequential::new(2);
        m.add(Dense::new(1).activation(Activation::Sigmoid))?;
        m.compile(BinaryCrossentropy, Sgd::new(0.5))?;
        Ok(m)
    };
    // Even with the cross-validation's own scaler off, the layer is adapted per fold and the
    // raw data becomes separable.
    let cv = CrossValidation::new(4, 7).standardize(false).threads(1);
    let adapted = cv.score(with_layer, &x, &y, &fit_options()).unwrap();
    assert!(adapted.mean() > 0.99, "{adapted:?}");
    let raw = cv.score(plain, &x, &y, &fit_options()).unwrap();
    assert!(raw.mean() < 0.9, "{raw:?}");
}

#[test]
fn predefined_folds_score_exactly_the_given_test_rows() {
    let (x, y) = offset_data();
    let build = || -> ndnet::Result<Sequential> {
        let mut m = Sequential::new(2);
        m.add(Dense::new(1).activation(Activation::Sigmoid))?;
        m.compile(BinaryCrossentropy, Sgd::new(0.5))?;
        Ok(m)
    };
    let cv = CrossValidation::new(2, 7).threads(1);
    // The same folds as the stratified splitter's, given explicitly: the same scores.
    let labels: Vec<usize> = (0..40).map(|i| i % 2).collect();
    let folds = cv.splitter.split(&labels).unwrap();
    let test_sets: Vec<Vec<usize>> = folds.iter().map(|(_, test)| test.clone()).collect();
    let given = cv
        .score_predefined(&test_sets, build, &x, &y, &fit_options())
        .unwrap();
    let split = cv.score(build, &x, &y, &fit_options()).unwrap();
    assert_eq!(given, split);
    // Three sets of sizes 1, 2 and 3: three scores, each a multiple of 1/size.
    let sets = vec![vec![0], vec![5, 2], vec![10, 11, 12]];
    let scores = cv
        .score_predefined(&sets, build, &x, &y, &fit_options())
        .unwrap();
    assert_eq!(scores.scores.len(), 3);
    for (s, size) in scores.scores.iter().zip([1.0f32, 2.0, 3.0]) {
        assert!(((s * size).round() - s * size).abs() < 1e-5, "{scores:?}");
    }
    // Bad sets are errors.
    for bad in [
        vec![],
        vec![vec![0], vec![]],
        vec![vec![0, 40]],
        vec![vec![0, 1], vec![1]],
        vec![(0..40).collect::<Vec<usize>>()],
    ] {
        let err = cv
            .score_predefined(&bad, build, &x, &y, &fit_options())
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidParameter { .. }),
            "{bad:?}: {err:?}"
        );
    }
}

#[test]
fn standard_scaler_from_parts_transforms_with_the_given_statistics() {
    // (x - mean) / scale: (3 - 2) / 1 = 1, (2 - 10) / 4 = -2.
    let scaler = StandardScaler::from_parts(&[2.0, 10.0], &[1.0, 4.0], 2).unwrap();
    assert_eq!(
        scaler.transform(array![[3.0f32, 2.0]].view()).unwrap(),
        array![[1.0, -2.0]]
    );
    assert_eq!(scaler.n_samples_seen(), Some(2));
    assert!(StandardScaler::from_parts(&[0.0], &[0.0], 1).is_err());
    assert!(StandardScaler::from_parts(&[0.0, 1.0], &[1.0], 1).is_err());
    assert!(StandardScaler::from_parts(&[f64::NAN], &[1.0], 1).is_err());
}
