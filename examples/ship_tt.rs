//! SHiP target tracker: SNDNet versus the N-hits and Gaussian-moment regressions.
//!
//! ```text
//! cargo run --release --example ship_tt -- --preset quick --out out/ship_tt
//! cargo run --release --example ship_tt -- --data my_showers.h5 --epochs 20
//! ```

mod common;

use clap::Parser;
use rareml::experiments::ship_tt;
use std::process::ExitCode;

/// mimalloc, with freed blocks of ≥ 256 KiB (candle's per-operation tensors) kept for reuse up to
/// 8 GiB instead of going back to the kernel (see `rareml::models::alloc`).
#[global_allocator]
static ALLOC: rareml::models::alloc::BlockCache<mimalloc::MiMalloc> =
    rareml::models::alloc::BlockCache::new(mimalloc::MiMalloc, 8 << 30);

/// SHiP TT: SNDNet regression of shower energy and vertex distance versus the classical regressions.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    common: common::Common,
}

fn main() -> ExitCode {
    let opts = Args::parse().common.options("ship_tt");
    common::finish(&opts, ship_tt::run(&opts))
}
