//! Training: [`FitOptions`], the targets `fit` accepts, and the epoch loop.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, AsArray, Axis, Ix2, s};
use rand::seq::SliceRandom;

use super::Sequential;
use super::step::{Batch, StepFailure};
use crate::error::{Error, Result};
use crate::history::{Control, EpochLogs, History};
use crate::metrics::Accuracy;
use crate::validate;

/// Targets accepted by `fit`, `evaluate` and `train_on_batch`: a 2-D array `(rows, outputs)`, or
/// a 1-D array of labels for a single-output model.
pub trait IntoTargets<'a> {
    /// The targets as `(rows, outputs)`.
    fn into_targets(self) -> ArrayView2<'a, f32>;
}

impl<'a> IntoTargets<'a> for ArrayView2<'a, f32> {
    fn into_targets(self) -> ArrayView2<'a, f32> {
        self
    }
}

impl<'a> IntoTargets<'a> for ArrayView1<'a, f32> {
    fn into_targets(self) -> ArrayView2<'a, f32> {
        self.insert_axis(Axis(1))
    }
}

impl<'a> IntoTargets<'a> for &'a Array2<f32> {
    fn into_targets(self) -> ArrayView2<'a, f32> {
        self.view()
    }
}

impl<'a> IntoTargets<'a> for &'a ndarray::Array1<f32> {
    fn into_targets(self) -> ArrayView2<'a, f32> {
        self.view().insert_axis(Axis(1))
    }
}

/// Options of [`Sequential::fit`]. Defaults as Keras: 1 epoch, batch 32, shuffled, no
/// validation, unweighted, silent here.
///
/// Callbacks are not options: pass them to
/// [`fit_with_callbacks`](Sequential::fit_with_callbacks), so `FitOptions` stays plain data that
/// `..Default::default()` completes.
///
/// ```
/// use ndnet::FitOptions;
/// let options = FitOptions { epochs: 300, batch_size: 16, validation_split: 0.2, ..Default::default() };
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct FitOptions<'a> {
    /// Passes over the data.
    pub epochs: usize,
    /// Samples per gradient update; the last batch of an epoch may be smaller.
    pub batch_size: usize,
    /// Shuffle the sample order at the start of every epoch.
    pub shuffle: bool,
    /// Data evaluated (in inference mode) at the end of every epoch: `(x, y)`. Takes precedence
    /// over `validation_split`, as in Keras.
    pub validation_data: Option<(ArrayView2<'a, f32>, ArrayView2<'a, f32>)>,
    /// Fraction in `[0, 1)` of the rows held out for validation: as Keras, the *last*
    /// `n - floor(n · (1 - validation_split))` rows, taken before any shuffling (shuffle the data
    /// first if its order means something). 0 holds nothing out.
    ///
    /// On data sorted by class this validates on one class only: the sonar file lists its 97
    /// `R` rows before its 111 `M` rows, so `validation_split: 0.33` holds out only `M` rows.
    /// Use [`train_test_split`](crate::data::train_test_split) (stratified) and
    /// `validation_data` instead. With `verbose`, `fit` warns on standard error when the
    /// held-out rows miss a class that the training rows have.
    pub validation_split: f64,
    /// Weight of each class in the training loss, indexed by class: the class of a row is its
    /// target truncated to an integer for a single-output model, the arg-max of its target row
    /// otherwise. Multiplies `sample_weight`. Not applied to validation data (as Keras).
    pub class_weight: Option<&'a [f32]>,
    /// Weight of each row in the loss (`Σ w_i l_i / rows` per batch, Keras's
    /// `SUM_OVER_BATCH_SIZE`); one finite, non-negative value per row of `x`. The rows held
    /// out by `validation_split` keep their weights for `val_loss`. Accuracies stay unweighted
    /// (Keras's `metrics`, not `weighted_metrics`).
    pub sample_weight: Option<ArrayView1<'a, f32>>,
    /// Print one line per epoch to stdout.
    pub verbose: bool,
}

impl Default for FitOptions<'_> {
    fn default() -> Self {
        FitOptions {
            epochs: 1,
            batch_size: 32,
            shuffle: true,
            validation_data: None,
            validation_split: 0.0,
            class_weight: None,
            sample_weight: None,
            verbose: false,
        }
    }
}

/// Inputs, targets and optional sample weights.
type Labeled<'a> = (
    ArrayView2<'a, f32>,
    ArrayView2<'a, f32>,
    Option<ArrayView1<'a, f32>>,
);

/// What `fit` trains on, once checked and split.
#[derive(Clone, Copy)]
struct TrainingData<'a> {
    x: ArrayView2<'a, f32>,
    y: ArrayView2<'a, f32>,
    /// Per-row training weights.
    weights: Option<ArrayView1<'a, f32>>,
    /// `(x, y, sample weights)` evaluated after each epoch.
    validation: Option<Labeled<'a>>,
    /// Rows per batch.
    batch: usize,
}

impl Sequential {
    /// Trains for `options.epochs` epochs and returns the per-epoch logs.
    ///
    /// Each epoch shuffles the sample order (when `options.shuffle`), walks it in batches of
    /// `options.batch_size` (the last batch may be smaller), and takes one optimizer step per
    /// batch on the batch's mean loss.
    ///
    /// # Shapes
    ///
    /// `x` is `(rows, input_dim)`; `y` is `(rows, output_dim)`, or `(rows,)` for a model with
    /// one output; `options.sample_weight` is `(rows,)`.
    ///
    /// # Errors
    ///
    /// Before training, as they are: [`Error::InvalidState`] before `compile` or without
    /// layers; [`Error::LayerInputMismatch`], [`Error::RowCountMismatch`] or
    /// [`Error::ShapeMismatch`] for shapes other than the above; [`Error::EmptyData`];
    /// [`Error::NonFinite`] for a NaN or infinity in `x` or `y` (naming its row and column);
    /// targets the loss rejects; [`Error::InvalidParameter`] for a zero `batch_size`, a
    /// `validation_split` outside `[0, 1)` or one that leaves a side empty, and a negative or
    /// non-finite sample or class weight.
    ///
    /// Once training has begun, wrapped in [`Error::Fit`] with the [`History`] of the completed
    /// epochs ([`Error::history`]; [`Error::root`] is the error itself): a step whose loss is not
    /// finite ([`Error::Diverged`]), whose gradients are not finite, or whose update would make
    /// a weight non-finite ([`Error::DivergedUpdate`]) is not taken, so the weights and the
    /// optimizer state stay bitwise as they were before it, and `fit` stops.
    pub fn fit<'a>(
        &mut self,
        x: impl AsArray<'a, f32, Ix2>,
        y: impl IntoTargets<'a>,
        options: &FitOptions<'_>,
    ) -> Result<History> {
        self.fit_with_callbacks(x, y, options, &mut [])
    }

    /// [`fit`](Self::fit) with callbacks: early stopping, checkpoints, learning-rate schedules
    /// or your own [`Callback`].
    ///
    /// Callbacks are called in order: `on_train_begin`, then for each epoch `on_epoch_begin`,
    /// `on_train_batch_begin` before every batch, and `on_epoch_end` with the epoch's
    /// [`EpochLogs`] (after the validation pass); training stops after an epoch where any
    /// callback returned [`Control::Stop`]; `on_train_end` runs last, for every callback, on
    /// every path once `on_train_begin` has been called: after a stop, a divergence or an error
    /// (of a callback too), so `EarlyStopping::restore_best_weights` restores its weights then
    /// as well. An error from a callback ends `fit` with that error (wrapped in [`Error::Fit`]
    /// with the completed epochs' [`History`]; when several fail, the first). A callback that
    /// adds a layer (uncompiling the model) or changes the layers' widths ends `fit` with an
    /// `InvalidState` error saying so. Callbacks may call `predict`, `evaluate` or `forward`:
    /// inference has its own buffers and never changes what is trained. The training step
    /// itself stays free of allocations; callbacks run between steps.
    ///
    /// ```
    /// use ndnet::prelude::*;
    /// use ndnet::callbacks::{EarlyStopping, Metric};
    /// use ndarray::array;
    ///
    /// let x = array![[0.0f32, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    /// let y = array![[0.0f32], [1.0], [1.0], [0.0]];
    /// let mut model = Sequential::new(2).with_seed(3);
    /// model.add(Dense::new(8).activation(Activation::Tanh))?;
    /// model.add(Dense::new(1).activation(Activation::Sigmoid))?;
    /// model.compile(BinaryCrossentropy, Sgd::new(0.5).momentum(0.9))?;
    /// let mut stop = EarlyStopping::new(Metric::Loss).patience(5).restore_best_weights(true);
    /// let options = FitOptions { epochs: 1000, batch_size: 4, ..Default::default() };
    /// let history = model.fit_with_callbacks(&x, &y, &options, &mut [&mut stop])?;
    /// assert!(history.epochs() <= 1000);
    /// # Ok::<(), ndnet::Error>(())
    /// ```
    pub fn fit_with_callbacks<'a>(
        &mut self,
        x: impl AsArray<'a, f32, Ix2>,
        y: impl IntoTargets<'a>,
        options: &FitOptions<'_>,
        callbacks: &mut [&mut dyn Callback],
    ) -> Result<History> {
        let (x, y) = self.compiled_batch("fit", x, y)?;
        if options.batch_size == 0 {
            return Err(Error::param("fit", "batch_size", 0, "must be at least 1"));
        }
        let split_at = split_point(x.nrows(), options.validation_split)?;
        let sample_weight = match options.sample_weight {
            Some(w) => Some(check_sample_weight(w, x.nrows())?),
            None => None,
        };
        // Keras: `validation_data` wins over `validation_split`.
        let split_at = if options.validation_data.is_some() {
            x.nrows()
        } else {
            split_at
        };
        let (x, vx_split) = x.split_at(Axis(0), split_at);
        let (y, vy_split) = y.split_at(Axis(0), split_at);
        let validation = match options.validation_data {
            Some((vx, vy)) => {
                self.check_xy("validation_data", vx, vy)?;
                Some((vx, vy, None))
            }
            None if vx_split.nrows() > 0 => Some((
                vx_split,
                vy_split,
                sample_weight.map(|w| w.slice_move(s![split_at..])),
            )),
            None => None,
        };
        if options.verbose && options.validation_data.is_none() && vy_split.nrows() > 0 {
            warn_if_validation_misses_a_class(y, vy_split);
        }
        let weights = training_weights(
            sample_weight.map(|w| w.slice_move(s![..split_at])),
            options.class_weight,
            y,
        )?;
        let n = x.nrows();
        let batch = options.batch_size.min(n);
        let (in_dim, out_dim) = (self.input_dim, self.output_dim());
        self.ws.ensure(batch, &self.layers, in_dim, out_dim);
        let mut history = History::default();
        let data = TrainingData {
            x,
            y,
            weights: weights.as_ref().map(|w| w.view()),
            validation,
            batch,
        };
        let trained = self.train_epochs(&data, options, callbacks, &mut history);
        // `on_train_end` runs on every path once training has begun, for every callback (so
        // `EarlyStopping` restores its best weights after an error too); the first error wins.
        let mut result = trained;
        for cb in callbacks.iter_mut() {
            let ended = cb.on_train_end(self);
            if result.is_ok() {
                result = ended;
            }
        }
        match result {
            Ok(()) => Ok(history),
            Err(source) => Err(Error::Fit {
                source: Box::new(source),
                history: Box::new(history),
            }),
        }
    }

    /// The epochs of [`fit_with_callbacks`](Self::fit_with_callbacks), from `on_train_begin`
    /// to the last `on_epoch_end`, appending each completed epoch to `history`.
    fn train_epochs(
        &mut self,
        data: &TrainingData<'_>,
        options: &FitOptions<'_>,
        callbacks: &mut [&mut dyn Callback],
        history: &mut History,
    ) -> Result<()> {
        let TrainingData {
            x,
            y,
            weights,
            validation,
            batch,
        } = *data;
        let n = x.nrows();
        let out_dim = self.output_dim();
        let shape = self.shape();
        let metric = self.accuracy_metric();
        let mut order: Vec<usize> = (0..n).collect();
        for cb in callbacks.iter_mut() {
            cb.on_train_begin(self)?;
        }
        self.check_unchanged(shape, 0, 0)?;
        for epoch in 0..options.epochs {
            for cb in callbacks.iter_mut() {
                cb.on_epoch_begin(epoch, self)?;
            }
            self.check_unchanged(shape, epoch + 1, 0)?;
            if options.shuffle {
                order.shuffle(&mut self.shuffle_rng);
            }
            let (mut loss_sum, mut correct) = (0.0f64, 0usize);
            for (b, idx) in order.chunks(batch).enumerate() {
                for cb in callbacks.iter_mut() {
                    cb.on_train_batch_begin(self)?;
                }
                self.check_unchanged(shape, epoch + 1, b + 1)?;
                // The batch is copied after the callbacks, so nothing they do reaches it.
                for (k, &i) in idx.iter().enumerate() {
                    self.ws.x.row_mut(k).assign(&x.row(i));
                    self.ws.y.row_mut(k).assign(&y.row(i));
                    if let Some(w) = &weights {
                        self.ws.w[k] = w[i];
                    }
                }
                let rows = idx.len();
                let weighted = weights.is_some();
                let (loss, c) = self
                    .step(Batch::Workspace { rows, weighted }, true)
                    .map_err(|f| f.into_error(&self.layers, epoch + 1, b + 1))?;
                loss_sum += loss as f64 * rows as f64;
                correct += c;
            }
            let total = match metric {
                Accuracy::Binary => n * out_dim,
                Accuracy::Categorical => n,
            };
            let logs = EpochLogs {
                epoch,
                loss: (loss_sum / n as f64) as f32,
                accuracy: correct as f32 / total as f32,
                val: validation
                    .map(|(vx, vy, vw)| self.evaluate_unchecked(vx, vy, vw))
                    .transpose()?,
                learning_rate: self.optimizer().map_or(f32::NAN, |o| o.learning_rate()),
            };
            history.push(&logs);
            if options.verbose {
                println!("{}", epoch_line(epoch + 1, options.epochs, history));
            }
            let mut stop = false;
            for cb in callbacks.iter_mut() {
                stop |= cb.on_epoch_end(epoch, &logs, self)? == Control::Stop;
            }
            if stop {
                break;
            }
        }
        Ok(())
    }

    /// The architecture `fit` checks callbacks leave alone: input width, layer count, output
    /// width.
    fn shape(&self) -> (usize, usize, usize) {
        (self.input_dim, self.layers.len(), self.output_dim())
    }

    /// `InvalidState` when a callback uncompiled the model or changed its architecture during
    /// `fit` (`epoch`/`batch` 1-based, 0 before the first).
    fn check_unchanged(
        &self,
        shape: (usize, usize, usize),
        epoch: usize,
        batch: usize,
    ) -> Result<()> {
        if self.compiled.is_none() {
            return Err(StepFailure::Uncompiled.into_error(&self.layers, epoch, batch));
        }
        if self.shape() != shape || !self.ws.fits(self.ws.rows, &self.layers, shape.0, shape.2) {
            return Err(Error::InvalidState(format!(
                "epoch {epoch}, batch {batch}: the model's layers changed during training (e.g. \
                 in a callback); change the model before or after fit"
            )));
        }
        Ok(())
    }
}

/// Prints [`validation_split_warning`] on standard error, if there is one.
fn warn_if_validation_misses_a_class(y: ArrayView2<f32>, vy: ArrayView2<f32>) {
    if let Some(warning) = validation_split_warning(y, vy) {
        eprintln!("{warning}");
    }
}

/// The warning `fit` prints (with `verbose`) when a class of the training targets `y` has no
/// row in the targets `vy` held out by `validation_split` (classes as
/// [`class_labels`](crate::metrics::class_labels)); `None` when every class is held out too.
/// O(rows · log classes).
fn validation_split_warning(y: ArrayView2<f32>, vy: ArrayView2<f32>) -> Option<String> {
    use std::collections::BTreeSet;
    let held: BTreeSet<usize> = crate::metrics::class_labels(vy).into_iter().collect();
    let missing: BTreeSet<usize> = crate::metrics::class_labels(y)
        .into_iter()
        .filter(|c| !held.contains(c))
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "warning: fit: the {} rows held out by validation_split (the last rows) have no row \
             of class {:?}, so validation does not score those classes. Shuffle first or use a \
             stratified ndnet::data::train_test_split with validation_data.",
            vy.nrows(),
            missing.into_iter().collect::<Vec<_>>()
        )
    })
}

/// Where Keras's `validation_split` cuts `n` rows: the first `floor(n · (1 - split))` train, the
/// rest validate. `n` (nothing held out) for a split of 0.
fn split_point(n: usize, split: f64) -> Result<usize> {
    if !(split.is_finite() && (0.0..1.0).contains(&split)) {
        return Err(Error::param(
            "fit",
            "validation_split",
            split,
            "must be in [0, 1)",
        ));
    }
    if split == 0.0 {
        return Ok(n);
    }
    let at = (n as f64 * (1.0 - split)).floor() as usize;
    if at == 0 || at >= n {
        return Err(Error::param(
            "fit",
            "validation_split",
            split,
            format!("{n} rows cannot be split into non-empty training and validation sets"),
        ));
    }
    Ok(at)
}

/// Checks that `w` has one finite, non-negative weight per row.
fn check_sample_weight(w: ArrayView1<'_, f32>, rows: usize) -> Result<ArrayView1<'_, f32>> {
    if w.len() != rows {
        return Err(Error::ShapeMismatch {
            what: "fit: sample_weight (one weight per row of x)".into(),
            expected: vec![rows],
            found: vec![w.len()],
        });
    }
    check_weights("sample_weight", w.iter())?;
    Ok(w)
}

/// `InvalidParameter` naming the first weight that is negative or not finite.
fn check_weights<'a>(name: &str, weights: impl Iterator<Item = &'a f32>) -> Result<()> {
    match weights
        .enumerate()
        .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
    {
        Some((i, &v)) => validate::non_negative("fit", &format!("{name}[{i}]"), v),
        None => Ok(()),
    }
}

/// The training rows' weights: `sample_weight · class_weight[class]`, or `None` when neither is
/// given. The class of a row is its target truncated to an integer for a single column (Keras
/// casts it), the arg-max of the row otherwise.
fn training_weights(
    sample_weight: Option<ArrayView1<f32>>,
    class_weight: Option<&[f32]>,
    y: ArrayView2<f32>,
) -> Result<Option<Array1<f32>>> {
    let Some(cw) = class_weight else {
        return Ok(sample_weight.map(|w| w.to_owned()));
    };
    check_weights("class_weight", cw.iter())?;
    let mut w = sample_weight.map_or_else(|| Array1::ones(y.nrows()), |w| w.to_owned());
    for (row, (target, w)) in y.outer_iter().zip(w.iter_mut()).enumerate() {
        let class = if target.len() == 1 {
            let t = target[0].trunc();
            (t >= 0.0).then_some(t as usize)
        } else {
            Some(crate::metrics::argmax(target.iter()))
        };
        let Some(&factor) = class.and_then(|c| cw.get(c)) else {
            return Err(Error::param(
                "fit",
                "class_weight",
                format!("{cw:?}"),
                format!("has no weight for the class of row {row} (target {target})"),
            ));
        };
        *w *= factor;
    }
    Ok(Some(w))
}

fn epoch_line(epoch: usize, epochs: usize, h: &History) -> String {
    let last = |v: &Vec<f32>| v.last().copied().unwrap_or(f32::NAN);
    let mut line = format!(
        "Epoch {epoch}/{epochs} - loss: {:.4} - accuracy: {:.4}",
        last(&h.loss),
        last(&h.accuracy)
    );
    if !h.val_loss.is_empty() {
        line += &format!(
            " - val_loss: {:.4} - val_accuracy: {:.4}",
            last(&h.val_loss),
            last(&h.val_accuracy)
        );
    }
    line
}

/// Code run by [`Sequential::fit_with_callbacks`] between epochs and batches.
///
/// Every method has a default that does nothing; each gets the model, so a callback can read
/// or replace weights, save the model or change the optimizer's learning rate. An error ends
/// `fit` with that error.
pub trait Callback {
    /// Before the first epoch.
    fn on_train_begin(&mut self, model: &mut Sequential) -> Result<()> {
        let _ = model;
        Ok(())
    }

    /// At the start of epoch `epoch` (from 0).
    fn on_epoch_begin(&mut self, epoch: usize, model: &mut Sequential) -> Result<()> {
        let _ = (epoch, model);
        Ok(())
    }

    /// Before every training batch. This runs inside the training loop: keep it cheap and
    /// free of allocations.
    fn on_train_batch_begin(&mut self, model: &mut Sequential) -> Result<()> {
        let _ = model;
        Ok(())
    }

    /// At the end of epoch `epoch`, after the validation pass, with the epoch's logs.
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &EpochLogs,
        model: &mut Sequential,
    ) -> Result<Control> {
        let _ = (epoch, logs, model);
        Ok(Control::Continue)
    }

    /// After the last epoch, whether training ran out of epochs, was stopped or failed (a
    /// divergence, an error of any callback): it runs on every path once `on_train_begin` has
    /// been called.
    fn on_train_end(&mut self, model: &mut Sequential) -> Result<()> {
        let _ = model;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::validation_split_warning;
    use ndarray::array;

    #[test]
    fn the_warning_names_the_classes_missing_from_the_held_out_rows() {
        // Sorted by class, as the sonar file: the last rows are all class 1.
        let y = array![[0.0f32], [0.0], [1.0]];
        let held = array![[1.0f32], [1.0]];
        let warning = validation_split_warning(y.view(), held.view()).unwrap();
        assert!(warning.contains("the 2 rows held out"), "{warning}");
        assert!(warning.contains("of class [0]"), "{warning}");
        let both = array![[1.0f32], [0.0]];
        assert_eq!(validation_split_warning(y.view(), both.view()), None);
        // One-hot targets: classes 0 and 2 trained, only 2 held out.
        let y3 = array![[1.0f32, 0.0, 0.0], [0.0, 0.0, 1.0]];
        let held3 = array![[0.0f32, 0.0, 1.0]];
        let warning = validation_split_warning(y3.view(), held3.view()).unwrap();
        assert!(warning.contains("of class [0]"), "{warning}");
    }
}
