//! [`Sequential`]: a stack of layers with Keras's `compile`, `fit`, `evaluate` and `predict`.

use std::collections::HashMap;
use std::fmt;

use ndarray::{
    Array1, Array2, ArrayD, ArrayView, ArrayView1, ArrayView2, ArrayViewMut2, AsArray, Axis,
    Dimension, Ix2, s,
};
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;

use crate::activation::Activation;
use crate::callbacks::{Callback, Control, EpochLogs};
use crate::error::{Error, Result};
use crate::layers::{Layer, Mode};
use crate::losses::Loss;
use crate::metrics::Accuracy;
use crate::optimizers::{MAX_ITERATIONS, Optimizer, OptimizerState};
use crate::rng::{STREAM_SHUFFLE, derive_rng, layer_rng};
use crate::validate;

/// Targets accepted by `fit`, `evaluate` and `train_on_batch`: a 2-D array `(rows, outputs)`, or
/// a 1-D array of labels for a single-output model.
pub trait IntoTargets<'a> {
    /// The targets as `(rows, outputs)`.
    fn into_targets(self) -> ArrayView2<'a, f32>;
}

impl<'a> IntoTargets<'a> for ArrayView2<'a, f32> {
    fn into_targets(self) -> ArrayView2<'a, f32> {
        self
    }
}

impl<'a> IntoTargets<'a> for ArrayView1<'a, f32> {
    fn into_targets(self) -> ArrayView2<'a, f32> {
        self.insert_axis(Axis(1))
    }
}

impl<'a> IntoTargets<'a> for &'a Array2<f32> {
    fn into_targets(self) -> ArrayView2<'a, f32> {
        self.view()
    }
}

impl<'a> IntoTargets<'a> for &'a ndarray::Array1<f32> {
    fn into_targets(self) -> ArrayView2<'a, f32> {
        self.view().insert_axis(Axis(1))
    }
}

/// Options of [`Sequential::fit`]. Defaults as Keras: 1 epoch, batch 32, shuffled, no
/// validation, unweighted, silent here.
///
/// Callbacks are not options: pass them to
/// [`fit_with_callbacks`](Sequential::fit_with_callbacks), so `FitOptions` stays plain data that
/// `..Default::default()` completes.
///
/// ```
/// use ndnet::FitOptions;
/// let options = FitOptions { epochs: 300, batch_size: 16, validation_split: 0.2, ..Default::default() };
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct FitOptions<'a> {
    /// Passes over the data.
    pub epochs: usize,
    /// Samples per gradient update; the last batch of an epoch may be smaller.
    pub batch_size: usize,
    /// Shuffle the sample order at the start of every epoch.
    pub shuffle: bool,
    /// Data evaluated (in inference mode) at the end of every epoch: `(x, y)`. Takes precedence
    /// over `validation_split`, as in Keras.
    pub validation_data: Option<(ArrayView2<'a, f32>, ArrayView2<'a, f32>)>,
    /// Fraction in `[0, 1)` of the rows held out for validation: as Keras, the *last*
    /// `n - floor(n · (1 - validation_split))` rows, taken before any shuffling (shuffle the data
    /// first if its order means something). 0 holds nothing out.
    ///
    /// On data sorted by class this validates on one class only: the sonar file lists its 97
    /// `R` rows before its 111 `M` rows, so `validation_split: 0.33` holds out only `M` rows.
    /// Use [`train_test_split`](crate::data::train_test_split) (stratified) and
    /// `validation_data` instead. With `verbose`, `fit` warns on standard error when the
    /// held-out rows miss a class that the training rows have.
    pub validation_split: f64,
    /// Weight of each class in the training loss, indexed by class: the class of a row is its
    /// target truncated to an integer for a single-output model, the arg-max of its target row
    /// otherwise. Multiplies `sample_weight`. Not applied to validation data (as Keras).
    pub class_weight: Option<&'a [f32]>,
    /// Weight of each row in the loss (`Σ w_i l_i / rows` per batch, Keras's
    /// `SUM_OVER_BATCH_SIZE`); one finite, non-negative value per row of `x`. The rows held
    /// out by `validation_split` keep their weights for `val_loss`. Accuracies stay unweighted
    /// (Keras's `metrics`, not `weighted_metrics`).
    pub sample_weight: Option<ArrayView1<'a, f32>>,
    /// Print one line per epoch to stdout.
    pub verbose: bool,
}

impl Default for FitOptions<'_> {
    fn default() -> Self {
        FitOptions {
            epochs: 1,
            batch_size: 32,
            shuffle: true,
            validation_data: None,
            validation_split: 0.0,
            class_weight: None,
            sample_weight: None,
            verbose: false,
        }
    }
}

/// Per-epoch logs of [`Sequential::fit`].
///
/// `loss` and `accuracy` are the sample-weighted means over the epoch's batches, measured in
/// training mode (dropout on), as Keras reports them. `val_loss` and `val_accuracy` are measured
/// in inference mode after each epoch, and are empty without validation data. Losses include the
/// layers' regularization penalties, as in Keras.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// Training loss per epoch.
    pub loss: Vec<f32>,
    /// Training accuracy per epoch.
    pub accuracy: Vec<f32>,
    /// Validation loss per epoch.
    pub val_loss: Vec<f32>,
    /// Validation accuracy per epoch.
    pub val_accuracy: Vec<f32>,
    /// The optimizer's base learning rate at the end of each epoch (see
    /// [`LearningRateScheduler`](crate::callbacks::LearningRateScheduler)).
    pub learning_rate: Vec<f32>,
}

impl History {
    /// Number of epochs recorded.
    pub fn epochs(&self) -> usize {
        self.loss.len()
    }

    /// Appends one epoch's logs.
    pub fn push(&mut self, logs: &EpochLogs) {
        self.loss.push(logs.loss);
        self.accuracy.push(logs.accuracy);
        if let Some(v) = logs.val {
            self.val_loss.push(v.loss);
            self.val_accuracy.push(v.accuracy);
        }
        self.learning_rate.push(logs.learning_rate);
    }
}

/// Result of [`Sequential::evaluate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// Mean loss over the samples.
    pub loss: f32,
    /// Fraction of correct predictions.
    pub accuracy: f32,
}

#[derive(Debug, Clone)]
struct Compiled {
    loss: Box<dyn Loss>,
    optimizer: Box<dyn Optimizer>,
    fused: bool,
}

/// Buffers the model owns and reuses: allocated for the largest batch seen, then only sliced.
/// The model has two: one for the training step and one for inference (`predict`, `evaluate`,
/// `forward`), so inference from a callback between steps cannot touch the step's batch.
#[derive(Debug, Clone, Default)]
struct Workspace {
    rows: usize,
    /// Output of each layer.
    acts: Vec<Array2<f32>>,
    /// Gradient w.r.t. the output of each layer.
    grads: Vec<Array2<f32>>,
    /// A shuffled batch of inputs and targets.
    x: Array2<f32>,
    y: Array2<f32>,
    /// The batch's sample weights.
    w: Array1<f32>,
    /// The parameters before the last update (training only), to undo a non-finite one.
    params: Vec<Array2<f32>>,
    /// The optimizer state before the last update (training only).
    opt_state: OptimizerState,
}

impl Workspace {
    /// Whether the buffers hold `rows` rows for these layers.
    fn fits(&self, rows: usize, layers: &[Box<dyn Layer>], in_dim: usize, out_dim: usize) -> bool {
        self.rows >= rows
            && self.acts.len() == layers.len()
            && self.x.ncols() == in_dim
            && self.y.ncols() == out_dim
            && layers
                .iter()
                .zip(&self.acts)
                .all(|(l, a)| a.ncols() == l.output_dim())
    }

    fn ensure(&mut self, rows: usize, layers: &[Box<dyn Layer>], in_dim: usize, out_dim: usize) {
        if self.fits(rows, layers, in_dim, out_dim) {
            return;
        }
        let rows = rows.max(self.rows);
        self.rows = rows;
        self.acts = layers
            .iter()
            .map(|l| Array2::zeros((rows, l.output_dim())))
            .collect();
        self.grads = self.acts.clone();
        self.x = Array2::zeros((rows, in_dim));
        self.y = Array2::zeros((rows, out_dim));
        self.w = Array1::zeros(rows);
    }
}

/// The first `rows` rows of a buffer (a plain view when that is all of it: slicing costs more
/// than the small matrix products of a sonar-sized network can spare).
#[inline]
fn head(a: &Array2<f32>, rows: usize) -> ArrayView2<'_, f32> {
    if rows == a.nrows() {
        a.view()
    } else {
        a.slice(s![..rows, ..])
    }
}

/// Mutable [`head`].
#[inline]
fn head_mut(a: &mut Array2<f32>, rows: usize) -> ArrayViewMut2<'_, f32> {
    if rows == a.nrows() {
        a.view_mut()
    } else {
        a.slice_mut(s![..rows, ..])
    }
}

/// Inputs, targets and optional sample weights.
type Labeled<'a> = (
    ArrayView2<'a, f32>,
    ArrayView2<'a, f32>,
    Option<ArrayView1<'a, f32>>,
);

/// What `fit` trains on, once checked and split.
#[derive(Clone, Copy)]
struct TrainingData<'a> {
    x: ArrayView2<'a, f32>,
    y: ArrayView2<'a, f32>,
    /// Per-row training weights.
    weights: Option<ArrayView1<'a, f32>>,
    /// `(x, y, sample weights)` evaluated after each epoch.
    validation: Option<Labeled<'a>>,
    /// Rows per batch.
    batch: usize,
}

/// Where a training step finds its batch.
enum Batch<'a> {
    /// Arrays handed in by the caller.
    Given(ArrayView2<'a, f32>, ArrayView2<'a, f32>),
    /// The first `rows` rows of the workspace's `x` and `y` (and `w` when `weighted`).
    Workspace { rows: usize, weighted: bool },
}

/// Checks that the layers' widths chain: layer 0 takes `in_dim`, each next one the width the
/// one before it outputs. The model's buffers are shaped from these widths, so a layer replaced
/// through [`Sequential::layers_mut`] by one built for other widths is an error here, before
/// any pass. O(layers).
fn check_chain(layers: &[Box<dyn Layer>], in_dim: usize, what: &str) -> Result<()> {
    let mut width = in_dim;
    for (index, layer) in layers.iter().enumerate() {
        if layer.input_dim() != width {
            return Err(Error::LayerInputMismatch {
                what: format!("{what} (the layers' widths do not chain)"),
                index,
                name: layer.kind().to_string(),
                expected: layer.input_dim(),
                found: width,
            });
        }
        width = layer.output_dim();
    }
    Ok(())
}

/// `e`, reported as raised by layer `index` of type `kind`.
fn layer_error(index: usize, kind: &str, e: Error) -> Error {
    Error::Layer {
        index,
        kind: kind.to_string(),
        source: Box::new(e),
    }
}

/// Runs the layers on `x` (rows <= workspace rows); the output is `acts.last()[..rows]`.
fn forward(
    layers: &mut [Box<dyn Layer>],
    acts: &mut [Array2<f32>],
    x: ArrayView2<f32>,
    mode: Mode,
) -> Result<()> {
    let rows = x.nrows();
    for i in 0..layers.len() {
        let (before, rest) = acts.split_at_mut(i);
        let input = if i == 0 {
            x
        } else {
            head(&before[i - 1], rows)
        };
        layers[i]
            .forward(input, head_mut(&mut rest[0], rows), mode)
            .map_err(|e| layer_error(i, layers[i].kind(), e))?;
    }
    Ok(())
}

/// Checks the widths, grows the buffers if needed, runs the layers and returns a view of the
/// output buffer.
fn forward_view<'w>(
    layers: &mut [Box<dyn Layer>],
    ws: &'w mut Workspace,
    x: ArrayView2<f32>,
    (in_dim, out_dim): (usize, usize),
    mode: Mode,
) -> Result<ArrayView2<'w, f32>> {
    check_chain(layers, in_dim, "forward")?;
    let rows = x.nrows();
    ws.ensure(rows, layers, in_dim, out_dim);
    forward(layers, &mut ws.acts, x, mode)?;
    let last = ws.acts.len() - 1;
    Ok(head(&ws.acts[last], rows))
}

/// Back-propagates `grads.last()[..rows]` through the layers.
fn backward(
    layers: &mut [Box<dyn Layer>],
    acts: &[Array2<f32>],
    grads: &mut [Array2<f32>],
    x: ArrayView2<f32>,
) -> Result<()> {
    let rows = x.nrows();
    for i in (0..layers.len()).rev() {
        let input = if i == 0 { x } else { head(&acts[i - 1], rows) };
        let output = head(&acts[i], rows);
        let (before, rest) = grads.split_at_mut(i);
        let grad_input = before.last_mut().map(|g| head_mut(g, rows));
        layers[i].zero_grad();
        layers[i]
            .backward(input, output, head_mut(&mut rest[0], rows), grad_input)
            .map_err(|e| layer_error(i, layers[i].kind(), e))?;
    }
    Ok(())
}

/// Why a training step was not taken (or was undone).
enum StepFailure {
    /// The model is not compiled (e.g. a callback added a layer).
    Uncompiled,
    /// A shape or parameter check failed (e.g. a layer replaced through `layers_mut`).
    Invalid(Error),
    /// The optimizer has done [`MAX_ITERATIONS`] updates.
    Exhausted,
    /// The loss was not finite.
    Loss(f32),
    /// A parameter's gradient (`gradient`) or updated value was not finite.
    Tensor {
        /// Layer index and parameter name.
        layer: usize,
        name: &'static str,
        gradient: bool,
    },
}

impl StepFailure {
    /// The error `fit` or `train_on_batch` reports.
    fn into_error(self, names: &[String], epoch: usize, batch: usize) -> Error {
        match self {
            StepFailure::Invalid(e) => e,
            StepFailure::Uncompiled => Error::InvalidState(format!(
                "epoch {epoch}, batch {batch}: the model is no longer compiled (a layer was \
                 added during training, e.g. by a callback); change the model before or after \
                 fit and compile it again"
            )),
            StepFailure::Exhausted => Error::InvalidState(format!(
                "the optimizer has done {MAX_ITERATIONS} updates, the most it can continue from; \
                 compile the model again to reset it"
            )),
            StepFailure::Loss(loss) => Error::Diverged { epoch, batch, loss },
            StepFailure::Tensor {
                layer,
                name,
                gradient,
            } => Error::DivergedUpdate {
                epoch,
                batch,
                tensor: format!("{}/{name}", names.get(layer).map_or("?", |n| n.as_str())),
                gradient,
            },
        }
    }
}

/// Whether every value is finite (an OR over the exponent bits, which vectorizes).
#[inline]
fn all_finite(a: ArrayView2<f32>) -> bool {
    const EXP: u32 = 0x7f80_0000;
    match a.as_slice() {
        Some(s) => {
            s.iter()
                .fold(0u32, |acc, &v| acc | u32::from(v.to_bits() & EXP == EXP))
                == 0
        }
        None => a.iter().all(|v| v.is_finite()),
    }
}

/// Checks every parameter gradient is finite and copies the parameters into `saved` (reusing
/// its buffers). Returns the first parameter with a non-finite gradient.
fn check_grads_and_save(
    layers: &mut [Box<dyn Layer>],
    saved: &mut Vec<Array2<f32>>,
) -> Option<(usize, &'static str)> {
    let mut slot = 0;
    let mut bad = None;
    for (i, layer) in layers.iter_mut().enumerate() {
        layer.visit_params(&mut |p| {
            if bad.is_none() && !all_finite(p.grad) {
                bad = Some((i, p.name));
            }
            if saved.len() <= slot {
                saved.push(Array2::zeros((0, 0)));
            }
            if saved[slot].dim() != p.value.dim() {
                saved[slot] = Array2::zeros(p.value.dim());
            }
            saved[slot].assign(&p.value);
            slot += 1;
        });
    }
    bad
}

/// The first parameter whose value is not finite.
fn first_non_finite(layers: &mut [Box<dyn Layer>]) -> Option<(usize, &'static str)> {
    let mut bad = None;
    for (i, layer) in layers.iter_mut().enumerate() {
        layer.visit_params(&mut |p| {
            if bad.is_none() && !all_finite(p.value.view()) {
                bad = Some((i, p.name));
            }
        });
    }
    bad
}

/// Puts back the parameters [`check_grads_and_save`] saved.
fn restore_params(layers: &mut [Box<dyn Layer>], saved: &[Array2<f32>]) {
    let mut slot = 0;
    for layer in layers.iter_mut() {
        layer.visit_params(&mut |mut p| {
            if let Some(s) = saved.get(slot) {
                p.value.assign(s);
            }
            slot += 1;
        });
    }
}

impl From<Error> for StepFailure {
    fn from(e: Error) -> Self {
        StepFailure::Invalid(e)
    }
}

/// Applies the optimizer to every parameter, then each parameter's constraint. A parameter
/// whose gradient has another shape, or a constraint that fails, stops the update with an
/// error (the parameters before it are already updated; the step puts them back).
fn apply_updates(layers: &mut [Box<dyn Layer>], optimizer: &mut dyn Optimizer) -> Result<()> {
    let mut slot = 0;
    let mut failed = None;
    for (i, layer) in layers.iter_mut().enumerate() {
        let kind = layer.kind();
        layer.visit_params(&mut |mut p| {
            if failed.is_some() {
                return;
            }
            if p.value.dim() != p.grad.dim() {
                failed = Some(layer_error(
                    i,
                    kind,
                    Error::ShapeMismatch {
                        what: format!("{} gradient (the parameter's shape)", p.name),
                        expected: p.value.shape().to_vec(),
                        found: p.grad.shape().to_vec(),
                    },
                ));
                return;
            }
            optimizer.update(slot, p.value.view_mut(), p.grad);
            if let Some(c) = p.constraint
                && let Err(e) = c.apply(p.value)
            {
                failed = Some(layer_error(i, kind, e));
            }
            slot += 1;
        });
    }
    optimizer.finish_step();
    failed.map_or(Ok(()), Err)
}

/// A linear stack of layers, as Keras's `Sequential`.
///
/// The input width is given once; every layer's width is inferred from the one before it. One
/// seed drives weight initialization, dropout masks and shuffling, so a model built and trained
/// with the same seed gives bitwise the same results.
///
/// ```
/// use ndnet::prelude::*;
/// use ndarray::array;
///
/// // XOR
/// let x = array![[0.0f32, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
/// let y = array![[0.0f32], [1.0], [1.0], [0.0]];
/// let mut model = Sequential::new(2).with_seed(3);
/// model.add(Dense::new(8).activation(Activation::Tanh))?;
/// model.add(Dense::new(1).activation(Activation::Sigmoid))?;
/// model.compile(BinaryCrossentropy, Sgd::new(0.5).momentum(0.9))?;
/// let options = FitOptions { epochs: 500, batch_size: 4, ..Default::default() };
/// let history = model.fit(&x, &y, &options)?;
/// assert!(history.loss.last().unwrap() < &0.1);
/// assert_eq!(model.predict_classes(&x)?, vec![0, 1, 1, 0]);
/// # Ok::<(), ndnet::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Sequential {
    input_dim: usize,
    seed: u64,
    layers: Vec<Box<dyn Layer>>,
    names: Vec<String>,
    /// Each layer's position among the earlier layers of its kind: its name's suffix and its
    /// generator's index.
    ordinals: Vec<usize>,
    /// How many layers of each kind the model holds, so `add` names a layer in O(1).
    kind_counts: HashMap<&'static str, usize>,
    compiled: Option<Compiled>,
    shuffle_rng: SmallRng,
    /// The training step's buffers.
    ws: Workspace,
    /// Inference's buffers.
    infer: Workspace,
}

impl Sequential {
    /// An empty model taking inputs of width `input_dim`, seeded from the operating system.
    /// Use [`with_seed`](Self::with_seed) for reproducible results.
    pub fn new(input_dim: usize) -> Self {
        let seed = rand::random();
        Sequential {
            input_dim,
            seed,
            layers: Vec::new(),
            names: Vec::new(),
            ordinals: Vec::new(),
            kind_counts: HashMap::new(),
            compiled: None,
            shuffle_rng: derive_rng(seed, STREAM_SHUFFLE, 0),
            ws: Workspace::default(),
            infer: Workspace::default(),
        }
    }

    /// Sets the seed (re-initializing any layers already added) and returns the model.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.set_seed(seed);
        self
    }

    /// Sets the seed and re-initializes the weights, dropout generators, shuffling and optimizer
    /// state, as if the model had been built with this seed.
    pub fn set_seed(&mut self, seed: u64) {
        self.seed = seed;
        self.shuffle_rng = derive_rng(seed, STREAM_SHUFFLE, 0);
        let mut width = self.input_dim;
        for (layer, &ordinal) in self.layers.iter_mut().zip(&self.ordinals) {
            let mut rng = layer_rng(seed, layer.kind(), ordinal);
            // The layer was built before with this width, so building again cannot fail.
            width = layer.build(width, &mut rng).unwrap_or(width);
        }
        if let Some(c) = &mut self.compiled {
            c.optimizer.reset();
        }
    }

    /// The model's seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Appends a layer, building it for the current output width. Errors (an invalid rate, zero
    /// units, ...) name the layer's position and type. Adding a layer clears a previous
    /// `compile`.
    pub fn add(&mut self, layer: impl Into<Box<dyn Layer>>) -> Result<&mut Self> {
        let mut layer = layer.into();
        let index = self.layers.len();
        if self.input_dim == 0 {
            return Err(Error::param(
                "Sequential",
                "input_dim",
                0,
                "must be at least 1",
            ));
        }
        let ordinal = self.kind_counts.get(layer.kind()).copied().unwrap_or(0);
        let mut rng = layer_rng(self.seed, layer.kind(), ordinal);
        let out = layer
            .build(self.output_dim(), &mut rng)
            .map_err(|e| Error::Layer {
                index,
                kind: layer.kind().to_string(),
                source: Box::new(e),
            })?;
        if out == 0 {
            return Err(Error::InvalidState(format!(
                "layer {index} ({}): output width is 0",
                layer.kind()
            )));
        }
        // An initializer whose parameters overflow f32 (e.g. a normal with stddev f32::MAX)
        // would leave infinite weights.
        if let Some((_, name)) = first_non_finite(std::slice::from_mut(&mut layer)) {
            return Err(Error::Layer {
                index,
                kind: layer.kind().to_string(),
                source: Box::new(Error::InvalidState(format!(
                    "the {name} initializer produced non-finite weights; use smaller \
                     initializer parameters"
                ))),
            });
        }
        let base = layer.kind().to_lowercase();
        self.names.push(if ordinal == 0 {
            base
        } else {
            format!("{base}_{ordinal}")
        });
        self.ordinals.push(ordinal);
        self.kind_counts.insert(layer.kind(), ordinal + 1);
        self.layers.push(layer);
        self.compiled = None;
        Ok(self)
    }

    /// The layers, in order.
    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.layers
    }

    /// Mutable access to the layers (e.g. to read a `Dense` kernel after downcasting by config).
    pub fn layers_mut(&mut self) -> &mut [Box<dyn Layer>] {
        &mut self.layers
    }

    /// The layers' names (`dense`, `dropout`, `dense_1`, ...).
    pub fn layer_names(&self) -> &[String] {
        &self.names
    }

    /// Width of the inputs.
    pub fn input_dim(&self) -> usize {
        self.input_dim
    }

    /// Width of the outputs (the input width for an empty model).
    pub fn output_dim(&self) -> usize {
        self.layers
            .last()
            .map_or(self.input_dim, |l| l.output_dim())
    }

    /// Total number of trainable scalars.
    pub fn param_count(&self) -> usize {
        self.layers.iter().map(|l| l.param_count()).sum()
    }

    /// Sets the loss and the optimizer. Validates the optimizer's hyper-parameters and decides
    /// whether the output activation and the loss use a fused gradient (sigmoid + binary
    /// cross-entropy, softmax + categorical cross-entropy). Resets the optimizer's state.
    pub fn compile(
        &mut self,
        loss: impl Loss + 'static,
        optimizer: impl Optimizer + 'static,
    ) -> Result<()> {
        self.compile_boxed(Box::new(loss), Box::new(optimizer))
    }

    /// [`compile`](Self::compile) with boxed loss and optimizer.
    pub fn compile_boxed(
        &mut self,
        loss: Box<dyn Loss>,
        mut optimizer: Box<dyn Optimizer>,
    ) -> Result<()> {
        optimizer.validate()?;
        optimizer.reset();
        // Only the output layer may skip its activation's derivative: a layer that was last at
        // an earlier compile may be a hidden layer now.
        for layer in &mut self.layers {
            layer.set_skip_output_activation_grad(false);
        }
        let last = self
            .layers
            .last_mut()
            .ok_or_else(|| Error::InvalidState("compile: the model has no layers".into()))?;
        let fused = last.output_activation().is_some_and(|a| loss.fuses_with(a));
        last.set_skip_output_activation_grad(fused);
        self.compiled = Some(Compiled {
            loss,
            optimizer,
            fused,
        });
        Ok(())
    }

    /// Whether [`compile`](Self::compile) has been called since the last layer was added.
    pub fn is_compiled(&self) -> bool {
        self.compiled.is_some()
    }

    /// The loss, once compiled.
    pub fn loss(&self) -> Option<&dyn Loss> {
        self.compiled.as_ref().map(|c| c.loss.as_ref())
    }

    /// The optimizer, once compiled.
    pub fn optimizer(&self) -> Option<&dyn Optimizer> {
        self.compiled.as_ref().map(|c| c.optimizer.as_ref())
    }

    /// The optimizer, once compiled (e.g. to change its learning rate between epochs).
    pub fn optimizer_mut(&mut self) -> Option<&mut (dyn Optimizer + 'static)> {
        self.compiled.as_mut().map(|c| c.optimizer.as_mut())
    }

    /// The accuracy used by `fit` and `evaluate`: binary for one output, categorical otherwise.
    pub fn accuracy_metric(&self) -> Accuracy {
        Accuracy::for_width(self.output_dim())
    }

    fn compiled_or(&self, what: &str) -> Result<()> {
        if self.compiled.is_none() {
            return Err(Error::InvalidState(format!(
                "{what} called before compile: call model.compile(loss, optimizer) first"
            )));
        }
        Ok(())
    }

    fn check_x(&self, what: &str, x: ArrayView2<f32>) -> Result<()> {
        if self.layers.is_empty() {
            return Err(Error::InvalidState(format!(
                "{what}: the model has no layers"
            )));
        }
        if x.ncols() != self.input_dim {
            return Err(Error::LayerInputMismatch {
                what: what.into(),
                index: 0,
                name: format!("{} ({})", self.names[0], self.layers[0].kind()),
                expected: self.input_dim,
                found: x.ncols(),
            });
        }
        if x.nrows() == 0 || x.ncols() == 0 {
            return Err(Error::EmptyData(what.into()));
        }
        check_finite(|| what.to_string(), x)
    }

    fn check_xy(&self, what: &str, x: ArrayView2<f32>, y: ArrayView2<f32>) -> Result<()> {
        self.check_x(what, x)?;
        if x.nrows() != y.nrows() {
            return Err(Error::RowCountMismatch {
                what: what.into(),
                x_rows: x.nrows(),
                y_rows: y.nrows(),
            });
        }
        if y.ncols() != self.output_dim() {
            return Err(Error::ShapeMismatch {
                what: format!(
                    "{what}: targets (the model's output is {} wide)",
                    self.output_dim()
                ),
                expected: vec![y.nrows(), self.output_dim()],
                found: y.shape().to_vec(),
            });
        }
        check_finite(|| what.to_string(), y)?;
        if let Some(c) = &self.compiled {
            c.loss.validate_targets(y)?;
        }
        Ok(())
    }

    /// One gradient step on the batch `(x, y)`; returns the batch loss (before the update).
    /// A non-finite loss ([`Error::Diverged`], epoch 0), gradient or updated weight
    /// ([`Error::DivergedUpdate`]) is an error and leaves the weights and the optimizer state
    /// bitwise as before the call. After the first call with a given batch size it performs no
    /// heap allocation, on the SIMD and the portable kernel alike (see [`layers`](crate::layers)).
    pub fn train_on_batch<'a>(
        &mut self,
        x: impl AsArray<'a, f32, Ix2>,
        y: impl IntoTargets<'a>,
    ) -> Result<f32> {
        let (x, y) = (x.into(), y.into_targets());
        self.compiled_or("train_on_batch")?;
        self.check_xy("train_on_batch", x, y)?;
        match self.step(Batch::Given(x, y), true) {
            Ok((loss, _)) => Ok(loss),
            Err(f) => Err(f.into_error(&self.names, 0, 1)),
        }
    }

    /// Forward in training mode, loss gradient and backward on `(x, y)`, without updating the
    /// weights: afterwards every layer's parameter gradients (see
    /// [`Layer::visit_params`]) hold dLoss/dWeight for this
    /// batch. Returns the batch loss. Draws dropout masks like a training step.
    pub fn compute_gradients<'a>(
        &mut self,
        x: impl AsArray<'a, f32, Ix2>,
        y: impl IntoTargets<'a>,
    ) -> Result<f32> {
        let (x, y) = (x.into(), y.into_targets());
        self.compiled_or("compute_gradients")?;
        self.check_xy("compute_gradients", x, y)?;
        match self.step(Batch::Given(x, y), false) {
            Ok((loss, _)) | Err(StepFailure::Loss(loss)) => Ok(loss),
            Err(f) => Err(f.into_error(&self.names, 0, 1)),
        }
    }

    /// Runs the layers on `x` in the given mode and returns a view of the output
    /// `(rows, outputs)`, which lives in the model's buffers until the next call. Unlike
    /// [`predict`](Self::predict) it allocates nothing once the buffers fit the batch.
    pub fn forward<'a>(
        &mut self,
        x: impl AsArray<'a, f32, Ix2>,
        mode: Mode,
    ) -> Result<ArrayView2<'_, f32>> {
        let x = x.into();
        self.check_x("forward", x)?;
        let dims = (self.input_dim, self.output_dim());
        let out = forward_view(&mut self.layers, &mut self.infer, x, dims, mode)?;
        check_finite(|| OUTPUT_OVERFLOW.replace("{what}", "forward"), out)?;
        Ok(out)
    }

    /// Forward in training mode, loss gradient, backward, update, constraints. Returns the batch
    /// loss and the number of correct predictions. Checks first that the layers' widths chain
    /// and match the targets (a callback may have replaced a layer since the last step).
    ///
    /// With `update`, a step whose loss or gradients are not finite is not taken, and one whose
    /// update makes a weight non-finite is undone (weights and optimizer state are put back from
    /// copies in the workspace): on an error both are bitwise as before the step.
    fn step(&mut self, batch: Batch<'_>, update: bool) -> Result<(f32, usize), StepFailure> {
        let (rows, y_width) = match batch {
            Batch::Given(x, y) => (x.nrows(), y.ncols()),
            Batch::Workspace { rows, .. } => (rows, self.ws.y.ncols()),
        };
        let (in_dim, out_dim) = (self.input_dim, self.output_dim());
        check_chain(&self.layers, in_dim, "training step")?;
        if y_width != out_dim {
            return Err(StepFailure::Invalid(Error::ShapeMismatch {
                what: "training step: targets (the model's output width changed)".into(),
                expected: vec![rows, out_dim],
                found: vec![rows, y_width],
            }));
        }
        let metric = self.accuracy_metric();
        let Sequential {
            layers,
            compiled,
            ws,
            ..
        } = self;
        let Some(c) = compiled.as_mut() else {
            return Err(StepFailure::Uncompiled);
        };
        if update && c.optimizer.iterations() >= MAX_ITERATIONS {
            return Err(StepFailure::Exhausted);
        }
        ws.ensure(rows, layers, in_dim, out_dim);
        let Workspace {
            acts,
            grads,
            x: wx,
            y: wy,
            w: ww,
            params: saved,
            opt_state,
            ..
        } = ws;
        let (x, y, w) = match batch {
            Batch::Given(x, y) => (x, y, None),
            Batch::Workspace { weighted, .. } => (
                head(wx, rows),
                head(wy, rows),
                weighted.then(|| ww.slice(s![..rows])),
            ),
        };
        forward(layers, acts, x, Mode::Train)?;
        let last = acts.len() - 1;
        let out = head(&acts[last], rows);
        let loss = c
            .loss
            .gradient(out, y, w, c.fused, head_mut(&mut grads[last], rows))?
            + regularization_loss(layers);
        let (correct, _) = metric.count(out, y);
        backward(layers, acts, grads, x)?;
        if !loss.is_finite() {
            return Err(StepFailure::Loss(loss));
        }
        if !update {
            return Ok((loss, correct));
        }
        if let Some((layer, name)) = check_grads_and_save(layers, saved) {
            return Err(StepFailure::Tensor {
                layer,
                name,
                gradient: true,
            });
        }
        c.optimizer.save_state(opt_state);
        let applied = apply_updates(layers, c.optimizer.as_mut());
        let sized = opt_state.buffers.iter().any(|b| !b.slots.is_empty());
        if let Err(e) = applied {
            restore_params(layers, saved);
            let _ = c.optimizer.restore_state(opt_state);
            return Err(StepFailure::Invalid(e));
        }
        if let Some((layer, name)) = first_non_finite(layers) {
            restore_params(layers, saved);
            // The optimizers of this crate always restore; one defined elsewhere without
            // `set_state` keeps its state (documented at `Optimizer::restore_state`).
            let _ = c.optimizer.restore_state(opt_state);
            return Err(StepFailure::Tensor {
                layer,
                name,
                gradient: false,
            });
        }
        if !sized {
            // The optimizer allocated its buffers in this step: size the copy now, so that the
            // next steps copy into it without allocating.
            c.optimizer.save_state(opt_state);
        }
        Ok((loss, correct))
    }

    /// Trains for `options.epochs` epochs and returns the per-epoch logs.
    ///
    /// Each epoch shuffles the sample order (when `options.shuffle`), walks it in batches of
    /// `options.batch_size` (the last batch may be smaller), and takes one optimizer step per
    /// batch on the batch's mean loss.
    ///
    /// A step whose loss is not finite ([`Error::Diverged`]), whose gradients are not finite, or
    /// whose update would make a weight non-finite ([`Error::DivergedUpdate`]) is not taken:
    /// the weights and the optimizer state stay bitwise as they were before it, and `fit` stops.
    /// Invalid arguments are reported as they are; an error once training has begun comes
    /// wrapped in [`Error::Fit`], with the [`History`] of the completed epochs
    /// ([`Error::history`]; [`Error::root`] is the error itself).
    pub fn fit<'a>(
        &mut self,
        x: impl AsArray<'a, f32, Ix2>,
        y: impl IntoTargets<'a>,
        options: &FitOptions<'_>,
    ) -> Result<History> {
        self.fit_with_callbacks(x, y, options, &mut [])
    }

    /// [`fit`](Self::fit) with callbacks: early stopping, checkpoints, learning-rate schedules
    /// or your own [`Callback`].
    ///
    /// Callbacks are called in order: `on_train_begin`, then for each epoch `on_epoch_begin`,
    /// `on_train_batch_begin` before every batch, and `on_epoch_end` with the epoch's
    /// [`EpochLogs`] (after the validation pass); training stops after an epoch where any
    /// callback returned [`Control::Stop`]; `on_train_end` runs last, for every callback, on
    /// every path once `on_train_begin` has been called: after a stop, a divergence or an error
    /// (of a callback too), so `EarlyStopping::restore_best_weights` restores its weights then
    /// as well. An error from a callback ends `fit` with that error (wrapped in [`Error::Fit`]
    /// with the completed epochs' [`History`]; when several fail, the first). A callback that
    /// adds a layer (uncompiling the model) or changes the layers' widths ends `fit` with an
    /// `InvalidState` error saying so. Callbacks may call `predict`, `evaluate` or `forward`:
    /// inference has its own buffers and never changes what is trained. The training step
    /// itself stays free of allocations; callbacks run between steps.
    ///
    /// ```
    /// use ndnet::prelude::*;
    /// use ndnet::callbacks::{EarlyStopping, Metric};
    /// use ndarray::array;
    ///
    /// let x = array![[0.0f32, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    /// let y = array![[0.0f32], [1.0], [1.0], [0.0]];
    /// let mut model = Sequential::new(2).with_seed(3);
    /// model.add(Dense::new(8).activation(Activation::Tanh))?;
    /// model.add(Dense::new(1).activation(Activation::Sigmoid))?;
    /// model.compile(BinaryCrossentropy, Sgd::new(0.5).momentum(0.9))?;
    /// let mut stop = EarlyStopping::new(Metric::Loss).patience(5).restore_best_weights(true);
    /// let options = FitOptions { epochs: 1000, batch_size: 4, ..Default::default() };
    /// let history = model.fit_with_callbacks(&x, &y, &options, &mut [&mut stop])?;
    /// assert!(history.epochs() <= 1000);
    /// # Ok::<(), ndnet::Error>(())
    /// ```
    pub fn fit_with_callbacks<'a>(
        &mut self,
        x: impl AsArray<'a, f32, Ix2>,
        y: impl IntoTargets<'a>,
        options: &FitOptions<'_>,
        callbacks: &mut [&mut dyn Callback],
    ) -> Result<History> {
        let (x, y) = (x.into(), y.into_targets());
        self.compiled_or("fit")?;
        self.check_xy("fit", x, y)?;
        if options.batch_size == 0 {
            return Err(Error::param("fit", "batch_size", 0, "must be at least 1"));
        }
        let split_at = split_point(x.nrows(), options.validation_split)?;
        let sample_weight = match options.sample_weight {
            Some(w) => Some(check_sample_weight(w, x.nrows())?),
            None => None,
        };
        // Keras: `validation_data` wins over `validation_split`.
        let split_at = if options.validation_data.is_some() {
            x.nrows()
        } else {
            split_at
        };
        let (x, vx_split) = x.split_at(Axis(0), split_at);
        let (y, vy_split) = y.split_at(Axis(0), split_at);
        let validation = match options.validation_data {
            Some((vx, vy)) => {
                self.check_xy("validation_data", vx, vy)?;
                Some((vx, vy, None))
            }
            None if vx_split.nrows() > 0 => Some((
                vx_split,
                vy_split,
                sample_weight.map(|w| w.slice_move(s![split_at..])),
            )),
            None => None,
        };
        if options.verbose && options.validation_data.is_none() && vy_split.nrows() > 0 {
            warn_if_validation_misses_a_class(y, vy_split);
        }
        let weights = training_weights(
            sample_weight.map(|w| w.slice_move(s![..split_at])),
            options.class_weight,
            y,
        )?;
        let n = x.nrows();
        let batch = options.batch_size.min(n);
        let (in_dim, out_dim) = (self.input_dim, self.output_dim());
        self.ws.ensure(batch, &self.layers, in_dim, out_dim);
        let mut history = History::default();
        let data = TrainingData {
            x,
            y,
            weights: weights.as_ref().map(|w| w.view()),
            validation,
            batch,
        };
        let trained = self.train_epochs(&data, options, callbacks, &mut history);
        // `on_train_end` runs on every path once training has begun, for every callback (so
        // `EarlyStopping` restores its best weights after an error too); the first error wins.
        let mut result = trained;
        for cb in callbacks.iter_mut() {
            let ended = cb.on_train_end(self);
            if result.is_ok() {
                result = ended;
            }
        }
        match result {
            Ok(()) => Ok(history),
            Err(source) => Err(Error::Fit {
                source: Box::new(source),
                history: Box::new(history),
            }),
        }
    }

    /// The epochs of [`fit_with_callbacks`](Self::fit_with_callbacks), from `on_train_begin`
    /// to the last `on_epoch_end`, appending each completed epoch to `history`.
    fn train_epochs(
        &mut self,
        data: &TrainingData<'_>,
        options: &FitOptions<'_>,
        callbacks: &mut [&mut dyn Callback],
        history: &mut History,
    ) -> Result<()> {
        let TrainingData {
            x,
            y,
            weights,
            validation,
            batch,
        } = *data;
        let n = x.nrows();
        let out_dim = self.output_dim();
        let shape = self.shape();
        let metric = self.accuracy_metric();
        let mut order: Vec<usize> = (0..n).collect();
        for cb in callbacks.iter_mut() {
            cb.on_train_begin(self)?;
        }
        self.check_unchanged(shape, 0, 0)?;
        for epoch in 0..options.epochs {
            for cb in callbacks.iter_mut() {
                cb.on_epoch_begin(epoch, self)?;
            }
            self.check_unchanged(shape, epoch + 1, 0)?;
            if options.shuffle {
                order.shuffle(&mut self.shuffle_rng);
            }
            let (mut loss_sum, mut correct) = (0.0f64, 0usize);
            for (b, idx) in order.chunks(batch).enumerate() {
                for cb in callbacks.iter_mut() {
                    cb.on_train_batch_begin(self)?;
                }
                self.check_unchanged(shape, epoch + 1, b + 1)?;
                // The batch is copied after the callbacks, so nothing they do reaches it.
                for (k, &i) in idx.iter().enumerate() {
                    self.ws.x.row_mut(k).assign(&x.row(i));
                    self.ws.y.row_mut(k).assign(&y.row(i));
                    if let Some(w) = &weights {
                        self.ws.w[k] = w[i];
                    }
                }
                let rows = idx.len();
                let weighted = weights.is_some();
                let (loss, c) = self
                    .step(Batch::Workspace { rows, weighted }, true)
                    .map_err(|f| f.into_error(&self.names, epoch + 1, b + 1))?;
                loss_sum += loss as f64 * rows as f64;
                correct += c;
            }
            let total = match metric {
                Accuracy::Binary => n * out_dim,
                Accuracy::Categorical => n,
            };
            let logs = EpochLogs {
                epoch,
                loss: (loss_sum / n as f64) as f32,
                accuracy: correct as f32 / total as f32,
                val: validation
                    .map(|(vx, vy, vw)| self.evaluate_unchecked(vx, vy, vw))
                    .transpose()?,
                learning_rate: self.optimizer().map_or(f32::NAN, |o| o.learning_rate()),
            };
            history.push(&logs);
            if options.verbose {
                println!("{}", epoch_line(epoch + 1, options.epochs, history));
            }
            let mut stop = false;
            for cb in callbacks.iter_mut() {
                stop |= cb.on_epoch_end(epoch, &logs, self)? == Control::Stop;
            }
            if stop {
                break;
            }
        }
        Ok(())
    }

    /// The architecture `fit` checks callbacks leave alone: input width, layer count, output
    /// width.
    fn shape(&self) -> (usize, usize, usize) {
        (self.input_dim, self.layers.len(), self.output_dim())
    }

    /// `InvalidState` when a callback uncompiled the model or changed its architecture during
    /// `fit` (`epoch`/`batch` 1-based, 0 before the first).
    fn check_unchanged(
        &self,
        shape: (usize, usize, usize),
        epoch: usize,
        batch: usize,
    ) -> Result<()> {
        if self.compiled.is_none() {
            return Err(StepFailure::Uncompiled.into_error(&self.names, epoch, batch));
        }
        if self.shape() != shape || !self.ws.fits(self.ws.rows, &self.layers, shape.0, shape.2) {
            return Err(Error::InvalidState(format!(
                "epoch {epoch}, batch {batch}: the model's layers changed during training (e.g. \
                 in a callback); change the model before or after fit"
            )));
        }
        Ok(())
    }

    /// Loss and accuracy on `(x, y)` in inference mode (dropout off). The loss includes the
    /// layers' regularization penalties, as Keras's `evaluate`.
    pub fn evaluate<'a>(
        &mut self,
        x: impl AsArray<'a, f32, Ix2>,
        y: impl IntoTargets<'a>,
    ) -> Result<Evaluation> {
        let (x, y) = (x.into(), y.into_targets());
        self.compiled_or("evaluate")?;
        self.check_xy("evaluate", x, y)?;
        self.evaluate_unchecked(x, y, None)
    }

    fn evaluate_unchecked(
        &mut self,
        x: ArrayView2<f32>,
        y: ArrayView2<f32>,
        w: Option<ArrayView1<f32>>,
    ) -> Result<Evaluation> {
        let metric = self.accuracy_metric();
        let (in_dim, out_dim) = (self.input_dim, self.output_dim());
        let Sequential {
            layers,
            compiled,
            infer: ws,
            ..
        } = self;
        let Some(c) = compiled.as_ref() else {
            return Ok(Evaluation {
                loss: f32::NAN,
                accuracy: 0.0,
            });
        };
        let mut loss_sum = 0.0f64;
        let (mut correct, mut total) = (0, 0);
        let chunk = ws.rows.max(32);
        for start in (0..x.nrows()).step_by(chunk) {
            let end = (start + chunk).min(x.nrows());
            let (xc, yc) = (x.slice(s![start..end, ..]), y.slice(s![start..end, ..]));
            let wc = w.map(|w| w.slice_move(s![start..end]));
            let out = forward_view(layers, ws, xc, (in_dim, out_dim), Mode::Eval)?;
            loss_sum += c.loss.loss(out, yc, wc)? as f64 * (end - start) as f64;
            let (k, t) = metric.count(out, yc);
            correct += k;
            total += t;
        }
        let penalty = regularization_loss(layers) as f64;
        Ok(Evaluation {
            loss: (loss_sum / x.nrows().max(1) as f64 + penalty) as f32,
            accuracy: if total == 0 {
                0.0
            } else {
                correct as f32 / total as f32
            },
        })
    }

    /// The model's outputs for `x` in inference mode: probabilities for a sigmoid or softmax
    /// output, `(rows, outputs)`. An output that overflows `f32` (NaN or infinite) is a
    /// `NonFinite` error naming its row and column.
    pub fn predict<'a>(&mut self, x: impl AsArray<'a, f32, Ix2>) -> Result<Array2<f32>> {
        let x = x.into();
        self.check_x("predict", x)?;
        let mut out = Array2::zeros((x.nrows(), self.output_dim()));
        let chunk = self.infer.rows.max(32);
        for start in (0..x.nrows()).step_by(chunk) {
            let end = (start + chunk).min(x.nrows());
            let dims = (self.input_dim, self.output_dim());
            let xc = x.slice(s![start..end, ..]);
            let o = forward_view(&mut self.layers, &mut self.infer, xc, dims, Mode::Eval)?;
            out.slice_mut(s![start..end, ..]).assign(&o);
        }
        check_finite(|| OUTPUT_OVERFLOW.replace("{what}", "predict"), out.view())?;
        Ok(out)
    }

    /// Class probabilities for `x`, `(rows, classes)`, in inference mode.
    ///
    /// A single sigmoid output `p` gives two columns `[1 - p, p]` (the probabilities of class 0
    /// and class 1); a softmax output gives its rows as they are (each sums to 1); several sigmoid
    /// outputs (multi-label) give each label's probability. Any other output activation is an
    /// error: its outputs are not probabilities.
    ///
    /// ```
    /// use ndnet::prelude::*;
    /// use ndarray::array;
    /// let mut model = Sequential::new(2).with_seed(1);
    /// model.add(Dense::new(1).activation(Activation::Sigmoid))?;
    /// let p = model.predict_proba(&array![[0.5f32, -1.0]])?;
    /// assert_eq!(p.dim(), (1, 2));
    /// assert!((p.row(0).sum() - 1.0).abs() < 1e-6);
    /// # Ok::<(), ndnet::Error>(())
    /// ```
    pub fn predict_proba<'a>(&mut self, x: impl AsArray<'a, f32, Ix2>) -> Result<Array2<f32>> {
        let activation = self.layers.last().and_then(|l| l.output_activation());
        if !matches!(activation, Some(Activation::Sigmoid | Activation::Softmax)) {
            return Err(Error::InvalidState(format!(
                "predict_proba: the output layer must end with a sigmoid or softmax, found {}",
                activation.map_or("no activation", |a| a.name())
            )));
        }
        let p = self.predict(x)?;
        if p.ncols() != 1 || activation != Some(Activation::Sigmoid) {
            return Ok(p);
        }
        let mut two = Array2::zeros((p.nrows(), 2));
        for (mut row, &q) in two.outer_iter_mut().zip(p.iter()) {
            row[0] = 1.0 - q;
            row[1] = q;
        }
        Ok(two)
    }

    /// Predicted classes: `p > 0.5` for a single output, the arg-max otherwise.
    pub fn predict_classes<'a>(&mut self, x: impl AsArray<'a, f32, Ix2>) -> Result<Vec<usize>> {
        Ok(crate::data::class_labels(self.predict(x)?.view()))
    }

    /// Copies of all weights in Keras order: for each `Dense`, kernel `(inputs, units)` then bias.
    pub fn get_weights(&self) -> Vec<ArrayD<f32>> {
        self.layers.iter().flat_map(|l| l.weights()).collect()
    }

    /// Replaces all weights (the order and shapes of [`get_weights`](Self::get_weights)). Nothing
    /// changes when a count or shape is wrong.
    pub fn set_weights(&mut self, weights: &[ArrayD<f32>]) -> Result<()> {
        let per_layer: Vec<Vec<ArrayD<f32>>> = self.layers.iter().map(|l| l.weights()).collect();
        let current: Vec<&ArrayD<f32>> = per_layer.iter().flatten().collect();
        if current.len() != weights.len() {
            return Err(Error::ShapeMismatch {
                what: "set_weights: number of weight tensors".into(),
                expected: vec![current.len()],
                found: vec![weights.len()],
            });
        }
        for (i, (c, w)) in current.iter().zip(weights).enumerate() {
            if c.shape() != w.shape() {
                return Err(Error::ShapeMismatch {
                    what: format!("set_weights: tensor {i}"),
                    expected: c.shape().to_vec(),
                    found: w.shape().to_vec(),
                });
            }
            check_finite(|| format!("set_weights: tensor {i}"), w.view())?;
        }
        let mut rest = weights;
        for (layer, own) in self.layers.iter_mut().zip(&per_layer) {
            let (mine, others) = rest.split_at(own.len());
            layer.set_weights(mine)?;
            rest = others;
        }
        Ok(())
    }

    /// Prints the [summary table](fmt::Display) to stdout.
    pub fn summary(&self) {
        println!("{self}");
    }
}

/// What a `NonFinite` error of `predict`/`forward` says about the model's output.
const OUTPUT_OVERFLOW: &str =
    "{what}: the model's output overflowed f32 (weights or inputs too large)";

/// The sum of the layers' regularization penalties.
fn regularization_loss(layers: &[Box<dyn Layer>]) -> f32 {
    layers.iter().map(|l| l.regularization_loss()).sum()
}

/// Prints a warning when a class of the training targets `y` has no row in the validation
/// targets `vy` (classes as [`class_labels`](crate::data::class_labels)).
fn warn_if_validation_misses_a_class(y: ArrayView2<f32>, vy: ArrayView2<f32>) {
    let train = crate::data::class_labels(y);
    let held = crate::data::class_labels(vy);
    let mut missing: Vec<usize> = train
        .iter()
        .copied()
        .filter(|c| !held.contains(c))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    if !missing.is_empty() {
        eprintln!(
            "warning: fit: the {} rows held out by validation_split (the last rows) have no row \
             of class {missing:?}; validation scores one class only. Shuffle first or use a \
             stratified ndnet::data::train_test_split with validation_data.",
            vy.nrows()
        );
    }
}

/// Where Keras's `validation_split` cuts `n` rows: the first `floor(n · (1 - split))` train, the
/// rest validate. `n` (nothing held out) for a split of 0.
fn split_point(n: usize, split: f64) -> Result<usize> {
    if !(split.is_finite() && (0.0..1.0).contains(&split)) {
        return Err(Error::param(
            "fit",
            "validation_split",
            split,
            "must be in [0, 1)",
        ));
    }
    if split == 0.0 {
        return Ok(n);
    }
    let at = (n as f64 * (1.0 - split)).floor() as usize;
    if at == 0 || at >= n {
        return Err(Error::param(
            "fit",
            "validation_split",
            split,
            format!("{n} rows cannot be split into non-empty training and validation sets"),
        ));
    }
    Ok(at)
}

/// Checks that `w` has one finite, non-negative weight per row.
fn check_sample_weight(w: ArrayView1<'_, f32>, rows: usize) -> Result<ArrayView1<'_, f32>> {
    if w.len() != rows {
        return Err(Error::ShapeMismatch {
            what: "fit: sample_weight (one weight per row of x)".into(),
            expected: vec![rows],
            found: vec![w.len()],
        });
    }
    check_weights("sample_weight", w.iter())?;
    Ok(w)
}

/// `InvalidParameter` naming the first weight that is negative or not finite.
fn check_weights<'a>(name: &str, weights: impl Iterator<Item = &'a f32>) -> Result<()> {
    match weights
        .enumerate()
        .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
    {
        Some((i, &v)) => validate::non_negative("fit", &format!("{name}[{i}]"), v),
        None => Ok(()),
    }
}

/// The training rows' weights: `sample_weight · class_weight[class]`, or `None` when neither is
/// given. The class of a row is its target truncated to an integer for a single column (Keras
/// casts it), the arg-max of the row otherwise.
fn training_weights(
    sample_weight: Option<ArrayView1<f32>>,
    class_weight: Option<&[f32]>,
    y: ArrayView2<f32>,
) -> Result<Option<Array1<f32>>> {
    let Some(cw) = class_weight else {
        return Ok(sample_weight.map(|w| w.to_owned()));
    };
    check_weights("class_weight", cw.iter())?;
    let mut w = sample_weight.map_or_else(|| Array1::ones(y.nrows()), |w| w.to_owned());
    for (row, (target, w)) in y.outer_iter().zip(w.iter_mut()).enumerate() {
        let class = if target.len() == 1 {
            let t = target[0].trunc();
            (t >= 0.0).then_some(t as usize)
        } else {
            Some(crate::metrics::argmax(target.iter()))
        };
        let Some(&factor) = class.and_then(|c| cw.get(c)) else {
            return Err(Error::param(
                "fit",
                "class_weight",
                format!("{cw:?}"),
                format!("has no weight for the class of row {row} (target {target})"),
            ));
        };
        *w *= factor;
    }
    Ok(Some(w))
}

/// `NonFinite` naming the row and column (0 for a 1-D array) of the first NaN or infinity in
/// `a`; `what` describes the array.
pub(crate) fn check_finite<D: Dimension>(
    what: impl FnOnce() -> String,
    a: ArrayView<'_, f32, D>,
) -> Result<()> {
    // A value is NaN or infinite exactly when its exponent bits are all ones; an OR over the
    // slice vectorizes where a short-circuiting `all` does not.
    const EXP: u32 = 0x7f80_0000;
    let all_finite = match a.as_slice() {
        Some(s) => {
            s.iter()
                .fold(0u32, |acc, &v| acc | u32::from(v.to_bits() & EXP == EXP))
                == 0
        }
        None => a.iter().all(|v| v.is_finite()),
    };
    if all_finite {
        return Ok(());
    }
    let (row, column, value) = a
        .into_dyn()
        .indexed_iter()
        .find(|(_, v)| !v.is_finite())
        .map_or((0, 0, f32::NAN), |(idx, &v)| {
            let idx = idx.as_array_view();
            (
                idx.first().copied().unwrap_or(0),
                idx.get(1).copied().unwrap_or(0),
                v,
            )
        });
    Err(Error::NonFinite {
        what: what(),
        row,
        column,
        value,
    })
}

fn epoch_line(epoch: usize, epochs: usize, h: &History) -> String {
    let last = |v: &Vec<f32>| v.last().copied().unwrap_or(f32::NAN);
    let mut line = format!(
        "Epoch {epoch}/{epochs} - loss: {:.4} - accuracy: {:.4}",
        last(&h.loss),
        last(&h.accuracy)
    );
    if !h.val_loss.is_empty() {
        line += &format!(
            " - val_loss: {:.4} - val_accuracy: {:.4}",
            last(&h.val_loss),
            last(&h.val_accuracy)
        );
    }
    line
}

impl<L: Layer + 'static> From<L> for Box<dyn Layer> {
    fn from(layer: L) -> Self {
        Box::new(layer)
    }
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The Keras-style summary table: layer name and type, output shape, parameter count, total.
impl fmt::Display for Sequential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rule = "_".repeat(65);
        writeln!(f, "Model: \"sequential\"")?;
        writeln!(f, "{rule}")?;
        writeln!(
            f,
            " {:<27} {:<25} {:<10}",
            "Layer (type)", "Output Shape", "Param #"
        )?;
        writeln!(f, "{}", "=".repeat(65))?;
        for (i, (layer, name)) in self.layers.iter().zip(&self.names).enumerate() {
            let label = format!("{name} ({})", layer.kind());
            let shape = format!("(None, {})", layer.output_dim());
            writeln!(
                f,
                " {label:<27} {shape:<25} {:<10}",
                thousands(layer.param_count())
            )?;
            if i + 1 < self.layers.len() {
                writeln!(f)?;
            }
        }
        writeln!(f, "{}", "=".repeat(65))?;
        let total = thousands(self.param_count());
        writeln!(f, "Total params: {total}")?;
        writeln!(f, "Trainable params: {total}")?;
        writeln!(f, "Non-trainable params: 0")?;
        write!(f, "{rule}")
    }
}
