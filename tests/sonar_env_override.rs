//! `SONAR_CSV` still overrides the embedded copy. Alone in its test binary because it sets the
//! process environment, which no other thread reads meanwhile.

mod common;

use std::path::PathBuf;

use ndnet::datasets::sonar::{self, Origin};

#[test]
fn sonar_csv_variable_overrides_the_embedded_copy_and_an_explicit_path_overrides_it() {
    let dir = common::tempdir().unwrap();
    let row = |value: &str, label: &str| format!("{}{label}\n", format!("{value},").repeat(60));
    let env_file = dir.path().join("env.csv");
    std::fs::write(
        &env_file,
        row("0.5", "R") + &row("0.25", "M") + &row("1", "R"),
    )
    .unwrap();
    let explicit = dir.path().join("explicit.csv");
    std::fs::write(&explicit, row("0.75", "M")).unwrap();

    // SAFETY: this test is the only one in this binary, so no other thread reads or writes the
    // environment while it runs.
    unsafe { std::env::set_var(sonar::ENV_PATH, &env_file) };
    let found = sonar::locate(None).unwrap();
    assert_eq!(
        (found.path, found.origin),
        (env_file.clone(), Origin::EnvVar)
    );
    let data = sonar::load(None).unwrap();
    assert_eq!(data.labels, vec![1, 0, 1]);
    assert_eq!(data.x[[1, 59]], 0.25);
    let data = sonar::load(Some(&explicit)).unwrap();
    assert_eq!(data.labels, vec![0]);

    // A variable naming a missing file is an error, not a silent fall-back to the embedded copy.
    let missing: PathBuf = dir.path().join("missing.csv");
    // SAFETY: as above.
    unsafe { std::env::set_var(sonar::ENV_PATH, &missing) };
    let msg = sonar::load(None).unwrap_err().to_string();
    assert!(
        msg.contains("SONAR_CSV") && msg.contains("missing.csv"),
        "{msg}"
    );

    // Unset (or empty): the embedded copy, unless ./sonar.csv exists in the working directory.
    // SAFETY: as above.
    unsafe { std::env::set_var(sonar::ENV_PATH, "") };
    let data = sonar::load(None).unwrap();
    if !std::path::Path::new(sonar::FILE_NAME).is_file() {
        assert_eq!(data.path, PathBuf::from(sonar::EMBEDDED_NAME));
        assert_eq!(data.class_counts(), vec![111, 97]);
    }
}
