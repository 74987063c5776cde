//! The crate's only `unsafe` code: the matrix product and the element-wise loops, dispatched at
//! run time to AVX-512, AVX2+FMA or portable code.
//!
//! Every safe entry point here checks, in release builds, the shapes its `unsafe` code relies
//! on; no caller is trusted for them.

#![warn(clippy::undocumented_unsafe_blocks)]

pub(crate) mod elementwise;
pub(crate) mod gemm;
