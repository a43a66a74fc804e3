//! NEWSdm: NEWSnet versus the barycenter-shift cut — per-class carbon efficiencies and fog /
//! gamma reduction factors at a threshold chosen on validation, and the paper's Table 1 (the cut
//! at the nanoparticle threshold, NEWSnet at its efficiency, fog counted on a large generated set)
//! with the shift-angle distributions ([`table1`]).

mod data;
mod report;
#[cfg(feature = "search")]
pub mod search;
pub mod table1;

use data::{
    carbon_area_shifts, check_fits, fog_set_scores, generated_item_len, load_clusters, shift_of,
    ClusterReader, Clusters, Shifts,
};
use report::{figures, plots};
pub use report::{ClusterCounts, EnsembleFigures, Figures, MethodFigures, NewsdmReport};
use table1::GroupShifts;

use super::pipeline::{
    self, Ensemble, Experiment, NetworkSpec, NetworkSummary, Run, Scored, TrainingSummary,
};
use super::predict::{EventKeys, EventReader, Outputs};
use super::{setting_err, Error, Options, Preset, Result};
use crate::io::emulsion::PIXEL_SIZE_NM;
use crate::metrics::Criterion;
use crate::models::{ModelConfig, NewsNetConfig, NewsNetStage};
use crate::preprocess::emulsion::{ClusterSource, EmulsionPipeline};
use crate::report::browser::{selection, Browser, Cell, Column};
use crate::report::pictures::emulsion_cluster;
use crate::sim::emulsion::{EmulsionConfig, Sample};
use crate::train::{AdamConfig, Schedule, Source, Split, Task, TrainConfig};
use ndarray::ArrayView3;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Sizes and choices of a NEWSdm run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The preset these settings started from.
    pub preset: Preset,
    /// Clusters per generated sample (C30, C60, C100, fog, gamma), or read at most per file group.
    pub per_sample: usize,
    /// Training epochs.
    pub epochs: usize,
    /// The network (its input is set from the data).
    pub net: NewsNetConfig,
    /// Batch size.
    pub batch: usize,
    /// Random rotations of whole clusters during training (public code: −90…90° in 15° steps).
    pub rotations: bool,
    /// Carbon (all energies) efficiency at which the working point is chosen on validation.
    pub signal_efficiency: f64,
    /// Checkpoints kept: the ensemble whose spread is reported.
    pub keep_last: usize,
    /// Fog clusters generated from another area (seed) and scored by the trained network alone,
    /// so that a fog fraction of 10⁻³–10⁻⁴ is a count (generated data only; 0: none).
    #[serde(default)]
    pub fog_test: usize,
    /// Clusters per carbon sample generated from another area for the shift-angle
    /// distributions (Fig. 5; barycenter shifts only, no network; generated data only; 0: the
    /// validation and test clusters instead).
    #[serde(default)]
    pub angle_set: usize,
    /// Weight μ of the categorical cross-entropy in the loss (public code: 0.53).
    #[serde(default = "default_mu")]
    pub mu: f64,
    /// Adam's hyper-parameters (public code: lr 6.5·10⁻⁴, β 0.9 / 0.99, ε 10⁻⁷).
    #[serde(default = "AdamConfig::newsdm")]
    pub optimizer: AdamConfig,
    /// Learning-rate decay factor per epoch (exponential schedule; public code: 0.9).
    #[serde(default = "default_lr_decay")]
    pub lr_decay: f64,
}

fn default_mu() -> f64 {
    0.53
}

fn default_lr_decay() -> f64 {
    0.9
}

impl Settings {
    /// The preset's sizes.
    pub fn preset(preset: Preset) -> Self {
        match preset {
            // A narrower NEWSnet (stem 8/16, bottlenecks 16 and 32, one identity block each) on
            // the same 9 × 40 × 40 input.
            Preset::Quick => Settings {
                preset,
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
                keep_last: 3,
                fog_test: 20_000,
                angle_set: 2_000,
                mu: default_mu(),
                optimizer: AdamConfig::newsdm(),
                lr_decay: default_lr_decay(),
            },
            // The paper's sizes: samples of ~10⁵, batch 256, 60 epochs, the last ten epochs'
            // networks as the ensemble.
            Preset::Paper => Settings {
                preset,
                per_sample: 100_000,
                epochs: 60,
                net: NewsNetConfig::default(),
                batch: 256,
                rotations: false,
                signal_efficiency: 0.9,
                keep_last: 10,
                fog_test: 100_000,
                angle_set: 10_000,
                mu: default_mu(),
                optimizer: AdamConfig::newsdm(),
                lr_decay: default_lr_decay(),
            },
        }
    }

    /// Settings from a JSON file (as `--search` writes its best trial's), checked.
    pub fn read(path: &Path) -> Result<Self> {
        let file = |reason: String| Error::File {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| file(format!("cannot read: {e}")))?;
        let s: Settings = serde_json::from_str(&text).map_err(|e| {
            file(format!(
                "not NEWSdm settings (JSON of newsdm::Settings): {e}"
            ))
        })?;
        s.validate()
            .map_err(|e| file(format!("settings out of range: {e}")))?;
        Ok(s)
    }

    /// Checks every setting (the network's own fields too); the error names one field.
    pub fn validate(&self) -> Result<()> {
        let bad = |f, v: &dyn std::fmt::Debug, a| Err(setting_err("newsdm", f, v, a));
        if self.per_sample < 4 {
            return bad("per_sample", &self.per_sample, "≥ 4 clusters");
        }
        if !(self.signal_efficiency > 0.0 && self.signal_efficiency <= 1.0) {
            return bad("signal_efficiency", &self.signal_efficiency, "in (0, 1]");
        }
        if !(0.0..=1.0).contains(&self.mu) {
            return bad("mu", &self.mu, "in [0, 1]");
        }
        if !(self.lr_decay > 0.0 && self.lr_decay <= 1.0) {
            return bad("lr_decay", &self.lr_decay, "in (0, 1]");
        }
        self.train_config(0, false).validate()?;
        Ok(self.net.validate()?)
    }

    fn train_config(&self, seed: u64, progress: bool) -> TrainConfig {
        TrainConfig {
            epochs: self.epochs,
            batch_size: self.batch,
            optimizer: self.optimizer.clone(),
            schedule: Schedule::Exponential {
                gamma: self.lr_decay,
            },
            weight_decay_schedule: Default::default(),
            seed,
            keep_last: self.keep_last,
            ensemble: crate::train::EnsembleRule::Last,
            progress,
        }
    }
}

/// Runs the pipeline and returns the report (also written to `OUT/report.json`).
pub fn run(options: &Options, settings: &Settings) -> Result<NewsdmReport> {
    pipeline::run(&Newsdm(settings.clone()), options)
}

/// The samples the toy Monte Carlo generates (indices 0–4 of [`SAMPLE_NAMES`]).
const SAMPLES: [Sample; 6] = Sample::ALL;

/// Names of the samples a cluster belongs to: 0–2 carbon (signal), 3 fog, 4 gamma or other
/// background (the nanoparticle reference sample is kept apart: [`table1::is_reference_group`]).
pub const SAMPLE_NAMES: [&str; 5] = ["C30", "C60", "C100", "fog", "gamma"];

/// Signal samples (and the network's signal classes).
const CARBON: [usize; 3] = [0, 1, 2];

/// Confidence level of every interval in the report.
const CL: f64 = 0.95;

/// The NEWSdm experiment.
pub(crate) struct Newsdm(Settings);

/// The experiment of `settings` (for applying a trained run).
pub(crate) fn experiment(settings: Settings) -> Newsdm {
    Newsdm(settings)
}

/// The network's classes (its outputs) and the signal ones.
const CLASSES: [&str; 4] = ["C30", "C60", "C100", "background"];

impl Experiment for Newsdm {
    const NAME: &'static str = "newsdm";
    type Data = Clusters;
    type Baseline = Shifts;
    type Report = NewsdmReport;

    fn validate(&self) -> Result<()> {
        self.0.validate()
    }

    fn generate(&self, run: &Run, path: &Path) -> Result<()> {
        let opts = crate::sim::WriteOptions {
            batch: 500,
            ..Default::default()
        };
        let (cfg, n) = (EmulsionConfig::default(), self.0.per_sample);
        // Refuse before generating what the training cannot hold once preprocessed (the
        // nanoparticles are kept as shifts only).
        check_fits(
            n * (SAMPLES.len() - 1),
            generated_item_len()?,
            crate::io::memory_available_bytes(),
        )?;
        run.say(format!(
            "generating {} clusters per sample into {}",
            self.0.per_sample,
            path.display()
        ));
        Ok(crate::sim::emulsion::write(
            path,
            &cfg,
            &SAMPLES,
            run.options.seed,
            n,
            &opts,
            |_| {},
        )?)
    }

    fn load(&self, run: &Run, path: &Path) -> Result<Clusters> {
        let c = load_clusters(path, self.0.per_sample, run.options.seed, self.0.rotations)?;
        run.say(format!(
            "{} clusters ({} rejected by cuts) → {:?}",
            c.sample.len(),
            c.cuts,
            c.item
        ));
        Ok(c)
    }

    fn source<'d>(&self, data: &'d Clusters) -> &'d dyn Source {
        &data.src
    }

    fn split_fractions(&self) -> (f64, f64) {
        (0.2, 0.2)
    }

    fn baseline(&self, _: &Run, data: &Clusters, split: &Split) -> Result<Shifts> {
        let [_, p, h, w] = data.item;
        let per = p * h * w;
        let mut undefined = 0;
        let mut shifts = |idx: &[usize]| -> (Vec<f64>, Vec<f64>) {
            idx.iter()
                .map(|&i| {
                    let c = &data.src.inputs()[i * per..(i + 1) * per];
                    let v = ArrayView3::from_shape((p, h, w), c).expect("cluster shape");
                    // A cluster with no light above background has no barycentre: no shift.
                    shift_of(v).unwrap_or_else(|| {
                        undefined += 1;
                        (0.0, 0.0)
                    })
                })
                .unzip()
        };
        let (val, val_deg) = shifts(&split.val);
        let (test, test_deg) = shifts(&split.test);
        Ok(Shifts {
            val,
            test,
            val_deg,
            test_deg,
            undefined,
        })
    }

    fn networks(&self, run: &Run, data: &Clusters) -> Result<Vec<NetworkSpec>> {
        let net = NewsNetConfig {
            input: [data.item[1], data.item[2], data.item[3]],
            ..self.0.net.clone()
        };
        Ok(vec![NetworkSpec {
            label: "NEWSnet".into(),
            config: ModelConfig::NewsNet(net),
            task: Task::MultiClass {
                mu: self.0.mu,
                signal_classes: CARBON.len(),
            },
            train: self.0.train_config(run.options.seed, run.options.progress),
            checkpoints: "checkpoints".into(),
            predict_batch: 64,
            ensemble: Ensemble::Last,
            seed: run.options.seed,
        }])
    }

    fn browser(
        &self,
        data: &Clusters,
        split: &Split,
        _: &Scored,
        report: &NewsdmReport,
    ) -> Result<Browser> {
        let (net, bar) = (&report.network, &report.baseline);
        let mut b = Browser::new(
            "Test clusters",
            vec![
                Column::number("cluster id", 0),
                Column::category("sample"),
                Column::number("NEWSnet Σ P(carbon)", 4),
                Column::category("selection"),
                Column::category("outcome"),
                Column::number("barycenter shift [nm]", 1),
            ],
            &format!(
                "NEWSnet's selection is Σ P(carbon) ≥ {:.4} (chosen on validation for {:.0} % carbon efficiency);                  'wrong' is carbon failing or background passing it, most confidently wrong first.                  Pictures: the 8 polarisation images after the paper's preprocessing, on one colour scale,                  each with its barycentre (✚), and the barycentre path across polarisations in nm.",
                net.figures.working_point.threshold,
                100.0 * self.0.signal_efficiency
            ),
        );
        let [_, p, h, w] = data.item;
        let per = p * h * w;
        for (k, &i) in split.test.iter().enumerate() {
            let sample = data.sample[i];
            let (pass, outcome, wrongness) = selection(
                sample < 3,
                net.scores[k],
                net.figures.working_point.threshold,
            );
            let c = &data.src.inputs()[i * per..(i + 1) * per];
            b.push(
                vec![
                    Cell::Num(data.keys.id[i] as f64),
                    Cell::Text(SAMPLE_NAMES[sample].into()),
                    Cell::Num(net.scores[k]),
                    pass,
                    outcome,
                    Cell::Num(bar.scores[k]),
                ],
                wrongness,
                Some(
                    emulsion_cluster(
                        ArrayView3::from_shape((p, h, w), c).expect("cluster shape"),
                        PIXEL_SIZE_NM,
                        "grey level (median subtracted, ÷128)",
                    )
                    .0,
                ),
            );
        }
        Ok(b)
    }

    fn settings(&self) -> serde_json::Value {
        serde_json::to_value(&self.0).expect("settings serialise")
    }

    fn outputs(&self) -> Outputs {
        Outputs::Classes {
            names: CLASSES.iter().map(|c| c.to_string()).collect(),
            signal: CARBON.to_vec(),
        }
    }

    fn criterion(&self) -> Option<Criterion> {
        Some(Criterion::Efficiency(self.0.signal_efficiency))
    }

    fn keys<'d>(&self, data: &'d Clusters) -> &'d EventKeys {
        &data.keys
    }

    fn reader<'a>(&'a self, path: &Path) -> Result<Box<dyn EventReader + 'a>> {
        let src = ClusterSource::open_unlabelled(path, EmulsionPipeline::default())?;
        Ok(Box::new(ClusterReader(src)))
    }

    fn report(
        &self,
        run: &Run,
        data: &Clusters,
        split: &Split,
        networks: &[Scored],
        baseline: Shifts,
    ) -> Result<NewsdmReport> {
        let net = &networks[0];
        let samples = |idx: &[usize]| idx.iter().map(|&i| data.sample[i]).collect::<Vec<_>>();
        let (val_s, test_s) = (samples(&split.val), samples(&split.test));
        let crit = Criterion::Efficiency(self.0.signal_efficiency);
        // Each ensemble member's figures (threshold on validation, applied on test); the headline
        // is the last member's.
        let test_scores = net.test.member_scores(&CARBON)?;
        let members = net
            .val
            .member_scores(&CARBON)?
            .iter()
            .zip(&test_scores)
            .map(|(v, t)| figures(v, &val_s, t, &test_s, crit))
            .collect::<Result<Vec<_>>>()?;
        let network = MethodFigures {
            method: "NEWSnet: Σ P(carbon) of the last checkpoint".into(),
            figures: members.last().expect("one member at least").clone(),
            scores: test_scores.last().expect("one member at least").clone(),
        };
        let baseline_figures = MethodFigures {
            method: "barycenter shift (max pairwise distance of the 8 polarisation barycentres), its own threshold on validation".into(),
            figures: figures(&baseline.val, &val_s, &baseline.test, &test_s, crit)?,
            scores: baseline.test.clone(),
        };
        plots(&run.out, &network, &baseline_figures, &test_s)?;
        let paper = self.paper_table(run, data, split, net, &baseline, &val_s, &test_s)?;
        Ok(NewsdmReport {
            experiment: "newsdm",
            settings: self.0.clone(),
            seed: run.options.seed,
            data: run.data_description("generated (rareml-sim emulsion, default config)"),
            clusters: ClusterCounts::of(data, split),
            network_summary: NetworkSummary::of(&net.trained, Ensemble::Last),
            training: TrainingSummary::of(&net.trained),
            working_point: format!(
                "threshold chosen on validation for {:.0} % carbon efficiency, applied on test",
                100.0 * self.0.signal_efficiency
            ),
            network,
            network_ensemble: EnsembleFigures::of(&members),
            baseline: baseline_figures,
            baseline_undefined: baseline.undefined,
            barycenter_np: paper.0,
            network_at_barycenter_efficiency: paper.1,
            angles: paper.2,
        })
    }
}

impl Newsdm {
    /// The paper's Table 1 (the cut at the NP threshold, NEWSnet at its carbon efficiency with
    /// the large fog set) and the angle distributions; `None`s without a reference sample.
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    fn paper_table(
        &self,
        run: &Run,
        data: &Clusters,
        split: &Split,
        net: &Scored,
        shifts: &Shifts,
        val_s: &[usize],
        test_s: &[usize],
    ) -> Result<(
        Option<table1::BarycenterNp>,
        Option<table1::NetworkAtBarycenter>,
        Vec<table1::AngleGroup>,
    )> {
        if data.reference.len() < 2 {
            run.say("no nanoparticle reference sample: the paper's Table 1 is not computed");
            return Ok((None, None, Vec::new()));
        }
        let reference_nm: Vec<f64> = data.reference.iter().map(|x| x.0).collect();
        let thr = table1::np_threshold(&reference_nm, run.options.seed)?;
        let bar = table1::barycenter_np(&thr, data.reference_undefined, shifts, val_s, test_s)?;
        let fog = if run.options.data.is_none() && self.0.fog_test > 0 {
            run.say(format!(
                "scoring {} fog clusters of another area with the {} kept checkpoints",
                self.0.fog_test,
                net.trained.kept.len()
            ));
            fog_set_scores(run, net, self.0.fog_test)?
        } else {
            (Vec::new(), Vec::new())
        };
        let (fog, fog_shifts) = fog;
        let fog_sample = match fog.first() {
            Some(f) => format!(
                "{} fog clusters generated from another area (seed {} + offset), inference only",
                f.len(),
                run.options.seed
            ),
            None => "the test split's fog".into(),
        };
        let val_members = net.val.member_scores(&CARBON)?;
        let test_members = net.test.member_scores(&CARBON)?;
        let matched = table1::network_at_barycenter(
            bar.validation_carbon_efficiency,
            &val_members,
            &test_members,
            &fog,
            fog_sample,
            val_s,
            test_s,
        )?;
        // The angle distributions: carbon of another area per file group when generated (else
        // the validation and test clusters), the other samples' validation and test clusters, the
        // large fog set and the NPs.
        let cfg = EmulsionConfig::default();
        let generated = run.options.data.is_none();
        let area_carbon = generated && self.0.angle_set > 0;
        let mut angle_input = Vec::new();
        if area_carbon {
            run.say(format!(
                "barycenter shifts of {} clusters per carbon sample of another area (angle distributions)",
                self.0.angle_set
            ));
            angle_input.extend(carbon_area_shifts(run, self.0.angle_set)?);
        }
        for (g, name) in data.groups.iter().enumerate() {
            let mut v = Vec::new();
            let mut sample = None;
            for (idx, nm, deg) in [
                (&split.val, &shifts.val, &shifts.val_deg),
                (&split.test, &shifts.test, &shifts.test_deg),
            ] {
                for (k, &i) in idx.iter().enumerate() {
                    if data.group[i] == g {
                        v.push((nm[k], deg[k]));
                        sample = Some(data.sample[i]);
                    }
                }
            }
            let Some(sample) = sample else { continue };
            if area_carbon && CARBON.contains(&sample) {
                continue;
            }
            let scan = name.rsplit('/').next().unwrap_or("");
            let beam = (generated && sample < 3)
                .then(|| cfg.scans.iter().position(|s| s.name == scan))
                .flatten()
                .and_then(|k| cfg.beam_direction_deg(k));
            angle_input.push(GroupShifts {
                sample: SAMPLE_NAMES[sample].to_string(),
                group: name.clone(),
                clusters: "validation + test".into(),
                beam_deg: beam,
                shifts: v,
            });
        }
        if !fog_shifts.is_empty() {
            angle_input.push(GroupShifts {
                sample: "fog".into(),
                group: "fog".into(),
                clusters: format!("{} of another area", fog_shifts.len()),
                beam_deg: None,
                shifts: fog_shifts,
            });
        }
        angle_input.push(GroupShifts {
            sample: "NP".into(),
            group: "nanoparticles (reference)".into(),
            clusters: "all".into(),
            beam_deg: None,
            shifts: data.reference.clone(),
        });
        let angles = table1::angle_groups(&angle_input, thr.value_nm);
        let test_shifts: Vec<(f64, f64)> = shifts
            .test
            .iter()
            .zip(&shifts.test_deg)
            .map(|(&a, &b)| (a, b))
            .collect();
        table1::plots(
            &run.out,
            thr.value_nm,
            &reference_nm,
            &test_shifts,
            test_s,
            &angles,
            test_members.last().expect("one member at least"),
            Some(&matched),
        )?;
        Ok((Some(bar), Some(matched), angles))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every settings rule names its field (the network's own rules name theirs).
    #[test]
    fn settings_rules_name_their_field() {
        let q = || Settings::preset(Preset::Quick);
        let bad = |s: Settings, field: &str| {
            let e = s.validate().unwrap_err().to_string();
            assert!(e.contains(field), "{field}: {e}");
        };
        bad(
            Settings {
                per_sample: 3,
                ..q()
            },
            "per_sample",
        );
        bad(
            Settings {
                signal_efficiency: 0.0,
                ..q()
            },
            "signal_efficiency",
        );
        bad(
            Settings {
                signal_efficiency: 1.5,
                ..q()
            },
            "signal_efficiency",
        );
        bad(Settings { epochs: 0, ..q() }, "epochs");
        bad(Settings { batch: 0, ..q() }, "batch_size");
        bad(
            Settings {
                keep_last: 0,
                ..q()
            },
            "keep_last",
        );
        bad(Settings { mu: 1.2, ..q() }, "mu");
        bad(
            Settings {
                lr_decay: 0.0,
                ..q()
            },
            "lr_decay",
        );
        let mut adam = q();
        adam.optimizer.beta2 = 1.0;
        bad(adam, "beta2");
        let mut net = q();
        net.net.dropout = 1.0;
        bad(net, "dropout");
        assert!(q().validate().is_ok() && Settings::preset(Preset::Paper).validate().is_ok());
    }
}
