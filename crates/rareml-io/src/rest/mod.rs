//! REST-for-Physics ROOT files (PandaX-III, `restManager` output) read without ROOT or REST:
//! the objects the file holds, its readout ([`readout`]) and the raw-signal events of its
//! `EventTree`, exactly as stored (signal ids and int16 samples; no baseline subtraction — that
//! is preprocessing).
//!
//! Everything is read by [`crate::root`], this crate's own ROOT reader, following the file's own
//! class descriptions; the samples (`fSignal.fSignalData`, a `vector<vector<Short_t>>` inside
//! the split `vector<TRestRawSignal>`) are decoded from the branch's entries: a byte count (bit
//! `0x40000000` set) and a version, then per signal an `i32` length and that many big-endian
//! `i16`. Damaged or unsupported data is an [`Error::Invalid`] naming the file, the object and
//! the byte offset.
//!
//! ```no_run
//! use rareml_io::rest::RestFile;
//! let mut f = RestFile::open("run.root")?;
//! for o in f.objects() {
//!     println!("{} ({})", o.name, o.class);
//! }
//! if let Some(r) = f.readout()? {
//!     println!("{}: {} modules, {} channels", r.name, r.modules, r.channels.len());
//! }
//! f.for_each_raw_signal_batch(256, |events| {
//!     for e in events {
//!         println!("event {}: {} signals × {} samples", e.event_id, e.signal_ids.len(), e.samples_per_signal);
//!     }
//!     Ok(())
//! })?;
//! # Ok::<(), rareml_io::Error>(())
//! ```

pub mod readout;

use crate::error::{Error, Result};
use crate::root::tree::{Branch, Entries, Tree};
use crate::root::RootFile;
use crate::tpc::{EventLabel, Readout, Signals, StripAxis, TpcEvent, TpcMeta, TpcWriter};
use ndarray::Array2;
pub use readout::{ReadoutChannel, RestReadout};
use std::path::{Path, PathBuf};

/// Name of the tree holding the events.
pub const EVENT_TREE: &str = "EventTree";
/// Name of the raw-signal event branch.
pub const RAW_SIGNAL_BRANCH: &str = "TRestRawSignalEventBranch";

/// One object stored in the file's top directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestObject {
    /// Its key name (e.g. `PandaReadout_MxM`).
    pub name: String,
    /// Its ROOT class (e.g. `TRestReadout`, `TTree`).
    pub class: String,
}

/// One raw-signal event (`TRestRawSignalEvent`) as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSignalEvent {
    /// Entry number in `EventTree`.
    pub entry: u64,
    /// `fEventID`.
    pub event_id: i32,
    /// `fSubEventID`.
    pub sub_event_id: i32,
    /// `fRunOrigin`: the run number the event came from.
    pub run_origin: i32,
    /// `fEventTime.fSec`: seconds since the Unix epoch.
    pub time_s: i32,
    /// `fEventTime.fNanoSec`: nanoseconds within the second.
    pub time_ns: i32,
    /// DAQ signal id of each signal (`fSignal.fSignalID`).
    pub signal_ids: Vec<i32>,
    /// Samples per signal (equal for every signal of the event).
    pub samples_per_signal: usize,
    /// ADC samples, signal-major: signal k is `samples[k·n .. (k+1)·n]` with n = `samples_per_signal`.
    pub samples: Vec<i16>,
}

impl RawSignalEvent {
    /// The samples of signal `k`.
    pub fn signal(&self, k: usize) -> &[i16] {
        let n = self.samples_per_signal;
        &self.samples[k * n..(k + 1) * n]
    }
}

/// An open REST ROOT file.
pub struct RestFile {
    path: PathBuf,
    file: RootFile,
    objects: Vec<RestObject>,
}

/// True when `path` starts with ROOT's `root` signature.
pub fn is_root_file(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::metadata(path).is_ok_and(|m| m.is_file())
        && std::fs::File::open(path)
            .and_then(|mut f| f.read_exact(&mut magic))
            .is_ok()
        && &magic == b"root"
}

impl RestFile {
    /// Opens a ROOT file and lists its objects. A file that is not ROOT (no `root` magic), a
    /// truncated one or a damaged header is an error naming the file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        crate::error::regular_file(&path)?;
        if !is_root_file(&path) {
            return Err(Error::Invalid {
                file: path.clone(),
                path: "/".into(),
                reason: "not a ROOT file (no \"root\" signature at the start)".into(),
            });
        }
        let file = RootFile::open(&path).map_err(|reason| Error::Invalid {
            file: path.clone(),
            path: "/".into(),
            reason,
        })?;
        let objects = file
            .keys()
            .iter()
            .map(|k| RestObject {
                name: k.name.clone(),
                class: k.class.clone(),
            })
            .collect();
        Ok(Self {
            path,
            file,
            objects,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The objects of the top directory (trees, the run, the processes' metadata, the readout, …).
    pub fn objects(&self) -> &[RestObject] {
        &self.objects
    }

    /// The underlying ROOT file (keys, class descriptions, any object decoded).
    pub fn root(&self) -> &RootFile {
        &self.file
    }

    fn invalid(&self, object: &str, reason: String) -> Error {
        Error::Invalid {
            file: self.path.clone(),
            path: object.to_string(),
            reason,
        }
    }

    /// The file's readout (`TRestReadout` or `TRestDetectorReadout`), decoded; `None` when the
    /// file holds none. A readout that cannot be decoded is an error naming it.
    pub fn readout(&self) -> Result<Option<RestReadout>> {
        let Some(key) = self
            .file
            .newest(|k| k.class == "TRestReadout" || k.class == "TRestDetectorReadout")
        else {
            return Ok(None);
        };
        let value = self
            .file
            .object(key)
            .map_err(|e| self.invalid(&key.name, e))?;
        RestReadout::from_object(&key.name, &key.class, &value)
            .map(Some)
            .map_err(|e| self.invalid(&key.name, e))
    }

    /// The strip readout a conversion uses: the map file `map` when given (it overrides the
    /// file's), else the file's own readout. A file without a readout, or whose readout has no
    /// strips, is an error naming it and saying to give a map.
    pub fn strip_readout(&self, map: Option<&Path>) -> Result<Readout> {
        if let Some(map) = map {
            return read_readout_map(map);
        }
        let r = self.readout()?.ok_or_else(|| {
            self.invalid(
                "/",
                "holds no readout (TRestReadout or TRestDetectorReadout): give a readout map \
                 (--readout MAP.toml: signal id → axis, position; docs/data-formats.md)"
                    .into(),
            )
        })?;
        r.to_strip_readout().map_err(|e| self.invalid(&r.name, e))
    }

    fn event_tree(&self) -> Result<Tree> {
        let key = self
            .file
            .newest(|k| k.name == EVENT_TREE && k.class == "TTree")
            .ok_or_else(|| Error::Missing {
                file: self.path.clone(),
                path: EVENT_TREE.into(),
                what: "tree",
                hint: "; a REST file written by restManager holds its events in EventTree".into(),
            })?;
        let value = self
            .file
            .object(key)
            .map_err(|e| self.invalid(EVENT_TREE, e))?;
        Tree::from_object(EVENT_TREE, &value).map_err(|e| self.invalid(EVENT_TREE, e))
    }

    /// Entries of `EventTree` and the names of its event branches (`TRest…EventBranch`).
    pub fn event_branches(&mut self) -> Result<(u64, Vec<String>)> {
        let tree = self.event_tree()?;
        let names = tree
            .branches
            .iter()
            .map(|b| b.name.clone())
            .filter(|n| n.ends_with("EventBranch"))
            .collect();
        Ok((tree.entries, names))
    }

    /// Reads every raw-signal event in order, handing them to `f` in batches of up to `batch`
    /// events (memory: one batch and one basket per branch being decoded).
    pub fn for_each_raw_signal_batch(
        &mut self,
        batch: usize,
        mut f: impl FnMut(&[RawSignalEvent]) -> Result<()>,
    ) -> Result<()> {
        if batch == 0 {
            return Err(self.invalid(
                RAW_SIGNAL_BRANCH,
                "batch 0: expected at least one event per batch".into(),
            ));
        }
        let path = self.path.clone();
        let tree = self.event_tree()?;
        let entries = tree.entries;
        let top = tree
            .branches
            .iter()
            .find(|b| b.name == RAW_SIGNAL_BRANCH)
            .ok_or_else(|| Error::Missing {
                file: path.clone(),
                path: format!("{EVENT_TREE}/{RAW_SIGNAL_BRANCH}"),
                what: "branch",
                hint: "; this file holds no raw-signal events (TRestRawSignalEvent)".into(),
            })?;
        let bpath = |name: &str| format!("{EVENT_TREE}/{RAW_SIGNAL_BRANCH}/{name}");
        let leaf = |name: &str| -> Result<&Branch> {
            let b = top.branch(name).ok_or_else(|| Error::Missing {
                file: path.clone(),
                path: bpath(name),
                what: "branch",
                hint: String::new(),
            })?;
            if b.entries < entries {
                return Err(self.invalid(
                    &bpath(name),
                    format!("holds {} entries, the tree declares {entries}", b.entries),
                ));
            }
            Ok(b)
        };
        const INTS: [&str; 5] = [
            "fEventID",
            "fSubEventID",
            "fRunOrigin",
            "fEventTime.fSec",
            "fEventTime.fNanoSec",
        ];
        let mut ints = INTS
            .iter()
            .map(|n| Ok(Entries::new(&self.file, leaf(n)?)))
            .collect::<Result<Vec<_>>>()?;
        let mut ids = Entries::new(&self.file, leaf("fSignal.fSignalID")?);
        let mut data = Entries::new(&self.file, leaf("fSignal.fSignalData")?);

        let mut out = Vec::with_capacity(batch.min(entries as usize).max(1));
        for entry in 0..entries {
            let invalid = |name: &str, reason: String| Error::Invalid {
                file: path.clone(),
                path: bpath(name),
                reason: format!("entry {entry}: {reason}"),
            };
            let mut v = [0i32; 5];
            for (k, it) in ints.iter_mut().enumerate() {
                let bytes = it
                    .next_entry()
                    .map_err(|e| invalid(INTS[k], e))?
                    .ok_or_else(|| short(&path, &bpath(INTS[k]), entry, entries))?;
                let b: [u8; 4] = bytes.try_into().map_err(|_| {
                    invalid(
                        INTS[k],
                        format!("{} bytes, a 4-byte integer expected", bytes.len()),
                    )
                })?;
                v[k] = i32::from_be_bytes(b);
            }
            let [event_id, sub_event_id, run_origin, time_s, time_ns] = v;
            let id_bytes = ids
                .next_entry()
                .map_err(|e| invalid("fSignal.fSignalID", e))?
                .ok_or_else(|| short(&path, &bpath("fSignal.fSignalID"), entry, entries))?;
            if id_bytes.len() % 4 != 0 {
                return Err(invalid(
                    "fSignal.fSignalID",
                    format!("{} bytes, not a whole number of 4-byte ids", id_bytes.len()),
                ));
            }
            let signal_ids: Vec<i32> = id_bytes
                .chunks_exact(4)
                .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            let entry_bytes = data
                .next_entry()
                .map_err(|e| invalid("fSignal.fSignalData", e))?
                .ok_or_else(|| short(&path, &bpath("fSignal.fSignalData"), entry, entries))?;
            let reason =
                |r: String| invalid("fSignal.fSignalData", format!("(event {event_id}) {r}"));
            let (lengths, samples) = decode_signal_entry(entry_bytes).map_err(reason)?;
            let n = samples_per_signal(&lengths, &signal_ids).map_err(reason)?;
            out.push(RawSignalEvent {
                entry,
                event_id,
                sub_event_id,
                run_origin,
                time_s,
                time_ns,
                signal_ids,
                samples_per_signal: n,
                samples,
            });
            if out.len() == batch {
                f(&out)?;
                out.clear();
            }
        }
        if !out.is_empty() {
            f(&out)?;
        }
        Ok(())
    }

    /// Every raw-signal event (small files; large ones: [`for_each_raw_signal_batch`](Self::for_each_raw_signal_batch)).
    pub fn raw_signal_events(&mut self) -> Result<Vec<RawSignalEvent>> {
        let mut all = Vec::new();
        self.for_each_raw_signal_batch(1024, |b| {
            all.extend_from_slice(b);
            Ok(())
        })?;
        Ok(all)
    }
}

/// The one sample count of an event's signals, or why the event is inconsistent.
fn samples_per_signal(lengths: &[usize], signal_ids: &[i32]) -> std::result::Result<usize, String> {
    if lengths.len() != signal_ids.len() {
        return Err(format!(
            "{} signal sample arrays for {} signal ids",
            lengths.len(),
            signal_ids.len()
        ));
    }
    let n = lengths.first().copied().unwrap_or(0);
    match lengths.iter().enumerate().find(|(_, &m)| m != n) {
        Some((k, &m)) => Err(format!(
            "signal {k} (id {}) has {m} samples, the first has {n}: expected one sample count per event",
            signal_ids[k]
        )),
        None => Ok(n),
    }
}

fn short(path: &Path, branch: &str, entry: u64, entries: u64) -> Error {
    Error::Invalid {
        file: path.to_path_buf(),
        path: branch.into(),
        reason: format!("ends at entry {entry}, the tree declares {entries} entries"),
    }
}

/// Largest sample count accepted per signal (a damaged length must not allocate gigabytes).
const MAX_SAMPLES_PER_SIGNAL: usize = 1 << 20;

/// Decodes one stored entry of `fSignal.fSignalData` (its byte count, version and signals) into
/// the per-signal sample counts and the samples — the basket decoder the readers use, exposed
/// for the fuzz targets (`fuzz/`); not a stable API.
#[doc(hidden)]
pub fn decode_signal_entry(entry: &[u8]) -> std::result::Result<(Vec<usize>, Vec<i16>), String> {
    // Each entry is one buffer: the byte count (flag 0x40000000) and version of the
    // vector<vector<Short_t>>, then the signals: an i32 length and that many i16, big-endian.
    fn take<'a>(b: &mut &'a [u8], n: usize, what: &str) -> std::result::Result<&'a [u8], String> {
        if b.len() < n {
            return Err(format!(
                "{what}: {n} bytes needed, {} left in the entry",
                b.len()
            ));
        }
        let (head, tail) = b.split_at(n);
        *b = tail;
        Ok(head)
    }
    fn take4(b: &mut &[u8], what: &str) -> std::result::Result<[u8; 4], String> {
        let h = take(b, 4, what)?;
        Ok([h[0], h[1], h[2], h[3]])
    }
    let mut b = entry;
    let count = u32::from_be_bytes(take4(&mut b, "byte count")?);
    if count & 0x4000_0000 == 0 {
        return Err(format!("byte count {count:#x} without the 0x40000000 flag"));
    }
    let bytes = (count & !0x4000_0000) as usize;
    if bytes != b.len() {
        return Err(format!(
            "byte count {bytes} disagrees with the {} bytes the entry holds",
            b.len()
        ));
    }
    let _version = take(&mut b, 2, "version")?;
    let (mut lengths, mut samples) = (Vec::new(), Vec::new());
    while !b.is_empty() {
        let n = i32::from_be_bytes(take4(&mut b, "signal length")?);
        if n < 0 || n as usize > MAX_SAMPLES_PER_SIGNAL {
            return Err(format!(
                "signal length {n}: expected 0..={MAX_SAMPLES_PER_SIGNAL}"
            ));
        }
        let n = n as usize;
        if 2 * n > b.len() {
            return Err(format!(
                "signal of {n} samples runs past the entry's {bytes} bytes"
            ));
        }
        let raw = take(&mut b, 2 * n, "samples")?;
        samples.extend(
            raw.chunks_exact(2)
                .map(|c| i16::from_be_bytes([c[0], c[1]])),
        );
        lengths.push(n);
    }
    Ok((lengths, samples))
}

/// One strip of a readout map file.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MapStrip {
    id: i32,
    axis: String,
    position_mm: f32,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MapFile {
    strips: Vec<MapStrip>,
}

/// Reads a readout map — which strip each DAQ signal id is — from JSON or TOML (by extension):
/// `strips = [{ id = 138, axis = "x", position_mm = -94.5 }, …]` (TOML) or
/// `{"strips": [{"id": 138, "axis": "x", "position_mm": -94.5}, …]}` (JSON). For files whose
/// readout is not in the ROOT file (or not decoded by this version).
pub fn read_readout_map(path: &Path) -> Result<Readout> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Open {
        file: path.to_path_buf(),
        source,
    })?;
    let invalid = |reason: String| Error::Invalid {
        file: path.to_path_buf(),
        path: "strips".into(),
        reason,
    };
    let map: MapFile = if path.extension().is_some_and(|e| e == "toml") {
        toml::from_str(&text).map_err(|e| invalid(format!("not a readout map: {e}")))?
    } else {
        serde_json::from_str(&text).map_err(|e| invalid(format!("not a readout map: {e}")))?
    };
    if map.strips.is_empty() {
        return Err(invalid(
            "no strips: expected one entry per signal id".into(),
        ));
    }
    let mut axes = Vec::with_capacity(map.strips.len());
    for s in &map.strips {
        axes.push(match s.axis.as_str() {
            "x" | "X" => StripAxis::X,
            "y" | "Y" => StripAxis::Y,
            other => {
                return Err(invalid(format!(
                    "strip id {}: axis {other:?}, expected \"x\" or \"y\"",
                    s.id
                )))
            }
        });
    }
    Readout::new(
        map.strips.iter().map(|s| s.id).collect(),
        axes,
        map.strips.iter().map(|s| s.position_mm).collect(),
    )
    .map_err(|e| invalid(e.to_string()))
}

/// What a conversion wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvertStats {
    /// Events written.
    pub events: usize,
    /// Signals written.
    pub signals: usize,
    /// Samples per signal.
    pub samples_per_signal: usize,
}

/// Streams every raw-signal event of `rest` into a `rareml.tpc.v1` file `out` with `readout`
/// (samples lossless, event ids kept, labels unknown, no truth), `batch` events at a time;
/// `progress(events so far)` after each batch. Every signal id must be in the readout, and every
/// event's signals must have the same sample count as the file's first (the format stores one);
/// otherwise an error names the entry. A file without any signal is written with
/// [`PANDAX3_SAMPLES`](crate::tpc::PANDAX3_SAMPLES) samples per (absent) signal.
pub fn convert_to_tpc(
    rest: &mut RestFile,
    readout: &Readout,
    meta: &TpcMeta,
    out: &Path,
    batch: usize,
    mut progress: impl FnMut(usize),
) -> Result<ConvertStats> {
    let path = rest.path().to_path_buf();
    let mut writer: Option<TpcWriter> = None;
    let mut pending: Vec<TpcEvent> = Vec::new();
    let mut stats = ConvertStats {
        events: 0,
        signals: 0,
        samples_per_signal: 0,
    };
    rest.for_each_raw_signal_batch(batch, |events| {
        for e in events {
            let invalid = |reason: String| Error::Invalid {
                file: path.clone(),
                path: format!("{EVENT_TREE}/{RAW_SIGNAL_BRANCH}/fSignal"),
                reason: format!("entry {} (event {}): {reason}", e.entry, e.event_id),
            };
            if let Some(id) = e.signal_ids.iter().find(|&&id| readout.lookup(id).is_none()) {
                return Err(invalid(format!("signal id {id} is not in the readout")));
            }
            if !e.signal_ids.is_empty() {
                if stats.samples_per_signal == 0 {
                    stats.samples_per_signal = e.samples_per_signal;
                } else if e.samples_per_signal != stats.samples_per_signal {
                    return Err(invalid(format!(
                        "{} samples per signal, the file's first event with signals has {}: rareml.tpc.v1 stores one sample count",
                        e.samples_per_signal, stats.samples_per_signal
                    )));
                }
            }
            let samples = Array2::from_shape_vec(
                (e.signal_ids.len(), e.samples_per_signal),
                e.samples.clone(),
            )
            .map_err(|err| invalid(err.to_string()))?;
            pending.push(TpcEvent {
                id: e.event_id as i64,
                label: EventLabel::Unknown,
                energy_kev: None,
                vertex_mm: None,
                signals: Signals {
                    strip_id: e.signal_ids.clone(),
                    samples,
                },
            });
            stats.events += 1;
            stats.signals += e.signal_ids.len();
        }
        if writer.is_none() && stats.samples_per_signal > 0 {
            writer = Some(TpcWriter::create(out, readout, meta, stats.samples_per_signal)?);
        }
        if let Some(w) = writer.as_mut() {
            for p in pending.iter_mut().filter(|p| p.signals.is_empty()) {
                p.signals = Signals::empty(stats.samples_per_signal);
            }
            w.append(&pending)?;
            pending.clear();
        }
        progress(stats.events);
        Ok(())
    })?;
    let w = match writer {
        Some(w) => w,
        None => {
            stats.samples_per_signal = crate::tpc::PANDAX3_SAMPLES;
            let mut w = TpcWriter::create(out, readout, meta, stats.samples_per_signal)?;
            for p in pending.iter_mut() {
                p.signals = Signals::empty(stats.samples_per_signal);
            }
            w.append(&pending)?;
            w
        }
    };
    w.finish()?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One entry of `fSignal.fSignalData`: byte count (with its flag), version 9, the signals.
    fn entry(signals: &[&[i16]]) -> Vec<u8> {
        let mut body = 9u16.to_be_bytes().to_vec();
        for s in signals {
            body.extend((s.len() as i32).to_be_bytes());
            for v in *s {
                body.extend(v.to_be_bytes());
            }
        }
        let mut out = ((body.len() as u32) | 0x4000_0000).to_be_bytes().to_vec();
        out.extend(body);
        out
    }

    use super::decode_signal_entry as decode;

    #[test]
    fn signal_data_decodes_big_endian_samples_per_signal() {
        let bytes = entry(&[&[1, -2, 300], &[7, 8, 9]]);
        assert_eq!(
            decode(&bytes).unwrap(),
            (vec![3, 3], vec![1, -2, 300, 7, 8, 9])
        );
        assert_eq!(decode(&entry(&[])).unwrap(), (vec![], vec![]));
    }

    #[test]
    fn sizes_that_disagree_with_the_entry_are_errors() {
        let good = entry(&[&[1, 2, 3]]);
        // The byte count claims more than the basket holds.
        let mut long = good.clone();
        long[3] += 10;
        assert!(
            decode(&long).unwrap_err().contains("disagrees"),
            "{:?}",
            decode(&long)
        );
        // A signal length running past the entry.
        let mut past = good.clone();
        past[9] = 200;
        assert!(decode(&past).unwrap_err().contains("runs past"));
        // A negative length.
        let mut neg = good.clone();
        neg[6] = 0xff;
        assert!(decode(&neg).unwrap_err().contains("signal length"));
        // No byte-count flag.
        let mut flag = good.clone();
        flag[0] = 0;
        assert!(decode(&flag).unwrap_err().contains("flag"));
        // A byte count one short of the last signal.
        let mut cut = good.clone();
        cut[3] -= 1;
        assert!(decode(&cut).is_err());
        // Entries too short for their fixed fields (found by the `rest_entry` fuzz target: oxyroot's
        // buffer panicked on an empty entry): errors, never a panic.
        assert!(decode(&[])
            .unwrap_err()
            .contains("byte count: 4 bytes needed, 0 left"));
        assert!(decode(&[0x40, 0, 0]).unwrap_err().contains("byte count"));
        assert!(decode(&[0x40, 0, 0, 1, 9]).unwrap_err().contains("version"));
        let mut len = good[..8].to_vec();
        len[3] = 4;
        assert!(decode(&len)
            .unwrap_err()
            .contains("signal length: 4 bytes needed, 2 left"));
    }

    #[test]
    fn events_need_one_sample_count_and_one_array_per_id() {
        assert_eq!(samples_per_signal(&[4, 4], &[1, 2]), Ok(4));
        assert_eq!(samples_per_signal(&[], &[]), Ok(0));
        let e = samples_per_signal(&[4, 5], &[10, 11]).unwrap_err();
        assert!(e.contains("signal 1 (id 11) has 5 samples"), "{e}");
        assert!(samples_per_signal(&[4], &[1, 2])
            .unwrap_err()
            .contains("1 signal sample arrays for 2"));
    }
}
