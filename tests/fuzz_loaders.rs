//! A stable-Rust fuzz loop over the model loader and the CSV loader, for a time budget.
//! Ignored by `cargo test`; CI runs it (`.ci/run`, see `scripts/fuzz-loaders.sh`):
//!
//! ```text
//! FUZZ_SECONDS=30 FUZZ_SEED=7 cargo test --test fuzz_loaders -- --ignored --nocapture
//! ```
//!
//! `FUZZ_SECONDS` is the budget of each loader (default 5), `FUZZ_SEED` the random seed (by
//! default taken from the clock and printed, so a failure can be replayed). Each input is
//! mutated structurally (JSON values of the model's description and of the safetensors entries
//! replaced by extreme numbers, layers duplicated, the tensors' byte ranges laid out again from
//! their shapes and the data resized to match) and at the byte level. A loaded model must predict, take one training step, keep finite weights and
//! round-trip through `to_bytes`; CSV data must come back with consistent shapes, finite
//! values and printable labels. Any panic or broken property fails the test and writes the
//! input to `target/fuzz-failures/`.
#![cfg(feature = "serde")]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use ndarray::Array2;
use ndnet::data::CsvLoader;
use ndnet::prelude::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

fn budget() -> Duration {
    let secs = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(5.0);
    Duration::from_secs_f64(secs)
}

fn seed() -> u64 {
    std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        })
}

/// FNV-1a, to name a failing input by its content.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn save_failure(kind: &str, input: &[u8], why: &str) -> ! {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-failures");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{kind}-{:016x}", fnv1a(input)));
    let _ = std::fs::write(&path, input);
    panic!("{kind}: {why}; input written to {}", path.display());
}

// ---- Model files -------------------------------------------------------------------------

fn model_seeds() -> Vec<Vec<u8>> {
    let x = Array2::from_shape_fn((6, 3), |(i, j)| (i as f32 - 2.0) * 0.3 + j as f32 * 0.1);
    let y2 = Array2::from_shape_fn((6, 2), |(i, j)| ((i % 2) == j) as u8 as f32);
    let y1 = Array2::from_shape_fn((6, 1), |(i, _)| (i % 2) as f32);
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
    a.train_on_batch(&x, &y2).unwrap();

    let mut b = Sequential::new(3).with_seed(2);
    b.add(Dense::new(2).activation(Activation::Relu)).unwrap();
    b.add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    b.compile(BinaryCrossentropy, Sgd::new(0.1).momentum(0.9).decay(0.01))
        .unwrap();
    b.train_on_batch(&x, &y1).unwrap();

    let mut c = Sequential::new(3).with_seed(3);
    c.add(Dense::new(1)).unwrap();
    c.compile(MeanSquaredError, RmsProp::new(0.01)).unwrap();
    c.train_on_batch(&x, &y1).unwrap();
    vec![
        a.to_bytes(true).unwrap(),
        b.to_bytes(true).unwrap(),
        c.to_bytes(true).unwrap(),
        b.to_bytes(false).unwrap(),
    ]
}

/// A file as `{"entries": the safetensors header without the metadata, "model": the model's
/// description, "other": the rest of the metadata}` and its tensor bytes.
fn split(bytes: &[u8]) -> (Value, Vec<u8>) {
    let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut entries: Value = serde_json::from_slice(&bytes[8..8 + len]).unwrap();
    let mut other = entries
        .as_object_mut()
        .unwrap()
        .remove("__metadata__")
        .unwrap();
    let model = other.as_object_mut().unwrap().remove("model").unwrap();
    let model: Value = serde_json::from_str(model.as_str().unwrap()).unwrap();
    let parts = serde_json::json!({"entries": entries, "model": model, "other": other});
    (parts, bytes[8 + len..].to_vec())
}

/// The file of `split`'s parts.
fn frame(parts: &Value, data: &[u8]) -> Vec<u8> {
    let mut header = match &parts["entries"] {
        Value::Object(m) => Value::Object(m.clone()),
        other => other.clone(),
    };
    let mut metadata = parts["other"].clone();
    if let Value::Object(m) = &mut metadata {
        m.insert("model".into(), parts["model"].to_string().into());
    }
    if let Value::Object(m) = &mut header {
        m.insert("__metadata__".into(), metadata);
    }
    let text = serde_json::to_vec(&header).unwrap();
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&text);
    out.extend_from_slice(data);
    out
}

const EXTREMES: [f64; 14] = [
    0.0,
    -1.0,
    1.0,
    2.0,
    0.5,
    1e-45,
    1e30,
    3.5e38,
    -0.0,
    4294967296.0,
    9007199254740993.0,
    1.8446744073709552e19,
    1e300,
    16777217.0,
];

/// Every number, string and array slot of `v`, as JSON pointers.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                pointers(x, format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                pointers(x, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

fn mutate_header(h: &mut Value, rng: &mut SmallRng) {
    let mut all = Vec::new();
    pointers(h, String::new(), &mut all);
    // Not the root: it holds the file's parts.
    all.pop();
    let at = &all[rng.random_range(0..all.len())];
    let Some(slot) = h.pointer_mut(at) else {
        return;
    };
    match rng.random_range(0..7) {
        0 | 1 => {
            let x = EXTREMES[rng.random_range(0..EXTREMES.len())];
            *slot = if x.fract() == 0.0 && (0.0..1.8e19).contains(&x) {
                Value::from(x as u64)
            } else if x == 1.8446744073709552e19 {
                Value::from(u64::MAX)
            } else {
                Value::from(x)
            };
        }
        2 => *slot = Value::Null,
        3 => {
            let names = [
                "relu",
                "Dense",
                "Dropout",
                "adam",
                "",
                "MaxNorm",
                "sgd",
                "weight_3",
                "F16",
                "F64",
                "I64",
                "velocity",
                "dense/kernel",
            ];
            *slot = Value::from(names[rng.random_range(0..names.len())]);
        }
        4 => {
            if let Value::Array(a) = slot
                && !a.is_empty()
            {
                let i = rng.random_range(0..a.len());
                let copy = a[i].clone();
                let n = rng.random_range(1..4);
                for _ in 0..n {
                    a.insert(i, copy.clone());
                }
            }
        }
        5 => {
            if let Value::Array(a) = slot
                && !a.is_empty()
            {
                a.remove(rng.random_range(0..a.len()));
            }
        }
        _ => *slot = serde_json::json!([]),
    }
}

/// Lays the tensors' byte ranges out again, back to back in their current order, from their
/// shapes (as F32), and resizes the data to match, so that the length checks pass and the
/// mutation reaches the model's checks.
fn fit_data(parts: &mut Value, data: &mut Vec<u8>) {
    let count = |shape: &Value| -> Option<u64> {
        shape
            .as_array()?
            .iter()
            .try_fold(1u64, |acc, d| acc.checked_mul(d.as_u64()?))
    };
    let Some(entries) = parts.get_mut("entries").and_then(Value::as_object_mut) else {
        return;
    };
    let start = |e: &Value| e["data_offsets"][0].as_u64().unwrap_or(0);
    let mut order: Vec<(u64, String)> =
        entries.iter().map(|(k, e)| (start(e), k.clone())).collect();
    order.sort();
    let mut offset = 0u64;
    for (_, name) in order {
        let e = &mut entries[&name];
        let Some(bytes) = count(&e["shape"]).and_then(|n| n.checked_mul(4)) else {
            continue;
        };
        if e.is_object() {
            e["dtype"] = "F32".into();
            e["data_offsets"] = serde_json::json!([offset, offset.saturating_add(bytes)]);
        }
        offset = offset.saturating_add(bytes);
    }
    if offset <= 1 << 18 {
        data.resize(offset as usize, 0x3c);
    }
}

fn mutate_bytes(bytes: &mut Vec<u8>, rng: &mut SmallRng) {
    for _ in 0..rng.random_range(1..4) {
        if bytes.is_empty() {
            return;
        }
        let i = rng.random_range(0..bytes.len());
        match rng.random_range(0..4) {
            0 => bytes[i] ^= 1 << rng.random_range(0..8),
            1 => bytes[i] = rng.random(),
            2 => bytes.truncate(i),
            _ => bytes.insert(i, rng.random()),
        }
    }
}

/// Whether `bytes` loaded (`Err` for a broken property).
fn check_model(bytes: &[u8]) -> Result<bool, String> {
    let Ok(mut model) = Sequential::from_bytes(bytes) else {
        return Ok(false);
    };
    if model.input_dim() > 1 << 12 {
        return Ok(true);
    }
    let x = Array2::from_shape_fn((4, model.input_dim()), |(i, j)| (i + j) as f32 * 0.1);
    if model.layers().is_empty() {
        // A saved model with no layers loads (saving one is allowed); it cannot predict, and
        // must say so with an error.
        return match model.predict(&x) {
            Err(_) => Ok(true),
            Ok(_) => Err("a model with no layers predicted".into()),
        };
    }
    let out = model
        .predict(&x)
        .map_err(|e| format!("predict failed: {e}"))?;
    if out.iter().any(|v| !v.is_finite()) {
        return Err("predict returned non-finite values".into());
    }
    let again = model
        .to_bytes(true)
        .map_err(|e| format!("to_bytes failed: {e}"))?;
    let reloaded = Sequential::from_bytes(&again).map_err(|e| format!("reload failed: {e}"))?;
    if reloaded.get_weights() != model.get_weights() {
        return Err("the round trip changed the weights".into());
    }
    if model.loss().is_some() {
        let y = Array2::from_shape_fn((4, out.ncols()), |(i, j)| ((i + j) % 2) as f32);
        if model.train_on_batch(&x, &y).is_ok()
            && model
                .get_weights()
                .iter()
                .any(|w| w.iter().any(|v| !v.is_finite()))
        {
            return Err("a training step returned Ok with non-finite weights".into());
        }
    }
    Ok(true)
}

#[test]
#[ignore = "a fuzz loop with a time budget; run by CI with FUZZ_SECONDS"]
fn fuzz_model_loader() {
    let seed = seed();
    let mut rng = SmallRng::seed_from_u64(seed);
    let seeds: Vec<(Value, Vec<u8>)> = model_seeds().iter().map(|b| split(b)).collect();
    let (start, budget) = (Instant::now(), budget());
    let (mut runs, mut loaded) = (0u64, 0u64);
    while start.elapsed() < budget {
        let (mut parts, mut data) = seeds[rng.random_range(0..seeds.len())].clone();
        for _ in 0..rng.random_range(1..4) {
            mutate_header(&mut parts, &mut rng);
        }
        if rng.random_bool(0.7) {
            fit_data(&mut parts, &mut data);
        }
        let mut bytes = frame(&parts, &data);
        if rng.random_bool(0.3) {
            mutate_bytes(&mut bytes, &mut rng);
        }
        match catch_unwind(AssertUnwindSafe(|| check_model(&bytes))) {
            Ok(Ok(ok)) => loaded += u64::from(ok),
            Ok(Err(why)) => save_failure("model", &bytes, &why),
            Err(_) => save_failure("model", &bytes, "panic"),
        }
        runs += 1;
    }
    println!(
        "fuzz_model_loader: {runs} inputs ({loaded} loaded) in {:?}, seed {seed}",
        start.elapsed()
    );
    assert!(runs > 0);
}

// ---- CSV ---------------------------------------------------------------------------------

const CSV_SEEDS: [&str; 5] = [
    "0.1,0.2,M\n0.3,0.4,R\n",
    "a,b,label\n1,2,x\n3,4,y\r\n5,6,x",
    "\u{feff}\"0.5\",0.25,\"M \"\"x\"\"\"\r\n1,2,R\n\n",
    "M;1.5;2\nR;-0;1e-3\n",
    " 1 , 2 , M \n+3,4e2,R\n",
];

const CSV_TOKENS: [&[u8]; 14] = [
    b"\"",
    b"\"\"",
    b",",
    b";",
    b"\n",
    b"\r\n",
    b"\r",
    b"\0",
    b"nan",
    b"1e39",
    b"\xEF\xBB\xBF",
    b"\xff",
    b" ",
    b"-",
];

fn check_csv(text: &[u8], loader: &CsvLoader) -> Result<(), String> {
    let Ok(data) = loader.load_reader(text) else {
        return Ok(());
    };
    if data.labels.len() != data.features.nrows() || data.features.nrows() == 0 {
        return Err("labels and rows disagree".into());
    }
    if data.features.ncols() == 0 {
        return Err("no feature columns".into());
    }
    if data.features.iter().any(|v| !v.is_finite()) {
        return Err("a non-finite feature".into());
    }
    if let Some(l) = data
        .labels
        .iter()
        .find(|l| l.is_empty() || l.contains(['\n', '\r', '\0']))
    {
        return Err(format!("a bad label {l:?}"));
    }
    Ok(())
}

#[test]
#[ignore = "a fuzz loop with a time budget; run by CI with FUZZ_SECONDS"]
fn fuzz_csv_loader() {
    let seed = seed();
    let mut rng = SmallRng::seed_from_u64(seed);
    let (start, budget) = (Instant::now(), budget());
    let mut runs = 0u64;
    while start.elapsed() < budget {
        let mut text = CSV_SEEDS[rng.random_range(0..CSV_SEEDS.len())]
            .as_bytes()
            .to_vec();
        for _ in 0..rng.random_range(1..5) {
            let i = rng.random_range(0..=text.len());
            if rng.random_bool(0.6) {
                let t = CSV_TOKENS[rng.random_range(0..CSV_TOKENS.len())];
                text.splice(i..i, t.iter().copied());
            } else {
                mutate_bytes(&mut text, &mut rng);
            }
        }
        let mut loader = CsvLoader::new()
            .has_header(rng.random_bool(0.3))
            .delimiter(if rng.random_bool(0.8) { b',' } else { b';' });
        if rng.random_bool(0.3) {
            loader = loader.label_column(rng.random_range(0..4));
        }
        if rng.random_bool(0.2) {
            loader = loader.allowed_labels(&["M", "R", "x"]);
        }
        if rng.random_bool(0.1) {
            loader = loader.max_bytes(rng.random_range(0..40));
        }
        match catch_unwind(AssertUnwindSafe(|| check_csv(&text, &loader))) {
            Ok(Ok(())) => {}
            Ok(Err(why)) => save_failure("csv", &text, &why),
            Err(_) => save_failure("csv", &text, "panic"),
        }
        runs += 1;
    }
    println!(
        "fuzz_csv_loader: {runs} inputs in {:?}, seed {seed}",
        start.elapsed()
    );
    assert!(runs > 0);
}
