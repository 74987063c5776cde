//! Mismatched shapes and invalid values handed to the public layer, activation, loss and
//! constraint methods are errors: never a write or read past a buffer, never a panic, never a
//! result computed on truncated data.

use ndarray::{Array1, Array2, array};
use ndnet::model::LayerSlot;
use ndnet::prelude::*;
use rand::SeedableRng;
use rand::rngs::SmallRng;

fn is_shape_error(r: &Result<()>) -> bool {
    matches!(r, Err(Error::ShapeMismatch { .. }))
}

// ---------------------------------------------------------------------------------------------
// Layers reached through `layers_mut` (these wrote or read past heap buffers in release builds)
// ---------------------------------------------------------------------------------------------

#[test]
fn a_forward_into_an_output_with_too_few_rows_is_an_error_and_writes_nothing() {
    let mut m = Sequential::new(4);
    m.add(Dense::new(32)).unwrap();
    let x = Array2::<f32>::ones((64, 4));
    let mut out = Array2::<f32>::zeros((1, 32));
    let r = m.layers_mut()[0].forward(x.view(), out.view_mut(), Mode::Eval);
    match r {
        Err(Error::ShapeMismatch {
            what,
            expected,
            found,
        }) => {
            assert!(what.contains("Dense") && what.contains("output"), "{what}");
            assert_eq!((expected, found), (vec![64, 32], vec![1, 32]));
        }
        other => panic!("{other:?}"),
    }
    assert!(out.iter().all(|&v| v == 0.0));
}

#[test]
fn a_forward_of_inputs_wider_than_the_kernel_is_an_error() {
    let mut m = Sequential::new(2);
    m.add(Dense::new(16)).unwrap();
    let x = Array2::<f32>::ones((1, 4096));
    let mut out = Array2::<f32>::zeros((1, 16));
    let r = m.layers_mut()[0].forward(x.view(), out.view_mut(), Mode::Eval);
    match r {
        Err(Error::ShapeMismatch {
            what,
            expected,
            found,
        }) => {
            assert!(what.contains("input"), "{what}");
            assert_eq!((expected, found), (vec![1, 2], vec![1, 4096]));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_mismatched_backward_operand_of_a_dense_layer_is_an_error() {
    let mut d = Dense::new(3);
    d.build(2, &mut SmallRng::seed_from_u64(1)).unwrap();
    let x = Array2::<f32>::ones((4, 2));
    let mut y = Array2::<f32>::zeros((4, 3));
    d.forward(x.view(), y.view_mut(), Mode::Train).unwrap();
    let mut g = Array2::<f32>::ones((4, 3));
    let mut gi = Array2::<f32>::zeros((4, 2));
    let short_x = Array2::<f32>::ones((3, 2));
    let short_y = Array2::<f32>::ones((3, 3));
    let mut wide_g = Array2::<f32>::ones((4, 5));
    let mut short_gi = Array2::<f32>::zeros((2, 2));
    let cases = [
        d.backward(
            short_x.view(),
            y.view(),
            g.view_mut(),
            None,
            GradWrt::Output,
        ),
        d.backward(
            x.view(),
            short_y.view(),
            g.view_mut(),
            None,
            GradWrt::Output,
        ),
        d.backward(x.view(), y.view(), wide_g.view_mut(), None, GradWrt::Output),
        d.backward(
            x.view(),
            y.view(),
            g.view_mut(),
            Some(short_gi.view_mut()),
            GradWrt::Output,
        ),
    ];
    for (i, r) in cases.iter().enumerate() {
        assert!(is_shape_error(r), "case {i}: {r:?}");
    }
    // Nothing was accumulated: the gradients are still those of no backward at all.
    let mut grads = Vec::new();
    d.visit_params(&mut |p| grads.push(p.grad.iter().all(|&v| v == 0.0)));
    assert_eq!(grads, vec![true, true]);
    d.backward(
        x.view(),
        y.view(),
        g.view_mut(),
        Some(gi.view_mut()),
        GradWrt::Output,
    )
    .unwrap();
}

#[test]
fn a_bias_switched_on_after_build_is_an_error_not_a_panic() {
    let mut d = Dense::new(3).use_bias(false);
    d.build(2, &mut SmallRng::seed_from_u64(1)).unwrap();
    let mut d = d.use_bias(true);
    let x = Array2::<f32>::ones((4, 2));
    let mut y = Array2::<f32>::zeros((4, 3));
    assert!(is_shape_error(&d.forward(
        x.view(),
        y.view_mut(),
        Mode::Train
    )));
    let mut g = Array2::<f32>::ones((4, 3));
    assert!(is_shape_error(&d.backward(
        x.view(),
        y.view(),
        g.view_mut(),
        None,
        GradWrt::Output
    )));
}

fn four_eight_one() -> Sequential {
    let mut m = Sequential::new(4).with_seed(1);
    m.add(Dense::new(8).activation(Activation::Relu)).unwrap();
    m.add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    m.compile(BinaryCrossentropy, Sgd::new(0.1)).unwrap();
    m
}

fn data() -> (Array2<f32>, Array2<f32>) {
    let x = Array2::from_shape_fn((16, 4), |(i, j)| ((i * 5 + j * 3) % 7) as f32 / 7.0);
    let y = Array2::from_shape_fn((16, 1), |(i, _)| (i % 2) as f32);
    (x, y)
}

/// Layer 0 of a model taking `inputs` features that holds only `layer`: a slot built for other
/// widths, to put into another model through `layers_mut`.
fn slot_built_for(inputs: usize, layer: Dense, seed: u64) -> LayerSlot {
    let mut other = Sequential::new(inputs).with_seed(seed);
    other.add(layer).unwrap();
    other.layers()[0].clone()
}

#[test]
fn fit_after_a_layer_is_replaced_by_one_of_another_width_is_an_error_naming_it() {
    // Used to return Ok after reading past the 8-wide activations of layer 0.
    let mut m = four_eight_one();
    let (x, y) = data();
    m.layers_mut()[0] = slot_built_for(4, Dense::new(500), 1);
    let options = FitOptions {
        epochs: 1,
        batch_size: 4,
        ..Default::default()
    };
    // `fit` wraps what stopped it with the history of the epochs done (none here).
    let err = m.fit(&x, &y, &options).unwrap_err();
    match err.root() {
        Error::LayerInputMismatch {
            index,
            expected,
            found,
            ..
        } => assert_eq!((*index, *expected, *found), (1, 8, 500)),
        other => panic!("{other:?}"),
    }
    assert!(m.predict(&x).is_err());
    assert!(m.train_on_batch(&x, &y).is_err());
    assert!(m.evaluate(&x, &y).is_err());
}

#[test]
fn a_first_layer_built_for_another_input_width_is_an_error_before_any_pass() {
    let mut m = four_eight_one();
    let (x, y) = data();
    m.layers_mut()[0] = slot_built_for(3, Dense::new(8).activation(Activation::Relu), 1);
    match m.train_on_batch(&x, &y) {
        Err(Error::LayerInputMismatch {
            index,
            expected,
            found,
            ..
        }) => assert_eq!((index, expected, found), (0, 3, 4)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_last_layer_replaced_by_a_wider_one_is_an_error_not_training_on_zeros() {
    let mut m = four_eight_one();
    let (x, y) = data();
    m.layers_mut()[1] = slot_built_for(8, Dense::new(3).activation(Activation::Sigmoid), 1);
    assert!(m.train_on_batch(&x, &y).is_err());
}

#[test]
fn a_model_whose_layers_chain_still_trains_after_a_replacement_of_the_same_widths() {
    let mut m = four_eight_one();
    let (x, y) = data();
    m.layers_mut()[0] = slot_built_for(4, Dense::new(8).activation(Activation::Relu), 2);
    assert!(m.train_on_batch(&x, &y).unwrap().is_finite());
}

#[test]
fn a_layer_rebuilt_in_place_for_another_input_width_is_an_error_not_a_panic() {
    // The model keeps the widths the layer was added with; the layer checks its views.
    let mut m = four_eight_one();
    let (x, y) = data();
    m.layers_mut()[0]
        .build(3, &mut SmallRng::seed_from_u64(1))
        .unwrap();
    for r in [
        m.train_on_batch(&x, &y).map(|_| ()),
        m.predict(&x).map(|_| ()),
        m.evaluate(&x, &y).map(|_| ()),
    ] {
        match r {
            Err(Error::Layer { index, source, .. }) => {
                assert_eq!(index, 0);
                match *source {
                    Error::ShapeMismatch {
                        expected, found, ..
                    } => assert_eq!((expected[1], found[1]), (3, 4)),
                    other => panic!("{other:?}"),
                }
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn dropout_backward_with_other_rows_than_its_forward_is_an_error() {
    for layer in [
        Box::new(Dropout::new(0.5)) as Box<dyn Layer>,
        Box::new(GaussianDropout::new(0.5)),
        Box::new(AlphaDropout::new(0.5)),
    ] {
        let mut layer = layer;
        layer.build(3, &mut SmallRng::seed_from_u64(1)).unwrap();
        let x = Array2::<f32>::ones((2, 3));
        let mut y = Array2::<f32>::zeros((2, 3));
        layer.forward(x.view(), y.view_mut(), Mode::Train).unwrap();
        for rows in [1, 5] {
            let xb = Array2::<f32>::ones((rows, 3));
            let yb = Array2::<f32>::ones((rows, 3));
            let mut g = Array2::<f32>::ones((rows, 3));
            let mut gi = Array2::<f32>::zeros((rows, 3));
            let r = layer.backward(
                xb.view(),
                yb.view(),
                g.view_mut(),
                Some(gi.view_mut()),
                GradWrt::Output,
            );
            assert!(is_shape_error(&r), "{} rows {rows}: {r:?}", layer.kind());
        }
    }
}

#[test]
fn activation_and_noise_layers_check_their_views() {
    let mut layers: Vec<Box<dyn Layer>> = vec![
        Box::new(ndnet::layers::relu()),
        Box::new(Dropout::new(0.2)),
        Box::new(GaussianNoise::new(0.1)),
    ];
    for layer in layers.iter_mut() {
        layer.build(3, &mut SmallRng::seed_from_u64(1)).unwrap();
        let x = Array2::<f32>::ones((2, 3));
        let mut wide = Array2::<f32>::zeros((2, 4));
        let mut short = Array2::<f32>::zeros((1, 3));
        assert!(is_shape_error(&layer.infer(x.view(), wide.view_mut())));
        assert!(is_shape_error(&layer.infer(x.view(), short.view_mut())));
        for mode in [Mode::Train, Mode::Eval] {
            assert!(is_shape_error(&layer.forward(
                x.view(),
                wide.view_mut(),
                mode
            )));
            assert!(is_shape_error(&layer.forward(
                x.view(),
                short.view_mut(),
                mode
            )));
        }
        let mut y = Array2::<f32>::zeros((2, 3));
        layer.forward(x.view(), y.view_mut(), Mode::Train).unwrap();
        let mut g = Array2::<f32>::ones((2, 3));
        let mut gi = Array2::<f32>::zeros((2, 2));
        let r = layer.backward(
            x.view(),
            y.view(),
            g.view_mut(),
            Some(gi.view_mut()),
            GradWrt::Output,
        );
        assert!(is_shape_error(&r), "{}: {r:?}", layer.kind());
    }
}

// ---------------------------------------------------------------------------------------------
// Activations
// ---------------------------------------------------------------------------------------------

#[test]
fn a_bias_of_the_wrong_length_is_an_error_for_every_activation() {
    // Softmax panicked; the element-wise ones silently added the bias to the first columns.
    for act in [
        Activation::Softmax,
        Activation::Linear,
        Activation::Relu,
        Activation::Sigmoid,
    ] {
        let mut z = Array2::<f32>::ones((2, 3));
        let b = array![1.0f32, 2.0];
        let r = act.apply_with_bias(z.view_mut(), Some(b.view()));
        assert!(is_shape_error(&r), "{act:?}: {r:?}");
        assert!(z.iter().all(|&v| v == 1.0), "{act:?} wrote");
    }
}

#[test]
fn a_gradient_of_another_shape_than_the_output_is_an_error() {
    // Contiguous: used to zip over the first 6 of 9 gradients; transposed: used to panic.
    let y = Array2::<f32>::ones((2, 3));
    let mut g = Array2::<f32>::from_elem((3, 3), 2.0);
    let r = Activation::Relu.backward(y.view(), g.view_mut());
    assert!(is_shape_error(&r), "{r:?}");
    assert!(g.iter().all(|&v| v == 2.0));
    let mut gt = Array2::<f32>::from_elem((4, 3), 2.0);
    let r = Activation::Relu.backward(y.view(), gt.view_mut().reversed_axes());
    assert!(is_shape_error(&r), "{r:?}");
    let r = Activation::Softmax.backward(y.view(), g.view_mut());
    assert!(is_shape_error(&r), "{r:?}");
}

// ---------------------------------------------------------------------------------------------
// Losses
// ---------------------------------------------------------------------------------------------

#[test]
fn a_gradient_buffer_of_the_wrong_rows_is_an_error() {
    let p = array![[0.5f32], [0.5]];
    let t = array![[1.0f32], [0.0]];
    let mut g = Array2::<f32>::zeros((3, 1));
    for fused in [false, true] {
        let r = BinaryCrossentropy.gradient(p.view(), t.view(), None, fused, g.view_mut());
        assert!(matches!(r, Err(Error::ShapeMismatch { .. })), "{r:?}");
    }
}

#[test]
fn weights_shorter_than_the_batch_are_an_error() {
    let p = array![[0.5f32], [0.5], [0.5]];
    let t = array![[1.0f32], [0.0], [1.0]];
    let w = array![1.0f32];
    let r = BinaryCrossentropy.loss(p.view(), t.view(), Some(w.view()));
    assert!(matches!(r, Err(Error::ShapeMismatch { .. })), "{r:?}");
    let mut g = Array2::<f32>::zeros((3, 1));
    let r = MeanSquaredError.gradient(p.view(), t.view(), Some(w.view()), false, g.view_mut());
    assert!(matches!(r, Err(Error::ShapeMismatch { .. })), "{r:?}");
}

#[test]
fn targets_of_another_shape_than_the_predictions_are_an_error_not_a_truncated_loss() {
    // 3 target rows for 2 predictions used to give ln 2 = 0.693 from the first two.
    let p = array![[0.5f32], [0.5]];
    let t = array![[1.0f32], [0.0], [1.0]];
    for loss in [
        &BinaryCrossentropy as &dyn Loss,
        &CategoricalCrossentropy,
        &MeanSquaredError,
    ] {
        let r = loss.loss(p.view(), t.view(), None);
        assert!(
            matches!(r, Err(Error::ShapeMismatch { .. })),
            "{}",
            loss.name()
        );
    }
    // Columns: MSE's gradient panicked in a zip.
    let p = Array2::<f32>::zeros((2, 2));
    let t = Array2::<f32>::zeros((2, 3));
    let mut g = Array2::<f32>::zeros((2, 2));
    let r = MeanSquaredError.gradient(p.view(), t.view(), None, false, g.view_mut());
    assert!(matches!(r, Err(Error::ShapeMismatch { .. })), "{r:?}");
}

#[test]
fn matching_shapes_still_give_the_hand_computed_loss() {
    // BCE of p = 0.5 is ln 2 whatever the target; weights [1, 0] halve the mean.
    let p = array![[0.5f32], [0.5]];
    let t = array![[1.0f32], [0.0]];
    let w: Array1<f32> = array![1.0, 0.0];
    let l = BinaryCrossentropy.loss(p.view(), t.view(), None).unwrap();
    assert!((l - std::f32::consts::LN_2).abs() < 1e-6);
    let l = BinaryCrossentropy
        .loss(p.view(), t.view(), Some(w.view()))
        .unwrap();
    assert!((l - std::f32::consts::LN_2 / 2.0).abs() < 1e-6);
}

// ---------------------------------------------------------------------------------------------
// Constraints
// ---------------------------------------------------------------------------------------------

#[test]
fn constraints_with_invalid_parameters_are_errors_when_applied_directly() {
    // All three panicked in `f32::clamp`.
    let cases: [Box<dyn Constraint>; 5] = [
        Box::new(MaxNorm::new(f32::NAN)),
        Box::new(MaxNorm::new(-1.0)),
        Box::new(MinMaxNorm {
            min_value: 2.0,
            max_value: 1.0,
            ..Default::default()
        }),
        Box::new(MinMaxNorm {
            min_value: f32::NAN,
            ..Default::default()
        }),
        Box::new(UnitNorm { axis: 2 }),
    ];
    for c in &cases {
        let mut w = Array2::<f32>::from_elem((3, 2), 5.0);
        let r = c.apply(w.view_mut());
        assert!(
            matches!(r, Err(Error::InvalidParameter { .. })),
            "{}: {r:?}",
            c.describe()
        );
        assert!(w.iter().all(|&v| v == 5.0), "{} wrote", c.describe());
    }
}

#[test]
fn a_valid_max_norm_still_rescales_to_the_hand_value() {
    // Column norms 5 and 10; MaxNorm(2) scales them by 2 / (5 + 1e-7) and 2 / (10 + 1e-7).
    let mut w = array![[3.0f32, 6.0], [4.0, 8.0]];
    MaxNorm::new(2.0).apply(w.view_mut()).unwrap();
    let expected = array![[1.2f32, 1.2], [1.6, 1.6]];
    for (a, e) in w.iter().zip(&expected) {
        assert!((a - e).abs() < 1e-6, "{w}");
    }
}
