//! Fuzzes the model loader: `Sequential::from_bytes` must return `Ok` or an error for any
//! input, never panic, and a model it returns must run.
//!
//! ```text
//! cd fuzz
//! cargo run --example make_seeds -- corpus/load_model     # valid files to start from
//! cargo +nightly fuzz run load_model -- -max_total_time=300
//! ```
//! (see `scripts/fuzz-load-model.sh`, which also runs without a nightly toolchain).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ndarray::Array2;
use ndnet::Sequential;

fn load_and_run(bytes: &[u8]) {
    if let Ok(model) = Sequential::from_bytes(bytes) {
        if model.input_dim() <= 1 << 12 {
            let _ = model.predict(&Array2::<f32>::zeros((2, model.input_dim())));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    load_and_run(data);
});
