//! Regularization layers Keras users reach for next to [`Dropout`](super::Dropout):
//! [`GaussianDropout`], [`GaussianNoise`] and [`AlphaDropout`].
//!
//! Like `Dropout`, each is active in [`Mode::Train`] and the identity in [`Mode::Eval`]; in
//! [`Mode::McDropout`] `GaussianDropout` and `AlphaDropout` sample as in training and
//! `GaussianNoise` is the identity (see [`Mode::McDropout`]). Each
//! draws its noise from its own generator (seeded from the model's seed and the layer's
//! position, so the same seed gives the same noise), and keeps the noise of the last training
//! batch for `backward`. None has weights: a saved model stores only the layer and its rate or
//! standard deviation.

use ndarray::{ArrayView2, ArrayViewMut2, Zip};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use super::dropout::{NoiseBuffer, check_rate, drop_threshold, fill_mask};
use super::{
    GradWrt, Layer, LayerConfig, Masks, Mode, check_backward_same, check_forward_same, identity,
};
use crate::error::Result;
use crate::validate;

/// SELU's negative saturation value `-λα`, the value AlphaDropout gives dropped units.
pub const ALPHA_PRIME: f64 = -1.758_099_340_847_376_6;

/// Multiplicative Gaussian noise, Keras's `GaussianDropout(rate)`.
///
/// In [`Mode::Train`] `y = x · n` with `n ~ N(1, rate / (1 - rate))` drawn per element per batch
/// (the variance Bernoulli dropout with the same rate has), and `backward` multiplies by the same
/// `n`. In [`Mode::Eval`], and for `rate = 0`, it is the identity; [`Mode::McDropout`] draws as
/// training does. `rate` must lie in `[0, 1)`.
///
/// ```
/// use ndnet::prelude::*;
/// use ndarray::Array2;
/// let mut model = Sequential::new(3).with_seed(1);
/// model.add(GaussianDropout::new(0.3))?;
/// let x = Array2::<f32>::ones((2, 3));
/// assert_eq!(model.predict(&x)?, x); // inference: identity
/// # Ok::<(), ndnet::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct GaussianDropout {
    rate: f32,
    stddev: f32,
    /// The generator and the noise `n` of the last sampling pass.
    noise: NoiseBuffer,
}

impl GaussianDropout {
    /// Gaussian dropout standing for the drop probability `rate`.
    pub fn new(rate: f32) -> Self {
        GaussianDropout {
            rate,
            stddev: 0.0,
            noise: NoiseBuffer::new(),
        }
    }

    /// The drop probability.
    pub fn rate(&self) -> f32 {
        self.rate
    }

    /// The standard deviation of the noise, `sqrt(rate / (1 - rate))`.
    pub fn stddev(&self) -> f32 {
        (self.rate as f64 / (1.0 - self.rate as f64)).sqrt() as f32
    }
}

impl Layer for GaussianDropout {
    fn build(&mut self, input_dim: usize, rng: &mut SmallRng) -> Result<usize> {
        check_rate("GaussianDropout", self.rate)?;
        self.stddev = self.stddev();
        self.noise.build(rng);
        Ok(input_dim)
    }

    fn infer(&self, input: ArrayView2<f32>, output: ArrayViewMut2<f32>) -> Result<()> {
        identity("GaussianDropout", input, output)
    }

    fn forward(
        &mut self,
        input: ArrayView2<f32>,
        output: ArrayViewMut2<f32>,
        mode: Mode,
    ) -> Result<()> {
        let stddev = self.stddev;
        self.noise.forward(
            "GaussianDropout",
            (input, output),
            (mode, self.draws_noise(mode)),
            |rng, mut n| {
                n.iter_mut()
                    .for_each(|n| *n = 1.0 + stddev * rng.sample::<f32, _>(StandardNormal))
            },
            |x, n| x * n,
        )
    }

    fn backward(
        &mut self,
        input: ArrayView2<f32>,
        output: ArrayView2<f32>,
        grad_output: ArrayViewMut2<f32>,
        grad_input: Option<ArrayViewMut2<f32>>,
        _wrt: GradWrt,
    ) -> Result<()> {
        let views = (input, output);
        self.noise
            .backward("GaussianDropout", views, grad_output, grad_input)
    }

    fn draws_noise(&self, mode: Mode) -> bool {
        mode.samples_dropout() && self.rate > 0.0
    }

    fn reseed(&mut self, seed: u64, masks: Masks) {
        self.noise.reseed(seed, masks);
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::GaussianDropout { rate: self.rate }
    }
}

/// Additive Gaussian noise, Keras's `GaussianNoise(stddev)`.
///
/// In [`Mode::Train`] `y = x + e` with `e ~ N(0, stddev²)` drawn per element per batch; the
/// gradient passes through unchanged. In [`Mode::Eval`] and [`Mode::McDropout`], and for
/// `stddev = 0`, it is the identity. `stddev` must be finite and `>= 0`.
#[derive(Debug, Clone)]
pub struct GaussianNoise {
    stddev: f32,
    rng: SmallRng,
}

impl GaussianNoise {
    /// Additive noise with standard deviation `stddev`.
    pub fn new(stddev: f32) -> Self {
        GaussianNoise {
            stddev,
            rng: SmallRng::seed_from_u64(0),
        }
    }

    /// The standard deviation of the noise.
    pub fn stddev(&self) -> f32 {
        self.stddev
    }
}

impl Layer for GaussianNoise {
    fn build(&mut self, input_dim: usize, rng: &mut SmallRng) -> Result<usize> {
        validate::non_negative("GaussianNoise", "stddev", self.stddev)?;
        self.rng = SmallRng::from_rng(rng);
        Ok(input_dim)
    }

    fn infer(&self, input: ArrayView2<f32>, output: ArrayViewMut2<f32>) -> Result<()> {
        identity("GaussianNoise", input, output)
    }

    fn forward(
        &mut self,
        input: ArrayView2<f32>,
        mut output: ArrayViewMut2<f32>,
        mode: Mode,
    ) -> Result<()> {
        if !self.draws_noise(mode) {
            return self.infer(input, output);
        }
        check_forward_same("GaussianNoise", &input, &output)?;
        let (stddev, rng) = (self.stddev, &mut self.rng);
        Zip::from(&mut output)
            .and(&input)
            .for_each(|y, &x| *y = x + stddev * rng.sample::<f32, _>(StandardNormal));
        Ok(())
    }

    fn backward(
        &mut self,
        input: ArrayView2<f32>,
        output: ArrayView2<f32>,
        grad_output: ArrayViewMut2<f32>,
        grad_input: Option<ArrayViewMut2<f32>>,
        _wrt: GradWrt,
    ) -> Result<()> {
        let gi = grad_input.as_ref();
        check_backward_same("GaussianNoise", &input, &output, &grad_output, gi)?;
        if let Some(mut gi) = grad_input {
            gi.assign(&grad_output);
        }
        Ok(())
    }

    fn draws_noise(&self, mode: Mode) -> bool {
        mode == Mode::Train && self.stddev > 0.0
    }

    fn reseed(&mut self, seed: u64, _masks: Masks) {
        self.rng = SmallRng::seed_from_u64(seed);
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::GaussianNoise {
            stddev: self.stddev,
        }
    }
}

/// Alpha dropout for self-normalizing (SELU) networks, Keras's `AlphaDropout(rate)`.
///
/// In [`Mode::Train`], with `q = rate`, `α' = -λα = -1.7580993408473766` (SELU's saturation
/// value), `a = ((1 - q)(1 + q α'²))^(-1/2)` and `b = -a α' q`: each element is kept with
/// probability `1 - q` (mask `k ∈ {0, 1}`, drawn as [`Dropout`](super::Dropout) draws its mask)
/// and
///
/// ```text
/// y = a · (x · k + α' · (1 - k)) + b
/// ```
///
/// so inputs with mean 0 and variance 1 keep mean 0 and variance 1; `backward` multiplies by
/// `a · k`. In [`Mode::Eval`], and for `rate = 0`, it is the identity; [`Mode::McDropout`]
/// draws as training does. `rate` must lie in `[0, 1)`.
#[derive(Debug, Clone)]
pub struct AlphaDropout {
    rate: f32,
    threshold: u64,
    a: f32,
    b: f32,
    /// The generator and `a · k` of the last sampling pass.
    noise: NoiseBuffer,
}

impl AlphaDropout {
    /// Alpha dropout with drop probability `rate`.
    pub fn new(rate: f32) -> Self {
        AlphaDropout {
            rate,
            threshold: 0,
            a: 1.0,
            b: 0.0,
            noise: NoiseBuffer::new(),
        }
    }

    /// The drop probability.
    pub fn rate(&self) -> f32 {
        self.rate
    }

    /// The affine correction `(a, b)` for this rate.
    pub fn affine(&self) -> (f32, f32) {
        let q = self.rate as f64;
        let a = ((1.0 - q) * (1.0 + q * ALPHA_PRIME * ALPHA_PRIME)).powf(-0.5);
        (a as f32, (-a * ALPHA_PRIME * q) as f32)
    }
}

impl Layer for AlphaDropout {
    fn build(&mut self, input_dim: usize, rng: &mut SmallRng) -> Result<usize> {
        check_rate("AlphaDropout", self.rate)?;
        self.threshold = drop_threshold(self.rate);
        (self.a, self.b) = self.affine();
        self.noise.build(rng);
        Ok(input_dim)
    }

    fn infer(&self, input: ArrayView2<f32>, output: ArrayViewMut2<f32>) -> Result<()> {
        identity("AlphaDropout", input, output)
    }

    fn forward(
        &mut self,
        input: ArrayView2<f32>,
        output: ArrayViewMut2<f32>,
        mode: Mode,
    ) -> Result<()> {
        let (threshold, a, b) = (self.threshold, self.a, self.b);
        let dropped = a * ALPHA_PRIME as f32 + b;
        self.noise.forward(
            "AlphaDropout",
            (input, output),
            (mode, self.draws_noise(mode)),
            |rng, m| fill_mask(rng, m, threshold, a),
            |x, m| if m != 0.0 { m * x + b } else { dropped },
        )
    }

    fn backward(
        &mut self,
        input: ArrayView2<f32>,
        output: ArrayView2<f32>,
        grad_output: ArrayViewMut2<f32>,
        grad_input: Option<ArrayViewMut2<f32>>,
        _wrt: GradWrt,
    ) -> Result<()> {
        let views = (input, output);
        self.noise
            .backward("AlphaDropout", views, grad_output, grad_input)
    }

    fn draws_noise(&self, mode: Mode) -> bool {
        mode.samples_dropout() && self.rate > 0.0
    }

    fn reseed(&mut self, seed: u64, masks: Masks) {
        self.noise.reseed(seed, masks);
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::AlphaDropout { rate: self.rate }
    }
}
