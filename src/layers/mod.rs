//! Layers: the [`Layer`] trait and its implementations.
//!
//! A layer maps a batch `(rows, input_dim)` to `(rows, output_dim)`. The model owns the
//! activation and gradient buffers and hands the layer views into them; the layers here keep
//! their own scratch (dropout masks, packing space for the matrix products) and grow it once, so
//! `forward` and `backward` allocate nothing after the first batch (the matrix products use
//! SIMD kernels on x86-64 CPUs with AVX2+FMA or AVX-512, a portable kernel elsewhere or when
//! `NDNET_PORTABLE=1`; all give bitwise the same results). Both check the shapes of the views
//! they are given and return [`Error::ShapeMismatch`] on a mismatch.

mod activation;
mod dense;
mod dropout;
mod noise;
mod normalization;

pub use activation::{ActivationLayer, LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh};
pub use dense::Dense;
pub use dropout::Dropout;
pub use noise::{AlphaDropout, GaussianDropout, GaussianNoise};
pub use normalization::Normalization;

use ndarray::{ArrayD, ArrayView2, ArrayViewMut2};
use rand::rngs::SmallRng;

use crate::activation::Activation;
use crate::constraints::{Constraint, ConstraintConfig};
use crate::error::{Error, Result};
use crate::init::Initializer;
use crate::regularizers::Regularizer;

/// Whether a forward pass is part of training (dropout active), inference (dropout off), or a
/// Monte-Carlo dropout pass (dropout active, everything else as at inference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Training: dropout masks are drawn and applied.
    Train,
    /// Inference: dropout is the identity.
    Eval,
    /// A Monte-Carlo dropout pass (Gal and Ghahramani 2016): the dropout family
    /// ([`Dropout`], [`GaussianDropout`], [`AlphaDropout`]) draws its noise as in
    /// [`Train`](Mode::Train), every other layer behaves as in [`Eval`](Mode::Eval).
    ///
    /// [`GaussianNoise`] is the identity here: additive input noise is a training-time
    /// augmentation, not a distribution over the weights that the passes would sample from. A
    /// layer whose training behaviour differs in other ways (a normalization layer using batch
    /// statistics) must behave as at inference. See [`crate::mc`] for the predictor built on it.
    McDropout,
}

impl Mode {
    /// Whether the dropout family samples in this mode: `Train` and `McDropout`.
    ///
    /// ```
    /// use ndnet::layers::Mode;
    /// assert!(Mode::McDropout.samples_dropout());
    /// assert!(!Mode::Eval.samples_dropout());
    /// ```
    pub fn samples_dropout(self) -> bool {
        matches!(self, Mode::Train | Mode::McDropout)
    }
}

/// How the dropout family draws its noise across the rows of a batch in
/// [`Mode::McDropout`] (training always draws per row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Masks {
    /// Each row gets its own mask: every row sees an independent draw of the network.
    #[default]
    PerRow,
    /// One mask (one "function draw") serves every row of the batch: the first row's draw is
    /// repeated, so all rows of a pass go through the same thinned network.
    PerBatch,
}

/// A trainable tensor of a layer, as the optimizer and the constraints see it.
///
/// Kernels appear as `(inputs, units)`, biases as `(units, 1)`.
#[derive(Debug)]
pub struct Param<'a> {
    /// `"kernel"` or `"bias"`.
    pub name: &'static str,
    /// The weights, updated in place.
    pub value: ArrayViewMut2<'a, f32>,
    /// The gradient of the loss w.r.t. `value`, from the last `backward`.
    pub grad: ArrayView2<'a, f32>,
    /// The constraint to apply after each update, if any.
    pub constraint: Option<&'a dyn Constraint>,
}

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

/// A layer of a [`Sequential`](crate::Sequential) model.
///
/// The trait is object-safe: models hold `Box<dyn Layer>`. The model calls, in order:
/// [`build`](Layer::build) once (with the input width and a seeded RNG derived from the model's
/// seed and the layer's position), then for each batch [`forward`](Layer::forward), and when
/// training [`zero_grad`](Layer::zero_grad), [`backward`](Layer::backward) and
/// [`visit_params`](Layer::visit_params).
pub trait Layer: Send + std::fmt::Debug {
    /// The layer's type name, e.g. `"Dense"`.
    fn kind(&self) -> &'static str;

    /// Validates the configuration for an input of width `input_dim`, allocates and initializes
    /// the weights from `rng`, seeds any internal RNG from it, and returns the output width.
    /// Calling it again re-initializes the layer.
    fn build(&mut self, input_dim: usize, rng: &mut SmallRng) -> Result<usize>;

    /// Input width the layer was built for (0 before `build`).
    fn input_dim(&self) -> usize;

    /// Output width (0 before `build`).
    fn output_dim(&self) -> usize;

    /// Computes the output of a batch: `input` is `(rows, input_dim)`, `output` is
    /// `(rows, output_dim)` and is overwritten.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] naming the layer and the operand when a shape differs from the
    /// above; nothing is written then. The layers of this crate check this in every build (in
    /// O(1)), and an implementation must not rely on shapes it has not checked.
    ///
    /// ```
    /// use ndnet::prelude::*;
    /// use ndarray::Array2;
    /// let mut model = Sequential::new(4);
    /// model.add(Dense::new(32))?;
    /// let x = Array2::<f32>::ones((64, 4));
    /// let mut out = Array2::<f32>::zeros((1, 32)); // 1 row for 64 inputs
    /// let result = model.layers_mut()[0].forward(x.view(), out.view_mut(), Mode::Eval);
    /// assert!(matches!(result, Err(Error::ShapeMismatch { .. })));
    /// # Ok::<(), ndnet::Error>(())
    /// ```
    fn forward(
        &mut self,
        input: ArrayView2<f32>,
        output: ArrayViewMut2<f32>,
        mode: Mode,
    ) -> Result<()>;

    /// Back-propagates through the last `forward`: `input` and `output` are that call's
    /// `(rows, input_dim)` and `(rows, output_dim)`, `grad_output` is `(rows, output_dim)`,
    /// `grad_input` `(rows, input_dim)`.
    ///
    /// `grad_output` holds dLoss/dOutput and may be overwritten as scratch. Parameter gradients
    /// are *added* to the layer's gradient buffers (see [`zero_grad`](Layer::zero_grad)).
    /// `grad_input`, when given, is overwritten with dLoss/dInput; the first layer of a model
    /// gets `None`, which skips that work.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when a shape differs from the above, or (for layers that keep
    /// a mask from `forward`) when the rows differ from the last `forward`'s; nothing is written
    /// then.
    fn backward(
        &mut self,
        input: ArrayView2<f32>,
        output: ArrayView2<f32>,
        grad_output: ArrayViewMut2<f32>,
        grad_input: Option<ArrayViewMut2<f32>>,
    ) -> Result<()>;

    /// Sets the parameter gradients to zero.
    fn zero_grad(&mut self) {}

    /// Calls `f` once for each trainable tensor, always in the same order (kernel, then bias).
    fn visit_params(&mut self, f: &mut dyn FnMut(Param<'_>)) {
        let _ = f;
    }

    /// Number of trainable scalars.
    fn param_count(&self) -> usize {
        0
    }

    /// Copies of the weights, in Keras order (kernel `(inputs, units)`, then bias `(units,)`).
    fn weights(&self) -> Vec<ArrayD<f32>> {
        Vec::new()
    }

    /// Replaces the weights; shapes must match [`weights`](Layer::weights). Returns a
    /// `ShapeMismatch` error naming the tensor otherwise.
    fn set_weights(&mut self, weights: &[ArrayD<f32>]) -> Result<()> {
        crate::error::check_weight_count(self.kind(), 0, weights.len())
    }

    /// The penalty the layer's regularizers add to the loss for the current weights (0 for a
    /// layer without any). Their gradient is added in [`backward`](Layer::backward).
    fn regularization_loss(&self) -> f32 {
        0.0
    }

    /// The activation applied last in `forward`, if the layer ends with one.
    fn output_activation(&self) -> Option<Activation> {
        None
    }

    /// When `skip` is true, `backward` treats `grad_output` as the gradient w.r.t. the
    /// pre-activation, skipping the output activation's derivative. The model sets this when the
    /// loss supplies a fused gradient (sigmoid + binary cross-entropy, softmax + categorical
    /// cross-entropy).
    fn set_skip_output_activation_grad(&mut self, skip: bool) {
        let _ = skip;
    }

    /// Learns statistics of the layer's input from `x` (`(rows, input_dim)`), for a layer that
    /// has any ([`Normalization`]); returns whether it did. Other layers ignore `x` and return
    /// `Ok(false)`.
    fn adapt(&mut self, x: ArrayView2<'_, f32>) -> Result<bool> {
        let _ = x;
        Ok(false)
    }

    /// Whether `forward` in `mode` draws random numbers (the dropout family with a non-zero rate
    /// in [`Mode::Train`] and [`Mode::McDropout`], [`GaussianNoise`] in `Train`). Monte-Carlo
    /// prediction samples only through such layers, and computes the layers before the first of
    /// them once for all passes. The default is `false`.
    fn draws_noise(&self, mode: Mode) -> bool {
        let _ = mode;
        false
    }

    /// Restarts the generator the layer draws its noise from at `seed`, and sets how its noise
    /// in [`Mode::McDropout`] is shared across rows. Monte-Carlo prediction calls it on its copies
    /// of the layers before each pass; layers without noise ignore it (the default).
    fn reseed(&mut self, seed: u64, masks: Masks) {
        let _ = (seed, masks);
    }

    /// Sets the drop probability of a [`Dropout`] layer and returns `Ok(true)`; other layers
    /// (the default) ignore it and return `Ok(false)`. Used by
    /// [`DropoutScheduler`](crate::callbacks::DropoutScheduler).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for a rate a dropout layer does not accept.
    fn set_dropout_rate(&mut self, rate: f32) -> Result<bool> {
        let _ = rate;
        Ok(false)
    }

    /// A plain-data description of the layer.
    fn config(&self) -> LayerConfig;

    /// A boxed copy (weights and RNG state included).
    fn clone_box(&self) -> Box<dyn Layer>;
}

/// `ShapeMismatch` unless `found == expected`, naming the layer kind, the pass and the operand.
pub(crate) fn check_shape(
    kind: &str,
    what: &str,
    expected: (usize, usize),
    found: &[usize],
) -> Result<()> {
    if found == [expected.0, expected.1] {
        return Ok(());
    }
    Err(Error::ShapeMismatch {
        what: format!("{kind} {what}"),
        expected: vec![expected.0, expected.1],
        found: found.to_vec(),
    })
}

/// Checks the views of a [`Layer::forward`] of a layer of widths `(input_dim, output_dim)`.
pub(crate) fn check_forward(
    kind: &str,
    (input_dim, output_dim): (usize, usize),
    input: &ArrayView2<f32>,
    output: &ArrayViewMut2<f32>,
) -> Result<()> {
    let rows = input.nrows();
    check_shape(kind, "forward: input", (rows, input_dim), input.shape())?;
    check_shape(kind, "forward: output", (rows, output_dim), output.shape())
}

/// Checks the views of a [`Layer::backward`] of a layer of widths `(input_dim, output_dim)`.
pub(crate) fn check_backward(
    kind: &str,
    (input_dim, output_dim): (usize, usize),
    input: &ArrayView2<f32>,
    output: &ArrayView2<f32>,
    grad_output: &ArrayViewMut2<f32>,
    grad_input: Option<&ArrayViewMut2<f32>>,
) -> Result<()> {
    let rows = input.nrows();
    check_shape(kind, "backward: input", (rows, input_dim), input.shape())?;
    check_shape(kind, "backward: output", (rows, output_dim), output.shape())?;
    check_shape(
        kind,
        "backward: grad_output",
        (rows, output_dim),
        grad_output.shape(),
    )?;
    if let Some(gi) = grad_input {
        check_shape(kind, "backward: grad_input", (rows, input_dim), gi.shape())?;
    }
    Ok(())
}

impl Clone for Box<dyn Layer> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}
