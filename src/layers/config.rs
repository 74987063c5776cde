//! [`LayerConfig`]: a layer as plain data, what a saved model stores and rebuilds.

use super::{
    ActivationLayer, AlphaDropout, Dense, Dropout, GaussianDropout, GaussianNoise, Layer,
    Normalization,
};
use crate::activation::Activation;
use crate::constraints::ConstraintConfig;
use crate::error::{Error, Result};
use crate::init::Initializer;
use crate::regularizers::Regularizer;

/// A layer as plain data: its type and hyper-parameters, without weights. It is what a saved
/// model stores for each layer (in JSON, as `{"class_name": "Dropout", "config": {"rate": 0.2}}`),
/// and [`build`](LayerConfig::build) turns it back into a layer.
///
/// ```
/// use ndnet::prelude::*;
/// use ndnet::layers::LayerConfig;
/// let config = Dropout::new(0.2).config();
/// assert_eq!(config, LayerConfig::Dropout { rate: 0.2 });
/// let mut model = Sequential::new(4);
/// model.add(config.build()?)?;
/// assert_eq!(model.layers()[0].config(), config);
/// # Ok::<(), ndnet::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(tag = "class_name", content = "config")
)]
#[non_exhaustive]
pub enum LayerConfig {
    /// A fully connected layer.
    Dense {
        /// Output width.
        units: usize,
        /// Activation applied after the affine map.
        activation: Activation,
        /// Whether the layer has a bias.
        use_bias: bool,
        /// Kernel initializer.
        kernel_initializer: Initializer,
        /// Bias initializer.
        bias_initializer: Initializer,
        /// Kernel constraint.
        kernel_constraint: Option<ConstraintConfig>,
        /// Bias constraint.
        bias_constraint: Option<ConstraintConfig>,
        /// L1/L2 penalty on the kernel.
        kernel_regularizer: Option<Regularizer>,
    },
    /// Dropout with its rate.
    Dropout {
        /// Probability of dropping a unit.
        rate: f32,
    },
    /// Multiplicative Gaussian noise `N(1, rate / (1 - rate))`.
    GaussianDropout {
        /// Drop probability the noise stands for.
        rate: f32,
    },
    /// Additive Gaussian noise `N(0, stddev²)`.
    GaussianNoise {
        /// Standard deviation of the noise.
        stddev: f32,
    },
    /// Dropout that keeps SELU activations standardized.
    AlphaDropout {
        /// Probability of dropping a unit.
        rate: f32,
    },
    /// A stand-alone activation layer.
    Activation(Activation),
    /// Per-feature standardization; its mean and scale are saved as its weights.
    Normalization,
    /// A layer defined outside this crate, known only by its kind; it cannot be rebuilt.
    Custom {
        /// What [`Layer::kind`] returned.
        kind: String,
    },
}

impl LayerConfig {
    /// A new, unbuilt layer with this configuration: add it to a model to validate its
    /// hyper-parameters and initialize its weights. A `Custom` layer or constraint cannot be
    /// rebuilt and gives an error.
    pub fn build(&self) -> Result<Box<dyn Layer>> {
        Ok(match self {
            LayerConfig::Dense {
                units,
                activation,
                use_bias,
                kernel_initializer,
                bias_initializer,
                kernel_constraint,
                bias_constraint,
                kernel_regularizer,
            } => {
                let mut d = Dense::new(*units)
                    .activation(*activation)
                    .use_bias(*use_bias)
                    .kernel_initializer(*kernel_initializer)
                    .bias_initializer(*bias_initializer);
                if let Some(c) = kernel_constraint {
                    d = d.kernel_constraint(c.build()?);
                }
                if let Some(c) = bias_constraint {
                    d = d.bias_constraint(c.build()?);
                }
                if let Some(r) = kernel_regularizer {
                    d = d.kernel_regularizer(*r);
                }
                Box::new(d)
            }
            LayerConfig::Dropout { rate } => Box::new(Dropout::new(*rate)),
            LayerConfig::GaussianDropout { rate } => Box::new(GaussianDropout::new(*rate)),
            LayerConfig::GaussianNoise { stddev } => Box::new(GaussianNoise::new(*stddev)),
            LayerConfig::AlphaDropout { rate } => Box::new(AlphaDropout::new(*rate)),
            LayerConfig::Activation(a) => Box::new(ActivationLayer::new(*a)),
            LayerConfig::Normalization => Box::new(Normalization::new()),
            LayerConfig::Custom { kind } => return Err(custom_layer_error(kind)),
        })
    }

    /// The layer type's name, as [`Layer::kind`] gives it: `"Dense"`, `"Dropout"`, …, and
    /// `"Custom"` for a layer defined outside the crate (which names itself).
    ///
    /// ```
    /// use ndnet::layers::LayerConfig;
    /// assert_eq!(LayerConfig::Dropout { rate: 0.5 }.kind(), "Dropout");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            LayerConfig::Dense { .. } => "Dense",
            LayerConfig::Dropout { .. } => "Dropout",
            LayerConfig::GaussianDropout { .. } => "GaussianDropout",
            LayerConfig::GaussianNoise { .. } => "GaussianNoise",
            LayerConfig::AlphaDropout { .. } => "AlphaDropout",
            LayerConfig::Activation(_) => "Activation",
            LayerConfig::Normalization => "Normalization",
            LayerConfig::Custom { .. } => "Custom",
        }
    }

    /// The output width and the shapes of the weights (in [`Layer::weights`] order) of a layer
    /// with this configuration on inputs of width `input_dim`, computed without building it.
    pub fn weight_shapes(&self, input_dim: usize) -> Result<(usize, Vec<Vec<usize>>)> {
        match self {
            LayerConfig::Dense {
                units, use_bias, ..
            } => {
                let mut shapes = vec![vec![input_dim, *units]];
                if *use_bias {
                    shapes.push(vec![*units]);
                }
                Ok((*units, shapes))
            }
            LayerConfig::Normalization => Ok((input_dim, vec![vec![input_dim], vec![input_dim]])),
            LayerConfig::Custom { kind } => Err(custom_layer_error(kind)),
            _ => Ok((input_dim, Vec::new())),
        }
    }
}

/// The Keras name of the `k`-th weight of the layer called `layer`: `dense/kernel`,
/// `dense/bias` (then `dense/weight_2`, … for a layer with more).
pub(crate) fn weight_name(layer: &str, k: usize) -> String {
    match k {
        0 => format!("{layer}/kernel"),
        1 => format!("{layer}/bias"),
        _ => format!("{layer}/weight_{k}"),
    }
}

fn custom_layer_error(kind: &str) -> Error {
    Error::param(
        "LayerConfig",
        "class_name",
        kind,
        "a layer defined outside ndnet cannot be rebuilt from its config",
    )
}
