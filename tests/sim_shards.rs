//! `simulate --shard I/N`: events are seeded by their index, so the shard files, read in order,
//! hold exactly the events of one unsharded run — for each detector.

use rareml::io::emulsion::EmulsionFile;
use rareml::io::tpc::TpcFile;
use rareml::io::tt::TtFile;
use rareml::io::Shard;
use rareml::sim::{emulsion, tpc, tt, WriteOptions};
use std::path::{Path, PathBuf};

/// Writes the whole run and its `count` shards with `write(path, first, n)`; returns the paths.
fn run_and_shards(
    dir: &Path,
    n: usize,
    count: usize,
    write: impl Fn(&Path, u64, usize),
) -> (PathBuf, Vec<PathBuf>) {
    let whole = dir.join("whole.h5");
    write(&whole, 0, n);
    let shards = (0..count)
        .map(|i| {
            let r = Shard::new(i, count).unwrap().range(n);
            let p = dir.join(format!("shard{i}.h5"));
            write(&p, r.start as u64, r.len());
            p
        })
        .collect();
    (whole, shards)
}

fn opts(first: u64) -> WriteOptions {
    WriteOptions {
        batch: 3,
        first,
        ..Default::default()
    }
}

#[test]
fn tt_and_tpc_shards_join_into_the_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    let (whole, shards) = run_and_shards(dir.path(), 11, 4, |p, first, n| {
        tt::write(p, &tt::TtConfig::default(), 7, n, &opts(first), |_| {}).unwrap()
    });
    let all = TtFile::open(&whole).unwrap().read(0..11).unwrap();
    let joined: Vec<_> = shards
        .iter()
        .flat_map(|p| {
            let f = TtFile::open(p).unwrap();
            f.read(0..f.len()).unwrap()
        })
        .collect();
    assert_eq!(joined, all);

    let dir = tempfile::tempdir().unwrap();
    let (whole, shards) = run_and_shards(dir.path(), 7, 3, |p, first, n| {
        tpc::write(
            p,
            &tpc::TpcConfig::default(),
            None,
            7,
            n,
            &opts(first),
            |_| {},
        )
        .unwrap()
    });
    let all = TpcFile::open(&whole).unwrap().read(0..7).unwrap();
    let joined: Vec<_> = shards
        .iter()
        .flat_map(|p| {
            let f = TpcFile::open(p).unwrap();
            f.read(0..f.len()).unwrap()
        })
        .collect();
    assert_eq!(joined, all, "events and their ids");
}

#[test]
fn emulsion_shards_join_into_the_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    let samples = [emulsion::Sample::Carbon(100), emulsion::Sample::Fog];
    let (whole, shards) = run_and_shards(dir.path(), 5, 2, |p, first, n| {
        emulsion::write(
            p,
            &emulsion::EmulsionConfig::default(),
            &samples,
            3,
            n,
            &opts(first),
            |_| {},
        )
        .unwrap()
    });
    let read = |p: &Path| -> Vec<_> {
        let f = EmulsionFile::open(p).unwrap();
        f.sets()
            .unwrap()
            .iter()
            .map(|s| s.read::<u8>(0..s.len()).unwrap())
            .collect()
    };
    let all = read(&whole);
    let parts: Vec<_> = shards.iter().map(|p| read(p)).collect();
    for (k, set) in all.iter().enumerate() {
        let images: Vec<u8> = parts
            .iter()
            .flat_map(|p| p[k].images.iter().copied().collect::<Vec<_>>())
            .collect();
        assert_eq!(
            images,
            set.images.iter().copied().collect::<Vec<_>>(),
            "set {k}"
        );
        let ids: Vec<i32> = parts
            .iter()
            .flat_map(|p| {
                p[k].pol_ids
                    .as_ref()
                    .unwrap()
                    .iter()
                    .copied()
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(
            ids,
            set.pol_ids
                .as_ref()
                .unwrap()
                .iter()
                .copied()
                .collect::<Vec<_>>()
        );
    }
}
