//! The three models of the tutorial "Dropout Regularization in Deep Learning Models With Keras".
//!
//! All take the 60 standardized sonar features, use ReLU hidden layers, a sigmoid output, binary
//! cross-entropy and kernels initialized from `N(0, 0.05²)`, and train for 300 epochs in batches
//! of 16:
//!
//! | experiment | layers | optimizer |
//! |---|---|---|
//! | Baseline | Dense(60) → Dense(30) → Dense(1) | SGD(lr 0.01, momentum 0.8) |
//! | Visible | Dropout(0.2) → Dense(60, MaxNorm 3) → Dense(30, MaxNorm 3) → Dense(1) | SGD(lr 0.1, momentum 0.9) |
//! | Hidden | Dense(60, MaxNorm 3) → Dropout(0.2) → Dense(30, MaxNorm 3) → Dropout(0.2) → Dense(1) | SGD(lr 0.1, momentum 0.9) |

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::model::{FitOptions, Sequential};
use crate::tuning::Config;

/// One of the tutorial's sonar experiments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SonarExperiment {
    /// No dropout.
    Baseline,
    /// 20% dropout on the inputs, MaxNorm(3) kernels.
    Visible,
    /// 20% dropout after each hidden layer, MaxNorm(3) kernels.
    Hidden,
}

impl SonarExperiment {
    /// All three, in the tutorial's order.
    pub const ALL: [SonarExperiment; 3] = [
        SonarExperiment::Baseline,
        SonarExperiment::Visible,
        SonarExperiment::Hidden,
    ];

    /// `Baseline`, `Visible` or `Hidden`, as the tutorial prints them.
    pub fn name(&self) -> &'static str {
        match self {
            SonarExperiment::Baseline => "Baseline",
            SonarExperiment::Visible => "Visible",
            SonarExperiment::Hidden => "Hidden",
        }
    }

    /// A fresh compiled model for this experiment, built by its [`Config`] (seed it with
    /// [`Sequential::set_seed`] or let cross-validation do it).
    ///
    /// ```
    /// use ndnet::experiments::SonarExperiment;
    /// let model = SonarExperiment::Hidden.build()?;
    /// assert_eq!(model.layers().len(), 5);
    /// # Ok::<(), ndnet::Error>(())
    /// ```
    pub fn build(&self) -> Result<Sequential> {
        Config::tutorial(*self).build()
    }

    /// The tutorial's training settings: 300 epochs, batch 16, shuffled, silent.
    pub fn fit_options() -> FitOptions<'static> {
        FitOptions {
            epochs: 300,
            batch_size: 16,
            shuffle: true,
            ..FitOptions::default()
        }
    }
}

impl fmt::Display for SonarExperiment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SonarExperiment {
    type Err = Error;

    /// `baseline`, `visible` or `hidden` (any case).
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "baseline" => Ok(SonarExperiment::Baseline),
            "visible" => Ok(SonarExperiment::Visible),
            "hidden" => Ok(SonarExperiment::Hidden),
            _ => Err(Error::param(
                "SonarExperiment",
                "name",
                s,
                "expected baseline, visible or hidden",
            )),
        }
    }
}
