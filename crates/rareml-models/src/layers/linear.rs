//! A dense layer with PyTorch's names and initialisation.

use crate::error::{config_err, Result};
use crate::onnx::{Attr, Graph, Value};
use candle_core::Tensor;
use candle_nn::{Init, VarBuilder};

/// A dense layer `y = x·Wᵀ + b` with PyTorch's names (`weight (out, in)`, `bias (out)`) and init.
#[derive(Debug, Clone)]
pub struct Linear {
    inner: candle_nn::Linear,
    name: String,
}

fn check_sizes(inputs: usize, outputs: usize, vb: &VarBuilder) -> Result<()> {
    if inputs == 0 || outputs == 0 {
        return Err(config_err(
            "linear",
            vb.prefix(),
            (inputs, outputs),
            "inputs and outputs ≥ 1",
        ));
    }
    Ok(())
}

impl Linear {
    /// Creates `weight` and `bias` under `vb` (uniform ±1/√in).
    pub fn new(inputs: usize, outputs: usize, vb: VarBuilder) -> Result<Self> {
        let bound = 1.0 / (inputs.max(1) as f64).sqrt();
        let init = Init::Uniform {
            lo: -bound,
            up: bound,
        };
        Self::with_init(inputs, outputs, init, init, vb)
    }

    /// As [`new`](Self::new) with explicit initialisations of the weight and the bias.
    pub fn with_init(
        inputs: usize,
        outputs: usize,
        weight: Init,
        bias: Init,
        vb: VarBuilder,
    ) -> Result<Self> {
        check_sizes(inputs, outputs, &vb)?;
        let w = vb.get_with_hints((outputs, inputs), "weight", weight)?;
        let b = vb.get_with_hints(outputs, "bias", bias)?;
        Ok(Self::from_parts(w, b, vb.prefix()))
    }

    /// The layer of weight `(out, in)` and bias `(out)` named `name` (its parameter path).
    pub(crate) fn from_parts(weight: Tensor, bias: Tensor, name: String) -> Self {
        Self {
            inner: candle_nn::Linear::new(weight, Some(bias)),
            name,
        }
    }

    /// The weight `(out, in)` and the bias `(out)`.
    pub(crate) fn parts(&self) -> (&Tensor, &Tensor) {
        let b = self.inner.bias().expect("built with a bias");
        (self.inner.weight(), b)
    }

    /// The layer's parameter path.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Applies the layer to `(N, in)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(candle_core::Module::forward(&self.inner, x)?)
    }

    /// Adds this layer to an ONNX graph (`Gemm` with the weight transposed).
    pub(crate) fn onnx(&self, g: &mut Graph, x: &Value) -> Result<Value> {
        let (w, b) = self.parts();
        let (outputs, inputs) = w.dims2()?;
        if x.shape != [Some(inputs)] {
            return Err(crate::Error::Export {
                layer: self.name.clone(),
                reason: format!("takes (N, {inputs}), its input is (N, {:?})", x.shape),
            });
        }
        let w = g.init(&format!("{}.weight", self.name), w, None)?;
        let b = g.init(&format!("{}.bias", self.name), b, None)?;
        let out = g.op(
            "Gemm",
            &self.name,
            &[&x.name, &w, &b],
            &[Attr::Int("transB", 1)],
        );
        Ok(Value {
            name: out,
            shape: vec![Some(outputs)],
        })
    }
}
