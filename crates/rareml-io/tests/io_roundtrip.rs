//! Write → read → identical, for all three formats, including events with no signal / no hit,
//! 8- and 9-polarisation clusters, uint8 and float32 images, and batch sizes that do not divide the
//! number of events. Property tests draw random events.

use ndarray::{Array2, Array4};
use proptest::prelude::*;
use rareml_io::emulsion::{
    ClusterBatch, ClusterClass, EmulsionFile, EmulsionWriter, SetLayout, SetMeta,
};
use rareml_io::tpc::{EventLabel, Readout, Signals, TpcEvent, TpcFile, TpcMeta, TpcWriter};
use rareml_io::tt::{Hits, TtEvent, TtFile, TtGeometry, TtWriter};

fn tpc_event(id: i64, strips: &[i32], label: EventLabel, t: usize) -> TpcEvent {
    let samples = Array2::from_shape_fn((strips.len(), t), |(s, k)| {
        ((id as usize * 31 + s * 7 + k * 3) % 4096) as i16 - 100
    });
    TpcEvent {
        id,
        label,
        energy_kev: (label != EventLabel::Unknown).then_some(2458.0 + id as f32 / 8.0),
        vertex_mm: (label != EventLabel::Unknown).then_some([id as f32, -1.5, 300.25]),
        signals: Signals {
            strip_id: strips.to_vec(),
            samples,
        },
    }
}

#[test]
fn tpc_roundtrip_with_empty_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tpc.h5");
    let readout = Readout::pandax3_module();
    let events = vec![
        tpc_event(10, &[3, 70, 4], EventLabel::Signal, 512),
        tpc_event(11, &[], EventLabel::Background, 512),
        tpc_event(12, &[127], EventLabel::Unknown, 512),
        tpc_event(13, &[], EventLabel::Unknown, 512),
        tpc_event(14, &[0, 1, 2, 64, 65], EventLabel::Background, 512),
    ];
    let mut w = TpcWriter::create(&path, &readout, &TpcMeta::default(), 512).unwrap();
    w.append(&events[..2]).unwrap();
    w.append(&[]).unwrap();
    w.append(&events[2..]).unwrap();
    assert_eq!(w.len(), 5);
    w.finish().unwrap();

    let f = TpcFile::open(&path).unwrap();
    assert_eq!(f.len(), 5);
    assert_eq!(f.readout(), &readout);
    assert_eq!(f.meta(), &TpcMeta::default());
    let back: Vec<TpcEvent> = f.batches(2).flat_map(|b| b.unwrap()).collect();
    assert_eq!(back, events);
    assert_eq!(f.event(1).unwrap().signals.samples.dim(), (0, 512));
    assert_eq!(f.event(4).unwrap(), events[4]);
    assert_eq!(f.read(1..1).unwrap(), vec![]);
}

#[test]
fn tpc_empty_file_roundtrip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.h5");
    TpcWriter::create(&path, &Readout::pandax3_module(), &TpcMeta::default(), 512)
        .unwrap()
        .finish()
        .unwrap();
    let f = TpcFile::open(&path).unwrap();
    assert!(f.is_empty());
    assert_eq!(f.batches(8).count(), 0);
}

fn tt_event(e: f32, n: usize) -> TtEvent {
    TtEvent {
        energy_gev: e,
        vertex_cm: [0.5, -0.25, 12.0],
        distance_cm: -3.5,
        hits: Hits {
            x_cm: (0..n).map(|i| i as f32 * 0.01 - 1.0).collect(),
            y_cm: (0..n).map(|i| 2.0 - i as f32 * 0.02).collect(),
            station: (0..n).map(|i| (i % 6) as u8).collect(),
            energy_gev: (0..n).map(|i| 1e-4 * (i + 1) as f32).collect(),
        },
    }
}

#[test]
fn tt_roundtrip_with_empty_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tt.h5");
    let events = vec![
        tt_event(1.0, 0),
        tt_event(50.5, 200),
        tt_event(99.0, 0),
        tt_event(7.25, 13),
    ];
    let geometry = TtGeometry::ship();
    let mut w = TtWriter::create(&path, &geometry).unwrap();
    w.append(&events).unwrap();
    w.finish().unwrap();
    let f = TtFile::open(&path).unwrap();
    assert_eq!(f.geometry(), &geometry);
    let back: Vec<TtEvent> = f.batches(3).flat_map(|b| b.unwrap()).collect();
    assert_eq!(back, events);
    assert_eq!(f.hits_in(1).unwrap(), 200);
}

fn cluster_batch<T: rareml_io::emulsion::Pixel>(
    b: usize,
    p: usize,
    hw: usize,
    f: impl Fn(usize) -> T,
    class: Option<ClusterClass>,
) -> ClusterBatch<T> {
    let mut k = 0;
    let images = Array4::from_shape_simple_fn((b, p, hw, hw), || {
        k += 1;
        f(k)
    });
    let pol = Array2::from_shape_fn((b, 13), |(i, j)| (i * 13 + j) as i32 - 1);
    ClusterBatch::new(images, Some(pol), class.map(|c| vec![c; b])).unwrap()
}

#[test]
fn newsdm_crops_roundtrip_u8_and_f32() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newsdm.h5");
    let w = EmulsionWriter::create(&path).unwrap();
    let meta = |c| SetMeta {
        class: Some(c),
        ..SetMeta::default()
    };
    let mut raw = w
        .set::<u8>(
            "Carbon/60keV/raw",
            SetLayout::CROPS,
            (9, 80, 80),
            &meta(ClusterClass::C60keV),
        )
        .unwrap();
    let raw_batch = cluster_batch::<u8>(5, 9, 80, |k| (k % 256) as u8, Some(ClusterClass::C60keV));
    raw.append(&raw_batch).unwrap();
    let mut proc8 = w
        .set::<f32>(
            "gamma/processed",
            SetLayout::CROPS,
            (8, 40, 40),
            &meta(ClusterClass::Background),
        )
        .unwrap();
    let f_batch = cluster_batch::<f32>(
        3,
        8,
        40,
        |k| k as f32 * 0.25 - 7.0,
        Some(ClusterClass::Background),
    );
    proc8.append(&f_batch).unwrap();
    proc8.append(&f_batch).unwrap();
    w.finish().unwrap();

    let f = EmulsionFile::open(&path).unwrap();
    assert_eq!(
        f.groups().unwrap(),
        vec![
            "Carbon/60keV/raw".to_string(),
            "gamma/processed".to_string()
        ]
    );
    let s = f.set("Carbon/60keV/raw").unwrap();
    assert_eq!(s.class(), Some(ClusterClass::C60keV));
    let mut back = s.read::<u8>(0..5).unwrap();
    back.start = 0;
    assert_eq!(back, raw_batch);
    assert_eq!(s.get::<u8>(3).unwrap(), raw_batch.cluster(3));

    let s = f.set("gamma/processed").unwrap();
    assert_eq!(s.len(), 6);
    assert_eq!(s.polarisations(), 8);
    assert_eq!(s.scan(4).unwrap().ninth_is_copy, None);
    let parts: Vec<_> = s.batches::<f32>(4).map(|b| b.unwrap()).collect();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[1].start, 4);
    assert_eq!(
        parts[1].images.index_axis(ndarray::Axis(0), 1),
        f_batch.images.index_axis(ndarray::Axis(0), 2)
    );
}

#[test]
fn newsdm_training_layout_roundtrip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train.h5");
    let w = EmulsionWriter::create(&path).unwrap();
    let mut train = w
        .set::<f32>(
            "train",
            SetLayout::TRAINING,
            (9, 40, 40),
            &SetMeta::default(),
        )
        .unwrap();
    let images = Array4::from_shape_fn((8, 9, 40, 40), |(n, p, y, x)| {
        (n * 1000 + (p % 8) * 100 + y + x) as f32
    });
    let classes: Vec<ClusterClass> = (0..8).map(|i| ClusterClass::ALL[i % 4]).collect();
    train
        .append(&ClusterBatch::new(images.clone(), None, Some(classes.clone())).unwrap())
        .unwrap();
    w.finish().unwrap();

    let f = EmulsionFile::open(&path).unwrap();
    assert_eq!(
        f.layout().unwrap(),
        rareml_io::emulsion::EmulsionLayout::Training
    );
    let s = f.set("train").unwrap();
    assert_eq!(s.class_counts().unwrap(), [2, 2, 2, 2]);
    assert_eq!(s.scan(3).unwrap().ninth_is_copy, Some(true));
    let b = s.read::<f32>(0..8).unwrap();
    assert_eq!(b.images, images);
    assert_eq!(b.classes.unwrap(), classes);
    assert!(b.pol_ids.is_none());
}

fn arb_tpc_event(id: i64) -> impl Strategy<Value = TpcEvent> {
    (
        prop::sample::subsequence((0..128).collect::<Vec<i32>>(), 0..6),
        -1i8..=1,
        any::<u64>(),
    )
        .prop_map(move |(strips, l, seed)| {
            let label = EventLabel::from_code(l).unwrap();
            let mut ev = tpc_event(id, &strips, label, 16);
            ev.signals
                .samples
                .iter_mut()
                .enumerate()
                .for_each(|(i, v)| *v = (seed.wrapping_mul(i as u64 + 1) >> 48) as i16);
            ev
        })
}

fn arb_tt_event() -> impl Strategy<Value = TtEvent> {
    (
        1.0f32..100.0,
        -7.5f32..0.0,
        prop::collection::vec((-6.4f32..6.4, -5.2f32..5.2, 0u8..6, 0.0f32..1.0), 0..40),
    )
        .prop_map(|(e, d, hits)| TtEvent {
            energy_gev: e,
            vertex_cm: [0.0, 0.0, d],
            distance_cm: d,
            hits: hits.iter().copied().collect(),
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn tpc_random_events_roundtrip(events in prop::collection::vec(arb_tpc_event(7), 0..12), batch in 1usize..5) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.h5");
        let mut w = TpcWriter::create(&path, &Readout::pandax3_module(), &TpcMeta::default(), 16).unwrap();
        for chunk in events.chunks(batch) {
            w.append(chunk).unwrap();
        }
        w.finish().unwrap();
        let f = TpcFile::open(&path).unwrap();
        let back: Vec<TpcEvent> = f.batches(batch + 1).flat_map(|b| b.unwrap()).collect();
        prop_assert_eq!(back, events);
    }

    #[test]
    fn tt_random_events_roundtrip(events in prop::collection::vec(arb_tt_event(), 0..10), batch in 1usize..5) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.h5");
        let mut w = TtWriter::create(&path, &TtGeometry::ship()).unwrap();
        for chunk in events.chunks(batch) {
            w.append(chunk).unwrap();
        }
        w.finish().unwrap();
        let f = TtFile::open(&path).unwrap();
        let back: Vec<TtEvent> = f.batches(batch + 2).flat_map(|b| b.unwrap()).collect();
        prop_assert_eq!(back, events);
    }
}
