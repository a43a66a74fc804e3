//! `rareml._rareml`: the extension module under the Python package `rareml` (see `python/rareml`).
//!
//! A thin layer over the Rust crates: arrays cross as numpy arrays (borrowed where the layout
//! allows), long calls release the GIL and look for Ctrl-C between batches, Rust errors become the
//! `rareml.errors` classes (each also a subclass of the natural built-in exception), and a panic is
//! caught at this boundary and raised as `rareml.errors.InternalError`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::prelude::*;

/// The allocator of the examples (see `examples/tuning`): candle allocates a fresh buffer per
/// operation, and reusing freed large blocks instead of faulting in fresh pages is what lets
/// `predict` run at the `throughput` example's speed. Rust allocations of the extension only;
/// Python's and numpy's own memory is untouched.
#[global_allocator]
static ALLOC: rareml_kernels::alloc::BlockCache<mimalloc::MiMalloc> =
    rareml_kernels::alloc::BlockCache::new(mimalloc::MiMalloc, 8 << 30);

mod baselines;
mod config;
mod errors;
mod experiments;
mod io;
mod metrics;
mod models;
mod preprocess;
mod sim;
mod writers;

pub(crate) use errors::{Kind, PyResultExt};

/// Runs `f` without the GIL, turning a panic into `InternalError`.
pub(crate) fn detached<T: Send>(
    py: Python<'_>,
    what: &str,
    f: impl FnOnce() -> PyResult<T> + Send,
) -> PyResult<T> {
    let out = py.detach(|| catch_unwind(AssertUnwindSafe(f)));
    match out {
        Ok(r) => r,
        Err(payload) => match payload.downcast::<Interrupted>() {
            Ok(i) => Err(i.0),
            Err(payload) => Err(errors::panic_error(what, payload)),
        },
    }
}

/// The signal handler's exception, carried out of a Rust callback by unwinding (see
/// [`poll_signals`]) and raised by [`detached`].
struct Interrupted(PyErr);

/// For progress callbacks inside [`detached`] (on the Python main thread): when Ctrl-C arrived,
/// unwinds out of the Rust call (its files closed by their destructors) and `detached` raises
/// `KeyboardInterrupt`. Unwinds without the panic hook, so nothing is printed.
pub(crate) fn poll_signals() {
    if let Err(e) = check_signals() {
        std::panic::resume_unwind(Box::new(Interrupted(e)));
    }
}

/// Raises `KeyboardInterrupt` (or whatever a signal handler raised) when Ctrl-C arrived: called
/// between batches of a long call, so it answers within one batch.
pub(crate) fn check_signals() -> PyResult<()> {
    Python::attach(|py| py.check_signals())
}

#[pymodule]
fn _rareml(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // candle's worker pool parks at once instead of spinning (as the examples set it): rareml's
    // kernels run on rayon's threads. Set before candle's pool starts; the user's value wins.
    const SPIN: &str = "CANDLE_BARRIER_POOL_SPIN_LIMIT";
    if std::env::var_os(SPIN).is_none() {
        std::env::set_var(SPIN, "0");
    }
    io::register(m)?;
    metrics::register(m)?;
    models::register(m)?;
    sim::register(m)?;
    preprocess::register(m)?;
    baselines::register(m)?;
    experiments::register(m)?;
    writers::register(m)?;
    Ok(())
}
