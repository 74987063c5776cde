//! The sonar MLP's hyper-parameter family, `60 → 60·w → 30·w → 1`: [`Config`], one point of it
//! and the network it builds, a [`Candidate`] of a [`Search`]; [`ParamSpace`], lists of values
//! per field, with their grid and random samples of it; and [`search`], a space's grid scored.

use std::fmt;

use ndarray::{AsArray, Ix2};
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::SonarExperiment;
use crate::activation::Activation;
use crate::constraints::MaxNorm;
use crate::error::{Error, Result};
use crate::init::Initializer;
use crate::layers::{Dense, Dropout};
use crate::losses::BinaryCrossentropy;
use crate::model::{FitOptions, IntoTargets, Sequential};
use crate::optimizers::Sgd;
use crate::selection::{Candidate, Columns, CrossValidation, Search, TuningResult};
use crate::validate::{self, non_negative, positive, unit_interval};

/// The largest [`Config::width_multiplier`]: 100, hidden layers of 6000 and 3000 units (an
/// 18-million-weight second kernel). Wider networks are far beyond this sonar-sized search, and
/// the limit keeps [`Config::build`] from attempting allocations that cannot succeed.
pub const MAX_WIDTH_MULTIPLIER: f32 = 100.0;

/// Width of the sonar inputs, which [`Config::build`] assumes.
const SONAR_INPUTS: usize = 60;
/// Units of the first and second hidden layers at width multiplier 1.
const HIDDEN_UNITS: [usize; 2] = [60, 30];

/// One point of a search: the hyper-parameters of the tutorial's sonar network, as plain data,
/// and a [`Candidate`] of a [`Search`] (which builds it for the data's width).
///
/// [`build`](Self::build) turns it into the tutorial's MLP, `60 → 60·w → 30·w → 1`:
///
/// ```text
/// [Dropout(input_dropout)]                          if input_dropout > 0
/// Dense(60·w, ReLU, N(0, 0.05), [MaxNorm(c)])
/// [Dropout(hidden_dropout)]                         if hidden_dropout > 0
/// Dense(30·w, ReLU, N(0, 0.05), [MaxNorm(c)])
/// [Dropout(hidden_dropout)]                         if hidden_dropout > 0
/// Dense(1, sigmoid, N(0, 0.05))
/// binary cross-entropy, SGD(learning_rate, momentum, decay)
/// ```
///
/// A dropout rate of 0 adds no layer and the max-norm constraint, when set, applies to the two
/// hidden kernels only, so [`Config::tutorial`] builds exactly the tutorial's three models (the
/// `add` chains of [`SonarExperiment::build`]).
/// Widths are rounded to the nearest integer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    /// Dropout rate on the inputs, in `[0, 1)`.
    pub input_dropout: f32,
    /// Dropout rate after each hidden layer, in `[0, 1)`.
    pub hidden_dropout: f32,
    /// Max-norm bound of the hidden kernels' columns, or no constraint.
    pub max_norm: Option<f32>,
    /// Multiplier of the hidden widths (60 and 30), greater than 0 and at most
    /// [`MAX_WIDTH_MULTIPLIER`].
    pub width_multiplier: f32,
    /// SGD learning rate, greater than 0.
    pub learning_rate: f32,
    /// SGD momentum, in `[0, 1)`.
    pub momentum: f32,
    /// SGD inverse-time decay per update, at least 0.
    pub decay: f32,
    /// Training epochs per fold, at least 1.
    pub epochs: usize,
    /// Mini-batch size, at least 1.
    pub batch_size: usize,
}

/// The tutorial's baseline: no dropout, no constraint, SGD(0.01, momentum 0.8), 300 epochs of
/// batches of 16.
impl Default for Config {
    fn default() -> Self {
        Config::tutorial(SonarExperiment::Baseline)
    }
}

impl Config {
    /// The configuration of one of the tutorial's three models (see
    /// [`experiments`](crate::experiments)); its [`build`](Self::build) gives the same network,
    /// layer for layer, as [`SonarExperiment::build`]'s chain.
    pub fn tutorial(experiment: SonarExperiment) -> Self {
        let (input_dropout, hidden_dropout, max_norm, learning_rate, momentum) = match experiment {
            SonarExperiment::Baseline => (0.0, 0.0, None, 0.01, 0.8),
            SonarExperiment::Visible => (0.2, 0.0, Some(3.0), 0.1, 0.9),
            SonarExperiment::Hidden => (0.0, 0.2, Some(3.0), 0.1, 0.9),
        };
        let fit = SonarExperiment::fit_options();
        Config {
            input_dropout,
            hidden_dropout,
            max_norm,
            width_multiplier: 1.0,
            learning_rate,
            momentum,
            decay: 0.0,
            epochs: fit.epochs,
            batch_size: fit.batch_size,
        }
    }

    /// Which of the tutorial's three models this is, if any.
    pub fn tutorial_experiment(&self) -> Option<SonarExperiment> {
        SonarExperiment::ALL
            .into_iter()
            .find(|&e| Config::tutorial(e) == *self)
    }

    /// Whether the configuration uses dropout anywhere.
    pub fn has_dropout(&self) -> bool {
        self.input_dropout > 0.0 || self.hidden_dropout > 0.0
    }

    /// Checks every field's range.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] naming the first field out of range.
    pub fn validate(&self) -> Result<()> {
        validate::unit_interval("Config", "input_dropout", self.input_dropout)?;
        validate::unit_interval("Config", "hidden_dropout", self.hidden_dropout)?;
        check_max_norm("Config", self.max_norm)?;
        validate::positive("Config", "width_multiplier", self.width_multiplier)?;
        let too_wide = self.width_multiplier > MAX_WIDTH_MULTIPLIER;
        if too_wide || self.hidden_units().contains(&0) {
            let reason = if too_wide {
                format!(
                    "must be at most {MAX_WIDTH_MULTIPLIER} (hidden layers of 6000 and 3000 units)"
                )
            } else {
                "leaves a hidden layer with 0 units".to_owned()
            };
            let w = self.width_multiplier;
            return Err(Error::param("Config", "width_multiplier", w, reason));
        }
        validate::positive("Config", "learning_rate", self.learning_rate)?;
        validate::unit_interval("Config", "momentum", self.momentum)?;
        validate::non_negative("Config", "decay", self.decay)?;
        validate::at_least_one("Config", "epochs", self.epochs as u64)?;
        validate::at_least_one("Config", "batch_size", self.batch_size as u64)
    }

    /// Units of the two hidden layers: `60·w` and `30·w`, rounded.
    pub fn hidden_units(&self) -> [usize; 2] {
        HIDDEN_UNITS.map(|u| (u as f32 * self.width_multiplier).round().max(0.0) as usize)
    }

    /// The compiled sonar network for this configuration (60 inputs); see the type's
    /// documentation for the layers.
    ///
    /// ```
    /// use ndnet::experiments::{Config, SonarExperiment};
    ///
    /// let model = Config::tutorial(SonarExperiment::Hidden).build()?;
    /// assert_eq!(model.layer_names(), SonarExperiment::Hidden.build()?.layer_names());
    /// # Ok::<(), ndnet::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`validate`](Self::validate).
    pub fn build(&self) -> Result<Sequential> {
        self.build_for(SONAR_INPUTS)
    }

    /// [`build`](Self::build) for inputs of width `inputs` (the hidden widths stay `60·w` and
    /// `30·w`).
    ///
    /// # Errors
    ///
    /// As [`validate`](Self::validate), and [`Error::InvalidParameter`] if `inputs` is 0.
    pub fn build_for(&self, inputs: usize) -> Result<Sequential> {
        self.validate()?;
        let hidden = |units: usize| {
            let dense = Dense::new(units)
                .activation(Activation::Relu)
                .kernel_initializer(Initializer::KERAS_NORMAL);
            match self.max_norm {
                Some(c) => dense.kernel_constraint(MaxNorm::new(c)),
                None => dense,
            }
        };
        let [first, second] = self.hidden_units();
        let mut m = Sequential::new(inputs);
        if self.input_dropout > 0.0 {
            m.add(Dropout::new(self.input_dropout))?;
        }
        m.add(hidden(first))?;
        if self.hidden_dropout > 0.0 {
            m.add(Dropout::new(self.hidden_dropout))?;
        }
        m.add(hidden(second))?;
        if self.hidden_dropout > 0.0 {
            m.add(Dropout::new(self.hidden_dropout))?;
        }
        m.add(
            Dense::new(1)
                .activation(Activation::Sigmoid)
                .kernel_initializer(Initializer::KERAS_NORMAL),
        )?;
        let sgd = Sgd::new(self.learning_rate)
            .momentum(self.momentum)
            .decay(self.decay);
        m.compile(BinaryCrossentropy, sgd)?;
        Ok(m)
    }

    /// The training options: the tutorial's ([`SonarExperiment::fit_options`]) with `epochs`
    /// and `batch_size`.
    pub fn fit_options(&self) -> FitOptions<'static> {
        FitOptions {
            epochs: self.epochs,
            batch_size: self.batch_size,
            ..SonarExperiment::fit_options()
        }
    }
}

/// The network of [`Config::build_for`] for the data's width, trained with
/// [`Config::fit_options`], checked by [`Config::validate`].
impl Candidate for Config {
    fn build(&self, input_dim: usize) -> Result<Sequential> {
        self.build_for(input_dim)
    }

    fn fit_options(&self) -> FitOptions<'static> {
        Config::fit_options(self)
    }

    fn validate(&self) -> Result<()> {
        Config::validate(self)
    }
}

/// The fields in declaration order (`max_norm` empty for none), then `tutorial`: the tutorial
/// model's name, or empty.
impl Columns for Config {
    const NAMES: &'static [&'static str] = &[
        "input_dropout",
        "hidden_dropout",
        "max_norm",
        "width_multiplier",
        "learning_rate",
        "momentum",
        "decay",
        "epochs",
        "batch_size",
        "tutorial",
    ];

    fn values(&self) -> Vec<String> {
        let rates = [self.input_dropout, self.hidden_dropout];
        let sgd = [self.learning_rate, self.momentum, self.decay];
        let mut values: Vec<String> = rates.iter().map(f32::to_string).collect();
        values.push(self.max_norm.map(|m| m.to_string()).unwrap_or_default());
        values.push(self.width_multiplier.to_string());
        values.extend(sgd.iter().map(f32::to_string));
        values.extend([self.epochs, self.batch_size].iter().map(usize::to_string));
        let tutorial = self.tutorial_experiment().map(|e| e.name().to_owned());
        values.push(tutorial.unwrap_or_default());
        values
    }
}

/// `in 0.2 hid 0 maxnorm 3 w 1 lr 0.1 mom 0.9 decay 0 ep 300 bs 16`.
impl fmt::Display for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let max_norm = match self.max_norm {
            Some(c) => c.to_string(),
            None => "none".to_owned(),
        };
        write!(
            f,
            "in {} hid {} maxnorm {} w {} lr {} mom {} decay {} ep {} bs {}",
            self.input_dropout,
            self.hidden_dropout,
            max_norm,
            self.width_multiplier,
            self.learning_rate,
            self.momentum,
            self.decay,
            self.epochs,
            self.batch_size
        )
    }
}

fn check_max_norm(owner: &str, max_norm: Option<f32>) -> Result<()> {
    match max_norm {
        Some(c) if !(c.is_finite() && c > 0.0) => Err(Error::param(
            owner,
            "max_norm",
            c,
            "must be finite and greater than 0 (use None for no constraint)",
        )),
        _ => Ok(()),
    }
}

/// The values to try for each field of a [`Config`].
///
/// The default space holds one point, the tutorial's baseline; set the lists to vary with
/// struct-update syntax, `ParamSpace { input_dropout: vec![0.0, 0.2], ..ParamSpace::default() }`
/// (or `..ParamSpace::from(config)` around another point). [`grid`](Self::grid) is the
/// cartesian product of the lists, in field order with
/// the last field varying fastest, so its size is the product of the lists' lengths. Spaces
/// that do not form a product (say, learning rate and momentum in pairs) are unions of grids:
/// concatenate the grids of several spaces.
///
/// ```
/// use ndnet::experiments::ParamSpace;
///
/// let space = ParamSpace {
///     input_dropout: vec![0.0, 0.2],
///     hidden_dropout: vec![0.0, 0.2, 0.5],
///     max_norm: vec![None, Some(3.0), Some(4.0)],
///     ..ParamSpace::default()
/// };
/// assert_eq!(space.len(), 2 * 3 * 3);
/// assert_eq!(space.grid()?.len(), 18);
/// assert_eq!(space.random(5, 1)?, space.random(5, 1)?);
/// assert!(ParamSpace { hidden_dropout: vec![1.0], ..ParamSpace::default() }.grid().is_err());
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
        let each = |values: &[f32], check: fn(&str, &str, f32) -> Result<()>, name: &str| {
            values.iter().try_for_each(|&v| check(OWNER, name, v))
        };
        each(&self.input_dropout, unit_interval, "input_dropout")?;
        each(&self.hidden_dropout, unit_interval, "hidden_dropout")?;
        let max_norm = |&c: &Option<f32>| check_max_norm(OWNER, c);
        self.max_norm.iter().try_for_each(max_norm)?;
        each(&self.width_multiplier, positive, "width_multiplier")?;
        each(&self.learning_rate, positive, "learning_rate")?;
        each(&self.momentum, unit_interval, "momentum")?;
        each(&self.decay, non_negative, "decay")?;
        for (name, counts) in [("epochs", &self.epochs), ("batch_size", &self.batch_size)] {
            counts
                .iter()
                .try_for_each(|&n| validate::at_least_one(OWNER, name, n as u64))?;
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
            format!("must be at most {MAX_POINTS} configurations (ndnet::experiments::MAX_POINTS)"),
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

/// Scores every point of `space`'s grid with `repeats` × `folds`-fold cross-validation seeded
/// from `seed`, building the sonar network with [`Config::build_for`] for the width of `x`:
/// shorthand for `Search::new(CrossValidation::new(folds, seed), repeats).run(&space.grid()?,
/// x, y)`.
///
/// # Errors
///
/// As [`ParamSpace::grid`] and [`Search::run`].
pub fn search<'a>(
    space: &ParamSpace,
    x: impl AsArray<'a, f32, Ix2>,
    y: impl IntoTargets<'a>,
    folds: usize,
    repeats: usize,
    seed: u64,
) -> Result<Vec<TuningResult<Config>>> {
    Search::new(CrossValidation::new(folds, seed), repeats).run(&space.grid()?, x, y)
}
