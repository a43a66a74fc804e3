//! The feature-map study (the paper's Figs. 8–10): stage maps of chosen events, the last
//! stage's maps clustered, the FC weights.

use super::report::FeatureStudy;
use super::{Events, FeatureSettings};
use crate::experiments::feature_maps::{cluster_maps, WeightSummary};
use crate::experiments::pipeline::{self, Run};
use crate::experiments::{Error, Result};
use crate::report::plot::histogram_png;
use crate::train::{Source, Split};

/// Dumps the chosen stages' maps of the first test events of each class, draws them, groups the
/// Stage-8 maps and summarises the classifier's weights.
pub(super) fn feature_study(
    run: &Run,
    data: &Events,
    split: &Split,
    trained: &pipeline::Trained,
    f: &FeatureSettings,
    side: usize,
) -> Result<FeatureStudy> {
    let take = |signal: bool| {
        split
            .test
            .iter()
            .copied()
            .filter(move |&i| (data.labels[i] == 1) == signal)
            .take(f.events)
    };
    let chosen: Vec<usize> = take(true).chain(take(false)).collect();
    let mut x = vec![0.0f32; chosen.len() * 2 * side * side];
    data.src.fill(&chosen, None, &mut x)?;
    let x = candle_core::Tensor::from_vec(x, (chosen.len(), 2, side, side), &run.device)?;
    let weights = trained.kept.last().ok_or_else(|| {
        Error::Analysis("feature maps: the network has no kept checkpoint".into())
    })?;
    let params = crate::models::Params::new(0);
    let model = crate::models::Model::new(&trained.spec.config, &params, &run.device)?;
    params.load(weights, &[])?;
    let crate::models::Model::EfficientNet(net) = &model else {
        return Err(Error::Analysis(format!(
            "feature maps: {} is not an EfficientNet",
            trained.spec.label
        )));
    };
    let stages = net.forward_stages(&x, &crate::models::Ctx::eval())?;
    let to_array = |t: &candle_core::Tensor| -> Result<ndarray::Array4<f32>> {
        let (n, c, h, w) = t.dims4()?;
        let v = t
            .flatten_all()?
            .to_dtype(candle_core::DType::F32)?
            .to_vec1::<f32>()?;
        ndarray::Array4::from_shape_vec((n, c, h, w), v)
            .map_err(|e| Error::Analysis(format!("feature maps: {e}")))
    };
    let mut wanted: Vec<usize> = f.stages.clone();
    wanted.sort_unstable();
    wanted.dedup();
    let arrays: Vec<(usize, ndarray::Array4<f32>)> = wanted
        .iter()
        .map(|&k| Ok((k, to_array(&stages[k - 1])?)))
        .collect::<Result<_>>()?;
    let ids: Vec<i64> = chosen.iter().map(|&i| data.events[i].id).collect();
    let labels: Vec<u8> = chosen.iter().map(|&i| data.labels[i] as u8).collect();
    let weights_name = weights
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file = "feature_maps.h5";
    crate::io::features::write(
        run.out.join(file),
        &crate::io::features::FeatureMapsMeta {
            experiment: "pandax3".into(),
            network: trained.spec.label.clone(),
            weights: weights_name.clone(),
        },
        &ids,
        &labels,
        &arrays
            .iter()
            .map(|(k, a)| (*k, a.view()))
            .collect::<Vec<_>>(),
    )?;
    let n_signal = take(true).count();
    for (k, a) in &arrays {
        for (class, row) in [("signal", 0), ("background", n_signal)] {
            if row < chosen.len() {
                crate::report::plot::map_grid_png(
                    &run.out.join(format!("features_stage{k}_{class}.png")),
                    &format!(
                        "Stage {k} feature maps, {class} event {} (each map on its own scale)",
                        ids[row]
                    ),
                    a.index_axis(ndarray::Axis(0), row),
                )?;
            }
        }
    }
    // Stage 8: rows = maps, columns = (event, pixel).
    let s8 = to_array(&stages[7])?;
    let (n, c, h, w) = s8.dim();
    let rows = s8
        .permuted_axes([1, 0, 2, 3])
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((c, n * h * w))
        .map_err(|e| Error::Analysis(format!("feature maps: {e}")))?;
    let stage8_groups = cluster_maps(rows.view(), &f.clustering)?;
    let fc = params
        .named()
        .get("classifier.1.weight")
        .map(|v| v.as_tensor().flatten_all()?.to_vec1::<f32>())
        .transpose()?
        .unwrap_or_default();
    histogram_png(
        &run.out.join("fc_weights.png"),
        "Classifier weights (one per TopConv channel)",
        "weight",
        &[("weights", fc.iter().map(|&v| v as f64).collect())],
        (-1.5, 1.5),
        30,
        None,
    )?;
    Ok(FeatureStudy {
        file: file.into(),
        weights: weights_name,
        event_ids: ids,
        stages: arrays
            .iter()
            .map(|(k, a)| (*k, [a.dim().1, a.dim().2, a.dim().3]))
            .collect(),
        clustering: f.clustering,
        stage8_groups,
        classifier_weights: WeightSummary::of(&fc),
    })
}

/// The map-grid pictures of stages 1–9 (signal, background), as `feature_study` names them.
pub(super) const GRIDS: [[&str; 2]; 9] = [
    [
        "features_stage1_signal.png",
        "features_stage1_background.png",
    ],
    [
        "features_stage2_signal.png",
        "features_stage2_background.png",
    ],
    [
        "features_stage3_signal.png",
        "features_stage3_background.png",
    ],
    [
        "features_stage4_signal.png",
        "features_stage4_background.png",
    ],
    [
        "features_stage5_signal.png",
        "features_stage5_background.png",
    ],
    [
        "features_stage6_signal.png",
        "features_stage6_background.png",
    ],
    [
        "features_stage7_signal.png",
        "features_stage7_background.png",
    ],
    [
        "features_stage8_signal.png",
        "features_stage8_background.png",
    ],
    [
        "features_stage9_signal.png",
        "features_stage9_background.png",
    ],
];
