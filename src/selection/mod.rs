//! Model selection, after scikit-learn's `model_selection`: stratified folds, cross-validation
//! of a model builder, a search over many candidates on shared folds, the paired comparison of
//! two candidates and their scores as a CSV table.
//!
//! | here | scikit-learn |
//! | --- | --- |
//! | [`StratifiedKFold`] | `StratifiedKFold` |
//! | [`CrossValidation::score`], [`cross_val_score`] | `cross_val_score` over a `Pipeline` of a `StandardScaler` and the model |
//! | [`CrossValidation::score_predefined`] | `PredefinedSplit` |
//! | [`Search`] over [`Candidate`]s | `GridSearchCV` / `RandomizedSearchCV` with `RepeatedStratifiedKFold` (scores every candidate, refits none) |
//! | [`paired_difference`] | the corrected resampled t-test of Nadeau & Bengio |
//! | [`write_csv`] | `cv_results_` as a table |
//!
//! A [`Search`] is a [`CrossValidation`] repeated with advanced seeds: repeat `r` uses
//! [`cv.advanced(r)`](CrossValidation::advanced), so a candidate scores in repeat `r` exactly
//! what that cross-validation gives it. The search is generic over what it builds: anything that
//! implements [`Candidate`] (build a model for the data's width, give its fit options); the
//! tutorial's sonar network family is [`experiments::Config`](crate::experiments::Config).
//!
//! ```
//! use ndnet::experiments::ParamSpace;
//! use ndnet::selection::{CrossValidation, Search};
//! use ndarray::Array2;
//!
//! // Two blobs in 60 dimensions, 15 rows each.
//! let x = Array2::from_shape_fn((30, 60), |(i, j)| {
//!     let centre = if i < 15 { -1.0 } else { 1.0 };
//!     centre + 0.3 * (((i * 31 + j * 17) % 11) as f32 / 10.0 - 0.5)
//! });
//! let y = Array2::from_shape_fn((30, 1), |(i, _)| if i < 15 { 0.0 } else { 1.0 });
//!
//! let space = ParamSpace {
//!     input_dropout: vec![0.0, 0.2],
//!     max_norm: vec![None, Some(3.0)],
//!     epochs: vec![5],
//!     ..ParamSpace::default()
//! };
//! let configs = space.grid()?;
//! assert_eq!(configs.len(), 4);
//!
//! let results = Search::new(CrossValidation::new(3, 7), 2).run(&configs, &x, &y)?;
//! assert_eq!(results.len(), 4);
//! assert!(results.windows(2).all(|w| w[0].mean >= w[1].mean));
//! for r in &results {
//!     println!("{:.2}% ({:.2}%)  {}", r.mean * 100.0, r.std * 100.0, r.config);
//! }
//! # Ok::<(), ndnet::Error>(())
//! ```

mod compare;
mod cross_val;
mod kfold;
mod search;
mod table;

pub use self::compare::{PairedDifference, paired_difference};
pub use self::cross_val::{CrossValidation, CvScores, cross_val_score};
pub use self::kfold::{Fold, StratifiedKFold};
pub use self::search::{Candidate, Progress, Search, TuningResult};
pub use self::table::{Columns, write_csv, write_csv_to};
