//! One type over the networks, for tools that take the model as a command-line choice
//! (`verify_torch`, the trainer).

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::{
    DenseNet, DenseNetConfig, EfficientNet, EfficientNetConfig, NewsNet, NewsNetConfig, Params,
    ResNet, ResNetConfig, SndNet, SndNetConfig,
};
use candle_core::{DType, Device, Tensor};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The configuration of one of the networks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "lowercase")]
pub enum ModelConfig {
    /// NEWSdm 3D ResNet.
    NewsNet(NewsNetConfig),
    /// PandaX-III EfficientNet.
    EfficientNet(EfficientNetConfig),
    /// SHiP CoordConv regressor.
    SndNet(SndNetConfig),
    /// torchvision's ResNet (PandaX-III paper, Table 1).
    ResNet(ResNetConfig),
    /// torchvision's DenseNet (PandaX-III paper, Table 1).
    DenseNet(DenseNetConfig),
}

impl ModelConfig {
    /// The paper's configuration of a model named `newsnet`, `efficientnet`, `sndnet`, `resnet`
    /// (ResNet-50) or `densenet` (DenseNet-169).
    pub fn default_for(name: &str) -> Result<Self> {
        match name {
            "newsnet" => Ok(Self::NewsNet(NewsNetConfig::default())),
            "efficientnet" => Ok(Self::EfficientNet(EfficientNetConfig::default())),
            "sndnet" => Ok(Self::SndNet(SndNetConfig::default())),
            "resnet" => Ok(Self::ResNet(ResNetConfig::default())),
            "densenet" => Ok(Self::DenseNet(DenseNetConfig::default())),
            _ => Err(crate::error::config_err(
                "model",
                "name",
                name,
                "newsnet, efficientnet, sndnet, resnet or densenet",
            )),
        }
    }

    /// The network's name as configs and `default_for` spell it: `newsnet`, `efficientnet`,
    /// `sndnet`, `resnet`, `densenet`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::NewsNet(_) => "newsnet",
            Self::EfficientNet(_) => "efficientnet",
            Self::SndNet(_) => "sndnet",
            Self::ResNet(_) => "resnet",
            Self::DenseNet(_) => "densenet",
        }
    }

    /// Checks the configuration of the network ([`NewsNetConfig::validate`], …).
    pub fn validate(&self) -> Result<()> {
        match self {
            Self::NewsNet(c) => c.validate(),
            Self::EfficientNet(c) => c.validate(),
            Self::SndNet(c) => c.validate(),
            Self::ResNet(c) => c.validate(),
            Self::DenseNet(c) => c.validate(),
        }
    }

    /// The configuration of model `name` from a JSON or TOML file (by extension): the file holds
    /// the model's own fields (missing ones take the paper's defaults).
    pub fn from_file(name: &str, path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::File {
            path: path.into(),
            reason: format!("cannot read config: {e}"),
        })?;
        let toml = path.extension().is_some_and(|e| e == "toml");
        Self::from_text(name, &text, toml, path)
    }

    /// The configuration of model `name` from JSON text (the model's own fields, missing ones
    /// take the paper's defaults); `origin` names where the text came from in errors.
    pub fn from_json(name: &str, json: &str, origin: &Path) -> Result<Self> {
        Self::from_text(name, json, false, origin)
    }

    fn from_text(name: &str, text: &str, toml: bool, origin: &Path) -> Result<Self> {
        let err = |e: String| Error::File {
            path: origin.into(),
            reason: format!("not a valid {name} config: {e}"),
        };
        let value: serde_json::Value = if toml {
            toml::from_str(text).map_err(|e| err(e.to_string()))?
        } else {
            serde_json::from_str(text).map_err(|e| err(e.to_string()))?
        };
        let default = Self::default_for(name)?;
        // A misspelt field would otherwise leave the paper's value in place without a word.
        let known = match serde_json::to_value(&default) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        if let serde_json::Value::Object(fields) = &value {
            let mut unknown: Vec<&str> = fields
                .keys()
                .map(String::as_str)
                .filter(|k| !known.contains_key(*k))
                .collect();
            unknown.sort_unstable();
            if !unknown.is_empty() {
                let mut names: Vec<&str> = known
                    .keys()
                    .map(String::as_str)
                    .filter(|k| *k != "model")
                    .collect();
                names.sort_unstable();
                return Err(err(format!(
                    "unknown field(s) {}; the {name} fields are {}",
                    unknown.join(", "),
                    names.join(", ")
                )));
            }
        }
        macro_rules! parse {
            ($t:ty) => {
                serde_json::from_value::<$t>(value).map_err(|e| err(e.to_string()))?
            };
        }
        Ok(match default {
            Self::NewsNet(_) => Self::NewsNet(parse!(NewsNetConfig)),
            Self::EfficientNet(_) => Self::EfficientNet(parse!(EfficientNetConfig)),
            Self::SndNet(_) => Self::SndNet(parse!(SndNetConfig)),
            Self::ResNet(_) => Self::ResNet(parse!(ResNetConfig)),
            Self::DenseNet(_) => Self::DenseNet(parse!(DenseNetConfig)),
        })
    }
}

/// One of the networks.
pub enum Model {
    /// NEWSdm 3D ResNet.
    NewsNet(NewsNet),
    /// PandaX-III EfficientNet.
    EfficientNet(EfficientNet),
    /// SHiP CoordConv regressor.
    SndNet(SndNet),
    /// torchvision's ResNet.
    ResNet(ResNet),
    /// torchvision's DenseNet.
    DenseNet(DenseNet),
}

impl Model {
    /// Builds the network of `cfg`, creating its parameters in `params` (f32 on `device`).
    pub fn new(cfg: &ModelConfig, params: &Params, device: &Device) -> Result<Self> {
        let vb = params.var_builder(DType::F32, device);
        Ok(match cfg {
            ModelConfig::NewsNet(c) => Self::NewsNet(NewsNet::new(c, vb)?),
            ModelConfig::EfficientNet(c) => Self::EfficientNet(EfficientNet::new(c, vb)?),
            ModelConfig::SndNet(c) => Self::SndNet(SndNet::new(c, vb)?),
            ModelConfig::ResNet(c) => Self::ResNet(ResNet::new(c, vb)?),
            ModelConfig::DenseNet(c) => Self::DenseNet(DenseNet::new(c, vb)?),
        })
    }

    /// The network's output for a batch.
    pub fn forward(&self, x: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        match self {
            Self::NewsNet(m) => m.forward(x, ctx),
            Self::EfficientNet(m) => m.forward(x, ctx),
            Self::SndNet(m) => m.forward(x, ctx),
            Self::ResNet(m) => m.forward(x, ctx),
            Self::DenseNet(m) => m.forward(x, ctx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_config_fields_are_errors() {
        let e = ModelConfig::from_json("newsnet", r#"{"no_such_field": 3}"#, Path::new("c.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("c.json") && e.contains("no_such_field"), "{e}");
        // A known field parses, and missing ones keep the paper's values.
        let d = serde_json::to_value(ModelConfig::default_for("sndnet").unwrap()).unwrap();
        let (k, v) = d
            .as_object()
            .unwrap()
            .iter()
            .find(|(k, _)| *k != "model")
            .unwrap();
        let text = serde_json::json!({ k: v }).to_string();
        let cfg = ModelConfig::from_json("sndnet", &text, Path::new("c.json")).unwrap();
        assert_eq!(cfg, ModelConfig::default_for("sndnet").unwrap());
    }

    /// `name()` spells each network as `default_for` takes it.
    #[test]
    fn names_round_trip() {
        for n in ["newsnet", "efficientnet", "sndnet", "resnet", "densenet"] {
            assert_eq!(ModelConfig::default_for(n).unwrap().name(), n);
        }
    }
}
