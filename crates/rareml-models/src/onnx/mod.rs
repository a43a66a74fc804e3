//! ONNX export of the networks in evaluation mode, for C++ frameworks (ROOT's SOFIE,
//! onnxruntime) and other toolkits: opset 17, IR version 8, one dynamic batch axis `N`.
//!
//! What the graphs hold:
//! - initializers named as the PyTorch `state_dict` (`stage1.0.conv1.weight`,
//!   `features.1.0.block.1.1.running_var`, `model.7.weight`, …), f32;
//! - BatchNorm as `BatchNormalization` nodes with the running statistics (not folded into the
//!   convolutions, so every tensor keeps its PyTorch name and value);
//! - SiLU as `Sigmoid` then `Mul` (opset 17 has no SiLU operator); dropout and stochastic depth
//!   are absent (the identity in evaluation mode);
//! - NEWSnet's circular padding along the polarisation axis as `Slice` + `Concat` before the
//!   convolution; SNDNet's coordinate channels as a constant `[y, x, r]` initializer broadcast over
//!   the batch (`Shape` → `Concat` → `Expand`) and concatenated in front of each block's input.
//!
//! Input `input` and output `output` (logits, or SNDNet's regression outputs); their shapes are
//! [`Export::input`] and [`Export::output`].
//!
//! ```no_run
//! use rareml_models::{onnx, Model, ModelConfig, Params};
//! use candle_core::Device;
//! let cfg = ModelConfig::default_for("sndnet")?;
//! let params = Params::new(0);
//! let model = Model::new(&cfg, &params, &Device::Cpu)?;
//! params.load(std::path::Path::new("sndnet.safetensors"), &["input", "logits", "logits_f64"])?;
//! let export = onnx::export(&model, &[("experiment".into(), "ship_tt".into())])?;
//! std::fs::write("sndnet.onnx", &export.bytes).unwrap();
//! println!("operators: {}", export.operators.join(", "));
//! # Ok::<(), rareml_models::Error>(())
//! ```

mod proto;

pub use proto::Dim;
pub(crate) use proto::{Attr, Message};

use crate::error::{Error, Result};
use crate::Model;
use candle_core::{DType, Tensor};
use rareml_kernels::Act;
use std::collections::{BTreeSet, HashSet};

/// The ONNX operator set version the graphs use.
pub const OPSET: i64 = 17;
/// The ONNX IR version declared in the files (IR 8 goes with opset 17, ONNX 1.12).
pub const IR_VERSION: i64 = 8;
/// Name of the graph input.
pub const INPUT: &str = "input";
/// Name of the graph output.
pub const OUTPUT: &str = "output";
/// Name of the dynamic batch dimension.
pub const BATCH: &str = "N";

/// An exported model.
#[derive(Debug, Clone)]
pub struct Export {
    /// The serialised `ModelProto` (the content of a `.onnx` file).
    pub bytes: Vec<u8>,
    /// The ONNX operators the graph uses, sorted.
    pub operators: Vec<String>,
    /// Declared input shape: `N` then the network's input (named axes are dynamic).
    pub input: Vec<Dim>,
    /// Declared output shape: `N` then the outputs.
    pub output: Vec<Dim>,
}

/// Exports `model` in evaluation mode; `metadata` becomes the file's `metadata_props`
/// (e.g. the run, the checkpoint, the working point).
pub fn export(model: &Model, metadata: &[(String, String)]) -> Result<Export> {
    let mut g = Graph::default();
    let (input, x) = match model {
        Model::NewsNet(m) => {
            let [p, h, w] = m.config().input;
            (
                dims(&[1, p, h, w]),
                Value::new(INPUT, [Some(1), Some(p), Some(h), Some(w)]),
            )
        }
        Model::EfficientNet(m) => image_input(m.config().in_channels),
        Model::ResNet(m) => image_input(m.config().in_channels),
        Model::DenseNet(m) => image_input(m.config().in_channels),
        Model::SndNet(m) => {
            let [c, h, w] = m.config().input;
            (
                dims(&[c, h, w]),
                Value::new(INPUT, [Some(c), Some(h), Some(w)]),
            )
        }
    };
    let y = match model {
        Model::NewsNet(m) => m.onnx(&mut g, x)?,
        Model::EfficientNet(m) => m.onnx(&mut g, x)?,
        Model::SndNet(m) => m.onnx(&mut g, x)?,
        Model::ResNet(m) => m.onnx(&mut g, x)?,
        Model::DenseNet(m) => m.onnx(&mut g, x)?,
    };
    let outputs = y
        .shape
        .first()
        .copied()
        .flatten()
        .ok_or_else(|| Error::Export {
            layer: "output".into(),
            reason: "the output width is unknown".into(),
        })?;
    // The last node writes the graph output under its public name.
    g.name_output(&y.name, OUTPUT);
    let output = dims(&[outputs]);
    let operators = g.ops.iter().cloned().collect();
    let bytes = g.finish(&input, &output, metadata);
    Ok(Export {
        bytes,
        operators,
        input,
        output,
    })
}

/// The declared input `[N, c, H, W]` (H and W dynamic) of an image network of `c` channels.
fn image_input(c: usize) -> (Vec<Dim>, Value) {
    let mut d = dims(&[c]);
    d.extend([Dim::Named("H".into()), Dim::Named("W".into())]);
    (d, Value::new(INPUT, [Some(c), None, None]))
}

/// `[N, d…]`.
fn dims(d: &[usize]) -> Vec<Dim> {
    std::iter::once(Dim::Named(BATCH.into()))
        .chain(d.iter().map(|&v| Dim::Fixed(v)))
        .collect()
}

/// A value of the graph being built: its name and its shape after the batch axis (`None` for a
/// dynamic axis).
#[derive(Debug, Clone)]
pub(crate) struct Value {
    pub(crate) name: String,
    pub(crate) shape: Vec<Option<usize>>,
}

impl Value {
    pub(crate) fn new<const R: usize>(name: &str, shape: [Option<usize>; R]) -> Self {
        Self {
            name: name.into(),
            shape: shape.to_vec(),
        }
    }

    /// The same shape under another name.
    pub(crate) fn renamed(&self, name: String) -> Self {
        Self {
            name,
            shape: self.shape.clone(),
        }
    }

    /// Channels (the first axis after the batch).
    pub(crate) fn channels(&self, layer: &str) -> Result<usize> {
        self.shape
            .first()
            .copied()
            .flatten()
            .ok_or_else(|| Error::Export {
                layer: layer.into(),
                reason: "the channel count of its input is unknown".into(),
            })
    }
}

/// The graph under construction: nodes in topological order, initializers, the operators used.
#[derive(Default)]
pub(crate) struct Graph {
    nodes: Vec<Node>,
    inits: Vec<Message>,
    names: HashSet<String>,
    ops: BTreeSet<String>,
}

impl Graph {
    /// A value name not used yet, `base` when free.
    fn fresh(&mut self, base: &str) -> String {
        let mut name = base.to_string();
        let mut k = 1;
        while self.names.contains(&name) {
            name = format!("{base}_{k}");
            k += 1;
        }
        self.names.insert(name.clone());
        name
    }

    /// Adds an f32 initializer named `name` (a parameter's `state_dict` name) holding `t`,
    /// reshaped to `dims` when given.
    pub(crate) fn init(
        &mut self,
        name: &str,
        t: &Tensor,
        dims: Option<&[usize]>,
    ) -> Result<String> {
        let data = t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        let shape = dims
            .map(<[usize]>::to_vec)
            .unwrap_or_else(|| t.dims().to_vec());
        if shape.iter().product::<usize>() != data.len() {
            return Err(Error::Export {
                layer: name.into(),
                reason: format!("{} values cannot take the shape {shape:?}", data.len()),
            });
        }
        if self.names.contains(name) {
            return Err(Error::Export {
                layer: name.into(),
                reason: "two parameters under the same name".into(),
            });
        }
        self.names.insert(name.into());
        self.inits.push(proto::tensor_f32(name, &shape, &data));
        Ok(name.into())
    }

    /// Adds an f32 constant of shape `dims` under a fresh name based on `base`.
    pub(crate) fn constant_f32(&mut self, base: &str, dims: &[usize], data: &[f32]) -> String {
        let name = self.fresh(base);
        self.inits.push(proto::tensor_f32(&name, dims, data));
        name
    }

    /// Adds a 1-D int64 constant under a fresh name based on `base`.
    pub(crate) fn constant_i64(&mut self, base: &str, data: &[i64]) -> String {
        let name = self.fresh(base);
        self.inits.push(proto::tensor_i64(&name, data));
        name
    }

    /// Adds node `op` named after `name` with one output (named as the node), returns the output.
    pub(crate) fn op(&mut self, op: &str, name: &str, inputs: &[&str], attrs: &[Attr]) -> String {
        let out = self.fresh(name);
        self.ops.insert(op.to_string());
        self.nodes.push(Node {
            op: op.to_string(),
            output: out.clone(),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            attrs: attrs.to_vec(),
        });
        out
    }

    /// Gives value `y` the name `name` (the graph output): the last node's output when it is
    /// that node's, else through an `Identity`.
    fn name_output(&mut self, y: &str, name: &str) {
        match self.nodes.last_mut() {
            Some(last) if last.output == y => last.output = name.to_string(),
            _ => {
                self.ops.insert("Identity".into());
                self.nodes.push(Node {
                    op: "Identity".into(),
                    output: name.into(),
                    inputs: vec![y.into()],
                    attrs: vec![],
                });
            }
        }
    }

    /// `x` followed by the activation `act` (SiLU as `Sigmoid` then `Mul`).
    pub(crate) fn act(&mut self, x: &str, act: Act, name: &str) -> String {
        match act {
            Act::Identity => x.to_string(),
            Act::Relu => self.op("Relu", &format!("{name}.relu"), &[x], &[]),
            Act::Silu => {
                let s = self.op("Sigmoid", &format!("{name}.sigmoid"), &[x], &[]);
                self.op("Mul", &format!("{name}.silu"), &[x, &s], &[])
            }
        }
    }

    /// `(N, …)` → `(N, ∏…)`.
    pub(crate) fn flatten(&mut self, x: &Value, name: &str) -> Value {
        let out = self.op("Flatten", name, &[&x.name], &[Attr::Int("axis", 1)]);
        let n = x.shape.iter().try_fold(1usize, |a, d| d.map(|d| a * d));
        Value {
            name: out,
            shape: vec![n],
        }
    }

    /// Pads the spatial axes listed in `wrap` (index among the spatial axes, amount) circularly:
    /// the last `n` slices in front, the first `n` behind (`Slice` + `Concat`).
    pub(crate) fn circular_pad(
        &mut self,
        x: &Value,
        wrap: &[(usize, usize)],
        name: &str,
    ) -> Result<Value> {
        let mut v = x.clone();
        for &(a, n) in wrap {
            if n == 0 {
                continue;
            }
            let axis = 2 + a as i64; // batch and channel axes first
            let len = v
                .shape
                .get(1 + a)
                .copied()
                .flatten()
                .ok_or_else(|| Error::Export {
                    layer: name.into(),
                    reason: "circular padding needs the axis length".into(),
                })?;
            if n > len {
                return Err(Error::Export {
                    layer: name.into(),
                    reason: format!("circular padding {n} exceeds the axis length {len}"),
                });
            }
            let axes = self.constant_i64(&format!("{name}.wrap_axes"), &[axis]);
            let (s0, e0) = (
                self.constant_i64(&format!("{name}.wrap_tail_start"), &[-(n as i64)]),
                self.constant_i64(&format!("{name}.wrap_tail_end"), &[i64::MAX]),
            );
            let (s1, e1) = (
                self.constant_i64(&format!("{name}.wrap_head_start"), &[0]),
                self.constant_i64(&format!("{name}.wrap_head_end"), &[n as i64]),
            );
            let tail = self.op(
                "Slice",
                &format!("{name}.wrap_tail"),
                &[&v.name, &s0, &e0, &axes],
                &[],
            );
            let head = self.op(
                "Slice",
                &format!("{name}.wrap_head"),
                &[&v.name, &s1, &e1, &axes],
                &[],
            );
            let out = self.op(
                "Concat",
                &format!("{name}.wrap"),
                &[&tail, &v.name, &head],
                &[Attr::Int("axis", axis)],
            );
            v.name = out;
            v.shape[1 + a] = Some(len + 2 * n);
        }
        Ok(v)
    }

    /// Serialises the `ModelProto`.
    fn finish(self, input: &[Dim], output: &[Dim], metadata: &[(String, String)]) -> Vec<u8> {
        let mut graph = Message::default();
        for n in &self.nodes {
            let ins: Vec<&str> = n.inputs.iter().map(String::as_str).collect();
            graph.message(
                1,
                &proto::node(&n.op, &n.output, &ins, &[&n.output], &n.attrs),
            );
        }
        graph.string(2, "rareml");
        for t in &self.inits {
            graph.message(5, t);
        }
        graph.message(11, &proto::value_info(INPUT, input));
        graph.message(12, &proto::value_info(OUTPUT, output));
        let mut model = Message::default();
        model
            .int(1, IR_VERSION)
            .string(2, "rareml")
            .string(3, env!("CARGO_PKG_VERSION"));
        model.message(7, &graph);
        let mut opset = Message::default();
        opset.string(1, "").int(2, OPSET);
        model.message(8, &opset);
        for (k, v) in metadata {
            let mut e = Message::default();
            e.string(1, k).string(2, v);
            model.message(14, &e);
        }
        model.into_bytes()
    }
}

/// One node: operator, its single output (also the node's name), inputs and attributes.
struct Node {
    op: String,
    output: String,
    inputs: Vec<String>,
    attrs: Vec<Attr>,
}

/// The `pads` attribute for per-axis (before, after) amounts: all befores, then all afters.
pub(crate) fn pads_attr(pads: &[(usize, usize)]) -> Attr {
    let mut v: Vec<i64> = pads.iter().map(|p| p.0 as i64).collect();
    v.extend(pads.iter().map(|p| p.1 as i64));
    Attr::Ints("pads", v)
}

/// Output length of a window `k`, stride `s` over `len` padded by `pads`.
pub(crate) fn out_len(
    len: Option<usize>,
    pads: (usize, usize),
    k: usize,
    s: usize,
) -> Option<usize> {
    len.and_then(|l| (l + pads.0 + pads.1).checked_sub(k).map(|v| v / s + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{pool_onnx, Conv3d, Conv3dConfig, Pad, PoolKind, PoolPadding};
    use candle_core::Device;

    fn export_error(e: Error) -> (String, String) {
        match e {
            Error::Export { layer, reason } => (layer, reason),
            other => panic!("expected an export error, got {other}"),
        }
    }

    #[test]
    fn padded_average_pooling_is_refused_naming_the_layer() {
        let mut g = Graph::default();
        let x = Value::new("x", [Some(4), Some(5), Some(5)]);
        let e = pool_onnx(
            &mut g,
            &x,
            PoolKind::Avg,
            &[2, 2],
            &[2, 2],
            PoolPadding::Same,
            "stage2.pool",
        )
        .unwrap_err();
        let (layer, reason) = export_error(e);
        assert_eq!(layer, "stage2.pool");
        assert!(reason.contains("average pooling"), "{reason}");
        // Unpadded average pooling and padded max pooling are fine.
        pool_onnx(
            &mut g,
            &x,
            PoolKind::Avg,
            &[1, 1],
            &[1, 1],
            PoolPadding::Same,
            "a",
        )
        .unwrap();
        let y = pool_onnx(
            &mut g,
            &x,
            PoolKind::Max,
            &[2, 2],
            &[2, 2],
            PoolPadding::Same,
            "m",
        )
        .unwrap();
        assert_eq!(y.shape, [Some(4), Some(3), Some(3)]);
    }

    #[test]
    fn same_padding_on_a_dynamic_axis_is_refused() {
        let params = crate::Params::new(0);
        let vb = params.var_builder(DType::F32, &Device::Cpu);
        let cfg = Conv3dConfig {
            stride: [1, 2, 2],
            padding: [Pad::Zeros(0), Pad::Same, Pad::Same],
        };
        let conv = Conv3d::new(1, 2, [1, 3, 3], cfg, true, vb.pp("stem.conv1")).unwrap();
        let mut g = Graph::default();
        let x = Value::new("x", [Some(1), Some(4), None, Some(8)]);
        let (layer, reason) = export_error(conv.onnx(&mut g, &x).unwrap_err());
        assert_eq!(layer, "stem.conv1");
        assert!(reason.contains("same"), "{reason}");
        let x = Value::new("x", [Some(1), Some(4), Some(7), Some(8)]);
        let y = conv.onnx(&mut g, &x).unwrap();
        assert_eq!(y.shape, [Some(2), Some(4), Some(4), Some(4)]);
    }

    #[test]
    fn a_channel_mismatch_names_the_layer() {
        let params = crate::Params::new(0);
        let vb = params.var_builder(DType::F32, &Device::Cpu);
        let conv = Conv3d::new(3, 2, [3; 3], Conv3dConfig::default(), false, vb.pp("c")).unwrap();
        let mut g = Graph::default();
        let x = Value::new("x", [Some(1), Some(4), Some(4), Some(4)]);
        let (layer, reason) = export_error(conv.onnx(&mut g, &x).unwrap_err());
        assert_eq!(layer, "c");
        assert!(reason.contains("input channels"), "{reason}");
    }

    #[test]
    fn value_names_stay_unique() {
        let mut g = Graph::default();
        let a = g.op("Relu", "block", &["x"], &[]);
        let b = g.op("Relu", "block", &[&a], &[]);
        assert_ne!(a, b);
        g.name_output(&b, OUTPUT);
        assert_eq!(g.nodes.last().unwrap().output, OUTPUT);
    }
}
