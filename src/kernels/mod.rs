//! The crate's only `unsafe` code: the matrix product and the element-wise loops, dispatched at
//! run time to AVX-512, AVX2+FMA or portable code, and the worker threads they (and the folds
//! of cross-validation, the Monte-Carlo tasks) run on.
//!
//! Every safe entry point here checks, in release builds, the shapes its `unsafe` code relies
//! on; no caller is trusted for them. The pool's one `unsafe` step, lending a borrowed closure
//! to parked threads, is bounded by waiting for them before the borrow ends.

#![warn(clippy::undocumented_unsafe_blocks)]

pub(crate) mod elementwise;
pub(crate) mod gemm;
pub(crate) mod pool;
pub(crate) mod threads;
