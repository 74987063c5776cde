#!/usr/bin/env bash
# Fuzzes the model loader (`Sequential::from_bytes`) with cargo-fuzz (libFuzzer, AddressSanitizer)
# for a bounded time: `scripts/fuzz-load-model.sh [seconds]` (default 60).
#
# Needs `cargo install cargo-fuzz` and a C++ compiler. cargo-fuzz passes nightly-only `-Z`
# flags to rustc; on a stable toolchain this script sets RUSTC_BOOTSTRAP=1 so that stable rustc
# accepts them (fine for a local fuzzing build, not for anything you ship). Crashes land in
# fuzz/artifacts/load_model/; replay one with `cargo fuzz run load_model <file>`.
#
# Without cargo-fuzz, `cargo test --test save_load_mutations` runs a deterministic 20,000-variant
# mutation test of the same loader on stable Rust, and `scripts/fuzz-loaders.sh` (run by CI)
# fuzzes the model and CSV loaders on stable Rust for a time budget.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-60}"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "cargo-fuzz is not installed: cargo install cargo-fuzz" >&2
  exit 1
fi
if ! rustc --version | grep -q nightly; then
  export RUSTC_BOOTSTRAP=1
fi
if [ ! -d corpus/load_model ]; then
  cargo run --quiet --example make_seeds -- corpus/load_model
fi
cargo fuzz run load_model -- -max_total_time="$seconds"
