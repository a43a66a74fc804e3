//! Each experiment pipeline end to end on tiny generated data (seconds): report keys, plots,
//! and bad options.

use rareml::experiments::{newsdm, pandax3, ship_tt, Options};

fn opts(dir: &std::path::Path, events: usize) -> Options {
    Options {
        events: Some(events),
        epochs: Some(1),
        progress: false,
        ..Options::new(dir)
    }
}

fn number_or_null(v: &serde_json::Value) -> bool {
    v.is_number() || v.is_null()
}

#[test]
fn ship_tt_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let r = ship_tt::run(&opts(dir.path(), 300)).unwrap();
    for side in ["network", "baseline"] {
        assert!(
            r[side]["energy_resolution"].as_f64().unwrap() > 0.0,
            "{side}"
        );
        assert!(
            r[side]["distance_rmse_cm"].as_f64().unwrap() > 0.0,
            "{side}"
        );
    }
    assert!(r["vertex_xy"]["weighted_mean_xy_rms_cm"].as_f64().unwrap() > 0.0);
    let back: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(back, r);
    assert!(
        dir.path().join("report.md").exists()
            && dir.path().join("resolution_vs_energy.png").exists()
    );
    assert!(dir
        .path()
        .join("checkpoints/epoch-0000.safetensors")
        .exists());
}

#[test]
fn newsdm_pipeline_with_rotations() {
    let dir = tempfile::tempdir().unwrap();
    let r = newsdm::run(&opts(dir.path(), 30), Some(true)).unwrap();
    for side in ["network", "baseline"] {
        let e = r[side]["signal_efficiency"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&e), "{side}: {e}");
        assert!(number_or_null(&r[side]["fog_reduction_factor"]), "{side}");
    }
    assert_eq!(r["clusters"]["C30"], 30);
    assert_eq!(r["training"]["rotations"], true);
    for f in ["roc.png", "scores.png", "barycenter_shift.png", "report.md"] {
        assert!(dir.path().join(f).exists(), "{f}");
    }
}

#[test]
fn pandax3_pipeline_with_a_topconv_sweep() {
    let dir = tempfile::tempdir().unwrap();
    // Six epochs of ten batches: BatchNorm's running statistics need a few dozen batches before
    // eval mode stops collapsing every score onto one value.
    let o = Options {
        epochs: Some(6),
        ..opts(dir.path(), 320)
    };
    let r = pandax3::run(&o, Some(vec![Some(2), Some(8)])).unwrap();
    for side in ["network", "baseline"] {
        assert!(number_or_null(&r[side]["significance"]), "{side}");
        assert!(
            r[side]["working_point"]["signal_efficiency"].is_number(),
            "{side}"
        );
    }
    let sweep = r["topconv_sweep"].as_array().unwrap();
    assert_eq!(sweep.len(), 2);
    assert_eq!(sweep[0]["n"], "2");
    assert!(dir.path().join("checkpoints-n2").exists() && dir.path().join("roc.png").exists());
}

#[test]
fn bad_options_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path(), 300);
    o.device = "tpu".into();
    assert!(ship_tt::run(&o)
        .unwrap_err()
        .to_string()
        .contains("unknown device"));
    let mut o = opts(dir.path(), 300);
    o.data = Some(dir.path().join("missing.h5"));
    let msg = newsdm::run(&o, None).unwrap_err().to_string();
    assert!(msg.contains("missing.h5"), "{msg}");
    let o = opts(dir.path(), 5);
    assert!(ship_tt::run(&o)
        .unwrap_err()
        .to_string()
        .contains("at least 20"));
}
