//! `ndnet::metrics::calibration` against hand-computed values.

mod common;

use ndarray::{Array2, array};
use ndnet::Error;
use ndnet::metrics::calibration::{
    EPSILON, Reliability, accuracy_with_rejection, brier_score, entropy,
    expected_calibration_error, negative_log_likelihood,
};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[test]
fn negative_log_likelihood_by_hand() {
    let probs = array![[0.2f32, 0.5, 0.3], [0.1, 0.1, 0.8], [0.6, 0.3, 0.1]];
    // -(ln 0.5 + ln 0.8 + ln 0.1) / 3 = (0.693147 + 0.223144 + 2.302585) / 3
    let nll = negative_log_likelihood(probs.view(), &[1, 2, 2]).unwrap();
    assert!(close(nll, 1.072_959), "{nll}");
    // A zero probability for the true class costs -ln(1e-7), not infinity.
    let sure = array![[1.0f32, 0.0]];
    let nll = negative_log_likelihood(sure.view(), &[1]).unwrap();
    assert!(close(nll, -EPSILON.ln()));
    assert!(close(nll, 16.118_096));
}

#[test]
fn brier_score_by_hand() {
    let probs = array![[0.2f32, 0.5, 0.3], [0.1, 0.1, 0.8]];
    // Row 0, class 1: 0.04 + 0.25 + 0.09 = 0.38; row 1, class 0: 0.81 + 0.01 + 0.64 = 1.46.
    let b = brier_score(probs.view(), &[1, 0]).unwrap();
    assert!(close(b, 0.92), "{b}");
    // Binary with two columns: twice (p - y)². p = 0.8 for class 1, p = 0.3 for class 0:
    // 2 · (0.04 + 0.09) / 2 = 0.13.
    let two = array![[0.2f32, 0.8], [0.7, 0.3]];
    assert!(close(brier_score(two.view(), &[1, 0]).unwrap(), 0.13));
}

#[test]
fn reliability_bins_and_ece_by_hand() {
    // Confidences 0.95, 0.9, 0.65, 0.55, 0.35 (a three-class row) in 3 bins of width 1/3:
    // (0, 1/3] empty; (1/3, 2/3]: 0.65, 0.55, 0.35; (2/3, 1]: 0.95, 0.9.
    let probs = array![
        [0.95f32, 0.05, 0.0],
        [0.1, 0.9, 0.0],
        [0.65, 0.35, 0.0],
        [0.45, 0.55, 0.0],
        [0.35, 0.33, 0.32],
    ];
    let labels = [0, 0, 0, 1, 2];
    let r = Reliability::new(probs.view(), &labels, 3).unwrap();
    assert_eq!(r.rows, 5);
    let counts: Vec<usize> = r.bins.iter().map(|b| b.count).collect();
    assert_eq!(counts, vec![0, 3, 2]);
    assert!(r.bins[0].accuracy.is_nan() && r.bins[0].confidence.is_nan());
    // Middle bin: predictions 0 (right), 1 (right), 0 (wrong): accuracy 2/3, confidence 1.55 / 3.
    assert!(close(r.bins[1].accuracy, 2.0 / 3.0));
    assert!((r.bins[1].confidence - 0.516_666_7).abs() < 1e-6);
    // Top bin: predictions 0 (right), 1 (wrong): accuracy 1/2, confidence 0.925.
    assert!(close(r.bins[2].accuracy, 0.5));
    assert!((r.bins[2].confidence - 0.925).abs() < 1e-6);
    // ECE = 3/5 · |2/3 - 0.5166667| + 2/5 · |0.5 - 0.925| = 0.09 + 0.17 = 0.26.
    assert!((r.ece() - 0.26).abs() < 1e-6, "{}", r.ece());
    assert!((expected_calibration_error(probs.view(), &labels, 3).unwrap() - 0.26).abs() < 1e-6);
    // A confidence on a bin edge goes to the lower bin: 0.5 with 2 bins is in (0, 0.5].
    let edge = array![[0.5f32, 0.5]];
    let r = Reliability::new(edge.view(), &[0], 2).unwrap();
    assert_eq!(r.bins[0].count, 1);
}

#[test]
fn perfectly_calibrated_predictions_have_zero_ece() {
    // Ten rows at confidence 0.8, eight of them right.
    let probs = Array2::from_shape_fn((10, 2), |(_, c)| if c == 0 { 0.8f32 } else { 0.2 });
    let labels = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1];
    let ece = expected_calibration_error(probs.view(), &labels, 15).unwrap();
    assert!(ece < 1e-6, "{ece}");
}

#[test]
fn entropy_by_hand() {
    let h = entropy(array![[0.7f32, 0.2, 0.1], [0.25, 0.25, 0.5]].view()).unwrap();
    // -(0.7 ln 0.7 + 0.2 ln 0.2 + 0.1 ln 0.1) = 0.801819; 1.5 ln 2 = 1.039721.
    assert!((f64::from(h[0]) - 0.801_819).abs() < 1e-6);
    assert!((f64::from(h[1]) - 1.039_721).abs() < 1e-6);
}

#[test]
fn rejection_keeps_the_least_uncertain_rows() {
    // Predictions: 0 right, 1 wrong, 1 right, 0 right, 1 wrong.
    let probs = array![
        [0.9f32, 0.1],
        [0.3, 0.7],
        [0.2, 0.8],
        [0.6, 0.4],
        [0.4, 0.6]
    ];
    let labels = [0, 0, 1, 0, 0];
    let u = [0.1f32, 0.8, 0.3, 0.5, 0.8];
    assert!(close(
        accuracy_with_rejection(probs.view(), &labels, &u, 0.0).unwrap(),
        0.6
    ));
    // 10% of 5 rows rejects floor(0.5) = 0.
    assert!(close(
        accuracy_with_rejection(probs.view(), &labels, &u, 0.1).unwrap(),
        0.6
    ));
    // 20%: one row, the first of the tie at 0.8 (row 1, wrong): 3 of 4.
    assert!(close(
        accuracy_with_rejection(probs.view(), &labels, &u, 0.2).unwrap(),
        0.75
    ));
    // 40%: rows 1 and 4: all 3 right.
    assert!(close(
        accuracy_with_rejection(probs.view(), &labels, &u, 0.4).unwrap(),
        1.0
    ));
}

#[test]
fn bad_inputs_are_errors() {
    let probs = array![[0.9f32, 0.1], [0.3, 0.7]];
    assert!(matches!(
        brier_score(probs.view(), &[0]),
        Err(Error::RowCountMismatch { .. })
    ));
    assert!(matches!(
        negative_log_likelihood(probs.view(), &[0, 2]),
        Err(Error::InvalidParameter { .. })
    ));
    let negative = array![[1.2f32, -0.2]];
    assert!(matches!(
        brier_score(negative.view(), &[0]),
        Err(Error::InvalidParameter { .. })
    ));
    let nan = array![[f32::NAN, 0.5]];
    assert!(matches!(
        negative_log_likelihood(nan.view(), &[0]),
        Err(Error::NonFinite { .. })
    ));
    assert!(matches!(
        Reliability::new(probs.view(), &[0, 1], 0),
        Err(Error::InvalidParameter { .. })
    ));
    let empty = Array2::<f32>::zeros((0, 2));
    assert!(matches!(
        expected_calibration_error(empty.view(), &[], 15),
        Err(Error::EmptyData(_))
    ));
    assert!(matches!(
        accuracy_with_rejection(probs.view(), &[0, 1], &[0.1], 0.1),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        accuracy_with_rejection(probs.view(), &[0, 1], &[0.1, 0.2], 1.0),
        Err(Error::InvalidParameter { .. })
    ));
}

#[cfg(feature = "plot")]
#[test]
fn reliability_diagram_svg_is_written_atomically() {
    use ndnet::metrics::calibration::write_reliability_svg;
    let dir = common::tempdir().unwrap();
    let path = dir.path().join("reliability.svg");
    let probs = array![[0.9f32, 0.1], [0.3, 0.7], [0.6, 0.4]];
    let a = Reliability::new(probs.view(), &[0, 1, 1], 15).unwrap();
    write_reliability_svg(
        &path,
        "Reliability",
        &[("weight scaling", &a), ("MC T=50", &a)],
    )
    .unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("MC T=50") && svg.contains("ECE"));
    // Only the SVG is left in the directory: no temporary file.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    assert!(matches!(
        write_reliability_svg(&path, "Reliability", &[]),
        Err(Error::EmptyData(_))
    ));
}
