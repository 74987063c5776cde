use ndarray::{Array2, ArrayView2, ArrayViewMut2, s};
use rand::rngs::SmallRng;
use rand::{RngCore, SeedableRng};

use super::{Layer, LayerConfig, Mode, check_backward, check_forward, check_shape};
use crate::error::{Error, Result};
use crate::kernels::elementwise::zip3;

/// Dropout (Srivastava et al. 2014) with Keras's inverted scaling.
///
/// `rate` is the probability of *dropping* a unit (the paper's keep probability is
/// `p = 1 - rate`). In [`Mode::Train`] each element is kept with probability `1 - rate`, a fresh
/// mask `m` per element per batch, and `y = x · m / (1 - rate)`, so the expected output equals
/// the input; `backward` multiplies by the same `m / (1 - rate)`. In [`Mode::Eval`] the layer is
/// the identity. `rate` must lie in `[0, 1)`.
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
#[derive(Debug, Clone)]
pub struct Dropout {
    rate: f32,
    width: usize,
    threshold: u64,
    scale: f32,
    rng: SmallRng,
    /// Scaled mask `m / (1 - rate)` of the last training forward pass (rows may exceed the batch).
    mask: Array2<f32>,
    masked: bool,
    /// Rows of the last forward pass.
    rows: usize,
}

impl Dropout {
    /// Dropout with the given drop probability.
    pub fn new(rate: f32) -> Self {
        Dropout {
            rate,
            width: 0,
            threshold: 0,
            scale: 1.0,
            rng: SmallRng::seed_from_u64(0),
            mask: Array2::zeros((0, 0)),
            masked: false,
            rows: 0,
        }
    }

    /// The drop probability.
    pub fn rate(&self) -> f32 {
        self.rate
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

/// The first `rows` rows of `buf`, which grows (once) when it has fewer.
pub(crate) fn first_rows(
    buf: &mut Array2<f32>,
    rows: usize,
    width: usize,
) -> ArrayViewMut2<'_, f32> {
    if buf.nrows() < rows || buf.ncols() != width {
        *buf = Array2::zeros((rows, width));
    }
    buf.slice_mut(s![..rows, ..])
}

/// `grad_input = grad_output · factor` with the factors of the last training batch, or a copy
/// when the layer was the identity.
pub(crate) fn backward_scaled(
    kind: &str,
    active: bool,
    factors: &Array2<f32>,
    rows: usize,
    grad_output: ArrayViewMut2<f32>,
    grad_input: Option<ArrayViewMut2<f32>>,
) -> Result<()> {
    let Some(mut gi) = grad_input else {
        return Ok(());
    };
    if !active {
        gi.assign(&grad_output);
        return Ok(());
    }
    // The factors of the last forward pass: its rows, and only those.
    check_shape(
        kind,
        "backward: grad_output (the rows of the last training forward)",
        (rows, factors.ncols()),
        grad_output.shape(),
    )?;
    let f = factors.slice(s![..rows, ..]);
    zip3(gi, grad_output.view(), f, |gi, g, f| *gi = g * f);
    Ok(())
}

impl Layer for Dropout {
    fn kind(&self) -> &'static str {
        "Dropout"
    }

    fn build(&mut self, input_dim: usize, rng: &mut SmallRng) -> Result<usize> {
        check_rate("Dropout", self.rate)?;
        self.width = input_dim;
        self.threshold = drop_threshold(self.rate);
        self.scale = 1.0 / (1.0 - self.rate);
        self.rng = SmallRng::from_rng(rng);
        self.mask = Array2::zeros((0, input_dim));
        self.masked = false;
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
        check_forward("Dropout", (self.width, self.width), &input, &output)?;
        self.rows = input.nrows();
        self.masked = mode == Mode::Train && self.rate > 0.0;
        if !self.masked {
            output.assign(&input);
            return Ok(());
        }
        let mut mask = first_rows(&mut self.mask, input.nrows(), self.width);
        fill_mask(&mut self.rng, mask.view_mut(), self.threshold, self.scale);
        zip3(output, input, mask.view(), |y, x, m| *y = x * m);
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
        check_backward("Dropout", dims, &input, &output, &grad_output, gi)?;
        let rows = self.rows;
        backward_scaled(
            "Dropout",
            self.masked,
            &self.mask,
            rows,
            grad_output,
            grad_input,
        )
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::Dropout { rate: self.rate }
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}
