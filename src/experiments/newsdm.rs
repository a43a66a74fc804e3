//! NEWSdm: NEWSnet versus the barycenter-shift cut — per-class carbon efficiencies and fog /
//! gamma reduction factors at a threshold chosen on validation (the layout of the paper's Table 1).

use super::{say, Error, Options, Preset, Result};
use crate::baselines::emulsion::barycenter_shift;
use crate::io::emulsion::{ClusterBatch, ClusterClass, EmulsionFile, PIXEL_SIZE_NM};
use crate::metrics::intervals::{clopper_pearson, ensemble_interval};
use crate::metrics::roc::roc_curve;
use crate::models::{Model, ModelConfig, NewsNetConfig, NewsNetStage, Params};
use crate::preprocess::emulsion::{
    rotate, set_polarisations, EmulsionPipeline, Polarisations, Rotation,
};
use crate::sim::emulsion::{EmulsionConfig, Sample};
use crate::train::eval::{
    at_threshold, choose_threshold, fmt, markdown_table, signal_scores, write_report, Criterion,
    WorkingPoint,
};
use crate::train::plot::{histogram_png, roc_png};
use crate::train::{
    predict, AdamConfig, InMemory, Schedule, Split, Targets, Task, TrainConfig, Trainer,
};
use ndarray::{s, ArrayView3, ArrayViewMut3};
use rand::SeedableRng;
use serde::Serialize;
use serde_json::json;

/// Sizes of a run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Clusters per generated sample (C30, C60, C100, fog, gamma), or read at most per file group.
    pub per_sample: usize,
    /// Training epochs.
    pub epochs: usize,
    /// The network.
    pub net: NewsNetConfig,
    /// Batch size.
    pub batch: usize,
    /// Random rotations of whole clusters during training (public code: −90…90° in 15° steps).
    pub rotations: bool,
    /// Carbon (all energies) efficiency at which the working point is chosen on validation.
    pub signal_efficiency: f64,
}

impl Settings {
    /// The preset's sizes, overridden by the options.
    pub fn new(opts: &Options) -> Self {
        let mut s = match opts.preset {
            // A narrower NEWSnet (stem 8/16, bottlenecks 16 and 32, one identity block each) on
            // the same 9 × 40 × 40 input.
            Preset::Quick => Settings {
                per_sample: 700,
                epochs: 8,
                net: NewsNetConfig {
                    stem_filters: [8, 16],
                    stages: vec![
                        NewsNetStage {
                            filters: 16,
                            identity_blocks: 1,
                            stride: 2,
                        },
                        NewsNetStage {
                            filters: 32,
                            identity_blocks: 1,
                            stride: 1,
                        },
                    ],
                    dropout: 0.2,
                    ..Default::default()
                },
                batch: 32,
                rotations: false,
                signal_efficiency: 0.9,
            },
            Preset::Paper => Settings {
                per_sample: 10000,
                epochs: 30,
                net: NewsNetConfig::default(),
                batch: 32,
                rotations: false,
                signal_efficiency: 0.9,
            },
        };
        if let Some(n) = opts.events {
            s.per_sample = n;
        }
        if let Some(e) = opts.epochs {
            s.epochs = e;
        }
        s
    }
}

const SAMPLES: [Sample; 5] = [
    Sample::Carbon(30),
    Sample::Carbon(60),
    Sample::Carbon(100),
    Sample::Fog,
    Sample::Gamma,
];

/// Per-class figures of one method at its working point.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    /// Efficiency for all carbon (C30 + C60 + C100) on the test set.
    pub signal_efficiency: f64,
    /// C30, C60, C100 efficiencies.
    pub carbon_efficiency: [Option<f64>; 3],
    /// 1/ε of fog (None when no fog passes; then see `fog_reduction_lower_limit_95cl`).
    pub fog_reduction_factor: Option<f64>,
    /// 95 % CL lower limit on the fog reduction factor (1 / Clopper–Pearson upper limit of ε).
    pub fog_reduction_lower_limit_95cl: f64,
    /// Fog clusters passing / fog clusters.
    pub fog_passing: (usize, usize),
    /// 1/ε of gamma background.
    pub gamma_reduction_factor: Option<f64>,
    /// 95 % CL lower limit on the gamma reduction factor.
    pub gamma_reduction_lower_limit_95cl: f64,
    /// Gamma clusters passing / gamma clusters.
    pub gamma_passing: (usize, usize),
    /// The working point (carbon vs all background).
    pub working_point: WorkingPoint,
    /// Area under the ROC (carbon vs all background).
    pub auc: f64,
}

fn figures(scores: &[f64], sample: &[usize], thr: f64) -> Result<Figures> {
    let is_signal: Vec<bool> = sample.iter().map(|&s| s < 3).collect();
    let wp = at_threshold(scores, &is_signal, thr)?;
    let pass = |k: usize| {
        let (mut p, mut n) = (0, 0);
        for (&s, &c) in scores.iter().zip(sample) {
            if c == k {
                n += 1;
                p += (s >= thr) as usize;
            }
        }
        (p, n)
    };
    let eff = |k| {
        let (p, n) = pass(k);
        (n > 0).then(|| p as f64 / n as f64)
    };
    let (fog, gamma) = (pass(3), pass(4));
    let rf = |(p, n): (usize, usize)| (p > 0).then(|| n as f64 / p as f64);
    // One-sided 95 % upper limit on ε = upper end of the two-sided 90 % Clopper–Pearson interval.
    let limit = |(p, n): (usize, usize)| -> Result<f64> {
        Ok(1.0 / clopper_pearson(p as u64, n.max(1) as u64, 0.9)?.1)
    };
    Ok(Figures {
        signal_efficiency: wp.signal_efficiency,
        carbon_efficiency: [eff(0), eff(1), eff(2)],
        fog_reduction_factor: rf(fog),
        fog_reduction_lower_limit_95cl: limit(fog)?,
        fog_passing: fog,
        gamma_reduction_factor: rf(gamma),
        gamma_reduction_lower_limit_95cl: limit(gamma)?,
        gamma_passing: gamma,
        working_point: wp,
        auc: roc_curve(&is_signal, scores, true)?.auc(),
    })
}

/// "R (pass/all)", or "> limit (0/all)" when nothing passes.
fn reduction(r: Option<f64>, limit: f64, (p, n): (usize, usize)) -> String {
    match r {
        Some(r) => format!("{r:.1} ({p}/{n})"),
        None => format!("> {limit:.0} (0/{n}, 95 % CL)"),
    }
}

/// Clusters with their sample index (0–2 carbon 30/60/100 keV, 3 fog, 4 gamma or other background).
struct Loaded {
    images: Vec<f32>,
    item: [usize; 4],
    sample: Vec<usize>,
    cuts: usize,
}

fn load(opts: &Options, set: &Settings, tmp: &tempfile::TempDir) -> Result<Loaded> {
    let path = match &opts.data {
        Some(p) => p.clone(),
        None => {
            let p = tmp.path().join("newsdm.h5");
            say(
                opts,
                format!(
                    "generating {} clusters per sample into {}",
                    set.per_sample,
                    p.display()
                ),
            );
            crate::sim::emulsion::write(
                &p,
                &EmulsionConfig::default(),
                &SAMPLES,
                opts.seed,
                set.per_sample,
                &crate::sim::WriteOptions {
                    batch: 500,
                    ..Default::default()
                },
                |_| {},
            )?;
            p
        }
    };
    let file = EmulsionFile::open(&path)?;
    let pipeline = EmulsionPipeline::default();
    let (mut images, mut sample, mut item, mut cuts) = (Vec::new(), Vec::new(), [0; 4], 0);
    for cs in file.sets()? {
        let n = cs.len().min(set.per_sample);
        if n == 0 {
            continue;
        }
        let group = cs.group().to_lowercase();
        let batch: ClusterBatch<f32> = if cs.pixel_type() == "u8" {
            to_f32(cs.read::<u8>(0..n)?)
        } else {
            cs.read::<f32>(0..n)?
        };
        let input = pipeline.process(&batch, opts.seed)?;
        cuts += n - input.kept.len();
        let dims = input.images.shape().to_vec();
        item = [dims[1], dims[2], dims[3], dims[4]];
        for (j, &k) in input.kept.iter().enumerate() {
            let class = batch
                .classes
                .as_ref()
                .map(|c| c[k])
                .or(cs.class())
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "{}: group {} has no class (attribute, labels or path)",
                        path.display(),
                        cs.group()
                    ))
                })?;
            let s = match class {
                ClusterClass::C30keV => 0,
                ClusterClass::C60keV => 1,
                ClusterClass::C100keV => 2,
                ClusterClass::Background if group.contains("fog") => 3,
                ClusterClass::Background => 4,
            };
            sample.push(s);
            images.extend(input.images.slice(s![j, .., .., .., ..]).iter());
        }
    }
    if sample.len() < 20 || !sample.iter().any(|&s| s < 3) || !sample.iter().any(|&s| s >= 3) {
        return Err(Error::Invalid(format!(
            "{}: {} clusters; carbon and background classes are both needed",
            path.display(),
            sample.len()
        )));
    }
    Ok(Loaded {
        images,
        item,
        sample,
        cuts,
    })
}

fn to_f32(b: ClusterBatch<u8>) -> ClusterBatch<f32> {
    ClusterBatch {
        images: b.images.mapv(|v| v as f32),
        pol_ids: b.pol_ids,
        classes: b.classes,
        start: b.start,
    }
}

/// Rotates one cluster `(1, 9, H, W)` (periodic 9th image) in place by an angle drawn from `seed`.
fn rotate_in_place(slot: &mut [f32], item: [usize; 4], seed: u64) {
    let angle = Rotation::PUBLIC_CODE.sample(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    if angle == 0.0 {
        return;
    }
    let [_, p, h, w] = item;
    let view = ArrayView3::from_shape((p, h, w), &*slot).expect("slot matches the cluster shape");
    let periodic = p == 9;
    let r = rotate(
        view.slice(s![..if periodic { 8 } else { p }, .., ..]),
        angle,
    );
    let r = if periodic {
        set_polarisations(r.view(), Polarisations::Periodic).expect("8 images")
    } else {
        r
    };
    let mut out =
        ArrayViewMut3::from_shape((p, h, w), slot).expect("slot matches the cluster shape");
    out.assign(&r);
}

/// Runs the pipeline and returns the report (also written to `OUT/report.json`).
pub fn run(opts: &Options, rotations: Option<bool>) -> Result<serde_json::Value> {
    let mut set = Settings::new(opts);
    if let Some(r) = rotations {
        set.rotations = r;
    }
    let out = opts.out_dir()?.to_path_buf();
    let device = opts.device()?;
    let tmp =
        tempfile::tempdir().map_err(|e| Error::Invalid(format!("no temporary directory: {e}")))?;
    let data = load(opts, &set, &tmp)?;
    let item = data.item;
    say(
        opts,
        format!(
            "{} clusters ({} rejected by cuts) → {:?}",
            data.sample.len(),
            data.cuts,
            item
        ),
    );
    let labels: Vec<u32> = data.sample.iter().map(|&s| s.min(3) as u32).collect();
    let per: usize = item.iter().product();
    // Baseline score on the unrotated images: the barycenter shift in nm.
    let shifts: Vec<f64> = data
        .images
        .chunks(per)
        .map(|c| {
            let v = ArrayView3::from_shape((item[1], item[2], item[3]), c).expect("cluster shape");
            barycenter_shift(v.slice(s![..8.min(item[1]), .., ..]), PIXEL_SIZE_NM)
                .map(|b| b.shift_nm)
                .unwrap_or(0.0)
        })
        .collect();
    let mut src = InMemory::new(data.images, item.to_vec(), Targets::Classes(labels))?;
    if set.rotations {
        src = src.with_augment(Box::new(move |slot: &mut [f32], seed: u64| {
            rotate_in_place(slot, item, seed)
        }));
    }
    let split = Split::random(data.sample.len(), 0.2, 0.2, opts.seed)?;
    let net_cfg = NewsNetConfig {
        input: [item[1], item[2], item[3]],
        ..set.net.clone()
    };
    let params = Params::new(opts.seed);
    let model = Model::new(&ModelConfig::NewsNet(net_cfg.clone()), &params, &device)?;
    let train_cfg = TrainConfig {
        epochs: set.epochs,
        batch_size: set.batch,
        optimizer: AdamConfig::newsdm(),
        schedule: Schedule::Exponential { gamma: 0.9 },
        seed: opts.seed,
        keep_last: 3,
        progress: opts.progress,
    };
    let trainer = Trainer::new(
        &model,
        &params,
        Task::MultiClass {
            mu: 0.53,
            signal_classes: 3,
        },
        train_cfg.clone(),
        device.clone(),
        &out.join("checkpoints"),
    )?;
    say(
        opts,
        format!(
            "training NEWSnet ({} parameters) on {} clusters, {} epochs, rotations {}",
            params.trainable_count(),
            split.train.len(),
            set.epochs,
            set.rotations
        ),
    );
    let history = trainer.fit(&src, &split, None)?;

    let sample_of = |idx: &[usize]| idx.iter().map(|&i| data.sample[i]).collect::<Vec<_>>();
    let (val_s, test_s) = (sample_of(&split.val), sample_of(&split.test));
    let is_sig = |s: &[usize]| s.iter().map(|&c| c < 3).collect::<Vec<bool>>();
    let crit = Criterion::Efficiency(set.signal_efficiency);
    // One model's figures: threshold on validation, applied on test.
    let evaluate = || -> Result<(Figures, Vec<f64>)> {
        let val = signal_scores(&predict(&model, &src, &split.val, 64, &device)?, 3);
        let test = signal_scores(&predict(&model, &src, &split.test, 64, &device)?, 3);
        let thr = choose_threshold(&val, &is_sig(&val_s), crit)?;
        Ok((figures(&test, &test_s, thr)?, test))
    };
    let (network, net_test) = evaluate()?;
    // Ensemble over the kept checkpoints (the last one is the model evaluated above).
    let kept = trainer.kept_weights()?;
    let mut members = Vec::new();
    for w in &kept {
        params.load(w, &[])?;
        members.push(evaluate()?.0);
    }
    if let Some(last) = kept.last() {
        params.load(last, &[])?;
    }
    let interval = |f: &dyn Fn(&Figures) -> Option<f64>| -> Option<serde_json::Value> {
        let v: Vec<f64> = members.iter().filter_map(f).collect();
        (v.len() == members.len())
            .then(|| ensemble_interval(&v, 0.95).ok())
            .flatten()
            .map(|i| json!({"mean": i.mean, "half_width_95": i.half_width, "models": i.k}))
    };
    let ensemble = json!({
        "signal_efficiency": interval(&|f| Some(f.signal_efficiency)),
        "fog_reduction_factor": interval(&|f| f.fog_reduction_factor),
        "gamma_reduction_factor": interval(&|f| f.gamma_reduction_factor),
        "auc": interval(&|f| Some(f.auc)),
    });

    let base_val: Vec<f64> = split.val.iter().map(|&i| shifts[i]).collect();
    let base_test: Vec<f64> = split.test.iter().map(|&i| shifts[i]).collect();
    let base_thr = choose_threshold(&base_val, &is_sig(&val_s), crit)?;
    let baseline = figures(&base_test, &test_s, base_thr)?;

    // Plots.
    let tsig = is_sig(&test_s);
    let rn = roc_curve(&tsig, &net_test, true)?;
    let rb = roc_curve(&tsig, &base_test, true)?;
    roc_png(
        &out.join("roc.png"),
        "NEWSdm: carbon vs background (test)",
        &[
            ("NEWSnet", &rn.fpr, &rn.tpr),
            ("barycenter shift", &rb.fpr, &rb.tpr),
        ],
    )?;
    let names = ["C30", "C60", "C100", "fog", "gamma"];
    let per_class = |scores: &[f64]| -> Vec<(&str, Vec<f64>)> {
        (0..5)
            .map(|k| {
                (
                    names[k],
                    scores
                        .iter()
                        .zip(&test_s)
                        .filter(|(_, &c)| c == k)
                        .map(|(&s, _)| s)
                        .collect::<Vec<_>>(),
                )
            })
            .filter(|(_, v)| !v.is_empty())
            .collect()
    };
    histogram_png(
        &out.join("scores.png"),
        "NEWSnet signal score (test)",
        "Σ P(carbon)",
        &per_class(&net_test),
        (0.0, 1.0),
        40,
        Some(network.working_point.threshold),
    )?;
    let max_shift = base_test.iter().fold(1.0f64, |a, &b| a.max(b));
    histogram_png(
        &out.join("barycenter_shift.png"),
        "Barycenter shift (test)",
        "shift [nm]",
        &per_class(&base_test),
        (0.0, max_shift),
        40,
        Some(base_thr),
    )?;

    let count = |k: usize| data.sample.iter().filter(|&&s| s == k).count();
    let report = json!({
        "experiment": "newsdm",
        "preset": format!("{:?}", opts.preset).to_lowercase(),
        "seed": opts.seed,
        "data": opts.data.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "generated (rareml-sim emulsion, default config)".into()),
        "clusters": { "C30": count(0), "C60": count(1), "C100": count(2), "fog": count(3), "gamma": count(4), "rejected_by_cuts": data.cuts, "train": split.train.len(), "val": split.val.len(), "test": split.test.len() },
        "model": { "config": net_cfg, "trainable_parameters": params.trainable_count() },
        "training": { "config": train_cfg, "rotations": set.rotations, "history": history },
        "working_point": format!("threshold chosen on validation for {:.0} % carbon efficiency, applied on test", 100.0 * set.signal_efficiency),
        "network": network,
        "network_ensemble": ensemble,
        "baseline": { "method": "barycenter shift (max pairwise distance of the 8 polarisation barycentres)", "threshold_choice": "its own threshold chosen on validation at the same carbon efficiency", "figures": &baseline, "signal_efficiency": baseline.signal_efficiency, "fog_reduction_factor": baseline.fog_reduction_factor, "fog_reduction_lower_limit_95cl": baseline.fog_reduction_lower_limit_95cl },
    });
    let row = |name: &str, f: &Figures| {
        vec![
            name.to_string(),
            fmt(f.carbon_efficiency[0], 3),
            fmt(f.carbon_efficiency[1], 3),
            fmt(f.carbon_efficiency[2], 3),
            fmt(Some(f.signal_efficiency), 3),
            reduction(
                f.fog_reduction_factor,
                f.fog_reduction_lower_limit_95cl,
                f.fog_passing,
            ),
            reduction(
                f.gamma_reduction_factor,
                f.gamma_reduction_lower_limit_95cl,
                f.gamma_passing,
            ),
            fmt(Some(f.auc), 4),
        ]
    };
    let mut md = format!("# NEWSdm — {} clusters, test {}; threshold for {:.0} % carbon efficiency on validation\n\n", data.sample.len(), split.test.len(), 100.0 * set.signal_efficiency);
    md += &markdown_table(
        &[
            "method",
            "ε C30",
            "ε C60",
            "ε C100",
            "ε carbon",
            "fog R (pass/all)",
            "gamma R (pass/all)",
            "AUC",
        ],
        &[row("NEWSnet", &network), row("barycenter shift", &baseline)],
    );
    write_report(&out, &report, &md)?;
    Ok(report)
}
