//! The ndnet side of the cross-language tests (`tests/python/interop.sh` runs it).
//!
//! ```text
//! cargo run --all-features --example interop -- export DIR    # models, weights, ONNX, predictions
//! cargo run --all-features --example interop -- predict DIR   # predict from DIR/from_numpy/*
//! ```
//!
//! `export` writes, for each test model NAME (one per activation, one of every layer kind, and
//! the tutorial's three models, all with random weights):
//! - `NAME.keras.safetensors` and `NAME.pt.safetensors`: `save_weights` in both layouts;
//! - `NAME.onnx`: `export_onnx`;
//! - `NAME.model.safetensors`: `save`, the whole model (the tutorial's three models are compiled
//!   and have taken one training step, so their files hold the optimizer's state too);
//! - `NAME.io.safetensors`: random inputs `x`, ndnet's `predict` of them `y`, and the layers'
//!   configurations as JSON in the metadata (`layers`, `input_dim`).
//!
//! `predict` loads each `DIR/from_numpy/NAME.LAYOUT.safetensors` (written by another program)
//! into the model NAME with `load_weights`, predicts the `x` of `NAME.io.safetensors` and writes
//! `y` to `DIR/from_numpy/NAME.LAYOUT.pred.safetensors`.

use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayD};
use ndnet::experiments::SonarExperiment;
use ndnet::layers;
use ndnet::prelude::*;
use ndnet::safetensors::{TensorFile, WeightLayout};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const ROWS: usize = 16;

/// The test models by name, with random weights (the same on every run).
fn models() -> ndnet::Result<Vec<(String, Sequential)>> {
    let activations = [
        ("relu", Activation::Relu),
        ("sigmoid", Activation::Sigmoid),
        ("tanh", Activation::Tanh),
        ("softmax", Activation::Softmax),
        ("leaky_relu", Activation::LeakyRelu { alpha: 0.2 }),
        ("selu", Activation::Selu),
        ("linear", Activation::Linear),
    ];
    let mut out = Vec::new();
    for (name, a) in activations {
        let mut m = Sequential::new(4).with_seed(1);
        m.add(Dense::new(6).activation(a))?;
        m.add(Dense::new(3).activation(a))?;
        out.push((format!("act_{name}"), m));
    }
    // Every layer kind, stand-alone activations and a Dense layer without bias, so the PyTorch
    // indices count modules of each sort.
    let mut m = Sequential::new(5).with_seed(2);
    m.add(GaussianNoise::new(0.1))?;
    m.add(Dense::new(7))?;
    m.add(layers::relu())?;
    m.add(Dropout::new(0.3))?;
    m.add(Dense::new(6).activation(Activation::Tanh))?;
    m.add(layers::leaky_relu(0.1))?;
    m.add(GaussianDropout::new(0.2))?;
    m.add(Dense::new(5).use_bias(false))?;
    m.add(layers::sigmoid())?;
    m.add(Dense::new(4).activation(Activation::Selu))?;
    m.add(AlphaDropout::new(0.1))?;
    m.add(Dense::new(4))?;
    m.add(layers::tanh())?;
    m.add(layers::linear())?;
    m.add(Dense::new(3))?;
    m.add(layers::softmax())?;
    out.push(("every_layer".into(), m));
    for e in SonarExperiment::ALL {
        let mut m = e.build()?;
        m.set_seed(3);
        out.push((format!("tutorial_{}", e.name().to_lowercase()), m));
    }
    // Random weights, scaled so each layer's pre-activations spread over a few units.
    let mut rng = SmallRng::seed_from_u64(11);
    for (_, m) in &mut out {
        let weights: Vec<ArrayD<f32>> = m
            .get_weights()
            .iter()
            .map(|w| {
                let scale = 2.0 / (w.shape()[0] as f32).sqrt();
                w.mapv(|_| rng.random_range(-scale..scale))
            })
            .collect();
        m.set_weights(&weights)?;
        if m.is_compiled() {
            // One step, so that the optimizer has state to save.
            let x = inputs(m.input_dim(), 1);
            let y = Array2::from_shape_fn((ROWS, 1), |(i, _)| (i % 2) as f32);
            m.train_on_batch(&x, &y)?;
        }
    }
    Ok(out)
}

fn inputs(width: usize, seed: u64) -> Array2<f32> {
    let mut rng = SmallRng::seed_from_u64(seed);
    Array2::from_shape_fn((ROWS, width), |_| rng.random_range(-2.0..2.0))
}

fn layout_suffix(layout: WeightLayout) -> &'static str {
    match layout {
        WeightLayout::Keras => "keras",
        WeightLayout::PyTorch => "pt",
    }
}

fn export(dir: &Path) -> ndnet::Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| ndnet::Error::InvalidState(e.to_string()))?;
    for (i, (name, model)) in models()?.into_iter().enumerate() {
        for layout in [WeightLayout::Keras, WeightLayout::PyTorch] {
            model.save_weights(
                dir.join(format!("{name}.{}.safetensors", layout_suffix(layout))),
                layout,
            )?;
        }
        model.export_onnx(dir.join(format!("{name}.onnx")))?;
        model.save(dir.join(format!("{name}.model.safetensors")))?;
        let x = inputs(model.input_dim(), 100 + i as u64);
        let y = model.predict(&x)?;
        let mut io = TensorFile::new();
        io.push("x", x.into_dyn())?;
        io.push("y", y.into_dyn())?;
        let layers: Vec<_> = model.layers().iter().map(|l| l.config()).collect();
        io.insert_metadata(
            "layers",
            serde_json::to_string(&layers)
                .map_err(|e| ndnet::Error::InvalidState(e.to_string()))?,
        );
        io.insert_metadata("input_dim", model.input_dim().to_string());
        io.save(dir.join(format!("{name}.io.safetensors")))?;
    }
    Ok(())
}

fn predict(dir: &Path) -> ndnet::Result<()> {
    let from = dir.join("from_numpy");
    let mut done = 0;
    for (name, mut model) in models()? {
        let x = TensorFile::load(dir.join(format!("{name}.io.safetensors")))?
            .get("x")
            .cloned()
            .ok_or_else(|| ndnet::Error::InvalidState(format!("{name}: no x")))?
            .into_dimensionality()
            .map_err(|e| ndnet::Error::InvalidState(e.to_string()))?;
        for layout in [WeightLayout::Keras, WeightLayout::PyTorch] {
            let file: PathBuf = from.join(format!("{name}.{}.safetensors", layout_suffix(layout)));
            if !file.exists() {
                continue;
            }
            model.load_weights(&file, layout)?;
            let y: Array2<f32> = model.predict(&x)?;
            let mut out = TensorFile::new();
            out.push("y", y.into_dyn())?;
            out.save(file.with_extension("pred.safetensors"))?;
            done += 1;
        }
    }
    println!("predicted from {done} files in {}", from.display());
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [cmd, dir] if cmd == "export" => export(Path::new(dir)),
        [cmd, dir] if cmd == "predict" => predict(Path::new(dir)),
        _ => {
            eprintln!("usage: interop export DIR | interop predict DIR");
            std::process::exit(2);
        }
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
