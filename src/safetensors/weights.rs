//! A model's weights as a safetensors file, in Keras's or PyTorch's names and shapes.

use std::path::Path;

use ndarray::{ArrayD, Ix2};

use super::{TensorFile, read_all, read_bytes, read_file};
use crate::activation::Activation;
use crate::error::{Error, ModelFileError, Result};
use crate::layers::{LayerConfig, weight_name};
use crate::model::Sequential;

/// How [`Sequential::save_weights`] names and shapes the weights, and what
/// [`Sequential::load_weights`] expects.
///
/// For the model `Dense(8, relu) → Dropout(0.2) → Dense(3, linear) → Softmax → Dense(1, sigmoid)`
/// on 4 inputs:
///
/// | layer | `Keras` | `PyTorch` | the `torch.nn.Sequential` module |
/// |---|---|---|---|
/// | `Dense(8, relu)` | `dense/kernel` (4, 8), `dense/bias` (8) | `0.weight` (8, 4), `0.bias` (8) | `0: Linear(4, 8)`, `1: ReLU()` |
/// | `Dropout(0.2)` | | | `2: Dropout(0.2)` |
/// | `Dense(3)` | `dense_1/kernel` (8, 3), `dense_1/bias` (3) | `3.weight` (3, 8), `3.bias` (3) | `3: Linear(8, 3)` |
/// | `Softmax` | | | `4: Softmax(dim=1)` |
/// | `Dense(1, sigmoid)` | `dense_2/kernel` (3, 1), `dense_2/bias` (1) | `5.weight` (1, 3), `5.bias` (1) | `5: Linear(3, 1)`, `6: Sigmoid()` |
///
/// That is, in the PyTorch layout every ndnet layer is one module of the equivalent
/// `torch.nn.Sequential`, except a `Dense` layer with an activation other than `linear`, which is
/// two (`nn.Linear`, then the activation); a `Dense` layer's weights are named by the index of
/// its `nn.Linear`, and its kernel is stored transposed, `(units, inputs)`, as `nn.Linear`
/// stores `weight`. Dropout, noise and activation layers have no weights but take an index.
/// A layer without a bias (`use_bias(false)`) has no `bias` tensor, as `nn.Linear(bias=False)`.
///
/// In the Keras layout a weight is named `{layer name}/kernel` or `{layer name}/bias` with the
/// names of [`Sequential::layer_names`] (`dense`, `dense_1`, …, as Keras names them), kernels
/// `(inputs, units)`, the order and shapes of [`Sequential::get_weights`] (so
/// `model.set_weights([f[k] for k in names])` moves them into Keras).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum WeightLayout {
    /// `dense/kernel` `(inputs, units)`, `dense/bias` `(units,)`, `dense_1/kernel`, …
    #[default]
    Keras,
    /// `0.weight` `(units, inputs)`, `0.bias` `(units,)`, … as `torch.nn.Sequential` of
    /// `nn.Linear` and activation modules names them.
    PyTorch,
}

impl WeightLayout {
    fn name(self) -> &'static str {
        match self {
            WeightLayout::Keras => "Keras",
            WeightLayout::PyTorch => "PyTorch",
        }
    }
}

/// One weight tensor of a model: its name in the file and whether the file holds it transposed.
struct Slot {
    name: String,
    transposed: bool,
}

/// The file names of the model's weights, in [`Sequential::get_weights`] order.
fn slots(model: &Sequential, layout: WeightLayout) -> Result<Vec<Slot>> {
    let mut slots = Vec::new();
    let mut module = 0usize;
    for (index, (layer, name)) in model.layers().iter().zip(model.layer_names()).enumerate() {
        let count = layer.weights().len();
        match layout {
            WeightLayout::Keras => slots.extend((0..count).map(|k| Slot {
                name: weight_name(name, k),
                transposed: false,
            })),
            WeightLayout::PyTorch => match layer.config() {
                LayerConfig::Dense { activation, .. } => {
                    slots.extend(["weight", "bias"].iter().take(count).map(|w| Slot {
                        name: format!("{module}.{w}"),
                        transposed: *w == "weight",
                    }));
                    module += if activation == Activation::Linear {
                        1
                    } else {
                        2
                    };
                }
                _ if count > 0 => {
                    return Err(Error::InvalidState(format!(
                        "layer {index} ({name}) has weights but no PyTorch equivalent"
                    )));
                }
                _ => module += 1,
            },
        }
    }
    Ok(slots)
}

impl Sequential {
    /// Saves the weights (not the architecture or the optimizer) as a
    /// [safetensors](crate::safetensors) file, named and shaped as `layout` says (see
    /// [`WeightLayout`]); the write is atomic. The metadata holds `"format": "pt"` for the
    /// PyTorch layout (as `safetensors.torch` writes), `"format": "keras"` otherwise.
    ///
    /// Python reads it with `safetensors.numpy.load_file(path)` (a dict of arrays) or
    /// `model.load_state_dict(safetensors.torch.load_file(path))`.
    ///
    /// ```
    /// use ndnet::prelude::*;
    /// use ndnet::safetensors::{TensorFile, WeightLayout};
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("model.safetensors");
    /// let mut model = Sequential::new(4).with_seed(1);
    /// model.add(Dense::new(3).activation(Activation::Relu))?;
    /// model.add(Dense::new(1).activation(Activation::Sigmoid))?;
    /// model.save_weights(&path, WeightLayout::PyTorch)?;
    /// let file = TensorFile::load(&path)?;
    /// assert_eq!(file.get("0.weight").unwrap().shape(), &[3, 4]); // nn.Linear(4, 3)
    /// assert_eq!(file.get("2.bias").unwrap().shape(), &[1]);      // after the ReLU at 1
    /// # Ok::<(), ndnet::Error>(())
    /// ```
    pub fn save_weights(&self, path: impl AsRef<Path>, layout: WeightLayout) -> Result<()> {
        self.weights_file(layout)?.save(path)
    }

    /// The weights as a [`TensorFile`], as [`save_weights`](Self::save_weights) writes it.
    /// Errors: a layer defined outside ndnet has weights and the layout is PyTorch, or a weight
    /// is not finite.
    pub fn weights_file(&self, layout: WeightLayout) -> Result<TensorFile> {
        let mut file = TensorFile::new();
        file.insert_metadata(
            "format",
            match layout {
                WeightLayout::Keras => "keras",
                WeightLayout::PyTorch => "pt",
            },
        );
        for (slot, w) in slots(self, layout)?.into_iter().zip(self.get_weights()) {
            let w = if slot.transposed {
                w.t().as_standard_layout().into_owned()
            } else {
                w
            };
            file.push(slot.name, w)?;
        }
        Ok(file)
    }

    /// Loads weights saved by [`save_weights`](Self::save_weights) with the same `layout`, or
    /// written by another program in it (e.g.
    /// `safetensors.torch.save_file(torch_model.state_dict(), path)` for the equivalent
    /// `torch.nn.Sequential`, or `safetensors.numpy.save_file(...)`), into this model, which must
    /// have the architecture they came from. `F64`, `F16` and `BF16` tensors are converted to
    /// `f32`.
    ///
    /// Errors, with nothing changed: [`Error::ModelFile`] for a damaged file, a missing tensor,
    /// one of another shape, or one the model has no place for (all named); [`Error::Io`] if
    /// the file cannot be read.
    pub fn load_weights(&mut self, path: impl AsRef<Path>, layout: WeightLayout) -> Result<()> {
        let path = path.as_ref();
        let file = read_file(path, read_all)?;
        self.set_weights_from(file, layout, &path.display().to_string())
    }

    /// [`load_weights`](Self::load_weights) from the bytes of a file.
    pub fn load_weights_from_bytes(&mut self, bytes: &[u8], layout: WeightLayout) -> Result<()> {
        let file = read_bytes(bytes, read_all)?;
        self.set_weights_from(file, layout, "<bytes>")
    }

    fn set_weights_from(
        &mut self,
        file: TensorFile,
        layout: WeightLayout,
        source: &str,
    ) -> Result<()> {
        let model_file = |problem| Error::ModelFile {
            source_name: source.to_string(),
            problem,
        };
        let weights = self.weights_in(file, layout).map_err(model_file)?;
        self.set_weights(&weights)
            .map_err(|e| model_file(ModelFileError::Header(e.to_string())))
    }

    /// The tensors of `file` in [`get_weights`](Self::get_weights) order and shapes.
    fn weights_in(
        &self,
        file: TensorFile,
        layout: WeightLayout,
    ) -> std::result::Result<Vec<ArrayD<f32>>, ModelFileError> {
        let slots = slots(self, layout).map_err(|e| ModelFileError::Header(e.to_string()))?;
        let mut tensors = file.into_tensors();
        let mut weights = Vec::with_capacity(slots.len());
        for (index, (slot, current)) in slots.iter().zip(self.get_weights()).enumerate() {
            let Some(at) = tensors.iter().position(|(n, _)| *n == slot.name) else {
                return Err(ModelFileError::Header(format!(
                    "no tensor {} (the model's weights in the {} layout are {})",
                    slot.name,
                    layout.name(),
                    slots
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            let (name, tensor) = tensors.swap_remove(at);
            let mut expected = current.shape().to_vec();
            if slot.transposed {
                expected.reverse();
            }
            if tensor.shape() != expected.as_slice() {
                return Err(ModelFileError::Shape {
                    index,
                    name,
                    expected,
                    found: tensor.shape().to_vec(),
                });
            }
            weights.push(if slot.transposed {
                let t = tensor
                    .into_dimensionality::<Ix2>()
                    .map_err(|e| ModelFileError::Header(format!("tensor {name}: {e}")))?;
                t.t().as_standard_layout().into_owned().into_dyn()
            } else {
                tensor
            });
        }
        if let Some((name, _)) = tensors.first() {
            return Err(ModelFileError::Header(format!(
                "tensor {name} is not a weight of this model in the {} layout ({} extra)",
                layout.name(),
                tensors.len()
            )));
        }
        Ok(weights)
    }
}
