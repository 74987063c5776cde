//! Data preparation: CSV loading, label encoding, feature scaling and cross-validation splits.
//!
//! The pieces mirror the scikit-learn tools used by the Keras tutorials:
//!
//! | here | scikit-learn |
//! | --- | --- |
//! | [`CsvLoader`], [`load_csv`] | `pandas.read_csv` + column slicing |
//! | [`LabelEncoder`] | `sklearn.preprocessing.LabelEncoder` |
//! | [`StandardScaler`] | `sklearn.preprocessing.StandardScaler` |
//! | [`StratifiedKFold`] | `sklearn.model_selection.StratifiedKFold` |
//! | [`train_test_split`] | `sklearn.model_selection.train_test_split(..., stratify=y)` |
//! | [`CrossValidation::score_predefined`] | `sklearn.model_selection.PredefinedSplit` |
//! | [`balanced_class_weights`] | `class_weight="balanced"` |

pub mod csv;
pub mod encoder;
pub mod kfold;
pub mod scaler;
pub mod split;

pub use self::csv::{CsvLoader, LabeledData, load_csv, read_csv};
pub use self::encoder::{LabelEncoder, binary_column, one_hot};
pub use self::kfold::{Fold, StratifiedKFold};
pub use self::scaler::StandardScaler;
pub use self::split::{
    TrainTestSplit, balanced_class_weights, train_test_split, train_test_split_unstratified,
};

pub mod cross_val;
pub use self::cross_val::{CrossValidation, CvScores, cross_val_score};
pub use crate::metrics::class_labels;
