//! The IDX file format of MNIST and Fashion-MNIST, plain or gzip-compressed.
//!
//! An IDX file is a big-endian header followed by the data, row-major:
//!
//! ```text
//! bytes 0-1   0x00 0x00
//! byte  2     element type: 0x08 = unsigned byte (the only type read here)
//! byte  3     number of dimensions d
//! then d big-endian u32 dimensions, then the product of the dimensions in elements
//! ```
//!
//! So labels start with the magic number `0x00000801` (one dimension: the count) and images with
//! `0x00000803` (count, rows, columns). [`read_file`] and [`from_bytes`] recognise gzip by its
//! first two bytes (`1f 8b`) and decompress it (pure Rust, no C library).
//!
//! The header is checked before any buffer for the data is allocated: a wrong magic number, a
//! product of dimensions above [`MAX_DATA_BYTES`], or (for an uncompressed file) a file length
//! that disagrees with the dimensions is an error at once; a compressed stream is read in pieces,
//! so a header announcing more than the file holds never allocates more than the file's content.
//!
//! ```
//! use ndnet::datasets::idx;
//! // Three labels: magic 0x801, one dimension (3), then the bytes.
//! let bytes = [0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1];
//! let labels = idx::from_bytes(&bytes, idx::MAGIC_LABELS, "inline")?;
//! assert_eq!(labels.dims, vec![3]);
//! assert_eq!(labels.data, vec![7, 2, 1]);
//! # Ok::<(), ndnet::Error>(())
//! ```

use std::io::{BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use crate::error::{Error, IdxError, Result};

/// Magic number of a label file: unsigned bytes, one dimension.
pub const MAGIC_LABELS: u32 = 0x0000_0801;

/// Magic number of an image file: unsigned bytes, three dimensions (count, rows, columns).
pub const MAGIC_IMAGES: u32 = 0x0000_0803;

/// Largest data part accepted (1 GiB), so a corrupt header cannot ask for an absurd buffer.
pub const MAX_DATA_BYTES: u64 = 1 << 30;

/// The contents of an IDX file of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idx {
    /// The dimensions, e.g. `[60000, 28, 28]` for MNIST's training images.
    pub dims: Vec<usize>,
    /// The elements, row-major; `data.len()` is the product of `dims`.
    pub data: Vec<u8>,
}

impl Idx {
    /// The file's header as it is stored: the magic number and the dimensions, big-endian.
    pub fn header_bytes(&self) -> Vec<u8> {
        let mut h = vec![0, 0, 0x08, self.dims.len() as u8];
        for &d in &self.dims {
            h.extend_from_slice(&(d as u32).to_be_bytes());
        }
        h
    }

    /// Lower-case hex SHA-256 of the uncompressed file (header and data), the digest the
    /// MNIST and Fashion-MNIST loaders verify, so a recompressed copy still matches.
    pub fn sha256_hex(&self) -> String {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        hasher.update(self.header_bytes());
        hasher.update(&self.data);
        super::hex(&hasher.finalize())
    }
}

fn what(magic: u32) -> &'static str {
    match magic {
        MAGIC_LABELS => "labels",
        MAGIC_IMAGES => "images",
        _ => "unsigned bytes",
    }
}

/// Reads the IDX file at `path` (gzip-compressed or not), which must start with `magic`
/// ([`MAGIC_LABELS`] or [`MAGIC_IMAGES`]).
///
/// # Errors
///
/// [`Error::Idx`] naming the file for a wrong magic number ([`IdxError::BadMagic`]), dimensions
/// whose product exceeds [`MAX_DATA_BYTES`] ([`IdxError::Dimensions`]), a file shorter or longer
/// than its header says ([`IdxError::Truncated`], [`IdxError::TrailingData`]) or corrupt gzip
/// data ([`IdxError::Gzip`]); [`Error::Io`] when the file cannot be read.
pub fn read_file(path: &Path, magic: u32) -> Result<Idx> {
    let name = path.display().to_string();
    let io = |e| Error::io(path, e);
    let file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let mut reader = BufReader::new(file);
    let mut first = [0u8; 2];
    let n = read_full(&mut reader, &mut first).map_err(io)?;
    let head = std::io::Cursor::new(first[..n].to_vec()).chain(reader);
    if n == 2 && first == GZIP_MAGIC {
        read_stream(MultiGzDecoder::new(head), magic, &name, None)
    } else {
        read_stream(head, magic, &name, Some(len))
    }
}

/// Reads an IDX file held in memory (gzip-compressed or not), calling it `name` in errors.
///
/// # Errors
///
/// As [`read_file`].
pub fn from_bytes(bytes: &[u8], magic: u32, name: &str) -> Result<Idx> {
    if bytes.starts_with(&GZIP_MAGIC) {
        read_stream(MultiGzDecoder::new(bytes), magic, name, None)
    } else {
        read_stream(bytes, magic, name, Some(bytes.len() as u64))
    }
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Reads into `buf` until it is full or the stream ends; returns the bytes read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Parses an (uncompressed) IDX stream; `total_len` is its length when known in advance.
fn read_stream<R: Read>(
    mut reader: R,
    magic: u32,
    name: &str,
    total_len: Option<u64>,
) -> Result<Idx> {
    let fail = |problem| Error::Idx {
        source_name: name.to_owned(),
        problem,
    };
    let compressed = total_len.is_none();
    // Errors of the decompressor are data errors, of a plain reader I/O errors.
    let read_err = |e: std::io::Error| {
        if compressed {
            fail(IdxError::Gzip(e.to_string()))
        } else {
            Error::io(name, e)
        }
    };
    let mut m = [0u8; 4];
    let n = read_full(&mut reader, &mut m).map_err(read_err)?;
    if n < 4 {
        return Err(fail(IdxError::Truncated {
            expected: 4,
            found: n as u64,
        }));
    }
    let found = u32::from_be_bytes(m);
    if found != magic {
        return Err(fail(IdxError::BadMagic {
            expected: what(magic),
            expected_magic: magic,
            found,
        }));
    }
    let ndims = (magic & 0xff) as usize;
    let mut raw = vec![0u8; 4 * ndims];
    let n = read_full(&mut reader, &mut raw).map_err(read_err)?;
    let header = 4 + 4 * ndims as u64;
    if n < raw.len() {
        return Err(fail(IdxError::Truncated {
            expected: header,
            found: 4 + n as u64,
        }));
    }
    let dims: Vec<u64> = raw
        .chunks_exact(4)
        .map(|c| u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
        .collect();
    let size = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .filter(|&s| s <= MAX_DATA_BYTES)
        .ok_or_else(|| {
            fail(IdxError::Dimensions {
                found: dims.clone(),
                reason: format!("more than {MAX_DATA_BYTES} bytes of data"),
            })
        })?;
    let expected = header + size;
    if let Some(len) = total_len {
        if len < expected {
            return Err(fail(IdxError::Truncated {
                expected,
                found: len,
            }));
        }
        if len > expected {
            return Err(fail(IdxError::TrailingData {
                expected,
                found: len,
            }));
        }
    }
    // Read at most `size` bytes; the buffer grows with what actually arrives.
    let mut data = Vec::new();
    (&mut reader)
        .take(size)
        .read_to_end(&mut data)
        .map_err(read_err)?;
    if (data.len() as u64) < size {
        return Err(fail(IdxError::Truncated {
            expected,
            found: header + data.len() as u64,
        }));
    }
    let mut extra = [0u8; 1];
    if read_full(&mut reader, &mut extra).map_err(read_err)? > 0 {
        let rest = std::io::copy(
            &mut (&mut reader).take(MAX_DATA_BYTES),
            &mut std::io::sink(),
        )
        .map_err(read_err)?;
        return Err(fail(IdxError::TrailingData {
            expected,
            found: expected + 1 + rest,
        }));
    }
    Ok(Idx {
        dims: dims.iter().map(|&d| d as usize).collect(),
        data,
    })
}
