//! A dense layer with PyTorch's names and initialisation.

use crate::error::{config_err, Result};
use candle_core::Tensor;
use candle_nn::{Init, VarBuilder};

/// A dense layer `y = x·Wᵀ + b` with PyTorch's names (`weight (out, in)`, `bias (out)`) and init.
#[derive(Debug, Clone)]
pub struct Linear(pub(crate) candle_nn::Linear);

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
        Ok(Self(candle_nn::Linear::new(w, Some(b))))
    }

    /// Applies the layer to `(N, in)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(candle_core::Module::forward(&self.0, x)?)
    }
}
