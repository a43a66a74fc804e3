//! TPC image geometry on a synthetic straight track (pixel and time-bin arithmetic by hand, charge
//! conservation) and TT digitisation (every in-area hit counted once, outside hits reported).

use ndarray::Array2;
use proptest::prelude::*;
use rareml_io::tpc::{EventLabel, Readout, Signals, TpcEvent, TpcMeta};
use rareml_io::tt::TtEvent;
use rareml_preprocess::tpc::{batch_images, event_image, TpcImageConfig};
use rareml_preprocess::tt::{batch_hit_maps, hit_maps, HitMapConfig, Weighting};

/// X strips 20..=29 each with one sample of amplitude 200 at sample 200 + 8·(i − 20) (a straight
/// track rising one pixel in z per strip: 8 samples × 0.374 mm = 2.99 mm); Y strips 104..=108
/// (module Y strips 40..=44) with amplitude 100 at sample 300 (a track at constant z).
fn straight_track() -> TpcEvent {
    let mut ids = Vec::new();
    let mut rows = Vec::new();
    for i in 20..30 {
        let mut w = vec![300i16; 512];
        w[200 + 8 * (i - 20)] = 500;
        ids.push(i as i32);
        rows.extend(w);
    }
    for j in 40..45 {
        let mut w = vec![300i16; 512];
        w[300] = 400;
        ids.push(64 + j);
        rows.extend(w);
    }
    let n = ids.len();
    TpcEvent {
        id: 1,
        label: EventLabel::Signal,
        energy_kev: None,
        vertex_mm: None,
        signals: Signals {
            strip_id: ids,
            samples: Array2::from_shape_vec((n, 512), rows).unwrap(),
        },
    }
}

#[test]
fn straight_track_lands_where_geometry_says() {
    let (r, m, cfg) = (
        Readout::pandax3_module(),
        TpcMeta::default(),
        TpcImageConfig::default(),
    );
    let (img, rep) = event_image(&straight_track(), &r, &m, &cfg, (false, false)).unwrap();
    assert_eq!(img.dim(), (2, 128, 128));
    // Charge conserved before normalisation: 10 × 200 + 5 × 100 ADC, nothing outside.
    assert_eq!(rep.total_adc, 2500.0);
    assert_eq!(rep.outside_adc, 0.0);
    // Normalised to the event total; ×2 upsampling repeats each pixel 4 times.
    assert!((img.sum() - 4.0).abs() < 1e-5);
    // XZ: strip i sits at u = (i − 31.5)·3 mm, the plane's centre at ū = −21 mm, so
    // col = ⌊i − 24.5 + 32⌋ = i + 7; z = t·0.374 mm gives (z − z̄)/3 = 0.9973·(i − 24.5), row = i + 7.
    for i in 20..30usize {
        let (row, col) = (i + 7, i + 7);
        for (dr, dc) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            assert!(
                (img[[0, 2 * row + dr, 2 * col + dc]] - 200.0 / 2500.0).abs() < 1e-7,
                "strip {i}"
            );
        }
    }
    // YZ: strips 40..44 centred on 42 → columns 30..34, constant z → row 32.
    for j in 40..45usize {
        assert!(
            (img[[1, 64, 2 * (j - 10)]] - 100.0 / 2500.0).abs() < 1e-7,
            "Y strip {j}"
        );
    }
    assert_eq!(img.iter().filter(|&&v| v > 0.0).count(), 4 * 15);

    // Flips mirror columns (horizontal) and rows (vertical) of both planes.
    let (h, _) = event_image(&straight_track(), &r, &m, &cfg, (true, false)).unwrap();
    let (v, _) = event_image(&straight_track(), &r, &m, &cfg, (false, true)).unwrap();
    for ((c, y, x), &val) in img.indexed_iter() {
        assert_eq!(h[[c, y, 127 - x]], val);
        assert_eq!(v[[c, 127 - y, x]], val);
    }
    // Seeded flips in a batch are reproducible.
    let flips = TpcImageConfig { flips: true, ..cfg };
    let evs = vec![straight_track(); 6];
    let (a, _) = batch_images(&evs, &r, &m, &flips, 11, 0).unwrap();
    let (b, _) = batch_images(&evs, &r, &m, &flips, 11, 0).unwrap();
    assert_eq!(a, b);
}

#[test]
fn bad_tpc_input_is_an_error() {
    let (r, m) = (Readout::pandax3_module(), TpcMeta::default());
    let mut e = straight_track();
    e.signals.strip_id[0] = 900;
    let err = event_image(&e, &r, &m, &TpcImageConfig::default(), (false, false)).unwrap_err();
    assert!(err.to_string().contains("strip id 900"), "{err}");
    let err = event_image(
        &straight_track(),
        &r,
        &m,
        &TpcImageConfig {
            size: 0,
            ..TpcImageConfig::default()
        },
        (false, false),
    );
    assert!(err.is_err());
    assert!(batch_images(&[], &r, &m, &TpcImageConfig::default(), 0, 0).is_err());
}

fn tt_event(hits: Vec<(f32, f32, u8, f32)>) -> TtEvent {
    TtEvent {
        energy_gev: 20.0,
        vertex_cm: [0.0; 3],
        distance_cm: -2.0,
        hits: hits.iter().copied().collect(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_in_area_hit_is_counted_once(hits in prop::collection::vec((-8.0f32..8.0, -7.0f32..7.0, 0u8..6, 0.0f32..0.01), 1..300)) {
        let cfg = HitMapConfig::default();
        let e = tt_event(hits.clone());
        let (maps, rep) = hit_maps(&e, 6, &cfg).unwrap();
        let inside: Vec<_> = hits.iter().filter(|h| h.0 >= -6.45 && h.0 < 6.45 && h.1 >= -5.25 && h.1 < 5.25).collect();
        prop_assert_eq!(rep.hits, hits.len());
        prop_assert_eq!(rep.outside, hits.len() - inside.len());
        prop_assert_eq!(maps.sum() as usize, inside.len());
        for h in &inside {
            let (row, col) = (((h.1 as f64 + 5.25) / 0.07).floor() as usize, ((h.0 as f64 + 6.45) / 0.07).floor() as usize);
            prop_assert!(maps[[h.2 as usize, row, col]] >= 1.0);
        }
        let (e_maps, _) = hit_maps(&e, 6, &HitMapConfig { weighting: Weighting::Energy, ..cfg }).unwrap();
        let e_in: f32 = inside.iter().map(|h| h.3).sum();
        prop_assert!((e_maps.sum() - e_in).abs() <= 1e-5 * e_in.max(1e-3));
    }
}

#[test]
fn ship_maps_have_the_paper_shape() {
    let evs = vec![
        tt_event(vec![(0.01, 0.01, 2, 0.001)]),
        tt_event(vec![(6.44, -5.24, 5, 0.001), (7.0, 0.0, 0, 0.001)]),
    ];
    let (maps, reps) = batch_hit_maps(&evs, 6, &HitMapConfig::default()).unwrap();
    assert_eq!(maps.dim(), (2, 6, 150, 185));
    assert_eq!(maps[[0, 2, 75, 92]], 1.0);
    assert_eq!(maps[[1, 5, 0, 184]], 1.0);
    assert_eq!(reps[1].outside, 1);
}
