//! The sums a Monte-Carlo prediction keeps over its passes (outputs, their squares, each row's
//! entropy) and the statistics computed from them.

use ndarray::{Array1, Array2, ArrayView2};

use super::{McPrediction, OutputKind};

/// Owned sums over passes: of the outputs, of their squares, and of each row's entropy.
pub(super) struct Sums {
    buf: Vec<f64>,
    rows: usize,
    cols: usize,
}

impl Sums {
    pub(super) fn zeros(rows: usize, cols: usize) -> Self {
        Sums {
            buf: vec![0.0; rows * (2 * cols + 1)],
            rows,
            cols,
        }
    }

    pub(super) fn view_mut(&mut self) -> SumsViewMut<'_> {
        SumsView::split_mut(&mut self.buf, self.rows, self.cols)
    }
}

/// The three sums in a slice: `sum` and `sum_sq` row-major `(rows, cols)`, then `entropy`.
pub(super) struct SumsView<'a> {
    pub(super) sum: &'a [f64],
    pub(super) sum_sq: &'a [f64],
    pub(super) entropy: &'a [f64],
}

pub(super) struct SumsViewMut<'a> {
    pub(super) sum: &'a mut [f64],
    pub(super) sum_sq: &'a mut [f64],
    pub(super) entropy: &'a mut [f64],
    cols: usize,
}

impl SumsView<'_> {
    pub(super) fn split(buf: &[f64], rows: usize, cols: usize) -> SumsView<'_> {
        let (sum, rest) = buf.split_at(rows * cols);
        let (sum_sq, rest) = rest.split_at(rows * cols);
        SumsView {
            sum,
            sum_sq,
            entropy: &rest[..rows],
        }
    }

    pub(super) fn split_mut(buf: &mut [f64], rows: usize, cols: usize) -> SumsViewMut<'_> {
        let (sum, rest) = buf.split_at_mut(rows * cols);
        let (sum_sq, rest) = rest.split_at_mut(rows * cols);
        SumsViewMut {
            sum,
            sum_sq,
            entropy: &mut rest[..rows],
            cols,
        }
    }
}

/// `-Σ p ln p` over `probs` (terms with `p <= 0` count 0), in nats.
fn entropy_of(probs: impl Iterator<Item = f64>) -> f64 {
    -probs.filter(|&p| p > 0.0).map(|p| p * p.ln()).sum::<f64>()
}

/// The entropy of a row of outputs read as `output` says.
fn row_entropy(row: impl Iterator<Item = f64> + Clone, output: OutputKind) -> f64 {
    match output {
        OutputKind::Multiclass => entropy_of(row),
        OutputKind::Binary => row
            .map(|p| {
                let p = p.clamp(0.0, 1.0);
                entropy_of([p, 1.0 - p].into_iter())
            })
            .sum(),
        OutputKind::Other => 0.0,
    }
}

impl SumsViewMut<'_> {
    /// Adds one pass's output `(rows, cols)`.
    pub(super) fn add_pass(&mut self, out: ArrayView2<f32>, output: OutputKind) {
        let cols = self.cols;
        for (i, row) in out.outer_iter().enumerate() {
            let sum = &mut self.sum[i * cols..(i + 1) * cols];
            let sum_sq = &mut self.sum_sq[i * cols..(i + 1) * cols];
            for ((s, q), &y) in sum.iter_mut().zip(sum_sq.iter_mut()).zip(row.iter()) {
                let y = f64::from(y);
                *s += y;
                *q += y * y;
            }
            if output.is_classifier() {
                self.entropy[i] += row_entropy(row.iter().map(|&p| f64::from(p)), output);
            }
        }
    }

    /// The statistics of `samples` passes.
    pub(super) fn finish(self, samples: usize, output: OutputKind) -> McPrediction {
        let (cols, t) = (self.cols, samples as f64);
        let rows = self.entropy.len();
        let mean =
            Array2::from_shape_fn((rows, cols), |(i, j)| (self.sum[i * cols + j] / t) as f32);
        let std = Array2::from_shape_fn((rows, cols), |(i, j)| {
            let m = self.sum[i * cols + j] / t;
            (self.sum_sq[i * cols + j] / t - m * m).max(0.0).sqrt() as f32
        });
        let (entropy, mutual_information) = if output.is_classifier() {
            let mut h = Array1::zeros(rows);
            let mut mi = Array1::zeros(rows);
            for i in 0..rows {
                let means = self.sum[i * cols..(i + 1) * cols].iter().map(|s| s / t);
                let total = row_entropy(means, output);
                h[i] = total as f32;
                mi[i] = (total - self.entropy[i] / t).max(0.0) as f32;
            }
            (Some(h), Some(mi))
        } else {
            (None, None)
        };
        McPrediction {
            mean,
            std,
            entropy,
            mutual_information,
            output,
            samples,
        }
    }
}
