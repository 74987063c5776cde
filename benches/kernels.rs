//! The matrix-product kernel against its baselines, one thread, in one run: the core's f32 FMA
//! peak (a timed loop of independent fused multiply-adds), ndnet's kernel (through a linear
//! `Dense` layer) and matrixmultiply built with its `avx512` feature (through ndarray's
//! `general_mat_mul`, which calls it), at 1024³, at the shapes of the 784-1024-1024-10 MLP's
//! products at batch 128, and at the sonar network's 16×60×60.
//!
//! Times are the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), not wall time: on a
//! machine shared with other jobs a time-sliced thread's wall time mostly measures the others.
//! Cache pollution by the other jobs still counts, so compare ratios from one run.
//!
//! `cargo bench --bench kernels`; `scripts/bench.sh` reports the GFLOP/s beside NumPy's and
//! PyTorch's in BENCHMARKS.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ndarray::{Array2, linalg::general_mat_mul};
use ndnet::prelude::*;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand_distr::{Distribution, Normal};

mod cpu_time;
use cpu_time::ThreadCpuTime;

type Crit = Criterion<ThreadCpuTime>;

fn normal(rows: usize, cols: usize, seed: u64) -> Array2<f32> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let n = Normal::new(0.0f32, 1.0).unwrap();
    Array2::from_shape_fn((rows, cols), |_| n.sample(&mut rng))
}

/// Fused multiply-adds per call of [`fma_loop`]: `ITERS` rounds of `CHAINS` vectors.
const ITERS: usize = 100_000;
/// Independent accumulators: enough to cover the FMA latency (4 cycles) on two FMA ports.
const CHAINS: usize = 12;

#[cfg(target_arch = "x86_64")]
mod peak {
    use std::arch::x86_64::*;

    use super::{CHAINS, ITERS};

    /// `ITERS · CHAINS` AVX-512 FMAs on 16 lanes, in `CHAINS` independent chains.
    #[target_feature(enable = "avx512f")]
    pub fn avx512(x: f32) -> f32 {
        let (a, b) = (_mm512_set1_ps(x), _mm512_set1_ps(0.999_99));
        let mut acc = [_mm512_set1_ps(1.0); CHAINS];
        for _ in 0..ITERS {
            for v in acc.iter_mut() {
                *v = _mm512_fmadd_ps(*v, b, a);
            }
        }
        let mut s = _mm512_setzero_ps();
        for v in acc {
            s = _mm512_add_ps(s, v);
        }
        _mm512_reduce_add_ps(s)
    }

    /// `ITERS · CHAINS` AVX2 FMAs on 8 lanes, in `CHAINS` independent chains.
    #[target_feature(enable = "avx2,fma")]
    pub fn avx2(x: f32) -> f32 {
        let (a, b) = (_mm256_set1_ps(x), _mm256_set1_ps(0.999_99));
        let mut acc = [_mm256_set1_ps(1.0); CHAINS];
        for _ in 0..ITERS {
            for v in acc.iter_mut() {
                *v = _mm256_fmadd_ps(*v, b, a);
            }
        }
        let mut s = _mm256_setzero_ps();
        for v in acc {
            s = _mm256_add_ps(s, v);
        }
        let mut out = [0.0f32; 8];
        // SAFETY: `out` holds 8 writable floats (an unaligned store).
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), s) };
        out.iter().sum()
    }
}

/// The widest FMA loop this CPU runs, with its lane count, or `None` without FMA.
#[allow(clippy::type_complexity)]
fn fma_loop() -> Option<(&'static str, usize, Box<dyn Fn(f32) -> f32>)> {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: AVX-512F was detected on this CPU just above.
            return Some(("avx512", 16, Box::new(|x| unsafe { peak::avx512(x) })));
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: AVX2 and FMA were detected on this CPU just above.
            return Some(("avx2", 8, Box::new(|x| unsafe { peak::avx2(x) })));
        }
    }
    None
}

/// The f32 FMA peak of one core: throughput in FLOPs (2 per lane per FMA).
fn fma_peak(c: &mut Crit) {
    let Some((name, lanes, f)) = fma_loop() else {
        eprintln!("no FMA instructions on this CPU: no peak measured");
        return;
    };
    let mut g = c.benchmark_group("fma_peak");
    g.throughput(Throughput::Elements((2 * lanes * ITERS * CHAINS) as u64));
    g.bench_function(name, |b| b.iter(|| black_box(f(black_box(0.5)))));
    g.finish();
}

/// A bias-free linear `Dense(n)` layer on `k` inputs: its forward pass is one product through
/// ndnet's kernel, its backward pass the two transposed ones.
fn linear(k: usize, n: usize) -> Sequential {
    let mut m = Sequential::new(k).with_seed(1);
    m.add(Dense::new(n).use_bias(false)).unwrap();
    m
}

/// `(m, k, n)`: 1024³, the MLP's first and second layers at batch 128, the sonar layer.
const SHAPES: [(usize, usize, usize); 4] = [
    (1024, 1024, 1024),
    (128, 784, 1024),
    (128, 1024, 1024),
    (16, 60, 60),
];

/// `C = A·B` with `A: (m, k)`, `B: (k, n)`, and the backward products of a layer whose forward
/// is that product: `Aᵀ·G` (`(k, m)·(m, n)`, the weight gradient) and `G·Bᵀ` (`(m, n)·(n, k)`,
/// the input gradient). Throughput: 2·m·k·n FLOPs per product.
fn products(c: &mut Crit) {
    for (m, k, n) in SHAPES {
        let mut g = c.benchmark_group(format!("gemm_{m}x{k}x{n}"));
        g.throughput(Throughput::Elements((2 * m * k * n) as u64));
        if m * k * n >= 1 << 26 {
            g.sample_size(10);
        }
        let (a, b, grad) = (normal(m, k, 1), normal(k, n, 2), normal(m, n, 3));
        let mut model = linear(k, n);
        let layer = &mut model.layers_mut()[0];
        let mut out = Array2::<f32>::zeros((m, n));
        let mut grad_in = Array2::<f32>::zeros((m, k));
        let mut gw = Array2::<f32>::zeros((k, n));
        g.bench_function("ndnet", |bch| {
            bch.iter(|| {
                layer.forward(a.view(), out.view_mut(), Mode::Eval).unwrap();
                black_box(&out);
            })
        });
        g.bench_function("matrixmultiply", |bch| {
            bch.iter(|| {
                general_mat_mul(1.0, &a, &b, 0.0, &mut out);
                black_box(&out);
            })
        });
        // The layer's backward pass: both transposed products (and nothing else: no bias, a
        // linear activation), so its throughput is twice the forward's.
        g.throughput(Throughput::Elements((4 * m * k * n) as u64));
        let mut gcopy = grad.clone();
        g.bench_function("ndnet_backward", |bch| {
            bch.iter(|| {
                layer
                    .backward(
                        a.view(),
                        out.view(),
                        gcopy.view_mut(),
                        Some(grad_in.view_mut()),
                        GradWrt::Output,
                    )
                    .unwrap();
                black_box(&grad_in);
            })
        });
        g.bench_function("matrixmultiply_backward", |bch| {
            bch.iter(|| {
                general_mat_mul(1.0, &a.t(), &grad, 0.0, &mut gw);
                general_mat_mul(1.0, &grad, &b.t(), 0.0, &mut grad_in);
                black_box(&grad_in);
            })
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .with_measurement(ThreadCpuTime)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = fma_peak, products
}
criterion_main!(benches);
