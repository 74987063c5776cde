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

use std::fs::File;
use std::io::Read;
use std::path::Path;

use ndarray::Array2;

use crate::error::{Error, Result};

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

    /// Reads the file at `path`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the file cannot be opened or read, and otherwise as
    /// [`load_reader_named`](Self::load_reader_named).
    pub fn load_path(&self, path: impl AsRef<Path>) -> Result<LabeledData> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
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
    ///   [`allowed_labels`](Self::allowed_labels), a file with fewer than two columns, or text
    ///   that is not UTF-8;
    /// - [`Error::InvalidParameter`] if [`label_column`](Self::label_column) is past the last
    ///   column;
    /// - [`Error::EmptyData`] if there is no data row;
    /// - [`Error::Io`] if reading fails.
    pub fn load_reader_named<R: Read>(&self, reader: R, name: &str) -> Result<LabeledData> {
        self.read(reader, name, None)
    }

    fn read<R: Read>(&self, reader: R, name: &str, path: Option<&Path>) -> Result<LabeledData> {
        let mut rdr = ::csv::ReaderBuilder::new()
            .has_headers(self.has_header)
            .delimiter(self.delimiter)
            .flexible(true)
            .trim(::csv::Trim::All)
            .from_reader(reader);

        let csv_err = |line: u64, column: usize, message: String| Error::Csv {
            path: name.to_owned(),
            line,
            column,
            message,
        };
        let map_csv_error = |e: ::csv::Error| -> Error {
            let line = e.position().map_or(0, |p| p.line());
            let message = e.to_string();
            match e.into_kind() {
                ::csv::ErrorKind::Io(io) => match path {
                    Some(p) => Error::io(p, io),
                    None => Error::io(name, io),
                },
                ::csv::ErrorKind::Utf8 { err, .. } => csv_err(
                    line,
                    err.field() + 1,
                    "the text is not valid UTF-8".to_owned(),
                ),
                _ => csv_err(line, 1, message),
            }
        };

        // With a header, its width fixes the expected width; otherwise the first row does.
        let mut width: Option<(usize, u64)> = None;
        if self.has_header {
            let header = rdr.headers().map_err(map_csv_error)?;
            if !header.is_empty() {
                width = Some((header.len(), 1));
            }
        }

        let mut values: Vec<f32> = Vec::new();
        let mut labels: Vec<String> = Vec::new();
        let mut label_index = 0;
        let mut record = ::csv::StringRecord::new();
        loop {
            match rdr.read_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(map_csv_error(e)),
            }
            let line = record.position().map_or(0, |p| p.line());
            let found = record.len();
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
            }

            for (j, field) in record.iter().enumerate() {
                if j == label_index {
                    continue;
                }
                let value: f32 = field.parse().map_err(|_| {
                    let hint = if labels.is_empty() && !self.has_header {
                        " (if the first line is a header, skip it: CsvLoader::new().has_header(true))"
                    } else {
                        ""
                    };
                    csv_err(
                        line,
                        j + 1,
                        format!("expected a number, found {field:?}{hint}"),
                    )
                })?;
                if !value.is_finite() {
                    return Err(csv_err(
                        line,
                        j + 1,
                        format!("non-finite value {field:?} (NaN and infinities are not allowed)"),
                    ));
                }
                values.push(value);
            }

            let label = &record[label_index];
            if label.is_empty() {
                return Err(csv_err(line, label_index + 1, "empty label".to_owned()));
            }
            if let Some(allowed) = &self.allowed_labels
                && !allowed.iter().any(|a| a == label)
            {
                return Err(csv_err(
                    line,
                    label_index + 1,
                    format!(
                        "unknown label {label:?}; expected one of: {}",
                        allowed.join(", ")
                    ),
                ));
            }
            labels.push(label.to_owned());
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
