//! Reads the h5py-written reference files (copied from `shared/fixtures/` into `tests/fixtures/`)
//! through rareml-io's readers and reproduces every value of their `expected.json`: checksums of
//! every dataset (exact: the values lie on dyadic grids), shapes, dtypes and the per-event checks.
//! Shapes and names are read from `expected.json`, not hard-coded.

use std::path::PathBuf;

use ndarray::Axis;
use rareml_io::emulsion::{ClusterClass, EmulsionFile};
use rareml_io::tpc::{EventLabel, TpcFile};
use rareml_io::tt::TtFile;
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("expected.json")).unwrap()).unwrap()
}

/// A JSON number, or the strings "nan" / "inf".
fn num(v: &Value) -> f64 {
    match v {
        Value::String(s) if s == "nan" => f64::NAN,
        Value::String(s) if s == "inf" => f64::INFINITY,
        v => v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")),
    }
}

fn nums(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(num).collect()
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

/// Checksums over values in row-major order of the dataset as stored.
#[derive(Debug)]
struct Stats {
    sum: f64,
    abs_sum: f64,
    sum_sq: f64,
    min: f64,
    max: f64,
    first: f64,
    last: f64,
    nan_count: usize,
}

fn stats(values: impl IntoIterator<Item = f64>) -> Stats {
    let mut s = Stats {
        sum: 0.0,
        abs_sum: 0.0,
        sum_sq: 0.0,
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
        first: f64::NAN,
        last: f64::NAN,
        nan_count: 0,
    };
    for (i, v) in values.into_iter().enumerate() {
        if i == 0 {
            s.first = v;
        }
        s.last = v;
        if v.is_nan() {
            s.nan_count += 1;
            continue;
        }
        s.sum += v;
        s.abs_sum += v.abs();
        s.sum_sq += v * v;
        s.min = s.min.min(v);
        s.max = s.max.max(v);
    }
    s
}

fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b
}

/// Compares our statistics with an `expected.json` dataset entry (every key it has).
fn check_stats(what: &str, s: &Stats, e: &Value) {
    for key in ["sum", "min", "max", "first", "last", "abs_sum"] {
        if let Some(v) = e.get(key) {
            let ours = match key {
                "sum" => s.sum,
                "min" => s.min,
                "max" => s.max,
                "first" => s.first,
                "last" => s.last,
                _ => s.abs_sum,
            };
            assert!(
                same(ours, num(v)),
                "{what}: {key}: ours {ours}, expected {v}"
            );
        }
    }
    if let Some(v) = e.get("sum_sq") {
        assert_eq!(s.sum_sq, num(v), "{what}: sum_sq");
    }
    if let Some(v) = e.get("nan_count") {
        assert_eq!(s.nan_count as u64, v.as_u64().unwrap(), "{what}: nan_count");
    }
}

fn check_newsdm(file: &str) {
    let exp = expected();
    let e = &exp[file]["datasets"];
    let f = EmulsionFile::open(fixture(file)).unwrap();
    let groups = f.groups().unwrap();
    let mut seen = 0;
    for (path, d) in e.as_object().unwrap() {
        let (group, name) = path.rsplit_once('/').unwrap_or(("", path));
        assert!(
            groups.iter().any(|g| g == group),
            "{file}: group {group} not found by the reader"
        );
        let set = f.set(group).unwrap();
        let shape = usizes(&d["shape"]);
        let what = format!("{file}:{path}");
        match name {
            "images" => {
                assert_eq!(d["dtype"], set.pixel_type(), "{what}: dtype");
                assert_eq!(
                    shape,
                    vec![set.len(), set.height(), set.width(), set.polarisations()],
                    "{what}: shape"
                );
                // Read in batches of 7 (exercises partial last batches), as f32 whatever the dtype.
                let mut disk_order = Vec::new();
                let mut ch8_eq_ch0 = true;
                let mut sum_image0 = 0.0;
                for b in set.batches::<f32>(7) {
                    let b = b.unwrap();
                    assert_eq!(b.images.dim().1, set.polarisations());
                    if b.start == 0 {
                        sum_image0 = b
                            .images
                            .index_axis(Axis(0), 0)
                            .iter()
                            .map(|&v| v as f64)
                            .sum();
                    }
                    let p = set.polarisations();
                    ch8_eq_ch0 &= p == 9
                        && b.images.index_axis(Axis(1), 8) == b.images.index_axis(Axis(1), 0);
                    // Back to the file's (N, H, W, P) order for first/last.
                    let disk = b.images.view().permuted_axes([0, 2, 3, 1]);
                    disk_order.extend(disk.iter().map(|&v| v as f64));
                }
                check_stats(&what, &stats(disk_order), d);
                assert_eq!(sum_image0, num(&d["sum_image0"]), "{what}: sum_image0");
                assert_eq!(
                    ch8_eq_ch0,
                    d["channel8_equals_channel0"].as_bool().unwrap(),
                    "{what}: channel 8"
                );
                assert_eq!(
                    set.scan(5).unwrap().ninth_is_copy,
                    Some(ch8_eq_ch0),
                    "{what}: scan"
                );
                if set.pixel_type() == "uint8" {
                    // Raw files also read as u8, identical values.
                    let raw = set.read::<u8>(0..set.len()).unwrap();
                    let f32s = set.read::<f32>(0..set.len()).unwrap();
                    assert!(raw
                        .images
                        .iter()
                        .zip(f32s.images.iter())
                        .all(|(&a, &b)| a as f32 == b));
                }
            }
            "pol_ids" => {
                assert_eq!(d["dtype"], "int32");
                let b = set.read::<f32>(0..set.len()).unwrap();
                let p = b.pol_ids.clone().expect("pol_ids read");
                assert_eq!(vec![p.nrows(), p.ncols()], shape, "{what}: shape");
                check_stats(&what, &stats(p.iter().map(|&v| v as f64)), d);
                let col: Vec<f64> = p.sum_axis(Axis(0)).iter().map(|&v| v as f64).collect();
                assert_eq!(col, nums(&d["column_sums"]), "{what}: column sums");
                let isolated = (0..set.len())
                    .filter(|&i| b.cluster(i).pol_ids.unwrap().is_isolated())
                    .count();
                assert_eq!(
                    isolated as u64,
                    d["n_isolated"].as_u64().unwrap(),
                    "{what}: n_isolated"
                );
            }
            "labels" => {
                assert_eq!(d["dtype"], "int64");
                let b = set.read::<f32>(0..set.len()).unwrap();
                let classes = b.classes.expect("labels read");
                assert_eq!(vec![classes.len()], shape);
                check_stats(&what, &stats(classes.iter().map(|c| c.label() as f64)), d);
                let split = group;
                if let Some(lc) = exp[file].get("label_counts") {
                    let counts = set.class_counts().unwrap();
                    assert_eq!(counts.to_vec(), usizes(&lc[split]), "{what}: label counts");
                }
            }
            other => panic!("{what}: unexpected dataset {other}"),
        }
        seen += 1;
    }
    assert!(seen > 0);
}

#[test]
fn newsdm_raw_matches_expected() {
    check_newsdm("newsdm_raw.h5");
}

#[test]
fn newsdm_processed_matches_expected() {
    check_newsdm("newsdm_processed.h5");
}

#[test]
fn newsdm_train_matches_expected() {
    check_newsdm("newsdm_train.h5");
}

#[test]
fn newsdm_group_classes_come_from_paths() {
    let f = EmulsionFile::open(fixture("newsdm_processed.h5")).unwrap();
    assert_eq!(
        f.set("Carbon/30keV").unwrap().class(),
        Some(ClusterClass::C30keV)
    );
    assert_eq!(
        f.set("test/Carbon/100keV").unwrap().class(),
        Some(ClusterClass::C100keV)
    );
    assert_eq!(
        f.set("fog").unwrap().class(),
        Some(ClusterClass::Background)
    );
}

#[test]
fn tpc_v1_matches_expected() {
    let exp = expected();
    let e = &exp["tpc_v1.h5"];
    let f = TpcFile::open(fixture("tpc_v1.h5")).unwrap();
    let attrs = &e["attrs"];
    assert_eq!(f.meta().sampling_ns, num(&attrs["sampling_ns"]));
    assert_eq!(
        f.meta().drift_velocity_mm_per_us,
        num(&attrs["drift_velocity_mm_per_us"])
    );
    assert_eq!(f.meta().pitch_mm, num(&attrs["pitch_mm"]));
    assert_eq!(f.len() as u64, e["n_events"].as_u64().unwrap());
    assert_eq!(f.n_signals() as u64, e["n_signals"].as_u64().unwrap());
    let d = &e["datasets"];
    assert_eq!(
        vec![f.n_signals(), f.samples_per_signal()],
        usizes(&d["signals/samples"]["shape"])
    );

    let r = f.readout();
    check_stats(
        "readout/strip_id",
        &stats(r.strip_ids().iter().map(|&v| v as f64)),
        &d["readout/strip_id"],
    );
    check_stats(
        "readout/axis",
        &stats(r.axes().iter().map(|&a| a as u8 as f64)),
        &d["readout/axis"],
    );
    check_stats(
        "readout/position_mm",
        &stats(r.positions_mm().iter().map(|&v| v as f64)),
        &d["readout/position_mm"],
    );
    check_stats(
        "events/id",
        &stats(f.ids().iter().map(|&v| v as f64)),
        &d["events/id"],
    );
    check_stats(
        "events/label",
        &stats(f.labels().iter().map(|&l| l as i8 as f64)),
        &d["events/label"],
    );

    let events: Vec<_> = f.batches(2).flat_map(|b| b.unwrap()).collect();
    assert_eq!(events.len(), f.len());
    let per_event: Vec<usize> = events.iter().map(|e| e.signals.len()).collect();
    assert_eq!(per_event, usizes(&e["signals_per_event"]));
    assert_eq!(
        (0..f.len())
            .map(|i| f.signals_in(i).unwrap())
            .collect::<Vec<_>>(),
        per_event
    );
    let sums: Vec<f64> = events
        .iter()
        .map(|e| e.signals.samples_sum() as f64)
        .collect();
    assert_eq!(sums, nums(&e["samples_sum_per_event"]));
    let all_samples = events
        .iter()
        .flat_map(|e| e.signals.samples.iter().map(|&v| v as f64));
    check_stats(
        "signals/samples",
        &stats(all_samples),
        &d["signals/samples"],
    );
    let all_strips = events
        .iter()
        .flat_map(|e| e.signals.strip_id.iter().map(|&v| v as f64));
    check_stats(
        "signals/strip_id",
        &stats(all_strips),
        &d["signals/strip_id"],
    );

    let ev3 = f.event(3).unwrap();
    assert_eq!(
        ev3.signals.len() as u64,
        e["event3_n_signals"].as_u64().unwrap()
    );
    let ids: Vec<f64> = ev3.signals.strip_id.iter().map(|&v| v as f64).collect();
    assert_eq!(ids, nums(&e["event3_strip_ids"]));

    let s0 = events[0].signals.samples.row(0);
    assert_eq!(
        s0.iter().map(|&v| v as i64).sum::<i64>() as f64,
        num(&e["signal0_samples_sum"])
    );
    let (argmax, max) = s0
        .iter()
        .enumerate()
        .fold((0, i16::MIN), |m, (i, &v)| if v > m.1 { (i, v) } else { m });
    assert_eq!(max as f64, num(&e["signal0_samples_max"]));
    assert_eq!(argmax as f64, num(&e["signal0_samples_argmax"]));
    let first5: Vec<f64> = s0.iter().take(5).map(|&v| v as f64).collect();
    assert_eq!(first5, nums(&e["signal0_first5"]));

    let energies: Vec<f64> = events
        .iter()
        .map(|e| e.energy_kev.map_or(f64::NAN, |v| v as f64))
        .collect();
    for (a, b) in energies.iter().zip(nums(&e["energy_kev"])) {
        assert!(same(*a, b), "energy {a} vs {b}");
    }
    let labels: Vec<f64> = events.iter().map(|e| e.label as i8 as f64).collect();
    assert_eq!(labels, nums(&e["labels"]));
    // Unknown events carry no truth.
    for ev in events.iter().filter(|e| e.label == EventLabel::Unknown) {
        assert_eq!(ev.energy_kev, None);
        assert_eq!(ev.vertex_mm, None);
    }
    let vertex = events
        .iter()
        .flat_map(|e| e.vertex_mm.map_or([f64::NAN; 3], |v| v.map(|x| x as f64)));
    check_stats("events/vertex_mm", &stats(vertex), &d["events/vertex_mm"]);
    // Every strip of every event is in the readout.
    assert!(events
        .iter()
        .all(|e| e.signals.strip_id.iter().all(|&id| r.strip(id).is_some())));
}

#[test]
fn tt_v1_matches_expected() {
    let exp = expected();
    let e = &exp["tt_v1.h5"];
    let f = TtFile::open(fixture("tt_v1.h5")).unwrap();
    let attrs = &e["attrs"];
    assert_eq!(
        f.geometry().half_size_cm.to_vec(),
        nums(&attrs["half_size_cm"])
    );
    assert_eq!(f.len() as u64, e["n_events"].as_u64().unwrap());
    assert_eq!(f.n_hits() as u64, e["n_hits"].as_u64().unwrap());
    let d = &e["datasets"];
    check_stats(
        "stations/z_cm",
        &stats(f.geometry().station_z_cm.iter().map(|&v| v as f64)),
        &d["stations/z_cm"],
    );

    let events: Vec<_> = f.batches(4).flat_map(|b| b.unwrap()).collect();
    let per_event: Vec<usize> = events.iter().map(|e| e.hits.len()).collect();
    assert_eq!(per_event, usizes(&e["hits_per_event"]));
    let k = f.geometry().n_stations();
    let mut per_station = vec![0usize; k];
    for ev in &events {
        for &s in &ev.hits.station {
            per_station[s as usize] += 1;
        }
    }
    assert_eq!(per_station, usizes(&e["hits_per_station"]));
    check_stats(
        "hits/x_cm",
        &stats(
            events
                .iter()
                .flat_map(|e| e.hits.x_cm.iter().map(|&v| v as f64)),
        ),
        &d["hits/x_cm"],
    );
    check_stats(
        "hits/y_cm",
        &stats(
            events
                .iter()
                .flat_map(|e| e.hits.y_cm.iter().map(|&v| v as f64)),
        ),
        &d["hits/y_cm"],
    );
    check_stats(
        "hits/station",
        &stats(
            events
                .iter()
                .flat_map(|e| e.hits.station.iter().map(|&v| v as f64)),
        ),
        &d["hits/station"],
    );
    check_stats(
        "hits/energy_gev",
        &stats(
            events
                .iter()
                .flat_map(|e| e.hits.energy_gev.iter().map(|&v| v as f64)),
        ),
        &d["hits/energy_gev"],
    );
    check_stats(
        "events/energy_gev",
        &stats(events.iter().map(|e| e.energy_gev as f64)),
        &d["events/energy_gev"],
    );
    check_stats(
        "events/distance_cm",
        &stats(events.iter().map(|e| e.distance_cm as f64)),
        &d["events/distance_cm"],
    );
    check_stats(
        "events/vertex_cm",
        &stats(events.iter().flat_map(|e| e.vertex_cm.map(|v| v as f64))),
        &d["events/vertex_cm"],
    );

    let ev3 = f.event(3).unwrap();
    assert_eq!(ev3.hits.len() as u64, e["event3_n_hits"].as_u64().unwrap());
    assert_eq!(
        ev3.hits.x_cm.iter().map(|&v| v as f64).sum::<f64>(),
        num(&e["event3_x_sum"])
    );
    assert_eq!(
        ev3.hits.energy_gev.iter().map(|&v| v as f64).sum::<f64>(),
        num(&e["event3_energy_sum"])
    );
}
