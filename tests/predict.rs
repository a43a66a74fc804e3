//! Applying trained runs to files: the scores equal those the training pipeline wrote for its test
//! set; shards merge into the unsharded output exactly; merging refuses gaps, overlaps and shards
//! of another run; bad run directories and inputs are clear errors.

use rareml::experiments::predict::{merge, predict, PredictOptions, RunManifest};
use rareml::experiments::{newsdm, pandax3, ship_tt, Options, Preset};
use rareml::io::scores::{ScoreRows, ScoresFile};
use rareml::io::Shard;
use std::path::{Path, PathBuf};

fn opts(dir: &Path, data: &Path) -> Options {
    Options {
        data: Some(data.to_path_buf()),
        progress: false,
        ..Options::new(dir)
    }
}

fn predict_opts(run: &Path, data: &Path, out: PathBuf, shard: Shard) -> PredictOptions {
    PredictOptions {
        run: run.to_path_buf(),
        data: data.to_path_buf(),
        out,
        shard,
        batch: Some(7),
        device: "cpu".into(),
        progress: false,
    }
}

fn all_rows(path: &Path) -> ScoreRows {
    let f = ScoresFile::open(path).unwrap();
    f.read(0..f.len()).unwrap()
}

/// The test-set rows the pipeline wrote equal the rows `predict` writes for the same events, to
/// float rounding: `predict` reads the file in its own batches and order, and some kernels sum in
/// an order that depends on the batch (SNDNet's outputs come out bit-identical, EfficientNet's
/// within 1e-8).
fn assert_test_scores_reproduced(run: &Path, data: &Path, scores: &Path) {
    predict(&predict_opts(run, data, scores.to_path_buf(), Shard::ALL)).unwrap();
    let all = all_rows(scores);
    let test = all_rows(&run.join("test_scores.h5"));
    assert!(!test.is_empty());
    for (t, &i) in test.index.iter().enumerate() {
        let i = i as usize;
        assert_eq!(all.index[i], i as i64);
        assert_eq!(all.id[i], test.id[t], "event {i}: id");
        assert_eq!(all.status[i], 0, "event {i} was scored in training");
        let (a, b) = (all.value.row(i), test.value.row(t));
        for (x, y) in a.iter().zip(b.iter()) {
            assert!(
                (x - y).abs() <= 1e-5 * (1.0 + y.abs()),
                "event {i}: {a} vs {b}"
            );
        }
        if let (Some((s, p)), Some((st, pt))) = (&all.signal, &test.signal) {
            assert!(
                (s[i] - st[t]).abs() <= 1e-5,
                "event {i}: signal {} vs {}",
                s[i],
                st[t]
            );
            if (s[i] - st[t]).abs() == 0.0 {
                assert_eq!(p[i], pt[t], "event {i}: pass");
            }
        }
    }
}

#[test]
fn ship_tt_run_applied_in_shards_and_merged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("showers.h5");
    rareml::sim::tt::write(
        &data,
        &Default::default(),
        5,
        240,
        &Default::default(),
        |_| {},
    )
    .unwrap();
    let run = dir.path().join("run");
    let settings = ship_tt::Settings {
        events: 240,
        epochs: 1,
        networks: vec![ship_tt::ShipNetwork::CoordConvHuber],
        boosting: false,
        ..ship_tt::Settings::preset(Preset::Quick)
    };
    let report = ship_tt::run(&opts(&run, &data), &settings).unwrap();
    // A user's file has no generator behind it: the networks train on its showers.
    assert!(settings.resimulate && report.resimulation.is_none());
    let (manifest, _) = RunManifest::read(&run).unwrap();
    assert_eq!(manifest.experiment, "ship_tt");
    assert_eq!(
        manifest.network.checkpoints.len(),
        1,
        "one epoch: one checkpoint"
    );
    let whole = dir.path().join("whole.h5");
    assert_test_scores_reproduced(&run, &data, &whole);
    let meta = ScoresFile::open(&whole).unwrap().meta().clone();
    assert_eq!(
        (meta.first_event, meta.end_event, meta.source_events),
        (0, 240, 240)
    );
    assert_eq!(meta.columns, ["energy_gev", "distance_cm"]);
    assert!(meta.threshold.is_none() && all_rows(&whole).signal.is_none());
    // `inspect` recognises and reads a scores file.
    let summary = rareml::io::inspect::inspect(&whole).unwrap();
    assert_eq!(summary.format, rareml::io::inspect::Format::ScoresV1);
    let rareml::io::inspect::Details::Scores {
        events,
        scored,
        set_aside,
        ..
    } = summary.details
    else {
        panic!("{summary}")
    };
    assert_eq!((events, scored + set_aside), (240, 240));
    // The showers the study's selection rejects (≤ 5 hits) are set aside, as in training.
    let few = rareml::io::tt::TtFile::open(&data)
        .unwrap()
        .read(0..240)
        .unwrap()
        .iter()
        .filter(|e| e.hits.len() < 6)
        .count();
    assert_eq!(set_aside, few);

    // Three uneven shards, a shard of more shards than events, and their merges.
    let shard = |i: usize, n: usize| {
        let p = dir.path().join(format!("part-{i}-of-{n}.h5"));
        predict(&predict_opts(
            &run,
            &data,
            p.clone(),
            Shard::new(i, n).unwrap(),
        ))
        .unwrap();
        p
    };
    let parts: Vec<PathBuf> = (0..3).map(|i| shard(i, 3)).collect();
    assert_eq!(ScoresFile::open(&parts[1]).unwrap().meta().shard, "1/3");
    let merged = dir.path().join("merged.h5");
    merge(
        &merged,
        &[parts[2].clone(), parts[0].clone(), parts[1].clone()],
    )
    .unwrap();
    // Compared as text: the rows set aside by the selection hold NaN, which equals nothing.
    let rows = |p: &Path| format!("{:?}", all_rows(p));
    assert_eq!(
        rows(&merged),
        rows(&whole),
        "merged shards equal the unsharded run"
    );
    let one = shard(0, 1);
    assert_eq!(rows(&one), rows(&whole));

    let err = |shards: &[PathBuf]| {
        merge(&dir.path().join("bad.h5"), shards)
            .unwrap_err()
            .to_string()
    };
    let gap = err(&[parts[0].clone(), parts[2].clone()]);
    assert!(gap.contains("events 80..160 are in no shard"), "{gap}");
    let overlap = err(&[
        parts[0].clone(),
        parts[1].clone(),
        parts[2].clone(),
        shard(1, 2),
    ]);
    assert!(overlap.contains("in two shards"), "{overlap}");
    // The same network under another manifest is another run.
    let other = dir.path().join("other-run");
    copy_dir(&run, &other);
    let text = std::fs::read_to_string(other.join("run.json")).unwrap();
    std::fs::write(
        other.join("run.json"),
        text.replace("\"seed\": 42", "\"seed\": 43"),
    )
    .unwrap();
    let foreign = dir.path().join("foreign.h5");
    predict(&predict_opts(
        &other,
        &data,
        foreign.clone(),
        Shard::new(1, 3).unwrap(),
    ))
    .unwrap();
    let mixed = err(&[parts[0].clone(), foreign, parts[2].clone()]);
    assert!(mixed.contains("different runs"), "{mixed}");

    // Bad run directories and inputs.
    let bad = |run: &Path, data: &Path| {
        predict(&predict_opts(
            run,
            data,
            dir.path().join("x.h5"),
            Shard::ALL,
        ))
        .unwrap_err()
        .to_string()
    };
    let msg = bad(dir.path(), &data);
    assert!(
        msg.contains("run.json") && msg.contains("cannot read"),
        "{msg}"
    );
    std::fs::remove_file(other.join(&manifest.network.checkpoints[0])).unwrap();
    let msg = bad(&other, &data);
    assert!(
        msg.contains("checkpoint") && msg.contains("missing"),
        "{msg}"
    );
    let tpc = dir.path().join("tpc.h5");
    rareml::sim::tpc::write(
        &tpc,
        &Default::default(),
        None,
        1,
        4,
        &Default::default(),
        |_| {},
    )
    .unwrap();
    let msg = bad(&run, &tpc);
    assert!(
        msg.contains("rareml.tt.v1") || msg.contains("schema"),
        "{msg}"
    );
    let truncated = dir.path().join("truncated.h5");
    let bytes = std::fs::read(&data).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let msg = bad(&run, &truncated);
    assert!(msg.contains("truncated.h5"), "{msg}");
}

#[test]
fn classification_runs_reproduce_their_test_scores() {
    let dir = tempfile::tempdir().unwrap();
    // PandaX-III: the mean sigmoid of the kept checkpoints, a threshold of maximum Ξ.
    let tpc = dir.path().join("events.h5");
    rareml::sim::tpc::write(
        &tpc,
        &Default::default(),
        None,
        3,
        320,
        &Default::default(),
        |_| {},
    )
    .unwrap();
    let run = dir.path().join("pandax3");
    let settings = pandax3::Settings {
        events: 320,
        epochs: 6,
        split: [0.2, 0.2],
        ..pandax3::Settings::preset(Preset::Quick)
    };
    let report = pandax3::run(&opts(&run, &tpc), &settings).unwrap();
    let scores = dir.path().join("tpc-scores.h5");
    assert_test_scores_reproduced(&run, &tpc, &scores);
    let meta = ScoresFile::open(&scores).unwrap().meta().clone();
    // The paper's rule picks 1–3 checkpoints (those within 0.001 of the best validation
    // accuracy, smallest validation losses first); predict applies the same ones.
    let kept = report.network_summary.kept_checkpoints;
    assert!((1..=3).contains(&kept));
    assert_eq!((meta.members, meta.ensemble.as_str()), (kept, "mean"));
    assert!(meta.threshold.is_some());
    assert_onnx_export(&run, dir.path(), &[2, 64, 64], kept);

    // NEWSdm: Σ P(carbon) of the last checkpoint, four classes.
    let clusters = dir.path().join("clusters.h5");
    let samples = [
        rareml::sim::emulsion::Sample::Carbon(100),
        rareml::sim::emulsion::Sample::Fog,
    ];
    rareml::sim::emulsion::write(
        &clusters,
        &Default::default(),
        &samples,
        4,
        40,
        &Default::default(),
        |_| {},
    )
    .unwrap();
    let run = dir.path().join("newsdm");
    let settings = newsdm::Settings {
        per_sample: 40,
        fog_test: 0,
        angle_set: 0,
        epochs: 1,
        ..newsdm::Settings::preset(Preset::Quick)
    };
    newsdm::run(&opts(&run, &clusters), &settings).unwrap();
    let scores = dir.path().join("emulsion-scores.h5");
    assert_test_scores_reproduced(&run, &clusters, &scores);
    let f = ScoresFile::open(&scores).unwrap();
    assert_eq!(f.meta().columns, ["C30", "C60", "C100", "background"]);
    let rows = f.read(0..f.len()).unwrap();
    for r in rows.value.rows() {
        assert!((r.sum() - 1.0).abs() < 1e-5, "class probabilities sum to 1");
    }
    assert_onnx_export(&run, dir.path(), &[1, 9, 40, 40], 1);
}

/// A run exported to ONNX: one file per ensemble member the run's rule uses, its run id and
/// checkpoint in the metadata, and tract's outputs equal to the checkpoint's candle outputs on
/// random inputs of `item` shape.
fn assert_onnx_export(run: &Path, dir: &Path, item: &[usize], files: usize) {
    use tract_onnx::prelude::{tvec, Framework, InferenceModelExt, IntoRunnable, IntoTValue};
    let out = dir.join("net.onnx");
    let written = rareml::experiments::predict::export_onnx(run, &out).unwrap();
    assert_eq!(written.len(), files);
    let (manifest, run_id) = RunManifest::read(run).unwrap();
    let first = manifest.network.checkpoints.len() - files;
    for (k, (path, _)) in written.iter().enumerate() {
        let bytes = std::fs::read(path).unwrap();
        let proto = tract_onnx::onnx()
            .proto_model_for_read(&mut &bytes[..])
            .unwrap();
        let meta: std::collections::BTreeMap<_, _> = proto
            .metadata_props
            .iter()
            .map(|p| (p.key.as_str(), p.value.as_str()))
            .collect();
        assert_eq!(meta["rareml.run_id"], run_id);
        let checkpoint = &manifest.network.checkpoints[first + k];
        assert_eq!(meta["rareml.checkpoint"], checkpoint);
        let params = rareml::models::Params::new(0);
        let model = rareml::models::Model::new(
            &manifest.network.config,
            &params,
            &candle_core::Device::Cpu,
        )
        .unwrap();
        params.load(&run.join(checkpoint), &[]).unwrap();
        let mut shape = vec![5];
        shape.extend_from_slice(item);
        let n: usize = shape.iter().product();
        let data: Vec<f32> = (0..n)
            .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        let x = candle_core::Tensor::from_vec(
            data.clone(),
            shape.as_slice(),
            &candle_core::Device::Cpu,
        )
        .unwrap();
        let ours: Vec<f32> = model
            .forward(&x, &rareml::models::Ctx::eval())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let runnable = tract_onnx::onnx()
            .model_for_read(&mut &bytes[..])
            .unwrap()
            .into_optimized()
            .unwrap()
            .into_runnable()
            .unwrap();
        let input = tract_onnx::prelude::Tensor::from_shape(&shape, &data).unwrap();
        let out = runnable.run(tvec!(input.into_tvalue())).unwrap();
        let theirs: Vec<f32> = out[0]
            .to_plain_array_view::<f32>()
            .unwrap()
            .iter()
            .copied()
            .collect();
        let scale = ours.iter().fold(0f32, |a, v| a.max(v.abs()));
        let diff = ours
            .iter()
            .zip(&theirs)
            .fold(0f32, |a, (p, q)| a.max((p - q).abs()));
        assert_eq!(ours.len(), theirs.len());
        assert!(
            diff <= 1e-4 * scale,
            "{}: {diff} of {scale}",
            path.display()
        );
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}
