//! What the metrics accept: slices, `Vec`s, arrays and ndarray 1-D views of f32 or f64 scores and
//! of binary labels (bool or integers 0/1).

use std::borrow::Cow;

use ndarray::{ArrayBase, Data, Ix1};

use crate::error::{Error, Result};

/// A 1-D sequence of values, borrowed when contiguous.
pub trait Values<T: Clone> {
    /// The values in order.
    fn values(&self) -> Cow<'_, [T]>;
}

impl<T: Clone> Values<T> for [T] {
    fn values(&self) -> Cow<'_, [T]> {
        Cow::Borrowed(self)
    }
}

impl<T: Clone> Values<T> for Vec<T> {
    fn values(&self) -> Cow<'_, [T]> {
        Cow::Borrowed(self.as_slice())
    }
}

impl<T: Clone, const N: usize> Values<T> for [T; N] {
    fn values(&self) -> Cow<'_, [T]> {
        Cow::Borrowed(self.as_slice())
    }
}

impl<T: Clone, S: Data<Elem = T>> Values<T> for ArrayBase<S, Ix1> {
    fn values(&self) -> Cow<'_, [T]> {
        match self.as_slice() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(self.iter().cloned().collect()),
        }
    }
}

/// A real-valued score or measurement (f32 or f64).
pub trait Real: Copy + Send + Sync + PartialOrd + std::fmt::Debug {
    /// The value as f64 (exact for f32).
    fn to_f64(self) -> f64;
}

impl Real for f32 {
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl Real for f64 {
    fn to_f64(self) -> f64 {
        self
    }
}

/// A binary label: `true`/1 = signal (positive), `false`/0 = background.
pub trait BinaryLabel: Copy + Send + Sync + std::fmt::Debug {
    /// `Some(true)` for signal, `Some(false)` for background, `None` for anything else.
    fn is_signal(self) -> Option<bool>;
}

impl BinaryLabel for bool {
    fn is_signal(self) -> Option<bool> {
        Some(self)
    }
}

macro_rules! int_label {
    ($($t:ty),*) => {$(
        impl BinaryLabel for $t {
            fn is_signal(self) -> Option<bool> {
                match self {
                    0 => Some(false),
                    1 => Some(true),
                    _ => None,
                }
            }
        }
    )*};
}
int_label!(u8, i8, i32, u32, i64, u64, usize);

/// Checks every value is finite and returns them as f64.
pub(crate) fn finite_f64<S: Real>(what: &'static str, v: &[S]) -> Result<Vec<f64>> {
    let mut out = Vec::with_capacity(v.len());
    for (index, &s) in v.iter().enumerate() {
        let x = s.to_f64();
        if !x.is_finite() {
            return Err(Error::NonFinite {
                what,
                index,
                value: x,
            });
        }
        out.push(x);
    }
    Ok(out)
}

/// Converts labels to bools, with a clear error for anything but 0/1.
pub(crate) fn labels<L: BinaryLabel>(v: &[L]) -> Result<Vec<bool>> {
    v.iter()
        .enumerate()
        .map(|(index, &l)| {
            l.is_signal().ok_or_else(|| Error::BadLabel {
                index,
                value: format!("{l:?}"),
            })
        })
        .collect()
}
