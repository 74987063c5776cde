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

use std::io::Read;
use std::path::Path;

use ndarray::{Array2, ArrayD, IxDyn};
use serde::{Deserialize, Serialize};

use crate::atomic_file::{open_regular, write_atomic};
use crate::error::{Error, ModelFileError, Result};
use crate::layers::LayerConfig;
use crate::losses;
use crate::model::Sequential;
use crate::optimizers::{OptimizerConfig, OptimizerState, StateBuffers};
use crate::validate::check_finite;

/// The first 8 bytes of every model file.
pub const MAGIC: [u8; 8] = *b"\x89NDNET\r\n";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The `format` field of the header.
pub const FORMAT_NAME: &str = "ndnet.sequential";

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

/// The largest header a file may have: 64 MiB (a header takes about 400 bytes per layer).
pub const MAX_HEADER_BYTES: u64 = 64 << 20;

/// The largest file [`Sequential::load`] reads: 4 GiB. Larger files, and anything that is not
/// a regular file (a FIFO, a device such as `/dev/zero`, a directory), are refused before
/// reading.
pub const MAX_FILE_BYTES: u64 = 4 << 30;

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
    !crc32_update(!0, bytes)
}

/// Continues a CRC-32 over `bytes` (the register before the final inversion).
fn crc32_update(mut c: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        c = CRC_TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8);
    }
    c
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
    ///
    /// Only a regular file of at most [`MAX_FILE_BYTES`] is read (symbolic links followed): a
    /// FIFO, a device or a directory gives [`Error::Io`] at once instead of blocking or reading
    /// without end. The limits [`MAX_LAYERS`], [`MAX_WIDTH`], [`MAX_ITERATIONS`] and
    /// [`MAX_HEADER_BYTES`] bound what a file may describe.
    pub fn load(path: impl AsRef<Path>) -> Result<Sequential> {
        let path = path.as_ref();
        let (file, len) = open_regular(path, MAX_FILE_BYTES)?;
        let mut reader = Stream {
            inner: std::io::BufReader::with_capacity(1 << 16, file.take(len)),
            crc: !0,
        };
        decode_stream(&mut reader, len).map_err(|e| match e {
            Failure::Io(e) => Error::io(path, e),
            Failure::File(problem) => Error::ModelFile {
                source_name: path.display().to_string(),
                problem,
            },
        })
    }

    /// Loads a model from the bytes of a saved file (see [`load`](Self::load)).
    pub fn from_bytes(bytes: &[u8]) -> Result<Sequential> {
        let mut reader = Stream {
            inner: bytes,
            crc: !0,
        };
        decode_stream(&mut reader, bytes.len() as u64).map_err(|e| match e {
            Failure::Io(e) => Error::io("<bytes>", e),
            Failure::File(problem) => Error::ModelFile {
                source_name: "<bytes>".to_string(),
                problem,
            },
        })
    }
}

/// Why a streamed load failed: reading, or the content.
enum Failure {
    Io(std::io::Error),
    File(ModelFileError),
}

impl From<ModelFileError> for Failure {
    fn from(e: ModelFileError) -> Self {
        Failure::File(e)
    }
}

/// A reader that keeps the CRC-32 of what has been read.
struct Stream<R> {
    inner: R,
    crc: u32,
}

impl<R: Read> Stream<R> {
    /// Reads exactly `buf.len()` bytes (the length was checked against the file's).
    fn fill(&mut self, buf: &mut [u8]) -> std::result::Result<(), Failure> {
        self.inner.read_exact(buf).map_err(Failure::Io)?;
        self.crc = crc32_update(self.crc, buf);
        Ok(())
    }

    /// Reads and checksums `n` bytes without keeping them.
    fn skip(&mut self, mut n: u64) -> std::result::Result<(), Failure> {
        let mut buf = [0u8; 8192];
        while n > 0 {
            let k = n.min(buf.len() as u64) as usize;
            self.fill(&mut buf[..k])?;
            n -= k as u64;
        }
        Ok(())
    }

    /// Reads the 4-byte trailer; a mismatch with the checksum of everything before it.
    fn checksum(&mut self) -> std::result::Result<Option<ModelFileError>, Failure> {
        let computed = !self.crc;
        let mut stored = [0u8; TRAILER];
        self.inner.read_exact(&mut stored).map_err(Failure::Io)?;
        let stored = u32::from_le_bytes(stored);
        Ok((stored != computed).then_some(ModelFileError::Checksum { stored, computed }))
    }

    /// `error`, unless the rest of the file (`data_left` bytes, then the trailer) fails the
    /// checksum: then the corruption is the news.
    fn unless_corrupt(&mut self, data_left: u64, error: ModelFileError) -> Failure {
        match self.skip(data_left).and_then(|()| self.checksum()) {
            Ok(Some(mismatch)) => Failure::File(mismatch),
            Ok(None) => Failure::File(error),
            Err(e) => e,
        }
    }

    /// Reads a tensor of `shape` (its length checked against the file's), noting the first
    /// non-finite value in `bad`.
    fn tensor(
        &mut self,
        name: &str,
        shape: &[usize],
        bad: &mut Option<ModelFileError>,
    ) -> std::result::Result<ArrayD<f32>, Failure> {
        let numel: usize = shape.iter().product();
        let mut values: Vec<f32> = Vec::new();
        values.try_reserve_exact(numel).map_err(|_| {
            Failure::File(ModelFileError::Header(format!(
                "tensor {name}: cannot allocate {numel} values"
            )))
        })?;
        let mut buf = [0u8; 8192];
        let mut left = numel * 4;
        while left > 0 {
            let k = left.min(buf.len());
            self.fill(&mut buf[..k])?;
            values.extend(
                buf[..k]
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            );
            left -= k;
        }
        if bad.is_none()
            && let Some((position, &value)) =
                values.iter().enumerate().find(|(_, v)| !v.is_finite())
        {
            *bad = Some(ModelFileError::NonFinite {
                name: name.to_string(),
                position,
                value,
            });
        }
        ArrayD::from_shape_vec(IxDyn(shape), values)
            .map_err(|e| Failure::File(ModelFileError::Header(format!("tensor {name}: {e}"))))
    }
}

/// Reads a model of `len` bytes from `r`, checking as it goes; at most one layer's tensors are
/// held besides the model being built (and the optimizer's buffers, which the model keeps).
fn decode_stream<R: Read>(r: &mut Stream<R>, len: u64) -> std::result::Result<Sequential, Failure> {
    let mut prefix = [0u8; PREFIX];
    let have = len.min(PREFIX as u64) as usize;
    r.fill(&mut prefix[..have])?;
    let header_len = check_prefix(&prefix[..have], len)?;
    // header_len <= len - PREFIX - TRAILER and <= MAX_HEADER_BYTES: it fits in usize.
    let mut text = vec![0u8; header_len as usize];
    r.fill(&mut text)?;
    let data_len = len - PREFIX as u64 - header_len - TRAILER as u64;
    let header: Header = match serde_json::from_slice(&text) {
        Ok(h) => h,
        Err(e) => return Err(r.unless_corrupt(data_len, ModelFileError::Header(e.to_string()))),
    };
    drop(text);
    check_format(&header)?;
    let tensors = tensor_list(&header)?;
    check_data_len(&tensors, len - data_len, len)?;

    // The layers, built as `add` builds them (an error is reported unless the file is
    // corrupt), then their weights, read layer by layer.
    let mut model = Sequential::new(header.input_dim).with_seed(header.seed);
    for (index, config) in header.layers.iter().enumerate() {
        let layer = config.build().and_then(|l| model.add(l));
        if let Err(e) = layer {
            let error = ModelFileError::Layer {
                index,
                message: e.to_string(),
            };
            return Err(r.unless_corrupt(data_len, error));
        }
    }
    let mut bad = None;
    let mut names = tensors.iter();
    let mut width = header.input_dim;
    let mut read = 0u64;
    for (index, config) in header.layers.iter().enumerate() {
        let (out, shapes) = config
            .weight_shapes(width)
            .map_err(|e| ModelFileError::Layer {
                index,
                message: e.to_string(),
            })?;
        width = out;
        let mut own = Vec::with_capacity(shapes.len());
        for _ in &shapes {
            let Some((name, shape)) = names.next() else {
                return Err(ModelFileError::Header("fewer tensors than layers need".into()).into());
            };
            own.push(r.tensor(name, shape, &mut bad)?);
            read += 4 * shape.iter().product::<usize>() as u64;
        }
        if bad.is_none()
            && let Err(e) = model.layers_mut()[index].set_weights(&own)
        {
            let error = ModelFileError::Header(e.to_string());
            return Err(r.unless_corrupt(data_len - read, error));
        }
    }
    let mut state = Vec::new();
    for (name, shape) in names {
        state.push(r.tensor(name, shape, &mut bad)?);
    }
    if let Some(mismatch) = r.checksum()? {
        return Err(mismatch.into());
    }
    if let Some(e) = bad {
        return Err(e.into());
    }
    Ok(compile(model, header, state)?)
}

/// Checks the magic, the version and the header length against the file's length `len`
/// (`prefix` holds the first bytes, up to [`PREFIX`]); returns the header length.
fn check_prefix(prefix: &[u8], len: u64) -> Checked<u64> {
    let head = &prefix[..prefix.len().min(MAGIC.len())];
    if head != &MAGIC[..head.len()] {
        return Err(ModelFileError::BadMagic {
            expected: MAGIC.to_vec(),
            found: head.to_vec(),
        });
    }
    if len < (PREFIX + TRAILER) as u64 {
        return Err(ModelFileError::Truncated {
            expected: (PREFIX + TRAILER) as u64,
            found: len,
        });
    }
    let version = u32::from_le_bytes([prefix[8], prefix[9], prefix[10], prefix[11]]);
    if version != FORMAT_VERSION {
        return Err(ModelFileError::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&prefix[12..PREFIX]);
    let header_len = u64::from_le_bytes(raw);
    if header_len > MAX_HEADER_BYTES {
        return Err(ModelFileError::Header(format!(
            "the header length {header_len} is above the limit of {MAX_HEADER_BYTES} bytes"
        )));
    }
    let room = len - (PREFIX + TRAILER) as u64;
    if header_len > room {
        return Err(ModelFileError::Truncated {
            expected: header_len.saturating_add((PREFIX + TRAILER) as u64),
            found: len,
        });
    }
    Ok(header_len)
}

/// The header names this format and version.
fn check_format(header: &Header) -> Checked<()> {
    if header.format != FORMAT_NAME || header.version != FORMAT_VERSION {
        return Err(ModelFileError::Header(format!(
            "format {:?} version {}, expected {FORMAT_NAME:?} version {FORMAT_VERSION}",
            header.format, header.version
        )));
    }
    Ok(())
}

/// The tensors need exactly the bytes the file has between the header and the trailer
/// (`fixed` is the size of everything else). Checked before anything is allocated from them.
fn check_data_len(tensors: &[(String, Vec<usize>)], fixed: u64, found: u64) -> Checked<()> {
    let mut floats: u64 = 0;
    for (name, shape) in tensors {
        floats = shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
            .and_then(|n| floats.checked_add(n))
            .ok_or_else(|| {
                ModelFileError::Header(format!("tensor {name} of shape {shape:?} is too large"))
            })?;
    }
    let total = floats
        .checked_mul(4)
        .and_then(|b| b.checked_add(fixed))
        .ok_or_else(|| ModelFileError::Header("the tensors are too large".into()))?;
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
    Ok(())
}

type Checked<T> = std::result::Result<T, ModelFileError>;

/// The names and shapes of the tensors the file must hold: the weights the architecture
/// implies (which the header's list must match), then the optimizer's buffers.
fn tensor_list(header: &Header) -> Checked<Vec<(String, Vec<usize>)>> {
    check_limits(
        header.input_dim,
        header.layers.len(),
        header.training.as_ref().map(|t| t.iterations),
    )?;
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

/// Checks what a file describes against the loader's limits, independently of the format's
/// framing: the input width (1 to [`MAX_WIDTH`]), the number of layers (at most
/// [`MAX_LAYERS`]) and the optimizer's update count (at most [`MAX_ITERATIONS`]).
fn check_limits(input_dim: usize, layers: usize, iterations: Option<u64>) -> Checked<()> {
    if input_dim == 0 || input_dim > MAX_WIDTH {
        return Err(ModelFileError::Header(format!(
            "input_dim {input_dim} is outside 1..={MAX_WIDTH}"
        )));
    }
    if layers > MAX_LAYERS {
        return Err(ModelFileError::Header(format!(
            "{layers} layers, above the limit of {MAX_LAYERS}"
        )));
    }
    if let Some(n) = iterations.filter(|&n| n > MAX_ITERATIONS) {
        return Err(ModelFileError::Training(format!(
            "iterations {n} is above the limit of {MAX_ITERATIONS}"
        )));
    }
    Ok(())
}

/// Checks the values of an optimizer's state buffers, independently of the format: running
/// averages of squared gradients (Adam's `v`, RMSprop's `ms`) cannot be negative (a negative
/// one would turn the next update into NaN). `buffers` starts with the group's `slots`.
fn check_state_group(
    optimizer: &OptimizerConfig,
    group: &str,
    buffers: &[ArrayD<f32>],
    slots: usize,
) -> Checked<()> {
    let squares = match optimizer {
        OptimizerConfig::Adam(_) => group == "v",
        OptimizerConfig::RmsProp(_) => group == "ms",
        _ => false,
    };
    if !squares {
        return Ok(());
    }
    for (slot, b) in buffers.iter().take(slots).enumerate() {
        if let Some((position, &value)) = b.iter().enumerate().find(|(_, v)| **v < 0.0) {
            return Err(ModelFileError::Training(format!(
                "state buffer {group}/{slot} holds the negative value {value} at {position} \
                 (it averages squares)"
            )));
        }
    }
    Ok(())
}

/// Compiles the model with the saved loss, optimizer and optimizer state.
fn compile(mut model: Sequential, header: Header, state: Vec<ArrayD<f32>>) -> Checked<Sequential> {
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
        check_state_group(
            &t.optimizer,
            &group.name,
            rest.as_slice(),
            group.shapes.len(),
        )?;
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
