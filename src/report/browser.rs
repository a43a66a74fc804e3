//! The event browser of an HTML page: one row per event (its columns, a default order with the most
//! confidently wrong first) and, per event, the pictures drawn when it is selected (images on a
//! common colour scale, scatter maps, markers and paths).
//!
//! Pictures are stored compactly (values quantised to 8 bits between the event's common minimum
//! and maximum; images as bytes, scatter points as little-endian f32 (x, y, level); base64) and
//! decoded by the page only when an event is selected. Their total is capped at [`Browser::picture_budget_bytes`]: the
//! events past the budget, in the default order, are listed without pictures and the page says how
//! many.

use serde::Serialize;

/// Default cap on the stored pictures of one page, in bytes of base64 text (48 MiB).
pub const PICTURE_BUDGET_BYTES: usize = 48 << 20;

/// One column of the event table.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    /// Its header.
    pub name: String,
    /// Decimals shown for a numeric column; `None` for a category (text, filterable).
    pub digits: Option<usize>,
}

impl Column {
    /// A numeric column shown with `digits` decimals.
    pub fn number(name: &str, digits: usize) -> Self {
        Self {
            name: name.into(),
            digits: Some(digits),
        }
    }

    /// A category column (a filter menu lists its values).
    pub fn category(name: &str) -> Self {
        Self {
            name: name.into(),
            digits: None,
        }
    }
}

/// One table cell: a number (NaN shown as "—") or a category.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A number.
    Num(f64),
    /// A category.
    Text(String),
}

impl Serialize for Cell {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Cell::Num(x) if x.is_finite() => s.serialize_f64(*x),
            Cell::Num(_) => s.serialize_none(),
            Cell::Text(t) => s.serialize_str(t),
        }
    }
}

/// A marker drawn on a panel, in the panel's coordinates (pixels for an image, axis units for a
/// scatter map).
#[derive(Debug, Clone, Serialize)]
pub struct Mark {
    /// x (column for an image).
    pub x: f32,
    /// y (row for an image).
    pub y: f32,
    /// Legend text.
    pub label: String,
    /// CSS colour.
    pub color: String,
}

/// What a panel draws.
#[derive(Debug, Clone)]
pub enum PanelKind {
    /// A `height × width` image, row-major, on the event's common colour scale.
    Image {
        /// Columns.
        width: usize,
        /// Rows.
        height: usize,
        /// Pixel values (any unit; the scale is shown).
        pixels: Vec<f32>,
    },
    /// Weighted points `(x, y, w)` over a fixed area, drawn as squares of side `cell` whose shade
    /// is `w` on the event's common colour scale.
    Scatter {
        /// x range of the area.
        x_range: [f32; 2],
        /// y range of the area.
        y_range: [f32; 2],
        /// Side of one point's square, in axis units (e.g. the pixel pitch).
        cell: f32,
        /// Points (x, y, weight).
        points: Vec<[f32; 3]>,
    },
}

/// One panel of an event's picture.
#[derive(Debug, Clone)]
pub struct Panel {
    /// Its title (e.g. "pol 3", "XZ", "station 2").
    pub title: String,
    /// Axis labels (x, y).
    pub axes: [String; 2],
    /// What it draws.
    pub kind: PanelKind,
    /// Markers.
    pub marks: Vec<Mark>,
    /// A polyline through these points (panel coordinates), e.g. the barycentre path.
    pub path: Vec<[f32; 2]>,
    /// A colour scale of its own (what it measures), instead of the picture's common one.
    pub own_scale: Option<String>,
}

/// Everything drawn for one event: its panels on one colour scale.
#[derive(Debug, Clone, Default)]
pub struct Picture {
    /// The panels, left to right.
    pub panels: Vec<Panel>,
    /// What the colour scale measures (e.g. "grey level", "% of the event's charge", "hits").
    pub scale: String,
}

/// One event of the browser.
#[derive(Debug, Clone)]
pub struct Event {
    /// The cells, one per [`Browser::columns`].
    pub cells: Vec<Cell>,
    /// Default order key, larger first: how confidently wrong the event is (e.g. the score's
    /// distance beyond the threshold on the wrong side, negative when right).
    pub wrongness: f64,
    /// Its pictures, encoded ([`Browser::encode`]).
    pub picture: Option<String>,
}

/// The event browser of one page.
#[derive(Debug, Clone)]
pub struct Browser {
    /// What the events are, e.g. "test clusters".
    pub title: String,
    /// Table columns.
    pub columns: Vec<Column>,
    /// The events.
    pub events: Vec<Event>,
    /// Events in the source before any limit (the page says "K of N" when larger).
    pub total: usize,
    /// A sentence on how the columns were computed (threshold, working point).
    pub note: String,
    /// Cap on the stored pictures, in bytes of base64 text.
    pub picture_budget_bytes: usize,
    /// Events whose pictures were not even made, the budget being spent (counted on the page).
    pub pictures_left_out: usize,
}

impl Browser {
    /// An empty browser of `columns`.
    pub fn new(title: &str, columns: Vec<Column>, note: &str) -> Self {
        Self {
            title: title.into(),
            columns,
            events: Vec::new(),
            total: 0,
            note: note.into(),
            picture_budget_bytes: PICTURE_BUDGET_BYTES,
            pictures_left_out: 0,
        }
    }

    /// A picture as the page stores it (JSON text; values quantised, base64), made once so that
    /// a browser holds its pictures at their size in the page.
    pub fn encode(picture: &Picture) -> String {
        picture_json(picture).to_string()
    }

    /// Adds one event.
    pub fn push(&mut self, cells: Vec<Cell>, wrongness: f64, picture: Option<Picture>) {
        self.push_encoded(cells, wrongness, picture.as_ref().map(Self::encode));
    }

    /// Adds one event with its picture already [encoded](Self::encode).
    pub fn push_encoded(&mut self, cells: Vec<Cell>, wrongness: f64, picture: Option<String>) {
        debug_assert_eq!(cells.len(), self.columns.len());
        self.events.push(Event {
            cells,
            wrongness,
            picture,
        });
        self.total = self.total.max(self.events.len());
    }

    /// Bytes of the pictures held so far.
    pub fn picture_bytes(&self) -> usize {
        self.events
            .iter()
            .filter_map(|e| e.picture.as_ref())
            .map(String::len)
            .sum()
    }

    /// The page's data: `(table JSON, pictures JSON)`. The table holds the columns, rows in the
    /// default order and the counts; the pictures are one entry per row (`null` past the budget).
    pub fn to_json(&self) -> (String, String) {
        let mut order: Vec<usize> = (0..self.events.len()).collect();
        let key = |i: usize| {
            let w = self.events[i].wrongness;
            if w.is_nan() {
                f64::NEG_INFINITY
            } else {
                w
            }
        };
        order.sort_by(|&a, &b| key(b).total_cmp(&key(a)).then(a.cmp(&b)));
        let mut used = 0usize;
        let mut with_pictures = 0usize;
        let mut pictures = String::from("[");
        for (k, &i) in order.iter().enumerate() {
            if k > 0 {
                pictures.push(',');
            }
            match &self.events[i].picture {
                Some(p) if used + p.len() <= self.picture_budget_bytes => {
                    used += p.len();
                    with_pictures += 1;
                    pictures.push_str(p);
                }
                _ => pictures.push_str("null"),
            }
        }
        pictures.push(']');
        let rows: Vec<&Vec<Cell>> = order.iter().map(|&i| &self.events[i].cells).collect();
        let table = serde_json::json!({
            "title": self.title,
            "note": self.note,
            "columns": self.columns,
            "rows": rows,
            "total": self.total,
            "with_pictures": with_pictures,
            "with_picture_data": self.events.iter().filter(|e| e.picture.is_some()).count()
                + self.pictures_left_out,
            "budget_bytes": self.picture_budget_bytes,
        });
        (table.to_string(), pictures)
    }
}

/// The cells and order key of a binary selection `score >= threshold` on one event: "pass" or
/// "fail", "right" or "wrong" (a signal event failing or a background one passing), and the
/// wrongness: the score's distance beyond the threshold on the wrong side (negative when right).
pub fn selection(is_signal: bool, score: f64, threshold: f64) -> (Cell, Cell, f64) {
    let pass = score >= threshold;
    let margin = if is_signal {
        threshold - score
    } else {
        score - threshold
    };
    let right = pass == is_signal;
    let wrongness = if right { -margin.abs() } else { margin.abs() };
    (
        Cell::Text(if pass { "pass" } else { "fail" }.into()),
        Cell::Text(if right { "right" } else { "wrong" }.into()),
        wrongness,
    )
}

/// A `height × width` image panel with no marks.
pub fn image_panel(
    title: &str,
    axes: [&str; 2],
    width: usize,
    height: usize,
    pixels: Vec<f32>,
) -> Panel {
    Panel {
        title: title.into(),
        axes: axes.map(String::from),
        kind: PanelKind::Image {
            width,
            height,
            pixels,
        },
        marks: Vec::new(),
        path: Vec::new(),
        own_scale: None,
    }
}

/// The minimum and maximum of `panels`' values (finite ones; [0, 1] when there are none).
fn range_of<'a>(panels: impl Iterator<Item = &'a Panel>) -> (f32, f32) {
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for panel in panels {
        let vals: Box<dyn Iterator<Item = f32>> = match &panel.kind {
            PanelKind::Image { pixels, .. } => Box::new(pixels.iter().copied()),
            PanelKind::Scatter { points, .. } => Box::new(points.iter().map(|q| q[2])),
        };
        for v in vals.filter(|v| v.is_finite()) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if lo > hi {
        (0.0, 1.0)
    } else {
        (lo, hi)
    }
}

/// The common colour scale of a picture: the range of its panels without a scale of their own.
fn scale_of(p: &Picture) -> (f32, f32) {
    range_of(p.panels.iter().filter(|q| q.own_scale.is_none()))
}

/// 8-bit level of `v` between `lo` and `hi` (0 for a non-finite value).
fn level(v: f32, lo: f32, hi: f32) -> u8 {
    if !v.is_finite() || hi <= lo {
        return 0;
    }
    (((v - lo) / (hi - lo)) * 255.0).round().clamp(0.0, 255.0) as u8
}

/// Level of a scatter point: the lowest weight at [`POINT_FLOOR`] so that every point stands out
/// from the panel's background (level 0); all at 255 when the weights are equal (a single hit).
fn point_level(v: f32, lo: f32, hi: f32) -> u8 {
    if hi <= lo {
        return 255;
    }
    let l = level(v, lo, hi) as u32;
    (POINT_FLOOR as u32 + l * (255 - POINT_FLOOR as u32) / 255) as u8
}

/// Lowest level a scatter point is drawn at.
const POINT_FLOOR: u8 = 48;

fn b64(bytes: &[u8]) -> String {
    base64::encode(bytes)
}

fn picture_json(p: &Picture) -> serde_json::Value {
    let common = scale_of(p);
    let panels: Vec<serde_json::Value> = p
        .panels
        .iter()
        .map(|panel| {
            let (lo, hi) = match panel.own_scale {
                Some(_) => range_of(std::iter::once(panel)),
                None => common,
            };
            let mut v = match &panel.kind {
                PanelKind::Image {
                    width,
                    height,
                    pixels,
                } => {
                    let q: Vec<u8> = pixels.iter().map(|&x| level(x, lo, hi)).collect();
                    serde_json::json!({"kind": "image", "w": width, "h": height, "data": b64(&q)})
                }
                PanelKind::Scatter {
                    x_range,
                    y_range,
                    cell,
                    points,
                } => {
                    let bytes: Vec<u8> = points
                        .iter()
                        .flat_map(|q| {
                            let mut b = [0u8; 12];
                            b[..4].copy_from_slice(&q[0].to_le_bytes());
                            b[4..8].copy_from_slice(&q[1].to_le_bytes());
                            b[8..]
                                .copy_from_slice(&(point_level(q[2], lo, hi) as f32).to_le_bytes());
                            b
                        })
                        .collect();
                    serde_json::json!({"kind": "scatter", "x": x_range, "y": y_range,
                        "cell": cell, "n": points.len(), "data": b64(&bytes)})
                }
            };
            v["title"] = panel.title.clone().into();
            v["axes"] = serde_json::json!(panel.axes);
            v["marks"] = serde_json::to_value(&panel.marks).unwrap_or_default();
            v["path"] = serde_json::json!(panel.path);
            if let Some(what) = &panel.own_scale {
                v["own"] = serde_json::json!({"scale": what, "lo": lo, "hi": hi});
            }
            v
        })
        .collect();
    serde_json::json!({"panels": panels, "lo": common.0, "hi": common.1, "scale": p.scale})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(v: Vec<f32>) -> Picture {
        Picture {
            panels: vec![Panel {
                title: "p".into(),
                axes: ["x".into(), "y".into()],
                kind: PanelKind::Image {
                    width: v.len(),
                    height: 1,
                    pixels: v,
                },
                marks: vec![],
                path: vec![],
                own_scale: None,
            }],
            scale: "grey".into(),
        }
    }

    #[test]
    fn rows_come_most_wrong_first_and_pictures_respect_the_budget() {
        let mut b = Browser::new("t", vec![Column::number("s", 2), Column::category("c")], "");
        for (i, w) in [0.1, f64::NAN, 0.9, -0.5].into_iter().enumerate() {
            b.push(
                vec![Cell::Num(i as f64), Cell::Text(format!("k{i}"))],
                w,
                Some(image(vec![0.0, i as f32 + 1.0])),
            );
        }
        let (t, p) = b.to_json();
        let t: serde_json::Value = serde_json::from_str(&t).unwrap();
        let order: Vec<f64> = t["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r[0].as_f64().unwrap())
            .collect();
        assert_eq!(order, [2.0, 0.0, 3.0, 1.0]);
        assert_eq!(t["with_pictures"], 4);
        let p: serde_json::Value = serde_json::from_str(&p).unwrap();
        // The common scale spans the event's values; levels are 0 and 255 at its ends.
        assert_eq!(p[0]["hi"], 3.0);
        assert_eq!(
            base64::decode(p[0]["panels"][0]["data"].as_str().unwrap()).unwrap(),
            [0, 255]
        );
        let one = picture_json(&image(vec![0.0, 1.0])).to_string().len();
        b.picture_budget_bytes = 2 * one + one / 2;
        let (t, p) = b.to_json();
        let t: serde_json::Value = serde_json::from_str(&t).unwrap();
        let p: serde_json::Value = serde_json::from_str(&p).unwrap();
        assert_eq!(t["with_pictures"], 2);
        assert_eq!(t["with_picture_data"], 4);
        assert!(p[0].is_object() && p[1].is_object() && p[2].is_null() && p[3].is_null());
    }

    #[test]
    fn selections_rank_wrong_events_by_their_margin() {
        let t = |c: Cell| match c {
            Cell::Text(s) => s,
            Cell::Num(_) => unreachable!(),
        };
        let (p, o, w) = selection(true, 0.2, 0.5);
        assert_eq!((t(p), t(o)), ("fail".into(), "wrong".into()));
        assert!((w - 0.3).abs() < 1e-12);
        let (p, o, w) = selection(false, 0.9, 0.5);
        assert_eq!((t(p), t(o)), ("pass".into(), "wrong".into()));
        assert!((w - 0.4).abs() < 1e-12);
        let (p, o, w) = selection(true, 0.5, 0.5);
        assert_eq!((t(p), t(o)), ("pass".into(), "right".into()));
        assert_eq!(w, 0.0);
        let (_, o, w) = selection(false, 0.1, 0.5);
        assert_eq!(t(o), "right");
        assert!((w + 0.4).abs() < 1e-12);
    }

    #[test]
    fn levels_and_cells() {
        assert_eq!(level(0.5, 0.0, 1.0), 128);
        assert_eq!(level(f32::NAN, 0.0, 1.0), 0);
        assert_eq!(level(2.0, 1.0, 1.0), 0);
        assert_eq!(serde_json::to_string(&Cell::Num(f64::NAN)).unwrap(), "null");
        assert_eq!(
            serde_json::to_string(&Cell::Text("a".into())).unwrap(),
            "\"a\""
        );
        assert_eq!(scale_of(&Picture::default()), (0.0, 1.0));
        assert_eq!(point_level(1.0, 1.0, 1.0), 255);
        assert_eq!(point_level(0.0, 0.0, 1.0), POINT_FLOOR);
        assert_eq!(point_level(1.0, 0.0, 1.0), 255);
    }
}
