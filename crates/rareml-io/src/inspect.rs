//! What a file holds: detected format, datasets with shapes and dtypes, event counts (per class where
//! there are classes) and, for NEWSdm images, whether the 9th polarisation is a copy of the 1st.
//! Backs `cargo run --example inspect -- FILE [--json]`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::emulsion::{ClusterClass, EmulsionFile, EmulsionLayout, SetScan};
use crate::error::{Error, Result};
use crate::h5::{dtype_name, H5File};
use crate::tpc::{StripAxis, TpcFile};
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
    /// A network's scores on a file's events, schema `rareml.scores.v1`.
    ScoresV1,
    /// A DECAY0 / GENBB event generator text file.
    Decay0,
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
            Format::ScoresV1 => "scores of a trained network (rareml.scores.v1)",
            Format::Decay0 => "DECAY0 event generator text file",
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
        /// Readout objects in the file: (name, class).
        readouts: Vec<(String, String)>,
        /// The newest readout, decoded (`None`: no readout, or it failed — then a problem says why).
        readout: Option<ReadoutSummary>,
        /// Signal ids of the events that the decoded readout does not list.
        unmapped_signal_ids: usize,
    },
    /// `rareml.scores.v1`.
    Scores {
        /// Experiment of the run.
        experiment: String,
        /// Rows (events of the file's range).
        events: usize,
        /// Events scored.
        scored: usize,
        /// Events set aside (nothing to score).
        set_aside: usize,
        /// Output columns.
        columns: Vec<String>,
        /// Ensemble members.
        members: usize,
    },
    /// A DECAY0 file.
    Decay0 {
        /// The header's description lines.
        description: Vec<String>,
        /// The header's first event number.
        first_event: u64,
        /// Events read (every one; equal to the header's count, else an error).
        events: u64,
        /// Particles per species over all events: (name, count).
        particles: Vec<(String, u64)>,
        /// Smallest and largest summed electron kinetic energy of an event, MeV (0νββ: Q_ββ).
        electron_energy_mev: (f64, f64),
    },
    /// Nothing known.
    None,
}

/// A REST file's readout as `inspect` describes it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReadoutSummary {
    /// Key name.
    pub name: String,
    /// Class (`TRestReadout`, `TRestDetectorReadout`).
    pub class: String,
    /// Readout planes.
    pub planes: usize,
    /// Modules.
    pub modules: usize,
    /// Channels (strips and pixels).
    pub channels: usize,
    /// Strips measuring x.
    pub x_strips: usize,
    /// Strips measuring y.
    pub y_strips: usize,
    /// Median strip pitch of the X and Y strips inside a module, mm.
    pub pitch_mm: (Option<f64>, Option<f64>),
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
    /// Values the format forbids, counted over the whole file (NaN or infinite pixels, …); a
    /// summary with problems is a damaged file (`inspect` exits non-zero after printing it).
    pub problems: Vec<String>,
}

fn counts(pairs: impl IntoIterator<Item = (&'static str, usize)>) -> ClassCounts {
    ClassCounts(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// Inspects a file: detects its format, validates it by reading it once with the matching reader
/// (errors propagate: a bad file is an error), and summarises it. NEWSdm images are scanned in
/// streamed batches for the 9th-polarisation copy and NaN pixels.
pub fn inspect(path: impl AsRef<Path>) -> Result<FileSummary> {
    let path = path.as_ref();
    crate::error::regular_file(path)?;
    if crate::rest::is_root_file(path) {
        return inspect_rest(path);
    }
    if is_decay0_file(path) {
        return inspect_decay0(path);
    }
    let h5 = match H5File::open(path) {
        Err(Error::NotHdf5 { file }) => {
            return Err(Error::Invalid {
                file,
                path: "/".into(),
                reason: "not an HDF5, REST ROOT or DECAY0 file (no HDF5 signature, no `root` \
                         magic, no DECAY0 header line)"
                    .into(),
            })
        }
        r => r?,
    };
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
    let names: Vec<&str> = datasets.iter().map(|d| d.path.as_str()).collect();
    let schema = detect_schema(&h5, attrs.get("schema"), &names)?;
    let mut problems = Vec::new();
    let (format, details) = match schema {
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
        Some(crate::scores::SCHEMA) => {
            let f = crate::scores::ScoresFile::open(path)?;
            let (mut scored, mut set_aside) = (0, 0);
            for r in crate::h5::batch_ranges(f.len(), STREAM_BATCH) {
                let rows = f.read(r)?;
                scored += rows
                    .status
                    .iter()
                    .filter(|&&s| s == crate::scores::SCORED)
                    .count();
                set_aside += rows
                    .status
                    .iter()
                    .filter(|&&s| s == crate::scores::SET_ASIDE)
                    .count();
            }
            let meta = f.meta();
            (
                Format::ScoresV1,
                Details::Scores {
                    experiment: meta.experiment.clone(),
                    events: f.len(),
                    scored,
                    set_aside,
                    columns: meta.columns.clone(),
                    members: meta.members,
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
                    let scan = set.scan(SCAN_BATCH)?;
                    if scan.nan_pixels + scan.infinite_pixels > 0 {
                        problems.push(format!(
                            "{}: {} NaN and {} infinite pixel(s): expected finite brightness \
                             values",
                            child("images", set.group()),
                            scan.nan_pixels,
                            scan.infinite_pixels
                        ));
                    }
                    sets.push(SetSummary {
                        group: set.group().to_string(),
                        clusters: set.len(),
                        polarisations: set.polarisations(),
                        height: set.height(),
                        width: set.width(),
                        pixel: set.pixel_type().to_string(),
                        class: set.class().map(|c| c.name().to_string()),
                        class_counts: class_counts(c),
                        scan,
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
        problems,
    })
}

/// `name` inside `group` ("" = the root).
fn child(name: &str, group: &str) -> String {
    if group.is_empty() {
        name.to_string()
    } else {
        format!("{group}/{name}")
    }
}

/// Datasets that mark each rareml root-schema layout, for files whose `schema` is missing or
/// wrong: a file holding two of a layout's marks is taken to be meant as that layout.
const LAYOUT_MARKS: [(&str, [&str; 4]); 3] = [
    (
        crate::tpc::SCHEMA,
        [
            "signals/samples",
            "signals/strip_id",
            "readout/strip_id",
            "readout/axis",
        ],
    ),
    (
        crate::tt::SCHEMA,
        [
            "hits/x_cm",
            "hits/station",
            "stations/z_cm",
            "events/distance_cm",
        ],
    ),
    (
        crate::scores::SCHEMA,
        [
            "scores/signal",
            "outputs/members",
            "outputs/mean",
            "events/status",
        ],
    ),
];

/// The root schema a file is read by: a known `schema` attribute as it is; otherwise `None` (the
/// NEWSdm layouts carry no root schema) — unless the file's datasets are those of a rareml layout
/// or the schema names an unknown rareml one, which is an error naming what is off (a missing,
/// misspelled or non-string `schema` never turns a damaged file into "unknown layout").
fn detect_schema(
    h5: &H5File,
    schema: Option<&serde_json::Value>,
    datasets: &[&str],
) -> Result<Option<&'static str>> {
    let known = [crate::tpc::SCHEMA, crate::tt::SCHEMA, crate::scores::SCHEMA];
    let text = schema.and_then(|v| v.as_str());
    if let Some(k) = known.iter().find(|k| Some(**k) == text) {
        return Ok(Some(k));
    }
    let looks_like = LAYOUT_MARKS
        .iter()
        .find(|(_, marks)| marks.iter().filter(|m| datasets.contains(m)).count() >= 2)
        .map(|(name, _)| *name);
    let found = match (schema, text) {
        (None, _) => "missing".to_string(),
        (Some(_), Some(t)) => format!("{t:?}"),
        (Some(v), None) => format!("{v} (not a string)"),
    };
    match (looks_like, text) {
        (Some(layout), _) => Err(Error::Invalid {
            file: h5.path().to_path_buf(),
            path: "/@schema".into(),
            reason: format!(
                "schema {found}: the file's datasets are those of {layout:?}; expected the root \
                 attribute schema = {layout:?}"
            ),
        }),
        (None, Some(t)) if t.starts_with("rareml.") && t != crate::emulsion::SCHEMA => {
            Err(Error::Invalid {
                file: h5.path().to_path_buf(),
                path: "/@schema".into(),
                reason: format!(
                    "schema {found} is not one this version reads: expected {} (or a NEWSdm \
                     layout, which needs none)",
                    known.join(", ")
                ),
            })
        }
        (None, None) if schema.is_some() => Err(Error::Invalid {
            file: h5.path().to_path_buf(),
            path: "/@schema".into(),
            reason: format!("schema {found}: expected a string naming the layout"),
        }),
        _ => Ok(None),
    }
}

/// True when the file's first 64 KiB hold DECAY0's header line ("First event and full number of
/// events").
fn is_decay0_file(path: &Path) -> bool {
    use std::io::Read as _;
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(1 << 16).read_to_end(&mut head))
        .is_ok()
        && String::from_utf8_lossy(&head)
            .to_ascii_lowercase()
            .contains(crate::decay0::HEADER_END)
}

fn inspect_decay0(path: &Path) -> Result<FileSummary> {
    use crate::decay0::{Decay0Reader, Species};
    let mut reader = Decay0Reader::open(path)?;
    let header = reader.header().clone();
    let mut species: BTreeMap<String, u64> = BTreeMap::new();
    let (mut events, mut lo, mut hi) = (0u64, f64::INFINITY, f64::NEG_INFINITY);
    for ev in &mut reader {
        let ev = ev?;
        events += 1;
        for p in &ev.particles {
            let name = match p.species() {
                Species::Gamma => "gamma".to_string(),
                Species::Positron => "positron".to_string(),
                Species::Electron => "electron".to_string(),
                Species::Alpha => "alpha".to_string(),
                Species::Other(id) => format!("GEANT id {id}"),
            };
            *species.entry(name).or_default() += 1;
        }
        let t = ev.kinetic_energy_mev(Species::Electron);
        lo = lo.min(t);
        hi = hi.max(t);
    }
    if events == 0 {
        (lo, hi) = (0.0, 0.0);
    }
    Ok(FileSummary {
        file: path.display().to_string(),
        format: Format::Decay0,
        attrs: BTreeMap::new(),
        datasets: Vec::new(),
        details: Details::Decay0 {
            description: header.description,
            first_event: header.first_event,
            events,
            particles: species.into_iter().collect(),
            electron_energy_mev: (lo, hi),
        },
        problems: Vec::new(),
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
    let mut problems = Vec::new();
    let decoded = match f.readout() {
        Ok(r) => r,
        Err(e) => {
            // the summary names the file already
            problems.push(match e {
                Error::Invalid { path, reason, .. } => format!("readout {path}: {reason}"),
                other => format!("readout: {other}"),
            });
            None
        }
    };
    let strips = decoded.as_ref().and_then(|r| r.to_strip_readout().ok());
    let mut unmapped = 0;
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
                    if strips.as_ref().is_some_and(|s| s.strip(id).is_none()) {
                        unmapped += 1;
                    }
                }
            }
            Ok(())
        })?;
    }
    if unmapped > 0 {
        problems.push(format!(
            "{unmapped} signals carry ids the file's readout does not list"
        ));
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
            readout: decoded.map(|r| ReadoutSummary {
                x_strips: r.strips(StripAxis::X),
                y_strips: r.strips(StripAxis::Y),
                pitch_mm: (r.pitch_mm(StripAxis::X), r.pitch_mm(StripAxis::Y)),
                name: r.name,
                class: r.class,
                planes: r.planes,
                modules: r.modules,
                channels: r.channels.len(),
            }),
            unmapped_signal_ids: unmapped,
        },
        problems,
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
                        "group {:?}: {} clusters, {}×{}×{} {} ({}), class {}, NaN pixels {}, infinite pixels {}",
                        s.group,
                        s.clusters,
                        s.polarisations,
                        s.height,
                        s.width,
                        s.pixel,
                        copy,
                        s.class.as_deref().unwrap_or("per-cluster labels / unknown"),
                        s.scan.nan_pixels,
                        s.scan.infinite_pixels
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
                readout,
                unmapped_signal_ids,
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
                match readout {
                    Some(r) => {
                        let mm =
                            |p: Option<f64>| p.map_or("—".to_string(), |p| format!("{p:.3} mm"));
                        writeln!(
                            f,
                            "readout: {} ({}): {} plane(s), {} modules, {} channels: {} X strips (pitch {}), {} Y strips (pitch {}); signal ids not in it: {unmapped_signal_ids}",
                            r.name, r.class, r.planes, r.modules, r.channels, r.x_strips, mm(r.pitch_mm.0), r.y_strips, mm(r.pitch_mm.1)
                        )?;
                    }
                    None if readouts.is_empty() => {
                        writeln!(f, "readout: none in the file (convert takes --readout MAP)")?
                    }
                    None => {
                        let names: Vec<String> =
                            readouts.iter().map(|(n, c)| format!("{n} ({c})")).collect();
                        writeln!(
                            f,
                            "readout: {} could not be decoded (see the problems)",
                            names.join(", ")
                        )?;
                    }
                }
            }
            Details::Scores {
                experiment,
                events,
                scored,
                set_aside,
                columns,
                members,
            } => {
                writeln!(
                    f,
                    "experiment {experiment}: {events} events ({scored} scored, {set_aside} set \
                     aside), columns {}, {members} ensemble member(s)",
                    columns.join(", ")
                )?;
            }
            Details::Decay0 {
                description,
                first_event,
                events,
                particles,
                electron_energy_mev,
            } => {
                for d in description {
                    writeln!(f, "  {d}")?;
                }
                let p: Vec<String> = particles.iter().map(|(k, v)| format!("{k} {v}")).collect();
                writeln!(
                    f,
                    "events: {events} from number {first_event}; particles: {}; summed electron \
                     kinetic energy per event {:.4}–{:.4} MeV",
                    p.join(", "),
                    electron_energy_mev.0,
                    electron_energy_mev.1
                )?;
            }
            Details::None => writeln!(f, "no rareml or NEWSdm layout recognised")?,
        }
        for p in &self.problems {
            writeln!(f, "problem: {p}")?;
        }
        Ok(())
    }
}
