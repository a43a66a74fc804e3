//! Streaming-read throughput of NEWSdm files (the `docs/performance.md` I/O figures).
//!
//! Writes a processed file (N clusters of 9×40×40 float32) and a raw file (N of 9×80×80 uint8),
//! both chunked with shuffle + deflate as rareml-io writes them, then reads each back in batches
//! (hyperslab reads, channels-first conversion, NaN check) and prints MB/s of decoded image data.
//! Image content is emulsion-like (pedestal, noise, a few PSF-sized grains) so compression behaves
//! as on real crops.
//!
//! ```text
//! cargo run --release --example io_throughput -- [--clusters 20000] [--batch 256] [--dir DIR]
//! python3 benches/h5py_read.py DIR/processed.h5 DIR/raw.h5   # the same reads with h5py
//! ```

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use ndarray::{Array2, Array4};
use rareml::io::emulsion::{
    ClusterBatch, ClusterClass, EmulsionFile, EmulsionWriter, SetLayout, SetMeta,
};

/// Measure streaming-read throughput of NEWSdm files.
#[derive(Parser)]
#[command()]
struct Args {
    /// Clusters per file.
    #[arg(long, default_value_t = 20_000)]
    clusters: usize,
    /// Clusters per read.
    #[arg(long, default_value_t = 256)]
    batch: usize,
    /// Directory for the two files (default: a temporary directory, removed at the end).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Reuse the files already in --dir instead of writing them.
    #[arg(long)]
    reuse: bool,
    /// Read passes over each file (the first warms the page cache).
    #[arg(long, default_value_t = 3)]
    passes: usize,
}

/// Small deterministic generator (SplitMix64) so the example needs no RNG crate.
struct SplitMix(u64);

impl SplitMix {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Approximately normal (sum of 4 uniforms, variance 1/3 → scaled to 1).
    fn normal(&mut self) -> f64 {
        ((0..4).map(|_| self.next_f64()).sum::<f64>() - 2.0) * 3f64.sqrt()
    }
}

/// Emulsion-like crops `(b, 9, side, side)`: pedestal + noise (σ 2.5) + 1–3 Gaussian grains (σ 3 px)
/// whose brightness varies with the polariser angle; the 9th image copies the 1st.
fn crops(rng: &mut SplitMix, b: usize, side: usize, pedestal: f64) -> Array4<f32> {
    let mut a = Array4::<f32>::zeros((b, 9, side, side));
    for n in 0..b {
        let grains: Vec<(f64, f64, f64, f64)> = (0..1 + (rng.next_f64() * 3.0) as usize)
            .map(|_| {
                let c = side as f64 / 2.0;
                (
                    c + rng.normal() * 3.0,
                    c + rng.normal() * 3.0,
                    40.0 + 60.0 * rng.next_f64(),
                    rng.next_f64() * std::f64::consts::PI,
                )
            })
            .collect();
        for p in 0..8 {
            let theta = p as f64 * std::f64::consts::PI / 8.0;
            for y in 0..side {
                for x in 0..side {
                    let mut v = pedestal + 2.5 * rng.normal();
                    for &(gx, gy, b0, phi) in &grains {
                        let r2 = (x as f64 - gx).powi(2) + (y as f64 - gy).powi(2);
                        v += b0 * (1.0 + 0.5 * (2.0 * (theta - phi)).cos()) * (-r2 / 18.0).exp();
                    }
                    a[[n, p, y, x]] = ((v * 2.0).round() / 2.0).clamp(0.0, 255.0) as f32;
                }
            }
        }
        let first = a.slice(ndarray::s![n, 0, .., ..]).to_owned();
        a.slice_mut(ndarray::s![n, 8, .., ..]).assign(&first);
    }
    a
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    for (flag, v) in [
        ("--batch", args.batch),
        ("--clusters", args.clusters),
        ("--passes", args.passes),
    ] {
        if v == 0 {
            return Err(format!("{flag} 0: expected at least 1").into());
        }
    }
    let tmp = tempfile::tempdir()?;
    let dir = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    let processed = dir.join("processed.h5");
    let raw = dir.join("raw.h5");
    let mut rng = SplitMix(20261122);
    let meta = SetMeta {
        class: Some(ClusterClass::C30keV),
        ..SetMeta::default()
    };
    let n = args.clusters;

    let t = Instant::now();
    if !(args.reuse && processed.exists() && raw.exists()) {
        let w = EmulsionWriter::create(&processed)?;
        let mut s = w.set::<f32>("Carbon/30keV", SetLayout::CROPS, (9, 40, 40), &meta)?;
        let wr = EmulsionWriter::create(&raw)?;
        let mut sr = wr.set::<u8>("Carbon/30keV/raw", SetLayout::CROPS, (9, 80, 80), &meta)?;
        let mut done = 0;
        while done < n {
            let b = args.batch.min(n - done);
            let pol = Some(Array2::from_shape_fn((b, 13), |(i, j)| {
                ((done + i) * 13 + j) as i32
            }));
            let img = crops(&mut rng, b, 40, 0.0);
            s.append(&ClusterBatch::new(img, pol.clone(), None)?)?;
            let img = crops(&mut rng, b, 80, 24.0).mapv(|v| v as u8);
            sr.append(&ClusterBatch::new(img, pol, None)?)?;
            done += b;
        }
        w.finish()?;
        wr.finish()?;
        println!(
            "wrote {n} + {n} clusters in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }

    for (label, path, group, as_u8) in [
        (
            "processed 9x40x40 f32 -> f32",
            &processed,
            "Carbon/30keV",
            false,
        ),
        ("raw 9x80x80 u8 -> u8", &raw, "Carbon/30keV/raw", true),
        ("raw 9x80x80 u8 -> f32", &raw, "Carbon/30keV/raw", false),
    ] {
        let file_mb = std::fs::metadata(path)?.len() as f64 / 1e6;
        let set = EmulsionFile::open(path)?.set(group)?;
        let mut best = f64::INFINITY;
        let mut decoded = 0usize;
        for _ in 0..args.passes {
            let t = Instant::now();
            decoded = 0;
            if as_u8 {
                for b in set.batches::<u8>(args.batch) {
                    decoded += b?.images.len();
                }
            } else {
                for b in set.batches::<f32>(args.batch) {
                    decoded += b?.images.len() * 4;
                }
            }
            best = best.min(t.elapsed().as_secs_f64());
        }
        let stored = set.len()
            * set.polarisations()
            * set.height()
            * set.width()
            * if set.pixel_type() == "uint8" { 1 } else { 4 };
        println!(
            "{label:<30} file {file_mb:7.1} MB, stored data {:7.1} MB: best of {} passes {:.3} s = {:7.1} MB/s of stored data, {:7.1} MB/s decoded, {:8.0} clusters/s",
            stored as f64 / 1e6,
            args.passes,
            best,
            stored as f64 / 1e6 / best,
            decoded as f64 / 1e6 / best,
            set.len() as f64 / best
        );
    }
    Ok(())
}
