//! The [safetensors](https://huggingface.co/docs/safetensors) format (feature `serde`, on by
//! default): named tensors that PyTorch, NumPy, candle, burn, tch and dfdx read and write.
//!
//! [`TensorFile`] reads and writes the format;
//! [`Sequential::save_weights`](crate::Sequential::save_weights) and
//! [`Sequential::load_weights`](crate::Sequential::load_weights) (in Keras's or PyTorch's names
//! and shapes, see [`WeightLayout`]) use it for a model's weights.
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
//! finite. Any failure is [`Error::ModelFile`] saying what is wrong; nothing panics.

mod weights;

pub use weights::WeightLayout;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use ndarray::{ArrayD, ArrayViewD, IxDyn};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::atomic_file::{open_regular, write_atomic};
use crate::error::{Error, ModelFileError, Result};
use crate::validate::check_finite;

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

/// One tensor's entry in the header.
#[derive(Deserialize)]
struct Entry {
    dtype: String,
    shape: Vec<u64>,
    data_offsets: [u64; 2],
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
        let views: Vec<(&str, ArrayViewD<f32>)> = self
            .tensors
            .iter()
            .map(|(n, t)| (n.as_str(), t.view()))
            .collect();
        Ok(encode(&views, &self.metadata))
    }

    /// Writes the file atomically (a temporary file beside `path`, flushed, then renamed).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        write_atomic(path.as_ref(), &self.to_bytes()?)
    }

    /// Reads a file; anything damaged gives [`Error::ModelFile`] (see the
    /// [module docs](self)); a missing file, one that is not a regular file or one larger than
    /// [`MAX_FILE_BYTES`] gives [`Error::Io`].
    pub fn load(path: impl AsRef<Path>) -> Result<TensorFile> {
        let path = path.as_ref();
        let bytes = read_regular(path)?;
        decode(&bytes).map_err(|problem| Error::ModelFile {
            source_name: path.display().to_string(),
            problem,
        })
    }

    /// Reads a file's bytes (see [`load`](Self::load)).
    pub fn from_bytes(bytes: &[u8]) -> Result<TensorFile> {
        decode(bytes).map_err(|problem| Error::ModelFile {
            source_name: "<bytes>".into(),
            problem,
        })
    }
}

/// The largest file [`TensorFile::load`] and [`Sequential::load_weights`](crate::Sequential::load_weights)
/// read: 4 GiB, as [`Sequential::load`](crate::Sequential::load).
pub const MAX_FILE_BYTES: u64 = 4 << 30;

/// Reads `path` if it is a regular file of at most [`MAX_FILE_BYTES`]: a FIFO, device or
/// directory gives [`Error::Io`] at once instead of blocking or reading without end.
pub(crate) fn read_regular(path: &Path) -> Result<Vec<u8>> {
    let (file, len) = open_regular(path, MAX_FILE_BYTES)?;
    let mut bytes = Vec::new();
    // len <= MAX_FILE_BYTES; the reservation fails cleanly where memory is short.
    bytes
        .try_reserve_exact(usize::try_from(len).unwrap_or(usize::MAX))
        .map_err(|_| {
            Error::io(
                path,
                std::io::Error::new(
                    std::io::ErrorKind::OutOfMemory,
                    format!("cannot allocate {len} bytes"),
                ),
            )
        })?;
    // The length bounds the read, should the file grow meanwhile.
    file.take(len)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

/// The bytes of a file holding `tensors` (as `F32`) and `metadata`.
pub(crate) fn encode(
    tensors: &[(&str, ArrayViewD<f32>)],
    metadata: &BTreeMap<String, String>,
) -> Vec<u8> {
    let mut header = Map::new();
    if !metadata.is_empty() {
        header.insert(METADATA_KEY.into(), json!(metadata));
    }
    let mut offset = 0usize;
    for (name, t) in tensors {
        let end = offset + 4 * t.len();
        header.insert(
            (*name).to_string(),
            json!({"dtype": "F32", "shape": t.shape(), "data_offsets": [offset, end]}),
        );
        offset = end;
    }
    let mut json = Value::Object(header).to_string().into_bytes();
    json.resize(json.len().next_multiple_of(8), b' ');
    let mut bytes = Vec::with_capacity(8 + json.len() + offset);
    bytes.extend_from_slice(&(json.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&json);
    for (_, t) in tensors {
        for v in t.iter() {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    bytes
}

/// A tensor whose entry has been checked against the data.
struct Located {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    start: usize,
    end: usize,
}

/// Parses and checks a whole file.
pub(crate) fn decode(bytes: &[u8]) -> Checked<TensorFile> {
    let found = bytes.len() as u64;
    let Some(prefix) = bytes.first_chunk::<8>() else {
        return Err(ModelFileError::Truncated { expected: 8, found });
    };
    let header_len = u64::from_le_bytes(*prefix);
    if header_len > MAX_HEADER_BYTES {
        return Err(ModelFileError::Header(format!(
            "the header length {header_len} is above the limit of {MAX_HEADER_BYTES} bytes"
        )));
    }
    if header_len > found - 8 {
        return Err(ModelFileError::Truncated {
            expected: 8 + header_len,
            found,
        });
    }
    // header_len <= found - 8, so it fits in usize.
    let data_start = 8 + header_len as usize;
    let (header, data) = (&bytes[8..data_start], &bytes[data_start..]);
    if header.first() != Some(&b'{') {
        return Err(ModelFileError::Header(
            "the header is not a JSON object (safetensors files start with a length, then '{')"
                .into(),
        ));
    }
    let entries: Map<String, Value> =
        serde_json::from_slice(header).map_err(|e| ModelFileError::Header(e.to_string()))?;
    let mut metadata = BTreeMap::new();
    let mut located = Vec::with_capacity(entries.len());
    for (name, value) in entries {
        if name == METADATA_KEY {
            if !value.is_null() {
                metadata = serde_json::from_value(value).map_err(|e| {
                    ModelFileError::Header(format!("{METADATA_KEY} is not a map of strings: {e}"))
                })?;
            }
            continue;
        }
        let entry: Entry = serde_json::from_value(value)
            .map_err(|e| ModelFileError::Header(format!("tensor {name}: {e}")))?;
        located.push(locate(name, entry, data.len() as u64, data_start as u64)?);
    }
    // The byte ranges must tile the data: sorted by start, each begins where the last ended.
    located.sort_by_key(|t| (t.start, t.end));
    let mut cursor = 0usize;
    let mut previous: Option<&str> = None;
    for t in &located {
        if t.start < cursor {
            return Err(ModelFileError::Header(format!(
                "tensors {} and {} overlap",
                previous.unwrap_or_default(),
                t.name
            )));
        }
        if t.start > cursor {
            return Err(ModelFileError::Header(format!(
                "data bytes {cursor}..{} belong to no tensor",
                t.start
            )));
        }
        cursor = t.end;
        previous = Some(&t.name);
    }
    if cursor < data.len() {
        return Err(ModelFileError::TrailingData {
            expected: (data_start + cursor) as u64,
            found,
        });
    }
    // Every size is now known to lie within the file: read.
    let mut tensors = Vec::with_capacity(located.len());
    for t in located {
        let size = t.dtype.size() as usize;
        let values: Vec<f32> = data[t.start..t.end]
            .chunks_exact(size)
            .map(|b| t.dtype.decode(b))
            .collect();
        if let Some((position, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(ModelFileError::NonFinite {
                name: t.name,
                position,
                value,
            });
        }
        let array = ArrayD::from_shape_vec(IxDyn(&t.shape), values)
            .map_err(|e| ModelFileError::Header(format!("tensor {}: {e}", t.name)))?;
        tensors.push((t.name, array));
    }
    Ok(TensorFile { metadata, tensors })
}

/// Checks one entry: a known dtype, a shape whose byte size fits in `u64` and equals the
/// entry's range, and a range inside the `data_len` bytes of data.
fn locate(name: String, entry: Entry, data_len: u64, data_start: u64) -> Checked<Located> {
    let header = |message: String| ModelFileError::Header(format!("tensor {name}: {message}"));
    let dtype = Dtype::parse(&entry.dtype).ok_or_else(|| {
        header(format!(
            "dtype {} is not one ndnet reads (F32, F64, F16, BF16)",
            entry.dtype
        ))
    })?;
    let [start, end] = entry.data_offsets;
    if start > end {
        return Err(header(format!(
            "data_offsets [{start}, {end}] are reversed"
        )));
    }
    // Zero-length axes aside, the shape must be one a file could hold (so every dimension, and
    // the element count, fits in usize even when another axis is empty).
    let too_large = || header(format!("shape {:?} is too large", entry.shape));
    entry
        .shape
        .iter()
        .try_fold(dtype.size(), |acc, &d| acc.checked_mul(d.max(1)))
        .filter(|&b| b <= isize::MAX as u64)
        .ok_or_else(too_large)?;
    let bytes = dtype.size() * entry.shape.iter().product::<u64>();
    if bytes != end - start {
        return Err(header(format!(
            "shape {:?} of {} takes {bytes} bytes, data_offsets [{start}, {end}] span {}",
            entry.shape,
            entry.dtype,
            end - start
        )));
    }
    if end > data_len {
        return Err(ModelFileError::Truncated {
            expected: data_start.saturating_add(end),
            found: data_start + data_len,
        });
    }
    let shape = entry
        .shape
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| too_large()))
        .collect::<Checked<Vec<usize>>>()?;
    Ok(Located {
        name,
        dtype,
        shape,
        start: start as usize,
        end: end as usize,
    })
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
