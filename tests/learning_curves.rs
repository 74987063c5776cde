//! Learning curves: a History as CSV and (feature `plot`) as an SVG plot.

mod common;

use ndnet::History;

fn history(with_validation: bool) -> History {
    let mut h = History::default();
    for e in 0..5 {
        let e = e as f32;
        h.loss.push(0.7 - 0.1 * e);
        h.accuracy.push(0.5 + 0.1 * e);
        if with_validation {
            h.val_loss.push(0.7 - 0.05 * e + 0.02 * e * e);
            h.val_accuracy.push(0.5 + 0.05 * e);
        }
        h.learning_rate.push(0.1);
    }
    h
}

#[test]
fn the_csv_has_a_header_and_one_row_per_epoch_counted_from_zero() {
    let h = History {
        loss: vec![0.5, 0.25],
        accuracy: vec![0.75, 1.0],
        val_loss: vec![0.625, 0.5],
        val_accuracy: vec![0.5, 0.75],
        learning_rate: vec![0.1, 0.05],
    };
    assert_eq!(
        h.to_csv(),
        "epoch,loss,accuracy,val_loss,val_accuracy,learning_rate\n\
         0,0.5,0.75,0.625,0.5,0.1\n\
         1,0.25,1,0.5,0.75,0.05\n"
    );
}

#[test]
fn without_validation_the_validation_fields_are_empty() {
    let csv = history(false).to_csv();
    assert_eq!(csv.lines().count(), 6);
    assert_eq!(csv.lines().nth(1), Some("0,0.7,0.5,,,0.1"));
}

#[test]
fn write_csv_writes_the_csv_and_names_the_path_on_failure() {
    let dir = common::tempdir().unwrap();
    let path = dir.path().join("history.csv");
    let h = history(true);
    h.write_csv(&path).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), h.to_csv());
    let e = h
        .write_csv(dir.path().join("missing/history.csv"))
        .unwrap_err();
    assert!(e.to_string().contains("missing"), "{e}");
}

#[cfg(feature = "plot")]
mod plot {
    use super::history;
    use ndnet::History;
    use ndnet::plot::write_learning_curves_svg;

    #[test]
    fn two_runs_side_by_side_give_an_svg_with_titles_axes_and_legends() {
        let dir = super::common::tempdir().unwrap();
        let path = dir.path().join("curves.svg");
        let (a, b) = (history(true), history(true));
        write_learning_curves_svg(
            &path,
            "Baseline vs dropout",
            &[("Baseline", &a), ("Dropout", &b)],
        )
        .unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"));
        for text in [
            "Baseline vs dropout",
            "Baseline: loss",
            "Dropout: accuracy",
            "epoch",
            "training",
            "validation",
            // val_loss 0.7 - 0.05 e + 0.02 e² is lowest at e = 1 (0.67): epoch 2.
            "lowest val_loss (epoch 2)",
        ] {
            assert!(svg.contains(text), "missing {text:?}");
        }
    }

    #[test]
    fn a_single_history_plots_without_validation() {
        let dir = super::common::tempdir().unwrap();
        let path = dir.path().join("one.svg");
        history(false).write_svg(&path, "Training only").unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.contains("Training only") && svg.contains("training"));
        assert!(!svg.contains("validation"));
    }

    #[test]
    fn an_empty_history_or_no_run_is_an_error() {
        let dir = super::common::tempdir().unwrap();
        let path = dir.path().join("x.svg");
        assert!(History::default().write_svg(&path, "empty").is_err());
        assert!(write_learning_curves_svg(&path, "none", &[]).is_err());
        assert!(!path.exists());
    }
}
