//! Learning curves: a [`History`] as CSV, and (feature `plot`) as an SVG plot of loss and
//! accuracy per epoch, training against validation.
//!
//! The plot is the tutorial's suggested diagnostic: when the training loss keeps falling while
//! the validation loss turns up, the model over-fits; dropout should narrow that gap.
//!
//! ```no_run
//! # fn run(history: &ndnet::History, dropout: &ndnet::History) -> ndnet::Result<()> {
//! history.write_csv("history.csv")?;
//! # #[cfg(feature = "plot")]
//! ndnet::curves::write_learning_curves_svg(
//!     "curves.svg",
//!     "Sonar: baseline vs dropout",
//!     &[("Baseline", history), ("Hidden dropout", dropout)],
//! )?;
//! # Ok(())
//! # }
//! ```

use std::fmt::Write as _;
use std::path::Path;

use crate::error::Result;
use crate::model::History;

impl History {
    /// The history as CSV, as Keras's `CSVLogger` writes it: a header
    /// `epoch,loss,accuracy,val_loss,val_accuracy,learning_rate` and one row per epoch, epochs
    /// counted from 0; validation fields are empty without validation data.
    ///
    /// ```
    /// let h = ndnet::History {
    ///     loss: vec![0.5, 0.25],
    ///     accuracy: vec![0.75, 1.0],
    ///     learning_rate: vec![0.1, 0.1],
    ///     ..Default::default()
    /// };
    /// assert_eq!(
    ///     h.to_csv(),
    ///     "epoch,loss,accuracy,val_loss,val_accuracy,learning_rate\n0,0.5,0.75,,,0.1\n1,0.25,1,,,0.1\n"
    /// );
    /// ```
    pub fn to_csv(&self) -> String {
        let field = |v: &[f32], i: usize| v.get(i).map_or(String::new(), |x| x.to_string());
        let mut out = String::from("epoch,loss,accuracy,val_loss,val_accuracy,learning_rate\n");
        for i in 0..self.epochs() {
            // Writing to a String cannot fail.
            let _ = writeln!(
                out,
                "{i},{},{},{},{},{}",
                field(&self.loss, i),
                field(&self.accuracy, i),
                field(&self.val_loss, i),
                field(&self.val_accuracy, i),
                field(&self.learning_rate, i),
            );
        }
        out
    }

    /// Writes [`to_csv`](Self::to_csv) to `path`, atomically: the text goes to a temporary file
    /// beside `path` that replaces it once complete, so a failed write (a full disk) leaves
    /// the previous file as it was.
    pub fn write_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::atomic_file::write_atomic(path.as_ref(), self.to_csv().as_bytes())
    }

    /// Writes an SVG plot of this history to `path`: loss and accuracy per epoch, training
    /// against validation (see [`write_learning_curves_svg`]).
    #[cfg(feature = "plot")]
    pub fn write_svg(&self, path: impl AsRef<Path>, title: &str) -> Result<()> {
        write_learning_curves_svg(path, title, &[("", self)])
    }
}

#[cfg(feature = "plot")]
pub use plot::write_learning_curves_svg;

#[cfg(feature = "plot")]
mod plot {
    use std::path::Path;

    use plotters::prelude::*;

    use crate::error::{Error, Result};
    use crate::model::History;

    const TRAIN: RGBColor = RGBColor(31, 119, 180);
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
    /// No runs, a run without epochs, or a failure to write the file. The write is atomic (as
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
        let plot_error = |e: String| Error::io(path, std::io::Error::other(e));
        let mut svg = String::new();
        draw(&mut svg, title, runs).map_err(|e| plot_error(e.to_string()))?;
        crate::atomic_file::write_atomic(path, svg.as_bytes())
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
        svg: &mut String,
        title: &str,
        runs: &[(&str, &History)],
    ) -> std::result::Result<(), Box<dyn std::error::Error>> {
        let cols = runs.len() as u32;
        let size = (PANEL.0 * cols, PANEL.1 * 2 + TITLE_HEIGHT);
        let root = SVGBackend::with_string(svg, size).into_drawing_area();
        root.fill(&WHITE)?;
        let root = root.titled(title, ("sans-serif", 26).into_font().color(&BLACK))?;
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
                    .caption(caption, ("sans-serif", 20))
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
                    .label_style(("sans-serif", 13))
                    .axis_desc_style(("sans-serif", 15))
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
                    .label_font(("sans-serif", 15))
                    .draw()?;
            }
        }
        root.present()?;
        Ok(())
    }
}
