//! Dropout: `rate` is the probability of dropping a unit; training multiplies by
//! `m / (1 - rate)` with `m ~ Bernoulli(1 - rate)` drawn per element per batch; inference is the
//! identity; the backward pass reuses the forward mask.

use ndarray::Array2;
use ndnet::prelude::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// 1000 rows × 100 columns = 100_000 elements.
const ROWS: usize = 1000;
const COLS: usize = 100;
const N: f64 = (ROWS * COLS) as f64;

fn built(rate: f32, width: usize, seed: u64) -> Dropout {
    let mut layer = Dropout::new(rate);
    layer
        .build(width, &mut SmallRng::seed_from_u64(seed))
        .unwrap();
    layer
}

fn uniform(rows: usize, cols: usize, lo: f32, hi: f32, seed: u64) -> Array2<f32> {
    let mut rng = SmallRng::seed_from_u64(seed);
    Array2::from_shape_simple_fn((rows, cols), || rng.random_range(lo..hi))
}

fn run(layer: &mut dyn Layer, x: &Array2<f32>, mode: Mode) -> Array2<f32> {
    let mut y = Array2::from_elem(x.raw_dim(), f32::NAN);
    layer.forward(x.view(), y.view_mut(), mode).unwrap();
    y
}

fn dropped_count(y: &Array2<f32>) -> f64 {
    y.iter().filter(|&&v| v == 0.0).count() as f64
}

fn model_with_dropout(width: usize, rate: f32, seed: u64) -> Sequential {
    let mut model = Sequential::new(width).with_seed(seed);
    model.add(Dropout::new(rate)).unwrap();
    model
}

fn add_error(rate: f32) -> String {
    let mut model = Sequential::new(4).with_seed(0);
    let err = model
        .add(Dropout::new(rate))
        .expect_err("the rate must be rejected");
    err.to_string()
}

#[test]
fn fraction_dropped_is_close_to_the_rate() {
    // The dropped count K ~ Binomial(100_000, 0.2): mean 20_000, standard deviation
    // sqrt(100_000 · 0.2 · 0.8) = sqrt(16_000) = 126.5. Five sigma: |K - 20_000| <= 633.
    let mut layer = built(0.2, COLS, 1);
    let y = run(&mut layer, &Array2::ones((ROWS, COLS)), Mode::Train);
    let k = dropped_count(&y);
    assert!((k - 20_000.0).abs() <= 633.0, "dropped {k}");
}

#[test]
fn rate_is_the_drop_probability_not_the_keep_probability() {
    // rate 0.9: K ~ Binomial(100_000, 0.9), mean 90_000, sd sqrt(100_000 · 0.9 · 0.1) = 94.9;
    // five sigma: 475. (Read as a keep probability it would drop only ~10_000.)
    let mut layer = built(0.9, COLS, 2);
    let y = run(&mut layer, &Array2::ones((ROWS, COLS)), Mode::Train);
    let k = dropped_count(&y);
    assert!((k - 90_000.0).abs() <= 475.0, "dropped {k}");
}

#[test]
fn inverted_scaling_preserves_the_mean() {
    // x ~ U(0, 2), rate 0.2. Each output is x · m / 0.8; y - x = x (m/0.8 - 1) has mean 0 and
    // variance E[x²] · Var(m / 0.8) = (4/3) · (0.2 · 0.8 / 0.64) = (4/3) · 0.25 = 1/3.
    // The difference of the means over 100_000 elements has sd sqrt(1/3 / 100_000) = 0.001826;
    // five sigma: 0.0092.
    let x = uniform(ROWS, COLS, 0.0, 2.0, 3);
    let mut layer = built(0.2, COLS, 4);
    let y = run(&mut layer, &x, Mode::Train);
    let mean_x: f64 = x.iter().map(|&v| v as f64).sum::<f64>() / N;
    let mean_y: f64 = y.iter().map(|&v| v as f64).sum::<f64>() / N;
    assert!((mean_y - mean_x).abs() <= 0.0092, "{mean_y} vs {mean_x}");
}

#[test]
fn kept_elements_equal_input_times_the_f32_scale_exactly() {
    // TensorFlow (1.14 and later, hence tf.keras) computes `scale = 1 / (1 - rate)` in the
    // input's dtype and multiplies: `x * scale`. rate 0.2 in f32: 1 - 0.2 = 0.8 (the f32
    // 0.800000011920929), 1 / that = 1.2499999814 which rounds to exactly 1.25. So a kept
    // element is x · 1.25, bit for bit. Dividing by the f32 0.8 instead (x · 1.2499999814)
    // can round the other way, so `x / (1 - rate)` agrees to within one unit in the last place.
    let x = uniform(200, 50, -3.0, 3.0, 5);
    let rate = 0.2f32;
    let scale = 1.0 / (1.0 - rate);
    assert_eq!(scale, 1.25);
    let mut layer = built(rate, 50, 6);
    let y = run(&mut layer, &x, Mode::Train);
    let mut kept = 0;
    for (&yi, &xi) in y.iter().zip(&x) {
        if yi != 0.0 {
            assert_eq!(yi, xi * 1.25, "x = {xi}");
            let one_ulp = yi.abs() * f32::EPSILON;
            assert!((yi - xi / (1.0 - rate)).abs() <= one_ulp, "x = {xi}");
            kept += 1;
        }
    }
    assert!(kept > 0);
}

#[test]
fn kept_elements_are_doubled_at_rate_one_half() {
    let x = uniform(20, 10, -3.0, 3.0, 7);
    let mut layer = built(0.5, 10, 8);
    let y = run(&mut layer, &x, Mode::Train);
    for (&yi, &xi) in y.iter().zip(&x) {
        assert!(yi == 0.0 || yi == 2.0 * xi, "{yi} from {xi}");
    }
}

#[test]
fn eval_mode_is_exactly_the_identity() {
    let x = uniform(30, 12, -5.0, 5.0, 9);
    let mut layer = built(0.5, 12, 10);
    assert_eq!(run(&mut layer, &x, Mode::Eval), x);
}

#[test]
fn predict_through_a_dropout_model_is_the_identity() {
    let x = uniform(10, 6, -1.0, 1.0, 11);
    let model = model_with_dropout(6, 0.5, 3);
    assert_eq!(model.predict(&x).unwrap(), x);
}

#[test]
fn rate_zero_is_the_identity_in_train_mode() {
    let x = uniform(30, 12, -5.0, 5.0, 12);
    let mut layer = built(0.0, 12, 13);
    assert_eq!(run(&mut layer, &x, Mode::Train), x);
}

#[test]
fn a_fresh_mask_is_drawn_for_every_batch() {
    let x = Array2::ones((10, 20));
    let mut layer = built(0.5, 20, 14);
    let first = run(&mut layer, &x, Mode::Train);
    let second = run(&mut layer, &x, Mode::Train);
    assert_ne!(first, second);
}

#[test]
fn layers_built_from_equally_seeded_rngs_draw_the_same_masks() {
    let x = uniform(50, 20, -1.0, 1.0, 15);
    let (mut a, mut b) = (built(0.3, 20, 99), built(0.3, 20, 99));
    for _ in 0..3 {
        assert_eq!(run(&mut a, &x, Mode::Train), run(&mut b, &x, Mode::Train));
    }
}

#[test]
fn models_with_the_same_seed_give_identical_train_mode_outputs() {
    let x = uniform(50, 20, -1.0, 1.0, 16);
    let mut a = model_with_dropout(20, 0.3, 1234);
    let mut b = model_with_dropout(20, 0.3, 1234);
    for _ in 0..3 {
        let ya = a.forward(&x, Mode::Train).unwrap().to_owned();
        let yb = b.forward(&x, Mode::Train).unwrap().to_owned();
        assert_eq!(ya, yb);
    }
}

#[test]
fn models_with_different_seeds_give_different_train_mode_outputs() {
    // 1000 elements at rate 0.3: the chance that two independent masks agree everywhere is
    // (0.3² + 0.7²)^1000 = 0.58^1000, zero for all purposes.
    let x = uniform(50, 20, -1.0, 1.0, 17);
    let mut a = model_with_dropout(20, 0.3, 1234);
    let mut b = model_with_dropout(20, 0.3, 1235);
    let ya = a.forward(&x, Mode::Train).unwrap().to_owned();
    let yb = b.forward(&x, Mode::Train).unwrap().to_owned();
    assert_ne!(ya, yb);
}

#[test]
fn set_seed_replays_the_same_masks() {
    let x = uniform(10, 8, -1.0, 1.0, 18);
    let mut model = model_with_dropout(8, 0.5, 77);
    let first = model.forward(&x, Mode::Train).unwrap().to_owned();
    model.set_seed(77);
    let again = model.forward(&x, Mode::Train).unwrap().to_owned();
    assert_eq!(first, again);
}

#[test]
fn backward_is_zero_where_dropped_and_scaled_where_kept() {
    // rate 0.25: scale 1 / 0.75 = 4/3. With grad_output = 3 everywhere the input gradient is
    // 3 · 4/3 = 4 where kept and 0 where dropped (x > 0 everywhere, so kept <=> y != 0).
    let x = uniform(40, 10, 0.5, 1.5, 19);
    let mut layer = built(0.25, 10, 20);
    let y = run(&mut layer, &x, Mode::Train);
    let mut g = Array2::from_elem((40, 10), 3.0f32);
    let mut gi = Array2::from_elem((40, 10), f32::NAN);
    layer
        .backward(
            x.view(),
            y.view(),
            g.view_mut(),
            Some(gi.view_mut()),
            GradWrt::Output,
        )
        .unwrap();
    let (mut kept, mut dropped) = (0, 0);
    for (&yi, &gi) in y.iter().zip(&gi) {
        if yi == 0.0 {
            assert_eq!(gi, 0.0);
            dropped += 1;
        } else {
            assert!((gi - 4.0).abs() < 1e-6, "{gi}");
            kept += 1;
        }
    }
    assert!(kept > 0 && dropped > 0);
}

#[test]
fn backward_after_an_eval_forward_is_the_identity() {
    let x = uniform(5, 4, -1.0, 1.0, 21);
    let mut layer = built(0.5, 4, 22);
    run(&mut layer, &x, Mode::Train);
    let y = run(&mut layer, &x, Mode::Eval);
    let g = uniform(5, 4, -1.0, 1.0, 23);
    let mut gi = Array2::zeros((5, 4));
    layer
        .backward(
            x.view(),
            y.view(),
            g.clone().view_mut(),
            Some(gi.view_mut()),
            GradWrt::Output,
        )
        .unwrap();
    assert_eq!(gi, g);
}

#[test]
fn a_larger_batch_after_a_smaller_one_is_fully_masked() {
    // The mask buffer grows with the batch: every element of the larger batch must be either
    // dropped or scaled by 2 (rate 0.5), none left unmasked.
    let mut layer = built(0.5, 6, 24);
    run(&mut layer, &Array2::ones((2, 6)), Mode::Train);
    let y = run(&mut layer, &Array2::ones((50, 6)), Mode::Train);
    assert!(y.iter().all(|&v| v == 0.0 || v == 2.0));
    let dropped = dropped_count(&y);
    // 300 elements, K ~ Binomial(300, 0.5): sd 8.66, five sigma 43.
    assert!((dropped - 150.0).abs() <= 43.0, "dropped {dropped}");
}

#[test]
fn dropout_has_no_weights() {
    let mut layer = built(0.5, 6, 25);
    assert!(layer.weights().is_empty());
    assert_eq!(layer.param_count(), 0);
    let err = layer
        .set_weights(&[Array2::<f32>::zeros((1, 1)).into_dyn()])
        .unwrap_err();
    assert!(err.to_string().contains("Dropout"), "{err}");
}

#[test]
fn rate_one_is_rejected_at_add() {
    let msg = add_error(1.0);
    assert!(msg.contains("rate") && msg.contains("Dropout"), "{msg}");
}

#[test]
fn negative_rate_is_rejected_at_add() {
    let msg = add_error(-0.1);
    assert!(msg.contains("rate") && msg.contains("-0.1"), "{msg}");
}

#[test]
fn nan_rate_is_rejected_at_add() {
    let msg = add_error(f32::NAN);
    assert!(msg.contains("rate") && msg.contains("NaN"), "{msg}");
}

#[test]
fn rate_above_one_and_infinite_rate_are_rejected_at_add() {
    assert!(add_error(1.5).contains("rate"));
    assert!(add_error(f32::INFINITY).contains("rate"));
}

#[test]
fn a_rejected_dropout_is_not_added_to_the_model() {
    let mut model = Sequential::new(4).with_seed(0);
    assert!(model.add(Dropout::new(1.0)).is_err());
    assert!(model.layers().is_empty());
}

/// A 4 → 8 → 8 → 1 model with `dropouts` Dropout layers of `rate` after each hidden layer.
fn paired_model(dropout: Option<f32>) -> Sequential {
    let mut m = Sequential::new(4).with_seed(11);
    m.add(Dense::new(8).activation(Activation::Relu)).unwrap();
    if let Some(rate) = dropout {
        m.add(Dropout::new(rate)).unwrap();
    }
    m.add(Dense::new(8).activation(Activation::Relu)).unwrap();
    if let Some(rate) = dropout {
        m.add(Dropout::new(rate)).unwrap();
    }
    m.add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    m.compile(BinaryCrossentropy, Sgd::new(0.1).momentum(0.9))
        .unwrap();
    m
}

#[test]
fn dense_layers_start_from_the_same_weights_with_or_without_dropout_between_them() {
    let plain = paired_model(None);
    let dropped = paired_model(Some(0.5));
    let bits = |m: &Sequential| -> Vec<Vec<u32>> {
        m.get_weights()
            .iter()
            .map(|w| w.iter().map(|v| v.to_bits()).collect())
            .collect()
    };
    assert_eq!(bits(&plain), bits(&dropped));
}

#[test]
fn dropout_zero_trains_bitwise_like_no_dropout() {
    let x = uniform(40, 4, -1.0, 1.0, 5);
    let y = Array2::from_shape_fn((40, 1), |(i, _)| (i % 2) as f32);
    let options = FitOptions {
        epochs: 5,
        batch_size: 8,
        ..Default::default()
    };
    let mut plain = paired_model(None);
    let mut dropped = paired_model(Some(0.0));
    let h1 = plain.fit(&x, &y, &options).unwrap();
    let h2 = dropped.fit(&x, &y, &options).unwrap();
    let loss_bits = |h: &History| h.loss.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(loss_bits(&h1), loss_bits(&h2));
    for (a, b) in plain.get_weights().iter().zip(dropped.get_weights().iter()) {
        assert!(
            a.iter()
                .zip(b.iter())
                .all(|(p, q)| p.to_bits() == q.to_bits())
        );
    }
}
