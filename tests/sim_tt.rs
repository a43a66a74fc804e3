//! The SHiP TT toy Monte Carlo: deterministic per seed whatever the thread count, the format it
//! writes, and the physics facts the study rests on — hits grow with E, the hit-count energy
//! estimate's resolution improves with E (≈ 1/√E), DBSCAN's transverse vertex beats the weighted mean.

use rareml::baselines::tt::{
    dbscan_vertex, weighted_mean_xy, DbscanVertexParams, NHitsEnergy, Vertex,
};
use rareml::io::tt::TtFile;
use rareml::sim::tt::{generate, write, TtConfig};
use rareml::sim::WriteOptions;

#[test]
fn deterministic_whatever_the_thread_count() {
    let cfg = TtConfig::default();
    let a = generate(&cfg, 7, 0, 40).unwrap();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let b = one.install(|| generate(&cfg, 7, 0, 40).unwrap());
    assert_eq!(a, b);
    // Event i does not depend on the batch it is generated in.
    assert_eq!(generate(&cfg, 7, 25, 5).unwrap(), a[25..30].to_vec());
    assert_ne!(generate(&cfg, 8, 0, 40).unwrap(), a);
}

#[test]
fn writes_the_tt_format_within_its_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tt.h5");
    let cfg = TtConfig::default();
    write(
        &path,
        &cfg,
        3,
        50,
        &WriteOptions {
            batch: 16,
            ..Default::default()
        },
        |_| {},
    )
    .unwrap();
    let f = TtFile::open(&path).unwrap();
    assert_eq!(f.len(), 50);
    let events: Vec<_> = f.batches(50).flat_map(|b| b.unwrap()).collect();
    assert_eq!(events, generate(&cfg, 3, 0, 50).unwrap());
    for e in &events {
        assert!((1.0..=100.0).contains(&e.energy_gev) && (-7.5..=0.0).contains(&e.distance_cm));
        assert!(
            e.hits.x_cm.iter().all(|x| x.abs() < 6.45)
                && e.hits.y_cm.iter().all(|y| y.abs() < 5.25)
        );
    }
}

#[test]
fn hits_grow_with_energy_and_resolution_improves() {
    let cfg = TtConfig {
        distance_cm: (-7.5, 0.0),
        ..TtConfig::default()
    };
    let events = generate(&cfg, 11, 0, 1500).unwrap();
    let mean_hits = |lo: f32, hi: f32| {
        let sel: Vec<_> = events
            .iter()
            .filter(|e| e.energy_gev >= lo && e.energy_gev < hi)
            .collect();
        sel.iter().map(|e| e.hits.len() as f64).sum::<f64>() / sel.len() as f64
    };
    let (low, high) = (mean_hits(2.0, 10.0), mean_hits(50.0, 100.0));
    assert!(
        high > 4.0 * low,
        "mean hits {low} at 2–10 GeV vs {high} at 50–100 GeV"
    );

    let n: Vec<usize> = events.iter().map(|e| e.hits.len()).collect();
    let e: Vec<f64> = events.iter().map(|e| e.energy_gev as f64).collect();
    let fit = NHitsEnergy::fit(&n, &e).unwrap();
    let resolution = |lo: f64, hi: f64| {
        let r: Vec<f64> = n
            .iter()
            .zip(&e)
            .filter(|(_, &e)| e >= lo && e < hi)
            .map(|(&n, &e)| (fit.predict(n) - e) / e)
            .collect();
        let m = r.iter().sum::<f64>() / r.len() as f64;
        (r.iter().map(|v| (v - m).powi(2)).sum::<f64>() / r.len() as f64).sqrt()
    };
    let (r_low, r_high) = (resolution(5.0, 15.0), resolution(60.0, 100.0));
    eprintln!("N-hits resolution: {r_low:.3} at 5–15 GeV, {r_high:.3} at 60–100 GeV; mean hits {low:.0} / {high:.0}");
    assert!(
        r_high < r_low,
        "σ(E)/E should fall with E: {r_low} vs {r_high}"
    );
}

#[test]
fn dbscan_vertex_beats_the_weighted_mean() {
    let cfg = TtConfig::default();
    let events = generate(&cfg, 21, 0, 400).unwrap();
    let z = &cfg.geometry.station_z_cm;
    let (mut d2, mut m2, mut n, mut none) = (0.0, 0.0, 0usize, 0usize);
    for e in events.iter().filter(|e| e.hits.len() >= 20) {
        match dbscan_vertex(e, z, &DbscanVertexParams::default()).unwrap() {
            Vertex::Found { x_cm, y_cm, .. } => {
                let [mx, my] = weighted_mean_xy(e).unwrap();
                let (vx, vy) = (e.vertex_cm[0] as f64, e.vertex_cm[1] as f64);
                d2 += (x_cm - vx).powi(2) + (y_cm - vy).powi(2);
                m2 += (mx - vx).powi(2) + (my - vy).powi(2);
                n += 1;
            }
            Vertex::NoVertex { .. } => none += 1,
        }
    }
    let (sd, sm) = ((d2 / n as f64).sqrt(), (m2 / n as f64).sqrt());
    eprintln!("transverse vertex RMS: DBSCAN {sd:.3} cm, weighted mean {sm:.3} cm ({n} events, {none} without vertex)");
    assert!(n > 100);
    assert!(sd < sm, "DBSCAN {sd} cm vs weighted mean {sm} cm");
}

#[test]
fn every_shower_leaves_hits_even_at_the_brick_end() {
    // Vertices within 0.1 cm of the brick end: the primary electron still crosses the station.
    let cfg = TtConfig {
        distance_cm: (-0.1, 0.0),
        ..Default::default()
    };
    let events = generate(&cfg, 3, 0, 2000).unwrap();
    let empty = events.iter().filter(|e| e.hits.is_empty()).count();
    assert_eq!(empty, 0, "{empty} of 2000 showers without hits");
}
