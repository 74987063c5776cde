//! The loader never panics: 20,000 mutated, truncated and re-encoded variants of valid model
//! files (safetensors entries, the model's description in the metadata, and the bytes;
//! deterministic, so it runs the same everywhere). The `fuzz/` directory holds the
//! coverage-guided version of this test (`cargo fuzz run load_model`).
#![cfg(feature = "serde")]

use std::panic::{AssertUnwindSafe, catch_unwind};

use ndarray::Array2;
use ndnet::prelude::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const VARIANTS: usize = 20_000;

/// Valid files: a trained model with every layer kind and optimizer state, and a small one.
fn seeds() -> Vec<Vec<u8>> {
    let mut a = Sequential::new(3).with_seed(1);
    a.add(GaussianNoise::new(0.1)).unwrap();
    a.add(
        Dense::new(4)
            .activation(Activation::Selu)
            .kernel_initializer(Initializer::LecunNormal)
            .kernel_constraint(MaxNorm::new(3.0))
            .kernel_regularizer(Regularizer::l2(0.01)),
    )
    .unwrap();
    a.add(AlphaDropout::new(0.1)).unwrap();
    a.add(Dense::new(3).activation(Activation::Relu)).unwrap();
    a.add(GaussianDropout::new(0.2)).unwrap();
    a.add(Dropout::new(0.2)).unwrap();
    a.add(Dense::new(2).activation(Activation::Softmax))
        .unwrap();
    a.compile(CategoricalCrossentropy, Adam::new(0.01)).unwrap();
    let x = Array2::from_shape_fn((6, 3), |(i, j)| (i as f32 - 2.0) * 0.3 + j as f32 * 0.1);
    let y = Array2::from_shape_fn((6, 2), |(i, j)| ((i % 2) == j) as u8 as f32);
    a.train_on_batch(&x, &y).unwrap();

    let mut b = Sequential::new(2).with_seed(2);
    b.add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    b.compile(BinaryCrossentropy, Sgd::new(0.1).momentum(0.9))
        .unwrap();
    b.train_on_batch(&Array2::<f32>::ones((2, 2)), &Array2::<f32>::ones((2, 1)))
        .unwrap();
    vec![a.to_bytes(true).unwrap(), b.to_bytes(true).unwrap()]
}

fn header_len(bytes: &[u8]) -> usize {
    u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize
}

/// Interesting values for a JSON number or string.
fn random_json(rng: &mut SmallRng) -> serde_json::Value {
    use serde_json::json;
    match rng.random_range(0..12) {
        0 => json!(0),
        1 => json!(-1),
        2 => json!(u64::MAX),
        3 => json!(1e300),
        4 => json!(1.5),
        5 => json!(rng.random_range(0..10)),
        6 => json!(null),
        7 => json!("Dense"),
        8 => json!([]),
        9 => json!({}),
        10 => json!(true),
        _ => json!(rng.random_range(-3.0..3.0)),
    }
}

/// Replaces one randomly chosen leaf (or container) of `v`.
fn mutate_json(v: &mut serde_json::Value, rng: &mut SmallRng) {
    use serde_json::Value;
    match v {
        Value::Object(map) if !map.is_empty() && rng.random_bool(0.85) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = &keys[rng.random_range(0..keys.len())];
            if rng.random_bool(0.05) {
                map.remove(key);
            } else if let Some(child) = map.get_mut(key) {
                mutate_json(child, rng);
            }
        }
        Value::Array(items) if !items.is_empty() && rng.random_bool(0.85) => {
            let i = rng.random_range(0..items.len());
            if rng.random_bool(0.05) {
                items.remove(i);
            } else if rng.random_bool(0.05) {
                let copy = items[i].clone();
                items.push(copy);
            } else {
                mutate_json(&mut items[i], rng);
            }
        }
        _ => *v = random_json(rng),
    }
}

/// Re-encodes the file with a mutated header (the safetensors entries, or the model's
/// description in the metadata), keeping the tensor bytes, with a valid length.
fn mutate_header(bytes: &[u8], rng: &mut SmallRng) -> Vec<u8> {
    let h = header_len(bytes);
    let mut json: serde_json::Value = serde_json::from_slice(&bytes[8..8 + h]).unwrap();
    let mut model: serde_json::Value =
        serde_json::from_str(json["__metadata__"]["model"].as_str().unwrap()).unwrap();
    for _ in 0..rng.random_range(1..4) {
        if rng.random_bool(0.7) {
            mutate_json(&mut model, rng);
        } else {
            mutate_json(&mut json, rng);
        }
    }
    if json["__metadata__"]["model"].is_string() {
        json["__metadata__"]["model"] = model.to_string().into();
    }
    let text = serde_json::to_vec(&json).unwrap();
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&text);
    out.extend_from_slice(&bytes[8 + h..]);
    out
}

fn mutate_bytes(bytes: &[u8], rng: &mut SmallRng) -> Vec<u8> {
    let mut out = bytes.to_vec();
    match rng.random_range(0..6) {
        // Truncate anywhere.
        0 => out.truncate(rng.random_range(0..bytes.len())),
        // Flip bits.
        1 => {
            for _ in 0..rng.random_range(1..8) {
                let i = rng.random_range(0..out.len());
                out[i] ^= 1 << rng.random_range(0..8);
            }
        }
        // Overwrite the header length or a weight with arbitrary bytes.
        2 => {
            let at = [0, 4, out.len() - 8][rng.random_range(0..3)];
            for b in &mut out[at..at + 4] {
                *b = rng.random();
            }
        }
        // Insert or delete a run of bytes.
        3 => {
            let i = rng.random_range(0..out.len());
            if rng.random_bool(0.5) {
                let n = rng.random_range(1..16);
                out.splice(i..i, (0..n).map(|_| rng.random::<u8>()));
            } else {
                let end = (i + rng.random_range(1..16)).min(out.len());
                out.drain(i..end);
            }
        }
        // Random bytes after the length prefix.
        4 => {
            let n = rng.random_range(0..64);
            out.truncate(8);
            out.extend((0..n).map(|_| rng.random::<u8>()));
        }
        // Special floats in the tensor data.
        _ => {
            let start = 8 + header_len(bytes);
            let floats = (out.len() - start) / 4;
            if floats > 0 {
                let k = start + 4 * rng.random_range(0..floats);
                let v = [f32::NAN, f32::INFINITY, f32::MIN, 0.0, -0.0][rng.random_range(0..5)];
                out[k..k + 4].copy_from_slice(&v.to_le_bytes());
            }
        }
    }
    out
}

#[test]
fn twenty_thousand_mutated_files_never_panic_the_loader() {
    let seeds = seeds();
    for s in &seeds {
        assert!(Sequential::from_bytes(s).is_ok());
    }
    let mut rng = SmallRng::seed_from_u64(20_000);
    let (mut loaded, mut refused) = (0usize, 0usize);
    for variant in 0..VARIANTS {
        let seed = &seeds[variant % seeds.len()];
        let bytes = if variant % 3 == 0 {
            mutate_header(seed, &mut rng)
        } else {
            mutate_bytes(seed, &mut rng)
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let result = Sequential::from_bytes(&bytes);
            // A file that loads must give a model that runs.
            if let Ok(model) = result.as_ref().map(Clone::clone) {
                let x = Array2::<f32>::zeros((2, model.input_dim()));
                if model.input_dim() <= 1 << 12 {
                    let _ = model.predict(&x);
                }
            }
            result.is_ok()
        }));
        match outcome {
            Ok(true) => loaded += 1,
            Ok(false) => refused += 1,
            Err(_) => panic!(
                "variant {variant} panicked the loader; bytes: {:?}",
                String::from_utf8_lossy(&bytes)
            ),
        }
    }
    eprintln!("loaded {loaded}, refused {refused}");
    assert_eq!(loaded + refused, VARIANTS);
    // Most mutations must be refused; some (a changed float, a changed rate) are valid models.
    assert!(refused > VARIANTS / 2, "{refused} refused, {loaded} loaded");
}
