//! GaussianDropout, GaussianNoise and AlphaDropout: Keras's training-time formulas, the identity
//! at inference, seeded noise, and the gradients.
//!
//! Statistical checks use 200 × 1000 = 200,000 draws. The standard error of a sample mean is
//! `σ / sqrt(n)` and that of a sample variance of normal draws `σ² · sqrt(2 / n)`; tolerances are
//! about 5 standard errors, so a correct layer fails with probability below 1e-6 (and the draws
//! are seeded, so the outcome is fixed anyway), while a wrong variance formula (e.g. `rate`
//! instead of `rate / (1 - rate)`) is off by far more.

use ndarray::{Array2, ArrayView2};
use ndnet::layers::{Layer, LayerConfig, Mode};
use ndnet::prelude::*;
use rand::SeedableRng;
use rand::rngs::SmallRng;

const ROWS: usize = 200;
const COLS: usize = 1000;

fn mean_var(a: ArrayView2<f32>) -> (f64, f64) {
    let n = a.len() as f64;
    let mean = a.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = a.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, var)
}

/// The layer built for `COLS` inputs with a fixed generator.
fn built<L: Layer>(mut layer: L) -> L {
    layer.build(COLS, &mut SmallRng::seed_from_u64(9)).unwrap();
    layer
}

fn forward(layer: &mut dyn Layer, x: &Array2<f32>, mode: Mode) -> Array2<f32> {
    let mut y = Array2::zeros(x.dim());
    layer.forward(x.view(), y.view_mut(), mode).unwrap();
    y
}

/// dLoss/dInput for dLoss/dOutput = 1 everywhere, after the last forward pass.
fn input_grad(layer: &mut dyn Layer, x: &Array2<f32>, y: &Array2<f32>) -> Array2<f32> {
    let mut g = Array2::ones(x.dim());
    let mut gi = Array2::zeros(x.dim());
    layer
        .backward(
            x.view(),
            y.view(),
            g.view_mut(),
            Some(gi.view_mut()),
            GradWrt::Output,
        )
        .unwrap();
    gi
}

fn ramp() -> Array2<f32> {
    Array2::from_shape_fn((4, COLS), |(i, j)| (i * COLS + j) as f32 * 1e-3 - 2.0)
}

/// Standard normal draws, standardized exactly to mean 0 and variance 1.
fn standardized(values: Array2<f32>) -> Array2<f32> {
    let (m, v) = mean_var(values.view());
    values.mapv(|x| ((x as f64 - m) / v.sqrt()) as f32)
}

// ---------------------------------------------------------------- GaussianDropout

#[test]
fn gaussian_dropout_is_the_identity_at_inference() {
    let mut layer = built(GaussianDropout::new(0.4));
    let x = ramp();
    assert_eq!(forward(&mut layer, &x, Mode::Eval), x);
}

#[test]
fn gaussian_dropout_noise_has_mean_one_and_variance_rate_over_one_minus_rate() {
    // rate 0.2: variance 0.2 / 0.8 = 0.25 (σ = 0.5). SE of the mean 0.5 / sqrt(2e5) = 0.0011,
    // SE of the variance 0.25 · sqrt(1e-5) = 0.0008.
    let mut layer = built(GaussianDropout::new(0.2));
    let y = forward(&mut layer, &Array2::ones((ROWS, COLS)), Mode::Train);
    let (mean, var) = mean_var(y.view());
    assert!((mean - 1.0).abs() < 0.006, "mean {mean}");
    assert!((var - 0.25).abs() < 0.004, "variance {var}");
}

#[test]
fn gaussian_dropout_multiplies_the_input_and_the_gradient_by_the_same_noise() {
    let mut layer = built(GaussianDropout::new(0.5));
    let x = ramp();
    let y = forward(&mut layer, &x, Mode::Train);
    let noise = forward(
        &mut built(GaussianDropout::new(0.5)),
        &Array2::ones(x.dim()),
        Mode::Train,
    );
    // Same seed, same draws: y = x · n.
    assert_eq!(y, &x * &noise);
    assert_eq!(input_grad(&mut layer, &x, &y), noise);
}

#[test]
fn gaussian_dropout_with_rate_zero_is_the_identity_in_training() {
    let mut layer = built(GaussianDropout::new(0.0));
    let x = ramp();
    assert_eq!(forward(&mut layer, &x, Mode::Train), x);
}

#[test]
fn gaussian_dropout_rejects_a_rate_of_one() {
    let mut model = Sequential::new(3);
    assert!(model.add(GaussianDropout::new(1.0)).is_err());
    assert!(model.add(GaussianDropout::new(-0.1)).is_err());
}

// ---------------------------------------------------------------- GaussianNoise

#[test]
fn gaussian_noise_is_the_identity_at_inference() {
    let mut layer = built(GaussianNoise::new(0.3));
    let x = ramp();
    assert_eq!(forward(&mut layer, &x, Mode::Eval), x);
}

#[test]
fn gaussian_noise_adds_zero_mean_noise_with_the_given_stddev() {
    // stddev 0.3: variance 0.09; SE of the mean 0.3 / sqrt(2e5) = 0.00067, of the variance
    // 0.09 · sqrt(1e-5) = 0.00028.
    let mut layer = built(GaussianNoise::new(0.3));
    let x = Array2::from_elem((ROWS, COLS), 2.0f32);
    let e = forward(&mut layer, &x, Mode::Train) - &x;
    let (mean, var) = mean_var(e.view());
    assert!(mean.abs() < 0.004, "mean {mean}");
    assert!((var - 0.09).abs() < 0.0015, "variance {var}");
}

#[test]
fn gaussian_noise_passes_the_gradient_through_unchanged() {
    let mut layer = built(GaussianNoise::new(0.3));
    let x = ramp();
    let y = forward(&mut layer, &x, Mode::Train);
    assert_eq!(input_grad(&mut layer, &x, &y), Array2::<f32>::ones(x.dim()));
}

#[test]
fn gaussian_noise_rejects_a_negative_stddev() {
    assert!(Sequential::new(3).add(GaussianNoise::new(-0.1)).is_err());
    assert!(
        Sequential::new(3)
            .add(GaussianNoise::new(f32::NAN))
            .is_err()
    );
}

// ---------------------------------------------------------------- AlphaDropout

#[test]
fn alpha_dropout_is_the_identity_at_inference() {
    let mut layer = built(AlphaDropout::new(0.2));
    let x = ramp();
    assert_eq!(forward(&mut layer, &x, Mode::Eval), x);
}

#[test]
fn alpha_dropout_constants_are_keras_formula() {
    // q = 0.1, α' = -1.7580993408473766:
    // a = ((1 - q)(1 + q α'²))^-1/2 = (0.9 · 1.3090913)^-1/2 = 1.1781822^-1/2 = 0.9212845
    // b = -a α' q = 0.9212845 · 0.17580993 = 0.1619710
    let (a, b) = AlphaDropout::new(0.1).affine();
    assert!((a - 0.921_284_5).abs() < 1e-6, "a = {a}");
    assert!((b - 0.161_971).abs() < 1e-6, "b = {b}");
}

#[test]
fn alpha_dropout_keeps_units_as_a_x_plus_b_and_sets_dropped_ones_to_a_alpha_prime_plus_b() {
    let mut layer = built(AlphaDropout::new(0.3));
    let (a, b) = layer.affine();
    let dropped = a * -1.758_099_3 + b;
    let x = ramp();
    let y = forward(&mut layer, &x, Mode::Train);
    let mut n_dropped = 0;
    for (&x, &y) in x.iter().zip(y.iter()) {
        if y == dropped && (a * x + b - dropped).abs() > 1e-6 {
            n_dropped += 1;
        } else {
            assert!((y - (a * x + b)).abs() < 1e-6, "x {x} y {y}");
        }
    }
    // 4000 units, 30% dropped: 1200 ± 29 (binomial sd sqrt(4000 · 0.3 · 0.7)).
    assert!((1050..1350).contains(&n_dropped), "{n_dropped} dropped");
}

#[test]
fn alpha_dropout_gradient_is_a_for_kept_units_and_zero_for_dropped_ones() {
    let mut layer = built(AlphaDropout::new(0.3));
    let (a, b) = layer.affine();
    let x = ramp();
    let y = forward(&mut layer, &x, Mode::Train);
    let g = input_grad(&mut layer, &x, &y);
    for ((&x, &y), &g) in x.iter().zip(y.iter()).zip(g.iter()) {
        let kept = (y - (a * x + b)).abs() < 1e-6;
        assert_eq!(g, if kept { a } else { 0.0 });
    }
}

#[test]
fn alpha_dropout_keeps_standardized_selu_activations_at_mean_zero_and_variance_one() {
    // SELU outputs of N(0, 1) pre-activations, standardized exactly, then AlphaDropout(0.2).
    // The output is a mixture with kurtosis near 3-5: SE of the mean 1 / sqrt(2e5) = 0.0022,
    // SE of the variance about sqrt(4 / 2e5) = 0.0045; tolerances 0.012 and 0.025.
    let mut pre = built(GaussianNoise::new(1.0));
    let z = forward(&mut pre, &Array2::zeros((ROWS, COLS)), Mode::Train);
    let mut selu = z.clone();
    Activation::Selu.apply(selu.view_mut());
    let x = standardized(selu);
    let mut layer = built(AlphaDropout::new(0.2));
    let y = forward(&mut layer, &x, Mode::Train);
    let (mean, var) = mean_var(y.view());
    assert!(mean.abs() < 0.012, "mean {mean}");
    assert!((var - 1.0).abs() < 0.025, "variance {var}");
}

#[test]
fn alpha_dropout_with_rate_zero_is_the_identity_in_training() {
    let mut layer = built(AlphaDropout::new(0.0));
    let x = ramp();
    assert_eq!(forward(&mut layer, &x, Mode::Train), x);
}

#[test]
fn alpha_dropout_rejects_a_rate_of_one() {
    assert!(Sequential::new(3).add(AlphaDropout::new(1.0)).is_err());
}

// ---------------------------------------------------------------- all three

fn noise_model(seed: u64) -> Sequential {
    let mut model = Sequential::new(8).with_seed(seed);
    model.add(GaussianNoise::new(0.5)).unwrap();
    model.add(GaussianDropout::new(0.3)).unwrap();
    model.add(AlphaDropout::new(0.3)).unwrap();
    model
}

#[test]
fn the_same_seed_gives_the_same_noise_and_another_seed_other_noise() {
    let x = Array2::from_shape_fn((5, 8), |(i, j)| (i + j) as f32 * 0.1);
    let run = |seed| {
        let mut m = noise_model(seed);
        let first = m.forward(&x, Mode::Train).unwrap().to_owned();
        let second = m.forward(&x, Mode::Train).unwrap().to_owned();
        (first, second)
    };
    let (a1, a2) = run(4);
    assert_eq!((a1.clone(), a2.clone()), run(4));
    assert_ne!(a1, a2, "each batch draws fresh noise");
    assert_ne!(a1, run(5).0);
}

#[test]
fn the_noise_layers_are_the_identity_in_predict() {
    let x = Array2::from_shape_fn((5, 8), |(i, j)| (i * j) as f32 * 0.1 - 1.0);
    assert_eq!(noise_model(1).predict(&x).unwrap(), x);
}

#[test]
fn the_noise_layers_describe_themselves_and_rebuild_from_their_config() {
    let model = noise_model(1);
    let configs: Vec<LayerConfig> = model.layers().iter().map(|l| l.config()).collect();
    assert_eq!(
        configs,
        vec![
            LayerConfig::GaussianNoise { stddev: 0.5 },
            LayerConfig::GaussianDropout { rate: 0.3 },
            LayerConfig::AlphaDropout { rate: 0.3 },
        ]
    );
    for c in &configs {
        assert_eq!(c.build().unwrap().config(), *c);
    }
    assert_eq!(model.param_count(), 0);
    let kinds: Vec<_> = model.layers().iter().map(|l| l.kind()).collect();
    assert_eq!(kinds, ["GaussianNoise", "GaussianDropout", "AlphaDropout"]);
}

#[test]
fn a_network_with_noise_layers_trains_and_stays_finite() {
    let x = Array2::from_shape_fn((32, 4), |(i, j)| ((i * 7 + j * 3) % 11) as f32 / 11.0 - 0.5);
    let y = Array2::from_shape_fn((32, 1), |(i, _)| (x[[i, 0]] > 0.0) as u8 as f32);
    let mut model = Sequential::new(4).with_seed(2);
    model.add(GaussianNoise::new(0.05)).unwrap();
    model
        .add(
            Dense::new(8)
                .activation(Activation::Selu)
                .kernel_initializer(Initializer::LecunNormal),
        )
        .unwrap();
    model.add(AlphaDropout::new(0.1)).unwrap();
    model.add(GaussianDropout::new(0.1)).unwrap();
    model
        .add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    model.compile(BinaryCrossentropy, Adam::new(0.01)).unwrap();
    let options = FitOptions {
        epochs: 100,
        batch_size: 8,
        ..Default::default()
    };
    let h = model.fit(&x, &y, &options).unwrap();
    assert!(h.loss.iter().all(|l| l.is_finite()));
    assert!(h.loss.last().unwrap() < &h.loss[0], "the loss goes down");
    assert!(model.evaluate(&x, &y).unwrap().accuracy > 0.9);
}
