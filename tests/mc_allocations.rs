//! The passes of a Monte-Carlo dropout prediction allocate nothing: on one thread, `predict_mc`
//! makes the same allocations, of the same sizes, for 2 passes as for 20.
//!
//! This file is its own test binary, so it can install a counting global allocator. The counter
//! is global, not per thread, so that it also sees allocations made on worker threads; the file
//! therefore holds one test and runs it without the test harness (`harness = false`), so no
//! other thread allocates while it counts.

use ndarray::Array2;
use ndnet::experiments::SonarExperiment;
use ndnet::layers::Masks;
use ndnet::prelude::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

mod counting;
use counting::allocations_during;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

/// `rows` rows of `cols` features in [-2, 2), made before anything is counted.
fn inputs(rows: usize, cols: usize) -> Array2<f32> {
    let mut rng = SmallRng::seed_from_u64(1);
    Array2::from_shape_simple_fn((rows, cols), || rng.random_range(-2.0f32..2.0))
}

/// Dropout(0.2) on the inputs → Dense(16, relu) → Dropout(0.5) → Dense(3, softmax): every
/// layer runs in every pass.
fn input_dropout_classifier() -> Sequential {
    let mut model = Sequential::new(60).with_seed(5);
    model.add(Dropout::new(0.2)).unwrap();
    model
        .add(Dense::new(16).activation(Activation::Relu))
        .unwrap();
    model.add(Dropout::new(0.5)).unwrap();
    model
        .add(Dense::new(3).activation(Activation::Softmax))
        .unwrap();
    model
}

/// The allocations of one `predict_mc` call with `samples` passes on one thread.
fn allocations_of(
    model: &Sequential,
    x: &Array2<f32>,
    samples: usize,
    masks: Masks,
) -> (usize, usize) {
    allocations_during(|| {
        let mc = model
            .mc_dropout(samples)
            .seed(11)
            .masks(masks)
            .threads(1)
            .predict(x)
            .unwrap();
        assert_eq!(mc.samples, samples);
        assert!(mc.std.iter().any(|&s| s > 0.0));
    })
}

fn monte_carlo_passes_allocate_nothing() {
    // Without this the checks below could pass with a broken counter.
    let (n, bytes) = allocations_during(|| {
        let v: Vec<u64> = std::hint::black_box(vec![1, 2, 3]);
        drop(v);
    });
    assert!(n >= 1 && bytes >= 24);

    let mut hidden = SonarExperiment::Hidden.build().unwrap();
    hidden.set_seed(3);
    let models = [
        ("sonar Hidden", hidden),
        ("input dropout", input_dropout_classifier()),
    ];
    // 208 rows: one block of rows; 300 rows: two.
    for rows in [208, 300] {
        let x = inputs(rows, 60);
        for (name, model) in &models {
            for masks in [Masks::PerRow, Masks::PerBatch] {
                // A first call, so that anything set up once per process is not counted.
                allocations_of(model, &x, 2, masks);
                let few = allocations_of(model, &x, 2, masks);
                let many = allocations_of(model, &x, 20, masks);
                assert_eq!(
                    few, many,
                    "{name}, {rows} rows, {masks:?}: (allocations, bytes) for 2 passes and for 20"
                );
                assert!(few.0 > 0, "the call's own buffers are counted");
            }
        }
    }
}

// Without libtest's harness: its main thread, waiting for the test thread, can allocate (to
// register with the result channel) while the global counter counts, which made the counts
// depend on scheduling on a loaded machine. Here the only threads are the ones under test.
fn main() {
    monte_carlo_passes_allocate_nothing();
    println!("test monte_carlo_passes_allocate_nothing ... ok");
}
