//! 300 training steps of the large MLP (784-1024-1024-10, dropout 0.5, batch 128) on one
//! thread, for a sampling profiler to attribute the step's time:
//!
//! ```sh
//! perf record -e cpu-clock -o step.data -- cargo bench --bench step_profile
//! perf report -i step.data --no-children --sort symbol
//! ```
//!
//! `scripts/bench.sh` does this when `perf` is installed and groups the symbols (products,
//! dropout masks, optimizer update, the step's copies for undoing it, other element-wise passes).

use std::hint::black_box;
use std::time::Instant;

mod nets;
use nets::{large_mlp, normal, one_hot};

fn main() {
    // `cargo bench` passes `--bench`; a filter that names another bench skips this one.
    if std::env::args()
        .skip(1)
        .any(|a| !a.starts_with('-') && a != "step_profile")
    {
        return;
    }
    ndnet::set_product_threads(1);
    let x = normal(128, 784, 2);
    let y = one_hot(128, 10);
    let mut model = large_mlp();
    for _ in 0..5 {
        model.train_on_batch(&x, &y).unwrap();
    }
    let steps = 300;
    let start = Instant::now();
    for _ in 0..steps {
        black_box(model.train_on_batch(&x, &y).unwrap());
    }
    let per_step = start.elapsed().as_secs_f64() / f64::from(steps);
    println!(
        "step_profile: {steps} steps, {:.2} ms per step (wall)",
        per_step * 1e3
    );
}
