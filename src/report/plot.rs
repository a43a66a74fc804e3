//! PNG plots (plotters, with an embedded DejaVu Sans so they render on a machine without fonts):
//! ROC curves, score histograms with the threshold, resolution versus energy with its fit.

use super::{file_err, Result};
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::path::Path;
use std::sync::Once;

static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

fn font() {
    REGISTER.call_once(|| {
        // The font is a valid TTF shipped with the crate; registration cannot fail at run time.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

const COLORS: [RGBColor; 5] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
];

fn err(path: &Path) -> impl Fn(String) -> super::Error + '_ {
    move |e| file_err(path, format!("cannot draw the plot: {e}"))
}

/// ROC curves (background efficiency on x, signal efficiency on y), one per `(name, fpr, tpr)`.
pub fn roc_png(path: &Path, title: &str, curves: &[(&str, &[f64], &[f64])]) -> Result<()> {
    font();
    let root = BitMapBackend::new(path, (640, 520)).into_drawing_area();
    let e = err(path);
    root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..1f64, 0f64..1f64)
        .map_err(|x| e(x.to_string()))?;
    chart
        .configure_mesh()
        .x_desc("background efficiency")
        .y_desc("signal efficiency")
        .draw()
        .map_err(|x| e(x.to_string()))?;
    for (i, (name, fpr, tpr)) in curves.iter().enumerate() {
        let c = COLORS[i % COLORS.len()];
        chart
            .draw_series(LineSeries::new(
                fpr.iter().zip(tpr.iter()).map(|(&x, &y)| (x, y)),
                c.stroke_width(2),
            ))
            .map_err(|x| e(x.to_string()))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|x| e(x.to_string()))?;
    root.present().map_err(|x| e(x.to_string()))
}

/// Histograms of `values` per series over [lo, hi] in `bins` bins, normalised to unit area, with
/// a vertical line at `threshold`.
pub fn histogram_png(
    path: &Path,
    title: &str,
    xlabel: &str,
    series: &[(&str, Vec<f64>)],
    range: (f64, f64),
    bins: usize,
    threshold: Option<f64>,
) -> Result<()> {
    font();
    let e = err(path);
    let (lo, hi) = range;
    let width = (hi - lo) / bins as f64;
    let hists: Vec<Vec<f64>> = series
        .iter()
        .map(|(_, v)| {
            let mut h = vec![0.0; bins];
            for &x in v {
                if x.is_finite() {
                    let b = (((x - lo) / width).floor().max(0.0) as usize).min(bins - 1);
                    h[b] += 1.0;
                }
            }
            let n = v.len().max(1) as f64 * width;
            h.iter().map(|c| c / n).collect()
        })
        .collect();
    let ymax = hists
        .iter()
        .flatten()
        .fold(0f64, |a, &b| a.max(b))
        .max(1e-9)
        * 1.1;
    let root = BitMapBackend::new(path, (640, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(lo..hi, 0f64..ymax)
        .map_err(|x| e(x.to_string()))?;
    chart
        .configure_mesh()
        .x_desc(xlabel)
        .y_desc("density")
        .draw()
        .map_err(|x| e(x.to_string()))?;
    for (i, ((name, _), h)) in series.iter().zip(&hists).enumerate() {
        let c = COLORS[i % COLORS.len()];
        let pts: Vec<(f64, f64)> = h
            .iter()
            .enumerate()
            .flat_map(|(b, &v)| [(lo + b as f64 * width, v), (lo + (b + 1) as f64 * width, v)])
            .collect();
        chart
            .draw_series(LineSeries::new(pts, c.stroke_width(2)))
            .map_err(|x| e(x.to_string()))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
    }
    if let Some(t) = threshold {
        chart
            .draw_series(LineSeries::new(
                vec![(t, 0.0), (t, ymax)],
                BLACK.stroke_width(1),
            ))
            .map_err(|x| e(x.to_string()))?
            .label("threshold");
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|x| e(x.to_string()))?;
    root.present().map_err(|x| e(x.to_string()))
}

/// One series of a resolution plot: name, points (x, y, error), optional fitted curve (x, y).
pub type ResolutionSeries<'a> = (&'a str, Vec<(f64, f64, f64)>, Option<Vec<(f64, f64)>>);

/// Points (x, y, error) per series with an optional fitted curve per series.
pub fn resolution_png(
    path: &Path,
    title: &str,
    xlabel: &str,
    ylabel: &str,
    series: &[ResolutionSeries<'_>],
) -> Result<()> {
    font();
    let e = err(path);
    let pts = series.iter().flat_map(|s| s.1.iter());
    let (mut x0, mut x1, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, 0f64);
    for &(x, y, dy) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y1 = y1.max(y + dy);
    }
    if !x0.is_finite() {
        (x0, x1) = (0.0, 1.0);
    }
    let root = BitMapBackend::new(path, (640, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
    let pad = 0.05 * (x1 - x0).max(1e-9);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((x0 - pad)..(x1 + pad), 0f64..(y1 * 1.15).max(1e-9))
        .map_err(|x| e(x.to_string()))?;
    chart
        .configure_mesh()
        .x_desc(xlabel)
        .y_desc(ylabel)
        .draw()
        .map_err(|x| e(x.to_string()))?;
    for (i, (name, p, fit)) in series.iter().enumerate() {
        let c = COLORS[i % COLORS.len()];
        chart
            .draw_series(
                p.iter()
                    .map(|&(x, y, _)| Circle::new((x, y), 4, c.filled())),
            )
            .map_err(|x| e(x.to_string()))?
            .label(*name)
            .legend(move |(x, y)| Circle::new((x + 10, y), 4, c.filled()));
        chart
            .draw_series(
                p.iter()
                    .map(|&(x, y, dy)| PathElement::new(vec![(x, y - dy), (x, y + dy)], c)),
            )
            .map_err(|x| e(x.to_string()))?;
        if let Some(f) = fit {
            chart
                .draw_series(LineSeries::new(f.clone(), c.stroke_width(1)))
                .map_err(|x| e(x.to_string()))?;
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|x| e(x.to_string()))?;
    root.present().map_err(|x| e(x.to_string()))
}
