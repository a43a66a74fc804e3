//! The three experiments' `report.html` and the display of a file of each format in a real
//! browser: Debian's Chromium, headless, driven by `tests/browser/check.mjs` (playwright-core).
//! Each page must load with no console error and no
//! request leaving the file, list every test event, draw the selected event's pictures, follow the
//! keyboard and filter its list.
//!
//! Needs Chromium, Node.js and `npm ci` in `tests/browser`: `scripts/browser-tests` installs them
//! when absent and runs this test with `RAREML_BROWSER=1` (CI does); without that variable the
//! test says so and passes. `RAREML_SCREENSHOTS=DIR` keeps the screenshots.

use rareml::experiments::{newsdm, pandax3, ship_tt, Options, Preset};
use rareml::report::browser::PICTURE_BUDGET_BYTES;
use rareml::report::display::{write_display, DisplayOptions};
use std::path::{Path, PathBuf};
use std::process::Command;

fn opts(dir: &Path) -> Options {
    Options {
        progress: false,
        ..Options::new(dir)
    }
}

#[test]
fn reports_work_in_chromium() {
    if std::env::var_os("RAREML_BROWSER").is_none() {
        eprintln!(
            "RAREML_BROWSER unset: skipping the Chromium test (scripts/browser-tests runs it)"
        );
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let (nd, pd, sd) = (
        root.path().join("newsdm"),
        root.path().join("pandax3"),
        root.path().join("ship_tt"),
    );
    // The display of a file of each format, one with the scores of the SHiP run's test set.
    let o = rareml::sim::WriteOptions::default();
    let (em, tpc, tt) = (
        root.path().join("em.h5"),
        root.path().join("tpc.h5"),
        root.path().join("tt.h5"),
    );
    let ecfg = rareml::sim::emulsion::EmulsionConfig::default();
    rareml::sim::emulsion::write(
        &em,
        &ecfg,
        &rareml::sim::emulsion::Sample::ALL,
        3,
        20,
        &o,
        |_| {},
    )
    .unwrap();
    rareml::sim::tpc::write(&tpc, &Default::default(), None, 3, 60, &o, |_| {}).unwrap();
    rareml::sim::tt::write(&tt, &Default::default(), 3, 300, &o, |_| {}).unwrap();
    let n = newsdm::run(
        &opts(&nd),
        &newsdm::Settings {
            per_sample: 30,
            fog_test: 0,
            angle_set: 0,
            epochs: 1,
            ..newsdm::Settings::preset(Preset::Quick)
        },
    )
    .unwrap();
    let p = pandax3::run(
        &opts(&pd),
        &pandax3::Settings {
            // As in tests/experiments.rs: BatchNorm's running statistics need a few dozen batches
            // before eval mode stops collapsing every score onto one value.
            events: 320,
            epochs: 6,
            split: [0.2, 0.2],
            sweep: vec![],
            ..pandax3::Settings::preset(Preset::Quick)
        },
    )
    .unwrap();
    // The SHiP run reads the TT file, so its test scores display with it.
    let s = ship_tt::run(
        &Options {
            data: Some(tt.clone()),
            ..opts(&sd)
        },
        &ship_tt::Settings {
            events: 300,
            epochs: 1,
            networks: vec![ship_tt::ShipNetwork::CoordConvHuber],
            boosting: false,
            ..ship_tt::Settings::preset(Preset::Quick)
        },
    )
    .unwrap();
    let display = |file: &Path, scores: Option<PathBuf>, name: &str, limit: usize| {
        let out = root.path().join(name);
        let s = write_display(
            &DisplayOptions {
                file: file.to_path_buf(),
                scores,
                limit,
                picture_budget_bytes: PICTURE_BUDGET_BYTES,
                readout: None,
            },
            &out,
        )
        .unwrap();
        format!("{}:{}:0", out.join("index.html").display(), s.shown)
    };
    let pages = [
        display(&em, None, "display-newsdm", 100),
        display(&tpc, None, "display-pandax3", 60),
        display(&tt, Some(sd.join("test_scores.h5")), "display-ship_tt", 50),
    ];
    let shots = std::env::var_os("RAREML_SCREENSHOTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.path().join("shots"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/check.mjs");
    let out = Command::new("node")
        .arg(&script)
        .arg("--shots")
        .arg(&shots)
        // NEWSdm: ROC, scores, barycenter shift and, with the NP reference sample, the paper's
        // Figs. 4, 5 (long, short), 6 and 7 (shift, angle).
        .arg(format!(
            "{}:{}:9",
            nd.join("report.html").display(),
            n.clusters.test
        ))
        .arg(format!(
            "{}:{}:3",
            pd.join("report.html").display(),
            p.events.test
        ))
        // SHiP: the paper's Figs. 5 (two), 1 and 6.
        .arg(format!(
            "{}:{}:4",
            sd.join("report.html").display(),
            s.events.test
        ))
        .args(&pages)
        .output()
        .expect("node runs (scripts/browser-tests installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(out.status.success(), "browser check failed:\n{text}");
    for name in [
        "newsdm-report",
        "pandax3-report",
        "ship_tt-report",
        "display-newsdm-index",
        "display-pandax3-index",
        "display-ship_tt-index",
    ] {
        let png = shots.join(format!("{name}.png"));
        assert!(
            std::fs::metadata(&png)
                .map(|m| m.len() > 10_000)
                .unwrap_or(false),
            "{} missing or empty",
            png.display()
        );
    }
}
