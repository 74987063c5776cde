//! The tutorial's baseline experiment end to end on the real sonar data.
//!
//! The data is found as a user's program finds it (`SONAR_CSV`, `./sonar.csv`, or the copy
//! embedded in the crate), so the tests run offline with no set-up.

use ndnet::datasets::sonar;
use ndnet::experiments::SonarExperiment;
use ndnet::selection::CrossValidation;

fn baseline_scores(threads: usize, seed: u64) -> Vec<f32> {
    let data = sonar::load(None).expect("the sonar data");
    let cv = CrossValidation::new(10, seed).threads(threads);
    cv.score(
        || SonarExperiment::Baseline.build(),
        &data.x,
        &data.y,
        &SonarExperiment::fit_options(),
    )
    .expect("cross-validation")
    .scores
}

#[test]
fn baseline_scores_above_80_percent_and_is_bitwise_reproducible_for_any_thread_count() {
    let one = baseline_scores(1, 7);
    let again = baseline_scores(1, 7);
    let two = baseline_scores(2, 7);
    assert_eq!(one.len(), 10);
    assert_eq!(one, again, "same seed, same thread count");
    assert_eq!(one, two, "same seed, 1 vs 2 threads");
    let mean = one.iter().sum::<f32>() / one.len() as f32;
    // Keras reports 86.04% for this experiment; a broken loss or optimizer lands far below 80%.
    assert!(
        mean > 0.80,
        "baseline mean accuracy {mean} with folds {one:?}"
    );
}

#[test]
fn a_different_seed_gives_different_folds_and_weights() {
    assert_ne!(baseline_scores(2, 1), baseline_scores(2, 2));
}

#[test]
fn the_sonar_data_has_the_expected_shape_and_classes() {
    let data = sonar::load(None).expect("the sonar data");
    assert_eq!(data.x.dim(), (208, 60));
    assert_eq!(data.y.dim(), (208, 1));
    // 111 mines (M = 0) and 97 rocks (R = 1).
    assert_eq!(data.y.sum(), 97.0);
}
