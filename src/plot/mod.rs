//! SVG plots (feature `plot`): learning curves of a [`History`](crate::History), and grids of
//! line charts such as accuracy against dropout rate or a reliability diagram.
//!
//! - [`write_learning_curves_svg`] (and [`History::write_svg`](crate::History::write_svg)):
//!   loss and accuracy per epoch, training against validation, one column per run.
//! - [`DropoutPlot`]: [`Panel`]s of [`Line`]s in a grid, with an optional [`Reference`] line
//!   and band drawn in every panel. Search results of the sonar family
//!   ([`experiments::max_norm_panel`](crate::experiments::max_norm_panel),
//!   [`experiments::results_line`](crate::experiments::results_line)) and the reliability
//!   diagrams of [`metrics::calibration`](crate::metrics::calibration) are drawn with it.
//!
//! All plots share their chart primitives: one font (`sans-serif`, named by the SVG, so no font
//! files are needed), one palette, one error for a failed drawing
//! ([`Error::InvalidState`](crate::Error::InvalidState)), and atomic writes (a failed write
//! keeps the previous file).

mod dropout_plot;
mod learning_curves;
mod svg;

pub use self::dropout_plot::{DropoutPlot, Line, Panel, Reference};
pub use self::learning_curves::write_learning_curves_svg;
