//! The safetensors reader and writer against the format's specification and a file written by
//! the reference implementation, hostile files, and `save_weights`/`load_weights` in both
//! layouts. (`tests/python/interop.sh` checks the same files with NumPy, the reference library
//! and ONNX Runtime.)
#![cfg(feature = "serde")]

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use ndarray::{ArrayD, IxDyn, array};
use ndnet::ModelFileError;
use ndnet::prelude::*;
use ndnet::safetensors::{MAX_FILE_BYTES, MAX_HEADER_BYTES, TensorFile, WeightLayout};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Written by the reference implementation (safetensors 0.8.0, Python):
/// ```python
/// save_file({"w32": np.array([[1.5, -2.0, 0.25], [3.0, 0.0, -0.125]], dtype=np.float32),
///            "b64": np.array([0.1, -1e-3]),
///            "h16": np.array([1.0, -2.5, 65504, 2**-24], dtype=np.float16),
///            "empty": np.zeros((0, 3), dtype=np.float32),
///            "scalar": np.array(7.0, dtype=np.float32)},
///           "tests/data/numpy_written.safetensors",
///           metadata={"format": "pt", "note": "written by safetensors.numpy"})
/// ```
const NUMPY_FILE: &[u8] = include_bytes!("data/numpy_written.safetensors");

/// A file from a header (as JSON text) and data bytes, framed as the specification says.
fn file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn problem(bytes: &[u8]) -> ModelFileError {
    match TensorFile::from_bytes(bytes) {
        Err(Error::ModelFile { problem, .. }) => problem,
        other => panic!("expected a ModelFile error, got {other:?}"),
    }
}

fn header_problem(bytes: &[u8]) -> String {
    match problem(bytes) {
        ModelFileError::Header(m) => m,
        other => panic!("expected a header error, got {other:?}"),
    }
}

#[test]
fn reads_a_file_the_reference_implementation_wrote() {
    let f = TensorFile::from_bytes(NUMPY_FILE).unwrap();
    assert_eq!(f.metadata()["format"], "pt");
    assert_eq!(f.metadata()["note"], "written by safetensors.numpy");
    assert_eq!(
        f.get("w32").unwrap(),
        &array![[1.5f32, -2.0, 0.25], [3.0, 0.0, -0.125]].into_dyn()
    );
    // F64 rounded to the nearest f32.
    assert_eq!(f.get("b64").unwrap(), &array![0.1f32, -1e-3].into_dyn());
    // F16 values are exact in f32, the last one the smallest subnormal.
    assert_eq!(
        f.get("h16").unwrap(),
        &array![1.0f32, -2.5, 65504.0, 2f32.powi(-24)].into_dyn()
    );
    assert_eq!(f.get("empty").unwrap().shape(), &[0, 3]);
    assert_eq!(
        f.get("scalar").unwrap(),
        &ArrayD::from_elem(IxDyn(&[]), 7.0f32)
    );
    // In the order of their bytes.
    let names: Vec<&str> = f.tensors().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["b64", "empty", "scalar", "w32", "h16"]);
}

#[test]
fn reads_a_hand_framed_file_with_bf16_and_padding() {
    // BF16 is the top half of an f32: 1.0 = 0x3f80, -0.5 = 0xbf00. Header padded with spaces.
    let header = r#"{"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]},"a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}}   "#;
    let mut data = f32_bytes(&[2.0, -3.0]);
    data.extend_from_slice(&[0x80, 0x3f, 0x00, 0xbf]);
    let f = TensorFile::from_bytes(&file(header, &data)).unwrap();
    assert_eq!(f.get("a").unwrap(), &array![[2.0f32, -3.0]].into_dyn());
    assert_eq!(f.get("b").unwrap(), &array![1.0f32, -0.5].into_dyn());
    assert!(f.metadata().is_empty());
}

#[test]
fn writes_the_specified_layout() {
    let mut f = TensorFile::new();
    f.push("k", array![[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]].into_dyn())
        .unwrap();
    f.push("b", array![-1.0f32].into_dyn()).unwrap();
    f.insert_metadata("format", "pt");
    let bytes = f.to_bytes().unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!(n % 8, 0, "the data starts 8-byte aligned");
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    assert_eq!(
        header,
        serde_json::json!({
            "__metadata__": {"format": "pt"},
            "k": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
            "b": {"dtype": "F32", "shape": [1], "data_offsets": [24, 28]},
        })
    );
    assert_eq!(
        &bytes[8 + n..],
        f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, -1.0])
    );
}

#[test]
fn refuses_non_finite_and_duplicate_tensors_when_writing() {
    let mut f = TensorFile::new();
    f.push("a", array![1.0f32].into_dyn()).unwrap();
    assert!(matches!(
        f.push("a", array![2.0f32].into_dyn()),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        f.push("__metadata__", array![2.0f32].into_dyn()),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        f.push("b", array![f32::NAN].into_dyn()),
        Err(Error::NonFinite { .. })
    ));
}

#[test]
fn hostile_lengths_are_refused_before_any_allocation() {
    // Shorter than the length prefix.
    assert_eq!(
        problem(&[1, 0, 0]),
        ModelFileError::Truncated {
            expected: 8,
            found: 3
        }
    );
    // A header length above the cap, and one beyond the file.
    let mut huge = u64::MAX.to_le_bytes().to_vec();
    huge.extend_from_slice(b"{}");
    assert!(header_problem(&huge).contains("limit"));
    let mut capped = (MAX_HEADER_BYTES + 1).to_le_bytes().to_vec();
    capped.extend_from_slice(b"{}");
    assert!(header_problem(&capped).contains("limit"));
    let mut beyond = 100u64.to_le_bytes().to_vec();
    beyond.extend_from_slice(b"{}");
    assert_eq!(
        problem(&beyond),
        ModelFileError::Truncated {
            expected: 108,
            found: 10
        }
    );
    // 2^60 floats announced, consistent with their offsets, in a 4-byte data section: had the
    // reader allocated them, this test would abort.
    let header = r#"{"x":{"dtype":"F32","shape":[1152921504606846976],"data_offsets":[0,4611686018427387904]}}"#;
    assert!(matches!(
        problem(&file(header, &[0; 4])),
        ModelFileError::Truncated { .. }
    ));
    // Shapes whose byte size overflows u64, or is too large with an empty axis.
    let header = r#"{"x":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,0]}}"#;
    assert!(header_problem(&file(header, &[])).contains("too large"));
    let header = r#"{"x":{"dtype":"F32","shape":[0,9223372036854775807],"data_offsets":[0,0]}}"#;
    assert!(header_problem(&file(header, &[])).contains("too large"));
}

#[test]
fn inconsistent_headers_are_model_file_errors() {
    let four = f32_bytes(&[1.0, 2.0, 3.0, 4.0]);
    let cases: &[(&str, &str)] = &[
        ("[1, 2]", "not a JSON object"),
        ("{\"x\": ", "EOF"),
        (
            r#"{"x":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}"#,
            "dtype I64",
        ),
        (
            r#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#,
            "reversed",
        ),
        (
            r#"{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}"#,
            "takes 12 bytes",
        ),
        (
            r#"{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
            "tensor x",
        ),
        (r#"{"x":{"dtype":"F32","shape":[2]}}"#, "data_offsets"),
        (
            r#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
            "overlap",
        ),
        (
            r#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}}"#,
            "belong to no tensor",
        ),
        (
            r#"{"__metadata__":{"a":1},"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#,
            "map of strings",
        ),
        (
            r#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"x":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#,
            "tensor x appears twice",
        ),
        (
            r#"{"__metadata__":{},"__metadata__":{},"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#,
            "__metadata__ appears twice",
        ),
    ];
    for (header, expected) in cases {
        let message = header_problem(&file(header, &four));
        assert!(message.contains(expected), "{header}: {message}");
    }
    // Bytes after the last tensor.
    let header = r#"{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}"#;
    assert!(matches!(
        problem(&file(header, &four)),
        ModelFileError::TrailingData { .. }
    ));
    // A NaN, and an F64 beyond f32's range, are named.
    let header = r#"{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#;
    let nan = f32_bytes(&[1.0, 2.0, f32::NAN, 4.0]);
    assert!(matches!(
        problem(&file(header, &nan)),
        ModelFileError::NonFinite { position: 2, .. }
    ));
    let header = r#"{"x":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#;
    assert!(matches!(
        problem(&file(header, &1e300f64.to_le_bytes())),
        ModelFileError::NonFinite { position: 0, .. }
    ));
}

/// `Dense(3, relu) → Dropout → Dense(2, linear) → Softmax → Dense(1, sigmoid)` on 2 inputs.
fn model(seed: u64) -> Sequential {
    let mut m = Sequential::new(2).with_seed(seed);
    m.add(Dense::new(3).activation(Activation::Relu)).unwrap();
    m.add(Dropout::new(0.2)).unwrap();
    m.add(Dense::new(2)).unwrap();
    m.add(ndnet::layers::softmax()).unwrap();
    m.add(
        Dense::new(1)
            .activation(Activation::Sigmoid)
            .use_bias(false),
    )
    .unwrap();
    m
}

#[test]
fn weights_in_both_layouts_have_the_documented_names_and_shapes() {
    let m = model(1);
    let w = m.get_weights();
    let keras = m.weights_file(WeightLayout::Keras).unwrap();
    let names: Vec<&str> = keras.tensors().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "dense/kernel",
            "dense/bias",
            "dense_1/kernel",
            "dense_1/bias",
            "dense_2/kernel"
        ]
    );
    assert_eq!(keras.get("dense_1/kernel").unwrap(), &w[2]);
    assert_eq!(keras.metadata()["format"], "keras");
    // torch.nn.Sequential(Linear(2, 3), ReLU(), Dropout(0.2), Linear(3, 2), Softmax(1),
    //                     Linear(2, 1, bias=False), Sigmoid())
    let pt = m.weights_file(WeightLayout::PyTorch).unwrap();
    let names: Vec<&str> = pt.tensors().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["0.weight", "0.bias", "3.weight", "3.bias", "5.weight"]
    );
    assert_eq!(pt.get("0.weight").unwrap(), &w[0].t().to_owned());
    assert_eq!(pt.get("3.weight").unwrap().shape(), &[2, 3]);
    assert_eq!(pt.get("3.bias").unwrap(), &w[3]);
    assert_eq!(pt.get("5.weight").unwrap().shape(), &[1, 2]);
    assert_eq!(pt.metadata()["format"], "pt");
}

#[test]
fn a_torch_style_file_loads_transposed() {
    // nn.Linear(2, 1).weight = [[0.5, -2.0]], bias = [0.25]: y = 0.5 x0 - 2 x1 + 0.25.
    let header = r#"{"0.weight":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},"0.bias":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#;
    let bytes = file(header, &f32_bytes(&[0.5, -2.0, 0.25]));
    let mut m = Sequential::new(2).with_seed(3);
    m.add(Dense::new(1)).unwrap();
    m.load_weights_from_bytes(&bytes, WeightLayout::PyTorch)
        .unwrap();
    assert_eq!(m.get_weights()[0], array![[0.5f32], [-2.0]].into_dyn());
    let y = m.predict(&array![[1.0f32, 1.0], [2.0, 0.0]]).unwrap();
    assert_eq!(y, array![[-1.25f32], [1.25]]);
}

#[test]
fn weights_round_trip_in_both_layouts() {
    let dir = common::tempdir().unwrap();
    let saved = model(1);
    let x = array![[0.3f32, -1.2], [2.0, 0.5]];
    let want = saved.predict(&x).unwrap();
    for layout in [WeightLayout::Keras, WeightLayout::PyTorch] {
        let path = dir.path().join("w.safetensors");
        saved.save_weights(&path, layout).unwrap();
        let mut other = model(2);
        assert_ne!(other.predict(&x).unwrap(), want);
        other.load_weights(&path, layout).unwrap();
        assert_eq!(other.get_weights(), saved.get_weights());
        assert_eq!(other.predict(&x).unwrap(), want);
    }
}

#[test]
fn mismatched_weights_are_refused_and_change_nothing() {
    let saved = model(1);
    let keras = saved
        .weights_file(WeightLayout::Keras)
        .unwrap()
        .to_bytes()
        .unwrap();
    let mut target = model(2);
    let before = target.get_weights();
    let err = |r: ndnet::Result<()>| match r {
        Err(Error::ModelFile { problem, .. }) => problem,
        other => panic!("expected a ModelFile error, got {other:?}"),
    };
    // The wrong layout: the first missing name is reported with the expected ones.
    let p = err(target.load_weights_from_bytes(&keras, WeightLayout::PyTorch));
    assert!(p.to_string().contains("no tensor 0.weight"), "{p}");
    // Another architecture: a shape mismatch, named.
    let mut wider = Sequential::new(2).with_seed(1);
    wider
        .add(Dense::new(4).activation(Activation::Relu))
        .unwrap();
    wider.add(Dropout::new(0.2)).unwrap();
    wider.add(Dense::new(2)).unwrap();
    wider.add(ndnet::layers::softmax()).unwrap();
    wider.add(Dense::new(1).use_bias(false)).unwrap();
    let bytes = wider
        .weights_file(WeightLayout::Keras)
        .unwrap()
        .to_bytes()
        .unwrap();
    let p = err(target.load_weights_from_bytes(&bytes, WeightLayout::Keras));
    assert!(
        matches!(&p, ModelFileError::Shape { name, expected, found, .. }
            if name == "dense/kernel" && expected == &[2, 3] && found == &[2, 4]),
        "{p:?}"
    );
    // A tensor the model has no place for.
    let mut extra = saved.weights_file(WeightLayout::Keras).unwrap();
    extra
        .push("dense_9/kernel", array![1.0f32].into_dyn())
        .unwrap();
    let p = err(target.load_weights_from_bytes(&extra.to_bytes().unwrap(), WeightLayout::Keras));
    assert!(p.to_string().contains("dense_9/kernel"), "{p}");
    assert_eq!(target.get_weights(), before);
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_without_blocking() {
    let dir = common::tempdir().unwrap();
    let path = dir.path().join("pipe.safetensors");
    let status = std::process::Command::new("mkfifo").arg(&path).status();
    if !status.is_ok_and(|s| s.success()) {
        eprintln!("mkfifo unavailable; skipped");
        return;
    }
    assert!(matches!(TensorFile::load(&path), Err(Error::Io { .. })));
    assert!(matches!(
        model(1).load_weights(&path, WeightLayout::Keras),
        Err(Error::Io { .. })
    ));
}

#[cfg(unix)]
#[test]
fn a_device_is_refused_without_reading() {
    assert!(matches!(
        TensorFile::load("/dev/zero"),
        Err(Error::Io { .. })
    ));
}

#[test]
fn a_file_above_the_size_limit_is_refused_before_reading() {
    // A sparse file: no disk space used, and nothing is read from it.
    let dir = common::tempdir().unwrap();
    let path = dir.path().join("huge.safetensors");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(MAX_FILE_BYTES + 1).unwrap();
    match model(1).load_weights(&path, WeightLayout::Keras) {
        Err(Error::Io { source, .. }) => {
            assert!(source.to_string().contains("limit"), "{source}")
        }
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

/// 5,000 mutated and truncated variants of weight files: each loads or gives a ModelFile error,
/// never a panic, and a refused file changes nothing.
#[test]
fn mutated_weight_files_never_panic() {
    let saved = model(1);
    let mut target = model(2);
    let before = target.get_weights();
    let mut rng = SmallRng::seed_from_u64(9);
    for layout in [WeightLayout::Keras, WeightLayout::PyTorch] {
        let valid = saved.weights_file(layout).unwrap().to_bytes().unwrap();
        let header_end = 8 + u64::from_le_bytes(valid[..8].try_into().unwrap()) as usize;
        for i in 0..2_500 {
            let mut bytes = valid.clone();
            match i % 5 {
                0 => bytes.truncate(rng.random_range(0..valid.len())),
                1 => {
                    // Flip bits in the header (digits, quotes and brackets included).
                    for _ in 0..rng.random_range(1..4) {
                        let at = rng.random_range(8..header_end);
                        bytes[at] ^= 1 << rng.random_range(0..8);
                    }
                }
                2 => {
                    // Replace a digit of the header with another.
                    let digits: Vec<usize> = (8..header_end)
                        .filter(|&j| bytes[j].is_ascii_digit())
                        .collect();
                    let at = digits[rng.random_range(0..digits.len())];
                    bytes[at] = b'0' + rng.random_range(0..10);
                }
                3 => {
                    // A random length prefix.
                    let n: u64 = match rng.random_range(0..3) {
                        0 => rng.random(),
                        1 => rng.random_range(0..valid.len() as u64 + 16),
                        _ => (header_end as u64 - 8) ^ (1 << rng.random_range(0..64)),
                    };
                    bytes[..8].copy_from_slice(&n.to_le_bytes());
                }
                _ => {
                    // Random bytes anywhere, or appended.
                    if rng.random_bool(0.5) {
                        let at = rng.random_range(0..bytes.len());
                        bytes[at] = rng.random();
                    } else {
                        bytes.extend((0..rng.random_range(1..9)).map(|_| rng.random::<u8>()));
                    }
                }
            }
            let result = catch_unwind(AssertUnwindSafe(|| {
                let _ = TensorFile::from_bytes(&bytes);
                target.load_weights_from_bytes(&bytes, layout)
            }));
            match result {
                Ok(Ok(())) => {
                    target.set_weights(&before).unwrap();
                }
                Ok(Err(Error::ModelFile { .. })) => {
                    assert_eq!(
                        target.get_weights(),
                        before,
                        "variant {i} changed the weights"
                    );
                }
                Ok(Err(e)) => panic!("variant {i} ({layout:?}): not a ModelFile error: {e}"),
                Err(_) => panic!("variant {i} ({layout:?}) panicked"),
            }
        }
    }
}
