//! Weight initializers, with Keras 2's formulas.

use ndarray::{Array1, ArrayViewMut, Dimension};
use ndarray_rand::RandomExt;
use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};

use crate::error::{Error, Result};
use crate::validate;

/// How a weight tensor is filled when its layer is built.
///
/// `fan_in` and `fan_out` are the kernel's input and output widths (`(fan_in, fan_out)` is the
/// kernel shape of a `Dense` layer).
///
/// | initializer | distribution |
/// |---|---|
/// | `Zeros`, `Ones`, `Constant(c)` | the constant |
/// | `RandomNormal { mean, stddev }` | `N(mean, stddev²)` (the tutorial's `'normal'` is `N(0, 0.05²)`) |
/// | `RandomUniform { min, max }` | `U(min, max)` (Keras default `±0.05`) |
/// | `GlorotUniform` | `U(±sqrt(6 / (fan_in + fan_out)))` (Keras's default kernel initializer) |
/// | `GlorotNormal` | truncated normal (±2σ), `σ = sqrt(2 / (fan_in + fan_out)) / 0.8796` |
/// | `HeUniform` | `U(±sqrt(6 / fan_in))` |
/// | `HeNormal` | truncated normal (±2σ), `σ = sqrt(2 / fan_in) / 0.8796` |
/// | `LecunUniform` | `U(±sqrt(3 / fan_in))` |
/// | `LecunNormal` | truncated normal (±2σ), `σ = sqrt(1 / fan_in) / 0.8796` (for SELU networks) |
///
/// The truncated normals divide by 0.87962566 (the std of a unit normal truncated at ±2) so the
/// result has the intended variance, as Keras's `VarianceScaling` does.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(tag = "class_name", content = "config")
)]
pub enum Initializer {
    /// All zeros (Keras's default bias initializer).
    Zeros,
    /// All ones.
    Ones,
    /// Every element set to the value.
    Constant(f32),
    /// Normal distribution.
    RandomNormal {
        /// Mean.
        mean: f32,
        /// Standard deviation (>= 0).
        stddev: f32,
    },
    /// Uniform distribution on `[min, max)`.
    RandomUniform {
        /// Lower bound.
        min: f32,
        /// Upper bound (> min).
        max: f32,
    },
    /// Glorot (Xavier) uniform.
    GlorotUniform,
    /// Glorot (Xavier) truncated normal.
    GlorotNormal,
    /// He uniform.
    HeUniform,
    /// He truncated normal.
    HeNormal,
    /// LeCun uniform.
    LecunUniform,
    /// LeCun truncated normal, the initializer for SELU networks.
    LecunNormal,
}

/// Standard deviation of a unit normal truncated to `[-2, 2]`.
const TRUNCATED_STD: f64 = 0.879_625_661_034_239_8;

impl Initializer {
    /// The tutorial's `kernel_initializer='normal'`: `RandomNormal { mean: 0.0, stddev: 0.05 }`.
    pub const KERAS_NORMAL: Initializer = Initializer::RandomNormal {
        mean: 0.0,
        stddev: 0.05,
    };

    /// Checks the parameters; `owner` names the layer for the error message.
    pub fn validate(&self, owner: &str) -> Result<()> {
        match *self {
            Initializer::Constant(c) if !c.is_finite() => Err(Error::param(
                owner,
                "initializer constant",
                c,
                "must be finite",
            )),
            Initializer::RandomNormal { mean, stddev } => {
                if !mean.is_finite() {
                    Err(Error::param(
                        owner,
                        "initializer mean",
                        mean,
                        "must be finite",
                    ))
                } else {
                    validate::non_negative(owner, "initializer stddev", stddev)
                }
            }
            Initializer::RandomUniform { min, max } => {
                if !(min.is_finite() && max.is_finite() && min < max) {
                    Err(Error::param(
                        owner,
                        "initializer range",
                        format!("[{min}, {max})"),
                        "needs finite bounds with min < max",
                    ))
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// Fills `w` in place. Call [`validate`](Self::validate) first.
    pub fn fill<D: Dimension, R: Rng + ?Sized>(
        &self,
        mut w: ArrayViewMut<f32, D>,
        fan_in: usize,
        fan_out: usize,
        rng: &mut R,
    ) {
        let fan_in = fan_in.max(1) as f64;
        let fan_out = fan_out.max(1) as f64;
        match *self {
            Initializer::Zeros => w.fill(0.0),
            Initializer::Ones => w.fill(1.0),
            Initializer::Constant(c) => w.fill(c),
            Initializer::RandomNormal { mean, stddev } => {
                fill_normal(w, mean as f64, stddev as f64, false, rng)
            }
            Initializer::RandomUniform { min, max } => fill_uniform(w, min as f64, max as f64, rng),
            Initializer::GlorotUniform => {
                let limit = (6.0 / (fan_in + fan_out)).sqrt();
                fill_uniform(w, -limit, limit, rng)
            }
            Initializer::HeUniform => {
                let limit = (6.0 / fan_in).sqrt();
                fill_uniform(w, -limit, limit, rng)
            }
            Initializer::GlorotNormal => {
                let std = (2.0 / (fan_in + fan_out)).sqrt() / TRUNCATED_STD;
                fill_normal(w, 0.0, std, true, rng)
            }
            Initializer::HeNormal => {
                let std = (2.0 / fan_in).sqrt() / TRUNCATED_STD;
                fill_normal(w, 0.0, std, true, rng)
            }
            Initializer::LecunUniform => {
                let limit = (3.0 / fan_in).sqrt();
                fill_uniform(w, -limit, limit, rng)
            }
            Initializer::LecunNormal => {
                let std = (1.0 / fan_in).sqrt() / TRUNCATED_STD;
                fill_normal(w, 0.0, std, true, rng)
            }
        }
    }
}

// The fills draw `f64` samples through `ndarray-rand` in the tensor's logical order and round
// each once to `f32` (the `f32` distributions would give other numbers: `Normal<f32>` scales in
// `f32`, `Uniform<f32>` consumes 32-bit draws). They draw at most `DRAW_CHUNK` values at a time,
// so a large layer needs no temporary array of its size.

/// Values drawn per call of `random_using`: 32 KiB of `f64`.
const DRAW_CHUNK: usize = 4096;

/// Fills `w` in logical order with samples of `dist`, each rounded to `f32`.
fn fill_from<D: Dimension, R: Rng + ?Sized>(
    w: ArrayViewMut<f32, D>,
    dist: &impl Distribution<f64>,
    rng: &mut R,
) {
    let mut left = w.len();
    let mut values = w.into_iter();
    while left > 0 {
        let n = left.min(DRAW_CHUNK);
        let draws = Array1::<f64>::random_using(n, dist, rng);
        // `draws` leads the zip: it ends first, before `values` yields an element it would skip.
        for (&s, v) in draws.iter().zip(values.by_ref()) {
            *v = s as f32;
        }
        left -= n;
    }
}

fn fill_uniform<D: Dimension, R: Rng + ?Sized>(
    mut w: ArrayViewMut<f32, D>,
    lo: f64,
    hi: f64,
    rng: &mut R,
) {
    match Uniform::new(lo, hi) {
        Ok(dist) => fill_from(w, &dist, rng),
        Err(_) => w.fill(lo as f32),
    }
}

/// `mean + std · z` for a unit normal `z`, drawn again while `|z| > 2` when `truncated`.
struct ScaledNormal {
    unit: Normal<f64>,
    mean: f64,
    std: f64,
    truncated: bool,
}

impl Distribution<f64> for ScaledNormal {
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let mut z: f64 = self.unit.sample(rng);
        while self.truncated && z.abs() > 2.0 {
            z = self.unit.sample(rng);
        }
        self.mean + self.std * z
    }
}

fn fill_normal<D: Dimension, R: Rng + ?Sized>(
    w: ArrayViewMut<f32, D>,
    mean: f64,
    std: f64,
    truncated: bool,
    rng: &mut R,
) {
    let Ok(unit) = Normal::new(0.0, 1.0) else {
        return;
    };
    let dist = ScaledNormal {
        unit,
        mean,
        std,
        truncated,
    };
    fill_from(w, &dist, rng);
}

/// The most bytes one buffer may take: `isize::MAX`, Rust's limit for any allocation.
const MAX_BYTES: usize = isize::MAX as usize;

/// `len` copies of `value` in a new vector, or an `InvalidParameter` error naming `owner` and
/// `what` when `len` elements cannot be allocated: more than `isize::MAX` bytes, or memory the
/// system refuses to reserve. Nothing is allocated on an error.
pub(crate) fn try_vec<T: Clone>(owner: &str, what: &str, len: usize, value: T) -> Result<Vec<T>> {
    let too_large = |why: &str| {
        Error::param(
            owner,
            what,
            len,
            format!("{len} elements of {} bytes {why}", std::mem::size_of::<T>()),
        )
    };
    if len
        .checked_mul(std::mem::size_of::<T>())
        .is_none_or(|bytes| bytes > MAX_BYTES)
    {
        return Err(too_large("exceed the largest possible allocation"));
    }
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| too_large("cannot be allocated"))?;
    v.resize(len, value);
    Ok(v)
}

/// A zero `(rows, cols)` array, or the error of [`try_vec`] (also when `rows · cols`
/// overflows) before allocating.
pub(crate) fn try_zeros2(
    owner: &str,
    what: &str,
    rows: usize,
    cols: usize,
) -> Result<ndarray::Array2<f32>> {
    let len = rows.checked_mul(cols).ok_or_else(|| {
        Error::param(
            owner,
            what,
            format!("({rows}, {cols})"),
            "has more elements than memory can address",
        )
    })?;
    let v = try_vec(owner, what, len, 0.0f32)?;
    ndarray::Array2::from_shape_vec((rows, cols), v)
        .map_err(|e| Error::param(owner, what, format!("({rows}, {cols})"), e.to_string()))
}
