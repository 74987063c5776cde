//! Inputs and networks that several benches use.
//!
//! Each bench includes this module and may use only part of it.
#![allow(dead_code)]

use ndarray::Array2;
use ndnet::prelude::*;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand_distr::{Distribution, Normal};

/// `rows × cols` standard normal values from `seed`.
pub fn normal(rows: usize, cols: usize, seed: u64) -> Array2<f32> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let n = Normal::new(0.0f32, 1.0).unwrap();
    Array2::from_shape_fn((rows, cols), |_| n.sample(&mut rng))
}

/// One-hot rows: row `i` is class `i mod classes`.
pub fn one_hot(rows: usize, classes: usize) -> Array2<f32> {
    Array2::from_shape_fn((rows, classes), |(i, j)| f32::from(i % classes == j))
}

/// 784-1024-1024-10, ReLU, Dropout(0.5) after each hidden layer, softmax + cross-entropy.
pub fn large_mlp() -> Sequential {
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
