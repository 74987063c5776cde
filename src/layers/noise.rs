//! Regularization layers Keras users reach for next to [`Dropout`](super::Dropout):
//! [`GaussianDropout`], [`GaussianNoise`] and [`AlphaDropout`].
//!
//! Like `Dropout`, each is active only in [`Mode::Train`] and the identity in [`Mode::Eval`],
//! draws its noise from its own generator (seeded from the model's seed and the layer's
//! position, so the same seed gives the same noise), and keeps the noise of the last training
//! batch for `backward`. None has weights: a saved model stores only the layer and its rate or
//! standard deviation.

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Zip};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use super::dropout::{backward_scaled, check_rate, drop_threshold, fill_mask, first_rows};
use super::{Layer, LayerConfig, Mode, check_backward, check_forward};
use crate::error::Result;
use crate::kernels::elementwise::zip3;
use crate::validate;

/// SELU's negative saturation value `-λα`, the value AlphaDropout gives dropped units.
pub const ALPHA_PRIME: f64 = -1.758_099_340_847_376_6;

/// Multiplicative Gaussian noise, Keras's `GaussianDropout(rate)`.
///
/// In [`Mode::Train`] `y = x · n` with `n ~ N(1, rate / (1 - rate))` drawn per element per batch
/// (the variance Bernoulli dropout with the same rate has), and `backward` multiplies by the same
/// `n`. In [`Mode::Eval`], and for `rate = 0`, it is the identity. `rate` must lie in `[0, 1)`.
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
    width: usize,
    stddev: f32,
    rng: SmallRng,
    /// Noise `n` of the last training batch (rows may exceed the batch).
    noise: Array2<f32>,
    active: bool,
    /// Rows of the last forward pass.
    rows: usize,
}

impl GaussianDropout {
    /// Gaussian dropout standing for the drop probability `rate`.
    pub fn new(rate: f32) -> Self {
        GaussianDropout {
            rate,
            width: 0,
            stddev: 0.0,
            rng: SmallRng::seed_from_u64(0),
            noise: Array2::zeros((0, 0)),
            active: false,
            rows: 0,
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
    fn kind(&self) -> &'static str {
        "GaussianDropout"
    }

    fn build(&mut self, input_dim: usize, rng: &mut SmallRng) -> Result<usize> {
        check_rate("GaussianDropout", self.rate)?;
        self.width = input_dim;
        self.stddev = self.stddev();
        self.rng = SmallRng::from_rng(rng);
        self.noise = Array2::zeros((0, 0));
        self.active = false;
        Ok(input_dim)
    }

    fn input_dim(&self) -> usize {
        self.width
    }

    fn output_dim(&self) -> usize {
        self.width
    }

    fn forward(
        &mut self,
        input: ArrayView2<f32>,
        mut output: ArrayViewMut2<f32>,
        mode: Mode,
    ) -> Result<()> {
        check_forward("GaussianDropout", (self.width, self.width), &input, &output)?;
        self.rows = input.nrows();
        self.active = mode == Mode::Train && self.rate > 0.0;
        if !self.active {
            output.assign(&input);
            return Ok(());
        }
        let (stddev, rng) = (self.stddev, &mut self.rng);
        let mut noise = first_rows(&mut self.noise, input.nrows(), self.width);
        noise
            .iter_mut()
            .for_each(|n| *n = 1.0 + stddev * rng.sample::<f32, _>(StandardNormal));
        zip3(output, input, noise.view(), |y, x, n| *y = x * n);
        Ok(())
    }

    fn backward(
        &mut self,
        input: ArrayView2<f32>,
        output: ArrayView2<f32>,
        grad_output: ArrayViewMut2<f32>,
        grad_input: Option<ArrayViewMut2<f32>>,
    ) -> Result<()> {
        let dims = (self.width, self.width);
        let gi = grad_input.as_ref();
        check_backward("GaussianDropout", dims, &input, &output, &grad_output, gi)?;
        let rows = self.rows;
        backward_scaled(
            "GaussianDropout",
            self.active,
            &self.noise,
            rows,
            grad_output,
            grad_input,
        )
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::GaussianDropout { rate: self.rate }
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}

/// Additive Gaussian noise, Keras's `GaussianNoise(stddev)`.
///
/// In [`Mode::Train`] `y = x + e` with `e ~ N(0, stddev²)` drawn per element per batch; the
/// gradient passes through unchanged. In [`Mode::Eval`], and for `stddev = 0`, it is the
/// identity. `stddev` must be finite and `>= 0`.
#[derive(Debug, Clone)]
pub struct GaussianNoise {
    stddev: f32,
    width: usize,
    rng: SmallRng,
}

impl GaussianNoise {
    /// Additive noise with standard deviation `stddev`.
    pub fn new(stddev: f32) -> Self {
        GaussianNoise {
            stddev,
            width: 0,
            rng: SmallRng::seed_from_u64(0),
        }
    }

    /// The standard deviation of the noise.
    pub fn stddev(&self) -> f32 {
        self.stddev
    }
}

impl Layer for GaussianNoise {
    fn kind(&self) -> &'static str {
        "GaussianNoise"
    }

    fn build(&mut self, input_dim: usize, rng: &mut SmallRng) -> Result<usize> {
        validate::non_negative("GaussianNoise", "stddev", self.stddev)?;
        self.width = input_dim;
        self.rng = SmallRng::from_rng(rng);
        Ok(input_dim)
    }

    fn input_dim(&self) -> usize {
        self.width
    }

    fn output_dim(&self) -> usize {
        self.width
    }

    fn forward(
        &mut self,
        input: ArrayView2<f32>,
        mut output: ArrayViewMut2<f32>,
        mode: Mode,
    ) -> Result<()> {
        check_forward("GaussianNoise", (self.width, self.width), &input, &output)?;
        if mode != Mode::Train || self.stddev == 0.0 {
            output.assign(&input);
            return Ok(());
        }
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
    ) -> Result<()> {
        let dims = (self.width, self.width);
        let gi = grad_input.as_ref();
        check_backward("GaussianNoise", dims, &input, &output, &grad_output, gi)?;
        if let Some(mut gi) = grad_input {
            gi.assign(&grad_output);
        }
        Ok(())
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::GaussianNoise {
            stddev: self.stddev,
        }
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
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
/// `a · k`. In [`Mode::Eval`], and for `rate = 0`, it is the identity. `rate` must lie in
/// `[0, 1)`.
#[derive(Debug, Clone)]
pub struct AlphaDropout {
    rate: f32,
    width: usize,
    threshold: u64,
    a: f32,
    b: f32,
    rng: SmallRng,
    /// `a · k` of the last training batch (rows may exceed the batch).
    mask: Array2<f32>,
    active: bool,
    /// Rows of the last forward pass.
    rows: usize,
}

impl AlphaDropout {
    /// Alpha dropout with drop probability `rate`.
    pub fn new(rate: f32) -> Self {
        AlphaDropout {
            rate,
            width: 0,
            threshold: 0,
            a: 1.0,
            b: 0.0,
            rng: SmallRng::seed_from_u64(0),
            mask: Array2::zeros((0, 0)),
            active: false,
            rows: 0,
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
    fn kind(&self) -> &'static str {
        "AlphaDropout"
    }

    fn build(&mut self, input_dim: usize, rng: &mut SmallRng) -> Result<usize> {
        check_rate("AlphaDropout", self.rate)?;
        self.width = input_dim;
        self.threshold = drop_threshold(self.rate);
        (self.a, self.b) = self.affine();
        self.rng = SmallRng::from_rng(rng);
        self.mask = Array2::zeros((0, 0));
        self.active = false;
        Ok(input_dim)
    }

    fn input_dim(&self) -> usize {
        self.width
    }

    fn output_dim(&self) -> usize {
        self.width
    }

    fn forward(
        &mut self,
        input: ArrayView2<f32>,
        mut output: ArrayViewMut2<f32>,
        mode: Mode,
    ) -> Result<()> {
        check_forward("AlphaDropout", (self.width, self.width), &input, &output)?;
        self.rows = input.nrows();
        self.active = mode == Mode::Train && self.rate > 0.0;
        if !self.active {
            output.assign(&input);
            return Ok(());
        }
        let (threshold, a, b) = (self.threshold, self.a, self.b);
        let dropped = a * ALPHA_PRIME as f32 + b;
        let mut mask = first_rows(&mut self.mask, input.nrows(), self.width);
        fill_mask(&mut self.rng, mask.view_mut(), threshold, a);
        zip3(output, input, mask.view(), |y, x, m| {
            *y = if m != 0.0 { m * x + b } else { dropped }
        });
        Ok(())
    }

    fn backward(
        &mut self,
        input: ArrayView2<f32>,
        output: ArrayView2<f32>,
        grad_output: ArrayViewMut2<f32>,
        grad_input: Option<ArrayViewMut2<f32>>,
    ) -> Result<()> {
        let dims = (self.width, self.width);
        let gi = grad_input.as_ref();
        check_backward("AlphaDropout", dims, &input, &output, &grad_output, gi)?;
        let rows = self.rows;
        backward_scaled(
            "AlphaDropout",
            self.active,
            &self.mask,
            rows,
            grad_output,
            grad_input,
        )
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::AlphaDropout { rate: self.rate }
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}
