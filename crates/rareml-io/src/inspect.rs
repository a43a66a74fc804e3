//! What a file holds: detected format, datasets with shapes and dtypes, event counts (per class where
//! there are classes) and, for NEWSdm images, whether the 9th polarisation is a copy of the 1st.
//! Backs `cargo run --example inspect -- FILE [--json]`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::emulsion::{ClusterClass, EmulsionFile, EmulsionLayout, SetScan};
use crate::error::Result;
use crate::h5::{dtype_name, H5File};
use crate::tpc::TpcFile;
use crate::tt::TtFile;

/// Clusters per read when scanning NEWSdm images.
const SCAN_BATCH: usize = 256;

/// Events per read when validating TPC and TT files.
const STREAM_BATCH: usize = 1024;

/// The detected format of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// NEWSdm raw crops (uint8 images + pol_ids).
    NewsdmRaw,
    /// NEWSdm processed crops (float32 images + pol_ids).
    NewsdmProcessed,
    /// NEWSdm training file (train/val/test images + labels).
    NewsdmTraining,
    /// PandaX-III strip waveforms, schema `rareml.tpc.v1`.
    TpcV1,
    /// SHiP TT hits, schema `rareml.tt.v1`.
    TtV1,
    /// An HDF5 file of no known layout.
    Hdf5,
    /// A REST-for-Physics ROOT file (`restManager` output).
    RestRoot,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::NewsdmRaw => "NEWSdm raw crops (uint8)",
            Format::NewsdmProcessed => "NEWSdm processed crops (float32)",
            Format::NewsdmTraining => "NEWSdm training file (images + labels)",
            Format::TpcV1 => "PandaX-III TPC strip waveforms (rareml.tpc.v1)",
            Format::TtV1 => "SHiP target-tracker hits (rareml.tt.v1)",
            Format::Hdf5 => "HDF5 of unknown layout",
            Format::RestRoot => "REST-for-Physics ROOT file",
        })
    }
}

/// One dataset's path, dtype and shape.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DatasetInfo {
    /// Path inside the file.
    pub path: String,
    /// Element type (numpy name).
    pub dtype: String,
    /// Shape.
    pub shape: Vec<usize>,
}

/// Per-class event counts in class order (NEWSdm: C30keV, C60keV, C100keV, background); a JSON object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClassCounts(pub Vec<(String, usize)>);

impl ClassCounts {
    /// The count of class `name` (0 when absent).
    pub fn get(&self, name: &str) -> usize {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or(0, |(_, v)| *v)
    }
}

impl Serialize for ClassCounts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// One NEWSdm group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SetSummary {
    /// Group path.
    pub group: String,
    /// Number of clusters.
    pub clusters: usize,
    /// Images per cluster as stored.
    pub polarisations: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Image width in pixels.
    pub width: usize,
    /// Pixel dtype.
    pub pixel: String,
    /// The group's class, when known.
    pub class: Option<String>,
    /// Clusters per class.
    pub class_counts: ClassCounts,
    /// Scan result: 9th-is-copy and NaN count.
    pub scan: SetScan,
}

/// Format-specific content.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Details {
    /// NEWSdm files.
    Emulsion {
        /// One entry per group with images.
        sets: Vec<SetSummary>,
        /// Clusters per class over all groups.
        class_counts: ClassCounts,
    },
    /// `rareml.tpc.v1`.
    Tpc {
        /// Number of events.
        events: usize,
        /// Number of signals.
        signals: usize,
        /// Samples per waveform.
        samples_per_signal: usize,
        /// Strips in the readout.
        readout_strips: usize,
        /// Events per label (signal, background, unknown).
        class_counts: ClassCounts,
    },
    /// `rareml.tt.v1`.
    Tt {
        /// Number of events.
        events: usize,
        /// Number of hits.
        hits: usize,
        /// Number of stations.
        stations: usize,
    },
    /// A REST ROOT file.
    Rest {
        /// Objects of the top directory: (name, class).
        objects: Vec<(String, String)>,
        /// Entries of `EventTree`.
        entries: u64,
        /// Its event branches (`TRest…EventBranch`).
        event_branches: Vec<String>,
        /// Raw-signal events read (every one, to validate the file); 0 without the branch.
        raw_signal_events: usize,
        /// Signals over all raw-signal events.
        signals: usize,
        /// Fewest and most signals in one event.
        signals_per_event: (usize, usize),
        /// Samples per signal (the first event's; every event is checked against its own).
        samples_per_signal: usize,
        /// Smallest and largest DAQ signal id.
        signal_ids: (i32, i32),
        /// Readout objects in the file: (name, class). Not decoded yet: `convert` takes a readout
        /// map (`--readout`).
        readouts: Vec<(String, String)>,
    },
    /// Nothing known.
    None,
}

/// Everything `inspect` reports about a file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FileSummary {
    /// The file.
    pub file: String,
    /// Detected format.
    pub format: Format,
    /// Root attributes (strings and numbers).
    pub attrs: BTreeMap<String, serde_json::Value>,
    /// All datasets.
    pub datasets: Vec<DatasetInfo>,
    /// Format-specific content.
    pub details: Details,
}

fn counts(pairs: impl IntoIterator<Item = (&'static str, usize)>) -> ClassCounts {
    ClassCounts(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// Inspects a file: detects its format, validates it by reading it once with the matching reader
/// (errors propagate: a bad file is an error), and summarises it. NEWSdm images are scanned in
/// streamed batches for the 9th-polarisation copy and NaN pixels.
pub fn inspect(path: impl AsRef<Path>) -> Result<FileSummary> {
    let path = path.as_ref();
    if crate::rest::is_root_file(path) {
        return inspect_rest(path);
    }
    let h5 = H5File::open(path)?;
    let mut datasets = Vec::new();
    for p in h5.dataset_paths()? {
        let ds = h5.dataset(&p)?;
        datasets.push(DatasetInfo {
            path: p,
            dtype: dtype_name(&ds.dtype),
            shape: ds.shape.clone(),
        });
    }
    let mut attrs = BTreeMap::new();
    for name in h5.attr_names("/")? {
        let value = match h5.attr_string("/", &name) {
            Ok(Some(s)) => serde_json::Value::from(s),
            _ => match h5.attr_f64s("/", &name) {
                Ok(Some(v)) if v.len() == 1 => serde_json::Value::from(v[0]),
                Ok(Some(v)) => serde_json::Value::from(v),
                _ => serde_json::Value::from("<unsupported type>"),
            },
        };
        attrs.insert(name, value);
    }
    let schema = attrs
        .get("schema")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let (format, details) = match schema.as_deref() {
        Some(crate::tpc::SCHEMA) => {
            let f = TpcFile::open(path)?;
            // Read every event once so that a bad strip id anywhere is reported.
            for batch in f.batches(STREAM_BATCH) {
                batch?;
            }
            let (s, b, u) = f.label_counts();
            let details = Details::Tpc {
                events: f.len(),
                signals: f.n_signals(),
                samples_per_signal: f.samples_per_signal(),
                readout_strips: f.readout().len(),
                class_counts: counts([("signal", s), ("background", b), ("unknown", u)]),
            };
            (Format::TpcV1, details)
        }
        Some(crate::tt::SCHEMA) => {
            let f = TtFile::open(path)?;
            // Read every event once so that a bad station or coordinate anywhere is reported.
            for batch in f.batches(STREAM_BATCH) {
                batch?;
            }
            (
                Format::TtV1,
                Details::Tt {
                    events: f.len(),
                    hits: f.n_hits(),
                    stations: f.geometry().n_stations(),
                },
            )
        }
        _ => {
            let ef = EmulsionFile::open(path)?;
            if ef.groups()?.is_empty() {
                (Format::Hdf5, Details::None)
            } else {
                let format = match ef.layout()? {
                    EmulsionLayout::Raw => Format::NewsdmRaw,
                    EmulsionLayout::Processed => Format::NewsdmProcessed,
                    EmulsionLayout::Training => Format::NewsdmTraining,
                };
                let mut total = [0usize; 4];
                let mut sets = Vec::new();
                for set in ef.sets()? {
                    let c = set.class_counts()?;
                    total.iter_mut().zip(c).for_each(|(t, c)| *t += c);
                    sets.push(SetSummary {
                        group: set.group().to_string(),
                        clusters: set.len(),
                        polarisations: set.polarisations(),
                        height: set.height(),
                        width: set.width(),
                        pixel: set.pixel_type().to_string(),
                        class: set.class().map(|c| c.name().to_string()),
                        class_counts: class_counts(c),
                        scan: set.scan(SCAN_BATCH)?,
                    });
                }
                (
                    format,
                    Details::Emulsion {
                        sets,
                        class_counts: class_counts(total),
                    },
                )
            }
        }
    };
    Ok(FileSummary {
        file: path.display().to_string(),
        format,
        attrs,
        datasets,
        details,
    })
}

fn inspect_rest(path: &Path) -> Result<FileSummary> {
    let mut f = crate::rest::RestFile::open(path)?;
    let objects: Vec<(String, String)> = f
        .objects()
        .iter()
        .map(|o| (o.name.clone(), o.class.clone()))
        .collect();
    let readouts = objects
        .iter()
        .filter(|(_, c)| c.ends_with("Readout"))
        .cloned()
        .collect();
    let has_tree = objects
        .iter()
        .any(|(n, c)| n == crate::rest::EVENT_TREE && c == "TTree");
    let (entries, event_branches) = if has_tree {
        f.event_branches()?
    } else {
        (0, Vec::new())
    };
    let (mut events, mut signals, mut spe, mut ids) = (0, 0, (usize::MAX, 0), (i32::MAX, i32::MIN));
    let mut samples = 0;
    if event_branches
        .iter()
        .any(|b| b == crate::rest::RAW_SIGNAL_BRANCH)
    {
        f.for_each_raw_signal_batch(STREAM_BATCH, |batch| {
            for e in batch {
                if events == 0 {
                    samples = e.samples_per_signal;
                }
                events += 1;
                signals += e.signal_ids.len();
                spe = (spe.0.min(e.signal_ids.len()), spe.1.max(e.signal_ids.len()));
                for &id in &e.signal_ids {
                    ids = (ids.0.min(id), ids.1.max(id));
                }
            }
            Ok(())
        })?;
    }
    if events == 0 {
        spe = (0, 0);
    }
    if signals == 0 {
        ids = (0, 0);
    }
    Ok(FileSummary {
        file: path.display().to_string(),
        format: Format::RestRoot,
        attrs: BTreeMap::new(),
        datasets: Vec::new(),
        details: Details::Rest {
            objects,
            entries,
            event_branches,
            raw_signal_events: events,
            signals,
            signals_per_event: spe,
            samples_per_signal: samples,
            signal_ids: ids,
            readouts,
        },
    })
}

fn class_counts(c: [usize; 4]) -> ClassCounts {
    ClassCounts(
        ClusterClass::ALL
            .iter()
            .map(|k| (k.name().to_string(), c[*k as usize]))
            .collect(),
    )
}

fn fmt_counts(c: &ClassCounts) -> String {
    c.0.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for FileSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "file:   {}", self.file)?;
        writeln!(f, "format: {}", self.format)?;
        if !self.attrs.is_empty() {
            writeln!(f, "attributes:")?;
            for (k, v) in &self.attrs {
                writeln!(f, "  {k} = {v}")?;
            }
        }
        if !self.datasets.is_empty() {
            writeln!(f, "datasets:")?;
        }
        let w = self
            .datasets
            .iter()
            .map(|d| d.path.len())
            .max()
            .unwrap_or(0);
        for d in &self.datasets {
            writeln!(f, "  {:<w$}  {:<8} {:?}", d.path, d.dtype, d.shape)?;
        }
        match &self.details {
            Details::Emulsion { sets, class_counts } => {
                for s in sets {
                    let copy = match s.scan.ninth_is_copy {
                        Some(true) => "9th = copy of 1st",
                        Some(false) => "9th differs from 1st",
                        None => "8 polarisations",
                    };
                    writeln!(
                        f,
                        "group {:?}: {} clusters, {}×{}×{} {} ({}), class {}, NaN pixels {}",
                        s.group,
                        s.clusters,
                        s.polarisations,
                        s.height,
                        s.width,
                        s.pixel,
                        copy,
                        s.class.as_deref().unwrap_or("per-cluster labels / unknown"),
                        s.scan.nan_pixels
                    )?;
                    if s.class.is_none() {
                        writeln!(f, "  per class: {}", fmt_counts(&s.class_counts))?;
                    }
                }
                writeln!(f, "clusters per class: {}", fmt_counts(class_counts))?;
            }
            Details::Tpc {
                events,
                signals,
                samples_per_signal,
                readout_strips,
                class_counts,
            } => {
                writeln!(f, "events: {events}, signals: {signals} × {samples_per_signal} samples, readout strips: {readout_strips}")?;
                writeln!(f, "events per label: {}", fmt_counts(class_counts))?;
            }
            Details::Tt {
                events,
                hits,
                stations,
            } => {
                writeln!(f, "events: {events}, hits: {hits}, stations: {stations}")?;
            }
            Details::Rest {
                objects,
                entries,
                event_branches,
                raw_signal_events,
                signals,
                signals_per_event,
                samples_per_signal,
                signal_ids,
                readouts,
            } => {
                writeln!(f, "objects:")?;
                for (name, class) in objects {
                    writeln!(f, "  {name} ({class})")?;
                }
                writeln!(
                    f,
                    "EventTree: {entries} entries, event branches: {}",
                    event_branches.join(", ")
                )?;
                writeln!(
                    f,
                    "raw-signal events: {raw_signal_events}, signals: {signals} ({}–{} per event) × {samples_per_signal} samples, signal ids {}–{}",
                    signals_per_event.0, signals_per_event.1, signal_ids.0, signal_ids.1
                )?;
                let names: Vec<String> =
                    readouts.iter().map(|(n, c)| format!("{n} ({c})")).collect();
                writeln!(
                    f,
                    "readout: {} (not decoded by this version: convert takes --readout MAP)",
                    if names.is_empty() {
                        "none in the file".to_string()
                    } else {
                        names.join(", ")
                    }
                )?;
            }
            Details::None => writeln!(f, "no rareml or NEWSdm layout recognised")?,
        }
        Ok(())
    }
}
