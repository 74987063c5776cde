//! The crate's error type.
//!
//! Every fallible public function returns [`Result<T>`]. Errors say what went wrong and where:
//! the layer (index and name), the expected and found shapes, the row and column of a bad value,
//! the line and column of a bad CSV field.

use std::path::PathBuf;

/// `Result<T, ndnet::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in ndnet.
///
/// `Debug` prints the variant's name and the `Display` message (as `anyhow` does), so
/// `fn main() -> ndnet::Result<()>` reports an error readably:
///
/// ```
/// let err = ndnet::data::load_csv("no/such/file.csv").unwrap_err();
/// let debug = format!("{err:?}");
/// assert!(debug.starts_with("Io: no/such/file.csv: "), "{debug}");
/// assert!(!debug.contains("Os {"), "{debug}");
/// ```
#[derive(thiserror::Error)]
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
    /// Training produced a non-finite loss. The step was not taken: the weights and the
    /// optimizer state are bitwise as before it.
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
    /// A training step produced a non-finite gradient, or an update that would have made a weight
    /// non-finite (NaN or infinite). The step was undone: the weights and the optimizer state are
    /// bitwise as before it.
    #[error(
        "the {} of {tensor} became non-finite at epoch {epoch}, batch {batch}, with a finite loss; the step was undone; lower the learning rate or check the data",
        if *.gradient { "gradient" } else { "update" }
    )]
    DivergedUpdate {
        /// Epoch (1-based; 0 for `train_on_batch` outside `fit`).
        epoch: usize,
        /// Batch within the epoch (1-based).
        batch: usize,
        /// The parameter, as `layer/name`, e.g. `dense_1/kernel`.
        tensor: String,
        /// `true` when its gradient was non-finite, `false` when the update (optimizer step and
        /// constraint) would have made its weights non-finite.
        gradient: bool,
    },
    /// [`fit`](crate::Sequential::fit) stopped with an error once training had begun (in a
    /// callback, a diverging step, a failed checkpoint, ...). `history` holds the epochs
    /// completed before it; `on_train_end` of every callback has run (so
    /// `EarlyStopping::restore_best_weights` has restored its weights). See
    /// [`root`](Error::root) and [`history`](Error::history).
    ///
    /// It displays as the error that stopped training, so messages read the same whether or
    /// not `fit` wrapped them.
    #[error("{source}")]
    Fit {
        /// What stopped training.
        #[source]
        source: Box<Error>,
        /// The logs of the completed epochs.
        history: Box<crate::history::History>,
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
    /// A saved model could not be read: the file is not a model, is truncated or corrupt, has an
    /// unsupported version, or describes an architecture that does not match its weights.
    #[error("{source_name}: {problem}")]
    ModelFile {
        /// The file (or `<bytes>` for [`Sequential::from_bytes`](crate::Sequential)).
        source_name: String,
        /// What is wrong.
        problem: ModelFileError,
    },
    /// A file that should be in the IDX format (MNIST's) is not a valid one.
    #[error("{source_name}: {problem}")]
    Idx {
        /// The file read (or the name given to the bytes).
        source_name: String,
        /// What is wrong.
        problem: IdxError,
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

    /// The error that stopped `fit` for an [`Error::Fit`], this error otherwise: match on it to
    /// tell a divergence from a failed checkpoint whether or not `fit` wrapped it.
    ///
    /// ```
    /// use ndnet::Error;
    /// let e = Error::InvalidState("x".into());
    /// assert!(matches!(e.root(), Error::InvalidState(_)));
    /// ```
    pub fn root(&self) -> &Error {
        match self {
            Error::Fit { source, .. } => source.root(),
            other => other,
        }
    }

    /// The [`History`](crate::History) of the epochs `fit` completed before this error, when
    /// `fit` returned it ([`Error::Fit`]).
    pub fn history(&self) -> Option<&crate::history::History> {
        match self {
            Error::Fit { history, .. } => Some(history),
            _ => None,
        }
    }

    /// Whether training diverged: [`Error::Diverged`] or [`Error::DivergedUpdate`], wrapped in
    /// [`Error::Fit`] or not.
    pub fn is_divergence(&self) -> bool {
        matches!(
            self.root(),
            Error::Diverged { .. } | Error::DivergedUpdate { .. }
        )
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

impl Error {
    /// The variant's name, e.g. `"Io"`.
    fn variant_name(&self) -> &'static str {
        #[allow(unreachable_patterns)]
        match self {
            Error::LayerInputMismatch { .. } => "LayerInputMismatch",
            Error::ShapeMismatch { .. } => "ShapeMismatch",
            Error::RowCountMismatch { .. } => "RowCountMismatch",
            Error::EmptyData(_) => "EmptyData",
            Error::NonFinite { .. } => "NonFinite",
            Error::InvalidTarget { .. } => "InvalidTarget",
            Error::InvalidParameter { .. } => "InvalidParameter",
            Error::InvalidState(_) => "InvalidState",
            Error::Layer { .. } => "Layer",
            Error::Diverged { .. } => "Diverged",
            Error::Csv { .. } => "Csv",
            Error::DataUnavailable(_) => "DataUnavailable",
            Error::Checksum { .. } => "Checksum",
            Error::ModelFile { .. } => "ModelFile",
            Error::Io { .. } => "Io",
            _ => "Error",
        }
    }
}

/// `Variant: message`, the `Display` text after the variant's name (also for `{:#?}`), so that
/// an error returned from `main` reads as a sentence instead of a nested structure.
impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {self}", self.variant_name())
    }
}

/// What is wrong with a saved model or another safetensors file (see [`Error::ModelFile`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelFileError {
    /// The file was written by an unknown version of the format.
    #[error("unsupported format version {found} (this build reads version {supported})")]
    UnsupportedVersion {
        /// The version in the file.
        found: u32,
        /// The version this build reads and writes.
        supported: u32,
    },
    /// The file ends before the data its header announces.
    #[error("truncated: {expected} bytes expected, {found} found")]
    Truncated {
        /// Bytes the header announces (or the least any file has: its 8-byte length prefix).
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// The file continues after the data its header announces.
    #[error("{found} bytes, but the header accounts for only {expected}: trailing data")]
    TrailingData {
        /// Bytes the header announces.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// The JSON header (or the model's description in its metadata) cannot be parsed, lacks a
    /// required field, or does not match the tensors the file holds.
    #[error("invalid header: {0}")]
    Header(String),
    /// A layer's configuration is invalid.
    #[error("layer {index}: {message}")]
    Layer {
        /// Position of the layer (0-based).
        index: usize,
        /// What is wrong.
        message: String,
    },
    /// A tensor's shape is not the one the architecture implies.
    #[error("tensor {index} ({name}): expected shape {expected:?}, found {found:?}")]
    Shape {
        /// Position of the tensor among those the architecture implies (0-based): the weights in
        /// [`get_weights`](crate::Sequential::get_weights) order, then the optimizer's buffers.
        index: usize,
        /// Its name in the file.
        name: String,
        /// The shape the architecture implies.
        expected: Vec<usize>,
        /// The shape in the header.
        found: Vec<usize>,
    },
    /// A stored weight is NaN or infinite.
    #[error("tensor {name}: non-finite value {value} at flat index {position}")]
    NonFinite {
        /// The tensor's name.
        name: String,
        /// Flat (row-major) index of the value.
        position: usize,
        /// The value.
        value: f32,
    },
    /// The saved loss, optimizer or optimizer state cannot be restored.
    #[error("training state: {0}")]
    Training(String),
}

/// What is wrong with an IDX file (see [`Error::Idx`] and [`datasets::idx`](crate::datasets::idx)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdxError {
    /// The first four bytes are not an IDX magic number for the expected data.
    #[error(
        "not an IDX file of {expected}: magic number {found:#010x}, expected {expected_magic:#010x}"
    )]
    BadMagic {
        /// What the file should hold, e.g. `"images"` or `"labels"`.
        expected: &'static str,
        /// The magic number required.
        expected_magic: u32,
        /// The first four bytes read as a big-endian number.
        found: u32,
    },
    /// The file is shorter than its header says.
    #[error("truncated: the header announces {expected} bytes, the file has {found}")]
    Truncated {
        /// Bytes announced by the header (header included).
        expected: u64,
        /// Bytes present (after decompression).
        found: u64,
    },
    /// The file is longer than its header says.
    #[error("the header announces {expected} bytes, but the file has {found}: trailing data")]
    TrailingData {
        /// Bytes announced by the header (header included).
        expected: u64,
        /// Bytes present, at least (after decompression).
        found: u64,
    },
    /// The dimensions are not the ones required, or their product overflows the size limit.
    #[error("dimensions {found:?}: {reason}")]
    Dimensions {
        /// The dimensions in the header.
        found: Vec<u64>,
        /// Why they are refused.
        reason: String,
    },
    /// Images and labels do not belong together.
    #[error("{images} images but {labels} labels")]
    CountMismatch {
        /// Images in the image file.
        images: usize,
        /// Labels in the label file.
        labels: usize,
    },
    /// A label is not a class index.
    #[error("label {value} at position {position} is not below {classes}")]
    Label {
        /// Position of the label (0-based).
        position: usize,
        /// The label.
        value: u8,
        /// Number of classes.
        classes: usize,
    },
    /// The gzip stream is corrupt.
    #[error("invalid gzip data: {0}")]
    Gzip(String),
}
