//! Grids of line charts, made for mean accuracy against dropout rate.
//!
//! A [`DropoutPlot`] is a grid of [`Panel`]s, by default sharing one y axis; each panel draws
//! [`Line`]s of `(dropout rate, mean accuracy in %)` points with its legend below the chart, and
//! every panel can show a [`Reference`] (the baseline) as a dashed line inside a shaded band
//! (the noise between CV repeats), explained once under the title. Points below a panel's y
//! range are drawn on its axis as crosses. The SVG names its fonts (`sans-serif`) and needs no
//! font files to be written.
//!
//! ```
//! use ndnet::plot::{DropoutPlot, Line, Panel, Reference};
//!
//! let line = Line::new("max-norm 3", vec![(0.0, 84.5), (0.2, 86.0), (0.4, 85.1)]);
//! let svg = DropoutPlot::new("Dropout on sonar")
//!     .panel(Panel::new("SGD(0.1, momentum 0.9)").line(line))
//!     .reference(Reference {
//!         label: "Baseline".into(),
//!         value: 85.5,
//!         band: 0.8,
//!         band_label: "std of the CV repeat means".into(),
//!     })
//!     .to_svg_string()?;
//! assert!(svg.starts_with("<svg"));
//! assert!(svg.contains("Baseline"));
//! # Ok::<(), ndnet::Error>(())
//! ```

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::svg::{self, COLORS, FONT, draw_error};
use crate::error::{Error, Result};

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

    /// A line through the largest `y` at each `x` of `points` (sorted by `x` here); points
    /// whose `y` is NaN (a diverged training) are left out.
    ///
    /// ```
    /// use ndnet::plot::Line;
    /// let line = Line::best_per_x("best", [(0.2, 85.0), (0.0, 84.0), (0.2, 88.0), (0.4, f64::NAN)]);
    /// assert_eq!(line.points, vec![(0.0, 84.0), (0.2, 88.0)]);
    /// ```
    pub fn best_per_x(
        label: impl Into<String>,
        points: impl IntoIterator<Item = (f64, f64)>,
    ) -> Self {
        let mut best: Vec<(f64, f64)> = Vec::new();
        for (x, y) in points.into_iter().filter(|p| !p.1.is_nan()) {
            match best.iter_mut().find(|p| p.0 == x) {
                Some(p) => p.1 = p.1.max(y),
                None => best.push((x, y)),
            }
        }
        Line::new(label, best)
    }
}

/// One chart of the grid.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Panel {
    /// Caption above the chart.
    pub title: String,
    /// The lines, in legend order.
    pub lines: Vec<Line>,
    /// This panel's y range in percent, instead of the plot's shared one.
    pub y_range: Option<(f64, f64)>,
    /// This panel's x axis label, instead of the plot's.
    pub x_label: Option<String>,
}

impl Panel {
    /// An empty panel.
    pub fn new(title: impl Into<String>) -> Self {
        Panel {
            title: title.into(),
            lines: Vec::new(),
            y_range: None,
            x_label: None,
        }
    }

    /// Gives this panel its own x axis label (e.g. which layers the rate applies to).
    pub fn x_label(mut self, label: impl Into<String>) -> Self {
        self.x_label = Some(label.into());
        self
    }

    /// Gives this panel its own y range (percent), e.g. to show collapsed trainings that the
    /// shared range leaves below the axis.
    pub fn y_range(mut self, low: f64, high: f64) -> Self {
        self.y_range = Some((low, high));
        self
    }

    /// Adds a line.
    pub fn line(mut self, line: Line) -> Self {
        self.lines.push(line);
        self
    }
}

/// A horizontal reference drawn in every panel: a dashed line at `value` (%) inside a shaded
/// band `value ± band`, explained under the plot's title.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// What the line is (e.g. `baseline`).
    pub label: String,
    /// Accuracy in percent.
    pub value: f64,
    /// Half-width of the band, in percentage points (0: no band).
    pub band: f64,
    /// What the band means, for the legend (e.g. `std of the CV repeat means`).
    pub band_label: String,
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
    /// Size of one panel's chart in pixels (its legend comes below).
    pub panel_size: (u32, u32),
    /// Range of the shared y axis in percent; `None` fits every point and the reference.
    /// A panel's own range takes precedence.
    pub y_range: Option<(f64, f64)>,
    /// Label of the x axis.
    pub x_label: String,
    /// Label of the y axis.
    pub y_label: String,
}

impl DropoutPlot {
    /// An empty plot: 3 panels per row, charts of 520 × 380 pixels, y axis fitted to the data.
    pub fn new(title: impl Into<String>) -> Self {
        DropoutPlot {
            title: title.into(),
            panels: Vec::new(),
            reference: None,
            columns: 3,
            panel_size: (520, 380),
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
        let ranges = self.panels.iter().filter_map(|p| p.y_range);
        for (low, high) in std::iter::once(self.y_bounds()).chain(ranges) {
            if !(low.is_finite() && high.is_finite() && low < high) {
                return Err(Error::param(
                    "DropoutPlot",
                    "y_range",
                    format!("({low}, {high})"),
                    "must be finite with low < high",
                ));
            }
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
        let legend_height = self
            .panels
            .iter()
            .map(|p| legend_rows(p) as u32 * LEGEND_ROW + 12)
            .max()
            .unwrap_or(0);
        let (width, chart_height) = self.panel_size;
        let panel_height = chart_height + legend_height;
        let header = 64;
        let size = (width * columns as u32, panel_height * rows as u32 + header);
        svg::render(size, |root| {
            let (top, body) = root.split_vertically(header);
            self.draw_header(&top)?;
            for (area, panel) in body.split_evenly((rows, columns)).iter().zip(&self.panels) {
                let (chart, legend) = area.split_vertically(chart_height);
                self.draw_panel(&chart, panel)?;
                draw_legend(&legend, panel)?;
            }
            Ok(())
        })
    }

    /// Writes the plot to `path` as SVG, atomically: the file is replaced only once the new
    /// one is complete, so a failed write keeps the previous file.
    ///
    /// # Errors
    ///
    /// As [`to_svg_string`](Self::to_svg_string); [`Error::Io`] if the file cannot be written.
    pub fn write_svg(&self, path: impl AsRef<Path>) -> Result<()> {
        svg::write(path.as_ref(), &self.to_svg_string()?)
    }

    /// The title, and a line saying what the reference, its band and the crosses are.
    fn draw_header<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let (width, _) = area.dim_in_pixel();
        let centre = |style: TextStyle<'static>| style.pos(Pos::new(HPos::Center, VPos::Top));
        let title = centre((FONT, 22).into_font().into());
        area.draw(&Text::new(self.title.clone(), (width as i32 / 2, 8), title))
            .map_err(draw_error)?;
        let mut key = Vec::new();
        if let Some(r) = &self.reference {
            key.push(format!("dashed: {} {:.2}%", r.label, r.value));
            if r.band > 0.0 {
                key.push(format!(
                    "grey band: ± {:.2} points, {}",
                    r.band, r.band_label
                ));
            }
        }
        key.push("×: below the panel's y axis".to_owned());
        let small = centre((FONT, 14).into_font().color(&RGBColor(70, 70, 70)));
        area.draw(&Text::new(
            key.join("   ·   "),
            (width as i32 / 2, 38),
            small,
        ))
        .map_err(draw_error)?;
        Ok(())
    }

    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        panel: &Panel,
    ) -> Result<()> {
        let (x0, x1) = self.x_bounds();
        let (y0, y1) = panel.y_range.unwrap_or_else(|| self.y_bounds());
        let mut chart = ChartBuilder::on(area)
            .caption(&panel.title, (FONT, 16).into_font())
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .x_desc(panel.x_label.as_deref().unwrap_or(&self.x_label))
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
                let (low, high) = ((r.value - r.band).max(y0), (r.value + r.band).min(y1));
                if low < high {
                    let band = Rectangle::new([(x0, low), (x1, high)], BAND.filled());
                    chart
                        .draw_series(std::iter::once(band))
                        .map_err(draw_error)?;
                }
            }
            if (y0..=y1).contains(&r.value) {
                chart
                    .draw_series(DashedLineSeries::new(
                        [(x0, r.value), (x1, r.value)],
                        6,
                        4,
                        BLACK.stroke_width(2),
                    ))
                    .map_err(draw_error)?;
            }
        }
        for (i, line) in panel.lines.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let inside: Vec<(f64, f64)> = line
                .points
                .iter()
                .map(|&(x, y)| (x, y.clamp(y0, y1)))
                .collect();
            chart
                .draw_series(LineSeries::new(inside.clone(), color.stroke_width(2)))
                .map_err(draw_error)?;
            let markers = line.points.iter().zip(&inside).map(|(&(_, y), &p)| {
                if y < y0 {
                    Cross::new(p, 5, color.stroke_width(2)).into_dyn()
                } else {
                    Circle::new(p, 3, color.filled()).into_dyn()
                }
            });
            chart.draw_series(markers).map_err(draw_error)?;
        }
        Ok(())
    }
}

/// Height of one legend row in pixels.
const LEGEND_ROW: u32 = 17;
/// Colour of the reference's band.
const BAND: RGBAColor = RGBAColor(0, 0, 0, 0.1);

/// Legend entries per row: two when the labels are short enough, else one.
fn legend_columns(panel: &Panel) -> usize {
    let longest = panel.lines.iter().map(|l| l.label.chars().count()).max();
    if longest.unwrap_or(0) <= 30 { 2 } else { 1 }
}

fn legend_rows(panel: &Panel) -> usize {
    panel.lines.len().div_ceil(legend_columns(panel))
}

/// The panel's lines, below its chart: a coloured sample and the label.
fn draw_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, panel: &Panel) -> Result<()> {
    let columns = legend_columns(panel);
    let (width, _) = area.dim_in_pixel();
    let left = 70;
    let column_width = (width as i32 - left - 10) / columns as i32;
    let style: TextStyle = (FONT, 13).into_font().into();
    let style = style.pos(Pos::new(HPos::Left, VPos::Center));
    for (i, line) in panel.lines.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let x = left + (i % columns) as i32 * column_width;
        let y = 8 + (i / columns) as i32 * LEGEND_ROW as i32;
        area.draw(&PathElement::new(
            [(x, y), (x + 24, y)],
            color.stroke_width(2),
        ))
        .map_err(draw_error)?;
        area.draw(&Circle::new((x + 12, y), 3, color.filled()))
            .map_err(draw_error)?;
        area.draw(&Text::new(line.label.clone(), (x + 32, y), style.clone()))
            .map_err(draw_error)?;
    }
    Ok(())
}
