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

use ndarray::ArrayViewMut2;
use rand::Rng;
use rand::rngs::SmallRng;
use rand_distr::StandardNormal;

use super::dropout::{Noise, NoiseKind, check_rate, drop_threshold, fill_mask};
use super::{LayerConfig, Mode};
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
pub type GaussianDropout = Noise<MultiplicativeGaussian>;

/// The noise of [`GaussianDropout`]: `n ~ N(1, rate / (1 - rate))`, multiplied in.
#[derive(Debug, Clone)]
pub struct MultiplicativeGaussian {
    rate: f32,
    stddev: f32,
}

impl GaussianDropout {
    /// Gaussian dropout standing for the drop probability `rate`.
    pub fn new(rate: f32) -> Self {
        Noise::with_kind(MultiplicativeGaussian { rate, stddev: 0.0 })
    }

    /// The drop probability.
    pub fn rate(&self) -> f32 {
        self.noise_kind().rate
    }

    /// The standard deviation of the noise, `sqrt(rate / (1 - rate))`.
    pub fn stddev(&self) -> f32 {
        self.noise_kind().stddev()
    }
}

impl MultiplicativeGaussian {
    fn stddev(&self) -> f32 {
        (self.rate as f64 / (1.0 - self.rate as f64)).sqrt() as f32
    }
}

impl NoiseKind for MultiplicativeGaussian {
    const NAME: &'static str = "GaussianDropout";

    fn prepare(&mut self) -> Result<()> {
        check_rate(Self::NAME, self.rate)?;
        self.stddev = self.stddev();
        Ok(())
    }

    fn samples(&self, mode: Mode) -> bool {
        mode.samples_dropout() && self.rate > 0.0
    }

    fn draw(&self, rng: &mut SmallRng, mut n: ArrayViewMut2<f32>) {
        let stddev = self.stddev;
        n.iter_mut()
            .for_each(|n| *n = 1.0 + stddev * rng.sample::<f32, _>(StandardNormal));
    }

    fn combine(&self, x: f32, n: f32) -> f32 {
        x * n
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
pub type GaussianNoise = Noise<AdditiveGaussian>;

/// The noise of [`GaussianNoise`]: `e ~ N(0, stddev²)`, added.
#[derive(Debug, Clone)]
pub struct AdditiveGaussian {
    stddev: f32,
}

impl GaussianNoise {
    /// Additive noise with standard deviation `stddev`.
    pub fn new(stddev: f32) -> Self {
        Noise::with_kind(AdditiveGaussian { stddev })
    }

    /// The standard deviation of the noise.
    pub fn stddev(&self) -> f32 {
        self.noise_kind().stddev
    }
}

impl NoiseKind for AdditiveGaussian {
    const NAME: &'static str = "GaussianNoise";
    const ADDITIVE: bool = true;

    fn prepare(&mut self) -> Result<()> {
        validate::non_negative(Self::NAME, "stddev", self.stddev)
    }

    fn samples(&self, mode: Mode) -> bool {
        mode == Mode::Train && self.stddev > 0.0
    }

    fn draw(&self, rng: &mut SmallRng, mut e: ArrayViewMut2<f32>) {
        let stddev = self.stddev;
        e.iter_mut()
            .for_each(|e| *e = stddev * rng.sample::<f32, _>(StandardNormal));
    }

    fn combine(&self, x: f32, e: f32) -> f32 {
        x + e
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
pub type AlphaDropout = Noise<AlphaBernoulli>;

/// The noise of [`AlphaDropout`]: a keep mask `k` stored as `a · k`, dropped units set to
/// `a α' + b`.
#[derive(Debug, Clone)]
pub struct AlphaBernoulli {
    rate: f32,
    threshold: u64,
    a: f32,
    b: f32,
}

impl AlphaDropout {
    /// Alpha dropout with drop probability `rate`.
    pub fn new(rate: f32) -> Self {
        Noise::with_kind(AlphaBernoulli {
            rate,
            threshold: 0,
            a: 1.0,
            b: 0.0,
        })
    }

    /// The drop probability.
    pub fn rate(&self) -> f32 {
        self.noise_kind().rate
    }

    /// The affine correction `(a, b)` for this rate.
    pub fn affine(&self) -> (f32, f32) {
        self.noise_kind().affine()
    }
}

impl AlphaBernoulli {
    fn affine(&self) -> (f32, f32) {
        let q = self.rate as f64;
        let a = ((1.0 - q) * (1.0 + q * ALPHA_PRIME * ALPHA_PRIME)).powf(-0.5);
        (a as f32, (-a * ALPHA_PRIME * q) as f32)
    }
}

impl NoiseKind for AlphaBernoulli {
    const NAME: &'static str = "AlphaDropout";

    fn prepare(&mut self) -> Result<()> {
        check_rate(Self::NAME, self.rate)?;
        self.threshold = drop_threshold(self.rate);
        (self.a, self.b) = self.affine();
        Ok(())
    }

    fn samples(&self, mode: Mode) -> bool {
        mode.samples_dropout() && self.rate > 0.0
    }

    fn draw(&self, rng: &mut SmallRng, m: ArrayViewMut2<f32>) {
        fill_mask(rng, m, self.threshold, self.a);
    }

    fn combine(&self, x: f32, m: f32) -> f32 {
        if m != 0.0 {
            m * x + self.b
        } else {
            self.a * ALPHA_PRIME as f32 + self.b
        }
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::AlphaDropout { rate: self.rate }
    }
}
