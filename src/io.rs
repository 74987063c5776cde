//! Saving and loading models (feature `serde`, on by default).
//!
//! [`Sequential::save`] writes one file holding the architecture (every layer's
//! [`LayerConfig`]: units, activations, initializers, constraints, regularizers, dropout and
//! noise rates), the input width and seed, the weights and, unless saved with
//! [`save_without_optimizer`](Sequential::save_without_optimizer), the loss, the optimizer's
//! configuration and its state (update count, momentum or moment buffers), so that training
//! resumes with the same next step. [`Sequential::load`] rebuilds the model; it predicts
//! bit-identically to the one saved.
//!
//! Writes are atomic: the bytes go to a temporary file in the same directory, which is flushed
//! to disk and renamed over the target, so a crash leaves either the old file or the new one.
//!
//! Loading checks everything and returns [`Error::ModelFile`] (never panics): the magic bytes,
//! the version, the lengths (nothing is allocated from a length field before it is checked
//! against the file's size), the checksum, the header, every layer's configuration (with the
//! same validation as [`Sequential::add`]), every tensor's shape against the architecture, and
//! that every weight is finite.
//!
//! Not saved: the random generators' positions. A loaded model draws its dropout masks and
//! shuffles from fresh generators derived from the saved seed, so resuming a run that uses
//! dropout or shuffling continues it statistically, not bit for bit (Keras does not save them
//! either).
//!
//! # File layout (version 1)
//!
//! All integers and floats are little-endian.
//!
//! | offset | size | content |
//! |---|---|---|
//! | 0 | 8 | magic `89 4E 44 4E 45 54 0D 0A` (`\x89NDNET\r\n`) |
//! | 8 | 4 | format version, `u32` (1) |
//! | 12 | 8 | header length `H`, `u64` |
//! | 20 | `H` | header, UTF-8 JSON (below) |
//! | 20 + `H` | 4 · `N` | the tensors listed in the header, in order, each row-major `f32` |
//! | 20 + `H` + 4`N` | 4 | CRC-32 (IEEE, as zlib and PNG) of all preceding bytes, `u32` |
//!
//! The header, pretty-printed so `head -c 4000 model.ndnet` shows it:
//!
//! ```json
//! {
//!   "format": "ndnet.sequential",
//!   "version": 1,
//!   "written_by": "ndnet 0.1.0",
//!   "input_dim": 60,
//!   "seed": 7,
//!   "layers": [
//!     {"class_name": "Dense", "config": {"units": 60, "activation": "relu", "use_bias": true,
//!      "kernel_initializer": {"class_name": "RandomNormal", "config": {"mean": 0.0, "stddev": 0.05}},
//!      "bias_initializer": {"class_name": "Zeros"},
//!      "kernel_constraint": {"class_name": "MaxNorm", "config": {"max_value": 3.0, "axis": 0}},
//!      "bias_constraint": null, "kernel_regularizer": null}},
//!     {"class_name": "Dropout", "config": {"rate": 0.2}},
//!     ...
//!   ],
//!   "weights": [{"name": "dense/kernel", "shape": [60, 60]}, {"name": "dense/bias", "shape": [60]}, ...],
//!   "training": {
//!     "loss": "binary_crossentropy",
//!     "optimizer": {"class_name": "SGD", "config": {"learning_rate": 0.1, "momentum": 0.9, "nesterov": false, "decay": 0.0}},
//!     "iterations": 3900,
//!     "state": [{"name": "velocity", "shapes": [[60, 60], [60, 1], ...]}]
//!   }
//! }
//! ```
//!
//! The tensors are the `weights` in order (as [`Sequential::get_weights`] returns them), then
//! the optimizer's buffers, group by group, slot by slot (a buffer is shaped as its parameter,
//! with a bias seen as `(units, 1)`). `training` is absent for an uncompiled model or one saved
//! without its optimizer; such a model loads uncompiled.

use std::fs;
use std::path::Path;

use ndarray::{Array2, ArrayD, IxDyn};
use serde::{Deserialize, Serialize};

use crate::atomic_file::write_atomic;
use crate::error::{Error, ModelFileError, Result};
use crate::layers::LayerConfig;
use crate::losses;
use crate::model::{Sequential, check_finite};
use crate::optimizers::{OptimizerConfig, OptimizerState, StateBuffers};

/// The first 8 bytes of every model file.
pub const MAGIC: [u8; 8] = *b"\x89NDNET\r\n";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The `format` field of the header.
pub const FORMAT_NAME: &str = "ndnet.sequential";

/// The widest layer a file may describe. Wider layers cannot be real models (a `Dense` layer
/// that wide would need gigabytes); the bound keeps a corrupt width from reaching an allocation.
pub const MAX_WIDTH: usize = 1 << 31;

/// Bytes before the header: magic, version, header length.
const PREFIX: usize = 8 + 4 + 8;
/// Bytes after the tensors: the checksum.
const TRAILER: usize = 4;

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC-32 (IEEE 802.3, the checksum of zlib, gzip and PNG) of `bytes`: what a model file stores
/// in its last 4 bytes.
///
/// ```
/// assert_eq!(ndnet::io::crc32(b"123456789"), 0xCBF4_3926);
/// ```
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c = CRC_TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8);
    }
    !c
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    version: u32,
    #[serde(default)]
    written_by: String,
    input_dim: usize,
    seed: u64,
    layers: Vec<LayerConfig>,
    weights: Vec<TensorInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    training: Option<Training>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TensorInfo {
    name: String,
    shape: Vec<usize>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Training {
    loss: String,
    optimizer: OptimizerConfig,
    iterations: u64,
    state: Vec<StateInfo>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateInfo {
    name: String,
    shapes: Vec<Vec<usize>>,
}

/// The shape an optimizer sees a parameter as: a bias `(units,)` as `(units, 1)`.
fn param_shape(shape: &[usize]) -> Vec<usize> {
    match shape {
        [n] => vec![*n, 1],
        s => s.to_vec(),
    }
}

fn weight_name(layer: &str, config: &LayerConfig, i: usize) -> String {
    if matches!(config, LayerConfig::Normalization) {
        return match i {
            0 => format!("{layer}/mean"),
            _ => format!("{layer}/scale"),
        };
    }
    match i {
        0 => format!("{layer}/kernel"),
        1 => format!("{layer}/bias"),
        _ => format!("{layer}/weight_{i}"),
    }
}

impl Sequential {
    /// Saves the model, with its optimizer state, to `path` (see [the format](crate::io)).
    /// The write is atomic. Errors name the layer or optimizer that cannot be saved (one
    /// defined outside this crate) or the I/O failure.
    ///
    /// ```
    /// use ndnet::prelude::*;
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("model.ndnet");
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
    /// # Ok::<(), ndnet::Error>(())
    /// ```
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        write_atomic(path.as_ref(), &self.to_bytes(true)?)
    }

    /// Saves the architecture and weights only; the loaded model is not compiled.
    pub fn save_without_optimizer(&self, path: impl AsRef<Path>) -> Result<()> {
        write_atomic(path.as_ref(), &self.to_bytes(false)?)
    }

    /// The bytes [`save`](Self::save) writes (with the optimizer state when
    /// `include_optimizer` and the model is compiled).
    pub fn to_bytes(&self, include_optimizer: bool) -> Result<Vec<u8>> {
        let mut layers = Vec::with_capacity(self.layers().len());
        let mut weights = Vec::new();
        let mut data: Vec<ArrayD<f32>> = Vec::new();
        for (i, (layer, name)) in self.layers().iter().zip(self.layer_names()).enumerate() {
            let config = layer.config();
            config.build().map_err(|e| {
                Error::InvalidState(format!("save: layer {i} ({name}) cannot be saved: {e}"))
            })?;
            for (k, w) in layer.weights().into_iter().enumerate() {
                let tensor = weight_name(name, &config, k);
                check_finite(|| format!("save: {tensor}"), w.view())?;
                weights.push(TensorInfo {
                    name: tensor,
                    shape: w.shape().to_vec(),
                });
                data.push(w);
            }
            layers.push(config);
        }
        let training = match (include_optimizer, self.loss(), self.optimizer()) {
            (true, Some(loss), Some(opt)) => {
                if losses::from_name(loss.name()).is_none() {
                    return Err(Error::InvalidState(format!(
                        "save: the loss {} cannot be saved; use save_without_optimizer",
                        loss.name()
                    )));
                }
                let optimizer = opt.config().ok_or_else(|| {
                    Error::InvalidState(format!(
                        "save: the optimizer {} cannot be saved; use save_without_optimizer",
                        opt.name()
                    ))
                })?;
                let state = opt.state();
                let mut infos = Vec::with_capacity(state.buffers.len());
                for group in state.buffers {
                    infos.push(StateInfo {
                        name: group.name,
                        shapes: group.slots.iter().map(|a| a.shape().to_vec()).collect(),
                    });
                    data.extend(group.slots.into_iter().map(|a| a.into_dyn()));
                }
                Some(Training {
                    loss: loss.name().to_string(),
                    optimizer,
                    iterations: state.iterations,
                    state: infos,
                })
            }
            _ => None,
        };
        let header = Header {
            format: FORMAT_NAME.to_string(),
            version: FORMAT_VERSION,
            written_by: format!("ndnet {}", env!("CARGO_PKG_VERSION")),
            input_dim: self.input_dim(),
            seed: self.seed(),
            layers,
            weights,
            training,
        };
        let json = serde_json::to_vec_pretty(&header)
            .map_err(|e| Error::InvalidState(format!("save: cannot encode the header: {e}")))?;
        let floats: usize = data.iter().map(|a| a.len()).sum();
        let mut bytes = Vec::with_capacity(PREFIX + json.len() + 4 * floats + TRAILER);
        bytes.extend_from_slice(&MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&(json.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&json);
        for a in &data {
            for v in a.iter() {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
        }
        let crc = crc32(&bytes);
        bytes.extend_from_slice(&crc.to_le_bytes());
        Ok(bytes)
    }

    /// Loads a model [`save`](Self::save)d to `path`. A file that is not a model, truncated,
    /// corrupt, from another format version or inconsistent gives [`Error::ModelFile`] saying
    /// what is wrong.
    pub fn load(path: impl AsRef<Path>) -> Result<Sequential> {
        let path = path.as_ref();
        let bytes = fs::read(path).map_err(|e| Error::io(path, e))?;
        decode(&bytes, &path.display().to_string())
    }

    /// Loads a model from the bytes of a saved file (see [`load`](Self::load)).
    pub fn from_bytes(bytes: &[u8]) -> Result<Sequential> {
        decode(bytes, "<bytes>")
    }
}

/// Reads the model in `bytes`; `source` names it in errors.
fn decode(bytes: &[u8], source: &str) -> Result<Sequential> {
    decode_model(bytes).map_err(|problem| Error::ModelFile {
        source_name: source.to_string(),
        problem,
    })
}

type Checked<T> = std::result::Result<T, ModelFileError>;

fn decode_model(bytes: &[u8]) -> Checked<Sequential> {
    let framed = unframe(bytes)?;
    let tensors = tensor_list(&framed.header)?;
    // Every length is checked against the file before anything is allocated from it.
    let mut floats: u64 = 0;
    for (name, shape) in &tensors {
        floats = shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
            .and_then(|n| floats.checked_add(n))
            .ok_or_else(|| {
                ModelFileError::Header(format!("tensor {name} of shape {shape:?} is too large"))
            })?;
    }
    let fixed = (bytes.len() - framed.data.len()) as u64;
    let total = floats
        .checked_mul(4)
        .and_then(|b| b.checked_add(fixed))
        .ok_or_else(|| ModelFileError::Header("the tensors are too large".into()))?;
    let found = bytes.len() as u64;
    if found < total {
        return Err(ModelFileError::Truncated {
            expected: total,
            found,
        });
    }
    if found > total {
        return Err(ModelFileError::TrailingData {
            expected: total,
            found,
        });
    }
    if let Some(mismatch) = framed.checksum {
        return Err(mismatch);
    }
    let mut arrays = read_tensors(framed.data, tensors)?;
    let state = arrays.split_off(framed.header.weights.len());
    rebuild(framed.header, arrays, state)
}

/// A file split into its header and tensor bytes.
struct Framed<'a> {
    header: Header,
    /// The bytes between the header and the checksum.
    data: &'a [u8],
    /// The checksum error, if the stored CRC does not match (reported once the lengths are
    /// known to be right, so that a truncated file is reported as truncated).
    checksum: Option<ModelFileError>,
}

/// Checks the magic, the version and the header length, and parses the header.
fn unframe(bytes: &[u8]) -> Checked<Framed<'_>> {
    let len = bytes.len();
    let head = &bytes[..len.min(MAGIC.len())];
    if head != &MAGIC[..head.len()] {
        return Err(ModelFileError::BadMagic {
            expected: MAGIC.to_vec(),
            found: head.to_vec(),
        });
    }
    let (Some(version), Some(header_len), Some(stored)) = (
        bytes.get(8..12).and_then(|b| b.try_into().ok()),
        bytes.get(12..PREFIX).and_then(|b| b.try_into().ok()),
        len.checked_sub(TRAILER)
            .filter(|&end| end >= PREFIX)
            .and_then(|end| bytes[end..].try_into().ok()),
    ) else {
        return Err(ModelFileError::Truncated {
            expected: (PREFIX + TRAILER) as u64,
            found: len as u64,
        });
    };
    let version = u32::from_le_bytes(version);
    if version != FORMAT_VERSION {
        return Err(ModelFileError::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let header_len = u64::from_le_bytes(header_len);
    let room = (len - PREFIX - TRAILER) as u64;
    if header_len > room {
        return Err(ModelFileError::Truncated {
            expected: header_len.saturating_add((PREFIX + TRAILER) as u64),
            found: len as u64,
        });
    }
    // header_len <= room < len, so it fits in usize.
    let header_end = PREFIX + header_len as usize;
    let (stored, computed) = (u32::from_le_bytes(stored), crc32(&bytes[..len - TRAILER]));
    let checksum = (stored != computed).then_some(ModelFileError::Checksum { stored, computed });
    let header: Header = match serde_json::from_slice(&bytes[PREFIX..header_end]) {
        Ok(h) => h,
        // Unparseable and corrupt: the corruption is the news.
        Err(e) => return Err(checksum.unwrap_or(ModelFileError::Header(e.to_string()))),
    };
    if header.format != FORMAT_NAME || header.version != FORMAT_VERSION {
        return Err(ModelFileError::Header(format!(
            "format {:?} version {}, expected {FORMAT_NAME:?} version {FORMAT_VERSION}",
            header.format, header.version
        )));
    }
    Ok(Framed {
        header,
        data: &bytes[header_end..len - TRAILER],
        checksum,
    })
}

/// The names and shapes of the tensors the file must hold: the weights the architecture
/// implies (which the header's list must match), then the optimizer's buffers.
fn tensor_list(header: &Header) -> Checked<Vec<(String, Vec<usize>)>> {
    if header.input_dim > MAX_WIDTH {
        return Err(ModelFileError::Header(format!(
            "input_dim {} is above the limit of {MAX_WIDTH}",
            header.input_dim
        )));
    }
    let mut expected = Vec::new();
    let mut width = header.input_dim;
    for (index, config) in header.layers.iter().enumerate() {
        let layer_error = |message: String| ModelFileError::Layer { index, message };
        let (out, shapes) = config
            .weight_shapes(width)
            .map_err(|e| layer_error(e.to_string()))?;
        if out > MAX_WIDTH {
            return Err(layer_error(format!(
                "output width {out} is above the limit of {MAX_WIDTH}"
            )));
        }
        expected.extend(shapes);
        width = out;
    }
    if expected.len() != header.weights.len() {
        return Err(ModelFileError::Header(format!(
            "the architecture has {} weight tensors, the header lists {}",
            expected.len(),
            header.weights.len()
        )));
    }
    let mut tensors = Vec::new();
    for (index, (want, info)) in expected.iter().zip(&header.weights).enumerate() {
        if *want != info.shape {
            return Err(ModelFileError::Shape {
                index,
                name: info.name.clone(),
                expected: want.clone(),
                found: info.shape.clone(),
            });
        }
        tensors.push((info.name.clone(), info.shape.clone()));
    }
    if let Some(t) = &header.training {
        let params: Vec<Vec<usize>> = expected.iter().map(|s| param_shape(s)).collect();
        for group in &t.state {
            // A buffer group is empty before the first update, else one buffer per parameter.
            if !(group.shapes.is_empty() || group.shapes == params) {
                let slot = (0..params.len().max(group.shapes.len()))
                    .find(|&i| group.shapes.get(i) != params.get(i))
                    .unwrap_or(0);
                return Err(ModelFileError::Shape {
                    index: tensors.len() + slot,
                    name: format!("{}/{slot}", group.name),
                    expected: params.get(slot).cloned().unwrap_or_default(),
                    found: group.shapes.get(slot).cloned().unwrap_or_default(),
                });
            }
            for (slot, shape) in group.shapes.iter().enumerate() {
                tensors.push((format!("{}/{slot}", group.name), shape.clone()));
            }
        }
    }
    Ok(tensors)
}

/// Reads the tensors from `data`, which holds exactly their values; refuses non-finite ones.
fn read_tensors(data: &[u8], tensors: Vec<(String, Vec<usize>)>) -> Checked<Vec<ArrayD<f32>>> {
    let mut values = data
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]));
    let mut arrays = Vec::with_capacity(tensors.len());
    for (name, shape) in tensors {
        let numel: usize = shape.iter().product();
        let v: Vec<f32> = values.by_ref().take(numel).collect();
        if let Some((position, &value)) = v.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(ModelFileError::NonFinite {
                name,
                position,
                value,
            });
        }
        let array = ArrayD::from_shape_vec(IxDyn(&shape), v)
            .map_err(|e| ModelFileError::Header(format!("tensor {name}: {e}")))?;
        arrays.push(array);
    }
    Ok(arrays)
}

/// Builds the model with the same validation as `add`, sets its weights, and compiles it with
/// the saved loss, optimizer and optimizer state.
fn rebuild(
    header: Header,
    weights: Vec<ArrayD<f32>>,
    state: Vec<ArrayD<f32>>,
) -> Checked<Sequential> {
    let mut model = Sequential::new(header.input_dim).with_seed(header.seed);
    for (index, config) in header.layers.iter().enumerate() {
        let layer_error = |e: Error| ModelFileError::Layer {
            index,
            message: e.to_string(),
        };
        model
            .add(config.build().map_err(layer_error)?)
            .map_err(layer_error)?;
    }
    model
        .set_weights(&weights)
        .map_err(|e| ModelFileError::Header(e.to_string()))?;
    let Some(t) = header.training else {
        return Ok(model);
    };
    let training = ModelFileError::Training;
    let loss =
        losses::from_name(&t.loss).ok_or_else(|| training(format!("unknown loss {:?}", t.loss)))?;
    let optimizer = t.optimizer.build().map_err(|e| training(e.to_string()))?;
    model
        .compile_boxed(loss, optimizer)
        .map_err(|e| training(e.to_string()))?;
    let mut rest = state.into_iter();
    let mut buffers = Vec::with_capacity(t.state.len());
    for group in t.state {
        let slots = rest
            .by_ref()
            .take(group.shapes.len())
            .map(|a| a.into_dimensionality())
            .collect::<std::result::Result<Vec<Array2<f32>>, _>>()
            .map_err(|e| training(format!("state buffer {}: {e}", group.name)))?;
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
