//! Data preparation: CSV loading, label encoding, feature scaling and cross-validation splits.

pub mod csv;
pub mod encoder;
pub mod scaler;

pub use self::csv::{CsvLoader, LabeledData, load_csv, read_csv};
pub use self::encoder::{LabelEncoder, binary_column, one_hot};
pub use self::scaler::StandardScaler;
