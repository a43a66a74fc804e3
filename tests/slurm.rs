//! A trained run applied through a real Slurm job array (`scripts/slurm/run-sharded`, 3 shards and
//! a dependent merge job): the merged scores equal the unsharded run's, and a shard whose events
//! are damaged makes the whole submission fail, naming the shard.
//!
//! Needs a Slurm cluster: `.ci/run` starts a single-node one (`scripts/slurm/local-cluster start`)
//! and runs this test with `RAREML_SLURM=1`; without that variable the test says so and passes.

use rareml::experiments::predict::{predict, PredictOptions};
use rareml::experiments::{ship_tt, Options, Preset};
use rareml::io::scores::ScoresFile;
use rareml::io::Shard;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The predict example built beside this test (`target/<profile>/examples/predict`).
fn predict_example() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let p = profile_dir.join("examples").join("predict");
    assert!(
        p.exists(),
        "{} missing: cargo test builds the examples",
        p.display()
    );
    p
}

fn run_sharded(args: &[&str]) -> std::process::Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/slurm/run-sharded");
    Command::new("bash")
        .arg(script)
        .args(args)
        .output()
        .unwrap()
}

fn rows(path: &Path) -> rareml::io::scores::ScoreRows {
    let f = ScoresFile::open(path).unwrap();
    f.read(0..f.len()).unwrap()
}

#[test]
fn a_three_shard_job_array_merges_into_the_unsharded_scores() {
    if std::env::var("RAREML_SLURM").as_deref() != Ok("1") {
        eprintln!("skipped: set RAREML_SLURM=1 with a Slurm cluster up (scripts/slurm/local-cluster start)");
        return;
    }
    // Job scripts run as other processes on this machine: everything on a path they can read.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("showers.h5");
    rareml::sim::tt::write(
        &data,
        &Default::default(),
        8,
        300,
        &Default::default(),
        |_| {},
    )
    .unwrap();
    let run = dir.path().join("run");
    let settings = ship_tt::Settings {
        events: 300,
        epochs: 1,
        networks: vec![ship_tt::ShipNetwork::CoordConvHuber],
        boosting: false,
        ..ship_tt::Settings::preset(Preset::Quick)
    };
    let options = Options {
        data: Some(data.clone()),
        progress: false,
        ..Options::new(&run)
    };
    ship_tt::run(&options, &settings).unwrap();
    let whole = dir.path().join("whole.h5");
    predict(&PredictOptions {
        run: run.clone(),
        data: data.clone(),
        out: whole.clone(),
        shard: Shard::ALL,
        batch: None,
        device: "cpu".into(),
        progress: false,
    })
    .unwrap();

    let bin = predict_example();
    let merged = dir.path().join("merged.h5");
    let (r, d, m) = (
        run.to_str().unwrap(),
        data.to_str().unwrap(),
        merged.to_str().unwrap(),
    );
    let out = run_sharded(&[
        "--shards",
        "3",
        "--predict",
        bin.to_str().unwrap(),
        "--",
        "--run",
        r,
        "--data",
        d,
        "--out",
        m,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "run-sharded failed:\n{stderr}");
    // Compared as text: the rows set aside by the selection hold NaN, which equals nothing.
    assert_eq!(
        format!("{:?}", rows(&merged)),
        format!("{:?}", rows(&whole)),
        "merged shards equal the unsharded run"
    );
    assert_eq!(ScoresFile::open(&merged).unwrap().meta().shard, "merged");

    // A NaN hit coordinate in event 150 (shard 1 of 3 holds events 100..200): that shard fails.
    let damaged = dir.path().join("damaged.h5");
    std::fs::copy(&data, &damaged).unwrap();
    {
        let f = hdf5::File::open_rw(&damaged).unwrap();
        let offsets = f
            .dataset("events/offsets")
            .unwrap()
            .read_raw::<i64>()
            .unwrap();
        let event = (150..200)
            .find(|&e| offsets[e + 1] > offsets[e])
            .expect("an event with hits");
        let x = f.dataset("hits/x_cm").unwrap();
        let mut values = x.read_raw::<f32>().unwrap();
        values[offsets[event] as usize] = f32::NAN;
        x.write_raw(&values).unwrap();
    }
    let bad = dir.path().join("bad.h5");
    let out = run_sharded(&[
        "--shards",
        "3",
        "--predict",
        bin.to_str().unwrap(),
        "--",
        "--run",
        r,
        "--data",
        damaged.to_str().unwrap(),
        "--out",
        bad.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a damaged shard must fail the submission:\n{stderr}"
    );
    assert!(
        stderr.contains("shard 1/3"),
        "names the failed shard:\n{stderr}"
    );
    assert!(
        !stderr.contains("shard 0/3") && !stderr.contains("shard 2/3"),
        "{stderr}"
    );
    assert!(!bad.exists(), "nothing merged");
}
