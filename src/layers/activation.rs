use ndarray::{ArrayView2, ArrayViewMut2};
use rand::rngs::SmallRng;

use super::{GradWrt, Layer, LayerConfig, check_backward_same, check_forward_same};
use crate::activation::Activation;
use crate::error::Result;

/// A layer that applies an [`Activation`] to its input (Keras's `Activation('relu')`).
///
/// [`relu`], [`sigmoid`], [`tanh`], [`softmax`], [`leaky_relu`] and [`linear`] build the
/// common ones (Keras's `ReLU()`, `LeakyReLU(alpha)`, …).
///
/// ```
/// use ndnet::prelude::*;
/// use ndnet::layers::relu;
/// let mut model = Sequential::new(2);
/// model.add(relu())?;
/// model.add(ActivationLayer::new(Activation::Tanh))?;
/// assert_eq!(model.predict(&ndarray::array![[-1.0f32, 0.0]])?, ndarray::array![[0.0, 0.0]]);
/// # Ok::<(), ndnet::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ActivationLayer {
    activation: Activation,
}

impl ActivationLayer {
    /// A layer applying `activation`.
    pub fn new(activation: Activation) -> Self {
        ActivationLayer { activation }
    }

    /// The activation applied.
    pub fn activation(&self) -> Activation {
        self.activation
    }
}

impl Layer for ActivationLayer {
    fn build(&mut self, input_dim: usize, _rng: &mut SmallRng) -> Result<usize> {
        self.activation.validate("Activation")?;
        Ok(input_dim)
    }

    fn infer(&self, input: ArrayView2<f32>, mut output: ArrayViewMut2<f32>) -> Result<()> {
        check_forward_same("Activation", &input, &output)?;
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
        wrt: GradWrt,
    ) -> Result<()> {
        let gi = grad_input.as_ref();
        check_backward_same("Activation", &input, &output, &grad_output, gi)?;
        let Some(mut gi) = grad_input else {
            return Ok(());
        };
        if wrt == GradWrt::Output {
            self.activation.backward(output, grad_output.view_mut())?;
        }
        gi.assign(&grad_output);
        Ok(())
    }

    fn output_activation(&self) -> Option<Activation> {
        Some(self.activation)
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::Activation(self.activation)
    }
}

/// A ReLU layer, Keras's `ReLU()`: [`ActivationLayer`] with [`Activation::Relu`].
pub fn relu() -> ActivationLayer {
    ActivationLayer::new(Activation::Relu)
}

/// A sigmoid layer: [`ActivationLayer`] with [`Activation::Sigmoid`].
pub fn sigmoid() -> ActivationLayer {
    ActivationLayer::new(Activation::Sigmoid)
}

/// A tanh layer: [`ActivationLayer`] with [`Activation::Tanh`].
pub fn tanh() -> ActivationLayer {
    ActivationLayer::new(Activation::Tanh)
}

/// A softmax layer, Keras's `Softmax()`: [`ActivationLayer`] with [`Activation::Softmax`].
pub fn softmax() -> ActivationLayer {
    ActivationLayer::new(Activation::Softmax)
}

/// A linear (identity) layer: [`ActivationLayer`] with [`Activation::Linear`].
pub fn linear() -> ActivationLayer {
    ActivationLayer::new(Activation::Linear)
}

/// A leaky ReLU layer with slope `alpha` for negative inputs, Keras's `LeakyReLU(alpha)` (Keras's
/// default is 0.3): [`ActivationLayer`] with [`Activation::LeakyRelu`]. The slope is validated
/// when the layer is added to a model.
pub fn leaky_relu(alpha: f32) -> ActivationLayer {
    ActivationLayer::new(Activation::LeakyRelu { alpha })
}
