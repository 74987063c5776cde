#!/usr/bin/env bash
# Fuzzes the model loader and the CSV loader on stable Rust for a bounded time:
# `scripts/fuzz-loaders.sh [seconds per loader]` (default 30). CI runs it (.ci/run).
#
# The loop is the ignored test tests/fuzz_loaders.rs: structural and byte-level mutations of
# valid model files (safetensors files: the model's description in the metadata and the tensor
# entries mutated, byte ranges laid out again from the shapes; a loaded model is predicted,
# trained one step and round-tripped) and of CSV texts with random loader options. It needs nothing beyond cargo. The seed is printed; replay a failure with
# FUZZ_SEED=<seed>. Failing inputs are written to target/fuzz-failures/.
#
# For coverage-guided fuzzing with libFuzzer and AddressSanitizer see
# scripts/fuzz-load-model.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export FUZZ_SECONDS="${1:-30}"
cargo test --test fuzz_loaders -- --ignored --nocapture --test-threads 2
