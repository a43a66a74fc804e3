//! The NEWSdm toy Monte Carlo: raw layout, determinism across thread counts, and the fact the
//! barycenter-shift analysis rests on — the shift grows with the track length (C100 > C30 > fog).

use ndarray::Axis;
use rareml::baselines::emulsion::{barycenter_shift, reference_threshold};
use rareml::io::emulsion::{ClusterClass, EmulsionFile, EmulsionLayout, PIXEL_SIZE_NM};
use rareml::preprocess::emulsion::{subtract_background, Background};
use rareml::sim::emulsion::{generate, write, EmulsionConfig, Sample};

fn shifts(sample: Sample, n: usize) -> Vec<f64> {
    let b = generate(&EmulsionConfig::default(), sample, 4, 0, n).unwrap();
    b.images
        .outer_iter()
        .map(|c| {
            let f = c.mapv(|v| v as f32);
            let sub = subtract_background(f.view(), Background::Median);
            barycenter_shift(sub.view(), PIXEL_SIZE_NM)
                .unwrap()
                .shift_nm
        })
        .collect()
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

#[test]
fn barycenter_shift_grows_with_track_length() {
    let (fog, c30, c100, gamma) = (
        shifts(Sample::Fog, 60),
        shifts(Sample::Carbon(30), 60),
        shifts(Sample::Carbon(100), 60),
        shifts(Sample::Gamma, 60),
    );
    let (mf, m30, m100, mg) = (median(&fog), median(&c30), median(&c100), median(&gamma));
    let thr = reference_threshold(&fog, 0.95, 200, 1).unwrap();
    let pass = |v: &[f64]| v.iter().filter(|&&s| s > thr.value_nm).count() as f64 / v.len() as f64;
    eprintln!(
        "median shift (nm): fog {mf:.1}, C30 {m30:.1}, C100 {m100:.1}, gamma {mg:.1}; threshold {:.1} ± {:.1} nm; pass: C30 {:.2}, C100 {:.2}, gamma {:.2}",
        thr.value_nm,
        thr.std_err_nm,
        pass(&c30),
        pass(&c100),
        pass(&gamma)
    );
    assert!(m100 > m30 && m30 > mf, "fog {mf}, C30 {m30}, C100 {m100}");
    assert!(pass(&c100) > pass(&c30));
}

#[test]
fn writes_the_raw_layout_reproducibly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newsdm.h5");
    let samples = [Sample::Carbon(30), Sample::Fog];
    write(&path, &EmulsionConfig::default(), &samples, 2, 6, 4).unwrap();
    let f = EmulsionFile::open(&path).unwrap();
    assert_eq!(f.layout().unwrap(), EmulsionLayout::Raw);
    let set = f.set("Carbon/30keV").unwrap();
    assert_eq!(
        (set.len(), set.polarisations(), set.height(), set.width()),
        (6, 9, 80, 80)
    );
    assert_eq!(set.class(), Some(ClusterClass::C30keV));
    assert_eq!(set.scan(3).unwrap().ninth_is_copy, Some(true));
    let fog = f.set("fog").unwrap().read::<u8>(0..6).unwrap();
    assert!(
        fog.pol_ids.unwrap().column(11).iter().all(|&t| t == -1),
        "fog grains are isolated"
    );
    let direct = generate(&EmulsionConfig::default(), Sample::Carbon(30), 2, 0, 6).unwrap();
    assert_eq!(set.read::<u8>(0..6).unwrap().images, direct.images);
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let single =
        one.install(|| generate(&EmulsionConfig::default(), Sample::Carbon(30), 2, 0, 6).unwrap());
    assert_eq!(single.images, direct.images);
    assert_eq!(
        direct.images.index_axis(Axis(1), 8),
        direct.images.index_axis(Axis(1), 0)
    );
}
