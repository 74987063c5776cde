//! `fit` adds no allocation per batch to the training step's own: with sample and class
//! weights, a validation split, a regularizer, all noise layers and a per-step learning-rate
//! schedule, each extra batch of an epoch allocates exactly what one `train_on_batch` step does
//! (nothing, once the matrix products stop allocating their packing buffers).
//!
//! One test in this file, run without the test harness (`harness = false`), so no other thread
//! allocates while it counts.

use ndarray::{Array1, Array2};
use ndnet::callbacks::LearningRateScheduler;
use ndnet::prelude::*;
use ndnet::schedules::InverseTimeDecay;

mod counting;
use counting::allocations_during;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

fn model() -> Sequential {
    let mut model = Sequential::new(6).with_seed(1);
    model
        .add(
            Dense::new(8)
                .activation(Activation::Relu)
                .kernel_regularizer(Regularizer::l2(0.01)),
        )
        .unwrap();
    model.add(Dropout::new(0.2)).unwrap();
    model.add(GaussianNoise::new(0.1)).unwrap();
    model
        .add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    model
        .compile(BinaryCrossentropy, Sgd::new(0.1).momentum(0.9))
        .unwrap();
    model
}

/// Allocations of one `train_on_batch` step on 4 rows, after a warm-up step.
fn allocations_per_step() -> usize {
    let x = Array2::from_elem((4, 6), 0.25f32);
    let y = Array2::from_elem((4, 1), 1.0f32);
    let mut model = model();
    model.train_on_batch(&x, &y).unwrap();
    allocations_during(|| {
        model.train_on_batch(&x, &y).unwrap();
    })
    .0
}

fn allocations_of_fit(batch_size: usize) -> usize {
    let x = Array2::from_shape_fn((80, 6), |(i, j)| ((i * 5 + j * 3) % 7) as f32 / 7.0 - 0.5);
    let y = Array2::from_shape_fn((80, 1), |(i, _)| (x[[i, 0]] > 0.0) as u8 as f32);
    let w = Array1::from_shape_fn(80, |i| 1.0 + (i % 3) as f32);
    let mut model = model();
    let options = FitOptions {
        epochs: 3,
        batch_size,
        validation_split: 0.2,
        sample_weight: Some(w.view()),
        class_weight: Some(&[1.0, 2.0]),
        ..Default::default()
    };
    let mut schedule = LearningRateScheduler::per_step(InverseTimeDecay::new(0.1, 10, 0.5));
    // Warm up: the first fit grows the model's buffers and the optimizer's state.
    model
        .fit_with_callbacks(&x, &y, &options, &mut [&mut schedule])
        .unwrap();
    allocations_during(|| {
        model
            .fit_with_callbacks(&x, &y, &options, &mut [&mut schedule])
            .unwrap();
    })
    .0
}

fn each_extra_batch_of_fit_allocates_only_what_a_training_step_does() {
    // 64 training rows, 3 epochs: batch 64 is 1 step per epoch, batch 4 is 16: 45 more steps.
    let per_step = allocations_per_step();
    let one = allocations_of_fit(64);
    let sixteen = allocations_of_fit(4);
    assert_eq!(
        sixteen - one,
        45 * per_step,
        "fit allocations: {one} with 1 batch per epoch, {sixteen} with 16; {per_step} per step"
    );
}

// Without libtest's harness: its main thread, waiting for the test thread, can allocate (to
// register with the result channel) while the global counter counts, which made the counts
// depend on scheduling on a loaded machine. Here the only threads are the ones under test.
fn main() {
    each_extra_batch_of_fit_allocates_only_what_a_training_step_does();
    println!("test each_extra_batch_of_fit_allocates_only_what_a_training_step_does ... ok");
}
