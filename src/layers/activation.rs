use ndarray::{ArrayView2, ArrayViewMut2};
use rand::rngs::SmallRng;

use super::{Layer, LayerConfig, Mode, check_backward, check_forward};
use crate::activation::Activation;
use crate::error::Result;

/// A layer that applies an [`Activation`] to its input (Keras's `Activation('relu')`).
///
/// The named layers [`ReLU`], [`Sigmoid`], [`Tanh`], [`Softmax`], [`LeakyReLU`] and [`Linear`]
/// build one of these.
#[derive(Debug, Clone)]
pub struct ActivationLayer {
    activation: Activation,
    width: usize,
    skip_grad: bool,
}

impl ActivationLayer {
    /// A layer applying `activation`.
    pub fn new(activation: Activation) -> Self {
        ActivationLayer {
            activation,
            width: 0,
            skip_grad: false,
        }
    }

    /// The activation applied.
    pub fn activation(&self) -> Activation {
        self.activation
    }
}

impl Layer for ActivationLayer {
    fn kind(&self) -> &'static str {
        "Activation"
    }

    fn build(&mut self, input_dim: usize, _rng: &mut SmallRng) -> Result<usize> {
        self.activation.validate("Activation")?;
        self.width = input_dim;
        Ok(input_dim)
    }

    fn input_dim(&self) -> usize {
        self.width
    }

    fn output_dim(&self) -> usize {
        self.width
    }

    fn forward(
        &mut self,
        input: ArrayView2<f32>,
        mut output: ArrayViewMut2<f32>,
        _mode: Mode,
    ) -> Result<()> {
        check_forward("Activation", (self.width, self.width), &input, &output)?;
        output.assign(&input);
        self.activation.apply(output);
        Ok(())
    }

    fn backward(
        &mut self,
        input: ArrayView2<f32>,
        output: ArrayView2<f32>,
        mut grad_output: ArrayViewMut2<f32>,
        grad_input: Option<ArrayViewMut2<f32>>,
    ) -> Result<()> {
        let dims = (self.width, self.width);
        check_backward(
            "Activation",
            dims,
            &input,
            &output,
            &grad_output,
            grad_input.as_ref(),
        )?;
        let Some(mut gi) = grad_input else {
            return Ok(());
        };
        if !self.skip_grad {
            self.activation.backward(output, grad_output.view_mut())?;
        }
        gi.assign(&grad_output);
        Ok(())
    }

    fn output_activation(&self) -> Option<Activation> {
        Some(self.activation)
    }

    fn set_skip_output_activation_grad(&mut self, skip: bool) {
        self.skip_grad = skip;
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::Activation(self.activation)
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}

macro_rules! named_activation {
    ($(#[$doc:meta])* $name:ident => $act:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $name;

        impl $name {
            /// Builds the activation layer.
            #[allow(clippy::new_ret_no_self)]
            pub fn new() -> ActivationLayer {
                ActivationLayer::new($act)
            }
        }
    };
}

named_activation!(
    /// ReLU layer: `ReLU::new()` builds an [`ActivationLayer`] with [`Activation::Relu`].
    ReLU => Activation::Relu
);
named_activation!(
    /// Sigmoid layer: `Sigmoid::new()` builds an [`ActivationLayer`] with [`Activation::Sigmoid`].
    Sigmoid => Activation::Sigmoid
);
named_activation!(
    /// Tanh layer: `Tanh::new()` builds an [`ActivationLayer`] with [`Activation::Tanh`].
    Tanh => Activation::Tanh
);
named_activation!(
    /// Softmax layer: `Softmax::new()` builds an [`ActivationLayer`] with [`Activation::Softmax`].
    Softmax => Activation::Softmax
);
named_activation!(
    /// Linear (identity) layer: `Linear::new()` builds an [`ActivationLayer`] with
    /// [`Activation::Linear`].
    Linear => Activation::Linear
);

/// Leaky ReLU layer with slope `alpha` for negative inputs (Keras default 0.3).
#[derive(Debug, Clone, Copy)]
pub struct LeakyReLU;

impl LeakyReLU {
    /// Builds the activation layer with the given slope.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(alpha: f32) -> ActivationLayer {
        ActivationLayer::new(Activation::LeakyRelu { alpha })
    }
}
