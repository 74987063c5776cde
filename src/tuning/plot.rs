//! SVG plots of search results: mean accuracy against dropout rate (feature `plot`).
//!
//! A [`DropoutPlot`] is a grid of [`Panel`]s sharing one y axis; each panel draws [`Line`]s of
//! `(dropout rate, mean accuracy in %)` points, and every panel can show a [`Reference`] (the
//! baseline) as a dashed line inside a shaded band (the noise between CV repeats). Points below
//! the y axis's range are drawn on the axis as crosses. The SVG names its fonts (`sans-serif`)
//! and needs no font files to be written.
//!
//! ```
//! use ndnet::tuning::plot::{DropoutPlot, Line, Panel, Reference};
//!
//! let line = Line::new("max-norm 3", vec![(0.0, 84.5), (0.2, 86.0), (0.4, 85.1)]);
//! let svg = DropoutPlot::new("Dropout on sonar")
//!     .panel(Panel::new("SGD(0.1, momentum 0.9)").line(line))
//!     .reference(Reference { label: "Baseline".into(), value: 85.5, band: 0.8 })
//!     .to_svg_string()?;
//! assert!(svg.starts_with("<svg"));
//! assert!(svg.contains("Baseline"));
//! # Ok::<(), ndnet::Error>(())
//! ```

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Config, TuningResult};
use crate::error::{Error, Result};

/// Colours of the lines of a panel, in order (they repeat after eight).
const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

const FONT: &str = "sans-serif";

/// One line of a panel: `(dropout rate, mean accuracy in %)` points, drawn in rate order.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Legend text.
    pub label: String,
    /// The points, sorted by rate.
    pub points: Vec<(f64, f64)>,
}

impl Line {
    /// A line through `points` (sorted by rate here).
    pub fn new(label: impl Into<String>, mut points: Vec<(f64, f64)>) -> Self {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        Line {
            label: label.into(),
            points,
        }
    }

    /// A line through the results that `rate` maps to a dropout rate (the others are left
    /// out), at their mean accuracy in percent. When several results map to the same rate, the
    /// best mean is drawn. Diverged results (NaN means) are left out.
    pub fn from_results(
        label: impl Into<String>,
        results: &[TuningResult],
        rate: impl Fn(&Config) -> Option<f32>,
    ) -> Self {
        let mut points: Vec<(f64, f64)> = Vec::new();
        for r in results.iter().filter(|r| !r.mean.is_nan()) {
            let Some(x) = rate(&r.config) else { continue };
            let (x, y) = (f64::from(x), r.mean * 100.0);
            match points.iter_mut().find(|p| p.0 == x) {
                Some(p) => p.1 = p.1.max(y),
                None => points.push((x, y)),
            }
        }
        Line::new(label, points)
    }
}

/// One chart of the grid.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Panel {
    /// Caption above the chart.
    pub title: String,
    /// The lines, in legend order.
    pub lines: Vec<Line>,
}

impl Panel {
    /// An empty panel.
    pub fn new(title: impl Into<String>) -> Self {
        Panel {
            title: title.into(),
            lines: Vec::new(),
        }
    }

    /// Adds a line.
    pub fn line(mut self, line: Line) -> Self {
        self.lines.push(line);
        self
    }

    /// One line per max-norm setting (`none` first, then ascending) through the results that
    /// `rate` selects, as [`Line::from_results`]; lines are labelled `max-norm none`,
    /// `max-norm 3`, ...
    pub fn by_max_norm(
        title: impl Into<String>,
        results: &[TuningResult],
        rate: impl Fn(&Config) -> Option<f32>,
    ) -> Self {
        let mut settings: Vec<Option<f32>> = Vec::new();
        for r in results {
            if rate(&r.config).is_some() && !settings.contains(&r.config.max_norm) {
                settings.push(r.config.max_norm);
            }
        }
        settings.sort_by(|a, b| match (a, b) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Less,
            (Some(_), None) => std::cmp::Ordering::Greater,
            (Some(a), Some(b)) => a.total_cmp(b),
        });
        let mut panel = Panel::new(title);
        for m in settings {
            let label = match m {
                Some(c) => format!("max-norm {c}"),
                None => "max-norm none".to_owned(),
            };
            let line =
                Line::from_results(
                    label,
                    results,
                    |c| {
                        if c.max_norm == m { rate(c) } else { None }
                    },
                );
            panel.lines.push(line);
        }
        panel
    }
}

/// A horizontal reference drawn in every panel: a dashed line at `value` (%) inside a shaded
/// band `value ± band`.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// Legend text.
    pub label: String,
    /// Accuracy in percent.
    pub value: f64,
    /// Half-width of the band, in percentage points (0: no band).
    pub band: f64,
}

/// Panels of accuracy against dropout rate, in a grid, written as SVG.
#[derive(Debug, Clone, PartialEq)]
pub struct DropoutPlot {
    /// Title above the grid.
    pub title: String,
    /// The panels, row by row.
    pub panels: Vec<Panel>,
    /// The baseline, drawn in every panel.
    pub reference: Option<Reference>,
    /// Panels per row (at least 1).
    pub columns: usize,
    /// Size of one panel in pixels.
    pub panel_size: (u32, u32),
    /// Range of the shared y axis in percent; `None` fits every point and the reference.
    pub y_range: Option<(f64, f64)>,
    /// Label of the x axis.
    pub x_label: String,
    /// Label of the y axis.
    pub y_label: String,
}

impl DropoutPlot {
    /// An empty plot: 3 panels per row of 520 × 400 pixels, y axis fitted to the data.
    pub fn new(title: impl Into<String>) -> Self {
        DropoutPlot {
            title: title.into(),
            panels: Vec::new(),
            reference: None,
            columns: 3,
            panel_size: (520, 400),
            y_range: None,
            x_label: "dropout rate".to_owned(),
            y_label: "mean CV accuracy (%)".to_owned(),
        }
    }

    /// Adds a panel.
    pub fn panel(mut self, panel: Panel) -> Self {
        self.panels.push(panel);
        self
    }

    /// Sets the reference line.
    pub fn reference(mut self, reference: Reference) -> Self {
        self.reference = Some(reference);
        self
    }

    /// Sets the number of panels per row.
    pub fn columns(mut self, columns: usize) -> Self {
        self.columns = columns;
        self
    }

    /// Fixes the y axis's range (percent).
    pub fn y_range(mut self, low: f64, high: f64) -> Self {
        self.y_range = Some((low, high));
        self
    }

    /// The shared y range: the given one, or every point and the reference band, padded.
    fn y_bounds(&self) -> (f64, f64) {
        if let Some(range) = self.y_range {
            return range;
        }
        let mut ys: Vec<f64> = self
            .panels
            .iter()
            .flat_map(|p| p.lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)))
            .collect();
        if let Some(r) = &self.reference {
            ys.extend([r.value - r.band, r.value + r.band]);
        }
        let low = ys.iter().copied().fold(f64::INFINITY, f64::min);
        let high = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !low.is_finite() || !high.is_finite() {
            return (0.0, 100.0);
        }
        ((low - 1.0).floor().max(0.0), (high + 1.0).ceil().min(100.0))
    }

    /// The x range: every rate of every line, at least `[0, 0.5]`.
    fn x_bounds(&self) -> (f64, f64) {
        let xs = self
            .panels
            .iter()
            .flat_map(|p| p.lines.iter().flat_map(|l| l.points.iter().map(|p| p.0)));
        let (low, high) = xs.fold((0.0f64, 0.5f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
        (low - 0.02, high + 0.02)
    }

    fn check(&self) -> Result<()> {
        if self.panels.is_empty() {
            return Err(Error::InvalidState("DropoutPlot: no panels to draw".into()));
        }
        if self.columns == 0 {
            return Err(Error::param(
                "DropoutPlot",
                "columns",
                0,
                "must be at least 1",
            ));
        }
        let (low, high) = self.y_bounds();
        if !(low.is_finite() && high.is_finite() && low < high) {
            return Err(Error::param(
                "DropoutPlot",
                "y_range",
                format!("({low}, {high})"),
                "must be finite with low < high",
            ));
        }
        Ok(())
    }

    /// The plot as an SVG document.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidState`] without panels or if drawing fails; [`Error::InvalidParameter`]
    /// for 0 columns or an empty y range.
    pub fn to_svg_string(&self) -> Result<String> {
        self.check()?;
        let rows = self.panels.len().div_ceil(self.columns);
        let columns = self.columns.min(self.panels.len());
        let title_height = 50;
        let size = (
            self.panel_size.0 * columns as u32,
            self.panel_size.1 * rows as u32 + title_height,
        );
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
            root.fill(&WHITE).map_err(draw_error)?;
            let body = root
                .titled(&self.title, (FONT, 22).into_font())
                .map_err(draw_error)?;
            for (area, panel) in body.split_evenly((rows, columns)).iter().zip(&self.panels) {
                self.draw_panel(area, panel)?;
            }
            root.present().map_err(draw_error)?;
        }
        Ok(svg)
    }

    /// Writes the plot to `path` as SVG.
    ///
    /// # Errors
    ///
    /// As [`to_svg_string`](Self::to_svg_string); [`Error::Io`] if the file cannot be written.
    pub fn write_svg(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let svg = self.to_svg_string()?;
        std::fs::write(path, svg).map_err(|e| Error::io(path, e))
    }

    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        panel: &Panel,
    ) -> Result<()> {
        let (x0, x1) = self.x_bounds();
        let (y0, y1) = self.y_bounds();
        let mut chart = ChartBuilder::on(area)
            .caption(&panel.title, (FONT, 16).into_font())
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .x_labels(7)
            .y_labels(10)
            .x_label_formatter(&|x| format!("{x:.1}"))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style((FONT, 13).into_font())
            .axis_desc_style((FONT, 14).into_font())
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()
            .map_err(draw_error)?;
        if let Some(r) = &self.reference {
            if r.band > 0.0 {
                let band = Rectangle::new(
                    [(x0, r.value - r.band), (x1, r.value + r.band)],
                    BLACK.mix(0.1).filled(),
                );
                chart
                    .draw_series(std::iter::once(band))
                    .map_err(draw_error)?
                    .label(format!("{} ± {:.2} (CV-repeat noise)", r.label, r.band))
                    .legend(|(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 20, y + 5)], BLACK.mix(0.1).filled())
                    });
            }
            let style = BLACK.stroke_width(2);
            chart
                .draw_series(DashedLineSeries::new(
                    [(x0, r.value), (x1, r.value)],
                    6,
                    4,
                    style,
                ))
                .map_err(draw_error)?
                .label(format!("{} {:.2}%", r.label, r.value))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
        }
        for (i, line) in panel.lines.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let inside: Vec<(f64, f64)> =
                line.points.iter().map(|&(x, y)| (x, y.max(y0))).collect();
            chart
                .draw_series(LineSeries::new(inside.clone(), color.stroke_width(2)))
                .map_err(draw_error)?
                .label(&line.label)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2))
                });
            let markers = line.points.iter().zip(&inside).map(|(&(_, y), &p)| {
                if y < y0 {
                    Cross::new(p, 5, color.stroke_width(2)).into_dyn()
                } else {
                    Circle::new(p, 3, color.filled()).into_dyn()
                }
            });
            chart.draw_series(markers).map_err(draw_error)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font((FONT, 12).into_font())
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .draw()
            .map_err(draw_error)?;
        Ok(())
    }
}

fn draw_error(e: impl std::fmt::Display) -> Error {
    Error::InvalidState(format!("drawing the plot failed: {e}"))
}
