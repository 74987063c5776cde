//! # ndnet
//!
//! Feed-forward neural networks on [`ndarray`], with dropout done right.
//!
//! ndnet gives Rust what Keras gives Python for multilayer perceptrons: a [`Sequential`] model
//! of [`Dense`](layers::Dense), [`Dropout`](layers::Dropout) and activation layers, SGD with
//! momentum, Nesterov and decay, Adam and RMSprop, max-norm and other weight constraints, and
//! `fit`, `evaluate` and `predict`, all matching Keras 2's formulas: dropout's inverted scaling,
//! MaxNorm's epsilon, SGD's velocity that holds the learning rate, binary cross-entropy's
//! clipping. Everything is `f32`, and a training step allocates nothing once its buffers exist.
//! The matrix products run SIMD kernels on x86-64 CPUs with AVX2+FMA or AVX-512 and a portable
//! kernel elsewhere, or anywhere when the environment variable `NDNET_PORTABLE` is set (to
//! anything but `0` or empty) when the first product runs; both give bitwise the same results.
//!
//! ```
//! use ndnet::prelude::*;
//!
//! // The tutorial's "hidden" dropout model for the 60 sonar features.
//! let mut model = Sequential::new(60).with_seed(7);
//! model.add(Dense::new(60).activation(Activation::Relu)
//!     .kernel_initializer(Initializer::KERAS_NORMAL)
//!     .kernel_constraint(MaxNorm::new(3.0)))?;
//! model.add(Dropout::new(0.2))?;
//! model.add(Dense::new(30).activation(Activation::Relu)
//!     .kernel_initializer(Initializer::KERAS_NORMAL)
//!     .kernel_constraint(MaxNorm::new(3.0)))?;
//! model.add(Dropout::new(0.2))?;
//! model.add(Dense::new(1).activation(Activation::Sigmoid)
//!     .kernel_initializer(Initializer::KERAS_NORMAL))?;
//! model.compile(BinaryCrossentropy, Sgd::new(0.1).momentum(0.9))?;
//! assert_eq!(model.param_count(), 60 * 60 + 60 + 60 * 30 + 30 + 30 + 1);
//! # Ok::<(), ndnet::Error>(())
//! ```
//!
//! Coming from Keras? [`doc::keras_users`] puts the tutorial's Keras lines beside ndnet's.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod activation;
mod atomic_file;
pub mod callbacks;
mod clone_box;
pub mod constraints;
pub mod curves;
pub mod data;
pub mod datasets;
pub mod doc;
pub mod error;
pub mod experiments;
mod history;
#[allow(unsafe_code)]
mod kernels;
// The kernels' former paths, still used across the crate.
use kernels::elementwise;
pub mod init;
#[cfg(feature = "serde")]
pub use model::save as io;
pub mod layers;
pub mod losses;
pub mod mc;
pub mod metrics;
pub mod model;
#[cfg(feature = "onnx")]
pub mod onnx;
pub mod optimizers;
#[cfg(feature = "plot")]
pub mod plot;
pub mod regularizers;
pub mod rng;
#[cfg(feature = "serde")]
pub mod safetensors;
pub mod schedules;
pub mod selection;
pub use kernels::elementwise::{flush_subnormals, set_flush_subnormals};
pub use kernels::threads::{product_threads, set_product_threads};
mod validate;

/// The `ndarray` version ndnet is built on, so `ndnet::ndarray::array!` works without a
/// separate dependency.
pub use ndarray;

pub use activation::Activation;
pub use error::{Error, IdxError, ModelFileError, Result};
pub use model::{Evaluation, FitOptions, History, IntoTargets, Sequential};

/// The names most programs need: `use ndnet::prelude::*;`.
pub mod prelude {
    pub use crate::activation::Activation;
    pub use crate::constraints::{Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm};
    pub use crate::error::{Error, Result};
    pub use crate::init::Initializer;
    pub use crate::layers::{
        ActivationLayer, AlphaDropout, Dense, Dropout, GaussianDropout, GaussianNoise, GradWrt,
        Layer, Masks, Mode, Normalization,
    };
    pub use crate::losses::{BinaryCrossentropy, CategoricalCrossentropy, Loss, MeanSquaredError};
    pub use crate::mc::McPrediction;
    pub use crate::model::{Evaluation, FitOptions, History, Sequential};
    pub use crate::optimizers::{Adam, Optimizer, RmsProp, Sgd};
    pub use crate::regularizers::Regularizer;
}

/// The README's examples, compiled and run as documentation tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
