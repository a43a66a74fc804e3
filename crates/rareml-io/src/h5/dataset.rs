//! A dataset opened from an [`H5File`]: its path, shape and dtype read once, shape and dtype
//! checks that name the file and path, and checked reads, writes and appends.

use std::fmt::Write as _;
use std::ops::Range;

use hdf5::types::{FloatSize, IntSize, TypeDescriptor};
use hdf5::{Hyperslab, Selection, SliceOrIndex};
use ndarray::{ArrayD, ArrayViewD, IxDyn};

use super::*;
use crate::error::{Error, Result};

/// A dataset with its path, shape and dtype read once.
#[derive(Clone)]
pub(crate) struct Ds {
    pub(crate) h5: H5File,
    pub(crate) ds: hdf5::Dataset,
    /// Path inside the file, without leading '/'.
    pub(crate) path: String,
    /// Shape when opened (updated by `append`).
    pub(crate) shape: Vec<usize>,
    /// Element type.
    pub(crate) dtype: TypeDescriptor,
}

/// One dimension of an expected shape.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Dim {
    /// Any extent, shown with this name (e.g. "N").
    Any(&'static str),
    /// Exactly this extent.
    Is(usize),
    /// One of these extents.
    OneOf(&'static [usize]),
}

impl Dim {
    fn ok(self, n: usize) -> bool {
        match self {
            Dim::Any(_) => true,
            Dim::Is(m) => n == m,
            Dim::OneOf(ms) => ms.contains(&n),
        }
    }
}

pub(super) fn describe(dims: &[Dim]) -> String {
    let mut s = String::from("(");
    for (i, d) in dims.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        match d {
            Dim::Any(name) => s.push_str(name),
            Dim::Is(n) => {
                let _ = write!(s, "{n}");
            }
            Dim::OneOf(ms) => {
                let v: Vec<String> = ms.iter().map(|m| m.to_string()).collect();
                s.push_str(&v.join("|"));
            }
        }
    }
    if dims.len() == 1 {
        s.push(',');
    }
    s.push(')');
    s
}

/// Numpy-style name of a dtype ("int64", "float32", ...).
pub(crate) fn dtype_name(td: &TypeDescriptor) -> String {
    td.to_string()
}

pub(crate) const U8: TypeDescriptor = TypeDescriptor::Unsigned(IntSize::U1);
pub(crate) const I8: TypeDescriptor = TypeDescriptor::Integer(IntSize::U1);
pub(crate) const I16: TypeDescriptor = TypeDescriptor::Integer(IntSize::U2);
pub(crate) const I32: TypeDescriptor = TypeDescriptor::Integer(IntSize::U4);
pub(crate) const I64: TypeDescriptor = TypeDescriptor::Integer(IntSize::U8);
pub(crate) const F32: TypeDescriptor = TypeDescriptor::Float(FloatSize::U4);

impl Ds {
    pub(crate) fn invalid(&self, reason: impl Into<String>) -> Error {
        self.h5.invalid(&self.path, reason)
    }

    /// Checks the dtype is one of `allowed`.
    pub(crate) fn expect_dtype(&self, allowed: &[TypeDescriptor]) -> Result<&Self> {
        if allowed.contains(&self.dtype) {
            return Ok(self);
        }
        let names: Vec<String> = allowed.iter().map(dtype_name).collect();
        Err(Error::Dtype {
            file: self.h5.path.clone(),
            path: self.path.clone(),
            expected: names.join(" or "),
            found: dtype_name(&self.dtype),
        })
    }

    /// Checks rank and extents.
    pub(crate) fn expect_shape(&self, dims: &[Dim]) -> Result<&Self> {
        if self.shape.len() == dims.len() && dims.iter().zip(&self.shape).all(|(d, &n)| d.ok(n)) {
            return Ok(self);
        }
        Err(Error::Shape {
            file: self.h5.path.clone(),
            path: self.path.clone(),
            expected: describe(dims),
            found: self.shape.clone(),
        })
    }

    /// Checks the leading dimension equals `n` (rows in step with another dataset).
    pub(crate) fn expect_rows(&self, n: usize, what: &str) -> Result<&Self> {
        if self.shape.first() == Some(&n) {
            return Ok(self);
        }
        Err(Error::Shape {
            file: self.h5.path.clone(),
            path: self.path.clone(),
            expected: format!("{n} rows ({what})"),
            found: self.shape.clone(),
        })
    }

    /// Number of rows (leading dimension; 1 for a scalar).
    pub(crate) fn rows(&self) -> usize {
        self.shape.first().copied().unwrap_or(1)
    }

    fn slab(&self, rows: &Range<usize>) -> Result<Selection> {
        if rows.start > rows.end || rows.end > self.rows() {
            return Err(Error::OutOfRange {
                file: self.h5.path.clone(),
                path: self.path.clone(),
                index: rows.end.saturating_sub(1).max(rows.start),
                len: self.rows(),
            });
        }
        let mut sel = vec![SliceOrIndex::SliceTo {
            start: rows.start,
            step: 1,
            end: rows.end,
            block: 1,
        }];
        sel.extend(self.shape[1..].iter().map(|&d| SliceOrIndex::SliceTo {
            start: 0,
            step: 1,
            end: d,
            block: 1,
        }));
        Ok(Selection::from(Hyperslab::from(sel)))
    }

    /// Checks that reading `rows` rows as `T` stays under the read ceiling
    /// ([`read_limit_bytes`]), before anything is allocated.
    pub(crate) fn check_read_size<T>(&self, rows: usize, what: &str) -> Result<()> {
        let row: u64 = self.shape.iter().skip(1).map(|&d| d as u64).product();
        let bytes = row
            .saturating_mul(rows as u64)
            .saturating_mul(std::mem::size_of::<T>() as u64);
        let limit = read_limit_bytes();
        if bytes > limit {
            return Err(Error::TooLarge {
                file: self.h5.path.clone(),
                path: self.path.clone(),
                what: what.to_string(),
                bytes,
                limit,
            });
        }
        Ok(())
    }

    /// Reads rows `rows` (a hyperslab along the first axis) in the file's own dtype `T`.
    pub(crate) fn read_rows<T: hdf5::H5Type>(&self, rows: Range<usize>) -> Result<ArrayD<T>> {
        if !rows.is_empty() {
            self.check_read_size::<T>(
                rows.len(),
                &format!("reading rows {}..{}", rows.start, rows.end),
            )?;
        }
        if rows.is_empty() {
            let mut shape = self.shape.clone();
            shape[0] = 0;
            return Ok(ArrayD::from_shape_vec(IxDyn(&shape), Vec::new()).expect("empty array"));
        }
        let sel = self.slab(&rows)?;
        let action = format!("reading rows {}..{}", rows.start, rows.end);
        self.h5.ctx(
            &self.path,
            &action,
            self.ds
                .as_reader()
                .no_convert()
                .read_slice::<T, _, IxDyn>(sel),
        )
    }

    /// Reads the whole dataset in its own dtype.
    pub(crate) fn read_all<T: hdf5::H5Type>(&self) -> Result<ArrayD<T>> {
        if self.shape.is_empty() {
            self.check_read_size::<T>(1, "reading")?;
            return self.h5.ctx(
                &self.path,
                "reading",
                self.ds.as_reader().no_convert().read_dyn::<T>(),
            );
        }
        self.read_rows(0..self.rows())
    }

    /// Reads a 1-D dataset fully into a `Vec`.
    pub(crate) fn read_vec<T: hdf5::H5Type>(&self) -> Result<Vec<T>> {
        Ok(self.read_all::<T>()?.into_raw_vec_and_offset().0)
    }

    /// Appends rows (`arr.shape()[1..]` must equal the dataset's trailing shape).
    pub(crate) fn append<T: hdf5::H5Type + Clone>(&mut self, arr: ArrayViewD<'_, T>) -> Result<()> {
        let n = arr.shape().first().copied().unwrap_or(0);
        if arr.ndim() != self.shape.len() || arr.shape()[1..] != self.shape[1..] {
            return Err(Error::InvalidInput {
                what: "rows to append",
                reason: format!(
                    "{}: {}: rows of shape {:?} do not fit a dataset of shape {:?}",
                    self.h5.path.display(),
                    self.path,
                    arr.shape(),
                    self.shape
                ),
            });
        }
        if n == 0 {
            return Ok(());
        }
        let start = self.shape[0];
        let mut new_shape = self.shape.clone();
        new_shape[0] = start + n;
        self.h5.ctx(
            &self.path,
            "extending the dataset",
            self.ds.resize(new_shape.clone()),
        )?;
        self.shape = new_shape;
        let arr = arr.as_standard_layout();
        let end = start + n;
        // Whole chunks inside the new rows are compressed on all cores and written directly;
        // partial chunks at either end go through HDF5's own (single-threaded) filter pipeline.
        let (lo, hi) = match self.direct_chunk_rows() {
            Some((cr, level)) => {
                let lo = start.div_ceil(cr) * cr;
                let hi = end / cr * cr;
                if lo < hi {
                    let bytes = arr.as_slice().map(|s| {
                        // SAFETY: plain numeric elements (checked by direct_chunk_rows), viewed
                        // as their bytes for the length of the slice.
                        unsafe {
                            std::slice::from_raw_parts(
                                s.as_ptr() as *const u8,
                                std::mem::size_of_val(s),
                            )
                        }
                    });
                    match bytes {
                        Some(bytes) => {
                            let row_bytes = bytes.len() / n;
                            let rows = &bytes[(lo - start) * row_bytes..(hi - start) * row_bytes];
                            self.write_chunks_direct(
                                rows,
                                lo,
                                cr,
                                std::mem::size_of::<T>(),
                                level,
                            )?;
                            (lo, hi)
                        }
                        None => (end, end),
                    }
                } else {
                    (end, end)
                }
            }
            None => (end, end),
        };
        for rows in [start..lo, hi..end] {
            if rows.is_empty() {
                continue;
            }
            let sel = self.slab(&rows)?;
            let part = arr.slice_axis(
                ndarray::Axis(0),
                ndarray::Slice::from(rows.start - start..rows.end - start),
            );
            self.h5.ctx(
                &self.path,
                "writing rows",
                self.ds.as_writer().write_slice(&part, sel),
            )?;
        }
        Ok(())
    }

    /// Rows per chunk and deflate level (`None`: no filters) when whole chunks of this dataset can
    /// be written directly: chunked over whole rows, filters exactly shuffle + deflate or none
    /// (what [`H5File::create_appendable`] sets), and a plain numeric element type.
    pub(super) fn direct_chunk_rows(&self) -> Option<(usize, Option<u8>)> {
        let chunk = self.ds.chunk()?;
        let numeric = matches!(
            self.dtype,
            TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) | TypeDescriptor::Float(_)
        );
        let level = match self.ds.filters()[..] {
            [hdf5::filters::Filter::Shuffle, hdf5::filters::Filter::Deflate(l)] => Some(l),
            [] => None,
            _ => return None,
        };
        (numeric
            && chunk.len() == self.shape.len()
            && chunk[0] > 0
            && chunk[1..] == self.shape[1..])
            .then_some((chunk[0], level))
    }

    /// Encodes whole chunks of `rows` (the bytes of rows `first ..`, `chunk_rows` per chunk) as
    /// HDF5's filters would — byte shuffle of `elem`-byte elements, then a zlib stream at `level`
    /// — in parallel, and writes each with `H5Dwrite_chunk`; `level` `None` writes the bytes as
    /// they are (a dataset without filters).
    fn write_chunks_direct(
        &self,
        rows: &[u8],
        first: usize,
        chunk_rows: usize,
        elem: usize,
        level: Option<u8>,
    ) -> Result<()> {
        use rayon::prelude::*;
        use std::borrow::Cow;
        let row_elems: usize = self.shape[1..].iter().product::<usize>().max(1);
        let chunk_bytes = chunk_rows * row_elems * elem;
        let encoded: Vec<Cow<'_, [u8]>> = match level {
            Some(level) => rows
                .par_chunks(chunk_bytes)
                .map(|c| {
                    Cow::Owned(if elem > 1 {
                        deflate_zlib(&shuffle_bytes(c, elem), level)
                    } else {
                        deflate_zlib(c, level)
                    })
                })
                .collect(),
            None => rows.chunks(chunk_bytes).map(Cow::Borrowed).collect(),
        };
        let id = self.ds.id();
        for (k, data) in encoded.iter().enumerate() {
            let mut offset = vec![0 as hdf5_sys::h5::hsize_t; self.shape.len()];
            offset[0] = (first + k * chunk_rows) as hdf5_sys::h5::hsize_t;
            // SAFETY: `id` is this open dataset, `offset` has one entry per dimension and names a
            // chunk inside the (already extended) extent, `data` holds `data.len()` bytes.
            let r = hdf5::sync::sync(|| unsafe {
                hdf5_sys::h5d::H5Dwrite_chunk(
                    id,
                    hdf5_sys::h5p::H5P_DEFAULT,
                    0,
                    offset.as_ptr(),
                    data.len(),
                    data.as_ptr() as *const std::ffi::c_void,
                )
            });
            self.h5.ctx(
                &self.path,
                "writing a compressed chunk",
                hdf5::h5check(r).map(|_| ()),
            )?;
        }
        Ok(())
    }
}
