//! A process-wide request to stop training and evaluation early (Ctrl-C from a host such as the
//! Python bindings, which sees the signal on another thread): the training loop and `predict`
//! look at it between batches and return [`Error::Interrupted`](crate::Error::Interrupted).
//! Checkpoints already written stay, so a rerun resumes.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Asks running training and evaluation loops to stop at their next batch.
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Withdraws a request (before starting new work).
pub fn reset() {
    REQUESTED.store(false, Ordering::SeqCst);
}

/// True when a stop has been requested.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// `Err(Interrupted)` when a stop has been requested.
pub(crate) fn check() -> crate::Result<()> {
    if requested() {
        Err(crate::Error::Interrupted)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request is seen by `check` until reset.
    #[test]
    fn request_then_reset() {
        reset();
        assert!(check().is_ok());
        request();
        assert!(matches!(check(), Err(crate::Error::Interrupted)));
        reset();
        assert!(check().is_ok());
    }
}
