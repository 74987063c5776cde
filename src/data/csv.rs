//! Loading labelled numeric data from CSV files.
//!
//! Each row holds numeric feature values and one text label. By default the label is the last
//! column and the file has no header row, which is the layout of the UCI data sets (Sonar, Iris,
//! Pima…).
//!
//! ```
//! use ndnet::data::CsvLoader;
//!
//! let text = "0.1,0.2,M\n0.3,0.4,R\n";
//! let data = CsvLoader::new().load_reader(text.as_bytes())?;
//! assert_eq!(data.features.shape(), &[2, 2]);
//! assert_eq!(data.labels, vec!["M", "R"]);
//! # Ok::<(), ndnet::Error>(())
//! ```
//!
//! Errors name the file, the 1-based line and column, and the text found:
//!
//! ```
//! use ndnet::data::CsvLoader;
//!
//! let err = CsvLoader::new().load_reader("0.1,0.2,M\n0.3,abc,R\n".as_bytes()).unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "<reader>: line 2, column 2: expected a number, found \"abc\""
//! );
//! ```

use std::io::Read;
use std::path::{Path, PathBuf};

use ndarray::Array2;

mod fields;

use fields::{FieldError, FieldReader, utf8_label};

use crate::atomic_file::{open_regular, too_large};
use crate::error::{Error, Result};

/// The most bytes the loader reads by default: 4 GiB (see [`CsvLoader::max_bytes`]).
pub const MAX_CSV_BYTES: u64 = 4 << 30;

/// The name used in errors for data read from a [`Read`] rather than a file.
pub const READER_NAME: &str = "<reader>";

/// Numeric features and their text labels, one row per CSV record.
#[derive(Debug, Clone, PartialEq)]
pub struct LabeledData {
    /// Feature values, shape `(rows, features)`.
    pub features: Array2<f32>,
    /// The label of each row, in file order.
    pub labels: Vec<String>,
}

impl LabeledData {
    /// Number of rows (samples).
    pub fn n_rows(&self) -> usize {
        self.features.nrows()
    }

    /// Number of feature columns (the label column not counted).
    pub fn n_features(&self) -> usize {
        self.features.ncols()
    }
}

/// Options for reading a CSV file of numeric features and one label column.
///
/// Defaults: comma-separated, no header row, the label in the last column, any label accepted,
/// spaces around fields ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvLoader {
    has_header: bool,
    label_column: Option<usize>,
    delimiter: u8,
    allowed_labels: Option<Vec<String>>,
    max_bytes: u64,
}

impl Default for CsvLoader {
    fn default() -> Self {
        Self::new()
    }
}

impl CsvLoader {
    /// A loader with the default options (no header, label last, comma-separated).
    pub fn new() -> Self {
        CsvLoader {
            has_header: false,
            label_column: None,
            delimiter: b',',
            allowed_labels: None,
            max_bytes: MAX_CSV_BYTES,
        }
    }

    /// Whether the first line is a header to skip (default `false`).
    ///
    /// With a header, its number of fields sets the number of columns every row must have.
    pub fn has_header(mut self, yes: bool) -> Self {
        self.has_header = yes;
        self
    }

    /// Read the label from this column (0-based) instead of the last one.
    ///
    /// The remaining columns, in order, are the features.
    pub fn label_column(mut self, index: usize) -> Self {
        self.label_column = Some(index);
        self
    }

    /// Field separator (default `b','`).
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Accept only these labels; any other is reported with its line and column.
    pub fn allowed_labels<S: AsRef<str>>(mut self, labels: &[S]) -> Self {
        self.allowed_labels = Some(labels.iter().map(|s| s.as_ref().to_owned()).collect());
        self
    }

    /// Read at most this many bytes (default [`MAX_CSV_BYTES`], 4 GiB); longer input is an
    /// [`Error::Io`] (`InvalidData`). Memory use stays near the size of the parsed values (4
    /// bytes per feature) plus one field, however long a line is.
    pub fn max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// Reads the file at `path`.
    ///
    /// Only a regular file is read (symbolic links followed): a FIFO, a device such as
    /// `/dev/zero` or a directory is refused at once, as is a file longer than
    /// [`max_bytes`](Self::max_bytes).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the file is not a regular file, is too long, or cannot be opened or
    /// read, and otherwise as [`load_reader_named`](Self::load_reader_named).
    pub fn load_path(&self, path: impl AsRef<Path>) -> Result<LabeledData> {
        let path = path.as_ref();
        let (file, _) = open_regular(path, self.max_bytes)?;
        self.read(file, &path.display().to_string(), Some(path))
    }

    /// Reads CSV text from any reader; errors call it `<reader>`.
    ///
    /// # Errors
    ///
    /// As [`load_reader_named`](Self::load_reader_named).
    pub fn load_reader<R: Read>(&self, reader: R) -> Result<LabeledData> {
        self.read(reader, READER_NAME, None)
    }

    /// Reads CSV text from any reader, calling it `name` in errors.
    ///
    /// # Errors
    ///
    /// - [`Error::Csv`] (with the 1-based line and column) for a row whose number of fields
    ///   differs from the first row's (or the header's), a feature that is not a number, a NaN
    ///   or infinite feature, an empty label, a label not in
    ///   [`allowed_labels`](Self::allowed_labels), a label holding a line break or a NUL
    ///   character, a quoted field whose closing quote is missing (it would swallow the rows
    ///   after it; the error gives where the quote opened), a file with fewer than two
    ///   columns, or text that is not UTF-8;
    /// - [`Error::InvalidParameter`] if [`label_column`](Self::label_column) is past the last
    ///   column;
    /// - [`Error::EmptyData`] if there is no data row;
    /// - [`Error::Io`] if reading fails or the text is longer than
    ///   [`max_bytes`](Self::max_bytes).
    pub fn load_reader_named<R: Read>(&self, reader: R, name: &str) -> Result<LabeledData> {
        self.read(reader, name, None)
    }

    fn read<R: Read>(&self, reader: R, name: &str, path: Option<&Path>) -> Result<LabeledData> {
        let io_name = || path.map_or_else(|| PathBuf::from(name), Path::to_path_buf);
        let csv_err = |line: u64, column: usize, message: String| Error::Csv {
            path: name.to_owned(),
            line,
            column,
            message,
        };
        let utf8 = |bytes: &[u8], line: u64, column: usize| -> Result<String> {
            std::str::from_utf8(bytes)
                .map(|s| s.trim().to_owned())
                .map_err(|_| csv_err(line, column, "the text is not valid UTF-8".to_owned()))
        };
        let mut fields = FieldReader::new(reader, self.delimiter, self.max_bytes);
        let mut field = Vec::new();
        let read_field =
            |fields: &mut FieldReader<R>, field: &mut Vec<u8>| -> Result<Option<bool>> {
                fields.next(field).map_err(|e| match e {
                    FieldError::Io(e) => Error::io(io_name(), e),
                    FieldError::TooLarge => too_large(io_name(), self.max_bytes),
                })
            };

        // With a header, its width fixes the expected width; otherwise the first row does.
        let mut width: Option<(usize, u64)> = None;
        if self.has_header {
            let line = 1;
            let mut n = 0;
            while let Some(record_end) = read_field(&mut fields, &mut field)? {
                n += 1;
                utf8(&field, line, n)?;
                if record_end {
                    width = Some((n, line));
                    break;
                }
            }
        }

        let mut values: Vec<f32> = Vec::new();
        let mut labels: Vec<String> = Vec::new();
        let mut label_index = 0;
        loop {
            let line = fields.line();
            // One record, field by field. A feature's error is kept until the record is
            // complete, so that a row with the wrong number of fields is reported as such.
            let mut feature_error: Option<Error> = None;
            let mut label: Option<(String, usize)> = None;
            // The label's position is known once the first record has been read (or from
            // `label_column`); until then the last field read is held back as the label.
            let known_label = match (labels.is_empty(), self.label_column, width) {
                (false, _, _) => Some(label_index),
                (true, Some(i), _) => Some(i),
                (true, None, Some((w, _))) => w.checked_sub(1),
                (true, None, None) => None,
            };
            let mut held: Vec<u8> = Vec::new();
            let mut found = 0usize;
            let first_values = values.len();
            let has_header = self.has_header;
            let mut parse =
                |bytes: &[u8], column: usize, error: &mut Option<Error>| -> Result<()> {
                    let text = std::str::from_utf8(bytes).map_err(|_| {
                        csv_err(line, column, "the text is not valid UTF-8".to_owned())
                    })?;
                    if error.is_some() {
                        return Ok(());
                    }
                    let text = text.trim();
                    match text.parse::<f32>() {
                        Ok(v) if v.is_finite() => values.push(v),
                        Ok(_) => {
                            *error = Some(csv_err(
                                line,
                                column,
                                format!(
                                    "non-finite value {text:?} (NaN and infinities are not allowed)"
                                ),
                            ))
                        }
                        Err(_) => {
                            let hint = if first_values == 0 && !has_header {
                                " (if the first line is a header, skip it: \
                                 CsvLoader::new().has_header(true))"
                            } else {
                                ""
                            };
                            *error = Some(csv_err(
                                line,
                                column,
                                format!("expected a number, found {text:?}{hint}"),
                            ))
                        }
                    }
                    Ok(())
                };
            let mut ended = false;
            loop {
                let Some(record_end) = read_field(&mut fields, &mut field)? else {
                    ended = true;
                    break;
                };
                let j = found;
                found += 1;
                let past_width = width.is_some_and(|(w, _)| j >= w);
                if past_width {
                    // Only counted: the row is reported as too long.
                } else if known_label == Some(j) {
                    label = Some((utf8_label(&mut field, line, j + 1, &csv_err)?, j + 1));
                } else if known_label.is_some() {
                    parse(&field, j + 1, &mut feature_error)?;
                } else {
                    if j > 0 {
                        parse(&held, j, &mut feature_error)?;
                    }
                    std::mem::swap(&mut held, &mut field);
                }
                if record_end {
                    break;
                }
            }
            if let Some((line, column)) = fields.unterminated_quote() {
                return Err(csv_err(
                    line,
                    column,
                    "a quoted field is not closed (its quote runs to the end of the text)"
                        .to_owned(),
                ));
            }
            if ended && found == 0 {
                break;
            }
            let (expected, reference_line) = match width {
                Some(w) => w,
                None => {
                    width = Some((found, line));
                    (found, line)
                }
            };
            if found != expected {
                let origin = if self.has_header && reference_line == 1 {
                    "the header".to_owned()
                } else {
                    format!("line {reference_line}")
                };
                return Err(csv_err(
                    line,
                    expected.min(found) + 1,
                    format!("expected {expected} fields (as on {origin}), found {found}"),
                ));
            }
            if labels.is_empty() {
                if expected < 2 {
                    return Err(csv_err(
                        line,
                        1,
                        format!(
                            "need at least 2 columns (one or more features and a label), found {expected}"
                        ),
                    ));
                }
                label_index = match self.label_column {
                    None => expected - 1,
                    Some(i) if i < expected => i,
                    Some(i) => {
                        return Err(Error::param(
                            "CsvLoader",
                            "label_column",
                            i,
                            format!(
                                "{name} has {expected} columns (valid indices 0..={})",
                                expected - 1
                            ),
                        ));
                    }
                };
                if known_label.is_none() {
                    label = Some((utf8_label(&mut held, line, expected, &csv_err)?, expected));
                }
            }
            if let Some(e) = feature_error {
                return Err(e);
            }
            let Some((label, column)) = label else {
                return Err(Error::InvalidState(format!(
                    "{name}: line {line}: internal error: no label read"
                )));
            };
            debug_assert_eq!(values.len() - first_values, expected - 1);
            if label.is_empty() {
                return Err(csv_err(line, column, "empty label".to_owned()));
            }
            if let Some(allowed) = &self.allowed_labels
                && !allowed.contains(&label)
            {
                return Err(csv_err(
                    line,
                    column,
                    format!(
                        "unknown label {label:?}; expected one of: {}",
                        allowed.join(", ")
                    ),
                ));
            }
            labels.push(label);
            if ended {
                break;
            }
        }

        if labels.is_empty() {
            return Err(Error::EmptyData(format!("CSV {name} (no data rows)")));
        }
        let n_features = values.len() / labels.len();
        let n_rows = labels.len();
        let features = Array2::from_shape_vec((n_rows, n_features), values).map_err(|_| {
            Error::InvalidState(format!("{name}: internal error assembling {n_rows} rows"))
        })?;
        Ok(LabeledData { features, labels })
    }
}

/// Reads `path` with the default options: no header, label in the last column.
///
/// # Errors
///
/// As [`CsvLoader::load_path`].
pub fn load_csv(path: impl AsRef<Path>) -> Result<LabeledData> {
    CsvLoader::new().load_path(path)
}

/// Reads CSV text from `reader` with the default options: no header, label in the last column.
///
/// # Errors
///
/// As [`CsvLoader::load_reader_named`].
pub fn read_csv<R: Read>(reader: R) -> Result<LabeledData> {
    CsvLoader::new().load_reader(reader)
}
