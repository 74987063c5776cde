//! The range checks hyper-parameters share, each returning an `InvalidParameter` error that
//! names the owner, the parameter and the value.

use ndarray::{ArrayView, Dimension};

use crate::error::{Error, Result};

/// Finite and `> 0`.
pub(crate) fn positive(owner: &str, name: &str, v: f32) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(Error::param(
            owner,
            name,
            v,
            "must be finite and greater than 0",
        ))
    }
}

/// Finite and `>= 0`.
pub(crate) fn non_negative(owner: &str, name: &str, v: f32) -> Result<()> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(Error::param(
            owner,
            name,
            v,
            "must be finite and at least 0",
        ))
    }
}

/// In `[0, 1)`.
pub(crate) fn unit_interval(owner: &str, name: &str, v: f32) -> Result<()> {
    if v.is_finite() && (0.0..1.0).contains(&v) {
        Ok(())
    } else {
        Err(Error::param(owner, name, v, "must be in [0, 1)"))
    }
}

/// At least 1.
pub(crate) fn at_least_one(owner: &str, name: &str, v: u64) -> Result<()> {
    if v >= 1 {
        Ok(())
    } else {
        Err(Error::param(owner, name, v, "must be at least 1"))
    }
}

/// `NonFinite` naming the row and column (0 for a 1-D array) of the first NaN or infinity in
/// `a`; `what` describes the array.
pub(crate) fn check_finite<D: Dimension>(
    what: impl FnOnce() -> String,
    a: ArrayView<'_, f32, D>,
) -> Result<()> {
    if all_finite(a.view()) {
        return Ok(());
    }
    let (row, column, value) = a
        .into_dyn()
        .indexed_iter()
        .find(|(_, v)| !v.is_finite())
        .map_or((0, 0, f32::NAN), |(idx, &v)| {
            let idx = idx.as_array_view();
            (
                idx.first().copied().unwrap_or(0),
                idx.get(1).copied().unwrap_or(0),
                v,
            )
        });
    Err(Error::NonFinite {
        what: what(),
        row,
        column,
        value,
    })
}

/// Whether every value is finite (see [`finite_slice`](crate::kernels::elementwise::finite_slice)
/// for contiguous arrays, whose check vectorizes where a short-circuiting `all` does not).
#[inline]
pub(crate) fn all_finite<D: Dimension>(a: ArrayView<'_, f32, D>) -> bool {
    match a.as_slice_memory_order() {
        Some(s) => crate::kernels::elementwise::finite_slice(s),
        None => a.iter().all(|v| v.is_finite()),
    }
}
