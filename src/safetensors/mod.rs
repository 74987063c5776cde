//! The [safetensors](https://huggingface.co/docs/safetensors) format (feature `serde`, on by
//! default): named tensors that PyTorch, NumPy, candle, burn, tch and dfdx read and write.
//!
//! [`TensorFile`] reads and writes the format;
//! [`Sequential::save_weights`](crate::Sequential::save_weights) and
//! [`Sequential::load_weights`](crate::Sequential::load_weights) (in Keras's or PyTorch's names
//! and shapes, see [`WeightLayout`]) use it for a model's weights, and
//! [`Sequential::save`](crate::Sequential::save) and [`Sequential::load`](crate::Sequential::load)
//! for a whole model (weights, architecture and optimizer state, see [`io`](crate::io)).
//!
//! # File layout
//!
//! | offset | size | content |
//! |---|---|---|
//! | 0 | 8 | header length `N`, `u64` little-endian |
//! | 8 | `N` | header: a UTF-8 JSON object, padded with spaces |
//! | 8 + `N` | rest | the tensors' bytes, little-endian, row-major, back to back |
//!
//! The header maps each tensor's name to its `dtype`, `shape` and `data_offsets` (start and end
//! within the bytes after the header), plus an optional `"__metadata__"` map of strings:
//!
//! ```json
//! {"__metadata__":{"format":"pt"},
//!  "0.bias":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},
//!  "0.weight":{"dtype":"F32","shape":[3,4],"data_offsets":[12,60]}}
//! ```
//!
//! ndnet writes `F32` and reads `F32`, `F64` (NumPy's default), `F16` and `BF16`, converting to
//! `f32` (an `F64` value beyond `f32`'s range becomes infinite and is refused).
//!
//! # Damaged and hostile files
//!
//! Reading checks everything before it allocates anything sized by the file: the header length
//! (at most [`MAX_HEADER_BYTES`] and within the file), the header's JSON, every dtype, that each
//! tensor's shape times its element size fits in `u64` and equals its byte range, that the
//! ranges tile the data exactly (no gap, overlap or trailing bytes), and that every value is
//! finite. Any failure is [`Error::ModelFile`] saying what is wrong; nothing panics. Files are
//! streamed: the header is read and checked first, then the tensors one by one in the order of
//! their bytes, so reading holds no copy of the file.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use ndarray::ArrayD;
use serde_json::{Map, Value, json};

use crate::atomic_file::{open_regular, write_atomic_with};
use crate::error::{Error, ModelFileError, Result};
use crate::validate::check_finite;

mod header;

pub(crate) use header::{read_header, read_tensor};

/// The largest header a file may declare, in bytes (the limit of the reference implementation,
/// so that every file it reads, ndnet reads too).
pub const MAX_HEADER_BYTES: u64 = 100_000_000;

/// The key of the header's string map.
const METADATA_KEY: &str = "__metadata__";

type Checked<T> = std::result::Result<T, ModelFileError>;

/// The element types ndnet reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dtype {
    F32,
    F64,
    F16,
    BF16,
}

impl Dtype {
    fn parse(s: &str) -> Option<Dtype> {
        Some(match s {
            "F32" => Dtype::F32,
            "F64" => Dtype::F64,
            "F16" => Dtype::F16,
            "BF16" => Dtype::BF16,
            _ => return None,
        })
    }

    fn size(self) -> u64 {
        match self {
            Dtype::F32 => 4,
            Dtype::F64 => 8,
            Dtype::F16 | Dtype::BF16 => 2,
        }
    }

    /// The value of one element's little-endian bytes (`size()` of them), as `f32`.
    fn decode(self, b: &[u8]) -> f32 {
        match self {
            Dtype::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            Dtype::F64 => {
                f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
            }
            Dtype::F16 => f16_to_f32(u16::from_le_bytes([b[0], b[1]])),
            Dtype::BF16 => f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16),
        }
    }
}

/// IEEE half precision to single (exact: every `f16` is an `f32`).
fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let frac = u32::from(h & 0x3ff);
    let bits = match (exp, frac) {
        (0, 0) => sign,
        // Subnormal: frac · 2^-24, exact in f32.
        (0, f) => {
            let v = f as f32 * (1.0 / 16_777_216.0);
            return if sign == 0 { v } else { -v };
        }
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, f) => sign | 0x7fc0_0000 | (f << 13),
        (e, f) => sign | ((e + 127 - 15) << 23) | (f << 13),
    };
    f32::from_bits(bits)
}

/// How [`Sequential::save_weights`](crate::Sequential::save_weights) names and shapes the weights, and what
/// [`Sequential::load_weights`](crate::Sequential::load_weights) expects.
///
/// For the model `Dense(8, relu) → Dropout(0.2) → Dense(3, linear) → Softmax → Dense(1, sigmoid)`
/// on 4 inputs:
///
/// | layer | `Keras` | `PyTorch` | the `torch.nn.Sequential` module |
/// |---|---|---|---|
/// | `Dense(8, relu)` | `dense/kernel` (4, 8), `dense/bias` (8) | `0.weight` (8, 4), `0.bias` (8) | `0: Linear(4, 8)`, `1: ReLU()` |
/// | `Dropout(0.2)` | | | `2: Dropout(0.2)` |
/// | `Dense(3)` | `dense_1/kernel` (8, 3), `dense_1/bias` (3) | `3.weight` (3, 8), `3.bias` (3) | `3: Linear(8, 3)` |
/// | `Softmax` | | | `4: Softmax(dim=1)` |
/// | `Dense(1, sigmoid)` | `dense_2/kernel` (3, 1), `dense_2/bias` (1) | `5.weight` (1, 3), `5.bias` (1) | `5: Linear(3, 1)`, `6: Sigmoid()` |
///
/// That is, in the PyTorch layout every ndnet layer is one module of the equivalent
/// `torch.nn.Sequential`, except a `Dense` layer with an activation other than `linear`, which is
/// two (`nn.Linear`, then the activation); a `Dense` layer's weights are named by the index of
/// its `nn.Linear`, and its kernel is stored transposed, `(units, inputs)`, as `nn.Linear`
/// stores `weight`. Dropout, noise and activation layers have no weights but take an index.
/// A layer without a bias (`use_bias(false)`) has no `bias` tensor, as `nn.Linear(bias=False)`.
///
/// In the Keras layout a weight is named `{layer name}/kernel` or `{layer name}/bias` with the
/// names of [`Sequential::layer_names`](crate::Sequential::layer_names) (`dense`, `dense_1`, …, as Keras names them), kernels
/// `(inputs, units)`, the order and shapes of [`Sequential::get_weights`](crate::Sequential::get_weights) (so
/// `model.set_weights([f[k] for k in names])` moves them into Keras).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum WeightLayout {
    /// `dense/kernel` `(inputs, units)`, `dense/bias` `(units,)`, `dense_1/kernel`, …
    #[default]
    Keras,
    /// `0.weight` `(units, inputs)`, `0.bias` `(units,)`, … as `torch.nn.Sequential` of
    /// `nn.Linear` and activation modules names them.
    PyTorch,
}

impl WeightLayout {
    pub(crate) fn name(self) -> &'static str {
        match self {
            WeightLayout::Keras => "Keras",
            WeightLayout::PyTorch => "PyTorch",
        }
    }
}

/// Named `f32` tensors and a string map, as one safetensors file holds them.
///
/// Tensors keep the order they were added in (or, read from a file, the order of their bytes).
/// Every value is finite: [`push`](Self::push) refuses NaN and infinities, as reading does.
///
/// ```
/// use ndarray::{array, ArrayD};
/// use ndnet::safetensors::TensorFile;
/// let mut file = TensorFile::new();
/// file.push("w", array![[1.0f32, 2.0], [3.0, 4.0]].into_dyn())?;
/// file.insert_metadata("format", "pt");
/// let bytes = file.to_bytes()?;
/// let back = TensorFile::from_bytes(&bytes)?;
/// assert_eq!(back.get("w"), file.get("w"));
/// assert_eq!(back.metadata()["format"], "pt");
/// # Ok::<(), ndnet::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TensorFile {
    metadata: BTreeMap<String, String>,
    tensors: Vec<(String, ArrayD<f32>)>,
}

impl TensorFile {
    /// An empty file.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a tensor. Errors: the name is already used or is `"__metadata__"`
    /// ([`Error::InvalidParameter`]), or a value is not finite ([`Error::NonFinite`]).
    pub fn push(&mut self, name: impl Into<String>, tensor: ArrayD<f32>) -> Result<()> {
        let name = name.into();
        if name == METADATA_KEY || self.get(&name).is_some() {
            return Err(Error::param(
                "TensorFile",
                "name",
                &name,
                "must be unique and not \"__metadata__\"",
            ));
        }
        check_finite(|| format!("tensor {name}"), tensor.view())?;
        self.tensors.push((name, tensor));
        Ok(())
    }

    /// Sets a metadata entry (the header's `"__metadata__"` map).
    pub fn insert_metadata(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.metadata.insert(key.into(), value.into());
    }

    /// The metadata map.
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// The tensor called `name`, if any.
    pub fn get(&self, name: &str) -> Option<&ArrayD<f32>> {
        self.tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    /// The tensors with their names, in order.
    pub fn tensors(&self) -> &[(String, ArrayD<f32>)] {
        &self.tensors
    }

    /// The tensors with their names, by value.
    pub fn into_tensors(self) -> Vec<(String, ArrayD<f32>)> {
        self.tensors
    }

    /// The file's bytes: every tensor as `F32`, in order, the header padded with spaces to a
    /// multiple of 8 bytes (so the data is aligned, as the reference implementation writes it).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        encode(&self.tensors, &self.metadata)
    }

    /// Writes the file atomically (a temporary file beside `path`, flushed, then renamed).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        save(path.as_ref(), &self.tensors, &self.metadata)
    }

    /// Reads a file, streaming it; anything damaged gives [`Error::ModelFile`] (see the
    /// [module docs](self)); a missing file, one that is not a regular file or one larger than
    /// [`MAX_FILE_BYTES`] gives [`Error::Io`].
    pub fn load(path: impl AsRef<Path>) -> Result<TensorFile> {
        read_file(path.as_ref(), read_all)
    }

    /// Reads a file's bytes (see [`load`](Self::load)).
    pub fn from_bytes(bytes: &[u8]) -> Result<TensorFile> {
        read_bytes(bytes, read_all)
    }
}

/// Every tensor of a file, in the order of their bytes.
pub(crate) fn read_all(r: &mut dyn Read, len: u64) -> Reading<TensorFile> {
    let header = read_header(r, len)?;
    let mut tensors = Vec::with_capacity(header.tensors.len());
    for entry in &header.tensors {
        tensors.push((entry.name.clone(), read_tensor(r, entry)?));
    }
    Ok(TensorFile {
        metadata: header.metadata,
        tensors,
    })
}

/// The largest file [`TensorFile::load`], [`Sequential::load_weights`](crate::Sequential::load_weights)
/// and [`Sequential::load`](crate::Sequential::load) read: 4 GiB.
pub const MAX_FILE_BYTES: u64 = 4 << 30;

/// Why reading a file failed: the reader, or the content.
pub(crate) enum Failure {
    Io(std::io::Error),
    File(ModelFileError),
}

impl From<ModelFileError> for Failure {
    fn from(e: ModelFileError) -> Self {
        Failure::File(e)
    }
}

/// The result of reading part of a file.
pub(crate) type Reading<T> = std::result::Result<T, Failure>;

/// Runs `read` on `path` if it is a regular file of at most [`MAX_FILE_BYTES`] (a FIFO,
/// device or directory gives [`Error::Io`] at once instead of blocking or reading without
/// end), through a buffer, with the file's length. The length also bounds the read, should the
/// file grow meanwhile. Errors name `path`.
pub(crate) fn read_file<T>(
    path: &Path,
    read: impl FnOnce(&mut dyn Read, u64) -> Reading<T>,
) -> Result<T> {
    let (file, len) = open_regular(path, MAX_FILE_BYTES)?;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file.take(len));
    read(&mut reader, len).map_err(|e| match e {
        Failure::Io(e) => Error::io(path, e),
        Failure::File(problem) => Error::ModelFile {
            source_name: path.display().to_string(),
            problem,
        },
    })
}

/// Runs `read` on `bytes`, as [`read_file`] on a file holding them (errors name `<bytes>`).
pub(crate) fn read_bytes<T>(
    mut bytes: &[u8],
    read: impl FnOnce(&mut dyn Read, u64) -> Reading<T>,
) -> Result<T> {
    let len = bytes.len() as u64;
    read(&mut bytes, len).map_err(|e| match e {
        Failure::Io(e) => Error::io("<bytes>", e),
        Failure::File(problem) => Error::ModelFile {
            source_name: "<bytes>".into(),
            problem,
        },
    })
}

/// Writes a file holding `tensors` (as `F32`, in order) and `metadata` to `path` atomically.
pub(crate) fn save(
    path: &Path,
    tensors: &[(String, ArrayD<f32>)],
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    write_atomic_with(path, |w| {
        write(w, tensors, metadata).map_err(|e| Error::io(path, e))
    })
}

/// The bytes of a file holding `tensors` (as `F32`, in order) and `metadata`.
pub(crate) fn encode(
    tensors: &[(String, ArrayD<f32>)],
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    write(&mut bytes, tensors, metadata).map_err(|e| Error::io("<bytes>", e))?;
    Ok(bytes)
}

/// Writes the bytes of a file holding `tensors` (as `F32`, in order) and `metadata` to `w`.
fn write(
    w: &mut dyn Write,
    tensors: &[(String, ArrayD<f32>)],
    metadata: &BTreeMap<String, String>,
) -> std::io::Result<()> {
    let mut header = Map::new();
    if !metadata.is_empty() {
        header.insert(METADATA_KEY.into(), json!(metadata));
    }
    let mut offset = 0usize;
    for (name, t) in tensors {
        let end = offset + 4 * t.len();
        header.insert(
            name.clone(),
            json!({"dtype": "F32", "shape": t.shape(), "data_offsets": [offset, end]}),
        );
        offset = end;
    }
    let mut json = Value::Object(header).to_string().into_bytes();
    json.resize(json.len().next_multiple_of(8), b' ');
    w.write_all(&(json.len() as u64).to_le_bytes())?;
    w.write_all(&json)?;
    let mut buf = Vec::with_capacity(8192);
    for (_, t) in tensors {
        for v in t.iter() {
            buf.extend_from_slice(&v.to_le_bytes());
            if buf.len() == 8192 {
                w.write_all(&buf)?;
                buf.clear();
            }
        }
    }
    w.write_all(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precision_values() {
        // Values from the IEEE 754 binary16 table.
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x8001), -(2f32.powi(-24)));
        assert_eq!(f16_to_f32(0x03ff), 1023.0 * 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x8000).to_bits(), 0x8000_0000);
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
    }
}
