//! PandaX-III: EfficientNet on XZ/YZ images versus the Bragg-blob topology cut; figure of merit
//! Ξ = εs/√εb at the threshold of maximum Ξ chosen on validation and applied on test; optional
//! sweep over the TopConv width n (the paper's study).

use super::{say, Error, Options, Preset, Result};
use crate::baselines::tpc::{strip_event_score, BlobParams};
use crate::io::tpc::{EventLabel, TpcEvent, TpcFile};
use crate::metrics::intervals::clopper_pearson;
use crate::metrics::roc::roc_curve;
use crate::models::{EfficientNetConfig, GlobalPool, Model, ModelConfig, Params};
use crate::preprocess::tpc::{event_image, TpcImageConfig};
use crate::sim::tpc::TpcConfig;
use crate::train::eval::{
    at_threshold, choose_threshold, fmt, markdown_table, signal_scores, write_report, Criterion,
    WorkingPoint,
};
use crate::train::plot::{histogram_png, roc_png};
use crate::train::{
    predict, AdamConfig, InMemory, Schedule, Split, Targets, Task, TrainConfig, Trainer,
};
use serde_json::json;

/// Sizes of a run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Events (generated, or read at most).
    pub events: usize,
    /// Training epochs.
    pub epochs: usize,
    /// The network (TopConv n = `top_channels`).
    pub net: EfficientNetConfig,
    /// Image conversion (64 × 64, upsampled ×2 to 128 × 128 in the paper).
    pub image: TpcImageConfig,
    /// Batch size.
    pub batch: usize,
    /// TopConv widths of the sweep (`None` = torchvision's full width); empty = no sweep.
    pub sweep: Vec<Option<usize>>,
    /// Adam learning rate.
    pub lr: f64,
}

impl Settings {
    /// The preset's sizes, overridden by the options.
    pub fn new(opts: &Options) -> Self {
        let mut s = match opts.preset {
            // B0 at half width and depth on the 64 × 64 images without the ×2 upsampling.
            Preset::Quick => Settings {
                events: 5000,
                epochs: 12,
                lr: 3e-3,
                net: EfficientNetConfig {
                    width_mult: 0.5,
                    depth_mult: 0.5,
                    ..EfficientNetConfig::b(0).expect("B0")
                },
                image: TpcImageConfig {
                    upsample: 1,
                    ..Default::default()
                },
                batch: 32,
                sweep: Vec::new(),
            },
            Preset::Paper => Settings {
                events: 40000,
                epochs: 30,
                net: EfficientNetConfig::b(4).expect("B4"),
                image: TpcImageConfig::default(),
                batch: 32,
                sweep: vec![Some(2), Some(4), Some(8), Some(16), None],
                lr: 1e-3,
            },
        };
        if let Some(n) = opts.events {
            s.events = n;
        }
        if let Some(e) = opts.epochs {
            s.epochs = e;
        }
        s
    }
}

fn load(opts: &Options, n: usize, tmp: &tempfile::TempDir) -> Result<TpcFile> {
    let path = match &opts.data {
        Some(p) => p.clone(),
        None => {
            let p = tmp.path().join("pandax3.h5");
            say(opts, format!("generating {n} events into {}", p.display()));
            crate::sim::tpc::write(
                &p,
                &TpcConfig::default(),
                None,
                opts.seed,
                n,
                &crate::sim::WriteOptions {
                    batch: 500,
                    ..Default::default()
                },
                |_| {},
            )?;
            p
        }
    };
    Ok(TpcFile::open(&path)?)
}

/// Flips the two planes of one image `(2, S, S)` in place, horizontally and/or vertically, from `seed`.
fn flip_in_place(slot: &mut [f32], side: usize, seed: u64) {
    let (h, v) = (seed & 1 == 1, seed & 2 == 2);
    for plane in slot.chunks_mut(side * side) {
        if h {
            plane.chunks_mut(side).for_each(|row| row.reverse());
        }
        if v {
            for r in 0..side / 2 {
                let (a, b) = plane.split_at_mut((side - 1 - r) * side);
                a[r * side..(r + 1) * side].swap_with_slice(&mut b[..side]);
            }
        }
    }
}

/// One trained network's figures.
struct NetRun {
    top: Option<usize>,
    working_point: WorkingPoint,
    auc: f64,
    test_scores: Vec<f64>,
    history: Vec<crate::train::EpochRecord>,
    parameters: usize,
}

#[allow(clippy::too_many_arguments)]
fn train_one(
    opts: &Options,
    set: &Settings,
    top: Option<usize>,
    src: &InMemory,
    split: &Split,
    val_sig: &[bool],
    test_sig: &[bool],
    dir: &std::path::Path,
) -> Result<NetRun> {
    let device = opts.device()?;
    let cfg = EfficientNetConfig {
        top_channels: top,
        pooling: GlobalPool::Max,
        in_channels: 2,
        outputs: 1,
        ..set.net.clone()
    };
    let params = Params::new(opts.seed);
    let model = Model::new(&ModelConfig::EfficientNet(cfg), &params, &device)?;
    let tc = TrainConfig {
        epochs: set.epochs,
        batch_size: set.batch,
        optimizer: AdamConfig {
            lr: set.lr,
            ..AdamConfig::default()
        },
        schedule: Schedule::Exponential { gamma: 0.9 },
        seed: opts.seed,
        keep_last: 3,
        progress: opts.progress,
    };
    let trainer = Trainer::new(&model, &params, Task::Binary, tc, device.clone(), dir)?;
    let n = top.map(|n| n.to_string()).unwrap_or_else(|| "full".into());
    say(
        opts,
        format!(
            "training EfficientNet (TopConv n = {n}, {} parameters) on {} events, {} epochs",
            params.trainable_count(),
            split.train.len(),
            set.epochs
        ),
    );
    let history = trainer.fit(src, split, None)?;
    // The score is the mean over the kept checkpoints (an ensemble of the last epochs).
    let kept = trainer.kept_weights()?;
    let (mut val, mut test) = (vec![0.0; split.val.len()], vec![0.0; split.test.len()]);
    for w in &kept {
        params.load(w, &[])?;
        for (acc, idx) in [(&mut val, &split.val), (&mut test, &split.test)] {
            for (a, s) in acc
                .iter_mut()
                .zip(signal_scores(&predict(&model, src, idx, 64, &device)?, 1))
            {
                *a += s / kept.len() as f64;
            }
        }
    }
    let thr = choose_threshold(&val, val_sig, Criterion::MaxSignificance)?;
    Ok(NetRun {
        top,
        working_point: at_threshold(&test, test_sig, thr)?,
        auc: roc_curve(test_sig, &test, true)?.auc(),
        test_scores: test,
        history,
        parameters: params.trainable_count(),
    })
}

/// Runs the pipeline and returns the report (also written to `OUT/report.json`).
pub fn run(opts: &Options, sweep: Option<Vec<Option<usize>>>) -> Result<serde_json::Value> {
    let mut set = Settings::new(opts);
    if let Some(s) = sweep {
        set.sweep = s;
    }
    let out = opts.out_dir()?.to_path_buf();
    let tmp =
        tempfile::tempdir().map_err(|e| Error::Invalid(format!("no temporary directory: {e}")))?;
    let file = load(opts, set.events, &tmp)?;
    let n = set.events.min(file.len());
    let (readout, meta) = (file.readout().clone(), *file.meta());
    let events: Vec<TpcEvent> = file
        .read(0..n)?
        .into_iter()
        .filter(|e| e.label != EventLabel::Unknown)
        .collect();
    let side = set.image.size * set.image.upsample;
    let (mut images, mut labels, mut kept) = (Vec::new(), Vec::new(), Vec::new());
    let mut skipped = 0usize;
    for e in &events {
        match event_image(e, &readout, &meta, &set.image, (false, false)) {
            Ok((img, _)) => {
                // Percent of the event's charge: values of order 1, like BatchNorm's initial
                // running variance, so eval mode is sensible from the first epochs.
                images.extend(img.iter().map(|v| 100.0 * v));
                labels.push((e.label == EventLabel::Signal) as u32);
                kept.push(e);
            }
            Err(_) => skipped += 1,
        }
    }
    if kept.len() < 20 || labels.iter().all(|&l| l == 1) || labels.iter().all(|&l| l == 0) {
        return Err(Error::Invalid(format!(
            "{}: {} labelled events with an image; signal and background are both needed",
            file.path().display(),
            kept.len()
        )));
    }
    say(opts, format!("{} events → images (2, {side}, {side}); {skipped} without charge above threshold set aside", kept.len()));
    let src = InMemory::new(
        images,
        vec![2, side, side],
        Targets::Classes(labels.clone()),
    )?
    .with_augment(Box::new(move |slot: &mut [f32], seed: u64| {
        flip_in_place(slot, side, seed)
    }));
    let split = Split::random(kept.len(), 0.2, 0.2, opts.seed)?;
    let sig = |idx: &[usize]| idx.iter().map(|&i| labels[i] == 1).collect::<Vec<bool>>();
    let (val_sig, test_sig) = (sig(&split.val), sig(&split.test));

    // Baseline: the Bragg-blob score (weaker blob / plane charge), threshold of maximum Ξ on validation.
    let blob = |idx: &[usize]| -> Result<Vec<f64>> {
        idx.iter()
            .map(|&i| {
                Ok(strip_event_score(
                    kept[i],
                    &readout,
                    &meta,
                    set.image.threshold_adc as f64,
                    &BlobParams::default(),
                )?)
            })
            .collect()
    };
    let (bval, btest) = (blob(&split.val)?, blob(&split.test)?);
    let bthr = choose_threshold(&bval, &val_sig, Criterion::MaxSignificance)?;
    let baseline = at_threshold(&btest, &test_sig, bthr)?;
    let bauc = roc_curve(&test_sig, &btest, true)?.auc();

    let main = train_one(
        opts,
        &set,
        set.net.top_channels,
        &src,
        &split,
        &val_sig,
        &test_sig,
        &out.join("checkpoints"),
    )?;
    let mut sweep_rows = Vec::new();
    for &top in &set.sweep {
        if top == main.top {
            sweep_rows.push((top, main.working_point, main.auc));
            continue;
        }
        let dir = out.join(format!(
            "checkpoints-n{}",
            top.map(|n| n.to_string()).unwrap_or_else(|| "full".into())
        ));
        let r = train_one(opts, &set, top, &src, &split, &val_sig, &test_sig, &dir)?;
        sweep_rows.push((top, r.working_point, r.auc));
    }

    let rn = roc_curve(&test_sig, &main.test_scores, true)?;
    let rb = roc_curve(&test_sig, &btest, true)?;
    roc_png(
        &out.join("roc.png"),
        "PandaX-III: 0νββ vs background (test)",
        &[
            ("EfficientNet", &rn.fpr, &rn.tpr),
            ("Bragg blobs", &rb.fpr, &rb.tpr),
        ],
    )?;
    let split_scores = |s: &[f64]| -> Vec<(&str, Vec<f64>)> {
        vec![
            (
                "0νββ",
                s.iter()
                    .zip(&test_sig)
                    .filter(|(_, &y)| y)
                    .map(|(&v, _)| v)
                    .collect(),
            ),
            (
                "background",
                s.iter()
                    .zip(&test_sig)
                    .filter(|(_, &y)| !y)
                    .map(|(&v, _)| v)
                    .collect(),
            ),
        ]
    };
    histogram_png(
        &out.join("scores.png"),
        "EfficientNet score (test)",
        "sigmoid output",
        &split_scores(&main.test_scores),
        (0.0, 1.0),
        40,
        Some(main.working_point.threshold),
    )?;
    histogram_png(
        &out.join("blob_score.png"),
        "Bragg-blob score (test)",
        "weaker blob / plane charge",
        &split_scores(&btest),
        (0.0, 0.5),
        40,
        Some(bthr),
    )?;

    // Ξ, or its 95 % CL lower limit εs/√εb_upper (Clopper–Pearson) when no test background
    // passes the threshold.
    let n_bkg = test_sig.iter().filter(|&&s| !s).count() as u64;
    let xi_limit = |wp: &WorkingPoint| -> Result<Option<f64>> {
        Ok(match wp.significance {
            Some(_) => None,
            None => {
                let upper = clopper_pearson(0, n_bkg.max(1), 0.9)?.1;
                Some(wp.signal_efficiency / upper.sqrt())
            }
        })
    };
    let xi = |wp: &WorkingPoint| -> Result<String> {
        Ok(match (wp.significance, xi_limit(wp)?) {
            (Some(x), _) => format!("{x:.3}"),
            (None, Some(l)) => format!("> {l:.1} (0/{n_bkg}, 95 % CL)"),
            (None, None) => "—".into(),
        })
    };
    let n_name = |t: Option<usize>| t.map(|n| n.to_string()).unwrap_or_else(|| "full".into());
    let report = json!({
        "experiment": "pandax3",
        "preset": format!("{:?}", opts.preset).to_lowercase(),
        "seed": opts.seed,
        "data": opts.data.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "generated (rareml-sim tpc, default config, built-in 0νββ spectrum)".into()),
        "events": { "with_image": kept.len(), "set_aside_no_charge": skipped, "signal": labels.iter().filter(|&&l| l == 1).count(), "train": split.train.len(), "val": split.val.len(), "test": split.test.len() },
        "images": set.image,
        "model": { "config": EfficientNetConfig { top_channels: main.top, ..set.net.clone() }, "trainable_parameters": main.parameters },
        "training": { "epochs": set.epochs, "batch_size": set.batch, "history": main.history },
        "working_point": "threshold of maximum Ξ = εs/√εb chosen on validation, applied on test",
        "network_score": "mean sigmoid output of the last 3 epochs' checkpoints",
        "network": { "significance": main.working_point.significance, "significance_lower_limit_95cl": xi_limit(&main.working_point)?, "working_point": main.working_point, "auc": main.auc },
        "baseline": { "method": "Bragg-blob topology (weaker end-blob charge fraction, strip planes)", "threshold_choice": "its own threshold of maximum Ξ on validation", "significance": baseline.significance, "significance_lower_limit_95cl": xi_limit(&baseline)?, "working_point": baseline, "auc": bauc },
        "topconv_sweep": sweep_rows.iter().map(|(t, wp, auc)| json!({"n": n_name(*t), "significance": wp.significance, "signal_efficiency": wp.signal_efficiency, "background_efficiency": wp.background_efficiency, "auc": auc})).collect::<Vec<_>>(),
    });
    let row = |name: String, wp: &WorkingPoint, auc: f64| -> Result<Vec<String>> {
        Ok(vec![
            name,
            xi(wp)?,
            fmt(Some(wp.signal_efficiency), 3),
            fmt(Some(wp.background_efficiency), 4),
            fmt(Some(auc), 4),
        ])
    };
    let mut rows = vec![
        row(
            format!("EfficientNet (n = {})", n_name(main.top)),
            &main.working_point,
            main.auc,
        )?,
        row("Bragg blobs".into(), &baseline, bauc)?,
    ];
    for (t, wp, auc) in &sweep_rows {
        rows.push(row(format!("sweep: n = {}", n_name(*t)), wp, *auc)?);
    }
    let mut md = format!(
        "# PandaX-III — {} events, test {}; threshold of maximum Ξ on validation\n\n",
        kept.len(),
        split.test.len()
    );
    md += &markdown_table(&["method", "Ξ = εs/√εb", "εs", "εb", "AUC"], &rows);
    write_report(&out, &report, &md)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::flip_in_place;

    #[test]
    fn flips_mirror_both_planes() {
        let base: Vec<f32> = (0..18).map(|v| v as f32).collect();
        let mut a = base.clone();
        flip_in_place(&mut a, 3, 1);
        assert_eq!(&a[..9], &[2., 1., 0., 5., 4., 3., 8., 7., 6.]);
        let mut b = base.clone();
        flip_in_place(&mut b, 3, 2);
        assert_eq!(&b[9..], &[15., 16., 17., 12., 13., 14., 9., 10., 11.]);
        let mut c = base.clone();
        flip_in_place(&mut c, 3, 0);
        assert_eq!(c, base);
    }
}
