//! Saving and loading models (feature `serde`, on by default).
//!
//! [`Sequential::save`] writes one [safetensors] file holding the weights, the architecture
//! (every layer's [`LayerConfig`]: units, activations, initializers, constraints,
//! regularizers, dropout and noise rates), the input width and seed and, unless saved with [`save_without_optimizer`](Sequential::save_without_optimizer), the loss, the
//! optimizer's configuration and its state (update count, momentum or moment buffers), so that
//! training resumes with the same next step. [`Sequential::load`] rebuilds the model; it
//! predicts bit-identically to the one saved.
//!
//! Writes are atomic: the bytes go to a temporary file in the same directory, which is flushed
//! to disk and renamed over the target, so a crash leaves either the old file or the new one.
//!
//! Loading checks everything and returns [`Error::ModelFile`] (never panics): the container
//! (see [`safetensors`]: lengths and byte ranges against the file's length, before anything
//! sized by the file is allocated), the format and version, the limits below, every layer's
//! configuration (rebuilt through [`Sequential::add`], so validated as a built model is), that
//! the file holds exactly the tensors the architecture implies, with their shapes, and that
//! every value is finite. The file is streamed: besides the model being built, at most one
//! layer's tensors are held (and the optimizer's buffers, which the model keeps).
//!
//! Not saved: the random generators' positions. A loaded model draws its dropout masks and
//! shuffles from fresh generators derived from the saved seed, so resuming a run that uses
//! dropout or shuffling continues it statistically, not bit for bit (Keras does not save them
//! either). There is no checksum (safetensors has none): a damaged value that is still a
//! finite `f32` loads as it is.
//!
//! # File layout (version 2)
//!
//! A safetensors file whose tensors, all `F32`, are
//! - the weights in [`Sequential::get_weights`] order and shapes, named as Keras names them from
//!   [`Sequential::layer_names`]: `dense/kernel` `(inputs, units)`, `dense/bias` `(units)`,
//!   `dense_1/kernel`, …, and `normalization/mean`, `normalization/scale` `(inputs)`;
//! - then the optimizer's buffers, `optimizer/{buffer}/{weight}`, each shaped as its weight:
//!   `optimizer/velocity/dense/kernel`, `optimizer/m/dense/bias`, … (one per trained weight,
//!   none before the first update);
//!
//! and whose `__metadata__` holds `"format": "ndnet"` and, under `"model"`, the JSON
//!
//! ```json
//! {"format": "ndnet.sequential", "version": 2, "written_by": "ndnet 0.1.0",
//!  "input_dim": 60, "seed": 7,
//!  "layers": [
//!    {"class_name": "Dense", "config": {"units": 60, "activation": "relu", "use_bias": true,
//!     "kernel_initializer": {"class_name": "RandomNormal", "config": {"mean": 0.0, "stddev": 0.05}},
//!     "bias_initializer": {"class_name": "Zeros"},
//!     "kernel_constraint": {"class_name": "MaxNorm", "config": {"max_value": 3.0, "axis": 0}},
//!     "bias_constraint": null, "kernel_regularizer": null}},
//!    {"class_name": "Dropout", "config": {"rate": 0.2}},
//!    ...
//!  ],
//!  "training": {
//!    "loss": "binary_crossentropy",
//!    "optimizer": {"class_name": "SGD", "config": {"learning_rate": 0.1, "momentum": 0.9, "nesterov": false, "decay": 0.0}},
//!    "iterations": 3900,
//!    "state": [{"name": "velocity", "slots": 4}]}}
//! ```
//!
//! `training` is absent for an uncompiled model or one saved without its optimizer; such a
//! model loads uncompiled. In Python, `safetensors.numpy.load_file(path)` gives the tensors and
//! `json.loads(safetensors.safe_open(path, "np").metadata()["model"])` the description.
//!
//! Files of the format before version 2 (a container of ndnet's own, with magic bytes and a
//! CRC-32) are not read.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use ndarray::{Array2, ArrayD, IxDyn};
use serde::{Deserialize, Serialize};

use crate::error::{Error, ModelFileError, Result};
use crate::layers::LayerConfig;
use crate::losses;
use crate::model::Sequential;
use crate::optimizers::{OptimizerConfig, OptimizerState, StateBuffers};
use crate::safetensors::{self, Reading, read_header, read_tensor};
use crate::validate::check_finite;

pub use crate::safetensors::{MAX_FILE_BYTES, MAX_HEADER_BYTES};

mod weights;

/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 2;
/// The `format` field of the model's description.
pub const FORMAT_NAME: &str = "ndnet.sequential";
/// The metadata key holding the model's description (JSON).
pub const MODEL_KEY: &str = "model";

/// The widest layer (and the largest `input_dim`) a file may describe: 2²⁴ = 16,777,216. The
/// bound keeps a corrupt width from reaching an allocation: layers without weights (dropout,
/// noise) do not make the file grow with their width, so the file's size alone cannot bound it.
pub const MAX_WIDTH: usize = 1 << 24;

/// The most layers a file may describe: 10,000 (far more than any feed-forward network needs;
/// loading that many takes milliseconds).
pub const MAX_LAYERS: usize = 10_000;

/// The largest optimizer update count a file may hold: the optimizers' own limit,
/// [`optimizers::MAX_ITERATIONS`](crate::optimizers::MAX_ITERATIONS) (2⁵³, every count up to it
/// exact as an `f64`). A model loaded at the limit refuses to take another step.
pub use crate::optimizers::MAX_ITERATIONS;

/// The model's description, in the metadata under [`MODEL_KEY`].
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Description {
    format: String,
    version: u32,
    #[serde(default)]
    written_by: String,
    input_dim: usize,
    seed: u64,
    layers: Vec<LayerConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    training: Option<Training>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Training {
    loss: String,
    optimizer: OptimizerConfig,
    iterations: u64,
    state: Vec<StateGroup>,
}

/// One buffer group of the optimizer: its name and how many buffers it holds (0 before the
/// first update, else one per trained weight).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateGroup {
    name: String,
    slots: usize,
}

/// The shape an optimizer sees a parameter as: a bias `(units,)` as `(units, 1)`.
fn param_shape(shape: &[usize]) -> Vec<usize> {
    match shape {
        [n] => vec![*n, 1],
        s => s.to_vec(),
    }
}

fn weight_name(layer: &str, config: &LayerConfig, k: usize) -> String {
    match (config, k) {
        (LayerConfig::Normalization, 0) => format!("{layer}/mean"),
        (LayerConfig::Normalization, _) => format!("{layer}/scale"),
        _ => crate::layers::weight_name(layer, k),
    }
}

/// Whether the optimizer updates the layer's weights (a `Normalization` layer's statistics are
/// adapted, not trained).
fn trained(config: &LayerConfig) -> bool {
    !matches!(config, LayerConfig::Normalization)
}

fn state_name(group: &str, weight: &str) -> String {
    format!("optimizer/{group}/{weight}")
}

/// The tensors and metadata of a saved model.
type Contents = (Vec<(String, ArrayD<f32>)>, BTreeMap<String, String>);

impl Sequential {
    /// Saves the model, with its optimizer state, to `path` as a safetensors file (see
    /// [the format](crate::io)). The write is atomic. Errors name the layer or optimizer that
    /// cannot be saved (one defined outside this crate), a non-finite value, or the I/O failure.
    ///
    /// ```
    /// use ndnet::prelude::*;
    /// let path = std::env::temp_dir().join(format!("ndnet-doc-{}.safetensors", std::process::id()));
    /// let mut model = Sequential::new(4).with_seed(1);
    /// model.add(Dense::new(3).activation(Activation::Relu))?;
    /// model.add(Dropout::new(0.2))?;
    /// model.add(Dense::new(1).activation(Activation::Sigmoid))?;
    /// model.compile(BinaryCrossentropy, Sgd::new(0.1).momentum(0.9))?;
    /// model.save(&path)?;
    /// let mut loaded = Sequential::load(&path)?;
    /// assert_eq!(loaded.layers()[1].config(), model.layers()[1].config()); // the rate is kept
    /// let x = ndarray::array![[0.1f32, 0.2, 0.3, 0.4]];
    /// assert_eq!(loaded.predict(&x)?, model.predict(&x)?);
    /// # std::fs::remove_file(&path).ok();
    /// # Ok::<(), ndnet::Error>(())
    /// ```
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let (tensors, metadata) = self.contents(true)?;
        safetensors::save(path.as_ref(), &tensors, &metadata)
    }

    /// Saves the architecture and weights only; the loaded model is not compiled.
    pub fn save_without_optimizer(&self, path: impl AsRef<Path>) -> Result<()> {
        let (tensors, metadata) = self.contents(false)?;
        safetensors::save(path.as_ref(), &tensors, &metadata)
    }

    /// The bytes [`save`](Self::save) writes (with the optimizer state when
    /// `include_optimizer` and the model is compiled).
    pub fn to_bytes(&self, include_optimizer: bool) -> Result<Vec<u8>> {
        let (tensors, metadata) = self.contents(include_optimizer)?;
        safetensors::encode(&tensors, &metadata)
    }

    fn contents(&self, include_optimizer: bool) -> Result<Contents> {
        let mut layers = Vec::with_capacity(self.layers().len());
        let mut tensors: Vec<(String, ArrayD<f32>)> = Vec::new();
        // Indices into `tensors` of the weights the optimizer updates.
        let mut trained_weights = Vec::new();
        for (i, (layer, name)) in self.layers().iter().zip(self.layer_names()).enumerate() {
            let config = layer.config();
            config.build().map_err(|e| {
                Error::InvalidState(format!("save: layer {i} ({name}) cannot be saved: {e}"))
            })?;
            for (k, w) in layer.weights().into_iter().enumerate() {
                let tensor = weight_name(name, &config, k);
                check_finite(|| format!("save: {tensor}"), w.view())?;
                if trained(&config) {
                    trained_weights.push(tensors.len());
                }
                tensors.push((tensor, w));
            }
            layers.push(config);
        }
        let training = match (include_optimizer, self.loss(), self.optimizer()) {
            (true, Some(loss), Some(opt)) => {
                let cannot = |what: &str, name: &str| {
                    Error::InvalidState(format!(
                        "save: the {what} {name} cannot be saved; use save_without_optimizer"
                    ))
                };
                if losses::from_name(loss.name()).is_none() {
                    return Err(cannot("loss", loss.name()));
                }
                let optimizer = opt
                    .config()
                    .ok_or_else(|| cannot("optimizer", opt.name()))?;
                let state = opt.state();
                let mut groups = Vec::with_capacity(state.buffers.len());
                for group in state.buffers {
                    if !group.slots.is_empty() && group.slots.len() != trained_weights.len() {
                        return Err(Error::InvalidState(format!(
                            "save: the optimizer's {} buffers number {}, the trained weights {}",
                            group.name,
                            group.slots.len(),
                            trained_weights.len()
                        )));
                    }
                    groups.push(StateGroup {
                        name: group.name.clone(),
                        slots: group.slots.len(),
                    });
                    for (slot, &w) in group.slots.into_iter().zip(&trained_weights) {
                        let (weight, shape) = (&tensors[w].0, tensors[w].1.shape().to_vec());
                        let tensor = state_name(&group.name, weight);
                        check_finite(|| format!("save: {tensor}"), slot.view())?;
                        let buffer = (slot.into_dyn().into_shape_with_order(IxDyn(&shape)))
                            .map_err(|e| Error::InvalidState(format!("save: {tensor}: {e}")))?;
                        tensors.push((tensor, buffer));
                    }
                }
                Some(Training {
                    loss: loss.name().to_string(),
                    optimizer,
                    iterations: state.iterations,
                    state: groups,
                })
            }
            _ => None,
        };
        let description = Description {
            format: FORMAT_NAME.to_string(),
            version: FORMAT_VERSION,
            written_by: format!("ndnet {}", env!("CARGO_PKG_VERSION")),
            input_dim: self.input_dim(),
            seed: self.seed(),
            layers,
            training,
        };
        let json = serde_json::to_string(&description)
            .map_err(|e| Error::InvalidState(format!("save: cannot encode the model: {e}")))?;
        let metadata = BTreeMap::from([
            ("format".to_string(), "ndnet".to_string()),
            (MODEL_KEY.to_string(), json),
        ]);
        Ok((tensors, metadata))
    }

    /// Loads a model [`save`](Self::save)d to `path`. A file that is not a model, truncated,
    /// corrupt, from another format version or inconsistent gives [`Error::ModelFile`] saying
    /// what is wrong.
    ///
    /// Only a regular file of at most [`MAX_FILE_BYTES`] is read (symbolic links followed): a
    /// FIFO, a device or a directory gives [`Error::Io`] at once instead of blocking or reading
    /// without end. The limits [`MAX_LAYERS`], [`MAX_WIDTH`], [`MAX_ITERATIONS`] and
    /// [`MAX_HEADER_BYTES`] bound what a file may describe.
    pub fn load(path: impl AsRef<Path>) -> Result<Sequential> {
        safetensors::read_file(path.as_ref(), read_model)
    }

    /// Loads a model from the bytes of a saved file (see [`load`](Self::load)).
    pub fn from_bytes(bytes: &[u8]) -> Result<Sequential> {
        safetensors::read_bytes(bytes, read_model)
    }
}

type Checked<T> = std::result::Result<T, ModelFileError>;

/// Where a tensor of the file goes.
#[derive(Clone, Copy)]
enum Target {
    /// The `k`-th weight of layer `layer`.
    Weight { layer: usize, k: usize },
    /// Buffer `slot` of the optimizer's state group `group`.
    State { group: usize, slot: usize },
}

/// Reads a model from the `len` bytes of `r`, checking as it goes.
fn read_model(r: &mut dyn Read, len: u64) -> Reading<Sequential> {
    let file = read_header(r, len)?;
    let description = describe(&file.metadata)?;
    let layers = &description.layers;
    let shapes = weight_shapes(&description)?;
    let trained_shapes: Vec<&Vec<usize>> = (shapes.iter().zip(layers))
        .filter(|(_, config)| trained(config))
        .flat_map(|(s, _)| s)
        .collect();
    let groups = description.training.as_ref().map_or(&[][..], |t| &t.state);
    if let Some(g) = (groups.iter()).find(|g| g.slots != 0 && g.slots != trained_shapes.len()) {
        let message = format!(
            "state group {} has {} buffers for {} trained weights",
            g.name,
            g.slots,
            trained_shapes.len()
        );
        return Err(ModelFileError::Training(message).into());
    }

    // Before the layers allocate their weights: they must fit in the file's tensors (at 2
    // bytes a value, the smallest dtype), and the file must hold as many tensors as needed.
    let filled = groups.iter().filter(|g| g.slots > 0).count() as u64;
    let values = values(shapes.iter().flatten())
        .zip(values(trained_shapes.iter().copied()))
        .and_then(|(w, t)| t.checked_mul(filled)?.checked_add(w))
        .unwrap_or(u64::MAX);
    let count =
        shapes.iter().map(Vec::len).sum::<usize>() + groups.iter().map(|g| g.slots).sum::<usize>();
    if values.saturating_mul(2) > file.data_len() || count > file.tensors.len() {
        return Err(ModelFileError::Header(format!(
            "the architecture has {count} tensors of {values} values, the file {} tensors of \
             {} bytes",
            file.tensors.len(),
            file.data_len()
        ))
        .into());
    }

    let mut model = Sequential::new(description.input_dim).with_seed(description.seed);
    for (index, config) in layers.iter().enumerate() {
        let message = |e: Error| ModelFileError::Layer {
            index,
            message: e.to_string(),
        };
        config.build().and_then(|l| model.add(l)).map_err(message)?;
    }

    // The tensors the file must hold (the weights, then the optimizer's buffers), and where
    // each goes.
    let (mut expected, mut targets, mut trained_names) = (Vec::new(), Vec::new(), Vec::new());
    for (layer, (config, name)) in layers.iter().zip(model.layer_names()).enumerate() {
        for (k, shape) in shapes[layer].iter().enumerate() {
            let name = weight_name(name, config, k);
            if trained(config) {
                trained_names.push((name.clone(), shape.clone()));
            }
            expected.push((name, shape.clone()));
            targets.push(Target::Weight { layer, k });
        }
    }
    for (group, g) in groups.iter().enumerate() {
        for (slot, (weight, shape)) in trained_names.iter().enumerate().take(g.slots) {
            expected.push((state_name(&g.name, weight), shape.clone()));
            targets.push(Target::State { group, slot });
        }
    }
    let order = file.positions(&expected)?;

    // Read in the file's order; a layer's weights are set as soon as they are all read.
    let mut pending: Vec<Vec<Option<ArrayD<f32>>>> =
        shapes.iter().map(|s| vec![None; s.len()]).collect();
    let mut left: Vec<usize> = shapes.iter().map(Vec::len).collect();
    let mut state: Vec<Vec<Option<Array2<f32>>>> =
        groups.iter().map(|g| vec![None; g.slots]).collect();
    for (entry, &at) in file.tensors.iter().zip(&order) {
        let tensor = read_tensor(r, entry)?;
        match targets[at] {
            Target::Weight { layer, k } => {
                pending[layer][k] = Some(tensor);
                left[layer] -= 1;
                if left[layer] == 0 {
                    let own: Vec<_> = pending[layer].drain(..).flatten().collect();
                    let set = model.layers_mut()[layer].set_weights(&own);
                    set.map_err(|e| ModelFileError::Header(e.to_string()))?;
                }
            }
            Target::State { group, slot } => {
                let shape = param_shape(tensor.shape());
                let buffer = (tensor.into_shape_with_order(IxDyn(&shape)))
                    .and_then(|t| t.into_dimensionality())
                    .map_err(|e| ModelFileError::Training(format!("{}: {e}", expected[at].0)))?;
                state[group][slot] = Some(buffer);
            }
        }
    }
    let state = state.into_iter().map(|g| g.into_iter().flatten().collect());
    Ok(compile(model, description, state.collect())?)
}

/// How many values tensors of these shapes hold (`None` beyond `u64`).
fn values<'a>(shapes: impl IntoIterator<Item = &'a Vec<usize>>) -> Option<u64> {
    shapes.into_iter().try_fold(0u64, |acc, s| {
        acc.checked_add(s.iter().try_fold(1u64, |n, &d| n.checked_mul(d as u64))?)
    })
}

/// The model's description from the file's metadata: present, of this format and version, and
/// within the limits: the input width (1 to [`MAX_WIDTH`]), the number of layers (at most
/// [`MAX_LAYERS`]) and the optimizer's update count (at most [`MAX_ITERATIONS`]).
fn describe(metadata: &BTreeMap<String, String>) -> Checked<Description> {
    let Some(text) = metadata.get(MODEL_KEY) else {
        return Err(ModelFileError::Header(format!(
            "the metadata has no {MODEL_KEY:?} entry: not a model saved by Sequential::save \
             (weights saved by save_weights load with load_weights)"
        )));
    };
    #[derive(Deserialize)]
    struct Probe {
        #[serde(default)]
        format: String,
        #[serde(default)]
        version: u32,
    }
    let header = |e: serde_json::Error| ModelFileError::Header(format!("{MODEL_KEY}: {e}"));
    let probe: Probe = serde_json::from_str(text).map_err(header)?;
    if probe.format != FORMAT_NAME {
        return Err(ModelFileError::Header(format!(
            "format {:?}, expected {FORMAT_NAME:?}",
            probe.format
        )));
    }
    if probe.version != FORMAT_VERSION {
        return Err(ModelFileError::UnsupportedVersion {
            found: probe.version,
            supported: FORMAT_VERSION,
        });
    }
    let description: Description = serde_json::from_str(text).map_err(header)?;
    let (dim, layers) = (description.input_dim, description.layers.len());
    let iterations = description.training.as_ref().map_or(0, |t| t.iterations);
    let problem = if dim == 0 || dim > MAX_WIDTH {
        format!("input_dim {dim} is outside 1..={MAX_WIDTH}")
    } else if layers > MAX_LAYERS {
        format!("{layers} layers, above the limit of {MAX_LAYERS}")
    } else if iterations > MAX_ITERATIONS {
        let message = format!("iterations {iterations} is above the limit of {MAX_ITERATIONS}");
        return Err(ModelFileError::Training(message));
    } else {
        return Ok(description);
    };
    Err(ModelFileError::Header(problem))
}

/// The shapes of each layer's weights, as the architecture implies them (every layer's output
/// width checked against [`MAX_WIDTH`]).
fn weight_shapes(description: &Description) -> Checked<Vec<Vec<Vec<usize>>>> {
    let mut width = description.input_dim;
    let mut all = Vec::with_capacity(description.layers.len());
    for (index, config) in description.layers.iter().enumerate() {
        let layer_error = |message: String| ModelFileError::Layer { index, message };
        let (out, shapes) = config
            .weight_shapes(width)
            .map_err(|e| layer_error(e.to_string()))?;
        if out > MAX_WIDTH {
            return Err(layer_error(format!(
                "output width {out} is above the limit of {MAX_WIDTH}"
            )));
        }
        all.push(shapes);
        width = out;
    }
    Ok(all)
}

/// Checks the values of an optimizer's state buffers, independently of the format: running
/// averages of squared gradients (Adam's `v`, RMSprop's `ms`) cannot be negative (a negative
/// one would turn the next update into NaN).
fn check_state_group(
    optimizer: &OptimizerConfig,
    group: &str,
    slots: &[Array2<f32>],
) -> Checked<()> {
    let squares = match optimizer {
        OptimizerConfig::Adam(_) => group == "v",
        OptimizerConfig::RmsProp(_) => group == "ms",
        _ => false,
    };
    if !squares {
        return Ok(());
    }
    for (slot, b) in slots.iter().enumerate() {
        if let Some((position, &value)) = b.iter().enumerate().find(|(_, v)| **v < 0.0) {
            return Err(ModelFileError::Training(format!(
                "state buffer {group}/{slot} holds the negative value {value} at {position} \
                 (it averages squares)"
            )));
        }
    }
    Ok(())
}

/// Compiles the model with the saved loss, optimizer and optimizer state (`state` holds each
/// group's buffers).
fn compile(
    mut model: Sequential,
    description: Description,
    state: Vec<Vec<Array2<f32>>>,
) -> Checked<Sequential> {
    let Some(t) = description.training else {
        return Ok(model);
    };
    let training = ModelFileError::Training;
    let loss =
        losses::from_name(&t.loss).ok_or_else(|| training(format!("unknown loss {:?}", t.loss)))?;
    let optimizer = t.optimizer.build().map_err(|e| training(e.to_string()))?;
    model
        .compile_boxed(loss, optimizer)
        .map_err(|e| training(e.to_string()))?;
    let mut buffers = Vec::with_capacity(t.state.len());
    for (group, slots) in t.state.into_iter().zip(state) {
        check_state_group(&t.optimizer, &group.name, &slots)?;
        buffers.push(StateBuffers {
            name: group.name,
            slots,
        });
    }
    let state = OptimizerState {
        iterations: t.iterations,
        buffers,
    };
    if let Some(opt) = model.optimizer_mut() {
        opt.set_state(state).map_err(|e| training(e.to_string()))?;
    }
    Ok(model)
}
