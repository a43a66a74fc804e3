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

const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

fn err(path: &Path) -> impl Fn(String) -> super::Error + '_ {
    move |e| file_err(path, format!("cannot draw the plot: {e}"))
}

/// One ROC curve: its name, background efficiencies (x), signal efficiencies (y) and the working
/// point `(εb, εs)` marked on it.
pub struct RocSeries<'a> {
    /// Legend name.
    pub name: &'a str,
    /// Background efficiency of each threshold.
    pub fpr: &'a [f64],
    /// Signal efficiency of each threshold.
    pub tpr: &'a [f64],
    /// The working point (εb, εs), drawn as a filled circle.
    pub working_point: Option<(f64, f64)>,
}

/// Lower end of the log background-efficiency axis: a power of ten at or below half the smallest
/// non-zero εb of the curves and working points (10⁻⁵ at least), 10⁻³ when there is none.
fn log_floor(curves: &[RocSeries<'_>]) -> f64 {
    let min = curves
        .iter()
        .flat_map(|c| c.fpr.iter().copied().chain(c.working_point.map(|w| w.0)))
        .filter(|&x| x > 0.0 && x.is_finite())
        .fold(f64::INFINITY, f64::min);
    if !min.is_finite() {
        return 1e-3;
    }
    10f64.powf((min / 2.0).max(1e-5).log10().floor())
}

/// ROC curves as the NEWSdm paper draws them (its Fig. 6): background efficiency on a log x axis
/// (the points at εb = 0 drawn at the axis' left end), signal efficiency on y, the working point of
/// each curve marked.
pub fn roc_png(path: &Path, title: &str, curves: &[RocSeries<'_>]) -> Result<()> {
    font();
    let root = BitMapBackend::new(path, (640, 520)).into_drawing_area();
    let e = err(path);
    root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
    let lo = log_floor(curves);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d((lo..1f64).log_scale(), 0f64..1f64)
        .map_err(|x| e(x.to_string()))?;
    chart
        .configure_mesh()
        .x_desc("background efficiency εb (log)")
        .y_desc("signal efficiency εs")
        .x_label_formatter(&|x| format!("{x:.0e}"))
        .draw()
        .map_err(|x| e(x.to_string()))?;
    for (i, c) in curves.iter().enumerate() {
        let col = COLORS[i % COLORS.len()];
        chart
            .draw_series(LineSeries::new(
                c.fpr
                    .iter()
                    .zip(c.tpr.iter())
                    .map(|(&x, &y)| (x.max(lo), y)),
                col.stroke_width(2),
            ))
            .map_err(|x| e(x.to_string()))?
            .label(c.name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], col.stroke_width(2)));
        if let Some((b, s)) = c.working_point {
            chart
                .draw_series(std::iter::once(Circle::new(
                    (b.max(lo), s),
                    6,
                    col.filled(),
                )))
                .map_err(|x| e(x.to_string()))?;
        }
    }
    if curves.iter().any(|c| c.working_point.is_some()) {
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
            .map_err(|x| e(x.to_string()))?
            .label("working point")
            .legend(|(x, y)| Circle::new((x + 10, y), 5, BLACK.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|x| e(x.to_string()))?;
    root.present().map_err(|x| e(x.to_string()))
}

/// Histograms of `values` per series over [lo, hi] in `bins` bins, normalised to unit area, on a
/// log y axis (empty bins are left out), with a vertical line at `threshold`.
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
    let positive = hists.iter().flatten().copied().filter(|&v| v > 0.0);
    let (ymin, ymax) = positive.fold((f64::INFINITY, 0f64), |(a, b), v| (a.min(v), b.max(v)));
    let (ymin, ymax) = if ymax > 0.0 {
        (ymin / 2.0, ymax * 2.0)
    } else {
        (0.1, 1.0)
    };
    let root = BitMapBackend::new(path, (640, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(lo..hi, (ymin..ymax).log_scale())
        .map_err(|x| e(x.to_string()))?;
    chart
        .configure_mesh()
        .x_desc(xlabel)
        .y_desc("density (log)")
        .y_label_formatter(&|y| format!("{y:.0e}"))
        .draw()
        .map_err(|x| e(x.to_string()))?;
    for (i, ((name, _), h)) in series.iter().zip(&hists).enumerate() {
        let c = COLORS[i % COLORS.len()];
        // A step line through the non-empty bins: each bin's top, and the rise between two
        // neighbouring non-empty bins.
        let mut steps: Vec<Vec<(f64, f64)>> = Vec::new();
        for (b, &v) in h.iter().enumerate() {
            let (x0, x1) = (lo + b as f64 * width, lo + (b + 1) as f64 * width);
            if v > 0.0 {
                steps.push(vec![(x0, v), (x1, v)]);
                if b + 1 < h.len() && h[b + 1] > 0.0 {
                    steps.push(vec![(x1, v), (x1, h[b + 1])]);
                }
            }
        }
        chart
            .draw_series(
                steps
                    .into_iter()
                    .map(|s| PathElement::new(s, c.stroke_width(2))),
            )
            .map_err(|x| e(x.to_string()))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
    }
    if let Some(t) = threshold {
        chart
            .draw_series(LineSeries::new(
                vec![(t, ymin), (t, ymax)],
                BLACK.stroke_width(1),
            ))
            .map_err(|x| e(x.to_string()))?
            .label("threshold")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|x| e(x.to_string()))?;
    root.present().map_err(|x| e(x.to_string()))
}

/// One panel of [`histogram_grid_png`]: its title, the counts of its equal bins over the plot's
/// range, and an optional marked x (a dashed vertical line, e.g. a beam direction).
pub type HistogramPanel<'a> = (&'a str, &'a [u64], Option<f64>);

/// Small multiples: one bar histogram per panel (fraction of the panel's entries per bin, linear
/// axis from 0), four panels per row, each with its title and entry count and its marked x.
pub fn histogram_grid_png(
    path: &Path,
    title: &str,
    xlabel: &str,
    panels: &[HistogramPanel<'_>],
    range: (f64, f64),
) -> Result<()> {
    font();
    let e = err(path);
    const COLS: usize = 4;
    let rows = panels.len().div_ceil(COLS).max(1);
    let root = BitMapBackend::new(path, (1000, 40 + 190 * rows as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
    let root = root
        .titled(title, ("sans-serif", 20))
        .map_err(|x| e(x.to_string()))?;
    let areas = root.split_evenly((rows, COLS));
    let (lo, hi) = range;
    for (k, (name, counts, mark)) in panels.iter().enumerate() {
        let total: u64 = counts.iter().sum();
        let frac: Vec<f64> = counts
            .iter()
            .map(|&c| c as f64 / total.max(1) as f64)
            .collect();
        let ymax = frac.iter().copied().fold(0.0, f64::max).max(1e-3) * 1.2;
        let width = (hi - lo) / counts.len().max(1) as f64;
        let mut chart = ChartBuilder::on(&areas[k])
            .caption(format!("{name} ({total})"), ("sans-serif", 12))
            .margin(6)
            .x_label_area_size(28)
            .y_label_area_size(36)
            .build_cartesian_2d(lo..hi, 0.0..ymax)
            .map_err(|x| e(x.to_string()))?;
        chart
            .configure_mesh()
            .x_desc(xlabel)
            .x_labels(5)
            .y_labels(4)
            .y_label_formatter(&|y| format!("{y:.2}"))
            .label_style(("sans-serif", 10))
            .draw()
            .map_err(|x| e(x.to_string()))?;
        let c = COLORS[0];
        chart
            .draw_series(frac.iter().enumerate().map(|(b, &v)| {
                let x0 = lo + b as f64 * width;
                Rectangle::new([(x0, 0.0), (x0 + width, v)], c.mix(0.6).filled())
            }))
            .map_err(|x| e(x.to_string()))?;
        if let Some(m) = mark {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(*m, 0.0), (*m, ymax)],
                    4,
                    3,
                    BLACK.stroke_width(1),
                ))
                .map_err(|x| e(x.to_string()))?;
        }
    }
    root.present().map_err(|x| e(x.to_string()))
}

/// One series of a resolution plot: name, points (x, y, error), optional fitted curve
/// (x, y, ±1σ half-width of its band).
pub type ResolutionSeries<'a> = (&'a str, Vec<(f64, f64, f64)>, Option<Vec<(f64, f64, f64)>>);

/// Points (x, y, error) per series with an optional fitted curve and its ±1σ band per series; the
/// y axis starts at 0.
pub fn resolution_png(
    path: &Path,
    title: &str,
    xlabel: &str,
    ylabel: &str,
    series: &[ResolutionSeries<'_>],
) -> Result<()> {
    points_png(path, title, xlabel, ylabel, series, true)
}

/// Points (x, y, error) per series with an optional fitted curve and its ±1σ band; the y axis
/// starts at 0 when `from_zero`, else it spans the points and their errors.
pub fn points_png(
    path: &Path,
    title: &str,
    xlabel: &str,
    ylabel: &str,
    series: &[ResolutionSeries<'_>],
    from_zero: bool,
) -> Result<()> {
    font();
    let e = err(path);
    let pts = series.iter().flat_map(|s| s.1.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, 0f64, 0f64);
    let mut first = true;
    for &(x, y, dy) in pts.filter(|p| p.0.is_finite() && p.1.is_finite() && p.2.is_finite()) {
        x0 = x0.min(x);
        x1 = x1.max(x);
        if first && !from_zero {
            (y0, y1) = (y - dy, y + dy);
            first = false;
        }
        y0 = y0.min(y - dy);
        y1 = y1.max(y + dy);
    }
    if from_zero {
        y0 = 0.0;
    }
    if !x0.is_finite() {
        (x0, x1) = (0.0, 1.0);
    }
    let ypad = 0.15 * (y1 - y0).max(1e-9);
    let (ylo, yhi) = if from_zero {
        (0.0, (y1 * 1.15).max(1e-9))
    } else {
        (y0 - ypad, y1 + ypad)
    };
    let root = BitMapBackend::new(path, (640, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
    let pad = 0.05 * (x1 - x0).max(1e-9);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((x0 - pad)..(x1 + pad), ylo..yhi)
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
            let band: Vec<(f64, f64)> = f
                .iter()
                .map(|&(x, y, d)| (x, y + d))
                .chain(
                    f.iter()
                        .rev()
                        .map(|&(x, y, d)| (x, if from_zero { (y - d).max(0.0) } else { y - d })),
                )
                .collect();
            chart
                .draw_series(std::iter::once(Polygon::new(band, c.mix(0.18).filled())))
                .map_err(|x| e(x.to_string()))?;
            chart
                .draw_series(LineSeries::new(
                    f.iter().map(|&(x, y, _)| (x, y)),
                    c.stroke_width(1),
                ))
                .map_err(|x| e(x.to_string()))?;
        }
    }
    // The legend in the corner that covers the fewest points, error-bar ends and fit points.
    let covered: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|(_, p, fit)| {
            p.iter()
                .flat_map(|&(x, y, d)| [(x, y), (x, y - d), (x, y + d)])
                .chain(fit.iter().flat_map(|f| f.iter().map(|&(x, y, _)| (x, y))))
        })
        .collect();
    chart
        .configure_series_labels()
        .position(quiet_corner(&covered, ((x0 - pad), (x1 + pad)), (ylo, yhi)))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|x| e(x.to_string()))?;
    root.present().map_err(|x| e(x.to_string()))
}

/// The plot corner (upper right first on ties) whose box of 40 % of the width and 25 % of the
/// height holds the fewest of `points`, in data coordinates over the axes' ranges.
fn quiet_corner(points: &[(f64, f64)], x: (f64, f64), y: (f64, f64)) -> SeriesLabelPosition {
    let (w, h) = ((x.1 - x.0).max(1e-12), (y.1 - y.0).max(1e-12));
    let count = |right: bool, upper: bool| {
        points
            .iter()
            .filter(|&&(px, py)| {
                let (fx, fy) = ((px - x.0) / w, (py - y.0) / h);
                let in_x = if right { fx >= 0.6 } else { fx <= 0.4 };
                let in_y = if upper { fy >= 0.75 } else { fy <= 0.25 };
                in_x && in_y
            })
            .count()
    };
    [
        (true, true, SeriesLabelPosition::UpperRight),
        (false, true, SeriesLabelPosition::UpperLeft),
        (true, false, SeriesLabelPosition::LowerRight),
        (false, false, SeriesLabelPosition::LowerLeft),
    ]
    .into_iter()
    .min_by_key(|&(r, u, _)| count(r, u))
    .map(|c| c.2)
    .expect("four corners")
}

/// One event's XZ and YZ images for [`tpc_projections_png`]: its caption and the two planes,
/// row-major `size × size` each (rows = z, columns = x or y), any non-negative unit.
pub type ProjectionPair = (String, [Vec<f32>; 2]);

/// Colour of `v` in 0…1 on a perceptually ordered dark-blue → yellow scale (white for 0).
fn heat(v: f64) -> RGBColor {
    if v <= 0.0 {
        return WHITE;
    }
    const STOPS: [(f64, (f64, f64, f64)); 5] = [
        (0.0, (68.0, 1.0, 84.0)),
        (0.25, (59.0, 82.0, 139.0)),
        (0.5, (33.0, 145.0, 140.0)),
        (0.75, (94.0, 201.0, 98.0)),
        (1.0, (253.0, 231.0, 37.0)),
    ];
    let v = v.min(1.0);
    let k = STOPS.iter().position(|s| s.0 >= v).unwrap_or(4).max(1);
    let (a, b) = (STOPS[k - 1], STOPS[k]);
    let t = (v - a.0) / (b.0 - a.0);
    let mix = |x: f64, y: f64| (x + (y - x) * t).round() as u8;
    RGBColor(
        mix(a.1 .0, b.1 .0),
        mix(a.1 .1, b.1 .1),
        mix(a.1 .2, b.1 .2),
    )
}

/// The XZ and YZ projections of PandaX-III events as one PNG: two events per row, each event's two
/// planes side by side, `size × size` pixels of `pixel_mm` around the plane's charge centre (axes
/// in mm from it), coloured on the event's own scale (its brightest pixel, either plane); empty
/// pixels white.
pub fn tpc_projections_png(
    path: &Path,
    title: &str,
    events: &[ProjectionPair],
    size: usize,
    pixel_mm: f64,
) -> Result<()> {
    font();
    let e = err(path);
    if events.is_empty() || size == 0 {
        return Err(e("no event to draw".into()));
    }
    for (name, planes) in events {
        if planes.iter().any(|p| p.len() != size * size) {
            return Err(e(format!("{name}: planes are not {size} × {size}")));
        }
    }
    let panel = 280u32;
    let rows = events.len().div_ceil(2);
    let root = BitMapBackend::new(path, (4 * panel, 40 + panel * rows as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
    let root = root
        .titled(title, ("sans-serif", 20))
        .map_err(|x| e(x.to_string()))?;
    let cells = root.split_evenly((rows, 4));
    let half = size as f64 * pixel_mm / 2.0;
    for (k, (name, planes)) in events.iter().enumerate() {
        let max = planes.iter().flatten().fold(0f32, |m, &v| m.max(v)) as f64;
        for (p, plane) in planes.iter().enumerate() {
            let axis = if p == 0 { "x" } else { "y" };
            let mut chart = ChartBuilder::on(&cells[2 * k + p])
                .caption(
                    format!("{name} — {}Z", axis.to_uppercase()),
                    ("sans-serif", 15),
                )
                .margin(6)
                .x_label_area_size(28)
                .y_label_area_size(40)
                .build_cartesian_2d(-half..half, -half..half)
                .map_err(|x| e(x.to_string()))?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_desc(format!("{axis} − centre [mm]"))
                .y_desc("z − centre [mm]")
                .x_labels(5)
                .y_labels(5)
                .x_label_formatter(&|v| format!("{v:.0}"))
                .y_label_formatter(&|v| format!("{v:.0}"))
                .label_style(("sans-serif", 11))
                .draw()
                .map_err(|x| e(x.to_string()))?;
            chart
                .draw_series(
                    plane
                        .iter()
                        .enumerate()
                        .filter(|(_, &v)| v > 0.0)
                        .map(|(i, &v)| {
                            let (r, c) = ((i / size) as f64, (i % size) as f64);
                            let (x0, z0) = (c * pixel_mm - half, r * pixel_mm - half);
                            Rectangle::new(
                                [(x0, z0), (x0 + pixel_mm, z0 + pixel_mm)],
                                heat(if max > 0.0 { v as f64 / max } else { 0.0 }).filled(),
                            )
                        }),
                )
                .map_err(|x| e(x.to_string()))?;
        }
    }
    root.present().map_err(|x| e(x.to_string()))
}

/// Feature maps `(C, H, W)` as one PNG grid, one tile per map on its own colour scale (its
/// minimum white, its maximum yellow), maps numbered row by row from 0 (the paper's Figs. 6–9).
pub fn map_grid_png(path: &Path, title: &str, maps: ndarray::ArrayView3<'_, f32>) -> Result<()> {
    font();
    let e = err(path);
    let (c, h, w) = maps.dim();
    if c == 0 || h == 0 || w == 0 {
        return Err(e(format!("no map to draw ({c} maps of {h} × {w})")));
    }
    let cols = (c as f64).sqrt().ceil() as usize;
    let rows = c.div_ceil(cols);
    // About 720 screen pixels across, 1–48 per map pixel, a 2-pixel gap between tiles.
    let px = (720 / (cols * h.max(w))).clamp(1, 48);
    let (tw, th) = ((w * px) as u32, (h * px) as u32);
    let gap = 2u32;
    let width = (cols as u32 * (tw + gap) + gap).max(320);
    let height = rows as u32 * (th + gap) + gap + 36;
    let root = BitMapBackend::new(path, (width, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
    let root = root
        .titled(title, ("sans-serif", 16))
        .map_err(|x| e(x.to_string()))?;
    for (k, map) in maps.outer_iter().enumerate() {
        let (lo, hi) = map
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let span = (hi - lo) as f64;
        let (x0, y0) = (
            gap + (k % cols) as u32 * (tw + gap),
            gap + (k / cols) as u32 * (th + gap),
        );
        root.draw(&Rectangle::new(
            [
                (x0 as i32 - 1, y0 as i32 - 1),
                ((x0 + tw) as i32, (y0 + th) as i32),
            ],
            BLACK.mix(0.3),
        ))
        .map_err(|x| e(x.to_string()))?;
        for ((r, col), &v) in map.indexed_iter() {
            let t = if span > 0.0 {
                (v - lo) as f64 / span
            } else {
                0.0
            };
            let (px0, py0) = (x0 + (col * px) as u32, y0 + (r * px) as u32);
            root.draw(&Rectangle::new(
                [
                    (px0 as i32, py0 as i32),
                    ((px0 + px as u32) as i32, (py0 + px as u32) as i32),
                ],
                heat(t).filled(),
            ))
            .map_err(|x| e(x.to_string()))?;
        }
    }
    root.present().map_err(|x| e(x.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The legend goes where the points are not (plotters' default, the middle right, covered
    /// the widest TopConv's points in the PandaX-III sweep): points high on the left and right
    /// (Ξ 6–12.5 on an axis from 0) send it low; an empty plot keeps the upper right.
    #[test]
    fn the_legend_takes_the_emptiest_corner() {
        let (x, y) = ((0.5, 11.5), (0.0, 14.0));
        let sweep = [
            (1.0, 11.5),
            (1.0, 7.0),
            (3.0, 9.0),
            (10.8, 12.0),
            (10.8, 6.5),
        ];
        let c = quiet_corner(&sweep, x, y);
        assert!(matches!(c, SeriesLabelPosition::LowerRight), "{c:?}");
        let upper_right = [(11.0, 13.0), (11.0, 1.0), (1.0, 1.0)];
        let c = quiet_corner(&upper_right, x, y);
        assert!(matches!(c, SeriesLabelPosition::UpperLeft), "{c:?}");
        assert!(matches!(
            quiet_corner(&[], x, y),
            SeriesLabelPosition::UpperRight
        ));
    }
}
