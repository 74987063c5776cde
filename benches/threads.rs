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
use ndarray::Array2;
use ndnet::prelude::*;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand_distr::{Distribution, Normal};

fn normal(rows: usize, cols: usize, seed: u64) -> Array2<f32> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let n = Normal::new(0.0f32, 1.0).unwrap();
    Array2::from_shape_fn((rows, cols), |_| n.sample(&mut rng))
}

/// 784-1024-1024-10, ReLU, Dropout(0.5) after each hidden layer, softmax + cross-entropy, as in
/// `forward_backward.rs`.
fn large_mlp() -> Sequential {
    let mut m = Sequential::new(784).with_seed(1);
    m.add(Dense::new(1024).activation(Activation::Relu))
        .unwrap();
    m.add(Dropout::new(0.5)).unwrap();
    m.add(Dense::new(1024).activation(Activation::Relu))
        .unwrap();
    m.add(Dropout::new(0.5)).unwrap();
    m.add(Dense::new(10).activation(Activation::Softmax))
        .unwrap();
    m.compile(CategoricalCrossentropy, Sgd::new(0.01).momentum(0.9))
        .unwrap();
    m
}

fn product_threads(c: &mut Criterion) {
    let x = normal(128, 784, 2);
    let y = Array2::from_shape_fn((128, 10), |(i, j)| f32::from(i % 10 == j));
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
