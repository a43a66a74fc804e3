//! Evaluation: scores from network outputs, a threshold chosen on validation and applied on
//! test, ensembles with a Student-t interval, and the JSON + markdown report.

use crate::error::{file_err, Error, Result};
use crate::trainer::atomic;
use rareml_metrics::roc::roc_curve;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Softmax of each row.
pub fn softmax_rows(out: &[Vec<f32>]) -> Vec<Vec<f64>> {
    out.iter()
        .map(|r| {
            let m = r.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
            let e: Vec<f64> = r.iter().map(|&v| (v as f64 - m).exp()).collect();
            let s: f64 = e.iter().sum();
            e.into_iter().map(|v| v / s).collect()
        })
        .collect()
}

/// Probability of "signal" for each event: Σ of the first `signal_classes` softmax outputs
/// (multi-class) or the sigmoid of a single logit (`signal_classes` ignored).
pub fn signal_scores(out: &[Vec<f32>], signal_classes: usize) -> Vec<f64> {
    if out.first().is_some_and(|r| r.len() == 1) {
        return out
            .iter()
            .map(|r| 1.0 / (1.0 + (-(r[0] as f64)).exp()))
            .collect();
    }
    softmax_rows(out)
        .into_iter()
        .map(|p| p[..signal_classes].iter().sum())
        .collect()
}

/// How the working point is chosen on the validation set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Criterion {
    /// The highest threshold keeping at least this signal efficiency.
    Efficiency(f64),
    /// The threshold of maximum Ξ = εs/√εb.
    MaxSignificance,
}

/// Efficiencies of a threshold (selected: score ≥ threshold).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WorkingPoint {
    /// The threshold.
    pub threshold: f64,
    /// Signal efficiency εs.
    pub signal_efficiency: f64,
    /// Background efficiency εb.
    pub background_efficiency: f64,
    /// Background reduction factor 1/εb (`null` in JSON when no background passes).
    pub reduction_factor: Option<f64>,
    /// Ξ = εs/√εb (`null` when no background passes).
    pub significance: Option<f64>,
}

/// The working point of `threshold` on (scores, is_signal).
pub fn at_threshold(scores: &[f64], is_signal: &[bool], threshold: f64) -> Result<WorkingPoint> {
    let ns = is_signal.iter().filter(|&&s| s).count();
    let nb = is_signal.len() - ns;
    if ns == 0 || nb == 0 || scores.len() != is_signal.len() {
        return Err(Error::Data(format!(
            "{ns} signal and {nb} background events ({} scores): both classes are needed",
            scores.len()
        )));
    }
    let (mut ks, mut kb) = (0usize, 0usize);
    for (&s, &y) in scores.iter().zip(is_signal) {
        if s >= threshold {
            if y {
                ks += 1
            } else {
                kb += 1
            }
        }
    }
    let es = ks as f64 / ns as f64;
    let eb = kb as f64 / nb as f64;
    Ok(WorkingPoint {
        threshold,
        signal_efficiency: es,
        background_efficiency: eb,
        reduction_factor: (eb > 0.0).then(|| 1.0 / eb),
        significance: (eb > 0.0).then(|| es / eb.sqrt()),
    })
}

/// The threshold `criterion` picks on (scores, is_signal).
pub fn choose_threshold(scores: &[f64], is_signal: &[bool], criterion: Criterion) -> Result<f64> {
    match criterion {
        Criterion::Efficiency(e) => Ok(rareml_metrics::multiclass::threshold_for_efficiency(
            is_signal, scores, e,
        )?),
        Criterion::MaxSignificance => {
            let roc = roc_curve(is_signal, scores, false)?;
            Ok(roc.significance().threshold)
        }
    }
}

/// A markdown table.
pub fn markdown_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = format!(
        "| {} |\n|{}\n",
        headers.join(" | "),
        "---|".repeat(headers.len())
    );
    for r in rows {
        s.push_str(&format!("| {} |\n", r.join(" | ")));
    }
    s
}

/// Writes `report.json` and `report.md` into `dir` (atomically).
pub fn write_report(dir: &Path, json: &serde_json::Value, markdown: &str) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| file_err(dir, e))?;
    let text = serde_json::to_string_pretty(json).map_err(|e| file_err(dir, e))?;
    atomic(&dir.join("report.json"), |p| {
        std::fs::write(p, &text).map_err(|e| file_err(p, e))
    })?;
    atomic(&dir.join("report.md"), |p| {
        std::fs::write(p, markdown).map_err(|e| file_err(p, e))
    })
}

/// Formats a number with `digits` significant decimals, or "—" when absent or not finite.
pub fn fmt(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.digits$}"),
        _ => "—".into(),
    }
}
