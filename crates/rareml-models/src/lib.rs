//! Candle layers (conv3d, pool3d, depthwise conv, BatchNorm, coordinate channels,
//! squeeze-excitation; the CPU kernels under them are the `rareml-kernels` crate) and the
//! three experiments' networks: NEWSnet (NEWSdm), EfficientNet (PandaX-III) and SNDNet (SHiP TT),
//! and the PandaX-III paper's other compared networks, ResNet and DenseNet (torchvision's),
//! all with PyTorch `state_dict` names so checkpoints move between the frameworks unchanged.
//!
//! ```no_run
//! use rareml_models::{Ctx, NewsNet, NewsNetConfig, Params};
//! use candle_core::{DType, Device, Tensor};
//! let params = Params::new(42);
//! let net = NewsNet::new(&NewsNetConfig::default(), params.var_builder(DType::F32, &Device::Cpu))?;
//! params.load(std::path::Path::new("newsnet.safetensors"), &["input", "logits", "logits_f64"])?;
//! let x = Tensor::zeros((2, 1, 9, 40, 40), DType::F32, &Device::Cpu)?;
//! let logits = net.forward(&x, &Ctx::eval())?;
//! # Ok::<(), rareml_models::Error>(())
//! ```

#![warn(missing_docs)]

pub mod ctx;
pub mod densenet;
pub mod efficientnet;
pub mod error;
pub mod layers;
pub mod loss;
pub mod model;
pub mod newsnet;
pub mod onnx;
pub mod params;
pub mod resnet;
pub mod sndnet;

#[cfg(test)]
mod config_tests;

pub use ctx::Ctx;
pub use densenet::{DenseNet, DenseNetConfig};
pub use efficientnet::{EfficientNet, EfficientNetConfig, GlobalPool};
pub use error::{Error, Result};
pub use model::{Model, ModelConfig};
pub use newsnet::{NewsNet, NewsNetConfig, NewsNetStage};
pub use params::Params;
pub use resnet::{ResBlock, ResNet, ResNetConfig};
pub use sndnet::{SndBlock, SndNet, SndNetConfig};
