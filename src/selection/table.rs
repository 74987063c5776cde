//! Search results as CSV, with the candidates' hyper-parameters as [`Columns`].

use std::io::Write;
use std::path::Path;

use super::TuningResult;
use crate::error::{Error, Result};

/// A candidate's hyper-parameters as columns of the table [`write_csv`] writes.
pub trait Columns {
    /// The columns' names, in order.
    const NAMES: &'static [&'static str];

    /// This candidate's values, one per name, in the same order (empty for none).
    fn values(&self) -> Vec<String>;
}

/// Writes `results` as CSV to `path`, one row per candidate in the given order: see
/// [`write_csv_to`]. The write is atomic: the rows go to a temporary file beside `path` that
/// replaces it once complete, so on any error the previous file is kept as it was.
///
/// # Errors
///
/// [`Error::Io`] if the file cannot be written; as [`write_csv_to`].
pub fn write_csv<C: Columns>(results: &[TuningResult<C>], path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    crate::atomic_file::write_atomic_with(path, |out| {
        write_csv_to(results, out).map_err(|e| match e {
            Error::Io { source, .. } => Error::io(path, source),
            other => other,
        })
    })
}

/// Writes `results` as CSV, one row per candidate in the given order, with a header:
///
/// `rank, mean, std, repeat_std, diverged_folds`, the candidate's [`Columns::NAMES`]`,
/// repeat_1 … repeat_R` (repeat means)`, r1_f1 … rR_fK` (fold scores). `rank` is the 1-based
/// position in `results`; accuracies are fractions.
///
/// # Errors
///
/// [`Error::ShapeMismatch`] if the results do not all have the same repeats and folds;
/// [`Error::Io`] if writing fails, or if a candidate gives more or fewer values than names.
pub fn write_csv_to<C: Columns, W: Write>(results: &[TuningResult<C>], out: W) -> Result<()> {
    let shape = |r: &TuningResult<C>| r.scores.iter().map(Vec::len).collect::<Vec<_>>();
    let first = results.first().map(shape).unwrap_or_default();
    if let Some(r) = results.iter().find(|r| shape(r) != first) {
        return Err(Error::ShapeMismatch {
            what: format!("write_csv: folds per repeat of configuration {}", r.index),
            expected: first,
            found: shape(r),
        });
    }
    let mut w = std::io::BufWriter::new(out);
    let csv_err = |e: std::io::Error| Error::io("<csv>", e);
    let mut header: Vec<String> = ["rank", "mean", "std", "repeat_std", "diverged_folds"]
        .into_iter()
        .chain(C::NAMES.iter().copied())
        .map(String::from)
        .collect();
    header.extend((1..=first.len()).map(|r| format!("repeat_{r}")));
    for (r, &k) in first.iter().enumerate() {
        header.extend((1..=k).map(|f| format!("r{}_f{f}", r + 1)));
    }
    write_record(&mut w, &header).map_err(csv_err)?;
    for (rank, r) in results.iter().enumerate() {
        let mut row: Vec<String> = vec![
            (rank + 1).to_string(),
            r.mean.to_string(),
            r.std.to_string(),
            r.repeat_std().to_string(),
            r.diverged.to_string(),
        ];
        row.extend(r.config.values());
        row.extend(r.repeat_means.iter().map(f64::to_string));
        row.extend(r.all_scores().map(|s| s.to_string()));
        write_record(&mut w, &row).map_err(csv_err)?;
    }
    w.flush().map_err(|e| Error::io("<csv>", e))
}

/// Writes one CSV record (RFC 4180): fields separated by commas, a field quoted when it holds a
/// comma, a quote, CR or LF (a quote inside doubled), the record ended by `\n`.
fn write_record(w: &mut impl Write, fields: &[String]) -> std::io::Result<()> {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        if field.contains([',', '"', '\r', '\n']) {
            write!(w, "\"{}\"", field.replace('"', "\"\""))?;
        } else {
            w.write_all(field.as_bytes())?;
        }
    }
    w.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn fields_are_quoted_only_where_needed() {
        let fields: Vec<String> = ["plain", "", "a,b", "say \"hi\"", "two\nlines", "cr\r"]
            .map(String::from)
            .into();
        let mut out = Vec::new();
        super::write_record(&mut out, &fields).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "plain,,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\r\"\n"
        );
    }
}
