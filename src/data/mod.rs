//! Data preparation: CSV loading, label encoding, feature scaling and cross-validation splits.

pub mod csv;

pub use self::csv::{CsvLoader, LabeledData, load_csv, read_csv};
