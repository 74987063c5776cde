//! The UCI Sonar data set: sonar returns from metal cylinders (mines, `M`) and rocks (`R`).
//!
//! 208 rows, each with 60 energy values in `[0, 1]` and a label, 111 `M` and 97 `R`, no header.
//! [`load`] finds the data (see [`Locator`] for where it looks; without a file it uses the copy
//! embedded in the crate, so it works offline) and returns it ready for a binary classifier:
//!
//! ```
//! use ndnet::datasets::sonar;
//!
//! let data = sonar::load(None)?;
//! assert_eq!(data.x.shape(), &[208, 60]);
//! assert_eq!(data.y.shape(), &[208, 1]); // M = 0.0, R = 1.0
//! assert_eq!(data.classes, vec!["M", "R"]);
//! println!("read {}", data.path.display());
//! # Ok::<(), ndnet::Error>(())
//! ```

use std::io::Read;
use std::path::{Path, PathBuf};

use ndarray::Array2;

use crate::data::{CsvLoader, LabelEncoder, LabeledData};
use crate::error::{Error, Result};

/// Where the data is downloaded from by default.
pub const URL: &str = "https://raw.githubusercontent.com/jbrownlee/Datasets/master/sonar.csv";

/// SHA-256 digest (hex) of the file at [`URL`]; downloads must match it.
pub const SHA256: &str = "3079c09b5d2789a0f96aff82c28e5164fafe2495c5f8da96c6c256c1bd25763f";

/// The file's name, in the working directory and in the cache directory.
pub const FILE_NAME: &str = "sonar.csv";

/// Environment variable holding the path of the file.
pub const ENV_PATH: &str = "SONAR_CSV";

/// Environment variable overriding [`URL`] in [`url`].
pub const ENV_URL: &str = "SONAR_URL";

/// The address to download from: `$SONAR_URL` if set and non-empty, else [`URL`].
pub fn url() -> String {
    std::env::var(ENV_URL)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| URL.to_owned())
}

/// Number of features per row.
pub const N_FEATURES: usize = 60;

/// Number of rows in the original data set.
pub const N_ROWS: usize = 208;

/// The labels, in class-index order: `M` (mine) is 0, `R` (rock) is 1.
pub const CLASSES: [&str; 2] = ["M", "R"];

/// The Sonar data, ready for a binary classifier.
#[derive(Debug, Clone, PartialEq)]
pub struct Sonar {
    /// Features, shape `(rows, 60)`.
    pub x: Array2<f32>,
    /// Targets, shape `(rows, 1)`: 0.0 for `M`, 1.0 for `R`.
    pub y: Array2<f32>,
    /// Class index of each row: 0 for `M`, 1 for `R`.
    pub labels: Vec<usize>,
    /// The class names, `["M", "R"]`.
    pub classes: Vec<String>,
    /// The file the data was read from.
    pub path: PathBuf,
}

impl Sonar {
    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.x.nrows()
    }

    /// Number of rows of each class, in [`classes`](Self::classes) order.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        for &l in &self.labels {
            if let Some(c) = counts.get_mut(l) {
                *c += 1;
            }
        }
        counts
    }
}

/// The Sonar file shipped inside the crate: 208 rows, no header, SHA-256 [`SHA256`].
///
/// From the UCI Machine Learning Repository (Gorman, R. P., and Sejnowski, T. J., "Connectionist
/// Bench (Sonar, Mines vs. Rocks)", <https://archive.ics.uci.edu/>), licensed under
/// CC BY 4.0; see `data/README.md` in the crate. [`load`] falls back to it when no file is given,
/// so programs and tests need neither a download nor an environment variable.
pub const EMBEDDED_CSV: &str = include_str!("../../data/sonar.csv");

/// The name [`Located::path`] and [`Sonar::path`] carry for the [embedded copy](EMBEDDED_CSV).
pub const EMBEDDED_NAME: &str = "(embedded sonar.csv)";

/// How the file was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The path passed by the caller (e.g. `--data PATH`).
    Explicit,
    /// The path in the `SONAR_CSV` environment variable.
    EnvVar,
    /// `./sonar.csv` in the working directory.
    WorkingDir,
    /// The copy compiled into the crate ([`EMBEDDED_CSV`]).
    Embedded,
}

/// The data source found by [`Locator::resolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// Path of the file; [`EMBEDDED_NAME`] (not a file) for [`Origin::Embedded`].
    pub path: PathBuf,
    /// Which rule found it.
    pub origin: Origin,
}

/// Where to look for the Sonar data, in order.
///
/// 1. `explicit`, the path given by the caller; if it is set, it must exist;
/// 2. `env_path`, from the `SONAR_CSV` environment variable; if it is set, it must exist;
/// 3. `working_dir_file`, normally `./sonar.csv`, if it exists;
/// 4. otherwise the copy embedded in the crate ([`EMBEDDED_CSV`]).
///
/// Nothing is downloaded: [`download_to`] (with the `download` feature) is an explicit call.
/// [`Locator::from_env`] fills the fields from the environment; tests and programs can also set
/// them directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locator {
    /// A path given by the caller.
    pub explicit: Option<PathBuf>,
    /// The path from `SONAR_CSV`.
    pub env_path: Option<PathBuf>,
    /// The file in the working directory.
    pub working_dir_file: PathBuf,
}

/// The cache location for a downloaded copy: [`cache_dir`](super::cache_dir)`/sonar.csv`.
///
/// [`load`] does not look there; pass the path explicitly after [`download_to`].
pub fn cache_path() -> Option<PathBuf> {
    super::cache_dir().map(|d| d.join(FILE_NAME))
}

impl Locator {
    /// The standard search: `explicit`, then `$SONAR_CSV`, `./sonar.csv`, then the embedded copy.
    pub fn from_env(explicit: Option<&Path>) -> Self {
        Locator {
            explicit: explicit.map(Path::to_path_buf),
            env_path: std::env::var_os(ENV_PATH)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            working_dir_file: PathBuf::from(FILE_NAME),
        }
    }

    /// Finds the data: the first of the explicit path, `SONAR_CSV` and `./sonar.csv` that is set
    /// (and, for `./sonar.csv`, exists), otherwise the embedded copy.
    ///
    /// # Errors
    ///
    /// [`Error::DataUnavailable`] if an explicit or `SONAR_CSV` path is set but does not name a
    /// file: a path that was asked for is never silently replaced by the embedded copy.
    pub fn resolve(&self) -> Result<Located> {
        if let Some(path) = &self.explicit {
            return required(path, Origin::Explicit, || {
                format!(
                    "the Sonar data file {} does not exist (or is not a file); \
                     omit the path to use the copy embedded in ndnet",
                    path.display()
                )
            });
        }
        if let Some(path) = &self.env_path {
            return required(path, Origin::EnvVar, || {
                format!(
                    "{ENV_PATH} is set to {}, but there is no such file; \
                     unset it (to use the copy embedded in ndnet) or point it at the Sonar CSV file",
                    path.display()
                )
            });
        }
        if self.working_dir_file.is_file() {
            return Ok(Located {
                path: self.working_dir_file.clone(),
                origin: Origin::WorkingDir,
            });
        }
        Ok(Located {
            path: PathBuf::from(EMBEDDED_NAME),
            origin: Origin::Embedded,
        })
    }

    /// Finds ([`resolve`](Self::resolve)) and reads the data.
    ///
    /// # Errors
    ///
    /// As [`resolve`](Self::resolve) and [`load_file`].
    pub fn load(&self) -> Result<Sonar> {
        let located = self.resolve()?;
        match located.origin {
            Origin::Embedded => embedded(),
            _ => load_file(&located.path),
        }
    }
}

/// `path`, found by `origin`, if it names a file; otherwise [`Error::DataUnavailable`] with the
/// message `missing` writes: a path that was asked for is never replaced by another.
fn required(path: &Path, origin: Origin, missing: impl FnOnce() -> String) -> Result<Located> {
    if path.is_file() {
        Ok(Located {
            path: path.to_path_buf(),
            origin,
        })
    } else {
        Err(Error::DataUnavailable(missing()))
    }
}

/// Finds the Sonar data with the standard search ([`Locator::from_env`]).
///
/// # Errors
///
/// As [`Locator::resolve`].
pub fn locate(explicit: Option<&Path>) -> Result<Located> {
    Locator::from_env(explicit).resolve()
}

/// Finds ([`locate`]) and reads the Sonar data: `path` if given, else the file named by
/// `SONAR_CSV`, else `./sonar.csv`, else the copy embedded in the crate. Works offline.
///
/// # Errors
///
/// As [`Locator::resolve`] and [`load_file`].
pub fn load(path: Option<&Path>) -> Result<Sonar> {
    Locator::from_env(path).load()
}

/// Reads the copy embedded in the crate ([`EMBEDDED_CSV`]); [`Sonar::path`] is [`EMBEDDED_NAME`].
///
/// ```
/// let data = ndnet::datasets::sonar::embedded()?;
/// assert_eq!(data.class_counts(), vec![111, 97]);
/// # Ok::<(), ndnet::Error>(())
/// ```
///
/// # Errors
///
/// None in practice (the copy is checked by the crate's tests); the signature is that of
/// [`from_reader`].
pub fn embedded() -> Result<Sonar> {
    from_reader(EMBEDDED_CSV.as_bytes(), EMBEDDED_NAME)
}

/// Reads the Sonar data from `path`.
///
/// Any number of rows is accepted, but each must have 60 numbers and the label `M` or `R`.
///
/// # Errors
///
/// [`Error::Csv`] (with line and column) for a row of the wrong width, a value that is not a
/// finite number or a label other than `M` and `R`; [`Error::EmptyData`] for a file without
/// rows; [`Error::Io`] if the file cannot be read.
pub fn load_file(path: &Path) -> Result<Sonar> {
    let data = loader().load_path(path)?;
    from_labeled(data, &path.display().to_string(), path.to_path_buf())
}

/// Reads the Sonar data from any reader, calling it `name` in errors and in [`Sonar::path`].
///
/// ```
/// let row = |label: &str| format!("{}{label}\n", "0.5,".repeat(60));
/// let text = row("R") + &row("M");
/// let data = ndnet::datasets::sonar::from_reader(text.as_bytes(), "inline")?;
/// assert_eq!(data.labels, vec![1, 0]);
/// # Ok::<(), ndnet::Error>(())
/// ```
///
/// # Errors
///
/// As [`load_file`].
pub fn from_reader<R: Read>(reader: R, name: &str) -> Result<Sonar> {
    let data = loader().load_reader_named(reader, name)?;
    from_labeled(data, name, PathBuf::from(name))
}

/// Downloads the Sonar file from `url` (normally [`url()`]) to `dest` (e.g.
/// [`cache_path`]), verifying it against [`SHA256`]. [`load`] never downloads; this is the
/// explicit way, for a fresh copy of the original file.
///
/// Nothing is left at `dest` (nor any temporary file) if the download fails or the digest does
/// not match. See [`download_file`](super::download_file).
///
/// # Errors
///
/// [`Error::DataUnavailable`] if the request fails or the server does not answer 200 (or the
/// `download` feature is disabled); [`Error::Checksum`] if the file is not the expected one;
/// [`Error::Io`] if it cannot be written.
pub fn download_to(url: &str, dest: &Path) -> Result<()> {
    super::download_file(url, dest, SHA256)
}

fn loader() -> CsvLoader {
    CsvLoader::new().allowed_labels(&CLASSES)
}

fn from_labeled(data: LabeledData, name: &str, path: PathBuf) -> Result<Sonar> {
    if data.n_features() != N_FEATURES {
        return Err(Error::Csv {
            path: name.to_owned(),
            line: 1,
            column: data.n_features() + 1,
            message: format!(
                "expected {} columns ({N_FEATURES} features and the label), found {}",
                N_FEATURES + 1,
                data.n_features() + 1
            ),
        });
    }
    let encoder = LabelEncoder::from_classes(&CLASSES)?;
    let labels = encoder.transform(&data.labels)?;
    let y = encoder.binary_column(&labels)?;
    Ok(Sonar {
        x: data.features,
        y,
        labels,
        classes: encoder.classes().to_vec(),
        path,
    })
}
