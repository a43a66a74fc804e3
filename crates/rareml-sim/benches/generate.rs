//! Generator throughput (criterion prints events/s): `cargo bench -p rareml-sim --bench generate`.
//! Targets (issue 3, 2 cores, generating and writing to HDF5): emulsion ≥ 5,000 clusters/s,
//! TPC ≥ 300 events/s, TT ≥ 5,000 events/s.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rareml_io::Compression;
use rareml_sim::{emulsion, tpc, tt, WriteOptions};

fn emulsion(c: &mut Criterion) {
    let cfg = emulsion::EmulsionConfig::default();
    let mut g = c.benchmark_group("emulsion");
    g.sample_size(10);
    let n = 512;
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("generate 512 C100 clusters (9x80x80 u8)", |b| {
        b.iter(|| emulsion::generate(&cfg, emulsion::Sample::Carbon(100), 1, 0, n).unwrap())
    });
    let dir = tempfile::tempdir().unwrap();
    let samples = emulsion::Sample::ALL;
    let per = 360;
    g.throughput(Throughput::Elements((per * samples.len()) as u64));
    for (name, compression) in [
        ("shuffle + deflate 4", Compression::Deflate(4)),
        ("shuffle + deflate 1", Compression::Deflate(1)),
        ("uncompressed", Compression::None),
    ] {
        g.bench_function(format!("generate + write 5 x 360 clusters, {name}"), |b| {
            b.iter(|| {
                emulsion::write(
                    dir.path().join("e.h5"),
                    &cfg,
                    &samples,
                    1,
                    per,
                    &WriteOptions {
                        batch: 360,
                        compression,
                        ..Default::default()
                    },
                    |_| {},
                )
                .unwrap()
            })
        });
    }
    g.finish();
}

fn tpc(c: &mut Criterion) {
    let cfg = tpc::TpcConfig::default();
    let mut g = c.benchmark_group("tpc");
    g.sample_size(10);
    let n = 200;
    g.throughput(Throughput::Elements(n as u64));
    let dir = tempfile::tempdir().unwrap();
    g.bench_function("generate + write 200 events (built-in spectrum)", |b| {
        b.iter(|| {
            tpc::write(
                dir.path().join("t.h5"),
                &cfg,
                None,
                1,
                n,
                &WriteOptions {
                    batch: 100,
                    ..Default::default()
                },
                |_| {},
            )
            .unwrap()
        })
    });
    g.finish();
}

fn tt(c: &mut Criterion) {
    let cfg = tt::TtConfig::default();
    let mut g = c.benchmark_group("tt");
    g.sample_size(10);
    let n = 4000;
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("generate 4000 showers", |b| {
        b.iter(|| tt::generate(&cfg, 1, 0, n).unwrap())
    });
    let dir = tempfile::tempdir().unwrap();
    g.bench_function("generate + write 4000 showers", |b| {
        b.iter(|| {
            tt::write(
                dir.path().join("s.h5"),
                &cfg,
                1,
                n,
                &WriteOptions {
                    batch: 1000,
                    ..Default::default()
                },
                |_| {},
            )
            .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, emulsion, tpc, tt);
criterion_main!(benches);
