//! [`ParamSpace`]: lists of values per hyper-parameter, their grid and random samples of it.

use std::fmt;

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::Config;
use super::config::check_max_norm;
use crate::error::{Error, Result};
use crate::validate;

/// The values to try for each field of a [`Config`].
///
/// The default space holds one point, the tutorial's baseline; the builder methods replace one
/// list each. [`grid`](Self::grid) is the cartesian product of the lists, in field order with
/// the last field varying fastest, so its size is the product of the lists' lengths. Spaces
/// that do not form a product (say, learning rate and momentum in pairs) are unions of grids:
/// concatenate the grids of several spaces.
///
/// ```
/// use ndnet::tuning::ParamSpace;
///
/// let space = ParamSpace::default()
///     .input_dropout([0.0, 0.2])
///     .hidden_dropout([0.0, 0.2, 0.5])
///     .max_norm([None, Some(3.0), Some(4.0)]);
/// assert_eq!(space.len(), 2 * 3 * 3);
/// assert_eq!(space.grid()?.len(), 18);
/// assert_eq!(space.random(5, 1)?, space.random(5, 1)?);
/// assert!(ParamSpace::default().hidden_dropout([1.0]).grid().is_err());
/// # Ok::<(), ndnet::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpace {
    /// Values of [`Config::input_dropout`].
    pub input_dropout: Vec<f32>,
    /// Values of [`Config::hidden_dropout`].
    pub hidden_dropout: Vec<f32>,
    /// Values of [`Config::max_norm`].
    pub max_norm: Vec<Option<f32>>,
    /// Values of [`Config::width_multiplier`].
    pub width_multiplier: Vec<f32>,
    /// Values of [`Config::learning_rate`].
    pub learning_rate: Vec<f32>,
    /// Values of [`Config::momentum`].
    pub momentum: Vec<f32>,
    /// Values of [`Config::decay`].
    pub decay: Vec<f32>,
    /// Values of [`Config::epochs`].
    pub epochs: Vec<usize>,
    /// Values of [`Config::batch_size`].
    pub batch_size: Vec<usize>,
}

/// The single point [`Config::default`] (the tutorial's baseline).
impl Default for ParamSpace {
    fn default() -> Self {
        ParamSpace::from(Config::default())
    }
}

/// The space holding just `config`.
impl From<Config> for ParamSpace {
    fn from(c: Config) -> Self {
        ParamSpace {
            input_dropout: vec![c.input_dropout],
            hidden_dropout: vec![c.hidden_dropout],
            max_norm: vec![c.max_norm],
            width_multiplier: vec![c.width_multiplier],
            learning_rate: vec![c.learning_rate],
            momentum: vec![c.momentum],
            decay: vec![c.decay],
            epochs: vec![c.epochs],
            batch_size: vec![c.batch_size],
        }
    }
}

impl ParamSpace {
    /// Sets the input dropout rates.
    pub fn input_dropout(mut self, values: impl IntoIterator<Item = f32>) -> Self {
        self.input_dropout = values.into_iter().collect();
        self
    }

    /// Sets the hidden dropout rates.
    pub fn hidden_dropout(mut self, values: impl IntoIterator<Item = f32>) -> Self {
        self.hidden_dropout = values.into_iter().collect();
        self
    }

    /// Sets the max-norm bounds (`None`: no constraint).
    pub fn max_norm(mut self, values: impl IntoIterator<Item = Option<f32>>) -> Self {
        self.max_norm = values.into_iter().collect();
        self
    }

    /// Sets the width multipliers.
    pub fn width_multiplier(mut self, values: impl IntoIterator<Item = f32>) -> Self {
        self.width_multiplier = values.into_iter().collect();
        self
    }

    /// Sets the learning rates.
    pub fn learning_rate(mut self, values: impl IntoIterator<Item = f32>) -> Self {
        self.learning_rate = values.into_iter().collect();
        self
    }

    /// Sets the momentums.
    pub fn momentum(mut self, values: impl IntoIterator<Item = f32>) -> Self {
        self.momentum = values.into_iter().collect();
        self
    }

    /// Sets the decays.
    pub fn decay(mut self, values: impl IntoIterator<Item = f32>) -> Self {
        self.decay = values.into_iter().collect();
        self
    }

    /// Sets the epoch counts.
    pub fn epochs(mut self, values: impl IntoIterator<Item = usize>) -> Self {
        self.epochs = values.into_iter().collect();
        self
    }

    /// Sets the batch sizes.
    pub fn batch_size(mut self, values: impl IntoIterator<Item = usize>) -> Self {
        self.batch_size = values.into_iter().collect();
        self
    }

    /// The lists' lengths, in field order.
    fn lengths(&self) -> [usize; 9] {
        [
            self.input_dropout.len(),
            self.hidden_dropout.len(),
            self.max_norm.len(),
            self.width_multiplier.len(),
            self.learning_rate.len(),
            self.momentum.len(),
            self.decay.len(),
            self.epochs.len(),
            self.batch_size.len(),
        ]
    }

    /// Number of points of the grid: the product of the lists' lengths (saturating at
    /// `usize::MAX`).
    pub fn len(&self) -> usize {
        self.lengths()
            .iter()
            .try_fold(1usize, |acc, &n| acc.checked_mul(n))
            .unwrap_or(usize::MAX)
    }

    /// Whether some list is empty (the grid has no points).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks that every list is non-empty, holds no value twice, and only valid values (the
    /// ranges of [`Config::validate`]).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] naming the list and the value.
    pub fn validate(&self) -> Result<()> {
        const OWNER: &str = "ParamSpace";
        non_empty_distinct("input_dropout", &self.input_dropout)?;
        non_empty_distinct("hidden_dropout", &self.hidden_dropout)?;
        non_empty_distinct("max_norm", &self.max_norm)?;
        non_empty_distinct("width_multiplier", &self.width_multiplier)?;
        non_empty_distinct("learning_rate", &self.learning_rate)?;
        non_empty_distinct("momentum", &self.momentum)?;
        non_empty_distinct("decay", &self.decay)?;
        non_empty_distinct("epochs", &self.epochs)?;
        non_empty_distinct("batch_size", &self.batch_size)?;
        for &r in &self.input_dropout {
            validate::unit_interval(OWNER, "input_dropout", r)?;
        }
        for &r in &self.hidden_dropout {
            validate::unit_interval(OWNER, "hidden_dropout", r)?;
        }
        for &c in &self.max_norm {
            check_max_norm(OWNER, c)?;
        }
        for &w in &self.width_multiplier {
            validate::positive(OWNER, "width_multiplier", w)?;
        }
        for &lr in &self.learning_rate {
            validate::positive(OWNER, "learning_rate", lr)?;
        }
        for &m in &self.momentum {
            validate::unit_interval(OWNER, "momentum", m)?;
        }
        for &d in &self.decay {
            validate::non_negative(OWNER, "decay", d)?;
        }
        for &e in &self.epochs {
            validate::at_least_one(OWNER, "epochs", e as u64)?;
        }
        for &b in &self.batch_size {
            validate::at_least_one(OWNER, "batch_size", b as u64)?;
        }
        // Ranges are checked above; this catches what only a whole Config can tell (a width
        // multiplier so small that a hidden layer has no units).
        for &w in &self.width_multiplier {
            Config {
                width_multiplier: w,
                ..Config::default()
            }
            .validate()
            .map_err(|_| {
                Error::param(
                    OWNER,
                    "width_multiplier",
                    w,
                    "leaves a hidden layer with 0 units",
                )
            })?;
        }
        Ok(())
    }

    /// The point with mixed-radix `index` (last field fastest); `index < self.len()`.
    fn point(&self, mut index: usize) -> Config {
        let lengths = self.lengths();
        let mut digits = [0usize; 9];
        for (digit, &n) in digits.iter_mut().zip(&lengths).rev() {
            *digit = index % n;
            index /= n;
        }
        Config {
            input_dropout: self.input_dropout[digits[0]],
            hidden_dropout: self.hidden_dropout[digits[1]],
            max_norm: self.max_norm[digits[2]],
            width_multiplier: self.width_multiplier[digits[3]],
            learning_rate: self.learning_rate[digits[4]],
            momentum: self.momentum[digits[5]],
            decay: self.decay[digits[6]],
            epochs: self.epochs[digits[7]],
            batch_size: self.batch_size[digits[8]],
        }
    }

    fn checked_len(&self) -> Result<usize> {
        self.lengths()
            .iter()
            .try_fold(1usize, |acc, &n| acc.checked_mul(n))
            .ok_or_else(|| {
                Error::param(
                    "ParamSpace",
                    "size",
                    format!("{:?}", self.lengths()),
                    "the product of the lists' lengths overflows usize",
                )
            })
    }

    /// Every point of the space: the cartesian product of the lists, in field order with the
    /// last field (`batch_size`) varying fastest.
    ///
    /// # Errors
    ///
    /// As [`validate`](Self::validate); [`Error::InvalidParameter`] if the grid's size overflows
    /// or exceeds [`MAX_POINTS`] (checked before allocating).
    pub fn grid(&self) -> Result<Vec<Config>> {
        self.validate()?;
        let n = self.checked_len()?;
        check_points("ParamSpace::grid", "size", n)?;
        Ok((0..n).map(|i| self.point(i)).collect())
    }

    /// `n` distinct points drawn uniformly from the grid with a generator seeded by `seed`,
    /// in grid order. The same space, `n` and seed give the same points (for a given version
    /// of `rand`).
    ///
    /// # Errors
    ///
    /// As [`grid`](Self::grid) (except that the grid may be larger than [`MAX_POINTS`]);
    /// [`Error::InvalidParameter`] if `n` is 0, greater than the size of the grid, or greater
    /// than [`MAX_POINTS`].
    pub fn random(&self, n: usize, seed: u64) -> Result<Vec<Config>> {
        self.validate()?;
        let size = self.checked_len()?;
        if n == 0 || n > size {
            return Err(Error::param(
                "ParamSpace::random",
                "n",
                n,
                format!("must be between 1 and the size of the grid ({size}); use grid() for all"),
            ));
        }
        check_points("ParamSpace::random", "n", n)?;
        let mut rng = StdRng::seed_from_u64(seed);
        let mut picked = rand::seq::index::sample(&mut rng, size, n).into_vec();
        picked.sort_unstable();
        Ok(picked.into_iter().map(|i| self.point(i)).collect())
    }
}

/// The most configurations [`ParamSpace::grid`] and [`ParamSpace::random`] return: 2²⁰
/// (1,048,576). Each is trained `repeats · folds` times by a search, so a list this long is
/// already far more than a search can run; the limit keeps a mistyped space from exhausting
/// memory.
pub const MAX_POINTS: usize = 1 << 20;

/// `InvalidParameter` when `n` configurations exceed [`MAX_POINTS`].
fn check_points(owner: &str, name: &str, n: usize) -> Result<()> {
    if n <= MAX_POINTS {
        Ok(())
    } else {
        Err(Error::param(
            owner,
            name,
            n,
            format!("must be at most {MAX_POINTS} configurations (ndnet::tuning::MAX_POINTS)"),
        ))
    }
}

fn non_empty_distinct<T: PartialEq + fmt::Debug>(name: &str, values: &[T]) -> Result<()> {
    if values.is_empty() {
        return Err(Error::param(
            "ParamSpace",
            name,
            "[]",
            "must list at least one value",
        ));
    }
    for (i, v) in values.iter().enumerate() {
        if values[..i].contains(v) {
            return Err(Error::param(
                "ParamSpace",
                name,
                format!("{v:?}"),
                "is listed twice",
            ));
        }
    }
    Ok(())
}
