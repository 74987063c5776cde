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

    /// Adapts the model's first layer to `x` if it learns statistics of its input (a
    /// [`Normalization`](crate::layers::Normalization) layer), as Keras's `model.layers[0].adapt(x)`; returns whether it did.
    /// [`CrossValidation`](crate::data::CrossValidation) calls it on each training fold.
    ///
    /// # Errors
    ///
    /// As [`Normalization::adapt`](crate::layers::Normalization::adapt): empty or non-finite data, or a width other than the model's
    /// input width.
    pub fn adapt<'a>(&mut self, x: impl AsArray<'a, f32, Ix2>) -> Result<bool> {
        let x = x.into();
        match self.layers_mut().first_mut() {
            Some(layer) => layer.adapt(x),
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

impl<L: Layer + 'static> From<L> for Box<dyn Layer> {
    fn from(layer: L) -> Self {
        Box::new(layer)
    }
}
