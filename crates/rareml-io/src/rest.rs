//! REST-for-Physics ROOT files (PandaX-III, `restManager` output) read without ROOT or REST:
//! the objects the file holds and the raw-signal events of its `EventTree`, exactly as stored
//! (signal ids and int16 samples; no baseline subtraction — that is preprocessing).
//!
//! The tree is opened with `oxyroot`; the samples (`fSignal.fSignalData`, a
//! `vector<vector<Short_t>>` inside the split `vector<TRestRawSignal>`) are decoded here from the
//! branch's entries: a byte count (bit `0x40000000` set) and a version, then per signal an `i32`
//! length and that many big-endian `i16`. Every call into `oxyroot` runs under `catch_unwind`
//! (it panics on some damaged or unsupported input): a panic becomes an [`Error::Invalid`] naming
//! the file and the branch.
//!
//! ```no_run
//! use rareml_io::rest::RestFile;
//! let mut f = RestFile::open("run.root")?;
//! for o in f.objects() {
//!     println!("{} ({})", o.name, o.class);
//! }
//! f.for_each_raw_signal_batch(256, |events| {
//!     for e in events {
//!         println!("event {}: {} signals × {} samples", e.event_id, e.signal_ids.len(), e.samples_per_signal);
//!     }
//!     Ok(())
//! })?;
//! # Ok::<(), rareml_io::Error>(())
//! ```

use crate::error::{Error, Result};
use crate::tpc::{EventLabel, Readout, Signals, StripAxis, TpcEvent, TpcMeta, TpcWriter};
use ndarray::Array2;
use oxyroot::{Branch, Named, RBuffer, ReaderTree, RootFile};
use std::panic::{catch_unwind, AssertUnwindSafe};
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

/// Runs an `oxyroot` call, turning its errors and panics into [`Error::Invalid`].
fn guarded<T, E: std::fmt::Display>(
    path: &Path,
    object: &str,
    what: &str,
    f: impl FnOnce() -> std::result::Result<T, E>,
) -> Result<T> {
    let invalid = |reason: String| Error::Invalid {
        file: path.to_path_buf(),
        path: object.to_string(),
        reason,
    };
    quiet_panics_in_guards();
    GUARDED.with(|g| g.set(g.get() + 1));
    let result = catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(g.get() - 1));
    match result {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(invalid(format!("{what}: {e}"))),
        Err(panic) => Err(invalid(format!(
            "{what}: the ROOT reader failed ({}): damaged or unsupported data",
            panic_message(&panic)
        ))),
    }
}

thread_local! {
    /// Depth of [`guarded`] calls on this thread: their panics are reported as errors, not printed.
    static GUARDED: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Installs (once) a panic hook that stays silent for panics caught by [`guarded`] on this
/// thread and hands every other panic to the previous hook unchanged.
fn quiet_panics_in_guards() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARDED.with(|g| g.get()) == 0 {
                previous(info);
            }
        }));
    });
}

/// The next item of an `oxyroot` iterator, its panic turned into [`Error::Invalid`].
fn next_guarded<I: Iterator + ?Sized>(
    path: &Path,
    object: &str,
    entry: u64,
    it: &mut I,
) -> Result<Option<I::Item>> {
    guarded(path, object, &format!("entry {entry}"), || {
        Ok::<_, std::convert::Infallible>(it.next())
    })
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
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
        let file = guarded(&path, "/", "reading the file header and directory", || {
            RootFile::open(&path)
        })?;
        let objects = guarded(&path, "/", "listing the keys", || {
            Ok::<_, std::convert::Infallible>(
                file.keys()
                    .iter()
                    .map(|k| RestObject {
                        name: k.name().to_string(),
                        class: k.class_name().to_string(),
                    })
                    .collect(),
            )
        })?;
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

    /// Why a readout map must be given for this file: "holds no readout", or "holds the readout
    /// NAME (CLASS), which this version does not decode yet".
    pub fn readout_status(&self) -> String {
        let readouts: Vec<String> = self
            .objects
            .iter()
            .filter(|o| o.class.ends_with("Readout"))
            .map(|o| format!("{} ({})", o.name, o.class))
            .collect();
        if readouts.is_empty() {
            "holds no readout".to_string()
        } else {
            format!(
                "holds the readout {}, which this version does not decode yet",
                readouts.join(", ")
            )
        }
    }

    fn event_tree(&mut self) -> Result<ReaderTree> {
        if !self
            .objects
            .iter()
            .any(|o| o.name == EVENT_TREE && o.class == "TTree")
        {
            return Err(Error::Missing {
                file: self.path.clone(),
                path: EVENT_TREE.into(),
                what: "tree",
                hint: "; a REST file written by restManager holds its events in EventTree".into(),
            });
        }
        let file = &mut self.file;
        guarded(&self.path, EVENT_TREE, "opening the tree", || {
            file.get_tree(EVENT_TREE)
        })
    }

    /// Entries of `EventTree` and the names of its event branches (`TRest…EventBranch`).
    pub fn event_branches(&mut self) -> Result<(u64, Vec<String>)> {
        let tree = self.event_tree()?;
        let names = tree
            .branches()
            .map(|b| b.name().to_string())
            .filter(|n| n.ends_with("EventBranch"))
            .collect();
        Ok((tree.entries().max(0) as u64, names))
    }

    /// Reads every raw-signal event in order, handing them to `f` in batches of up to `batch`
    /// events (memory: one batch and the `oxyroot` basket being decoded).
    pub fn for_each_raw_signal_batch(
        &mut self,
        batch: usize,
        mut f: impl FnMut(&[RawSignalEvent]) -> Result<()>,
    ) -> Result<()> {
        if batch == 0 {
            return Err(Error::Invalid {
                file: self.path.clone(),
                path: RAW_SIGNAL_BRANCH.into(),
                reason: "batch 0: expected at least one event per batch".into(),
            });
        }
        let path = self.path.clone();
        let tree = self.event_tree()?;
        let entries = tree.entries().max(0) as u64;
        let top = tree
            .branch(RAW_SIGNAL_BRANCH)
            .ok_or_else(|| Error::Missing {
                file: path.clone(),
                path: format!("{EVENT_TREE}/{RAW_SIGNAL_BRANCH}"),
                what: "branch",
                hint: "; this file holds no raw-signal events (TRestRawSignalEvent)".into(),
            })?;
        let leaf = |name: &str| -> Result<&Branch> {
            top.branch(name).ok_or_else(|| Error::Missing {
                file: path.clone(),
                path: format!("{EVENT_TREE}/{RAW_SIGNAL_BRANCH}/{name}"),
                what: "branch",
                hint: String::new(),
            })
        };
        let bpath = |name: &str| format!("{EVENT_TREE}/{RAW_SIGNAL_BRANCH}/{name}");
        let ints = |name: &'static str| -> Result<Box<dyn Iterator<Item = i32> + '_>> {
            let b = leaf(name)?;
            let it = guarded(&path, &bpath(name), "reading", || b.as_iter::<i32>())?;
            Ok(Box::new(it))
        };
        let mut event_id = ints("fEventID")?;
        let mut sub_event_id = ints("fSubEventID")?;
        let mut run_origin = ints("fRunOrigin")?;
        let mut time_s = ints("fEventTime.fSec")?;
        let mut time_ns = ints("fEventTime.fNanoSec")?;
        let ids_branch = leaf("fSignal.fSignalID")?;
        let mut ids = guarded(&path, &bpath("fSignal.fSignalID"), "reading", || {
            ids_branch.as_iter::<oxyroot::Slice<i32>>()
        })?;
        let data_branch = leaf("fSignal.fSignalData")?;
        let mut data = data_branch.get_basket(decode_signal_data);

        let mut out = Vec::with_capacity(batch.min(entries as usize).max(1));
        for entry in 0..entries {
            let here = |name: &str| bpath(name);
            let next = |it: &mut dyn Iterator<Item = i32>, name: &str| -> Result<i32> {
                next_guarded(&path, &here(name), entry, it)?
                    .ok_or_else(|| short(&path, &here(name), entry, entries))
            };
            let event_id = next(&mut *event_id, "fEventID")?;
            let sub_event_id = next(&mut *sub_event_id, "fSubEventID")?;
            let run_origin = next(&mut *run_origin, "fRunOrigin")?;
            let time_s = next(&mut *time_s, "fEventTime.fSec")?;
            let time_ns = next(&mut *time_ns, "fEventTime.fNanoSec")?;
            let signal_ids = next_guarded(&path, &here("fSignal.fSignalID"), entry, &mut ids)?
                .ok_or_else(|| short(&path, &here("fSignal.fSignalID"), entry, entries))?
                .into_vec();
            let lengths_samples =
                next_guarded(&path, &here("fSignal.fSignalData"), entry, &mut data)?
                    .ok_or_else(|| short(&path, &here("fSignal.fSignalData"), entry, entries))?
                    .map_err(|reason| Error::Invalid {
                        file: path.clone(),
                        path: here("fSignal.fSignalData"),
                        reason: format!("entry {entry} (event {event_id}): {reason}"),
                    })?;
            let (lengths, samples) = lengths_samples;
            let invalid = |reason: String| Error::Invalid {
                file: path.clone(),
                path: here("fSignal.fSignalData"),
                reason: format!("entry {entry} (event {event_id}): {reason}"),
            };
            let n = samples_per_signal(&lengths, &signal_ids).map_err(invalid)?;
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

/// Decodes one entry of `fSignal.fSignalData`: the per-signal sample counts and the samples.
fn decode_signal_data(r: &mut RBuffer) -> std::result::Result<(Vec<usize>, Vec<i16>), String> {
    // oxyroot's readers index the buffer without a bounds check (a short entry panics), so the
    // entry's bytes are taken whole, in bounds, and decoded here.
    let n = usize::try_from(r.len()).unwrap_or(0);
    let bytes = r
        .read_array_u8(n)
        .map_err(|e| format!("entry bytes: {e}"))?;
    decode_signal_entry(bytes)
}

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
