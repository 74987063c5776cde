//! CSV loading errors, the Sonar loader, the file search and the checked download.
//!
//! Tests that need the real Sonar file read its path from `SONAR_CSV` and are skipped (with a
//! note) when it is unset. Downloads go to a tiny HTTP server on 127.0.0.1 started by the test;
//! nothing here contacts the internet.

use std::fs;
use std::path::{Path, PathBuf};

use ndnet::Error;
use ndnet::data::{CsvLoader, load_csv};
use ndnet::datasets::sonar::{self, Locator, Origin};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Writes `contents` to `name` in a fresh temporary directory (kept alive by the returned guard).
fn temp_file(name: &str, contents: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join(name);
    fs::write(&path, contents).expect("write temporary file");
    (dir, path)
}

/// A valid Sonar row: 60 values then the label.
fn sonar_row(value: f32, label: &str) -> String {
    let values: Vec<String> = (0..60).map(|_| format!("{value:.4}")).collect();
    format!("{},{label}\n", values.join(","))
}

/// The real Sonar file, from `SONAR_CSV`, or `None` (with a note) when it is not set.
fn real_sonar(test: &str) -> Option<PathBuf> {
    match std::env::var_os("SONAR_CSV").filter(|v| !v.is_empty()) {
        Some(path) => Some(PathBuf::from(path)),
        None => {
            eprintln!("note: {test} skipped: set SONAR_CSV to the path of sonar.csv to run it");
            None
        }
    }
}

/// A locator that looks only inside `dir` and never downloads.
fn offline_locator(dir: &Path) -> Locator {
    Locator {
        explicit: None,
        env_path: None,
        working_dir_file: dir.join("cwd").join("sonar.csv"),
        cache_file: Some(dir.join("cache").join("ndnet").join("sonar.csv")),
        url: "http://127.0.0.1:9/sonar.csv".to_owned(),
        download: false,
    }
}

// ---------------------------------------------------------------------------------------------
// Generic CSV loader
// ---------------------------------------------------------------------------------------------

#[test]
fn csv_reads_features_and_last_column_labels() {
    let (_dir, path) = temp_file("ok.csv", "0.5,1.5,M\n-2,3e-1,R\n");
    let data = load_csv(&path).unwrap();
    assert_eq!(data.features, ndarray::array![[0.5, 1.5], [-2.0, 0.3]]);
    assert_eq!(data.labels, vec!["M", "R"]);
}

#[test]
fn csv_wrong_column_count_reports_line_expected_and_found() {
    // Line 3 has 2 fields where lines 1-2 have 3.
    let (_dir, path) = temp_file("short.csv", "1,2,a\n3,4,b\n5,c\n");
    let err = load_csv(&path).unwrap_err();
    assert!(matches!(err, Error::Csv { line: 3, .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("line 3"), "{msg}");
    assert!(msg.contains("expected 3 fields"), "{msg}");
    assert!(msg.contains("found 2"), "{msg}");
    assert!(msg.contains("short.csv"), "{msg}");
}

#[test]
fn csv_non_numeric_value_reports_line_column_and_text() {
    // Line 2, column 2 holds "0.1x".
    let (_dir, path) = temp_file("text.csv", "1,2,a\n3,0.1x,b\n");
    let err = load_csv(&path).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Csv {
                line: 2,
                column: 2,
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("line 2, column 2"), "{msg}");
    assert!(msg.contains("\"0.1x\""), "{msg}");
}

#[test]
fn csv_nan_and_infinite_values_are_rejected() {
    for bad in ["NaN", "inf", "-infinity", "1e39"] {
        let text = format!("1,2,a\n3,{bad},b\n");
        let err = CsvLoader::new().load_reader(text.as_bytes()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Csv {
                    line: 2,
                    column: 2,
                    ..
                }
            ),
            "{bad}: {err:?}"
        );
        assert!(err.to_string().contains("non-finite"), "{bad}: {err}");
    }
}

#[test]
fn csv_empty_file_is_error() {
    let (_dir, path) = temp_file("empty.csv", "");
    let err = load_csv(&path).unwrap_err();
    assert!(matches!(err, Error::EmptyData(_)), "{err:?}");
    assert!(err.to_string().contains("empty.csv"), "{err}");
}

#[test]
fn csv_missing_file_is_io_error_with_path() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_csv(dir.path().join("absent.csv")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("absent.csv"), "{err}");
}

#[test]
fn csv_header_and_label_column_options() {
    // Header on line 1; label first; features in the remaining columns, in order.
    let text = "class,a,b\nM,1,2\nR,3,4\n";
    let data = CsvLoader::new()
        .has_header(true)
        .label_column(0)
        .load_reader(text.as_bytes())
        .unwrap();
    assert_eq!(data.features, ndarray::array![[1.0, 2.0], [3.0, 4.0]]);
    assert_eq!(data.labels, vec!["M", "R"]);
}

#[test]
fn csv_label_column_out_of_range_is_error() {
    let err = CsvLoader::new()
        .label_column(5)
        .load_reader("1,2,a\n".as_bytes())
        .unwrap_err();
    assert!(matches!(err, Error::InvalidParameter { .. }), "{err:?}");
    assert!(err.to_string().contains("3 columns"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Sonar file format
// ---------------------------------------------------------------------------------------------

#[test]
fn sonar_file_gives_x_y_and_labels_with_m_zero_r_one() {
    let text = sonar_row(0.25, "R") + &sonar_row(0.5, "M") + &sonar_row(1.0, "M");
    let (_dir, path) = temp_file("sonar.csv", &text);
    let data = sonar::load_file(&path).unwrap();
    assert_eq!(data.x.shape(), &[3, 60]);
    assert_eq!(data.y, ndarray::array![[1.0], [0.0], [0.0]]);
    assert_eq!(data.labels, vec![1, 0, 0]);
    assert_eq!(data.classes, vec!["M", "R"]);
    assert_eq!(data.class_counts(), vec![2, 1]);
    assert_eq!(data.path, path);
}

#[test]
fn sonar_unknown_label_reports_line() {
    // Line 2 is labelled "X": column 61.
    let text = sonar_row(0.1, "M") + &sonar_row(0.2, "X");
    let (_dir, path) = temp_file("sonar.csv", &text);
    let err = sonar::load_file(&path).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Csv {
                line: 2,
                column: 61,
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("\"X\""), "{msg}");
    assert!(msg.contains("M, R"), "{msg}");
}

#[test]
fn sonar_rows_must_have_60_features() {
    // 59 values and a label on every line: 60 columns instead of 61.
    let row = format!("{}M\n", "0.5,".repeat(59));
    let (_dir, path) = temp_file("sonar.csv", &(row.clone() + &row));
    let err = sonar::load_file(&path).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("expected 61 columns"), "{msg}");
    assert!(msg.contains("found 60"), "{msg}");
}

#[test]
fn sonar_wrong_column_count_on_a_later_line_reports_it() {
    let short = format!("{}R\n", "0.5,".repeat(59));
    let text = sonar_row(0.1, "M") + &sonar_row(0.1, "M") + &short;
    let (_dir, path) = temp_file("sonar.csv", &text);
    let err = sonar::load_file(&path).unwrap_err();
    assert!(matches!(err, Error::Csv { line: 3, .. }), "{err:?}");
    assert!(err.to_string().contains("expected 61 fields"), "{err}");
}

#[test]
fn sonar_empty_file_is_error() {
    let (_dir, path) = temp_file("sonar.csv", "");
    let err = sonar::load_file(&path).unwrap_err();
    assert!(matches!(err, Error::EmptyData(_)), "{err:?}");
}

#[test]
fn sonar_real_file_has_208_rows_111_m_and_97_r() {
    let Some(path) = real_sonar("sonar_real_file_has_208_rows_111_m_and_97_r") else {
        return;
    };
    let data = sonar::load(Some(&path)).unwrap();
    assert_eq!(data.x.shape(), &[208, 60]);
    assert_eq!(data.y.shape(), &[208, 1]);
    assert_eq!(data.class_counts(), vec![111, 97]);
    // M is 0.0 and R is 1.0, so y sums to the number of R rows.
    assert_eq!(data.y.sum(), 97.0);
    assert!(data.x.iter().all(|&v| (0.0..=1.0).contains(&v)));
    // First row of the file: 0.0200, 0.0371, ..., 0.0032, R.
    assert_eq!(data.x[[0, 0]], 0.02);
    assert_eq!(data.x[[0, 59]], 0.0032);
    assert_eq!(data.labels[0], 1);
    assert_eq!(data.path, path);
}

// ---------------------------------------------------------------------------------------------
// Where the file is looked for
// ---------------------------------------------------------------------------------------------

#[test]
fn locator_from_env_uses_explicit_path_and_standard_places() {
    let locator = Locator::from_env(Some(Path::new("/data/sonar.csv")));
    assert_eq!(locator.explicit, Some(PathBuf::from("/data/sonar.csv")));
    assert_eq!(locator.working_dir_file, PathBuf::from("sonar.csv"));
    if let Some(cache) = &locator.cache_file {
        assert!(cache.ends_with("ndnet/sonar.csv"), "{}", cache.display());
    }
}

#[test]
fn locator_prefers_explicit_then_env_then_working_dir_then_cache() {
    let dir = tempfile::tempdir().unwrap();
    let mut locator = offline_locator(dir.path());
    let explicit = dir.path().join("explicit.csv");
    let env = dir.path().join("env.csv");
    for path in [
        &explicit,
        &env,
        &locator.working_dir_file,
        locator.cache_file.as_ref().unwrap(),
    ] {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, "x").unwrap();
    }
    locator.explicit = Some(explicit.clone());
    locator.env_path = Some(env.clone());

    let found = locator.resolve().unwrap();
    assert_eq!((found.path, found.origin), (explicit, Origin::Explicit));
    locator.explicit = None;
    let found = locator.resolve().unwrap();
    assert_eq!((found.path, found.origin), (env, Origin::EnvVar));
    locator.env_path = None;
    let found = locator.resolve().unwrap();
    assert_eq!(
        (found.path, found.origin),
        (locator.working_dir_file.clone(), Origin::WorkingDir)
    );
    fs::remove_file(&locator.working_dir_file).unwrap();
    let found = locator.resolve().unwrap();
    assert_eq!(
        (Some(found.path), found.origin),
        (locator.cache_file.clone(), Origin::Cache)
    );
}

#[test]
fn locator_missing_explicit_path_is_error_without_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let mut locator = offline_locator(dir.path());
    // A working-directory copy exists, but the explicit path wins and is missing.
    fs::create_dir_all(locator.working_dir_file.parent().unwrap()).unwrap();
    fs::write(&locator.working_dir_file, "x").unwrap();
    locator.explicit = Some(dir.path().join("typo.csv"));
    let err = locator.resolve().unwrap_err();
    assert!(matches!(err, Error::DataUnavailable(_)), "{err:?}");
    assert!(err.to_string().contains("typo.csv"), "{err}");
}

#[test]
fn locator_missing_env_path_is_error_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let mut locator = offline_locator(dir.path());
    locator.env_path = Some(dir.path().join("nowhere.csv"));
    let msg = locator.resolve().unwrap_err().to_string();
    assert!(msg.contains("SONAR_CSV"), "{msg}");
    assert!(msg.contains("nowhere.csv"), "{msg}");
}

#[test]
fn locator_not_found_error_lists_every_place_and_remedy() {
    let dir = tempfile::tempdir().unwrap();
    let locator = offline_locator(dir.path());
    let err = locator.resolve().unwrap_err();
    assert!(matches!(err, Error::DataUnavailable(_)), "{err:?}");
    let msg = err.to_string();
    let cache = locator.cache_file.as_ref().unwrap().display().to_string();
    let cwd = locator.working_dir_file.display().to_string();
    for needle in [
        "--data PATH",
        "SONAR_CSV",
        cwd.as_str(),
        cache.as_str(),
        sonar::URL,
        "download: skipped",
    ] {
        assert!(msg.contains(needle), "missing {needle:?} in:\n{msg}");
    }
}

// ---------------------------------------------------------------------------------------------
// Checked download (local server only)
// ---------------------------------------------------------------------------------------------

#[cfg(feature = "download")]
mod download {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::thread::JoinHandle;
    use std::time::{Duration, Instant};

    use super::*;

    /// Names of the entries of `dir`.
    fn entries(dir: &Path) -> Vec<String> {
        match fs::read_dir(dir) {
            Ok(rd) => rd
                .map(|e| {
                    e.expect("dir entry")
                        .file_name()
                        .to_string_lossy()
                        .into_owned()
                })
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// One canned HTTP answer.
    struct Reply {
        status: &'static str,
        /// Value of Content-Length; the body's length unless simulating a cut connection.
        content_length: usize,
        body: Vec<u8>,
    }

    impl Reply {
        fn ok(body: Vec<u8>) -> Self {
            Reply {
                status: "200 OK",
                content_length: body.len(),
                body,
            }
        }

        fn status(status: &'static str) -> Self {
            let body = status.as_bytes().to_vec();
            Reply {
                status,
                content_length: body.len(),
                body,
            }
        }
    }

    /// Serves `replies` in order, one per connection, on 127.0.0.1, then stops; it also stops after
    /// 30 seconds whatever happened. Returns the base URL and the server thread, which yields the
    /// request lines it received.
    fn serve(replies: Vec<Reply>) -> (String, JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let handle = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut requests = Vec::new();
            for reply in replies {
                let mut stream = loop {
                    match listener.accept() {
                        Ok((stream, _)) => break stream,
                        Err(_) if Instant::now() < deadline => {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err(_) => return requests,
                    }
                };
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&request);
                requests.push(text.lines().next().unwrap_or_default().to_owned());
                let head = format!(
                    "HTTP/1.1 {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    reply.status, reply.content_length
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&reply.body);
                let _ = stream.flush();
            }
            requests
        });
        (url, handle)
    }

    #[test]
    fn download_of_real_copy_succeeds_and_matches_checksum() {
        let Some(real) = real_sonar("download_of_real_copy_succeeds_and_matches_checksum") else {
            return;
        };
        let bytes = fs::read(&real).unwrap();
        let (url, server) = serve(vec![Reply::ok(bytes.clone())]);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("cache").join("ndnet").join("sonar.csv");

        sonar::download_to(&format!("{url}/sonar.csv"), &dest).unwrap();

        assert_eq!(fs::read(&dest).unwrap(), bytes);
        assert_eq!(ndnet::datasets::sha256_hex(&bytes), sonar::SHA256);
        // Only the final file in the cache directory: the temporary file was renamed.
        assert_eq!(entries(dest.parent().unwrap()), vec!["sonar.csv"]);
        assert_eq!(server.join().unwrap(), vec!["GET /sonar.csv HTTP/1.1"]);
        let data = sonar::load_file(&dest).unwrap();
        assert_eq!(data.class_counts(), vec![111, 97]);
    }

    #[test]
    fn download_of_corrupt_copy_is_checksum_error_and_leaves_no_file() {
        let (url, server) = serve(vec![Reply::ok(sonar_row(0.5, "M").into_bytes())]);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("sonar.csv");

        let err = sonar::download_to(&format!("{url}/sonar.csv"), &dest).unwrap_err();

        match &err {
            Error::Checksum {
                expected, found, ..
            } => {
                assert_eq!(expected, sonar::SHA256);
                assert_ne!(found, sonar::SHA256);
            }
            other => panic!("expected a checksum error, got {other:?}"),
        }
        assert!(!dest.exists());
        assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
        server.join().unwrap();
    }

    #[test]
    fn download_http_404_is_clear_error_and_leaves_no_file() {
        let (url, server) = serve(vec![Reply::status("404 Not Found")]);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("sonar.csv");
        let target = format!("{url}/missing.csv");

        let err = sonar::download_to(&target, &dest).unwrap_err();

        assert!(matches!(err, Error::DataUnavailable(_)), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("404"), "{msg}");
        assert!(msg.contains(&target), "{msg}");
        assert!(!dest.exists());
        assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
        server.join().unwrap();
    }

    #[test]
    fn download_http_500_is_error_and_leaves_no_file() {
        let (url, server) = serve(vec![Reply::status("500 Internal Server Error")]);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("sonar.csv");

        let err = sonar::download_to(&format!("{url}/sonar.csv"), &dest).unwrap_err();

        assert!(err.to_string().contains("500"), "{err}");
        assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
        server.join().unwrap();
    }

    #[test]
    fn download_cut_short_is_error_and_leaves_no_file() {
        // The server announces 100000 bytes, sends 10 and closes the connection.
        let reply = Reply {
            status: "200 OK",
            content_length: 100_000,
            body: b"0.01,0.02,".to_vec(),
        };
        let (url, server) = serve(vec![reply]);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("sonar.csv");

        let err = sonar::download_to(&format!("{url}/sonar.csv"), &dest).unwrap_err();

        assert!(matches!(err, Error::DataUnavailable(_)), "{err:?}");
        assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
        server.join().unwrap();
    }

    #[test]
    fn download_failure_keeps_an_existing_file() {
        let (url, server) = serve(vec![Reply::status("404 Not Found")]);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("sonar.csv");
        fs::write(&dest, "previous").unwrap();

        assert!(sonar::download_to(&format!("{url}/sonar.csv"), &dest).is_err());

        assert_eq!(fs::read_to_string(&dest).unwrap(), "previous");
        assert_eq!(entries(dir.path()), vec!["sonar.csv"]);
        server.join().unwrap();
    }

    #[test]
    fn locator_downloads_into_cache_when_no_local_file() {
        let Some(real) = real_sonar("locator_downloads_into_cache_when_no_local_file") else {
            return;
        };
        let (url, server) = serve(vec![Reply::ok(fs::read(&real).unwrap())]);
        let dir = tempfile::tempdir().unwrap();
        let mut locator = offline_locator(dir.path());
        locator.url = format!("{url}/datasets/sonar.csv");
        locator.download = true;

        let found = locator.resolve().unwrap();

        assert_eq!(found.origin, Origin::Downloaded);
        assert_eq!(Some(&found.path), locator.cache_file.as_ref());
        server.join().unwrap();
        // Now cached: found again without any server.
        let again = locator.resolve().unwrap();
        assert_eq!(again.origin, Origin::Cache);
        assert_eq!(sonar::load_file(&again.path).unwrap().n_rows(), 208);
    }

    #[test]
    fn locator_failed_download_lists_places_and_the_http_error() {
        let (url, server) = serve(vec![Reply::status("404 Not Found")]);
        let dir = tempfile::tempdir().unwrap();
        let mut locator = offline_locator(dir.path());
        locator.url = format!("{url}/sonar.csv");
        locator.download = true;

        let err = locator.resolve().unwrap_err();

        let msg = err.to_string();
        assert!(matches!(err, Error::DataUnavailable(_)), "{err:?}");
        assert!(msg.contains("404"), "{msg}");
        assert!(msg.contains("--data PATH"), "{msg}");
        assert!(msg.contains("SONAR_CSV"), "{msg}");
        assert!(!locator.cache_file.as_ref().unwrap().exists());
        let cache_dir = locator.cache_file.as_ref().unwrap().parent().unwrap();
        assert!(entries(cache_dir).is_empty(), "{:?}", entries(cache_dir));
        server.join().unwrap();
    }
}
