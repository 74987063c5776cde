//! [`Sequential`]: a stack of layers with Keras's `compile`, `fit`, `evaluate` and `predict`.

mod fit;
mod infer;
#[cfg(feature = "serde")]
pub mod save;
mod step;
mod summary;

pub use crate::history::{Control, EpochLogs, Evaluation, History, Metric};
pub use fit::{Callback, FitOptions, IntoTargets};

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};

use ndarray::{ArrayD, ArrayView2, AsArray, Ix2};
use rand::rngs::SmallRng;

use crate::error::{Error, Result};
use crate::layers::Layer;
use crate::losses::Loss;
use crate::metrics::Accuracy;
use crate::optimizers::Optimizer;
use crate::rng::{STREAM_SHUFFLE, derive_rng, layer_rng};
use crate::validate::check_finite;

use step::{Compiled, Workspace, first_non_finite};

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
    /// The layers with their names and widths.
    layers: Vec<LayerSlot>,
    /// How many layers of each kind the model holds, so `add` names a layer in O(1).
    kind_counts: HashMap<&'static str, usize>,
    compiled: Option<Compiled>,
    shuffle_rng: SmallRng,
    /// The training step's buffers.
    ws: Workspace,
    /// The buffers of [`forward`](Self::forward).
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
        for slot in &mut self.layers {
            let mut rng = layer_rng(seed, slot.layer.kind(), slot.ordinal);
            // The layer was built before with this width, so building again cannot fail.
            if let Ok(out) = slot.layer.build(width, &mut rng) {
                (slot.input_dim, slot.output_dim) = (width, out);
            }
            width = slot.output_dim;
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
        let mut layer: Box<dyn Layer> = layer.into();
        let index = self.layers.len();
        if self.input_dim == 0 {
            return Err(Error::param(
                "Sequential",
                "input_dim",
                0,
                "must be at least 1",
            ));
        }
        let kind = layer.kind();
        let ordinal = self.kind_counts.get(kind).copied().unwrap_or(0);
        let mut rng = layer_rng(self.seed, kind, ordinal);
        let input_dim = self.output_dim();
        let out = layer.build(input_dim, &mut rng).map_err(|e| Error::Layer {
            index,
            kind: kind.to_string(),
            source: Box::new(e),
        })?;
        if out == 0 {
            return Err(Error::InvalidState(format!(
                "layer {index} ({kind}): output width is 0"
            )));
        }
        let base = kind.to_lowercase();
        let mut slot = LayerSlot {
            layer,
            name: if ordinal == 0 {
                base
            } else {
                format!("{base}_{ordinal}")
            },
            ordinal,
            input_dim,
            output_dim: out,
        };
        // An initializer whose parameters overflow f32 (e.g. a normal with stddev f32::MAX)
        // would leave infinite weights.
        if let Some((_, name)) = first_non_finite(std::slice::from_mut(&mut slot)) {
            return Err(Error::Layer {
                index,
                kind: kind.to_string(),
                source: Box::new(Error::InvalidState(format!(
                    "the {name} initializer produced non-finite weights; use smaller \
                     initializer parameters"
                ))),
            });
        }
        self.kind_counts.insert(kind, ordinal + 1);
        self.layers.push(slot);
        self.compiled = None;
        Ok(self)
    }

    /// The layers, in order, with their names and widths; each dereferences to its layer
    /// (`model.layers()[0].config()`).
    pub fn layers(&self) -> &[LayerSlot] {
        &self.layers
    }

    /// Mutable access to the layers (e.g. to change a dropout rate, or reseed a layer). A
    /// training step or inference checks first that the layers' widths still chain.
    pub fn layers_mut(&mut self) -> &mut [LayerSlot] {
        &mut self.layers
    }

    /// The layers' names (`dense`, `dropout`, `dense_1`, ...).
    pub fn layer_names(&self) -> Vec<&str> {
        self.layers.iter().map(|s| s.name()).collect()
    }

    /// Width of the inputs.
    pub fn input_dim(&self) -> usize {
        self.input_dim
    }

    /// Width of the outputs (the input width for an empty model).
    pub fn output_dim(&self) -> usize {
        self.layers.last().map_or(self.input_dim, |s| s.output_dim)
    }

    /// Total number of trainable scalars.
    pub fn param_count(&self) -> usize {
        self.layers.iter().map(|l| l.param_count()).sum()
    }

    /// Sets the loss and the optimizer. Validates the optimizer's hyper-parameters and resets
    /// its state. Each step then hands the output layer the gradient w.r.t. its pre-activation
    /// when the loss fuses with its activation (sigmoid + binary cross-entropy, softmax +
    /// categorical cross-entropy; see [`GradWrt`](crate::layers::GradWrt)).
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
        if self.layers.is_empty() {
            return Err(Error::InvalidState(
                "compile: the model has no layers".into(),
            ));
        }
        self.compiled = Some(Compiled { loss, optimizer });
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
                name: format!("{} ({})", self.layers[0].name, self.layers[0].kind()),
                expected: self.input_dim,
                found: x.ncols(),
            });
        }
        if x.nrows() == 0 || x.ncols() == 0 {
            return Err(Error::EmptyData(what.into()));
        }
        check_finite(|| what.to_string(), x)
    }

    /// The batch `(x, y)` of the entry point `what`, after the checks it shares with the others:
    /// the model is compiled, and `(x, y)` passes [`check_xy`](Self::check_xy).
    fn compiled_batch<'a>(
        &self,
        what: &str,
        x: impl AsArray<'a, f32, Ix2>,
        y: impl IntoTargets<'a>,
    ) -> Result<(ArrayView2<'a, f32>, ArrayView2<'a, f32>)> {
        let (x, y) = (x.into(), y.into_targets());
        self.compiled_or(what)?;
        self.check_xy(what, x, y)?;
        Ok((x, y))
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

    /// Adapts the model's first layer to `x` if it learns statistics of its input (a
    /// [`Normalization`](crate::layers::Normalization) layer), as Keras's `model.layers[0].adapt(x)`; returns whether it did.
    /// [`CrossValidation`](crate::selection::CrossValidation) calls it on each training fold.
    ///
    /// # Errors
    ///
    /// As [`Normalization::adapt`](crate::layers::Normalization::adapt): empty or non-finite data, or a width other than the model's
    /// input width.
    pub fn adapt<'a>(&mut self, x: impl AsArray<'a, f32, Ix2>) -> Result<bool> {
        let x = x.into();
        match self.layers.first_mut() {
            Some(slot) => slot.layer.adapt(x),
            None => Ok(false),
        }
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
}

/// A layer as a [`Sequential`] model holds it: the layer, the name the model gave it (`dense`,
/// `dropout_1`, …; Keras's naming) and the widths it was built for. The model keeps the widths
/// here, not the layer. It dereferences to the layer, so `model.layers()[0].config()` or
/// `model.layers_mut()[1].reseed(…)` call the layer.
///
/// ```
/// use ndnet::prelude::*;
/// let mut model = Sequential::new(4);
/// model.add(Dense::new(3))?;
/// model.add(Dropout::new(0.5))?;
/// let slot = &model.layers()[1];
/// assert_eq!((slot.name(), slot.kind()), ("dropout", "Dropout"));
/// assert_eq!((slot.input_dim(), slot.output_dim()), (3, 3));
/// # Ok::<(), ndnet::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct LayerSlot {
    layer: Box<dyn Layer>,
    name: String,
    /// The layer's position among the earlier layers of its kind: its name's suffix and its
    /// generator's index.
    ordinal: usize,
    input_dim: usize,
    output_dim: usize,
}

impl LayerSlot {
    /// The layer.
    pub fn layer(&self) -> &dyn Layer {
        self.layer.as_ref()
    }

    /// The layer, mutably. Rebuilding it for another width makes the model's passes fail with
    /// a shape error (the model keeps the widths it was added with).
    pub fn layer_mut(&mut self) -> &mut dyn Layer {
        self.layer.as_mut()
    }

    /// The layer's name in the model.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The width of the layer's input.
    pub fn input_dim(&self) -> usize {
        self.input_dim
    }

    /// The width of the layer's output.
    pub fn output_dim(&self) -> usize {
        self.output_dim
    }
}

impl Deref for LayerSlot {
    type Target = dyn Layer;

    fn deref(&self) -> &Self::Target {
        self.layer.as_ref()
    }
}

impl DerefMut for LayerSlot {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.layer.as_mut()
    }
}

// A trained model is shared read-only across threads (`predict` takes `&self`): this stops
// compiling if `Sequential` ceases to be `Send + Sync`.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Sequential>();
};

impl<L: Layer + 'static> From<L> for Box<dyn Layer> {
    fn from(layer: L) -> Self {
        Box::new(layer)
    }
}
