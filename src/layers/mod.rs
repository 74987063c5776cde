//! Layers: the [`Layer`] trait and its implementations.
//!
//! A layer maps a batch `(rows, input_dim)` to `(rows, output_dim)`. The model owns the widths,
//! the names and the activation and gradient buffers, and hands the layer views into them.
//! Inference ([`Layer::infer`]) goes through `&self` and may allocate scratch per call; for
//! training, the layers here keep their own scratch (dropout masks, packing space for the matrix
//! products) and grow it once, so [`Layer::forward`] and [`Layer::backward`] allocate nothing
//! after the first batch (the matrix products use SIMD kernels on x86-64 CPUs with AVX2+FMA or
//! AVX-512, a portable kernel elsewhere or when `NDNET_PORTABLE=1`; all give bitwise the same
//! results). All three check the shapes of the views they are given and return
//! [`Error::ShapeMismatch`] on a mismatch.
//!
//! The activation layers are [`ActivationLayer`]s, built by [`relu`], [`sigmoid`], [`tanh`],
//! [`softmax`], [`leaky_relu`] and [`linear`] or by `ActivationLayer::new(activation)`.

mod activation;
mod config;
mod dense;
mod dropout;
mod noise;
mod normalization;

pub use activation::{ActivationLayer, leaky_relu, linear, relu, sigmoid, softmax, tanh};
pub use config::LayerConfig;
pub(crate) use config::weight_name;
pub use dense::Dense;
pub use dropout::{Bernoulli, Dropout, Noise, NoiseKind};
pub use noise::{
    AdditiveGaussian, AlphaBernoulli, AlphaDropout, GaussianDropout, GaussianNoise,
    MultiplicativeGaussian,
};
pub use normalization::Normalization;

use ndarray::{ArrayD, ArrayView2, ArrayViewD, ArrayViewMut2};
use rand::rngs::SmallRng;

use crate::activation::Activation;
use crate::clone_box::clone_box_trait;
use crate::constraints::Constraint;
use crate::error::{Error, Result};

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

/// What the `grad_output` handed to [`Layer::backward`] is the gradient of.
///
/// The model passes [`PreActivation`](GradWrt::PreActivation) to its last layer when the loss
/// computes the gradient w.r.t. the pre-activation of that layer's
/// [`output_activation`](Layer::output_activation) (sigmoid + binary cross-entropy, softmax +
/// categorical cross-entropy: `p - y` over the batch, which stays finite where the activation
/// saturates), and [`Output`](GradWrt::Output) everywhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum GradWrt {
    /// dLoss/dOutput: the layer applies its output activation's derivative itself.
    #[default]
    Output,
    /// dLoss/dPre-activation: the derivative of the layer's output activation is already in
    /// it, so the layer skips that step. Layers without an output activation treat it as
    /// [`Output`](GradWrt::Output).
    PreActivation,
}

impl GradWrt {
    /// What the loss computes for a last layer ending with `activation`:
    /// [`PreActivation`](GradWrt::PreActivation) when the loss
    /// [fuses with](crate::losses::Loss::fuses_with) it, [`Output`](GradWrt::Output) otherwise.
    ///
    /// ```
    /// use ndnet::prelude::*;
    /// use ndnet::layers::GradWrt;
    /// let fused = GradWrt::for_output(Some(Activation::Sigmoid), &BinaryCrossentropy);
    /// assert_eq!(fused, GradWrt::PreActivation);
    /// assert_eq!(GradWrt::for_output(Some(Activation::Sigmoid), &MeanSquaredError), GradWrt::Output);
    /// assert_eq!(GradWrt::for_output(None, &BinaryCrossentropy), GradWrt::Output);
    /// ```
    pub fn for_output(activation: Option<Activation>, loss: &dyn crate::losses::Loss) -> Self {
        match activation {
            Some(a) if loss.fuses_with(a) => GradWrt::PreActivation,
            _ => GradWrt::Output,
        }
    }
}

clone_box_trait!(
    /// `clone_box` for [`Layer`]: implemented for every layer that is `Clone`, which gives
    /// `Clone` for `Box<dyn Layer>`. A layer defined outside the crate derives `Clone` and gets
    /// it.
    LayerClone for Layer
);

/// A layer of a [`Sequential`](crate::Sequential) model.
///
/// The trait is object-safe (models hold `Box<dyn Layer>`) and `Send + Sync`, so a trained
/// model can predict from several threads at once. A layer keeps only its hyper-parameters,
/// weights and scratch: the model owns the widths, the names and the activation and gradient
/// buffers, and hands the layer views into them. The model calls, in order:
/// [`build`](Layer::build) once (with the input width and a seeded RNG derived from the model's
/// seed and the layer's position); for inference [`infer`](Layer::infer) through `&self`; for
/// training [`forward`](Layer::forward) in [`Mode::Train`], then [`backward`](Layer::backward)
/// and [`visit_params`](Layer::visit_params) for the optimizer.
///
/// Required: `build`, `infer`, `backward` and `config` (plus `Clone` and `Debug`); a layer with
/// weights also implements [`visit_params`](Layer::visit_params) and
/// [`visit_weights`](Layer::visit_weights), a layer that behaves differently in training
/// [`forward`](Layer::forward). The rest is provided.
///
/// ```
/// use ndarray::{ArrayView2, ArrayViewMut2};
/// use ndnet::layers::{GradWrt, Layer, LayerConfig};
/// use ndnet::prelude::*;
/// use rand::rngs::SmallRng;
///
/// /// `y = 2x`.
/// #[derive(Debug, Clone)]
/// struct Double;
///
/// impl Layer for Double {
///     fn build(&mut self, input_dim: usize, _rng: &mut SmallRng) -> ndnet::Result<usize> {
///         Ok(input_dim)
///     }
///     fn infer(&self, x: ArrayView2<f32>, mut y: ArrayViewMut2<f32>) -> ndnet::Result<()> {
///         // A real layer checks the shapes first (see `infer`).
///         y.zip_mut_with(&x, |y, &x| *y = 2.0 * x);
///         Ok(())
///     }
///     fn backward(
///         &mut self,
///         _input: ArrayView2<f32>,
///         _output: ArrayView2<f32>,
///         grad_output: ArrayViewMut2<f32>,
///         grad_input: Option<ArrayViewMut2<f32>>,
///         _wrt: GradWrt,
///     ) -> ndnet::Result<()> {
///         if let Some(mut gi) = grad_input {
///             gi.zip_mut_with(&grad_output, |gi, &g| *gi = 2.0 * g);
///         }
///         Ok(())
///     }
///     fn kind(&self) -> &'static str {
///         "Double"
///     }
///     fn config(&self) -> LayerConfig {
///         LayerConfig::Custom { kind: "Double".into() }
///     }
/// }
///
/// let mut model = Sequential::new(2);
/// model.add(Double)?;
/// assert_eq!(model.predict(&ndarray::array![[1.0f32, -3.0]])?, ndarray::array![[2.0, -6.0]]);
/// assert_eq!(model.layer_names(), ["double"]);
/// # Ok::<(), ndnet::Error>(())
/// ```
pub trait Layer: LayerClone + Send + Sync + std::fmt::Debug {
    /// Validates the configuration for an input of width `input_dim`, allocates and initializes
    /// the weights from `rng`, seeds any internal RNG from it, and returns the output width.
    /// Calling it again re-initializes the layer. The model records both widths.
    fn build(&mut self, input_dim: usize, rng: &mut SmallRng) -> Result<usize>;

    /// The output of a batch at inference ([`Mode::Eval`]), through `&self`: `input` is
    /// `(rows, input_dim)`, `output` is `(rows, output_dim)` and is overwritten. It may allocate
    /// scratch per call; the training pass is [`forward`](Layer::forward).
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
    /// let result = model.layers()[0].infer(x.view(), out.view_mut());
    /// assert!(matches!(result, Err(Error::ShapeMismatch { .. })));
    /// # Ok::<(), ndnet::Error>(())
    /// ```
    fn infer(&self, input: ArrayView2<f32>, output: ArrayViewMut2<f32>) -> Result<()>;

    /// The output of a batch in `mode`, with the shapes and errors of [`infer`](Layer::infer),
    /// keeping what [`backward`](Layer::backward) needs (a dropout mask) and reusing the
    /// layer's scratch, so that a training step allocates nothing after its first batch. The
    /// default is [`infer`](Layer::infer), for layers that behave the same in every mode; the
    /// result in [`Mode::Eval`] is always bitwise that of `infer`.
    ///
    /// ```
    /// use ndnet::prelude::*;
    /// use ndarray::Array2;
    /// let mut model = Sequential::new(4);
    /// model.add(Dense::new(32))?;
    /// let x = Array2::<f32>::ones((64, 4));
    /// let mut out = Array2::<f32>::zeros((1, 32)); // 1 row for 64 inputs
    /// let result = model.layers_mut()[0].forward(x.view(), out.view_mut(), Mode::Train);
    /// assert!(matches!(result, Err(Error::ShapeMismatch { .. })));
    /// # Ok::<(), ndnet::Error>(())
    /// ```
    fn forward(
        &mut self,
        input: ArrayView2<f32>,
        output: ArrayViewMut2<f32>,
        mode: Mode,
    ) -> Result<()> {
        let _ = mode;
        self.infer(input, output)
    }

    /// Back-propagates through the last `forward`: `input` and `output` are that call's
    /// `(rows, input_dim)` and `(rows, output_dim)`, `grad_output` is `(rows, output_dim)`,
    /// `grad_input` `(rows, input_dim)`.
    ///
    /// `grad_output` holds dLoss/dOutput, or dLoss/dPre-activation when `wrt` is
    /// [`GradWrt::PreActivation`] (see [`GradWrt`]), and may be overwritten as scratch. The
    /// parameter gradients (see [`visit_params`](Layer::visit_params)) are *overwritten* with
    /// this batch's. `grad_input`, when given, is overwritten with dLoss/dInput; the first
    /// layer of a model gets `None`, which skips that work.
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
        wrt: GradWrt,
    ) -> Result<()>;

    /// Calls `f` once for each trainable tensor with its gradient, always in the same order
    /// (kernel, then bias), each seen as a matrix (a bias as `(units, 1)`). The default has
    /// none.
    fn visit_params(&mut self, f: &mut dyn FnMut(Param<'_>)) {
        let _ = f;
    }

    /// Calls `f` once for each trainable tensor, read-only, in the order of
    /// [`visit_params`](Layer::visit_params) but in Keras's shapes (a kernel
    /// `(inputs, units)`, a bias `(units,)`), with its name. The default has none.
    fn visit_weights(&self, f: &mut dyn FnMut(&'static str, ArrayViewD<'_, f32>)) {
        let _ = f;
    }

    /// The layer's type name, e.g. `"Dense"`: by default the one of its
    /// [`config`](Layer::config). A layer defined outside the crate (whose config is
    /// [`LayerConfig::Custom`]) returns its own, which names it in the model.
    fn kind(&self) -> &'static str {
        self.config().kind()
    }

    /// Number of trainable scalars: the sizes of [`visit_weights`](Layer::visit_weights)' tensors.
    fn param_count(&self) -> usize {
        let mut count = 0;
        self.visit_weights(&mut |_, w| count += w.len());
        count
    }

    /// Copies of the weights, in Keras order and shapes: by default those of
    /// [`visit_weights`](Layer::visit_weights) (kernel `(inputs, units)`, then bias
    /// `(units,)`). A layer with saved state that is not trained (the statistics of
    /// [`Normalization`]) returns that instead.
    fn weights(&self) -> Vec<ArrayD<f32>> {
        let mut weights = Vec::new();
        self.visit_weights(&mut |_, w| weights.push(w.to_owned()));
        weights
    }

    /// Replaces the weights; count and shapes must match [`weights`](Layer::weights). By
    /// default it writes the tensors of [`visit_weights`](Layer::visit_weights) through
    /// [`visit_params`](Layer::visit_params).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] naming the tensor (or the count) otherwise; nothing is changed
    /// then.
    fn set_weights(&mut self, weights: &[ArrayD<f32>]) -> Result<()> {
        let kind = self.kind();
        let mut expected = Vec::new();
        self.visit_weights(&mut |name, w| expected.push((name, w.shape().to_vec())));
        crate::error::check_weight_count(kind, expected.len(), weights.len())?;
        for ((name, shape), w) in expected.iter().zip(weights) {
            if w.shape() != shape.as_slice() {
                return Err(Error::ShapeMismatch {
                    what: format!("{kind} {name}"),
                    expected: shape.clone(),
                    found: w.shape().to_vec(),
                });
            }
        }
        let mut sizes = Vec::new();
        self.visit_params(&mut |p| sizes.push(p.value.len()));
        let agree =
            sizes.len() == weights.len() && sizes.iter().zip(weights).all(|(&n, w)| n == w.len());
        if !agree {
            return Err(Error::InvalidState(format!(
                "{kind}: visit_params and visit_weights list different tensors; the layer must \
                 override set_weights"
            )));
        }
        let mut k = 0;
        self.visit_params(&mut |mut p| {
            // Same element count and order: a Keras `(units,)` bias is the `(units, 1)` matrix.
            if let Some(Ok(w)) = weights.get(k).map(|w| w.to_shape(p.value.dim())) {
                p.value.assign(&w);
            }
            k += 1;
        });
        Ok(())
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

    /// Learns statistics of the layer's input from `x` (`(rows, input_dim)`), for a layer that
    /// has any ([`Normalization`]); returns whether it did. Other layers ignore `x` and return
    /// `Ok(false)`.
    ///
    /// # Errors
    /// As the layer's own `adapt` (empty or non-finite data, another width).
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

/// Checks the views of a `forward` of a width-preserving layer: `output` has `input`'s shape.
pub(crate) fn check_forward_same(
    kind: &str,
    input: &ArrayView2<f32>,
    output: &ArrayViewMut2<f32>,
) -> Result<()> {
    check_forward(kind, (input.ncols(), input.ncols()), input, output)
}

/// Checks the views of a `backward` of a width-preserving layer: all have `input`'s shape.
pub(crate) fn check_backward_same(
    kind: &str,
    input: &ArrayView2<f32>,
    output: &ArrayView2<f32>,
    grad_output: &ArrayViewMut2<f32>,
    grad_input: Option<&ArrayViewMut2<f32>>,
) -> Result<()> {
    let w = input.ncols();
    check_backward(kind, (w, w), input, output, grad_output, grad_input)
}

/// `output = input` for a width-preserving layer that is the identity, after the shape check.
pub(crate) fn identity(
    kind: &str,
    input: ArrayView2<f32>,
    mut output: ArrayViewMut2<f32>,
) -> Result<()> {
    check_forward_same(kind, &input, &output)?;
    output.assign(&input);
    Ok(())
}
