//! Physics metrics for rare-event searches, with scikit-learn's names and semantics where they exist.
//!
//! - [`scores`]: signal scores from network logits (softmax, sigmoid), ensemble means.
//! - [`roc`]: `roc_curve`, `roc_auc_score`, significance Ξ = εs/√εb (PandaX-III), working points
//!   (rejection at a signal efficiency, efficiency at a rejection) with Clopper–Pearson intervals;
//!   zero selected background is a lower limit, never infinity.
//! - [`multiclass`]: NEWSdm's selection — score = Σ signal-class probabilities, threshold chosen on
//!   validation, per-class efficiencies and reduction factors on test.
//! - [`intervals`]: Clopper–Pearson, Student-t quantiles, ensemble mean ± t·s/√K.
//! - [`regression`]: bias, RMSE, resolution, binned in truth, fits of σ_E/E = a/√E ⊕ b.
//! - [`histogram`](mod@histogram): fixed or quantile bins for plots.
//!
//! Inputs are slices, `Vec`s, arrays or ndarray 1-D views ([`Values`]) of f32 or f64 scores and of
//! binary labels (bool or integer 0/1). Degenerate input — empty, mismatched lengths, NaN, one class
//! only, constant scores, k > n — is an [`Error`], never a panic or a NaN.

#![warn(missing_docs)]

pub mod error;
pub mod histogram;
mod input;
pub mod intervals;
pub mod multiclass;
pub mod regression;
pub mod roc;
pub mod scores;

pub use error::{Error, Result};
pub use histogram::{histogram, quantile_sorted, Bins, Histogram};
pub use input::{BinaryLabel, Real, Values};
pub use intervals::{
    clopper_pearson, ensemble_interval, student_t_quantile, Efficiency, EnsembleInterval,
};
pub use multiclass::{per_class_selection, signal_score, threshold_for_efficiency, ClassSelection};
pub use regression::{
    binned_resolution, central_half_width, fit_resolution, regression_summary, RegressionSummary,
    ResolutionFit, ResolutionModel,
};
pub use roc::{
    choose_threshold, efficiency_at_rejection, rejection_at_efficiency, roc_auc_score, roc_curve,
    significance, upper_limit_zero, working_point, Bound, Criterion, Roc, Significance,
    WorkingPoint,
};
pub use scores::{ensemble_mean, sigmoid, signal_scores, softmax};
