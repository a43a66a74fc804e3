//! A corpus of damaged and edge-case input files made from the project's fixtures (h5py-style
//! edits with raw HDF5 calls, truncations, edited DECAY0 text), each with what reading it must
//! give. Used by `tests/hostile.rs` (every case through `inspect`, the readers' common entry) and,
//! written to `RAREML_CORPUS_DIR`, by `scripts/hostile-inputs` (the `inspect` example under a
//! memory limit and a timeout) and as the fuzzers' seeds.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use hdf5::types::{FixedAscii, FixedUnicode, VarLenUnicode};

/// What inspecting a case must give.
#[derive(Clone, Debug)]
pub enum Expect {
    /// An error whose message names the file and holds every fragment.
    Error(&'static [&'static str]),
    /// A summary whose `problems` hold every fragment (the example exits 1).
    Problem(&'static [&'static str]),
    /// A valid file: a summary without problems whose text holds every fragment.
    Valid(&'static [&'static str]),
}

/// One corpus file.
#[derive(Clone, Debug)]
pub struct Case {
    /// Short name (the file's stem).
    pub name: &'static str,
    /// The file.
    pub path: PathBuf,
    /// What reading it must give.
    pub expect: Expect,
}

/// The project's test fixture `name`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

/// Copies fixture `name` to `dir/<case>.<ext>` and edits it with raw HDF5 calls.
fn h5_case(dir: &Path, case: &str, name: &str, edit: impl FnOnce(&hdf5::File)) -> PathBuf {
    let path = dir.join(format!("{case}.h5"));
    std::fs::copy(fixture(name), &path).unwrap();
    let f = hdf5::File::open_rw(&path).unwrap();
    edit(&f);
    f.close().unwrap();
    path
}

/// Replaces dataset `path` with `data` (new dtype and shape).
pub fn replace<T: hdf5::H5Type, D: ndarray::Dimension>(
    f: &hdf5::File,
    path: &str,
    data: ndarray::Array<T, D>,
) {
    f.unlink(path).unwrap();
    f.new_dataset_builder()
        .with_data(&data)
        .create(path)
        .unwrap();
}

/// Replaces dataset `path` by a chunked one of `shape` (chunks `chunk`) with only its first
/// `written` rows written: a header announcing far more than the file stores.
fn replace_declared<T: hdf5::H5Type + Default + Clone>(
    f: &hdf5::File,
    path: &str,
    shape: &[usize],
    chunk: &[usize],
    written: usize,
) {
    if f.link_exists(path) {
        f.unlink(path).unwrap();
    }
    let ds = f
        .new_dataset::<T>()
        .chunk(chunk.to_vec())
        .shape(shape.to_vec())
        .create(path)
        .unwrap();
    if written > 0 {
        let mut rows = shape.to_vec();
        rows[0] = written;
        let data = ndarray::ArrayD::<T>::default(rows);
        let sel: Vec<hdf5::SliceOrIndex> = std::iter::once((0..written).into())
            .chain(shape[1..].iter().map(|&d| (0..d).into()))
            .collect();
        ds.as_writer()
            .write_slice(&data, hdf5::Hyperslab::from(sel))
            .unwrap();
    }
}

/// Edits one element of a float32 dataset.
fn set_f32(f: &hdf5::File, path: &str, index: usize, value: f32) {
    let ds = f.dataset(path).unwrap();
    let mut v = ds.read_raw::<f32>().unwrap();
    v[index] = value;
    let shape = ds.shape();
    drop(ds);
    replace(f, path, ndarray::ArrayD::from_shape_vec(shape, v).unwrap());
}

/// Replaces a root (or group) attribute by a variable-length UTF-8 string.
fn set_attr_str(loc: &hdf5::Location, name: &str, value: &str) {
    let _ = loc.delete_attr(name);
    let v: VarLenUnicode = value.parse().unwrap();
    loc.new_attr::<VarLenUnicode>()
        .shape(())
        .create(name)
        .unwrap()
        .write_scalar(&v)
        .unwrap();
}

/// Replaces an attribute by a float64 scalar or array.
fn set_attr_f64s(loc: &hdf5::Location, name: &str, values: &[f64]) {
    let _ = loc.delete_attr(name);
    if let [v] = values {
        loc.new_attr::<f64>()
            .shape(())
            .create(name)
            .unwrap()
            .write_scalar(v)
            .unwrap();
    } else {
        loc.new_attr::<f64>()
            .shape(values.len())
            .create(name)
            .unwrap()
            .write_raw(values)
            .unwrap();
    }
}

/// Replaces an attribute by a fixed-length ASCII string (h5py: `np.bytes_`, numpy `S` dtype).
fn set_attr_fixed_ascii(loc: &hdf5::Location, name: &str, value: &str) {
    let _ = loc.delete_attr(name);
    let v = FixedAscii::<24>::from_ascii(value).unwrap();
    loc.new_attr::<FixedAscii<24>>()
        .shape(())
        .create(name)
        .unwrap()
        .write_scalar(&v)
        .unwrap();
}

/// Replaces an attribute by a fixed-length UTF-8 string.
fn set_attr_fixed_utf8(loc: &hdf5::Location, name: &str, value: &str) {
    let _ = loc.delete_attr(name);
    let v: FixedUnicode<24> = value.parse().unwrap();
    loc.new_attr::<FixedUnicode<24>>()
        .shape(())
        .create(name)
        .unwrap()
        .write_scalar(&v)
        .unwrap();
}

fn root(f: &hdf5::File) -> hdf5::Group {
    f.group("/").unwrap()
}

/// A copy of fixture `name` cut to `fraction` of its length.
fn truncated(dir: &Path, case: &str, name: &str, ext: &str, fraction: f64) -> PathBuf {
    let bytes = std::fs::read(fixture(name)).unwrap();
    let path = dir.join(format!("{case}.{ext}"));
    std::fs::write(&path, &bytes[..(bytes.len() as f64 * fraction) as usize]).unwrap();
    path
}

/// A DECAY0 fixture with `edit` applied to its lines.
fn decay0_case(dir: &Path, case: &str, edit: impl FnOnce(&mut Vec<String>)) -> PathBuf {
    let text = std::fs::read_to_string(fixture("decay0/Xe136bb0n.dat")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    edit(&mut lines);
    let path = dir.join(format!("{case}.dat"));
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// Index of the line after DECAY0's header line (`first_event n_events`).
fn decay0_count_line(lines: &[String]) -> usize {
    lines
        .iter()
        .position(|l| {
            l.to_ascii_lowercase()
                .contains("first event and full number")
        })
        .unwrap()
        + 1
}

/// The REST prototype file with `edit` applied to its bytes.
fn rest_case(dir: &Path, case: &str, edit: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut bytes = std::fs::read(fixture("rest_v2.2.30_hits.root")).unwrap();
    edit(&mut bytes);
    let path = dir.join(format!("{case}.root"));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Offsets of the readout's key headers (the record's own and the directory's copy): the class
/// and name strings start 26 bytes into a small file's key header.
fn readout_keys(bytes: &[u8]) -> Vec<usize> {
    let pat = b"\x0cTRestReadout\x10PandaReadout_MxM";
    let keys: Vec<usize> = (0..bytes.len() - pat.len())
        .filter(|&i| &bytes[i..i + pat.len()] == pat)
        .map(|i| i - 26)
        .collect();
    assert_eq!(keys.len(), 2, "the readout's key headers");
    keys
}

/// Writes every corpus file into `dir` and returns the cases.
pub fn write(dir: &Path) -> Vec<Case> {
    use Expect::{Error, Problem, Valid};
    let mut cases = Vec::new();
    let mut add =
        |name: &'static str, path: PathBuf, expect: Expect| cases.push(Case { name, path, expect });

    // ---- NEWSdm ----
    add(
        "newsdm_link_cycle_hard",
        h5_case(dir, "newsdm_link_cycle_hard", "newsdm_raw.h5", |f| {
            f.group("fog/Scan01")
                .unwrap()
                .link_hard("/fog", "loop")
                .unwrap();
        }),
        Error(&["fog/Scan01/loop", "link cycle"]),
    );
    add(
        "newsdm_link_cycle_soft",
        h5_case(dir, "newsdm_link_cycle_soft", "newsdm_raw.h5", |f| {
            f.group("fog").unwrap().link_soft("/", "up").unwrap();
        }),
        Error(&["fog/up", "link cycle"]),
    );
    add(
        "newsdm_dangling_link",
        h5_case(dir, "newsdm_dangling_link", "newsdm_raw.h5", |f| {
            f.link_soft("/nowhere", "fog/ghost").unwrap();
        }),
        Error(&["fog/ghost", "object header"]),
    );
    add(
        "newsdm_huge_declared_clusters",
        h5_case(dir, "newsdm_huge_declared_clusters", "newsdm_raw.h5", |f| {
            f.create_group("Carbon/30keV").unwrap();
            // 10⁹ clusters of 80 × 80 × 9 bytes (58 TB) declared, nothing written.
            replace_declared::<u8>(
                f,
                "Carbon/30keV/images",
                &[1_000_000_000, 80, 80, 9],
                &[16, 80, 80, 9],
                0,
            );
        }),
        Error(&["Carbon/30keV/images", "the file stores 0"]),
    );
    add(
        "newsdm_huge_partly_written",
        h5_case(dir, "newsdm_huge_partly_written", "newsdm_raw.h5", |f| {
            replace_declared::<u8>(
                f,
                "fog/Scan01/part0/images",
                &[10_000_000_000, 80, 80, 9],
                &[16, 80, 80, 9],
                32,
            );
        }),
        Error(&["fog/Scan01/part0/images", "the file stores 2"]),
    );
    add(
        "newsdm_shape_overflow",
        h5_case(dir, "newsdm_shape_overflow", "newsdm_raw.h5", |f| {
            // 2⁴⁰ · 2⁴⁰ · 80 · 9 elements: the count overflows 64 bits.
            replace_declared::<u8>(
                f,
                "fog/Scan01/part0/images",
                &[1 << 40, 1 << 40, 80, 9],
                &[1, 1, 80, 9],
                0,
            );
        }),
        Error(&[
            "fog/Scan01/part0/images",
            "more bytes than can be addressed",
        ]),
    );
    add(
        "newsdm_wrong_rank",
        h5_case(dir, "newsdm_wrong_rank", "newsdm_raw.h5", |f| {
            replace(
                f,
                "fog/Scan01/part0/images",
                ndarray::Array3::<u8>::zeros((15, 80, 80)),
            );
        }),
        Error(&["fog/Scan01/part0/images", "wrong shape", "(N, H, W, 8|9)"]),
    );
    add(
        "newsdm_zero_size_images",
        h5_case(dir, "newsdm_zero_size_images", "newsdm_raw.h5", |f| {
            replace(
                f,
                "fog/Scan01/part0/images",
                ndarray::Array4::<u8>::zeros((15, 0, 80, 9)),
            );
        }),
        Error(&["fog/Scan01/part0/images", "expected H, W ≥ 1"]),
    );
    add(
        "newsdm_images_missing",
        h5_case(dir, "newsdm_images_missing", "newsdm_raw.h5", |f| {
            f.unlink("fog/Scan01/part0/images").unwrap();
        }),
        Error(&["fog/Scan01/part0/images", "missing dataset", "pol_ids"]),
    );
    add(
        "newsdm_infinite_pixels",
        h5_case(dir, "newsdm_infinite_pixels", "newsdm_processed.h5", |f| {
            set_f32(f, "Carbon/30keV/images", 40 * 40 * 9 + 7, f32::INFINITY);
            set_f32(f, "Carbon/30keV/images", 3 * 40 * 40 * 9, f32::NEG_INFINITY);
        }),
        Problem(&["Carbon/30keV/images", "0 NaN and 2 infinite pixel(s)"]),
    );
    add(
        "newsdm_nan_pixels",
        h5_case(dir, "newsdm_nan_pixels", "newsdm_processed.h5", |f| {
            set_f32(f, "fog/images", 11, f32::NAN);
        }),
        Problem(&["fog/images", "1 NaN and 0 infinite pixel(s)"]),
    );
    add(
        "newsdm_training_without_train",
        h5_case(
            dir,
            "newsdm_training_without_train",
            "newsdm_train.h5",
            |f| {
                f.unlink("train").unwrap();
            },
        ),
        Error(&["train/images", "needs its train split"]),
    );
    add(
        "newsdm_training_images_missing",
        h5_case(
            dir,
            "newsdm_training_images_missing",
            "newsdm_train.h5",
            |f| {
                f.unlink("train/images").unwrap();
            },
        ),
        Error(&["train/images", "missing dataset", "train/labels"]),
    );
    add(
        "newsdm_split_without_labels",
        h5_case(dir, "newsdm_split_without_labels", "newsdm_train.h5", |f| {
            f.unlink("val/labels").unwrap();
        }),
        Error(&["val/labels", "missing dataset"]),
    );
    add(
        "newsdm_class_fixed_ascii",
        h5_case(
            dir,
            "newsdm_class_fixed_ascii",
            "newsdm_processed.h5",
            |f| {
                set_attr_fixed_ascii(&f.group("Carbon/30keV").unwrap(), "class", "C100keV");
            },
        ),
        Valid(&[
            "group \"Carbon/30keV\": 6 clusters",
            "class C100keV",
            "C100keV 15",
        ]),
    );
    add(
        "newsdm_class_unknown",
        h5_case(dir, "newsdm_class_unknown", "newsdm_processed.h5", |f| {
            set_attr_fixed_utf8(&f.group("fog").unwrap(), "class", "carbon");
        }),
        Error(&["fog@class", "unknown class \"carbon\""]),
    );
    add(
        "newsdm_unknown_rareml_schema",
        h5_case(dir, "newsdm_unknown_rareml_schema", "newsdm_raw.h5", |f| {
            set_attr_str(&root(f), "schema", "rareml.newsdm.v9");
        }),
        Error(&[
            "/@schema",
            "\"rareml.newsdm.v9\" is not one this version reads",
        ]),
    );

    // ---- PandaX-III TPC ----
    add(
        "tpc_schema_missing",
        h5_case(dir, "tpc_schema_missing", "tpc_v1.h5", |f| {
            root(f).delete_attr("schema").unwrap();
        }),
        Error(&["/@schema", "schema missing", "\"rareml.tpc.v1\""]),
    );
    add(
        "tpc_schema_misspelled",
        h5_case(dir, "tpc_schema_misspelled", "tpc_v1.h5", |f| {
            set_attr_str(&root(f), "schema", "rareml.tcp.v1");
        }),
        Error(&[
            "/@schema",
            "\"rareml.tcp.v1\"",
            "those of \"rareml.tpc.v1\"",
        ]),
    );
    add(
        "tpc_schema_not_a_string",
        h5_case(dir, "tpc_schema_not_a_string", "tpc_v1.h5", |f| {
            set_attr_f64s(&root(f), "schema", &[1.0]);
        }),
        Error(&["/@schema", "(not a string)"]),
    );
    add(
        "tpc_schema_fixed_ascii",
        h5_case(dir, "tpc_schema_fixed_ascii", "tpc_v1.h5", |f| {
            set_attr_fixed_ascii(&root(f), "schema", "rareml.tpc.v1");
        }),
        Valid(&["rareml.tpc.v1", "events: 5, signals: 73 × 512 samples"]),
    );
    add(
        "tpc_schema_fixed_utf8",
        h5_case(dir, "tpc_schema_fixed_utf8", "tpc_v1.h5", |f| {
            set_attr_fixed_utf8(&root(f), "schema", "rareml.tpc.v1");
        }),
        Valid(&["rareml.tpc.v1", "events: 5"]),
    );
    add(
        "tpc_sampling_zero",
        h5_case(dir, "tpc_sampling_zero", "tpc_v1.h5", |f| {
            set_attr_f64s(&root(f), "sampling_ns", &[0.0]);
        }),
        Error(&["/@sampling_ns", "expected a number > 0"]),
    );
    add(
        "tpc_sampling_negative",
        h5_case(dir, "tpc_sampling_negative", "tpc_v1.h5", |f| {
            set_attr_f64s(&root(f), "sampling_ns", &[-200.0]);
        }),
        Error(&["/@sampling_ns", "-200: expected a number > 0"]),
    );
    add(
        "tpc_drift_velocity_nan",
        h5_case(dir, "tpc_drift_velocity_nan", "tpc_v1.h5", |f| {
            set_attr_f64s(&root(f), "drift_velocity_mm_per_us", &[f64::NAN]);
        }),
        Error(&["/@drift_velocity_mm_per_us", "expected one finite number"]),
    );
    add(
        "tpc_zero_samples",
        h5_case(dir, "tpc_zero_samples", "tpc_v1.h5", |f| {
            replace(f, "signals/samples", ndarray::Array2::<i16>::zeros((73, 0)));
        }),
        Error(&["signals/samples", "expected T ≥ 1"]),
    );
    add(
        "tpc_energy_infinite",
        h5_case(dir, "tpc_energy_infinite", "tpc_v1.h5", |f| {
            set_f32(f, "events/energy_kev", 2, f32::INFINITY);
        }),
        Error(&["events/energy_kev", "event 2", "expected a finite energy"]),
    );
    add(
        "tpc_energy_negative",
        h5_case(dir, "tpc_energy_negative", "tpc_v1.h5", |f| {
            set_f32(f, "events/energy_kev", 0, -5.0);
        }),
        Error(&["events/energy_kev", "event 0: energy -5 keV"]),
    );
    add(
        "tpc_vertex_infinite",
        h5_case(dir, "tpc_vertex_infinite", "tpc_v1.h5", |f| {
            set_f32(f, "events/vertex_mm", 3 * 4 + 2, f32::NEG_INFINITY);
        }),
        Error(&["events/vertex_mm", "event 4"]),
    );
    add(
        "tpc_huge_declared_signals",
        h5_case(dir, "tpc_huge_declared_signals", "tpc_v1.h5", |f| {
            // 8·10⁷ waveforms of 512 samples (82 GB) declared, 2 chunks written.
            replace_declared::<i16>(f, "signals/samples", &[80_000_000, 512], &[64, 512], 128);
        }),
        Error(&["signals/samples", "the file stores 2"]),
    );
    add(
        "tpc_truncated",
        truncated(dir, "tpc_truncated", "tpc_v1.h5", "h5", 0.5),
        Error(&["truncated or corrupt"]),
    );

    // ---- SHiP TT ----
    add(
        "tt_zero_stations",
        h5_case(dir, "tt_zero_stations", "tt_v1.h5", |f| {
            replace(f, "stations/z_cm", ndarray::Array1::<f32>::zeros(0));
        }),
        Error(&["stations/z_cm", "0 stations: expected 1..=256"]),
    );
    add(
        "tt_1000_stations",
        h5_case(dir, "tt_1000_stations", "tt_v1.h5", |f| {
            replace(f, "stations/z_cm", ndarray::Array1::<f32>::zeros(1000));
        }),
        Error(&["stations/z_cm", "1000 stations"]),
    );
    add(
        "tt_station_z_nan",
        h5_case(dir, "tt_station_z_nan", "tt_v1.h5", |f| {
            set_f32(f, "stations/z_cm", 3, f32::NAN);
        }),
        Error(&["stations/z_cm", "station 3"]),
    );
    add(
        "tt_hit_outside_station",
        h5_case(dir, "tt_hit_outside_station", "tt_v1.h5", |f| {
            set_f32(f, "hits/x_cm", 700, 40.0);
        }),
        Error(&["hits/x_cm", "row 700", "outside the station"]),
    );
    add(
        "tt_hit_infinite",
        h5_case(dir, "tt_hit_infinite", "tt_v1.h5", |f| {
            set_f32(f, "hits/y_cm", 12, f32::INFINITY);
        }),
        Error(&["hits/y_cm", "row 12", "expected a finite number"]),
    );
    add(
        "tt_deposit_negative",
        h5_case(dir, "tt_deposit_negative", "tt_v1.h5", |f| {
            set_f32(f, "hits/energy_gev", 3, -1.0);
        }),
        Error(&["hits/energy_gev", "row 3", "expected ≥ 0"]),
    );
    add(
        "tt_energy_infinite",
        h5_case(dir, "tt_energy_infinite", "tt_v1.h5", |f| {
            set_f32(f, "events/energy_gev", 1, f32::INFINITY);
        }),
        Error(&["events/energy_gev", "event 1"]),
    );
    add(
        "tt_energy_negative",
        h5_case(dir, "tt_energy_negative", "tt_v1.h5", |f| {
            set_f32(f, "events/energy_gev", 5, -3.0);
        }),
        Error(&["events/energy_gev", "event 5: energy -3 GeV"]),
    );
    add(
        "tt_distance_infinite",
        h5_case(dir, "tt_distance_infinite", "tt_v1.h5", |f| {
            set_f32(f, "events/distance_cm", 0, f32::NEG_INFINITY);
        }),
        Error(&["events/distance_cm", "event 0"]),
    );
    add(
        "tt_half_size_negative",
        h5_case(dir, "tt_half_size_negative", "tt_v1.h5", |f| {
            set_attr_f64s(&root(f), "half_size_cm", &[-6.45, 5.25]);
        }),
        Error(&["/@half_size_cm", "expected two positive numbers"]),
    );
    add(
        "tt_schema_missing",
        h5_case(dir, "tt_schema_missing", "tt_v1.h5", |f| {
            root(f).delete_attr("schema").unwrap();
        }),
        Error(&["/@schema", "schema missing", "\"rareml.tt.v1\""]),
    );
    add(
        "tt_schema_other_version",
        h5_case(dir, "tt_schema_other_version", "tt_v1.h5", |f| {
            set_attr_str(&root(f), "schema", "rareml.tt.v2");
        }),
        Error(&["/@schema", "\"rareml.tt.v2\"", "those of \"rareml.tt.v1\""]),
    );
    add(
        "tt_schema_fixed_ascii",
        h5_case(dir, "tt_schema_fixed_ascii", "tt_v1.h5", |f| {
            set_attr_fixed_ascii(&root(f), "schema", "rareml.tt.v1");
        }),
        Valid(&["rareml.tt.v1", "events: 6, hits: 1096, stations: 6"]),
    );
    add(
        "tt_huge_declared_hits",
        h5_case(dir, "tt_huge_declared_hits", "tt_v1.h5", |f| {
            replace_declared::<f32>(f, "hits/x_cm", &[10_000_000_000], &[1 << 18], 0);
        }),
        Error(&["hits/x_cm", "the file stores 0"]),
    );

    // ---- DECAY0 ----
    add(
        "decay0_valid",
        decay0_case(dir, "decay0_valid", |_| {}),
        Valid(&["DECAY0", "events: "]),
    );
    add(
        "decay0_truncated",
        decay0_case(dir, "decay0_truncated", |l| {
            l.pop();
        }),
        Error(&["truncated"]),
    );
    add(
        "decay0_huge_particle_count",
        decay0_case(dir, "decay0_huge_particle_count", |l| {
            // The last event announces 2⁶⁴ − 1 particles: the file ends first.
            let i = l
                .iter()
                .rposition(|s| s.split_whitespace().count() == 3)
                .unwrap();
            let f: Vec<String> = l[i].split_whitespace().map(str::to_string).collect();
            l[i] = format!("{} {} 18446744073709551615", f[0], f[1]);
        }),
        Error(&["truncated", "18446744073709551615"]),
    );
    add(
        "decay0_particle_count_too_large",
        decay0_case(dir, "decay0_particle_count_too_large", |l| {
            // The first event announces 10¹⁴ particles: the next event line is not a particle.
            let start = decay0_count_line(l) + 1;
            let i = start
                + l[start..]
                    .iter()
                    .position(|s| s.split_whitespace().count() == 3)
                    .unwrap();
            let f: Vec<String> = l[i].split_whitespace().map(str::to_string).collect();
            l[i] = format!("{} {} 100000000000000", f[0], f[1]);
        }),
        Error(&["event 1, particle 3: expected `geant_id px py pz time_shift`"]),
    );
    add(
        "decay0_more_events_than_header",
        decay0_case(dir, "decay0_more_events_than_header", |l| {
            let i = decay0_count_line(l);
            let i = i + l[i..].iter().position(|s| !s.trim().is_empty()).unwrap();
            let f: Vec<u64> = l[i]
                .split_whitespace()
                .map(|v| v.parse().unwrap())
                .collect();
            l[i] = format!("{} {}", f[0], f[1] - 1);
        }),
        Error(&["more events than the"]),
    );
    add(
        "decay0_infinite_momentum",
        decay0_case(dir, "decay0_infinite_momentum", |l| {
            let n = l.len();
            let f: Vec<String> = l[n - 1].split_whitespace().map(str::to_string).collect();
            l[n - 1] = format!("{} 1.0E+999 {} {} {}", f[0], f[2], f[3], f[4]);
        }),
        Error(&["expected `geant_id px py pz time_shift`"]),
    );

    // ---- anything else ----
    add(
        "not_a_data_file",
        {
            let p = dir.join("not_a_data_file.h5");
            std::fs::write(&p, "run notes, not data\n".repeat(200)).unwrap();
            p
        },
        Error(&["not an HDF5, REST ROOT or DECAY0 file"]),
    );
    add(
        "empty_file",
        {
            let p = dir.join("empty_file.h5");
            std::fs::write(&p, b"").unwrap();
            p
        },
        Error(&["not an HDF5, REST ROOT or DECAY0 file"]),
    );
    add(
        "rest_truncated",
        truncated(dir, "rest_truncated", "rest_v2.2.30_hits.root", "root", 0.6),
        Error(&[]),
    );
    add(
        "rest_readout_huge_objlen",
        rest_case(dir, "rest_readout_huge_objlen", |b| {
            // the readout declares 2 GiB uncompressed (objlen, bytes 6..10 of its key headers)
            for k in readout_keys(b) {
                b[k + 6..k + 10].copy_from_slice(&0x7fff_0000u32.to_be_bytes());
            }
        }),
        Problem(&["PandaReadout_MxM"]),
    );
    add(
        "rest_readout_damaged",
        rest_case(dir, "rest_readout_damaged", |b| {
            // the record itself: the key header whose seek (bytes 18..22) is its own offset
            let k = readout_keys(b)
                .into_iter()
                .find(|&k| u32::from_be_bytes(b[k + 18..k + 22].try_into().unwrap()) as usize == k)
                .unwrap();
            for x in &mut b[k + 40_000..k + 40_064] {
                *x ^= 0x5a;
            }
        }),
        Problem(&["PandaReadout_MxM"]),
    );
    add(
        "rest_streamer_info_damaged",
        rest_case(dir, "rest_streamer_info_damaged", |b| {
            // fSeekInfo (bytes 37..41 of a small file's header) → its record; damage inside it
            let seek = u32::from_be_bytes(b[37..41].try_into().unwrap()) as usize;
            for x in &mut b[seek + 2_000..seek + 2_064] {
                *x ^= 0x5a;
            }
        }),
        Error(&["StreamerInfo"]),
    );
    cases
}
