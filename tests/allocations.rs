//! A training step allocates nothing once its buffers exist.
//!
//! This file is its own test binary, so it can install a counting global allocator. The count is
//! kept per thread: the test harness runs tests on parallel threads, and each test only looks at
//! the allocations its own thread made.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use ndarray::Array2;
use ndnet::prelude::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn bump() {
    // `try_with`: the thread-local may already be gone while a thread shuts down.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counter is a plain
// thread-local `Cell` with a const initializer, which itself never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump();
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump();
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump();
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Number of allocations (alloc, alloc_zeroed, realloc) this thread makes while running `f`.
fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

/// 64 rows of 60 features and binary labels, made before anything is counted.
fn sonar_like_data() -> (Array2<f32>, Array2<f32>) {
    let mut rng = SmallRng::seed_from_u64(1);
    let x = Array2::from_shape_simple_fn((64, 60), || rng.random_range(-2.0f32..2.0));
    let y = Array2::from_shape_fn((64, 1), |(i, _)| (i % 2) as f32);
    (x, y)
}

fn hidden(units: usize) -> Dense {
    Dense::new(units)
        .activation(Activation::Relu)
        .kernel_initializer(Initializer::KERAS_NORMAL)
}

fn output() -> Dense {
    Dense::new(1)
        .activation(Activation::Sigmoid)
        .kernel_initializer(Initializer::KERAS_NORMAL)
}

/// Baseline: Dense(60) -> Dense(30) -> Dense(1).
fn baseline() -> Sequential {
    let mut model = Sequential::new(60).with_seed(7);
    model.add(hidden(60)).unwrap();
    model.add(hidden(30)).unwrap();
    model.add(output()).unwrap();
    model
}

/// Hidden dropout: Dense(60, MaxNorm 3) -> Dropout(0.2) -> Dense(30, MaxNorm 3) ->
/// Dropout(0.2) -> Dense(1).
fn hidden_dropout() -> Sequential {
    let mut model = Sequential::new(60).with_seed(7);
    model
        .add(hidden(60).kernel_constraint(MaxNorm::new(3.0)))
        .unwrap();
    model.add(Dropout::new(0.2)).unwrap();
    model
        .add(hidden(30).kernel_constraint(MaxNorm::new(3.0)))
        .unwrap();
    model.add(Dropout::new(0.2)).unwrap();
    model.add(output()).unwrap();
    model
}

/// Trains once on the first batch (the step that may allocate buffers and optimizer state),
/// then counts the allocations of ten more steps on batches of 16, walking through the data.
fn steady_state_allocations(mut model: Sequential) -> usize {
    let (x, y) = sonar_like_data();
    let batch = |k: usize| {
        let rows = (k % 4) * 16..(k % 4) * 16 + 16;
        (
            x.slice(ndarray::s![rows.clone(), ..]),
            y.slice(ndarray::s![rows, ..]),
        )
    };
    let (bx, by) = batch(0);
    model.train_on_batch(bx, by).unwrap();
    allocations_during(|| {
        for k in 1..=10 {
            let (bx, by) = batch(k);
            let loss = model.train_on_batch(bx, by).unwrap();
            assert!(loss.is_finite());
        }
    })
}

#[test]
fn the_counter_sees_allocations() {
    // Without this the other tests could pass with a broken counter.
    let n = allocations_during(|| {
        let v: Vec<u64> = std::hint::black_box(vec![1, 2, 3]);
        drop(v);
    });
    assert!(n >= 1);
}

#[test]
fn sonar_baseline_with_sgd_momentum_trains_without_allocating() {
    let mut model = baseline();
    model
        .compile(BinaryCrossentropy, Sgd::new(0.01).momentum(0.8))
        .unwrap();
    assert_eq!(steady_state_allocations(model), 0);
}

#[test]
fn hidden_dropout_model_with_max_norm_trains_without_allocating() {
    let mut model = hidden_dropout();
    model
        .compile(BinaryCrossentropy, Sgd::new(0.1).momentum(0.9))
        .unwrap();
    assert_eq!(steady_state_allocations(model), 0);
}

#[test]
fn hidden_dropout_model_with_adam_trains_without_allocating() {
    let mut model = hidden_dropout();
    model.compile(BinaryCrossentropy, Adam::new(0.001)).unwrap();
    assert_eq!(steady_state_allocations(model), 0);
}

#[test]
fn hidden_dropout_model_with_nesterov_and_decay_trains_without_allocating() {
    let mut model = hidden_dropout();
    model
        .compile(
            BinaryCrossentropy,
            Sgd::new(0.1).momentum(0.9).nesterov(true).decay(1e-3),
        )
        .unwrap();
    assert_eq!(steady_state_allocations(model), 0);
}

#[test]
fn baseline_with_rmsprop_momentum_trains_without_allocating() {
    let mut model = baseline();
    model
        .compile(BinaryCrossentropy, RmsProp::new(0.001).momentum(0.9))
        .unwrap();
    assert_eq!(steady_state_allocations(model), 0);
}
