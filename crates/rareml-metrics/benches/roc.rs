//! roc_curve + AUC on 10^7 scores (target: under 1 s on 2 cores; scikit-learn takes 0.41 s for 10^6
//! on this machine). `cargo bench -p rareml-metrics --bench roc`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rareml_metrics::{roc_curve, significance};

/// Deterministic sample: 40 % signal; scores are f32 in (0, 1), signal shifted up (SplitMix64).
fn sample(n: usize) -> (Vec<u8>, Vec<f32>) {
    let mut state = 0x5EED_u64;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut y = Vec::with_capacity(n);
    let mut s = Vec::with_capacity(n);
    for _ in 0..n {
        let sig = next() < 0.4;
        let u = next();
        y.push(sig as u8);
        s.push(if sig { u.sqrt() } else { u * u } as f32);
    }
    (y, s)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("roc");
    group.sample_size(10);
    for n in [1_000_000usize, 10_000_000] {
        let (y, s) = sample(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("roc_curve+auc/{n}"), |b| {
            b.iter(|| {
                let roc = roc_curve(&y, &s, true).unwrap();
                std::hint::black_box(roc.auc())
            })
        });
        group.bench_function(format!("significance/{n}"), |b| {
            b.iter(|| std::hint::black_box(significance(&y, &s).unwrap().xi))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
