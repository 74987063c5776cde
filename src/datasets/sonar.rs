//! The UCI Sonar data set: sonar returns from metal cylinders (mines, `M`) and rocks (`R`).
//!
//! 208 rows, each with 60 energy values in `[0, 1]` and a label, 111 `M` and 97 `R`, no header.
//! [`load`] finds the file (see [`Locator`] for where it looks), downloading it into the cache
//! directory if needed, and returns it ready for a binary classifier:
//!
//! ```no_run
//! use ndnet::datasets::sonar;
//!
//! let data = sonar::load(None)?;
//! assert_eq!(data.x.shape(), &[208, 60]);
//! assert_eq!(data.y.shape(), &[208, 1]); // M = 0.0, R = 1.0
//! assert_eq!(data.classes, vec!["M", "R"]);
//! println!("read {}", data.path.display());
//! # Ok::<(), ndnet::Error>(())
//! ```

use std::fmt::Write as _;
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

/// Environment variable overriding [`URL`].
pub const ENV_URL: &str = "SONAR_URL";

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

/// How the file was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The path passed by the caller (e.g. `--data PATH`).
    Explicit,
    /// The path in the `SONAR_CSV` environment variable.
    EnvVar,
    /// `./sonar.csv` in the working directory.
    WorkingDir,
    /// The copy in the cache directory.
    Cache,
    /// Just downloaded into the cache directory.
    Downloaded,
}

/// A file found by [`Locator::resolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// Path of the file.
    pub path: PathBuf,
    /// Which rule found it.
    pub origin: Origin,
}

/// Where to look for the Sonar file, in order.
///
/// 1. `explicit`, the path given by the caller; if it is set, it must exist;
/// 2. `env_path`, from the `SONAR_CSV` environment variable; if it is set, it must exist;
/// 3. `working_dir_file`, normally `./sonar.csv`;
/// 4. `cache_file`, normally `$XDG_CACHE_HOME/ndnet/sonar.csv` or `~/.cache/ndnet/sonar.csv`;
/// 5. if `download` is true, `url` is downloaded to `cache_file` (checked against [`SHA256`]).
///
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
    /// The file in the cache directory (`None` if no cache directory is known).
    pub cache_file: Option<PathBuf>,
    /// Where to download from.
    pub url: String,
    /// Whether to download when no local file is found.
    pub download: bool,
}

/// The cache location of the file: [`cache_dir`](super::cache_dir)`/sonar.csv`.
pub fn cache_path() -> Option<PathBuf> {
    super::cache_dir().map(|d| d.join(FILE_NAME))
}

impl Locator {
    /// The standard search: `explicit`, then `$SONAR_CSV`, `./sonar.csv`, the cache file, and a
    /// download from `$SONAR_URL` (or [`URL`]) when the `download` feature is enabled.
    pub fn from_env(explicit: Option<&Path>) -> Self {
        let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        Locator {
            explicit: explicit.map(Path::to_path_buf),
            env_path: non_empty(ENV_PATH).map(PathBuf::from),
            working_dir_file: PathBuf::from(FILE_NAME),
            cache_file: cache_path(),
            url: non_empty(ENV_URL)
                .map(|v| v.to_string_lossy().into_owned())
                .unwrap_or_else(|| URL.to_owned()),
            download: cfg!(feature = "download"),
        }
    }

    /// Finds the file, downloading it if allowed and needed.
    ///
    /// # Errors
    ///
    /// [`Error::DataUnavailable`] if an explicit or `SONAR_CSV` path does not name a file, or if
    /// no file is found and the download is disabled or fails; the message lists every place
    /// looked at and the ways to provide the file.
    pub fn resolve(&self) -> Result<Located> {
        if let Some(path) = &self.explicit {
            return if path.is_file() {
                Ok(Located {
                    path: path.clone(),
                    origin: Origin::Explicit,
                })
            } else {
                Err(Error::DataUnavailable(format!(
                    "the Sonar data file {} does not exist (or is not a file)",
                    path.display()
                )))
            };
        }
        if let Some(path) = &self.env_path {
            return if path.is_file() {
                Ok(Located {
                    path: path.clone(),
                    origin: Origin::EnvVar,
                })
            } else {
                Err(Error::DataUnavailable(format!(
                    "{ENV_PATH} is set to {}, but there is no such file; \
                     unset it or point it at the Sonar CSV file",
                    path.display()
                )))
            };
        }
        if self.working_dir_file.is_file() {
            return Ok(Located {
                path: self.working_dir_file.clone(),
                origin: Origin::WorkingDir,
            });
        }
        if let Some(cache) = &self.cache_file
            && cache.is_file()
        {
            return Ok(Located {
                path: cache.clone(),
                origin: Origin::Cache,
            });
        }
        let download_outcome = match (&self.cache_file, self.download) {
            (_, false) if cfg!(feature = "download") => {
                format!("skipped, download disabled ({})", self.url)
            }
            (_, false) => format!(
                "skipped, ndnet was built without the `download` feature ({})",
                self.url
            ),
            (None, true) => format!(
                "skipped, no cache directory to download {} into (set XDG_CACHE_HOME or HOME)",
                self.url
            ),
            (Some(cache), true) => match super::download_file(&self.url, cache, SHA256) {
                Ok(()) => {
                    return Ok(Located {
                        path: cache.clone(),
                        origin: Origin::Downloaded,
                    });
                }
                Err(e) => e.to_string(),
            },
        };
        Err(Error::DataUnavailable(
            self.not_found_message(&download_outcome),
        ))
    }

    fn not_found_message(&self, download_outcome: &str) -> String {
        let local = self.working_dir_file.display().to_string();
        let local = if self.working_dir_file.is_relative() && !local.starts_with('.') {
            format!("./{local}")
        } else {
            local
        };
        let cache = self.cache_file.as_ref().map_or_else(
            || "(no cache directory: HOME and XDG_CACHE_HOME are unset)".to_owned(),
            |p| p.display().to_string(),
        );
        let mut m = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(m, "the Sonar data file was not found. Looked at:");
        let _ = writeln!(m, "  - a path given with --data: none given");
        let _ = writeln!(m, "  - the {ENV_PATH} environment variable: not set");
        let _ = writeln!(m, "  - {local}: not found");
        let _ = writeln!(m, "  - {cache}: not found");
        let _ = writeln!(m, "  - download: {download_outcome}");
        let _ = writeln!(
            m,
            "Provide the file ({N_ROWS} rows of {N_FEATURES} numbers and a label M or R, no header) in one of these ways:"
        );
        let _ = writeln!(m, "  - pass its path with --data PATH");
        let _ = writeln!(m, "  - set {ENV_PATH}=PATH");
        let _ = writeln!(m, "  - copy it to {local}");
        let _ = writeln!(m, "  - copy it to {cache}");
        let _ = write!(
            m,
            "  - download it from {URL} (SHA-256 {SHA256}); {ENV_URL} overrides the URL"
        );
        m
    }
}

/// Finds the Sonar file with the standard search ([`Locator::from_env`]).
///
/// # Errors
///
/// As [`Locator::resolve`].
pub fn locate(explicit: Option<&Path>) -> Result<Located> {
    Locator::from_env(explicit).resolve()
}

/// Finds ([`locate`]) and reads the Sonar data.
///
/// # Errors
///
/// As [`locate`] and [`load_file`].
pub fn load(path: Option<&Path>) -> Result<Sonar> {
    let located = locate(path)?;
    load_file(&located.path)
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

/// Downloads the Sonar file from `url` to `dest`, verifying it against [`SHA256`].
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
