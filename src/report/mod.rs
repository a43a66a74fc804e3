//! Reports of the experiment pipelines: `report.json` (a typed, serialisable report),
//! `report.md` and `report.html` written atomically, markdown tables, number formatting, PNG plots
//! ([`plot`]), self-contained HTML pages ([`html`]) with an event browser ([`browser`]).

pub mod browser;
pub mod display;
pub mod html;
pub mod pictures;
pub mod plot;

use serde::Serialize;
use std::path::{Path, PathBuf};

/// A report or plot that cannot be written.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", .path.display())]
pub struct Error {
    /// The file or directory.
    pub path: PathBuf,
    /// What went wrong.
    pub reason: String,
}

/// Result with the module's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn file_err(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// A report an experiment writes: serialisable to `report.json`, rendered to `report.md`.
pub trait Report: Serialize {
    /// The markdown summary (the results table as the paper lays it out).
    fn markdown(&self) -> String;
    /// The headline network's working-point threshold on its signal score, chosen on validation
    /// (`None` for a regression).
    fn threshold(&self) -> Option<f64> {
        None
    }
    /// The PNG plots the report's run wrote into its directory: (file name, caption).
    fn plots(&self) -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }
    /// The title of its HTML page.
    fn title(&self) -> String;
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

/// Formats a number with `digits` decimals, or "—" when absent or not finite.
pub fn fmt(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.digits$}"),
        _ => "—".into(),
    }
}

/// Writes `report.json` and `report.md` of `report` into `dir` (created if needed), each through a
/// temporary file and a rename.
pub fn write_report<R: Report>(dir: &Path, report: &R) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| file_err(dir, e))?;
    let text = serde_json::to_string_pretty(report).map_err(|e| file_err(dir, e))?;
    atomic_write(&dir.join("report.json"), text.as_bytes())?;
    atomic_write(&dir.join("report.md"), report.markdown().as_bytes())
}

/// Writes `report.html` of `report` into `dir`: its markdown as HTML, its plots inlined and the
/// event browser.
pub fn write_html_report<R: Report>(
    dir: &Path,
    report: &R,
    browser: Option<&browser::Browser>,
) -> Result<()> {
    let plots: Vec<html::Plot> = report
        .plots()
        .into_iter()
        .map(|(file, caption)| html::Plot {
            path: dir.join(file),
            caption: caption.into(),
        })
        .collect();
    html::write_page(
        &dir.join("report.html"),
        &report.title(),
        &html::markdown_to_html(&report.markdown()),
        &plots,
        browser,
    )
}

/// Writes `bytes` to `path` through `path.tmp` and a rename, so a reader never sees a partial file.
pub(crate) fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    rareml_train::atomic(path, |tmp| {
        std::fs::write(tmp, bytes).map_err(|e| rareml_train::Error::File {
            path: tmp.to_path_buf(),
            reason: e.to_string(),
        })
    })
    .map_err(|e| file_err(path, e))
}

#[cfg(test)]
mod tests {
    use super::plot::{histogram_png, resolution_png, roc_png, RocSeries};
    use super::*;

    #[derive(Serialize)]
    struct Tiny {
        network: serde_json::Value,
    }

    impl Report for Tiny {
        fn title(&self) -> String {
            "tiny".into()
        }
        fn markdown(&self) -> String {
            markdown_table(&["a", "b"], &[vec!["1".into(), "2".into()]])
        }
    }

    #[test]
    fn reports_and_plots_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let r = Tiny {
            network: serde_json::json!({"x": 1}),
        };
        assert_eq!(r.markdown(), "| a | b |\n|---|---|\n| 1 | 2 |\n");
        write_report(dir.path(), &r).unwrap();
        let back: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
                .unwrap();
        assert_eq!(back["network"]["x"], 1);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("report.md")).unwrap(),
            r.markdown()
        );
        assert_eq!(fmt(Some(1.23456), 2), "1.23");
        assert_eq!(fmt(Some(f64::NAN), 2), "—");
        let p = dir.path().join("roc.png");
        let (fpr, tpr) = ([0.0, 0.001, 0.1, 1.0], [0.0, 0.3, 0.8, 1.0]);
        let curve = RocSeries {
            name: "net",
            fpr: &fpr,
            tpr: &tpr,
            working_point: Some((0.001, 0.3)),
        };
        roc_png(&p, "ROC", &[curve]).unwrap();
        let h = dir.path().join("h.png");
        histogram_png(
            &h,
            "scores",
            "score",
            &[("a", vec![0.1, 0.2, 0.9]), ("b", vec![0.5])],
            (0.0, 1.0),
            10,
            Some(0.5),
        )
        .unwrap();
        let res = dir.path().join("r.png");
        resolution_png(
            &res,
            "res",
            "E [GeV]",
            "σ",
            &[(
                "net",
                vec![(10.0, 0.2, 0.01), (50.0, 0.1, 0.01)],
                Some(vec![(10.0, 0.2, 0.02), (50.0, 0.1, 0.01)]),
            )],
        )
        .unwrap();
        for f in [p, h, res] {
            let b = std::fs::read(&f).unwrap();
            assert!(
                b.len() > 1000 && b[..8] == [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a],
                "{}",
                f.display()
            );
        }
        let missing = dir.path().join("no/such/dir/x.png");
        assert!(roc_png(&missing, "ROC", &[]).is_err());
    }
}
