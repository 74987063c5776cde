//! Data preparation: CSV loading, label encoding, feature scaling and hold-out splits.
//!
//! The pieces mirror the scikit-learn tools used by the Keras tutorials; the folds,
//! cross-validation and searches of `sklearn.model_selection` are in
//! [`selection`](crate::selection). Nothing here builds or trains a model.
//!
//! | here | scikit-learn |
//! | --- | --- |
//! | [`CsvLoader`], [`load_csv`] | `pandas.read_csv` + column slicing |
//! | [`LabelEncoder`] | `sklearn.preprocessing.LabelEncoder` |
//! | [`StandardScaler`] | `sklearn.preprocessing.StandardScaler` |
//! | [`train_test_split`] | `sklearn.model_selection.train_test_split(..., stratify=y)` |
//! | [`balanced_class_weights`] | `class_weight="balanced"` |

pub mod csv;
pub mod encoder;
pub mod scaler;
pub mod split;

pub use self::csv::{CsvLoader, LabeledData, load_csv, read_csv};
pub use self::encoder::{LabelEncoder, binary_column, one_hot};
pub use self::scaler::StandardScaler;
pub use self::split::{
    TrainTestSplit, balanced_class_weights, train_test_split, train_test_split_unstratified,
};
pub use crate::metrics::class_labels;
