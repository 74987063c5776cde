//! Gaussian blobs for multi-class classification, generated (scikit-learn's `make_blobs`).
//!
//! Each class is a cloud of points around its center, `x ~ N(center, std² I)`; rows are
//! shuffled. Nothing is downloaded, so examples and tests of multi-class models run anywhere.
//!
//! ```
//! use ndnet::datasets::blobs::make_blobs;
//! use ndarray::array;
//!
//! let centers = array![[-2.0f32, 0.0], [2.0, 0.0], [0.0, 3.0]];
//! let blobs = make_blobs(50, centers.view(), 0.8, 7)?;
//! assert_eq!(blobs.x.dim(), (150, 2));
//! assert_eq!(blobs.y.dim(), (150, 3)); // one-hot
//! assert_eq!(blobs.labels.iter().filter(|&&l| l == 2).count(), 50);
//! # Ok::<(), ndnet::Error>(())
//! ```

use ndarray::{Array2, ArrayView2};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use crate::data::one_hot;
use crate::error::{Error, Result};
use crate::init::{try_vec, try_zeros2};
use crate::validate;
use crate::validate::check_finite;

/// A generated data set.
#[derive(Debug, Clone, PartialEq)]
pub struct Blobs {
    /// Points, `(classes · samples_per_class, dims)`.
    pub x: Array2<f32>,
    /// One-hot targets, `(rows, classes)`.
    pub y: Array2<f32>,
    /// Class of each row.
    pub labels: Vec<usize>,
}

/// `samples_per_class` points around each row of `centers` with standard deviation `std`,
/// shuffled; the same `seed` gives the same data.
///
/// # Errors
///
/// No centers, no dimensions, no samples, a non-finite center, a `std` that is negative or
/// not finite, sizes that cannot be allocated (checked before allocating), or points that
/// overflow `f32` (e.g. `std = f32::MAX`).
pub fn make_blobs(
    samples_per_class: usize,
    centers: ArrayView2<f32>,
    std: f32,
    seed: u64,
) -> Result<Blobs> {
    if centers.nrows() == 0 || centers.ncols() == 0 || samples_per_class == 0 {
        return Err(Error::EmptyData(
            "make_blobs: needs at least one center, one dimension and one sample per class".into(),
        ));
    }
    check_finite(|| "make_blobs: centers".into(), centers)?;
    validate::non_negative("make_blobs", "std", std)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let rows = samples_per_class
        .checked_mul(centers.nrows())
        .ok_or_else(|| {
            Error::param(
                "make_blobs",
                "samples_per_class",
                samples_per_class,
                "times the number of centers overflows usize",
            )
        })?;
    // Sizes are checked (and memory reserved) before anything large is allocated.
    let mut labels = try_vec("make_blobs", "samples_per_class", rows, 0usize)?;
    let mut x = try_zeros2("make_blobs", "samples_per_class", rows, centers.ncols())?;
    for (i, l) in labels.iter_mut().enumerate() {
        *l = i / samples_per_class;
    }
    labels.shuffle(&mut rng);
    for (mut row, &label) in x.outer_iter_mut().zip(&labels) {
        for (v, &c) in row.iter_mut().zip(centers.row(label)) {
            *v = c + std * rng.sample::<f32, _>(StandardNormal);
        }
    }
    check_finite(
        || "make_blobs: points (the centers plus std · N(0, 1) overflow f32)".into(),
        x.view(),
    )?;
    let y = one_hot(&labels, centers.nrows())?;
    Ok(Blobs { x, y, labels })
}
