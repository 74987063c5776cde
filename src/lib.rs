//! ndnet: feed-forward neural networks on `ndarray`, with dropout done right.

pub mod data;
pub mod datasets;
pub mod error;

pub use error::{Error, Result};
