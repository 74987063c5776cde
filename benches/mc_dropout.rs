//! Monte-Carlo dropout against plain inference: `predict` (one forward pass in inference mode)
//! and `predict_mc` with `T` passes on the same batch, for the sonar tutorial's Hidden-dropout
//! network on 208 rows and the MNIST ladder's 784-1024-1024-1024-10 dropout network on 1,000
//! rows of random pixels.
//!
//! The one-thread benches measure the benchmark thread's CPU time, as `forward_backward.rs`.
//! The two-thread comparison measures wall time (the work runs on other threads than the
//! benchmark's), with the one-thread run and `predict` measured again the same way beside it.
//!
//! ```text
//! cargo bench --bench mc_dropout -- --warm-up-time 1 --measurement-time 5
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::{Measurement, WallTime};
use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use ndarray::Array2;
use ndnet::experiments::SonarExperiment;
use ndnet::prelude::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

mod cpu_time;
mod nets;
use cpu_time::ThreadCpuTime;
use nets::normal;

/// The numbers of passes measured on one thread.
const PASSES: [usize; 3] = [1, 10, 50];

/// `rows` rows of 784 uniform "pixels" in [0, 1).
fn pixels(rows: usize, seed: u64) -> Array2<f32> {
    let mut rng = SmallRng::seed_from_u64(seed);
    Array2::from_shape_simple_fn((rows, 784), || rng.random::<f32>())
}

/// The tutorial's Hidden model: Dense(60, MaxNorm 3) → Dropout(0.2) → Dense(30, MaxNorm 3) →
/// Dropout(0.2) → Dense(1, sigmoid).
fn sonar_hidden() -> Sequential {
    let mut m = SonarExperiment::Hidden.build().unwrap();
    m.set_seed(1);
    m
}

/// The MNIST ladder's dropout network (`examples/mnist_dropout.rs`): Dropout(0.2) on the
/// inputs, three Dense(1024, ReLU) layers each followed by Dropout(0.5), Dense(10, softmax).
fn mnist_dropout_net() -> Sequential {
    let mut m = Sequential::new(784).with_seed(1);
    let dense = |units: usize, fan_in: usize, activation: Activation| {
        Dense::new(units)
            .activation(activation)
            .kernel_initializer(Initializer::RandomNormal {
                mean: 0.0,
                stddev: 1.0 / (fan_in as f32).sqrt(),
            })
    };
    m.add(Dropout::new(0.2)).unwrap();
    let mut fan_in = 784;
    for _ in 0..3 {
        m.add(dense(1024, fan_in, Activation::Relu)).unwrap();
        m.add(Dropout::new(0.5)).unwrap();
        fan_in = 1024;
    }
    m.add(dense(10, fan_in, Activation::Softmax)).unwrap();
    m
}

/// `predict` once, and `predict_mc` with each of `passes` on `threads` threads, in group `name`.
fn bench_passes<M: Measurement>(
    c: &mut Criterion<M>,
    name: &str,
    (model, x): (&Sequential, &Array2<f32>),
    passes: &[usize],
    threads: &[usize],
    heavy: bool,
) {
    let mut g = c.benchmark_group(name);
    if heavy {
        // Seconds per iteration: one iteration per sample, ten samples.
        g.sampling_mode(SamplingMode::Flat).sample_size(10);
    }
    g.bench_function("predict", |b| {
        b.iter(|| black_box(model.predict(x).unwrap()))
    });
    for &threads in threads {
        for &t in passes {
            let id = BenchmarkId::new(format!("predict_mc_threads{threads}"), t);
            g.bench_with_input(id, &t, |b, &t| {
                b.iter(|| {
                    let mc = model.mc_dropout(t).seed(7).threads(threads).predict(x);
                    black_box(mc.unwrap())
                })
            });
        }
    }
    g.finish();
}

fn one_thread(c: &mut Criterion<ThreadCpuTime>) {
    let (sonar, x) = (sonar_hidden(), normal(208, 60, 1));
    bench_passes(c, "mc_sonar_hidden_208", (&sonar, &x), &PASSES, &[1], false);
    let (mnist, x) = (mnist_dropout_net(), pixels(1000, 2));
    bench_passes(c, "mc_mnist_3x1024_1000", (&mnist, &x), &PASSES, &[1], true);
}

fn two_threads(c: &mut Criterion<WallTime>) {
    let (mnist, x) = (mnist_dropout_net(), pixels(1000, 2));
    let group = "mc_mnist_3x1024_1000_wall";
    bench_passes(c, group, (&mnist, &x), &[50], &[1, 2], true);
}

criterion_group! {
    name = cpu;
    config = Criterion::default()
        .with_measurement(ThreadCpuTime)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .sample_size(20);
    targets = one_thread
}
criterion_group! {
    name = wall;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .sample_size(20);
    targets = two_threads
}
criterion_main!(cpu, wall);
