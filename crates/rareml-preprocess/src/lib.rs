//! Preprocessing and augmentation: detector events → model-ready ndarray batches, in parallel with
//! rayon. Transforms take views and return owned arrays; every random transform takes a seed and
//! gives the same output for the same seed whatever the thread count.
//!
//! - [`emulsion`]: NEWSdm clusters → `(B, 1, P, H, W)`: background subtraction, scaling, quality cuts,
//!   crop, periodic polarisation, rotation.
//! - [`tpc`]: PandaX-III waveforms → XZ/YZ images `(B, 2, 128, 128)`.
//! - [`tt`]: SHiP TT hits → station hit maps `(B, K, H, W)`, target scaling, coordinate channels.

#![warn(missing_docs)]

pub mod batch;
pub mod emulsion;
pub mod error;
pub mod seed;
pub mod tpc;
pub mod tt;

pub use error::{Error, Result};

#[cfg(test)]
mod config_tests {
    //! One test per configuration rule: each names its field.

    use crate::emulsion::{EmulsionPipeline, QualityCuts, Rotation, Scale};
    use crate::tpc::TpcImageConfig;
    use crate::tt::HitMapConfig;

    fn names(r: crate::Result<()>, field: &str) {
        let e = r.unwrap_err().to_string();
        assert!(e.contains(field), "{field}: {e}");
    }

    #[test]
    fn emulsion_rules() {
        let d = EmulsionPipeline::default;
        names(
            Rotation::Discrete {
                step_deg: 0.0,
                max_deg: 90.0,
            }
            .validate(),
            "rotation.step_deg",
        );
        names(
            Rotation::Continuous { max_deg: f64::NAN }.validate(),
            "rotation.max_deg",
        );
        names(
            EmulsionPipeline {
                scale: Scale::Constant(0.0),
                ..d()
            }
            .validate(),
            "scale",
        );
        names(
            EmulsionPipeline {
                crop: Some(0),
                ..d()
            }
            .validate(),
            "crop",
        );
        let cuts = |peak_max, pedestal_max| QualityCuts {
            peak_max,
            pedestal_max,
        };
        names(
            EmulsionPipeline {
                cuts: Some(cuts(f32::NAN, 1.0)),
                ..d()
            }
            .validate(),
            "cuts.peak_max",
        );
        names(
            EmulsionPipeline {
                cuts: Some(cuts(1.0, f32::NAN)),
                ..d()
            }
            .validate(),
            "cuts.pedestal_max",
        );
        assert!(d().validate().is_ok() && Rotation::PUBLIC_CODE.validate().is_ok());
    }

    #[test]
    fn tpc_image_rules() {
        let d = TpcImageConfig::default;
        names(
            TpcImageConfig {
                pixel_mm: 0.0,
                ..d()
            }
            .validate(),
            "pixel_mm",
        );
        names(TpcImageConfig { size: 0, ..d() }.validate(), "size");
        names(TpcImageConfig { upsample: 0, ..d() }.validate(), "upsample");
        names(
            TpcImageConfig {
                baseline_samples: 0,
                ..d()
            }
            .validate(),
            "baseline_samples",
        );
        names(
            TpcImageConfig {
                threshold_adc: f32::NAN,
                ..d()
            }
            .validate(),
            "threshold_adc",
        );
        assert!(d().validate().is_ok());
    }

    #[test]
    fn hit_map_rules() {
        let d = HitMapConfig::default;
        names(
            HitMapConfig {
                pixel_cm: -1.0,
                ..d()
            }
            .validate(),
            "pixel_cm",
        );
        names(
            HitMapConfig {
                half_size_cm: [6.45, 0.0],
                ..d()
            }
            .validate(),
            "half_size_cm",
        );
        assert!(d().validate().is_ok());
    }
}
