//! Inference through `&self`: one trained model shared read-only by several threads predicts,
//! evaluates and classifies exactly as serial calls do.

use std::thread;

use ndarray::Array2;
use ndnet::prelude::*;

/// Fails to compile if a model stops being shareable across threads.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Sequential>();
    send_sync::<Box<dyn Layer>>();
    send_sync::<Box<dyn Loss>>();
    send_sync::<Box<dyn Optimizer>>();
};

/// 100 rows of 6 features in [-1, 1) and a label that depends on two of them.
fn data(seed: usize) -> (Array2<f32>, Array2<f32>) {
    let x = Array2::from_shape_fn((100, 6), |(i, j)| {
        (((i + seed) * 7 + j * 13) % 23) as f32 / 11.5 - 1.0
    });
    let y = Array2::from_shape_fn((100, 1), |(i, _)| {
        (x[[i, 0]] + x[[i, 3]] > 0.0) as u8 as f32
    });
    (x, y)
}

/// A trained model with dropout, a regularizer and a max-norm constraint.
fn trained() -> Sequential {
    let mut model = Sequential::new(6).with_seed(11);
    model
        .add(
            Dense::new(16)
                .activation(Activation::Relu)
                .kernel_constraint(MaxNorm::new(3.0))
                .kernel_regularizer(Regularizer::l2(1e-3)),
        )
        .unwrap();
    model.add(Dropout::new(0.2)).unwrap();
    model
        .add(Dense::new(8).activation(Activation::Tanh))
        .unwrap();
    model.add(GaussianDropout::new(0.1)).unwrap();
    model
        .add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    model
        .compile(BinaryCrossentropy, Sgd::new(0.1).momentum(0.9))
        .unwrap();
    let (x, y) = data(0);
    let options = FitOptions {
        epochs: 5,
        batch_size: 10,
        ..Default::default()
    };
    model.fit(&x, &y, &options).unwrap();
    model
}

fn bits(a: &Array2<f32>) -> Vec<u32> {
    a.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn four_threads_predicting_from_one_model_give_the_bits_of_serial_calls() {
    let model = trained();
    let inputs: Vec<_> = (0..4).map(|t| data(17 * (t + 1))).collect();
    let serial: Vec<_> = inputs
        .iter()
        .map(|(x, y)| {
            let p = model.predict(x).unwrap();
            let e = model.evaluate(x, y).unwrap();
            let classes = model.predict_classes(x).unwrap();
            (bits(&p), e.loss.to_bits(), e.accuracy.to_bits(), classes)
        })
        .collect();
    // The outputs are probabilities that differ between rows: the comparison has something to
    // compare.
    let p = model.predict(&inputs[0].0).unwrap();
    assert!(p.iter().all(|&v| v > 0.0 && v < 1.0));
    assert!(p.iter().any(|&v| v != p[[0, 0]]));
    let model = &model;
    let parallel: Vec<_> = thread::scope(|s| {
        let handles: Vec<_> = inputs
            .iter()
            .map(|(x, y)| {
                s.spawn(move || {
                    // Many calls each, so that the threads' calls overlap.
                    let mut last = None;
                    for _ in 0..50 {
                        let p = model.predict(x).unwrap();
                        let e = model.evaluate(x, y).unwrap();
                        let classes = model.predict_classes(x).unwrap();
                        let now = (bits(&p), e.loss.to_bits(), e.accuracy.to_bits(), classes);
                        if let Some(before) = &last {
                            assert_eq!(before, &now);
                        }
                        last = Some(now);
                    }
                    last.unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(parallel, serial);
}
