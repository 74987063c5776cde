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

use ndarray::{ArrayD, IxDyn};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value, json};

use crate::atomic_file::{open_regular, write_atomic_with};
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

/// One tensor's entry in a file's header, checked against the file.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The tensor's name.
    pub(crate) name: String,
    dtype: Dtype,
    /// Its shape.
    pub(crate) shape: Vec<usize>,
    /// Its bytes, from the start of the data.
    bytes: std::ops::Range<u64>,
}

/// A file's header, checked against the file's length.
pub(crate) struct Header {
    /// The `"__metadata__"` map (empty if the file has none).
    pub(crate) metadata: BTreeMap<String, String>,
    /// The tensors in the order of their bytes, which tile the data exactly: the order in which
    /// [`read_tensor`] reads them.
    pub(crate) tensors: Vec<Entry>,
}

impl Header {
    /// The bytes of tensor data (all of the file after the header).
    pub(crate) fn data_len(&self) -> u64 {
        self.tensors.last().map_or(0, |t| t.bytes.end)
    }

    /// For each tensor of the file, in its order, its position in `expected` (names and
    /// shapes): every expected tensor must be in the file, with its shape
    /// ([`ModelFileError::Shape`] otherwise, with its position), and the file must hold no
    /// other.
    pub(crate) fn positions(&self, expected: &[(String, Vec<usize>)]) -> Checked<Vec<usize>> {
        let index: std::collections::HashMap<&str, usize> = (expected.iter().enumerate())
            .map(|(i, (name, _))| (name.as_str(), i))
            .collect();
        let mut seen = vec![false; expected.len()];
        let mut order = Vec::with_capacity(self.tensors.len());
        for t in &self.tensors {
            let Some(&at) = index.get(t.name.as_str()) else {
                let message = format!("tensor {} is not one of the model's", t.name);
                return Err(ModelFileError::Header(message));
            };
            if t.shape != expected[at].1 {
                return Err(ModelFileError::Shape {
                    index: at,
                    name: t.name.clone(),
                    expected: expected[at].1.clone(),
                    found: t.shape.clone(),
                });
            }
            seen[at] = true;
            order.push(at);
        }
        match seen.iter().position(|s| !s) {
            Some(at) => Err(ModelFileError::Header(format!(
                "no tensor {}",
                expected[at].0
            ))),
            None => Ok(order),
        }
    }
}

/// A tensor's entry as the header holds it.
#[derive(Deserialize)]
struct RawEntry {
    dtype: String,
    shape: Vec<u64>,
    data_offsets: [u64; 2],
}

/// The header's JSON object: each tensor's entry is parsed on its own (so that the whole object
/// is never held as a `serde_json::Value`), its errors naming the tensor.
struct RawHeader {
    metadata: Option<BTreeMap<String, String>>,
    entries: Vec<(String, RawEntry)>,
}

impl<'de> Deserialize<'de> for RawHeader {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Fields;
        impl<'de> Visitor<'de> for Fields {
            type Value = RawHeader;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object of tensor entries")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<RawHeader, A::Error> {
                let mut header = RawHeader {
                    metadata: None,
                    entries: Vec::new(),
                };
                while let Some(name) = map.next_key::<String>()? {
                    let value: Value = map.next_value()?;
                    if name == METADATA_KEY {
                        if header.metadata.is_some() {
                            return Err(de::Error::custom(format!("{METADATA_KEY} appears twice")));
                        }
                        header.metadata = Some(match value {
                            Value::Null => BTreeMap::new(),
                            v => serde_json::from_value(v).map_err(|e| {
                                de::Error::custom(format!(
                                    "{METADATA_KEY} is not a map of strings: {e}"
                                ))
                            })?,
                        });
                    } else {
                        let entry = serde_json::from_value(value)
                            .map_err(|e| de::Error::custom(format!("tensor {name}: {e}")))?;
                        header.entries.push((name, entry));
                    }
                }
                Ok(header)
            }
        }
        d.deserialize_map(Fields)
    }
}

/// Reads and checks a file's length prefix and header from `r` (at the file's start; the file
/// has `len` bytes): the header length (at most [`MAX_HEADER_BYTES`] and within the file), the
/// JSON, every entry (a known dtype, a shape whose byte size fits and equals its range), names
/// used once, and byte ranges that tile the data exactly. Nothing sized by the file is
/// allocated before it is checked against `len`.
pub(crate) fn read_header(r: &mut dyn Read, len: u64) -> Reading<Header> {
    if len < 8 {
        return Err(ModelFileError::Truncated {
            expected: 8,
            found: len,
        }
        .into());
    }
    let mut prefix = [0u8; 8];
    r.read_exact(&mut prefix).map_err(Failure::Io)?;
    let header_len = u64::from_le_bytes(prefix);
    if header_len > MAX_HEADER_BYTES {
        return Err(ModelFileError::Header(format!(
            "the header length {header_len} is above the limit of {MAX_HEADER_BYTES} bytes \
             (not a safetensors file?)"
        ))
        .into());
    }
    if header_len > len - 8 {
        return Err(ModelFileError::Truncated {
            expected: 8 + header_len,
            found: len,
        }
        .into());
    }
    // header_len <= len - 8 and <= MAX_HEADER_BYTES: it fits in usize.
    let mut text = vec![0u8; header_len as usize];
    r.read_exact(&mut text).map_err(Failure::Io)?;
    if text.first() != Some(&b'{') {
        return Err(ModelFileError::Header(
            "the header is not a JSON object (safetensors files start with a length, then '{')"
                .into(),
        )
        .into());
    }
    let raw: RawHeader =
        serde_json::from_slice(&text).map_err(|e| ModelFileError::Header(e.to_string()))?;
    drop(text);
    let data_len = len - 8 - header_len;
    let mut tensors = Vec::with_capacity(raw.entries.len());
    for (name, entry) in raw.entries {
        tensors.push(locate(name, entry, data_len, 8 + header_len)?);
    }
    let mut names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(ModelFileError::Header(format!("tensor {} appears twice", w[0])).into());
    }
    // The byte ranges must tile the data: sorted by start, each begins where the last ended.
    tensors.sort_by_key(|t| (t.bytes.start, t.bytes.end));
    let mut cursor = 0u64;
    let mut previous: Option<&str> = None;
    for t in &tensors {
        if t.bytes.start < cursor {
            return Err(ModelFileError::Header(format!(
                "tensors {} and {} overlap",
                previous.unwrap_or_default(),
                t.name
            ))
            .into());
        }
        if t.bytes.start > cursor {
            return Err(ModelFileError::Header(format!(
                "data bytes {cursor}..{} belong to no tensor",
                t.bytes.start
            ))
            .into());
        }
        cursor = t.bytes.end;
        previous = Some(&t.name);
    }
    if cursor < data_len {
        return Err(ModelFileError::TrailingData {
            expected: 8 + header_len + cursor,
            found: len,
        }
        .into());
    }
    Ok(Header {
        metadata: raw.metadata.unwrap_or_default(),
        tensors,
    })
}

/// Reads the next tensor from `r`, which stands where `entry`'s bytes begin (the entries of
/// [`read_header`] are read in their order), converting it to `f32` and refusing a value that
/// is not finite. Its size was checked against the file's length by [`read_header`].
pub(crate) fn read_tensor(r: &mut dyn Read, entry: &Entry) -> Reading<ArrayD<f32>> {
    let size = entry.dtype.size() as usize;
    // The range lies within the file (read_header): it fits in usize.
    let mut left = (entry.bytes.end - entry.bytes.start) as usize;
    let mut values: Vec<f32> = Vec::new();
    values.try_reserve_exact(left / size).map_err(|_| {
        ModelFileError::Header(format!(
            "tensor {}: cannot allocate {} values",
            entry.name,
            left / size
        ))
    })?;
    // A multiple of every element size, so no element straddles two reads.
    let mut buf = [0u8; 8192];
    while left > 0 {
        let k = left.min(buf.len());
        r.read_exact(&mut buf[..k]).map_err(Failure::Io)?;
        values.extend(buf[..k].chunks_exact(size).map(|b| entry.dtype.decode(b)));
        left -= k;
    }
    if let Some((position, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(ModelFileError::NonFinite {
            name: entry.name.clone(),
            position,
            value,
        }
        .into());
    }
    ArrayD::from_shape_vec(IxDyn(&entry.shape), values)
        .map_err(|e| ModelFileError::Header(format!("tensor {}: {e}", entry.name)).into())
}

/// Checks one entry: a known dtype, a shape whose byte size fits in `u64` and equals the
/// entry's range, and a range inside the `data_len` bytes of data (which start at byte
/// `data_start` of the file).
fn locate(name: String, entry: RawEntry, data_len: u64, data_start: u64) -> Checked<Entry> {
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
    Ok(Entry {
        name,
        dtype,
        shape,
        bytes: start..end,
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
