//! Histograms for plots: score distributions per class, resolution versus energy. Fixed-width,
//! quantile or explicit bins; numpy's convention (bins half-open [lo, hi), the last one closed).

use serde::Serialize;

use crate::error::{Error, Result};
use crate::input::{finite_f64, Real, Values};

/// How to choose bin edges.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Bins {
    /// `n` equal bins from `lo` to `hi`.
    Fixed {
        /// Number of bins.
        n: usize,
        /// Lower edge.
        lo: f64,
        /// Upper edge.
        hi: f64,
    },
    /// `n` bins holding equal fractions of the values (edges at the quantiles, numpy's linear
    /// interpolation); the first and last edges are the minimum and maximum.
    Quantile(usize),
    /// Explicit increasing edges.
    Edges(Vec<f64>),
}

/// Counts per bin.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Histogram {
    /// Bin edges (bins + 1).
    pub edges: Vec<f64>,
    /// Counts per bin.
    pub counts: Vec<u64>,
    /// Values below the first edge.
    pub underflow: u64,
    /// Values above the last edge.
    pub overflow: u64,
}

pub(crate) fn check_edges(edges: &[f64]) -> Result<()> {
    if edges.len() < 2 {
        return Err(Error::InvalidArgument {
            what: "bin edges",
            reason: format!("{} edge(s): at least 2 needed", edges.len()),
        });
    }
    if let Some(i) = edges
        .windows(2)
        .position(|w| w[0].partial_cmp(&w[1]) != Some(std::cmp::Ordering::Less))
    {
        return Err(Error::InvalidArgument {
            what: "bin edges",
            reason: format!(
                "edges[{i}] = {} and edges[{}] = {} are not strictly increasing",
                edges[i],
                i + 1,
                edges[i + 1]
            ),
        });
    }
    Ok(())
}

/// Bin of `x`: `Ok(bin)`, or `Err(false)` below / `Err(true)` above the edges.
pub(crate) fn bin_index(edges: &[f64], x: f64) -> std::result::Result<usize, bool> {
    let last = edges.len() - 1;
    if x < edges[0] {
        return Err(false);
    }
    if x > edges[last] {
        return Err(true);
    }
    if x == edges[last] {
        return Ok(last - 1);
    }
    Ok(edges.partition_point(|&e| e <= x) - 1)
}

/// Quantile `q` ∈ [0, 1] of values sorted in increasing order, with numpy's default (linear)
/// interpolation; NaN for an empty slice.
///
/// # Examples
///
/// ```
/// // numpy.quantile's default (linear) interpolation.
/// assert_eq!(rareml_metrics::quantile_sorted(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.5);
/// assert!(rareml_metrics::quantile_sorted(&[], 0.5).is_nan());
/// ```
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let i = pos.floor() as usize;
    let frac = pos - i as f64;
    if i + 1 < sorted.len() {
        sorted[i] + frac * (sorted[i + 1] - sorted[i])
    } else {
        sorted[i]
    }
}

/// Histogram of `values` (errors on NaN or infinite values, empty input, bad bins, and quantile bins
/// whose edges coincide because too many values are equal).
///
/// # Examples
///
/// ```
/// use rareml_metrics::{histogram, Bins};
/// let h = histogram(&[0.1, 0.5, 0.9, 1.0, 1.5], &Bins::Fixed { n: 2, lo: 0.0, hi: 1.0 }).unwrap();
/// // numpy's convention: the last bin includes its upper edge.
/// assert_eq!((h.counts.clone(), h.overflow), (vec![1, 3], 1));
/// ```
pub fn histogram<S: Real, V: Values<S> + ?Sized>(values: &V, bins: &Bins) -> Result<Histogram> {
    let v = finite_f64("values", &values.values())?;
    if v.is_empty() {
        return Err(Error::Empty { what: "values" });
    }
    let edges = match bins {
        Bins::Fixed { n, lo, hi } => {
            if *n == 0 || lo >= hi || !lo.is_finite() || !hi.is_finite() {
                return Err(Error::InvalidArgument {
                    what: "fixed bins",
                    reason: format!("{n} bins from {lo} to {hi}"),
                });
            }
            (0..=*n)
                .map(|i| {
                    if i == *n {
                        *hi
                    } else {
                        lo + (hi - lo) * i as f64 / *n as f64
                    }
                })
                .collect()
        }
        Bins::Quantile(n) => {
            if *n == 0 {
                return Err(Error::InvalidArgument {
                    what: "quantile bins",
                    reason: "0 bins".into(),
                });
            }
            let mut sorted = v.clone();
            sorted.sort_unstable_by(|a, b| a.total_cmp(b));
            (0..=*n)
                .map(|i| quantile_sorted(&sorted, i as f64 / *n as f64))
                .collect::<Vec<f64>>()
        }
        Bins::Edges(e) => e.clone(),
    };
    check_edges(&edges)?;
    let mut counts = vec![0u64; edges.len() - 1];
    let (mut underflow, mut overflow) = (0, 0);
    for x in v {
        match bin_index(&edges, x) {
            Ok(b) => counts[b] += 1,
            Err(false) => underflow += 1,
            Err(true) => overflow += 1,
        }
    }
    Ok(Histogram {
        edges,
        counts,
        underflow,
        overflow,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_convention() {
        let h = histogram(
            &[0.0, 0.5, 1.0, 1.0, 2.0, -1.0, 3.0],
            &Bins::Fixed {
                n: 2,
                lo: 0.0,
                hi: 2.0,
            },
        )
        .unwrap();
        assert_eq!(
            h.counts,
            vec![2, 3],
            "1.0 goes right, 2.0 into the closed last bin"
        );
        assert_eq!((h.underflow, h.overflow), (1, 1));
    }

    #[test]
    fn quantile_bins_hold_equal_counts() {
        let v: Vec<f64> = (0..100).map(|i| (i as f64).powi(2)).collect();
        let h = histogram(&v, &Bins::Quantile(4)).unwrap();
        assert_eq!(h.counts, vec![25, 25, 25, 25]);
        assert_eq!(h.edges[0], 0.0);
        assert_eq!(h.edges[4], 99.0 * 99.0);
        assert!(
            histogram(&[1.0, 1.0, 1.0], &Bins::Quantile(2)).is_err(),
            "coinciding edges"
        );
        assert!(histogram(&[1.0, f64::NAN], &Bins::Quantile(2)).is_err());
        assert!(histogram(&[] as &[f64], &Bins::Quantile(2)).is_err());
        assert!(histogram(&[1.0], &Bins::Edges(vec![1.0, 0.0])).is_err());
    }
}
