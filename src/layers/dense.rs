use ndarray::{Array1, Array2, ArrayView2, ArrayViewD, ArrayViewMut2, Axis};
use rand::rngs::SmallRng;

use super::{GradWrt, Layer, LayerConfig, Mode, Param, check_backward, check_forward, check_shape};
use crate::activation::Activation;
use crate::constraints::Constraint;
use crate::error::{Error, Result};
use crate::init::{Initializer, try_vec, try_zeros2};
use crate::kernels::elementwise::zip2;
use crate::kernels::gemm::{Pack, gemm};
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
    kernel: Array2<f32>,
    bias: Array1<f32>,
    kernel_grad: Array2<f32>,
    bias_grad: Array1<f32>,
    /// Scratch for the matrix products (grows once).
    pack: Pack,
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
            kernel: Array2::zeros((0, 0)),
            bias: Array1::zeros(0),
            kernel_grad: Array2::zeros((0, 0)),
            bias_grad: Array1::zeros(0),
            pack: Pack::default(),
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

    /// `output = activation(input · W + b)` after the shape checks, with `pack` as the
    /// products' scratch.
    fn affine(
        &self,
        input: ArrayView2<f32>,
        mut output: ArrayViewMut2<f32>,
        pack: &mut Pack,
    ) -> Result<()> {
        check_forward("Dense", self.kernel.dim(), &input, &output)?;
        gemm(1.0, &input, &self.kernel.view(), 0.0, &mut output, pack)?;
        let bias = self.use_bias.then(|| self.bias.view());
        self.activation.apply_with_bias(output, bias)
    }
}

impl Layer for Dense {
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
        // Sizes are checked (and memory reserved) before anything is allocated or changed.
        let kernel = try_zeros2("Dense", "units", input_dim, self.units)?;
        let kernel_grad = try_zeros2("Dense", "units", input_dim, self.units)?;
        let bias_len = if self.use_bias { self.units } else { 0 };
        let bias = Array1::from(try_vec("Dense", "units", bias_len, 0.0f32)?);
        let bias_grad = Array1::from(try_vec("Dense", "units", bias_len, 0.0f32)?);
        (self.kernel, self.kernel_grad) = (kernel, kernel_grad);
        (self.bias, self.bias_grad) = (bias, bias_grad);
        self.kernel_initializer
            .fill(self.kernel.view_mut(), input_dim, self.units, rng);
        self.bias_initializer
            .fill(self.bias.view_mut(), input_dim, self.units, rng);
        Ok(self.units)
    }

    /// The products' scratch is allocated for the call.
    fn infer(&self, input: ArrayView2<f32>, output: ArrayViewMut2<f32>) -> Result<()> {
        self.affine(input, output, &mut Pack::default())
    }

    /// As [`infer`](Layer::infer) in every mode, on the layer's own scratch (grown once).
    fn forward(
        &mut self,
        input: ArrayView2<f32>,
        output: ArrayViewMut2<f32>,
        _mode: Mode,
    ) -> Result<()> {
        let mut pack = std::mem::take(&mut self.pack);
        let result = self.affine(input, output, &mut pack);
        self.pack = pack;
        result
    }

    fn backward(
        &mut self,
        input: ArrayView2<f32>,
        output: ArrayView2<f32>,
        mut grad_output: ArrayViewMut2<f32>,
        grad_input: Option<ArrayViewMut2<f32>>,
        wrt: GradWrt,
    ) -> Result<()> {
        let dims = self.kernel.dim();
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
        if wrt == GradWrt::Output {
            self.activation.backward(output, grad_output.view_mut())?;
        }
        gemm(
            1.0,
            &input.t(),
            &grad_output.view(),
            0.0,
            &mut self.kernel_grad.view_mut(),
            &mut self.pack,
        )?;
        if let Some(r) = &self.kernel_regularizer {
            r.add_gradient(self.kernel.view(), self.kernel_grad.view_mut());
        }
        if self.use_bias {
            self.bias_grad.fill(0.0);
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

    fn visit_weights(&self, f: &mut dyn FnMut(&'static str, ArrayViewD<'_, f32>)) {
        f("kernel", self.kernel.view().into_dyn());
        if self.use_bias {
            f("bias", self.bias.view().into_dyn());
        }
    }

    fn regularization_loss(&self) -> f32 {
        self.kernel_regularizer
            .map_or(0.0, |r| r.penalty(self.kernel.view()))
    }

    fn output_activation(&self) -> Option<Activation> {
        Some(self.activation)
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
}
