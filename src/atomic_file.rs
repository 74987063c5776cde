//! The crate's file handling, independent of any file format.
//!
//! **Writing** ([`write_atomic`], [`write_atomic_with`], [`TempFile`]): readers see either the
//! old content or the complete new one. The bytes go to a temporary file in the destination's
//! directory, named `.<file name>.<pid>.<n>.tmp`, which is flushed to disk and renamed over the
//! destination. A destination that is a symbolic link is resolved first, so the link's target
//! is replaced and the link kept. A temporary file that is not persisted (any error, or a
//! writer that fails midway) is removed when dropped, so a failed write leaves the previous
//! file untouched and nothing beside it. A process killed while writing cannot remove its
//! temporary file; the next write to the same destination removes such leftovers (see
//! [`sweep_stale`]), so they do not accumulate.
//!
//! **Reading** ([`open_regular`]): only regular files are read (a FIFO would block forever, a
//! device such as `/dev/zero` never ends), and never more than a stated number of bytes.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};

/// A temporary file left by a dead process is removed once it has not been modified for this
/// long (longer than any download's timeout, so a live writer in another PID namespace sharing
/// the directory is not disturbed).
pub(crate) const STALE_AFTER: Duration = Duration::from_secs(10 * 60);

/// The most symbolic links followed when resolving a destination.
const MAX_SYMLINKS: usize = 40;

fn io_error(kind: std::io::ErrorKind, message: String) -> std::io::Error {
    std::io::Error::new(kind, message)
}

/// The directory `path` is in (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The file a write to `dest` must replace: `dest` itself, or, when `dest` is a symbolic link
/// (possibly to another link), the path it finally points to (which may not exist yet).
pub(crate) fn resolve_destination(dest: &Path) -> Result<PathBuf> {
    let mut path = dest.to_path_buf();
    for _ in 0..MAX_SYMLINKS {
        match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = fs::read_link(&path).map_err(|e| Error::io(dest, e))?;
                path = if target.is_absolute() {
                    target
                } else {
                    parent_dir(&path).join(target)
                };
            }
            _ => return Ok(path),
        }
    }
    Err(Error::io(
        dest,
        io_error(
            std::io::ErrorKind::InvalidInput,
            format!("more than {MAX_SYMLINKS} levels of symbolic links"),
        ),
    ))
}

/// The file name of `path`, or an error naming `shown` when it has none (`""`, `/`, `x/..`).
fn file_name(path: &Path, shown: &Path) -> Result<String> {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            Error::io(
                shown,
                io_error(std::io::ErrorKind::InvalidInput, "not a file path".into()),
            )
        })
}

/// The parsed `(pid, n)` of a temporary-file name `.<stem>.<pid>.<n>.tmp`, if it is one.
fn temp_name_parts(name: &str, stem: &str) -> Option<(u32, u64)> {
    let rest = name
        .strip_prefix('.')?
        .strip_prefix(stem)?
        .strip_prefix('.')?
        .strip_suffix(".tmp")?;
    let (pid, n) = rest.split_once('.')?;
    Some((pid.parse().ok()?, n.parse().ok()?))
}

/// Whether process `pid` may be running. Only Linux's `/proc` can say it is not; elsewhere (or
/// without `/proc`) every process is assumed alive and nothing is swept.
fn process_may_be_alive(pid: u32) -> bool {
    if !cfg!(target_os = "linux") || !Path::new("/proc/self").exists() {
        return true;
    }
    Path::new("/proc").join(pid.to_string()).exists()
}

/// Removes the temporary files for `dest` (in `dir`, named `.<stem>.<pid>.<n>.tmp`) whose
/// process is dead and which have not been modified for [`STALE_AFTER`]: what a process killed
/// while writing `dest` left behind. Best effort: errors are ignored. Returns how many were
/// removed.
pub(crate) fn sweep_stale(dir: &Path, stem: &str) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let me = std::process::id();
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some((pid, _)) = name.to_str().and_then(|n| temp_name_parts(n, stem)) else {
            continue;
        };
        if pid == me || process_may_be_alive(pid) {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age >= STALE_AFTER);
        if meta.is_file() && old && fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// A temporary file beside its destination, deleted on drop unless persisted.
pub(crate) struct TempFile {
    path: PathBuf,
    /// The file it will replace (a symbolic link resolved).
    dest: PathBuf,
    file: File,
    keep: bool,
}

impl TempFile {
    /// A new, empty temporary file in `dest`'s directory (which must exist), named after `dest`
    /// (after resolving symbolic links). Stale temporary files of `dest` are swept first.
    /// Errors name `dest`.
    pub(crate) fn beside(dest: &Path) -> Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let shown = dest;
        file_name(dest, shown)?;
        let dest = resolve_destination(dest)?;
        let stem = file_name(&dest, shown)?;
        let dir = parent_dir(&dest);
        if !dir.is_dir() {
            return Err(Error::io(
                shown,
                io_error(
                    std::io::ErrorKind::NotFound,
                    format!("the directory {} does not exist", dir.display()),
                ),
            ));
        }
        sweep_stale(&dir, &stem);
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!(".{stem}.{}.{n}.tmp", std::process::id()));
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => {
                    return Ok(TempFile {
                        path,
                        dest,
                        file,
                        keep: false,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io(shown, e)),
            }
        }
    }

    /// Appends `bytes`.
    #[cfg(feature = "download")]
    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        self.file
            .write_all(bytes)
            .map_err(|e| Error::io(&self.dest, e))
    }

    /// Flushes the file to disk and renames it over its destination (the `dest` given to
    /// [`beside`](Self::beside), symbolic links resolved); the rename is made durable where the
    /// directory can be synced (best effort). Errors name `shown`.
    pub(crate) fn persist(mut self, shown: &Path) -> Result<()> {
        self.file.sync_all().map_err(|e| Error::io(shown, e))?;
        fs::rename(&self.path, &self.dest).map_err(|e| Error::io(shown, e))?;
        self.keep = true;
        if let Ok(d) = File::open(parent_dir(&self.dest)) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl Write for TempFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Writes `bytes` to `path` atomically (see the module documentation).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes).map_err(|e| Error::io(path, e)))
}

/// Writes to `path` atomically what `write` writes to the writer it is given (buffered). If
/// `write` fails, the previous file at `path` is kept as it was and the temporary file removed.
/// I/O errors of the writer are reported as [`Error::Io`] naming `path`.
pub(crate) fn write_atomic_with<F>(path: &Path, write: F) -> Result<()>
where
    F: FnOnce(&mut dyn Write) -> Result<()>,
{
    let mut out = std::io::BufWriter::new(TempFile::beside(path)?);
    write(&mut out)?;
    let temp = out
        .into_inner()
        .map_err(|e| Error::io(path, e.into_error()))?;
    temp.persist(path)
}

/// Opens `path` for reading if it is a regular file (symbolic links followed) of at most
/// `max_bytes`, and returns it with its length. A FIFO, socket, device or directory gives
/// [`Error::Io`] (`InvalidInput`) without blocking; so does a larger file. The returned file
/// should still be read through `take(max_bytes + 1)`-style bounds, as it may grow.
pub(crate) fn open_regular(path: &Path, max_bytes: u64) -> Result<(File, u64)> {
    let not_regular = |what: &str| {
        Error::io(
            path,
            io_error(
                std::io::ErrorKind::InvalidInput,
                format!("not a regular file ({what})"),
            ),
        )
    };
    let meta = fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(not_regular(&file_kind(&meta)));
    }
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        // Non-blocking open: should the path be swapped for a FIFO after the check above, the
        // open does not wait for a writer (the check below then rejects it). No effect on
        // regular files.
        use std::os::unix::fs::OpenOptionsExt;
        #[cfg(any(target_os = "linux", target_os = "android"))]
        options.custom_flags(0o4000);
        #[cfg(any(
            target_os = "macos",
            target_os = "ios",
            target_os = "freebsd",
            target_os = "openbsd",
            target_os = "netbsd",
            target_os = "dragonfly"
        ))]
        options.custom_flags(0x0004);
    }
    let file = options.open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(not_regular(&file_kind(&meta)));
    }
    if meta.len() > max_bytes {
        return Err(too_large(path, max_bytes));
    }
    Ok((file, meta.len()))
}

/// The error for input longer than `max_bytes`.
pub(crate) fn too_large(path: impl Into<PathBuf>, max_bytes: u64) -> Error {
    Error::io(
        path,
        io_error(
            std::io::ErrorKind::InvalidData,
            format!("larger than the limit of {max_bytes} bytes"),
        ),
    )
}

fn file_kind(meta: &fs::Metadata) -> String {
    let t = meta.file_type();
    if t.is_dir() {
        return "a directory".into();
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO".into();
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device".into();
        }
        if t.is_socket() {
            return "a socket".into();
        }
    }
    "not a regular file".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_writer_failing_midway_keeps_the_previous_file_and_leaves_no_temp() {
        let dir = std::env::temp_dir().join(format!("ndnet-atomic-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).unwrap();
        let path = dir.join("out.csv");
        fs::write(&path, "old content\n").unwrap();
        let err = write_atomic_with(&path, |w| {
            w.write_all(&[b'x'; 100_000]).unwrap();
            Err(Error::InvalidState("the writer failed".into()))
        })
        .unwrap_err();
        assert!(err.to_string().contains("the writer failed"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "old content\n");
        let names: Vec<_> = fs::read_dir(&dir).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "a temporary file was left: {names:?}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn temp_names_parse_only_for_their_own_stem() {
        assert_eq!(
            temp_name_parts(".m.ndnet.123.4.tmp", "m.ndnet"),
            Some((123, 4))
        );
        assert_eq!(temp_name_parts(".m.ndnet.123.4.tmp", "m"), None);
        assert_eq!(temp_name_parts(".m.ndnet.x.4.tmp", "m.ndnet"), None);
        assert_eq!(temp_name_parts("m.ndnet.123.4.tmp", "m.ndnet"), None);
        assert_eq!(temp_name_parts(".m.ndnet.123.4", "m.ndnet"), None);
    }
}
