//! The range checks hyper-parameters share, each returning an `InvalidParameter` error that
//! names the owner, the parameter and the value.

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
