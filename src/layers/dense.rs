use ndarray::{Array1, Array2, ArrayD, ArrayView2, ArrayViewMut2, Axis, Ix1, Ix2};
use rand::rngs::SmallRng;

use super::{Layer, LayerConfig, Mode, Param, check_backward, check_forward, check_shape};
use crate::activation::Activation;
use crate::constraints::Constraint;
use crate::error::{Error, Result, check_weight_count};
use crate::init::Initializer;
use crate::kernels::elementwise::zip2;
use crate::kernels::gemm::gemm;
use crate::regularizers::Regularizer;

/// Fully connected layer: `y = activation(x · W + b)`, `W` shaped `(inputs, units)`.
///
/// Defaults as Keras: linear activation, `GlorotUniform` kernel, zero bias, bias on, no
/// constraints, no regularizer.
///
/// ```
/// use ndnet::prelude::*;
/// let layer = Dense::new(60)
///     .activation(Activation::Relu)
///     .kernel_initializer(Initializer::KERAS_NORMAL)
///     .kernel_constraint(MaxNorm::new(3.0));
/// let mut model = Sequential::new(60);
/// model.add(layer)?;
/// assert_eq!(model.param_count(), 60 * 60 + 60);
/// # Ok::<(), ndnet::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Dense {
    units: usize,
    activation: Activation,
    use_bias: bool,
    kernel_initializer: Initializer,
    bias_initializer: Initializer,
    kernel_constraint: Option<Box<dyn Constraint>>,
    bias_constraint: Option<Box<dyn Constraint>>,
    kernel_regularizer: Option<Regularizer>,
    skip_activation_grad: bool,
    kernel: Array2<f32>,
    bias: Array1<f32>,
    kernel_grad: Array2<f32>,
    bias_grad: Array1<f32>,
    /// Scratch for the matrix products (grows once).
    pack: Vec<f32>,
}

impl Dense {
    /// A layer with `units` outputs.
    pub fn new(units: usize) -> Self {
        Dense {
            units,
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            kernel_constraint: None,
            bias_constraint: None,
            kernel_regularizer: None,
            skip_activation_grad: false,
            kernel: Array2::zeros((0, 0)),
            bias: Array1::zeros(0),
            kernel_grad: Array2::zeros((0, 0)),
            bias_grad: Array1::zeros(0),
            pack: Vec::new(),
        }
    }

    /// Sets the activation.
    pub fn activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// Sets the kernel initializer.
    pub fn kernel_initializer(mut self, init: Initializer) -> Self {
        self.kernel_initializer = init;
        self
    }

    /// Sets the bias initializer.
    pub fn bias_initializer(mut self, init: Initializer) -> Self {
        self.bias_initializer = init;
        self
    }

    /// Constrains the kernel after every update.
    pub fn kernel_constraint(mut self, c: impl Constraint + 'static) -> Self {
        self.kernel_constraint = Some(Box::new(c));
        self
    }

    /// Constrains the bias after every update (seen as `(units, 1)`).
    pub fn bias_constraint(mut self, c: impl Constraint + 'static) -> Self {
        self.bias_constraint = Some(Box::new(c));
        self
    }

    /// Adds an L1/L2 penalty on the kernel to the loss (see [`Regularizer`]).
    pub fn kernel_regularizer(mut self, r: Regularizer) -> Self {
        self.kernel_regularizer = Some(r);
        self
    }

    /// Turns the bias on or off.
    pub fn use_bias(mut self, use_bias: bool) -> Self {
        self.use_bias = use_bias;
        self
    }

    /// Number of output units.
    pub fn units(&self) -> usize {
        self.units
    }

    /// The kernel `(inputs, units)`.
    pub fn kernel(&self) -> &Array2<f32> {
        &self.kernel
    }

    /// The bias `(units,)` (empty when `use_bias` is off).
    pub fn bias(&self) -> &Array1<f32> {
        &self.bias
    }
}

impl Layer for Dense {
    fn kind(&self) -> &'static str {
        "Dense"
    }

    fn build(&mut self, input_dim: usize, rng: &mut SmallRng) -> Result<usize> {
        if self.units == 0 {
            return Err(Error::param("Dense", "units", 0, "must be at least 1"));
        }
        self.activation.validate("Dense")?;
        self.kernel_initializer.validate("Dense kernel")?;
        self.bias_initializer.validate("Dense bias")?;
        for c in self.kernel_constraint.iter().chain(&self.bias_constraint) {
            c.validate()?;
        }
        if let Some(r) = &self.kernel_regularizer {
            r.validate("Dense kernel_regularizer")?;
        }
        self.kernel = Array2::zeros((input_dim, self.units));
        self.kernel_initializer
            .fill(self.kernel.view_mut(), input_dim, self.units, rng);
        self.kernel_grad = Array2::zeros((input_dim, self.units));
        let bias_len = if self.use_bias { self.units } else { 0 };
        self.bias = Array1::zeros(bias_len);
        self.bias_initializer
            .fill(self.bias.view_mut(), input_dim, self.units, rng);
        self.bias_grad = Array1::zeros(bias_len);
        Ok(self.units)
    }

    fn input_dim(&self) -> usize {
        self.kernel.nrows()
    }

    fn output_dim(&self) -> usize {
        self.kernel.ncols()
    }

    fn forward(
        &mut self,
        input: ArrayView2<f32>,
        mut output: ArrayViewMut2<f32>,
        _mode: Mode,
    ) -> Result<()> {
        let dims = (self.input_dim(), self.output_dim());
        check_forward("Dense", dims, &input, &output)?;
        gemm(
            1.0,
            &input,
            &self.kernel.view(),
            0.0,
            &mut output,
            &mut self.pack,
        )?;
        let bias = self.use_bias.then(|| self.bias.view());
        self.activation.apply_with_bias(output, bias)
    }

    fn backward(
        &mut self,
        input: ArrayView2<f32>,
        output: ArrayView2<f32>,
        mut grad_output: ArrayViewMut2<f32>,
        grad_input: Option<ArrayViewMut2<f32>>,
    ) -> Result<()> {
        let dims = (self.input_dim(), self.output_dim());
        check_backward(
            "Dense",
            dims,
            &input,
            &output,
            &grad_output,
            grad_input.as_ref(),
        )?;
        if self.use_bias {
            // A bias switched on after `build` has no weights yet.
            let found = [self.bias_grad.len(), 1];
            check_shape("Dense", "bias (build the layer again)", (dims.1, 1), &found)?;
        }
        if !self.skip_activation_grad {
            self.activation.backward(output, grad_output.view_mut())?;
        }
        gemm(
            1.0,
            &input.t(),
            &grad_output.view(),
            1.0,
            &mut self.kernel_grad.view_mut(),
            &mut self.pack,
        )?;
        if let Some(r) = &self.kernel_regularizer {
            r.add_gradient(self.kernel.view(), self.kernel_grad.view_mut());
        }
        if self.use_bias {
            let mut bias_grad = self.bias_grad.view_mut().insert_axis(Axis(0));
            for row in grad_output.rows() {
                zip2(bias_grad.view_mut(), row.insert_axis(Axis(0)), |b, g| {
                    *b += g
                });
            }
        }
        if let Some(mut gi) = grad_input {
            gemm(
                1.0,
                &grad_output.view(),
                &self.kernel.t(),
                0.0,
                &mut gi,
                &mut self.pack,
            )?;
        }
        Ok(())
    }

    fn zero_grad(&mut self) {
        for g in [
            self.kernel_grad.as_slice_mut(),
            self.bias_grad.as_slice_mut(),
        ]
        .into_iter()
        .flatten()
        {
            g.fill(0.0);
        }
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(Param<'_>)) {
        f(Param {
            name: "kernel",
            value: self.kernel.view_mut(),
            grad: self.kernel_grad.view(),
            constraint: self.kernel_constraint.as_deref(),
        });
        if self.use_bias {
            f(Param {
                name: "bias",
                value: self.bias.view_mut().insert_axis(Axis(1)),
                grad: self.bias_grad.view().insert_axis(Axis(1)),
                constraint: self.bias_constraint.as_deref(),
            });
        }
    }

    fn param_count(&self) -> usize {
        self.kernel.len() + self.bias.len()
    }

    fn weights(&self) -> Vec<ArrayD<f32>> {
        let mut w = vec![self.kernel.clone().into_dyn()];
        if self.use_bias {
            w.push(self.bias.clone().into_dyn());
        }
        w
    }

    fn set_weights(&mut self, weights: &[ArrayD<f32>]) -> Result<()> {
        let expected = 1 + usize::from(self.use_bias);
        check_weight_count("Dense", expected, weights.len())?;
        let kernel = weights[0]
            .view()
            .into_dimensionality::<Ix2>()
            .ok()
            .filter(|k| k.dim() == self.kernel.dim())
            .ok_or_else(|| Error::ShapeMismatch {
                what: "Dense kernel".into(),
                expected: self.kernel.shape().to_vec(),
                found: weights[0].shape().to_vec(),
            })?;
        if self.use_bias {
            let bias = weights[1]
                .view()
                .into_dimensionality::<Ix1>()
                .ok()
                .filter(|b| b.len() == self.bias.len())
                .ok_or_else(|| Error::ShapeMismatch {
                    what: "Dense bias".into(),
                    expected: self.bias.shape().to_vec(),
                    found: weights[1].shape().to_vec(),
                })?;
            self.bias.assign(&bias);
        }
        self.kernel.assign(&kernel);
        Ok(())
    }

    fn regularization_loss(&self) -> f32 {
        self.kernel_regularizer
            .map_or(0.0, |r| r.penalty(self.kernel.view()))
    }

    fn output_activation(&self) -> Option<Activation> {
        Some(self.activation)
    }

    fn set_skip_output_activation_grad(&mut self, skip: bool) {
        self.skip_activation_grad = skip;
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::Dense {
            units: self.units,
            activation: self.activation,
            use_bias: self.use_bias,
            kernel_initializer: self.kernel_initializer,
            bias_initializer: self.bias_initializer,
            kernel_constraint: self.kernel_constraint.as_ref().map(|c| c.config()),
            bias_constraint: self.bias_constraint.as_ref().map(|c| c.config()),
            kernel_regularizer: self.kernel_regularizer,
        }
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}
