//! The chart primitives every plot shares: the font, the line colours, an SVG document drawn
//! into a string, the one mapping of drawing errors, and the atomic write.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};

/// The font family of every text; SVG names it, so no font files are needed to write the file.
pub(super) const FONT: &str = "sans-serif";

/// Colours of a chart's lines, in order (they repeat after eight).
pub(super) const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// The drawing area of a whole SVG document.
pub(super) type Canvas<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// An SVG document of `size` pixels on a white background, drawn by `draw`.
///
/// # Errors
///
/// Those of `draw`, and [`draw_error`]'s if the background or the document cannot be drawn.
pub(super) fn render(
    size: (u32, u32),
    draw: impl FnOnce(&Canvas<'_>) -> Result<()>,
) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        draw(&root)?;
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

/// Writes `svg` to `path` atomically: the text goes to a temporary file beside `path` that
/// replaces it once complete, so a failed write keeps the previous file.
///
/// # Errors
///
/// [`Error::Io`] if the file cannot be written.
pub(super) fn write(path: &Path, svg: &str) -> Result<()> {
    crate::atomic_file::write_atomic(path, svg.as_bytes())
}

/// The error of a failed drawing operation (an element outside its area, a layout that does
/// not fit): [`Error::InvalidState`] with plotters' message.
pub(super) fn draw_error(e: impl std::fmt::Display) -> Error {
    Error::InvalidState(format!("drawing the plot failed: {e}"))
}
