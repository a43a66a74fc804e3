//! Preprocessing throughput (criterion prints events/s): `cargo bench -p rareml-preprocess`.
//! Targets (issue 4, 2 cores): emulsion full pipeline ≥ 50,000 clusters/s, TPC waveforms → image
//! ≥ 5,000 events/s, TT digitisation ≥ 20,000 events/s.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ndarray::{Array2, Array4};
use rareml_io::emulsion::ClusterBatch;
use rareml_io::tpc::{EventLabel, Readout, Signals, TpcEvent, TpcMeta};
use rareml_io::tt::{Hits, TtEvent};
use rareml_preprocess::batch::{fill_batch, TtMaps};
use rareml_preprocess::emulsion::{rotate, EmulsionPipeline, Rotation};
use rareml_preprocess::tpc::{batch_images, TpcImageConfig};
use rareml_preprocess::tt::{batch_hit_maps, HitMapConfig};

/// Deterministic uniform numbers in [0, 1) (SplitMix64).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn emulsion(c: &mut Criterion) {
    let mut rng = Rng(1);
    let b = 512;
    let mut images = Array4::from_shape_simple_fn((b, 9, 80, 80), || {
        (20.0 + 8.0 * rng.next() + if rng.next() < 0.01 { 100.0 } else { 0.0 }) as u8
    });
    // The NEWSdm raw layout: the 9th image is a copy of the 1st.
    for mut c in images.outer_iter_mut() {
        let first = c.index_axis(ndarray::Axis(0), 0).to_owned();
        c.index_axis_mut(ndarray::Axis(0), 8).assign(&first);
    }
    let batch = ClusterBatch::new(images, None, None).unwrap();
    let mut g = c.benchmark_group("emulsion");
    g.throughput(Throughput::Elements(b as u64));
    g.sample_size(10);
    for (name, rotation) in [
        ("no rotation", Rotation::None),
        (
            "continuous rotation",
            Rotation::Continuous { max_deg: 90.0 },
        ),
        (
            "public-code rotation, 15 degree steps",
            Rotation::PUBLIC_CODE,
        ),
    ] {
        let pipe = EmulsionPipeline {
            rotation,
            ..EmulsionPipeline::default()
        };
        g.bench_function(format!("raw 9x80x80 u8 -> (1,9,40,40), {name}"), |bench| {
            bench.iter(|| pipe.process(&batch, 5).unwrap())
        });
    }
    let one =
        ndarray::Array3::from_shape_fn((8, 40, 40), |(p, y, x)| ((p * 7 + y * 3 + x) % 17) as f32);
    g.throughput(Throughput::Elements(1));
    g.bench_function(
        "rotate 8x40x40 by 33 degrees (one cluster, one thread)",
        |bench| bench.iter(|| rotate(one.view(), 33.0)),
    );
    let mut angle = 0.0;
    g.bench_function(
        "rotate 8x40x40 by a new angle each time (one cluster, one thread)",
        |bench| {
            bench.iter(|| {
                angle += 0.618_034;
                rotate(one.view(), angle)
            })
        },
    );
    g.finish();
}

fn tpc(c: &mut Criterion) {
    let mut rng = Rng(2);
    let readout = Readout::pandax3_module();
    // Events like a 0νββ track: ~40 X + ~40 Y strips with a 30-sample pulse each.
    let events: Vec<TpcEvent> = (0..256)
        .map(|id| {
            let n = 80;
            let strips: Vec<i32> = (0..n)
                .map(|k| if k < 40 { 10 + k } else { 64 + 10 + (k - 40) })
                .collect();
            let samples = Array2::from_shape_fn((n as usize, 512), |(s, t)| {
                let t0 = 200 + (s % 40) * 3;
                let pulse = if t >= t0 && t < t0 + 30 {
                    150.0 * (-(t as f64 - t0 as f64 - 6.0).powi(2) / 40.0).exp()
                } else {
                    0.0
                };
                (300.0 + 10.0 * (rng.next() - 0.5) + pulse) as i16
            });
            TpcEvent {
                id,
                label: EventLabel::Signal,
                energy_kev: None,
                vertex_mm: None,
                signals: Signals {
                    strip_id: strips,
                    samples,
                },
            }
        })
        .collect();
    let cfg = TpcImageConfig {
        flips: true,
        ..TpcImageConfig::default()
    };
    let mut g = c.benchmark_group("tpc");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.sample_size(10);
    g.bench_function("80 strips x 512 samples -> (2,128,128)", |b| {
        b.iter(|| batch_images(&events, &readout, &TpcMeta::default(), &cfg, 1, 0).unwrap())
    });
    g.finish();
}

fn tt(c: &mut Criterion) {
    let mut rng = Rng(3);
    let events: Vec<TtEvent> = (0..1024)
        .map(|_| {
            let n = 200;
            let mut hits = Hits::default();
            for _ in 0..n {
                hits.x_cm.push((12.0 * (rng.next() - 0.5)) as f32);
                hits.y_cm.push((10.0 * (rng.next() - 0.5)) as f32);
                hits.station.push((rng.next() * 6.0) as u8);
                hits.energy_gev.push(1e-4);
            }
            TtEvent {
                energy_gev: 50.0,
                vertex_cm: [0.0; 3],
                distance_cm: -3.0,
                hits,
            }
        })
        .collect();
    let mut g = c.benchmark_group("tt");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.sample_size(10);
    // A training loop fills a preallocated batch of 256 again and again.
    let t = TtMaps {
        n_stations: 6,
        config: HitMapConfig::default(),
        coordinates: false,
    };
    let mut buf = ndarray::ArrayD::<f32>::zeros(ndarray::IxDyn(&[256, 6, 150, 185]));
    g.bench_function("200 hits -> (6,150,185), reused batch of 256", |b| {
        b.iter(|| {
            for (k, chunk) in events.chunks(256).enumerate() {
                fill_batch(&t, chunk, (k * 256) as u64, buf.view_mut()).unwrap();
            }
        })
    });
    g.bench_function("200 hits -> (6,150,185), new arrays", |b| {
        b.iter(|| batch_hit_maps(&events, 6, &HitMapConfig::default()).unwrap())
    });
    g.finish();
}

criterion_group!(benches, emulsion, tpc, tt);
criterion_main!(benches);
