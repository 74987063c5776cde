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

pub mod csv;
pub mod encoder;
pub mod kfold;
pub mod scaler;

pub use self::csv::{CsvLoader, LabeledData, load_csv, read_csv};
pub use self::encoder::{LabelEncoder, binary_column, one_hot};
pub use self::kfold::{Fold, StratifiedKFold};
pub use self::scaler::StandardScaler;

pub mod cross_val;
pub use self::cross_val::{CrossValidation, CvScores, class_labels, cross_val_score};
