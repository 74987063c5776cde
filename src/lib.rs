//! ndnet: feed-forward neural networks on `ndarray`, with dropout done right.

pub mod error;

pub use error::{Error, Result};
