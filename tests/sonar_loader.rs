//! CSV loading errors, the Sonar loader, the file search and the checked download.
//!
//! The real Sonar file is the copy embedded in the crate (its SHA-256 is checked here against
//! an implementation of FIPS 180-4 in this file). Downloads go to a tiny HTTP server on
//! 127.0.0.1 started by the test; nothing here contacts the internet.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use ndnet::Error;
use ndnet::data::{CsvLoader, load_csv};
use ndnet::datasets::sonar::{self, Locator, Origin};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Writes `contents` to `name` in a fresh temporary directory (kept alive by the returned guard).
fn temp_file(name: &str, contents: &str) -> (common::TempDir, PathBuf) {
    let dir = common::tempdir().expect("temporary directory");
    let path = dir.path().join(name);
    fs::write(&path, contents).expect("write temporary file");
    (dir, path)
}

/// A valid Sonar row: 60 values then the label.
fn sonar_row(value: f32, label: &str) -> String {
    let values: Vec<String> = (0..60).map(|_| format!("{value:.4}")).collect();
    format!("{},{label}\n", values.join(","))
}

/// The real Sonar file: the embedded copy written to a temporary directory.
fn real_sonar() -> (common::TempDir, PathBuf) {
    temp_file("sonar.csv", sonar::EMBEDDED_CSV)
}

/// SHA-256 (FIPS 180-4), lower-case hex, written out here so the check of the embedded file
/// does not rest on the crate's own digest code.
fn sha256(message: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut data = message.to_vec();
    data.push(0x80);
    while data.len() % 64 != 56 {
        data.push(0);
    }
    data.extend_from_slice(&((message.len() as u64) * 8).to_be_bytes());
    for block in data.chunks(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

/// A locator whose working-directory file is inside `dir`.
fn offline_locator(dir: &Path) -> Locator {
    Locator {
        explicit: None,
        env_path: None,
        working_dir_file: dir.join("cwd").join("sonar.csv"),
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
    let dir = common::tempdir().unwrap();
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
fn sha256_of_the_fips_180_examples() {
    // FIPS 180-4 examples (one block, two blocks) and the empty message.
    assert_eq!(
        sha256(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        sha256(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        sha256(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
}

#[test]
fn embedded_copy_is_the_published_file() {
    assert_eq!(
        sha256(sonar::EMBEDDED_CSV.as_bytes()),
        "3079c09b5d2789a0f96aff82c28e5164fafe2495c5f8da96c6c256c1bd25763f"
    );
    assert_eq!(sonar::SHA256, sha256(sonar::EMBEDDED_CSV.as_bytes()));
    let data = sonar::embedded().unwrap();
    assert_eq!(data.path, PathBuf::from(sonar::EMBEDDED_NAME));
    assert_eq!(data.class_counts(), vec![111, 97]);
}

#[test]
fn sonar_real_file_has_208_rows_111_m_and_97_r() {
    let (_dir, path) = real_sonar();
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
    if let Some(cache) = sonar::cache_path() {
        assert!(cache.ends_with("ndnet/sonar.csv"), "{}", cache.display());
    }
}

#[test]
fn locator_prefers_explicit_then_env_then_working_dir_then_embedded_copy() {
    let dir = common::tempdir().unwrap();
    let mut locator = offline_locator(dir.path());
    let explicit = dir.path().join("explicit.csv");
    let env = dir.path().join("env.csv");
    for path in [&explicit, &env, &locator.working_dir_file] {
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
        (found.path, found.origin),
        (PathBuf::from(sonar::EMBEDDED_NAME), Origin::Embedded)
    );
}

#[test]
fn locator_loads_the_file_it_found_and_otherwise_the_embedded_copy() {
    let dir = common::tempdir().unwrap();
    let mut locator = offline_locator(dir.path());
    // Nothing on disk: the 208 embedded rows, offline, no environment variable needed.
    let data = locator.load().unwrap();
    assert_eq!(data.x.dim(), (208, 60));
    assert_eq!(data.class_counts(), vec![111, 97]);
    assert_eq!(data.path, PathBuf::from(sonar::EMBEDDED_NAME));
    // A two-row file in the working directory wins over the embedded copy.
    fs::create_dir_all(locator.working_dir_file.parent().unwrap()).unwrap();
    fs::write(
        &locator.working_dir_file,
        sonar_row(0.5, "M") + &sonar_row(0.25, "R"),
    )
    .unwrap();
    let data = locator.load().unwrap();
    assert_eq!(data.labels, vec![0, 1]);
    assert_eq!(data.path, locator.working_dir_file);
    // So does an explicit path.
    let (_d, explicit) = temp_file("mine.csv", &sonar_row(0.75, "R"));
    locator.explicit = Some(explicit.clone());
    let data = locator.load().unwrap();
    assert_eq!(data.labels, vec![1]);
    assert_eq!(data.x[[0, 0]], 0.75);
}

#[test]
fn locator_missing_explicit_path_is_error_without_fallback() {
    let dir = common::tempdir().unwrap();
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
    let dir = common::tempdir().unwrap();
    let mut locator = offline_locator(dir.path());
    locator.env_path = Some(dir.path().join("nowhere.csv"));
    let msg = locator.resolve().unwrap_err().to_string();
    assert!(msg.contains("SONAR_CSV"), "{msg}");
    assert!(msg.contains("nowhere.csv"), "{msg}");
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
        let (_real_dir, real) = real_sonar();
        let bytes = fs::read(&real).unwrap();
        let (url, server) = serve(vec![Reply::ok(bytes.clone())]);
        let dir = common::tempdir().unwrap();
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
        let dir = common::tempdir().unwrap();
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
        let dir = common::tempdir().unwrap();
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
        let dir = common::tempdir().unwrap();
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
        let dir = common::tempdir().unwrap();
        let dest = dir.path().join("sonar.csv");

        let err = sonar::download_to(&format!("{url}/sonar.csv"), &dest).unwrap_err();

        assert!(matches!(err, Error::DataUnavailable(_)), "{err:?}");
        assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
        server.join().unwrap();
    }

    #[test]
    fn download_failure_keeps_an_existing_file() {
        let (url, server) = serve(vec![Reply::status("404 Not Found")]);
        let dir = common::tempdir().unwrap();
        let dest = dir.path().join("sonar.csv");
        fs::write(&dest, "previous").unwrap();

        assert!(sonar::download_to(&format!("{url}/sonar.csv"), &dest).is_err());

        assert_eq!(fs::read_to_string(&dest).unwrap(), "previous");
        assert_eq!(entries(dir.path()), vec!["sonar.csv"]);
        server.join().unwrap();
    }

    #[test]
    fn crate_digest_agrees_with_the_test_digest() {
        for text in [&b""[..], b"abc", sonar::EMBEDDED_CSV.as_bytes()] {
            assert_eq!(ndnet::datasets::sha256_hex(text), sha256(text));
        }
    }
}
