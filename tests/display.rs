//! The event display of files (`report::display`, the `display` example): each format with a
//! limit, with the scores of a run ranking the most wrong first, and bad inputs as clear errors.

use rareml::experiments::{newsdm, ship_tt, Options, Preset};
use rareml::io::tt::{TtGeometry, TtWriter};
use rareml::report::browser::PICTURE_BUDGET_BYTES;
use rareml::report::display::{write_display, DisplayOptions, DisplaySummary};
use rareml::sim::WriteOptions;
use std::path::{Path, PathBuf};

/// The table data of a page: its JSON script element.
fn table(page: &Path) -> serde_json::Value {
    let html = std::fs::read_to_string(page).unwrap();
    let start = html.find(r#"id="table-data">"#).unwrap() + r#"id="table-data">"#.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end].replace("<\\/", "</")).unwrap()
}

fn column(t: &serde_json::Value, name: &str) -> usize {
    t["columns"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no column {name}: {}", t["columns"]))
}

/// The display of `file` (HDF5: no readout) with the default picture budget.
fn options(file: &Path, scores: Option<PathBuf>, limit: usize) -> DisplayOptions {
    DisplayOptions {
        file: file.to_path_buf(),
        scores,
        limit,
        picture_budget_bytes: PICTURE_BUDGET_BYTES,
        readout: None,
    }
}

fn show(file: &Path, scores: Option<PathBuf>, limit: usize, out: &Path) -> DisplaySummary {
    write_display(&options(file, scores, limit), out).unwrap()
}

/// A one-epoch SHiP run on `data` into `run`; returns `run`.
fn ship_run(run: &Path, data: &Path) -> PathBuf {
    ship_tt::run(
        &Options {
            data: Some(data.to_path_buf()),
            progress: false,
            ..Options::new(run)
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
    run.to_path_buf()
}

fn generated(dir: &Path) -> [PathBuf; 3] {
    let o = WriteOptions::default();
    let em = dir.join("em.h5");
    let cfg = rareml::sim::emulsion::EmulsionConfig::default();
    rareml::sim::emulsion::write(
        &em,
        &cfg,
        &rareml::sim::emulsion::Sample::ALL,
        1,
        6,
        &o,
        |_| {},
    )
    .unwrap();
    let tpc = dir.join("tpc.h5");
    rareml::sim::tpc::write(&tpc, &Default::default(), None, 1, 30, &o, |_| {}).unwrap();
    let tt = dir.join("tt.h5");
    rareml::sim::tt::write(&tt, &Default::default(), 1, 300, &o, |_| {}).unwrap();
    [em, tpc, tt]
}

#[test]
fn every_format_is_displayed_up_to_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let [em, tpc, tt] = generated(dir.path());
    for (file, format, total, panels) in [
        (&em, "NEWSdm", 36, 9),
        (&tpc, "rareml.tpc.v1", 30, 4),
        (&tt, "rareml.tt.v1", 300, 6),
    ] {
        let out = dir.path().join(format!("d-{format}"));
        let s = show(file, None, 10, &out);
        assert_eq!((s.format, s.shown, s.total), (format, 10, total));
        let page = out.join("index.html");
        let t = table(&page);
        assert_eq!(t["rows"].as_array().unwrap().len(), 10);
        assert_eq!(t["total"], total);
        let note = t["note"].as_str().unwrap();
        assert!(note.contains(&format!("10 of {total} events")), "{note}");
        // Without scores: the first events in file order.
        let idx = column(&t, "index");
        let first: Vec<f64> = (0..10)
            .map(|r| t["rows"][r][idx].as_f64().unwrap())
            .collect();
        assert_eq!(first, (0..10).map(f64::from).collect::<Vec<_>>());
        let html = std::fs::read_to_string(&page).unwrap();
        let start = html.find(r#"id="picture-data">"#).unwrap() + r#"id="picture-data">"#.len();
        let end = start + html[start..].find("</script>").unwrap();
        let pics: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
        let n = pics[0]["panels"].as_array().unwrap().len();
        // NEWSdm: 8 polarisations + the barycentre path; TPC: XZ, YZ and two waveform panels
        // (fewer when an event has no charge above threshold); TT: one panel per station.
        assert!(
            n == panels || (format == "rareml.tpc.v1" && (1..=4).contains(&n)),
            "{format}: {n} panels"
        );
    }
    // A budget for about three pictures: the rest are listed without, and counted.
    let one = std::fs::metadata(dir.path().join("d-NEWSdm/index.html"))
        .unwrap()
        .len() as usize
        / 10;
    let opts = DisplayOptions {
        file: em.clone(),
        scores: None,
        limit: 30,
        picture_budget_bytes: 3 * one,
        readout: None,
    };
    let out = dir.path().join("d-budget");
    write_display(&opts, &out).unwrap();
    let t = table(&out.join("index.html"));
    let with = t["with_pictures"].as_u64().unwrap();
    assert!((1..30).contains(&with), "{with}");
    assert_eq!(t["with_picture_data"], 30);
}

#[test]
fn scores_rank_the_most_wrong_events_first() {
    let dir = tempfile::tempdir().unwrap();
    let [em, _, tt] = generated(dir.path());
    let run_opts = |out: &Path, data: &Path| Options {
        data: Some(data.to_path_buf()),
        progress: false,
        ..Options::new(out)
    };
    // A SHiP run on the file: its test_scores.h5 holds the test events' Ê and d̂.
    let run = ship_run(&dir.path().join("run-tt"), &tt);
    let out = dir.path().join("d-tt");
    let s = show(&tt, Some(run.join("test_scores.h5")), 5, &out);
    assert_eq!((s.shown, s.total), (5, 300));
    let t = table(&out.join("index.html"));
    let rel = column(&t, "(Ê − E)/E");
    let shown: Vec<f64> = (0..5)
        .map(|r| t["rows"][r][rel].as_f64().unwrap().abs())
        .collect();
    assert!(shown.windows(2).all(|w| w[0] >= w[1]), "{shown:?}");
    // The most wrong of all the scored events is the first shown.
    let all = show(
        &tt,
        Some(run.join("test_scores.h5")),
        300,
        &dir.path().join("d-all"),
    );
    assert_eq!(all.shown, 300);
    let ta = table(&dir.path().join("d-all/index.html"));
    let max = (0..300)
        .filter_map(|r| ta["rows"][r][rel].as_f64())
        .fold(0f64, |m, v| m.max(v.abs()));
    assert_eq!(shown[0], max);

    // A NEWSdm run: the classification columns, wrong events before right ones.
    let run = dir.path().join("run-em");
    newsdm::run(
        &run_opts(&run, &em),
        &newsdm::Settings {
            per_sample: 6,
            fog_test: 0,
            angle_set: 0,
            epochs: 1,
            ..newsdm::Settings::preset(Preset::Quick)
        },
    )
    .unwrap();
    let out = dir.path().join("d-em");
    show(&em, Some(run.join("test_scores.h5")), 30, &out);
    let t = table(&out.join("index.html"));
    let o = column(&t, "outcome");
    let outcomes: Vec<String> = (0..30)
        .map(|r| t["rows"][r][o].as_str().unwrap().to_string())
        .collect();
    let scored = outcomes.iter().filter(|o| *o != "—").count();
    assert!(scored > 0);
    let last_wrong = outcomes.iter().rposition(|o| o == "wrong");
    let first_right = outcomes.iter().position(|o| o == "right");
    if let (Some(w), Some(r)) = (last_wrong, first_right) {
        assert!(w < r, "{outcomes:?}");
    }
}

#[test]
fn bad_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let [em, _, tt] = generated(dir.path());
    let err = |file: &Path, scores: Option<PathBuf>, limit: usize| {
        write_display(&options(file, scores, limit), &dir.path().join("bad"))
            .unwrap_err()
            .to_string()
    };
    let e = err(&tt, None, 0);
    assert!(e.contains("--limit 0"), "{e}");
    let e = err(&dir.path().join("none.h5"), None, 5);
    assert!(e.contains("none.h5") && e.contains("no such file"), "{e}");
    let text = dir.path().join("text.h5");
    std::fs::write(&text, "not hdf5").unwrap();
    let e = err(&text, None, 5);
    assert!(
        e.contains("not a file the display reads") && e.contains("text.h5"),
        "{e}"
    );
    // An empty TT file.
    let empty = dir.path().join("empty.h5");
    TtWriter::create(&empty, &TtGeometry::ship())
        .unwrap()
        .finish()
        .unwrap();
    let e = err(&empty, None, 5);
    assert!(e.contains("no events"), "{e}");
    // Scores of a 300-event file against a 30-cluster file.
    let run = ship_run(&dir.path().join("run"), &tt);
    let scores = run.join("test_scores.h5");
    let e = err(&em, Some(scores.clone()), 5);
    assert!(e.contains("not the scores of this file"), "{e}");
    // A scores file is HDF5 but no detector format.
    let e = err(&scores, None, 5);
    assert!(e.contains("not a file the display reads"), "{e}");
}

#[test]
fn rest_root_files_are_displayed_with_their_readout_or_a_map() {
    use rareml::io::rest::RestFile;
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rest_v2.2.30_hits.root");
    let opts = |readout: Option<PathBuf>| DisplayOptions {
        file: root.clone(),
        scores: None,
        limit: 100,
        picture_budget_bytes: PICTURE_BUDGET_BYTES,
        readout,
    };
    // The real SJTU prototype file's own TRestReadout serves without a map.
    let own = write_display(&opts(None), &dir.path().join("own")).unwrap();
    assert_eq!(
        (own.format, own.shown, own.total),
        ("REST ROOT raw signals", 8, 8)
    );
    // A map of every signal id (even ids X strips, odd ids Y, 1.5 mm per id: a test readout).
    let mut ids: Vec<i32> = RestFile::open(&root)
        .unwrap()
        .raw_signal_events()
        .unwrap()
        .iter()
        .flat_map(|e| e.signal_ids.clone())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut text = String::new();
    for id in ids {
        let axis = if id % 2 == 0 { "x" } else { "y" };
        text += &format!(
            "[[strips]]\nid = {id}\naxis = \"{axis}\"\nposition_mm = {}\n",
            id as f32 * 1.5
        );
    }
    let map = dir.path().join("readout.toml");
    std::fs::write(&map, text).unwrap();
    let out = dir.path().join("d-root");
    let s = write_display(&opts(Some(map)), &out).unwrap();
    assert_eq!(
        (s.format, s.shown, s.total),
        ("REST ROOT raw signals", 8, 8)
    );
    let t = table(&out.join("index.html"));
    assert_eq!(t["with_pictures"], 8);
    let c = column(&t, "class");
    assert!((0..8).all(|r| t["rows"][r][c] == "unknown"));
}
