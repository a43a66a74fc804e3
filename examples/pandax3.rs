//! PandaX-III: EfficientNet on XZ/YZ images versus the Bragg-blob cut (Ξ = εs/√εb).
//!
//! ```text
//! cargo run --release --example pandax3 -- --preset quick --out out/pandax3
//! cargo run --release --example pandax3 -- --data my_events.h5 --sweep 2,4,8,16,full
//! ```

mod common;

use clap::Parser;
use rareml::experiments::pandax3;
use std::process::ExitCode;

/// mimalloc, with freed blocks of ≥ 256 KiB (candle's per-operation tensors) kept for reuse up to
/// 8 GiB instead of going back to the kernel (see `rareml::models::alloc`).
#[global_allocator]
static ALLOC: rareml::models::alloc::BlockCache<mimalloc::MiMalloc> =
    rareml::models::alloc::BlockCache::new(mimalloc::MiMalloc, 8 << 30);

/// PandaX-III: EfficientNet versus the Bragg-blob topology cut, figure of merit εs/√εb.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    common: common::Common,
    /// TopConv widths to sweep, e.g. 2,4,8,16,full (default: none in quick, these five in paper).
    #[arg(long, value_delimiter = ',', value_parser = parse_width)]
    sweep: Option<Vec<Option<usize>>>,
}

/// A TopConv width: a number, or `full` for torchvision's default.
fn parse_width(s: &str) -> Result<Option<usize>, String> {
    if s == "full" {
        Ok(None)
    } else {
        s.parse()
            .map(Some)
            .map_err(|e| format!("{s:?}: a number or `full` ({e})"))
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let opts = args.common.options("pandax3");
    common::finish(&opts, pandax3::run(&opts, args.sweep))
}
