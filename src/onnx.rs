//! Export to [ONNX](https://onnx.ai) for inference (feature `onnx`), for ONNX Runtime, Triton,
//! tract and other engines.
//!
//! [`Sequential::export_onnx`] writes a `ModelProto` (IR version 7, the default opset at version
//! [`OPSET`] = 13) whose graph computes [`Sequential::predict`]:
//!
//! | ndnet layer | ONNX nodes |
//! |---|---|
//! | `Dense` | `Gemm(x, kernel, bias)` (kernel `(inputs, units)` as `B`, no transposes; no `C` without a bias), then its activation |
//! | activation `relu`, `sigmoid`, `tanh` | `Relu`, `Sigmoid`, `Tanh` |
//! | `softmax` | `Softmax(axis = 1)` |
//! | `leaky_relu { alpha }` | `LeakyRelu(alpha)` |
//! | `selu` | `Selu(alpha = 1.6732632, gamma = 1.050701)` (Keras's constants) |
//! | `linear`, `Dropout`, `GaussianDropout`, `GaussianNoise`, `AlphaDropout` | nothing (the identity at inference) |
//!
//! The graph's input is `input`, `float[batch, input_dim]`, its output `output`,
//! `float[batch, output_dim]` (`batch` is symbolic); the weights are initializers named as in
//! the Keras layout (`dense/kernel`, `dense/bias`, …).
//!
//! ```python
//! import numpy as np, onnxruntime as ort
//! session = ort.InferenceSession("model.onnx")
//! y = session.run(None, {"input": x.astype(np.float32)})[0]
//! ```
//!
//! The protobuf is written by the few lines of wire encoding below (varints, fixed 32-bit
//! floats and length-delimited fields), which is all the messages a graph of this shape need.

use std::path::Path;

use crate::activation::{Activation, SELU_ALPHA, SELU_SCALE};
use crate::atomic_file::write_atomic;
use crate::error::{Error, Result};
use crate::layers::{LayerConfig, weight_name};
use crate::model::Sequential;

/// The version of the default ONNX operator set the exported graphs use.
pub const OPSET: i64 = 13;
/// The ONNX IR version of the exported files (the one that goes with opset 13).
pub const IR_VERSION: i64 = 7;

/// The largest file a protobuf message may be (2 GiB).
const MAX_PROTO_BYTES: usize = i32::MAX as usize;

/// `TensorProto.DataType.FLOAT`.
const FLOAT: i64 = 1;
/// `AttributeProto.AttributeType` values.
const ATTR_FLOAT: i64 = 1;
const ATTR_INT: i64 = 2;

/// A protobuf message being written.
#[derive(Default)]
struct Message(Vec<u8>);

impl Message {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn key(&mut self, field: u32, wire_type: u8) {
        self.varint(u64::from(field) << 3 | u64::from(wire_type));
    }

    /// An `int64` or `int32` field (a negative value takes ten bytes, as protobuf specifies).
    fn int(&mut self, field: u32, v: i64) -> &mut Self {
        self.key(field, 0);
        self.varint(v as u64);
        self
    }

    fn float(&mut self, field: u32, v: f32) -> &mut Self {
        self.key(field, 5);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    fn bytes(&mut self, field: u32, b: &[u8]) -> &mut Self {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }

    fn string(&mut self, field: u32, s: &str) -> &mut Self {
        self.bytes(field, s.as_bytes())
    }

    fn message(&mut self, field: u32, m: &Message) -> &mut Self {
        self.bytes(field, &m.0)
    }
}

/// An attribute of a node.
enum Attr {
    Float(&'static str, f32),
    Int(&'static str, i64),
}

/// A node: operator, inputs, output, attributes.
struct Node {
    op: &'static str,
    inputs: Vec<String>,
    output: String,
    attrs: Vec<Attr>,
}

impl Node {
    /// `NodeProto`: input 1, output 2, name 3, op_type 4, attribute 5.
    fn encode(&self, index: usize) -> Message {
        let mut m = Message::default();
        for i in &self.inputs {
            m.string(1, i);
        }
        m.string(2, &self.output)
            .string(3, &format!("{}_{index}", self.op))
            .string(4, self.op);
        for a in &self.attrs {
            // AttributeProto: name 1, f 2, i 3, type 20.
            let mut attr = Message::default();
            match *a {
                Attr::Float(name, v) => attr.string(1, name).float(2, v).int(20, ATTR_FLOAT),
                Attr::Int(name, v) => attr.string(1, name).int(3, v).int(20, ATTR_INT),
            };
            m.message(5, &attr);
        }
        m
    }
}

/// The node of an activation, reading `input`; `None` for the identity.
fn activation_node(a: Activation, input: String, output: String) -> Option<Node> {
    let (op, attrs) = match a {
        Activation::Linear => return None,
        Activation::Relu => ("Relu", vec![]),
        Activation::Sigmoid => ("Sigmoid", vec![]),
        Activation::Tanh => ("Tanh", vec![]),
        Activation::Softmax => ("Softmax", vec![Attr::Int("axis", 1)]),
        Activation::LeakyRelu { alpha } => ("LeakyRelu", vec![Attr::Float("alpha", alpha)]),
        Activation::Selu => (
            "Selu",
            vec![
                Attr::Float("alpha", SELU_ALPHA),
                Attr::Float("gamma", SELU_SCALE),
            ],
        ),
    };
    Some(Node {
        op,
        inputs: vec![input],
        output,
        attrs,
    })
}

/// `ValueInfoProto` of a `float[batch, width]` tensor.
fn value_info(name: &str, width: usize) -> Message {
    // TensorShapeProto.Dimension: dim_value 1, dim_param 2.
    let mut batch = Message::default();
    batch.string(2, "batch");
    let mut cols = Message::default();
    cols.int(1, width as i64);
    let mut shape = Message::default();
    shape.message(1, &batch).message(1, &cols);
    // TypeProto.Tensor: elem_type 1, shape 2; TypeProto: tensor_type 1.
    let mut tensor = Message::default();
    tensor.int(1, FLOAT).message(2, &shape);
    let mut ty = Message::default();
    ty.message(1, &tensor);
    // ValueInfoProto: name 1, type 2.
    let mut m = Message::default();
    m.string(1, name).message(2, &ty);
    m
}

/// `TensorProto` of an initializer: dims 1, data_type 2, name 8, raw_data 9 (little-endian).
fn initializer(name: &str, shape: &[usize], values: impl Iterator<Item = f32>) -> Message {
    let mut m = Message::default();
    for &d in shape {
        m.int(1, d as i64);
    }
    let raw: Vec<u8> = values.flat_map(f32::to_le_bytes).collect();
    m.int(2, FLOAT).string(8, name).bytes(9, &raw);
    m
}

impl Sequential {
    /// Writes the model as an ONNX file for inference (see [the mapping](crate::onnx)); the
    /// write is atomic. Errors: a layer defined outside ndnet, weights beyond the 2 GiB a
    /// protobuf holds, or the I/O failure.
    ///
    /// ```
    /// use ndnet::prelude::*;
    /// let path = std::env::temp_dir().join(format!("ndnet-doc-{}.onnx", std::process::id()));
    /// let mut model = Sequential::new(4).with_seed(1);
    /// model.add(Dense::new(3).activation(Activation::Relu))?;
    /// model.add(Dropout::new(0.5))?;
    /// model.add(Dense::new(1).activation(Activation::Sigmoid))?;
    /// model.export_onnx(&path)?; // Gemm, Relu, Gemm, Sigmoid
    /// # std::fs::remove_file(&path).ok();
    /// # Ok::<(), ndnet::Error>(())
    /// ```
    pub fn export_onnx(&self, path: impl AsRef<Path>) -> Result<()> {
        write_atomic(path.as_ref(), &self.to_onnx()?)
    }

    /// The bytes [`export_onnx`](Self::export_onnx) writes.
    pub fn to_onnx(&self) -> Result<Vec<u8>> {
        let mut nodes = Vec::new();
        let mut inits = Vec::new();
        let mut current = "input".to_string();
        for (index, (layer, name)) in self.layers().iter().zip(self.layer_names()).enumerate() {
            match layer.config() {
                LayerConfig::Dense { activation, .. } => {
                    let weights = layer.weights();
                    let mut inputs = vec![current.clone()];
                    for (k, w) in weights.iter().enumerate() {
                        let tensor = weight_name(name, k);
                        inits.push(initializer(&tensor, w.shape(), w.iter().copied()));
                        inputs.push(tensor);
                    }
                    let gemm = format!("{name}/gemm");
                    nodes.push(Node {
                        op: "Gemm",
                        inputs,
                        output: gemm.clone(),
                        attrs: vec![],
                    });
                    current = gemm;
                    if let Some(node) = activation_node(
                        activation,
                        current.clone(),
                        format!("{name}/{}", activation.name()),
                    ) {
                        current = node.output.clone();
                        nodes.push(node);
                    }
                }
                LayerConfig::Activation(a) => {
                    if let Some(node) = activation_node(a, current.clone(), name.to_string()) {
                        current = node.output.clone();
                        nodes.push(node);
                    }
                }
                LayerConfig::Dropout { .. }
                | LayerConfig::GaussianDropout { .. }
                | LayerConfig::GaussianNoise { .. }
                | LayerConfig::AlphaDropout { .. } => {}
                other => {
                    return Err(Error::InvalidState(format!(
                        "export_onnx: layer {index} ({name}, {other:?}) has no ONNX form"
                    )));
                }
            }
        }
        // The last node writes the graph's output; a graph of identities copies its input.
        match nodes.last_mut() {
            Some(last) => last.output = "output".into(),
            None => nodes.push(Node {
                op: "Identity",
                inputs: vec![current],
                output: "output".into(),
                attrs: vec![],
            }),
        }
        // GraphProto: node 1, name 2, initializer 5, input 11, output 12.
        let mut graph = Message::default();
        for (i, n) in nodes.iter().enumerate() {
            graph.message(1, &n.encode(i));
        }
        graph.string(2, "ndnet_sequential");
        for t in &inits {
            graph.message(5, t);
        }
        graph
            .message(11, &value_info("input", self.input_dim()))
            .message(12, &value_info("output", self.output_dim()));
        if graph.0.len() > MAX_PROTO_BYTES - 1024 {
            return Err(Error::InvalidState(format!(
                "export_onnx: the model takes {} bytes, more than the 2 GiB an ONNX file holds",
                graph.0.len()
            )));
        }
        // OperatorSetIdProto: domain 1 (empty: the default set), version 2.
        let mut opset = Message::default();
        opset.int(2, OPSET);
        // ModelProto: ir_version 1, producer_name 2, producer_version 3, graph 7, opset_import 8.
        let mut model = Message::default();
        model
            .int(1, IR_VERSION)
            .string(2, "ndnet")
            .string(3, env!("CARGO_PKG_VERSION"))
            .message(7, &graph)
            .message(8, &opset);
        Ok(model.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_encoding_matches_the_protobuf_spec() {
        // The examples of the protobuf encoding guide: 150 in field 1 is 08 96 01; the string
        // "testing" in field 2 is 12 07 74 65 73 74 69 6e 67.
        let mut m = Message::default();
        m.int(1, 150);
        assert_eq!(m.0, [0x08, 0x96, 0x01]);
        let mut m = Message::default();
        m.string(2, "testing");
        assert_eq!(m.0, [0x12, 0x07, b't', b'e', b's', b't', b'i', b'n', b'g']);
        // -1 as int64: ten bytes, nine 0xff then 0x01.
        let mut m = Message::default();
        m.int(1, -1);
        assert_eq!(
            m.0[1..],
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
        );
        // 1.0f32 in field 2 (wire type 5): 15 00 00 80 3f.
        let mut m = Message::default();
        m.float(2, 1.0);
        assert_eq!(m.0, [0x15, 0x00, 0x00, 0x80, 0x3f]);
    }
}
