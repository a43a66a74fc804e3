//! The event display of any supported file (the `display` example): a self-contained page with the
//! same event browser as the reports, for a NEWSdm, `rareml.tpc.v1` or `rareml.tt.v1` HDF5 file or
//! a REST-for-Physics ROOT file's raw signals (with a readout map), optionally with the scores of a
//! `predict` output.
//!
//! Without scores the first `limit` events in file order are shown. With scores, the `limit`
//! events ranked first — the most confidently wrong where the file has labels and the scores a
//! working point, else the highest signal score or the largest |Ê − E|/E — are shown; the page
//! says how many of how many.

use super::browser::{selection, Browser, Cell, Column, Picture};
use super::pictures::{
    emulsion_cluster, mark, tpc_projections, tpc_waveforms, tt_stations, ALT_COLOR, RECO_COLOR,
    TRUE_COLOR,
};
use super::{file_err, html, Error, Result};

use crate::baselines::tt::{dbscan_vertex, weighted_mean_xy, DbscanVertexParams, Vertex};
use crate::io::emulsion::{ClusterClass, EmulsionFile, PIXEL_SIZE_NM};
use crate::io::scores::{ScoreRows, ScoresFile, ScoresMeta, SCORED};
use crate::io::tpc::{EventLabel, TpcFile};
use crate::io::tt::TtFile;
use crate::preprocess::emulsion::{central_crop, subtract_background, Background};
use crate::preprocess::tpc::{event_image, TpcImageConfig};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Side of the central crop of NEWSdm images shown, in pixels (the NEWSdm pipeline's crop).
const CROP_PX: usize = 40;

/// Events shown when no limit is given: the size the browser stays responsive at.
pub const DEFAULT_LIMIT: usize = 10_000;

/// What to display.
#[derive(Debug, Clone)]
pub struct DisplayOptions {
    /// The input file.
    pub file: PathBuf,
    /// A `predict` output (`rareml.scores.v1`) of that file.
    pub scores: Option<PathBuf>,
    /// Most events shown (≥ 1).
    pub limit: usize,
    /// Cap on the page's stored pictures, in bytes of base64 text (the events past it are listed
    /// without pictures, and the page says how many).
    pub picture_budget_bytes: usize,
    /// For a REST ROOT file: the readout map (TOML or JSON, signal id → axis, position) its raw
    /// signals are read with, as `convert` does.
    pub readout: Option<PathBuf>,
}

/// What a display page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplaySummary {
    /// The detected format.
    pub format: &'static str,
    /// Events shown.
    pub shown: usize,
    /// Events in the file.
    pub total: usize,
}

/// The scores of one file's events, by event index.
struct Scores {
    meta: ScoresMeta,
    rows: ScoreRows,
    by_index: HashMap<usize, usize>,
}

impl Scores {
    fn open(path: &Path, file: &Path, events: usize, ids: &[i64]) -> Result<Self> {
        let f = ScoresFile::open(path).map_err(|e| file_err(path, e))?;
        let meta = f.meta().clone();
        // A predict output records the file's event count; a run's test_scores.h5 one past its
        // last test event, so at most the file's.
        if meta.source_events > events as u64 {
            return Err(file_err(
                path,
                format!(
                    "scores of a file with {} events, but {} holds {events}: not the scores of this file",
                    meta.source_events,
                    file.display()
                ),
            ));
        }
        let rows = f.read(0..f.len()).map_err(|e| file_err(path, e))?;
        let mut by_index = HashMap::new();
        for (r, &i) in rows.index.iter().enumerate() {
            let i = usize::try_from(i)
                .ok()
                .filter(|&i| i < events)
                .ok_or_else(|| {
                    file_err(
                        path,
                        format!("/events/index[{r}] = {i}: outside the file's {events} events"),
                    )
                })?;
            if let Some(&id) = ids.get(i) {
                if id >= 0 && rows.id[r] >= 0 && rows.id[r] != id {
                    return Err(file_err(
                        path,
                        format!(
                            "/events/id[{r}] = {} but event {i} of {} has id {id}: not the scores of this file",
                            rows.id[r],
                            file.display()
                        ),
                    ));
                }
            }
            by_index.insert(i, r);
        }
        Ok(Self {
            meta,
            rows,
            by_index,
        })
    }

    /// The signal score of event `i` (a classification's scored events).
    fn signal(&self, i: usize) -> Option<f64> {
        let r = *self.by_index.get(&i)?;
        if self.rows.status[r] != SCORED {
            return None;
        }
        self.rows.signal.as_ref().map(|(s, _)| s[r])
    }

    /// Output `name` of event `i` (a regression's scored events).
    fn value(&self, i: usize, name: &str) -> Option<f64> {
        let r = *self.by_index.get(&i)?;
        let c = self.meta.columns.iter().position(|n| n == name)?;
        (self.rows.status[r] == SCORED).then(|| self.rows.value[[r, c]] as f64)
    }
}

/// Events read per chunk; their rows and pictures are made in parallel.
const CHUNK_EVENTS: usize = 256;

/// One row of the page: cells, order key, picture.
type Row = (Vec<Cell>, f64, Option<Picture>);

/// Fills `b` with the `chosen` events, in the page's default order: each chunk read with `read` in
/// order (the file), then turned into rows with `row` in parallel, pictures encoded there too.
/// Once a picture does not fit the budget, the rest are made without (`row` gets `false`) and
/// counted in [`Browser::pictures_left_out`].
fn fill<E: Send>(
    b: &mut Browser,
    chosen: &[usize],
    read: impl Fn(usize) -> Result<E>,
    row: impl Fn(usize, E, bool) -> Result<Row> + Sync,
) -> Result<()> {
    let (mut used, mut spent) = (0usize, false);
    for chunk in chosen.chunks(CHUNK_EVENTS) {
        let events = chunk
            .iter()
            .map(|&i| Ok((i, read(i)?)))
            .collect::<Result<Vec<_>>>()?;
        let pictures = !spent;
        let rows = events
            .into_par_iter()
            .map(|(i, e)| {
                let (cells, w, p) = row(i, e, pictures)?;
                Ok((cells, w, p.as_ref().map(Browser::encode)))
            })
            .collect::<Result<Vec<_>>>()?;
        for (cells, w, p) in rows {
            let p = match p {
                Some(p) if !spent && used + p.len() <= b.picture_budget_bytes => {
                    used += p.len();
                    Some(p)
                }
                Some(_) => {
                    spent = true;
                    b.pictures_left_out += 1;
                    None
                }
                None if !pictures => {
                    b.pictures_left_out += 1;
                    None
                }
                None => None,
            };
            b.push_encoded(cells, w, p);
        }
    }
    Ok(())
}

/// The browser of `total` events in a file of `format`, the page's title.
fn finish(
    mut b: Browser,
    total: usize,
    format: &'static str,
    title: String,
) -> (Browser, DisplaySummary, String) {
    b.total = total;
    let shown = b.events.len();
    (
        b,
        DisplaySummary {
            format,
            shown,
            total,
        },
        title,
    )
}

/// Appends event `i`'s score cells to `cells` and returns its order key: its wrongness with
/// scores, its file position (first first) without.
fn score_cells(ranked: Option<&[(Vec<Cell>, f64)]>, i: usize, cells: &mut Vec<Cell>) -> f64 {
    match ranked {
        Some(r) => {
            cells.extend(r[i].0.iter().cloned());
            r[i].1
        }
        None => -(i as f64),
    }
}

/// Indices of the events to show: the first `limit` in file order, or with a ranking the `limit`
/// ranked highest (ties in file order).
fn choose(n: usize, limit: usize, rank: Option<&[f64]>) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    if let Some(r) = rank {
        let key = |i: usize| {
            if r[i].is_nan() {
                f64::NEG_INFINITY
            } else {
                r[i]
            }
        };
        idx.sort_by(|&a, &b| key(b).total_cmp(&key(a)).then(a.cmp(&b)));
    }
    idx.truncate(limit);
    idx
}

/// Classification cells of event `i` with the scores: score, selection, outcome and wrongness
/// (NaN-filled when unscored; without a label or threshold, the score itself ranks).
fn classified(scores: &Scores, i: usize, is_signal: Option<bool>) -> (Vec<Cell>, f64) {
    let none = || Cell::Text("—".into());
    match (scores.signal(i), scores.meta.threshold, is_signal) {
        (Some(s), Some(t), Some(y)) => {
            let (p, o, w) = selection(y, s, t);
            (vec![Cell::Num(s), p, o], w)
        }
        (Some(s), Some(t), None) => (
            vec![
                Cell::Num(s),
                Cell::Text(if s >= t { "pass" } else { "fail" }.into()),
                none(),
            ],
            s,
        ),
        (Some(s), None, _) => (vec![Cell::Num(s), none(), none()], s),
        (None, ..) => (vec![Cell::Num(f64::NAN), none(), none()], f64::NAN),
    }
}

fn score_columns(b: &mut Vec<Column>) {
    b.push(Column::number("score", 4));
    b.push(Column::category("selection"));
    b.push(Column::category("outcome"));
}

/// Builds the display of `opts.file`; returns the browser, the page title and its summary.
pub fn browser(opts: &DisplayOptions) -> Result<(Browser, DisplaySummary, String)> {
    let path = &opts.file;
    if opts.limit == 0 {
        return Err(file_err(path, "--limit 0: expected at least 1 event"));
    }
    if !path.exists() {
        return Err(file_err(path, "no such file"));
    }
    if crate::io::rest::is_root_file(path) {
        return rest_browser(opts);
    }
    let tpc = TpcFile::open(path);
    if let Ok(f) = &tpc {
        return tpc_browser(opts, f, "rareml.tpc.v1");
    }
    let tt = TtFile::open(path);
    if let Ok(f) = &tt {
        return tt_browser(opts, f);
    }
    let sets = EmulsionFile::open(path)
        .and_then(|f| f.sets())
        .map_err(|e| e.to_string());
    match sets {
        Ok(sets) if !sets.is_empty() => emulsion_browser(opts, &sets),
        other => Err(file_err(
            path,
            format!(
                "not a file the display reads (NEWSdm, rareml.tpc.v1 or rareml.tt.v1 HDF5): as NEWSdm: {}; as TPC: {}; as TT: {}",
                other.err().unwrap_or_else(|| "no cluster group".into()),
                tpc.err().map(|e| e.to_string()).unwrap_or_default(),
                tt.err().map(|e| e.to_string()).unwrap_or_default()
            ),
        )),
    }
}

fn empty(path: &Path, format: &str) -> Error {
    file_err(
        path,
        format!("a {format} file with no events: nothing to display"),
    )
}

/// "K of N events of FILE", with which K when fewer than all: those `ranked_by` with scores, the
/// first in file order without.
fn note(opts: &DisplayOptions, shown: usize, total: usize, ranked_by: &str) -> String {
    let order = if opts.scores.is_some() {
        ranked_by
    } else {
        "the first in file order"
    };
    let mut s = format!("{shown} of {total} events of {}", opts.file.display());
    if shown < total {
        s += &format!(" ({order}; --limit {})", opts.limit);
    }
    s + "."
}

fn emulsion_browser(
    opts: &DisplayOptions,
    sets: &[crate::io::emulsion::ClusterSet],
) -> Result<(Browser, DisplaySummary, String)> {
    let path = &opts.file;
    let err = |e: crate::io::Error| file_err(path, e);
    // Every cluster's (set, position in set), class and id, in file order.
    let mut at = Vec::new();
    let (mut classes, mut ids) = (Vec::new(), Vec::new());
    for (s, cs) in sets.iter().enumerate() {
        let n = cs.len();
        let per = cs.read_classes(0..n).map_err(err)?;
        let pol = cs.read_pol_ids(0..n).map_err(err)?;
        for k in 0..n {
            at.push((s, k));
            classes.push(per.as_ref().map(|c| c[k]).or(cs.class()));
            ids.push(pol.as_ref().map_or(-1, |p| p[[k, 2]] as i64));
        }
    }
    let total = at.len();
    if total == 0 {
        return Err(empty(path, "NEWSdm"));
    }
    let scores = match &opts.scores {
        Some(p) => Some(Scores::open(p, path, total, &ids)?),
        None => None,
    };
    let mut columns = vec![
        Column::number("index", 0),
        Column::category("group"),
        Column::category("class"),
        Column::number("cluster id", 0),
    ];
    let ranked: Option<Vec<(Vec<Cell>, f64)>> = scores.as_ref().map(|s| {
        score_columns(&mut columns);
        (0..total)
            .map(|i| classified(s, i, classes[i].map(ClusterClass::is_signal)))
            .collect()
    });
    columns.push(Column::number("barycenter shift [nm]", 1));
    let rank: Option<Vec<f64>> = ranked.as_ref().map(|r| r.iter().map(|x| x.1).collect());
    let chosen = choose(total, opts.limit, rank.as_deref());
    let order = "ranked first";
    let mut b = Browser::new(
        "Clusters",
        columns,
        &format!(
            "{} Pictures: each polarisation image after median subtraction, its central {CROP_PX} × {CROP_PX} pixels (the network's input crop), on one colour scale, with its barycentre, and the barycentre path in nm.",
            note(opts, chosen.len(), total, order)
        ),
    );
    b.picture_budget_bytes = opts.picture_budget_bytes;
    let read = |i: usize| {
        let (s, k) = at[i];
        sets[s].get::<f32>(k).map_err(err)
    };
    let row = |i: usize, c: crate::io::emulsion::Cluster<f32>, with_picture: bool| -> Result<Row> {
        let sub = subtract_background(c.images.view(), Background::Median);
        let (_, h, w) = sub.dim();
        let sub = if h > CROP_PX && w > CROP_PX {
            central_crop(sub.view(), CROP_PX).map_err(|e| file_err(path, e))?
        } else {
            sub
        };
        let (picture, shift) = emulsion_cluster(
            sub.view(),
            PIXEL_SIZE_NM,
            "grey level above the image's median",
        );
        let mut cells = vec![
            Cell::Num(i as f64),
            Cell::Text(sets[at[i].0].group().into()),
            Cell::Text(classes[i].map_or("unknown", ClusterClass::name).into()),
            Cell::Num(ids[i] as f64),
        ];
        let wrongness = score_cells(ranked.as_deref(), i, &mut cells);
        cells.push(Cell::Num(shift.unwrap_or(f64::NAN)));
        Ok((cells, wrongness, with_picture.then_some(picture)))
    };
    fill(&mut b, &chosen, read, row)?;
    Ok(finish(
        b,
        total,
        "NEWSdm",
        format!("NEWSdm clusters — {}", path.display()),
    ))
}

/// A REST ROOT file's raw-signal events, converted with its own readout (or the readout map) into a temporary
/// `rareml.tpc.v1` file (as the `convert` example does), then shown as a TPC file.
fn rest_browser(opts: &DisplayOptions) -> Result<(Browser, DisplaySummary, String)> {
    use crate::io::rest::{convert_to_tpc, RestFile};
    let path = &opts.file;
    let err = |e: crate::io::Error| file_err(path, e);
    let mut rest = RestFile::open(path).map_err(err)?;
    let readout = rest.strip_readout(opts.readout.as_deref()).map_err(err)?;
    let tmp = tempfile::tempdir().map_err(|e| file_err(&std::env::temp_dir(), e))?;
    let converted = tmp.path().join("converted.h5");
    convert_to_tpc(
        &mut rest,
        &readout,
        &crate::io::tpc::TpcMeta::default(),
        &converted,
        CHUNK_EVENTS,
        |_| {},
    )
    .map_err(err)?;
    let f = TpcFile::open(&converted).map_err(err)?;
    tpc_browser(opts, &f, "REST ROOT raw signals")
}

fn tpc_browser(
    opts: &DisplayOptions,
    f: &TpcFile,
    format: &'static str,
) -> Result<(Browser, DisplaySummary, String)> {
    let path = &opts.file;
    let total = f.len();
    if total == 0 {
        return Err(empty(path, "rareml.tpc.v1"));
    }
    let labels = f.labels();
    let scores = match &opts.scores {
        Some(p) => Some(Scores::open(p, path, total, f.ids())?),
        None => None,
    };
    let mut columns = vec![
        Column::number("index", 0),
        Column::number("event id", 0),
        Column::category("class"),
    ];
    let is_signal = |l: EventLabel| match l {
        EventLabel::Signal => Some(true),
        EventLabel::Background => Some(false),
        EventLabel::Unknown => None,
    };
    let ranked: Option<Vec<(Vec<Cell>, f64)>> = scores.as_ref().map(|s| {
        score_columns(&mut columns);
        (0..total)
            .map(|i| classified(s, i, is_signal(labels[i])))
            .collect()
    });
    columns.push(Column::number("signals", 0));
    let rank: Option<Vec<f64>> = ranked.as_ref().map(|r| r.iter().map(|x| x.1).collect());
    let chosen = choose(total, opts.limit, rank.as_deref());
    let order = "ranked first";
    let cfg = TpcImageConfig {
        upsample: 1,
        ..Default::default()
    };
    let mut b = Browser::new(
        "Events",
        columns,
        &format!(
            "{} Pictures: the XZ and YZ images ({n} × {n} pixels of {mm} mm, percent of the event's charge) and the strip waveforms as stored (ADC counts, own scale).",
            note(opts, chosen.len(), total, order),
            n = cfg.size,
            mm = cfg.pixel_mm,
        ),
    );
    b.picture_budget_bytes = opts.picture_budget_bytes;
    let (readout, meta) = (f.readout(), f.meta());
    let read = |i: usize| f.event(i).map_err(|e| file_err(path, e));
    let row = |i: usize, e: crate::io::tpc::TpcEvent, with_picture: bool| -> Result<Row> {
        let picture = with_picture.then(|| {
            let mut panels = match event_image(&e, readout, meta, &cfg, (false, false)) {
                Ok((img, _)) => {
                    let item: Vec<f32> = img.iter().map(|v| v * 100.0).collect();
                    tpc_projections(&item, cfg.size)
                }
                // No charge above threshold: the waveforms alone.
                Err(_) => Vec::new(),
            };
            panels.extend(tpc_waveforms(
                &e.signals,
                readout,
                cfg.baseline_samples,
                cfg.threshold_adc,
            ));
            Picture {
                panels,
                scale: "% of the event's charge".into(),
            }
        });
        let mut cells = vec![
            Cell::Num(i as f64),
            Cell::Num(e.id as f64),
            Cell::Text(
                match e.label {
                    EventLabel::Signal => "0νββ",
                    EventLabel::Background => "background",
                    EventLabel::Unknown => "unknown",
                }
                .into(),
            ),
        ];
        let wrongness = score_cells(ranked.as_deref(), i, &mut cells);
        cells.push(Cell::Num(e.signals.len() as f64));
        Ok((cells, wrongness, picture))
    };
    fill(&mut b, &chosen, read, row)?;
    Ok(finish(
        b,
        total,
        format,
        format!("PandaX-III events — {}", path.display()),
    ))
}

/// The XZ and YZ images (64 × 64 pixels of 3 mm, the pipeline's defaults; fraction of the event's
/// charge) of the first `n` events of a TPC file, for
/// [`tpc_projections_png`](super::plot::tpc_projections_png): captions "event ID (k signals)";
/// an event with no charge above threshold gets empty planes and says so.
pub fn tpc_event_projections(f: &TpcFile, n: usize) -> Result<Vec<super::plot::ProjectionPair>> {
    let cfg = TpcImageConfig {
        upsample: 1,
        ..Default::default()
    };
    let side = cfg.size * cfg.size;
    (0..n.min(f.len()))
        .map(|i| {
            let e = f.event(i).map_err(|e| file_err(f.path(), e))?;
            let caption = format!("event {} ({} signals)", e.id, e.signals.len());
            Ok(
                match event_image(&e, f.readout(), f.meta(), &cfg, (false, false)) {
                    Ok((img, _)) => {
                        let v: Vec<f32> = img.iter().copied().collect();
                        (caption, [v[..side].to_vec(), v[side..2 * side].to_vec()])
                    }
                    Err(_) => (
                        format!("{caption}: no charge above threshold"),
                        [vec![0.0; side], vec![0.0; side]],
                    ),
                },
            )
        })
        .collect()
}

fn tt_browser(opts: &DisplayOptions, f: &TtFile) -> Result<(Browser, DisplaySummary, String)> {
    let path = &opts.file;
    let total = f.len();
    if total == 0 {
        return Err(empty(path, "rareml.tt.v1"));
    }
    let ids: Vec<i64> = vec![-1; total];
    let scores = match &opts.scores {
        Some(p) => Some(Scores::open(p, path, total, &ids)?),
        None => None,
    };
    let truth_e = f.energies_gev();
    let predicted = |i: usize| -> (f64, f64) {
        let s = scores.as_ref();
        (
            s.and_then(|s| s.value(i, "energy_gev")).unwrap_or(f64::NAN),
            s.and_then(|s| s.value(i, "distance_cm"))
                .unwrap_or(f64::NAN),
        )
    };
    let rel = |i: usize| (predicted(i).0 - truth_e[i] as f64) / truth_e[i] as f64;
    let rank: Option<Vec<f64>> = scores
        .as_ref()
        .map(|_| (0..total).map(|i| rel(i).abs()).collect());
    let chosen = choose(total, opts.limit, rank.as_deref());
    let mut columns = vec![
        Column::number("index", 0),
        Column::number("E [GeV]", 2),
        Column::number("d [cm]", 3),
    ];
    if scores.is_some() {
        columns.push(Column::number("Ê [GeV]", 2));
        columns.push(Column::number("(Ê − E)/E", 3));
        columns.push(Column::number("d̂ [cm]", 3));
    }
    columns.push(Column::number("hits", 0));
    columns.push(Column::number("DBSCAN XY error [cm]", 3));
    let order = "largest |Ê − E|/E first";
    let mut b = Browser::new(
        "Showers",
        columns,
        &format!(
            "{} Pictures: the hits of each station (colour = deposited energy), the true vertex XY (white ✚), the DBSCAN vertex (red ✚) and the hits' weighted mean (orange ✚).",
            note(opts, chosen.len(), total, order)
        ),
    );
    let g = f.geometry();
    // The hit-map pixel of the SHiP public code (700 µm) as the square drawn per hit.
    const PIXEL_CM: f64 = 0.07;
    b.picture_budget_bytes = opts.picture_budget_bytes;
    let read = |i: usize| f.event(i).map_err(|e| file_err(path, e));
    let row = |i: usize, e: crate::io::tt::TtEvent, with_picture: bool| -> Result<Row> {
        let (tx, ty) = (e.vertex_cm[0] as f64, e.vertex_cm[1] as f64);
        let mut marks = vec![mark(tx, ty, "true vertex", TRUE_COLOR)];
        let mut db_err = f64::NAN;
        if !e.hits.is_empty() {
            if let Ok(Vertex::Found { x_cm, y_cm, .. }) =
                dbscan_vertex(&e, &g.station_z_cm, &DbscanVertexParams::default())
            {
                marks.push(mark(x_cm, y_cm, "DBSCAN vertex", RECO_COLOR));
                db_err = ((x_cm - tx).powi(2) + (y_cm - ty).powi(2)).sqrt();
            }
            if let Ok([x, y]) = weighted_mean_xy(&e) {
                marks.push(mark(x, y, "weighted mean", ALT_COLOR));
            }
        }
        let mut cells = vec![
            Cell::Num(i as f64),
            Cell::Num(e.energy_gev as f64),
            Cell::Num(e.distance_cm as f64),
        ];
        let mut wrongness = -(i as f64);
        if scores.is_some() {
            let (pe, pd) = predicted(i);
            cells.extend([Cell::Num(pe), Cell::Num(rel(i)), Cell::Num(pd)]);
            wrongness = rel(i).abs();
        }
        cells.push(Cell::Num(e.hits.len() as f64));
        cells.push(Cell::Num(db_err));
        let picture = with_picture.then(|| tt_stations(&e, g, PIXEL_CM, &marks));
        Ok((cells, wrongness, picture))
    };
    fill(&mut b, &chosen, read, row)?;
    Ok(finish(
        b,
        total,
        "rareml.tt.v1",
        format!("SHiP TT showers — {}", path.display()),
    ))
}

/// Writes `out/index.html`, the display of `opts.file`.
pub fn write_display(opts: &DisplayOptions, out: &Path) -> Result<DisplaySummary> {
    let (browser, summary, title) = browser(opts)?;
    std::fs::create_dir_all(out).map_err(|e| file_err(out, e))?;
    let mut head = format!(
        "<p>{} file <code>{}</code>: {} of {} events shown.",
        summary.format,
        html::escape(&opts.file.display().to_string()),
        summary.shown,
        summary.total
    );
    if let Some(s) = &opts.scores {
        head += &format!(
            " Scores: <code>{}</code>.",
            html::escape(&s.display().to_string())
        );
    }
    head += "</p>";
    html::write_page(&out.join("index.html"), &title, &head, &[], Some(&browser))?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ranked_or_first_events_are_chosen() {
        assert_eq!(choose(5, 3, None), [0, 1, 2]);
        assert_eq!(choose(4, 2, Some(&[0.1, f64::NAN, 0.5, 0.5])), [2, 3]);
        assert_eq!(choose(2, 10, None), [0, 1]);
    }
}
