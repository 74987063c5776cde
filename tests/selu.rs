//! SELU and the LeCun initializers for self-normalizing networks, with Keras's constants.

use ndarray::{Array2, array};
use ndnet::activation::{SELU_ALPHA, SELU_SCALE};
use ndnet::prelude::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

#[test]
fn selu_constants_are_keras_values() {
    assert_eq!(SELU_ALPHA, 1.673_263_242_354_377_2_f64 as f32);
    assert_eq!(SELU_SCALE, 1.050_700_987_355_480_5_f64 as f32);
}

#[test]
fn selu_values_by_hand() {
    // λ z for z > 0; λ α (e^z - 1) otherwise:
    // z = -2:   1.0507010 · 1.6732632 · (e^-2 - 1) = 1.7580993 · -0.8646647 = -1.5201665
    // z = -0.5: 1.7580993 · (e^-0.5 - 1) = 1.7580993 · -0.3934693 = -0.6917582
    // z = 1.5:  1.0507010 · 1.5 = 1.5760515
    let mut z = array![[-2.0f32, -0.5, 0.0, 1.5]];
    Activation::Selu.apply(z.view_mut());
    let expected = [-1.520_166_5f32, -0.691_758_2, 0.0, 1.576_051_5];
    for (got, want) in z.iter().zip(expected) {
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
    }
}

#[test]
fn selu_derivative_is_computed_from_the_output() {
    // y < 0: dy/dz = λ α e^z = y + λ α; at z = -0.5: -0.6917582 + 1.7580993 = 1.0663412.
    // y >= 0: dy/dz = λ = 1.0507010.
    let y = array![[-0.691_758_2f32, 1.576_051_5]];
    let mut g = Array2::ones((1, 2));
    Activation::Selu.backward(y.view(), g.view_mut()).unwrap();
    assert!((g[[0, 0]] - 1.066_341_2).abs() < 1e-6, "{}", g[[0, 0]]);
    assert!((g[[0, 1]] - 1.050_701).abs() < 1e-6, "{}", g[[0, 1]]);
}

#[test]
fn selu_is_named_like_keras() {
    assert_eq!(Activation::Selu.name(), "selu");
}

#[test]
fn lecun_normal_is_a_truncated_normal_with_variance_one_over_fan_in() {
    // fan_in 25: σ = sqrt(1 / 25) / 0.8796257 = 0.2273694 before truncation at ±2σ, which
    // brings the standard deviation back to sqrt(1 / 25) = 0.2. With 250,000 draws the SE of
    // the sample std is about 0.2 / sqrt(2 · 250000) = 0.0003.
    let mut w = Array2::<f32>::zeros((25, 10_000));
    Initializer::LecunNormal.fill(w.view_mut(), 25, 10_000, &mut SmallRng::seed_from_u64(1));
    let n = w.len() as f64;
    let mean = w.iter().map(|&v| v as f64).sum::<f64>() / n;
    let std = (w.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
    assert!(mean.abs() < 0.002, "mean {mean}");
    assert!((std - 0.2).abs() < 0.002, "std {std}");
    let bound = 2.0 * 0.227_369_5;
    assert!(w.iter().all(|&v| (v as f64).abs() <= bound + 1e-6));
}

#[test]
fn lecun_uniform_is_bounded_by_sqrt_three_over_fan_in() {
    // fan_in 12: limit sqrt(3 / 12) = 0.5; the variance of U(±0.5) is 0.25 / 3 = 1 / 12.
    let mut w = Array2::<f32>::zeros((12, 10_000));
    Initializer::LecunUniform.fill(w.view_mut(), 12, 10_000, &mut SmallRng::seed_from_u64(2));
    assert!(w.iter().all(|&v| v.abs() <= 0.5));
    let n = w.len() as f64;
    let var = w.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / n;
    assert!((var - 1.0 / 12.0).abs() < 0.001, "variance {var}");
}

#[test]
fn a_selu_network_keeps_standardized_activations_near_mean_zero_and_variance_one() {
    // Self-normalization: 4 SELU layers of 256 units with LeCun-normal weights map standardized
    // inputs to activations whose mean stays near 0 and variance near 1.
    let mut model = Sequential::new(256).with_seed(3);
    for _ in 0..4 {
        model
            .add(
                Dense::new(256)
                    .activation(Activation::Selu)
                    .kernel_initializer(Initializer::LecunNormal),
            )
            .unwrap();
    }
    let mut rng = SmallRng::seed_from_u64(4);
    let x = Array2::from_shape_fn((512, 256), |_| rng.sample::<f32, _>(StandardNormal));
    let y = model.predict(&x).unwrap();
    let n = y.len() as f64;
    let mean = y.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = y.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    assert!(mean.abs() < 0.1, "mean {mean}");
    assert!((var - 1.0).abs() < 0.15, "variance {var}");
}
