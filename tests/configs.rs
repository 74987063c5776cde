//! Layers, constraints and optimizers as plain data: each config rebuilds an equal object.

use ndarray::array;
use ndnet::constraints::{Constraint, ConstraintConfig, MinMaxNorm, UnitNorm};
use ndnet::layers::LayerConfig;
use ndnet::optimizers::{LearningRate, MomentumForm, OptimizerConfig, SgdConfig, StateBuffers};
use ndnet::prelude::*;

#[test]
fn each_built_in_constraint_rebuilds_from_its_config() {
    let constraints: Vec<Box<dyn Constraint>> = vec![
        Box::new(MaxNorm::new(3.0)),
        Box::new(UnitNorm { axis: 1 }),
        Box::new(NonNeg),
        Box::new(MinMaxNorm {
            min_value: 0.5,
            max_value: 2.0,
            rate: 0.5,
            axis: 0,
        }),
    ];
    for c in constraints {
        let rebuilt = c.config().build().unwrap();
        assert_eq!(rebuilt.config(), c.config());
        assert_eq!(rebuilt.describe(), c.describe());
    }
}

#[test]
fn an_invalid_constraint_config_is_refused_when_built() {
    assert!(
        ConstraintConfig::MaxNorm(MaxNorm::new(-1.0))
            .build()
            .is_err()
    );
}

#[derive(Debug, Clone)]
struct Clip;

impl Constraint for Clip {
    fn describe(&self) -> String {
        "Clip".into()
    }
    fn validate(&self) -> ndnet::Result<()> {
        Ok(())
    }
    fn apply(&self, mut w: ndarray::ArrayViewMut2<f32>) -> ndnet::Result<()> {
        w.mapv_inplace(|v| v.clamp(-1.0, 1.0));
        Ok(())
    }
}

#[test]
fn a_constraint_defined_elsewhere_is_described_but_cannot_be_rebuilt() {
    assert_eq!(
        Clip.config(),
        ConstraintConfig::Custom {
            description: "Clip".into()
        }
    );
    assert!(Clip.config().build().is_err());
}

#[test]
fn the_dense_config_holds_its_constraints_as_data() {
    let dense = Dense::new(4)
        .activation(Activation::Relu)
        .kernel_initializer(Initializer::KERAS_NORMAL)
        .kernel_constraint(MaxNorm::new(3.0));
    let config = dense.config();
    match &config {
        LayerConfig::Dense {
            units: 4,
            activation: Activation::Relu,
            kernel_constraint: Some(ConstraintConfig::MaxNorm(m)),
            bias_constraint: None,
            ..
        } => assert_eq!(*m, MaxNorm::new(3.0)),
        c => panic!("{c:?}"),
    }
    let mut model = Sequential::new(2);
    model.add(config.build().unwrap()).unwrap();
    assert_eq!(model.layers()[0].config(), config);
}

#[test]
fn weight_shapes_are_known_without_building() {
    let (out, shapes) = Dense::new(3).config().weight_shapes(5).unwrap();
    assert_eq!((out, shapes), (3, vec![vec![5, 3], vec![3]]));
    let (out, shapes) = Dropout::new(0.5).config().weight_shapes(5).unwrap();
    assert_eq!((out, shapes), (5, vec![]));
}

#[test]
fn each_optimizer_rebuilds_from_its_config() {
    let optimizers: Vec<Box<dyn Optimizer>> = vec![
        Box::new(Sgd::new(0.1).momentum(0.9).nesterov(true).decay(0.01)),
        Box::new(Adam::new(0.002).betas(0.8, 0.99).epsilon(1e-6)),
        Box::new(RmsProp::new(0.01).rho(0.8).momentum(0.5)),
    ];
    for o in optimizers {
        let config = o.config().unwrap();
        assert_eq!(config.build().unwrap().config(), Some(config));
    }
    assert!(
        OptimizerConfig::Sgd(SgdConfig {
            rate: LearningRate {
                learning_rate: -1.0,
                decay: 0.0
            },
            momentum: 0.0,
            nesterov: false,
            momentum_form: MomentumForm::Keras,
        })
        .build()
        .is_err()
    );
}

#[test]
fn optimizer_state_moves_from_one_optimizer_to_another() {
    let mut a = Sgd::new(0.1).momentum(0.9);
    let mut w = array![[1.0f32, 2.0]];
    a.update(0, 0.1, 0, w.view_mut(), array![[0.5f32, -0.5]].view());
    a.finish_step();
    let state = a.state();
    assert_eq!(state.iterations, 1);
    // v = -0.1 · g = [-0.05, 0.05]
    assert_eq!(state.buffers[0].name, "velocity");
    assert_eq!(state.buffers[0].slots[0], array![[-0.05f32, 0.05]]);
    let mut b = Sgd::new(0.1).momentum(0.9);
    b.set_state(state.clone()).unwrap();
    assert_eq!(b.state(), state);
}

#[test]
fn state_with_other_buffer_names_is_refused() {
    let mut adam = Adam::new(0.01);
    let state = Sgd::new(0.1).momentum(0.9).state();
    assert!(adam.set_state(state).is_err());
    let mut sgd = Sgd::new(0.1);
    let mut wrong = sgd.state();
    wrong.buffers.push(StateBuffers {
        name: "m".into(),
        slots: Vec::new(),
    });
    assert!(sgd.set_state(wrong).is_err());
}

#[cfg(feature = "serde")]
#[test]
fn optimizer_configs_are_flat_json_with_the_momentum_form_by_name() {
    let config = ndnet::optimizers::Sgd::new(0.5)
        .momentum(0.9)
        .momentum_form(MomentumForm::PyTorch)
        .config()
        .unwrap();
    let json = serde_json::to_value(&config).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "class_name": "SGD",
            "config": {
                "learning_rate": 0.5,
                "decay": 0.0,
                "momentum": 0.9f32,
                "nesterov": false,
                "momentum_form": "pytorch"
            }
        })
    );
    // A config without `momentum_form` is Keras's form.
    let keras: OptimizerConfig = serde_json::from_value(serde_json::json!({
        "class_name": "SGD",
        "config": {"learning_rate": 0.5, "decay": 0.0, "momentum": 0.9, "nesterov": false}
    }))
    .unwrap();
    let OptimizerConfig::Sgd(sgd) = keras else {
        panic!("{keras:?}")
    };
    assert_eq!(sgd.momentum_form, MomentumForm::Keras);
    assert_eq!(sgd.rate.learning_rate, 0.5);
    // A missing learning rate is an error, not a default.
    assert!(
        serde_json::from_value::<OptimizerConfig>(serde_json::json!({
            "class_name": "Adam",
            "config": {"decay": 0.0, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}
        }))
        .is_err()
    );
}
