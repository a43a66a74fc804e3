//! The DECAY0 files shipped with REST-for-Physics (copied into `tests/fixtures/decay0/`) parse in
//! full, and their physics is what it should be.

use std::path::PathBuf;

use rareml_io::decay0::{Decay0Reader, Species};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/decay0")
        .join(name)
}

/// Qββ of Xe-136 in MeV (Redshaw et al., PRL 98 (2007) 053003: 2457.83 ± 0.37 keV), the "2458 keV"
/// of PandaX-III.
const Q_BB_XE136_MEV: f64 = 2.45783;

#[test]
fn xe136_0nubb_has_two_electrons_sharing_q() {
    let reader = Decay0Reader::open(fixture("Xe136bb0n.dat")).unwrap();
    assert_eq!(reader.header().n_events, 20_000);
    assert!(reader
        .header()
        .description
        .iter()
        .any(|l| l.contains("0nubb")));
    let mut sums = Vec::with_capacity(20_000);
    for (i, ev) in reader.enumerate() {
        let ev = ev.unwrap();
        assert_eq!(ev.number, i as u64 + 1);
        assert_eq!(ev.particles.len(), 2, "event {}", ev.number);
        assert!(
            ev.particles
                .iter()
                .all(|p| p.species() == Species::Electron),
            "event {}",
            ev.number
        );
        sums.push(ev.kinetic_energy_mev(Species::Electron));
    }
    assert_eq!(sums.len(), 20_000);
    let mean = sums.iter().sum::<f64>() / sums.len() as f64;
    // Every event carries the same total: momenta are printed to 6 significant digits, so the
    // kinetic-energy sum scatters by ~1e-5 MeV around the file's Q value.
    let spread = sums.iter().map(|s| (s - mean).abs()).fold(0.0, f64::max);
    assert!(
        spread < 3e-5,
        "spread of the electron energy sums {spread} MeV"
    );
    // The file's Q value (2.45700 MeV: DECAY0's 2011 table rounds Qββ to 1 keV) is Qββ within 1 keV.
    assert!((mean - Q_BB_XE136_MEV).abs() < 1e-3, "mean sum {mean} MeV");
    assert!(
        (mean - 2.458).abs() < 1.1e-3,
        "mean sum {mean} MeV vs 2458 keV"
    );
}

#[test]
fn tl208_decays_parse_with_the_2615_kev_gamma() {
    let reader = Decay0Reader::open(fixture("Tl208.dat")).unwrap();
    let n_declared = reader.header().n_events;
    let events: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
    assert_eq!(events.len() as u64, n_declared);
    // One beta electron per decay; the 2614.5 keV gamma of Pb-208 (first excited 3⁻ state, fed in
    // ~99.8 % of Tl-208 decays; NNDC) in nearly every event.
    let with_2615 = events
        .iter()
        .filter(|e| {
            e.particles.iter().any(|p| {
                p.species() == Species::Gamma
                    && (p.kinetic_energy_mev().unwrap() - 2.6145).abs() < 2e-3
            })
        })
        .count();
    assert!(events.iter().all(|e| e
        .particles
        .iter()
        .filter(|p| p.species() == Species::Electron)
        .count()
        >= 1));
    assert!(
        with_2615 as f64 > 0.95 * events.len() as f64,
        "{with_2615} of {}",
        events.len()
    );
}
