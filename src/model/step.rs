//! The training step: the model's buffers ([`Workspace`]), the forward and backward passes
//! over the layers, and the optimizer's updates, with the checks that undo a step gone
//! non-finite. `Sequential::step` reads top to bottom: forward, loss gradient, backward, check,
//! update, check.

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, AsArray, Ix2, s};

use super::{IntoTargets, LayerSlot, Sequential};
use crate::error::{Error, Result};
use crate::kernels::elementwise::copy_into;
use crate::layers::{GradWrt, Mode};
use crate::losses::Loss;
use crate::optimizers::{MAX_ITERATIONS, Optimizer, OptimizerState};
use crate::validate::all_finite;

#[derive(Debug, Clone)]
pub(super) struct Compiled {
    pub(super) loss: Box<dyn Loss>,
    pub(super) optimizer: Box<dyn Optimizer>,
}

/// Buffers the model owns and reuses: allocated for the largest batch seen, then only sliced.
/// The model has two: one for the training step and one for [`Sequential::forward`], so a
/// callback's `forward` between steps cannot touch the step's batch (`predict` and `evaluate`
/// take `&self` and use buffers of their own per call).
#[derive(Debug, Clone, Default)]
pub(super) struct Workspace {
    pub(super) rows: usize,
    /// Output of each layer.
    pub(super) acts: Vec<Array2<f32>>,
    /// Gradient w.r.t. the output of each layer.
    pub(super) grads: Vec<Array2<f32>>,
    /// A shuffled batch of inputs and targets.
    pub(super) x: Array2<f32>,
    pub(super) y: Array2<f32>,
    /// The batch's sample weights.
    pub(super) w: Array1<f32>,
    /// The parameters before the last update (training only), to undo a non-finite one.
    pub(super) params: Vec<Array2<f32>>,
    /// The optimizer state before the last update (training only).
    pub(super) opt_state: OptimizerState,
}

impl Workspace {
    /// Whether the buffers hold `rows` rows for these layers.
    pub(super) fn fits(
        &self,
        rows: usize,
        layers: &[LayerSlot],
        in_dim: usize,
        out_dim: usize,
    ) -> bool {
        self.rows >= rows
            && self.acts.len() == layers.len()
            && self.x.ncols() == in_dim
            && self.y.ncols() == out_dim
            && layers
                .iter()
                .zip(&self.acts)
                .all(|(l, a)| a.ncols() == l.output_dim())
    }

    pub(super) fn ensure(
        &mut self,
        rows: usize,
        layers: &[LayerSlot],
        in_dim: usize,
        out_dim: usize,
    ) {
        if self.fits(rows, layers, in_dim, out_dim) {
            return;
        }
        let rows = rows.max(self.rows);
        self.rows = rows;
        self.acts = layers
            .iter()
            .map(|l| Array2::zeros((rows, l.output_dim())))
            .collect();
        self.grads = self.acts.clone();
        self.x = Array2::zeros((rows, in_dim));
        self.y = Array2::zeros((rows, out_dim));
        self.w = Array1::zeros(rows);
    }
}

/// The first `rows` rows of a buffer (a plain view when that is all of it: slicing costs more
/// than the small matrix products of a sonar-sized network can spare).
#[inline]
pub(super) fn head(a: &Array2<f32>, rows: usize) -> ArrayView2<'_, f32> {
    if rows == a.nrows() {
        a.view()
    } else {
        a.slice(s![..rows, ..])
    }
}

/// Mutable [`head`].
#[inline]
pub(super) fn head_mut(a: &mut Array2<f32>, rows: usize) -> ArrayViewMut2<'_, f32> {
    if rows == a.nrows() {
        a.view_mut()
    } else {
        a.slice_mut(s![..rows, ..])
    }
}

/// Where a training step finds its batch.
pub(super) enum Batch<'a> {
    /// Arrays handed in by the caller.
    Given(ArrayView2<'a, f32>, ArrayView2<'a, f32>),
    /// The first `rows` rows of the workspace's `x` and `y` (and `w` when `weighted`).
    Workspace { rows: usize, weighted: bool },
}

/// Checks that the layers' widths chain: layer 0 takes `in_dim`, each next one the width the
/// one before it outputs. The model's buffers are shaped from these widths, so a layer replaced
/// through [`Sequential::layers_mut`] by one built for other widths (a slot of another model)
/// is an error here, before any pass. O(layers).
pub(super) fn check_chain(layers: &[LayerSlot], in_dim: usize, what: &str) -> Result<()> {
    let mut width = in_dim;
    for (index, layer) in layers.iter().enumerate() {
        if layer.input_dim() != width {
            return Err(Error::LayerInputMismatch {
                what: format!("{what} (the layers' widths do not chain)"),
                index,
                name: layer.kind().to_string(),
                expected: layer.input_dim(),
                found: width,
            });
        }
        width = layer.output_dim();
    }
    Ok(())
}

/// `e`, reported as raised by layer `index` of type `kind`.
pub(super) fn layer_error(index: usize, kind: &str, e: Error) -> Error {
    Error::Layer {
        index,
        kind: kind.to_string(),
        source: Box::new(e),
    }
}

/// Runs the layers on `x` (rows <= workspace rows); the output is `acts.last()[..rows]`.
fn forward(
    layers: &mut [LayerSlot],
    acts: &mut [Array2<f32>],
    x: ArrayView2<f32>,
    mode: Mode,
) -> Result<()> {
    let rows = x.nrows();
    for i in 0..layers.len() {
        let (before, rest) = acts.split_at_mut(i);
        let input = if i == 0 {
            x
        } else {
            head(&before[i - 1], rows)
        };
        layers[i]
            .forward(input, head_mut(&mut rest[0], rows), mode)
            .map_err(|e| layer_error(i, layers[i].kind(), e))?;
    }
    Ok(())
}

/// Checks the widths, grows the buffers if needed, runs the layers and returns a view of the
/// output buffer.
pub(super) fn forward_view<'w>(
    layers: &mut [LayerSlot],
    ws: &'w mut Workspace,
    x: ArrayView2<f32>,
    (in_dim, out_dim): (usize, usize),
    mode: Mode,
) -> Result<ArrayView2<'w, f32>> {
    check_chain(layers, in_dim, "forward")?;
    let rows = x.nrows();
    ws.ensure(rows, layers, in_dim, out_dim);
    forward(layers, &mut ws.acts, x, mode)?;
    let last = ws.acts.len() - 1;
    Ok(head(&ws.acts[last], rows))
}

/// Back-propagates `grads.last()[..rows]`, the gradient w.r.t. `last` of the output layer,
/// through the layers; each overwrites its parameter gradients.
fn backward(
    layers: &mut [LayerSlot],
    acts: &[Array2<f32>],
    grads: &mut [Array2<f32>],
    x: ArrayView2<f32>,
    last: GradWrt,
) -> Result<()> {
    let rows = x.nrows();
    for i in (0..layers.len()).rev() {
        let input = if i == 0 { x } else { head(&acts[i - 1], rows) };
        let output = head(&acts[i], rows);
        let (before, rest) = grads.split_at_mut(i);
        let grad_input = before.last_mut().map(|g| head_mut(g, rows));
        let wrt = if i + 1 == layers.len() {
            last
        } else {
            GradWrt::Output
        };
        layers[i]
            .backward(input, output, head_mut(&mut rest[0], rows), grad_input, wrt)
            .map_err(|e| layer_error(i, layers[i].kind(), e))?;
    }
    Ok(())
}

/// Why a training step was not taken (or was undone).
pub(super) enum StepFailure {
    /// The model is not compiled (e.g. a callback added a layer).
    Uncompiled,
    /// A shape or parameter check failed (e.g. a layer replaced through `layers_mut`).
    Invalid(Error),
    /// The optimizer has done [`MAX_ITERATIONS`] updates.
    Exhausted,
    /// The loss was not finite.
    Loss(f32),
    /// A parameter's gradient (`gradient`) or updated value was not finite.
    Tensor {
        /// Layer index and parameter name.
        layer: usize,
        name: &'static str,
        gradient: bool,
    },
}

impl StepFailure {
    /// The error `fit` or `train_on_batch` reports.
    pub(super) fn into_error(self, layers: &[LayerSlot], epoch: usize, batch: usize) -> Error {
        match self {
            StepFailure::Invalid(e) => e,
            StepFailure::Uncompiled => Error::InvalidState(format!(
                "epoch {epoch}, batch {batch}: the model is no longer compiled (a layer was \
                 added during training, e.g. by a callback); change the model before or after \
                 fit and compile it again"
            )),
            StepFailure::Exhausted => Error::InvalidState(format!(
                "the optimizer has done {MAX_ITERATIONS} updates, the most it can continue from; \
                 compile the model again to reset it"
            )),
            StepFailure::Loss(loss) => Error::Diverged { epoch, batch, loss },
            StepFailure::Tensor {
                layer,
                name,
                gradient,
            } => Error::DivergedUpdate {
                epoch,
                batch,
                tensor: format!("{}/{name}", layers.get(layer).map_or("?", |l| l.name())),
                gradient,
            },
        }
    }
}

/// Checks every parameter gradient is finite and copies the parameters into `saved` (reusing
/// its buffers). Returns the first parameter with a non-finite gradient.
fn check_grads_and_save(
    layers: &mut [LayerSlot],
    saved: &mut Vec<Array2<f32>>,
) -> Option<(usize, &'static str)> {
    let mut slot = 0;
    let mut bad = None;
    for (i, layer) in layers.iter_mut().enumerate() {
        layer.visit_params(&mut |p| {
            if bad.is_none() && !all_finite(p.grad) {
                bad = Some((i, p.name));
            }
            if saved.len() <= slot {
                saved.push(Array2::zeros((0, 0)));
            }
            if saved[slot].dim() != p.value.dim() {
                saved[slot] = Array2::zeros(p.value.dim());
            }
            copy_into(saved[slot].view_mut(), p.value.view());
            slot += 1;
        });
    }
    bad
}

/// The first parameter whose value is not finite.
pub(super) fn first_non_finite(layers: &mut [LayerSlot]) -> Option<(usize, &'static str)> {
    let mut bad = None;
    for (i, layer) in layers.iter_mut().enumerate() {
        layer.visit_params(&mut |p| {
            if bad.is_none() && !all_finite(p.value.view()) {
                bad = Some((i, p.name));
            }
        });
    }
    bad
}

/// Puts back the parameters [`check_grads_and_save`] saved.
fn restore_params(layers: &mut [LayerSlot], saved: &[Array2<f32>]) {
    let mut slot = 0;
    for layer in layers.iter_mut() {
        layer.visit_params(&mut |mut p| {
            if let Some(s) = saved.get(slot) {
                copy_into(p.value.view_mut(), s.view());
            }
            slot += 1;
        });
    }
}

impl From<Error> for StepFailure {
    fn from(e: Error) -> Self {
        StepFailure::Invalid(e)
    }
}

/// Applies the optimizer to every parameter, then each parameter's constraint, with the step's
/// learning rate computed once. A parameter whose gradient has another shape, or a constraint
/// that fails, stops the update with an error (the parameters before it are already updated;
/// the step puts them back).
fn apply_updates(layers: &mut [LayerSlot], optimizer: &mut dyn Optimizer) -> Result<()> {
    let t = optimizer.iterations();
    let lr_t = optimizer.current_learning_rate();
    let mut slot = 0;
    let mut failed = None;
    for (i, layer) in layers.iter_mut().enumerate() {
        layer.visit_params(&mut |mut p| {
            if failed.is_some() {
                return;
            }
            if p.value.dim() != p.grad.dim() {
                failed = Some((
                    i,
                    Error::ShapeMismatch {
                        what: format!("{} gradient (the parameter's shape)", p.name),
                        expected: p.value.shape().to_vec(),
                        found: p.grad.shape().to_vec(),
                    },
                ));
                return;
            }
            optimizer.update(slot, lr_t, t, p.value.view_mut(), p.grad);
            if let Some(c) = p.constraint
                && let Err(e) = c.apply(p.value)
            {
                failed = Some((i, e));
            }
            slot += 1;
        });
    }
    optimizer.finish_step();
    // The kind comes from the layer's config: read only for an error.
    failed.map_or(Ok(()), |(i, e)| Err(layer_error(i, layers[i].kind(), e)))
}

impl Sequential {
    /// One gradient step on the batch `(x, y)`; returns the batch loss (before the update).
    /// A non-finite loss ([`Error::Diverged`], epoch 0), gradient or updated weight
    /// ([`Error::DivergedUpdate`]) is an error and leaves the weights and the optimizer state
    /// bitwise as before the call. After the first call with a given batch size it performs no
    /// heap allocation, on the SIMD and the portable kernel alike (see [`layers`](crate::layers)).
    pub fn train_on_batch<'a>(
        &mut self,
        x: impl AsArray<'a, f32, Ix2>,
        y: impl IntoTargets<'a>,
    ) -> Result<f32> {
        self.step_on("train_on_batch", x, y, true)
    }

    /// Forward in training mode, loss gradient and backward on `(x, y)`, without updating the
    /// weights: afterwards every layer's parameter gradients (see
    /// [`Layer::visit_params`](crate::layers::Layer::visit_params)) hold dLoss/dWeight for this
    /// batch. Returns the batch loss. Draws dropout masks like a training step.
    pub fn compute_gradients<'a>(
        &mut self,
        x: impl AsArray<'a, f32, Ix2>,
        y: impl IntoTargets<'a>,
    ) -> Result<f32> {
        self.step_on("compute_gradients", x, y, false)
    }

    /// [`step`](Self::step) on the batch `(x, y)` of the entry point `what` (an error names it
    /// batch 1 of epoch 0); returns the batch loss. Without `update` a non-finite loss is
    /// returned, not an error: nothing was updated.
    fn step_on<'a>(
        &mut self,
        what: &str,
        x: impl AsArray<'a, f32, Ix2>,
        y: impl IntoTargets<'a>,
        update: bool,
    ) -> Result<f32> {
        let (x, y) = self.compiled_batch(what, x, y)?;
        match self.step(Batch::Given(x, y), update) {
            Ok((loss, _)) => Ok(loss),
            Err(StepFailure::Loss(loss)) if !update => Ok(loss),
            Err(f) => Err(f.into_error(&self.layers, 0, 1)),
        }
    }

    /// Forward in training mode, loss gradient, backward, update, constraints. Returns the batch
    /// loss and the number of correct predictions. Checks first that the layers' widths chain
    /// and match the targets (a callback may have replaced a layer since the last step).
    ///
    /// With `update`, a step whose loss or gradients are not finite is not taken, and one whose
    /// update makes a weight non-finite is undone (weights and optimizer state are put back from
    /// copies in the workspace): on an error both are bitwise as before the step.
    pub(super) fn step(
        &mut self,
        batch: Batch<'_>,
        update: bool,
    ) -> Result<(f32, usize), StepFailure> {
        let (rows, y_width) = match batch {
            Batch::Given(x, y) => (x.nrows(), y.ncols()),
            Batch::Workspace { rows, .. } => (rows, self.ws.y.ncols()),
        };
        let (in_dim, out_dim) = (self.input_dim, self.output_dim());
        check_chain(&self.layers, in_dim, "training step")?;
        if y_width != out_dim {
            return Err(StepFailure::Invalid(Error::ShapeMismatch {
                what: "training step: targets (the model's output width changed)".into(),
                expected: vec![rows, out_dim],
                found: vec![rows, y_width],
            }));
        }
        let metric = self.accuracy_metric();
        let Sequential {
            layers,
            compiled,
            ws,
            ..
        } = self;
        let Some(c) = compiled.as_mut() else {
            return Err(StepFailure::Uncompiled);
        };
        if update && c.optimizer.iterations() >= MAX_ITERATIONS {
            return Err(StepFailure::Exhausted);
        }
        ws.ensure(rows, layers, in_dim, out_dim);
        let Workspace {
            acts,
            grads,
            x: wx,
            y: wy,
            w: ww,
            params: saved,
            opt_state,
            ..
        } = ws;
        let (x, y, w) = match batch {
            Batch::Given(x, y) => (x, y, None),
            Batch::Workspace { weighted, .. } => (
                head(wx, rows),
                head(wy, rows),
                weighted.then(|| ww.slice(s![..rows])),
            ),
        };
        forward(layers, acts, x, Mode::Train)?;
        let last = acts.len() - 1;
        let out = head(&acts[last], rows);
        let activation = layers[last].output_activation();
        let wrt = GradWrt::for_output(activation, c.loss.as_ref());
        let fused = wrt == GradWrt::PreActivation;
        let loss = c
            .loss
            .gradient(out, y, w, fused, head_mut(&mut grads[last], rows))?
            + regularization_loss(layers);
        let (correct, _) = metric.count(out, y);
        backward(layers, acts, grads, x, wrt)?;
        if !loss.is_finite() {
            return Err(StepFailure::Loss(loss));
        }
        if !update {
            return Ok((loss, correct));
        }
        if let Some((layer, name)) = check_grads_and_save(layers, saved) {
            return Err(StepFailure::Tensor {
                layer,
                name,
                gradient: true,
            });
        }
        c.optimizer.save_state(opt_state);
        let applied = apply_updates(layers, c.optimizer.as_mut());
        let sized = opt_state.buffers.iter().any(|b| !b.slots.is_empty());
        if let Err(e) = applied {
            restore_params(layers, saved);
            let _ = c.optimizer.restore_state(opt_state);
            return Err(StepFailure::Invalid(e));
        }
        if let Some((layer, name)) = first_non_finite(layers) {
            restore_params(layers, saved);
            // The optimizers of this crate always restore; one defined elsewhere without
            // `set_state` keeps its state (documented at `Optimizer::restore_state`).
            let _ = c.optimizer.restore_state(opt_state);
            return Err(StepFailure::Tensor {
                layer,
                name,
                gradient: false,
            });
        }
        if !sized {
            // The optimizer allocated its buffers in this step: size the copy now, so that the
            // next steps copy into it without allocating.
            c.optimizer.save_state(opt_state);
        }
        Ok((loss, correct))
    }
}

/// The sum of the layers' regularization penalties.
pub(super) fn regularization_loss(layers: &[LayerSlot]) -> f32 {
    layers.iter().map(|l| l.regularization_loss()).sum()
}
