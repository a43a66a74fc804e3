//! Feature-map files (`rareml.features.v1`): a trained network's intermediate feature maps on
//! chosen events, per stage — what `pandax3 --features` writes for the paper's feature-map study
//! (Xia et al., Figs. 6–9, 12–13).
//!
//! ```text
//! attrs on /: schema = "rareml.features.v1", experiment, network, weights (the checkpoint file),
//!             stages ("2,4,8": the paper's 1-based stage numbers)
//! /events/id      int64   (N)           the events' ids
//! /events/label   uint8   (N)           1 signal, 0 background
//! /stages/<k>     float32 (N, C, H, W)  stage k's output (torchvision's features.<k − 1>)
//! ```

use crate::error::{Error, Result};
use crate::h5::{check_schema, H5File};
use ndarray::{Array4, ArrayView4, Ix4};
use std::path::Path;

/// The schema name of feature-map files.
pub const SCHEMA: &str = "rareml.features.v1";

/// What a feature-map file holds besides the maps.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureMapsMeta {
    /// Experiment of the run (`pandax3`).
    pub experiment: String,
    /// The network's name in the run's report.
    pub network: String,
    /// The weights the maps were computed with (a checkpoint file name).
    pub weights: String,
}

/// A feature-map file's content.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureMaps {
    /// Where the maps come from.
    pub meta: FeatureMapsMeta,
    /// Event ids, one per row.
    pub id: Vec<i64>,
    /// Event labels (1 signal, 0 background), one per row.
    pub label: Vec<u8>,
    /// (stage number, maps `(events, channels, height, width)`), ascending stage.
    pub stages: Vec<(usize, Array4<f32>)>,
}

/// Writes the maps of `stages` (stage number, `(events, C, H, W)`) for the events `id`/`label`.
pub fn write(
    path: impl AsRef<Path>,
    meta: &FeatureMapsMeta,
    id: &[i64],
    label: &[u8],
    stages: &[(usize, ArrayView4<'_, f32>)],
) -> Result<()> {
    let path = path.as_ref();
    let bad = |reason: String| Error::InvalidInput {
        what: "feature maps",
        reason: format!("{}: {reason}", path.display()),
    };
    if id.len() != label.len() {
        return Err(bad(format!("{} ids and {} labels", id.len(), label.len())));
    }
    if stages.is_empty() {
        return Err(bad("no stage to write".into()));
    }
    for (k, maps) in stages {
        if maps.dim().0 != id.len() {
            return Err(bad(format!(
                "stage {k} holds {} events, the file {}",
                maps.dim().0,
                id.len()
            )));
        }
        if stages.iter().filter(|(j, _)| j == k).count() > 1 {
            return Err(bad(format!("stage {k} given twice")));
        }
    }
    let h5 = H5File::create(path)?;
    let root = h5.group_create("/")?;
    h5.set_attr_str(&root, "/", "schema", SCHEMA)?;
    h5.set_attr_str(&root, "/", "experiment", &meta.experiment)?;
    h5.set_attr_str(&root, "/", "network", &meta.network)?;
    h5.set_attr_str(&root, "/", "weights", &meta.weights)?;
    let names: Vec<String> = stages.iter().map(|(k, _)| k.to_string()).collect();
    h5.set_attr_str(&root, "/", "stages", &names.join(","))?;
    let mut ds = h5.create_appendable::<i64>("events/id", &[])?;
    ds.append(ndarray::ArrayView1::from(id).into_dyn())?;
    let mut ds = h5.create_appendable::<u8>("events/label", &[])?;
    ds.append(ndarray::ArrayView1::from(label).into_dyn())?;
    for (k, maps) in stages {
        let (_, c, hh, w) = maps.dim();
        let mut ds = h5.create_appendable::<f32>(&format!("stages/{k}"), &[c, hh, w])?;
        let maps = maps.as_standard_layout();
        ds.append(maps.view().into_dyn())?;
    }
    Ok(())
}

/// Reads a feature-map file, checking its schema and that every dataset has one row per event.
pub fn read(path: impl AsRef<Path>) -> Result<FeatureMaps> {
    let h5 = H5File::open(path)?;
    check_schema(&h5, SCHEMA)?;
    let text = |name: &str| -> Result<String> {
        h5.attr_string("/", name)?
            .ok_or_else(|| h5.missing(&format!("/@{name}"), "attribute", ""))
    };
    let meta = FeatureMapsMeta {
        experiment: text("experiment")?,
        network: text("network")?,
        weights: text("weights")?,
    };
    let id: Vec<i64> = h5.dataset("events/id")?.read_vec()?;
    let ds = h5.dataset("events/label")?;
    ds.expect_rows(id.len(), "events")?;
    let label: Vec<u8> = ds.read_vec()?;
    let mut stages = Vec::new();
    for name in text("stages")?.split(',') {
        let k: usize = name
            .parse()
            .map_err(|_| h5.invalid("/@stages", format!("{name:?}: expected stage numbers")))?;
        let ds = h5.dataset(&format!("stages/{k}"))?;
        ds.expect_rows(id.len(), "events")?;
        let maps = ds
            .read_all::<f32>()?
            .into_dimensionality::<Ix4>()
            .map_err(|e| ds.invalid(format!("expected (events, C, H, W): {e}")))?;
        stages.push((k, maps));
    }
    Ok(FeatureMaps {
        meta,
        id,
        label,
        stages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> FeatureMapsMeta {
        FeatureMapsMeta {
            experiment: "pandax3".into(),
            network: "EfficientNet (n = 8)".into(),
            weights: "epoch-0011.safetensors".into(),
        }
    }

    #[test]
    fn maps_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.h5");
        let a = Array4::from_shape_fn((3, 4, 2, 5), |(n, c, h, w)| {
            (n * 100 + c * 10 + h * 5 + w) as f32
        });
        let b = Array4::from_shape_fn((3, 2, 1, 1), |(n, c, _, _)| -(n as f32) - c as f32 / 2.0);
        write(
            &p,
            &meta(),
            &[7, 8, 9],
            &[1, 0, 1],
            &[(2, a.view()), (8, b.view())],
        )
        .unwrap();
        let f = read(&p).unwrap();
        assert_eq!(f.meta, meta());
        assert_eq!((f.id, f.label), (vec![7, 8, 9], vec![1, 0, 1]));
        assert_eq!(f.stages, vec![(2, a), (8, b)]);
    }

    #[test]
    fn inconsistent_input_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.h5");
        let a = Array4::<f32>::zeros((2, 1, 1, 1));
        for (ids, labels, stages) in [
            (vec![1, 2, 3], vec![1, 0, 1], vec![(2, a.view())]),
            (vec![1, 2], vec![1], vec![(2, a.view())]),
            (vec![1, 2], vec![1, 0], vec![]),
            (vec![1, 2], vec![1, 0], vec![(2, a.view()), (2, a.view())]),
        ] {
            let e = write(&p, &meta(), &ids, &labels, &stages)
                .unwrap_err()
                .to_string();
            assert!(e.contains("f.h5"), "{e}");
        }
    }
}
