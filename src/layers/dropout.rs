use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, s};
use rand::rngs::SmallRng;
use rand::{RngCore, SeedableRng};

use super::{
    GradWrt, Layer, LayerConfig, Masks, Mode, check_backward_same, check_forward_same, check_shape,
    identity,
};
use crate::error::{Error, Result};
use crate::kernels::elementwise::zip3;

/// Dropout (Srivastava et al. 2014) with Keras's inverted scaling.
///
/// `rate` is the probability of *dropping* a unit (the paper's keep probability is
/// `p = 1 - rate`). In [`Mode::Train`] each element is kept with probability `1 - rate`, a fresh
/// mask `m` per element per batch, and `y = x · m / (1 - rate)`, so the expected output equals
/// the input; `backward` multiplies by the same `m / (1 - rate)`. In [`Mode::Eval`] the layer is
/// the identity. In [`Mode::McDropout`] it draws masks as in training (one per row, or one for
/// the whole batch with [`Masks::PerBatch`]). `rate` must lie in `[0, 1)`.
///
/// The mask draws one 32-bit random number per element from the layer's own RNG, which the model
/// seeds from its seed and the layer's position, and keeps the element when the number is at
/// least `round(rate · 2³²)`.
///
/// ```
/// use ndnet::prelude::*;
/// use ndarray::Array2;
/// let mut model = Sequential::new(4).with_seed(1);
/// model.add(Dropout::new(0.5))?;
/// let x = Array2::<f32>::ones((2, 4));
/// assert_eq!(model.predict(&x)?, x); // inference: identity
/// # Ok::<(), ndnet::Error>(())
/// ```
pub type Dropout = Noise<Bernoulli>;

/// The noise of [`Dropout`]: a Bernoulli keep mask scaled by `1 / (1 - rate)`.
#[derive(Debug, Clone)]
pub struct Bernoulli {
    rate: f32,
    threshold: u64,
    scale: f32,
}

impl Dropout {
    /// Dropout with the given drop probability.
    pub fn new(rate: f32) -> Self {
        Noise::with_kind(Bernoulli {
            rate,
            threshold: 0,
            scale: 1.0,
        })
    }

    /// The drop probability.
    pub fn rate(&self) -> f32 {
        self.kind.rate
    }

    /// Changes the drop probability, e.g. during training (annealed dropout; see
    /// [`DropoutScheduler`](crate::callbacks::DropoutScheduler)). Takes effect at the next
    /// training batch; the mask generator continues where it was.
    ///
    /// ```
    /// use ndnet::layers::Dropout;
    /// let mut d = Dropout::new(0.5);
    /// d.set_rate(0.2)?;
    /// assert_eq!(d.rate(), 0.2);
    /// assert!(d.set_rate(1.0).is_err());
    /// # Ok::<(), ndnet::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] unless `rate` is in `[0, 1)`; the rate is then unchanged.
    pub fn set_rate(&mut self, rate: f32) -> Result<()> {
        self.kind.set_rate(rate)
    }
}

impl Bernoulli {
    fn set_rate(&mut self, rate: f32) -> Result<()> {
        check_rate(Self::NAME, rate)?;
        self.rate = rate;
        self.threshold = drop_threshold(rate);
        self.scale = 1.0 / (1.0 - rate);
        Ok(())
    }
}

impl NoiseKind for Bernoulli {
    const NAME: &'static str = "Dropout";

    fn prepare(&mut self) -> Result<()> {
        self.set_rate(self.rate)
    }

    fn samples(&self, mode: Mode) -> bool {
        mode.samples_dropout() && self.rate > 0.0
    }

    fn draw(&self, rng: &mut SmallRng, mask: ArrayViewMut2<f32>) {
        fill_mask(rng, mask, self.threshold, self.scale);
    }

    fn combine(&self, x: f32, m: f32) -> f32 {
        x * m
    }

    fn set_dropout_rate(&mut self, rate: f32) -> Result<bool> {
        self.set_rate(rate)?;
        Ok(true)
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::Dropout { rate: self.rate }
    }
}

/// Checks a drop probability: `[0, 1)` and finite.
pub(crate) fn check_rate(owner: &str, rate: f32) -> Result<()> {
    if !(rate.is_finite() && (0.0..1.0).contains(&rate)) {
        return Err(Error::param(
            owner,
            "rate",
            rate,
            "must be in [0, 1) (the probability of dropping a unit)",
        ));
    }
    Ok(())
}

/// The 32-bit threshold below which a uniform draw drops a unit: `round(rate · 2³²)`.
pub(crate) fn drop_threshold(rate: f32) -> u64 {
    (rate as f64 * 4_294_967_296.0).round() as u64
}

/// Fills `mask` with `scale` where a uniform 32-bit number is at least `threshold`, else 0.
/// Each 64-bit draw gives two elements.
pub(crate) fn fill_mask(
    rng: &mut SmallRng,
    mut mask: ArrayViewMut2<f32>,
    threshold: u64,
    scale: f32,
) {
    let keep = |bits: u64| if bits >= threshold { scale } else { 0.0 };
    let mut fill = |m: &mut [f32]| {
        let mut pairs = m.chunks_exact_mut(2);
        for pair in &mut pairs {
            let r = rng.next_u64();
            pair[0] = keep(r & 0xFFFF_FFFF);
            pair[1] = keep(r >> 32);
        }
        if let [last] = pairs.into_remainder() {
            *last = keep(u64::from(rng.next_u32()));
        }
    };
    match mask.as_slice_mut() {
        Some(m) => fill(m),
        None => mask
            .iter_mut()
            .for_each(|m| *m = keep(u64::from(rng.next_u32()))),
    }
}

/// What the width-preserving noise layers share: the generator they draw from, the per-element
/// factors of their last sampling pass (a mask or multiplicative noise, kept for `backward`),
/// whether that pass sampled at all, its rows, and how Monte-Carlo passes share a draw. Each layer
/// keeps only its draw and its combine.
#[derive(Debug, Clone)]
pub(crate) struct NoiseBuffer {
    rng: SmallRng,
    /// The factors of the last sampling pass (rows may exceed the batch; grown once).
    factors: Array2<f32>,
    /// Whether the last forward pass sampled (otherwise it was the identity).
    active: bool,
    /// Rows of the last forward pass.
    rows: usize,
    masks: Masks,
}

impl NoiseBuffer {
    pub(crate) fn new() -> Self {
        NoiseBuffer {
            rng: SmallRng::seed_from_u64(0),
            factors: Array2::zeros((0, 0)),
            active: false,
            rows: 0,
            masks: Masks::PerRow,
        }
    }

    /// At `build`: a generator seeded from `rng`, no pass yet, one mask per row.
    pub(crate) fn build(&mut self, rng: &mut SmallRng) {
        *self = NoiseBuffer {
            rng: SmallRng::from_rng(rng),
            ..NoiseBuffer::new()
        };
    }

    /// See [`Layer::reseed`].
    pub(crate) fn reseed(&mut self, seed: u64, masks: Masks) {
        self.rng = SmallRng::seed_from_u64(seed);
        self.masks = masks;
    }

    /// A forward pass of layer `kind` in `mode`: the identity unless `sample`; otherwise the
    /// factors are drawn by `draw` (all rows, or the first row repeated when `mode` shares one
    /// draw across the batch) and `output = combine(input, factor)` element by element.
    pub(crate) fn forward(
        &mut self,
        kind: &str,
        (input, mut output): (ArrayView2<f32>, ArrayViewMut2<f32>),
        (mode, sample): (Mode, bool),
        mut draw: impl FnMut(&mut SmallRng, ArrayViewMut2<f32>),
        combine: impl Fn(f32, f32) -> f32,
    ) -> Result<()> {
        check_forward_same(kind, &input, &output)?;
        self.rows = input.nrows();
        self.active = sample;
        if !sample {
            output.assign(&input);
            return Ok(());
        }
        let rng = &mut self.rng;
        let mut factors = first_rows(&mut self.factors, input.nrows(), input.ncols());
        draw_rows(factors.view_mut(), shared_draw(mode, self.masks), |f| {
            draw(rng, f)
        });
        zip3(output, input, factors.view(), |y, x, f| *y = combine(x, f));
        Ok(())
    }

    /// The backward pass of layer `kind`: `grad_input = grad_output · factor` with the factors
    /// of the last forward pass, or a copy when that pass was the identity or the noise is
    /// `additive`.
    pub(crate) fn backward(
        &self,
        (kind, additive): (&str, bool),
        (input, output): (ArrayView2<f32>, ArrayView2<f32>),
        grad_output: ArrayViewMut2<f32>,
        grad_input: Option<ArrayViewMut2<f32>>,
    ) -> Result<()> {
        let gi = grad_input.as_ref();
        check_backward_same(kind, &input, &output, &grad_output, gi)?;
        let Some(mut gi) = grad_input else {
            return Ok(());
        };
        if !self.active || additive {
            gi.assign(&grad_output);
            return Ok(());
        }
        // The factors of the last forward pass: its rows, and only those.
        check_shape(
            kind,
            "backward: grad_output (the rows of the last training forward)",
            (self.rows, self.factors.ncols()),
            grad_output.shape(),
        )?;
        let f = self.factors.slice(s![..self.rows, ..]);
        zip3(gi, grad_output.view(), f, |gi, g, f| *gi = g * f);
        Ok(())
    }
}

/// Fills `buf` by `draw`: all of it, or, when `shared`, its first row, which is then copied to
/// the other rows (one draw for the whole batch).
fn draw_rows(buf: ArrayViewMut2<f32>, shared: bool, mut draw: impl FnMut(ArrayViewMut2<f32>)) {
    if !shared || buf.nrows() <= 1 {
        draw(buf);
        return;
    }
    let (mut first, mut rest) = buf.split_at(Axis(0), 1);
    draw(first.view_mut());
    for mut row in rest.outer_iter_mut() {
        row.assign(&first.row(0));
    }
}

/// Whether a forward pass in `mode` shares one draw across the rows of the batch.
fn shared_draw(mode: Mode, masks: Masks) -> bool {
    mode == Mode::McDropout && masks == Masks::PerBatch
}

/// The first `rows` rows of `buf`, which grows (once) when it has fewer.
fn first_rows(buf: &mut Array2<f32>, rows: usize, width: usize) -> ArrayViewMut2<'_, f32> {
    if buf.nrows() < rows || buf.ncols() != width {
        *buf = Array2::zeros((rows, width));
    }
    buf.slice_mut(s![..rows, ..])
}

/// A width-preserving noise layer: the identity at inference ([`Layer::infer`], and
/// [`Mode::Eval`]), and in the modes where its kind `K` samples (see [`NoiseKind::samples`])
/// `y = combine(x, f)` element by element, with the factors `f` drawn fresh per batch from the
/// layer's own generator (seeded from the model's seed and the layer's position) and kept for
/// `backward`, which multiplies `dL/dy` by the same `f` (or passes it through for additive
/// noise, [`NoiseKind::ADDITIVE`]). Input and output are `(rows, width)`.
///
/// The crate's noise layers are its aliases: [`Dropout`], [`GaussianDropout`](super::GaussianDropout),
/// [`AlphaDropout`](super::AlphaDropout) and [`GaussianNoise`](super::GaussianNoise).
#[derive(Debug, Clone)]
pub struct Noise<K> {
    kind: K,
    /// The generator and the factors of the last sampling pass.
    noise: NoiseBuffer,
}

impl<K> Noise<K> {
    pub(crate) fn with_kind(kind: K) -> Self {
        Noise {
            kind,
            noise: NoiseBuffer::new(),
        }
    }

    /// The layer's noise kind (its rate or standard deviation and what `build` derived).
    pub(crate) fn noise_kind(&self) -> &K {
        &self.kind
    }
}

/// What a [`Noise`] layer draws and how it applies it: the rest of the layer (identity at
/// inference, the generator, the factors kept for `backward`, shape checks, Monte-Carlo masks)
/// is shared.
pub trait NoiseKind: Clone + std::fmt::Debug + Send + Sync + 'static {
    /// The layer's type name, e.g. `"Dropout"`, as errors and configs name it.
    const NAME: &'static str;

    /// Whether the noise is added (`y = x + f`), so that `backward` passes the gradient
    /// through unchanged; otherwise it multiplies it by `f` (`y = combine(x, f)` has slope `f`).
    const ADDITIVE: bool = false;

    /// Validates the configuration and computes what the draws need; called by `build`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a rate or standard deviation out of range.
    fn prepare(&mut self) -> Result<()>;

    /// Whether a forward pass in `mode` draws noise (otherwise it is the identity).
    fn samples(&self, mode: Mode) -> bool;

    /// Fills `factors` (`(rows, width)`) with fresh noise from `rng`.
    fn draw(&self, rng: &mut SmallRng, factors: ArrayViewMut2<f32>);

    /// An output element from its input `x` and its factor `f`.
    fn combine(&self, x: f32, f: f32) -> f32;

    /// See [`Layer::set_dropout_rate`]: by default the kind has no drop probability to set.
    ///
    /// # Errors
    /// As the kind's own rate setter.
    fn set_dropout_rate(&mut self, rate: f32) -> Result<bool> {
        let _ = rate;
        Ok(false)
    }

    /// The layer's plain-data description.
    fn config(&self) -> LayerConfig;
}

impl<K: NoiseKind> Layer for Noise<K> {
    fn build(&mut self, input_dim: usize, rng: &mut SmallRng) -> Result<usize> {
        self.kind.prepare()?;
        self.noise.build(rng);
        Ok(input_dim)
    }

    fn infer(&self, input: ArrayView2<f32>, output: ArrayViewMut2<f32>) -> Result<()> {
        identity(K::NAME, input, output)
    }

    fn forward(
        &mut self,
        input: ArrayView2<f32>,
        output: ArrayViewMut2<f32>,
        mode: Mode,
    ) -> Result<()> {
        let kind = &self.kind;
        self.noise.forward(
            K::NAME,
            (input, output),
            (mode, kind.samples(mode)),
            |rng, f| kind.draw(rng, f),
            |x, f| kind.combine(x, f),
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
            .backward((K::NAME, K::ADDITIVE), views, grad_output, grad_input)
    }

    fn draws_noise(&self, mode: Mode) -> bool {
        self.kind.samples(mode)
    }

    fn reseed(&mut self, seed: u64, masks: Masks) {
        self.noise.reseed(seed, masks);
    }

    fn set_dropout_rate(&mut self, rate: f32) -> Result<bool> {
        self.kind.set_dropout_rate(rate)
    }

    fn config(&self) -> LayerConfig {
        self.kind.config()
    }
}
