//! The crate's files: what the model loader accepts (limits), which files the loaders read,
//! atomic writes of every file the crate writes, and their temporary files.
#![cfg(feature = "serde")]

mod common;

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use ndarray::Array2;
use ndnet::prelude::*;
use ndnet::{ModelFileError, io};

fn problem(result: ndnet::Result<Sequential>) -> ModelFileError {
    match result {
        Err(Error::ModelFile { problem, .. }) => problem,
        Err(e) => panic!("expected a model-file error, got {e}"),
        Ok(_) => panic!("expected a model-file error, the file loaded"),
    }
}

fn header_len(bytes: &[u8]) -> usize {
    u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize
}

/// The safetensors header of a file: every tensor's entry, and `__metadata__`.
fn entries(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(&bytes[8..8 + header_len(bytes)]).unwrap()
}

/// Rewrites the model's description (the JSON under `"model"` in the metadata) of a valid file
/// through `edit`, fixing the header length.
fn with_header(bytes: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut header = entries(bytes);
    let mut model: serde_json::Value =
        serde_json::from_str(header["__metadata__"]["model"].as_str().unwrap()).unwrap();
    edit(&mut model);
    header["__metadata__"]["model"] = model.to_string().into();
    let text = serde_json::to_vec(&header).unwrap();
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&text);
    out.extend_from_slice(&bytes[8 + header_len(bytes)..]);
    out
}

fn small_data() -> (Array2<f32>, Array2<f32>) {
    let x = Array2::from_shape_fn((8, 3), |(i, j)| ((7 * i + 3 * j) % 11) as f32 / 11.0 - 0.5);
    let y = Array2::from_shape_fn((8, 1), |(i, _)| (i % 2) as f32);
    (x, y)
}

/// A 3 → Dense(4, relu) → Dense(1, sigmoid) model compiled with `optimizer`, trained 1 step.
fn trained(optimizer: impl Optimizer + 'static) -> Sequential {
    let mut model = Sequential::new(3).with_seed(1);
    model
        .add(Dense::new(4).activation(Activation::Relu))
        .unwrap();
    model
        .add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    model.compile(BinaryCrossentropy, optimizer).unwrap();
    let (x, y) = small_data();
    model.train_on_batch(&x, &y).unwrap();
    model
}

// ---- What the loader accepts -------------------------------------------------------------

#[test]
fn an_update_count_above_the_limit_is_refused() {
    for bytes in [
        trained(Adam::new(0.01)).to_bytes(true).unwrap(),
        trained(Sgd::new(0.1).momentum(0.9)).to_bytes(true).unwrap(),
    ] {
        let edited = with_header(&bytes, |h| {
            h["training"]["iterations"] = serde_json::json!(u64::MAX);
        });
        let p = problem(Sequential::from_bytes(&edited));
        assert!(
            matches!(&p, ModelFileError::Training(m) if m.contains("iterations")),
            "{p}"
        );
        let edited = with_header(&bytes, |h| {
            h["training"]["iterations"] = serde_json::json!(io::MAX_ITERATIONS + 1);
        });
        problem(Sequential::from_bytes(&edited));
    }
}

#[test]
fn an_update_count_at_the_limit_loads_and_trains_to_finite_weights() {
    let bytes = trained(Adam::new(0.01)).to_bytes(true).unwrap();
    let edited = with_header(&bytes, |h| {
        h["training"]["iterations"] = serde_json::json!(io::MAX_ITERATIONS - 1);
    });
    let mut model = Sequential::from_bytes(&edited).unwrap();
    let (x, y) = small_data();
    model.train_on_batch(&x, &y).unwrap();
    assert_eq!(
        model.optimizer().unwrap().state().iterations,
        io::MAX_ITERATIONS
    );
    for w in model.get_weights() {
        assert!(w.iter().all(|v| v.is_finite()));
    }
    // At the limit the file loads, and the model refuses another step, changing nothing.
    let before = model.get_weights();
    assert!(model.train_on_batch(&x, &y).is_err());
    assert_eq!(model.get_weights(), before);
    assert_eq!(
        model.optimizer().unwrap().state().iterations,
        io::MAX_ITERATIONS
    );
}

/// The byte offset of the first value of optimizer-state group `name` in a saved file.
fn state_offset(bytes: &[u8], name: &str) -> usize {
    let entry = &entries(bytes)[format!("optimizer/{name}/dense/kernel")];
    8 + header_len(bytes) + entry["data_offsets"][0].as_u64().unwrap() as usize
}

#[test]
fn a_negative_average_of_squares_in_the_optimizer_state_is_refused() {
    for (bytes, group) in [
        (trained(Adam::new(0.01)).to_bytes(true).unwrap(), "v/"),
        (trained(RmsProp::new(0.01)).to_bytes(true).unwrap(), "ms/"),
    ] {
        // The first value of the group's first buffer.
        let mut bytes = bytes;
        let at = state_offset(&bytes, group.trim_end_matches('/'));
        bytes[at..at + 4].copy_from_slice(&(-1.0f32).to_le_bytes());
        let p = problem(Sequential::from_bytes(&bytes));
        assert!(
            matches!(&p, ModelFileError::Training(m) if m.contains(group) && m.contains("negative")),
            "{p}"
        );
    }
}

/// A file of `n` `Dropout(0)` layers on 1 input, no weights.
fn dropout_stack(n: usize) -> Vec<u8> {
    let mut model = Sequential::new(1);
    model.add(Dropout::new(0.0)).unwrap();
    let bytes = model.to_bytes(false).unwrap();
    with_header(&bytes, |h| {
        let layer = h["layers"][0].clone();
        h["layers"] = serde_json::Value::Array(vec![layer; n]);
    })
}

#[test]
fn more_layers_than_the_limit_are_refused() {
    let p = problem(Sequential::from_bytes(&dropout_stack(io::MAX_LAYERS + 1)));
    assert!(
        matches!(&p, ModelFileError::Header(m) if m.contains(&io::MAX_LAYERS.to_string())),
        "{p}"
    );
}

#[test]
fn as_many_layers_as_the_limit_load() {
    let model = Sequential::from_bytes(&dropout_stack(io::MAX_LAYERS)).unwrap();
    assert_eq!(model.layers().len(), io::MAX_LAYERS);
}

#[test]
fn an_input_width_of_zero_or_above_the_limit_is_refused() {
    let mut model = Sequential::new(1);
    model.add(Dropout::new(0.5)).unwrap();
    let bytes = model.to_bytes(false).unwrap();
    for dim in [0, io::MAX_WIDTH + 1, 1 << 31] {
        let edited = with_header(&bytes, |h| h["input_dim"] = serde_json::json!(dim));
        let p = problem(Sequential::from_bytes(&edited));
        assert!(
            matches!(&p, ModelFileError::Header(m) if m.contains("input_dim")),
            "{p}"
        );
    }
    let no_layers = with_header(&bytes, |h| {
        h["input_dim"] = serde_json::json!(0);
        h["layers"] = serde_json::json!([]);
    });
    problem(Sequential::from_bytes(&no_layers));
}

#[test]
fn a_header_longer_than_the_limit_is_refused_before_it_is_read() {
    let mut bytes = trained(Sgd::new(0.1)).to_bytes(true).unwrap();
    // Claim a header of MAX_HEADER_BYTES + 1: without the limit this is "truncated".
    bytes[..8].copy_from_slice(&(io::MAX_HEADER_BYTES + 1).to_le_bytes());
    let p = problem(Sequential::from_bytes(&bytes));
    assert!(
        matches!(&p, ModelFileError::Header(m) if m.contains("limit")),
        "{p}"
    );
}

// ---- Which files are read ----------------------------------------------------------------

/// Runs `f` on another thread; fails if it has not returned within 60 s (a blocked read).
fn returns<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the call blocked")
}

#[cfg(unix)]
fn fifo(dir: &Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    let status = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    path
}

#[cfg(unix)]
#[test]
fn loading_a_fifo_is_refused_without_blocking() {
    let dir = common::tempdir().unwrap();
    let model = fifo(dir.path(), "m.safetensors");
    let csv = fifo(dir.path(), "d.csv");
    let e = returns(move || Sequential::load(&model).map(|_| ()).unwrap_err());
    assert!(
        matches!(&e, Error::Io { .. }) && e.to_string().contains("FIFO"),
        "{e}"
    );
    let e = returns(move || ndnet::data::load_csv(&csv).map(|_| ()).unwrap_err());
    assert!(
        matches!(&e, Error::Io { .. }) && e.to_string().contains("FIFO"),
        "{e}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn loading_dev_zero_is_refused_without_reading() {
    let e = returns(|| Sequential::load("/dev/zero").map(|_| ()).unwrap_err());
    assert!(
        matches!(&e, Error::Io { .. }) && e.to_string().contains("device"),
        "{e}"
    );
    let e = returns(|| ndnet::data::load_csv("/dev/zero").map(|_| ()).unwrap_err());
    assert!(
        matches!(&e, Error::Io { .. }) && e.to_string().contains("device"),
        "{e}"
    );
}

#[test]
fn the_csv_loader_stops_at_its_byte_limit() {
    let text = "0.1,0.2,M\n".repeat(100);
    let loader = ndnet::data::CsvLoader::new();
    assert_eq!(
        loader
            .clone()
            .max_bytes(1000)
            .load_reader(text.as_bytes())
            .unwrap()
            .n_rows(),
        100
    );
    let e = loader
        .max_bytes(999)
        .load_reader(text.as_bytes())
        .unwrap_err();
    assert!(
        matches!(&e, Error::Io { .. }) && e.to_string().contains("999"),
        "{e}"
    );
}

// ---- CSV text ------------------------------------------------------------------------------

fn csv_error(text: &[u8]) -> (u64, usize, String) {
    match ndnet::data::read_csv(text) {
        Err(Error::Csv {
            line,
            column,
            message,
            ..
        }) => (line, column, message),
        other => panic!("expected a CSV error, got {other:?}"),
    }
}

#[test]
fn an_unterminated_quote_is_reported_where_it_opens() {
    let (line, column, message) = csv_error(b"0.1,0.2,\"M\n0.3,0.4,R\n");
    assert_eq!((line, column), (1, 3), "{message}");
    assert!(message.contains("not closed"), "{message}");
    let (line, column, message) = csv_error(b"0.1,0.2,M\n0.3,0.4,\"R");
    assert_eq!((line, column), (2, 3), "{message}");
    let (line, column, _) = csv_error(b"0.1,0.2,M\n0.3,\"0.4,R\n0.5,0.6,M\n");
    assert_eq!((line, column), (2, 2));
}

#[test]
fn labels_with_nul_or_line_breaks_are_refused() {
    let (line, column, message) = csv_error(b"0.1,0.2,M\n0.3,0.4,R\0\n");
    assert_eq!((line, column), (2, 3));
    assert!(message.contains("NUL"), "{message}");
    let (line, column, message) = csv_error(b"0.1,0.2,\"M\nR\"\n");
    assert_eq!((line, column), (1, 3));
    assert!(message.contains("line break"), "{message}");
    let (_, _, message) = csv_error(b"0.1,0.2,\"M\rR\"\n");
    assert!(message.contains("line break"), "{message}");
}

#[test]
fn well_formed_quotes_still_read() {
    let data =
        ndnet::data::read_csv(&b"\xEF\xBB\xBF\"0.5\",0.25,\"M \"\"x\"\"\"\r\n1,2,R"[..]).unwrap();
    assert_eq!(data.labels, vec!["M \"x\"", "R"]);
    assert_eq!(data.features, ndarray::array![[0.5f32, 0.25], [1.0, 2.0]]);
}

#[test]
fn a_very_long_line_is_read_field_by_field() {
    // One record of 200,000 fields (1.4 MB), then a second.
    let mut text = String::new();
    for i in 0..200_000 {
        text.push_str(&format!("{}.5,", i % 10));
    }
    let line2 = text.clone();
    text.push_str("M\n");
    text.push_str(&line2);
    text.push_str("R\n");
    let data = ndnet::data::read_csv(text.as_bytes()).unwrap();
    assert_eq!(data.features.shape(), &[2, 200_000]);
    assert_eq!(data.features[[1, 199_999]], 9.5);
    assert_eq!(data.labels, vec!["M", "R"]);
}

#[test]
fn a_very_long_label_is_trimmed_and_kept_whole() {
    let label = "L".repeat(100_000);
    let text = format!("0.5,  {label} \n1.5,R\n");
    let data = ndnet::data::read_csv(text.as_bytes()).unwrap();
    assert_eq!(data.labels, vec![label, "R".to_string()]);
    assert_eq!(data.features, ndarray::array![[0.5f32], [1.5]]);
}

// ---- Writing ------------------------------------------------------------------------------

#[test]
fn saving_into_a_missing_directory_names_the_given_path() {
    let dir = common::tempdir().unwrap();
    let path = dir.path().join("missing").join("m.safetensors");
    let e = trained(Sgd::new(0.1)).save(&path).unwrap_err();
    match &e {
        Error::Io { path: p, .. } => assert_eq!(p, &path),
        other => panic!("{other}"),
    }
    assert!(!e.to_string().contains(".m.safetensors."), "{e}");
}

#[cfg(unix)]
#[test]
fn saving_through_a_symlink_writes_its_target_and_keeps_the_link() {
    let dir = common::tempdir().unwrap();
    let target_dir = dir.path().join("real");
    std::fs::create_dir(&target_dir).unwrap();
    let target = target_dir.join("m.safetensors");
    std::fs::write(&target, b"old").unwrap();
    let link = dir.path().join("link.safetensors");
    std::os::unix::fs::symlink("real/m.safetensors", &link).unwrap();
    let model = trained(Sgd::new(0.1));
    model.save(&link).unwrap();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read(&target).unwrap(),
        model.to_bytes(true).unwrap()
    );
    let h = History {
        loss: vec![0.5],
        ..Default::default()
    };
    h.write_csv(&link).unwrap();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), h.to_csv());
}

/// The content a reader that opened `path` before `write` sees afterwards: the old content if
/// `write` replaced the file, the new one if it overwrote it in place.
fn seen_by_an_earlier_reader(path: &Path, write: impl FnOnce()) -> String {
    use std::io::Read;
    std::fs::write(path, "old content\n").unwrap();
    let mut before = std::fs::File::open(path).unwrap();
    write();
    let mut seen = String::new();
    before.read_to_string(&mut seen).unwrap();
    seen
}

#[test]
fn history_csv_replaces_the_file_instead_of_overwriting_it() {
    let dir = common::tempdir().unwrap();
    let path = dir.path().join("history.csv");
    let h = History {
        loss: vec![0.5, 0.25],
        accuracy: vec![0.5, 1.0],
        ..Default::default()
    };
    let seen = seen_by_an_earlier_reader(&path, || h.write_csv(&path).unwrap());
    assert_eq!(seen, "old content\n");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), h.to_csv());
}

fn tuning_result(
    scores: Vec<Vec<f32>>,
) -> ndnet::selection::TuningResult<ndnet::experiments::Config> {
    ndnet::selection::TuningResult {
        index: 0,
        config: ndnet::experiments::Config::default(),
        mean: 0.5,
        std: 0.0,
        repeat_means: vec![0.5; scores.len()],
        scores,
        diverged: 0,
    }
}

#[test]
fn a_failed_tuning_csv_write_keeps_the_previous_file() {
    let dir = common::tempdir().unwrap();
    let path = dir.path().join("results.csv");
    std::fs::write(&path, "old content\n").unwrap();
    // Results of different shapes: the writer fails.
    let bad = [
        tuning_result(vec![vec![0.5, 0.5]]),
        tuning_result(vec![vec![0.5]]),
    ];
    assert!(ndnet::selection::write_csv(&bad, &path).is_err());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "old content\n");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "a temporary file was left"
    );
    let good = [tuning_result(vec![vec![0.5, 0.5]])];
    let seen =
        seen_by_an_earlier_reader(&path, || ndnet::selection::write_csv(&good, &path).unwrap());
    assert_eq!(seen, "old content\n");
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .starts_with("rank,mean,")
    );
}

#[cfg(feature = "plot")]
#[test]
fn svg_plots_replace_the_file_instead_of_overwriting_it() {
    let dir = common::tempdir().unwrap();
    let path = dir.path().join("curves.svg");
    let h = History {
        loss: vec![0.5, 0.25],
        accuracy: vec![0.5, 1.0],
        ..Default::default()
    };
    let seen = seen_by_an_earlier_reader(&path, || h.write_svg(&path, "t").unwrap());
    assert_eq!(seen, "old content\n");
    assert!(std::fs::read_to_string(&path).unwrap().contains("<svg"));
    let plot = ndnet::plot::DropoutPlot::new("t").panel(
        ndnet::plot::Panel::new("p")
            .line(ndnet::plot::Line::new("l", vec![(0.0, 0.5), (1.0, 0.6)])),
    );
    let seen = seen_by_an_earlier_reader(&path, || plot.write_svg(&path).unwrap());
    assert_eq!(seen, "old content\n");
    assert!(std::fs::read_to_string(&path).unwrap().contains("<svg"));
}

// ---- Temporary files ---------------------------------------------------------------------

/// The id of a process that has exited.
#[cfg(target_os = "linux")]
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[cfg(target_os = "linux")]
fn temp_file(dir: &Path, name: &str, age: Duration) -> std::path::PathBuf {
    let path = dir.join(name);
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(1000).unwrap();
    f.set_modified(SystemTime::now() - age).unwrap();
    path
}

#[cfg(target_os = "linux")]
#[test]
fn stale_temporary_files_of_dead_processes_are_swept_by_the_next_write() {
    let dir = common::tempdir().unwrap();
    let hour = Duration::from_secs(3600);
    let dead = dead_pid();
    let mut live = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    let stale = temp_file(dir.path(), &format!(".m.safetensors.{dead}.0.tmp"), hour);
    let stale_csv = temp_file(dir.path(), &format!(".h.csv.{dead}.3.tmp"), hour);
    let fresh = temp_file(
        dir.path(),
        &format!(".m.safetensors.{dead}.1.tmp"),
        Duration::ZERO,
    );
    let alive = temp_file(
        dir.path(),
        &format!(".m.safetensors.{}.0.tmp", live.id()),
        hour,
    );
    let other = temp_file(
        dir.path(),
        &format!(".other.safetensors.{dead}.0.tmp"),
        hour,
    );
    let unrelated = temp_file(dir.path(), "m.safetensors.1.0.tmp", hour);

    trained(Sgd::new(0.1))
        .save(dir.path().join("m.safetensors"))
        .unwrap();
    History::default()
        .write_csv(dir.path().join("h.csv"))
        .unwrap();

    assert!(!stale.exists(), "the stale model temp was kept");
    assert!(!stale_csv.exists(), "the stale CSV temp was kept");
    for kept in [&fresh, &alive, &other, &unrelated] {
        assert!(kept.exists(), "{} was removed", kept.display());
    }
    // Repeated writes do not add any.
    for _ in 0..3 {
        trained(Sgd::new(0.1))
            .save(dir.path().join("m.safetensors"))
            .unwrap();
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 4 + 2);
    live.kill().unwrap();
    live.wait().unwrap();
}
