//! [`Config`]: one point of a search, and the sonar network it builds.

use std::fmt;

use crate::activation::Activation;
use crate::constraints::MaxNorm;
use crate::error::{Error, Result};
use crate::experiments::SonarExperiment;
use crate::init::Initializer;
use crate::layers::{Dense, Dropout};
use crate::losses::BinaryCrossentropy;
use crate::model::{FitOptions, Sequential};
use crate::optimizers::Sgd;
use crate::validate;

/// The largest [`Config::width_multiplier`]: 100, hidden layers of 6000 and 3000 units (an
/// 18-million-weight second kernel). Wider networks are far beyond this sonar-sized search, and
/// the limit keeps [`Config::build`] from attempting allocations that cannot succeed.
pub const MAX_WIDTH_MULTIPLIER: f32 = 100.0;

/// Width of the sonar inputs, which [`Config::build`] assumes.
const SONAR_INPUTS: usize = 60;
/// Units of the first and second hidden layers at width multiplier 1.
const HIDDEN_UNITS: [usize; 2] = [60, 30];

/// One point of a search: the hyper-parameters of the tutorial's sonar network, as plain data.
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
/// hidden kernels only, so [`Config::tutorial`] builds exactly the tutorial's three models.
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
    /// layer for layer, as [`SonarExperiment::build`].
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
        if self.width_multiplier > MAX_WIDTH_MULTIPLIER {
            return Err(Error::param(
                "Config",
                "width_multiplier",
                self.width_multiplier,
                format!(
                    "must be at most {MAX_WIDTH_MULTIPLIER} (hidden layers of 6000 and 3000 units)"
                ),
            ));
        }
        for units in self.hidden_units() {
            if units == 0 {
                return Err(Error::param(
                    "Config",
                    "width_multiplier",
                    self.width_multiplier,
                    "leaves a hidden layer with 0 units",
                ));
            }
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
    /// use ndnet::experiments::SonarExperiment;
    /// use ndnet::tuning::Config;
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

    /// The training options: `epochs` and `batch_size`, shuffled, silent.
    pub fn fit_options(&self) -> FitOptions<'static> {
        FitOptions {
            epochs: self.epochs,
            batch_size: self.batch_size,
            shuffle: true,
            ..FitOptions::default()
        }
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

pub(super) fn check_max_norm(owner: &str, max_norm: Option<f32>) -> Result<()> {
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
