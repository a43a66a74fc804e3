//! Process set-up of the examples that run networks.
//!
//! - The global allocator: mimalloc, with rareml's [`BlockCache`] in front of it for blocks of
//!   ≥ 256 KiB (candle allocates a fresh tensor per operation) and mimalloc's purging of freed
//!   pages turned off, so a training step reuses memory instead of faulting in and clearing fresh
//!   pages (measured with `perf`: 10–30 % of a NEWSnet training step in the kernel's
//!   `clear_page_erms` without them).
//! - candle's own worker pool parks at once after a job instead of spinning (its default spins
//!   25,000 times): rareml's kernels run on rayon's threads, and on a 2-core machine the spinning
//!   worker took ~10 % of an EfficientNet training step from them (`perf`).

use rareml::kernels::alloc::BlockCache;

#[global_allocator]
static ALLOC: BlockCache<mimalloc::MiMalloc> = BlockCache::new(mimalloc::MiMalloc, 8 << 30);

extern "C" {
    /// mimalloc's `mi_option_set` (exported by the static library that the `mimalloc` crate
    /// links; the crate declares it only behind its `extended` feature).
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// `mi_option_purge_delay` in `mi_option_t` (position 15 in both the v2 and v3 `mimalloc.h`
/// shipped with libmimalloc-sys 0.1.49); -1 = never purge.
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// Keeps the pages mimalloc frees mapped (the same as `MIMALLOC_PURGE_DELAY=-1`) and sets
/// `CANDLE_BARRIER_POOL_SPIN_LIMIT=0` unless the environment sets it; call first in `main`,
/// before any thread starts.
pub fn setup() {
    // SAFETY: mi_option_set only stores the value; the option index is the header's.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
    const SPIN: &str = "CANDLE_BARRIER_POOL_SPIN_LIMIT";
    if std::env::var_os(SPIN).is_none() {
        std::env::set_var(SPIN, "0");
    }
}
