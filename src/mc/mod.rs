//! Monte-Carlo dropout: predictions with uncertainty (Gal and Ghahramani 2016).
//!
//! A model trained with dropout is run `T` times on the same inputs with dropout still on
//! ([`Mode::McDropout`]: the dropout family samples, every other layer behaves as at inference).
//! The mean of the `T` outputs is the prediction, their spread the model's uncertainty:
//!
//! - `mean[i, j] = (1/T) Σ_t y_t[i, j]` and `std[i, j] = sqrt((1/T) Σ_t y_t[i, j]² - mean[i, j]²)`
//!   (the population standard deviation of the passes: 0 for `T = 1`; it is the spread of the
//!   model only, without an observation-noise term);
//! - for a classifier (a softmax output, or a single sigmoid output read as the two classes
//!   `[1 - p, p]`), per row, in nats: the *predictive entropy* `H[p̄] = -Σ_c p̄_c ln p̄_c` of the
//!   mean probabilities, and the *mutual information* between the prediction and the weights
//!   (BALD, Houlsby et al. 2011) `I = H[p̄] - (1/T) Σ_t H[p_t]`, the part of the entropy that
//!   comes from disagreement between the passes (clamped at 0 against rounding).
//!
//! ```
//! use ndnet::prelude::*;
//! use ndnet::layers::Masks;
//! use ndarray::Array2;
//!
//! let mut model = Sequential::new(4).with_seed(1);
//! model.add(Dense::new(16).activation(Activation::Relu))?;
//! model.add(Dropout::new(0.5))?;
//! model.add(Dense::new(3).activation(Activation::Softmax))?;
//! let x = Array2::from_shape_fn((5, 4), |(i, j)| (i + j) as f32 / 4.0);
//!
//! let mc = model.predict_mc(&x, 50, 7)?;
//! assert_eq!(mc.mean.dim(), (5, 3));
//! assert_eq!(mc.std.dim(), (5, 3));
//! let (entropy, bald) = (mc.entropy.as_ref().unwrap(), mc.mutual_information.as_ref().unwrap());
//! assert!(entropy.iter().zip(bald).all(|(h, i)| *i >= 0.0 && i <= h));
//!
//! // The same with one mask per pass for all rows ("one function draw"), on 2 threads.
//! let shared = model.mc_dropout(50).seed(7).masks(Masks::PerBatch).threads(2).predict(&x)?;
//! assert_eq!(shared.mean.dim(), (5, 3));
//! # Ok::<(), ndnet::Error>(())
//! ```
//!
//! # Reproducibility
//!
//! The passes never touch the model (it is borrowed immutably) or its training generators: they
//! run on copies of the layers whose generators are restarted, before each pass `t` and for each
//! block of [`BLOCK_ROWS`] rows `b`, at [`mc_seed`]`(seed, t, b, kind, ordinal)` (block 0's seed for
//! every block with [`Masks::PerBatch`]). The work is split into tasks of one block and
//! [`PASSES_PER_TASK`] passes whatever the number of threads, and the tasks' sums are added in
//! a fixed order, so the results are bitwise the same for any thread count, with or without
//! the `parallel` feature. They depend on the seed, `T`, the masks option and the rows of `x` in
//! their order (a row's masks depend on its position in its block).
//!
//! # Cost
//!
//! Each pass runs the layers from the first noisy one on; the layers before it (e.g. the first
//! `Dense` of a model with dropout after its hidden layers) run once per task. The buffers (one
//! set per worker thread: copies of the layers, their scratch, the activations) are allocated
//! when the worker takes its first task and reused by all its passes; no pass allocates. On one
//! thread the tasks run on the calling thread and share one task's sums, so what a call
//! allocates does not depend on `T`. With the `parallel` feature and more than one thread the
//! tasks run on worker threads (see [`McDropout::threads`]), one worker per thread.
//!
//! Measured on one thread (`benches/mc_dropout.rs`, T = 1, 10 and 50, in BENCHMARKS.md): `T`
//! passes cost 1.6 to 1.7 times `T` calls of [`Sequential::predict`] on the sonar tutorial's
//! Hidden network (208 rows) and 0.7 to 0.9 times on a 784-1024-1024-1024-10 dropout network
//! (1,000 rows). Why
//! is not measured: on the small network the masks and the `f64` sums may outweigh the
//! products; on the large one a pass runs blocks of 256 rows where `predict` runs chunks of 32.

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, AsArray, Ix2, s};

use crate::activation::Activation;
use crate::error::{Error, Result};
use crate::layers::{Masks, Mode};
use crate::model::{LayerSlot, Sequential};
use crate::rng::mc_seed;
use crate::validate::check_finite;

mod sums;
use sums::{Sums, SumsView};

/// Rows per block: the unit of work, and the rows that one generator per pass and layer draws
/// the masks of (with [`Masks::PerRow`]).
pub const BLOCK_ROWS: usize = 256;

/// Passes per task: a task runs this many passes (fewer in the last) on one block of rows.
pub const PASSES_PER_TASK: usize = 8;

/// What the model's outputs are, which decides the classifier statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputKind {
    /// A softmax output: each row is a distribution over the classes.
    Multiclass,
    /// A single sigmoid output `p`, read as the two classes `[1 - p, p]`.
    Binary,
    /// Anything else (regression, several sigmoid outputs): no entropy or mutual information.
    Other,
}

impl OutputKind {
    /// The kind of `model`'s outputs, from its last layer's activation and its output width.
    pub fn of(model: &Sequential) -> Self {
        let activation = model.layers().last().and_then(|l| l.output_activation());
        match activation {
            Some(Activation::Softmax) => OutputKind::Multiclass,
            Some(Activation::Sigmoid) if model.output_dim() == 1 => OutputKind::Binary,
            _ => OutputKind::Other,
        }
    }

    fn is_classifier(self) -> bool {
        self != OutputKind::Other
    }
}

/// The result of a Monte-Carlo dropout prediction; see the [module documentation](self) for the
/// formulas.
#[derive(Debug, Clone, PartialEq)]
pub struct McPrediction {
    /// Mean of the passes' outputs, `(rows, outputs)`.
    pub mean: Array2<f32>,
    /// Standard deviation of the passes' outputs (divided by `T`), `(rows, outputs)`.
    pub std: Array2<f32>,
    /// Predictive entropy of each row's mean class probabilities, in nats; `None` unless the
    /// output is a classifier's ([`OutputKind`]).
    pub entropy: Option<Array1<f32>>,
    /// Mutual information between each row's prediction and the weights (BALD), in nats, in
    /// `[0, entropy]`; `None` unless the output is a classifier's.
    pub mutual_information: Option<Array1<f32>>,
    /// What the outputs are.
    pub output: OutputKind,
    /// The number of passes `T`.
    pub samples: usize,
}

impl McPrediction {
    /// The statistics of given passes: `passes[t]` is pass `t`'s output `(rows, outputs)`, read as
    /// `output` says. Useful to check the formulas, or for passes run elsewhere.
    ///
    /// ```
    /// use ndnet::mc::{McPrediction, OutputKind};
    /// use ndarray::array;
    /// // Two passes that disagree completely: all of the entropy is disagreement.
    /// let a = array![[0.0f32, 1.0]];
    /// let b = array![[1.0f32, 0.0]];
    /// let mc = McPrediction::from_passes(&[a.view(), b.view()], OutputKind::Multiclass)?;
    /// assert_eq!(mc.mean, array![[0.5f32, 0.5]]);
    /// let ln2 = std::f32::consts::LN_2;
    /// assert!((mc.entropy.unwrap()[0] - ln2).abs() < 1e-6);
    /// assert!((mc.mutual_information.unwrap()[0] - ln2).abs() < 1e-6);
    /// # Ok::<(), ndnet::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::EmptyData`] without passes or rows, [`Error::ShapeMismatch`] if the passes
    /// differ in shape or a binary output is not one column wide, [`Error::NonFinite`] for a NaN
    /// or infinite output.
    pub fn from_passes(passes: &[ArrayView2<f32>], output: OutputKind) -> Result<Self> {
        let Some(first) = passes.first() else {
            return Err(Error::EmptyData(
                "McPrediction::from_passes: no passes".into(),
            ));
        };
        let (rows, cols) = first.dim();
        if rows == 0 || cols == 0 {
            return Err(Error::EmptyData(
                "McPrediction::from_passes: passes without rows or outputs".into(),
            ));
        }
        if output == OutputKind::Binary && cols != 1 {
            return Err(Error::ShapeMismatch {
                what: "McPrediction::from_passes: a binary output (one sigmoid column)".into(),
                expected: vec![rows, 1],
                found: vec![rows, cols],
            });
        }
        let mut sums = Sums::zeros(rows, cols);
        for (t, p) in passes.iter().enumerate() {
            if p.dim() != (rows, cols) {
                return Err(Error::ShapeMismatch {
                    what: format!("McPrediction::from_passes: pass {t}"),
                    expected: vec![rows, cols],
                    found: p.shape().to_vec(),
                });
            }
            check_finite(|| format!("McPrediction::from_passes: pass {t}"), p.view())?;
            sums.view_mut().add_pass(p.view(), output);
        }
        Ok(sums.view_mut().finish(passes.len(), output))
    }

    /// The mean class probabilities `(rows, classes)`: the mean itself for a softmax output, the
    /// two columns `[1 - p̄, p̄]` for a single sigmoid output (as
    /// [`Sequential::predict_proba`]).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidState`] if the output is not a classifier's.
    pub fn proba(&self) -> Result<Array2<f32>> {
        match self.output {
            OutputKind::Multiclass => Ok(self.mean.clone()),
            OutputKind::Binary => Ok(Array2::from_shape_fn((self.mean.nrows(), 2), |(i, c)| {
                let p = self.mean[[i, 0]];
                if c == 1 { p } else { 1.0 - p }
            })),
            OutputKind::Other => Err(Error::InvalidState(
                "McPrediction::proba: the model's output is not a softmax or a single sigmoid"
                    .into(),
            )),
        }
    }
}

/// A Monte-Carlo dropout prediction being set up: [`Sequential::mc_dropout`]`(samples)`, then
/// the options, then [`predict`](McDropout::predict).
#[derive(Debug, Clone, Copy)]
pub struct McDropout<'m> {
    model: &'m Sequential,
    samples: usize,
    seed: u64,
    masks: Masks,
    threads: usize,
}

impl Sequential {
    /// Sets up a Monte-Carlo dropout prediction with `samples` passes (seed 0, one mask per row,
    /// the current thread pool); see [`crate::mc`].
    pub fn mc_dropout(&self, samples: usize) -> McDropout<'_> {
        McDropout {
            model: self,
            samples,
            seed: 0,
            masks: Masks::PerRow,
            threads: 0,
        }
    }

    /// Monte-Carlo dropout prediction of `x` `(rows, input_dim)` with `samples` passes drawn
    /// from `seed`, one mask per row: shorthand for
    /// `self.mc_dropout(samples).seed(seed).predict(x)`.
    ///
    /// # Errors
    ///
    /// As [`McDropout::predict`].
    pub fn predict_mc<'a>(
        &self,
        x: impl AsArray<'a, f32, Ix2>,
        samples: usize,
        seed: u64,
    ) -> Result<McPrediction> {
        self.mc_dropout(samples).seed(seed).predict(x)
    }
}

impl McDropout<'_> {
    /// The seed the passes' masks are drawn from (independent of the model's seed).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// One mask per row (the default) or one per pass for all rows.
    pub fn masks(mut self, masks: Masks) -> Self {
        self.masks = masks;
        self
    }

    /// `true`: [`Masks::PerBatch`], one mask per pass for the whole batch; `false`:
    /// [`Masks::PerRow`].
    pub fn per_batch_masks(self, yes: bool) -> Self {
        self.masks(if yes { Masks::PerBatch } else { Masks::PerRow })
    }

    /// Worker threads with the `parallel` feature: 0 (the default) uses all cores, `n > 1`
    /// runs on `n` threads (the calling thread one of them), 1 (or a single task) on the
    /// calling thread alone. Ignored
    /// without the feature, where the calling thread runs everything. The results do not
    /// depend on it.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Runs the passes on `x` `(rows, input_dim)`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for 0 samples; [`Error::InvalidState`] for a model without
    /// layers or without a layer that samples in [`Mode::McDropout`] (a `Dropout`,
    /// `GaussianDropout` or `AlphaDropout` with a non-zero rate: without one every pass would
    /// give [`Sequential::predict`]'s output and a zero spread, which would look like certainty);
    /// [`Error::LayerInputMismatch`], [`Error::EmptyData`] or [`Error::NonFinite`] for bad
    /// inputs, as `predict`; [`Error::InvalidState`] if the worker threads cannot start.
    pub fn predict<'a>(&self, x: impl AsArray<'a, f32, Ix2>) -> Result<McPrediction> {
        let x = x.into();
        let plan = Plan::new(self, x)?;
        let mut total = Sums::zeros(x.nrows(), plan.cols);
        run_tasks(self.threads, &plan, self.model.layers(), x, &mut total)?;
        Ok(total.view_mut().finish(self.samples, plan.output))
    }
}

/// What every task needs to know.
struct Plan {
    /// Output width of each layer.
    widths: Vec<usize>,
    /// Index of the first layer that draws noise in `Mode::McDropout`.
    first_noisy: usize,
    /// The noisy layers: index, kind and ordinal among the layers of its kind.
    noisy: Vec<(usize, &'static str, usize)>,
    samples: usize,
    seed: u64,
    masks: Masks,
    rows: usize,
    cols: usize,
    output: OutputKind,
}

impl Plan {
    fn new(mc: &McDropout<'_>, x: ArrayView2<f32>) -> Result<Self> {
        const WHAT: &str = "predict_mc";
        let model = mc.model;
        if mc.samples == 0 {
            return Err(Error::param(WHAT, "samples", 0, "must be at least 1"));
        }
        let layers = model.layers();
        if layers.is_empty() {
            return Err(Error::InvalidState(format!(
                "{WHAT}: the model has no layers"
            )));
        }
        if x.ncols() != model.input_dim() {
            return Err(Error::LayerInputMismatch {
                what: WHAT.into(),
                index: 0,
                name: format!("{} ({})", model.layer_names()[0], layers[0].kind()),
                expected: model.input_dim(),
                found: x.ncols(),
            });
        }
        if x.nrows() == 0 || x.ncols() == 0 {
            return Err(Error::EmptyData(WHAT.into()));
        }
        check_finite(|| WHAT.to_string(), x)?;
        let mut counts: Vec<(&'static str, usize)> = Vec::new();
        let mut noisy = Vec::new();
        for (i, layer) in layers.iter().enumerate() {
            let kind = layer.kind();
            let ordinal = match counts.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, n)) => {
                    *n += 1;
                    *n - 1
                }
                None => {
                    counts.push((kind, 1));
                    0
                }
            };
            if layer.draws_noise(Mode::McDropout) {
                noisy.push((i, kind, ordinal));
            }
        }
        let Some(&(first_noisy, _, _)) = noisy.first() else {
            return Err(Error::InvalidState(format!(
                "{WHAT}: the model has no layer that samples in Monte-Carlo mode (Dropout, \
                 GaussianDropout or AlphaDropout with a non-zero rate): every pass would give \
                 predict's output; use predict"
            )));
        };
        Ok(Plan {
            widths: layers.iter().map(|l| l.output_dim()).collect(),
            first_noisy,
            noisy,
            samples: mc.samples,
            seed: mc.seed,
            masks: mc.masks,
            rows: x.nrows(),
            cols: model.output_dim(),
            output: OutputKind::of(model),
        })
    }

    fn blocks(&self) -> usize {
        self.rows.div_ceil(BLOCK_ROWS)
    }

    fn groups(&self) -> usize {
        self.samples.div_ceil(PASSES_PER_TASK)
    }

    fn tasks(&self) -> usize {
        self.blocks() * self.groups()
    }

    /// Rows of the longest block.
    fn block_len(&self) -> usize {
        self.rows.min(BLOCK_ROWS)
    }

    /// Length of one task's sums in the partials buffer.
    fn task_len(&self) -> usize {
        self.block_len() * (2 * self.cols + 1)
    }

    fn block_rows(&self, block: usize) -> std::ops::Range<usize> {
        let start = block * BLOCK_ROWS;
        start..(start + BLOCK_ROWS).min(self.rows)
    }

    /// Adds the sums `part` of task `task` to its block's rows of `total`.
    fn add_task(&self, total: &mut Sums, task: usize, part: &[f64]) {
        let cols = self.cols;
        let range = self.block_rows(task / self.groups());
        let (lo, n) = (range.start, range.len());
        let part = SumsView::split(part, n, cols);
        let whole = total.view_mut();
        for (dst, src) in [
            (&mut whole.sum[lo * cols..(lo + n) * cols], part.sum),
            (&mut whole.sum_sq[lo * cols..(lo + n) * cols], part.sum_sq),
            (&mut whole.entropy[lo..lo + n], part.entropy),
        ] {
            dst.iter_mut().zip(src.iter()).for_each(|(d, s)| *d += s);
        }
    }
}

/// A worker's copies of the layers and its activation buffers, reused by all its tasks.
struct Worker {
    layers: Vec<LayerSlot>,
    acts: Vec<Array2<f32>>,
}

impl Worker {
    /// A worker with copies of `layers` (their generators are reseeded before each pass).
    fn new(plan: &Plan, layers: &[LayerSlot]) -> Self {
        let rows = plan.block_len();
        let layers = layers.to_vec();
        Worker {
            layers,
            acts: plan
                .widths
                .iter()
                .map(|&w| Array2::zeros((rows, w)))
                .collect(),
        }
    }

    /// Runs task `task` on `x`, writing its sums to `out` (zeroed).
    fn run(&mut self, plan: &Plan, x: ArrayView2<f32>, task: usize, out: &mut [f64]) -> Result<()> {
        let groups = plan.groups();
        let (block, group) = (task / groups, task % groups);
        let range = plan.block_rows(block);
        let rows = range.len();
        let xb = x.slice(s![range, ..]);
        let mut sums = SumsView::split_mut(out, rows, plan.cols);
        sums.sum.fill(0.0);
        sums.sum_sq.fill(0.0);
        sums.entropy.fill(0.0);
        self.forward(xb, 0..plan.first_noisy)?;
        let seed_block = match plan.masks {
            Masks::PerRow => block,
            Masks::PerBatch => 0,
        };
        let passes = group * PASSES_PER_TASK..((group + 1) * PASSES_PER_TASK).min(plan.samples);
        for pass in passes {
            for &(i, kind, ordinal) in &plan.noisy {
                let seed = mc_seed(plan.seed, pass, seed_block, kind, ordinal);
                self.layers[i].reseed(seed, plan.masks);
            }
            self.forward(xb, plan.first_noisy..self.layers.len())?;
            let last = self.acts.len() - 1;
            sums.add_pass(self.acts[last].slice(s![..rows, ..]), plan.output);
        }
        Ok(())
    }

    /// Runs the layers in `range` in `Mode::McDropout` (the input of layer 0 is `x`).
    fn forward(&mut self, x: ArrayView2<f32>, range: std::ops::Range<usize>) -> Result<()> {
        let rows = x.nrows();
        for i in range {
            let (before, rest) = self.acts.split_at_mut(i);
            let input = match before.last() {
                Some(a) => a.slice(s![..rows, ..]),
                None => x,
            };
            let output: ArrayViewMut2<f32> = rest[0].slice_mut(s![..rows, ..]);
            self.layers[i].forward(input, output, Mode::McDropout)?;
        }
        Ok(())
    }
}

/// Runs all tasks on the calling thread with one [`Worker`] and one task's sums, added to
/// `total` as each task ends.
fn run_here(plan: &Plan, layers: &[LayerSlot], x: ArrayView2<f32>, total: &mut Sums) -> Result<()> {
    let mut worker = Worker::new(plan, layers);
    let mut part = vec![0.0f64; plan.task_len()];
    for task in 0..plan.tasks() {
        worker.run(plan, x, task, &mut part)?;
        plan.add_task(total, task, &part);
    }
    Ok(())
}

/// Runs all tasks and adds their sums to `total`, in the order of the tasks whatever the thread
/// that ran them: on `threads` worker threads (0: all cores; at most one per task), each with
/// one [`Worker`] made when it takes its first task, or on the calling thread ([`run_here`])
/// when that leaves one.
fn run_tasks(
    threads: usize,
    plan: &Plan,
    layers: &[LayerSlot],
    x: ArrayView2<f32>,
    total: &mut Sums,
) -> Result<()> {
    if crate::kernels::threads::workers(threads, plan.tasks()) <= 1 {
        return run_here(plan, layers, x, total);
    }
    let stride = plan.task_len();
    let mut partials = vec![0.0f64; stride * plan.tasks()];
    crate::kernels::threads::run_queue(
        threads,
        partials.chunks_mut(stride).enumerate(),
        || Worker::new(plan, layers),
        |worker, (task, out)| worker.run(plan, x, task, out),
    )?;
    for (task, part) in partials.chunks(stride).enumerate() {
        plan.add_task(total, task, part);
    }
    Ok(())
}
