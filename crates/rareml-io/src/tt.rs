//! SHiP target-tracker (TT) events: hits of an electromagnetic shower on the TT stations, stored sparse
//! and columnar in the `rareml.tt.v1` schema (DESIGN §3, `docs/data-formats.md`); hit maps are made
//! from them at any pixel size by `rareml-preprocess`.
//!
//! Event truth (energy, vertex, distance; a few bytes per event) is loaded on open; hits are read by
//! hyperslab per event or batch of events.

use std::ops::Range;
use std::path::Path;

use ndarray::{ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::h5::{batch_ranges, check_offsets, check_schema, Dim, Ds, H5File, F32, I64, U8};

/// Schema name stored in the root attribute `schema` (the contract).
pub const SCHEMA: &str = "rareml.tt.v1";

/// Half sizes (x, y) of a TT station's sensitive area in cm: 12.9 × 10.5 cm (public SHiP
/// SND_trackers code, hit-map digitisation).
pub const SHIP_HALF_SIZE_CM: [f64; 2] = [6.45, 5.25];

/// Number of TT stations in the SHiP SND target (public SHiP SND_trackers code: 6 hit maps).
pub const SHIP_N_STATIONS: usize = 6;

/// Most stations a file may declare: `hits/station` is a uint8 index.
pub const MAX_STATIONS: usize = 256;

/// Spacing of consecutive TT stations along z in cm: 12.231 cm in the configuration "9X0" (9 X0 of
/// target between stations) of the public SHiP code (SND_trackers `parameters.json`, `TT_POSITIONS`:
/// station fronts at −3246.769, −3234.538, … cm).
pub const SHIP_9X0_STATION_PITCH_CM: f32 = 12.231;

/// z of the first TT station's centre in cm, measured from the downstream end of the brick the
/// shower starts in (z = 0): its front is 3.1945 cm behind `END_OF_BRICK` = −3249.9635 cm and it is
/// 2.33 cm thick (public SHiP code, configuration "9X0").
pub const SHIP_9X0_FIRST_STATION_CM: f32 = 4.3595;

/// The TT geometry stored with the events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TtGeometry {
    /// z of each station in cm (K stations).
    pub station_z_cm: Vec<f32>,
    /// Half sizes (x, y) of the station area in cm.
    pub half_size_cm: [f64; 2],
}

impl TtGeometry {
    /// The SHiP TT of the configuration "9X0": 6 stations [`SHIP_9X0_STATION_PITCH_CM`] apart, the
    /// first at [`SHIP_9X0_FIRST_STATION_CM`] behind the vertex brick's end (z = 0), area 12.9 × 10.5 cm.
    pub fn ship() -> Self {
        Self {
            station_z_cm: (0..SHIP_N_STATIONS)
                .map(|k| SHIP_9X0_FIRST_STATION_CM + k as f32 * SHIP_9X0_STATION_PITCH_CM)
                .collect(),
            half_size_cm: SHIP_HALF_SIZE_CM,
        }
    }

    /// Number of stations.
    pub fn n_stations(&self) -> usize {
        self.station_z_cm.len()
    }
}

/// The hits of one event, columnar.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Hits {
    /// x of each hit in cm.
    pub x_cm: Vec<f32>,
    /// y of each hit in cm.
    pub y_cm: Vec<f32>,
    /// Station index (0..K−1) of each hit.
    pub station: Vec<u8>,
    /// Energy deposited by each hit in GeV (the hit's intensity).
    pub energy_gev: Vec<f32>,
}

impl Hits {
    /// Number of hits.
    pub fn len(&self) -> usize {
        self.x_cm.len()
    }

    /// True when there is no hit.
    pub fn is_empty(&self) -> bool {
        self.x_cm.is_empty()
    }

    fn check(&self) -> std::result::Result<(), String> {
        let n = self.x_cm.len();
        if self.y_cm.len() != n || self.station.len() != n || self.energy_gev.len() != n {
            return Err(format!(
                "hit columns of unequal length: x {}, y {}, station {}, energy {}",
                n,
                self.y_cm.len(),
                self.station.len(),
                self.energy_gev.len()
            ));
        }
        Ok(())
    }
}

impl FromIterator<(f32, f32, u8, f32)> for Hits {
    /// Collects hits given as (x cm, y cm, station, energy GeV).
    fn from_iter<I: IntoIterator<Item = (f32, f32, u8, f32)>>(iter: I) -> Self {
        let mut h = Hits::default();
        for (x, y, st, e) in iter {
            h.x_cm.push(x);
            h.y_cm.push(y);
            h.station.push(st);
            h.energy_gev.push(e);
        }
        h
    }
}

/// One TT event: a shower's hits and its truth.
#[derive(Clone, Debug, PartialEq)]
pub struct TtEvent {
    /// Shower energy in GeV.
    pub energy_gev: f32,
    /// Shower origin (x, y, z) in cm.
    pub vertex_cm: [f32; 3],
    /// d = z − end of brick in cm, in [−7.5, 0].
    pub distance_cm: f32,
    /// The hits.
    pub hits: Hits,
}

/// An open `rareml.tt.v1` file.
#[derive(Clone)]
pub struct TtFile {
    h5: H5File,
    geometry: TtGeometry,
    offsets: Vec<i64>,
    energy_gev: Vec<f32>,
    vertex_cm: Vec<[f32; 3]>,
    distance_cm: Vec<f32>,
    x: Ds,
    y: Ds,
    station: Ds,
    energy: Ds,
}

impl std::fmt::Debug for TtFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TtFile")
            .field("file", &self.h5.path)
            .field("events", &self.len())
            .field("hits", &self.n_hits())
            .finish()
    }
}

impl TtFile {
    /// Opens a file and checks its layout (schema, dtypes, shapes, offsets).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let h5 = H5File::open(path)?;
        check_schema(&h5, SCHEMA)?;
        let half = match h5.attr_f64s("/", "half_size_cm")? {
            Some(v) if v.len() == 2 && v.iter().all(|x| x.is_finite() && *x > 0.0) => [v[0], v[1]],
            Some(v) => {
                return Err(h5.invalid(
                    "/@half_size_cm",
                    format!("expected two positive numbers, found {v:?}"),
                ))
            }
            None => return Err(h5.missing("/@half_size_cm", "attribute", "")),
        };
        let z = h5.dataset("stations/z_cm")?;
        z.expect_dtype(&[F32])?.expect_shape(&[Dim::Any("K")])?;
        if !(1..=MAX_STATIONS).contains(&z.rows()) {
            return Err(z.invalid(format!(
                "{} stations: expected 1..={MAX_STATIONS} (hits/station is a uint8 index)",
                z.rows()
            )));
        }
        let geometry = TtGeometry {
            station_z_cm: z.read_vec::<f32>()?,
            half_size_cm: half,
        };
        if let Some((k, v)) = geometry
            .station_z_cm
            .iter()
            .enumerate()
            .find(|(_, v)| !v.is_finite())
        {
            return Err(z.invalid(format!("station {k}: z = {v} cm: expected a finite number")));
        }

        let off = h5.dataset("events/offsets")?;
        off.expect_dtype(&[I64])?.expect_shape(&[Dim::Any("N+1")])?;
        if off.rows() == 0 {
            return Err(off.invalid("offsets is empty: expected N+1 entries starting at 0"));
        }
        let n = off.rows() - 1;
        let e = h5.dataset("events/energy_gev")?;
        e.expect_dtype(&[F32])?.expect_shape(&[Dim::Is(n)])?;
        let v = h5.dataset("events/vertex_cm")?;
        v.expect_dtype(&[F32])?
            .expect_shape(&[Dim::Is(n), Dim::Is(3)])?;
        let d = h5.dataset("events/distance_cm")?;
        d.expect_dtype(&[F32])?.expect_shape(&[Dim::Is(n)])?;

        let x = h5.dataset("hits/x_cm")?;
        x.expect_dtype(&[F32])?.expect_shape(&[Dim::Any("H")])?;
        let hn = x.rows();
        let y = h5.dataset("hits/y_cm")?;
        y.expect_dtype(&[F32])?.expect_shape(&[Dim::Is(hn)])?;
        let station = h5.dataset("hits/station")?;
        station.expect_dtype(&[U8])?.expect_shape(&[Dim::Is(hn)])?;
        let energy = h5.dataset("hits/energy_gev")?;
        energy.expect_dtype(&[F32])?.expect_shape(&[Dim::Is(hn)])?;

        let offsets = off.read_vec::<i64>()?;
        check_offsets(&h5, "events/offsets", &offsets, hn, "hits/x_cm")?;
        // Truth: NaN marks an unknown value; ±inf and negative energies are damage.
        let energy_gev = e.read_vec::<f32>()?;
        if let Some((i, v)) = energy_gev
            .iter()
            .enumerate()
            .find(|(_, v)| v.is_infinite() || **v < 0.0)
        {
            return Err(e.invalid(format!(
                "event {i}: energy {v} GeV: expected a finite energy ≥ 0 (NaN where unknown)"
            )));
        }
        let vertex = v.read_vec::<f32>()?;
        let distance_cm = d.read_vec::<f32>()?;
        for (values, ds, per, unit) in [(&vertex, &v, 3, "cm"), (&distance_cm, &d, 1, "cm")] {
            if let Some(j) = values.iter().position(|x| x.is_infinite()) {
                return Err(ds.invalid(format!(
                    "event {}: {} {unit}: expected a finite number (NaN where unknown)",
                    j / per,
                    values[j]
                )));
            }
        }
        Ok(Self {
            geometry,
            offsets,
            energy_gev,
            vertex_cm: vertex.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect(),
            distance_cm,
            x,
            y,
            station,
            energy,
            h5,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        self.h5.path()
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.energy_gev.len()
    }

    /// True when the file holds no event.
    pub fn is_empty(&self) -> bool {
        self.energy_gev.is_empty()
    }

    /// Total number of hits.
    pub fn n_hits(&self) -> usize {
        self.x.rows()
    }

    /// Station geometry.
    pub fn geometry(&self) -> &TtGeometry {
        &self.geometry
    }

    /// True shower energies in GeV (all events; no hit data read).
    pub fn energies_gev(&self) -> &[f32] {
        &self.energy_gev
    }

    /// True distances d in cm (all events).
    pub fn distances_cm(&self) -> &[f32] {
        &self.distance_cm
    }

    /// Number of hits of event `i` (no data read).
    pub fn hits_in(&self, i: usize) -> Result<usize> {
        self.check_range(&(i..i + 1))?;
        Ok((self.offsets[i + 1] - self.offsets[i]) as usize)
    }

    fn check_range(&self, range: &Range<usize>) -> Result<()> {
        if range.end > self.len() || range.start > range.end {
            return Err(Error::OutOfRange {
                file: self.h5.path.clone(),
                path: "events/energy_gev".into(),
                index: range.end.saturating_sub(1),
                len: self.len(),
            });
        }
        Ok(())
    }

    /// Event `i`.
    pub fn event(&self, i: usize) -> Result<TtEvent> {
        Ok(self.read(i..i + 1)?.pop().expect("one event"))
    }

    /// Events `range`, with one hyperslab read per hit column.
    pub fn read(&self, range: Range<usize>) -> Result<Vec<TtEvent>> {
        self.check_range(&range)?;
        let rows = self.offsets[range.start] as usize..self.offsets[range.end] as usize;
        let x = self
            .x
            .read_rows::<f32>(rows.clone())?
            .into_raw_vec_and_offset()
            .0;
        let y = self
            .y
            .read_rows::<f32>(rows.clone())?
            .into_raw_vec_and_offset()
            .0;
        let st = self
            .station
            .read_rows::<u8>(rows.clone())?
            .into_raw_vec_and_offset()
            .0;
        let en = self
            .energy
            .read_rows::<f32>(rows.clone())?
            .into_raw_vec_and_offset()
            .0;
        let k = self.geometry.n_stations();
        if let Some(j) = st.iter().position(|&s| s as usize >= k) {
            return Err(self.station.invalid(format!(
                "row {}: station {}: expected 0..{}",
                rows.start + j,
                st[j],
                k.saturating_sub(1)
            )));
        }
        if let Some((col, j, reason)) = hit_problem(&x, &y, &en, self.geometry.half_size_cm) {
            let ds = [&self.x, &self.y, &self.energy][col];
            return Err(ds.invalid(format!("row {}: {reason}", rows.start + j)));
        }
        Ok(range
            .map(|i| {
                let a = self.offsets[i] as usize - rows.start;
                let b = self.offsets[i + 1] as usize - rows.start;
                TtEvent {
                    energy_gev: self.energy_gev[i],
                    vertex_cm: self.vertex_cm[i],
                    distance_cm: self.distance_cm[i],
                    hits: Hits {
                        x_cm: x[a..b].to_vec(),
                        y_cm: y[a..b].to_vec(),
                        station: st[a..b].to_vec(),
                        energy_gev: en[a..b].to_vec(),
                    },
                }
            })
            .collect())
    }

    /// Streams the events in batches of `batch_size`.
    pub fn batches(&self, batch_size: usize) -> impl Iterator<Item = Result<Vec<TtEvent>>> + '_ {
        batch_ranges(self.len(), batch_size).map(move |r| self.read(r))
    }
}

/// The first hit that breaks the format's value rules, as (column: 0 x, 1 y, 2 energy; hit
/// index; what is wrong): coordinates and deposits finite, the hit inside the station
/// (|x| ≤ half_x, |y| ≤ half_y, with a relative 10⁻⁶ for the f32 rounding of a hit at the edge),
/// deposits ≥ 0. Shared by the reader and the writer.
fn hit_problem(
    x: &[f32],
    y: &[f32],
    energy: &[f32],
    half_size_cm: [f64; 2],
) -> Option<(usize, usize, String)> {
    for (col, values) in [x, y, energy].into_iter().enumerate() {
        if let Some(j) = values.iter().position(|v| !v.is_finite()) {
            return Some((
                col,
                j,
                format!("value {}: expected a finite number", values[j]),
            ));
        }
    }
    for (col, values) in [x, y].into_iter().enumerate() {
        let half = half_size_cm[col];
        let edge = half * (1.0 + 1e-6);
        if let Some(j) = values.iter().position(|v| f64::from(v.abs()) > edge) {
            let axis = ["x", "y"][col];
            return Some((
                col,
                j,
                format!(
                    "{axis} = {} cm is outside the station (|{axis}| ≤ {half} cm, /@half_size_cm)",
                    values[j]
                ),
            ));
        }
    }
    energy
        .iter()
        .position(|v| *v < 0.0)
        .map(|j| (2, j, format!("deposit {} GeV: expected ≥ 0", energy[j])))
}

/// Writes a `rareml.tt.v1` file; events are appended in batches.
pub struct TtWriter {
    h5: H5File,
    n_stations: usize,
    /// Half sizes (x, y) of the station area in cm, for the hit check.
    half_size_cm: [f64; 2],
    offsets: Ds,
    energy_gev: Ds,
    vertex: Ds,
    distance: Ds,
    x: Ds,
    y: Ds,
    station: Ds,
    energy: Ds,
    n_hits: i64,
}

impl TtWriter {
    /// Creates (truncates) a file with its geometry.
    pub fn create(path: impl AsRef<Path>, geometry: &TtGeometry) -> Result<Self> {
        Self::create_with(path, geometry, crate::Compression::default())
    }

    /// [`TtWriter::create`] with the datasets written with `compression`.
    pub fn create_with(
        path: impl AsRef<Path>,
        geometry: &TtGeometry,
        compression: crate::Compression,
    ) -> Result<Self> {
        if geometry.station_z_cm.is_empty() || geometry.n_stations() > MAX_STATIONS {
            return Err(Error::InvalidInput {
                what: "TT geometry",
                reason: format!(
                    "{} stations: expected 1..={MAX_STATIONS}",
                    geometry.n_stations()
                ),
            });
        }
        if !geometry
            .half_size_cm
            .iter()
            .all(|h| h.is_finite() && *h > 0.0)
            || !geometry.station_z_cm.iter().all(|z| z.is_finite())
        {
            return Err(Error::InvalidInput {
                what: "TT geometry",
                reason: format!(
                    "half sizes {:?} cm and station z {:?} cm: expected finite, half sizes > 0",
                    geometry.half_size_cm, geometry.station_z_cm
                ),
            });
        }
        let h5 = H5File::create_with(path, compression)?;
        let root = h5.group_create("/")?;
        h5.set_attr_str(&root, "/", "schema", SCHEMA)?;
        h5.set_attr_f64s(&root, "/", "half_size_cm", &geometry.half_size_cm)?;
        h5.create_appendable::<f32>("stations/z_cm", &[])?
            .append(ArrayView1::from(&geometry.station_z_cm).into_dyn())?;
        let mut offsets = h5.create_appendable::<i64>("events/offsets", &[])?;
        offsets.append(ArrayView1::from(&[0i64]).into_dyn())?;
        Ok(Self {
            n_stations: geometry.n_stations(),
            half_size_cm: geometry.half_size_cm,
            offsets,
            energy_gev: h5.create_appendable::<f32>("events/energy_gev", &[])?,
            vertex: h5.create_appendable::<f32>("events/vertex_cm", &[3])?,
            distance: h5.create_appendable::<f32>("events/distance_cm", &[])?,
            x: h5.create_appendable::<f32>("hits/x_cm", &[])?,
            y: h5.create_appendable::<f32>("hits/y_cm", &[])?,
            station: h5.create_appendable::<u8>("hits/station", &[])?,
            energy: h5.create_appendable::<f32>("hits/energy_gev", &[])?,
            n_hits: 0,
            h5,
        })
    }

    /// Number of events written so far.
    pub fn len(&self) -> usize {
        self.energy_gev.rows()
    }

    /// True when no event has been written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends events (checked first: nothing is written if any event is invalid).
    pub fn append(&mut self, events: &[TtEvent]) -> Result<()> {
        for (k, e) in events.iter().enumerate() {
            self.check_event(e).map_err(|reason| Error::InvalidInput {
                what: "TT event",
                reason: format!("event {k}: {reason}"),
            })?;
        }
        let cat = |f: fn(&TtEvent) -> &Vec<f32>| -> Vec<f32> {
            events.iter().flat_map(|e| f(e).iter().copied()).collect()
        };
        let x = cat(|e| &e.hits.x_cm);
        let y = cat(|e| &e.hits.y_cm);
        let en = cat(|e| &e.hits.energy_gev);
        let st: Vec<u8> = events
            .iter()
            .flat_map(|e| e.hits.station.iter().copied())
            .collect();
        let offsets: Vec<i64> = events
            .iter()
            .map(|e| {
                self.n_hits += e.hits.len() as i64;
                self.n_hits
            })
            .collect();
        let energy: Vec<f32> = events.iter().map(|e| e.energy_gev).collect();
        let vertex: Vec<f32> = events.iter().flat_map(|e| e.vertex_cm).collect();
        let distance: Vec<f32> = events.iter().map(|e| e.distance_cm).collect();
        self.energy_gev
            .append(ArrayView1::from(&energy).into_dyn())?;
        self.vertex.append(
            ArrayView2::from_shape((events.len(), 3), &vertex)
                .expect("3 per event")
                .into_dyn(),
        )?;
        self.distance
            .append(ArrayView1::from(&distance).into_dyn())?;
        self.x.append(ArrayView1::from(&x).into_dyn())?;
        self.y.append(ArrayView1::from(&y).into_dyn())?;
        self.station.append(ArrayView1::from(&st).into_dyn())?;
        self.energy.append(ArrayView1::from(&en).into_dyn())?;
        self.offsets.append(ArrayView1::from(&offsets).into_dyn())
    }

    /// Why `e` cannot be appended (hit columns of unequal length, a station beyond the
    /// geometry), or `Ok` — the check [`TtWriter::append`] makes of every event.
    pub fn check_event(&self, e: &TtEvent) -> std::result::Result<(), String> {
        e.hits.check()?;
        let h = &e.hits;
        if let Some((_, j, reason)) =
            hit_problem(&h.x_cm, &h.y_cm, &h.energy_gev, self.half_size_cm)
        {
            return Err(format!("hit {j}: {reason}"));
        }
        if e.energy_gev.is_infinite() || e.energy_gev < 0.0 {
            return Err(format!(
                "energy {} GeV: expected a finite energy ≥ 0 (NaN where unknown)",
                e.energy_gev
            ));
        }
        if e.vertex_cm
            .iter()
            .chain([&e.distance_cm])
            .any(|v| v.is_infinite())
        {
            return Err(format!(
                "vertex {:?} cm, distance {} cm: expected finite numbers (NaN where unknown)",
                e.vertex_cm, e.distance_cm
            ));
        }
        if let Some(s) = e
            .hits
            .station
            .iter()
            .find(|&&s| s as usize >= self.n_stations)
        {
            return Err(format!(
                "station {s}: the geometry has {} stations",
                self.n_stations
            ));
        }
        Ok(())
    }

    /// Flushes and closes the file.
    pub fn finish(self) -> Result<()> {
        self.h5.ctx("/", "flushing", self.h5.file.flush())
    }
}
