//! Inference: `predict`, its probability and class forms and `evaluate` through `&self`, each
//! call on buffers of its own (so one model can serve several threads at once), and `forward` in
//! any mode on the model's inference buffers, allocation-free.

use ndarray::{Array2, ArrayView1, ArrayView2, AsArray, Ix2, s};

use super::step::{check_chain, forward_view, head, head_mut, layer_error, regularization_loss};
use super::{Evaluation, IntoTargets, LayerSlot, Sequential};
use crate::activation::Activation;
use crate::error::{Error, Result};
use crate::layers::Mode;
use crate::validate::check_finite;

/// Rows `predict` and `evaluate` run through the layers at a time. `evaluate` averages the loss
/// over these chunks, so its result depends on the chunk (by rounding), not on what ran before.
const CHUNK_ROWS: usize = 32;

/// Runs [`Layer::infer`](crate::layers::Layer::infer) through `layers` on `x` (at most as many
/// rows as `acts` has), writing each layer's output into its buffer in `acts`; returns the view
/// of the output.
fn infer_chunk<'a>(
    layers: &[LayerSlot],
    acts: &'a mut [Array2<f32>],
    x: ArrayView2<f32>,
) -> Result<ArrayView2<'a, f32>> {
    let rows = x.nrows();
    for (i, layer) in layers.iter().enumerate() {
        let (before, rest) = acts.split_at_mut(i);
        let input = match before.last() {
            Some(a) => head(a, rows),
            None => x,
        };
        layer
            .infer(input, head_mut(&mut rest[0], rows))
            .map_err(|e| layer_error(i, layer.kind(), e))?;
    }
    let last = acts.len() - 1;
    Ok(head(&acts[last], rows))
}

impl Sequential {
    /// Runs the layers on `x` in the given mode and returns a view of the output
    /// `(rows, outputs)`, which lives in the model's buffers until the next call. Unlike
    /// [`predict`](Self::predict) it allocates nothing once the buffers fit the batch, and it
    /// can sample ([`Mode::Train`], [`Mode::McDropout`]), which needs `&mut self`.
    pub fn forward<'a>(
        &mut self,
        x: impl AsArray<'a, f32, Ix2>,
        mode: Mode,
    ) -> Result<ArrayView2<'_, f32>> {
        let x = x.into();
        self.check_x("forward", x)?;
        let dims = (self.input_dim, self.output_dim());
        let out = forward_view(&mut self.layers, &mut self.infer, x, dims, mode)?;
        check_finite(|| OUTPUT_OVERFLOW.replace("{what}", "forward"), out)?;
        Ok(out)
    }

    /// Runs the layers in inference mode on `x`, [`CHUNK_ROWS`] rows at a time, on buffers
    /// allocated for the call, and hands `each` the first row of each chunk and its output.
    fn infer_chunks(
        &self,
        x: ArrayView2<f32>,
        mut each: impl FnMut(usize, ArrayView2<f32>) -> Result<()>,
    ) -> Result<()> {
        check_chain(&self.layers, self.input_dim, "forward")?;
        let chunk = CHUNK_ROWS.min(x.nrows()).max(1);
        let mut acts: Vec<Array2<f32>> = self
            .layers
            .iter()
            .map(|l| Array2::zeros((chunk, l.output_dim())))
            .collect();
        for start in (0..x.nrows()).step_by(chunk) {
            let end = (start + chunk).min(x.nrows());
            let out = infer_chunk(&self.layers, &mut acts, x.slice(s![start..end, ..]))?;
            each(start, out)?;
        }
        Ok(())
    }

    /// Loss and accuracy on `(x, y)` in inference mode (dropout off). The loss includes the
    /// layers' regularization penalties, as Keras's `evaluate`.
    pub fn evaluate<'a>(
        &self,
        x: impl AsArray<'a, f32, Ix2>,
        y: impl IntoTargets<'a>,
    ) -> Result<Evaluation> {
        let (x, y) = self.compiled_batch("evaluate", x, y)?;
        self.evaluate_unchecked(x, y, None)
    }

    pub(super) fn evaluate_unchecked(
        &self,
        x: ArrayView2<f32>,
        y: ArrayView2<f32>,
        w: Option<ArrayView1<f32>>,
    ) -> Result<Evaluation> {
        let metric = self.accuracy_metric();
        let Some(c) = self.compiled.as_ref() else {
            return Ok(Evaluation {
                loss: f32::NAN,
                accuracy: 0.0,
            });
        };
        let mut loss_sum = 0.0f64;
        let (mut correct, mut total) = (0, 0);
        self.infer_chunks(x, |start, out| {
            let end = start + out.nrows();
            let yc = y.slice(s![start..end, ..]);
            let wc = w.map(|w| w.slice_move(s![start..end]));
            loss_sum += c.loss.loss(out, yc, wc)? as f64 * (end - start) as f64;
            let (k, t) = metric.count(out, yc);
            correct += k;
            total += t;
            Ok(())
        })?;
        let penalty = regularization_loss(&self.layers) as f64;
        Ok(Evaluation {
            loss: (loss_sum / x.nrows().max(1) as f64 + penalty) as f32,
            accuracy: if total == 0 {
                0.0
            } else {
                correct as f32 / total as f32
            },
        })
    }

    /// The model's outputs for `x` in inference mode: probabilities for a sigmoid or softmax
    /// output, `(rows, outputs)`. An output that overflows `f32` (NaN or infinite) is a
    /// `NonFinite` error naming its row and column. Takes `&self`: a trained model can predict
    /// from several threads at once (`Sequential` is `Sync`), each call on its own buffers.
    pub fn predict<'a>(&self, x: impl AsArray<'a, f32, Ix2>) -> Result<Array2<f32>> {
        let x = x.into();
        self.check_x("predict", x)?;
        let mut out = Array2::zeros((x.nrows(), self.output_dim()));
        self.infer_chunks(x, |start, o| {
            out.slice_mut(s![start..start + o.nrows(), ..]).assign(&o);
            Ok(())
        })?;
        check_finite(|| OUTPUT_OVERFLOW.replace("{what}", "predict"), out.view())?;
        Ok(out)
    }

    /// Class probabilities for `x`, `(rows, classes)`, in inference mode.
    ///
    /// A single sigmoid output `p` gives two columns `[1 - p, p]` (the probabilities of class 0
    /// and class 1); a softmax output gives its rows as they are (each sums to 1); several sigmoid
    /// outputs (multi-label) give each label's probability. Any other output activation is an
    /// error: its outputs are not probabilities.
    ///
    /// ```
    /// use ndnet::prelude::*;
    /// use ndarray::array;
    /// let mut model = Sequential::new(2).with_seed(1);
    /// model.add(Dense::new(1).activation(Activation::Sigmoid))?;
    /// let p = model.predict_proba(&array![[0.5f32, -1.0]])?;
    /// assert_eq!(p.dim(), (1, 2));
    /// assert!((p.row(0).sum() - 1.0).abs() < 1e-6);
    /// # Ok::<(), ndnet::Error>(())
    /// ```
    pub fn predict_proba<'a>(&self, x: impl AsArray<'a, f32, Ix2>) -> Result<Array2<f32>> {
        let activation = self.layers.last().and_then(|l| l.output_activation());
        if !matches!(activation, Some(Activation::Sigmoid | Activation::Softmax)) {
            return Err(Error::InvalidState(format!(
                "predict_proba: the output layer must end with a sigmoid or softmax, found {}",
                activation.map_or("no activation", |a| a.name())
            )));
        }
        let p = self.predict(x)?;
        if p.ncols() != 1 || activation != Some(Activation::Sigmoid) {
            return Ok(p);
        }
        let mut two = Array2::zeros((p.nrows(), 2));
        for (mut row, &q) in two.outer_iter_mut().zip(p.iter()) {
            row[0] = 1.0 - q;
            row[1] = q;
        }
        Ok(two)
    }

    /// Predicted classes: `p > 0.5` for a single output, the arg-max otherwise.
    pub fn predict_classes<'a>(&self, x: impl AsArray<'a, f32, Ix2>) -> Result<Vec<usize>> {
        Ok(crate::metrics::class_labels(self.predict(x)?.view()))
    }
}

/// What a `NonFinite` error of `predict`/`forward` says about the model's output.
const OUTPUT_OVERFLOW: &str =
    "{what}: the model's output overflowed f32 (weights or inputs too large)";
