//! Learning curves: loss and accuracy per epoch of one or more [`History`]s, training against
//! validation, as SVG.

use std::path::Path;

use plotters::prelude::*;

use super::svg::{self, COLORS, Canvas, FONT, draw_error};
use crate::error::{Error, Result};
// The logs themselves, not the model: the model's modules use metrics, whose calibration curves
// are drawn by this module.
use crate::history::History;

const TRAIN: RGBColor = COLORS[0];
const VALIDATION: RGBColor = RGBColor(230, 110, 0);
const BEST: RGBColor = RGBColor(120, 120, 120);
const PANEL: (u32, u32) = (560, 360);
const TITLE_HEIGHT: u32 = 56;

/// Writes an SVG with one column of plots per run, side by side: loss per epoch on top,
/// accuracy below, training in blue and validation in orange, and a grey line at the epoch
/// with the lowest validation loss. All runs share the y-axis range of each row, so their
/// gaps between training and validation compare at a glance. Text is drawn as SVG text (no
/// fonts are needed to write the file).
///
/// # Errors
///
/// [`Error::EmptyData`] for no runs or a run without epochs; [`Error::InvalidState`] if drawing
/// fails; [`Error::Io`] if the file cannot be written. The write is atomic (as
/// [`History::write_csv`]): on failure the previous file is kept.
pub fn write_learning_curves_svg(
    path: impl AsRef<Path>,
    title: &str,
    runs: &[(&str, &History)],
) -> Result<()> {
    let path = path.as_ref();
    if runs.is_empty() || runs.iter().any(|(_, h)| h.epochs() == 0) {
        return Err(Error::EmptyData(
            "write_learning_curves_svg: every run needs at least one epoch".into(),
        ));
    }
    let size = (PANEL.0 * runs.len() as u32, PANEL.1 * 2 + TITLE_HEIGHT);
    let document = svg::render(size, |root| draw(root, title, runs).map_err(draw_error))?;
    svg::write(path, &document)
}

/// The y range of a row: from 0 (loss) or just below the lowest accuracy, to just above the
/// highest value of any run.
fn y_range(values: impl Iterator<Item = f32>, is_loss: bool) -> (f32, f32) {
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if is_loss {
        (0.0, (hi * 1.05).max(1e-3))
    } else {
        (((lo - 0.05) * 10.0).floor() / 10.0, 1.0_f32.max(hi))
    }
}

/// Training and validation values of the loss or the accuracy.
fn series(h: &History, loss: bool) -> (&[f32], &[f32]) {
    if loss {
        (&h.loss, &h.val_loss)
    } else {
        (&h.accuracy, &h.val_accuracy)
    }
}

fn draw(
    root: &Canvas<'_>,
    title: &str,
    runs: &[(&str, &History)],
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let root = root.titled(title, (FONT, 26).into_font().color(&BLACK))?;
    let panels = root.split_evenly((2, runs.len()));
    let epochs = runs.iter().map(|(_, h)| h.epochs()).max().unwrap_or(1);
    for (r, is_loss) in [true, false].into_iter().enumerate() {
        let metric = if is_loss { "loss" } else { "accuracy" };
        let (lo, hi) = y_range(
            runs.iter().flat_map(|(_, h)| {
                let (a, b) = series(h, is_loss);
                a.iter().chain(b).copied()
            }),
            is_loss,
        );
        for (c, (name, history)) in runs.iter().enumerate() {
            let caption = if name.is_empty() {
                metric.to_string()
            } else {
                format!("{name}: {metric}")
            };
            let mut chart = ChartBuilder::on(&panels[r * runs.len() + c])
                .caption(caption, (FONT, 20))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(56)
                .build_cartesian_2d(1f32..epochs.max(2) as f32, lo..hi)?;
            chart
                .configure_mesh()
                .x_desc("epoch")
                .y_desc(metric)
                .x_label_formatter(&|x| format!("{x:.0}"))
                .y_label_formatter(&|y| format!("{y:.1}"))
                .label_style((FONT, 13))
                .axis_desc_style((FONT, 15))
                .light_line_style(WHITE.mix(0.0))
                .bold_line_style(BLACK.mix(0.08))
                .draw()?;
            let (train, val) = series(history, is_loss);
            let points = |v: &[f32]| -> Vec<(f32, f32)> {
                v.iter()
                    .enumerate()
                    .map(|(i, &y)| ((i + 1) as f32, y.clamp(lo, hi)))
                    .collect()
            };
            chart
                .draw_series(LineSeries::new(points(train), TRAIN.stroke_width(2)))?
                .label("training")
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], TRAIN.stroke_width(2))
                });
            if !val.is_empty() {
                chart
                    .draw_series(LineSeries::new(points(val), VALIDATION.stroke_width(2)))?
                    .label("validation")
                    .legend(|(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], VALIDATION.stroke_width(2))
                    });
                let best = history
                    .val_loss
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| v.is_finite())
                    .min_by(|a, b| a.1.total_cmp(b.1))
                    .map(|(i, _)| i + 1);
                if let Some(best) = best {
                    chart
                        .draw_series(LineSeries::new(
                            vec![(best as f32, lo), (best as f32, hi)],
                            BEST.stroke_width(1),
                        ))?
                        .label(format!("lowest val_loss (epoch {best})"))
                        .legend(|(x, y)| {
                            PathElement::new(vec![(x, y), (x + 20, y)], BEST.stroke_width(1))
                        });
                }
            }
            chart
                .configure_series_labels()
                .position(if is_loss {
                    SeriesLabelPosition::UpperLeft
                } else {
                    SeriesLabelPosition::LowerRight
                })
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.3))
                .label_font((FONT, 15))
                .draw()?;
        }
    }
    Ok(())
}
