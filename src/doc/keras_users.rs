//! # ndnet for Keras users
//!
//! A Keras 2 program, line by line, and the ndnet line that does the same thing. The semantics
//! are Keras 2's unless a row says otherwise (see the README's "Semantics" section for every
//! formula): `Dropout(rate)` drops with probability `rate` and scales the kept units by
//! `1 / (1 - rate)` in training; `SGD(momentum=m)` keeps a velocity that already holds the
//! learning rate (`v = m·v − lr·g; w += v`); `MaxNorm(c)` rescales each unit's incoming weights
//! to norm at most `c` after every update, with Keras's epsilon.
//!
//! ## The tutorial's model
//!
//! | Keras 2 (Python) | ndnet (Rust) |
//! |---|---|
//! | `model = Sequential()` | `let mut model = Sequential::new(60);` (the input width is given here, not on the first layer) |
//! | `model.add(Dropout(0.2, input_shape=(60,)))` | `model.add(Dropout::new(0.2))?;` |
//! | `model.add(Dense(60, activation='relu', kernel_constraint=maxnorm(3)))` | `model.add(Dense::new(60).activation(Activation::Relu).kernel_constraint(MaxNorm::new(3.0)))?;` |
//! | `kernel_initializer=RandomNormal(stddev=0.05)` (Keras 2.0's default `'normal'`) | `.kernel_initializer(Initializer::KERAS_NORMAL)` |
//! | `model.add(Dense(1, activation='sigmoid'))` | `model.add(Dense::new(1).activation(Activation::Sigmoid))?;` |
//! | `sgd = SGD(lr=0.1, momentum=0.9, decay=0.0, nesterov=False)` | `let sgd = Sgd::new(0.1).momentum(0.9).decay(0.0).nesterov(false);` |
//! | `model.compile(loss='binary_crossentropy', optimizer=sgd, metrics=['accuracy'])` | `model.compile(BinaryCrossentropy, sgd)?;` (accuracy is always reported) |
//! | `model.summary()` | `model.summary();` or `println!("{model}")` |
//! | `np.random.seed(7)` | `Sequential::new(60).with_seed(7)`: one seed per model drives weights, shuffling and dropout masks |
//! | `model.add(ReLU())`, `LeakyReLU(0.3)`, `Activation('tanh')` | `model.add(layers::relu())?`, `layers::leaky_relu(0.3)`, `ActivationLayer::new(Activation::Tanh)` |
//! | `model.layers[1].name`, `.get_config()` | `model.layers()[1].name()`, `model.layers()[1].config()` |
//!
//! An error in a layer's arguments (a rate of 1.0, zero units) is reported by `add` with the
//! layer's position, where Keras raises at construction or at the first call.
//!
//! ## Training and using it
//!
//! | Keras 2 (Python) | ndnet (Rust) |
//! |---|---|
//! | `history = model.fit(X, Y, epochs=300, batch_size=16, verbose=0)` | `let history = model.fit(&x, &y, &FitOptions { epochs: 300, batch_size: 16, ..Default::default() })?;` |
//! | `validation_split=0.2` (the *last* 20% of the rows) | `validation_split: 0.2` (the same rows) |
//! | `validation_data=(Xv, Yv)` | `validation_data: Some((xv.view(), yv.view()))` |
//! | `class_weight={0: 1.0, 1: 2.0}` / `sample_weight=w` | `class_weight: Some(&[1.0, 2.0])` / `sample_weight: Some(w.view())` |
//! | `history.history['loss']`, `['val_accuracy']` | `history.loss`, `history.val_accuracy` |
//! | `callbacks=[EarlyStopping(monitor='val_loss', patience=5, restore_best_weights=True)]` | `model.fit_with_callbacks(&x, &y, &options, &mut [&mut EarlyStopping::new(Metric::ValLoss).patience(5).restore_best_weights(true)])?` |
//! | `LearningRateScheduler(f)` | `LearningRateScheduler::new(f)` (epoch, current rate → new rate) |
//! | `loss, acc = model.evaluate(X, Y)` | `let e = model.evaluate(&x, &y)?; (e.loss, e.accuracy)` |
//! | `model.predict(X)` (dropout off) | `model.predict(&x)?` (dropout off: [`Mode::Eval`](crate::layers::Mode); through `&model`, from any number of threads at once) |
//! | `(model.predict(X) > 0.5).astype(int)` | `model.predict_classes(&x)?` |
//! | `model(X, training=True)` (one stochastic pass) | `model.forward(&x, Mode::Train)?` |
//! | `model.get_weights()` / `set_weights(w)` | `model.get_weights()` / `model.set_weights(&w)?` (the same order: kernel `(inputs, units)`, then bias, layer by layer) |
//! | `model.save('m.h5')` / `load_model('m.h5')` | `model.save("m.ndnet")?` / `Sequential::load("m.ndnet")?` (feature `serde`) |
//!
//! ## scikit-learn around it
//!
//! The tutorial wraps the model in `KerasClassifier`, standardizes inside a `Pipeline` and scores
//! it with `StratifiedKFold(n_splits=10, shuffle=True)` and `cross_val_score`. In ndnet the
//! cross-validation does all three: it splits stratified folds, fits a
//! [`StandardScaler`](crate::data::StandardScaler) on each training fold only, and trains a fresh
//! model from the builder on each fold.
//!
//! | Python | ndnet |
//! |---|---|
//! | `encoder = LabelEncoder(); Y = encoder.fit_transform(labels)` | [`LabelEncoder`](crate::data::LabelEncoder) (`datasets::sonar::load` already encodes `M` = 0, `R` = 1) |
//! | `Pipeline([('standardize', StandardScaler()), ('mlp', KerasClassifier(build_fn=create_baseline, epochs=300, batch_size=16))])` | a builder `fn baseline() -> Result<Sequential>` and `FitOptions { epochs: 300, batch_size: 16, .. }` |
//! | `kfold = StratifiedKFold(n_splits=10, shuffle=True)` | `CrossValidation::new(10, seed)` |
//! | `results = cross_val_score(pipeline, X, Y, cv=kfold)` | `let scores = cv.score(baseline, &x, &y, &fit)?;` |
//! | `print("%.2f%% (%.2f%%)" % (results.mean()*100, results.std()*100))` | `println!("{scores}")` (the same format) |
//!
//! ## The whole tutorial
//!
//! The Keras program's three models, written as ndnet `add` chains and cross-validated. Here on
//! a small generated data set and a few epochs so that it runs as a test; the example
//! `sonar_dropout` runs it on the sonar data with the tutorial's 300 epochs.
//!
//! ```
//! use ndnet::prelude::*;
//! use ndnet::selection::CrossValidation;
//! use ndnet::datasets::blobs::make_blobs;
//!
//! fn hidden_dropout() -> ndnet::Result<Sequential> {
//!     let normal = Initializer::KERAS_NORMAL;
//!     let mut model = Sequential::new(6);
//!     model.add(Dense::new(12).activation(Activation::Relu)
//!         .kernel_initializer(normal).kernel_constraint(MaxNorm::new(3.0)))?;
//!     model.add(Dropout::new(0.2))?;
//!     model.add(Dense::new(6).activation(Activation::Relu)
//!         .kernel_initializer(normal).kernel_constraint(MaxNorm::new(3.0)))?;
//!     model.add(Dropout::new(0.2))?;
//!     model.add(Dense::new(1).activation(Activation::Sigmoid).kernel_initializer(normal))?;
//!     model.compile(BinaryCrossentropy, Sgd::new(0.1).momentum(0.9))?;
//!     Ok(model)
//! }
//!
//! let centers = ndarray::array![[0.0f32; 6], [1.0; 6]];
//! let blobs = make_blobs(30, centers.view(), 0.6, 3)?;
//! let (x, labels) = (blobs.x, blobs.labels);
//! let y = ndarray::Array2::from_shape_fn((labels.len(), 1), |(i, _)| labels[i] as f32);
//! let fit = FitOptions { epochs: 20, batch_size: 16, ..Default::default() };
//! let scores = CrossValidation::new(3, 7).score(hidden_dropout, &x, &y, &fit)?;
//! assert_eq!(scores.scores.len(), 3);
//! println!("Hidden: {scores}");
//! # Ok::<(), ndnet::Error>(())
//! ```
//!
//! ## Where ndnet differs on purpose
//!
//! - The mode is explicit: every forward pass takes [`Mode::Train`](crate::layers::Mode) or
//!   `Mode::Eval`, so dropout is never silently on at evaluation nor silently off in a
//!   training loop. `fit` trains in `Train`; `predict` and `evaluate` run in `Eval`.
//! - Inference borrows the model immutably: `predict`, `predict_proba`, `predict_classes` and
//!   `evaluate` take `&self`, and a `Sequential` is `Send + Sync`, so one trained model can
//!   serve several threads (a web service, a rayon pool) without a lock or a copy.
//! - A custom layer writes its own backward pass: where Keras subclasses `Layer` with
//!   `build(input_shape)` and `call(x, training)` and differentiates automatically, an ndnet
//!   layer implements [`Layer`](crate::layers::Layer): `build`, `infer` (inference), optionally
//!   `forward` (training), `backward` and `config`, and derives `Clone`.
//! - Everything is `f32` and seeded: the same seed gives bitwise the same run, for any number of
//!   threads.
//! - Errors are values: every public function returns [`crate::Result`]; nothing panics on bad
//!   input.
