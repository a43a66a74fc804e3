//! A NEWSdm training set streamed from HDF5 (`rareml_preprocess::emulsion::ClusterSource`) through
//! the trainer's `FnSource`: the same items as the in-memory pipeline, reproducible augmentation,
//! and a training epoch.

use candle_core::Device;
use rareml::models::{Model, ModelConfig, Params};
use rareml::train::{Split, Targets, Task, TrainConfig, Trainer};

#[test]
fn emulsion_clusters_stream_from_hdf5() {
    use rareml::io::emulsion::EmulsionFile;
    use rareml::models::{NewsNetConfig, NewsNetStage};
    use rareml::preprocess::emulsion::ClusterSource;
    use rareml::preprocess::emulsion::{EmulsionPipeline, Rotation};
    use rareml::sim::emulsion::{EmulsionConfig, Sample};
    use rareml::train::{FnSource, Source};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.h5");
    // One group per sample (no scans): the carbon group and the fog group.
    rareml::sim::emulsion::write(
        &path,
        &EmulsionConfig {
            scans: Vec::new(),
            ..EmulsionConfig::default()
        },
        &[Sample::Carbon(100), Sample::Fog],
        1,
        12,
        &rareml::sim::WriteOptions {
            batch: 8,
            ..Default::default()
        },
        |_| {},
    )
    .unwrap();
    let pipeline = EmulsionPipeline {
        rotation: Rotation::PUBLIC_CODE,
        ..Default::default()
    };
    let clusters = ClusterSource::open(&path, pipeline).unwrap();
    assert_eq!(clusters.len(), 24);
    assert_eq!(clusters.item_shape(), vec![1, 9, 40, 40]);
    let labels = clusters.labels().unwrap().to_vec();
    // The trainer reads it through a source defined by its filler.
    let src = FnSource::new(
        clusters.item_shape(),
        Targets::Classes(labels.clone()),
        |i: &[usize], seed: Option<u64>, out: &mut [f32]| clusters.fill(i, seed, out),
    );
    assert_eq!(src.len(), 24);
    assert_eq!(labels.iter().filter(|&&l| l == 2).count(), 12);
    assert_eq!(labels.iter().filter(|&&l| l == 3).count(), 12);
    // Without augmentation a streamed cluster equals the in-memory pipeline's output.
    let file = EmulsionFile::open(&path).unwrap();
    let set = &file.sets().unwrap()[1];
    let batch = set.read::<f32>(0..12).unwrap();
    let want = EmulsionPipeline::default()
        .process(&batch, 0)
        .unwrap()
        .images;
    let mut got = vec![0f32; 2 * 9 * 40 * 40];
    src.fill(&[12 + 3, 12 + 5], None, &mut got).unwrap();
    let w: Vec<f32> = want
        .slice(ndarray::s![3..6;2, .., .., .., ..])
        .iter()
        .copied()
        .collect();
    assert_eq!(got, w);
    // A contiguous range reads each group's part at once: the same items, and the grain ids.
    let mut by_range = vec![0f32; 24 * 9 * 40 * 40];
    let ids = clusters.fill_range(0..24, &mut by_range).unwrap();
    let mut by_index = vec![0f32; by_range.len()];
    clusters
        .fill(&(0..24).collect::<Vec<_>>(), None, &mut by_index)
        .unwrap();
    assert_eq!(by_range, by_index);
    assert_eq!(ids[..3], [0, 1, 2], "grain ids of the first group");
    assert!(clusters
        .fill_range(20..25, &mut vec![0f32; 5 * 9 * 40 * 40])
        .is_err());
    // Augmented batches differ (rotations) but are reproducible for a seed.
    let (mut a, mut b) = (vec![0f32; got.len()], vec![0f32; got.len()]);
    src.fill(&[15, 17], Some(7), &mut a).unwrap();
    src.fill(&[15, 17], Some(7), &mut b).unwrap();
    assert_eq!(a, b);
    // A streamed source trains like an in-memory one.
    let cfg = ModelConfig::NewsNet(NewsNetConfig {
        stem_filters: [4, 4],
        stages: vec![NewsNetStage {
            filters: 4,
            identity_blocks: 0,
            stride: 2,
        }],
        ..Default::default()
    });
    let params = Params::new(1);
    let model = Model::new(&cfg, &params, &Device::Cpu).unwrap();
    let c = TrainConfig {
        epochs: 1,
        batch_size: 8,
        keep_last: 1,
        ..TrainConfig::default()
    };
    let t = Trainer::new(
        &model,
        &params,
        Task::MultiClass {
            mu: 0.53,
            signal_classes: 3,
        },
        c,
        Device::Cpu,
        &dir.path().join("ck"),
    )
    .unwrap();
    let h = t
        .fit(&src, &Split::random(24, 0.25, 0.0, 1).unwrap(), None)
        .unwrap();
    assert!(h[0].train_loss.is_finite() && h[0].val_loss.is_finite());
}
