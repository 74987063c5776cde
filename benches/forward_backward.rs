//! Forward and backward passes, training steps and a training epoch of the sonar networks and
//! of a large MLP, plus a 1024³ matrix product as the practical peak of one core.
//!
//! Times are the benchmark thread's CPU time (the networks train on one thread), as in
//! `kernels.rs`. `cargo bench` runs them all; `scripts/bench.sh` turns the results into
//! BENCHMARKS.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::{Array2, linalg::general_mat_mul};
use ndnet::prelude::*;

mod cpu_time;
mod nets;
use cpu_time::ThreadCpuTime;
use nets::{large_mlp, normal, one_hot};

type Crit = Criterion<ThreadCpuTime>;

fn binary_targets(rows: usize) -> Array2<f32> {
    Array2::from_shape_fn((rows, 1), |(i, _)| (i % 2) as f32)
}

fn dense(units: usize, act: Activation) -> Dense {
    Dense::new(units)
        .activation(act)
        .kernel_initializer(Initializer::KERAS_NORMAL)
}

/// The tutorial's baseline: 60-60-30-1, SGD(0.01, momentum 0.8).
fn sonar_baseline(hidden: usize) -> Sequential {
    let mut m = Sequential::new(60).with_seed(1);
    m.add(dense(hidden, Activation::Relu)).unwrap();
    m.add(dense(hidden.div_ceil(2), Activation::Relu)).unwrap();
    m.add(dense(1, Activation::Sigmoid)).unwrap();
    m.compile(BinaryCrossentropy, Sgd::new(0.01).momentum(0.8))
        .unwrap();
    m
}

/// The tutorial's hidden-dropout model: MaxNorm(3) kernels, Dropout(0.2), SGD(0.1, 0.9).
fn sonar_hidden() -> Sequential {
    let mut m = Sequential::new(60).with_seed(1);
    m.add(dense(60, Activation::Relu).kernel_constraint(MaxNorm::new(3.0)))
        .unwrap();
    m.add(Dropout::new(0.2)).unwrap();
    m.add(dense(30, Activation::Relu).kernel_constraint(MaxNorm::new(3.0)))
        .unwrap();
    m.add(Dropout::new(0.2)).unwrap();
    m.add(dense(1, Activation::Sigmoid)).unwrap();
    m.compile(BinaryCrossentropy, Sgd::new(0.1).momentum(0.9))
        .unwrap();
    m
}

/// Forward (eval), forward (train) + backward, and a full training step of one model.
fn bench_model(c: &mut Crit, group: &str, mut model: Sequential, x: &Array2<f32>, y: &Array2<f32>) {
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(x.nrows() as u64));
    g.bench_function("forward_eval", |b| {
        b.iter(|| {
            black_box(model.forward(x, Mode::Eval).unwrap());
        })
    });
    g.bench_function("forward_backward_train", |b| {
        b.iter(|| black_box(model.compute_gradients(x, y).unwrap()))
    });
    g.bench_function("train_step", |b| {
        b.iter(|| black_box(model.train_on_batch(x, y).unwrap()))
    });
    g.finish();
}

fn sonar_nets(c: &mut Crit) {
    let (x, y) = (normal(16, 60, 1), binary_targets(16));
    bench_model(c, "sonar_baseline_b16", sonar_baseline(60), &x, &y);
    bench_model(c, "sonar_hidden_b16", sonar_hidden(), &x, &y);
}

fn large_net(c: &mut Crit) {
    let (x, y) = (normal(128, 784, 2), one_hot(128, 10));
    bench_model(c, "mlp_784_1024_1024_10_b128", large_mlp(), &x, &y);
}

fn sonar_epoch(c: &mut Crit) {
    let (x, y) = (normal(187, 60, 3), binary_targets(187));
    let mut model = sonar_baseline(60);
    let options = FitOptions {
        epochs: 1,
        batch_size: 16,
        ..Default::default()
    };
    let mut g = c.benchmark_group("sonar_baseline_epoch");
    g.throughput(Throughput::Elements(187));
    g.bench_function("fit_1_epoch_187_rows_b16", |b| {
        b.iter(|| black_box(model.fit(&x, &y, &options).unwrap()))
    });
    g.finish();
}

/// 1024³ products: ndarray's `general_mat_mul` (what `.dot()` runs), and the same product
/// through a linear `Dense(1024)` layer's forward pass, which uses ndnet's own kernel.
fn matmul_peak(c: &mut Crit) {
    let (a, b) = (normal(1024, 1024, 4), normal(1024, 1024, 5));
    let mut out = Array2::<f32>::zeros((1024, 1024));
    let mut g = c.benchmark_group("matmul_1024");
    g.sample_size(10);
    g.bench_function("ndarray_dot", |bch| {
        bch.iter(|| {
            general_mat_mul(1.0, &a, &b, 0.0, &mut out);
            black_box(&out);
        })
    });
    let mut dense = Sequential::new(1024).with_seed(1);
    dense.add(Dense::new(1024).use_bias(false)).unwrap();
    g.bench_function("ndnet_dense_forward", |bch| {
        bch.iter(|| {
            black_box(dense.forward(&a, Mode::Eval).unwrap());
        })
    });
    g.finish();
}

fn batch_scaling(c: &mut Crit) {
    let mut g = c.benchmark_group("batch_scaling_sonar_baseline");
    for batch in [1usize, 16, 64, 256, 1024] {
        let (x, y) = (normal(batch, 60, 6), binary_targets(batch));
        let mut model = sonar_baseline(60);
        g.throughput(Throughput::Elements(batch as u64));
        g.bench_with_input(BenchmarkId::new("forward_eval", batch), &batch, |b, _| {
            b.iter(|| {
                black_box(model.forward(&x, Mode::Eval).unwrap());
            })
        });
        g.bench_with_input(BenchmarkId::new("train_step", batch), &batch, |b, _| {
            b.iter(|| black_box(model.train_on_batch(&x, &y).unwrap()))
        });
    }
    g.finish();
}

fn width_scaling(c: &mut Crit) {
    let mut g = c.benchmark_group("width_scaling_b16");
    let (x, y) = (normal(16, 60, 7), binary_targets(16));
    for hidden in [30usize, 60, 256, 1024, 4096] {
        let mut model = sonar_baseline(hidden);
        if hidden >= 1024 {
            g.sample_size(10);
        }
        g.throughput(Throughput::Elements(16));
        g.bench_with_input(BenchmarkId::new("forward_eval", hidden), &hidden, |b, _| {
            b.iter(|| {
                black_box(model.forward(&x, Mode::Eval).unwrap());
            })
        });
        g.bench_with_input(BenchmarkId::new("train_step", hidden), &hidden, |b, _| {
            b.iter(|| black_box(model.train_on_batch(&x, &y).unwrap()))
        });
    }
    g.finish();
}

/// The cost of subnormal operands, with the flush to zero (`ndnet::set_flush_subnormals`) off and
/// on: an SGD update (momentum 0.9) of 1024×1024 weights whose gradients are 0 and whose
/// velocities are all `4·2⁻¹⁴⁹`, the subnormal value a dead unit's velocity ends at (it stays
/// there without the flush; with it the first call zeroes it), and the sonar baseline's training
/// step from ordinary values.
fn subnormals(c: &mut Crit) {
    use ndnet::optimizers::{Optimizer, Sgd};
    let mut g = c.benchmark_group("subnormals");
    let zeros = Array2::<f32>::zeros((1024, 1024));
    let (x, y) = (normal(16, 60, 1), binary_targets(16));
    for (flush, name) in [(false, "off"), (true, "on")] {
        ndnet::set_flush_subnormals(flush);
        let mut sgd = Sgd::new(0.01).momentum(0.9);
        let mut w = Array2::<f32>::from_elem((1024, 1024), 0.5);
        sgd.update(0, 0.01, 0, w.view_mut(), zeros.view());
        sgd.state_mut().buffers[0].slots[0].fill(4.0 * f32::from_bits(1));
        g.bench_function(
            BenchmarkId::new("sgd_update_1024x1024_subnormal_velocity", name),
            |b| b.iter(|| sgd.update(0, 0.01, 1, black_box(w.view_mut()), zeros.view())),
        );
        let mut model = sonar_baseline(60);
        g.bench_function(
            BenchmarkId::new("sonar_baseline_b16_train_step", name),
            |b| b.iter(|| black_box(model.train_on_batch(&x, &y).unwrap())),
        );
    }
    ndnet::set_flush_subnormals(true);
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .with_measurement(ThreadCpuTime)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = sonar_nets, large_net, sonar_epoch, matmul_peak, batch_scaling, width_scaling,
        subnormals
}
criterion_main!(benches);
