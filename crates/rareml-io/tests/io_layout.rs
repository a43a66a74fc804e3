//! The files rareml-io writes are what `docs/data-formats.md` (DESIGN §3) says, checked with raw
//! HDF5 calls rather than through our readers: dataset names, dtypes, shapes, attributes, and the
//! storage (chunked, shuffle then deflate).

use hdf5::filters::Filter;
use hdf5::types::{FloatSize, IntSize, TypeDescriptor, VarLenUnicode};
use ndarray::{Array2, Array4};
use rareml_io::emulsion::{ClusterBatch, ClusterClass, EmulsionWriter, SetLayout, SetMeta};
use rareml_io::tpc::{EventLabel, Readout, Signals, TpcEvent, TpcMeta, TpcWriter};
use rareml_io::tt::{Hits, TtEvent, TtGeometry, TtWriter};

fn dtype(f: &hdf5::File, path: &str) -> TypeDescriptor {
    f.dataset(path)
        .unwrap()
        .dtype()
        .unwrap()
        .to_descriptor()
        .unwrap()
}

/// Checks dtype, shape and storage of one dataset.
fn check(f: &hdf5::File, path: &str, td: TypeDescriptor, shape: &[usize]) {
    let ds = f.dataset(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(dtype(f, path), td, "{path}: dtype");
    assert_eq!(ds.shape(), shape, "{path}: shape");
    assert!(ds.is_chunked(), "{path}: chunked");
    let filters = ds.filters();
    assert_eq!(filters.len(), 2, "{path}: {filters:?}");
    assert_eq!(filters[0], Filter::Shuffle, "{path}: shuffle first");
    assert!(
        matches!(filters[1], Filter::Deflate(_)),
        "{path}: then deflate"
    );
}

fn attr_str(loc: &hdf5::Location, name: &str) -> String {
    let a = loc.attr(name).unwrap();
    assert_eq!(
        a.dtype().unwrap().to_descriptor().unwrap(),
        TypeDescriptor::VarLenUnicode,
        "{name}: vlen utf-8 as h5py writes"
    );
    a.read_scalar::<VarLenUnicode>()
        .unwrap()
        .as_str()
        .to_string()
}

fn attr_f64(loc: &hdf5::Location, name: &str) -> f64 {
    let a = loc.attr(name).unwrap();
    assert_eq!(
        a.dtype().unwrap().to_descriptor().unwrap(),
        TypeDescriptor::Float(FloatSize::U8),
        "{name}"
    );
    a.read_scalar::<f64>().unwrap()
}

const I8: TypeDescriptor = TypeDescriptor::Integer(IntSize::U1);
const I16: TypeDescriptor = TypeDescriptor::Integer(IntSize::U2);
const I32: TypeDescriptor = TypeDescriptor::Integer(IntSize::U4);
const I64: TypeDescriptor = TypeDescriptor::Integer(IntSize::U8);
const U8: TypeDescriptor = TypeDescriptor::Unsigned(IntSize::U1);
const F32: TypeDescriptor = TypeDescriptor::Float(FloatSize::U4);

#[test]
fn tpc_v1_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tpc.h5");
    let readout = Readout::pandax3_module();
    let mut w = TpcWriter::create(&path, &readout, &TpcMeta::default(), 512).unwrap();
    let ev = |id, n: usize, label| TpcEvent {
        id,
        label,
        energy_kev: Some(2458.0),
        vertex_mm: Some([1.0, 2.0, 3.0]),
        signals: Signals {
            strip_id: (0..n as i32).collect(),
            samples: Array2::from_elem((n, 512), 300),
        },
    };
    w.append(&[
        ev(5, 3, EventLabel::Signal),
        ev(6, 0, EventLabel::Background),
        ev(7, 2, EventLabel::Signal),
    ])
    .unwrap();
    w.finish().unwrap();

    let f = hdf5::File::open(&path).unwrap();
    assert_eq!(attr_str(&f, "schema"), "rareml.tpc.v1");
    assert_eq!(attr_f64(&f, "sampling_ns"), 200.0);
    assert_eq!(attr_f64(&f, "drift_velocity_mm_per_us"), 1.87);
    assert_eq!(attr_f64(&f, "pitch_mm"), 3.0);
    check(&f, "readout/strip_id", I32, &[128]);
    check(&f, "readout/axis", U8, &[128]);
    check(&f, "readout/position_mm", F32, &[128]);
    check(&f, "events/id", I64, &[3]);
    check(&f, "events/offsets", I64, &[4]);
    check(&f, "events/label", I8, &[3]);
    check(&f, "events/energy_kev", F32, &[3]);
    check(&f, "events/vertex_mm", F32, &[3, 3]);
    check(&f, "signals/strip_id", I32, &[5]);
    check(&f, "signals/samples", I16, &[5, 512]);
    assert_eq!(
        f.dataset("events/offsets")
            .unwrap()
            .read_raw::<i64>()
            .unwrap(),
        vec![0, 3, 3, 5]
    );
    assert_eq!(
        f.dataset("events/label").unwrap().read_raw::<i8>().unwrap(),
        vec![1, 0, 1]
    );
    assert_eq!(
        f.dataset("readout/axis").unwrap().read_raw::<u8>().unwrap()[63..65],
        [0, 1]
    );
    let pos = f
        .dataset("readout/position_mm")
        .unwrap()
        .read_raw::<f32>()
        .unwrap();
    assert_eq!((pos[0], pos[63], pos[64]), (-94.5, 94.5, -94.5));
    // Nothing else at the top level.
    let mut members = f.member_names().unwrap();
    members.sort();
    assert_eq!(members, ["events", "readout", "signals"]);
}

#[test]
fn tt_v1_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tt.h5");
    let mut w = TtWriter::create(&path, &TtGeometry::ship()).unwrap();
    let hits = Hits {
        x_cm: vec![0.5, 1.0],
        y_cm: vec![-0.5, 0.0],
        station: vec![0, 5],
        energy_gev: vec![1e-3, 2e-3],
    };
    w.append(&[TtEvent {
        energy_gev: 10.0,
        vertex_cm: [0.0, 0.0, -3.0],
        distance_cm: -3.0,
        hits,
    }])
    .unwrap();
    w.finish().unwrap();

    let f = hdf5::File::open(&path).unwrap();
    assert_eq!(attr_str(&f, "schema"), "rareml.tt.v1");
    let a = f.attr("half_size_cm").unwrap();
    assert_eq!(
        a.dtype().unwrap().to_descriptor().unwrap(),
        TypeDescriptor::Float(FloatSize::U8)
    );
    assert_eq!(a.read_raw::<f64>().unwrap(), vec![6.45, 5.25]);
    check(&f, "stations/z_cm", F32, &[6]);
    check(&f, "events/offsets", I64, &[2]);
    check(&f, "events/energy_gev", F32, &[1]);
    check(&f, "events/vertex_cm", F32, &[1, 3]);
    check(&f, "events/distance_cm", F32, &[1]);
    check(&f, "hits/x_cm", F32, &[2]);
    check(&f, "hits/y_cm", F32, &[2]);
    check(&f, "hits/station", U8, &[2]);
    check(&f, "hits/energy_gev", F32, &[2]);
    assert_eq!(
        f.dataset("events/offsets")
            .unwrap()
            .read_raw::<i64>()
            .unwrap(),
        vec![0, 2]
    );
}

#[test]
fn newsdm_layouts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newsdm.h5");
    let w = EmulsionWriter::create(&path).unwrap();
    let meta = SetMeta {
        class: Some(ClusterClass::C30keV),
        ..SetMeta::default()
    };
    let mut raw = w
        .set::<u8>("Carbon/30keV/part0", SetLayout::CROPS, (9, 80, 80), &meta)
        .unwrap();
    // Channels-first in memory: pixel (n, p, y, x) = p so the on-disk channel axis is easy to see.
    let images = Array4::from_shape_fn((2, 9, 80, 80), |(_, p, y, _)| (p * 10 + y % 3) as u8);
    raw.append(&ClusterBatch::new(images, Some(Array2::from_elem((2, 13), 7)), None).unwrap())
        .unwrap();
    let mut train = w
        .set::<f32>(
            "train",
            SetLayout::TRAINING,
            (9, 40, 40),
            &SetMeta::default(),
        )
        .unwrap();
    let timages = Array4::<f32>::zeros((3, 9, 40, 40));
    let classes = vec![
        ClusterClass::C30keV,
        ClusterClass::C100keV,
        ClusterClass::Background,
    ];
    train
        .append(&ClusterBatch::new(timages, None, Some(classes)).unwrap())
        .unwrap();
    w.finish().unwrap();

    let f = hdf5::File::open(&path).unwrap();
    check(&f, "Carbon/30keV/part0/images", U8, &[2, 80, 80, 9]);
    check(&f, "Carbon/30keV/part0/pol_ids", I32, &[2, 13]);
    let disk = f
        .dataset("Carbon/30keV/part0/images")
        .unwrap()
        .read::<u8, ndarray::Ix4>()
        .unwrap();
    assert_eq!(
        disk[[1, 2, 5, 4]],
        42,
        "channels-last on disk: [n, y, x, p]"
    );
    let g = f.group("Carbon/30keV/part0").unwrap();
    assert_eq!(attr_str(&g, "class"), "C30keV");
    assert_eq!(attr_str(&g, "schema"), "rareml.newsdm.v1");
    assert_eq!(attr_f64(&g, "pixel_size_nm"), 27.47);
    assert_eq!(attr_str(&g, "generator"), "rareml-io");
    assert!(!attr_str(&g, "generator_version").is_empty());
    let angles = g
        .attr("polariser_angles_deg")
        .unwrap()
        .read_raw::<f64>()
        .unwrap();
    assert_eq!(
        angles,
        vec![0.0, 22.5, 45.0, 67.5, 90.0, 112.5, 135.0, 157.5, 180.0]
    );

    check(&f, "train/images", F32, &[3, 40, 40, 9]);
    check(&f, "train/labels", I64, &[3]);
    assert!(!f.link_exists("train/pol_ids"));
    assert_eq!(
        f.dataset("train/labels")
            .unwrap()
            .read_raw::<i64>()
            .unwrap(),
        vec![0, 2, 3]
    );
    assert!(
        f.group("train").unwrap().attr("class").is_err(),
        "mixed groups carry no class attribute"
    );
}
