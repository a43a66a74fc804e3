//! BatchNorm over channels with PyTorch's names and semantics: the fused CPU kernel of
//! `rareml-kernels` (statistics, normalisation, affine and activation in one pass each way), candle's
//! `BatchNorm` on other devices.

use crate::ctx::Ctx;
use crate::error::{config_err, Error, Result};
use crate::onnx::{Attr, Graph, Value};
use candle_core::{DType, Tensor, Var};
use candle_nn::{BatchNorm, BatchNormConfig, ModuleT, VarBuilder};
use rareml_kernels::{batch_norm, batch_norm_supported, Act, Statistics};

/// BatchNorm over channels (axis 1) of a tensor of any rank ≥ 2, PyTorch semantics (biased batch
/// variance for normalising, unbiased for the running variance); parameters `weight`, `bias`,
/// `running_mean`, `running_var`.
#[derive(Debug, Clone)]
pub struct Norm {
    bn: BatchNorm,
    weight: Tensor,
    bias: Tensor,
    running_mean: Var,
    running_var: Var,
    momentum: f64,
    eps: f64,
    name: String,
}

impl Norm {
    /// Creates the four tensors under `vb`; `eps` and `momentum` as PyTorch defines them.
    pub fn new(channels: usize, eps: f64, momentum: f64, vb: VarBuilder) -> Result<Self> {
        if eps.is_nan() || eps <= 0.0 {
            return Err(config_err(
                "batch norm",
                format!("{} (eps)", vb.prefix()),
                eps,
                "> 0",
            ));
        }
        if !(0.0..=1.0).contains(&momentum) {
            return Err(config_err(
                "batch norm",
                format!("{} (momentum)", vb.prefix()),
                momentum,
                "in [0, 1]",
            ));
        }
        let cfg = BatchNormConfig {
            eps,
            remove_mean: true,
            affine: true,
            momentum,
        };
        let name = vb.prefix();
        let bn = candle_nn::batch_norm(channels, cfg, vb)?;
        let (weight, bias) = bn
            .weight_and_bias()
            .map(|(w, b)| (w.clone(), b.clone()))
            .expect("affine batch norm has a weight and a bias");
        // The running statistics are variables: these share their storage with `bn`'s.
        let running_mean = Var::from_tensor(bn.running_mean())?;
        let running_var = Var::from_tensor(bn.running_var())?;
        Ok(Self {
            bn,
            weight,
            bias,
            running_mean,
            running_var,
            momentum,
            eps,
            name,
        })
    }

    /// Normalises with batch statistics (training, which also updates the running statistics) or
    /// the running statistics (evaluation).
    pub fn forward(&self, x: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        self.forward_act(x, ctx, Act::Identity)
    }

    /// [`forward`](Self::forward) followed by `act`, fused into the same pass on CPU.
    pub fn forward_act(&self, x: &Tensor, ctx: &Ctx, act: Act) -> Result<Tensor> {
        let c = self.weight.dim(0)?;
        if x.rank() < 2 || x.dim(1)? != c {
            return Err(Error::Shape {
                what: "batch norm input".into(),
                expected: format!("(N, {c}, ...)"),
                got: x.dims().to_vec(),
            });
        }
        if !batch_norm_supported(x, &self.weight) {
            let y = self.bn.forward_t(x, ctx.is_train())?;
            return Ok(act.apply_candle(&y)?);
        }
        let statistics = if ctx.is_train() {
            Statistics::Batch
        } else {
            Statistics::Running {
                mean: to_f64(self.running_mean.as_tensor())?,
                var: to_f64(self.running_var.as_tensor())?,
            }
        };
        let (y, batch) = batch_norm(x, &self.weight, &self.bias, statistics, self.eps, act)?;
        if let Some(s) = batch {
            let count = (x.elem_count() / c) as f64;
            let m = self.momentum;
            let update = |var: &Var, batch: &[f64], scale: f64| -> Result<()> {
                let old = to_f64(var.as_tensor())?;
                let new: Vec<f64> = old
                    .iter()
                    .zip(batch)
                    .map(|(o, b)| (1.0 - m) * o + m * b * scale)
                    .collect();
                var.set(&Tensor::from_vec(new, c, var.device())?.to_dtype(var.dtype())?)?;
                Ok(())
            };
            update(&self.running_mean, &s.mean, 1.0)?;
            update(&self.running_var, &s.var, count / (count - 1.0))?;
        }
        Ok(y)
    }
}

impl Norm {
    /// Adds this BatchNorm (evaluation mode: the running statistics) and `act` to an ONNX graph
    /// (`BatchNormalization`, the four tensors under their PyTorch names).
    pub(crate) fn onnx(&self, g: &mut Graph, x: &Value, act: Act) -> Result<Value> {
        let c = self.weight.dim(0)?;
        if x.channels(&self.name)? != c {
            return Err(Error::Export {
                layer: self.name.clone(),
                reason: format!("normalises {c} channels, its input has {:?}", x.shape[0]),
            });
        }
        let n = &self.name;
        let inputs = [
            x.name.clone(),
            g.init(&format!("{n}.weight"), &self.weight, None)?,
            g.init(&format!("{n}.bias"), &self.bias, None)?,
            g.init(
                &format!("{n}.running_mean"),
                self.running_mean.as_tensor(),
                None,
            )?,
            g.init(
                &format!("{n}.running_var"),
                self.running_var.as_tensor(),
                None,
            )?,
        ];
        let ins: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let y = g.op(
            "BatchNormalization",
            n,
            &ins,
            &[Attr::Float("epsilon", self.eps as f32)],
        );
        let y = g.act(&y, act, n);
        Ok(x.renamed(y))
    }
}

fn to_f64(t: &Tensor) -> candle_core::Result<Vec<f64>> {
    t.to_dtype(DType::F64)?.to_vec1::<f64>()
}
