//! Monte-Carlo dropout (`ndnet::mc`): the estimator against closed forms, reproducibility, the
//! mode's effect on each layer, and errors.

mod common;

use ndarray::{Array2, ArrayD, IxDyn, array};
use ndnet::layers::{Masks, Mode};
use ndnet::mc::{McPrediction, OutputKind};
use ndnet::prelude::*;
use ndnet::rng::mc_seed;

/// The kernel `(inputs, units)` and bias `(units,)` as `set_weights` takes them.
fn dense_weights(kernel: &Array2<f32>, bias: &[f32]) -> [ArrayD<f32>; 2] {
    [
        kernel.clone().into_dyn(),
        ArrayD::from_shape_vec(IxDyn(&[bias.len()]), bias.to_vec()).unwrap(),
    ]
}

/// `noise` → `Dense(1)` (linear) with kernel `w` and bias `b` on inputs of width `w.len()`.
fn noise_then_linear(noise: Box<dyn Layer>, w: &[f32], b: f32) -> Sequential {
    let mut model = Sequential::new(w.len()).with_seed(3);
    model.add(noise).unwrap();
    model.add(Dense::new(1)).unwrap();
    let kernel = Array2::from_shape_vec((w.len(), 1), w.to_vec()).unwrap();
    model.set_weights(&dense_weights(&kernel, &[b])).unwrap();
    model
}

const W: [f32; 8] = [0.5, -1.0, 0.25, 2.0, -0.75, 1.5, 0.1, -0.3];

/// Four input rows of width 8.
fn inputs() -> Array2<f32> {
    Array2::from_shape_fn((4, 8), |(i, j)| {
        ((i * 8 + j) as f32 * 0.37).sin() * 2.0 + 0.5
    })
}

/// Checks the MC mean and variance of each row against the closed form.
///
/// With `y = b + Σ_i z_i` for independent `z_i` of means `m_i`, variances `v_i` and fourth
/// central moments `k_i`: `E y = b + Σ m_i`, `σ² = Σ v_i`, and the fourth central moment of `y`
/// is `μ4 = Σ k_i + 3 (σ⁴ - Σ v_i²)`. Over `T` independent passes the MC mean has standard error
/// `σ / √T` and the variance of the passes (divided by `T`) has expectation `σ² (T - 1) / T` and
/// standard error `√((μ4 - σ⁴) / T)` (to first order). By the central limit theorem a deviation
/// beyond 5 standard errors has probability below 6e-7 per check; with 8 checks per test the
/// chance that some seed fails is below 1e-5, so the tolerance is not tuned to the seed.
fn check_moments(mc: &McPrediction, terms: &[Vec<(f64, f64, f64)>], b: f64) {
    let t = mc.samples as f64;
    for (row, terms) in terms.iter().enumerate() {
        let mean: f64 = b + terms.iter().map(|z| z.0).sum::<f64>();
        let var: f64 = terms.iter().map(|z| z.1).sum();
        let sum_v2: f64 = terms.iter().map(|z| z.1 * z.1).sum();
        let mu4 = terms.iter().map(|z| z.2).sum::<f64>() + 3.0 * (var * var - sum_v2);
        let got_mean = f64::from(mc.mean[[row, 0]]);
        let got_var = f64::from(mc.std[[row, 0]]).powi(2);
        let se_mean = (var / t).sqrt();
        let se_var = ((mu4 - var * var) / t).sqrt();
        assert!(
            (got_mean - mean).abs() < 5.0 * se_mean,
            "row {row}: mean {got_mean} vs {mean} (se {se_mean})"
        );
        let expected_var = var * (t - 1.0) / t;
        assert!(
            (got_var - expected_var).abs() < 5.0 * se_var,
            "row {row}: variance {got_var} vs {expected_var} (se {se_var})"
        );
    }
}

#[test]
fn dropout_then_linear_matches_the_closed_form() {
    // z_i = a_i · m_i / p, m_i ~ Bernoulli(p = 1 - q), a_i = w_i x_i: mean a_i, variance
    // a_i² q / p, and with u = m / p - 1 (q / p with probability p, -1 with probability q)
    // fourth central moment a_i⁴ (q⁴ / p³ + q).
    let q = 0.3f64;
    let p = 1.0 - q;
    let model = noise_then_linear(Box::new(Dropout::new(q as f32)), &W, 0.4);
    let x = inputs();
    let mc = model.predict_mc(&x, 4000, 11).unwrap();
    assert_eq!(mc.output, OutputKind::Other);
    assert!(mc.entropy.is_none() && mc.mutual_information.is_none());
    assert!(mc.proba().is_err());
    let terms: Vec<Vec<(f64, f64, f64)>> = x
        .outer_iter()
        .map(|row| {
            row.iter()
                .zip(W)
                .map(|(&xi, wi)| {
                    let a = f64::from(xi) * f64::from(wi);
                    (a, a * a * q / p, a.powi(4) * (q.powi(4) / p.powi(3) + q))
                })
                .collect()
        })
        .collect();
    check_moments(&mc, &terms, 0.4f32 as f64);
}

#[test]
fn gaussian_dropout_then_linear_matches_the_closed_form() {
    // z_i = a_i n_i, n_i ~ N(1, q / (1 - q)): mean a_i, variance a_i² q / (1 - q), fourth
    // central moment 3 (a_i² q / (1 - q))².
    let q = 0.4f64;
    let s2 = q / (1.0 - q);
    let model = noise_then_linear(Box::new(GaussianDropout::new(q as f32)), &W, -0.2);
    let x = inputs();
    let mc = model.predict_mc(&x, 4000, 5).unwrap();
    let terms: Vec<Vec<(f64, f64, f64)>> = x
        .outer_iter()
        .map(|row| {
            row.iter()
                .zip(W)
                .map(|(&xi, wi)| {
                    let a = f64::from(xi) * f64::from(wi);
                    let v = a * a * s2;
                    (a, v, 3.0 * v * v)
                })
                .collect()
        })
        .collect();
    check_moments(&mc, &terms, -0.2f32 as f64);
}

#[test]
fn alpha_dropout_then_linear_matches_the_closed_form() {
    // z_i = w_i (A (x_i k_i + α' (1 - k_i)) + B), k_i ~ Bernoulli(p): a two-point variable with
    // values w_i (A x_i + B) (probability p) and w_i (A α' + B) (probability q). For a two-point
    // variable with gap d: mean low + p d, variance p q d², fourth central moment
    // p q (q³ + p³) d⁴.
    let q = 0.2f64;
    let p = 1.0 - q;
    let layer = AlphaDropout::new(q as f32);
    let (a, b) = layer.affine();
    let (a, b) = (f64::from(a), f64::from(b));
    // SELU's saturation value -λα.
    let alpha = -1.758_099_340_847_376_6f64;
    let model = noise_then_linear(Box::new(layer), &W, 0.1);
    let x = inputs();
    let mc = model.predict_mc(&x, 4000, 8).unwrap();
    let terms: Vec<Vec<(f64, f64, f64)>> = x
        .outer_iter()
        .map(|row| {
            row.iter()
                .zip(W)
                .map(|(&xi, wi)| {
                    let (w, xi) = (f64::from(wi), f64::from(xi));
                    let (kept, dropped) = (w * (a * xi + b), w * (a * alpha + b));
                    let d = kept - dropped;
                    (
                        dropped + p * d,
                        p * q * d * d,
                        p * q * (q.powi(3) + p.powi(3)) * d.powi(4),
                    )
                })
                .collect()
        })
        .collect();
    check_moments(&mc, &terms, 0.1f32 as f64);
}

/// Dense(3) with known weights → Dropout(q) → Dense(1): the hidden layer before the first noisy
/// one runs once per task; the moments are those of the dropout-then-linear case on its output.
#[test]
fn layers_before_the_first_dropout_feed_every_pass() {
    let q = 0.5f64;
    let mut model = Sequential::new(2).with_seed(1);
    model.add(Dense::new(3)).unwrap();
    model.add(Dropout::new(q as f32)).unwrap();
    model.add(Dense::new(1)).unwrap();
    let w1 = array![[1.0f32, -0.5, 0.25], [0.5, 1.5, -1.0]];
    let b1 = [0.1f32, -0.2, 0.3];
    let w2 = [0.7f32, -1.2, 0.9];
    let mut weights = dense_weights(&w1, &b1).to_vec();
    weights.extend(dense_weights(
        &Array2::from_shape_vec((3, 1), w2.to_vec()).unwrap(),
        &[0.05],
    ));
    model.set_weights(&weights).unwrap();
    // 300 rows: two blocks of rows.
    let x = Array2::from_shape_fn((300, 2), |(i, j)| ((i * 2 + j) as f32 * 0.11).cos());
    let mc = model.predict_mc(&x, 3000, 2).unwrap();
    let p = 1.0 - q;
    let rows = [0usize, 1, 255, 256, 299];
    let terms: Vec<Vec<(f64, f64, f64)>> = rows
        .iter()
        .map(|&i| {
            (0..3)
                .map(|j| {
                    let h = f64::from(x[[i, 0]]) * f64::from(w1[[0, j]])
                        + f64::from(x[[i, 1]]) * f64::from(w1[[1, j]])
                        + f64::from(b1[j]);
                    let a = h * f64::from(w2[j]);
                    (a, a * a * q / p, a.powi(4) * (q.powi(4) / p.powi(3) + q))
                })
                .collect()
        })
        .collect();
    let picked = McPrediction {
        mean: Array2::from_shape_fn((rows.len(), 1), |(k, _)| mc.mean[[rows[k], 0]]),
        std: Array2::from_shape_fn((rows.len(), 1), |(k, _)| mc.std[[rows[k], 0]]),
        ..mc.clone()
    };
    check_moments(&picked, &terms, 0.05f32 as f64);
}

/// A small classifier: Dense(6, relu) → Dropout(0.5) → Dense(3, softmax).
fn classifier(seed: u64) -> Sequential {
    let mut model = Sequential::new(4).with_seed(seed);
    model
        .add(Dense::new(6).activation(Activation::Relu))
        .unwrap();
    model.add(Dropout::new(0.5)).unwrap();
    model
        .add(Dense::new(3).activation(Activation::Softmax))
        .unwrap();
    model
}

fn grid(rows: usize, cols: usize) -> Array2<f32> {
    Array2::from_shape_fn((rows, cols), |(i, j)| ((i * cols + j) as f32 * 0.7).sin())
}

#[test]
fn one_pass_equals_a_training_forward_with_the_same_mask() {
    let model = classifier(4);
    let x = grid(10, 4);
    let mc = model.predict_mc(&x, 1, 99).unwrap();
    let mut train = model.clone();
    train.layers_mut()[1].reseed(mc_seed(99, 0, 0, "Dropout", 0), Masks::PerRow);
    let expected = train.forward(&x, Mode::Train).unwrap().to_owned();
    assert_eq!(mc.mean, expected);
    assert!(mc.std.iter().all(|&s| s == 0.0));
    // The pass did sample: it is not the weight-scaling prediction.
    assert_ne!(mc.mean, model.clone().predict(&x).unwrap());
    // One pass: no disagreement between passes.
    assert!(mc.mutual_information.unwrap().iter().all(|&i| i == 0.0));
}

#[test]
fn one_mask_per_batch_is_shared_by_every_row() {
    let model = noise_then_linear(Box::new(Dropout::new(0.5)), &W, 0.0);
    // 600 identical rows: three blocks.
    let x = Array2::from_shape_fn((600, 8), |(_, j)| j as f32 + 1.0);
    let shared = model
        .mc_dropout(1)
        .seed(5)
        .per_batch_masks(true)
        .predict(&x)
        .unwrap();
    assert!(shared.mean.iter().all(|&v| v == shared.mean[[0, 0]]));
    let per_row = model.mc_dropout(1).seed(5).predict(&x).unwrap();
    assert!(per_row.mean.iter().any(|&v| v != per_row.mean[[0, 0]]));
    // Over many passes every row still has the same mean and spread, and the pass is a
    // training-mode forward of one row with the first row's mask.
    let many = model
        .mc_dropout(30)
        .seed(5)
        .masks(Masks::PerBatch)
        .predict(&x)
        .unwrap();
    assert!(many.mean.iter().all(|&v| v == many.mean[[0, 0]]));
    assert!(many.std.iter().all(|&v| v == many.std[[0, 0]]));
    assert!(many.std[[0, 0]] > 0.0);
    let mut one = model.clone();
    one.layers_mut()[0].reseed(mc_seed(5, 0, 0, "Dropout", 0), Masks::PerRow);
    let first_row = one
        .forward(x.slice(ndarray::s![..1, ..]), Mode::Train)
        .unwrap()[[0, 0]];
    assert_eq!(shared.mean[[0, 0]], first_row);
}

#[test]
fn results_are_bitwise_identical_for_any_thread_count() {
    let model = classifier(8);
    // 600 rows (three blocks) and 20 passes (three tasks per block).
    let x = grid(600, 4);
    let run = |threads: usize| {
        model
            .mc_dropout(20)
            .seed(3)
            .threads(threads)
            .predict(&x)
            .unwrap()
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(3));
    // The shorthand: all cores.
    assert_eq!(one, model.predict_mc(&x, 20, 3).unwrap());
    assert_eq!(
        one,
        model.mc_dropout(20).seed(3).threads(2).predict(&x).unwrap()
    );
    let shared = |threads| {
        model
            .mc_dropout(20)
            .seed(3)
            .masks(Masks::PerBatch)
            .threads(threads)
            .predict(&x)
            .unwrap()
    };
    assert_eq!(shared(1), shared(2));
    // Another seed gives other masks.
    assert_ne!(one.mean, model.predict_mc(&x, 20, 4).unwrap().mean);
}

#[test]
fn the_model_and_its_training_streams_are_untouched() {
    let x = grid(16, 4);
    let y = Array2::from_shape_fn((16, 3), |(i, j)| f32::from(i % 3 == j));
    let mut model = classifier(2);
    model
        .compile(CategoricalCrossentropy, Sgd::new(0.1))
        .unwrap();
    let mut reference = model.clone();
    let before = model.predict(&x).unwrap();
    let _ = model.predict_mc(&x, 25, 1).unwrap();
    assert_eq!(model.predict(&x).unwrap(), before);
    // The next training step draws the same masks as a copy that never predicted.
    assert_eq!(
        model.train_on_batch(&x, &y).unwrap(),
        reference.train_on_batch(&x, &y).unwrap()
    );
    assert_eq!(model.get_weights(), reference.get_weights());
}

#[test]
fn gaussian_noise_and_dense_behave_as_at_inference() {
    // GaussianNoise is the identity in Monte-Carlo mode.
    let mut noise = Sequential::new(3).with_seed(1);
    noise.add(GaussianNoise::new(5.0)).unwrap();
    let x = grid(4, 3);
    assert_eq!(noise.forward(&x, Mode::McDropout).unwrap(), x);
    assert_ne!(noise.forward(&x, Mode::Train).unwrap(), x);
    // So a model with one gives what the same model without it gives, bitwise.
    let mut with = Sequential::new(4).with_seed(6);
    with.add(Dense::new(5).activation(Activation::Tanh))
        .unwrap();
    with.add(GaussianNoise::new(5.0)).unwrap();
    with.add(Dropout::new(0.3)).unwrap();
    with.add(Dense::new(2).activation(Activation::Softmax))
        .unwrap();
    let mut without = Sequential::new(4).with_seed(6);
    without
        .add(Dense::new(5).activation(Activation::Tanh))
        .unwrap();
    without.add(Dropout::new(0.3)).unwrap();
    without
        .add(Dense::new(2).activation(Activation::Softmax))
        .unwrap();
    without.set_weights(&with.get_weights()).unwrap();
    let x = grid(7, 4);
    assert_eq!(
        with.predict_mc(&x, 12, 9).unwrap(),
        without.predict_mc(&x, 12, 9).unwrap()
    );
}

#[test]
fn dropout_layers_sample_in_monte_carlo_mode() {
    let x = Array2::<f32>::ones((20, 10));
    let layers: [Box<dyn Layer>; 3] = [
        Box::new(Dropout::new(0.5)),
        Box::new(GaussianDropout::new(0.5)),
        Box::new(AlphaDropout::new(0.5)),
    ];
    for layer in layers {
        let mut model = Sequential::new(10).with_seed(1);
        model.add(layer).unwrap();
        assert!(model.layers()[0].draws_noise(Mode::McDropout));
        assert!(!model.layers()[0].draws_noise(Mode::Eval));
        assert_ne!(model.forward(&x, Mode::McDropout).unwrap(), x);
        assert_eq!(model.forward(&x, Mode::Eval).unwrap(), x);
    }
}

/// Dropout(0.5) on one input → Dense(2, softmax) with kernel [1, -1]: a pass keeps the input
/// (input 2, logits [2, -2]) or drops it (logits [0, 0]). Knowing how many of the T passes kept
/// it (k, read off the mean) gives every statistic by hand.
#[test]
fn entropy_and_mutual_information_of_a_two_outcome_classifier() {
    let kept = [1.0 / (1.0 + (-4.0f64).exp()), 1.0 / (1.0 + 4.0f64.exp())];
    let dropped = [0.5f64, 0.5];
    let h = |p: [f64; 2]| -(p[0] * p[0].ln() + p[1] * p[1].ln());
    let t = 200usize;
    let check = |mc: &McPrediction| {
        let f = (f64::from(mc.mean[[0, 0]]) - 0.5) / (kept[0] - 0.5);
        let k = (f * t as f64).round();
        // k ~ Binomial(200, 1/2): within 5 standard deviations (√200 / 2 ≈ 7.1) of 100.
        assert!((k - 100.0).abs() < 36.0, "k = {k}");
        let f = k / t as f64;
        let mean = [
            f * kept[0] + (1.0 - f) * dropped[0],
            f * kept[1] + (1.0 - f) * dropped[1],
        ];
        let entropy = h(mean);
        let expected_entropy = f * h(kept) + (1.0 - f) * h(dropped);
        let spread = (kept[0] - dropped[0]).abs() * (f * (1.0 - f)).sqrt();
        assert!((f64::from(mc.mean[[0, 0]]) - mean[0]).abs() < 1e-6);
        assert!((f64::from(mc.std[[0, 0]]) - spread).abs() < 1e-5);
        let got = mc.entropy.as_ref().unwrap()[0];
        assert!(
            (f64::from(got) - entropy).abs() < 1e-5,
            "{got} vs {entropy}"
        );
        let got = mc.mutual_information.as_ref().unwrap()[0];
        let bald = entropy - expected_entropy;
        assert!((f64::from(got) - bald).abs() < 1e-5, "{got} vs {bald}");
    };
    let mut softmax = Sequential::new(1).with_seed(1);
    softmax.add(Dropout::new(0.5)).unwrap();
    softmax
        .add(Dense::new(2).activation(Activation::Softmax))
        .unwrap();
    softmax
        .set_weights(&dense_weights(&array![[1.0f32, -1.0]], &[0.0, 0.0]))
        .unwrap();
    let mc = softmax.predict_mc(&array![[1.0f32]], t, 21).unwrap();
    assert_eq!(mc.output, OutputKind::Multiclass);
    check(&mc);
    // The same as one sigmoid output: sigmoid(4) = softmax([2, -2])[0].
    let mut sigmoid = Sequential::new(1).with_seed(1);
    sigmoid.add(Dropout::new(0.5)).unwrap();
    sigmoid
        .add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    sigmoid
        .set_weights(&dense_weights(&array![[2.0f32]], &[0.0]))
        .unwrap();
    let mc = sigmoid.predict_mc(&array![[1.0f32]], t, 21).unwrap();
    assert_eq!(mc.output, OutputKind::Binary);
    check(&mc);
    let p = mc.proba().unwrap();
    assert_eq!(p.dim(), (1, 2));
    assert!((p[[0, 0]] + p[[0, 1]] - 1.0).abs() < 1e-6);
}

#[test]
fn statistics_of_given_passes_match_hand_computed_values() {
    // Three classes, two passes: mean [0.45, 0.35, 0.2],
    // H = -(0.45 ln 0.45 + 0.35 ln 0.35 + 0.2 ln 0.2) = 1.0486538,
    // E[H] = (H[0.7, 0.2, 0.1] + H[0.2, 0.5, 0.3]) / 2 = 0.9157358, I = 0.1329180.
    let a = array![[0.7f32, 0.2, 0.1]];
    let b = array![[0.2f32, 0.5, 0.3]];
    let mc = McPrediction::from_passes(&[a.view(), b.view()], OutputKind::Multiclass).unwrap();
    let close = |x: f32, y: f64| (f64::from(x) - y).abs() < 1e-6;
    assert!(close(mc.mean[[0, 0]], 0.45) && close(mc.mean[[0, 1]], 0.35));
    assert!(close(mc.entropy.as_ref().unwrap()[0], 1.048_653_8));
    assert!(close(
        mc.mutual_information.as_ref().unwrap()[0],
        0.132_918_0
    ));
    // Population standard deviation of {0.7, 0.2} is 0.25.
    assert!(close(mc.std[[0, 0]], 0.25));
    // Binary: passes 0.9 and 0.1 of one sigmoid: H = ln 2, E[H] = H[0.9, 0.1] = 0.3250830,
    // I = 0.3680642.
    let a = array![[0.9f32]];
    let b = array![[0.1f32]];
    let mc = McPrediction::from_passes(&[a.view(), b.view()], OutputKind::Binary).unwrap();
    assert!(close(
        mc.entropy.as_ref().unwrap()[0],
        std::f64::consts::LN_2
    ));
    assert!(close(
        mc.mutual_information.as_ref().unwrap()[0],
        0.368_064_2
    ));
    // Errors: no passes, shapes that differ, a binary output two columns wide.
    assert!(matches!(
        McPrediction::from_passes(&[], OutputKind::Other),
        Err(Error::EmptyData(_))
    ));
    let c = array![[0.1f32, 0.9]];
    assert!(matches!(
        McPrediction::from_passes(&[a.view(), c.view()], OutputKind::Other),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        McPrediction::from_passes(&[c.view()], OutputKind::Binary),
        Err(Error::ShapeMismatch { .. })
    ));
}

#[test]
fn errors_for_zero_samples_bad_inputs_and_models_without_dropout() {
    let model = classifier(1);
    let x = grid(3, 4);
    assert!(matches!(
        model.predict_mc(&x, 0, 1),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        model.predict_mc(&grid(3, 5), 10, 1),
        Err(Error::LayerInputMismatch { .. })
    ));
    assert!(matches!(
        model.predict_mc(&Array2::<f32>::zeros((0, 4)), 10, 1),
        Err(Error::EmptyData(_))
    ));
    let mut bad = x.clone();
    bad[[1, 2]] = f32::NAN;
    assert!(matches!(
        model.predict_mc(&bad, 10, 1),
        Err(Error::NonFinite {
            row: 1,
            column: 2,
            ..
        })
    ));
    // No layer samples: a documented error rather than a zero spread that looks like certainty.
    let mut plain = Sequential::new(4).with_seed(1);
    plain
        .add(Dense::new(2).activation(Activation::Softmax))
        .unwrap();
    assert!(matches!(
        plain.predict_mc(&x, 10, 1),
        Err(Error::InvalidState(_))
    ));
    let mut zero = Sequential::new(4).with_seed(1);
    zero.add(Dropout::new(0.0)).unwrap();
    zero.add(Dense::new(2)).unwrap();
    assert!(matches!(
        zero.predict_mc(&x, 10, 1),
        Err(Error::InvalidState(_))
    ));
    let mut noise_only = Sequential::new(4).with_seed(1);
    noise_only.add(GaussianNoise::new(1.0)).unwrap();
    noise_only.add(Dense::new(2)).unwrap();
    assert!(matches!(
        noise_only.predict_mc(&x, 10, 1),
        Err(Error::InvalidState(_))
    ));
    let empty = Sequential::new(4);
    assert!(matches!(
        empty.predict_mc(&x, 10, 1),
        Err(Error::InvalidState(_))
    ));
}

#[cfg(feature = "serde")]
#[test]
fn works_after_save_and_load() {
    let dir = common::tempdir().unwrap();
    let path = dir.path().join("mc.ndnet");
    let mut model = classifier(5);
    model
        .compile(CategoricalCrossentropy, Sgd::new(0.1))
        .unwrap();
    let x = grid(12, 4);
    let y = Array2::from_shape_fn((12, 3), |(i, j)| f32::from(i % 3 == j));
    model.train_on_batch(&x, &y).unwrap();
    model.save(&path).unwrap();
    let loaded = Sequential::load(&path).unwrap();
    assert_eq!(
        loaded.layers()[1].config(),
        ndnet::layers::LayerConfig::Dropout { rate: 0.5 }
    );
    let (a, b) = (
        model.predict_mc(&x, 30, 4).unwrap(),
        loaded.predict_mc(&x, 30, 4).unwrap(),
    );
    assert_eq!(a, b);
    assert!(a.std.iter().any(|&s| s > 0.0));
}

#[test]
fn regression_outputs_get_mean_and_std_only() {
    let mut model = Sequential::new(3).with_seed(2);
    model
        .add(Dense::new(8).activation(Activation::Relu))
        .unwrap();
    model.add(Dropout::new(0.2)).unwrap();
    model.add(Dense::new(2)).unwrap();
    let x = grid(9, 3);
    let mc = model.predict_mc(&x, 40, 1).unwrap();
    assert_eq!(mc.output, OutputKind::Other);
    assert_eq!(mc.mean.dim(), (9, 2));
    assert!(mc.entropy.is_none());
    assert!(mc.mutual_information.is_none());
    assert!(mc.std.iter().all(|&s| s >= 0.0) && mc.std.iter().any(|&s| s > 0.0));
}
