//! The trainer: exact resume after an interruption between epochs and in the middle of a
//! checkpoint write, a clear stop on a non-finite loss, working points, reports and plots.

use candle_core::Device;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rareml::models::{Model, ModelConfig, Params, SndBlock, SndNetConfig};
use rareml::train::eval::{
    at_threshold, choose_threshold, markdown_table, write_report, Criterion,
};
use rareml::train::plot::{histogram_png, resolution_png, roc_png};
use rareml::train::{
    AdamConfig, Error, InMemory, Schedule, Split, Targets, Task, TrainConfig, Trainer,
};
use std::collections::BTreeMap;
use std::path::Path;

fn tiny_model() -> ModelConfig {
    ModelConfig::SndNet(SndNetConfig {
        input: [2, 12, 14],
        blocks: vec![SndBlock {
            channels: 4,
            pool: true,
        }],
        ..Default::default()
    })
}

/// 40 events whose two targets depend on the input, with a flip augmentation.
fn data(scale_targets: f32) -> InMemory {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let per = 2 * 12 * 14;
    let x: Vec<f32> = (0..40 * per).map(|_| rng.random_range(-1.0..1.0)).collect();
    let t: Vec<f32> = (0..40)
        .flat_map(|i| {
            let s: f32 = x[i * per..(i + 1) * per].iter().sum();
            [s / 20.0 * scale_targets, x[i * per] * scale_targets]
        })
        .collect();
    InMemory::new(x, vec![2, 12, 14], Targets::Values { data: t, width: 2 })
        .unwrap()
        .with_augment(Box::new(|v: &mut [f32], seed: u64| {
            if seed.is_multiple_of(2) {
                v.reverse();
            }
        }))
}

fn cfg() -> TrainConfig {
    TrainConfig {
        epochs: 3,
        batch_size: 8,
        optimizer: AdamConfig {
            lr: 3e-3,
            ..AdamConfig::ship()
        },
        schedule: Schedule::Step {
            every: 2,
            gamma: 0.5,
        },
        seed: 11,
        keep_last: 2,
        progress: false,
    }
}

/// Trains (possibly in several calls) and returns every variable's values.
fn run(
    dir: &Path,
    calls: &[Option<usize>],
    before_last: impl Fn(&Path),
) -> BTreeMap<String, Vec<f32>> {
    let src = data(1.0);
    let split = Split::random(40, 0.2, 0.2, 3).unwrap();
    let mut last = BTreeMap::new();
    for (i, &stop) in calls.iter().enumerate() {
        if i + 1 == calls.len() {
            before_last(dir);
        }
        // A fresh process: new parameters (same init seed), new trainer.
        let params = Params::new(9);
        let model = Model::new(&tiny_model(), &params, &Device::Cpu).unwrap();
        let t = Trainer::new(
            &model,
            &params,
            Task::Regression { delta: 1.0 },
            cfg(),
            Device::Cpu,
            dir,
        )
        .unwrap();
        t.fit(&src, &split, stop).unwrap();
        last = params
            .named()
            .into_iter()
            .map(|(k, v)| {
                (
                    k,
                    v.as_tensor()
                        .flatten_all()
                        .unwrap()
                        .to_vec1::<f32>()
                        .unwrap(),
                )
            })
            .collect();
    }
    last
}

#[test]
fn resume_gives_the_same_weights_as_an_uninterrupted_run() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let full = run(dirs[0].path(), &[None], |_| {});
    // Killed between epochs: one epoch, then the rest.
    let resumed = run(dirs[1].path(), &[Some(1), None], |_| {});
    assert_eq!(full, resumed, "resume after epoch 1");
    // Killed while writing epoch 1's checkpoint: its weights are half written, the optimiser
    // state is still a temporary file, its JSON does not exist. The run resumes from epoch 0.
    let interrupted = run(dirs[2].path(), &[Some(2), None], |dir| {
        let w = dir.join("epoch-0001.safetensors");
        let bytes = std::fs::read(&w).unwrap();
        std::fs::write(&w, &bytes[..bytes.len() / 2]).unwrap();
        std::fs::rename(
            dir.join("epoch-0001.optim.safetensors"),
            dir.join("epoch-0001.optim.safetensors.tmp"),
        )
        .unwrap();
        std::fs::remove_file(dir.join("epoch-0001.json")).unwrap();
    });
    assert_eq!(full, interrupted, "resume after a torn checkpoint");
    // The last K = 2 checkpoints are kept.
    let mut names: Vec<String> = std::fs::read_dir(dirs[0].path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "epoch-0001.json",
            "epoch-0001.optim.safetensors",
            "epoch-0001.safetensors",
            "epoch-0002.json",
            "epoch-0002.optim.safetensors",
            "epoch-0002.safetensors"
        ]
    );
}

#[test]
fn training_lowers_the_loss_and_records_history() {
    let dir = tempfile::tempdir().unwrap();
    let src = data(1.0);
    let split = Split::random(40, 0.2, 0.2, 3).unwrap();
    let params = Params::new(9);
    let model = Model::new(&tiny_model(), &params, &Device::Cpu).unwrap();
    let c = TrainConfig { epochs: 8, ..cfg() };
    let t = Trainer::new(
        &model,
        &params,
        Task::Regression { delta: 1.0 },
        c,
        Device::Cpu,
        dir.path(),
    )
    .unwrap();
    let h = t.fit(&src, &split, None).unwrap();
    assert_eq!(h.len(), 8);
    assert!(h[7].train_loss < 0.7 * h[0].train_loss, "{h:?}");
    assert!(h
        .iter()
        .all(|r| r.val_loss.is_finite() && r.events_per_s > 0.0));
    assert_eq!((h[0].lr, h[2].lr, h[4].lr), (3e-3, 1.5e-3, 7.5e-4));
    assert_eq!(t.kept_weights().unwrap().len(), 2);
}

#[test]
fn a_non_finite_loss_stops_the_run_naming_epoch_and_batch() {
    let dir = tempfile::tempdir().unwrap();
    let src = data(1e38);
    let split = Split::random(40, 0.2, 0.2, 3).unwrap();
    let params = Params::new(9);
    let model = Model::new(&tiny_model(), &params, &Device::Cpu).unwrap();
    let t = Trainer::new(
        &model,
        &params,
        Task::Regression { delta: 1e38 },
        cfg(),
        Device::Cpu,
        dir.path(),
    )
    .unwrap();
    let err = t.fit(&src, &split, None).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFinite {
                epoch: 0,
                batch: 0,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("epoch 0, batch 0"));
    // Wrong targets for the task and bad configs are errors too.
    let t = Trainer::new(
        &model,
        &params,
        Task::Binary,
        cfg(),
        Device::Cpu,
        dir.path(),
    )
    .unwrap();
    assert!(t
        .fit(&src, &split, None)
        .unwrap_err()
        .to_string()
        .contains("do not fit the task"));
    let bad = TrainConfig {
        batch_size: 0,
        ..cfg()
    };
    assert!(Trainer::new(&model, &params, Task::Binary, bad, Device::Cpu, dir.path()).is_err());
    assert!(
        InMemory::new(vec![f32::NAN; 4], vec![2], Targets::Classes(vec![0, 1]))
            .err()
            .unwrap()
            .to_string()
            .contains("not finite")
    );
}

#[test]
fn working_points_reports_and_plots() {
    let scores = [0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1];
    let sig = [true, true, false, true, false, true, false, false];
    let thr = choose_threshold(&scores, &sig, Criterion::Efficiency(0.75)).unwrap();
    assert_eq!(thr, 0.6);
    let wp = at_threshold(&scores, &sig, thr).unwrap();
    assert_eq!(
        (wp.signal_efficiency, wp.background_efficiency),
        (0.75, 0.25)
    );
    assert_eq!(wp.reduction_factor, Some(4.0));
    assert_eq!(wp.significance, Some(1.5));
    let thr = choose_threshold(&scores, &sig, Criterion::MaxSignificance).unwrap();
    // Ξ by hand: 0.7 → 0.5/√0.25 = 1.0, 0.6 → 0.75/√0.25 = 1.5, 0.4 → 0.75/√0.5 = 1.06,
    // 0.3 → 1/√0.5 = 1.41; points with εb = 0 (0.9, 0.8) have no Ξ.
    assert_eq!(thr, 0.6);
    let dir = tempfile::tempdir().unwrap();
    let md = markdown_table(&["a", "b"], &[vec!["1".into(), "2".into()]]);
    assert_eq!(md, "| a | b |\n|---|---|\n| 1 | 2 |\n");
    write_report(dir.path(), &serde_json::json!({"network": {"x": 1}}), &md).unwrap();
    let back: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(back["network"]["x"], 1);
    let p = dir.path().join("roc.png");
    roc_png(&p, "ROC", &[("net", &[0.0, 0.1, 1.0], &[0.0, 0.8, 1.0])]).unwrap();
    let h = dir.path().join("h.png");
    histogram_png(
        &h,
        "scores",
        "score",
        &[("a", vec![0.1, 0.2, 0.9]), ("b", vec![0.5])],
        (0.0, 1.0),
        10,
        Some(0.5),
    )
    .unwrap();
    let r = dir.path().join("r.png");
    resolution_png(
        &r,
        "res",
        "E [GeV]",
        "σ",
        &[(
            "net",
            vec![(10.0, 0.2, 0.01), (50.0, 0.1, 0.01)],
            Some(vec![(10.0, 0.2), (50.0, 0.1)]),
        )],
    )
    .unwrap();
    for f in [p, h, r] {
        let b = std::fs::read(&f).unwrap();
        assert!(
            b.len() > 1000 && b[..8] == [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a],
            "{}",
            f.display()
        );
    }
}

#[test]
fn emulsion_clusters_stream_from_hdf5() {
    use rareml::io::emulsion::EmulsionFile;
    use rareml::models::{NewsNetConfig, NewsNetStage};
    use rareml::preprocess::emulsion::{EmulsionPipeline, Rotation};
    use rareml::sim::emulsion::{EmulsionConfig, Sample};
    use rareml::train::{EmulsionSource, Source};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.h5");
    rareml::sim::emulsion::write(
        &path,
        &EmulsionConfig::default(),
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
    let src =
        EmulsionSource::open(&path, EmulsionPipeline::default(), Rotation::PUBLIC_CODE).unwrap();
    assert_eq!(src.len(), 24);
    assert_eq!(src.item_shape(), vec![1, 9, 40, 40]);
    let Targets::Classes(labels) = src.targets() else {
        panic!()
    };
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
        ..cfg_tc()
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

fn cfg_tc() -> TrainConfig {
    cfg()
}
