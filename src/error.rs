//! The crate's error type.
//!
//! Every fallible public function returns [`Result<T>`]. Errors say what went wrong and where:
//! the layer (index and name), the expected and found shapes, the row and column of a bad value,
//! the line and column of a bad CSV field.

use std::path::PathBuf;

/// `Result<T, ndnet::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in ndnet.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The data handed to a layer does not have the width the layer was built for.
    #[error(
        "{what}: layer {index} ({name}) expects input of shape (batch, {expected}), found (batch, {found})"
    )]
    LayerInputMismatch {
        /// Which data (e.g. `fit`, `validation_data`, `predict`).
        what: String,
        /// Position of the layer in the model (0-based).
        index: usize,
        /// Name of the layer, e.g. `dense_1`.
        name: String,
        /// Width the layer expects.
        expected: usize,
        /// Width it was given.
        found: usize,
    },
    /// Two arrays that must agree in shape do not.
    #[error("{what}: expected shape {expected:?}, found {found:?}")]
    ShapeMismatch {
        /// What was being compared.
        what: String,
        /// The shape required.
        expected: Vec<usize>,
        /// The shape given.
        found: Vec<usize>,
    },
    /// `x` and `y` do not have the same number of rows.
    #[error("{what}: x has {x_rows} rows but y has {y_rows}")]
    RowCountMismatch {
        /// Which data set (e.g. `fit`, `validation_data`).
        what: String,
        /// Rows of the inputs.
        x_rows: usize,
        /// Rows of the targets.
        y_rows: usize,
    },
    /// A data set with no rows (or no columns).
    #[error("{0}: the data is empty")]
    EmptyData(String),
    /// A NaN or infinite value in the data.
    #[error("{what}: non-finite value {value} at row {row}, column {column}")]
    NonFinite {
        /// Which array.
        what: String,
        /// Row of the value (0-based).
        row: usize,
        /// Column of the value (0-based).
        column: usize,
        /// The value itself.
        value: f32,
    },
    /// A target the loss cannot accept (e.g. a binary label that is not in [0, 1]).
    #[error("{loss}: invalid target {value} at row {row}, column {column}: {reason}")]
    InvalidTarget {
        /// The loss that rejected it.
        loss: String,
        /// Row (0-based).
        row: usize,
        /// Column (0-based).
        column: usize,
        /// The value.
        value: f32,
        /// What the loss accepts.
        reason: String,
    },
    /// A hyper-parameter or configuration value outside its valid range.
    #[error("{owner}: invalid {name} = {value}: {reason}")]
    InvalidParameter {
        /// The layer, optimizer, constraint… that owns the parameter.
        owner: String,
        /// Parameter name.
        name: String,
        /// Offending value, formatted.
        value: String,
        /// What is allowed.
        reason: String,
    },
    /// A model was used in a way its state does not allow (e.g. `fit` before `compile`).
    #[error("{0}")]
    InvalidState(String),
    /// A layer rejected its configuration when it was added to a model.
    #[error("layer {index} ({kind}): {source}")]
    Layer {
        /// Position the layer would have had (0-based).
        index: usize,
        /// The layer's type, e.g. `Dropout`.
        kind: String,
        /// What the layer reported.
        #[source]
        source: Box<Error>,
    },
    /// Training produced a non-finite loss.
    #[error(
        "the loss became {loss} at epoch {epoch}, batch {batch}; lower the learning rate or check the data"
    )]
    Diverged {
        /// Epoch (1-based; 0 for `train_on_batch` outside `fit`).
        epoch: usize,
        /// Batch within the epoch (1-based).
        batch: usize,
        /// The loss value.
        loss: f32,
    },
    /// A value in a CSV file could not be used.
    #[error("{path}: line {line}, column {column}: {message}")]
    Csv {
        /// File (or `<reader>`).
        path: String,
        /// 1-based line number.
        line: u64,
        /// 1-based column number.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A data set could not be found or fetched.
    #[error("{0}")]
    DataUnavailable(String),
    /// A downloaded file did not have the expected checksum.
    #[error("checksum mismatch for {url}: expected SHA-256 {expected}, found {found}")]
    Checksum {
        /// Where the file came from.
        url: String,
        /// Expected hex digest.
        expected: String,
        /// Digest of what arrived.
        found: String,
    },
    /// An I/O error, with the path involved.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn param(
        owner: impl Into<String>,
        name: impl Into<String>,
        value: impl std::fmt::Display,
        reason: impl Into<String>,
    ) -> Self {
        Error::InvalidParameter {
            owner: owner.into(),
            name: name.into(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    #[allow(dead_code)]
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// `ShapeMismatch` unless `found == expected` (the number of weight tensors of a layer).
pub(crate) fn check_weight_count(layer: &str, expected: usize, found: usize) -> Result<()> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::ShapeMismatch {
            what: format!("{layer}: number of weight tensors"),
            expected: vec![expected],
            found: vec![found],
        })
    }
}
