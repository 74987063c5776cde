//! A failing training step leaves the model as it was; `fit` reports what stopped it with the
//! epochs it completed; callbacks cannot change what is trained; sizes and values the model
//! cannot use are errors before anything is allocated or trained.

use ndarray::{Array2, array};
use ndnet::Error;
use ndnet::callbacks::{
    Callback, Control, EarlyStopping, EpochLogs, LearningRateScheduler, Metric,
};
use ndnet::optimizers::{MAX_ITERATIONS, OptimizerState, StateBuffers};
use ndnet::prelude::*;

/// `x[i][j] = ((7i + 3j) mod 11) / 11 - 0.5`, `y[i] = i mod 2`, 16 rows of 3 features.
fn data() -> (Array2<f32>, Array2<f32>) {
    let x = Array2::from_shape_fn((16, 3), |(i, j)| ((7 * i + 3 * j) % 11) as f32 / 11.0 - 0.5);
    let y = Array2::from_shape_fn((16, 1), |(i, _)| (i % 2) as f32);
    (x, y)
}

/// 3 → Dense(4, relu) → Dense(1, sigmoid), binary cross-entropy, SGD(0.1, momentum 0.9).
fn small_model() -> Sequential {
    let mut m = Sequential::new(3).with_seed(1);
    m.add(Dense::new(4).activation(Activation::Relu)).unwrap();
    m.add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    m.compile(BinaryCrossentropy, Sgd::new(0.1).momentum(0.9))
        .unwrap();
    m
}

fn options(epochs: usize) -> FitOptions<'static> {
    FitOptions {
        epochs,
        batch_size: 4,
        ..Default::default()
    }
}

/// The bit patterns of every weight.
fn weight_bits(m: &Sequential) -> Vec<Vec<u32>> {
    m.get_weights()
        .iter()
        .map(|w| w.iter().map(|v| v.to_bits()).collect())
        .collect()
}

/// An optimizer's update count and the bit patterns of each named buffer group.
type StateBits = (u64, Vec<(String, Vec<Vec<u32>>)>);

/// The optimizer's update count and the bit patterns of its buffers.
fn state_bits(m: &Sequential) -> StateBits {
    let s = m.optimizer().unwrap().state();
    let buffers = s
        .buffers
        .iter()
        .map(|b| {
            let slots = b
                .slots
                .iter()
                .map(|a| a.iter().map(|v| v.to_bits()).collect());
            (b.name.clone(), slots.collect())
        })
        .collect();
    (s.iterations, buffers)
}

type Snapshot = (Vec<Vec<u32>>, StateBits);

fn snapshot(m: &Sequential) -> Snapshot {
    (weight_bits(m), state_bits(m))
}

/// Records the model before every batch: after `fit` fails, `last` is the model just before
/// the failing step.
#[derive(Default)]
struct BeforeEachStep {
    last: Option<Snapshot>,
}

impl Callback for BeforeEachStep {
    fn on_train_batch_begin(&mut self, model: &mut Sequential) -> ndnet::Result<()> {
        self.last = Some(snapshot(model));
        Ok(())
    }
}

#[test]
fn a_diverging_fit_leaves_weights_and_optimizer_state_bitwise_as_before_the_step() {
    // A linear model whose learning rate jumps to 1e30 at the fourth epoch: the first step
    // there moves the weights to about 1e29, and the next loss overflows f32.
    let (x, y) = data();
    let mut model = Sequential::new(3).with_seed(1);
    model.add(Dense::new(1)).unwrap();
    model
        .compile(MeanSquaredError, Sgd::new(0.01).momentum(0.5))
        .unwrap();
    let mut schedule = LearningRateScheduler::new(|e, _| if e < 3 { 0.01 } else { 1e30 });
    let mut before = BeforeEachStep::default();
    let err = model
        .fit_with_callbacks(&x, &y, &options(10), &mut [&mut schedule, &mut before])
        .unwrap_err();
    assert!(err.is_divergence(), "{err}");
    let epoch = match *err.root() {
        Error::Diverged { epoch, .. } | Error::DivergedUpdate { epoch, .. } => epoch,
        ref other => panic!("expected a divergence, got {other:?}"),
    };
    assert_eq!(epoch, 4, "{err}");
    assert_eq!(snapshot(&model), before.last.unwrap());
    // The completed epochs come with the error.
    let history = err.history().expect("fit's error carries the history");
    assert_eq!(history.epochs(), 3);
    assert!(history.loss.iter().all(|l| l.is_finite()));
    // The model still predicts finite values.
    assert!(model.predict(&x).unwrap().iter().all(|v| v.is_finite()));
}

/// A model `1 → Dense(1)` with kernel 0.1 and bias 0, MSE, after two ordinary steps (so the
/// optimizer has state), and its snapshot.
fn stepped(optimizer: Box<dyn Optimizer>) -> Sequential {
    let mut m = Sequential::new(1).with_seed(2);
    m.add(Dense::new(1).kernel_initializer(Initializer::Constant(0.1)))
        .unwrap();
    m.compile_boxed(Box::new(MeanSquaredError), optimizer)
        .unwrap();
    for _ in 0..2 {
        m.train_on_batch(&array![[1.0f32]], &array![[0.5f32]])
            .unwrap();
    }
    m
}

fn optimizers() -> Vec<Box<dyn Optimizer>> {
    vec![
        Box::new(Sgd::new(0.01).momentum(0.9)),
        Box::new(Adam::new(0.01)),
        Box::new(RmsProp::new(0.01).momentum(0.5)),
    ]
}

#[test]
fn a_non_finite_gradient_leaves_train_on_batch_bitwise_as_before() {
    for opt in optimizers() {
        let mut m = stepped(opt);
        let before = snapshot(&m);
        // The output is about 0.1 · 1e20 = 1e19: the loss (1e38) is finite, dL/dkernel =
        // 2 · 1e19 · 1e20 = 2e39 is not.
        let err = m
            .train_on_batch(&array![[1e20f32]], &array![[0.0f32]])
            .unwrap_err();
        match &err {
            Error::DivergedUpdate {
                epoch: 0,
                batch: 1,
                tensor,
                gradient: true,
            } => assert_eq!(tensor, "dense/kernel"),
            other => panic!("expected a non-finite gradient, got {other:?}"),
        }
        assert!(
            err.to_string().contains("gradient of dense/kernel"),
            "{err}"
        );
        assert_eq!(snapshot(&m), before, "{}", m.optimizer().unwrap().name());
    }
}

#[test]
fn an_update_that_overflows_the_weights_is_undone() {
    for opt in optimizers() {
        let name = opt.name();
        let mut m = stepped(opt);
        m.optimizer_mut()
            .unwrap()
            .set_learning_rate(f32::MAX)
            .unwrap();
        // Steps at a learning rate of f32::MAX until one fails; the failing one changes nothing.
        let mut failed = None;
        for step in 0..5 {
            let before = snapshot(&m);
            if let Err(err) = m.train_on_batch(&array![[1.0f32]], &array![[10.0f32]]) {
                assert!(err.is_divergence(), "{name}: {err:?}");
                assert_eq!(snapshot(&m), before, "{name}");
                failed = Some((step, err));
                break;
            }
        }
        let (step, err) = failed.unwrap_or_else(|| panic!("{name}: never diverged"));
        if name == "SGD" {
            // The gradient is about 2 · (0.1 - 10) = -20; f32::MAX times it overflows at once.
            assert_eq!(step, 0);
            assert!(
                matches!(
                    err,
                    Error::DivergedUpdate {
                        gradient: false,
                        ..
                    }
                ),
                "{err:?}"
            );
            assert!(err.to_string().contains("update of dense/kernel"), "{err}");
            // Nothing was lost: training continues from there at a sane rate.
            m.optimizer_mut().unwrap().set_learning_rate(0.01).unwrap();
            m.train_on_batch(&array![[1.0f32]], &array![[0.5f32]])
                .unwrap();
            assert_eq!(m.optimizer().unwrap().iterations(), 3);
        }
    }
}

/// Counts `on_train_end` calls and fails where told.
#[derive(Default)]
struct Probe {
    ended: usize,
    fail_at_begin: bool,
    fail_at_epoch_end: Option<usize>,
}

impl Callback for Probe {
    fn on_train_begin(&mut self, _: &mut Sequential) -> ndnet::Result<()> {
        if self.fail_at_begin {
            return Err(Error::InvalidState("probe: begin".into()));
        }
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        _: &EpochLogs,
        _: &mut Sequential,
    ) -> ndnet::Result<Control> {
        if self.fail_at_epoch_end == Some(epoch) {
            return Err(Error::InvalidState("probe: epoch end".into()));
        }
        Ok(Control::Continue)
    }

    fn on_train_end(&mut self, _: &mut Sequential) -> ndnet::Result<()> {
        self.ended += 1;
        Ok(())
    }
}

#[test]
fn on_train_end_runs_on_every_exit_path_and_errors_carry_the_history() {
    let (x, y) = data();
    // A callback error at the end of the second epoch: both epochs were completed.
    let mut model = small_model();
    let (mut failing, mut watcher) = (Probe::default(), Probe::default());
    failing.fail_at_epoch_end = Some(1);
    let err = model
        .fit_with_callbacks(&x, &y, &options(5), &mut [&mut failing, &mut watcher])
        .unwrap_err();
    assert!(
        matches!(err.root(), Error::InvalidState(m) if m == "probe: epoch end"),
        "{err:?}"
    );
    assert_eq!(err.history().unwrap().epochs(), 2);
    assert!(err.to_string().contains("probe: epoch end"), "{err}");
    assert_eq!((failing.ended, watcher.ended), (1, 1));

    // An error in `on_train_begin`: no epoch, `on_train_end` still runs.
    let mut model = small_model();
    let (mut failing, mut watcher) = (Probe::default(), Probe::default());
    failing.fail_at_begin = true;
    let err = model
        .fit_with_callbacks(&x, &y, &options(5), &mut [&mut watcher, &mut failing])
        .unwrap_err();
    assert_eq!(err.history().unwrap().epochs(), 0);
    assert_eq!((failing.ended, watcher.ended), (1, 1));

    // A divergence (a linear model whose learning rate jumps to 1e30 at the third epoch).
    let mut model = Sequential::new(3).with_seed(1);
    model.add(Dense::new(1)).unwrap();
    model.compile(MeanSquaredError, Sgd::new(0.01)).unwrap();
    let mut watcher = Probe::default();
    let mut schedule = LearningRateScheduler::new(|e, _| if e < 2 { 0.01 } else { 1e30 });
    let err = model
        .fit_with_callbacks(&x, &y, &options(5), &mut [&mut schedule, &mut watcher])
        .unwrap_err();
    assert!(err.is_divergence(), "{err}");
    assert_eq!(err.history().unwrap().epochs(), 2);
    assert_eq!(watcher.ended, 1);

    // Argument errors come as they are, before any callback runs.
    let mut watcher = Probe::default();
    let bad = FitOptions {
        batch_size: 0,
        ..options(1)
    };
    let err = model
        .fit_with_callbacks(&x, &y, &bad, &mut [&mut watcher])
        .unwrap_err();
    assert!(matches!(err, Error::InvalidParameter { .. }), "{err:?}");
    assert_eq!(watcher.ended, 0);
}

/// Records the weights at the end of every epoch.
#[derive(Default)]
struct EpochWeights(Vec<Vec<Vec<u32>>>);

impl Callback for EpochWeights {
    fn on_epoch_end(
        &mut self,
        _: usize,
        _: &EpochLogs,
        model: &mut Sequential,
    ) -> ndnet::Result<Control> {
        self.0.push(weight_bits(model));
        Ok(Control::Continue)
    }
}

#[test]
fn early_stopping_restores_the_best_weights_after_a_divergence() {
    let (x, y) = data();
    let mut model = Sequential::new(3).with_seed(1);
    model.add(Dense::new(1)).unwrap();
    model.compile(MeanSquaredError, Sgd::new(0.01)).unwrap();
    let mut schedule = LearningRateScheduler::new(|e, _| if e < 5 { 0.1 } else { 1e30 });
    let mut record = EpochWeights::default();
    let mut stop = EarlyStopping::new(Metric::Loss)
        .patience(100)
        .restore_best_weights(true);
    let err = model
        .fit_with_callbacks(
            &x,
            &y,
            &options(20),
            &mut [&mut schedule, &mut record, &mut stop],
        )
        .unwrap_err();
    assert!(err.is_divergence(), "{err}");
    let losses = &err.history().unwrap().loss;
    assert!(losses.len() >= 5, "{losses:?}");
    let best = (0..losses.len())
        .min_by(|&a, &b| losses[a].total_cmp(&losses[b]))
        .unwrap();
    assert_eq!(weight_bits(&model), record.0[best]);
    assert!(model.predict(&x).unwrap().iter().all(|v| v.is_finite()));
}

#[cfg(feature = "serde")]
#[test]
fn a_failed_checkpoint_keeps_the_history_of_the_completed_epochs() {
    use ndnet::callbacks::ModelCheckpoint;
    let (x, y) = data();
    let mut model = small_model();
    let dir = std::env::temp_dir().join(format!("ndnet-missing-{}", std::process::id()));
    let mut checkpoint = ModelCheckpoint::new(dir.join("no").join("model.ndnet"));
    let err = model
        .fit_with_callbacks(&x, &y, &options(3), &mut [&mut checkpoint])
        .unwrap_err();
    assert!(matches!(err.root(), Error::Io { .. }), "{err:?}");
    let history = err.history().unwrap();
    assert_eq!(history.epochs(), 1);
    assert!(history.loss[0].is_finite());
}

/// Runs inference on its own rows before every batch.
struct Infer(Array2<f32>);

impl Callback for Infer {
    fn on_train_batch_begin(&mut self, model: &mut Sequential) -> ndnet::Result<()> {
        let y = Array2::from_shape_fn((self.0.nrows(), 1), |(i, _)| (i % 2) as f32);
        model.predict(&self.0)?;
        model.evaluate(&self.0, &y)?;
        model.forward(&self.0, Mode::Eval)?;
        Ok(())
    }
}

#[test]
fn inference_in_a_callback_does_not_change_what_is_trained() {
    let (x, y) = data();
    let mut plain = small_model();
    let h_plain = plain.fit(&x, &y, &options(3)).unwrap();
    // 40 rows: more than the step's buffers hold (batch 4) and more than one chunk of 32.
    let rows = Array2::from_shape_fn((40, 3), |(i, j)| (i * j) as f32 / 40.0);
    let mut probed = small_model();
    let h_probed = probed
        .fit_with_callbacks(&x, &y, &options(3), &mut [&mut Infer(rows)])
        .unwrap();
    assert_eq!(weight_bits(&probed), weight_bits(&plain));
    let bits = |h: &History| h.loss.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&h_probed), bits(&h_plain));
}

/// Adds a layer at the start of the second epoch.
struct Grow;

impl Callback for Grow {
    fn on_epoch_begin(&mut self, epoch: usize, model: &mut Sequential) -> ndnet::Result<()> {
        if epoch == 1 {
            model.add(Dense::new(1).activation(Activation::Sigmoid))?;
        }
        Ok(())
    }
}

#[test]
fn a_callback_that_adds_a_layer_is_reported_as_such() {
    let (x, y) = data();
    let mut model = small_model();
    let err = model
        .fit_with_callbacks(&x, &y, &options(3), &mut [&mut Grow])
        .unwrap_err();
    assert!(!err.is_divergence(), "{err}");
    assert!(matches!(err.root(), Error::InvalidState(_)), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("no longer compiled") && msg.contains("layer was added"),
        "{msg}"
    );
    assert_eq!(err.history().unwrap().epochs(), 1);
}

fn adam_state(iterations: u64) -> OptimizerState {
    let empty = |name: &str| StateBuffers {
        name: name.into(),
        slots: Vec::new(),
    };
    OptimizerState {
        iterations,
        buffers: vec![empty("m"), empty("v")],
    }
}

#[test]
fn optimizer_iteration_counts_beyond_the_limit_are_rejected() {
    for t in [u64::MAX, MAX_ITERATIONS + 1] {
        let mut adam = Adam::new(0.01);
        let err = adam.set_state(adam_state(t)).unwrap_err();
        assert!(err.to_string().contains("iterations"), "{err}");
        assert_eq!(adam.iterations(), 0);
        let mut sgd = Sgd::new(0.01);
        let state = OptimizerState {
            iterations: t,
            buffers: vec![StateBuffers {
                name: "velocity".into(),
                slots: Vec::new(),
            }],
        };
        assert!(sgd.set_state(state).is_err());
    }
    // At the limit the state loads, but the model refuses to step instead of wrapping.
    let mut m = stepped(Box::new(Adam::new(0.01)));
    m.optimizer_mut()
        .unwrap()
        .set_state(adam_state(MAX_ITERATIONS))
        .unwrap();
    let before = weight_bits(&m);
    let err = m
        .train_on_batch(&array![[1.0f32]], &array![[0.5f32]])
        .unwrap_err();
    assert!(err.to_string().contains("updates"), "{err}");
    assert_eq!(weight_bits(&m), before);
    assert_eq!(m.optimizer().unwrap().iterations(), MAX_ITERATIONS);
}

#[test]
fn bad_learning_rates_are_rejected() {
    for lr in [f32::NAN, -1.0, f32::INFINITY, -0.0001] {
        let mut sgd = Sgd::new(0.1);
        let err = sgd.set_learning_rate(lr).unwrap_err();
        assert!(err.to_string().contains("learning_rate"), "{err}");
        assert_eq!(sgd.learning_rate(), 0.1);
    }
    let mut adam = Adam::new(0.1);
    adam.set_learning_rate(0.0).unwrap();
    assert_eq!(adam.learning_rate(), 0.0);
}

#[test]
fn initializers_and_data_that_overflow_f32_are_rejected() {
    let mut m = Sequential::new(3).with_seed(1);
    let huge = Initializer::RandomNormal {
        mean: 0.0,
        stddev: f32::MAX,
    };
    let err = m.add(Dense::new(4).kernel_initializer(huge)).unwrap_err();
    assert!(err.to_string().contains("non-finite"), "{err}");
    assert!(m.layers().is_empty());

    // Finite weights whose products overflow: predict says so instead of returning inf.
    let mut m = Sequential::new(3).with_seed(1);
    m.add(Dense::new(2).kernel_initializer(Initializer::Constant(f32::MAX)))
        .unwrap();
    let err = m.predict(&array![[1.0f32, 1.0, 1.0]]).unwrap_err();
    assert!(matches!(err, Error::NonFinite { .. }), "{err:?}");
    assert!(err.to_string().contains("overflow"), "{err}");
    assert!(m.forward(&array![[1.0f32, 1.0, 1.0]], Mode::Eval).is_err());

    let centers = array![[0.0f32, 0.0], [1.0, 1.0]];
    let err = ndnet::datasets::blobs::make_blobs(5, centers.view(), f32::MAX, 1).unwrap_err();
    assert!(matches!(err, Error::NonFinite { .. }), "{err:?}");

    // Noise that overflows is a divergence that leaves the weights as they were.
    let (x, y) = data();
    let mut m = Sequential::new(3).with_seed(1);
    m.add(GaussianNoise::new(f32::MAX)).unwrap();
    m.add(Dense::new(1).activation(Activation::Sigmoid))
        .unwrap();
    m.compile(BinaryCrossentropy, Sgd::new(0.1)).unwrap();
    let before = weight_bits(&m);
    let err = m.fit(&x, &y, &options(1)).unwrap_err();
    assert!(err.is_divergence(), "{err}");
    assert_eq!(weight_bits(&m), before);
}

#[test]
fn sizes_that_cannot_be_allocated_are_errors() {
    let mut m = Sequential::new(60);
    for units in [usize::MAX, 1 << 40] {
        let err = m.add(Dense::new(units)).unwrap_err();
        assert!(err.to_string().contains("units"), "{err}");
    }
    let err = Sequential::new(1 << 31)
        .add(Dense::new(1 << 31))
        .map(|_| ())
        .unwrap_err();
    assert!(err.to_string().contains("units"), "{err}");
    assert!(m.layers().is_empty());

    let wide = ndnet::experiments::Config {
        width_multiplier: 1e30,
        ..Default::default()
    };
    assert!(wide.validate().is_err());
    assert!(wide.build().is_err());
    let space = ndnet::experiments::ParamSpace {
        width_multiplier: vec![1e30],
        ..Default::default()
    };
    assert!(space.grid().is_err());

    // 10^9 points.
    let tenths = |k: f32| (0..10).map(move |i| i as f32 * k);
    let space = ndnet::experiments::ParamSpace {
        input_dropout: tenths(0.05).collect(),
        hidden_dropout: tenths(0.05).collect(),
        max_norm: (1..=10).map(|i| Some(i as f32)).collect(),
        width_multiplier: (1..=10).map(|i| i as f32 * 0.5).collect(),
        learning_rate: (1..=10).map(|i| i as f32 * 0.01).collect(),
        momentum: tenths(0.05).collect(),
        decay: tenths(0.001).collect(),
        epochs: (1..=10).collect(),
        batch_size: (1..=10).collect(),
    };
    assert_eq!(space.len(), 1_000_000_000);
    let err = space.grid().unwrap_err();
    assert!(err.to_string().contains("at most"), "{err}");
    assert_eq!(space.random(3, 1).unwrap().len(), 3);

    let x = Array2::<f32>::zeros((20, 60));
    let y = Array2::from_shape_fn((20, 1), |(i, _)| (i % 2) as f32);
    let configs = [ndnet::experiments::Config::default()];
    for repeats in [1 << 40, usize::MAX] {
        let search =
            ndnet::selection::Search::new(ndnet::selection::CrossValidation::new(2, 1), repeats);
        let err = search.run(&configs, &x, &y).unwrap_err();
        assert!(err.to_string().contains("repeats"), "{err}");
    }

    assert!(ndnet::data::one_hot(&[], usize::MAX).is_err());
    let centers = array![[0.0f32, 0.0], [1.0, 1.0], [2.0, 2.0]];
    for n in [1 << 46, usize::MAX] {
        assert!(ndnet::datasets::blobs::make_blobs(n, centers.view(), 1.0, 1).is_err());
    }
}
