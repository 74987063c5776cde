//! Hyper-parameter search: the tutorial's tuning tips as a reproducible experiment.
//!
//! A [`ParamSpace`] lists the values to try for each hyper-parameter of a [`Config`]: dropout on
//! the inputs and on the hidden layers, a max-norm constraint or none, a width multiplier for the
//! hidden layers, SGD's learning rate, momentum and decay, the epochs and the batch size.
//! [`ParamSpace::grid`] is their cartesian product and [`ParamSpace::random`] a seeded sample
//! of it. A [`Search`] scores every configuration by repeated stratified k-fold
//! cross-validation, all of them on the same folds and with the same per-fold seeds, and
//! returns one [`TuningResult`] per configuration, best mean accuracy first.
//!
//! The folds are those of [`CrossValidation`](crate::data::CrossValidation): repeat `r` uses
//! `CrossValidation::new(folds, seed + r)`, so a configuration scores exactly what
//! `CrossValidation::score` gives for it with that seed. With the `parallel` feature the
//! `(configuration, repeat, fold)` trainings run on a thread pool; each has its own
//! randomness, so the results are bitwise the same for any number of threads.
//!
//! [`write_csv`] writes the results as a table, [`paired_difference`] compares two
//! configurations fold by fold (with the standard error corrected for overlapping training
//! sets), and with the `plot` feature `tuning::plot` turns results into `ndnet::plot` lines of
//! accuracy against dropout rate.
//! `examples/sonar_tuning.rs` runs the tutorial's tips on the sonar data.
//!
//! ```
//! use ndnet::tuning::{ParamSpace, Search};
//! use ndarray::Array2;
//!
//! // Two blobs in 60 dimensions, 15 rows each.
//! let x = Array2::from_shape_fn((30, 60), |(i, j)| {
//!     let centre = if i < 15 { -1.0 } else { 1.0 };
//!     centre + 0.3 * (((i * 31 + j * 17) % 11) as f32 / 10.0 - 0.5)
//! });
//! let y = Array2::from_shape_fn((30, 1), |(i, _)| if i < 15 { 0.0 } else { 1.0 });
//!
//! let space = ParamSpace::default()
//!     .input_dropout([0.0, 0.2])
//!     .max_norm([None, Some(3.0)])
//!     .epochs([5]);
//! let configs = space.grid()?;
//! assert_eq!(configs.len(), 4);
//!
//! let results = Search::new(3, 2, 7).run(&configs, |c| c.build(), &x, &y)?;
//! assert_eq!(results.len(), 4);
//! assert!(results.windows(2).all(|w| w[0].mean >= w[1].mean));
//! for r in &results {
//!     println!("{:.2}% ({:.2}%)  {}", r.mean * 100.0, r.std * 100.0, r.config);
//! }
//! # Ok::<(), ndnet::Error>(())
//! ```

mod compare;
mod config;
#[cfg(feature = "plot")]
pub mod plot;
mod search;
mod space;
mod table;

pub use self::compare::{PairedDifference, paired_difference};
pub use self::config::{Config, MAX_WIDTH_MULTIPLIER};
pub use self::search::{Progress, Search, TuningResult, search};
pub use self::space::{MAX_POINTS, ParamSpace};
pub use self::table::{write_csv, write_csv_to};
