//! The large MLP's training step and forward pass, and a 1024³ product, on 1 and 2 product
//! threads (`ndnet::set_product_threads`). Wall-clock time: the work of a split product runs on
//! several threads, which the benchmark thread's CPU time would not see. Run it on an otherwise
//! idle machine:
//!
//! ```sh
//! cargo bench --bench threads
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ndnet::prelude::*;

mod nets;
use nets::{large_mlp, normal, one_hot};

fn product_threads(c: &mut Criterion) {
    let x = normal(128, 784, 2);
    let y = one_hot(128, 10);
    let a = normal(1024, 1024, 4);
    let mut linear = Sequential::new(1024).with_seed(1);
    linear.add(Dense::new(1024).use_bias(false)).unwrap();
    let mut g = c.benchmark_group("product_threads");
    for threads in [1usize, 2] {
        ndnet::set_product_threads(threads);
        let mut model = large_mlp();
        g.bench_function(BenchmarkId::new("mlp_b128_train_step", threads), |b| {
            b.iter(|| black_box(model.train_on_batch(&x, &y).unwrap()))
        });
        g.bench_function(BenchmarkId::new("mlp_b128_forward_eval", threads), |b| {
            b.iter(|| {
                black_box(model.forward(&x, Mode::Eval).unwrap());
            })
        });
        g.bench_function(BenchmarkId::new("dense_1024_cubed", threads), |b| {
            b.iter(|| {
                black_box(linear.forward(&a, Mode::Eval).unwrap());
            })
        });
    }
    ndnet::set_product_threads(1);
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    targets = product_threads
}
criterion_main!(benches);
