//! Public data sets used by the examples.
//!
//! - [`sonar`]: the UCI Sonar data (mines vs rocks), 208 rows of 60 features.
//! - [`blobs`]: generated Gaussian blobs for multi-class examples.
//! - [`mnist`] and [`fashion_mnist`]: the handwritten digits and Zalando's clothing images,
//!   read from their IDX files ([`idx`]).
//!
//! The sonar data ships inside the crate, so nothing needs the network. With the opt-in
//! `download` feature, [`download_file`] fetches a file (e.g. into the user cache directory,
//! [`cache_dir`]) and checks it against a SHA-256 digest.

pub mod blobs;
pub mod fashion_mnist;
pub mod idx;
pub mod mnist;
pub mod sonar;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The directory where downloaded data sets are kept: `$XDG_CACHE_HOME/ndnet` if
/// `XDG_CACHE_HOME` is set to an absolute path, else `$HOME/.cache/ndnet`, else (on Windows)
/// `%LOCALAPPDATA%\ndnet`. `None` when none of these variables is set.
pub fn cache_dir() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(xdg) = var("XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
        return Some(xdg.join("ndnet"));
    }
    if let Some(home) = var("HOME") {
        return Some(home.join(".cache").join("ndnet"));
    }
    var("LOCALAPPDATA").map(|p| p.join("ndnet"))
}

/// Lower-case hex SHA-256 digest of `bytes`.
///
/// ```
/// assert_eq!(
///     ndnet::datasets::sha256_hex(b"abc"),
///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// );
/// ```
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Largest file [`download_file`] accepts, so a wrong URL cannot fill the disk.
pub const MAX_DOWNLOAD_BYTES: u64 = 256 * 1024 * 1024;

/// Seconds allowed to connect to the server.
pub const CONNECT_TIMEOUT_SECS: u64 = 20;

/// Seconds allowed for a whole download, connection included.
pub const DOWNLOAD_TIMEOUT_SECS: u64 = 300;

/// Downloads `url` to `dest`, keeping it only if its SHA-256 digest is `expected_sha256`
/// (hex).
///
/// The body goes to a temporary file in `dest`'s directory (created if needed), which is renamed
/// to `dest` once complete and verified. On any failure (connection, HTTP status other than 200,
/// timeout, checksum) the temporary file is removed and `dest` is left as it was: a failed
/// download never leaves a partial file at `dest`. Connecting may take at most
/// [`CONNECT_TIMEOUT_SECS`] and the whole download at most [`DOWNLOAD_TIMEOUT_SECS`].
///
/// # Errors
///
/// [`Error::DataUnavailable`] when the request fails or the server answers with another status
/// than 200 (the message gives the URL and the status); [`Error::Checksum`] when the digest does
/// not match; [`Error::Io`] when the file cannot be written.
#[cfg(feature = "download")]
pub fn download_file(url: &str, dest: &Path, expected_sha256: &str) -> Result<()> {
    use sha2::Digest;
    use std::io::Read;

    let (mut temp, mut response) = begin_download(url, dest)?;
    let fail = |reason: String| download_failed(url, reason);
    let mut reader = response
        .body_mut()
        .with_config()
        .limit(MAX_DOWNLOAD_BYTES)
        .reader();
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(fail(e.to_string())),
        };
        hasher.update(&buf[..n]);
        temp.write_all(&buf[..n])?;
    }
    let found = hex(&hasher.finalize());
    if !found.eq_ignore_ascii_case(expected_sha256) {
        return Err(Error::Checksum {
            url: url.to_owned(),
            expected: expected_sha256.to_ascii_lowercase(),
            found,
        });
    }
    temp.persist(dest)
}

/// Without the `download` feature: always fails, saying how to enable it.
///
/// # Errors
///
/// Always [`Error::DataUnavailable`].
#[cfg(not(feature = "download"))]
pub fn download_file(url: &str, dest: &Path, expected_sha256: &str) -> Result<()> {
    let _ = expected_sha256;
    Err(Error::DataUnavailable(format!(
        "cannot download {url} to {}: ndnet was built without the `download` feature",
        dest.display()
    )))
}

/// Downloads `url` to `dest` (atomically, as [`download_file`]), keeping it only if `check`
/// accepts the downloaded bytes; `check`'s error is returned otherwise.
#[cfg(feature = "download")]
pub(crate) fn download_checked(
    url: &str,
    dest: &Path,
    check: impl FnOnce(&[u8]) -> Result<()>,
) -> Result<()> {
    use std::io::Read;
    let (mut temp, mut response) = begin_download(url, dest)?;
    let fail = |reason: String| download_failed(url, reason);
    let mut body = Vec::new();
    response
        .body_mut()
        .with_config()
        .limit(MAX_DOWNLOAD_BYTES)
        .reader()
        .read_to_end(&mut body)
        .map_err(|e| fail(e.to_string()))?;
    check(&body)?;
    temp.write_all(&body)?;
    temp.persist(dest)
}

/// Without the `download` feature: always fails, saying how to enable it.
#[cfg(not(feature = "download"))]
pub(crate) fn download_checked(
    url: &str,
    dest: &Path,
    check: impl FnOnce(&[u8]) -> Result<()>,
) -> Result<()> {
    let _ = check;
    download_file(url, dest, "")
}

/// What both downloads start with: `dest`'s folder created, a temporary file beside `dest`, and
/// the server's answer to the GET of `url`.
#[cfg(feature = "download")]
fn begin_download(
    url: &str,
    dest: &Path,
) -> Result<(
    crate::atomic_file::TempFile,
    ureq::http::Response<ureq::Body>,
)> {
    let dir = crate::atomic_file::parent_dir(dest);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let temp = crate::atomic_file::TempFile::beside(dest)?;
    Ok((temp, get(url)?))
}

/// The error of a failed download of `url`.
#[cfg(feature = "download")]
fn download_failed(url: &str, reason: String) -> Error {
    Error::DataUnavailable(format!("downloading {url} failed: {reason}"))
}

/// A GET request with the download timeouts; an error unless the server answers 200.
#[cfg(feature = "download")]
fn get(url: &str) -> Result<ureq::http::Response<ureq::Body>> {
    use std::time::Duration;
    let fail = |reason: String| download_failed(url, reason);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(CONNECT_TIMEOUT_SECS)))
        .timeout_global(Some(Duration::from_secs(DOWNLOAD_TIMEOUT_SECS)))
        .http_status_as_error(false)
        .build()
        .into();
    let response = agent.get(url).call().map_err(|e| fail(e.to_string()))?;
    let status = response.status();
    if status != ureq::http::StatusCode::OK {
        return Err(fail(format!("the server answered HTTP {status}")));
    }
    Ok(response)
}
