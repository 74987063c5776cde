//! Reading a safetensors header: its JSON parsed into entries without trusting a length or an
//! offset, each checked against the file, and one tensor read from its checked entry.

use std::collections::BTreeMap;
use std::io::Read;

use ndarray::{ArrayD, IxDyn};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use serde_json::Value;

use super::{Checked, Dtype, Failure, MAX_HEADER_BYTES, METADATA_KEY, Reading};
use crate::error::ModelFileError;

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
