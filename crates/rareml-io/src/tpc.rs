//! PandaX-III TPC events: zero-suppressed Micromegas strip waveforms, stored in the `rareml.tpc.v1`
//! schema (DESIGN §3, `docs/data-formats.md`): per event a variable number of (strip id, T int16
//! samples) signals, columnar, with a readout table and per-event truth where known.
//!
//! Mirrors REST-for-Physics' `TRestRawSignalEvent` (a list of signal id + samples). Reads are
//! streamed: event metadata (ids, offsets, labels, truth: a few bytes per event) is loaded on open,
//! waveforms are read by hyperslab per event or batch of events.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use ndarray::{Array2, ArrayView1, ArrayView2, Ix2};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::h5::{
    batch_ranges, check_offsets, check_schema, required_f64, Dim, Ds, H5File, F32, I16, I32, I64,
    I8, U8,
};

/// Schema name stored in the root attribute `schema` (the contract).
pub const SCHEMA: &str = "rareml.tpc.v1";

/// Samples per waveform of the PandaX-III electronics (AGET-based, 512-cell switched capacitor array).
pub const PANDAX3_SAMPLES: usize = 512;

/// Sampling period of the PandaX-III electronics in ns (5 MHz; PandaX-III CDR, Chen et al. 2017).
pub const PANDAX3_SAMPLING_NS: f64 = 200.0;

/// Electron drift velocity in mm/µs in 10 bar Xe + 1 % TMA at 1 kV/cm (PandaX-III CDR).
pub const PANDAX3_DRIFT_VELOCITY_MM_PER_US: f64 = 1.87;

/// Micromegas strip pitch in mm (PandaX-III CDR: 64 X + 64 Y strips on a 20×20 cm² module).
pub const PANDAX3_PITCH_MM: f64 = 3.0;

/// Strips per axis on one 20×20 cm² Micromegas module (PandaX-III CDR).
pub const PANDAX3_STRIPS_PER_AXIS: usize = 64;

/// Which coordinate a strip measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum StripAxis {
    /// An X strip: measures x (its signals form the XZ projection).
    X = 0,
    /// A Y strip: measures y (its signals form the YZ projection).
    Y = 1,
}

impl StripAxis {
    /// From the stored code (0 = X, 1 = Y).
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::X),
            1 => Some(Self::Y),
            _ => None,
        }
    }
}

/// The readout table: what each strip id measures and where.
#[derive(Clone, Debug, PartialEq)]
pub struct Readout {
    strip_id: Vec<i32>,
    axis: Vec<StripAxis>,
    position_mm: Vec<f32>,
    index: HashMap<i32, usize>,
}

impl Readout {
    /// Builds a readout; ids must be unique, the three columns of equal length, positions finite.
    pub fn new(strip_id: Vec<i32>, axis: Vec<StripAxis>, position_mm: Vec<f32>) -> Result<Self> {
        let bad = |reason: String| Error::InvalidInput {
            what: "TPC readout",
            reason,
        };
        if strip_id.len() != axis.len() || strip_id.len() != position_mm.len() {
            return Err(bad(format!(
                "{} strip ids, {} axes, {} positions: expected equal lengths",
                strip_id.len(),
                axis.len(),
                position_mm.len()
            )));
        }
        let mut index = HashMap::with_capacity(strip_id.len());
        for (i, &id) in strip_id.iter().enumerate() {
            if index.insert(id, i).is_some() {
                return Err(bad(format!("strip id {id} appears twice")));
            }
            if !position_mm[i].is_finite() {
                return Err(bad(format!(
                    "strip id {id} has position {} mm",
                    position_mm[i]
                )));
            }
        }
        Ok(Self {
            strip_id,
            axis,
            position_mm,
            index,
        })
    }

    /// One PandaX-III Micromegas module: strip ids 0..63 are X strips, 64..127 Y strips, centred at
    /// `(i − 31.5) · 3 mm` for `i = id mod 64`.
    pub fn pandax3_module() -> Self {
        let n = PANDAX3_STRIPS_PER_AXIS;
        let strip_id: Vec<i32> = (0..2 * n as i32).collect();
        let axis = (0..2 * n)
            .map(|i| if i < n { StripAxis::X } else { StripAxis::Y })
            .collect();
        let half = (n as f64 - 1.0) / 2.0;
        let position_mm = (0..2 * n)
            .map(|i| (((i % n) as f64 - half) * PANDAX3_PITCH_MM) as f32)
            .collect();
        Self::new(strip_id, axis, position_mm).expect("valid by construction")
    }

    /// Number of strips.
    pub fn len(&self) -> usize {
        self.strip_id.len()
    }

    /// True when there are no strips.
    pub fn is_empty(&self) -> bool {
        self.strip_id.is_empty()
    }

    /// Strip ids.
    pub fn strip_ids(&self) -> &[i32] {
        &self.strip_id
    }

    /// Axis per strip.
    pub fn axes(&self) -> &[StripAxis] {
        &self.axis
    }

    /// Strip centre along its axis, in mm.
    pub fn positions_mm(&self) -> &[f32] {
        &self.position_mm
    }

    /// Row of strip `id` in the table.
    pub fn lookup(&self, id: i32) -> Option<usize> {
        self.index.get(&id).copied()
    }

    /// Axis and position (mm) of strip `id`.
    pub fn strip(&self, id: i32) -> Option<(StripAxis, f32)> {
        self.lookup(id).map(|i| (self.axis[i], self.position_mm[i]))
    }
}

/// Truth label of a TPC event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(i8)]
pub enum EventLabel {
    /// 0νββ signal.
    Signal = 1,
    /// Gamma background (Tl-208, Bi-214, ...).
    Background = 0,
    /// Unknown (real data).
    Unknown = -1,
}

impl EventLabel {
    /// From the stored code (1, 0, −1).
    pub fn from_code(code: i8) -> Option<Self> {
        match code {
            1 => Some(Self::Signal),
            0 => Some(Self::Background),
            -1 => Some(Self::Unknown),
            _ => None,
        }
    }
}

/// The signals of one event, columnar: strip ids and their waveforms.
#[derive(Clone, Debug, PartialEq)]
pub struct Signals {
    /// Strip id of each signal.
    pub strip_id: Vec<i32>,
    /// Waveforms `(S, T)` in ADC counts (int16), one row per signal.
    pub samples: Array2<i16>,
}

impl Signals {
    /// No signals, waveforms of `t` samples.
    pub fn empty(t: usize) -> Self {
        Self {
            strip_id: Vec::new(),
            samples: Array2::zeros((0, t)),
        }
    }

    /// Number of signals.
    pub fn len(&self) -> usize {
        self.strip_id.len()
    }

    /// True when the event has no signal.
    pub fn is_empty(&self) -> bool {
        self.strip_id.is_empty()
    }

    /// Sum of all samples in ADC counts (as i64, no overflow).
    pub fn samples_sum(&self) -> i64 {
        self.samples.iter().map(|&v| v as i64).sum()
    }

    /// Iterates (strip id, waveform).
    pub fn iter(&self) -> impl Iterator<Item = (i32, ArrayView1<'_, i16>)> {
        self.strip_id.iter().copied().zip(self.samples.outer_iter())
    }
}

/// One TPC event.
#[derive(Clone, Debug, PartialEq)]
pub struct TpcEvent {
    /// Event id.
    pub id: i64,
    /// Truth label.
    pub label: EventLabel,
    /// True deposited energy in keV, when known.
    pub energy_kev: Option<f32>,
    /// True vertex (x, y, z) in mm, when known.
    pub vertex_mm: Option<[f32; 3]>,
    /// The zero-suppressed signals.
    pub signals: Signals,
}

/// Detector constants stored as root attributes of a `rareml.tpc.v1` file.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TpcMeta {
    /// Sampling period in ns.
    pub sampling_ns: f64,
    /// Drift velocity in mm/µs.
    pub drift_velocity_mm_per_us: f64,
    /// Strip pitch in mm.
    pub pitch_mm: f64,
}

impl Default for TpcMeta {
    /// PandaX-III values.
    fn default() -> Self {
        Self {
            sampling_ns: PANDAX3_SAMPLING_NS,
            drift_velocity_mm_per_us: PANDAX3_DRIFT_VELOCITY_MM_PER_US,
            pitch_mm: PANDAX3_PITCH_MM,
        }
    }
}

/// An open `rareml.tpc.v1` file.
#[derive(Clone)]
pub struct TpcFile {
    h5: H5File,
    meta: TpcMeta,
    readout: Readout,
    ids: Vec<i64>,
    offsets: Vec<i64>,
    labels: Vec<EventLabel>,
    energy_kev: Vec<f32>,
    vertex_mm: Vec<[f32; 3]>,
    strip: Ds,
    samples: Ds,
}

impl std::fmt::Debug for TpcFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TpcFile")
            .field("file", &self.h5.path)
            .field("events", &self.len())
            .field("signals", &self.n_signals())
            .field("samples_per_signal", &self.samples_per_signal())
            .finish()
    }
}

impl TpcFile {
    /// Opens a file and checks its layout (schema, dtypes, shapes, offsets, labels).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let h5 = H5File::open(path)?;
        check_schema(&h5, SCHEMA)?;
        let positive = |name: &str| -> Result<f64> {
            let v = required_f64(&h5, name)?;
            if v > 0.0 {
                Ok(v)
            } else {
                Err(h5.invalid(&format!("/@{name}"), format!("{v}: expected a number > 0")))
            }
        };
        let meta = TpcMeta {
            sampling_ns: positive("sampling_ns")?,
            drift_velocity_mm_per_us: positive("drift_velocity_mm_per_us")?,
            pitch_mm: positive("pitch_mm")?,
        };

        let rid = h5.dataset("readout/strip_id")?;
        rid.expect_dtype(&[I32])?.expect_shape(&[Dim::Any("R")])?;
        let r = rid.rows();
        let raxis = h5.dataset("readout/axis")?;
        raxis
            .expect_dtype(&[U8])?
            .expect_shape(&[Dim::Any("R")])?
            .expect_rows(r, "one per readout strip")?;
        let rpos = h5.dataset("readout/position_mm")?;
        rpos.expect_dtype(&[F32])?
            .expect_shape(&[Dim::Any("R")])?
            .expect_rows(r, "one per readout strip")?;
        let axis = raxis
            .read_vec::<u8>()?
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                StripAxis::from_code(c).ok_or_else(|| {
                    raxis.invalid(format!("row {i}: axis {c}: expected 0 (X) or 1 (Y)"))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let readout = Readout::new(rid.read_vec::<i32>()?, axis, rpos.read_vec::<f32>()?).map_err(
            |e| match e {
                Error::InvalidInput { reason, .. } => h5.invalid("readout", reason),
                e => e,
            },
        )?;

        let ids_ds = h5.dataset("events/id")?;
        ids_ds
            .expect_dtype(&[I64])?
            .expect_shape(&[Dim::Any("N")])?;
        let n = ids_ds.rows();
        let off_ds = h5.dataset("events/offsets")?;
        off_ds
            .expect_dtype(&[I64])?
            .expect_shape(&[Dim::Is(n + 1)])?;
        let label_ds = h5.dataset("events/label")?;
        label_ds.expect_dtype(&[I8])?.expect_shape(&[Dim::Is(n)])?;
        let energy_ds = h5.dataset_opt("events/energy_kev")?;
        if let Some(d) = &energy_ds {
            d.expect_dtype(&[F32])?.expect_shape(&[Dim::Is(n)])?;
        }
        let vertex_ds = h5.dataset_opt("events/vertex_mm")?;
        if let Some(d) = &vertex_ds {
            d.expect_dtype(&[F32])?
                .expect_shape(&[Dim::Is(n), Dim::Is(3)])?;
        }
        let strip = h5.dataset("signals/strip_id")?;
        strip.expect_dtype(&[I32])?.expect_shape(&[Dim::Any("S")])?;
        let samples = h5.dataset("signals/samples")?;
        samples
            .expect_dtype(&[I16])?
            .expect_shape(&[Dim::Any("S"), Dim::Any("T")])?;
        samples.expect_rows(strip.rows(), "one waveform per row of signals/strip_id")?;
        if samples.shape[1] == 0 {
            return Err(samples.invalid(format!(
                "waveforms of 0 samples (shape {:?}): expected T ≥ 1",
                samples.shape
            )));
        }

        let offsets = off_ds.read_vec::<i64>()?;
        check_offsets(
            &h5,
            "events/offsets",
            &offsets,
            strip.rows(),
            "signals/strip_id",
        )?;
        let labels = label_ds
            .read_vec::<i8>()?
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                EventLabel::from_code(c).ok_or_else(|| {
                    label_ds.invalid(format!(
                        "event {i}: label {c}: expected 1 (signal), 0 (background) or -1 (unknown)"
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let energy_kev = match energy_ds {
            Some(d) => {
                let e = d.read_vec::<f32>()?;
                // NaN marks an unknown energy; ±inf and negative energies are damage.
                if let Some((i, v)) = e
                    .iter()
                    .enumerate()
                    .find(|(_, v)| v.is_infinite() || **v < 0.0)
                {
                    return Err(d.invalid(format!(
                        "event {i}: energy {v} keV: expected a finite energy ≥ 0 (NaN where unknown)"
                    )));
                }
                e
            }
            None => vec![f32::NAN; n],
        };
        let vertex_mm = match vertex_ds {
            Some(d) => {
                let v = d.read_vec::<f32>()?;
                if let Some(j) = v.iter().position(|x| x.is_infinite()) {
                    return Err(d.invalid(format!(
                        "event {}: vertex coordinate {}: expected finite mm (NaN where unknown)",
                        j / 3,
                        v[j]
                    )));
                }
                v.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect()
            }
            None => vec![[f32::NAN; 3]; n],
        };
        Ok(Self {
            h5,
            meta,
            readout,
            ids: ids_ds.read_vec::<i64>()?,
            offsets,
            labels,
            energy_kev,
            vertex_mm,
            strip,
            samples,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        self.h5.path()
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when the file holds no event.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Total number of signals over all events.
    pub fn n_signals(&self) -> usize {
        self.strip.rows()
    }

    /// Samples per waveform (T).
    pub fn samples_per_signal(&self) -> usize {
        self.samples.shape[1]
    }

    /// Detector constants from the root attributes.
    pub fn meta(&self) -> &TpcMeta {
        &self.meta
    }

    /// The readout table.
    pub fn readout(&self) -> &Readout {
        &self.readout
    }

    /// Event ids.
    pub fn ids(&self) -> &[i64] {
        &self.ids
    }

    /// Truth labels.
    pub fn labels(&self) -> &[EventLabel] {
        &self.labels
    }

    /// Number of signals of event `i` (no data read).
    pub fn signals_in(&self, i: usize) -> Result<usize> {
        self.check_index(i)?;
        Ok((self.offsets[i + 1] - self.offsets[i]) as usize)
    }

    /// Counts of (signal, background, unknown) events.
    pub fn label_counts(&self) -> (usize, usize, usize) {
        self.labels.iter().fold((0, 0, 0), |(s, b, u), l| match l {
            EventLabel::Signal => (s + 1, b, u),
            EventLabel::Background => (s, b + 1, u),
            EventLabel::Unknown => (s, b, u + 1),
        })
    }

    fn check_index(&self, i: usize) -> Result<()> {
        if i < self.len() {
            Ok(())
        } else {
            Err(Error::OutOfRange {
                file: self.h5.path.clone(),
                path: "events/id".into(),
                index: i,
                len: self.len(),
            })
        }
    }

    /// Event `i`.
    pub fn event(&self, i: usize) -> Result<TpcEvent> {
        self.check_index(i)?;
        Ok(self.read(i..i + 1)?.pop().expect("one event"))
    }

    /// Events `range`, with one hyperslab read of their signals.
    pub fn read(&self, range: Range<usize>) -> Result<Vec<TpcEvent>> {
        if range.end > self.len() || range.start > range.end {
            return Err(Error::OutOfRange {
                file: self.h5.path.clone(),
                path: "events/id".into(),
                index: range.end.saturating_sub(1),
                len: self.len(),
            });
        }
        let rows = self.offsets[range.start] as usize..self.offsets[range.end] as usize;
        let strip = self
            .strip
            .read_rows::<i32>(rows.clone())?
            .into_raw_vec_and_offset()
            .0;
        let samples = self
            .samples
            .read_rows::<i16>(rows.clone())?
            .into_dimensionality::<Ix2>()
            .map_err(|e| self.samples.invalid(e.to_string()))?;
        for (k, &id) in strip.iter().enumerate() {
            if self.readout.lookup(id).is_none() {
                return Err(self.strip.invalid(format!(
                    "row {}: strip id {id} is absent from /readout/strip_id",
                    rows.start + k
                )));
            }
        }
        let mut out = Vec::with_capacity(range.len());
        for i in range {
            let a = self.offsets[i] as usize - rows.start;
            let b = self.offsets[i + 1] as usize - rows.start;
            let e = self.energy_kev[i];
            let v = self.vertex_mm[i];
            out.push(TpcEvent {
                id: self.ids[i],
                label: self.labels[i],
                energy_kev: (!e.is_nan()).then_some(e),
                vertex_mm: v.iter().all(|x| !x.is_nan()).then_some(v),
                signals: Signals {
                    strip_id: strip[a..b].to_vec(),
                    samples: samples.slice(ndarray::s![a..b, ..]).to_owned(),
                },
            });
        }
        Ok(out)
    }

    /// Streams the events in batches of `batch_size`.
    pub fn batches(&self, batch_size: usize) -> impl Iterator<Item = Result<Vec<TpcEvent>>> + '_ {
        batch_ranges(self.len(), batch_size).map(move |r| self.read(r))
    }
}

/// Writes a `rareml.tpc.v1` file; events are appended in batches.
pub struct TpcWriter {
    h5: H5File,
    readout: Readout,
    samples_per_signal: usize,
    id: Ds,
    offsets: Ds,
    label: Ds,
    energy: Ds,
    vertex: Ds,
    strip: Ds,
    samples: Ds,
    n_signals: i64,
}

impl TpcWriter {
    /// Creates (truncates) a file with its readout and detector constants; waveforms have
    /// `samples_per_signal` samples (datasets shuffle + deflate 4).
    pub fn create(
        path: impl AsRef<Path>,
        readout: &Readout,
        meta: &TpcMeta,
        samples_per_signal: usize,
    ) -> Result<Self> {
        Self::create_with(
            path,
            readout,
            meta,
            samples_per_signal,
            crate::Compression::default(),
        )
    }

    /// [`TpcWriter::create`] with the datasets written with `compression`.
    pub fn create_with(
        path: impl AsRef<Path>,
        readout: &Readout,
        meta: &TpcMeta,
        samples_per_signal: usize,
        compression: crate::Compression,
    ) -> Result<Self> {
        if samples_per_signal == 0 {
            return Err(Error::InvalidInput {
                what: "TPC file",
                reason: "0 samples per signal".into(),
            });
        }
        for (name, v) in [
            ("sampling_ns", meta.sampling_ns),
            ("drift_velocity_mm_per_us", meta.drift_velocity_mm_per_us),
            ("pitch_mm", meta.pitch_mm),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::InvalidInput {
                    what: "TPC file",
                    reason: format!("{name} = {v}: expected a finite number > 0"),
                });
            }
        }
        let h5 = H5File::create_with(path, compression)?;
        let root = h5.group_create("/")?;
        h5.set_attr_str(&root, "/", "schema", SCHEMA)?;
        h5.set_attr_f64(&root, "/", "sampling_ns", meta.sampling_ns)?;
        h5.set_attr_f64(
            &root,
            "/",
            "drift_velocity_mm_per_us",
            meta.drift_velocity_mm_per_us,
        )?;
        h5.set_attr_f64(&root, "/", "pitch_mm", meta.pitch_mm)?;
        h5.create_appendable::<i32>("readout/strip_id", &[])?
            .append(ArrayView1::from(readout.strip_ids()).into_dyn())?;
        let axis: Vec<u8> = readout.axes().iter().map(|&a| a as u8).collect();
        h5.create_appendable::<u8>("readout/axis", &[])?
            .append(ArrayView1::from(&axis).into_dyn())?;
        h5.create_appendable::<f32>("readout/position_mm", &[])?
            .append(ArrayView1::from(readout.positions_mm()).into_dyn())?;
        let mut offsets = h5.create_appendable::<i64>("events/offsets", &[])?;
        offsets.append(ArrayView1::from(&[0i64]).into_dyn())?;
        Ok(Self {
            readout: readout.clone(),
            samples_per_signal,
            id: h5.create_appendable::<i64>("events/id", &[])?,
            offsets,
            label: h5.create_appendable::<i8>("events/label", &[])?,
            energy: h5.create_appendable::<f32>("events/energy_kev", &[])?,
            vertex: h5.create_appendable::<f32>("events/vertex_mm", &[3])?,
            strip: h5.create_appendable::<i32>("signals/strip_id", &[])?,
            samples: h5.create_appendable::<i16>("signals/samples", &[samples_per_signal])?,
            n_signals: 0,
            h5,
        })
    }

    /// Number of events written so far.
    pub fn len(&self) -> usize {
        self.id.rows()
    }

    /// True when no event has been written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends events (checked first: nothing is written if any event is invalid).
    pub fn append(&mut self, events: &[TpcEvent]) -> Result<()> {
        let t = self.samples_per_signal;
        for (k, e) in events.iter().enumerate() {
            self.check_event(e).map_err(|reason| Error::InvalidInput {
                what: "TPC event",
                reason: format!("event {k} (id {}): {reason}", e.id),
            })?;
        }
        let n_sig: usize = events.iter().map(|e| e.signals.len()).sum();
        let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
        let labels: Vec<i8> = events.iter().map(|e| e.label as i8).collect();
        let energy: Vec<f32> = events
            .iter()
            .map(|e| e.energy_kev.unwrap_or(f32::NAN))
            .collect();
        let vertex: Vec<f32> = events
            .iter()
            .flat_map(|e| e.vertex_mm.unwrap_or([f32::NAN; 3]))
            .collect();
        let mut offsets = Vec::with_capacity(events.len());
        let mut strip = Vec::with_capacity(n_sig);
        let mut samples = Vec::with_capacity(n_sig * t);
        for e in events {
            self.n_signals += e.signals.len() as i64;
            offsets.push(self.n_signals);
            strip.extend_from_slice(&e.signals.strip_id);
            samples.extend(e.signals.samples.iter().copied());
        }
        self.id.append(ArrayView1::from(&ids).into_dyn())?;
        self.label.append(ArrayView1::from(&labels).into_dyn())?;
        self.energy.append(ArrayView1::from(&energy).into_dyn())?;
        self.vertex.append(
            ArrayView2::from_shape((events.len(), 3), &vertex)
                .expect("3 per event")
                .into_dyn(),
        )?;
        self.strip.append(ArrayView1::from(&strip).into_dyn())?;
        self.samples.append(
            ArrayView2::from_shape((n_sig, t), &samples)
                .expect("T per signal")
                .into_dyn(),
        )?;
        self.offsets.append(ArrayView1::from(&offsets).into_dyn())
    }

    /// Why `e` cannot be appended (samples not `(S, T)` for its S strip ids, a strip id not in
    /// the readout), or `Ok` — the check [`TpcWriter::append`] makes of every event.
    pub fn check_event(&self, e: &TpcEvent) -> std::result::Result<(), String> {
        let t = self.samples_per_signal;
        let s = e.signals.strip_id.len();
        if e.signals.samples.dim() != (s, t) {
            return Err(format!(
                "samples {:?} for {s} strip ids: expected ({s}, {t})",
                e.signals.samples.dim()
            ));
        }
        if let Some(id) = e
            .signals
            .strip_id
            .iter()
            .find(|&&id| self.readout.lookup(id).is_none())
        {
            return Err(format!("strip id {id} is not in the readout"));
        }
        if let Some(v) = e.energy_kev.filter(|v| v.is_infinite() || *v < 0.0) {
            return Err(format!(
                "energy {v} keV: expected a finite energy ≥ 0 (None or NaN where unknown)"
            ));
        }
        if let Some(v) = e.vertex_mm.filter(|v| v.iter().any(|x| x.is_infinite())) {
            return Err(format!("vertex {v:?} mm: expected finite coordinates"));
        }
        Ok(())
    }

    /// Flushes and closes the file.
    pub fn finish(self) -> Result<()> {
        self.h5.ctx("/", "flushing", self.h5.file.flush())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pandax3_module_readout() {
        let r = Readout::pandax3_module();
        assert_eq!(r.len(), 128);
        assert_eq!(r.strip(0), Some((StripAxis::X, -94.5)));
        assert_eq!(r.strip(63), Some((StripAxis::X, 94.5)));
        assert_eq!(r.strip(64), Some((StripAxis::Y, -94.5)));
        assert_eq!(r.strip(128), None);
    }

    #[test]
    fn readout_rejects_duplicates_and_mismatched_columns() {
        let e = Readout::new(vec![1, 1], vec![StripAxis::X; 2], vec![0.0; 2]).unwrap_err();
        assert!(e.to_string().contains("strip id 1 appears twice"), "{e}");
        assert!(Readout::new(vec![1], vec![StripAxis::X; 2], vec![0.0]).is_err());
        assert!(Readout::new(vec![1], vec![StripAxis::X], vec![f32::NAN]).is_err());
    }

    #[test]
    fn codes_roundtrip() {
        for l in [
            EventLabel::Signal,
            EventLabel::Background,
            EventLabel::Unknown,
        ] {
            assert_eq!(EventLabel::from_code(l as i8), Some(l));
        }
        assert_eq!(EventLabel::from_code(2), None);
        assert_eq!(StripAxis::from_code(2), None);
        let s = Signals {
            strip_id: vec![1, 2],
            samples: Array2::from_elem((2, 3), i16::MAX),
        };
        assert_eq!(s.samples_sum(), 6 * i16::MAX as i64);
        assert!(Signals::empty(512).is_empty());
    }
}
