//! The error type of `rareml-metrics`.

/// Why a metric cannot be computed from the given input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// No items at all.
    #[error("{what}: empty input")]
    Empty {
        /// The argument or quantity.
        what: &'static str,
    },
    /// Two inputs that must pair up element by element have different lengths.
    #[error("length mismatch: {left_name} has {left} entries, {right_name} has {right}")]
    LengthMismatch {
        /// First argument's name.
        left_name: &'static str,
        /// Its length.
        left: usize,
        /// Second argument's name.
        right_name: &'static str,
        /// Its length.
        right: usize,
    },
    /// Labels of only one class: signal efficiency or background rate is undefined.
    #[error(
        "only one class present: {n_pos} signal and {n_neg} background items (both are needed)"
    )]
    OneClass {
        /// Positive (signal) items.
        n_pos: usize,
        /// Negative (background) items.
        n_neg: usize,
    },
    /// Every score has the same value: the classifier carries no information.
    #[error("all {n} scores equal {value}: a constant score separates nothing (collapsed model?)")]
    ConstantScores {
        /// Number of scores.
        n: usize,
        /// The common value.
        value: f64,
    },
    /// A NaN or infinite value where a finite number is required.
    #[error("{what}[{index}] = {value}: expected a finite number")]
    NonFinite {
        /// The argument.
        what: &'static str,
        /// Position of the first offending value.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A label that is not 0/1 (or false/true).
    #[error("y_true[{index}] = {value}: expected a binary label 0 or 1")]
    BadLabel {
        /// Position.
        index: usize,
        /// The value as text.
        value: String,
    },
    /// A parameter outside its domain (confidence level, k > n, target efficiency, bins, ...).
    #[error("invalid {what}: {reason}")]
    InvalidArgument {
        /// The parameter.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// No working point satisfies the request (e.g. no threshold reaches the target rejection).
    #[error("no working point: {0}")]
    Unreachable(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn check_same_len(
    left_name: &'static str,
    left: usize,
    right_name: &'static str,
    right: usize,
) -> Result<()> {
    if left == right {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            left_name,
            left,
            right_name,
            right,
        })
    }
}

pub(crate) fn check_cl(cl: f64) -> Result<()> {
    if cl > 0.0 && cl < 1.0 {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            what: "confidence level",
            reason: format!("{cl}: expected 0 < cl < 1"),
        })
    }
}
