use ndarray::{Array1, ArrayD, ArrayView2, ArrayViewMut2, Ix1, Zip};
use rand::rngs::SmallRng;

use super::{GradWrt, Layer, LayerConfig, check_backward, check_forward};
use crate::data::StandardScaler;
use crate::error::{Error, Result, check_weight_count};
use crate::validate::check_finite;

/// Per-feature standardization inside the model, `z = (x - mean) / scale`: Keras 3's
/// `keras.layers.Normalization` with scikit-learn's `StandardScaler` rule for the scale.
///
/// [`adapt`](Normalization::adapt) learns each column's mean and population standard deviation
/// (divisor `n`) from data; a column whose variance is zero (up to rounding, scikit-learn's
/// test) gets scale 1, so it becomes 0 instead of NaN. (Keras divides by `max(std, 1e-7)`
/// instead; the two differ only for constant or nearly constant columns.) The statistics are
/// computed in `f64` and kept as `f32`; the transform is computed in `f64`.
///
/// The layer has no trainable parameters (`param_count` is 0 and the optimizer never sees it),
/// but its statistics are weights: [`weights`](Layer::weights) returns `[mean, scale]`, each of
/// shape `(features,)`, and a saved model stores and restores them, so a model trained on
/// standardized data predicts on raw rows. Before it is adapted (or given statistics) the layer
/// is the identity (mean 0, scale 1). As the first layer of a model, it is adapted on each
/// training fold by [`CrossValidation`](crate::selection::CrossValidation) (which then does not
/// standardize the data itself): the tutorial's `Pipeline([StandardScaler(), model])` as one
/// model.
///
/// ```
/// use ndarray::array;
/// use ndnet::prelude::*;
/// use ndnet::layers::Normalization;
///
/// let x = array![[1.0f32, 10.0], [3.0, 10.0]];
/// let mut norm = Normalization::new();
/// norm.adapt(x.view())?;
/// // Column 0: mean 2, population std 1. Column 1 is constant: mean 10, scale 1.
/// assert_eq!(norm.mean(), Some(&[2.0f32, 10.0][..]));
/// assert_eq!(norm.scale(), Some(&[1.0f32, 1.0][..]));
/// let mut model = Sequential::new(2);
/// model.add(norm)?;
/// assert_eq!(model.predict(&x)?, array![[-1.0, 0.0], [1.0, 0.0]]);
/// # Ok::<(), ndnet::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Normalization {
    /// The statistics, once adapted or given.
    stats: Option<(Array1<f32>, Array1<f32>)>,
    width: usize,
}

impl Normalization {
    /// A layer without statistics yet: the identity until [`adapt`](Self::adapt)ed.
    pub fn new() -> Self {
        Normalization::default()
    }

    /// A layer with the given per-feature `mean` and `scale` (the divisor), e.g. from a
    /// [`StandardScaler`] fitted elsewhere.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] if the lengths differ; [`Error::EmptyData`] if they are empty;
    /// [`Error::NonFinite`] for a NaN or infinite value; [`Error::InvalidParameter`] for a
    /// scale that is not positive.
    pub fn from_parts(mean: &[f32], scale: &[f32]) -> Result<Self> {
        let mut layer = Normalization::new();
        layer.set_stats(Array1::from(mean.to_vec()), Array1::from(scale.to_vec()))?;
        Ok(layer)
    }

    /// A layer applying the same transform as a fitted `scaler` (its statistics rounded to
    /// `f32`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidState`] if `scaler` is not fitted.
    pub fn from_scaler(scaler: &StandardScaler) -> Result<Self> {
        let (Some(mean), Some(scale)) = (scaler.mean(), scaler.scale()) else {
            return Err(Error::InvalidState(
                "Normalization::from_scaler: the scaler is not fitted".into(),
            ));
        };
        let mean: Vec<f32> = mean.iter().map(|&v| v as f32).collect();
        let scale: Vec<f32> = scale.iter().map(|&v| v as f32).collect();
        Normalization::from_parts(&mean, &scale)
    }

    /// Learns each column's mean and scale from `x` (rows are samples), as
    /// [`StandardScaler::fit`].
    ///
    /// # Errors
    ///
    /// As [`StandardScaler::fit`]; [`Error::ShapeMismatch`] if the layer is already built for
    /// another width.
    pub fn adapt(&mut self, x: ArrayView2<'_, f32>) -> Result<()> {
        if self.width != 0 && x.ncols() != self.width {
            return Err(Error::ShapeMismatch {
                what: format!(
                    "Normalization::adapt: the layer takes {} features, the data has {}",
                    self.width,
                    x.ncols()
                ),
                expected: vec![x.nrows(), self.width],
                found: vec![x.nrows(), x.ncols()],
            });
        }
        let mut scaler = StandardScaler::new();
        scaler.fit(x)?;
        let adapted = Normalization::from_scaler(&scaler)?;
        self.stats = adapted.stats;
        Ok(())
    }

    /// Whether the layer has statistics (adapted, given or loaded).
    pub fn is_adapted(&self) -> bool {
        self.stats.is_some()
    }

    /// The per-feature mean, once adapted.
    pub fn mean(&self) -> Option<&[f32]> {
        self.stats.as_ref().and_then(|(m, _)| m.as_slice())
    }

    /// The per-feature divisor (population standard deviation, 1 for a constant column), once
    /// adapted.
    pub fn scale(&self) -> Option<&[f32]> {
        self.stats.as_ref().and_then(|(_, s)| s.as_slice())
    }

    fn set_stats(&mut self, mean: Array1<f32>, scale: Array1<f32>) -> Result<()> {
        if mean.len() != scale.len() {
            return Err(Error::ShapeMismatch {
                what: "Normalization: mean and scale lengths".into(),
                expected: vec![mean.len()],
                found: vec![scale.len()],
            });
        }
        if mean.is_empty() {
            return Err(Error::EmptyData("Normalization: no features".into()));
        }
        if self.width != 0 && mean.len() != self.width {
            return Err(Error::ShapeMismatch {
                what: "Normalization statistics".into(),
                expected: vec![self.width],
                found: vec![mean.len()],
            });
        }
        check_finite(|| "Normalization mean".into(), mean.view())?;
        check_finite(|| "Normalization scale".into(), scale.view())?;
        if let Some(j) = scale.iter().position(|&s| s <= 0.0) {
            return Err(Error::param(
                "Normalization",
                "scale",
                scale[j],
                "every scale must be positive",
            ));
        }
        self.stats = Some((mean, scale));
        Ok(())
    }
}

impl Layer for Normalization {
    fn build(&mut self, input_dim: usize, _rng: &mut SmallRng) -> Result<usize> {
        if let Some((mean, _)) = &self.stats
            && mean.len() != input_dim
        {
            return Err(Error::ShapeMismatch {
                what: format!(
                    "Normalization: statistics of {} features for an input of width {input_dim}",
                    mean.len()
                ),
                expected: vec![input_dim],
                found: vec![mean.len()],
            });
        }
        self.width = input_dim;
        Ok(input_dim)
    }

    fn infer(&self, input: ArrayView2<f32>, mut output: ArrayViewMut2<f32>) -> Result<()> {
        check_forward("Normalization", (self.width, self.width), &input, &output)?;
        let Some((mean, scale)) = &self.stats else {
            output.assign(&input);
            return Ok(());
        };
        for (mut out, row) in output.rows_mut().into_iter().zip(input.rows()) {
            Zip::from(&mut out)
                .and(&row)
                .and(mean)
                .and(scale)
                .for_each(|o, &x, &m, &s| {
                    *o = ((f64::from(x) - f64::from(m)) / f64::from(s)) as f32;
                });
        }
        Ok(())
    }

    fn backward(
        &mut self,
        input: ArrayView2<f32>,
        output: ArrayView2<f32>,
        grad_output: ArrayViewMut2<f32>,
        grad_input: Option<ArrayViewMut2<f32>>,
        _wrt: GradWrt,
    ) -> Result<()> {
        let (dims, gi) = ((self.width, self.width), grad_input.as_ref());
        check_backward("Normalization", dims, &input, &output, &grad_output, gi)?;
        let Some(mut gi) = grad_input else {
            return Ok(());
        };
        let Some((_, scale)) = &self.stats else {
            gi.assign(&grad_output);
            return Ok(());
        };
        for (mut g, go) in gi.rows_mut().into_iter().zip(grad_output.rows()) {
            Zip::from(&mut g)
                .and(&go)
                .and(scale)
                .for_each(|g, &go, &s| *g = go / s);
        }
        Ok(())
    }

    /// `[mean, scale]`, each `(features,)`; the identity's zeros and ones before adapting.
    fn weights(&self) -> Vec<ArrayD<f32>> {
        match &self.stats {
            Some((mean, scale)) => vec![mean.clone().into_dyn(), scale.clone().into_dyn()],
            None => vec![
                Array1::<f32>::zeros(self.width).into_dyn(),
                Array1::<f32>::ones(self.width).into_dyn(),
            ],
        }
    }

    fn set_weights(&mut self, weights: &[ArrayD<f32>]) -> Result<()> {
        check_weight_count("Normalization", 2, weights.len())?;
        let vector = |i: usize, what: &str| {
            weights[i]
                .view()
                .into_dimensionality::<Ix1>()
                .ok()
                .filter(|v| v.len() == self.width)
                .map(|v| v.to_owned())
                .ok_or_else(|| Error::ShapeMismatch {
                    what: format!("Normalization {what}"),
                    expected: vec![self.width],
                    found: weights[i].shape().to_vec(),
                })
        };
        let mean = vector(0, "mean")?;
        let scale = vector(1, "scale")?;
        self.set_stats(mean, scale)
    }

    fn adapt(&mut self, x: ArrayView2<'_, f32>) -> Result<bool> {
        Normalization::adapt(self, x)?;
        Ok(true)
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::Normalization
    }
}
