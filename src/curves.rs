//! Learning curves: a [`History`] as CSV, and (feature `plot`) as an SVG plot of loss and
//! accuracy per epoch, training against validation, drawn by `ndnet::plot` (re-exported here).
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
    ///
    /// # Errors
    ///
    /// As [`write_learning_curves_svg`].
    #[cfg(feature = "plot")]
    pub fn write_svg(&self, path: impl AsRef<Path>, title: &str) -> Result<()> {
        crate::plot::write_learning_curves_svg(path, title, &[("", self)])
    }
}

/// The learning curves' plot, from [`crate::plot`].
#[cfg(feature = "plot")]
pub use crate::plot::write_learning_curves_svg;
