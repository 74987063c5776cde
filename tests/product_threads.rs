//! Large matrix products split over threads (`set_product_threads`) train and predict with the
//! bits of one thread, and a training step on several threads allocates nothing once the
//! workers run. Alone in its test binary, without libtest's harness: the setting is
//! process-wide, and the allocation counter counts every thread.

use ndarray::Array2;
use ndnet::prelude::*;

mod counting;
use counting::allocations_during;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

/// 192 rows of 600 features and one-hot labels over 10 classes.
fn data() -> (Array2<f32>, Array2<f32>) {
    let x = Array2::from_shape_fn((192, 600), |(i, j)| {
        ((i * 31 + j * 17) % 101) as f32 / 50.5 - 1.0
    });
    let y = Array2::from_shape_fn((192, 10), |(i, c)| (c == (i * 7) % 10) as u8 as f32);
    (x, y)
}

/// 600-512-256-10 with dropout: at a batch of 64 every hidden layer's products, forward and
/// backward, are above the splitting threshold (2^21 multiply-adds), and so is the first
/// layer's update (600·512 weights, at least 2^18).
fn network(optimizer: &dyn Fn() -> Box<dyn Optimizer>) -> Sequential {
    let mut model = Sequential::new(600).with_seed(5);
    model
        .add(Dense::new(512).activation(Activation::Relu))
        .unwrap();
    model.add(Dropout::new(0.5)).unwrap();
    model
        .add(
            Dense::new(256)
                .activation(Activation::Relu)
                .kernel_constraint(MaxNorm::new(3.0)),
        )
        .unwrap();
    model
        .add(Dense::new(10).activation(Activation::Softmax))
        .unwrap();
    model
        .compile_boxed(Box::new(CategoricalCrossentropy), optimizer())
        .unwrap();
    model
}

fn train(optimizer: &dyn Fn() -> Box<dyn Optimizer>) -> (Vec<Vec<f32>>, Array2<f32>) {
    let mut model = network(optimizer);
    let (x, y) = data();
    let options = FitOptions {
        epochs: 3,
        batch_size: 64,
        ..Default::default()
    };
    model.fit(&x, &y, &options).unwrap();
    let weights = model
        .get_weights()
        .iter()
        .map(|w| w.iter().copied().collect())
        .collect();
    (weights, model.predict(&x).unwrap())
}

fn training_and_prediction_give_the_same_bits_on_1_2_3_and_5_threads() {
    let sgd = || -> Box<dyn Optimizer> { Box::new(Sgd::new(0.05).momentum(0.9)) };
    let adam = || -> Box<dyn Optimizer> { Box::new(Adam::new(1e-3)) };
    for optimizer in [&sgd as &dyn Fn() -> Box<dyn Optimizer>, &adam] {
        same_bits_on_any_thread_count(optimizer);
    }
    ndnet::set_product_threads(0);
    assert!(ndnet::product_threads() >= 1);
    ndnet::set_product_threads(1);
}

fn same_bits_on_any_thread_count(optimizer: &dyn Fn() -> Box<dyn Optimizer>) {
    ndnet::set_product_threads(1);
    assert_eq!(ndnet::product_threads(), 1);
    let (weights, predictions) = train(optimizer);
    for threads in [2, 3, 5] {
        ndnet::set_product_threads(threads);
        if cfg!(feature = "parallel") {
            assert_eq!(ndnet::product_threads(), threads);
        }
        let (w, p) = train(optimizer);
        assert_eq!(w.len(), weights.len());
        for (layer, (got, want)) in w.iter().zip(&weights).enumerate() {
            assert!(
                got.iter()
                    .zip(want)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "weights {layer} differ on {threads} threads"
            );
        }
        assert!(
            p.iter()
                .zip(&predictions)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "predictions differ on {threads} threads"
        );
    }
}

/// Steps on two product threads, after a first one (which grows the packing buffers and starts
/// the workers), allocate nothing on any thread.
fn a_step_on_two_threads_allocates_nothing() {
    ndnet::set_product_threads(2);
    let sgd = || -> Box<dyn Optimizer> { Box::new(Sgd::new(0.05).momentum(0.9)) };
    let mut model = network(&sgd);
    let (x, y) = data();
    let (xb, yb) = (
        x.slice(ndarray::s![..64, ..]),
        y.slice(ndarray::s![..64, ..]),
    );
    model.train_on_batch(xb, yb).unwrap();
    let (allocations, _) = allocations_during(|| {
        for _ in 0..3 {
            model.train_on_batch(xb, yb).unwrap();
        }
    });
    assert_eq!(allocations, 0, "allocations in 3 steps on two threads");
    ndnet::set_product_threads(1);
}

fn main() {
    training_and_prediction_give_the_same_bits_on_1_2_3_and_5_threads();
    println!("test training_and_prediction_give_the_same_bits_on_1_2_3_and_5_threads ... ok");
    a_step_on_two_threads_allocates_nothing();
    println!("test a_step_on_two_threads_allocates_nothing ... ok");
}
