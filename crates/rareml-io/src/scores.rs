//! Scores files (`rareml.scores.v1`): a trained network's outputs on the events of an input file —
//! what `predict` writes (one file per shard) and what `predict --merge` joins.
//!
//! ```text
//! attrs on /: schema = "rareml.scores.v1", experiment, run, run_id, code_version, source,
//!             source_events, first_event, end_event, shard ("I/N", "all" or "merged"),
//!             columns ("C30,C60,C100,background" / "signal" / "energy_gev,distance_cm"), members,
//!             ensemble ("last" / "mean"), threshold (NaN without a working point)
//! /events/index     int64   (N)        event index in the source file
//! /events/id        int64   (N)        the format's event id (−1 where it has none)
//! /events/status    uint8   (N)        0 scored, 1 set aside (nothing to show: no charge, no hit)
//! /outputs/members  float32 (N, K, C)  each ensemble member's probabilities or regression values
//! /outputs/value    float32 (N, C)     the headline values (the ensemble rule: last member or mean)
//! /outputs/mean     float32 (N, C)     mean over the members
//! /outputs/std      float32 (N, C)     sample standard deviation over the members (0 for one)
//! /scores/signal    float64 (N)        classification: the headline signal score
//! /scores/pass      uint8   (N)        classification: signal ≥ threshold
//! ```
//!
//! Rows of set-aside events hold NaN outputs and a 0 pass flag: every event of the range has a row.

use crate::error::{Error, Result};
use crate::h5::{batch_ranges, check_schema, Ds, H5File};
use ndarray::{Array2, Array3, ArrayView1, Ix2, Ix3};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The schema name of scores files.
pub const SCHEMA: &str = "rareml.scores.v1";

/// Status of an event: scored.
pub const SCORED: u8 = 0;
/// Status of an event: set aside (nothing to score: no charge above threshold, no hit).
pub const SET_ASIDE: u8 = 1;

/// Where a scores file's rows come from.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoresMeta {
    /// Experiment of the run (`newsdm`, `pandax3`, `ship_tt`).
    pub experiment: String,
    /// The run directory, as given.
    pub run: String,
    /// Fingerprint of the run's `run.json`: files of the same run carry the same one.
    pub run_id: String,
    /// Code version that wrote the file.
    pub code_version: String,
    /// The input file, as given.
    pub source: String,
    /// Events in the input file.
    pub source_events: u64,
    /// First event of this file's range.
    pub first_event: u64,
    /// One past the last event of this file's range.
    pub end_event: u64,
    /// `I/N` for shard I of N, `all`, or `merged`.
    pub shard: String,
    /// Names of the output columns.
    pub columns: Vec<String>,
    /// Ensemble members K.
    pub members: usize,
    /// How the headline values come from the members (`last` or `mean`).
    pub ensemble: String,
    /// The working point's threshold on the signal score (`None` for a regression).
    pub threshold: Option<f64>,
}

impl ScoresMeta {
    /// Events in this file's range.
    pub fn len(&self) -> usize {
        (self.end_event - self.first_event) as usize
    }

    /// True when the range is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Rows of a scores file (a batch of consecutive events).
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreRows {
    /// Event index in the source file.
    pub index: Vec<i64>,
    /// Event id (−1 where the format has none).
    pub id: Vec<i64>,
    /// [`SCORED`] or [`SET_ASIDE`].
    pub status: Vec<u8>,
    /// `(n, K, C)` each member's outputs.
    pub members: Array3<f32>,
    /// `(n, C)` the headline outputs.
    pub value: Array2<f32>,
    /// `(n, C)` the members' mean.
    pub mean: Array2<f32>,
    /// `(n, C)` the members' spread.
    pub std: Array2<f32>,
    /// Classification: the headline signal score and the pass flag.
    pub signal: Option<(Vec<f64>, Vec<u8>)>,
}

impl ScoreRows {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True without rows.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    fn check(&self, meta: &ScoresMeta) -> std::result::Result<(), String> {
        let n = self.len();
        let (k, c) = (meta.members, meta.columns.len());
        if self.id.len() != n || self.status.len() != n {
            return Err(format!(
                "{n} indices but {} ids and {} statuses",
                self.id.len(),
                self.status.len()
            ));
        }
        if self.members.dim() != (n, k, c) {
            return Err(format!(
                "members {:?}, expected ({n}, {k}, {c})",
                self.members.dim()
            ));
        }
        for (name, a) in [
            ("value", &self.value),
            ("mean", &self.mean),
            ("std", &self.std),
        ] {
            if a.dim() != (n, c) {
                return Err(format!("{name} {:?}, expected ({n}, {c})", a.dim()));
            }
        }
        match (&self.signal, meta.threshold) {
            (Some((s, p)), Some(_)) if s.len() == n && p.len() == n => Ok(()),
            (None, None) => Ok(()),
            (Some(_), None) => Err("signal scores without a threshold".into()),
            (None, Some(_)) => Err("a threshold without signal scores".into()),
            (Some((s, p)), _) => Err(format!(
                "{} signal scores, {} pass flags for {n} rows",
                s.len(),
                p.len()
            )),
        }
    }
}

/// Writes a scores file, rows appended in batches.
pub struct ScoresWriter {
    h5: H5File,
    meta: ScoresMeta,
    written: usize,
    index: Ds,
    id: Ds,
    status: Ds,
    members: Ds,
    value: Ds,
    mean: Ds,
    std: Ds,
    signal: Option<(Ds, Ds)>,
}

impl ScoresWriter {
    /// Creates (truncates) `path` for the rows `meta.first_event .. meta.end_event`.
    pub fn create(path: impl AsRef<Path>, meta: &ScoresMeta) -> Result<Self> {
        if meta.columns.is_empty() || meta.members == 0 || meta.end_event < meta.first_event {
            return Err(Error::InvalidInput {
                what: "scores file",
                reason: format!(
                    "{}: {} columns, {} members, events {}..{}: expected ≥ 1 column and member and an ordered range",
                    path.as_ref().display(),
                    meta.columns.len(),
                    meta.members,
                    meta.first_event,
                    meta.end_event
                ),
            });
        }
        let h5 = H5File::create(path)?;
        let root = h5.group_create("/")?;
        h5.set_attr_str(&root, "/", "schema", SCHEMA)?;
        for (name, v) in [
            ("experiment", &meta.experiment),
            ("run", &meta.run),
            ("run_id", &meta.run_id),
            ("code_version", &meta.code_version),
            ("source", &meta.source),
            ("shard", &meta.shard),
            ("ensemble", &meta.ensemble),
        ] {
            h5.set_attr_str(&root, "/", name, v)?;
        }
        h5.set_attr_str(&root, "/", "columns", &meta.columns.join(","))?;
        for (name, v) in [
            ("source_events", meta.source_events),
            ("first_event", meta.first_event),
            ("end_event", meta.end_event),
            ("members", meta.members as u64),
        ] {
            h5.set_attr_f64(&root, "/", name, v as f64)?;
        }
        h5.set_attr_f64(&root, "/", "threshold", meta.threshold.unwrap_or(f64::NAN))?;
        let (k, c) = (meta.members, meta.columns.len());
        let signal = match meta.threshold {
            Some(_) => Some((
                h5.create_appendable::<f64>("scores/signal", &[])?,
                h5.create_appendable::<u8>("scores/pass", &[])?,
            )),
            None => None,
        };
        Ok(Self {
            index: h5.create_appendable::<i64>("events/index", &[])?,
            id: h5.create_appendable::<i64>("events/id", &[])?,
            status: h5.create_appendable::<u8>("events/status", &[])?,
            members: h5.create_appendable::<f32>("outputs/members", &[k, c])?,
            value: h5.create_appendable::<f32>("outputs/value", &[c])?,
            mean: h5.create_appendable::<f32>("outputs/mean", &[c])?,
            std: h5.create_appendable::<f32>("outputs/std", &[c])?,
            signal,
            meta: meta.clone(),
            written: 0,
            h5,
        })
    }

    /// Appends rows (checked against the file's columns, members and range first).
    pub fn append(&mut self, rows: &ScoreRows) -> Result<()> {
        let bad = |reason: String| Error::InvalidInput {
            what: "score rows",
            reason: format!("{}: {reason}", self.h5.path().display()),
        };
        rows.check(&self.meta).map_err(bad)?;
        if self.written + rows.len() > self.meta.len() {
            return Err(bad(format!(
                "{} rows after {} exceed the range of {} events",
                rows.len(),
                self.written,
                self.meta.len()
            )));
        }
        self.index
            .append(ArrayView1::from(&rows.index).into_dyn())?;
        self.id.append(ArrayView1::from(&rows.id).into_dyn())?;
        self.status
            .append(ArrayView1::from(&rows.status).into_dyn())?;
        self.members.append(rows.members.view().into_dyn())?;
        self.value.append(rows.value.view().into_dyn())?;
        self.mean.append(rows.mean.view().into_dyn())?;
        self.std.append(rows.std.view().into_dyn())?;
        if let (Some((s, p)), Some((ds, dp))) = (&rows.signal, &mut self.signal) {
            ds.append(ArrayView1::from(s).into_dyn())?;
            dp.append(ArrayView1::from(p).into_dyn())?;
        }
        self.written += rows.len();
        Ok(())
    }

    /// Rows written so far.
    pub fn len(&self) -> usize {
        self.written
    }

    /// True when no row has been written.
    pub fn is_empty(&self) -> bool {
        self.written == 0
    }

    /// Checks every event of the range has its row, flushes and closes the file.
    pub fn finish(self) -> Result<()> {
        if self.written != self.meta.len() {
            return Err(Error::InvalidInput {
                what: "scores file",
                reason: format!(
                    "{}: {} rows written for the {} events {}..{}",
                    self.h5.path().display(),
                    self.written,
                    self.meta.len(),
                    self.meta.first_event,
                    self.meta.end_event
                ),
            });
        }
        self.h5.ctx("/", "flushing", self.h5.file.flush())
    }
}

/// A scores file opened for reading.
pub struct ScoresFile {
    h5: H5File,
    meta: ScoresMeta,
    index: Ds,
    id: Ds,
    status: Ds,
    members: Ds,
    value: Ds,
    mean: Ds,
    std: Ds,
    signal: Option<(Ds, Ds)>,
}

impl ScoresFile {
    /// Opens a scores file and checks its schema, attributes and dataset shapes.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let h5 = H5File::open(path)?;
        check_schema(&h5, SCHEMA)?;
        let text = |name: &str| -> Result<String> {
            h5.attr_string("/", name)?
                .ok_or_else(|| h5.missing(&format!("/@{name}"), "attribute", ""))
        };
        let number = |name: &str| -> Result<f64> {
            match h5.attr_f64s("/", name)?.as_deref() {
                Some([v]) => Ok(*v),
                Some(v) => Err(h5.invalid(
                    &format!("/@{name}"),
                    format!("expected one number, found {v:?}"),
                )),
                None => Err(h5.missing(&format!("/@{name}"), "attribute", "")),
            }
        };
        let count = |name: &str| -> Result<u64> {
            let v = number(name)?;
            if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < 2f64.powi(53) {
                Ok(v as u64)
            } else {
                Err(h5.invalid(&format!("/@{name}"), format!("{v}: expected a count")))
            }
        };
        let threshold = number("threshold")?;
        let meta = ScoresMeta {
            experiment: text("experiment")?,
            run: text("run")?,
            run_id: text("run_id")?,
            code_version: text("code_version")?,
            source: text("source")?,
            source_events: count("source_events")?,
            first_event: count("first_event")?,
            end_event: count("end_event")?,
            shard: text("shard")?,
            columns: text("columns")?.split(',').map(str::to_string).collect(),
            members: count("members")? as usize,
            ensemble: text("ensemble")?,
            threshold: (!threshold.is_nan()).then_some(threshold),
        };
        if meta.end_event < meta.first_event
            || meta.end_event > meta.source_events
            || meta.members == 0
        {
            return Err(h5.invalid(
                "/",
                format!(
                    "events {}..{} of {} with {} members: expected an ordered range inside the source and ≥ 1 member",
                    meta.first_event, meta.end_event, meta.source_events, meta.members
                ),
            ));
        }
        let n = meta.len();
        let (k, c) = (meta.members, meta.columns.len());
        let rows = |name: &str, tail: &[usize]| -> Result<Ds> {
            let d = h5.dataset(name)?;
            let mut want = vec![n];
            want.extend_from_slice(tail);
            if d.shape != want {
                return Err(h5.invalid(name, format!("shape {:?}, expected {want:?}", d.shape)));
            }
            Ok(d)
        };
        let signal = match meta.threshold {
            Some(_) => Some((rows("scores/signal", &[])?, rows("scores/pass", &[])?)),
            None => None,
        };
        Ok(Self {
            index: rows("events/index", &[])?,
            id: rows("events/id", &[])?,
            status: rows("events/status", &[])?,
            members: rows("outputs/members", &[k, c])?,
            value: rows("outputs/value", &[c])?,
            mean: rows("outputs/mean", &[c])?,
            std: rows("outputs/std", &[c])?,
            signal,
            meta,
            h5,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        self.h5.path()
    }

    /// Where the rows come from.
    pub fn meta(&self) -> &ScoresMeta {
        &self.meta
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.meta.len()
    }

    /// True without rows.
    pub fn is_empty(&self) -> bool {
        self.meta.is_empty()
    }

    /// Reads rows `range` (positions in this file, not event indices).
    pub fn read(&self, range: Range<usize>) -> Result<ScoreRows> {
        let v2 = |d: &Ds| -> Result<Array2<f32>> {
            d.read_rows::<f32>(range.clone())?
                .into_dimensionality::<Ix2>()
                .map_err(|e| d.invalid(e.to_string()))
        };
        let members = self
            .members
            .read_rows::<f32>(range.clone())?
            .into_dimensionality::<Ix3>()
            .map_err(|e| self.members.invalid(e.to_string()))?;
        let signal = match &self.signal {
            Some((s, p)) => Some((column(s, &range)?, column(p, &range)?)),
            None => None,
        };
        Ok(ScoreRows {
            index: column(&self.index, &range)?,
            id: column(&self.id, &range)?,
            status: column(&self.status, &range)?,
            members,
            value: v2(&self.value)?,
            mean: v2(&self.mean)?,
            std: v2(&self.std)?,
            signal,
        })
    }
}

/// Rows `range` of a 1-D dataset.
fn column<T: hdf5::H5Type>(d: &Ds, range: &Range<usize>) -> Result<Vec<T>> {
    Ok(d.read_rows::<T>(range.clone())?.into_raw_vec_and_offset().0)
}

/// Joins the shard files of one run and input into `out`: the shards must carry the same run,
/// source, columns and members and cover every event of the source exactly once (a gap or an
/// overlap is an error naming the ranges). The merged datasets equal an unsharded run's.
pub fn merge(out: impl AsRef<Path>, shards: &[PathBuf]) -> Result<ScoresMeta> {
    let out = out.as_ref();
    let mut files = shards
        .iter()
        .map(ScoresFile::open)
        .collect::<Result<Vec<_>>>()?;
    let first = files.first().ok_or_else(|| Error::InvalidInput {
        what: "shards to merge",
        reason: format!("{}: no shard files given", out.display()),
    })?;
    let reference = first.meta().clone();
    let mismatch = |f: &ScoresFile, what: &str, a: &str, b: &str| Error::InvalidInput {
        what: "shards to merge",
        reason: format!(
            "{} has {what} {a:?} but {} has {b:?}: shards of different runs or inputs",
            f.path().display(),
            shards[0].display()
        ),
    };
    for f in &files[1..] {
        let m = f.meta();
        for (what, a, b) in [
            ("run id", &m.run_id, &reference.run_id),
            ("experiment", &m.experiment, &reference.experiment),
            ("source", &m.source, &reference.source),
            ("ensemble", &m.ensemble, &reference.ensemble),
        ] {
            if a != b {
                return Err(mismatch(f, what, a, b));
            }
        }
        if m.source_events != reference.source_events
            || m.columns != reference.columns
            || m.members != reference.members
            || m.threshold.map(f64::to_bits) != reference.threshold.map(f64::to_bits)
        {
            return Err(mismatch(
                f,
                "source events, columns, members or threshold",
                &format!(
                    "{} {:?} {} {:?}",
                    m.source_events, m.columns, m.members, m.threshold
                ),
                &format!(
                    "{} {:?} {} {:?}",
                    reference.source_events,
                    reference.columns,
                    reference.members,
                    reference.threshold
                ),
            ));
        }
    }
    files.sort_by_key(|f| (f.meta().first_event, f.meta().end_event));
    let mut next = 0u64;
    let mut problems = Vec::new();
    for f in &files {
        let m = f.meta();
        if m.first_event > next {
            problems.push(format!("events {next}..{} are in no shard", m.first_event));
        } else if m.first_event < next {
            problems.push(format!(
                "events {}..{} are in two shards (the second: {})",
                m.first_event,
                next.min(m.end_event),
                f.path().display()
            ));
        }
        next = next.max(m.end_event);
    }
    if next < reference.source_events {
        problems.push(format!(
            "events {next}..{} are in no shard",
            reference.source_events
        ));
    }
    if !problems.is_empty() {
        return Err(Error::InvalidInput {
            what: "shards to merge",
            reason: format!(
                "{}: the shards do not cover the {} events exactly once: {}",
                out.display(),
                reference.source_events,
                problems.join("; ")
            ),
        });
    }
    let meta = ScoresMeta {
        first_event: 0,
        end_event: reference.source_events,
        shard: "merged".into(),
        ..reference
    };
    let mut w = ScoresWriter::create(out, &meta)?;
    for f in &files {
        for r in batch_ranges(f.len(), 1 << 16) {
            w.append(&f.read(r)?)?;
        }
    }
    w.finish()?;
    Ok(meta)
}
