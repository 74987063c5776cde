//! A model's weights as a safetensors file, in Keras's or PyTorch's names and shapes (see
//! [`WeightLayout`]).

use std::path::Path;

use ndarray::{ArrayD, Ix2};

use crate::activation::Activation;
use crate::error::{Error, ModelFileError, Result};
use crate::layers::{LayerConfig, weight_name};
use crate::model::Sequential;
use crate::safetensors::{TensorFile, WeightLayout, read_all, read_bytes, read_file};

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
    /// let path = std::env::temp_dir().join(format!("ndnet-doc-{}.safetensors", std::process::id()));
    /// let mut model = Sequential::new(4).with_seed(1);
    /// model.add(Dense::new(3).activation(Activation::Relu))?;
    /// model.add(Dense::new(1).activation(Activation::Sigmoid))?;
    /// model.save_weights(&path, WeightLayout::PyTorch)?;
    /// let file = TensorFile::load(&path)?;
    /// assert_eq!(file.get("0.weight").unwrap().shape(), &[3, 4]); // nn.Linear(4, 3)
    /// assert_eq!(file.get("2.bias").unwrap().shape(), &[1]);      // after the ReLU at 1
    /// # std::fs::remove_file(&path).ok();
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
