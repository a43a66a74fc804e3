//! Thin, checked access to HDF5 files: every failure becomes an [`Error`] naming the file, the
//! object path and what was expected. Shared by the three detector modules.

use std::io::Read as _;
use std::ops::Range;
use std::path::{Path, PathBuf};

use hdf5::types::{TypeDescriptor, VarLenAscii, VarLenUnicode};
use hdf5::{Extent, SimpleExtents};

use crate::error::{Error, Result};

/// HDF5 signature at the start of the superblock (HDF5 file format specification, §II.A).
const HDF5_SIGNATURE: [u8; 8] = [0x89, b'H', b'D', b'F', b'\r', b'\n', 0x1a, b'\n'];

/// Target size of one compressed chunk when writing, in bytes (HDF5 recommends 10 KiB – 1 MiB;
/// near 1 MiB keeps batch reads to a few chunk decompressions).
pub(crate) const CHUNK_TARGET_BYTES: usize = 1 << 20;

/// Default deflate level of datasets written (h5py's `compression="gzip"` default is 4).
pub(crate) const DEFLATE_LEVEL: u8 = 4;

/// How datasets are compressed when written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Compression {
    /// No filters: the fastest to write and read, the largest files.
    None,
    /// Byte shuffle + deflate (gzip) at this level, 1–9 (h5py's `compression="gzip"`, default 4).
    /// Whole chunks are compressed in parallel on all cores.
    Deflate(u8),
}

impl Default for Compression {
    /// Shuffle + deflate 4, h5py's gzip default.
    fn default() -> Self {
        Compression::Deflate(DEFLATE_LEVEL)
    }
}

impl std::str::FromStr for Compression {
    type Err = String;
    /// `none`, `deflate` (level 4) or `deflate:N` with N in 1–9.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || format!("compression {s:?}: expected none, deflate or deflate:N (N = 1..9)");
        match s.split_once(':') {
            None if s == "none" => Ok(Compression::None),
            None if s == "deflate" || s == "gzip" => Ok(Compression::default()),
            Some(("deflate" | "gzip", n)) => match n.parse::<u8>() {
                Ok(l @ 1..=9) => Ok(Compression::Deflate(l)),
                _ => Err(bad()),
            },
            _ => Err(bad()),
        }
    }
}

/// One open HDF5 file and its path, for error messages.
#[derive(Clone)]
pub struct H5File {
    /// The HDF5 handle.
    pub(crate) file: hdf5::File,
    /// The path the file was opened or created at.
    pub(crate) path: PathBuf,
    /// Compression of the datasets this handle creates.
    pub(crate) compression: Compression,
}

impl std::fmt::Debug for H5File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H5File").field("path", &self.path).finish()
    }
}

/// True when the file starts with an HDF5 signature at 0, 512, 1024, 2048, ... (user-block sizes).
fn has_hdf5_signature(path: &Path) -> std::io::Result<bool> {
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let mut offset = 0u64;
    let mut buf = [0u8; 8];
    while offset + 8 <= len {
        use std::io::Seek as _;
        f.seek(std::io::SeekFrom::Start(offset))?;
        f.read_exact(&mut buf)?;
        if buf == HDF5_SIGNATURE {
            return Ok(true);
        }
        offset = if offset == 0 { 512 } else { offset * 2 };
    }
    Ok(false)
}

/// Deepest group nesting the listing follows.
pub const MAX_GROUP_DEPTH: usize = 64;

/// State of one group listing: the groups on the current path and every group listed.
struct Walk {
    ancestors: Vec<(String, hdf5::LocationToken)>,
    seen: Vec<hdf5::LocationToken>,
}

impl H5File {
    /// Opens an existing file read-only, distinguishing "missing", "not HDF5" and "corrupt".
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        crate::error::regular_file(&path)?;
        match has_hdf5_signature(&path) {
            Err(source) => return Err(Error::Open { file: path, source }),
            Ok(false) => return Err(Error::NotHdf5 { file: path }),
            Ok(true) => {}
        }
        let file = hdf5::File::open(&path).map_err(|source| Error::Hdf5 {
            file: path.clone(),
            path: "/".into(),
            action: "opening the file (truncated or corrupt?)".into(),
            source,
        })?;
        Ok(Self {
            file,
            path,
            compression: Compression::default(),
        })
    }

    /// Creates (truncates) a file for writing.
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = hdf5::File::create(&path).map_err(|source| Error::Hdf5 {
            file: path.clone(),
            path: "/".into(),
            action: "creating the file".into(),
            source,
        })?;
        Ok(Self {
            file,
            path,
            compression: Compression::default(),
        })
    }

    /// Creates (truncates) a file whose datasets will be written with `compression`.
    pub fn create_with(path: impl AsRef<Path>, compression: Compression) -> Result<Self> {
        if let Compression::Deflate(l) = compression {
            if !(1..=9).contains(&l) {
                return Err(Error::InvalidInput {
                    what: "compression",
                    reason: format!("deflate level {l}: expected 1..=9"),
                });
            }
        }
        let mut h5 = Self::create(path)?;
        h5.compression = compression;
        Ok(h5)
    }

    /// The path of the file on disk.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Wraps an HDF5 result with this file, an object path and an action.
    pub(crate) fn ctx<T>(&self, obj: &str, action: &str, r: hdf5::Result<T>) -> Result<T> {
        r.map_err(|source| Error::Hdf5 {
            file: self.path.clone(),
            path: obj.to_string(),
            action: action.to_string(),
            source,
        })
    }

    /// An [`Error::Invalid`] for this file.
    pub(crate) fn invalid(&self, obj: &str, reason: impl Into<String>) -> Error {
        Error::Invalid {
            file: self.path.clone(),
            path: obj.to_string(),
            reason: reason.into(),
        }
    }

    /// An [`Error::Missing`] for this file.
    pub(crate) fn missing(&self, obj: &str, what: &'static str, hint: &str) -> Error {
        Error::Missing {
            file: self.path.clone(),
            path: obj.to_string(),
            what,
            hint: if hint.is_empty() {
                String::new()
            } else {
                format!("; {hint}")
            },
        }
    }

    /// True when a link (group or dataset) exists at `obj`, checking every intermediate group.
    pub fn exists(&self, obj: &str) -> bool {
        let mut prefix = String::new();
        for part in obj.trim_matches('/').split('/').filter(|p| !p.is_empty()) {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            if !self.file.link_exists(&prefix) {
                return false;
            }
        }
        !prefix.is_empty()
    }

    /// True when `obj` exists and is a dataset.
    pub fn is_dataset(&self, obj: &str) -> bool {
        self.exists(obj) && self.file.dataset(obj).is_ok()
    }

    /// Opens a dataset; [`Error::Missing`] when absent.
    pub(crate) fn dataset(&self, obj: &str) -> Result<Ds> {
        if !self.is_dataset(obj) {
            return Err(self.missing(obj, "dataset", ""));
        }
        let ds = self.ctx(obj, "opening the dataset", self.file.dataset(obj))?;
        let shape = ds.shape();
        let dtype = self.ctx(
            obj,
            "reading the dtype",
            ds.dtype().and_then(|t| t.to_descriptor()),
        )?;
        self.check_stored_extent(obj, &ds, &shape, &dtype)?;
        Ok(Ds {
            h5: self.clone(),
            ds,
            path: obj.trim_start_matches('/').to_string(),
            shape,
            dtype,
        })
    }

    /// Checks that a dataset's declared extent is addressable and backed by what the file stores,
    /// before any read is sized by it: the element and byte counts are computed with checked
    /// arithmetic (a damaged header can declare 2⁶⁴ elements or more); a contiguous dataset must
    /// have all its bytes allocated inside the file; a chunked one must store every chunk its extent
    /// covers — an unwritten chunk would read as fill values, so a header announcing 10⁹ rows over
    /// a few stored chunks is refused here, not allocated or scanned.
    fn check_stored_extent(
        &self,
        obj: &str,
        ds: &hdf5::Dataset,
        shape: &[usize],
        dtype: &TypeDescriptor,
    ) -> Result<()> {
        let elem = dtype.size() as u64;
        let bytes = shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
            .and_then(|n| n.checked_mul(elem))
            .filter(|&b| b <= isize::MAX as u64)
            .ok_or_else(|| {
                self.invalid(
                    obj,
                    format!(
                        "declared shape {shape:?} of {} holds more bytes than can be addressed \
                         (damaged header?)",
                        dtype_name(dtype)
                    ),
                )
            })?;
        if bytes == 0 {
            return Ok(());
        }
        match ds.layout() {
            hdf5::dataset::Layout::Contiguous => {
                let stored = ds.storage_size();
                if stored < bytes {
                    return Err(self.invalid(
                        obj,
                        format!(
                            "declared shape {shape:?} needs {bytes} bytes but {stored} are stored \
                             (truncated or damaged file?)"
                        ),
                    ));
                }
                if let Some(offset) = ds.offset() {
                    let len = std::fs::metadata(&self.path)
                        .map(|m| m.len())
                        .unwrap_or(u64::MAX);
                    if offset.saturating_add(bytes) > len {
                        return Err(self.invalid(
                            obj,
                            format!(
                                "its {bytes} bytes at offset {offset} end beyond the end of the \
                                 file ({len} bytes): truncated file"
                            ),
                        ));
                    }
                }
            }
            hdf5::dataset::Layout::Chunked => {
                let chunk = ds.chunk().unwrap_or_default();
                let needed = (chunk.len() == shape.len() && chunk.iter().all(|&c| c > 0))
                    .then(|| {
                        shape
                            .iter()
                            .zip(&chunk)
                            .try_fold(1u64, |acc, (&d, &c)| acc.checked_mul(d.div_ceil(c) as u64))
                    })
                    .flatten()
                    .ok_or_else(|| {
                        self.invalid(
                            obj,
                            format!("chunk shape {chunk:?} does not fit the shape {shape:?}"),
                        )
                    })?;
                let stored = ds.num_chunks().ok_or_else(|| {
                    self.invalid(obj, "cannot count the stored chunks (damaged chunk index?)")
                })? as u64;
                if stored < needed {
                    return Err(self.invalid(
                        obj,
                        format!(
                            "declared shape {shape:?} ({bytes} bytes) covers {needed} chunks of \
                             {chunk:?} but the file stores {stored}: the rest would read as fill \
                             values (truncated, damaged or never written)"
                        ),
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Opens a dataset if it exists (`Ok(None)` when absent).
    pub(crate) fn dataset_opt(&self, obj: &str) -> Result<Option<Ds>> {
        if self.exists(obj) {
            self.dataset(obj).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Opens or creates the group at `obj` (with intermediate groups).
    pub(crate) fn group_create(&self, obj: &str) -> Result<hdf5::Group> {
        let obj = obj.trim_matches('/');
        if obj.is_empty() {
            return self.ctx("/", "opening the root group", self.file.group("/"));
        }
        if self.exists(obj) {
            return self.ctx(obj, "opening the group", self.file.group(obj));
        }
        self.ctx(
            obj,
            "creating the group",
            self.file
                .create_group_builder()
                .create_intermediate_group(true)
                .create(obj),
        )
    }

    /// All dataset paths in the file (without leading '/'), sorted. Every member's object header
    /// is read: one that cannot be read is an error naming it (never skipped); a link back to a
    /// group being listed (a cycle, hard or soft) and nesting deeper than [`MAX_GROUP_DEPTH`]
    /// are errors; a group reached twice by other links is listed once.
    pub fn dataset_paths(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let root = self.ctx("/", "opening the root group", self.file.group("/"))?;
        let token = self
            .ctx("/", "reading the root group's header", root.loc_info())?
            .token;
        let mut walk = Walk {
            ancestors: vec![("/".to_string(), token)],
            seen: vec![token],
        };
        self.walk(&root, "", &mut out, &mut walk)?;
        out.sort();
        Ok(out)
    }

    fn walk(
        &self,
        g: &hdf5::Group,
        prefix: &str,
        out: &mut Vec<String>,
        w: &mut Walk,
    ) -> Result<()> {
        let here = if prefix.is_empty() { "/" } else { prefix };
        if w.ancestors.len() > MAX_GROUP_DEPTH {
            return Err(self.invalid(
                here,
                format!("groups nested deeper than {MAX_GROUP_DEPTH} levels"),
            ));
        }
        let names = self.ctx(here, "listing members", g.member_names())?;
        for name in names {
            let full = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            let kind = self.ctx(
                &full,
                "reading the object header (damaged object or dangling link?)",
                g.loc_type_by_name(&name),
            )?;
            match kind {
                hdf5::LocationType::Group => {
                    let sub = self.ctx(&full, "opening the group", g.group(&name))?;
                    let token = self
                        .ctx(&full, "reading the group's header", sub.loc_info())?
                        .token;
                    if let Some((a, _)) = w.ancestors.iter().find(|(_, t)| *t == token) {
                        return Err(self.invalid(
                            &full,
                            format!("link cycle: this group is its ancestor {a:?}"),
                        ));
                    }
                    if w.seen.contains(&token) {
                        continue;
                    }
                    w.seen.push(token);
                    w.ancestors.push((full.clone(), token));
                    self.walk(&sub, &full, out, w)?;
                    w.ancestors.pop();
                }
                hdf5::LocationType::Dataset => out.push(full),
                _ => {}
            }
        }
        Ok(())
    }

    /// A string attribute at `obj` (variable- or fixed-length, ASCII or UTF-8), `None` when absent.
    pub(crate) fn attr_string(&self, obj: &str, name: &str) -> Result<Option<String>> {
        let Some((attr, at, td)) = self.typed_attr(obj, name)? else {
            return Ok(None);
        };
        let value = match td {
            TypeDescriptor::VarLenUnicode => self
                .ctx(
                    &at,
                    "reading the attribute",
                    attr.read_scalar::<VarLenUnicode>(),
                )?
                .as_str()
                .to_string(),
            TypeDescriptor::VarLenAscii => self
                .ctx(
                    &at,
                    "reading the attribute",
                    attr.read_scalar::<VarLenAscii>(),
                )?
                .as_str()
                .to_string(),
            TypeDescriptor::FixedAscii(_) | TypeDescriptor::FixedUnicode(_) => {
                let bytes = self.ctx(&at, "reading the attribute", read_fixed_string(&attr))?;
                // Fixed-length strings are padded with NULs (h5py, C) or spaces (Fortran).
                String::from_utf8_lossy(&bytes)
                    .trim_end_matches('\0')
                    .trim_end()
                    .to_string()
            }
            other => {
                return Err(Error::Dtype {
                    file: self.path.clone(),
                    path: at,
                    expected: "string".into(),
                    found: other.to_string(),
                })
            }
        };
        Ok(Some(value))
    }

    /// A numeric attribute read as f64 values (scalar → one value), `None` when absent.
    pub(crate) fn attr_f64s(&self, obj: &str, name: &str) -> Result<Option<Vec<f64>>> {
        let Some((attr, at, td)) = self.typed_attr(obj, name)? else {
            return Ok(None);
        };
        if !matches!(
            td,
            TypeDescriptor::Float(_) | TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_)
        ) {
            return Err(Error::Dtype {
                file: self.path.clone(),
                path: at,
                expected: "a number".into(),
                found: td.to_string(),
            });
        }
        let v = if attr.is_scalar() {
            vec![self.ctx(&at, "reading the attribute", attr.read_scalar::<f64>())?]
        } else {
            self.ctx(&at, "reading the attribute", attr.read_raw::<f64>())?
        };
        Ok(Some(v))
    }

    /// Attribute names at `obj` (a group or dataset path; "/" for the root).
    pub(crate) fn attr_names(&self, obj: &str) -> Result<Vec<String>> {
        let loc = self.location(obj)?;
        self.ctx(obj, "listing attributes", loc.attr_names())
    }

    fn location(&self, obj: &str) -> Result<hdf5::Location> {
        let o = obj.trim_matches('/');
        if o.is_empty() {
            let root = self.ctx("/", "opening the root group", self.file.group("/"))?;
            let loc: &hdf5::Location = &root;
            return Ok(loc.clone());
        }
        if !self.exists(o) {
            return Err(self.missing(o, "object", ""));
        }
        if let Ok(g) = self.file.group(o) {
            let loc: &hdf5::Location = &g;
            return Ok(loc.clone());
        }
        let ds = self.ctx(o, "opening the dataset", self.file.dataset(o))?;
        let loc: &hdf5::Location = &ds;
        Ok(loc.clone())
    }

    /// The attribute `name` at `obj`, its path for messages (`obj@name`) and its dtype; `None`
    /// when absent.
    fn typed_attr(
        &self,
        obj: &str,
        name: &str,
    ) -> Result<Option<(hdf5::Attribute, String, TypeDescriptor)>> {
        let Some(attr) = self.attr(obj, name)? else {
            return Ok(None);
        };
        let at = format!("{}@{name}", obj.trim_end_matches('/'));
        let td = self.ctx(
            &at,
            "reading the attribute dtype",
            attr.dtype().and_then(|t| t.to_descriptor()),
        )?;
        Ok(Some((attr, at, td)))
    }

    fn attr(&self, obj: &str, name: &str) -> Result<Option<hdf5::Attribute>> {
        let loc = self.location(obj)?;
        let names = self.ctx(obj, "listing attributes", loc.attr_names())?;
        if !names.iter().any(|n| n == name) {
            return Ok(None);
        }
        Ok(Some(self.ctx(
            &format!("{obj}@{name}"),
            "opening the attribute",
            loc.attr(name),
        )?))
    }

    /// Writes a scalar attribute of any HDF5 type.
    fn set_attr_scalar<T: hdf5::H5Type>(
        &self,
        loc: &hdf5::Location,
        obj: &str,
        name: &str,
        value: &T,
    ) -> Result<()> {
        let at = format!("{obj}@{name}");
        let attr = self.ctx(
            &at,
            "creating the attribute",
            loc.new_attr::<T>().shape(()).create(name),
        )?;
        self.ctx(&at, "writing the attribute", attr.write_scalar(value))
    }

    /// Writes a UTF-8 string attribute (variable length, as h5py writes a Python `str`).
    pub(crate) fn set_attr_str(
        &self,
        loc: &hdf5::Location,
        obj: &str,
        name: &str,
        value: &str,
    ) -> Result<()> {
        let v: VarLenUnicode = value.parse().map_err(|e| {
            self.invalid(
                obj,
                format!("attribute {name}: cannot store {value:?}: {e}"),
            )
        })?;
        self.set_attr_scalar(loc, obj, name, &v)
    }

    /// Writes a float64 scalar attribute.
    pub(crate) fn set_attr_f64(
        &self,
        loc: &hdf5::Location,
        obj: &str,
        name: &str,
        value: f64,
    ) -> Result<()> {
        self.set_attr_scalar(loc, obj, name, &value)
    }

    /// Writes a float64 array attribute.
    pub(crate) fn set_attr_f64s(
        &self,
        loc: &hdf5::Location,
        obj: &str,
        name: &str,
        values: &[f64],
    ) -> Result<()> {
        let at = format!("{obj}@{name}");
        let attr = self.ctx(
            &at,
            "creating the attribute",
            loc.new_attr::<f64>().shape(values.len()).create(name),
        )?;
        self.ctx(&at, "writing the attribute", attr.write_raw(values))
    }

    /// Creates an extendible, chunked dataset (filters from the file's [`Compression`]) with `tail` fixed trailing dimensions
    /// and zero rows; rows are added with [`Ds::append`]. Chunks hold whole rows, about
    /// [`CHUNK_TARGET_BYTES`] each, so a batch read decompresses a few chunks.
    pub(crate) fn create_appendable<T: hdf5::H5Type>(
        &self,
        obj: &str,
        tail: &[usize],
    ) -> Result<Ds> {
        let obj = obj.trim_matches('/');
        let (parent, name) = match obj.rsplit_once('/') {
            Some((p, n)) => (p, n),
            None => ("", obj),
        };
        let group = self.group_create(parent)?;
        let row_bytes = tail.iter().product::<usize>().max(1) * std::mem::size_of::<T>();
        let chunk_rows = (CHUNK_TARGET_BYTES / row_bytes).clamp(1, 1 << 20);
        let mut extents = vec![Extent::resizable(0)];
        extents.extend(tail.iter().map(|&d| Extent::fixed(d)));
        let mut chunk = vec![chunk_rows];
        chunk.extend(tail.iter().map(|&d| d.max(1)));
        let mut builder = group
            .new_dataset::<T>()
            .shape(SimpleExtents::from_vec(extents))
            .chunk(chunk);
        if let Compression::Deflate(level) = self.compression {
            builder = builder.shuffle().deflate(level);
        }
        let ds = self.ctx(obj, "creating the dataset", builder.create(name))?;
        self.dataset(obj).map(|mut d| {
            d.ds = ds;
            d
        })
    }
}

mod dataset;
pub(crate) use dataset::*;

/// HDF5's byte shuffle (H5Z_FILTER_SHUFFLE) of `elem`-byte elements: byte j of element i goes to
/// `j·n + i`. The identity for single bytes.
pub(crate) fn shuffle_bytes(data: &[u8], elem: usize) -> Vec<u8> {
    if elem <= 1 {
        return data.to_vec();
    }
    let n = data.len() / elem;
    let mut out = vec![0u8; data.len()];
    for (i, e) in data.chunks_exact(elem).enumerate() {
        for (j, &b) in e.iter().enumerate() {
            out[j * n + i] = b;
        }
    }
    // Trailing bytes that do not make a whole element stay in place (as HDF5 does).
    out[n * elem..].copy_from_slice(&data[n * elem..]);
    out
}

/// The zlib stream HDF5's deflate filter stores for `data` at `level`.
pub(crate) fn deflate_zlib(data: &[u8], level: u8) -> Vec<u8> {
    use std::io::Write as _;
    let mut enc = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(data.len() / 2 + 64),
        flate2::Compression::new(level as u32),
    );
    enc.write_all(data).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
}

/// The bytes of a scalar (or one-element) fixed-length string attribute, read in its own file
/// type (hdf5-metno reads fixed-length strings only at a compile-time length).
fn read_fixed_string(attr: &hdf5::Attribute) -> hdf5::Result<Vec<u8>> {
    let n = attr.space()?.size();
    if n != 1 {
        return Err(format!("{n} strings: expected a single string").into());
    }
    let dtype = attr.dtype()?;
    let mut buf = vec![0u8; dtype.size()];
    // SAFETY: `buf` holds one element of the attribute's own (fixed-size) type, the memory type
    // passed; the attribute holds exactly one element.
    let r = hdf5::sync::sync(|| unsafe {
        hdf5_sys::h5a::H5Aread(attr.id(), dtype.id(), buf.as_mut_ptr().cast())
    });
    hdf5::h5check(r)?;
    Ok(buf)
}

/// Read ceiling set by [`set_read_limit_bytes`] (0: not set).
static READ_LIMIT_OVERRIDE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The largest single read a reader allocates, in bytes: [`set_read_limit_bytes`] when called,
/// else `RAREML_MAX_READ_MIB` MiB when set, else half the machine's memory (`MemTotal` in
/// `/proc/meminfo`; 8 GiB when unknown); never more than half the process's address-space limit
/// (`ulimit -v`), so that under a limit an oversized read is an error, not an abort. Batched
/// readers read a batch at a time; the ceiling bounds what one damaged header can make them ask for.
pub fn read_limit_bytes() -> u64 {
    let o = READ_LIMIT_OVERRIDE.load(std::sync::atomic::Ordering::Relaxed);
    if o > 0 {
        return o;
    }
    static DEFAULT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *DEFAULT.get_or_init(|| {
        let from_env = std::env::var("RAREML_MAX_READ_MIB")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&m| m > 0)
            .map(|m| m.saturating_mul(1 << 20));
        let memory = proc_value("/proc/meminfo", "MemTotal:").map(|kib| kib * 1024 / 2);
        let address_space = proc_value("/proc/self/limits", "Max address space").map(|b| b / 2);
        let base = from_env.or(memory).unwrap_or(8 << 30);
        address_space.map_or(base, |a| base.min(a))
    })
}

/// Sets the read ceiling of [`read_limit_bytes`] for this process (bytes; 0 restores the default).
pub fn set_read_limit_bytes(bytes: u64) {
    READ_LIMIT_OVERRIDE.store(bytes, std::sync::atomic::Ordering::Relaxed);
}

/// Memory the machine can give a new allocation without swapping, in bytes (`MemAvailable` in
/// `/proc/meminfo`); `None` where that file is absent (not Linux) or has no such line.
pub fn memory_available_bytes() -> Option<u64> {
    proc_value("/proc/meminfo", "MemAvailable:").map(|kib| kib * 1024)
}

/// The first number after `key` on its line of a `/proc` file (`None` when absent or "unlimited").
fn proc_value(file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// Splits `0..n` into consecutive ranges of at most `batch` rows.
pub(crate) fn batch_ranges(n: usize, batch: usize) -> impl Iterator<Item = Range<usize>> {
    let batch = batch.max(1);
    (0..n.div_ceil(batch)).map(move |b| b * batch..((b + 1) * batch).min(n))
}

/// Checks that `offsets` (length N+1) start at 0, never decrease and end at `total` rows.
pub(crate) fn check_offsets(
    h5: &H5File,
    path: &str,
    offsets: &[i64],
    total: usize,
    rows_path: &str,
) -> Result<()> {
    let Some(&first) = offsets.first() else {
        return Err(h5.invalid(path, "offsets is empty: expected N+1 entries starting at 0"));
    };
    if first != 0 {
        return Err(h5.invalid(path, format!("offsets[0] = {first}: expected 0")));
    }
    for (i, w) in offsets.windows(2).enumerate() {
        if w[1] < w[0] {
            return Err(h5.invalid(
                path,
                format!(
                    "offsets not monotonic: offsets[{}] = {} < offsets[{i}] = {}",
                    i + 1,
                    w[1],
                    w[0]
                ),
            ));
        }
    }
    let last = *offsets.last().expect("non-empty");
    if last != total as i64 {
        return Err(h5.invalid(
            path,
            format!(
                "offsets[{}] = {last}: expected {total}, the number of rows of {rows_path}",
                offsets.len() - 1
            ),
        ));
    }
    Ok(())
}

/// Reads the schema attribute and checks it names `expected`.
pub(crate) fn check_schema(h5: &H5File, expected: &str) -> Result<()> {
    match h5.attr_string("/", "schema")? {
        Some(s) if s == expected => Ok(()),
        Some(s) => Err(h5.invalid(
            "/@schema",
            format!("schema is {s:?}: expected {expected:?}"),
        )),
        None => Err(h5.missing(
            "/@schema",
            "attribute",
            &format!("expected schema = {expected:?}"),
        )),
    }
}

/// A required scalar float attribute on the root.
pub(crate) fn required_f64(h5: &H5File, name: &str) -> Result<f64> {
    match h5.attr_f64s("/", name)? {
        Some(v) if v.len() == 1 && v[0].is_finite() => Ok(v[0]),
        Some(v) => Err(h5.invalid(
            &format!("/@{name}"),
            format!("expected one finite number, found {v:?}"),
        )),
        None => Err(h5.missing(&format!("/@{name}"), "attribute", "")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_ranges_cover_exactly_once() {
        let r: Vec<_> = batch_ranges(10, 4).collect();
        assert_eq!(r, vec![0..4, 4..8, 8..10]);
        assert_eq!(batch_ranges(0, 4).count(), 0);
        assert_eq!(batch_ranges(3, 0).count(), 3, "batch 0 is treated as 1");
    }

    #[test]
    fn shapes_describe_like_numpy() {
        assert_eq!(describe(&[Dim::Any("N"), Dim::Is(13)]), "(N, 13)");
        assert_eq!(describe(&[Dim::Any("N")]), "(N,)");
        assert_eq!(describe(&[Dim::OneOf(&[8, 9])]), "(8|9,)");
    }

    #[test]
    fn offsets_checks() {
        let dir = tempfile::tempdir().unwrap();
        let h5 = H5File::create(dir.path().join("x.h5")).unwrap();
        check_offsets(&h5, "o", &[0, 2, 2, 5], 5, "rows").unwrap();
        check_offsets(&h5, "o", &[0], 0, "rows").unwrap();
        for (bad, frag) in [
            (vec![], "empty"),
            (vec![1, 2], "offsets[0] = 1"),
            (vec![0, 3, 2], "not monotonic"),
            (vec![0, 2, 4], "expected 5"),
        ] {
            let msg = check_offsets(&h5, "o", &bad, 5, "rows")
                .unwrap_err()
                .to_string();
            assert!(msg.contains(frag) && msg.contains("x.h5"), "{msg}");
        }
    }

    /// Appends `sizes` batches of rows to a fresh dataset and reads everything back through HDF5's
    /// own filter pipeline: the directly written chunks must decode to the same values.
    fn direct_chunks_round_trip<T>(tail: &[usize], sizes: &[usize], value: impl Fn(usize) -> T)
    where
        T: hdf5::H5Type + Clone + PartialEq + std::fmt::Debug,
    {
        let dir = tempfile::tempdir().unwrap();
        let h5 = H5File::create(dir.path().join("d.h5")).unwrap();
        let mut ds = h5.create_appendable::<T>("g/d", tail).unwrap();
        assert_eq!(
            ds.direct_chunk_rows().map(|(_, l)| l),
            Some(Some(DEFLATE_LEVEL))
        );
        let row: usize = tail.iter().product();
        let mut all = Vec::new();
        for &n in sizes {
            let vals: Vec<T> = (all.len()..all.len() + n * row).map(&value).collect();
            let mut shape = vec![n];
            shape.extend_from_slice(tail);
            let arr = ndarray::ArrayD::from_shape_vec(shape, vals.clone()).unwrap();
            ds.append(arr.view()).unwrap();
            all.extend(vals);
        }
        let rows = all.len() / row;
        let back = h5.dataset("g/d").unwrap();
        assert_eq!(
            back.ds.filters(),
            [
                hdf5::filters::Filter::Shuffle,
                hdf5::filters::Filter::Deflate(DEFLATE_LEVEL)
            ]
        );
        let got = back.read_rows::<T>(0..rows).unwrap();
        assert_eq!(got.into_raw_vec_and_offset().0, all);
    }

    #[test]
    fn directly_written_chunks_decode_through_hdf5() {
        // Chunks of 1 MiB: 18 rows of 80·80·9 bytes, 364 rows of 720 f32, 1456 rows of 360 i16.
        direct_chunks_round_trip::<u8>(&[80, 80, 9], &[5, 40, 36, 1, 17], |i| {
            (i.wrapping_mul(2_654_435_761) >> 7) as u8
        });
        direct_chunks_round_trip::<f32>(&[720], &[1000, 3, 364], |i| (i as f32).sin() * 1e3);
        direct_chunks_round_trip::<i16>(&[360], &[2000, 1456], |i| (i % 4096) as i16 - 2048);
        assert_eq!(
            shuffle_bytes(&[1, 2, 3, 4, 5, 6, 7], 2),
            vec![1, 3, 5, 2, 4, 6, 7]
        );
    }

    #[test]
    fn appendable_datasets_grow_and_keep_rows() {
        let dir = tempfile::tempdir().unwrap();
        let h5 = H5File::create(dir.path().join("a.h5")).unwrap();
        let mut ds = h5.create_appendable::<i32>("g/sub/d", &[3]).unwrap();
        ds.append(
            ndarray::Array2::from_shape_vec((2, 3), vec![1, 2, 3, 4, 5, 6])
                .unwrap()
                .into_dyn()
                .view(),
        )
        .unwrap();
        ds.append(ndarray::Array2::<i32>::zeros((0, 3)).into_dyn().view())
            .unwrap();
        ds.append(ndarray::Array2::from_elem((1, 3), 9).into_dyn().view())
            .unwrap();
        assert_eq!(ds.rows(), 3);
        let back = h5
            .dataset("g/sub/d")
            .unwrap()
            .read_rows::<i32>(1..3)
            .unwrap();
        assert_eq!(back.into_raw_vec_and_offset().0, vec![4, 5, 6, 9, 9, 9]);
        let err = ds
            .append(ndarray::Array2::<i32>::zeros((1, 4)).into_dyn().view())
            .unwrap_err();
        assert!(err.to_string().contains("do not fit"), "{err}");
        assert!(h5.exists("g/sub/d") && !h5.exists("g/nope") && !h5.exists(""));
    }
}
