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
//!
//! [`SonarExperiment::build`] writes each as the tutorial's `add` chain. The tutorial's closing
//! tips search the family these three belong to, `60 → 60·w → 30·w → 1`: a [`Config`] is one
//! point of it (dropout rates, max-norm, width, SGD settings, epochs and batch size as plain
//! data) and a [`selection::Candidate`](crate::selection::Candidate), so a
//! [`selection::Search`](crate::selection::Search) scores it; a [`ParamSpace`] lists values
//! per field, with its grid and seeded random samples; [`search`] scores a space's grid.
//! [`Config::tutorial`] gives the three models' points, and builds the same layers as their
//! chains. With the `plot` feature, `results_line` and `max_norm_panel` turn search results
//! into `ndnet::plot` lines of accuracy against dropout rate.

#[cfg(feature = "plot")]
mod plot;
mod sonar_family;

#[cfg(feature = "plot")]
pub use self::plot::{max_norm_panel, results_line};
pub use self::sonar_family::{Config, MAX_POINTS, MAX_WIDTH_MULTIPLIER, ParamSpace, search};

use std::fmt;
use std::str::FromStr;

use crate::activation::Activation::{Relu, Sigmoid};
use crate::constraints::MaxNorm;
use crate::error::{Error, Result};
use crate::init::Initializer;
use crate::layers::{Dense, Dropout};
use crate::losses::BinaryCrossentropy;
use crate::model::{FitOptions, Sequential};
use crate::optimizers::Sgd;

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

    /// A fresh compiled model for this experiment, the tutorial's `add` chain (seed it with
    /// [`Sequential::set_seed`] or let cross-validation do it).
    ///
    /// ```
    /// use ndnet::experiments::SonarExperiment;
    /// let model = SonarExperiment::Hidden.build()?;
    /// assert_eq!(model.layers().len(), 5);
    /// # Ok::<(), ndnet::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// None in practice: the layers and the optimizer are valid; the `Result` is `add`'s.
    // One layer a line, as in the tutorial's `create_baseline()` and its dropout variants
    // (rustfmt would spread each constrained layer over six lines): `init` is the tutorial's
    // `kernel_initializer='normal'` (N(0, 0.05²)), `maxnorm` its `kernel_constraint=maxnorm(3)`.
    #[rustfmt::skip]
    pub fn build(&self) -> Result<Sequential> {
        let (init, maxnorm) = (Initializer::KERAS_NORMAL, MaxNorm::new(3.0));
        let mut model = Sequential::new(60);
        let sgd = match self {
            SonarExperiment::Baseline => {
                model.add(Dense::new(60).activation(Relu).kernel_initializer(init))?;
                model.add(Dense::new(30).activation(Relu).kernel_initializer(init))?;
                model.add(Dense::new(1).activation(Sigmoid).kernel_initializer(init))?;
                Sgd::new(0.01).momentum(0.8)
            }
            SonarExperiment::Visible => {
                model.add(Dropout::new(0.2))?;
                model.add(Dense::new(60).activation(Relu).kernel_initializer(init).kernel_constraint(maxnorm))?;
                model.add(Dense::new(30).activation(Relu).kernel_initializer(init).kernel_constraint(maxnorm))?;
                model.add(Dense::new(1).activation(Sigmoid).kernel_initializer(init))?;
                Sgd::new(0.1).momentum(0.9)
            }
            SonarExperiment::Hidden => {
                model.add(Dense::new(60).activation(Relu).kernel_initializer(init).kernel_constraint(maxnorm))?;
                model.add(Dropout::new(0.2))?;
                model.add(Dense::new(30).activation(Relu).kernel_initializer(init).kernel_constraint(maxnorm))?;
                model.add(Dropout::new(0.2))?;
                model.add(Dense::new(1).activation(Sigmoid).kernel_initializer(init))?;
                Sgd::new(0.1).momentum(0.9)
            }
        };
        model.compile(BinaryCrossentropy, sgd)?;
        Ok(model)
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
