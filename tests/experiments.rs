//! Each experiment pipeline end to end on tiny generated data (seconds): the typed report, its
//! JSON, the plots and checkpoints, and bad options.

use rareml::experiments::{newsdm, pandax3, ship_tt, Options, Preset};

fn opts(dir: &std::path::Path) -> Options {
    Options {
        progress: false,
        ..Options::new(dir)
    }
}

fn json(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

/// `report.html` beside `report.md`: self-contained (its plots inline, no address outside the
/// file), its event browser listing `events` test events, each with a picture.
fn assert_html_report(dir: &std::path::Path, events: usize, plots: usize) {
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert_eq!(html.matches("data:image/png;base64,").count(), plots);
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("src=\"/"));
    let tag = r#"id="table-data">"#;
    let start = html.find(tag).unwrap() + tag.len();
    let end = start + html[start..].find("</script>").unwrap();
    let t: serde_json::Value =
        serde_json::from_str(&html[start..end].replace("<\\/", "</")).unwrap();
    assert_eq!(t["rows"].as_array().unwrap().len(), events);
    assert_eq!(t["with_pictures"], events);
}

/// Hit maps made per batch from the hits give the same run as maps held in memory.
#[test]
fn ship_tt_maps_per_batch_give_the_same_run() {
    let settings = ship_tt::Settings {
        events: 200,
        epochs: 2,
        networks: vec![ship_tt::ShipNetwork::CoordConvHuber],
        boosting: false,
        resimulate: false,
        ..ship_tt::Settings::preset(Preset::Quick)
    };
    let run = |maps_per_batch| {
        let dir = tempfile::tempdir().unwrap();
        let s = ship_tt::Settings {
            maps_per_batch,
            ..settings.clone()
        };
        ship_tt::run(&opts(dir.path()), &s).unwrap()
    };
    let (memory, per_batch) = (run(false), run(true));
    assert!(memory.maps_in_memory && !per_batch.maps_in_memory);
    assert!(memory.resimulation.is_none());
    assert_eq!(
        format!("{:?}", memory.network),
        format!("{:?}", per_batch.network)
    );
    assert_eq!(
        memory.events.hits_outside_maps,
        per_batch.events.hits_outside_maps
    );
}

#[test]
fn ship_tt_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let settings = ship_tt::Settings {
        events: 300,
        epochs: 1,
        ..ship_tt::Settings::preset(Preset::Quick)
    };
    let r = ship_tt::run(&opts(dir.path()), &settings).unwrap();
    // One epoch on 300 showers: the networks may still predict √E < 0 (E = 0) everywhere, a
    // σ((E−Ê)/E) of 0 with a large RMSE; the figures must be finite all the same.
    for f in [&r.network, &r.baseline] {
        assert!(f.energy_resolution >= 0.0 && f.energy_rmse_gev > 0.0);
        assert!(f.distance_rmse_cm.unwrap() > 0.0);
    }
    assert!(r.baseline.energy_resolution > 0.0);
    assert!(r.xy.weighted_mean_rms_cm > 0.0);
    assert_eq!(
        r.events.total,
        r.events.train + r.events.val + r.events.test
    );
    // The selection's counts add up, per energy bin too.
    let sel = &r.selection;
    assert_eq!(sel.kept, r.events.total);
    assert_eq!(sel.kept + sel.rejected, 300);
    assert_eq!(
        sel.per_energy.iter().map(|b| b.rejected).sum::<usize>(),
        sel.rejected
    );
    // The paper's three network rows, the headline first.
    let rows: Vec<_> = r.networks.iter().map(|n| n.row).collect();
    assert_eq!(
        rows,
        [
            ship_tt::ShipNetwork::CoordConvHuber,
            ship_tt::ShipNetwork::CnnHuber,
            ship_tt::ShipNetwork::CnnMse
        ]
    );
    assert!(r.networks[0].coordinates && !r.networks[1].coordinates);
    assert!(r.networks[0].model.trainable_parameters > r.networks[1].model.trainable_parameters);
    assert!(r.boosted.is_some());
    // Generated data: every training event of every epoch and network was re-simulated (or its
    // stored shower stood in).
    let resim = r
        .resimulation
        .as_ref()
        .expect("generated data are re-simulated");
    assert_eq!(
        resim.fresh + resim.stored_stood_in,
        r.events.train * 3,
        "{resim:?}"
    );
    assert!(resim.draws >= resim.fresh);
    let back = json(dir.path());
    assert_eq!(back, serde_json::to_value(&r).unwrap());
    for key in [
        "energy_resolution",
        "energy_rmse_gev",
        "distance_rmse_cm",
        "energy_resolution_robust",
    ] {
        assert!(back["network"][key].is_number(), "network.{key}");
        assert!(back["baseline"][key].is_number(), "baseline.{key}");
    }
    for key in [
        "dbscan_found_fraction",
        "dbscan_rms_cm",
        "weighted_mean_rms_cm",
    ] {
        assert!(back["xy"][key].is_number(), "xy.{key}");
    }
    assert_eq!(back["paper"][0]["energy_rmse_gev"], 7.23);
    for png in [
        "resolution_vs_energy.png",
        "distance_resolution_vs_energy.png",
        "gaussian_features_vs_energy.png",
        "xy_residuals.png",
    ] {
        assert!(dir.path().join(png).exists(), "{png}");
    }
    assert!(dir.path().join("report.md").exists());
    for ck in [
        "checkpoints",
        "checkpoints_cnn_huber",
        "checkpoints_cnn_mse",
    ] {
        assert!(
            dir.path().join(ck).join("epoch-0000.safetensors").exists(),
            "{ck}"
        );
    }
    assert_html_report(dir.path(), r.events.test, 4);
}

#[test]
fn newsdm_pipeline_with_rotations() {
    let dir = tempfile::tempdir().unwrap();
    let settings = newsdm::Settings {
        per_sample: 30,
        epochs: 1,
        rotations: true,
        fog_test: 300,
        angle_set: 200,
        ..newsdm::Settings::preset(Preset::Quick)
    };
    let r = newsdm::run(&opts(dir.path()), &settings).unwrap();
    // The paper's Table 1: the cut at the nanoparticles' 95 % quantile, the network at its
    // efficiency with the extra fog set counted.
    let bar = r.barycenter_np.as_ref().unwrap();
    assert_eq!(bar.n_reference, 30);
    assert!(bar.threshold_nm > 0.0 && bar.threshold_std_err_nm > 0.0);
    let matched = r.network_at_barycenter_efficiency.as_ref().unwrap();
    assert_eq!(matched.fog_passing[1], 300);
    assert_eq!(
        matched.members.len(),
        settings.keep_last.min(settings.epochs)
    );
    // Carbon's angle rows come from 200 clusters per sample of another area, 50 per scan (all
    // kept by the cuts or fewer), not from the 12 validation and test clusters per energy.
    let c100_45 = r
        .angles
        .iter()
        .find(|g| g.group == "Carbon/100keV/45degr")
        .unwrap();
    assert!(
        c100_45.clusters.ends_with(" of another area"),
        "{}",
        c100_45.clusters
    );
    assert_eq!(c100_45.beam_direction_deg, Some(105.0));
    let n45: u64 = c100_45.long.iter().chain(&c100_45.short).sum();
    assert!((40..=50).contains(&n45), "{n45}");
    assert_eq!(
        r.angles
            .iter()
            .filter(|g| g.sample.starts_with('C'))
            .count(),
        12
    );
    // The extra fog set's shift directions, all 300 of them (long or short).
    let fog_set = r
        .angles
        .iter()
        .find(|g| g.group == "fog" && g.clusters == "300 of another area");
    let counted = fog_set.map(|g| g.long.iter().chain(&g.short).sum::<u64>());
    assert_eq!(counted, Some(300));
    for f in [&r.network.figures, &r.baseline.figures] {
        assert!((0.0..=1.0).contains(&f.signal_efficiency));
        // A reduction factor, or a lower limit when no fog passes.
        assert!(f.fog_reduction_factor.is_some() != f.fog_reduction_lower_limit_95cl.is_some());
        assert_eq!(f.classes.len(), 5);
    }
    assert_eq!(r.clusters.c30, 30);
    assert!(r.settings.rotations);
    let back = json(dir.path());
    assert_eq!(back["clusters"]["C30"], 30);
    assert!(back["network"]["signal_efficiency"].is_number());
    assert!(back["baseline"]["fog_passing"].is_array());
    let np = &back["barycenter_np"];
    assert!(np["threshold_nm"].is_number() && np["fog_fraction"].is_number());
    for k in ["C30", "C60", "C100"] {
        assert!(np["efficiency"][k].is_number(), "{k}");
    }
    let m = &back["network_at_barycenter_efficiency"];
    assert!(m["signal_efficiency"].is_number() && m["fog_reduction_factor"].is_number());
    assert_eq!(m["fog_passing"][1], 300);
    for f in [
        "roc.png",
        "scores.png",
        "barycenter_shift.png",
        "report.md",
        "shift_np_threshold.png",
        "angles_long.png",
        "roc_per_class.png",
        "selected_angle.png",
    ] {
        assert!(dir.path().join(f).exists(), "{f}");
    }
    assert_html_report(dir.path(), r.clusters.test, 9);
}

/// The hyper-parameter search end to end on a few clusters: 10 trials (9 random, 1 proposed by
/// the Gaussian process) of 2-fold cross-validation, the log, the best settings as a file the
/// example reads back, a resumed search that trains nothing, and a changed one refused.
#[cfg(feature = "search")]
#[test]
fn newsdm_search_logs_resumes_and_writes_its_best_settings() {
    use newsdm::search::{search, SearchSettings};
    let dir = tempfile::tempdir().unwrap();
    let base = newsdm::Settings {
        per_sample: 8,
        epochs: 1,
        fog_test: 0,
        angle_set: 0,
        ..newsdm::Settings::preset(Preset::Quick)
    };
    let how = SearchSettings {
        trials: 10,
        folds: 2,
        ..Default::default()
    };
    let r = search(&opts(dir.path()), &base, &how).unwrap();
    assert_eq!(r.trials.len(), 10);
    assert_eq!(r.trials[9].proposed_by, "gp");
    for t in &r.trials {
        assert_eq!(t.fold_auc.len(), 2);
        assert!(t.fold_auc.iter().all(|a| (0.0..=1.0).contains(a)));
        assert!(t.objective <= r.trials[r.best].objective || t.trial != r.best);
    }
    let best = newsdm::Settings::read(&r.best_settings).unwrap();
    assert_eq!(best, r.trials[r.best].hyper.apply(&base));
    let log = std::fs::read_to_string(dir.path().join("search/trials.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 10);
    // No checkpoint is left behind once a trial is logged.
    assert!(!dir.path().join("search/trial-000").exists());
    let t0 = std::time::Instant::now();
    let again = search(&opts(dir.path()), &base, &how).unwrap();
    assert_eq!(again.trials, r.trials);
    eprintln!("resumed in {:?}", t0.elapsed());
    let other = newsdm::Settings { epochs: 2, ..base };
    let e = search(&opts(dir.path()), &other, &how)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("search.json") && e.contains("base settings"),
        "{e}"
    );
}

#[test]
fn pandax3_pipeline_with_a_topconv_sweep() {
    let dir = tempfile::tempdir().unwrap();
    // Six epochs of ten batches: BatchNorm's running statistics need a few dozen batches before
    // eval mode stops collapsing every score onto one value. Two trainings per width, full-size
    // B0 beside the headline network, and the feature-map study of stages 2 and 8.
    let settings = pandax3::Settings {
        events: 320,
        epochs: 6,
        split: [0.2, 0.2],
        sweep: vec![Some(2), Some(8)],
        repeats: 2,
        compare: vec![pandax3::Architecture::B0],
        features: Some(pandax3::FeatureSettings {
            stages: vec![8, 2],
            events: 3,
            ..Default::default()
        }),
        ..pandax3::Settings::preset(Preset::Quick)
    };
    let r = pandax3::run(&opts(dir.path()), &settings).unwrap();
    for f in [&r.network, &r.baseline] {
        // Ξ, or its lower limit when no test background passes.
        assert!(f.significance.is_some() != f.significance_lower_limit_95cl.is_some());
        assert!((0.0..=1.0).contains(&f.signal_efficiency));
    }
    assert_eq!(r.topconv_sweep.len(), 2);
    assert_eq!(r.topconv_sweep[0].n, "2");
    for row in &r.topconv_sweep {
        assert_eq!(row.significance.len(), 2, "{row:?}");
        let values = row.significance.iter().flatten().count();
        assert_eq!(row.mean_significance.is_some(), values >= 1, "{row:?}");
        assert_eq!(row.std_significance.is_some(), values >= 2, "{row:?}");
    }
    // n = 8 is the headline network: its first training, not trained again.
    assert_eq!(r.topconv_sweep[1].significance[0], r.network.significance);
    assert!(!dir.path().join("checkpoints-n8").exists());
    for d in [
        "checkpoints-n2",
        "checkpoints-n2-r2",
        "checkpoints-n8-r2",
        "checkpoints-b0",
    ] {
        assert!(dir.path().join(d).exists(), "{d}");
    }
    // The comparison: the headline network and B0 (the paper's 6.66 at 64 × 64).
    assert_eq!(r.comparison.len(), 2);
    assert_eq!(r.comparison[1].network, "EfficientNet-B0");
    assert_eq!(r.comparison[1].paper_significance, Some(6.66));
    assert!(r.comparison.iter().all(|c| c.seconds_per_epoch > 0.0));
    // The feature maps: 3 + 3 events, stages 2 and 8 of the half-width B0 (8 and 160 maps).
    let f = rareml::io::features::read(dir.path().join("feature_maps.h5")).unwrap();
    assert_eq!(f.id.len(), 6);
    assert_eq!(f.label, vec![1, 1, 1, 0, 0, 0]);
    let dims: Vec<(usize, usize)> = f.stages.iter().map(|(k, a)| (*k, a.dim().1)).collect();
    assert_eq!(dims, vec![(2, 8), (8, 160)]);
    let study = r.feature_maps.as_ref().unwrap();
    let g = &study.stage8_groups;
    let grouped: usize = g.groups.iter().map(Vec::len).sum();
    assert_eq!(grouped + g.ungrouped.len() + g.constant.len(), 160);
    assert_eq!(study.classifier_weights.count, 8);
    let back = json(dir.path());
    assert!(back["network"]["working_point"]["signal"]["value"].is_number());
    assert!(back["feature_maps"]["stage8_groups"]["groups"].is_array());
    // roc, scores, blob score; two grids per feature stage and the weights; the sweep.
    assert_html_report(dir.path(), r.events.test, 3 + 5 + 1);
}

#[test]
fn bad_options_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let quick = ship_tt::Settings {
        events: 300,
        epochs: 1,
        networks: vec![ship_tt::ShipNetwork::CoordConvHuber],
        boosting: false,
        ..ship_tt::Settings::preset(Preset::Quick)
    };
    let mut o = opts(dir.path());
    o.device = "tpu".into();
    let msg = ship_tt::run(&o, &quick).unwrap_err().to_string();
    assert!(msg.contains("device") && msg.contains("tpu"), "{msg}");
    let mut o = opts(dir.path());
    o.data = Some(dir.path().join("missing.h5"));
    let msg = newsdm::run(&o, &newsdm::Settings::preset(Preset::Quick))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("missing.h5"), "{msg}");
    let few = ship_tt::Settings { events: 5, ..quick };
    let msg = ship_tt::run(&opts(dir.path()), &few)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("events") && msg.contains("≥ 20"), "{msg}");
    // Settings are checked before any work: nothing is generated or written.
    let empty = tempfile::tempdir().unwrap();
    let bad = pandax3::Settings {
        lr: -1.0,
        ..pandax3::Settings::preset(Preset::Quick)
    };
    let msg = pandax3::run(&opts(empty.path()), &bad)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("optimizer.lr"), "{msg}");
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);
}
