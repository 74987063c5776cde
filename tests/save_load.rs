//! Saving and loading models: round trips, optimizer state, and every kind of bad file.
#![cfg(feature = "serde")]

mod common;

use ndarray::{Array2, array};
use ndnet::ModelFileError;
use ndnet::constraints::{MinMaxNorm, UnitNorm};
use ndnet::experiments::SonarExperiment;
use ndnet::layers::LayerConfig;
use ndnet::prelude::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Deterministic inputs in `[-1, 1)` and 0/1 targets.
fn data(rows: usize, cols: usize, seed: u64) -> (Array2<f32>, Array2<f32>) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let x = Array2::from_shape_fn((rows, cols), |_| rng.random_range(-1.0f32..1.0));
    let y = Array2::from_shape_fn((rows, 1), |(i, _)| {
        (x[[i, 0]] + x[[i, 1]] > 0.0) as u8 as f32
    });
    (x, y)
}

fn trained(experiment: SonarExperiment) -> Sequential {
    let mut model = experiment.build().unwrap();
    model.set_seed(11);
    let (x, y) = data(64, 60, 1);
    let options = FitOptions {
        epochs: 3,
        batch_size: 16,
        ..Default::default()
    };
    model.fit(&x, &y, &options).unwrap();
    model
}

fn round_trip(model: &Sequential) -> Sequential {
    let dir = common::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    model.save(&path).unwrap();
    Sequential::load(&path).unwrap()
}

/// A small compiled model: 4 → Dense(3, relu) → Dropout(0.25) → Dense(1, sigmoid).
fn small(optimizer: impl Optimizer + 'static) -> Sequential {
    let mut model = Sequential::new(4).with_seed(5);
    model
        .add(Dense::new(3).activation(Activation::Relu))
        .unwrap();
    model.add(Dropout::new(0.25)).unwrap();
    model
        .add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    model.compile(BinaryCrossentropy, optimizer).unwrap();
    model
}

fn problem(result: ndnet::Result<Sequential>) -> ModelFileError {
    match result {
        Err(Error::ModelFile { problem, .. }) => problem,
        Err(e) => panic!("expected a model-file error, got {e}"),
        Ok(_) => panic!("expected a model-file error, the file loaded"),
    }
}

/// The length of the safetensors header of a file.
fn header_len(bytes: &[u8]) -> usize {
    u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize
}

/// The safetensors header of a file: every tensor's entry, and `__metadata__`.
fn entries(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(&bytes[8..8 + header_len(bytes)]).unwrap()
}

/// The model's description: the JSON under `"model"` in the metadata.
fn header(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_str(entries(bytes)["__metadata__"]["model"].as_str().unwrap()).unwrap()
}

/// Rewrites the safetensors header of a valid file through `edit`, fixing its length.
fn with_entries(bytes: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut json = entries(bytes);
    edit(&mut json);
    let text = serde_json::to_vec(&json).unwrap();
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&text);
    out.extend_from_slice(&bytes[8 + header_len(bytes)..]);
    out
}

/// Rewrites the model's description in a valid file through `edit`.
fn with_header(bytes: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut model = header(bytes);
    edit(&mut model);
    with_entries(bytes, |h| {
        h["__metadata__"]["model"] = model.to_string().into();
    })
}

/// The byte offset of tensor `name`'s first value in a file.
fn offset(bytes: &[u8], name: &str) -> usize {
    8 + header_len(bytes) + entries(bytes)[name]["data_offsets"][0].as_u64().unwrap() as usize
}

#[test]
fn a_loaded_baseline_model_predicts_bit_identically() {
    let model = trained(SonarExperiment::Baseline);
    let loaded = round_trip(&model);
    let (x, _) = data(50, 60, 2);
    assert_eq!(loaded.predict(&x).unwrap(), model.predict(&x).unwrap());
}

#[test]
fn a_loaded_hidden_dropout_model_predicts_bit_identically() {
    let model = trained(SonarExperiment::Hidden);
    let loaded = round_trip(&model);
    let (x, _) = data(50, 60, 2);
    assert_eq!(loaded.predict(&x).unwrap(), model.predict(&x).unwrap());
}

#[test]
fn the_dropout_layers_and_their_rate_are_stored() {
    let loaded = round_trip(&trained(SonarExperiment::Hidden));
    assert_eq!(
        loaded.layers()[1].config(),
        LayerConfig::Dropout { rate: 0.2 }
    );
    assert_eq!(
        loaded.layers()[3].config(),
        LayerConfig::Dropout { rate: 0.2 }
    );
}

#[test]
fn the_architecture_seed_names_and_compilation_are_restored() {
    let model = trained(SonarExperiment::Visible);
    let loaded = round_trip(&model);
    let configs = |m: &Sequential| m.layers().iter().map(|l| l.config()).collect::<Vec<_>>();
    assert_eq!(configs(&loaded), configs(&model));
    assert_eq!(loaded.layer_names(), model.layer_names());
    assert_eq!(loaded.seed(), 11);
    assert_eq!(loaded.input_dim(), 60);
    assert_eq!(loaded.get_weights(), model.get_weights());
    assert_eq!(loaded.loss().unwrap().name(), "binary_crossentropy");
    assert_eq!(
        loaded.optimizer().unwrap().config(),
        model.optimizer().unwrap().config()
    );
}

#[test]
fn every_layer_kind_constraint_initializer_and_regularizer_round_trips() {
    let mut model = Sequential::new(6).with_seed(3);
    model.add(GaussianNoise::new(0.1)).unwrap();
    model
        .add(
            Dense::new(5)
                .activation(Activation::Selu)
                .kernel_initializer(Initializer::LecunNormal)
                .bias_initializer(Initializer::Constant(0.5))
                .kernel_constraint(UnitNorm { axis: 1 })
                .bias_constraint(NonNeg)
                .kernel_regularizer(Regularizer::l1_l2(0.01, 0.02)),
        )
        .unwrap();
    model.add(AlphaDropout::new(0.1)).unwrap();
    model
        .add(
            Dense::new(4)
                .activation(Activation::LeakyRelu { alpha: 0.3 })
                .use_bias(false)
                .kernel_constraint(MinMaxNorm {
                    min_value: 0.5,
                    max_value: 2.0,
                    rate: 0.5,
                    axis: 0,
                }),
        )
        .unwrap();
    model.add(GaussianDropout::new(0.4)).unwrap();
    model.add(ndnet::layers::tanh()).unwrap();
    model
        .add(Dense::new(3).activation(Activation::Softmax))
        .unwrap();
    model
        .compile(CategoricalCrossentropy, Adam::new(0.01))
        .unwrap();
    let loaded = round_trip(&model);
    let configs = |m: &Sequential| m.layers().iter().map(|l| l.config()).collect::<Vec<_>>();
    assert_eq!(configs(&loaded), configs(&model));
    assert_eq!(loaded.get_weights(), model.get_weights());
}

/// Trains `model` (which has no dropout: dropout masks come from generators that are not saved)
/// on two batches, saves and loads it, then checks that one more step gives bitwise the same
/// weights in the loaded model as in the original.
fn assert_resumes_exactly(mut model: Sequential) {
    let (x, y) = data(8, 4, 3);
    model.train_on_batch(&x, &y).unwrap();
    model.train_on_batch(&x, &y).unwrap();
    let mut loaded = round_trip(&model);
    assert_eq!(
        loaded.optimizer().unwrap().state(),
        model.optimizer().unwrap().state()
    );
    let (x2, y2) = data(8, 4, 4);
    model.train_on_batch(&x2, &y2).unwrap();
    loaded.train_on_batch(&x2, &y2).unwrap();
    assert_eq!(loaded.get_weights(), model.get_weights());
}

fn no_dropout(optimizer: impl Optimizer + 'static) -> Sequential {
    let mut model = Sequential::new(4).with_seed(5);
    model
        .add(Dense::new(3).activation(Activation::Relu))
        .unwrap();
    model
        .add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    model.compile(BinaryCrossentropy, optimizer).unwrap();
    model
}

#[test]
fn sgd_with_nesterov_momentum_and_decay_resumes_with_the_same_next_step() {
    assert_resumes_exactly(no_dropout(
        Sgd::new(0.1).momentum(0.9).nesterov(true).decay(0.01),
    ));
}

#[test]
fn adam_resumes_with_the_same_next_step() {
    assert_resumes_exactly(no_dropout(Adam::new(0.01)));
}

#[test]
fn rmsprop_with_momentum_resumes_with_the_same_next_step() {
    assert_resumes_exactly(no_dropout(RmsProp::new(0.01).momentum(0.5)));
}

#[test]
fn a_model_with_a_normalization_layer_resumes_with_the_same_next_step() {
    // The optimizer keeps buffers for the Dense weights only: the statistics are not trained.
    let mut model = Sequential::new(4).with_seed(5);
    model
        .add(Normalization::from_parts(&[0.5, -0.5, 0.0, 1.0], &[2.0, 1.0, 0.5, 1.0]).unwrap())
        .unwrap();
    model
        .add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    model.compile(BinaryCrossentropy, Adam::new(0.01)).unwrap();
    assert_resumes_exactly(model);
}

#[test]
fn without_the_optimizer_the_loaded_model_is_not_compiled() {
    let model = small(Sgd::new(0.1));
    let dir = common::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    model.save_without_optimizer(&path).unwrap();
    let loaded = Sequential::load(&path).unwrap();
    assert!(!loaded.is_compiled());
    assert_eq!(loaded.get_weights(), model.get_weights());
}

#[test]
fn the_header_is_readable_json_holding_the_dropout_rate() {
    let bytes = small(Sgd::new(0.1)).to_bytes(true).unwrap();
    assert_eq!(entries(&bytes)["__metadata__"]["format"], "ndnet");
    let json = header(&bytes);
    assert_eq!(json["format"], "ndnet.sequential");
    assert_eq!(json["version"], 2);
    assert_eq!(json["layers"][1]["class_name"], "Dropout");
    assert_eq!(json["layers"][1]["config"]["rate"], 0.25);
    assert_eq!(json["layers"][0]["config"]["activation"], "relu");
    assert_eq!(json["training"]["optimizer"]["class_name"], "SGD");
    let kernel = &entries(&bytes)["dense/kernel"];
    assert_eq!(kernel["shape"], serde_json::json!([4, 3]));
    assert_eq!(kernel["dtype"], "F32");
}

#[test]
fn the_file_size_is_the_documented_layout() {
    let bytes = small(Sgd::new(0.1)).to_bytes(false).unwrap();
    // 4·3 + 3 + 3·1 + 1 = 19 floats.
    assert_eq!(bytes.len(), 8 + header_len(&bytes) + 19 * 4);
    // The header is padded to a multiple of 8 bytes, so the data is aligned.
    assert_eq!(header_len(&bytes) % 8, 0);
    // The tensors in get_weights order, back to back.
    let e = entries(&bytes);
    let names = [
        "dense/kernel",
        "dense/bias",
        "dense_1/kernel",
        "dense_1/bias",
    ];
    let ends = [48, 60, 72, 76];
    let mut start = 0;
    for (name, end) in names.iter().zip(ends) {
        assert_eq!(
            e[name]["data_offsets"],
            serde_json::json!([start, end]),
            "{name}"
        );
        start = end;
    }
}

#[test]
fn the_optimizer_state_is_stored_as_tensors_shaped_as_their_weights() {
    let mut model = small(Adam::new(0.01));
    let (x, y) = data(8, 4, 3);
    model.train_on_batch(&x, &y).unwrap();
    let bytes = model.to_bytes(true).unwrap();
    let e = entries(&bytes);
    for group in ["m", "v"] {
        assert_eq!(
            e[format!("optimizer/{group}/dense/kernel")]["shape"],
            serde_json::json!([4, 3])
        );
        assert_eq!(
            e[format!("optimizer/{group}/dense_1/bias")]["shape"],
            serde_json::json!([1])
        );
    }
    let json = header(&bytes);
    assert_eq!(json["training"]["iterations"], 1);
    assert_eq!(
        json["training"]["state"],
        serde_json::json!([{"name": "m", "slots": 4}, {"name": "v", "slots": 4}])
    );
}

#[test]
fn a_truncated_file_is_reported_as_truncated_wherever_it_is_cut() {
    let bytes = small(Sgd::new(0.1)).to_bytes(true).unwrap();
    let h = header_len(&bytes);
    for cut in [
        0,
        5,
        7,
        8,
        15,
        8 + h / 2,
        8 + h - 1,
        8 + h + 7,
        bytes.len() - 1,
    ] {
        let p = problem(Sequential::from_bytes(&bytes[..cut]));
        assert!(
            matches!(p, ModelFileError::Truncated { .. }),
            "cut at {cut}: {p}"
        );
    }
}

#[test]
fn a_damaged_header_is_refused() {
    let bytes = small(Sgd::new(0.1)).to_bytes(true).unwrap();
    // A brace of the JSON turned into a letter.
    let mut broken = bytes.clone();
    let at = 8 + broken[8..].iter().position(|&b| b == b'}').unwrap();
    broken[at] = b'x';
    assert!(matches!(
        problem(Sequential::from_bytes(&broken)),
        ModelFileError::Header(_)
    ));
    // The model's description no longer JSON.
    let edited = with_entries(&bytes, |h| {
        h["__metadata__"]["model"] = "{\"format\": ".into()
    });
    assert!(matches!(
        problem(Sequential::from_bytes(&edited)),
        ModelFileError::Header(m) if m.contains("model")
    ));
}

#[test]
fn a_file_that_is_not_a_saved_model_is_refused() {
    // Not safetensors at all: the first 8 bytes read as a huge header length.
    let p = problem(Sequential::from_bytes(b"{\"layers\": []}"));
    assert!(
        matches!(&p, ModelFileError::Header(m) if m.contains("not a safetensors file")),
        "{p}"
    );
    // A safetensors file of weights only, as save_weights writes it.
    let weights = small(Sgd::new(0.1))
        .weights_file(ndnet::safetensors::WeightLayout::Keras)
        .unwrap()
        .to_bytes()
        .unwrap();
    let p = problem(Sequential::from_bytes(&weights));
    assert!(
        matches!(&p, ModelFileError::Header(m) if m.contains("load_weights")),
        "{p}"
    );
    // A description of another format.
    let bytes = small(Sgd::new(0.1)).to_bytes(true).unwrap();
    let edited = with_header(&bytes, |h| h["format"] = "keras.sequential".into());
    assert!(matches!(
        problem(Sequential::from_bytes(&edited)),
        ModelFileError::Header(m) if m.contains("keras.sequential")
    ));
}

#[test]
fn a_file_from_another_format_version_is_refused_with_both_versions() {
    let bytes = small(Sgd::new(0.1)).to_bytes(true).unwrap();
    let edited = with_header(&bytes, |h| h["version"] = 3.into());
    let p = problem(Sequential::from_bytes(&edited));
    assert_eq!(
        p,
        ModelFileError::UnsupportedVersion {
            found: 3,
            supported: 2
        }
    );
    assert!(p.to_string().contains("version 3"));
}

#[test]
fn trailing_bytes_are_refused() {
    let bytes = small(Sgd::new(0.1)).to_bytes(true).unwrap();
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0; 8]);
    assert!(matches!(
        problem(Sequential::from_bytes(&longer)),
        ModelFileError::TrailingData { .. }
    ));
}

#[test]
fn a_missing_or_extra_tensor_is_named() {
    let bytes = small(Sgd::new(0.1)).to_bytes(true).unwrap();
    // dense_1/bias renamed: the model's is missing, and the file has one the model has not.
    let edited = with_entries(&bytes, |h| {
        let entry = h["dense_1/bias"].clone();
        h.as_object_mut().unwrap().remove("dense_1/bias");
        h["dense_1/bias_"] = entry;
    });
    let p = problem(Sequential::from_bytes(&edited));
    assert!(
        matches!(&p, ModelFileError::Header(m) if m.contains("dense_1/bias_")),
        "{p}"
    );
    // Without the last tensor (its bytes cut too): fewer tensors than the architecture has.
    let edited = with_entries(&bytes[..bytes.len() - 4], |h| {
        h.as_object_mut().unwrap().remove("dense_1/bias");
    });
    let p = problem(Sequential::from_bytes(&edited));
    assert!(
        matches!(&p, ModelFileError::Header(m) if m.contains("4 tensors")),
        "{p}"
    );
}

#[test]
fn tensors_in_another_order_load() {
    // As a program that writes tensors sorted by name may store them: the bytes of dense_1/*
    // first.
    let mut model = small(Sgd::new(0.1).momentum(0.9));
    let (x, y) = data(8, 4, 3);
    model.train_on_batch(&x, &y).unwrap();
    let bytes = model.to_bytes(true).unwrap();
    let e = entries(&bytes);
    let data_at = 8 + header_len(&bytes);
    let mut names: Vec<String> = e
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "__metadata__")
        .cloned()
        .collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.clone()));
    let mut data = Vec::new();
    let reordered = with_entries(&bytes, |h| {
        for name in &names {
            let [a, b] = [0, 1].map(|i| e[name]["data_offsets"][i].as_u64().unwrap() as usize);
            let start = data.len();
            data.extend_from_slice(&bytes[data_at + a..data_at + b]);
            h[name]["data_offsets"] = serde_json::json!([start, data.len()]);
        }
    });
    let mut reordered = reordered[..reordered.len() - (bytes.len() - data_at)].to_vec();
    reordered.extend_from_slice(&data);
    let loaded = Sequential::from_bytes(&reordered).unwrap();
    assert_eq!(loaded.get_weights(), model.get_weights());
    assert_eq!(
        loaded.optimizer().unwrap().state(),
        model.optimizer().unwrap().state()
    );
}

#[test]
fn a_weight_shape_that_contradicts_the_architecture_is_named() {
    let bytes = small(Sgd::new(0.1)).to_bytes(true).unwrap();
    let edited = with_entries(&bytes, |h| {
        h["dense/kernel"]["shape"] = serde_json::json!([3, 4])
    });
    assert_eq!(
        problem(Sequential::from_bytes(&edited)),
        ModelFileError::Shape {
            index: 0,
            name: "dense/kernel".into(),
            expected: vec![4, 3],
            found: vec![3, 4],
        }
    );
}

#[test]
fn a_layer_width_that_contradicts_the_weights_is_a_shape_mismatch() {
    let bytes = small(Sgd::new(0.1)).to_bytes(true).unwrap();
    let edited = with_header(&bytes, |h| h["layers"][0]["config"]["units"] = 5.into());
    assert!(matches!(
        problem(Sequential::from_bytes(&edited)),
        ModelFileError::Shape { index: 0, .. }
    ));
}

#[test]
fn an_optimizer_buffer_of_the_wrong_shape_is_named() {
    let mut model = small(Sgd::new(0.1).momentum(0.9));
    let (x, y) = data(8, 4, 3);
    model.train_on_batch(&x, &y).unwrap();
    let bytes = model.to_bytes(true).unwrap();
    let edited = with_entries(&bytes, |h| {
        h["optimizer/velocity/dense/bias"]["shape"] = serde_json::json!([1, 3])
    });
    let p = problem(Sequential::from_bytes(&edited));
    assert_eq!(
        p,
        ModelFileError::Shape {
            index: 5,
            name: "optimizer/velocity/dense/bias".into(),
            expected: vec![3],
            found: vec![1, 3],
        }
    );
}

#[test]
fn an_invalid_layer_config_gets_the_same_validation_as_add() {
    let bytes = small(Sgd::new(0.1)).to_bytes(true).unwrap();
    let edited = with_header(&bytes, |h| h["layers"][1]["config"]["rate"] = 1.5.into());
    match problem(Sequential::from_bytes(&edited)) {
        ModelFileError::Layer { index: 1, message } => {
            assert!(message.contains("rate"), "{message}")
        }
        p => panic!("{p}"),
    }
}

#[test]
fn an_unknown_layer_class_is_a_header_error() {
    let bytes = small(Sgd::new(0.1)).to_bytes(true).unwrap();
    let edited = with_header(&bytes, |h| {
        h["layers"][1]["class_name"] = "SpatialDropout".into()
    });
    assert!(matches!(
        problem(Sequential::from_bytes(&edited)),
        ModelFileError::Header(_)
    ));
}

#[test]
fn a_non_finite_weight_is_refused() {
    let mut bytes = small(Sgd::new(0.1)).to_bytes(false).unwrap();
    // The second float of the first kernel.
    let at = offset(&bytes, "dense/kernel") + 4;
    bytes[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    let p = problem(Sequential::from_bytes(&bytes));
    assert!(
        matches!(&p, ModelFileError::NonFinite { name, position: 1, .. } if name == "dense/kernel"),
        "{p}"
    );
}

#[test]
fn an_unknown_loss_is_a_training_state_error() {
    let bytes = small(Sgd::new(0.1)).to_bytes(true).unwrap();
    let edited = with_header(&bytes, |h| h["training"]["loss"] = "hinge".into());
    assert!(matches!(
        problem(Sequential::from_bytes(&edited)),
        ModelFileError::Training(_)
    ));
}

#[test]
fn a_huge_width_is_refused_before_anything_is_allocated() {
    let bytes = small(Sgd::new(0.1)).to_bytes(true).unwrap();
    let edited = with_header(&bytes, |h| {
        h["input_dim"] = serde_json::json!(u64::MAX);
    });
    assert!(matches!(
        problem(Sequential::from_bytes(&edited)),
        ModelFileError::Header(_)
    ));
    let edited = with_header(&bytes, |h| {
        h["layers"][0]["config"]["units"] = serde_json::json!(1u64 << 40);
    });
    assert!(matches!(
        problem(Sequential::from_bytes(&edited)),
        ModelFileError::Layer { index: 0, .. }
    ));
    // Below the width limit, but more weights than the file's bytes hold.
    let edited = with_header(&bytes, |h| {
        h["layers"][0]["config"]["units"] = serde_json::json!(1u64 << 23);
    });
    assert!(matches!(
        problem(Sequential::from_bytes(&edited)),
        ModelFileError::Header(m) if m.contains("values, the file")
    ));
    let edited = with_entries(&bytes, |h| {
        h["dense/kernel"]["shape"] = serde_json::json!([4, 1u64 << 40]);
    });
    assert!(matches!(
        problem(Sequential::from_bytes(&edited)),
        ModelFileError::Header(m) if m.contains("dense/kernel")
    ));
}

#[test]
fn the_error_message_names_the_file() {
    let dir = common::tempdir().unwrap();
    let path = dir.path().join("broken.safetensors");
    std::fs::write(&path, b"not a model").unwrap();
    let e = Sequential::load(&path).unwrap_err();
    assert!(e.to_string().contains("broken.safetensors"), "{e}");
    assert!(e.to_string().contains("not a safetensors file"), "{e}");
}

#[test]
fn a_missing_file_is_an_io_error_with_its_path() {
    let e = Sequential::load("/nonexistent/model.safetensors").unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
}

#[test]
fn saving_leaves_no_temporary_file_behind() {
    let dir = common::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let model = small(Sgd::new(0.1));
    model.save(&path).unwrap();
    model.save(&path).unwrap(); // overwrite
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec!["model.safetensors".to_string()]);
}

#[test]
fn a_failed_save_keeps_the_old_file_and_leaves_no_temporary_file() {
    let dir = common::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let model = small(Sgd::new(0.1));
    model.save(&path).unwrap();
    let before = std::fs::read(&path).unwrap();
    // A directory in the way of the rename.
    let blocked = dir.path().join("sub");
    std::fs::create_dir(&blocked).unwrap();
    std::fs::create_dir(blocked.join("model.safetensors")).unwrap();
    assert!(model.save(blocked.join("model.safetensors")).is_err());
    assert_eq!(std::fs::read_dir(&blocked).unwrap().count(), 1);
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[derive(Debug, Clone)]
struct Doubler;

impl Layer for Doubler {
    fn kind(&self) -> &'static str {
        "Doubler"
    }
    fn build(&mut self, input_dim: usize, _: &mut SmallRng) -> ndnet::Result<usize> {
        Ok(input_dim)
    }
    fn infer(
        &self,
        input: ndarray::ArrayView2<f32>,
        mut output: ndarray::ArrayViewMut2<f32>,
    ) -> ndnet::Result<()> {
        output.assign(&(&input * 2.0));
        Ok(())
    }
    fn backward(
        &mut self,
        _: ndarray::ArrayView2<f32>,
        _: ndarray::ArrayView2<f32>,
        _: ndarray::ArrayViewMut2<f32>,
        _: Option<ndarray::ArrayViewMut2<f32>>,
        _: GradWrt,
    ) -> ndnet::Result<()> {
        Ok(())
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::Custom {
            kind: "Doubler".into(),
        }
    }
}

#[test]
fn a_layer_defined_outside_the_crate_cannot_be_saved_and_says_which() {
    let mut model = Sequential::new(2);
    model.add(Doubler).unwrap();
    let dir = common::tempdir().unwrap();
    let e = model.save(dir.path().join("m.safetensors")).unwrap_err();
    assert!(e.to_string().contains("layer 0 (doubler)"), "{e}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn predictions_agree_on_a_tiny_hand_checked_model() {
    let mut model = Sequential::new(2).with_seed(1);
    model.add(Dense::new(1)).unwrap();
    model
        .set_weights(&[
            array![[0.5f32], [-1.0]].into_dyn(),
            array![0.25f32].into_dyn(),
        ])
        .unwrap();
    let loaded = round_trip(&model);
    // 0.5·2 - 1·1 + 0.25 = 0.25
    assert_eq!(
        loaded.predict(&array![[2.0f32, 1.0]]).unwrap(),
        array![[0.25f32]]
    );
}
